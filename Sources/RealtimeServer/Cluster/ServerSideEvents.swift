import JSON
import SocketIO

/// Handles an event another instance sent with `serverSideEmit`; what it returns is that instance's
/// acknowledgement.
public typealias ServerSideHandler = @Sendable (_ arguments: [JSONValue]) async -> JSONValue

/// Events between instances, Socket.IO's `serverSideEmit` with acknowledgements: sent through Redis to every
/// other instance, each answering once (see `ClusterQueries` for who is waited for and how long). The
/// cluster-wide operations are built-in events of this kind.
extension SocketServer {
    /// Sends `event` to every other instance; returns their acknowledgements and how many instances that heard
    /// it did not answer within `timeout`. Without a cluster there is nobody to ask.
    public func serverSideEmit(_ event: String, _ arguments: [JSONValue], timeout: Duration = .seconds(2)) async
        -> (answers: [JSONValue], missing: Int)
    {
        guard let cluster else { return ([], 0) }
        return await cluster.ask(
            .object([("event", .string(event)), ("arguments", .array(arguments))]), timeout: timeout)
    }

    /// Answers an event from another instance (nil for an event nobody here handles).
    func answer(_ query: JSONValue) async -> JSONValue {
        guard let event = query["event"]?.stringValue else { return .null }
        let arguments = query["arguments"]?.arrayValue ?? []
        guard let handler = builtInHandlers[event] ?? serverSideHandlers[event] else { return .null }
        return await handler(arguments)
    }

    /// Here and on every other instance.
    private func everywhere(_ event: String, _ arguments: [JSONValue]) async -> (answers: [JSONValue], missing: Int) {
        let local = await answer(.object([("event", .string(event)), ("arguments", .array(arguments))]))
        let (others, missing) = await serverSideEmit(event, arguments)
        return ([local] + others, missing)
    }

    private var builtInHandlers: [String: ServerSideHandler] {
        let rooms = self.rooms
        let cluster = self.cluster
        return [
            "tfctl:room-count": { arguments in
                guard arguments.count == 2, let namespace = arguments[0].stringValue,
                    let room = arguments[1].stringValue
                else { return .null }
                return .number(Double(await rooms.memberCount(namespace: namespace, room: room)))
            },
            "tfctl:user-sockets": { arguments in
                .array(await rooms.sockets(ofUser: arguments.first?.stringValue ?? ""))
            },
            "tfctl:disconnect-user": { arguments in
                .number(Double(await rooms.disconnect(user: arguments.first?.stringValue ?? "")))
            },
            "tfctl:instance": { _ in
                .object([
                    ("instance", .string(cluster?.instanceID ?? "")), ("region", .string(cluster?.region ?? "")),
                    ("sockets", .number(Double(await rooms.socketCount))),
                ])
            },
        ]
    }

    /// Sockets in a room on every instance; `missing`: instances that did not answer in time.
    public func roomCount(namespace: String, room: String) async -> (count: Int, missing: Int) {
        let (answers, missing) = await everywhere("tfctl:room-count", [.string(namespace), .string(room)])
        return (answers.reduce(0) { total, answer in total + Int(answer.numberValue ?? 0) }, missing)
    }

    /// A user's sockets on every instance.
    public func userSockets(_ user: String) async -> (sockets: [JSONValue], missing: Int) {
        let (answers, missing) = await everywhere("tfctl:user-sockets", [.string(user)])
        return (answers.flatMap { $0.arrayValue ?? [] }, missing)
    }

    /// Disconnects a user's sockets on every instance; returns how many there were.
    public func disconnectUser(_ user: String) async -> (count: Int, missing: Int) {
        let (answers, missing) = await everywhere("tfctl:disconnect-user", [.string(user)])
        return (answers.reduce(0) { total, answer in total + Int(answer.numberValue ?? 0) }, missing)
    }

    /// Every live instance: id, region, sockets; sorted by instance id.
    public func instances() async -> (instances: [JSONValue], missing: Int) {
        let (answers, missing) = await everywhere("tfctl:instance", [])
        return (answers.sorted { ($0["instance"]?.stringValue ?? "") < ($1["instance"]?.stringValue ?? "") }, missing)
    }
}
