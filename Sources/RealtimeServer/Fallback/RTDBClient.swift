import AsyncHTTPClient
import Foundation
import JSON
import NIOCore
import NIOHTTP1

/// The Realtime Database's REST API, the part the mirror uses: multi-path updates and shallow reads
/// (https://firebase.google.com/docs/reference/rest/database). No Firebase SDK exists for Swift servers.
struct RTDBClient: Sendable {
    let configuration: FallbackConfiguration
    let http: HTTPClient
    let tokens: AccessTokens

    static let timeout = TimeAmount.seconds(10)

    /// A refused or failed request: the status (nil when none came back) and what the database said.
    struct Failure: Error, CustomStringConvertible {
        let status: Int?
        let message: String
        var description: String { status.map { "HTTP \($0): \(message)" } ?? message }
    }

    /// One multi-path update: every `(path, value)` in one atomic `PATCH /.json?print=silent`, a null value
    /// deleting its path. The database answers 204 and no body (`print=silent`).
    func update(_ writes: [(path: String, value: JSONValue)]) async throws {
        let body = JSONValue.object(writes.map { (key: $0.path, value: $0.value) }).serialized()
        let response = try await send(.PATCH, path: "", query: [("print", "silent")], body: body)
        guard response.status == 204 || response.status == 200 else {
            throw Failure(status: response.status, message: response.body)
        }
    }

    /// The keys of the children at `path` (`shallow=true`: the keys without their values); none when the path
    /// holds nothing.
    func childKeys(_ path: String) async throws -> [String] {
        let response = try await send(.GET, path: path, query: [("shallow", "true")], body: nil)
        guard response.status == 200 else { throw Failure(status: response.status, message: response.body) }
        guard let value = JSONValue.parse(Substring(response.body)) else {
            throw Failure(status: 200, message: "not JSON")
        }
        guard case .object(let members) = value else { return [] }
        return members.map(\.key)
    }

    private func send(_ method: HTTPMethod, path: String, query: [(String, String)], body: String?) async throws
        -> (status: Int, body: String)
    {
        let (base, common) = configuration.endpoint
        let parameters = (common + query).map { "\($0)=\(Self.percentEncoded($1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: "\(base)/\(path).json?\(parameters)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.token())")
        request.headers.add(name: "User-Agent", value: "tfctl-realtime-server")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: Self.timeout)
        } catch {
            throw Failure(status: nil, message: "\(error)")
        }
        // Answers the mirror reads are small (a shallow list of keys); an error body is cut to what a log needs.
        let collected = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: collected))
    }

    /// Query values are names and digits here; anything else is escaped as RFC 3986 asks.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }
}
