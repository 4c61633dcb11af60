import Foundation
import Hummingbird
import JSON
import NIOCore
import SocketIO

/// `POST /v1/publish`: backend services push events to a room or a whole namespace.
///
/// `Authorization: Bearer <PUBLISH_TOKEN>`; body `{"namespace": "/tenders", "room": "tender:42", "event":
/// "tender:updated", "data": ...}` (`room` optional: the whole namespace; `"user": "<id>"` instead of a room
/// reaches every socket of that user, room `user:<id>`). Answers 202 `{"delivered": N}` (the sockets reached on
/// this instance), 400 / 401 / 413 with `{"error": "..."}`, 503 when no token is configured or the profile's
/// check cannot be made (TenderFlow keeps each job's last state in Redis).
struct PublishAPI: Sendable {
    let token: String?
    let sockets: SocketServer?
    let maxPayload: Int

    func handle(_ request: Request) async -> Response {
        sockets?.metrics.publishRequests.increment()
        return await authorized(request) { sockets in await publish(request, to: sockets) }
    }

    private func publish(_ request: Request, to sockets: SocketServer) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: maxPayload) else {
            return answer(.contentTooLarge, ["error": .string("body over \(maxPayload) bytes")])
        }
        let mirrored = sockets.fallback != nil
        switch Publication.parse(
            String(buffer: body), namespaces: Set(sockets.namespaces.keys),
            mirrored: { mirrored && FallbackMirror.Target(namespace: $0, room: $1) != nil })
        {
        case .failure(let refusal):
            return answer(.badRequest, ["error": .string(refusal.message)])
        case .success(let publication):
            switch await sockets.publicationCheck?(publication) ?? .accepted {
            case .accepted: break
            case .refused(let refusal): return answer(.badRequest, ["error": .string(refusal.message)])
            case .unavailable(let reason): return answer(.serviceUnavailable, ["error": .string(reason)])
            case .stale(let reason): return answer(.conflict, ["error": .string(reason)])
            }
            let delivered = await sockets.publish(
                namespace: publication.namespace, room: publication.room, event: publication.event,
                arguments: publication.arguments)
            return answer(.accepted, ["delivered": .number(Double(delivered))])
        }
    }

    // MARK: Cluster-wide questions

    /// `GET /v1/rooms/count?namespace=/tenders&room=tender:42`: sockets in the room on every instance.
    func roomCount(_ request: Request) async -> Response {
        await authorized(request) { sockets in
            guard let namespace = request.uri.queryParameters["namespace"].map(String.init),
                sockets.namespaces[namespace] != nil, let room = request.uri.queryParameters["room"].map(String.init),
                !room.isEmpty
            else { return answer(.badRequest, ["error": "namespace (one of the server's) and room are required"]) }
            guard NameLimits.fits(room) else { return answer(.badRequest, Self.tooLong("room")) }
            let (count, missing) = await sockets.roomCount(namespace: namespace, room: room)
            return answer(.ok, ["count": .number(Double(count)), "missingInstances": .number(Double(missing))])
        }
    }

    /// `GET /v1/users/{user}/sockets`: a user's sockets on every instance.
    func userSockets(_ request: Request, user: String) async -> Response {
        await authorized(request) { sockets in
            guard NameLimits.fits(user) else { return answer(.badRequest, Self.tooLong("user")) }
            let (found, missing) = await sockets.userSockets(user)
            return answer(.ok, .object([("missingInstances", .number(Double(missing))), ("sockets", .array(found))]))
        }
    }

    /// `DELETE /v1/users/{user}/sockets`: disconnects a user everywhere (a ban, a logout on every device).
    func disconnectUser(_ request: Request, user: String) async -> Response {
        await authorized(request) { sockets in
            guard NameLimits.fits(user) else { return answer(.badRequest, Self.tooLong("user")) }
            let (count, missing) = await sockets.disconnectUser(user)
            return answer(.ok, ["disconnected": .number(Double(count)), "missingInstances": .number(Double(missing))])
        }
    }

    /// `GET /v1/instances`: the live instances, with their region and socket count.
    func instances(_ request: Request) async -> Response {
        await authorized(request) { sockets in
            let (found, missing) = await sockets.instances()
            return answer(.ok, .object([("instances", .array(found)), ("missingInstances", .number(Double(missing)))]))
        }
    }

    private static func tooLong(_ field: String) -> [String: JSONValue] {
        ["error": .string(PublishRefusal.tooLong(field).message)]
    }

    /// `body`'s answer when the request carries the token; else the refusal.
    private func authorized(_ request: Request, _ body: (SocketServer) async -> Response) async -> Response {
        guard let token, let sockets else {
            return answer(.serviceUnavailable, ["error": "the publish API is disabled: set PUBLISH_TOKEN"])
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            constantTimeEqual(String(authorization.dropFirst("Bearer ".count)), token)
        else { return answer(.unauthorized, ["error": "missing or wrong bearer token"]) }
        return await body(sockets)
    }

    /// A small JSON object, keys sorted, through the server's one JSON printer.
    private func answer(_ status: HTTPResponse.Status, _ body: [String: JSONValue]) -> Response {
        answer(status, JSONValue.sortedObject(body))
    }

    /// Answers with JSON the server built itself (the instances' answers), printed by its one JSON printer.
    private func answer(_ status: HTTPResponse.Status, _ body: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body.serialized())))
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

