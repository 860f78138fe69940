import Foundation

/// Starting programs: a shell command whose output streams into a cell, or a server that must
/// outlive cellbook. posix_spawn with its own process group, so a cancelled cell can stop the
/// whole tree it started.
public enum ChildProcess {
    public struct Exit: Sendable {
        public var status: Int32
        public var signal: Int32?
        public var timedOut: Bool
        public var description: String {
            if timedOut { return "timed out" }
            if let s = signal { return "killed by signal \(s)" }
            return "exit code \(status)"
        }
    }

    /// Spawns `argv`. Output goes to `outputPath` (appended) when given, else to pipes the caller reads.
    /// `detach` puts the child in a new session so it survives this process and its terminal.
    public static func spawn(_ argv: [String], environment: [String: String], directory: String? = nil,
                             outputPath: String? = nil, detach: Bool = false,
                             pipes: (stdout: Int32, stderr: Int32)? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let outputPath {
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else if let pipes {
            posix_spawn_file_actions_adddup2(&actions, pipes.stdout, 1)
            posix_spawn_file_actions_adddup2(&actions, pipes.stderr, 2)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        flags |= detach ? Int32(0x80) /* POSIX_SPAWN_SETSID */ : Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attr, Int16(flags))
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)

        // Glibc's addchdir_np is not visible to Swift: change directory through the shell instead.
        let argv = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + argv } ?? argv
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else {
            throw EngineError.io("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Runs `argv` to completion, handing output chunks to the callbacks as they arrive.
    /// Cancelling the task, or `timeout`, stops the process group (SIGTERM, then SIGKILL).
    public static func run(_ argv: [String], environment: [String: String], directory: String? = nil,
                           timeout: Double? = nil,
                           onStdout: @escaping @Sendable (Data) -> Void,
                           onStderr: @escaping @Sendable (Data) -> Void) async throws -> Exit {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw EngineError.io("cannot create pipes: \(String(cString: strerror(errno)))") }
        let pid: pid_t
        do {
            pid = try spawn(argv, environment: environment, directory: directory, pipes: (outPipe[1], errPipe[1]))
        } catch {
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1]].forEach { close($0) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        let timedOut = LockedFlag()
        let reading = DispatchGroup()
        for (fd, sink) in [(outPipe[0], onStdout), (errPipe[0], onStderr)] {
            reading.enter()
            Thread.detachNewThread {
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(fd, &buf, buf.count)
                    if n > 0 { sink(Data(buf[0..<n])) } else if n < 0 && errno == EINTR { continue } else { break }
                }
                close(fd)
                reading.leave()
            }
        }
        let timer: DispatchWorkItem? = timeout.map { t in
            let item = DispatchWorkItem {
                timedOut.set()
                stopGroup(pid, grace: 3)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + t, execute: item)
            return item
        }
        let status: Int32 = await withTaskCancellationHandler {
            await withCheckedContinuation { cont in
                Thread.detachNewThread {
                    var st: Int32 = 0
                    while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
                    reading.wait()
                    cont.resume(returning: st)
                }
            }
        } onCancel: {
            stopGroup(pid, grace: 3)
        }
        timer?.cancel()
        try Task.checkCancellation()
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        return Exit(status: (status >> 8) & 0xff, signal: signaled ? status & 0x7f : nil, timedOut: timedOut.isSet)
    }

    /// SIGTERM to the process group, SIGKILL after `grace` seconds if any member is left.
    public static func stopGroup(_ pid: pid_t, grace: Double) {
        kill(-pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) { kill(-pid, SIGKILL) }
    }

    /// Whether a process with this pid exists (and is not a zombie).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(close, offsetBy: 2)]
            return state != "Z" && state != "X"
        }
        return true
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
