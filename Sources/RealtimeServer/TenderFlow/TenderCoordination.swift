import JSON
import NIOCore
import Redis

/// TenderFlow's shared state in Redis, through `CoordinationScripts`.
///
/// Where it lives: what must be decided once for the world (who holds a lease, a section's version, a comment's
/// number, the handoff to the backend) is kept in one Redis, the coordination region's (`COORDINATION_REGION`,
/// which tfctl sets to the topology's first region; without it, this region's): other regions reach it through
/// their relay connection. What every region reads locally and only announces (online status, job states, the
/// activity feed) is written to this region's Redis and, without waiting, to every other region's, as presence is.
struct TenderCoordination: Sendable {
    let keys: RedisKeys
    /// This region's Redis.
    let local: RedisClient
    let relays: RegionRelays
    /// The region whose Redis decides; nil: this one.
    let coordinationRegion: String?
    let instanceID: String
    let settings: CoordinationSettings

    /// The Redis that decides leases, versions and comment numbers, when it can be reached.
    private func decider() throws -> RedisClient {
        let client = coordinationRegion.map { relays.client(for: $0) } ?? local
        guard let client, client.isConnected else { throw CoordinationUnavailable() }
        return client
    }

    private func run(_ client: RedisClient, _ script: String, keys: [String], _ arguments: [RESPArgument])
        async throws -> RESPValue
    {
        do {
            return try await client.send(
                RESPCommand(
                    ["EVAL", RESPArgument(script), RESPArgument(keys.count)] + keys.map { RESPArgument($0) } + arguments
                ))
        } catch {
            throw CoordinationUnavailable()
        }
    }

    /// Sends a script here and, without waiting, to every other region; returns this region's answer.
    private func replicated(_ script: String, keys: [String], _ arguments: [RESPArgument]) async throws -> RESPValue {
        let command = RESPCommand(
            ["EVAL", RESPArgument(script), RESPArgument(keys.count)] + keys.map { RESPArgument($0) } + arguments)
        for relay in relays.clients { relay.sendAndForget(command) }
        do {
            return try await local.send(command)
        } catch {
            throw CoordinationUnavailable()
        }
    }

    private func milliseconds(_ duration: Duration) -> RESPArgument { RESPArgument(Int(duration / .milliseconds(1))) }

    // MARK: Edit leases

    func acquire(tender: String, section: String, user: String, socketID: String) async throws -> LeaseBoard {
        let reply = try await run(
            decider(), CoordinationScripts.acquireLease, keys: [keys.editLeases(tender: tender)],
            [
                RESPArgument(section), RESPArgument(user), RESPArgument(socketID), milliseconds(settings.leaseLifetime),
                milliseconds(CoordinationSettings.idleKeyLifetime),
            ])
        return try LeaseBoard(tender: tender, section: section, reply: reply)
    }

    /// Whether the socket still holds the lease, now renewed.
    func renew(tender: String, section: String, socketID: String) async throws -> Bool {
        let reply = try await run(
            decider(), CoordinationScripts.renewLease, keys: [keys.editLeases(tender: tender)],
            [
                RESPArgument(section), RESPArgument(socketID), milliseconds(settings.leaseLifetime),
                milliseconds(CoordinationSettings.idleKeyLifetime),
            ])
        return reply.int == 1
    }

    /// Releases now, or with `grace` lets the lease lapse after the grace period unless its user takes it again.
    func release(tender: String, section: String, socketID: String, grace: Bool) async throws -> LeaseBoard {
        let reply = try await run(
            decider(), CoordinationScripts.releaseLease, keys: [keys.editLeases(tender: tender)],
            [
                RESPArgument(section), RESPArgument(socketID),
                grace ? milliseconds(settings.leaseGrace) : RESPArgument(0),
            ])
        return try LeaseBoard(tender: tender, section: nil, reply: reply)
    }

    /// Removes lapsed leases: `swept` when this call removed some (announce the list).
    func sweepLeases(tender: String) async throws -> LeaseBoard {
        try LeaseBoard(
            tender: tender, section: nil,
            reply: try await run(
                decider(), CoordinationScripts.sweepLeases, keys: [keys.editLeases(tender: tender)], []))
    }

    func leases(tender: String) async throws -> LeaseBoard {
        try LeaseBoard(
            tender: tender, section: nil,
            reply: try await run(decider(), CoordinationScripts.listLeases, keys: [keys.editLeases(tender: tender)], [])
        )
    }

    // MARK: Versions and comments

    /// Accepts `patch` as the section's next version when `baseVersion` is its current one, and hands it to the
    /// backend in the same step.
    func update(
        tender: String, section: String, baseVersion: Int64, user: String, requestID: String?, patch: JSONValue
    ) async throws -> UpdateOutcome {
        let reply = try await run(
            decider(), CoordinationScripts.updateSection,
            keys: [
                keys.sectionVersions(tender: tender), keys.editLeases(tender: tender),
                keys.request(tender: tender, id: "update:" + (requestID ?? "")), keys.handoff,
            ],
            [
                RESPArgument(section), RESPArgument(String(baseVersion)), RESPArgument(user),
                RESPArgument(requestID ?? ""), RESPArgument(patch.serialized()), RESPArgument(tender),
                RESPArgument(settings.handoffMaxEntries), milliseconds(CoordinationSettings.requestRetention),
            ])
        guard let fields = reply.elements, fields.count == 2, let outcome = fields[0].string else {
            throw CoordinationUnavailable()
        }
        switch (outcome, fields[1].int) {
        case ("accepted", let version?): return .accepted(version: version)
        case ("duplicate", let version?): return .duplicate(version: version)
        case ("conflict", let version?): return .conflict(currentVersion: version)
        default:
            guard outcome == "leased", let lease = fields[1].string.flatMap({ EditLease(section: section, stored: $0) })
            else { throw CoordinationUnavailable() }
            return .leased(lease)
        }
    }

