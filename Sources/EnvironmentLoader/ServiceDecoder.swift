import Diagnostics
import TopologyModel

struct ServiceDecoder {
    static let keys = [
        "image", "port", "cpu", "memory", "concurrency", "min_instances", "max_instances", "timeout",
        "session_affinity", "cpu_always_allocated", "startup_cpu_boost", "execution_environment", "env", "secrets",
        "ingress", "probes", "cors_origins",
    ]
    static let probeKeys = ["path", "initial_delay_seconds", "period_seconds", "timeout_seconds", "failure_threshold"]

    let context: DecodingContext

    func decode(name: String, _ reader: ObjectReader) -> RealtimeService {
        var service = RealtimeService(name: name)
        if let image = reader.decode("image", .string) {
            service.image = image == "bundled" ? .bundled : .reference(image)
        }
        service.port = reader.decode("port", .int) ?? service.port
        service.cpu = reader.decode("cpu", .cpu) ?? service.cpu
        service.memory = reader.decode("memory", .memory) ?? service.memory
        service.concurrency = reader.decode("concurrency", .int) ?? service.concurrency
        service.minInstances = reader.decode("min_instances", .int) ?? service.minInstances
        service.maxInstances = reader.decode("max_instances", .int) ?? service.maxInstances
        service.timeoutSeconds = reader.decode("timeout", .duration) ?? service.timeoutSeconds
        service.sessionAffinity = reader.decode("session_affinity", .bool) ?? service.sessionAffinity
        service.cpuAlwaysAllocated = reader.decode("cpu_always_allocated", .bool) ?? service.cpuAlwaysAllocated
        service.startupCPUBoost = reader.decode("startup_cpu_boost", .bool) ?? service.startupCPUBoost
        service.executionEnvironment =
            reader.decode("execution_environment", .choice("execution environment"))
            ?? service.executionEnvironment
        service.ingress = reader.decode("ingress", .choice("ingress")) ?? service.ingress
        service.corsOrigins = reader.list("cors_origins", .string)
        for (key, value) in reader.stringMap("env") ?? [] { service.env[key] = value }
        for entry in reader.namedEntries("secrets") ?? [] {
            if let secret = decodeSecret(entry, path: "\(reader.path).secrets.\(entry.key)") {
                service.secrets[entry.key] = secret
            }
        }
        if let probes = reader.object("probes", keys: ["startup", "liveness"]) {
            if let startup = probes.object("startup", keys: Self.probeKeys) {
                service.probes.startup = decodeProbe(startup, defaults: service.probes.startup)
            }
            if let liveness = probes.object("liveness", keys: Self.probeKeys) {
                service.probes.liveness = decodeProbe(liveness, defaults: service.probes.liveness)
            }
        }
        return service
    }

    /// `NAME: secret-id` or `NAME: { secret: secret-id, version: "3" }`.
    private func decodeSecret(_ entry: SourceNode.Entry, path: String) -> SecretReference? {
        if case .scalar(let scalar) = entry.value { return SecretReference(secret: scalar.text) }
        guard let reader = ObjectReader(entry.value, path: path, keys: ["secret", "version"], context: context),
            let secret = reader.required("secret", .string)
        else { return nil }
        return SecretReference(secret: secret, version: reader.decode("version", .string) ?? "latest")
    }

    private func decodeProbe(_ reader: ObjectReader, defaults: Probe) -> Probe {
        Probe(
            path: reader.decode("path", .string) ?? defaults.path,
            initialDelaySeconds: reader.decode("initial_delay_seconds", .int) ?? defaults.initialDelaySeconds,
            periodSeconds: reader.decode("period_seconds", .int) ?? defaults.periodSeconds,
            timeoutSeconds: reader.decode("timeout_seconds", .int) ?? defaults.timeoutSeconds,
            failureThreshold: reader.decode("failure_threshold", .int) ?? defaults.failureThreshold)
    }
}
