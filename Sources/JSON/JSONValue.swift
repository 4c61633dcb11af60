/// A JSON value as Socket.IO carries it, plus binary buffers (which travel as attachments, not JSON).
/// Objects keep their key order, so what is encoded is what was built.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])
    case binary([UInt8])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.binary(let a), .binary(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let value): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .array(let value): hasher.combine(value)
        case .binary(let value): hasher.combine(value)
        case .object(let value):
            for (key, item) in value {
                hasher.combine(key)
                hasher.combine(item)
            }
        }
    }

    /// An object whose members are in key order, sorted here once: for documents whose readers diff them.
    public static func sortedObject(_ members: [String: JSONValue]) -> JSONValue {
        .object(members.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }

    /// The member `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Parses JSON text (RFC 8259); nil when it is not exactly one JSON value.
    public static func parse(_ text: Substring) -> JSONValue? {
        var parser = JSONParser(Array(text.utf8))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.atEnd ? value : nil
    }

    /// Compact JSON text. Binary values must have been replaced by placeholders before.
    public func serialized() -> String {
        var out = ""
        write(into: &out, depth: nil)
        return out
    }

    /// JSON text for people and diffs: two spaces per level, `"key": value`, one member or element a line,
    /// members in the order built (callers that want sorted keys build them sorted), ending with a newline.
    public func pretty() -> String {
        var out = ""
        write(into: &out, depth: 0)
        out += "\n"
        return out
    }

    /// A line break and the indentation of `depth`, when pretty.
    private static func breakLine(_ out: inout String, _ depth: Int?) {
        guard let depth else { return }
        out += "\n"
        out += String(repeating: "  ", count: depth)
    }

    private func write(into out: inout String, depth: Int?) {
        let inner = depth.map { $0 + 1 }
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value):
            if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
                out += String(Int64(value))
            } else if value.isFinite {
                out += "\(value)"
            } else {
                out += "null"
            }
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                Self.breakLine(&out, inner)
                item.write(into: &out, depth: inner)
            }
            if !items.isEmpty { Self.breakLine(&out, depth) }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                Self.breakLine(&out, inner)
                Self.writeString(member.key, into: &out)
                out += depth == nil ? ":" : ": "
                member.value.write(into: &out, depth: inner)
            }
            if !members.isEmpty { Self.breakLine(&out, depth) }
            out += "}"
        case .binary:
            out += "null"
        }
    }

    private static func writeString(_ value: String, into out: inout String) {
        out += "\""
        // Most strings need nothing escaped: appended whole, not a scalar at a time.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += value
            out += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
