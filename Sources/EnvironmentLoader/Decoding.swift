import Diagnostics

/// Collects diagnostics and the source map while a tree is decoded.
final class DecodingContext {
    var diagnostics: [Diagnostic] = []
    var sourceMap: SourceMap

    init(sourceMap: SourceMap) { self.sourceMap = sourceMap }

    func error(_ rule: String, _ message: String, at location: SourceLocation?, path: String, help: String? = nil) {
        diagnostics.append(Diagnostic(.error, RuleID(rule), message, at: location, path: path, help: help))
    }

    func typeMismatch(_ expected: String, found node: SourceNode, path: String) {
        error(
            "TFC0002", "\(path.isEmpty ? "value" : "`\(path)`") expects \(expected), found \(node.kindDescription)",
            at: node.location, path: path)
    }
}

/// Reads one mapping of an environment file: reports unknown keys with the nearest valid one, records where
/// each value was written, and decodes values with precise errors. Absent and `null` values read as `nil`.
struct ObjectReader {
    let path: String
    let location: SourceLocation
    private let entries: [String: SourceNode.Entry]
    private let context: DecodingContext

    /// Returns `nil` (after reporting) when `node` is not a mapping.
    init?(_ node: SourceNode, path: String, keys: [String], context: DecodingContext) {
        guard case .mapping(let list, let location) = node else {
            context.typeMismatch("a mapping", found: node, path: path)
            return nil
        }
        self.path = path
        self.location = location
        self.context = context
        var entries: [String: SourceNode.Entry] = [:]
        for entry in list {
            guard keys.contains(entry.key) else {
                let suggestion = nearestMatch(to: entry.key, in: keys)
                let qualified = path.isEmpty ? "" : " in `\(path)`"
                context.error(
                    "TFC0003", "unknown key '\(entry.key)'\(qualified)", at: entry.keyLocation,
                    path: Self.join(path, entry.key),
                    help: suggestion.map { "did you mean '\($0)'?" }
                        ?? "valid keys: \(keys.sorted().joined(separator: ", "))")
                continue
            }
            entries[entry.key] = entry
            context.sourceMap.record(Self.join(path, entry.key), value: entry.value.location, key: entry.keyLocation)
        }
        self.entries = entries
    }

    /// The value under `key`, or `nil` when absent or `null`.
    func node(_ key: String) -> SourceNode? {
        guard let entry = entries[key], !entry.value.isNull else { return nil }
        return entry.value
    }

    func childPath(_ key: String) -> String { Self.join(path, key) }

    private static func join(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    /// Reports a missing required key at the mapping that lacks it.
    func missing(_ key: String, help: String? = nil) {
        let owner = path.isEmpty ? "the environment" : "`\(path)`"
        context.error(
            "TFC0004", "missing required key '\(key)' in \(owner)", at: location, path: childPath(key),
            help: help)
    }

    func decode<T>(_ key: String, _ decoder: ScalarDecoder<T>) -> T? {
        guard let node = node(key) else { return nil }
        return decoder.decode(node, path: childPath(key), context: context)
    }

    func required<T>(_ key: String, _ decoder: ScalarDecoder<T>, help: String? = nil) -> T? {
        guard node(key) != nil else {
            missing(key, help: help)
            return nil
        }
        return decode(key, decoder)
    }

    func object(_ key: String, keys: [String]) -> ObjectReader? {
        guard let node = node(key) else { return nil }
        return ObjectReader(node, path: childPath(key), keys: keys, context: context)
    }

    /// The entries of a mapping whose keys are user-chosen names (services, env, labels), in file order.
    func namedEntries(_ key: String) -> [SourceNode.Entry]? {
        guard let node = node(key) else { return nil }
        guard case .mapping(let list, _) = node else {
            context.typeMismatch("a mapping", found: node, path: childPath(key))
            return nil
        }
        for entry in list {
            context.sourceMap.record(
                "\(childPath(key)).\(entry.key)", value: entry.value.location, key: entry.keyLocation)
        }
        return list.filter { !$0.value.isNull }
    }

    /// A list of scalars.
    func list<T>(_ key: String, _ element: ScalarDecoder<T>) -> [T]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let items, _) = node else {
            context.typeMismatch("a list", found: node, path: childPath(key))
            return nil
        }
        var values: [T] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(childPath(key))[\(index)]"
            context.sourceMap.record(itemPath, value: item.location, key: nil)
            if let value = element.decode(item, path: itemPath, context: context) { values.append(value) }
        }
        return values
    }

    /// A mapping of user-chosen names to scalars, in file order.
    func stringMap(_ key: String) -> [(key: String, value: String)]? {
        namedEntries(key)?.compactMap { entry in
            ScalarDecoder.string.decode(entry.value, path: "\(childPath(key)).\(entry.key)", context: context)
                .map { (entry.key, $0) }
        }
    }
}

/// Decodes one scalar: reports a type or format error and returns `nil` when it cannot.
struct ScalarDecoder<T>: Sendable {
    let decodeText: @Sendable (String, SourceNode.Scalar, String, DecodingContext) -> T?

    func decode(_ node: SourceNode, path: String, context: DecodingContext) -> T? {
        guard case .scalar(let scalar) = node else {
            context.typeMismatch("a single value", found: node, path: path)
            return nil
        }
        return decodeText(scalar.text, scalar, path, context)
    }
}

extension ScalarDecoder {
    private static func typed(_ expected: String, _ convert: @escaping @Sendable (String) -> T?) -> ScalarDecoder<T> {
        ScalarDecoder { text, scalar, path, context in
            if let value = convert(text) { return value }
            context.typeMismatch(expected, found: .scalar(scalar), path: path)
            return nil
        }
    }

    /// A value that must match a format; `help` says what the format is.
    static func formatted(
        _ what: String, rule: String = "TFC0007", help: String,
        _ convert: @escaping @Sendable (String) -> T?
    ) -> ScalarDecoder<T> {
        ScalarDecoder { text, scalar, path, context in
            if let value = convert(text) { return value }
            context.error(rule, "invalid \(what) '\(text)'", at: scalar.location, path: path, help: help)
            return nil
        }
    }
}

extension ScalarDecoder where T == String {
    static let string = ScalarDecoder { text, _, _, _ in text }
}

extension ScalarDecoder where T == Int {
    static let int = typed("an integer") { Int($0) }
}

extension ScalarDecoder where T == Double {
    static let number = typed("a number") { text in Double(text).flatMap { $0.isFinite ? $0 : nil } }
}

extension ScalarDecoder where T == Bool {
    static let bool = typed("true or false") { text in
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }
}

extension ScalarDecoder where T: RawRepresentable & CaseIterable & SendableMetatype, T.RawValue == String {
    /// One of an enumeration's raw values; suggests the nearest on a typo.
    /// Version-like choices (`7.2`) set `suggest: false`: the nearest spelling is not the intended version.
    static func choice(_ what: String, rule: String = "TFC0007", suggest: Bool = true) -> ScalarDecoder<T> {
        ScalarDecoder { text, scalar, path, context in
            if let value = T(rawValue: text) { return value }
            let options = T.allCases.map(\.rawValue)
            let suggestion =
                (suggest ? nearestMatch(to: text, in: options) : nil).map { "did you mean '\($0)'? " } ?? ""
            context.error(
                rule, "unsupported \(what) '\(text)'", at: scalar.location, path: path,
                help: "\(suggestion)valid values: \(options.joined(separator: ", "))")
            return nil
        }
    }
}
