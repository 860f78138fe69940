import Foundation

/// What the operating system refused, said in words a user can act on.
public enum SystemError: Error, Sendable, CustomStringConvertible {
    /// A file, pipe, socket or process call failed; the message names the path or program.
    case io(String)
    /// Another process holds an exclusive lock on `path`; `holder` says who and since when.
    case locked(path: String, holder: String)

    public var description: String {
        switch self {
        case .io(let m): return m
        case .locked(let path, let holder):
            return "another cellbook run holds the state in \(path): \(holder)\n"
                + "    hint: wait for it to finish, or stop that process; a killed run releases the lock by itself"
        }
    }

    /// The text of the C library's `errno` message.
    public static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
