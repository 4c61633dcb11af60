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

    func script(_ source: String, keys: [String], _ arguments: [RESPArgument]) -> RESPCommand {
        RESPCommand(
            ["EVAL", RESPArgument(source), RESPArgument(keys.count)] + keys.map { RESPArgument($0) } + arguments)
    }

    /// Sends commands and answers their replies; any failure (no connection, a timeout, an error reply) is
    /// `CoordinationUnavailable`, which the handlers answer with "retry".
    func ask(_ client: RedisClient, _ commands: [RESPCommand]) async throws -> [RESPValue] {
        do {
            return try await client.send(commands)
        } catch {
            throw CoordinationUnavailable()
        }
    }

    func ask(_ client: RedisClient, _ command: RESPCommand) async throws -> RESPValue {
        try await ask(client, [command])[0]
    }

    private func run(_ client: RedisClient, _ source: String, keys: [String], _ arguments: [RESPArgument])
        async throws -> RESPValue
    {
        try await ask(client, script(source, keys: keys, arguments))
    }

    /// Sends a script here and, without waiting, to every other region; returns this region's answer.
    private func replicated(_ source: String, keys: [String], _ arguments: [RESPArgument]) async throws -> RESPValue {
        let command = script(source, keys: keys, arguments)
        for relay in relays.clients { relay.sendAndForget(command) }
        return try await ask(local, command)
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

    /// Renews leases held by sockets here, in one round trip; for each, whether its socket still holds it.
    func renew(_ leases: [(socketID: String, lease: HeldLeases.Lease)]) async throws -> [Bool] {
        guard !leases.isEmpty else { return [] }
        let commands = leases.map { socketID, lease in
            script(
                CoordinationScripts.renewLease, keys: [keys.editLeases(tender: lease.tender)],
                [
                    RESPArgument(lease.section), RESPArgument(socketID), milliseconds(settings.leaseLifetime),
                    milliseconds(CoordinationSettings.idleKeyLifetime),
                ])
        }
        var held: [Bool] = []
        for batch in Self.batches(commands) {
            do {
                // An error answer (out of memory, busy) says nothing about the lease: it is kept until one that does.
                held += try await decider().pipeline(Array(batch)).map { reply in
                    if case .error = reply { return true }
                    return reply.int == 1
                }
            } catch {
                throw CoordinationUnavailable()
            }
        }
        return held
    }

    /// Commands in pipelines of at most 1 000: well under the client's limit of waiting replies.
    static func batches(_ commands: [RESPCommand]) -> [ArraySlice<RESPCommand>] {
        stride(from: 0, to: commands.count, by: 1_000).map { commands[$0..<min($0 + 1_000, commands.count)] }
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

    /// Removes the lapsed leases of these tenders, in one round trip; returns the boards of the tenders where this
    /// call removed some (announce them).
    func sweepLeases(tenders: [String]) async throws -> [(tender: String, board: LeaseBoard)] {
        guard !tenders.isEmpty else { return [] }
        var replies: [RESPValue] = []
        let commands = tenders.map { script(CoordinationScripts.sweepLeases, keys: [keys.editLeases(tender: $0)], []) }
        for batch in Self.batches(commands) {
            do {
                replies += try await decider().pipeline(Array(batch))
            } catch {
                throw CoordinationUnavailable()
            }
        }
        return zip(tenders, replies).compactMap { tender, reply in
            guard let board = try? LeaseBoard(tender: tender, section: nil, reply: reply), board.outcome == "swept"
            else { return nil }
            return (tender, board)
        }
    }

    func leases(tender: String) async throws -> LeaseBoard {
        try LeaseBoard(
            tender: tender, section: nil,
            reply: try await run(decider(), CoordinationScripts.listLeases, keys: [keys.editLeases(tender: tender)], [])
        )
    }

    // MARK: Versions and comments

    /// Accepts `patch` as the section's next version when `baseVersion` is its current one, and hands it to the
    /// backend in the same step. A `requestID` is the user's own: the same id from another user is another request.
    func update(
        tender: String, section: String, baseVersion: Int64, user: String, requestID: String?, patch: JSONValue
    ) async throws -> UpdateOutcome {
        let reply = try await run(
            decider(), CoordinationScripts.updateSection,
            keys: [
                keys.tenderRecord(tender: tender), keys.editLeases(tender: tender),
                keys.request(tender: tender, id: "update:\(section):\(requestID ?? ""):\(user)"), keys.handoff,
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
        case ("backlog", _): return .backlog
        case ("reused", _): return .reused
        default:
            guard outcome == "leased", let lease = fields[1].string.flatMap({ EditLease(section: section, stored: $0) })
            else { throw CoordinationUnavailable() }
            return .leased(lease)
        }
    }

    /// The comment's number in its tender (1, 2, ...) and when it was taken, handed to the backend in the same
    /// step.
    func comment(tender: String, user: String, comment: JSONValue, requestID: String?) async throws
        -> CommentOutcome
    {
        let reply = try await run(
            decider(), CoordinationScripts.addComment,
            keys: [
                keys.tenderRecord(tender: tender),
                keys.request(tender: tender, id: "comment:\(requestID ?? ""):\(user)"), keys.handoff,
            ],
            [
                RESPArgument(user), RESPArgument(comment.serialized()), RESPArgument(requestID ?? ""),
                RESPArgument(tender), RESPArgument(settings.handoffMaxEntries),
                milliseconds(CoordinationSettings.requestRetention),
            ])
        guard let fields = reply.elements, fields.count == 3, let outcome = fields[0].string,
            let number = fields[1].int, let at = fields[2].int
        else { throw CoordinationUnavailable() }
        switch outcome {
        case "backlog": return .backlog
        case "reused": return .reused
        default: return .numbered(number: number, at: at, duplicate: outcome == "duplicate")
        }
    }

    // MARK: Jobs and activity

    /// Keeps a job's last state (`data`, the payload as published), here and in every region; returns the state
    /// the job had finished in when this one came too late to count (nil: kept).
    func retain(_ job: JobState, data: JSONValue) async throws -> String? {
        let reply = try await replicated(
            CoordinationScripts.retainJob, keys: [keys.jobs(tender: job.tender)],
            [
                RESPArgument(job.jobID), RESPArgument(job.state), RESPArgument(data.serialized()),
                RESPArgument(CoordinationSettings.maxJobsPerTender), milliseconds(settings.jobRetention),
            ])
        guard let fields = reply.elements, fields.count == 2, fields[0].string != "kept" else { return nil }
        return fields[1].string
    }

    /// The last state of each job of the tender updated within the retention, oldest update first.
    func jobs(tender: String) async throws -> [JSONValue] {
        let reply = try await ask(local, RESPCommand("HGETALL", RESPArgument(keys.jobs(tender: tender))))
        let fields = reply.elements ?? reply.mapPairs ?? []
        var jobs: [(updated: Int64, id: String, data: JSONValue)] = []
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            // `<updated>|<state>|<job>`
            guard let id = fields[index].string, let stored = fields[index + 1].string,
                case let parts = stored.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false),
                parts.count == 3, let updated = Int64(parts[0]), let data = JSONValue.parse(parts[2])
            else { continue }
            jobs.append((updated, id, data))
        }
        let oldest = Int64(EventIDs.wallClockMilliseconds()) - Int64(settings.jobRetention / .milliseconds(1))
        return jobs.filter { $0.updated >= oldest }.sorted { ($0.updated, $0.id) < ($1.updated, $1.id) }.map(\.data)
    }

    /// Events larger than this are kept in the activity feed without their data (`{"omitted": <bytes>}`), so a
    /// page of the feed stays small whatever backends publish.
    static let maxActivityDataBytes = 8_192

    /// Appends an event of a tender's room to its activity feed, here and in every region, without waiting.
    func record(tender: String, event: String, data: JSONValue) {
        var text = data.serialized()
        if text.utf8.count > Self.maxActivityDataBytes {
            text = JSONValue.object([("omitted", .number(Double(text.utf8.count)))]).serialized()
        }
        let command = script(
            CoordinationScripts.recordActivity, keys: [keys.activity(tender: tender)],
            [
                RESPArgument(settings.activityMaxEvents), milliseconds(CoordinationSettings.idleKeyLifetime),
                RESPArgument(event), RESPArgument(text),
            ])
        for client in [local] + relays.clients { client.sendAndForget(command) }
    }

    /// The tender's `limit` most recent events, oldest first: `{event, data, at}`.
    func activity(tender: String, limit: Int) async throws -> [JSONValue] {
        let reply = try await ask(
            local,
            RESPCommand(
                "XREVRANGE", RESPArgument(keys.activity(tender: tender)), "+", "-", "COUNT", RESPArgument(limit)))
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
