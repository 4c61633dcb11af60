/// The global external Application Load Balancer in front of every region's service.
public struct LoadBalancer: Sendable, Hashable {
    /// The HTTP → HTTPS redirect's code: 308, which keeps the method and body. With 301 "user agents may change
    /// the request method from POST to GET" (RFC 9110 §15.4.2), and a Socket.IO polling POST arrives as a GET.
    /// (URL maps: `PERMANENT_REDIRECT` is 308, `MOVED_PERMANENTLY_DEFAULT` 301.)
    public static let redirectResponseCode = "PERMANENT_REDIRECT"

    /// Domains of the Google-managed certificate; DNS must point them at the load balancer's address.
    public var domains: [String]
    /// While the domains change: those of the certificate being replaced. A managed certificate only provisions
    /// once attached to the proxy (up to an hour), and it serves only when ACTIVE; a proxy switched straight to
    /// it serves nothing for its domains meanwhile. So the old certificate stays attached, and serving, beside
    /// the new one until the new one is ACTIVE; then this is removed and the old certificate goes.
    public var previousDomains: [String]
    /// The TLS versions and ciphers the HTTPS proxy accepts (an SSL policy; without one the proxy takes TLS 1.0).
    public var tls: TLSPolicy
    /// Client ranges allowed to reach the server's admin and metrics paths through the load balancer; none by
    /// default (`AdminPaths`). Backends inside the VPC reach the service directly instead.
    public var adminSourceRanges: [IPv4Network]
    /// Also listen on port 80 and redirect to HTTPS.
    public var httpRedirect: Bool
    /// Cloud Armor rate limit per client IP; `nil` attaches a policy without one.
    public var rateLimit: RateLimit?
    /// Cloud Armor's preconfigured WAF rules (on by default at sensitivity 1).
    public var waf: WebApplicationFirewall
    /// Cloud Armor Adaptive Protection: a model of the service's normal traffic that alerts on (and, with Cloud
    /// Armor Enterprise, suggests a rule against) a layer-7 DDoS. Off by default: its full alerts need Enterprise.
    public var adaptiveProtection: Bool
    /// Fraction of requests logged by the load balancer, 0...1.
    public var logSampleRate: Double
    /// Backend request timeout. Serverless NEG backends reject any value: kept only so validation can say so.
    public var backendTimeoutSeconds: Int?
    /// Load-balancer session affinity. Serverless NEG backends do not support it: Cloud Run's own affinity is used.
    public var sessionAffinity: String?
    /// A health check for the backend. Serverless NEG backends do not take health checks.
    public var healthCheckPath: String?

    public init(
        domains: [String],
        previousDomains: [String] = [],
        tls: TLSPolicy = TLSPolicy(),
        adminSourceRanges: [IPv4Network] = [],
        httpRedirect: Bool = true,
        rateLimit: RateLimit? = nil,
        waf: WebApplicationFirewall = WebApplicationFirewall(),
        adaptiveProtection: Bool = false,
        logSampleRate: Double = 1.0,
        backendTimeoutSeconds: Int? = nil,
        sessionAffinity: String? = nil,
        healthCheckPath: String? = nil
    ) {
        self.domains = domains
        self.previousDomains = previousDomains
        self.tls = tls
        self.adminSourceRanges = adminSourceRanges
        self.httpRedirect = httpRedirect
        self.rateLimit = rateLimit
        self.waf = waf
        self.adaptiveProtection = adaptiveProtection
        self.logSampleRate = logSampleRate
        self.backendTimeoutSeconds = backendTimeoutSeconds
        self.sessionAffinity = sessionAffinity
        self.healthCheckPath = healthCheckPath
    }
}

extension LoadBalancer {
    /// The domain sets of the certificates the HTTPS proxy holds: during a switch the previous one first (the
    /// proxy's first certificate is the one served to clients that send no SNI, and the previous one is the one
    /// known to be ACTIVE), then the current one.
    public var certificateDomains: [[String]] {
        previousDomains.isEmpty ? [domains] : [previousDomains, domains]
    }
}

