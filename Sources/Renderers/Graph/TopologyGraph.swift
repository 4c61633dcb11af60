import HCL
import TopologyModel

/// The two pictures `tfctl graph` draws. `topology`: the load balancer with its domains and Cloud Armor in front,
/// each region's services and Redis, the relays between regions, the Realtime Database fallback, and what watches
/// it all. `resources`: every Terraform resource and the references between them.
public enum TopologyGraph {
    public enum Level: String, Sendable, CaseIterable {
        case topology, resources
    }

    public static func build(_ topology: Topology, level: Level) -> Graph {
        switch level {
        case .topology: return architecture(topology)
        case .resources: return resources(topology)
        }
    }

    static func architecture(_ topology: Topology) -> Graph {
        var graph = Graph(title: topology.name)
        let names = topology.names
        let services = topology.sortedServices
        let bundled = services.filter { topology.metricsExport($0) != nil }
        if let lb = topology.loadBalancer {
            graph.nodes.append(.init("clients", "Socket.IO clients", .box))
            var armor = "Cloud Armor \(names.securityPolicy)"
            if let limit = lb.rateLimit { armor += "\n\(limit.requests) requests / \(limit.intervalSeconds) s" }
            armor += "\nadmin paths refused"
            var front = "HTTPS load balancer\n" + lb.domains.joined(separator: "\n")
            if lb.httpRedirect { front += "\nHTTP redirected to HTTPS" }
            graph.nodes.append(.init("lb", front, .gate))
            // Cloud Armor is the backend service's policy: the load balancer applies it to every request before
            // a backend gets it.
            graph.nodes.append(.init("armor", armor, .gate))
            graph.edges.append(.init("clients", "lb", "WebSocket / polling"))
            graph.edges.append(.init("lb", "armor", "every request"))
        }
        for region in topology.regions {
            var nodes: [Graph.Node] = services.map { service in
                var label =
                    "Cloud Run \(names.cloudRunService(service))\n\(service.minInstances)–\(service.maxInstances) instances × \(service.concurrency)"
                if topology.metricsExport(service) != nil { label += "\n+ Prometheus sidecar" }
                return .init(TF.label("run", service.name, region), label, .box)
            }
            if let redis = topology.memorystore {
                nodes.append(
                    .init(
                        TF.label("redis", region),
                        "Memorystore \(names.redisInstance(region))\n\(redis.tier.rawValue), \(redis.memoryGB) GB",
                        .store))
            }
            graph.clusters.append(.init(id: TF.label("region", region), label: region, nodes: nodes))
            for service in services {
                let id = TF.label("run", service.name, region)
                if topology.loadBalancer != nil { graph.edges.append(.init("armor", id, "serverless NEG")) }
                if topology.memorystore != nil {
                    graph.edges.append(.init(id, TF.label("redis", region), "pub/sub, streams"))
                }
            }
        }
        // The relays: each region's services publish to every other region's Redis.
        if topology.memorystore != nil, topology.regions.count > 1 {
            for region in topology.regions {
                for other in topology.regions where other != region {
                    for service in services {
                        graph.edges.append(
                            .init(
                                TF.label("run", service.name, region), TF.label("redis", other), "relay", dashed: true))
                    }
                }
            }
        }
        if let firebase = topology.firebase, firebase.enabled {
            graph.nodes.append(
                .init("rtdb", "Realtime Database \(names.firebaseDatabase)\n\(firebase.location), fallback", .store))
            for service in bundled.isEmpty ? services : bundled {
                for region in topology.regions {
                    graph.edges.append(.init(TF.label("run", service.name, region), "rtdb", "mirror", dashed: true))
                }
            }
            if topology.loadBalancer != nil {
                graph.edges.append(.init("clients", "rtdb", "fallback stream", dashed: true))
            }
        }
        graph.nodes.append(
            .init(
                "monitoring",
                "Cloud Monitoring\ndashboard, \(AlertKind.allCases.count) alert kinds"
                    + (bundled.isEmpty ? "" : ", 2 SLOs"), .note))
        for service in bundled {
            for region in topology.regions {
                graph.edges.append(.init(TF.label("run", service.name, region), "monitoring", "metrics", dashed: true))
            }
        }
        if topology.loadBalancer != nil {
            graph.edges.append(.init("monitoring", "lb", "uptime /healthz", dashed: true))
        }
        return graph
    }

    /// Every managed resource of the Terraform and each reference one makes to another (depends_on included).
    static func resources(_ topology: Topology) -> Graph {
        var graph = Graph(title: topology.name)
        let blocks = TerraformRenderer().modules(topology).flatMap { module in
            module.blocks.map { (file: module.name, block: $0) }
        }
        var clusters: [String: [Graph.Node]] = [:]
        var files: [String] = []
        var seen: Set<String> = []
        for (file, block) in blocks where block.type == "resource" && block.labels.count == 2 {
            let address = block.labels.joined(separator: ".")
            if clusters[file] == nil { files.append(file) }
            clusters[file, default: []].append(.init(address, address, .box))
            seen.insert(address)
        }
        graph.clusters = files.map { .init(id: "file_\($0)", label: "\($0).tf", nodes: clusters[$0] ?? []) }
        for (_, block) in blocks where block.type == "resource" && block.labels.count == 2 {
            let address = block.labels.joined(separator: ".")
            var targets: [String] = []
            for reference in block.references {
                guard case .attribute(let name)? = reference.steps.first else { continue }
                let target = reference.root + "." + name
                if seen.contains(target), target != address, !targets.contains(target) { targets.append(target) }
            }
            graph.edges += targets.map { .init(address, $0) }
        }
        return graph
    }
}
