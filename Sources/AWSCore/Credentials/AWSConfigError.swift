/// Why credentials or a region could not be found; each message says where cellbook looked and what to do.
public enum AWSConfigError: Error, Equatable, CustomStringConvertible {
    /// Nothing anywhere; `searched` names every place, in order, with what was missing there.
    case noCredentials(searched: [String])
    /// AWS_PROFILE (or AWS_DEFAULT_PROFILE) names a profile that neither file has.
    case profileNotFound(name: String, selectedBy: String, searched: [String])
    /// A profile gets its keys some way cellbook does not implement (assume-role, SSO, a process, web identity).
    case unsupportedCredentialSource(profile: String?, location: String, setting: String)
    /// An access key id without a secret, or the reverse.
    case partialCredentials(location: String, missing: String)
    case malformedFile(path: String, line: Int, reason: String)
    case unreadableFile(path: String, reason: String)
    case noRegion(searched: [String])
    case invalidRegion(value: String, source: String)

    public var description: String {
        switch self {
        case .noCredentials(let searched):
            return "No AWS credentials found. Looked in:\n" + searched.map { "  - \($0)" }.joined(separator: "\n")
                + "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), "
                + "or run `aws configure` to write ~/.aws/credentials, or set AWS_PROFILE to a profile that has "
                + "aws_access_key_id and aws_secret_access_key."
        case .profileNotFound(let name, let selectedBy, let searched):
            return "AWS profile \"\(name)\" (chosen by \(selectedBy)) is not in "
                + searched.joined(separator: " or ")
                + ". Fix the name, add a [\(name)] section to the credentials file or [profile \(name)] to the config file, "
                + "or unset \(selectedBy)."
        case .unsupportedCredentialSource(let profile, let location, let setting):
            let subject = profile.map { "AWS profile \"\($0)\" in \(location)" } ?? location
            return "\(subject) gets its credentials through \(setting), which cellbook does not support "
                + "(it signs with static or temporary keys only). Export keys first, e.g. "
                + "`eval \"$(aws configure export-credentials\(profile.map { " --profile \($0)" } ?? "") --format env)\"`, "
                + "or choose a profile that has aws_access_key_id and aws_secret_access_key."
        case .partialCredentials(let location, let missing):
            return "\(location) has only half an access key: \(missing) is missing. Set both the key id and the secret."
        case .malformedFile(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .noRegion(let searched):
            return "No AWS region set. Looked in:\n" + searched.map { "  - \($0)" }.joined(separator: "\n")
                + "\nPass a region, set AWS_REGION (e.g. export AWS_REGION=us-east-1), or add `region = us-east-1` to the profile in the config file."
        case .invalidRegion(let value, let source):
            return "AWS region \"\(value)\" from \(source) is not a region name (expected something like us-east-1)."
        }
    }
}
