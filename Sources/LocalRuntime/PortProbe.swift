import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Loopback ports: free ones to hand out, whether one is taken, and the readiness probes (a TCP connect, an HTTP
/// GET) the supervisor and `status` use.
public enum PortProbe {
    struct NoFreePort: Error, CustomStringConvertible {
        var description: String { "the kernel handed out no free loopback port" }
    }

    /// A port the kernel hands out for 127.0.0.1, not one of `avoiding`.
    public static func freePort(avoiding: Set<Int> = []) throws -> Int {
        for _ in 0..<20 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = loopback(port: 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if bound, !avoiding.contains(port) { return port }
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
        guard let fd = connect(port, timeoutSeconds: timeoutSeconds) else { return nil }
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
            if response.count > 16 << 20 { break }
        }
        let text = String(decoding: response, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
        let words = statusLine.split(separator: " ")
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let status = Int(words[1]) else { return nil }
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        let chunked = parts.first?.lowercased().contains("transfer-encoding: chunked") ?? false
        return (status, chunked ? dechunk(body) : body)
    }

    /// A chunked body's data (RFC 9112 §7.1): each chunk's size in hex on its own line, then the chunk.
    static func dechunk(_ body: String) -> String {
        var bytes = Array(body.utf8)[...]
        var data: [UInt8] = []
        while let end = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
            let sizeText = line.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            let start = end + 1
            guard start + size <= bytes.endIndex else { break }
            data += bytes[start..<start + size]
            bytes = bytes[min(bytes.endIndex, start + size + 2)...]
        }
        return String(decoding: data, as: UTF8.self)
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
