import Foundation
import JSON
import JWTKit
import SocketIO

/// Who a socket acts for, from a verified token (or, with authentication off, from the CONNECT payload).
public struct Identity: Sendable, Hashable {
    public var user: String
    /// Tenders the user may subscribe to; nil means any (admins, or authentication off).
    public var tenders: Set<String>?
    public var isAdmin: Bool

    public func mayAccess(tender: String) -> Bool { isAdmin || tenders?.contains(tender) ?? true }
}

/// Token settings: HS256 shared secret and/or RS256 public key, the expected issuer and audience, and how much
/// clock skew to tolerate.
public struct TokenSettings: Sendable {
    public var hs256Secret: String?
    public var rs256PublicKeyPEM: String?
    public var issuer: String
    public var audience: String
    public var leewaySeconds: Int

    public init(
        hs256Secret: String?, rs256PublicKeyPEM: String?, issuer: String, audience: String, leewaySeconds: Int = 30
    ) {
        self.hs256Secret = hs256Secret
        self.rs256PublicKeyPEM = rs256PublicKeyPEM
        self.issuer = issuer
        self.audience = audience
        self.leewaySeconds = leewaySeconds
    }
}

/// The claims TenderFlow tokens carry: the standard ones, plus the tenders the user may follow and a role.
struct TenderFlowClaims: JWTPayload {
    var sub: SubjectClaim
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim?
    var tenders: [String]?
    var role: String?

    /// Issuer and audience are checked by `Authenticator`, which knows the expected values.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Verifies the token a client presents in its CONNECT payload (`{"token": "..."}`).
public struct Authenticator: Sendable {
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    private let keys: JWTKeyCollection
    private let settings: TokenSettings

    /// Throws when a key cannot be read (a PEM that is not an RSA public key of 2048 bits or more).
    public init(_ settings: TokenSettings) async throws {
        let keys = JWTKeyCollection()
        if let secret = settings.hs256Secret {
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: "hs256")
        }
        if let pem = settings.rs256PublicKeyPEM {
            await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256, kid: "rs256")
        }
        self.keys = keys
        self.settings = settings
    }

    public func authenticate(_ auth: JSONValue, now: Date = Date()) async throws -> Identity {
        guard let token = auth["token"]?.stringValue, !token.isEmpty else { throw Refusal(reason: "missing token") }
        let claims: TenderFlowClaims
        do {
            claims = try await keys.verify(token, as: TenderFlowClaims.self, iteratingKeys: true)
        } catch {
            throw Refusal(reason: "invalid token")
        }
        let leeway = TimeInterval(settings.leewaySeconds)
        guard claims.exp.value.addingTimeInterval(leeway) > now else { throw Refusal(reason: "token expired") }
        if let notBefore = claims.nbf, notBefore.value.addingTimeInterval(-leeway) > now {
            throw Refusal(reason: "token not valid yet")
        }
        guard claims.iss.value == settings.issuer else { throw Refusal(reason: "wrong issuer") }
        guard claims.aud.value.contains(settings.audience) else { throw Refusal(reason: "wrong audience") }
        let isAdmin = claims.role == "admin"
        return Identity(user: claims.sub.value, tenders: isAdmin ? nil : Set(claims.tenders ?? []), isAdmin: isAdmin)
    }
}
