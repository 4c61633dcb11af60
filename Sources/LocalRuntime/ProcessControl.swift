import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starting and stopping the local topology's processes: each in a process group of its own, so a signal reaches
/// whatever it started too, with its output appended to a log file (never a pipe: a pipe nobody reads stalls the
/// writer), and its standard input closed.
public enum ProcessControl {
    public struct SpawnFailed: Error, CustomStringConvertible {
        public let executable: String
        public let code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// Starts `executable` with exactly `environment`; returns its pid. `newSession`: a session of its own (the
    /// supervisor, which must outlive the terminal that started it), else a process group of its own.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], log: String,
        newSession: Bool = false
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The children start with default signal handling and nothing blocked, whatever tfctl had.
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newSession {
            flags |= setsid
        } else {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        // An unknown flag (POSIX_SPAWN_SETSID before glibc 2.26) would drop every flag: refuse instead.
        let set = posix_spawnattr_setflags(&attributes, Int16(flags))
        guard set == 0 else { throw SpawnFailed(executable: executable, code: set) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SpawnFailed(executable: executable, code: code) }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26 and later), which Swift does not import: it is behind _GNU_SOURCE.
    #if os(Linux)
        private static let setsid: Int32 = 0x80
    #else
        private static let setsid = Int32(POSIX_SPAWN_SETSID)
    #endif

    /// Whether `pid` is a live process (a zombie not yet reaped counts as gone).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // The state follows the command's closing parenthesis: "Z" is a zombie.
        guard let close = status.lastIndex(of: ")") else { return true }
        return !status[close...].dropFirst().trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// The kernel's start time of `pid` (clock ticks since boot, field 22 of `/proc/PID/stat`): with the pid, it
    /// names one process, not whichever later reuses the number.
    public static func startTime(_ pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the command's closing parenthesis: state is field 3, start time field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// Whether `pid` is still the process that started at `startTime`.
    public static func isSame(_ pid: pid_t, startTime: UInt64) -> Bool {
        isAlive(pid) && ProcessControl.startTime(pid) == startTime
    }

    /// The command line `pid` runs, as /proc shows it: to tell a recorded pid from a stranger that reuses it.
    public static func commandLine(_ pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sends `signal` to the process group `group` leads.
    @discardableResult
    public static func signalGroup(_ group: pid_t, _ signal: Int32) -> Bool {
        group > 0 && kill(-group, signal) == 0
    }

    /// Whether any process of the group `group` leads is still alive.
    public static func groupIsAlive(_ group: pid_t) -> Bool {
        group > 0 && (kill(-group, 0) == 0 || errno == EPERM)
    }

    /// The pids whose parent is `pid`, from /proc.
    public static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let child = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    /// Several groups stopped together: SIGTERM to all, one shared grace period, then SIGKILL to what is left.
    public static func stopGroups(_ groups: [pid_t], grace: Duration, reap: Bool) {
        for group in groups { signalGroup(group, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        for group in groups {
            let left = max(.zero, deadline - ContinuousClock.now)
            stopGroup(group, grace: left, reap: reap)
        }
    }

    /// SIGTERM to the group, up to `grace` for it to go, then SIGKILL. `reap`: waits for the leader too (a child
    /// of this process, which would otherwise stay a zombie and keep the group alive).
    public static func stopGroup(_ group: pid_t, grace: Duration, reap: Bool) {
        // A group whose leader is not our child may end as zombies its parent (init) has not reaped yet: the
        // leader's own state says whether it still runs.
        let running = { reap ? groupIsAlive(group) : isAlive(group) }
        guard running() else {
            if reap { _ = waitpid(group, nil, WNOHANG) }
            return
        }
        signalGroup(group, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if reap { _ = waitpid(group, nil, WNOHANG) }
            if !running() { return }
            usleep(20_000)
        }
        signalGroup(group, SIGKILL)
        if reap { _ = waitpid(group, nil, 0) }
        // Killed processes that are not ours are reaped by their parent (init, for an orphan): wait for that, bounded.
        let reaped = ContinuousClock.now + .seconds(5)
        while running(), ContinuousClock.now < reaped { usleep(10_000) }
    }
}
