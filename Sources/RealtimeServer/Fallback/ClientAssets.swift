import Foundation
import Hummingbird
import NIOCore

/// The reference browser client and what it needs, served under `/fallback/v1/`: `client.js`
/// (`Resources/realtime-client.js`, an ES module), `socket.io.min.js` (the official socket.io-client bundle, v4.8.1,
/// MIT, as socket.io's own build ships it) and `demo.html` (a live tender that uses both). Any page may import them,
/// so they are sent with `Access-Control-Allow-Origin: *` (module scripts are fetched with CORS). Read once at start
/// from the resource bundle SwiftPM puts beside the executable (the container image copies it there), else from
/// the source tree; a file found in neither answers 404, and the start says so.
struct ClientAssets: Sendable {
    static let prefix = "/fallback/v1/"
    /// Served name, resource file and content type.
    static let files = [
        ("client.js", "realtime-client.js", "text/javascript; charset=utf-8"),
        ("socket.io.min.js", "socket.io.min.js", "text/javascript; charset=utf-8"),
        ("demo.html", "demo.html", "text/html; charset=utf-8"),
    ]

    /// Served name to contents and content type.
    let assets: [String: (contents: String, type: String)]
    let missing: [String]

    /// `executable`: the running binary, as the kernel knows it (not `argv[0]`, which may be relative or a name
    /// found on `PATH`).
    init(executable: URL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])) {
        let directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        let roots =
            ["tfctl_RealtimeServer.resources", "tfctl_RealtimeServer.bundle/Contents/Resources"].map {
                directory.appendingPathComponent($0)
            } + [
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("Resources")
            ]
        var assets: [String: (contents: String, type: String)] = [:]
        var missing: [String] = []
        for (name, file, type) in Self.files {
            let contents = roots.lazy.compactMap {
                try? String(contentsOf: $0.appendingPathComponent(file), encoding: .utf8)
            }.first
            if let contents { assets[name] = (contents, type) } else { missing.append(name) }
        }
        self.assets = assets
        self.missing = missing
    }

    func response(_ name: String) -> Response {
        guard let asset = assets[name] else { return Response(status: .notFound) }
        return Response(
            status: .ok,
            headers: [
                .contentType: asset.type, .accessControlAllowOrigin: "*", .cacheControl: "public, max-age=300",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: asset.contents)))
    }
}
