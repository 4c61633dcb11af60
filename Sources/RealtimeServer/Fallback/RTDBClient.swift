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
        // Each segment percent-encoded: the database decodes the URL's path, so a key holding `%` (a user key,
        // RTDBKey) is sent as `%25` and reaches the key itself, not what its escapes spell.
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map {
            Self.percentEncoded(String($0))
        }
        var request = HTTPClientRequest(url: "\(base)/\(segments.joined(separator: "/")).json?\(parameters)")
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
        // The largest answer the mirror reads is a shallow list of a tender's keys (FALLBACK_MAX_EVENTS at most
        // 10 000, plus what came since the last prune: about 50 bytes each); an error body is cut to what a log
        // needs.
        let collected = try await response.body.collect(upTo: 32 << 20)
        let status = Int(response.status.code)
        let text = String(buffer: collected)
        return (status, (200..<300).contains(status) ? text : String(text.prefix(300)))
    }

    /// RFC 3986's unreserved characters (ASCII letters, digits, `-._~`) as they are; every other byte `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
