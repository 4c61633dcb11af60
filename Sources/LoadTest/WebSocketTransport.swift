import Crypto
import Dispatch
import EngineIO
import NIOCore
import NIOWebSocket

/// The client side of the WebSocket handshake, written by hand: one request, then the `101` answer read up to
/// its blank line. On success it hands the connection to the WebSocket frame codec and `EngineWebSocketHandler`,
/// with whatever followed the answer's head (the server's open packet may come in the same read).
final class WebSocketHandshake: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let host: String
    let path: String
    let headers: [(String, String)]
    let client: EngineClient
    private var received: ByteBuffer?
    /// What the server's `Sec-WebSocket-Accept` must be: base64(SHA-1(key + the RFC 6455 GUID)).
    private var expectedAccept = ""

    init(host: String, path: String, headers: [(String, String)], client: EngineClient) {
        self.host = host
        self.path = path
        self.headers = headers
        self.client = client
    }

    func channelActive(context: ChannelHandlerContext) {
        var key = [UInt8](repeating: 0, count: 16)
        for index in key.indices { key[index] = UInt8.random(in: 0...255) }
        let encodedKey = Base64.encode(key)
        expectedAccept = Base64.encode(
            Array(Insecure.SHA1.hash(data: Array((encodedKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))))
        var request =
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(encodedKey)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let cookie = client.cookie { request += "Cookie: \(cookie)\r\n" }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request + "\r\n")), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if received == nil { received = buffer } else { received!.writeBuffer(&buffer) }
        guard var received, let end = received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if (self.received?.readableBytes ?? 0) > 16384 { fail(context, "handshake_too_large") }
            return
        }
        let headLength = end.upperBound - received.readableBytesView.startIndex
        let head = received.readString(length: headLength) ?? ""
        guard head.hasPrefix("HTTP/1.1 101") else {
            fail(context, "upgrade_refused_" + (head.split(separator: " ").dropFirst().first.map(String.init) ?? "?"))
            return
        }
        var accepted = false
        for line in head.split(separator: "\r\n") {
            let lower = line.lowercased()
            if lower.hasPrefix("set-cookie:") {
                client.cookie = line.dropFirst("set-cookie:".count).split(separator: ";").first
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            } else if lower.hasPrefix("sec-websocket-accept:") {
                accepted =
                    line.dropFirst("sec-websocket-accept:".count).trimmingCharacters(in: .whitespaces)
                    == expectedAccept
            }
        }
        guard accepted else {
            fail(context, "bad_websocket_accept")
            return
        }
        do {
            try context.pipeline.syncOperations.addHandlers(
                [
                    ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)), WebSocketFrameEncoder(),
                    EngineWebSocketHandler(client: client),
                ], position: .after(self))
        } catch {
            fail(context, "pipeline")
            return
        }
        self.received = nil
        if received.readableBytes > 0 { context.fireChannelRead(NIOAny(received)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ kind: String) {
        client.stats.error(kind)
        context.close(promise: nil)
    }
}

/// Engine.IO over the WebSocket: each text frame is one packet for the client, answered in kind.
final class EngineWebSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let client: EngineClient

    init(client: EngineClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let now = DispatchTime.now().uptimeNanoseconds
            let replies = frame.unmaskedData.withUnsafeReadableBytes { client.received($0, now: now) }
            for reply in replies { send(context, .text, context.channel.allocator.buffer(string: reply)) }
            if client.phase == .closed || client.closeRequested { context.close(promise: nil) }
        case .ping:
            send(context, .pong, frame.unmaskedData)
        case .connectionClose:
            // The close handshake: the peer's close frame echoed, then the connection closed (RFC 6455 §5.5.1).
            var data = frame.unmaskedData
            let code =
                data.readSlice(length: min(2, data.readableBytes)) ?? context.channel.allocator.buffer(capacity: 0)
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    private func send(_ context: ChannelHandlerContext, _ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        client.stats.error("websocket_error")
        context.close(promise: nil)
    }
}
