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
}
