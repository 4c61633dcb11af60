import Diagnostics
import TopologyModel

/// TFC02xx: the VPC address plan.
enum NetworkRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        let network = topology.network
        if !(0...1).contains(network.flowLogSampling) {
            report.error(
                "TFC0208", "network.flow_log_sampling",
                "flow log sampling \(network.flowLogSampling) is outside 0 to 1",
                help: "the fraction of flows recorded: 0.5 is Google's default, 0 turns flow logs off")
        }
        guard (8...29).contains(network.subnetPrefix), network.subnetPrefix >= network.cidr.prefix else {
            report.error(
                "TFC0203", "network.subnet_prefix",
                "subnet prefix /\(network.subnetPrefix) does not fit in \(network.cidr)",
                help: "use a prefix between /\(network.cidr.prefix) and /29")
            return
        }
        if !network.cidr.isPrivate {
            report.warning(
                "TFC0202", "network.cidr", "\(network.cidr) is not in RFC 1918 private address space",
                help: "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        }
        if network.subnetPrefix > 26 {
            report.warning(
                "TFC0207", "network.subnet_prefix",
                "/\(network.subnetPrefix) subnets are small for Direct VPC egress",
                help: "use /26 or larger (a smaller prefix number)")
        }
        for region in network.subnets.keys.sorted() where !topology.regions.contains(region) {
            report.error(
                "TFC0205", "network.subnets.\(region)", "subnet given for '\(region)', which is not in `regions`",
                help: nearestMatch(to: region, in: topology.regions).map { "did you mean '\($0)'?" })
        }
        guard let psa = network.serviceAccessRangeResolved else {
            report.error(
                "TFC0203", "network.psa_prefix",
                "private service access prefix /\(network.serviceAccessPrefix) does not fit in \(network.cidr)")
            return
        }
        if psa.prefix > 24 {
            report.error(
                "TFC0206", network.serviceAccessRange == nil ? "network.psa_prefix" : "network.psa_cidr",
                "private service access range \(psa) is smaller than /24",
                help: "Memorystore needs a /24 or larger range")
        }
        checkPlan(topology, psa: psa, &report)
    }

    private static func checkPlan(_ topology: Topology, psa: IPv4Network, _ report: inout Report) {
        let network = topology.network
        let plan = network.subnetPlan(regions: topology.regions)
        var placed: [(name: String, range: IPv4Network, path: String)] = [
            (
                "private service access range", psa,
                network.serviceAccessRange == nil ? "network.cidr" : "network.psa_cidr"
            )
        ]
        for (region, range) in plan {
            let explicit = network.subnets[region] != nil
            let path = explicit ? "network.subnets.\(region)" : "network.cidr"
            guard let range else {
                let capacity = (network.cidr.size >> UInt64(32 - network.subnetPrefix)) - 1
                report.error(
                    "TFC0203", path,
                    "no room for a /\(network.subnetPrefix) subnet for '\(region)' in \(network.cidr)",
                    notes: [
                        "\(network.cidr) holds \(capacity) /\(network.subnetPrefix) subnets beside the "
                            + "private service access range; the topology has \(topology.regions.count) regions"
                    ],
                    help: "widen `network.cidr` or raise `network.subnet_prefix`")
                continue
            }
            if let clash = placed.first(where: { $0.range.overlaps(range) }) {
                report.error(
                    "TFC0204", path, "subnet \(range) of '\(region)' overlaps the \(clash.name) \(clash.range)",
                    help: "give non-overlapping ranges")
            }
            placed.append(("subnet of '\(region)'", range, path))
        }
    }
}
