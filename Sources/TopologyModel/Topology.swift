/// A Cloud Storage bucket holding Terraform state (the `gcs` backend).
public struct TerraformState: Sendable, Hashable {
    public var bucket: String
    public var prefix: String

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }
}

/// The whole real-time topology of one environment: what tfctl validates and renders.
///
/// The model holds intent, not provider spellings: renderers translate it into Terraform, gcloud or Knative YAML.
/// Build one in code or load it from an environment file; both produce the same values.
public struct Topology: Sendable, Hashable {
    /// The Google Cloud project id every resource lives in.
    public var project: String
    /// The topology name; prefixes derived resource names.
    public var name: String
    /// The regions the services run in, in declaration order (the first is the primary region).
    public var regions: [String]
    /// Labels applied to every resource that takes labels.
    public var labels: [String: String]
    public var network: Network
    /// The services, sorted by name when rendered.
    public var services: [RealtimeService]
    /// The Redis pub/sub adapter; `nil` runs without cross-instance fan-out.
    public var memorystore: Memorystore?
    /// The global HTTPS load balancer; `nil` exposes the Cloud Run services directly.
    public var loadBalancer: LoadBalancer?
    public var firebase: FirebaseFallback?
    public var monitoring: Monitoring
    public var capacity: Capacity?
    /// Where Terraform keeps its state; `nil` keeps it locally in the rendered directory.
    public var state: TerraformState?

    public init(
        project: String,
        name: String,
        regions: [String],
        labels: [String: String] = [:],
        network: Network = Network(),
        services: [RealtimeService],
        memorystore: Memorystore? = Memorystore(),
        loadBalancer: LoadBalancer? = nil,
        firebase: FirebaseFallback? = nil,
        monitoring: Monitoring = Monitoring(),
        capacity: Capacity? = nil,
        state: TerraformState? = nil
    ) {
        self.project = project
        self.name = name
        self.regions = regions
        self.labels = labels
        self.network = network
        self.services = services
        self.memorystore = memorystore
        self.loadBalancer = loadBalancer
        self.firebase = firebase
        self.monitoring = monitoring
        self.capacity = capacity
        self.state = state
    }

    /// The services ordered by name: the order every renderer emits them in.
    public var sortedServices: [RealtimeService] { services.sorted { $0.name < $1.name } }

    /// Labels ordered by key, with the topology's own `managed-by` label.
    public var sortedLabels: [(key: String, value: String)] {
        var all = labels
        all["managed-by"] = all["managed-by"] ?? "tfctl"
        all["topology"] = all["topology"] ?? name
        return all.sorted { $0.key < $1.key }
    }

    /// Whether Firebase Realtime Database is part of the topology.
    public var firebaseEnabled: Bool { firebase?.enabled ?? false }
}

extension Topology {
    /// The first region: where what the topology has only one of lives (the image repository, its builds, the
    /// Terraform provider's default region). Validation requires a region; a topology built in code without one
    /// falls back to us-central1, so rendering it cannot crash.
    public var primaryRegion: String { regions.first ?? "us-central1" }
}
