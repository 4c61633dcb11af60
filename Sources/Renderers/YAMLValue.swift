import Foundation
import Yams

/// A YAML document as a typed tree, emitted through Yams in the order it was built.
indirect enum YAMLValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case sequence([YAMLValue])
    case mapping([YAMLEntry])

    /// A mapping from key-value pairs, in the order given.
    static func map(_ entries: (String, YAMLValue)...) -> YAMLValue {
        .mapping(entries.map { YAMLEntry(key: $0.0, value: $0.1) })
    }

    var node: Node {
        switch self {
        case .string(let text):
            // A string that would read back as a number, boolean or null when plain is quoted.
            let plain = Node.scalar(Node.Scalar(text))
            let style: Node.Scalar.Style = Resolver.default.resolveTag(of: plain) == .str ? .any : .singleQuoted
            return .scalar(Node.Scalar(text, Tag(.str), style))
        case .int(let value):
            return .scalar(Node.Scalar(String(value), Tag(.int)))
        case .bool(let value):
            return .scalar(Node.Scalar(value ? "true" : "false", Tag(.bool)))
        case .sequence(let items):
            return .sequence(Node.Sequence(items.map(\.node), Tag(.seq), .block))
        case .mapping(let entries):
            let pairs = entries.map { (Node.scalar(Node.Scalar($0.key, Tag(.str))), $0.value.node) }
            return .mapping(Node.Mapping(pairs, Tag(.map), .block))
        }
    }

    /// The document as text, after the comment lines of `header`.
    func document(header: [String]) -> String {
        // Emitting a tree of plain scalars and block collections cannot fail.
        let body = (try? Yams.serialize(node: node, indent: 2, width: -1, allowUnicode: true)) ?? ""
        return header.map { "# \($0)\n" }.joined() + body
    }
}

struct YAMLEntry: Sendable, Hashable {
    var key: String
    var value: YAMLValue
}

/// Compact JSON with sorted keys, for values that APIs take as JSON strings (Cloud Run network interfaces).
func compactJSON(_ object: Any) -> String {
    let data =
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
