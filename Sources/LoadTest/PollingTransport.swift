import Dispatch
import JSON
import NIOCore
import NIOHTTP1
import NIOPosix

/// Engine.IO long-polling for one client on one keep-alive connection: GET for what the server has (held until
/// there is something or the ping interval passes), and when the client has something to say (its CONNECT, a
/// pong, a subscription), one POST of it before the next GET. The front door's affinity cookie is kept and sent
/// back, as a browser does, so every request reaches the instance that holds the session.
enum PollingSession {
    static func open(
        client: EngineClient, loop: EventLoop, host: String, port: Int, basePath: String,
        headers: [(String, String)]
    ) -> EventLoopFuture<Channel> {
        let base =
            (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/socket.io/?EIO=4&transport=polling"
        return LoadTestConnection.open(on: loop, host: host, port: port, http: true) {
            PollingHandler(client: client, host: "\(host):\(port)", base: base, headers: headers)
        }
    }
}

final class PollingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let client: EngineClient
    let host: String
    let base: String
    let headers: [(String, String)]
    private var sid: String?
    private var status = 0
    private var body: ByteBuffer?
    /// Packets to POST before the next GET.
    private var outgoing: [String] = []
    static let separator = UInt8(0x1E)

    init(client: EngineClient, host: String, base: String, headers: [(String, String)]) {
        self.client = client
        self.host = host
        self.base = base
        self.headers = headers
    }

    func channelActive(context: ChannelHandlerContext) {
        // A session that outlived its TCP connection is polled again, as a browser does; else a new handshake.
        if let sid = client.engineSid {
            self.sid = sid
            request(context, .GET, uri: base + "&sid=" + sid, body: nil)
        } else {
            request(context, .GET, uri: base, body: nil)
        }
        context.fireChannelActive()
    }

    private func request(_ context: ChannelHandlerContext, _ method: HTTPMethod, uri: String, body: String?) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: host)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let cookie = client.cookie { head.headers.add(name: "Cookie", value: cookie) }
        if let body {
            head.headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
            head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            if let cookie = head.headers["set-cookie"].first?.split(separator: ";").first {
                client.cookie = String(cookie)
            }
            body = nil
        case .body(var part):
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard status == 200 else {
                client.stats.error("polling_\(status)")
                // 400: the server does not know the session (any more): the next connection starts a new one.
                if status == 400 { client.engineSid = nil }
                context.close(promise: nil)
                return
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if let body {
                body.withUnsafeReadableBytes { bytes in
                    for packet in bytes.split(separator: Self.separator, omittingEmptySubsequences: true) {
                        let raw = UnsafeRawBufferPointer(rebasing: packet)
                        outgoing += client.received(raw, now: now)
                        if sid == nil { sid = client.engineSid }
                    }
                }
            }
            if client.phase == .closed || client.closeRequested {
                context.close(promise: nil)
                return
            }
            guard let sid else {
                context.close(promise: nil)
                return
            }
            let uri = base + "&sid=" + sid
            if outgoing.isEmpty {
                request(context, .GET, uri: uri, body: nil)
            } else {
                let payload = outgoing.joined(separator: "\u{1E}")
                outgoing.removeAll()
                request(context, .POST, uri: uri, body: payload)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        client.stats.error("polling_error")
        context.close(promise: nil)
    }
}