/// One `POST /v1/publish` body, checked: what the publish API decides before anything is sent, as a value.
struct Publication: Sendable, Equatable {
    var namespace: String
    /// nil: the whole namespace.
    var room: String?
    var event: String
    /// `data` as the event's one argument; none without `data`.
    var arguments: [JSONValue]

    /// The body as a publication, or why it is refused (answered 400 with the message). `mirrored`: whether
    /// events to a namespace and room go to the fallback database too, where their `data` must be an object that
    /// carries the event's global id (`FallbackMirror.stamp`).
    static func parse(
        _ body: String, namespaces: Set<String>, mirrored: (String, String?) -> Bool = { _, _ in false }
    ) -> Result<Publication, PublishRefusal> {
        guard let document = JSONValue.parse(Substring(body)), document.isObject else {
            return .failure(PublishRefusal("the body must be a JSON object"))
        }
        guard let namespace = document["namespace"]?.stringValue, namespaces.contains(namespace) else {
            return .failure(PublishRefusal("namespace must be one of \(namespaces.sorted().joined(separator: ", "))"))
        }
        guard let event = document["event"]?.stringValue, !event.isEmpty, !SocketCodec.reservedEvents.contains(event)
        else {
            return .failure(PublishRefusal("event must be a non-empty, non-reserved event name"))
        }
        guard NameLimits.fits(event) else { return .failure(.tooLong("event")) }
        var room: String?
        if let value = document["user"], value != .null {
            guard document["room"] == nil || document["room"] == .null else {
                return .failure(PublishRefusal("give room or user, not both"))
            }
            guard let user = value.stringValue, !user.isEmpty else {
                return .failure(PublishRefusal("user must be a string"))
            }
            room = TenderFlow.userRoom(user)
            guard NameLimits.fits(room!) else { return .failure(.tooLong("user")) }
        } else if let value = document["room"], value != .null {
            guard let name = value.stringValue, !name.isEmpty else {
                return .failure(PublishRefusal("room must be a string"))
            }
            guard NameLimits.fits(name) else { return .failure(.tooLong("room")) }
            room = name
        }
        if mirrored(namespace, room), document["data"]?.isObject != true {
            return .failure(
                PublishRefusal(
                    "data must be a JSON object: events to tender rooms, users and /system are mirrored to the "
                        + "fallback database, and carry their eventId in it"))
        }
        return .success(
            Publication(namespace: namespace, room: room, event: event, arguments: document["data"].map { [$0] } ?? []))
    }
}

/// A profile's check of a publication, before it is broadcast.
typealias PublicationCheck = @Sendable (Publication) async -> PublicationVerdict

enum PublicationVerdict: Sendable, Equatable {
    case accepted
    /// Answered 400 with the message.
    case refused(PublishRefusal)
    /// Answered 503: the backend retries.
    case unavailable(String)
    /// Answered 409: what it says is out of date (and retrying will not change that).
    case stale(String)
}

/// Why the publish API refuses a request: the message of its 400 answer.
struct PublishRefusal: Error, Sendable, Equatable {
    let message: String

    init(_ message: String) { self.message = message }

    static func tooLong(_ field: String) -> PublishRefusal {
        PublishRefusal("\(field) is longer than \(NameLimits.maxBytes) bytes")
    }
}
