/// A position in an environment file. Lines and columns start at 1; columns count Unicode scalars.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file as shown to the user: relative to the working directory, never absolute.
    public var file: String
    public var line: Int
    public var column: Int
    /// Length of the marked text in columns, for the `^~~~` underline; 1 when unknown.
    public var length: Int

    public init(file: String, line: Int, column: Int, length: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
        self.length = max(1, length)
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

public enum Severity: String, Sendable, Hashable, Codable, Comparable {
    case error
    case warning

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        lhs == .error && rhs == .warning
    }
}

/// One problem found in an environment, like a compiler diagnostic: where, which rule, what, and how to fix it.
public struct Diagnostic: Sendable, Hashable {
    public var severity: Severity
    public var rule: RuleID
    public var message: String
    /// Where the offending value was set; `nil` for topologies built in code.
    public var location: SourceLocation?
    /// The model path of the value, e.g. `services.realtime.concurrency`.
    public var path: String
    public var notes: [String]
    public var help: String?

    public init(
        _ severity: Severity,
        _ rule: RuleID,
        _ message: String,
        at location: SourceLocation?,
        path: String,
        notes: [String] = [],
        help: String? = nil
    ) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.location = location
        self.path = path
        self.notes = notes
        self.help = help
    }

    /// Sorts by file, line and column (unlocated last, by path), then rule and message, so output is stable.
    public static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.sorted { a, b in
            switch (a.location, b.location) {
            case let (l?, r?) where l != r: return l < r
            case (.some, .none): return true
            case (.none, .some): return false
            default:
                return (a.path, a.rule.rawValue, a.message) < (b.path, b.rule.rawValue, b.message)
            }
        }
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errorCount: Int { filter { $0.severity == .error }.count }
    public var warningCount: Int { filter { $0.severity == .warning }.count }
}
