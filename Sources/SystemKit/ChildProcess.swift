import Foundation

/// Starting programs: a shell command whose output streams into a cell, or a server that must
/// outlive cellbook. posix_spawn with its own process group, so a cancelled cell can stop the
/// whole tree it started, and (for `run`) a watchdog in that group that stops it if cellbook
/// itself dies without a chance to (SIGKILL, a crash).
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
    /// `inherit` hands the child an extra descriptor as fd 3.
    public static func spawn(_ argv: [String], environment: [String: String], directory: String? = nil,
                             outputPath: String? = nil, detach: Bool = false,
                             pipes: (stdout: Int32, stderr: Int32)? = nil, inherit: Int32? = nil) throws -> pid_t {
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
        if let inherit { posix_spawn_file_actions_adddup2(&actions, inherit, 3) }
        // Nothing else of ours leaks into the child: a log or a pipe end it held would outlive us
        // in whatever it leaves running.
        if let addCloseFrom = Self.addCloseFrom { _ = addCloseFrom(&actions, inherit == nil ? 3 : 4) }
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
            throw SystemError.io("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Runs `argv` to completion, handing output chunks to the callbacks as they arrive.
    /// Cancelling the task, or `timeout`, stops the process group (SIGTERM, then SIGKILL).
    public static func run(_ argv: [String], environment: [String: String], directory: String? = nil,
                           timeout: Double? = nil,
                           onStdout: @escaping @Sendable (Data) -> Void,
                           onStderr: @escaping @Sendable (Data) -> Void) async throws -> Exit {
        // Found here, with our PATH, as posix_spawnp would: a missing program is an error that
        // names it, not a shell's "not found" with exit 127.
        // (A relative path with a directory to change to is left to the shell, after the cd.)
        let relativeToDirectory = directory != nil && argv[0].contains("/") && !argv[0].hasPrefix("/")
        let program = relativeToDirectory ? argv[0] : try executablePath(argv[0])
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw SystemError.io("cannot create pipes: \(String(cString: strerror(errno)))") }
        guard pipe(&errPipe) == 0 else {
            let reason = String(cString: strerror(errno))
            outPipe.forEach { close($0) }
            throw SystemError.io("cannot create pipes: \(reason)")
        }
        // Close-on-exec (the child gets its ends as 1 and 2 through dup2, which clears the flag):
        // a copy kept by anything the command leaves behind would hold the output open.
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // The watchdog's line to us. Close-on-exec, so no other child keeps it open; moved above
        // fd 3 so that handing it over as fd 3 always goes through a dup2 that clears the flag.
        var watch: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &watch) == 0 else {
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1]].forEach { close($0) }
            throw SystemError.io("cannot create the watchdog socket: \(String(cString: strerror(errno)))")
        }
        let childEnd = fcntl(watch[1], F_DUPFD_CLOEXEC, 10)
        let dupError = errno
        close(watch[1])
        guard childEnd >= 0 else {
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1], watch[0]].forEach { close($0) }
            throw SystemError.io("cannot set up the watchdog socket: \(String(cString: strerror(dupError)))")
        }
        let pid: pid_t
        do {
            pid = try spawn(["/bin/sh", "-c", watchdogScript, "sh", program] + argv.dropFirst(), environment: environment,
                            directory: directory, pipes: (outPipe[1], errPipe[1]), inherit: childEnd)
        } catch {
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1], watch[0], childEnd].forEach { close($0) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        close(childEnd)
        // Told "done" once the child has been waited for, so the watchdog leaves quietly and
        // whatever the command deliberately left running keeps running.
        // MSG_NOSIGNAL: the watchdog may be gone already (killed with the group, or the command
        // never started), and a write to its closed socket must not raise SIGPIPE in cellbook.
        defer {
            _ = "done\n".withCString { send(watch[0], $0, 5, Int32(MSG_NOSIGNAL)) }
            close(watch[0])
        }
        let timedOut = Locked(false)
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
                timedOut.withLock { $0 = true }
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
        return Exit(status: (status >> 8) & 0xff, signal: signaled ? status & 0x7f : nil, timedOut: timedOut.current)
    }

    /// Runs the command (`"$@"`) with a watchdog beside it in its process group: a background
    /// subshell blocked reading fd 3, the other end of which only cellbook holds. A line on it
    /// means the run ended and cellbook is fine: the watchdog exits. End of file means cellbook
    /// is gone without saying so: the watchdog sends SIGTERM to the group, then SIGKILL. It is
    /// started from a subshell that exits at once, so it is nobody's child (a command that waits
    /// for all its children never waits for it).
    static let watchdogScript = """
        ( { trap '' TERM INT HUP; if read -r _ <&3; then exit 0; fi; kill -TERM 0; sleep 3; kill -KILL 0; } \\
            </dev/null >/dev/null 2>&1 & )
        exec 3<&-
        exec "$@"
        """

    /// `name` as posix_spawnp would find it, or an error naming the program.
    static func executablePath(_ name: String) throws -> String {
        if let found = ExecutableSearch.find(name) { return found }
        throw SystemError.io("cannot start \(name): \(String(cString: strerror(ENOENT)))")
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not show; nil where the C library lacks it (then only close-on-exec applies).
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()

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

