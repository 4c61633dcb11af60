import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension LocalProcess.Readiness {
    /// Whether the process answers its network probe now; nil for readiness by a log line, which only the
    /// supervisor can judge (it knows where the process's current run starts in its log).
    public var answersNow: Bool? {
        switch self {
        case .tcp(let port): PortProbe.accepts(port)
        case .http(let port, let path): PortProbe.get(port, path)?.status == 200
        case .logLine: nil
        }
    }
}

/// Loopback ports: free ones to hand out, whether one is taken, and the readiness probes (a TCP connect, an HTTP
/// GET) the supervisor and `status` use.
public enum PortProbe {
    struct NoFreePort: Error, CustomStringConvertible {
        var description: String { "no free loopback port in \(PortProbe.range)" }
    }

    /// Ports handed out to the local run's processes: below Linux's ephemeral range (32768 and up by default),
    /// where an outgoing connection's source port could otherwise take a kept port while its process restarts.
    static let range = 20000..<32000

    /// A free loopback port of `range`, not one of `avoiding`.
    public static func freePort(avoiding: Set<Int> = []) throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: range)
            if !avoiding.contains(port), isFree(port) { return port }
        }
        throw NoFreePort()
    }

    /// Whether 127.0.0.1:`port` can be bound now (nothing listens there).
    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether something accepts a TCP connection on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        guard let fd = connect(port, timeoutSeconds: 1) else { return false }
        close(fd)
        return true
    }

    /// `GET path` on 127.0.0.1:`port`: the status code and body, or nil when nothing answers in time.
    public static func get(_ port: Int, _ path: String, timeoutSeconds: Int = 2) -> (status: Int, body: String)? {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        guard let response = exchange(port, request, timeoutSeconds: timeoutSeconds) else { return nil }
        guard let end = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: response[..<end.lowerBound], as: UTF8.self)
        let words = head.split(separator: "\r\n").first?.split(separator: " ") ?? []
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let status = Int(words[1]) else { return nil }
        let body = Array(response[end.upperBound...])
        let chunked = head.lowercased().contains("transfer-encoding: chunked")
        return (status, String(decoding: chunked ? dechunk(body) : body, as: UTF8.self))
    }

    /// Sends `request` to 127.0.0.1:`port` and answers everything received until the peer closes (at most 16 MiB).
    public static func exchange(_ port: Int, _ request: String, timeoutSeconds: Int = 2) -> [UInt8]? {
        guard let fd = connect(port, timeoutSeconds: timeoutSeconds) else { return nil }
        defer { close(fd) }
        return converse(fd, request)
    }

    /// Sends `request` on the Unix socket at `path` and answers everything received until the peer closes.
    public static func exchange(unixSocket path: String, _ request: String, timeoutSeconds: Int = 2) -> [UInt8]? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        return connected ? converse(fd, request) : nil
    }

    /// Writes `request` on a connected socket and reads until the peer closes or 16 MiB have come.
    private static func converse(_ fd: Int32, _ request: String) -> [UInt8]? {
        let message = Array(request.utf8)
        guard message.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == message.count
        else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while response.count <= 16 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return response
    }

    /// A chunked body's data (RFC 9112 §7.1): each chunk's size in hex on a line of its own (extensions after
    /// `;`), then the chunk and CRLF, until a chunk of size 0.
    static func dechunk(_ body: [UInt8]) -> [UInt8] {
        var data: [UInt8] = []
        var index = 0
        while let newline = body[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: body[index..<newline], as: UTF8.self)
            let sizeText = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard let sizeText, let size = Int(sizeText, radix: 16), size > 0, newline + 1 + size <= body.count
            else { break }
            data += body[(newline + 1)..<(newline + 1 + size)]
            index = min(body.count, newline + 1 + size + 2)
        }
        return data
    }

    private static func connect(_ port: Int, timeoutSeconds: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if connected { return fd }
        close(fd)
        return nil
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
