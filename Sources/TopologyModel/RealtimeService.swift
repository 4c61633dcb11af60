/// A WebSocket / Socket.IO service deployed to Cloud Run in every region of the topology.
public struct RealtimeService: Sendable, Hashable {
    public var name: String
    public var image: ContainerImage
    /// The port the container listens on (Cloud Run passes it as `PORT`).
    public var port: Int
    public var cpu: CPU
    public var memory: MemorySize
    /// Maximum concurrent requests (open WebSockets count as requests) per instance.
    public var concurrency: Int
    public var minInstances: Int
    public var maxInstances: Int
    /// Request timeout in seconds: WebSocket connections are closed when it elapses.
    public var timeoutSeconds: Int
    /// Cloud Run session affinity: keeps a client's polling requests and its reconnects on one instance.
    public var sessionAffinity: Bool
    /// CPU allocated outside requests (instance-based billing). Needed for heartbeats and Redis traffic.
    public var cpuAlwaysAllocated: Bool
    public var startupCPUBoost: Bool
    public var executionEnvironment: ExecutionEnvironment
    /// Plain environment variables.
    public var env: [String: String]
    /// Environment variables read from Secret Manager, keyed by variable name.
    public var secrets: [String: SecretReference]
    public var ingress: Ingress
    public var probes: Probes
    /// Origins whose pages may poll the service cross-origin (`CORS_ORIGINS`); nil: the load balancer's domains
    /// over HTTPS (`Topology.corsOrigins(for:)`).
    public var corsOrigins: [String]?

    public init(
        name: String,
        image: ContainerImage = .bundled,
        port: Int = 8080,
        cpu: CPU = CPU(millicores: 1000),
        memory: MemorySize = MemorySize(mebibytes: 512),
        concurrency: Int = 1000,
        minInstances: Int = 1,
        maxInstances: Int = 10,
        timeoutSeconds: Int = 3600,
        sessionAffinity: Bool = true,
        cpuAlwaysAllocated: Bool = true,
        startupCPUBoost: Bool = true,
        executionEnvironment: ExecutionEnvironment = .gen2,
        env: [String: String] = [:],
        secrets: [String: SecretReference] = [:],
        ingress: Ingress = .internalAndLoadBalancer,
        probes: Probes = Probes(),
        corsOrigins: [String]? = nil
    ) {
        self.name = name
        self.image = image
        self.port = port
        self.cpu = cpu
        self.memory = memory
        self.concurrency = concurrency
        self.minInstances = minInstances
        self.maxInstances = maxInstances
        self.timeoutSeconds = timeoutSeconds
        self.sessionAffinity = sessionAffinity
        self.cpuAlwaysAllocated = cpuAlwaysAllocated
        self.startupCPUBoost = startupCPUBoost
        self.executionEnvironment = executionEnvironment
        self.env = env
        self.secrets = secrets
        self.ingress = ingress
        self.probes = probes
        self.corsOrigins = corsOrigins
    }

    /// Environment variables ordered by name.
    public var sortedEnv: [(name: String, value: String)] {
        env.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Secret-backed environment variables ordered by name.
    public var sortedSecrets: [(name: String, secret: SecretReference)] {
        secrets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Where a service's container image comes from.
public enum ContainerImage: Sendable, Hashable {
    /// The reference real-time server of this repository, built and pushed to the topology's Artifact Registry.
    case bundled
    /// Any image reference, used as given.
    case reference(String)
}

/// A Secret Manager secret exposed as an environment variable.
public struct SecretReference: Sendable, Hashable {
    public var secret: String
    public var version: String

    public init(secret: String, version: String = "latest") {
        self.secret = secret
        self.version = version
    }
}

/// Who may reach the service directly.
public enum Ingress: String, Sendable, Hashable, CaseIterable {
    case all
    case `internal`
    /// Only the load balancer (and VPC-internal callers): Cloud Armor cannot be bypassed.
    case internalAndLoadBalancer = "internal-and-cloud-load-balancing"
}

public enum ExecutionEnvironment: String, Sendable, Hashable, CaseIterable {
    case gen1
    case gen2
}

/// A CPU limit in thousandths of a vCPU.
public struct CPU: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millicores: Int

    public init(millicores: Int) { self.millicores = millicores }

    public init(vcpus: Int) { self.millicores = vcpus * 1000 }

    /// `"2"` for whole vCPUs, `"500m"` otherwise: the spelling Cloud Run accepts in every API.
    public var description: String {
        millicores % 1000 == 0 ? String(millicores / 1000) : "\(millicores)m"
    }

    public static func < (lhs: CPU, rhs: CPU) -> Bool { lhs.millicores < rhs.millicores }
}

/// A memory size in mebibytes.
public struct MemorySize: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var mebibytes: Int

    public init(mebibytes: Int) { self.mebibytes = mebibytes }

    public init(gibibytes: Int) { self.mebibytes = gibibytes * 1024 }

    /// `"2Gi"` for whole gibibytes, `"512Mi"` otherwise.
    public var description: String {
        mebibytes % 1024 == 0 ? "\(mebibytes / 1024)Gi" : "\(mebibytes)Mi"
    }

    public static func < (lhs: MemorySize, rhs: MemorySize) -> Bool { lhs.mebibytes < rhs.mebibytes }
}

/// HTTP health probes. The reference server answers `/healthz` (alive) and `/readyz` (ready, false while draining).
public struct Probes: Sendable, Hashable {
    public var startup: Probe
    public var liveness: Probe

    /// Cloud Run's bound on a startup probe's `periodSeconds × failureThreshold`.
    public static let startupFailureWindowLimit = 240
    /// The least startup budget with Memorystore: Direct VPC egress "can take a minute or more" to connect
    /// after an instance starts (Cloud Run, "Direct VPC egress"), and the server is not ready before Redis
    /// answers. Twice that minute.
    public static let egressStartupBudget = 120

    /// The default startup probe waits up to 180 s (36 × 5 s) for `/readyz`: inside Cloud Run's 240 s, and
    /// enough for Direct VPC egress to come up (`egressStartupBudget`).
    public init(
        startup: Probe = Probe(
            path: "/readyz", initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2,
            failureThreshold: 36),
        liveness: Probe = Probe(
            path: "/healthz", initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3,
            failureThreshold: 3)
    ) {
        self.startup = startup
        self.liveness = liveness
    }
}

public struct Probe: Sendable, Hashable {
    /// How long the probe may fail before Cloud Run gives up: `initialDelaySeconds + failureWindowSeconds`
    /// (`Int.max` when the values, not yet validated, overflow).
    public var budgetSeconds: Int {
        let (sum, overflow) = initialDelaySeconds.addingReportingOverflow(failureWindowSeconds)
        return overflow ? .max : sum
    }

    /// `periodSeconds × failureThreshold`, `Int.max` when it overflows.
    public var failureWindowSeconds: Int {
        let (product, overflow) = periodSeconds.multipliedReportingOverflow(by: failureThreshold)
        return overflow ? .max : product
    }

    public var path: String
    public var initialDelaySeconds: Int
    public var periodSeconds: Int
    public var timeoutSeconds: Int
    public var failureThreshold: Int

    public init(
        path: String, initialDelaySeconds: Int, periodSeconds: Int, timeoutSeconds: Int,
        failureThreshold: Int
    ) {
        self.path = path
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
    }
}