    /// The comment's number in its tender (1, 2, ...) and when it was taken, handed to the backend in the same
    /// step; `duplicate`: this `requestID` was numbered before.
    func comment(tender: String, user: String, comment: JSONValue, requestID: String?) async throws
        -> (number: Int64, at: Int64, duplicate: Bool)
    {
        let reply = try await run(
            decider(), CoordinationScripts.addComment,
            keys: [
                keys.commentSequence(tender: tender), keys.request(tender: tender, id: "comment:" + (requestID ?? "")),
                keys.handoff,
            ],
            [
                RESPArgument(user), RESPArgument(comment.serialized()), RESPArgument(requestID ?? ""),
                RESPArgument(tender), RESPArgument(settings.handoffMaxEntries),
                milliseconds(CoordinationSettings.requestRetention),
            ])
        guard let fields = reply.elements, fields.count == 3, let outcome = fields[0].string,
            let number = fields[1].int, let at = fields[2].int
        else { throw CoordinationUnavailable() }
        return (number, at, outcome == "duplicate")
    }

    // MARK: Jobs and activity

    /// Keeps a job's last state (`data`, the payload as published), here and in every region.
    func retain(_ job: JobState, data: JSONValue) async throws {
        _ = try await replicated(
            CoordinationScripts.retainJob, keys: [keys.jobs(tender: job.tender)],
            [
                RESPArgument(job.jobID), RESPArgument(data.serialized()),
                RESPArgument(CoordinationSettings.maxJobsPerTender), milliseconds(settings.jobRetention),
            ])
    }

    /// The last state of each job of the tender updated within the retention, oldest update first.
    func jobs(tender: String) async throws -> [JSONValue] {
        let reply: RESPValue
        do {
            reply = try await local.send(RESPCommand("HGETALL", RESPArgument(keys.jobs(tender: tender))))
        } catch {
            throw CoordinationUnavailable()
        }
        let fields = reply.elements ?? reply.mapPairs ?? []
        var jobs: [(updated: Int64, id: String, data: JSONValue)] = []
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            guard let id = fields[index].string, let stored = fields[index + 1].string,
                let bar = stored.firstIndex(of: "|"), let updated = Int64(stored[..<bar]),
                let data = JSONValue.parse(stored[stored.index(after: bar)...])
            else { continue }
            jobs.append((updated, id, data))
        }
        let oldest = Int64(EventIDs.wallClockMilliseconds()) - Int64(settings.jobRetention / .milliseconds(1))
        return jobs.filter { $0.updated >= oldest }.sorted { ($0.updated, $0.id) < ($1.updated, $1.id) }.map(\.data)
    }

    /// Appends an event of a tender's room to its activity feed, here and in every region, without waiting.
    func record(tender: String, event: String, data: JSONValue) {
        let fields: [RESPArgument] = ["e", RESPArgument(event), "d", RESPArgument(data.serialized())]
        let key = keys.activity(tender: tender)
        let commands = [
            RESPCommand(
                ["XADD", RESPArgument(key), "MAXLEN", "~", RESPArgument(settings.activityMaxEvents), "*"] + fields),
            RESPCommand("PEXPIRE", RESPArgument(key), milliseconds(CoordinationSettings.idleKeyLifetime)),
        ]
        for client in [local] + relays.clients { for command in commands { client.sendAndForget(command) } }
    }

    /// The tender's `limit` most recent events, oldest first: `{event, data, at}`.
    func activity(tender: String, limit: Int) async throws -> [JSONValue] {
        let reply: RESPValue
        do {
            reply = try await local.send(
                RESPCommand(
                    "XREVRANGE", RESPArgument(keys.activity(tender: tender)), "+", "-", "COUNT", RESPArgument(limit)))
        } catch {
            throw CoordinationUnavailable()
        }
        return (reply.elements ?? []).reversed().compactMap { entry in
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].string,
                let at = id.split(separator: "-").first.flatMap({ Int64($0) }),
                let pairs = parts[1].elements ?? parts[1].mapPairs
            else { return nil }
            var values: [String: String] = [:]
            for index in stride(from: 0, to: pairs.count - 1, by: 2) {
                if let name = pairs[index].string { values[name] = pairs[index + 1].string }
            }
            guard let event = values["e"], let data = values["d"].flatMap({ JSONValue.parse(Substring($0)) }) else {
                return nil
            }
            return .object([("event", .string(event)), ("data", data), ("at", .number(Double(at)))])
        }
    }
}

extension RESPValue {
    /// A RESP3 map as the flat list RESP2 would give.
    var mapPairs: [RESPValue]? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.flatMap { [$0.0, $0.1] }
    }
}
