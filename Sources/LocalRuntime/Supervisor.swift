import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Set by signal handlers, read by the supervisor's loop (a handler may only store to such a flag). Read once
// before the handlers are installed: a global is initialised on first use, which a handler must not be.
nonisolated(unsafe) var supervisorStopRequested: sig_atomic_t = 0
nonisolated(unsafe) var supervisorReloadRequested: sig_atomic_t = 0

/// The process that keeps a local run up, started detached by `apply --target local` (`tfctl local-supervisor`).
///
/// It brings what runs to the spec, whatever ran before: a process of the spec that does not run is started, one
/// whose definition changed is restarted, one no longer in the spec is stopped (so an apply that failed halfway is
/// completed by the next one). Stages go in order (Redis, the servers, the front door), each process ready before
/// the next stage. A changed server is restarted one at a time, only once the others of its region are ready, and
/// out of the front door's rotation from before its SIGTERM until it runs again: clients move to the others and
/// recover. A removed server leaves the rotation the same way before it stops. A changed front door configuration is reloaded (haproxy's master re-reads it, and old connections stay
/// with the old worker). A crashed process is started again, as Cloud Run would, after 2 s, a pause that doubles
/// per crash up to 30 s; this goes on during an apply too. SIGHUP applies a new spec; SIGTERM or SIGINT stops
/// everything, the front door first and Redis last, each process group with SIGTERM, then SIGKILL after the grace
/// period. It holds `supervisor.lock` while it lives (the controller's test of whether it runs), reports in
/// `state.json`, and logs its own steps to `logs/supervisor.log`.
public final class Supervisor {
    /// Cloud Run's: SIGTERM, then SIGKILL 10 s later.
    public static let grace: Duration = .seconds(10)
    /// How long a process may take to become ready.
    public static let readinessTimeout: Duration = .seconds(60)

    struct Running {
        var process: LocalProcess
        var pid: pid_t
        /// The kernel's start time of the process (`/proc/PID/stat`), which tells it from a later one with its pid.
        var startTime: UInt64
        var startedAt: Date
        var restarts: Int
        var status: LocalState.Process.Status
        /// When a crashed process starts again.
        var restartAt: ContinuousClock.Instant?
        /// Crashes in a row without a minute of running in between: the pause before the next start doubles.
        var crashes: Int
        /// The size of its log when it started: readiness by a log line looks only at what came after.
        var logOffset: UInt64
    }

