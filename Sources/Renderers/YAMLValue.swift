import Foundation

/// A YAML document as a typed tree, printed in the order it was built by the one YAML printer (`document`).
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
        return text.utf8.count <= 5 && plainKeywords.contains(text.lowercased())
    }

    /// Plain scalars a YAML 1.1 reader takes for a boolean or null (matched without case); `<<` and `=` are the
    /// merge and value keys of YAML 1.1, which PyYAML's safe loader refuses plain.
    private static let plainKeywords: Set<String> = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "<<", "=",
    ]

    /// The document as text, after the comment lines of `header`: block style, two spaces per level, a
    /// sequence inside a mapping at its key's indentation (as libyaml writes it), each string plain where a
    /// YAML reader reads it back as that string and quoted otherwise (`scalar`).
    func document(header: [String]) -> String {
        var out = header.map { "# \($0)\n" }.joined()
        switch self {
        case .mapping(let entries) where !entries.isEmpty: Self.write(entries, indent: 0, into: &out)
        case .sequence(let items) where !items.isEmpty: Self.write(items, indent: 0, into: &out)
        default: out += Self.inline(self) + "\n"
        }
        return out
    }

    /// A value that fits after `key: ` or `- `: a scalar, or an empty collection.
    private static func inline(_ value: YAMLValue) -> String {
        switch value {
        case .string(let text): scalar(text)
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .sequence: "[]"
        case .mapping: "{}"
        }
    }

    private static func pad(_ indent: Int, _ out: inout String) {
        for _ in 0..<indent { out += "  " }
    }

    /// `key: value` lines at `indent`; with `continuingLine`, the first one goes on the line already begun (after
    /// a sequence's dash).
    private static func write(
        _ entries: [YAMLEntry], indent: Int, continuingLine: Bool = false, into out: inout String
    ) {
        for (index, entry) in entries.enumerated() {
            if index > 0 || !continuingLine { pad(indent, &out) }
            out += scalar(entry.key)
            switch entry.value {
            case .mapping(let nested) where !nested.isEmpty:
                out += ":\n"
                write(nested, indent: indent + 1, into: &out)
            case .sequence(let items) where !items.isEmpty:
                out += ":\n"
                write(items, indent: indent, into: &out)
            default:
                out += ": " + inline(entry.value) + "\n"
            }
        }
    }

    /// `- item` lines at `indent`; a mapping item continues on the dash's line and then one level deeper.
    private static func write(_ items: [YAMLValue], indent: Int, into out: inout String) {
        for item in items {
            pad(indent, &out)
            out += "-"
            switch item {
            case .mapping(let entries) where !entries.isEmpty:
                // The first entry on the dash's line: "- key: value", the others one level deeper.
                out += " "
                write(entries, indent: indent + 1, continuingLine: true, into: &out)
            case .sequence(let nested) where !nested.isEmpty:
                out += "\n"
                write(nested, indent: indent + 1, into: &out)
            default:
                out += " " + inline(item) + "\n"
            }
        }
    }

    /// A string as a scalar: plain when libyaml would write it plain and a reader reads it back as a string;
    /// single-quoted (quotes doubled) otherwise; double-quoted with escapes if it holds a character YAML does not
    /// allow as printable, or reads as a line break (`mustEscape`).
    static func scalar(_ text: String) -> String {
        if text.unicodeScalars.contains(where: mustEscape) { return doubleQuoted(text) }
        if !mightReadAsNonString(text), canBePlain(text) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Characters a YAML document must not hold as they are (YAML 1.2, 5.1 "Character Set": C0 and C1 controls,
    /// DEL, U+FFFE/U+FFFF), those libyaml reads as line breaks (U+0085, U+2028, U+2029: 5.4), and the byte order
    /// mark, which readers drop.
    static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF: true
        default: false
        }
    }

    /// `"..."` with `\\`, `\"` and `\uXXXX` escapes: valid in YAML 1.1 and 1.2.
    private static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case _ where mustEscape(scalar):
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Whether `text` can be a plain scalar in block context (libyaml's analysis): not starting with an
    /// indicator or a space, not ending with a space or `:`, no `: ` or ` #` inside. Characters that are not
    /// printable never get here: `scalar` double-quotes them first.
    private static func canBePlain(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        if Self.leadingIndicators.contains(first) || first == Self.space || last == Self.space
            || last == UInt8(ascii: ":")
        {
            return false
        }
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: ":"), index + 1 < bytes.count, bytes[index + 1] == Self.space { return false }
            if byte == UInt8(ascii: "#"), index > 0, bytes[index - 1] == Self.space { return false }
        }
        return true
    }

    private static let space = UInt8(ascii: " ")
    private static let leadingIndicators = Set("-?:,[]{}#&*!|>'\"%@`".utf8)
}

struct YAMLEntry: Sendable, Hashable {
    var key: String
    var value: YAMLValue
}
