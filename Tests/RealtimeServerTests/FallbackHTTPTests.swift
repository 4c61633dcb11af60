import AsyncHTTPClient
import EngineIO
import Foundation
import Hummingbird
import JSON
import NIOCore
import NIOPosix
import Synchronization
import Testing
import _CryptoExtras

@testable import RealtimeServer

/// The mirror's HTTP side against local recorders: a stand-in for the GCE metadata server (a mock of a Google API
/// that cannot run here) and one for the database's REST endpoint, which records what the client sends.
@Suite struct FallbackHTTPTests {
    final class Recorder: Sendable {
        struct Request: Sendable {
            let method: String
            let path: String
            let query: String
            let headers: [String: String]
            let body: String
        }
        let requests = Mutex<[Request]>([])
        var all: [Request] { requests.withLock { $0 } }
    }

    /// Serves `router` on a free loopback port for the duration of `body`.
    func serving(_ router: Router<BasicRequestContext>, _ body: @escaping @Sendable (Int) async throws -> Void)
        async throws
    {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService() }
            var ports = stream.makeAsyncIterator()
            let port = try #require(await ports.next())
            try await body(port)
            group.cancelAll()
        }
    }

    func record(_ recorder: Recorder, _ request: Request) async throws -> String {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        recorder.requests.withLock {
            $0.append(
                .init(
                    method: "\(request.method)", path: request.uri.path, query: request.uri.query ?? "",
                    headers: headers, body: String(buffer: body)))
        }
        return ""
    }

    @Test("on Cloud Run the database gets the metadata server's token, fetched once and with the REST API's scopes")
    func metadataToken() async throws {
        let recorder = Recorder()
        let router = Router()
        router.get("/computeMetadata/v1/instance/service-accounts/default/token") { request, _ in
            _ = try await self.record(recorder, request)
            return #"{"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"}"#
        }
        router.patch("/.json") { request, _ in
            _ = try await self.record(recorder, request)
            return Response(status: .noContent)
        }
        router.get("/tenders/42/events.json") { request, _ in
            _ = try await self.record(recorder, request)
            return #"{"0000000000002-000000-i":true,"0000000000001-000000-i":true}"#
        }
        try await serving(router) { port in
            let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            var configuration = try FallbackConfiguration(databaseURL: "https://tf-test-default-rtdb.firebaseio.com")
            configuration.databaseURL = "http://127.0.0.1:\(port)"  // the recorder, in place of Firebase's host
            let tokens = AccessTokens(.metadata(host: "127.0.0.1:\(port)"), http: http)
            let client = RTDBClient(configuration: configuration, http: http, tokens: tokens)
            try await client.update([
                ("tenders/42/events/0000000000001-000000-i", .object([("event", .string("bid"))])),
                ("presence/42/a", .null),
            ])
            let keys = try await client.childKeys("tenders/42/events")
            #expect(keys.sorted() == ["0000000000001-000000-i", "0000000000002-000000-i"])
            try await http.shutdown()
        }
        let requests = recorder.all
        #expect(
            requests.map(\.path) == [
                "/computeMetadata/v1/instance/service-accounts/default/token", "/.json", "/tenders/42/events.json",
            ])
        let metadata = requests[0]
        #expect(metadata.headers["metadata-flavor"] == "Google")
        #expect(
            metadata.query
                == "scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.email,"
                + "https%3A%2F%2Fwww.googleapis.com%2Fauth%2Ffirebase.database")
        for request in requests.dropFirst() { #expect(request.headers["authorization"] == "Bearer ya29.test-token") }
        #expect(requests[1].method == "PATCH" && requests[1].query == "print=silent")
        #expect(
            JSONValue.parse(Substring(requests[1].body))
                == .object([
                    ("tenders/42/events/0000000000001-000000-i", .object([("event", .string("bid"))])),
                    ("presence/42/a", .null),
                ]))
        #expect(requests[1].headers["content-type"] == "application/json")
        #expect(requests[2].query == "shallow=true")
    }

    @Test("an emulator gets the owner's token and the database's name on every request")
    func emulator() async throws {
        let recorder = Recorder()
        let router = Router()
        router.patch("/.json") { request, _ in
            _ = try await self.record(recorder, request)
            return Response(status: .noContent)
        }
        router.patch("/refused.json") { _, _ in Response(status: .badRequest) }
        try await serving(router) { port in
            let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            var configuration = try FallbackConfiguration(databaseURL: "https://tf-test-default-rtdb.firebaseio.com")
            configuration.emulatorHost = "127.0.0.1:\(port)"
            let client = RTDBClient(configuration: configuration, http: http, tokens: AccessTokens(.owner, http: http))
            try await client.update([("a", 1)])
            try await http.shutdown()
        }
        #expect(recorder.all.count == 1)
        #expect(recorder.all.first?.query == "ns=tf-test-default-rtdb&print=silent")
        #expect(recorder.all.first?.headers["authorization"] == "Bearer owner")
    }

    @Test("on Cloud Run a fallback token is signed by IAM Credentials' signBlob as the instance's own account")
    func signBlob() async throws {
        let recorder = Recorder()
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let router = Router()
        router.get("/computeMetadata/v1/instance/service-accounts/default/email") { request, _ in
            _ = try await self.record(recorder, request)
            return "rt@tf-test.iam.gserviceaccount.com"
        }
        router.get("/computeMetadata/v1/instance/service-accounts/default/token") { request, _ in
            _ = try await self.record(recorder, request)
            return #"{"access_token":"ya29.iam","expires_in":3599,"token_type":"Bearer"}"#
        }
        // IAM Credentials, played by the recorder: it signs with its key what it is given.
        router.post("/v1/projects/-/serviceAccounts/:account") { request, _ in
            _ = try await self.record(recorder, request)
            let sent = recorder.all.last!.body
            let payload = try #require(JSONValue.parse(Substring(sent))?["payload"]?.stringValue)
            let bytes = try #require(Base64.decode(Substring(payload)))
            let signature = try key.signature(for: Data(bytes), padding: .insecurePKCS1v1_5)
            return #"{"keyId":"k","signedBlob":""# + Base64.encode(Array(signature.rawRepresentation)) + #""}"#
        }
        let minted = Mutex<String>("")
        try await serving(router) { port in
            let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let host = "127.0.0.1:\(port)"
            let iam = IAMSigner(
                http: http, metadataHost: host,
                tokens: AccessTokens(.metadata(host: host), scopes: IAMSigner.scopes, http: http),
                endpoint: "http://\(host)")
            let tokens = FallbackTokens(signer: .serviceAccount(iam))
            let token = try await tokens.token(for: Identity(user: "alice", tenders: ["42"], isAdmin: false)).token
            minted.withLock { $0 = token }
            try await http.shutdown()
        }
        let parts = minted.withLock { $0 }.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        let signature = try #require(Base64.decode(Substring(Self.padded(parts[2]))))
        #expect(
            key.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: Data((parts[0] + "." + parts[1]).utf8),
                padding: .insecurePKCS1v1_5))
        let claims = try #require(Base64.decode(Substring(Self.padded(parts[1]))))
        let payload = try #require(JSONValue.parse(Substring(String(decoding: claims, as: UTF8.self))))
        #expect(payload["iss"] == .string("rt@tf-test.iam.gserviceaccount.com") && payload["sub"] == payload["iss"])
        let sign = try #require(recorder.all.first { $0.method == "POST" })
        #expect(sign.path == "/v1/projects/-/serviceAccounts/rt%40tf-test.iam.gserviceaccount.com:signBlob")
        #expect(sign.headers["authorization"] == "Bearer ya29.iam")
        let scopes = try #require(recorder.all.first { $0.path.hasSuffix("/token") }).query
        #expect(scopes == "scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform")
    }

    /// base64url as standard padded base64.
    static func padded(_ text: String) -> String {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.count % 4 != 0 { standard += "=" }
        return standard
    }

    @Test("a metadata server that gives no token is a failure, not an empty token")
    func noToken() async throws {
        let router = Router()
        router.get("/computeMetadata/v1/instance/service-accounts/default/token") { _, _ in #"{"error":"no"}"# }
        try await serving(router) { port in
            let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let tokens = AccessTokens(.metadata(host: "127.0.0.1:\(port)"), http: http)
            await #expect(throws: AccessTokens.Failure.self) { _ = try await tokens.token() }
            try await http.shutdown()
        }
    }
}
