import Diagnostics
import TopologyModel

/// TFC03xx: what Cloud Run accepts for a service.
enum CloudRunRules {
    /// The variable that carries an HS256 signing secret to the bundled server (TFC0318).
    static let signingSecret = "JWT_HS256_SECRET"

    static func check(_ topology: Topology, _ report: inout Report) {
        for service in topology.sortedServices {
            let path = "services.\(service.name)"
            if !validName(service.name) {
                report.error(
                    "TFC0306", path, "invalid service name '\(service.name)'",
                    help: "1 to 49 lowercase letters, digits and hyphens, starting with a letter")
            }
            checkScaling(service, path, &report)
            checkQuota(service, path, &report)
            checkResources(service, path, &report)
            checkEnvironment(service, path, &report)
            checkProbes(service, path, &report)
            if topology.memorystore != nil { checkStartupCoversEgress(service, path, &report) }
            if service.ingress == .internalAndLoadBalancer, topology.loadBalancer == nil {
                report.error(
                    "TFC0310", "\(path).ingress",
                    "ingress is restricted to a load balancer, but the topology has no `load_balancer`",
                    help: "add `load_balancer`, or set `ingress: all`")
            }
            if !(1...65535).contains(service.port) {
                report.error(
                    "TFC0312", "\(path).port", "port \(service.port) is not a TCP port",
                    help: "use 1 to 65535 (Cloud Run's default is 8080)")
            }
            if case .reference(let image) = service.image,
                image.isEmpty || image.contains(where: { $0.isWhitespace })
            {
                report.error(
                    "TFC0313", "\(path).image", "invalid image reference '\(image)'",
                    help: "use `bundled` or an image such as us-docker.pkg.dev/project/repo/server:1.0")
            }
        }
    }

    static func validName(_ name: String) -> Bool { Names.isRFC1035(name, maxLength: 49) }

    private static func checkScaling(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        if !(1...GCPFacts.maxTimeoutSeconds).contains(service.timeoutSeconds) {
            report.error(
                "TFC0301", "\(path).timeout",
                "timeout \(service.timeoutSeconds)s is outside Cloud Run's 1s to 3600s",
                help: "use 3600s: WebSockets are closed when the timeout elapses")
        }
        if !(1...GCPFacts.maxConcurrency).contains(service.concurrency) {
            report.error(
                "TFC0302", "\(path).concurrency",
                service.concurrency > GCPFacts.maxConcurrency
                    ? "concurrency \(service.concurrency) exceeds Cloud Run's maximum of 1000"
                    : "concurrency \(service.concurrency) is below 1",
                help: "set concurrency between 1 and 1000")
        }
        if service.maxInstances < 1 {
            report.error("TFC0303", "\(path).max_instances", "max_instances \(service.maxInstances) is below 1")
        }
        if service.minInstances < 0 {
            report.error("TFC0303", "\(path).min_instances", "min_instances \(service.minInstances) is negative")
        } else if service.minInstances > service.maxInstances, service.maxInstances >= 1 {
            report.error(
                "TFC0303", "\(path).min_instances",
                "min_instances \(service.minInstances) is above max_instances \(service.maxInstances)",
                help: "raise max_instances or lower min_instances")
        }
    }

    /// Max instances beyond the default regional quota (1000 vCPU, 2000 GiB) need a quota increase first.
    private static func checkQuota(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        let vcpus = saturatingProduct(max(0, service.maxInstances), service.cpu.millicores) / 1000
        let gibibytes = saturatingProduct(max(0, service.maxInstances), service.memory.mebibytes) / 1024
        guard vcpus > GCPFacts.defaultRegionalVCPUQuota || gibibytes > GCPFacts.defaultRegionalMemoryQuotaGiB else {
            return
        }
        report.warning(
            "TFC0314", "\(path).max_instances",
            "\(service.maxInstances) instances need \(vcpus) vCPU and \(gibibytes) GiB per region at full scale, "
                + "beyond the default regional quota of 1000 vCPU and 2000 GiB",
            help: "request a Cloud Run quota increase in every region before relying on this limit")
    }

