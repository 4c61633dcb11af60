import Redis

/// The recovery sessions of the sockets connected here (see `ClusterRecovery`): held while a socket is
/// connected, refreshed every heartbeat, released when it drops, claimed when a client comes back.
extension ClusterAdapter {
    /// Records a socket's session (at connect, and when its rooms change), for recovery. The commands are sent
    /// under the lock of `liveSessions`, so Redis gets a socket's hold, refresh and release in the order they
    /// happened here.
    func track(pid: String, _ session: ClusterRecovery.Session) {
        guard let recovery else { return }
        liveSessions.withLock { live in
            live[pid] = session
            publisher.sendAndForget(
                recovery.holdCommand(session, pid: pid, holder: holder, heartbeat: heartbeatInterval))
        }
    }

    /// This instance's channel, which the leases of its sockets name.
    var holder: String { instanceChannel(instanceID) }

    /// Takes the recovery session `user` left under `pid` in `namespace` for a socket of this instance; nil
    /// when there is none, it is someone else's, or its socket is still connected somewhere.
    func claim(pid: String, user: String, namespace: String) async throws -> ClusterRecovery.Session? {
        guard let recovery else { return nil }
        return try await recovery.take(
            pid: pid, user: user, namespace: namespace, holder: holder, heartbeat: heartbeatInterval)
    }

    /// A socket is gone: its session is kept for the recovery window when the client may come back for it
    /// (`recoverable`), else deleted.
    func untrack(pid: String, recoverable: Bool) {
        guard let recovery else { return }
        liveSessions.withLock { live in
            guard let session = live.removeValue(forKey: pid) else { return }
            publisher.sendAndForget(
                recoverable
                    ? recovery.releaseCommand(session, pid: pid, holder: holder)
                    : recovery.deleteCommand(pid: pid, holder: holder))
        }
    }

    /// A claimed session that was not used after all (the connection closed, or Redis failed, during the
    /// recovery): it goes back, free to claim again.
    func giveBack(pid: String, _ session: ClusterRecovery.Session) {
        guard let recovery else { return }
        publisher.sendAndForget(recovery.releaseCommand(session, pid: pid, holder: holder))
    }

    /// The sockets here whose lease names another instance: that instance recovered their session while this
    /// one was not visible (its subscriber away), so its claim stands, the refresh just sent was refused by the
    /// lease check, and the socket here is closed, for good.
    func closeTakenOverSockets(_ inbound: ClusterInbound) async {
        guard let recovery else { return }
        let pids = liveSessions.withLock { $0.keys.sorted() }
        let leases = RESPCommand(["MGET"] + pids.map { RESPArgument(recovery.leaseKey($0)) })
        guard !pids.isEmpty, let reply = try? await publisher.send(leases), let holders = reply.elements,
            holders.count == pids.count
        else { return }
        for (pid, current) in zip(pids, holders) {
            guard let other = current.string, other != holder,
                let session = liveSessions.withLock({ $0.removeValue(forKey: pid) })
            else { continue }
            logger.warning(
                "a socket's recovery session was taken over by another instance",
                metadata: ["sid": "\(session.socketID)", "holder": "\(other)"])
            await inbound.closeSocket(session.namespace, session.socketID, .sessionTakenOver)
        }
    }

    func refreshSessions() {
        guard let recovery else { return }
        liveSessions.withLock { live in
            for (pid, session) in live {
                publisher.sendAndForget(
                    recovery.holdCommand(session, pid: pid, holder: holder, heartbeat: heartbeatInterval))
            }
        }
    }
}
