import Foundation
import JSON

/// Formats diagnostics for people (compiler style, with the source line and a caret) or machines (JSON).
public struct DiagnosticFormatter: Sendable {
    /// The text of every file diagnostics may point into, keyed by display path.
    public var sources: [String: String]

    public init(sources: [String: String]) {
        self.sources = sources
    }

    /// `file:line:col: error[TFC0302]: message`, the source line, a caret under the value, then notes and help.
    public func text(_ diagnostics: [Diagnostic]) -> String {
        var out = ""
        for diagnostic in diagnostics {
            let place = diagnostic.location.map { "\($0)" } ?? "<topology>"
            out += "\(place): \(diagnostic.severity.rawValue)[\(diagnostic.rule)]: \(diagnostic.message)\n"
            if let location = diagnostic.location, let line = sourceLine(location) {
                out += "    \(line)\n"
                let lead = line.unicodeScalars.prefix(location.column - 1).map { $0 == "\t" ? "\t" : " " }.joined()
                let width = min(location.length, max(1, line.unicodeScalars.count - location.column + 1))
                out += "    \(lead)^\(String(repeating: "~", count: width - 1))\n"
            } else if diagnostic.location == nil {
                out += "  at: \(diagnostic.path)\n"
            }
            for note in diagnostic.notes { out += "  note: \(note)\n" }
            if let help = diagnostic.help { out += "  help: \(help)\n" }
        }
        out += summary(diagnostics)
        return out
    }

    public func summary(_ diagnostics: [Diagnostic]) -> String {
        let errors = diagnostics.errorCount
        let warnings = diagnostics.warningCount
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        return "\(plural(errors, "error")), \(plural(warnings, "warning"))\n"
    }

    private func sourceLine(_ location: SourceLocation) -> String? {
        guard let text = sources[location.file] else { return nil }
        var lineNumber = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if lineNumber == location.line { return String(line.trimmingSuffix("\r")) }
            lineNumber += 1
        }
        return nil
    }

    /// The versioned JSON document of `--format json` (schema `tfctl.diagnostics/v1`, documented in README):
    /// a JSON tree with each object's keys sorted where it is built, printed once. `file`, `line`, `column` and
    /// `help` are absent when there are none.
    public func json(_ diagnostics: [Diagnostic]) -> String {
        let entries = diagnostics.map { diagnostic -> JSONValue in
            var members: [String: JSONValue] = [
                "severity": .string(diagnostic.severity.rawValue), "rule": .string(diagnostic.rule.rawValue),
                "message": .string(diagnostic.message), "path": .string(diagnostic.path),
                "notes": .array(diagnostic.notes.map(JSONValue.string)),
            ]
            if let location = diagnostic.location {
                members["file"] = .string(location.file)
                members["line"] = .number(Double(location.line))
                members["column"] = .number(Double(location.column))
            }
            if let help = diagnostic.help { members["help"] = .string(help) }
            return .sortedObject(members)
        }
        return JSONValue.sortedObject([
            "schema": "tfctl.diagnostics/v1", "diagnostics": .array(entries),
            "errors": .number(Double(diagnostics.errorCount)), "warnings": .number(Double(diagnostics.warningCount)),
        ]).pretty()
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring {
        last == suffix ? dropLast() : self
    }
}

/// The nearest candidate to `word` by edit distance, if near enough to be a plausible typo.
public func nearestMatch(to word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { ($0.1, $0.0) < ($1.1, $1.0) }) else { return nil }
    let limit = max(2, word.count / 3)
    return best.1 <= limit ? best.0 : nil
}

/// Levenshtein distance over Unicode scalars.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
