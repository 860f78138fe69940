import Foundation

/// An exclusive lock on a state folder, so two runs never write the same state.
/// Uses flock(2): the kernel releases it when the holder dies, even by SIGKILL.
public final class FileLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32 = -1

    public init(path: String) { self.path = path }

    /// Takes the lock or throws `SystemError.locked` naming the holder.
    public func acquire(description: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SystemError.io("cannot create the folder \(folder): \(SystemError.describe(error))")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError.io("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = Self.readHolder(fd: fd)
            close(fd)
            throw SystemError.locked(path: (path as NSString).deletingLastPathComponent, holder: holder)
        }
        // Record who holds it, for the message a second run prints.
        let info = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), since \(ISO8601DateFormatter().string(from: Date())): \(description)\n"
        ftruncate(fd, 0)
        _ = info.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
    }

    /// True when some process holds the lock right now (does not take it).
    public static func isHeld(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    public func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }

    private static func readHolder(fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = pread(fd, &buf, buf.count, 0)
        let text = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return text.isEmpty ? "an unknown process" : text
    }
}
