import JSON
import NIOCore
import SocketIO

/// Where what the other instances send this one goes, handed to `ClusterAdapter.run` by the `ClusterService`
/// that `buildServer` makes once the rooms, the Socket.IO server and the Engine.IO server exist: the adapter
/// publishes for them, and they answer what comes back, so this is the one place that says where each kind of
/// cluster message ends up. The adapter holds it only while it runs.
struct ClusterInbound: Sendable {
    /// Broadcasts of other instances, for the sockets here.
    var deliver: @Sendable (ClusterMessage) async -> Void
    /// Questions of other instances: server-side events and the cluster-wide queries.
    var answerQuery: @Sendable (JSONValue) async -> JSONValue
    /// Polling requests other instances forward for sessions of this one; nil: none are answered here.
    var answerPoll: (@Sendable (ForwardedPolling.Method, String, ByteBuffer) async -> PollingReply)?
    /// Jobs run every heartbeat (a third of the presence TTL) while Redis is reachable.
    var heartbeat: [@Sendable () async -> Void] = []
    /// Closes a socket here, by namespace and id, with a reason: one whose recovery session another
    /// connection took over.
    var closeSocket: @Sendable (_ namespace: String, _ socketID: String, CloseReason) async -> Void
}

extension SocketServer {
    /// Broadcasts go to this server's rooms and questions to its server-side handlers; `answerPoll` and
    /// `heartbeat` are the Engine.IO server's and the profile's.
    func clusterInbound(
        answerPoll: (@Sendable (ForwardedPolling.Method, String, ByteBuffer) async -> PollingReply)? = nil,
        heartbeat: [@Sendable () async -> Void] = []
    ) -> ClusterInbound {
        let rooms = self.rooms
        return ClusterInbound(
            deliver: { message in await rooms.deliver(message) }, answerQuery: { query in await self.answer(query) },
            answerPoll: answerPoll, heartbeat: heartbeat,
            closeSocket: { namespace, socketID, reason in
                await rooms.close(namespace: namespace, socketID: socketID, reason: reason)
            })
    }
}
