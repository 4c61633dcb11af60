import NIOSSL

/// Where and how to reach Redis: Memorystore's endpoint, its AUTH string and, with in-transit encryption, TLS
/// with the instance's server CA.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// ACL user; Memorystore's AUTH string has none.
    public var username: String?
    public var password: String?
    /// TLS with these settings; nil is plain TCP.
    public var tls: TLSConfiguration?
    /// RESP3 is asked for with HELLO; a server that does not know HELLO is spoken to in RESP2.
    public var preferRESP3 = true
    /// Shown by CLIENT LIST, so an operator can tell the instances apart.
    public var clientName: String?
    public var connectTimeout: Duration = .seconds(3)
    /// A command without a reply in this time fails, and its connection is dropped and made again: a Redis
    /// that stopped answering (a failover, a partition) looks exactly like this.
    public var commandTimeout: Duration = .seconds(2)
    /// Reconnect delays grow from `initialBackoff` to `maxBackoff`, each with random jitter, so that instances
    /// that lost Redis together do not come back in lockstep.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(5)
    /// Commands written and not yet answered, per connection; past it, commands fail at once.
    public var maxPendingCommands = 10_000
    public var parserLimits = RESPParser.Limits()

    public init(host: String, port: Int = 6379, password: String? = nil) {
        self.host = host
        self.port = port
        self.password = password
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    /// `redis://[[user]:password@]host[:port]` or `rediss://...` for TLS, verified against `caPEM` (the
    /// instance's server CA) when given, else against the system's roots.
    public init(url: String, password: String? = nil, caPEM: String? = nil) throws {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("redis://") {
            scheme = "redis"
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss"
            rest = url.dropFirst("rediss://".count)
        } else {
            throw InvalidURL(description: "\(url): expected redis://host:port or rediss://host:port")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var user: String?
        var secret = password
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = credentials[..<colon]
                user = name.isEmpty ? nil : String(name)
                secret = secret ?? String(credentials[credentials.index(after: colon)...])
            } else {
                secret = secret ?? String(credentials)
            }
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = String(rest[..<colon])
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw InvalidURL(description: "\(url): the port must be a number in 1...65535")
            }
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw InvalidURL(description: "\(url): no host") }
        self.init(host: host, port: port, password: secret)
        username = user
        if scheme == "rediss" {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caPEM {
                let certificates: [NIOSSLCertificate]
                do {
                    certificates = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))
                } catch {
                    throw InvalidURL(description: "the Redis server CA is not a PEM certificate: \(error)")
                }
                guard !certificates.isEmpty else {
                    throw InvalidURL(description: "the Redis server CA holds no certificate")
                }
                tls.trustRoots = .certificates(certificates)
                // Memorystore's certificates name no host (clients connect by IP address): the chain is
                // verified against the instance's own CA, the name is not.
                tls.certificateVerification = .noHostnameVerification
            }
            self.tls = tls
        } else if caPEM != nil {
            throw InvalidURL(description: "\(url): a server CA was given, but the URL is not rediss://")
        }
    }
}
