import Foundation
import Hummingbird
import NIOCore
import SocketIO

/// `POST /v1/publish`: backend services push events to a room or a whole namespace.
///
/// `Authorization: Bearer <PUBLISH_TOKEN>`; body `{"namespace": "/tenders", "room": "tender:42", "event":
/// "tender:updated", "data": ...}` (`room` optional: the whole namespace). Answers 202 `{"delivered": N}`,
/// 400 / 401 / 413 with `{"error": "..."}`, 503 when no token is configured.
struct PublishAPI: Sendable {
    let token: String?
    let sockets: SocketServer?
    let maxPayload: Int

    /// The socket server when the request carries the token; else the answer that refuses it.
    private func authorize(_ request: Request) -> Result<SocketServer, Refusal> {
        guard let token, let sockets else {
            return .failure(
                Refusal(answer(.serviceUnavailable, ["error": "the publish API is disabled: set PUBLISH_TOKEN"])))
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            constantTimeEqual(String(authorization.dropFirst("Bearer ".count)), token)
        else { return .failure(Refusal(answer(.unauthorized, ["error": "missing or wrong bearer token"]))) }
        return .success(sockets)
    }

    private struct Refusal: Error {
        let response: Response
        init(_ response: Response) { self.response = response }
    }

    func handle(_ request: Request) async -> Response {
        sockets?.metrics.publishRequests.increment()
        let sockets: SocketServer
        switch authorize(request) {
        case .success(let server): sockets = server
        case .failure(let refusal): return refusal.response
        }
        var request = request
        guard let body = try? await request.collectBody(upTo: maxPayload) else {
            return answer(.contentTooLarge, ["error": "body over \(maxPayload) bytes"])
        }
        guard let document = JSONValue.parse(Substring(String(buffer: body))), document.isObject else {
            return answer(.badRequest, ["error": "the body must be a JSON object"])
        }
        guard let namespace = document["namespace"]?.stringValue, sockets.namespaces[namespace] != nil else {
            return answer(
                .badRequest,
                ["error": "namespace must be one of \(sockets.namespaces.keys.sorted().joined(separator: ", "))"])
        }
        guard let event = document["event"]?.stringValue, !event.isEmpty, !SocketCodec.reservedEvents.contains(event)
        else {
            return answer(.badRequest, ["error": "event must be a non-empty, non-reserved event name"])
        }
        var room: String?
        if let value = document["room"], value != .null {
            guard let name = value.stringValue, !name.isEmpty else {
                return answer(.badRequest, ["error": "room must be a string"])
            }
            room = name
        }
        let arguments = document["data"].map { [$0] } ?? []
        let delivered = await sockets.publish(namespace: namespace, room: room, event: event, arguments: arguments)
        return answer(.accepted, ["delivered": delivered])
    }

    // MARK: Cluster-wide questions

    /// `GET /v1/rooms/count?namespace=/tenders&room=tender:42`: sockets in the room on every instance.
    func roomCount(_ request: Request) async -> Response {
        await authorized(request) { sockets in
            guard let namespace = request.uri.queryParameters["namespace"].map(String.init),
                sockets.namespaces[namespace] != nil, let room = request.uri.queryParameters["room"].map(String.init),
                !room.isEmpty
            else { return answer(.badRequest, ["error": "namespace (one of the server's) and room are required"]) }
            let (count, missing) = await sockets.roomCount(namespace: namespace, room: room)
            return answer(.ok, ["count": count, "missingInstances": missing])
        }
    }

    /// `GET /v1/users/{user}/sockets`: a user's sockets on every instance.
    func userSockets(_ request: Request, user: String) async -> Response {
        await authorized(request) { sockets in
            let (found, missing) = await sockets.userSockets(user)
            return answer(.ok, ["sockets": found.map(\.foundationValue), "missingInstances": missing])
        }
    }

    /// `DELETE /v1/users/{user}/sockets`: disconnects a user everywhere (a ban, a logout on every device).
    func disconnectUser(_ request: Request, user: String) async -> Response {
        await authorized(request) { sockets in
            let (count, missing) = await sockets.disconnectUser(user)
            return answer(.ok, ["disconnected": count, "missingInstances": missing])
        }
    }

    /// `GET /v1/instances`: the live instances, with their region and socket count.
    func instances(_ request: Request) async -> Response {
        await authorized(request) { sockets in
            let (found, missing) = await sockets.instances()
            return answer(.ok, ["instances": found.map(\.foundationValue), "missingInstances": missing])
        }
    }

    private func authorized(_ request: Request, _ body: (SocketServer) async -> Response) async -> Response {
        switch authorize(request) {
        case .success(let sockets): return await body(sockets)
        case .failure(let refusal): return refusal.response
        }
    }

    private func answer(_ status: HTTPResponse.Status, _ body: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Compares without an early exit, so the time taken says nothing about the token.
    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}

extension JSONValue {
    /// The value as JSONSerialization takes it.
    var foundationValue: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .number(let value): value
        case .string(let value): value
        case .array(let values): values.map(\.foundationValue)
        case .object(let pairs):
            Dictionary(pairs.map { ($0.0, $0.1.foundationValue) }, uniquingKeysWith: { _, last in last })
        default: NSNull()
        }
    }
}
