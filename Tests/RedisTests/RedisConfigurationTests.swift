import Testing

@testable import Redis

@Suite struct RedisConfigurationTests {
    @Test("redis:// URLs: host, port, user and password")
    func urls() throws {
        let plain = try RedisConfiguration(url: "redis://10.0.0.3:6378")
        #expect(plain.host == "10.0.0.3" && plain.port == 6378 && plain.password == nil && plain.tls == nil)
        let auth = try RedisConfiguration(url: "redis://:s3cret@redis.internal")
        #expect(auth.host == "redis.internal" && auth.port == 6379 && auth.password == "s3cret" && auth.username == nil)
        let acl = try RedisConfiguration(url: "redis://app:pw@[::1]:7000/0")
        #expect(acl.host == "::1" && acl.port == 7000 && acl.username == "app" && acl.password == "pw")
        // A separately given AUTH string (from Secret Manager) wins over one in the URL.
        #expect(try RedisConfiguration(url: "redis://:old@h", password: "new").password == "new")
        #expect(try RedisConfiguration(url: "rediss://10.0.0.3:6378").tls != nil)
    }

    @Test(
        "bad URLs are refused with the reason",
        arguments: ["http://h", "redis://", "redis://h:0", "redis://h:port", "redis://h:6379x"])
    func refused(_ url: String) {
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: url) }
    }

    @Test("a server CA needs TLS and a certificate")
    func certificateAuthority() {
        #expect(throws: RedisConfiguration.InvalidURL.self) {
            try RedisConfiguration(url: "redis://h", caPEM: "-----BEGIN CERTIFICATE-----")
        }
        #expect(throws: RedisConfiguration.InvalidURL.self) {
            try RedisConfiguration(url: "rediss://h", caPEM: "not a certificate")
        }
    }

    @Test("reconnect delays grow to the maximum, with jitter")
    func backoff() {
        var configuration = RedisConfiguration(host: "h")
        configuration.initialBackoff = .milliseconds(100)
        configuration.maxBackoff = .seconds(2)
        let client = RedisClient(configuration: configuration, logger: quiet)
        for attempt in 0..<12 {
            let step = min(2000, 100 << attempt)
            let delays = (0..<20).map { _ in client.backoff(attempt: attempt) }
            #expect(delays.allSatisfy { $0 >= .milliseconds(step / 2) && $0 <= .milliseconds(step) })
        }
        #expect(Set((0..<20).map { _ in client.backoff(attempt: 10) }).count > 1)
    }
}
