import Foundation
@testable import HardwareFit

/// A fresh directory under the system temp dir, removed by the caller with `cleanUp()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hardwarefit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

extension CatalogError {
    var file: String? {
        switch self {
        case let .unreadable(file, _), let .malformed(file, _), let .invalidEntries(file, _): file
        default: nil
        }
    }
}
