import Diagnostics
import Yams

/// A YAML value with the place it was written, independent of Yams so that overlays can merge trees from
/// several files while every value keeps the location of the file that set it.
indirect enum SourceNode: Sendable {
    case scalar(Scalar)
    case sequence([SourceNode], SourceLocation)
    case mapping([Entry], SourceLocation)

    struct Scalar: Sendable {
        var text: String
        var location: SourceLocation
        /// A plain `null`, `~` or empty value: removes the key in an overlay, counts as absent otherwise.
        var isNull: Bool
    }

    struct Entry: Sendable {
        var key: String
        var keyLocation: SourceLocation
        var value: SourceNode
    }

    var location: SourceLocation {
        switch self {
        case .scalar(let scalar): return scalar.location
        case .sequence(_, let location), .mapping(_, let location): return location
        }
    }

    var isNull: Bool {
        if case .scalar(let scalar) = self { return scalar.isNull }
        return false
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    var kindDescription: String {
        switch self {
        case .scalar(let scalar): return scalar.isNull ? "null" : "'\(scalar.text)'"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

extension SourceNode {
    /// Converts a composed Yams tree. Non-scalar keys are reported and skipped.
    static func from(_ node: Node, file: String, diagnostics: inout [Diagnostic], path: String = "") -> SourceNode {
        func location(_ mark: Mark?, length: Int = 1) -> SourceLocation {
            SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, length: length)
        }
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            let length = scalar.string.unicodeScalars.count + (quoted ? 2 : 0)
            let isNull = !quoted && node.null != nil
            return .scalar(Scalar(text: scalar.string, location: location(scalar.mark, length: length), isNull: isNull))
        case .sequence(let sequence):
            let items = sequence.enumerated().map { index, item in
                from(item, file: file, diagnostics: &diagnostics, path: "\(path)[\(index)]")
            }
            return .sequence(items, location(sequence.mark))
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    diagnostics.append(
                        Diagnostic(
                            .error, RuleID("TFC0002"), "mapping keys must be plain text",
                            at: location(key.mark), path: path))
                    continue
                }
                let keyLocation = location(keyScalar.mark, length: keyScalar.string.unicodeScalars.count)
                let childPath = path.isEmpty ? keyScalar.string : "\(path).\(keyScalar.string)"
                entries.append(
                    Entry(
                        key: keyScalar.string, keyLocation: keyLocation,
                        value: from(value, file: file, diagnostics: &diagnostics, path: childPath)))
            }
            return .mapping(entries, location(mapping.mark))
        case .alias(let alias):
            // Yams resolves aliases while composing; an unresolved one is reported rather than guessed at.
            diagnostics.append(
                Diagnostic(
                    .error, RuleID("TFC0001"), "unresolved YAML alias", at: location(alias.mark), path: path))
            return .scalar(Scalar(text: "", location: location(alias.mark), isNull: true))
        }
    }

    /// Applies `overlay` on top of `self`: mappings merge deeply, scalars and lists replace, `null` removes a key.
    func overlaid(with overlay: SourceNode) -> SourceNode {
        guard case .mapping(let baseEntries, _) = self, case .mapping(let topEntries, let topLocation) = overlay
        else { return overlay }
        var merged = baseEntries
        for top in topEntries {
            if let index = merged.firstIndex(where: { $0.key == top.key }) {
                if top.value.isNull {
                    merged.remove(at: index)
                } else {
                    merged[index] = Entry(
                        key: top.key, keyLocation: top.keyLocation, value: merged[index].value.overlaid(with: top.value)
                    )
                }
            } else if !top.value.isNull {
                merged.append(top)
            }
        }
        return .mapping(merged, topLocation)
    }
}
