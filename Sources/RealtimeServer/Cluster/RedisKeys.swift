/// Every Redis key and channel name the cluster uses, spelled in one place: `<prefix>:<kind>:{<id>}`. The part
/// in braces is the hash tag: keys that one script touches together share it, so they fall in one slot on a
/// Redis Cluster too.
struct RedisKeys: Sendable, Hashable {
    let prefix: String

    init(prefix: String = "tfctl-rt") { self.prefix = prefix }

    /// The channel every instance hears cluster-wide questions on.
    var queryChannel: String { "\(prefix):cluster" }

    /// The channel an instance hears forwarded polls, answers and server-side events on; an instance that is
    /// subscribed to it is alive (the recovery claim counts its subscribers).
    func instanceChannel(_ instance: String) -> String { "\(prefix):instance:{\(instance)}" }

    /// The channel of a room's broadcasts, or of a whole namespace's when `room` is nil.
    func broadcastChannel(namespace: String, room: String?) -> String {
        if let room { return "\(prefix):{\(namespace)|\(room)}" }
        return "\(prefix):{\(namespace)}"
    }

    /// The stream of a namespace's recoverable broadcasts.
    func recoveryStream(namespace: String) -> String { "\(prefix):stream:{\(namespace)}" }

    /// The recovery session of a socket, by its private id.
    func recoverySession(pid: String) -> String { "\(prefix):session:{\(pid)}" }

    /// The lease of a connected socket's recovery session: the channel of the instance that holds the socket.
    func recoveryLease(pid: String) -> String { "\(prefix):lease:{\(pid)}" }

    /// The presence entries of a tender.
    func presence(tender: String) -> String { "\(prefix):presence:{\(tender)}" }

    // MARK: TenderFlow coordination
    //
    // A tender's keys share the tender's hash tag (and the presence key's): the scripts that touch a lease and a
    // version together touch one slot.

    /// The edit leases of a tender's sections, with the list's revision.
    func editLeases(tender: String) -> String { "\(prefix):leases:{\(tender)}" }

    /// A tender's record: each section's current version, the last comment number, and the epoch (when it was
    /// created).
    func tenderRecord(tender: String) -> String { "\(prefix):tender:{\(tender)}" }

    /// What a user's request (`requestId`) on a tender was answered, for a retry after a lost answer.
    func request(tender: String, id: String) -> String { "\(prefix):request:{\(tender)}:\(id)" }

    /// The last state of each job of a tender.
    func jobs(tender: String) -> String { "\(prefix):jobs:{\(tender)}" }

    /// The recent events of a tender, for its activity feed.
    func activity(tender: String) -> String { "\(prefix):activity:{\(tender)}" }

    /// A user's online state, last-seen time and the instances that hold a socket of theirs.
    func userStatus(user: String) -> String { "\(prefix):status:{\(user)}" }

    /// When each instance's hold on each user's online state lapses: what the heartbeat sweep settles.
    var statusIndex: String { "\(prefix):status-index" }

    /// Accepted updates and comments, for the backend that keeps the record (a consumer group reads it).
    var handoff: String { "\(prefix):handoff" }
}
