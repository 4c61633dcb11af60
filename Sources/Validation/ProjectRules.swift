import Diagnostics
import TopologyModel

/// TFC01xx: project id, topology name, regions, labels.
enum ProjectRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        let project = topology.project
        if !validProject(project) {
            report.error(
                "TFC0101", "project", "invalid project id '\(project)'",
                help: "6 to 30 lowercase letters, digits and hyphens, starting with a letter")
        }
        if !validName(topology.name) {
            report.error(
                "TFC0102", "name", "invalid topology name '\(topology.name)'",
                notes: ["the name prefixes derived names such as '\(topology.name)-redis-<region>'"],
                help: "1 to 12 lowercase letters, digits and hyphens, starting with a letter")
        }
        checkRegions(topology, &report)
        if let state = topology.state {
            let allowed: (Character) -> Bool = { $0.isLowercaseASCIILetter || $0.isASCIIDigit || "-_.".contains($0) }
            let edges: (Character?) -> Bool = { $0.map { $0.isLowercaseASCIILetter || $0.isASCIIDigit } ?? false }
            if !(3...63).contains(state.bucket.count) || !state.bucket.allSatisfy(allowed) || !edges(state.bucket.first)
                || !edges(state.bucket.last)
            {
                report.error(
                    "TFC0106", "state.bucket", "invalid state bucket name '\(state.bucket)'",
                    help:
                        "3 to 63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                )
            }
            if state.prefix.isEmpty || state.prefix.hasPrefix("/") {
                report.error(
                    "TFC0106", "state.prefix", "state prefix '\(state.prefix)' must be a relative, non-empty path")
            }
        }
        for (key, value) in topology.labels.sorted(by: { $0.key < $1.key }) {
            let allowed: (Character) -> Bool = {
                $0.isLowercaseASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-"
            }
            let keyOK = (1...63).contains(key.count) && key.first!.isLowercaseASCIILetter && key.allSatisfy(allowed)
            if !keyOK {
                report.keyError(
                    "TFC0105", "labels.\(key)", "invalid label key '\(key)'",
                    help: "1 to 63 lowercase letters, digits, '_' and '-', starting with a letter")
            } else if value.count > 63 || !value.allSatisfy(allowed) {
                report.error(
                    "TFC0105", "labels.\(key)", "invalid value '\(value)' for label '\(key)'",
                    help: "at most 63 lowercase letters, digits, '_' and '-'")
            }
        }
    }

    static func validName(_ name: String) -> Bool { Names.isRFC1035(name, maxLength: 12) }

    static func validProject(_ project: String) -> Bool {
        (6...30).contains(project.count) && Names.isRFC1035(project, maxLength: 30)
    }

    private static func checkRegions(_ topology: Topology, _ report: inout Report) {
        if topology.regions.isEmpty {
            report.error("TFC0104", "regions", "the topology lists no region", help: "list at least one region")
        }
        var seen: Set<String> = []
        for (index, region) in topology.regions.enumerated() {
            let path = "regions[\(index)]"
            if !seen.insert(region).inserted {
                report.error(
                    "TFC0104", path, "region '\(region)' is listed twice",
                    notes: ["a backend service takes only one serverless NEG per region"],
                    help: "list each region once")
            } else if !GCPFacts.cloudRunRegions.contains(region) {
                let suggestion = nearestMatch(to: region, in: GCPFacts.cloudRunRegions)
                report.warning(
                    "TFC0103", path, "'\(region)' is not a Cloud Run region tfctl knows",
                    help: suggestion.map { "did you mean '\($0)'?" }
                        ?? "see https://cloud.google.com/run/docs/locations")
            }
        }
    }
}
