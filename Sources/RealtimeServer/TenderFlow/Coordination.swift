import JSON
import NIOCore
import Redis

/// How long TenderFlow's coordination state lives, and its bounds (`ServerConfiguration`'s variables).
struct CoordinationSettings: Sendable {
    /// A lease not renewed lapses after this (the presence TTL: renewed every heartbeat, a third of it).
    var leaseLifetime: Duration = .seconds(30)
    /// How long a lease outlives its socket's disconnection, for the same user to take it again.
    var leaseGrace: Duration = .seconds(15)
    /// How long a user may be gone before they are announced offline.
    var statusDebounce: Duration = .seconds(5)
    /// An instance's hold on a user's online state lapses after this without a refresh (the presence TTL).
    var statusHold: Duration = .seconds(30)
    /// Entries the handoff stream may hold before updates and comments are refused (the backend deletes what it
    /// applied).
    var handoffMaxEntries = 10_000
    /// Events each tender's activity feed keeps.
    var activityMaxEvents = 200
    /// How long a job's last state is kept after its last update.
    var jobRetention: Duration = .seconds(86_400)

    /// Jobs each tender keeps the last state of; past it, the one updated longest ago goes.
    static let maxJobsPerTender = 50
    /// How long the answer to a request with a `requestId` is kept, for a retry after a lost answer.
    static let requestRetention = Duration.seconds(600)
    /// An untouched lease hash, activity feed or status goes after this.
    static let idleKeyLifetime = Duration.seconds(30 * 86_400)
}

/// Coordination needs its Redis, and it cannot be reached now: the client is told to retry.
struct CoordinationUnavailable: Error, Sendable {}

/// An edit lease as clients see it: a section, who holds it, and until when (milliseconds since the epoch).
struct EditLease: Sendable, Equatable {
    var section: String
    var user: String
    var socketID: String
    var expiresAt: Int64

    /// `<expires>|<socket id>|<user>`, as the scripts keep it.
    init?(section: String, stored: String) {
        let parts = stored.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let expires = Int64(parts[0]) else { return nil }
        self.init(section: section, user: String(parts[2]), socketID: String(parts[1]), expiresAt: expires)
    }

    init(section: String, user: String, socketID: String, expiresAt: Int64) {
        self.section = section
        self.user = user
        self.socketID = socketID
        self.expiresAt = expiresAt
    }

    /// The socket id is the server's business, not the room's.
    var json: JSONValue {
        .object([("section", .string(section)), ("user", .string(user)), ("expiresAt", .number(Double(expiresAt)))])
    }
}

/// A tender's live leases after a lease script ran, with what the script did.
struct LeaseBoard: Sendable, Equatable {
    /// `granted`, `renewed`, `held`, `released`, `lapsing`, `not-held`, `swept`, `none` or `list`.
    var outcome: String
    /// For `held`: the holder's lease.
    var holder: EditLease?
    /// Raised by every change of the list: a client keeps the highest it saw, so lists that arrive out of
    /// order (two instances announcing two changes) do not go back in time.
    var revision: Int64
    var leases: [EditLease]

    init(tender: String, section: String?, reply: RESPValue) throws {
        guard let fields = reply.elements, fields.count >= 4, let outcome = fields[0].string,
            let revision = fields[2].int
        else { throw CoordinationUnavailable() }
        self.outcome = outcome
        self.revision = revision
        holder = fields[1].string.flatMap { detail in section.flatMap { EditLease(section: $0, stored: detail) } }
        leases = stride(from: 4, to: fields.count - 1, by: 2).compactMap { index in
            fields[index].string.flatMap { section in
                fields[index + 1].string.flatMap { EditLease(section: section, stored: $0) }
            }
        }.sorted { $0.section < $1.section }
    }

    /// The `edit:leases` event's payload.
    func json(tender: String) -> JSONValue {
        .object([
            ("tenderId", .string(tender)), ("revision", .number(Double(revision))),
            ("leases", .array(leases.map(\.json))),
        ])
    }
}

/// What `tender:update` came to.
enum UpdateOutcome: Sendable, Equatable {
    case accepted(version: Int64)
    /// The same request (`requestId`) was accepted before, as this version: its answer was lost.
    case duplicate(version: Int64)
    case conflict(currentVersion: Int64)
    /// Another user holds the section's lease.
    case leased(EditLease)
    /// The handoff stream holds `HANDOFF_MAX_ENTRIES` the backend has not deleted: nothing more is accepted.
    case backlog
    /// This user's `requestId` was used before for another patch.
    case reused
}

/// What `comment:add` came to.
enum CommentOutcome: Sendable, Equatable {
    /// Its number and when it was taken; `duplicate`: this user's request with this text was numbered before.
    case numbered(number: Int64, at: Int64, duplicate: Bool)
    case backlog
    case reused
}

/// A job's last reported state, as the backend published it.
struct JobState: Sendable, Equatable {
    static let states: Set<String> = ["queued", "running", "succeeded", "failed", "cancelled"]

    var jobID: String
    var tender: String
    var percent: Double
    var state: String
    /// When it was reported, on Redis's clock; 0 until it is kept.
    var updatedAt: Int64 = 0

    /// `job:progress`'s payload, checked: a job id and tender id like a tender's, a percent from 0 to 100, a
    /// known state; any other member is kept as the backend sent it (a file name, a message).
    static func parse(_ data: JSONValue?, room tender: String) -> Result<(JobState, JSONValue), PublishRefusal> {
        guard let data, data.isObject, let job = data["jobId"]?.stringValue, TenderFlow.isTenderID(job) else {
            return .failure(PublishRefusal("job:progress needs jobId (1 to 64 letters, digits, - or _)"))
        }
        guard data["tenderId"]?.stringValue == tender else {
            return .failure(PublishRefusal("job:progress's tenderId must be the tender of its room"))
        }
        guard let percent = data["percent"]?.numberValue, (0...100).contains(percent) else {
            return .failure(PublishRefusal("job:progress needs percent from 0 to 100"))
        }
        guard let state = data["state"]?.stringValue, states.contains(state) else {
            return .failure(
                PublishRefusal("job:progress's state must be one of \(states.sorted().joined(separator: ", "))"))
        }
        return .success((JobState(jobID: job, tender: tender, percent: percent, state: state), data))
    }
}

/// Who is online: the state the last announcement gave, and when an offline user was last seen.
struct UserState: Sendable, Equatable {
    var user: String
    var online: Bool
    var lastSeen: Int64? = nil

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("user", .string(user)), ("online", .bool(online))]
        if !online, let lastSeen { members.append(("lastSeen", .number(Double(lastSeen)))) }
        return .object(members)
    }
}
