import HCL
import TopologyModel

extension Expression: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Terraform spellings shared by the concern files.
enum TF {
    /// A resource label derived from model names: `realtime-us-central1` -> `realtime_us_central1`.
    static func label(_ parts: String...) -> String {
        String(
            parts.joined(separator: "_").unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9": return Character(scalar)
                default: return "_"
                }
            })
    }

    static func resource(_ type: String, _ name: String, @BodyBuilder body: () -> [BodyItem]) -> Block {
        Block(type: "resource", labels: [type, name], body: body())
    }

    /// `type.name.attribute...` of a managed resource.
    static func ref(_ type: String, _ name: String, _ attributes: String...) -> Expression {
        .reference(Traversal(root: type, steps: ([name] + attributes).map(Traversal.Step.attribute)))
    }

    /// `type.name` for `depends_on`.
    static func address(_ type: String, _ name: String) -> Expression {
        .reference(Traversal(root: type, steps: [.attribute(name)]))
    }

    static func variable(_ name: String) -> Expression { .ref("var", name) }

    static func strings(_ values: [String]) -> Expression { .list(values.map(Expression.string)) }

    static func dependsOn(_ addresses: [Expression]) -> Attribute { Attribute("depends_on", .list(addresses)) }
}

/// Everything a concern renderer needs: the topology, its derived names and its subnet plan.
struct TerraformContext {
    let topology: Topology
    let names: ResourceNames
    let subnets: [(region: String, range: IPv4Network?)]

    /// Every secret the services read, by secret id.
    let secrets: [String: SecretResource]

    init(_ topology: Topology) {
        self.topology = topology
        self.names = topology.names
        self.subnets = topology.network.subnetPlan(regions: topology.regions)
        self.secrets = Self.secrets(of: topology)
    }

    var regions: [String] { topology.regions }
    var services: [RealtimeService] { topology.sortedServices }
    var usesBundledImage: Bool { topology.usesBundledImage }

    /// User secrets referenced by any service, each once, sorted by id.
    var userSecrets: [String] { topology.userSecretIDs }

    /// A secret the services read: its resource label, and whether Terraform writes its value (Memorystore
    /// endpoints) rather than an operator (user secrets, added with `gcloud secrets versions add`).
    struct SecretResource {
        let label: String
        let valueFromTerraform: Bool
    }

    private static func secrets(of topology: Topology) -> [String: SecretResource] {
        let names = topology.names
        var secrets: [String: SecretResource] = [:]
        for secret in topology.userSecretIDs {
            secrets[secret] = SecretResource(label: Security.userSecretLabel(secret), valueFromTerraform: false)
        }
        if let redis = topology.memorystore {
            for region in topology.regions {
                secrets[names.redisURLSecret(region)] = SecretResource(
                    label: TF.label("redis_url", region), valueFromTerraform: true)
                if redis.transitEncryption {
                    secrets[names.redisCASecret(region)] = SecretResource(
                        label: TF.label("redis_ca", region), valueFromTerraform: true)
                }
            }
        }
        if let relay = topology.relayEndpoints {
            secrets[relay.secretID] = SecretResource(label: MemorystoreBlocks.relayLabel, valueFromTerraform: true)
        }
        if topology.firebaseEnabled {
            secrets[names.fallbackAPIKeySecret] = SecretResource(
                label: Firebase.apiKeySecretLabel, valueFromTerraform: true)
        }
        for service in topology.services {
            guard let export = topology.metricsExport(service) else { continue }
            secrets[export.secretID] = SecretResource(
                label: MonitoringBlocks.scrapeConfigLabel(service), valueFromTerraform: true)
        }
        return secrets
    }

    func api(_ service: String) -> Expression { TF.address("google_project_service", TF.label(service)) }
}