    private static func checkResources(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        let cpu = service.cpu.millicores
        let memory = service.memory.mebibytes
        if cpu < 1000 {
            if cpu < GCPFacts.minMillicores {
                report.error(
                    "TFC0304", "\(path).cpu", "CPU \(service.cpu) is below Cloud Run's minimum of 0.08",
                    help: "use 1, 2, 4, 6 or 8 for WebSocket services")
                return
            } else if service.concurrency > 1 {
                report.error(
                    "TFC0307", "\(path).cpu",
                    "CPU \(service.cpu) is below 1, which requires concurrency 1 (it is \(service.concurrency))",
                    help: "use at least 1 CPU for a WebSocket service")
            }
        } else if cpu % 1000 != 0 || !GCPFacts.wholeCPUs.contains(cpu / 1000) {
            report.error(
                "TFC0304", "\(path).cpu", "CPU \(service.cpu) is not offered by Cloud Run",
                help: "above 1, CPU is 2, 4, 6 or 8")
            return
        }
        let minimumMemory = service.executionEnvironment == .gen1 ? 128 : 512
        if memory < minimumMemory || memory > 32 * 1024 {
            report.error(
                "TFC0305", "\(path).memory",
                "memory \(service.memory) is outside \(MemorySize(mebibytes: minimumMemory)) to 32Gi "
                    + "(\(service.executionEnvironment.rawValue))")
            return
        }
        if let needed = minimumCPU(forMebibytes: memory), cpu < needed {
            report.error(
                "TFC0305", "\(path).memory",
                "memory \(service.memory) needs at least \(CPU(millicores: needed)) CPU, the service has \(service.cpu)",
                help: "raise cpu to \(CPU(millicores: needed)) or lower memory")
        }
        let floor = cpu >= 6000 ? 4096 : cpu >= 4000 ? 2048 : 0
        if memory < floor {
            report.error(
                "TFC0305", "\(path).memory",
                "\(service.cpu) CPUs need at least \(MemorySize(mebibytes: floor)) of memory, the service has \(service.memory)",
                help: "raise memory to \(MemorySize(mebibytes: floor))")
        }
    }

    /// The smallest CPU (millicores) Cloud Run pairs with a memory size (memory-limits page, "Required minimum CPUs").
    static func minimumCPU(forMebibytes memory: Int) -> Int? {
        let table: [(upTo: Int, millicores: Int)] = [
            (128, 83), (256, 167), (512, 333), (1024, 583), (4096, 1000), (8192, 2000), (16384, 4000),
            (24576, 6000), (32768, 8000),
        ]
        return table.first { memory <= $0.upTo }?.millicores
    }

