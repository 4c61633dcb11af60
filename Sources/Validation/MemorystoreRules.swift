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
}
