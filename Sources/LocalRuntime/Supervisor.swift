import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Set by signal handlers, read by the supervisor's loop (a handler may only store to such a flag).
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0
nonisolated(unsafe) private var reloadRequested: sig_atomic_t = 0

/// The process that keeps a local run up, started detached by `apply --target local` (`tfctl local-supervisor`):
/// it starts the spec's processes in order with readiness checks, restarts a crashed one as Cloud Run would (after
/// 2 s, a pause that doubles per crash, up to 30 s), applies a new spec on SIGHUP (start, stop, and a rolling restart of
/// what changed, one process at a time, each ready before the next goes), and stops everything on SIGTERM or
/// SIGINT: the front door first, Redis last, each process group with SIGTERM, then SIGKILL after the grace
/// period. It reports in `state.json` and logs its own steps to `logs/supervisor.log`.
public final class Supervisor {
    /// Cloud Run's: SIGTERM, then SIGKILL 10 s later.
    public static let grace: Duration = .seconds(10)
    /// How long a process may take to become ready.
    public static let readinessTimeout: Duration = .seconds(60)

    struct Running {
        var process: LocalProcess
        var pid: pid_t
        var startedAt: Date
        var restarts: Int
        var status: LocalState.Process.Status
        /// When a crashed process starts again.
        var restartAt: ContinuousClock.Instant?
        /// Crashes in a row without a minute of running in between: the pause before the next start doubles.
        var crashes: Int
    }

    let directory: LocalStateDirectory
    var spec: LocalSpec
    var running: [String: Running] = [:]
    var state: LocalState

    public init(directory: LocalStateDirectory) throws {
        self.directory = directory
        guard let spec = directory.readSpec() else {
            throw LocalPlanner.Refused(description: "no readable spec at \(directory.specFile.path)")
        }
        self.spec = spec
        state = LocalState(supervisor: getpid(), generation: spec.generation, phase: .applying)
    }