    struct StepFailed: Error, CustomStringConvertible {
        let description: String
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
        guard let lock = FileLock(directory.supervisorLock), lock.tryLock() else {
            log("another supervisor holds \(directory.supervisorLock.path); this one stops")
            return 1
        }
        defer { lock.unlock() }
        // The state directory is the working directory of the supervisor and of what it starts: the front door's
        // socket is named relative to it.
        guard chdir(directory.root.path) == 0 else {
            log("cannot enter \(directory.root.path)")
            return 1
        }
        _ = supervisorStopRequested
        _ = supervisorReloadRequested
        signal(SIGTERM) { _ in supervisorStopRequested = 1 }
        signal(SIGINT) { _ in supervisorStopRequested = 1 }
        signal(SIGHUP) { _ in supervisorReloadRequested = 1 }
        signal(SIGPIPE, SIG_IGN)
        log("supervisor started (pid \(getpid())) for \(spec.environment)")
        reconcile()
        while supervisorStopRequested == 0 {
            if supervisorReloadRequested != 0 {
                supervisorReloadRequested = 0
                if let next = directory.readSpec() {
                    spec = next
                    state.generation = next.generation
                    reconcile()
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

    // MARK: - Reconciling

    /// Brings what runs to the spec and reports the outcome.
    func reconcile() {
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
            let wanted = Set(spec.processes.map(\.id))
            let unwanted = running.values.filter { !wanted.contains($0.process.id) }
            for entry in unwanted.sorted(by: { $0.process.kind.stage > $1.process.kind.stage }) {
                // A removed instance leaves the front door's rotation before it stops, as in a rolling restart.
                if let routed = frontDoorServer(of: entry.process) { setMaintenance(routed, true) }
                stop(entry.process.id)
            }
            for stage in LocalProcess.Kind.allCases.map(\.stage).sorted() {
                let processes = spec.processes.filter { $0.kind.stage == stage }
                // Missing, or crashed and waiting out its pause: started now.
                let missing = processes.filter { running[$0.id] == nil || running[$0.id]?.status == .crashed }
                for process in missing {
                    let previous = running.removeValue(forKey: process.id)
                    try start(process, restarts: previous.map { $0.restarts + 1 } ?? 0)
                }
                for process in processes {
                    guard let current = running[process.id], current.process != process else { continue }
                    try replace(current, with: process)
                }
                // Every process of the stage ready (those started now, and any a crash had restarted) before the
                // next stage.
                for process in processes { try awaitReady(process.id) }
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

    /// A changed process: the front door reloads when only its configuration changed; anything else restarts, a
    /// server once its region's other instances are ready and out of the front door's rotation meanwhile.
    func replace(_ current: Running, with process: LocalProcess) throws {
        let id = process.id
        if process.kind == .frontDoor, current.status == .ready, current.process.executable == process.executable,
            current.process.arguments == process.arguments, current.process.port == process.port
        {
            try reloadFrontDoor(current, with: process)
            return
        }
        log("restarting \(id): its definition changed")
        let routed = frontDoorServer(of: process)
        if process.kind == .realtime { awaitPeersReady(of: process) }
        // Out of rotation first, as Cloud Run stops routing to an instance before its SIGTERM: its clients get
        // the others, not a draining instance's refusal. Back in rotation whatever happens next: the front door's
        // health check keeps an instance that is not ready out by itself.
        if let routed { setMaintenance(routed, true) }
        defer { if let routed { setMaintenance(routed, false) } }
        stop(id)
        try start(process)
        try awaitReady(id)
    }

    func setMaintenance(_ routed: (backend: String, server: String), _ on: Bool) {
        if !FrontDoorStats.set(backend: routed.backend, server: routed.server, maintenance: on) {
            log(
                "the front door did not take \(routed.backend)/\(routed.server) \(on ? "out of" : "back into") rotation"
            )
        }
    }

    /// A new front door configuration: checked by haproxy first (a configuration it cannot read would leave the
    /// old one serving, reported as applied), then reloaded by its master (SIGUSR2), which replaces its worker;
    /// done once a new worker runs.
    func reloadFrontDoor(_ current: Running, with process: LocalProcess) throws {
        let id = process.id
        let check = try ProcessControl.spawn(
            process.executable, ["-c", "-q", "-f", process.arguments.last ?? ""], environment: [:],
            log: directory.log(process).path)
        var status: Int32 = 0
        waitpid(check, &status, 0)
        guard status == 0 else {
            throw StepFailed(description: "haproxy refuses the new front door configuration: " + tail(process))
        }
        let workers = Set(ProcessControl.children(of: current.pid))
        log("reloading \(id): its configuration changed")
        kill(current.pid, SIGUSR2)
        running[id]?.process = process
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            reap()
            if ProcessControl.children(of: current.pid).contains(where: { !workers.contains($0) }) {
                try awaitReady(id)
                return
            }
            usleep(50_000)
        }
        throw StepFailed(
            description: "the front door did not start a worker with the new configuration: " + tail(process))
    }

    /// The front door's backend and server for a server instance, when a front door runs; nil for anything else.
    func frontDoorServer(of process: LocalProcess) -> (backend: String, server: String)? {
        guard let frontDoor = running[LocalProcess.Kind.frontDoor.rawValue], frontDoor.status != .crashed else {
            return nil
        }
        return FrontDoor.server(of: process)
    }

    /// Waits (bounded) until the other instances of `process`'s service and region are ready, and routed to by
    /// the front door when one runs, so stopping it does not leave the region without one. Ready by the
    /// supervisor's probe is not enough: an instance restarted after a crash answers at once, but haproxy sends it
    /// nothing until its health check has passed `rise` times.
    func awaitPeersReady(of process: LocalProcess) {
        // The peers are the other servers of its front door backend: its service in its region.
        let routed = frontDoorServer(of: process)
        let backend = FrontDoor.server(of: process)?.backend
        let deadline = ContinuousClock.now + Self.readinessTimeout
        func peersReady() -> Bool {
            let peers = running.values.filter { entry in
                entry.process.id != process.id && FrontDoor.server(of: entry.process)?.backend == backend
            }
            guard peers.allSatisfy({ $0.status == .ready }) else { return false }
            guard let routed, !peers.isEmpty else { return true }
            let up = FrontDoorStats.routable(backend: routed.backend) ?? []
            return peers.allSatisfy { peer in FrontDoor.server(of: peer.process).map { up.contains($0.server) } ?? true
            }
        }
        while !peersReady() {
            guard ContinuousClock.now < deadline, supervisorStopRequested == 0 else {
                log("restarting \(process.id) while a peer is not ready or not routed to")
                return
            }
            reap()
            tend()
            usleep(100_000)
        }
    }
}
