import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What `apply`, `plan`, `status` and `destroy --target local` do with a local run: find its supervisor (or the
/// processes a dead one left), hand it a new spec, start one, or stop it all.
public struct LocalController {
    public enum Supervision: Equatable {
        case none
        /// A live supervisor: it holds `supervisor.lock`.
        case running(pid_t)
        /// The supervisor is gone and these processes of its run are still alive (a crashed or killed tfctl).
        case stale([pid_t])
    }

    public let directory: LocalStateDirectory
    /// The command that runs the supervisor: tfctl's own executable (its hidden subcommand is appended).
    let supervisorCommand: [String]
    let log: (String) -> Void

    public init(directory: LocalStateDirectory, supervisorCommand: [String], log: @escaping (String) -> Void) {
        self.directory = directory
        self.supervisorCommand = supervisorCommand
        self.log = log
    }

    public static let subcommand = "local-supervisor"

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `body` holding the run's command lock, so two tfctl never plan, apply or destroy one run at once; a
    /// second waits, saying why.
    public func exclusively<T>(_ body: () throws -> T) throws -> T {
        try directory.create()
        guard let lock = FileLock(directory.commandLock) else {
            throw Failed(description: "cannot open \(directory.commandLock.path)")
        }
        if !lock.tryLock() {
            log("another tfctl is changing this local run; waiting for it")
            lock.lock()
        }
        defer { lock.unlock() }
        return try body()
    }

    public func supervision() -> Supervision {
        guard let state = directory.readState() else { return .none }
        // The kernel drops a dead holder's lock: one that cannot be taken has a live supervisor.
        if FileManager.default.fileExists(atPath: directory.supervisorLock.path),
            let lock = FileLock(directory.supervisorLock)
        {
            if !lock.tryLock() { return .running(state.supervisor) }
            lock.unlock()
        }
        // Only what still is the process the state recorded (its pid and start time): a reused pid is left alone.
        let alive = state.processes.filter { ProcessControl.isSame($0.pid, startTime: $0.startTime) }.map(\.pid)
        return alive.isEmpty ? .none : .stale(alive)
    }

    /// The ports the processes of the current run hold (they are not "in use by another program").
    public func heldPorts() -> Set<Int> {
        guard case .running = supervision(), let spec = directory.readSpec() else { return [] }
        return spec.ports
    }

    /// What applying `spec` would change: everything starts when nothing runs.
    public func changes(to spec: LocalSpec) -> LocalChanges {
        guard case .running = supervision() else { return LocalChanges(from: nil, to: spec) }
        return LocalChanges(from: directory.readSpec(), to: spec)
    }

    /// Stops what a dead supervisor left running, saying so; before anything is planned, so its ports count free.
    public func stopStaleRun() {
        guard case .stale(let pids) = supervision() else { return }
        log(
            "the supervisor of an earlier run is gone and its processes still run (pids "
                + pids.map(String.init).joined(separator: ", ") + "): stopping them first")
        stopStale(pids)
    }

    /// Brings the run to `spec` and answers the state once the supervisor has applied it.
    public func apply(_ proposed: LocalSpec) throws -> (state: LocalState, changes: LocalChanges) {
        var spec = proposed
        stopStaleRun()
        let current = supervision()
        let previous: LocalSpec? = { if case .running = current { return directory.readSpec() } else { return nil } }()
        let changes = LocalChanges(from: previous, to: spec)
        let held = previous?.ports ?? []
        let before = Dictionary(uniqueKeysWithValues: (previous?.processes ?? []).map { ($0.id, $0.port) })
        for process in spec.processes where before[process.id] != process.port {
            guard held.contains(process.port) || PortProbe.isFree(process.port) else {
                let hint =
                    process.kind == .frontDoor
                    ? "pass --port with a free port"
                    : "remove \(directory.portsFile.lastPathComponent) in the state directory to get new ports"
                throw Failed(
                    description:
                        "port \(process.port) (\(process.id)) is in use by another program: stop it, or \(hint)"
                )
            }
        }
        let lastState = directory.readState()
        // A new generation whenever something changes or the last one did not come up: the supervisor then
        // completes what runs against the spec, and this waits for that answer, not the old one.
        let settled = lastState?.phase == .ready && lastState?.generation == previous?.generation
        spec.generation = (previous?.generation ?? lastState?.generation ?? 0) + (changes.isEmpty && settled ? 0 : 1)
        if case .running(let pid) = current {
            if changes.isEmpty, settled, let lastState { return (lastState, changes) }
            try LocalStateDirectory.write(spec.json.pretty(), to: directory.specFile)
            kill(pid, SIGHUP)
            return (try awaitApplied(spec.generation, supervisor: pid), changes)
        }
        try? FileManager.default.removeItem(at: directory.stateFile)
        try LocalStateDirectory.write(spec.json.pretty(), to: directory.specFile)
        var environment: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] { environment[key] = ProcessInfo.processInfo.environment[key] }
        let supervisor = try ProcessControl.spawn(
            supervisorCommand[0],
            Array(supervisorCommand.dropFirst()) + [Self.subcommand, "--state", directory.root.path],
            environment: environment, log: directory.supervisorLog.path, newSession: true)
        return (try awaitApplied(spec.generation, supervisor: supervisor), changes)
    }

    /// Waits for the supervisor to report `generation` ready or failed.
    func awaitApplied(_ generation: Int, supervisor: pid_t) throws -> LocalState {
        // Every process may take the readiness timeout; a rolling restart takes them one after another.
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            _ = waitpid(supervisor, nil, WNOHANG)
            if let state = directory.readState(), state.generation == generation,
                state.phase == .ready || state.phase == .failed
            {
                return state
            }
            guard ProcessControl.isAlive(supervisor) else {
                let text = (try? String(contentsOf: directory.supervisorLog, encoding: .utf8)) ?? ""
                throw Failed(
                    description: "the supervisor stopped: "
                        + text.split(separator: "\n").suffix(5).joined(separator: "\n"))
            }
            usleep(100_000)
        }
        throw Failed(description: "the local run was not ready after 10 minutes; see \(directory.supervisorLog.path)")
    }

    /// Stops the whole run; answers false when nothing was running (a second destroy changes nothing).
    @discardableResult
    public func destroy() throws -> Bool {
        switch supervision() {
        case .none:
            try? FileManager.default.removeItem(at: directory.specFile)
            return false
        case .stale(let pids):
            stopStale(pids)
        case .running(let pid):
            let recorded = directory.readState()?.processes ?? []
            kill(pid, SIGTERM)
            // The supervisor stops each stage within its grace period.
            let deadline = ContinuousClock.now + Supervisor.grace * 4
            while ProcessControl.isAlive(pid), ContinuousClock.now < deadline { usleep(50_000) }
            if ProcessControl.isAlive(pid) {
                kill(pid, SIGKILL)
                stopStale(recorded.filter { ProcessControl.isSame($0.pid, startTime: $0.startTime) }.map(\.pid))
            }
        }
        try? FileManager.default.removeItem(at: directory.stateFile)
        try? FileManager.default.removeItem(at: directory.specFile)
        return true
    }

    func stopStale(_ pids: [pid_t]) {
        for pid in pids { ProcessControl.signalGroup(pid, SIGTERM) }
        for pid in pids { ProcessControl.stopGroup(pid, grace: Supervisor.grace, reap: false) }
        try? FileManager.default.removeItem(at: directory.stateFile)
    }
}