    /// Runs until told to stop; answers the exit status.
    public func run() -> Int32 {
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGHUP) { _ in reloadRequested = 1 }
        signal(SIGPIPE, SIG_IGN)
        log("supervisor started (pid \(getpid())) for \(spec.environment)")
        apply(LocalChanges(from: nil, to: spec))
        while stopRequested == 0 {
            if reloadRequested != 0 {
                reloadRequested = 0
                if let next = directory.readSpec() {
                    let changes = LocalChanges(from: spec, to: next)
                    let previous = spec
                    spec = next
                    state.generation = next.generation
                    apply(changes, previous: previous)
                } else {
                    log("SIGHUP: the spec at \(directory.specFile.path) is unreadable; nothing changed")
                }
            }
            tend()
            usleep(100_000)
        }
        stopAll()
        return 0
    }

    // MARK: - Applying

    func apply(_ changes: LocalChanges, previous: LocalSpec? = nil) {
        state.phase = .applying
        state.error = nil
        publish()
        do {
            for (name, text) in spec.files {
                let url = directory.root.appendingPathComponent(name)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try LocalStateDirectory.write(text, to: url)
            }
            for id in changes.stop.reversed() {
                stop(id)
            }
            for stage in LocalProcess.Kind.allCases.map(\.stage).sorted() {
                let starting = spec.processes.filter { $0.kind.stage == stage && changes.start.contains($0.id) }
                for process in starting { try start(process) }
                for process in starting { try awaitReady(process.id) }
                // Changed processes one at a time, each ready before the next stops: clients move to the others.
                for process in spec.processes where process.kind.stage == stage && changes.restart.contains(process.id)
                {
                    log("restarting \(process.id): its definition changed")
                    stop(process.id)
                    try start(process)
                    try awaitReady(process.id)
                }
            }
            state.phase = .ready
            log("generation \(spec.generation) applied: \(spec.processes.count) processes ready")
        } catch {
            state.phase = .failed
            state.error = "\(error)"
            log("apply failed: \(error)")
        }
        publish()
    }

    struct StepFailed: Error, CustomStringConvertible {
        let description: String
    }

    func start(_ process: LocalProcess, restarts: Int = 0, crashes: Int = 0) throws {
        let logFile = directory.log(process)
        let pid = try ProcessControl.spawn(
            process.executable, process.arguments, environment: process.environment, log: logFile.path)
        running[process.id] = Running(
            process: process, pid: pid, startedAt: Date(), restarts: restarts, status: .starting, restartAt: nil,
            crashes: crashes)
        log("started \(process.id) (pid \(pid), port \(process.port))")
        publish()
    }

    /// Waits until the process answers its readiness probe; a process that exits meanwhile fails the step with
    /// its last log lines (a port in use, a bad setting).
    func awaitReady(_ id: String) throws {
        let deadline = ContinuousClock.now + Self.readinessTimeout
        while true {
            if stopRequested != 0 { throw StepFailed(description: "stopped while \(id) was starting") }
            guard let entry = running[id] else { throw StepFailed(description: "\(id) is gone") }
            var status: Int32 = 0
            if waitpid(entry.pid, &status, WNOHANG) == entry.pid {
                running[id] = nil
                throw StepFailed(
                    description: "\(id) exited (\(Self.describe(status))) before it was ready: "
                        + tail(entry.process))
            }
            if Self.probe(entry.process.readiness) {
                running[id]?.status = .ready
                publish()
                return
            }
            if ContinuousClock.now >= deadline {
                throw StepFailed(
                    description: "\(id) was not ready after \(Self.readinessTimeout): " + tail(entry.process))
            }
            usleep(50_000)
        }
    }

    static func probe(_ readiness: LocalProcess.Readiness) -> Bool {
        switch readiness {
        case .tcp(let port): PortProbe.accepts(port)
        case .http(let port, let path): PortProbe.get(port, path)?.status == 200
        }
    }

    func stop(_ id: String) {
        guard let entry = running.removeValue(forKey: id) else { return }
        log("stopping \(id) (pid \(entry.pid))")
        ProcessControl.stopGroup(entry.pid, grace: Self.grace, reap: true)
        publish()
    }

    /// Stops everything, the front door first and Redis last; the servers of a stage together (each drains).
    func stopAll() {
        state.phase = .stopping
        publish()
        log("stopping every process")
        for stage in LocalProcess.Kind.allCases.map(\.stage).sorted().reversed() {
            let group = running.values.filter { $0.process.kind.stage == stage }
            for entry in group { ProcessControl.signalGroup(entry.pid, SIGTERM) }
            for entry in group {
                ProcessControl.stopGroup(entry.pid, grace: Self.grace, reap: true)
                running[entry.process.id] = nil
            }
        }
        try? FileManager.default.removeItem(at: directory.stateFile)
        log("stopped")
    }

    // MARK: - Tending

    /// Reaps processes that exited, restarts them when their pause is over, and marks restarted ones ready.
    func tend() {
        var changed = false
        for (id, entry) in running {
            var status: Int32 = 0
            if entry.status != .crashed, waitpid(entry.pid, &status, WNOHANG) == entry.pid {
                let ranLong = Date().timeIntervalSince(entry.startedAt) > 60
                let crashes = ranLong ? 1 : entry.crashes + 1
                let pause = Duration.seconds(min(30, 2 << min(crashes - 1, 4)))
                log("\(id) exited (\(Self.describe(status))); starting it again in \(pause): \(tail(entry.process))")
                running[id]?.status = .crashed
                running[id]?.crashes = crashes
                running[id]?.restartAt = ContinuousClock.now + pause
                changed = true
            } else if entry.status == .crashed, let at = entry.restartAt, ContinuousClock.now >= at {
                do {
                    try start(entry.process, restarts: entry.restarts + 1, crashes: entry.crashes)
                } catch {
                    log("\(id) could not be started again: \(error)")
                    running[id]?.restartAt = ContinuousClock.now + .seconds(30)
                }
                changed = true
            } else if entry.status == .starting, Self.probe(entry.process.readiness) {
                running[id]?.status = .ready
                log("\(id) is ready again")
                changed = true
            }
        }
        if changed { publish() }
    }

    // MARK: - Reporting

    func publish() {
        state.processes = spec.processes.compactMap { process in
            guard let entry = running[process.id] else { return nil }
            return LocalState.Process(
                id: process.id, pid: entry.pid, port: process.port, startedAt: entry.startedAt.timeIntervalSince1970,
                restarts: entry.restarts, status: entry.status)
        }
        try? LocalStateDirectory.write(state.json.pretty(), to: directory.stateFile)
    }

    func log(_ message: String) {
        let line = "\(ISO8601DateFormatter().string(from: Date())) \(message)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    /// The last lines `process` logged, on one line.
    func tail(_ process: LocalProcess) -> String {
        let text = (try? String(contentsOf: directory.log(process), encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").suffix(3).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.isEmpty ? "(it logged nothing)" : lines.joined(separator: " | ")
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit status \((status >> 8) & 0xff)" : "signal \(signal)"
    }
}
