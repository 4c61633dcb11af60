import Hummingbird
import JSON
import Logging
import NIOCore

/// `POST /fallback/v1/token`, outside `/v1/`, which is the admin surface the load balancer refuses (`AdminPaths`):
/// browsers call this one through it. A client presents the token it connects its socket with
/// (`Authorization: Bearer <JWT>`) and gets a Firebase custom token scoped to what that token allows
/// (`FallbackTokens`), to sign in to Firebase and read the fallback database:
/// `{"token", "uid", "expiresAt"}` and the database's `FallbackConfiguration.clientAccess` (`databaseURL`, `apiKey`,
/// and the emulators' hosts in a local run). 401 for a token the socket would refuse, 503 when the server
/// has no fallback or no token authentication (it could not say what the client may read), 502 when signing fails.
struct FallbackTokenAPI: Sendable {
    let tokens: FallbackTokens?
    /// Where clients sign in and read (`FallbackConfiguration.clientAccess`).
    let access: [String: JSONValue]
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
            let body = access.merging([
                "token": .string(minted.token), "uid": .string(minted.uid),
                "expiresAt": .number(Double(minted.expires)),
            ]) { _, minted in minted }
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
