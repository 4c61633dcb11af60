import Foundation
import Hummingbird
import NIOCore

/// The reference browser client (`Resources/realtime-client.js`), served at `/fallback/v1/client.js`: an ES module
/// any page may import, so it is sent with `Access-Control-Allow-Origin: *` (module scripts are fetched with CORS).
/// Read once at start from the resource bundle SwiftPM puts beside the executable (the container image copies it
/// there), else from the source tree; without either the route answers 404 and the start says so.
struct ClientAsset: Sendable {
    static let path = "/fallback/v1/client.js"
    static let fileName = "realtime-client.js"

    let source: String?

    init(executable: URL = URL(fileURLWithPath: CommandLine.arguments[0])) {
        let directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates =
            ["tfctl_RealtimeServer.resources", "tfctl_RealtimeServer.bundle/Contents/Resources"].map {
                directory.appendingPathComponent($0).appendingPathComponent(Self.fileName)
            } + [
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("Resources/" + Self.fileName)
            ]
        source = candidates.lazy.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.first
    }

    func response() -> Response {
        guard let source else { return Response(status: .notFound) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/javascript; charset=utf-8", .accessControlAllowOrigin: "*",
                .cacheControl: "public, max-age=300",
            ],
            body: .init(byteBuffer: ByteBuffer(string: source)))
    }
}
