/// The Google Cloud names of everything the topology creates, derived from the model alone so that every
/// renderer (Terraform, gcloud, Knative YAML) and validation agree on them, and adding a region only adds names.
public struct ResourceNames: Sendable {
    public let topology: Topology

    public init(_ topology: Topology) { self.topology = topology }

    var prefix: String { topology.name }

    public var network: String { "\(prefix)-vpc" }
    public func subnet(_ region: String) -> String { "\(prefix)-\(region)" }
    public var serviceAccessRange: String { "\(prefix)-psa" }
    public var denyIngressFirewall: String { "\(prefix)-deny-all-ingress" }
    /// The runtime service account id (6-30 characters).
    public var serviceAccountID: String { "\(prefix)-run" }
    public var serviceAccountEmail: String {
        "\(serviceAccountID)@\(topology.project).iam.gserviceaccount.com"
    }
    /// The account Cloud Build builds the bundled server as: only what the build needs (a new project's default
    /// build account lacks permissions, and an older one has far too many).
    public var buildServiceAccountID: String { "\(prefix)-build" }
    public var buildServiceAccountEmail: String {
        "\(buildServiceAccountID)@\(topology.project).iam.gserviceaccount.com"
    }
    /// The bucket `gcloud builds submit` stages the source in (bucket names are global: the project id makes
    /// it the topology's own).
    public var buildSourceBucket: String { "\(topology.project)-\(prefix)-build-source" }
    /// Memorystore instance id in a region (at most 40 characters).
    public func redisInstance(_ region: String) -> String { "\(prefix)-redis-\(region)" }
    /// The Cloud Run service name: the same in every region, so the load balancer sees one logical service.
    public func cloudRunService(_ service: RealtimeService) -> String { service.name }
    public func neg(_ service: RealtimeService, _ region: String) -> String { "\(prefix)-\(service.name)-\(region)" }
    public var backendService: String { "\(prefix)-backend" }
    public var urlMap: String { "\(prefix)-https" }
    public var redirectURLMap: String { "\(prefix)-http-redirect" }
    public var certificate: String { "\(prefix)-cert" }
    public var httpsProxy: String { "\(prefix)-https" }
    public var httpProxy: String { "\(prefix)-http" }
    public var address: String { "\(prefix)-ip" }
    public var httpsForwardingRule: String { "\(prefix)-https" }
    public var httpForwardingRule: String { "\(prefix)-http" }
    public var securityPolicy: String { "\(prefix)-armor" }
    public var sslPolicy: String { "\(prefix)-tls" }
    public var artifactRepository: String { prefix }
    /// Secret holding a region's Redis URL (`rediss://:AUTH@host:port`), filled once the instance exists.
    public func redisURLSecret(_ region: String) -> String { "\(prefix)-redis-url-\(region)" }
    /// Secret holding a region's Memorystore server CA certificate.
    public func redisCASecret(_ region: String) -> String { "\(prefix)-redis-ca-\(region)" }
    /// Secret holding every region's Redis endpoint for the relay (`RelayEndpoints`), mounted as a file.
    public var relayEndpointsSecret: String { "\(prefix)-relay-endpoints" }
    /// The API key the fallback's browser clients sign in to Firebase Auth with (`FIREBASE_WEB_API_KEY`), allowed
    /// only the Identity Toolkit API. A key id: 1 to 63 lowercase letters, digits and hyphens, first a letter.
    public var fallbackAPIKey: String { "\(prefix)-fallback-web" }
    /// Secret holding that key's string, filled once the key exists; the server hands it to its clients.
    public var fallbackAPIKeySecret: String { "\(prefix)-firebase-api-key" }
    /// The `RunMonitoring` document of a service's Prometheus sidecar (`ServerMetricsExport`).
    public func metricsExportSecret(_ service: RealtimeService) -> String { "\(prefix)-\(service.name)-prometheus" }
    /// Monitoring: the custom service the SLOs belong to, the uptime check, the log-based metric.
    public var monitoringService: String { "\(prefix)-realtime" }
    public var uptimeCheck: String { "\(prefix)-healthz" }
    public var refusalsLogMetric: String { "\(prefix)/connection_refusals" }

    /// The Firebase RTDB instance id.
    public var firebaseDatabase: String {
        topology.firebase?.instanceID ?? "\(topology.project)-\(prefix)"
    }

    /// The RTDB URL: `https://<id>.firebaseio.com` in us-central1, `https://<id>.<region>.firebasedatabase.app`
    /// elsewhere.
    public var firebaseDatabaseURL: String {
        let location = topology.firebase?.location ?? "us-central1"
        return location == "us-central1"
            ? "https://\(firebaseDatabase).firebaseio.com"
            : "https://\(firebaseDatabase).\(location).firebasedatabase.app"
    }

    /// The image a service runs; the bundled server lives in the topology's Artifact Registry repository.
    /// Where the bundled server's image is pushed: `REGION-docker.pkg.dev/PROJECT/REPOSITORY/realtime-server`.
    public var imageRepository: String {
        "\(topology.primaryRegion)-docker.pkg.dev/\(topology.project)/\(artifactRepository)/realtime-server"
    }

    public func image(_ service: RealtimeService) -> String {
        switch service.image {
        case .reference(let reference):
            return reference
        case .bundled:
            return imageRepository + ":latest"
        }
    }

    /// Every GCE resource name with the model path it derives from, for naming-rule validation.
    public var computeNames: [(name: String, origin: String)] {
        var names: [(String, String)] = [
            (network, "name"), (serviceAccessRange, "name"), (denyIngressFirewall, "name"),
        ]
        for region in topology.regions { names.append((subnet(region), "regions")) }
        if topology.loadBalancer != nil {
            for service in topology.sortedServices {
                for region in topology.regions { names.append((neg(service, region), "services.\(service.name)")) }
            }
            names += [
                (backendService, "name"), (urlMap, "name"), (redirectURLMap, "name"), (certificate, "name"),
                (address, "name"), (securityPolicy, "name"), (sslPolicy, "name"),
            ]
        }
        return names
    }
}

extension Topology {
    /// The derived Google Cloud names of this topology.
    public var names: ResourceNames { ResourceNames(self) }
}
