import TopologyModel

/// The local stand-in for the global load balancer and Cloud Run's front end: an haproxy configuration built
/// from the model (`HAProxyConfig`), reproducing what clients of a real-time service notice.
///
/// - One URL, routing as the URL map does: the first service by name is the default, every other one takes
///   `/<name>` and `/<name>/...`.
/// - The nearest region is the first one; the `X-Tfctl-Region` header picks another, and a client whose affinity
///   cookie names an instance stays in that instance's region (as a real client keeps its nearest region). A
///   region with no instance ready is skipped, as the load balancer's outlier detection takes a failing region
///   out.
/// - Cloud Run's session affinity: a cookie the front end inserts and honours, kept 30 days ("session affinity
///   cookie with a TTL of 30 days", Cloud Run, Configure session affinity), broken when the instance is gone or
///   full (`option redispatch`, `maxqueue`): affinity is best effort there too.
/// - The service's `concurrency` as each instance's connection limit (`maxconn`).
/// - The request timeout for requests and, as an idle limit, for WebSockets (`timeout tunnel`). Cloud Run cuts a
///   WebSocket when the timeout elapses whatever it carries; haproxy has no limit on a tunnel's whole life, so a
///   WebSocket that keeps exchanging pings lives on locally (README, "Local runtime").
/// - The Cloud Armor rate limit of the model, per the key it names, throttling with 429 (a `ban_seconds` ban is
///   applied as a throttle locally), and the refusal of the server's admin and metrics paths (`AdminPaths`)
///   unless the client is in `admin_source_ranges`.
/// - Instances are health-checked on `/readyz`: a draining instance gets no new connections.
public enum FrontDoor {
    /// The name Cloud Run's front end gives its affinity cookie (observed; the documentation does not name it).
    public static let affinityCookie = "GAESA"
    /// The header that picks a region (the real load balancer picks the nearest one).
    public static let regionHeader = "X-Tfctl-Region"
    /// 30 days, Cloud Run's affinity cookie lifetime.
    static let affinitySeconds = 30 * 24 * 3600

    /// One backend: a service's instances in one region.
    public struct Backend: Sendable, Hashable {
        public var service: RealtimeService
        public var region: String
        /// The instances' ports, in instance order.
        public var ports: [Int]

        public init(service: RealtimeService, region: String, ports: [Int]) {
            self.service = service
            self.region = region
            self.ports = ports
        }

        var name: String { "\(service.name)--\(region)" }
        /// The affinity cookie's value for each instance: its region and number (`us-central1-i2`).
        var cookies: [String] { ports.indices.map { "\(region)-i\($0 + 1)" } }
    }

    /// The backend and server names of a server instance (`realtime/us-central1/2`: `realtime--us-central1`, `i2`).
    public static func server(of process: LocalProcess) -> (backend: String, server: String)? {
        let parts = process.id.split(separator: "/")
        guard process.kind == .realtime, parts.count == 3 else { return nil }
        return ("\(parts[0])--\(parts[1])", "i\(parts[2])")
    }

    public static func config(_ topology: Topology, port: Int, backends: [Backend]) -> HAProxyConfig {
        typealias D = HAProxyConfig.Directive
        let services = topology.services.sorted { $0.name < $1.name }
        let connections = backends.reduce(0) { $0 + $1.service.concurrency * $1.ports.count }
        let timeout = "\(services.map(\.timeoutSeconds).max() ?? 3600)s"
        let global = HAProxyConfig.Section(
            "global", nil,
            [
                D("maxconn", "\(connections + 1000)"),
                D(
                    "no", "strict-limits",
                    comment: "Start even where the descriptor limit is below what maxconn needs (haproxy says so)."),
                D("log", "stdout", "format", "raw", "local0", "info"),
                D(
                    "hard-stop-after", "60s",
                    comment: "After a reload, the old worker's WebSockets are cut within a minute (clients reconnect\n"
                        + "and recover) instead of old workers piling up for the request timeout."),
                D(
                    "stats", "socket", "unix@" + FrontDoorStats.socket, "mode", "600", "level", "admin",
                    comment: "The supervisor's way to take an instance out before it stops (FrontDoorStats)."),
            ])
        let defaults = HAProxyConfig.Section(
            "defaults", nil,
            [
                D("mode", "http"),
                D("log", "global"),
                D("option", "httplog"),
                D("option", "dontlog-normal", comment: "Only errors and refusals are logged."),
                D("option", "dontlognull"),
                D("option", "forwardfor", comment: "X-Forwarded-For, as the load balancer adds it."),
                D(
                    "option", "redispatch", "1",
                    comment: "Affinity is best effort: a client whose instance is gone or full moves to another at\n"
                        + "once (on the first retry, without the second's wait for a server that may be restarting)."),
                D("retries", "2"),
                D(
                    "option", "splice-auto",
                    comment: "A WebSocket's frames pass through the kernel (splice), not through haproxy's buffers."),
                D("timeout", "connect", "5s"),
                D("timeout", "http-request", "10s"),
                D("timeout", "queue", "1s"),
                D("timeout", "client", timeout),
                D("timeout", "server", timeout),
                D("timeout", "tunnel", timeout),
            ])
        return HAProxyConfig(
            [global, defaults, frontend(topology, services, port: port, backends)] + backends.map(backend))
    }

