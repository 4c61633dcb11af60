import Diagnostics
import TopologyModel

/// TFC04xx: Memorystore for Redis.
enum MemorystoreRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        guard let redis = topology.memorystore else { return }
        if !(0...23).contains(redis.maintenance.hour) {
            report.error(
                "TFC0407", "memorystore.maintenance.hour",
                "maintenance window hour \(redis.maintenance.hour) is not an hour of the day",
                help: "the hour the window starts, 0 to 23, in UTC")
        }
        // The bundled server's presence, online status and scripts read sorted sets with `ZRANGE ... BYSCORE`,
        // which Redis 6.2 added; Memorystore's 6.x is 6.2 ("6.x | 6.2.13",
        // https://cloud.google.com/memorystore/docs/redis/supported-versions).
        if [.v4_0, .v5_0].contains(redis.version), topology.services.contains(where: { $0.image == .bundled }) {
            report.error(
                "TFC0408", "memorystore.version",
                "the bundled server needs Redis 6.2 or later; Memorystore's \(redis.version.rawValue) lacks ZRANGE BYSCORE",
                help: "set `version: \"7.2\"` (or 6.x or 7.0); an instance's version can only go up")
        }
        relayDocumentFits(topology, redis, &report)
        for region in topology.regions {
            let id = topology.names.redisInstance(region)
            if !Names.isRFC1035(id, maxLength: 41) || id.count < 2 {
                report.error(
                    "TFC0401", "name", "derived Memorystore instance id '\(id)' is invalid (\(id.count) characters)",
                    notes: ["instance ids match ^[a-z][a-z0-9-]{0,39}[a-z0-9]$"],
                    help: "shorten the topology name")
                break
            }
        }
        if !GCPFacts.redisMemoryGB.contains(redis.memoryGB) {
            report.error(
                "TFC0402", "memorystore.memory_gb", "memory_gb \(redis.memoryGB) is outside Memorystore's 1 to 300 GB")
        }
        guard redis.readReplicas != 0 else { return }
        if redis.tier != .standardHA {
            report.error(
                "TFC0403", "memorystore.read_replicas", "read replicas need the standard_ha tier",
                help: "set `tier: standard_ha` or `read_replicas: 0`")
        } else if !GCPFacts.readReplicaCount.contains(redis.readReplicas) {
            report.error(
                "TFC0405", "memorystore.read_replicas",
                "read_replicas \(redis.readReplicas) is outside 1 to 5", help: "use 0 to 5")
        } else if redis.memoryGB < GCPFacts.readReplicaMinimumGB {
            report.error(
                "TFC0404", "memorystore.read_replicas",
                "read replicas need memory_gb of 5 or more, the instance has \(redis.memoryGB)",
                help: "set `memory_gb: 5` or `read_replicas: 0`")
        }
    }

    /// The relay endpoints document is one secret version, and "Payload size | 64 KiB" is Secret Manager's limit
    /// on a version (https://cloud.google.com/secret-manager/quotas). It lists every region's Redis URL and, with
    /// in-transit encryption, every server CA of the instance: "an instance can have several server CAs
    /// (rotation); trust all of them" (Memorystore in-transit encryption), so the estimate counts two. A document
    /// over the limit would not fail now but at the apply that adds a region, or when Memorystore adds a CA, and
    /// the regions would keep relaying with the old document (the new CA not trusted).
    static func relayDocumentFits(_ topology: Topology, _ redis: Memorystore, _ report: inout Report) {
        let estimate = RelayDocumentEstimate(transitEncryption: redis.transitEncryption)
        let bytes = estimate.bytes(regions: topology.regions)
        guard bytes > RelayDocumentEstimate.payloadLimit else { return }
        let contents = redis.transitEncryption ? "Redis URL and two server CAs (one rotating in)" : "Redis URL"
        report.error(
            "TFC0409", "regions",
            "the relay endpoints document of \(topology.regions.count) regions would be about \(bytes / 1024) KiB, "
                + "over Secret Manager's 64 KiB payload limit",
            notes: [
                "every region's \(contents), about \(estimate.perRegion) bytes a region, is in the one secret every "
                    + "service mounts",
                "each instance also keeps a relay connection to every other region's Redis",
            ],
            help: redis.transitEncryption
                ? "at most \(estimate.regionLimit) regions with `transit_encryption: true`; split the topology by "
                    + "continent into several environments"
                : "at most \(estimate.regionLimit) regions; split the topology into several environments")
    }
}

/// How large the relay endpoints document grows, by its worst case: the URL (`rediss://:<AUTH UUID>@<IPv4>:6378`),
/// JSON's quotes and keys, and with TLS two PEM certificates as JSON strings (a Memorystore server CA is an RSA
/// 2048 certificate, about 1 300 bytes of PEM; 1 400 leaves room for its escaped line breaks).
struct RelayDocumentEstimate {
    static let payloadLimit = 64 * 1024
    static let envelope = 64
    static let caBytes = 1_400
    static let urlBytes = 72
    static let keysBytes = 40
    var transitEncryption: Bool

    var perRegion: Int { Self.urlBytes + Self.keysBytes + (transitEncryption ? 2 * Self.caBytes + 2 : 0) }

    func bytes(regions: [String]) -> Int {
        Self.envelope + regions.reduce(0) { $0 + perRegion + $1.utf8.count }
    }

    /// The most regions of a typical name's length (12 characters) that fit.
    var regionLimit: Int { (Self.payloadLimit - Self.envelope) / (perRegion + 12) }
}
