import EngineIO
import Foundation
import JSON
import _CryptoExtras

/// Signs RS256 tokens of the TenderFlow shape (`sub`, `iss`, `aud`, `exp`, `tenders`) with a private key, for load
/// tests of a local run whose server verifies tokens with the matching public key (`LocalSecrets`). The header
/// names the key `rs256`, as the server files its RSA key.
public struct TokenMinter: Sendable {
    let key: _RSA.Signing.PrivateKey
    let issuer: String
    let audience: String

    public init(privateKeyPEM: String, issuer: String, audience: String) throws {
        key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        self.issuer = issuer
        self.audience = audience
    }

    /// A token for `user`, allowed `tenders`, valid for `seconds`.
    public func token(user: String, tenders: [String], seconds: Int = 3600) throws -> String {
        let header = JSONValue.object([
            (key: "alg", value: .string("RS256")), (key: "kid", value: .string("rs256")),
            (key: "typ", value: .string("JWT")),
        ])
        let claims = JSONValue.object([
            (key: "sub", value: .string(user)), (key: "iss", value: .string(issuer)),
            (key: "aud", value: .string(audience)),
            (key: "exp", value: .number(Double(Int(Date().timeIntervalSince1970) + seconds))),
            (key: "tenders", value: .array(tenders.map { .string($0) })),
        ])
        let input =
            Base64.encodeURL(Array(header.serialized().utf8)) + "."
            + Base64.encodeURL(Array(claims.serialized().utf8))
        let signature = try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Base64.encodeURL(Array(signature.rawRepresentation))
    }
}
