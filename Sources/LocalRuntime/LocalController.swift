import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What `apply`, `plan`, `status` and `destroy --target local` do with a local run: find the supervisor of an
/// earlier apply (or the processes it left when it died), hand it a new spec, start one, or stop it all.
public struct LocalController {
    public enum Supervision: Equatable {
        case none
        /// A live supervisor.
        case running(pid_t)
        /// The supervisor is gone and these processes of its run are still alive (a crashed or killed tfctl).
        case stale([pid_t])
    }

    public let directory: LocalStateDirectory
    /// The command that runs the supervisor: tfctl's own executable and its hidden subcommand.
    let supervisorCommand: [String]
    let log: (String) -> Void

    public init(directory: LocalStateDirectory, supervisorCommand: [String], log: @escaping (String) -> Void) {
        self.directory = directory
        self.supervisorCommand = supervisorCommand
        self.log = log
    }

    public func supervision() -> Supervision {
        guard let state = directory.readState() else { return .none }
        let command = ProcessControl.commandLine(state.supervisor)
        if ProcessControl.isAlive(state.supervisor), command.contains(Self.subcommand) {
            return .running(state.supervisor)
        }
        // Only the pids that still run what the spec said: a pid reused by a stranger is left alone. redis-server
        // rewrites its title ("/usr/bin/redis-server 127.0.0.1:6379"), so the executable starts the first word.
        let executables = directory.readSpec()?.processes.map(\.executable) ?? []
        let alive = state.processes.map(\.pid).filter { pid in
            let first = ProcessControl.commandLine(pid).first ?? ""
            return ProcessControl.isAlive(pid) && executables.contains { first == $0 || first.hasPrefix($0 + " ") }
        }
        return alive.isEmpty ? .none : .stale(alive)
    }

    public static let subcommand = "local-supervisor"

    /// The ports the processes of the current run hold (they are not "in use by another program").
    public func heldPorts() -> Set<Int> {
        guard case .running = supervision(), let spec = directory.readSpec() else { return [] }
        return Set(spec.processes.flatMap { [$0.port] + ($0.metricsPort.map { [$0] } ?? []) })
    }

    /// What applying `spec` would change: everything starts when nothing runs.
    public func changes(to spec: LocalSpec) -> LocalChanges {
        guard case .running = supervision() else { return LocalChanges(from: nil, to: spec) }
        return LocalChanges(from: directory.readSpec(), to: spec)
    }

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Brings the run to `spec` and answers the state once the supervisor has applied it.
    public func apply(_ proposed: LocalSpec) throws -> (state: LocalState, changes: LocalChanges) {
        var spec = proposed
        let current = supervision()
        if case .stale(let pids) = current {
            log(
                "the supervisor of an earlier run is gone and its processes still run (pids "
                    + pids.map(String.init).joined(separator: ", ") + "): stopping them first")
            stopStale(pids)
        }
        let previous = current == .none ? nil : directory.readSpec()
        let changes = LocalChanges(
            from: { if case .running = current { return previous } else { return nil } }(), to: spec)
        let held = heldPorts()
        for process in spec.processes where changes.start.contains(process.id) {
            guard held.contains(process.port) || PortProbe.isFree(process.port) else {
                let hint =
                    process.kind == .frontDoor
                    ? "pass --port with a free port"
                    : "remove \(directory.portsFile.lastPathComponent) in the state directory to get new ports"
                throw Failed(
                    description:
                        "port \(process.port) (\(process.id)) is in use by another program: stop it, or \(hint)")
            }
        }
        spec.generation = (previous?.generation ?? 0) + (changes.isEmpty ? 0 : 1)
        if case .running(let pid) = current {
            if changes.isEmpty, let state = directory.readState(), state.phase == .ready { return (state, changes) }
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
            let pids = directory.readState()?.processes.map(\.pid) ?? []
            kill(pid, SIGTERM)
            // The supervisor stops each stage within its grace period.
            let deadline = ContinuousClock.now + Supervisor.grace * 4
            while ProcessControl.isAlive(pid), ContinuousClock.now < deadline { usleep(50_000) }
            if ProcessControl.isAlive(pid) {
                kill(pid, SIGKILL)
                stopStale(pids)
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