/// The load balancer's SSL policy: a Google profile of cipher suites and the oldest TLS version it accepts.
/// Without a policy the global external ALB negotiates TLS 1.0 and the COMPATIBLE profile's ciphers.
public struct TLSPolicy: Sendable, Hashable {
    public enum Profile: String, Sendable, Hashable, CaseIterable {
        case compatible, modern, restricted

        /// The API's spelling: `MODERN`.
        public var api: String { rawValue.uppercased() }
    }

    public enum Version: String, Sendable, Hashable, CaseIterable {
        case tls10 = "1.0"
        case tls11 = "1.1"
        case tls12 = "1.2"

        /// The API's spelling: `TLS_1_2`.
        public var api: String { "TLS_" + String(rawValue.map { $0 == "." ? "_" : $0 }) }
    }

    /// Default MODERN: TLS 1.2's forward-secret AEAD suites and the like, which every browser and Socket.IO
    /// client of the last decade speaks.
    public var profile: Profile
    /// Default 1.2: 1.0 and 1.1 are deprecated (RFC 8996).
    public var minVersion: Version

    public init(profile: Profile = .modern, minVersion: Version = .tls12) {
        self.profile = profile
        self.minVersion = minVersion
    }
}

/// A Cloud Armor rate limit, counted per key.
public struct RateLimit: Sendable, Hashable {
    /// What Cloud Armor counts requests by.
    public enum Key: Sendable, Hashable {
        /// The client IP the load balancer sees: everyone behind one NAT (an office) shares it.
        case ip
        /// The first address of `X-Forwarded-For`, for clients behind a proxy of the team's own.
        case forwardedIP
        /// A request header's value (a tenant or API key header).
        case header(String)
        /// A cookie's value (a session).
        case cookie(String)

        /// `ip`, `xff-ip`, `header:NAME` or `cookie:NAME`, as the environment file spells it.
        public init?(_ text: String) {
            switch text {
            case "ip": self = .ip
            case "xff-ip": self = .forwardedIP
            default:
                let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy({ !$0.isWhitespace }) else {
                    return nil
                }
                switch parts[0] {
                case "header": self = .header(parts[1])
                case "cookie": self = .cookie(parts[1])
                default: return nil
                }
            }
        }

        /// The API's `enforceOnKey` and, for a header or cookie, its name.
        public var api: (key: String, name: String?) {
            switch self {
            case .ip: ("IP", nil)
            case .forwardedIP: ("XFF_IP", nil)
            case .header(let name): ("HTTP_HEADER", name)
            case .cookie(let name): ("HTTP_COOKIE", name)
            }
        }

        public var description: String {
            switch self {
            case .ip: "client IP"
            case .forwardedIP: "forwarded client IP"
            case .header(let name): "\(name) header"
            case .cookie(let name): "\(name) cookie"
            }
        }
    }

    /// Requests allowed per interval.
    public var requests: Int
    public var intervalSeconds: Int
    /// Ban clients that exceed the limit for this long; `nil` (the default) only throttles the excess: a ban keyed
    /// on the IP shuts out a whole office behind one NAT when a deploy makes everyone reconnect at once.
    public var banSeconds: Int?
    public var key: Key

    public init(requests: Int, intervalSeconds: Int, banSeconds: Int? = nil, key: Key = .ip) {
        self.requests = requests
        self.intervalSeconds = intervalSeconds
        self.banSeconds = banSeconds
        self.key = key
    }
}

/// How the load balancer takes a failing region out of rotation (serverless NEGs have no health checks): after
/// `consecutiveErrors` 5xx answers in a row (or `consecutiveGatewayFailures` 502/503/504s, what a region whose
/// instances cannot start returns), for `baseEjectionSeconds` times the number of ejections so far, checked every
/// `intervalSeconds`. At most `maxEjectionPercent` of the regions are out at once: all but one, so a global
/// outage still reaches a region rather than none. nil with one region: ejecting the only backend helps nobody.
public struct OutlierDetection: Sendable, Hashable {
    public let consecutiveErrors = 5
    public let consecutiveGatewayFailures = 3
    public let intervalSeconds = 10
    public let baseEjectionSeconds = 30
    public let maxEjectionPercent: Int

    public init?(regions: Int) {
        guard regions > 1 else { return nil }
        maxEjectionPercent = 100 * (regions - 1) / regions
    }
}
