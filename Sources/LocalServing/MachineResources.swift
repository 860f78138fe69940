import Foundation

/// Free space on the disk that holds a path (its nearest existing folder), from statvfs.
public enum DiskSpace {
    public static func free(at path: String) -> Int64? {
        var probe = path
        while !FileManager.default.fileExists(atPath: probe), probe != "/", !probe.isEmpty {
            probe = (probe as NSString).deletingLastPathComponent
        }
        var info = statvfs()
        guard statvfs(probe.isEmpty ? "/" : probe, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

/// The one-minute load average against the cores: how many cores a build or a server would find free.
public struct CoreLoad: Sendable, Equatable {
    public var cores: Int
    public var loadAverage: Double

    public init(cores: Int, loadAverage: Double) {
        self.cores = cores
        self.loadAverage = loadAverage
    }

    public var freeCores: Double { max(0, Double(cores) - loadAverage) }

    /// From /proc/loadavg (Linux) or getloadavg.
    public static func current() -> CoreLoad {
        var loads = [Double](repeating: 0, count: 3)
        let n = getloadavg(&loads, 3)
        return CoreLoad(cores: ProcessInfo.processInfo.activeProcessorCount, loadAverage: n > 0 ? loads[0] : 0)
    }
}
