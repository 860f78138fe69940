/// Picks the region as the AWS CLI does: an explicit choice, then AWS_REGION, then
/// AWS_DEFAULT_REGION, then `region` in the profile's section of the config file.
public enum AWSRegionResolver {
    /// The region and a phrase saying where it came from (for messages such as "region us-east-1 from AWS_REGION").
    public static func resolve(_ env: AWSConfigEnvironment, explicit: String?) throws -> (region: String, source: String) {
        var searched: [String] = []
        if let explicit = explicit?.trimmingCharacters(in: .whitespaces), !explicit.isEmpty {
            return try validated(explicit, source: "the explicit setting")
        }
        searched.append("an explicit region (none given)")
        for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let value = env.value(variable) { return try validated(value, source: variable) }
            searched.append("environment variable \(variable) (not set)")
        }

        let profile = env.profile
        let path = env.configFilePath
        let label = profile.name == "default" ? "[default]" : "[profile \(profile.name)]"
        let place = "\(path) \(label)"
        if let file = try AWSProfileFile.load(path: path) {
            if let section = file.configProfile(profile.name) {
                if let region = section["region"], !region.isEmpty { return try validated(region, source: place) }
                searched.append("\(place) (no region setting)")
            } else {
                searched.append("\(place) (no such section)")
            }
        } else {
            searched.append("\(place) (file not found)")
        }
        throw AWSConfigError.noRegion(searched: searched)
    }

    /// Same rule as botocore: letters, digits and inner hyphens, at most 63 characters.
    /// Catches a pasted endpoint or a stray space before it becomes a DNS error.
    static func validated(_ region: String, source: String) throws -> (region: String, source: String) {
        let bytes = Array(region.utf8)
        let allowed = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
        guard allowed, bytes.count <= 63, bytes.first != 0x2D, bytes.last != 0x2D else {
            throw AWSConfigError.invalidRegion(value: region, source: source)
        }
        return (region, source)
    }
}
