import Foundation

/// Everything the credential, region and endpoint lookups read: environment variables and the
/// home directory, injected so tests never touch the real ~/.aws.
public struct AWSConfigEnvironment: Sendable {
    public var environment: [String: String]
    public var homeDirectory: String

    public init(environment: [String: String], homeDirectory: String) {
        self.environment = environment
        self.homeDirectory = homeDirectory
    }

    /// This process's environment and home directory.
    public static func current() -> AWSConfigEnvironment {
        AWSConfigEnvironment(environment: ProcessInfo.processInfo.environment)
    }

    /// An environment's own view: its HOME (else this user's home) holds `~/.aws`.
    public init(environment: [String: String]) {
        self.init(environment: environment, homeDirectory: environment["HOME"] ?? NSHomeDirectory())
    }

    /// A variable's value, trimmed; empty counts as unset (as the AWS CLI treats it).
    public func value(_ name: String) -> String? {
        guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw
    }

    /// The profile in use and what chose it.
    var profile: (name: String, source: String, explicit: Bool) {
        if let name = value("AWS_PROFILE") { return (name, "AWS_PROFILE", true) }
        if let name = value("AWS_DEFAULT_PROFILE") { return (name, "AWS_DEFAULT_PROFILE", true) }
        return ("default", "the default profile name", false)
    }

    var credentialsFilePath: String { expand(value("AWS_SHARED_CREDENTIALS_FILE") ?? "~/.aws/credentials") }
    var configFilePath: String { expand(value("AWS_CONFIG_FILE") ?? "~/.aws/config") }

    private func expand(_ path: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return (homeDirectory as NSString).appendingPathComponent(String(path.dropFirst(2))) }
        return path
    }
}
