/// A stable rule identifier such as `TFC0302`. Ids are never reused for a different rule.
public struct RuleID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static func < (lhs: RuleID, rhs: RuleID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What `tfctl explain` knows about a rule: why it exists and how to fix a violation.
public struct Rule: Sendable {
    public let id: RuleID
    public let family: String
    /// The severity its diagnostics carry: warnings never fail a run unless `--strict`.
    public let severity: Severity
    public let title: String
    public let explanation: String
    /// Where the limit is documented.
    public let source: String?

    public init(
        _ id: String, family: String, severity: Severity = .error, title: String, explanation: String,
        source: String? = nil
    ) {
        self.id = RuleID(id)
        self.family = family
        self.severity = severity
        self.title = title
        self.explanation = explanation
        self.source = source
    }
}

/// Every rule tfctl checks, in id order. The registry behind `tfctl explain` and the README's rule list.
public enum RuleCatalog {
    public static let all: [Rule] =
        (schemaRules + projectRules + networkRules + cloudRunRules + webSocketRules
        + memorystoreRules + loadBalancerRules + firebaseRules + monitoringRules + capacityRules)
        .sorted { $0.id < $1.id }

    public static func rule(_ id: String) -> Rule? {
        all.first { $0.id.rawValue.caseInsensitiveCompare(id) == .orderedSame }
    }
}
