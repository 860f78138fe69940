import Foundation
@testable import AWSCore

/// A throwaway home directory with optional ~/.aws files, so tests never read the real ones.
final class AWSConfigFixture {
    let home: String

    init(credentials: String? = nil, config: String? = nil) throws {
        home = (NSTemporaryDirectory() as NSString).appendingPathComponent("awscore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        if let credentials { try write(credentials, to: ".aws/credentials") }
        if let config { try write(config, to: ".aws/config") }
    }

    deinit { try? FileManager.default.removeItem(atPath: home) }

    func write(_ text: String, to relativePath: String) throws {
        try text.write(toFile: (home as NSString).appendingPathComponent(relativePath), atomically: true, encoding: .utf8)
    }

    func env(_ variables: [String: String] = [:]) -> AWSConfigEnvironment {
        AWSConfigEnvironment(environment: variables, homeDirectory: home)
    }
}
