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

    /// A file-system error in the C library's words ("Permission denied", "No space left on
    /// device"), instead of Foundation's dump of its error domain, code and user info.
    public static func describe(_ error: Error) -> String {
        if let e = error as? SystemError { return e.description }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return errnoText(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return errnoText(Int32(underlying.code))
        }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileWriteNoPermission, .fileReadNoPermission: return errnoText(EACCES)
            case .fileWriteOutOfSpace: return errnoText(ENOSPC)
            case .fileWriteVolumeReadOnly: return errnoText(EROFS)
            case .fileNoSuchFile, .fileReadNoSuchFile: return errnoText(ENOENT)
            case .fileWriteFileExists: return errnoText(EEXIST)
            case .fileWriteInvalidFileName, .fileReadInvalidFileName: return errnoText(ENAMETOOLONG)
            default: break
            }
        }
        return ns.localizedDescription
    }
}