    private static func frontend(
        _ topology: Topology, _ services: [RealtimeService], port: Int, _ backends: [Backend]
    ) -> HAProxyConfig.Section {
        typealias D = HAProxyConfig.Directive
        var directives = [D("bind", "127.0.0.1:\(port)")]
        if let lb = topology.loadBalancer {
            directives.append(
                D(
                    words: ["acl", "admin_path", "path,url_dec,lower", "-m", "reg", AdminPaths.pathPattern],
                    comment: "The Cloud Armor rule that refuses the admin and metrics paths (AdminPaths)."))
            if lb.adminSourceRanges.isEmpty {
                directives.append(D("http-request", "deny", "deny_status", "403", "if", "admin_path"))
            } else {
                directives.append(D(words: ["acl", "admin_source", "src"] + lb.adminSourceRanges.map(\.description)))
                directives.append(D("http-request", "deny", "deny_status", "403", "if", "admin_path", "!admin_source"))
            }
            if let limit = lb.rateLimit {
                let window = "\(limit.intervalSeconds)s"
                let (type, fetch, fallback) = rateKey(limit.key)
                directives.append(
                    D(
                        words: ["stick-table", "type"] + type + [
                            "size", "1m", "expire", window, "store", "http_req_rate(\(window))",
                        ],
                        comment: "Cloud Armor's rate limit: \(limit.requests) requests per \(window) per "
                            + "\(limit.key.description), the excess refused with 429. Without the key, Cloud Armor\n"
                            + "counts the client IP (xff-ip) or all such requests together (a header or cookie)."))
                if let fallback {
                    directives.append(D("http-request", "track-sc0", fetch, "if", "{", fetch, "-m", "found", "}"))
                    directives.append(D("http-request", "track-sc0", fallback, "if", "!{", fetch, "-m", "found", "}"))
                } else {
                    directives.append(D("http-request", "track-sc0", fetch))
                }
                directives.append(
                    D(
                        "http-request", "deny", "deny_status", "429", "if", "{", "sc_http_req_rate(0)", "gt",
                        "\(limit.requests)", "}"))
            }
        }
        let primary = services.first
        for service in services where service != primary {
            directives.append(
                D("acl", "path_\(service.name)", "path", "/\(service.name)", comment: nil))
            directives.append(D("acl", "path_\(service.name)", "path_beg", "/\(service.name)/"))
        }
        for region in topology.regions {
            directives.append(
                D("acl", "region_\(region)", "req.hdr(\(regionHeader))", "-m", "str", region))
        }
        for backend in backends where backend.service.sessionAffinity {
            directives.append(
                D(
                    words: ["acl", "affinity_\(backend.name)", "req.cook(\(affinityCookie))", "-m", "str"]
                        + backend.cookies))
        }
        // Most specific first: a named service before the default one; a chosen region, then the region of the
        // instance the affinity cookie names (a client keeps its region, as it keeps its nearest one), then the
        // nearest region with an instance up.
        for service in services.filter({ $0 != primary }) + (primary.map { [$0] } ?? []) {
            let path = service == primary ? [] : ["path_\(service.name)"]
            let own = backends.filter { $0.service.name == service.name }
            for backend in own {
                directives.append(D(words: ["use_backend", backend.name, "if"] + path + ["region_\(backend.region)"]))
            }
            for backend in own where service.sessionAffinity {
                directives.append(
                    D(
                        words: ["use_backend", backend.name, "if"] + path
                            + ["affinity_\(backend.name)", "{", "nbsrv(\(backend.name))", "gt", "0", "}"]))
            }
            for backend in own {
                directives.append(
                    D(
                        words: ["use_backend", backend.name, "if"] + path + [
                            "{", "nbsrv(\(backend.name))", "gt", "0", "}",
                        ]))
            }
        }
        if let first = backends.first(where: { $0.service == primary }) {
            directives.append(D("default_backend", first.name))
        }
        return HAProxyConfig.Section("frontend", "front", directives)
    }

    private static func backend(_ backend: Backend) -> HAProxyConfig.Section {
        typealias D = HAProxyConfig.Directive
        var directives = [
            D("balance", "leastconn"),
            D("option", "httpchk", "GET", "/readyz", comment: "A draining or Redis-less instance is taken out."),
            D("http-check", "expect", "status", "200"),
            D("timeout", "check", "2s"),
            D(
                "default-server", "check", "inter", "1s", "fall", "3", "rise", "2", "maxconn",
                "\(backend.service.concurrency)", "maxqueue", "1"),
        ]
        if backend.service.sessionAffinity {
            directives.append(
                D(
                    "cookie", affinityCookie, "insert", "indirect", "nocache", "httponly", "attr",
                    "Max-Age=\(affinitySeconds)"))
        }
        for (index, port) in backend.ports.enumerated() {
            var words = ["server", "i\(index + 1)", "127.0.0.1:\(port)"]
            if backend.service.sessionAffinity { words += ["cookie", backend.cookies[index]] }
            directives.append(D(words: words))
        }
        return HAProxyConfig.Section("backend", backend.name, directives)
    }

    /// The stick table's key type, the sample it tracks for the model's rate-limit key, and what it tracks when
    /// the request lacks it (Cloud Armor: the client IP for `xff-ip`, the key `ALL` for a header or cookie).
    /// Keys are IPv6 tables (which hold IPv4 too) and strings of up to 128 bytes, Cloud Armor's key length.
    private static func rateKey(_ key: RateLimit.Key) -> (type: [String], fetch: String, fallback: String?) {
        switch key {
        case .ip: (["ipv6"], "src", nil)
        case .forwardedIP: (["ipv6"], "req.hdr_ip(x-forwarded-for,1)", "src")
        case .header(let name): (["string", "len", "128"], "req.hdr(\(name))", "str(ALL)")
        case .cookie(let name): (["string", "len", "128"], "req.cook(\(name))", "str(ALL)")
        }
    }
}