    private static func checkEnvironment(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        func isCIdentifier(_ name: String) -> Bool {
            guard let first = name.first, first.isASCIILetter || first == "_" else { return false }
            return name.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
        }
        let names = service.env.keys.map { ("env", $0) } + service.secrets.keys.map { ("secrets", $0) }
        for (group, name) in names.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            let keyPath = "\(path).\(group).\(name)"
            if !isCIdentifier(name) {
                report.keyError(
                    "TFC0308", keyPath, "'\(name)' is not a valid environment variable name",
                    help: "use letters, digits and '_', not starting with a digit")
            } else if GCPFacts.reservedEnv.contains(name) {
                report.keyError(
                    "TFC0308", keyPath, "'\(name)' is set by Cloud Run itself",
                    help: "remove it; Cloud Run sets PORT, K_SERVICE, K_REVISION and K_CONFIGURATION")
            } else if RealtimeService.isTopologyVariable(name) {
                report.keyError(
                    "TFC0308", keyPath, "'\(name)' is set by tfctl to wire the service to the topology",
                    help: "rename the variable")
            } else if group == "secrets", service.env[name] != nil {
                report.keyError(
                    "TFC0308", keyPath, "'\(name)' is both a plain variable and a secret",
                    help: "keep one of them")
            }
        }
        for (index, origin) in (service.corsOrigins ?? []).enumerated() where !Self.isOrigin(origin) {
            report.error(
                "TFC0317", "\(path).cors_origins[\(index)]", "'\(origin)' is not a browser origin",
                help: "an origin is scheme://host[:port], e.g. https://app.example.com, without a path or a "
                    + "trailing slash; `*` alone allows any")
        }
        if service.image == .bundled, let level = service.env["LOG_LEVEL"],
            !RealtimeService.bundledServerLogLevels.contains(level)
        {
            report.error(
                "TFC0315", "\(path).env.LOG_LEVEL", "LOG_LEVEL '\(level)' is not a level the bundled server accepts",
                help: "use one of \(RealtimeService.bundledServerLogLevels.joined(separator: ", "))")
        }
        for key in ["env", "secrets"]
        where
            (key == "env"
            ? service.env.keys.contains(Self.signingSecret)
            : service.secrets.keys.contains(Self.signingSecret))
        {
            report.warning(
                "TFC0318", "\(path).\(key).\(Self.signingSecret)",
                "the service holds the HS256 secret tokens are signed with: if it is compromised, it can mint tokens "
                    + "for any user",
                help: "verify with the issuer's public key instead: JWT_RS256_PUBLIC_KEY (RS256)")
        }
        for (name, secret) in service.sortedSecrets {
            let valid =
                (1...255).contains(secret.secret.count)
                && secret.secret.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
            if !valid {
                report.error(
                    "TFC0309", "\(path).secrets.\(name).secret", "invalid secret id '\(secret.secret)'",
                    help: "1 to 255 letters, digits, '_' and '-'")
            }
            if secret.version != "latest", Int(secret.version).map({ $0 < 1 }) ?? true {
                report.error(
                    "TFC0309", "\(path).secrets.\(name).version", "invalid secret version '\(secret.version)'",
                    help: "use `latest` or a version number")
            }
        }
    }

    private static func checkProbes(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        let probes = [("startup", service.probes.startup, 240), ("liveness", service.probes.liveness, 3600)]
        for (kind, probe, maxPeriod) in probes {
            let probePath = "\(path).probes.\(kind)"
            if !probe.path.hasPrefix("/") {
                report.error(
                    "TFC0311", "\(probePath).path", "\(kind) probe path '\(probe.path)' does not start with '/'")
            }
            if !(1...maxPeriod).contains(probe.periodSeconds) {
                report.error(
                    "TFC0311", "\(probePath).period_seconds",
                    "\(kind) probe period \(probe.periodSeconds)s is outside 1s to \(maxPeriod)s")
            }
            if probe.timeoutSeconds < 1 || probe.timeoutSeconds >= probe.periodSeconds {
                report.error(
                    "TFC0311", "\(probePath).timeout_seconds",
                    "\(kind) probe timeout \(probe.timeoutSeconds)s must be at least 1s and below its period "
                        + "of \(probe.periodSeconds)s")
            }
            if probe.failureThreshold < 1 {
                report.error(
                    "TFC0311", "\(probePath).failure_threshold",
                    "\(kind) probe failure threshold \(probe.failureThreshold) is below 1")
            }
            if !(0...maxPeriod).contains(probe.initialDelaySeconds) {
                report.error(
                    "TFC0311", "\(probePath).initial_delay_seconds",
                    "\(kind) probe initial delay \(probe.initialDelaySeconds)s is outside 0s to \(maxPeriod)s")
            }
        }
        let startup = service.probes.startup
        let window = startup.failureWindowSeconds
        if startup.periodSeconds >= 1, startup.failureThreshold >= 1, window > Probes.startupFailureWindowLimit {
            report.error(
                "TFC0311", "\(path).probes.startup.failure_threshold",
                "startup probe allows \(window == .max ? "endless" : "\(window)s of") failures "
                    + "(\(startup.failureThreshold) × \(startup.periodSeconds)s); Cloud Run allows at most "
                    + "\(Probes.startupFailureWindowLimit)s",
                help: "lower failure_threshold or period_seconds, or add initial_delay_seconds")
        }
    }

    /// With Memorystore the server reports ready only once Redis answers (`REDIS_REQUIRED_FOR_READY`), and Direct
    /// VPC egress can take a minute or more after an instance starts: a startup probe that gives up sooner
    /// kills every instance that is waiting for its network, and a revision never becomes ready.
    private static func checkStartupCoversEgress(_ service: RealtimeService, _ path: String, _ report: inout Report) {
        let startup = service.probes.startup
        let budget = startup.budgetSeconds
        // Values TFC0311 refuses are reported there only.
        guard startup.periodSeconds >= 1, startup.failureThreshold >= 1, startup.initialDelaySeconds >= 0,
            budget < Probes.egressStartupBudget
        else { return }
        report.error(
            "TFC0316", "\(path).probes.startup.failure_threshold",
            "the startup probe gives up after \(budget)s, but with Memorystore an instance is ready only once "
                + "Redis answers, which Direct VPC egress can delay by a minute or more",
            help: "allow at least \(Probes.egressStartupBudget)s: initial_delay_seconds + period_seconds × "
                + "failure_threshold (the default is \(Probes().startup.budgetSeconds)s)")
    }

    /// `*`, or what a browser sends as `Origin`: `http(s)://host[:port]`, nothing after (RFC 6454 serialization).
    static func isOrigin(_ text: String) -> Bool {
        if text == "*" { return true }
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let host = parts[0]
            let hostValid =
                !host.isEmpty && host.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "." || $0 == "-" }
                && host.first != "." && host.last != "."
            let portValid = parts.count == 1 || (Int(parts[1]).map { (1...65_535).contains($0) } ?? false)
            return hostValid && portValid
        }
        return false
    }
}
