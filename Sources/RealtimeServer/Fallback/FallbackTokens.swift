import AsyncHTTPClient
import EngineIO
import Foundation
import HTTPTypes
import JSON
import NIOCore
import Synchronization
import _CryptoExtras

/// Firebase custom tokens for fallback clients, in the format Firebase specifies
/// (https://firebase.google.com/docs/auth/admin/create-custom-tokens, "Create custom tokens using a third-party
/// JWT library"; what firebase-admin's `_token_gen.py` writes): RS256, `iss` and `sub` the signing service account,
/// `aud` the Identity Toolkit, `uid`, `iat`, `exp` at most an hour later, and developer `claims`, which reach the
/// database's rules as `auth.token.<claim>`.
///
/// The claims scope the client to what its socket token allows: `fallback: true` on every token (the rules read
/// nothing for a Firebase user that tfctl did not sign in), `until`, the token's expiry in milliseconds, which the
/// rules compare with `now` (a Firebase session outlives the custom token it began with: its refresh token does
/// not expire, so the scope must; without the claim the rules fail closed), `admin: true` for an administrator, else
/// `tenders`, its
/// tender ids as one string `,<id>,<id>,` (ids cannot hold a comma), which the rules test with `contains`, a method
/// the rules language documents (a list claim indexed by a `$` variable is not documented to work).
struct FallbackTokens: Sendable {
    /// Who signs: a key from configuration (local runs, tests), or the runtime service account through the IAM
    /// Credentials API (Cloud Run), which needs `roles/iam.serviceAccountTokenCreator` on that account.
    enum Signer: Sendable {
        case key(_RSA.Signing.PrivateKey, account: String)
        case serviceAccount(IAMSigner)
    }

    let signer: Signer

    static let audience = "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
    /// Firebase refuses custom tokens that live longer.
    static let lifetime = 3600
    /// A Firebase uid is 1 to 128 characters.
    static let maxUIDLength = 128
    /// The limit Firebase puts on custom claims (https://firebase.google.com/docs/auth/admin/custom-claims: "The
    /// custom claims payload must not exceed 1000 bytes"); a user with more tenders than fit is refused.
    static let maxClaimsBytes = 1000

    struct Refusal: Error, CustomStringConvertible {
        let status: HTTPResponse.Status
        let message: String
        var description: String { message }
    }

    /// A token for `identity`, valid until at most an hour from `now`.
    func token(for identity: Identity, now: Date = Date()) async throws -> (token: String, uid: String, expires: Int) {
        let uid = RTDBKey.encode(identity.user)
        guard (1...Self.maxUIDLength).contains(uid.unicodeScalars.count) else {
            throw Refusal(
                status: .badRequest, message: "the user id is longer than a Firebase uid may be (128 characters)")
        }
        let issued = Int(now.timeIntervalSince1970)
        let expires = issued + Self.lifetime
        let claims = Self.claims(identity, until: expires)
        guard claims.serialized().utf8.count <= Self.maxClaimsBytes else {
            throw Refusal(
                status: .contentTooLarge,
                message: "the user's tenders do not fit in a Firebase token's claims (1000 bytes)")
        }
        let account: String
        switch signer {
        case .key(_, let name): account = name
        case .serviceAccount(let iam): account = try await iam.account()
        }
        let payload = JSONValue.object([
            ("iss", .string(account)), ("sub", .string(account)), ("aud", .string(Self.audience)),
            ("iat", .number(Double(issued))), ("exp", .number(Double(expires))), ("uid", .string(uid)),
            ("claims", claims),
        ])
        let header = JSONValue.object([("alg", .string("RS256")), ("typ", .string("JWT"))])
        let input =
            Base64.encodeURL(Array(header.serialized().utf8)) + "."
            + Base64.encodeURL(Array(payload.serialized().utf8))
        let signature: [UInt8]
        switch signer {
        case .key(let key, _):
            signature = Array(try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5).rawRepresentation)
        case .serviceAccount(let iam):
            signature = try await iam.sign(Array(input.utf8), as: account)
        }
        return (input + "." + Base64.encodeURL(signature), uid, expires)
    }

    /// `until`: seconds since the epoch, written in milliseconds (the rules' `now`).
    static func claims(_ identity: Identity, until: Int) -> JSONValue {
        let common: [(key: String, value: JSONValue)] = [
            ("fallback", .bool(true)), ("until", .number(Double(until) * 1000)),
        ]
        if identity.isAdmin || identity.tenders == nil { return .object(common + [("admin", .bool(true))]) }
        let tenders = (identity.tenders ?? []).filter { TenderFlow.isTenderID($0) }.sorted()
        return .object(common + [("tenders", .string("," + tenders.joined(separator: ",") + ","))])
    }
}

/// Signs as the instance's own service account: its email from the metadata server, the signature from IAM
/// Credentials' `signBlob` (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob),
/// as firebase-admin does without a key file.
final class IAMSigner: Sendable {
    /// The account's email, asked of the metadata server once.
    private let email = Mutex<String?>(nil)
    let http: HTTPClient
    let metadataHost: String
    /// A token with the cloud-platform scope, which IAM Credentials accepts.
    let tokens: AccessTokens
    let endpoint: String

    static let scopes = ["https://www.googleapis.com/auth/cloud-platform"]

    init(
        http: HTTPClient, metadataHost: String, tokens: AccessTokens,
        endpoint: String = "https://iamcredentials.googleapis.com"
    ) {
        self.http = http
        self.metadataHost = metadataHost
        self.tokens = tokens
        self.endpoint = endpoint
    }

    func account() async throws -> String {
        if let known = email.withLock({ $0 }) { return known }
        var request = HTTPClientRequest(
            url: "http://\(metadataHost)/computeMetadata/v1/instance/service-accounts/default/email")
        request.headers.add(name: "Metadata-Flavor", value: "Google")
        let response = try await http.execute(request, timeout: .seconds(5))
        let answer = String(buffer: try await response.body.collect(upTo: 4096))
        guard response.status == .ok, answer.contains("@") else {
            throw AccessTokens.Failure(description: "metadata server: no account email (HTTP \(response.status.code))")
        }
        email.withLock { $0 = answer }
        return answer
    }

    func sign(_ bytes: [UInt8], as account: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(
            url: "\(endpoint)/v1/projects/-/serviceAccounts/\(RTDBClient.percentEncoded(account)):signBlob")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.token())")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(
            ByteBuffer(string: JSONValue.object([("payload", .string(Base64.encode(bytes)))]).serialized()))
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 64 << 10))
        guard response.status == .ok, let signed = JSONValue.parse(Substring(body))?["signedBlob"]?.stringValue,
            let signature = Base64.decode(Substring(signed))
        else {
            throw RTDBClient.Failure(status: Int(response.status.code), message: "signBlob: \(body.prefix(300))")
        }
        return signature
    }
}
