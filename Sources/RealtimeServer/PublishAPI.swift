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

    func handle(_ request: Request) async -> Response {
        sockets?.metrics.publishRequests.increment()
        guard let token, let sockets else {
            return answer(.serviceUnavailable, ["error": "the publish API is disabled: set PUBLISH_TOKEN"])
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            constantTimeEqual(String(authorization.dropFirst("Bearer ".count)), token)
        else { return answer(.unauthorized, ["error": "missing or wrong bearer token"]) }
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
