/// A picture of a topology as a typed tree: nodes (optionally in clusters) and edges, printed by one printer per
/// format (`MermaidPrinter`, `DotPrinter`). Ids are made safe by the printers; order is the order built, so the
/// same topology is the same bytes.
public struct Graph: Sendable, Hashable {
    public var title: String
    public var clusters: [Cluster] = []
    /// Nodes outside any cluster.
    public var nodes: [Node] = []
    public var edges: [Edge] = []

    public struct Node: Sendable, Hashable {
        public var id: String
        public var label: String
        public var shape: Shape

        public init(_ id: String, _ label: String, _ shape: Shape = .box) {
            self.id = id
            self.label = label
            self.shape = shape
        }
    }

    public enum Shape: Sendable, Hashable {
        /// A service, a resource.
        case box
        /// A store: Redis, the Realtime Database.
        case store
        /// The edge: the load balancer and Cloud Armor.
        case gate
        /// Observability: the dashboard, alerts, the uptime check.
        case note
    }

    public struct Cluster: Sendable, Hashable {
        public var id: String
        public var label: String
        public var nodes: [Node]
    }

    public struct Edge: Sendable, Hashable {
        public var from: String
        public var to: String
        public var label: String?
        /// Dashed: data copied or watched rather than requests served (relays, the mirror, monitoring).
        public var dashed: Bool

        public init(_ from: String, _ to: String, _ label: String? = nil, dashed: Bool = false) {
            self.from = from
            self.to = to
            self.label = label
            self.dashed = dashed
        }
    }

    public init(title: String) { self.title = title }

    /// Every node, clustered or not.
    public var allNodes: [Node] { clusters.flatMap(\.nodes) + nodes }
}

/// Ids both formats take: letters, digits and `_`, starting with a letter. A resource address's `.` is `__`, any
/// other character `_xHH_`, so addresses stay apart (`a.b_c` and `a_b.c` are `a__b_c` and `a_b__c`).
enum GraphID {
    static func safe(_ id: String) -> String {
        var mapped = ""
        for scalar in id.unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" {
                mapped.unicodeScalars.append(scalar)
            } else if scalar == "." {
                mapped += "__"
            } else {
                mapped += "_x" + String(scalar.value, radix: 16) + "_"
            }
        }
        return mapped.first?.isLetter == true ? mapped : "n_" + mapped
    }
}

/// Mermaid's `flowchart` (which GitHub renders in Markdown): a `subgraph` per cluster, shapes by kind, labels in
/// quotes with `"` written as `#quot;`.
public enum MermaidPrinter {
    public static func print(_ graph: Graph) -> String {
        var out = "flowchart LR\n"
        for cluster in graph.clusters {
            out += "  subgraph \(GraphID.safe(cluster.id))[\(label(cluster.label))]\n"
            for node in cluster.nodes { out += "    " + line(node) + "\n" }
            out += "  end\n"
        }
        for node in graph.nodes { out += "  " + line(node) + "\n" }
        for edge in graph.edges {
            let arrow = edge.dashed ? "-.->" : "-->"
            let text = edge.label.map { "|\(label($0))|" } ?? ""
            out += "  \(GraphID.safe(edge.from)) \(arrow)\(text) \(GraphID.safe(edge.to))\n"
        }
        return out
    }

    private static func line(_ node: Graph.Node) -> String {
        let id = GraphID.safe(node.id), text = label(node.label)
        switch node.shape {
        case .box: return "\(id)[\(text)]"
        case .store: return "\(id)[(\(text))]"
        case .gate: return "\(id){{\(text)}}"
        case .note: return "\(id)>\(text)]"
        }
    }

    /// A quoted label: `"` is `#quot;`, and the characters Mermaid reads as markup in a label are entities.
    static func label(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "#quot;"
            case "#": out += "#35;"
            case "|": out += "#124;"
            case "<": out += "#lt;"
            case "&": out += "#amp;"
            case "\n": out += "<br>"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

/// Graphviz DOT: a `digraph` with a `cluster_` subgraph per cluster, quoted ids and labels.
public enum DotPrinter {
    public static func print(_ graph: Graph) -> String {
        var out = "digraph \(quoted(graph.title)) {\n"
        out +=
            "  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n"
        for cluster in graph.clusters {
            out += "  subgraph \(quoted("cluster_" + GraphID.safe(cluster.id))) {\n"
            out += "    label=\(quoted(cluster.label));\n"
            for node in cluster.nodes { out += "    " + line(node) + "\n" }
            out += "  }\n"
        }
        for node in graph.nodes { out += "  " + line(node) + "\n" }
        for edge in graph.edges {
            var attributes: [String] = []
            if let label = edge.label { attributes.append("label=\(quoted(label))") }
            if edge.dashed { attributes.append("style=dashed") }
            out += "  \(quoted(GraphID.safe(edge.from))) -> \(quoted(GraphID.safe(edge.to)))"
            out += (attributes.isEmpty ? "" : " [" + attributes.joined(separator: ", ") + "]") + ";\n"
        }
        return out + "}\n"
    }

    private static func line(_ node: Graph.Node) -> String {
        let shape =
            switch node.shape {
            case .box: "box"
            case .store: "cylinder"
            case .gate: "hexagon"
            case .note: "note"
            }
        return "\(quoted(GraphID.safe(node.id))) [label=\(quoted(node.label)), shape=\(shape)];"
    }

    /// A DOT string: `"` and `\` escaped, a newline as `\n`.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
