import AsyncHTTPClient
import JSON
import NIOCore

/// Bearer tokens for the Realtime Database's REST API. On Cloud Run, the runtime service account's access token
/// from the metadata server, with the two scopes the REST API asks of service accounts
/// (https://firebase.google.com/docs/database/rest/auth: "userinfo.email" and "firebase.database"), cached and
/// fetched again before it expires. Against an emulator, Firebase's owner token (`Bearer owner`, what the official
/// SDKs send in emulator mode).
actor AccessTokens {
    enum Source: Sendable, Equatable {
        case owner
        /// The metadata server at this host (`GCE_METADATA_HOST`, default `metadata.google.internal`).
        case metadata(host: String)
    }

    static let databaseScopes = [
        "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/firebase.database",
    ]

    private let source: Source
    private let scopes: [String]
    private let http: HTTPClient
    private var cached: (token: String, refreshAt: ContinuousClock.Instant)?

    init(_ source: Source, scopes: [String] = AccessTokens.databaseScopes, http: HTTPClient) {
        self.source = source
        self.scopes = scopes
        self.http = http
    }

    /// Forgets the cached token: the database refused it.
    func invalidate() { cached = nil }

    /// The metadata server gave no token.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A token good for at least a few more minutes.
    func token() async throws -> String {
        guard case .metadata(let host) = source else { return "owner" }
        if let cached, ContinuousClock.now < cached.refreshAt { return cached.token }
        let (token, lifetime) = try await fetch(host)
        cached = (token, ContinuousClock.now + Self.refreshAfter(lifetime))
        return token
    }

    /// When to fetch again: five minutes before expiry, or after three quarters of a short-lived token's life.
    static func refreshAfter(_ lifetime: Duration) -> Duration {
        lifetime > .seconds(600) ? lifetime - .seconds(300) : lifetime * 3 / 4
    }

    /// `GET /computeMetadata/v1/instance/service-accounts/default/token?scopes=...` with `Metadata-Flavor: Google`
    /// (what google-auth's compute-engine credentials send): `{"access_token", "expires_in", "token_type"}`.
    private func fetch(_ host: String) async throws -> (String, Duration) {
        let scopes = scopes.map(RTDBClient.percentEncoded).joined(separator: ",")
        var request = HTTPClientRequest(
            url: "http://\(host)/computeMetadata/v1/instance/service-accounts/default/token?scopes=\(scopes)")
        request.headers.add(name: "Metadata-Flavor", value: "Google")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(5))
        } catch {
            throw Failure(description: "metadata server: \(error)")
        }
        let body = String(buffer: try await response.body.collect(upTo: 64 << 10))
        guard response.status == .ok, let document = JSONValue.parse(Substring(body)),
            let token = document["access_token"]?.stringValue, !token.isEmpty,
            let seconds = document["expires_in"]?.numberValue, seconds > 0
        else {
            throw Failure(description: "metadata server: no access token in its answer (HTTP \(response.status.code))")
        }
        return (token, .seconds(seconds))
    }
}
