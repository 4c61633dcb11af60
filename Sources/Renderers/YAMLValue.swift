import Foundation
import Yams

/// A YAML document as a typed tree, emitted through Yams in the order it was built.
indirect enum YAMLValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    /// A float, printed as Swift's shortest exact form (`1.0`, `0.25`).
    case double(Double)
    case bool(Bool)
    case sequence([YAMLValue])
    case mapping([YAMLEntry])

    /// A mapping from key-value pairs, in the order given.
    static func map(_ entries: (String, YAMLValue)...) -> YAMLValue {
        .mapping(entries.map { YAMLEntry(key: $0.0, value: $0.1) })
    }

    /// A mapping with one more entry at its end; anything but a mapping is a programming error.
    func appending(_ key: String, _ value: YAMLValue) -> YAMLValue {
        guard case .mapping(let entries) = self else { preconditionFailure("appending to a non-mapping YAML value") }
        return .mapping(entries + [YAMLEntry(key: key, value: value)])
    }

    var node: Node {
        switch self {
        case .string(let text):
            return .scalar(Node.Scalar(text, Tags.string, Self.mightReadAsNonString(text) ? .singleQuoted : .any))
        case .int(let value):
            return .scalar(Node.Scalar(String(value), Tags.int))
        case .double(let value):
            return .scalar(Node.Scalar(String(value), Tags.float))
        case .bool(let value):
            return .scalar(Node.Scalar(value ? "true" : "false", Tags.bool))
        case .sequence(let items):
            return .sequence(Node.Sequence(items.map(\.node), Tags.sequence, .block))
        case .mapping(let entries):
            let pairs = entries.map { (Node.scalar(Node.Scalar($0.key, Tags.string)), $0.value.node) }
            return .mapping(Node.Mapping(pairs, Tags.mapping, .block))
        }
    }

    /// Whether a plain scalar might be read back as something other than a string (a number, a boolean, null,
    /// a timestamp) by some YAML reader, 1.1 or 1.2. Conservative: a plain string that is quoted needlessly is
    /// still the same string, so anything starting like a number or spelling a YAML 1.1 keyword is quoted.
    /// (libyaml itself quotes strings that cannot be plain at all.)
    static func mightReadAsNonString(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first else { return true }
        switch first {
        case "0"..."9", "+", "-", ".", "~": return true
        default: break
        }
        let keywords: Set<String> = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"]
        return text.count <= 5 && keywords.contains(text.lowercased())
    }

    /// The document as text, after the comment lines of `header`.
    func document(header: [String]) -> String {
        // Emitting a tree of plain scalars and block collections cannot fail.
        let body = (try? Yams.serialize(node: node, indent: 2, width: -1, allowUnicode: true)) ?? ""
        return header.map { "# \($0)\n" }.joined() + body
    }
}

/// Yams builds a default resolver and constructor for every new `Tag`: made once here.
private enum Tags {
    nonisolated(unsafe) static let string = Tag(.str)
    nonisolated(unsafe) static let int = Tag(.int)
    nonisolated(unsafe) static let float = Tag(.float)
    nonisolated(unsafe) static let bool = Tag(.bool)
    nonisolated(unsafe) static let sequence = Tag(.seq)
    nonisolated(unsafe) static let mapping = Tag(.map)
}

struct YAMLEntry: Sendable, Hashable {
    var key: String
    var value: YAMLValue
}
