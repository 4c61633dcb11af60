/// The global external Application Load Balancer in front of every region's service.
public struct LoadBalancer: Sendable, Hashable {
    /// Domains of the Google-managed certificate; DNS must point them at the load balancer's address.
    public var domains: [String]
    /// Also listen on port 80 and redirect to HTTPS.
    public var httpRedirect: Bool
    /// Cloud Armor rate limit per client IP; `nil` attaches a policy without one.
    public var rateLimit: RateLimit?
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
        httpRedirect: Bool = true,
        rateLimit: RateLimit? = nil,
        logSampleRate: Double = 1.0,
        backendTimeoutSeconds: Int? = nil,
        sessionAffinity: String? = nil,
        healthCheckPath: String? = nil
    ) {
        self.domains = domains
        self.httpRedirect = httpRedirect
        self.rateLimit = rateLimit
        self.logSampleRate = logSampleRate
        self.backendTimeoutSeconds = backendTimeoutSeconds
        self.sessionAffinity = sessionAffinity
        self.healthCheckPath = healthCheckPath
    }
}

/// A Cloud Armor rate limit keyed on the client IP.
public struct RateLimit: Sendable, Hashable {
    /// Requests allowed per interval.
    public var requests: Int
    public var intervalSeconds: Int
    /// Ban clients that exceed the limit for this long; `nil` only throttles the excess.
    public var banSeconds: Int?

    public init(requests: Int, intervalSeconds: Int, banSeconds: Int? = nil) {
        self.requests = requests
        self.intervalSeconds = intervalSeconds
        self.banSeconds = banSeconds
    }
}
