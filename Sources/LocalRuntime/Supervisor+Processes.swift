import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Supervisor {
    func start(_ process: LocalProcess, restarts: Int = 0, crashes: Int = 0) throws {
        let logFile = directory.log(process)
        let offset = (try? FileManager.default.attributesOfItem(atPath: logFile.path)[.size] as? UInt64) ?? 0
        let pid = try ProcessControl.spawn(
            process.executable, process.arguments, environment: process.environment, log: logFile.path)
        running[process.id] = Running(
            process: process, pid: pid, startTime: ProcessControl.startTime(pid) ?? 0, startedAt: Date(),
            restarts: restarts, status: .starting, restartAt: nil, crashes: crashes, logOffset: offset)
        log("started \(process.id) (pid \(pid), port \(process.port))")
        publish()
    }

    /// Waits until the process answers its readiness probe. Crashes elsewhere are handled meanwhile; a crash of
    /// this one fails the step with its last log lines (a port in use, a bad setting), and it is started again
    /// after its pause like any crashed process.
    func awaitReady(_ id: String) throws {
        let deadline = ContinuousClock.now + Self.readinessTimeout
        while true {
            if supervisorStopRequested != 0 { throw StepFailed(description: "stopped while \(id) was starting") }
            reap()
            guard let entry = running[id] else { throw StepFailed(description: "\(id) is gone") }
            if entry.status == .crashed {
                throw StepFailed(description: "\(id) exited before it was ready: " + tail(entry.process))
            }
            if probe(entry) {
                running[id]?.status = .ready
                publish()
                return
            }
            if ContinuousClock.now >= deadline {
                throw StepFailed(
                    description: "\(id) was not ready after \(Self.readinessTimeout): " + tail(entry.process))
            }
            tend()
            usleep(50_000)
        }
    }

    func probe(_ entry: Running) -> Bool {
        if let answers = entry.process.readiness.answersNow { return answers }
        guard case .logLine(let line) = entry.process.readiness,
            let handle = try? FileHandle(forReadingFrom: directory.log(entry.process))
        else { return false }
        defer { try? handle.close() }
        try? handle.seek(toOffset: entry.logOffset)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self).contains(line)
    }

    /// Stops a process and forgets it. A crashed one is already gone: its pid is not signalled again.
    func stop(_ id: String) {
        guard let entry = running.removeValue(forKey: id) else { return }
        if entry.status != .crashed {
            log("stopping \(id) (pid \(entry.pid))")
            ProcessControl.stopGroup(entry.pid, grace: Self.grace, reap: true)
        }
        publish()
    }

    /// Stops everything, the front door first and Redis last; the servers of a stage together (each drains),
    /// within one grace period per stage.
    func stopAll() {
        state.phase = .stopping
        publish()
        log("stopping every process")
        for stage in LocalProcess.Kind.allCases.map(\.stage).sorted().reversed() {
            let group = running.values.filter { $0.process.kind.stage == stage && $0.status != .crashed }
            ProcessControl.stopGroups(group.map(\.pid), grace: Self.grace, reap: true)
        }
        running.removeAll()
        try? FileManager.default.removeItem(at: directory.stateFile)
        log("stopped")
    }

    // MARK: - Tending

    /// The one place exited children are collected: each is marked crashed, with the pause before it starts again.
    func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let (id, entry) = running.first(where: { $0.value.pid == pid && $0.value.status != .crashed })
            else { continue }
            let ranLong = Date().timeIntervalSince(entry.startedAt) > 60
            let crashes = ranLong ? 1 : entry.crashes + 1
            let pause = Duration.seconds(min(30, 2 << min(crashes - 1, 4)))
            log("\(id) exited (\(Self.describe(status))); starting it again in \(pause): \(tail(entry.process))")
            // Whatever it started dies with it (a worker of haproxy's, say), so nothing keeps its port.
            ProcessControl.signalGroup(pid, SIGKILL)
            running[id]?.status = .crashed
            running[id]?.crashes = crashes
            running[id]?.restartAt = ContinuousClock.now + pause
            publish()
        }
    }

    /// Collects exits, starts crashed processes whose pause is over, and marks started ones ready.
    func tend() {
        reap()
        var changed = false
        for (id, entry) in running {
            if entry.status == .crashed, let at = entry.restartAt, ContinuousClock.now >= at {
                do {
                    try start(entry.process, restarts: entry.restarts + 1, crashes: entry.crashes)
                } catch {
                    log("\(id) could not be started again: \(error)")
                    running[id]?.restartAt = ContinuousClock.now + .seconds(30)
                }
                changed = true
            } else if entry.status == .starting, probe(entry) {
                running[id]?.status = .ready
                log("\(id) is ready")
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
                id: process.id, pid: entry.pid, startTime: entry.startTime, port: process.port,
                startedAt: entry.startedAt.timeIntervalSince1970, restarts: entry.restarts, status: entry.status)
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

/// An advisory lock on a file (`flock`), held until unlocked or the process ends: the kernel releases it when
/// its holder dies, so a lock that cannot be taken means a live holder.
public final class FileLock {
    let descriptor: Int32

    public init?(_ url: URL) {
        descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor < 0 { return nil }
    }

    deinit { close(descriptor) }

    public func tryLock() -> Bool { flock(descriptor, LOCK_EX | LOCK_NB) == 0 }
    public func lock() { _ = flock(descriptor, LOCK_EX) }
    public func unlock() { _ = flock(descriptor, LOCK_UN) }
}
