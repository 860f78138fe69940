import Foundation

/// Reads a whole file with the C library, so a failure says what the system said ("Permission
/// denied", "Is a directory") rather than Foundation's "error 256".
public enum FileBytes {
    /// `what` names the file in the message ("the state file").
    public static func read(_ path: String, what: String = "") throws -> Data {
        let name = what.isEmpty ? path : "\(what) \(path)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError.io("cannot read \(name): \(SystemError.errnoText())") }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SystemError.io("cannot read \(name): \(SystemError.errnoText())") }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
        }
    }
}
