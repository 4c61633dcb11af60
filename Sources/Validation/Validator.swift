import Diagnostics
import TopologyModel

/// Checks a topology against Google Cloud's real limits and the needs of WebSocket services.
///
/// Rules are pure functions of the model; the source map only places their diagnostics. Every problem is
/// collected, then sorted by file, line and column.
public struct Validator: Sendable {
    public init() {}

    public func validate(_ topology: Topology, sourceMap: SourceMap = SourceMap()) -> [Diagnostic] {
        var report = Report(sourceMap: sourceMap)
        ProjectRules.check(topology, &report)
        NetworkRules.check(topology, &report)
        CloudRunRules.check(topology, &report)
        WebSocketRules.check(topology, &report)
        MemorystoreRules.check(topology, &report)
        LoadBalancerRules.check(topology, &report)
        FirebaseRules.check(topology, &report)
        MonitoringRules.check(topology, &report)
        CapacityRules.check(topology, &report)
        return Diagnostic.sorted(report.diagnostics)
    }
}

/// Where rules put what they find: places each diagnostic at the value its model path came from.
struct Report {
    let sourceMap: SourceMap
    private(set) var diagnostics: [Diagnostic] = []

    init(sourceMap: SourceMap) { self.sourceMap = sourceMap }

    mutating func error(_ rule: String, _ path: String, _ message: String, notes: [String] = [], help: String? = nil) {
        add(.error, rule, path, message, notes: notes, help: help)
    }

    /// An error about a user-chosen key (a label, a variable name) rather than its value.
    mutating func keyError(_ rule: String, _ path: String, _ message: String, help: String? = nil) {
        diagnostics.append(
            Diagnostic(
                .error, RuleID(rule), message, at: sourceMap.keyLocation(of: path), path: path,
                help: help))
    }

    mutating func warning(_ rule: String, _ path: String, _ message: String, notes: [String] = [], help: String? = nil)
    {
        add(.warning, rule, path, message, notes: notes, help: help)
    }

    private mutating func add(
        _ severity: Severity, _ rule: String, _ path: String, _ message: String,
        notes: [String], help: String?
    ) {
        diagnostics.append(
            Diagnostic(
                severity, RuleID(rule), message, at: sourceMap.location(of: path), path: path,
                notes: notes, help: help))
    }
}

/// Products and sums of user-supplied numbers saturate instead of trapping: huge inputs are diagnostics.
func saturatingProduct(_ values: Int...) -> Int {
    values.reduce(1) { product, value in
        let (result, overflow) = product.multipliedReportingOverflow(by: value)
        return overflow ? ((product < 0) != (value < 0) ? Int.min : Int.max) : result
    }
}

func saturatingSum(_ values: [Int]) -> Int {
    values.reduce(0) { sum, value in
        let (result, overflow) = sum.addingReportingOverflow(value)
        return overflow ? (value < 0 ? Int.min : Int.max) : result
    }
}

/// `0.5`, and `1` rather than `1.0`, as a person would write it.
func formatted(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// Patterns shared by several naming rules.
enum Names {
    /// `[a-z]([-a-z0-9]*[a-z0-9])?`: Compute Engine resources, Cloud Run services, Memorystore ids.
    static func isRFC1035(_ name: String, maxLength: Int) -> Bool {
        guard let first = name.first, !name.isEmpty, name.count <= maxLength, first.isLowercaseASCIILetter,
            name.last != "-"
        else { return false }
        return name.allSatisfy { $0.isLowercaseASCIILetter || $0.isASCIIDigit || $0 == "-" }
    }
}

extension Character {
    var isLowercaseASCIILetter: Bool { ("a"..."z").contains(self) }
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isASCIILetter: Bool { isLowercaseASCIILetter || ("A"..."Z").contains(self) }
}
