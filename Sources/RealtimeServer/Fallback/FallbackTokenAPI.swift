import Hummingbird
import JSON
import Logging
import NIOCore

/// `POST /fallback/v1/token`, outside `/v1/`, which is the admin surface the load balancer refuses (`AdminPaths`):
/// browsers call this one through it. A client presents the token it connects its socket with
/// (`Authorization: Bearer <JWT>`) and gets a Firebase custom token scoped to what that token allows
/// (`FallbackTokens`), to sign in to Firebase and read the fallback database:
/// `{"token", "uid", "expiresAt", "databaseURL"}`, `apiKey` (the browser key to sign in with, when the server has
/// `FIREBASE_WEB_API_KEY`), and `emulatorHost` when the database is an emulator's or the stand-in's (a local run),
/// where the client reads instead, and signs in too unless `authEmulatorHost` names the Auth emulator. 401 for a token the socket would refuse, 503 when the server
/// has no fallback or no token authentication (it could not say what the client may read), 502 when signing fails.
struct FallbackTokenAPI: Sendable {
    let tokens: FallbackTokens?
    let authenticator: Authenticator?
    let cors: @Sendable (Request) -> HTTPFields
    let logger: Logger

    func handle(_ request: Request) async -> Response {
        guard let tokens, let authenticator else {
            return answer(
                .serviceUnavailable,
                ["error": "fallback tokens need FIREBASE_DATABASE_URL and token authentication (JWT_*)"], request)
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else {
            return answer(.unauthorized, ["error": "missing bearer token"], request)
        }
        let identity: Identity
        do {
            identity = try await authenticator.authenticate(
                .object([("token", .string(String(authorization.dropFirst("Bearer ".count))))]))
        } catch {
            return answer(.unauthorized, ["error": .string("\(error)")], request)
        }
        do {
            let minted = try await tokens.token(for: identity)
            var body: [String: JSONValue] = [
                "token": .string(minted.token), "uid": .string(minted.uid),
                "expiresAt": .number(Double(minted.expires)), "databaseURL": .string(tokens.databaseURL),
            ]
            if let host = tokens.emulatorHost { body["emulatorHost"] = .string(host) }
            if let host = tokens.authEmulatorHost { body["authEmulatorHost"] = .string(host) }
            if let key = tokens.webAPIKey { body["apiKey"] = .string(key) }
            return answer(.ok, body, request)
        } catch let refusal as FallbackTokens.Refusal {
            return answer(refusal.status, ["error": .string(refusal.message)], request)
        } catch {
            logger.error("signing a fallback token failed", metadata: ["error": "\(error)"])
            return answer(.badGateway, ["error": "signing the token failed"], request)
        }
    }

    /// CORS preflight: a browser client on another origin posts with an `Authorization` header.
    func preflight(_ request: Request) -> Response {
        var headers = cors(request)
        headers[.accessControlAllowMethods] = "POST, OPTIONS"
        headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
        return Response(status: .noContent, headers: headers)
    }

    private func answer(_ status: HTTPResponse.Status, _ body: [String: JSONValue], _ request: Request) -> Response {
        var headers = cors(request)
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: JSONValue.sortedObject(body).serialized())))
    }
}
