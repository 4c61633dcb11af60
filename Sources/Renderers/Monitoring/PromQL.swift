import TopologyModel

/// A PromQL expression as a tree, printed by one printer: the queries of the dashboard and of the alert policies on
/// the server's own metrics, which Cloud Monitoring evaluates over what the Managed Service for Prometheus sidecar
/// sent. The tree also answers which metrics a query reads, which a test compares with what the server exports.
public indirect enum PromQL: Sendable, Hashable {
    /// `metric{label="value",...}`, with `[window]` when `window` is set (a range vector).
    case selector(String, [Matcher], window: Int?)
    /// `name(arguments)`: `rate`, `histogram_quantile`, `min_over_time`, `clamp_min`...
    case call(String, [PromQL])
    /// `sum by (labels) (expression)`.
    case aggregate(String, by: [String], PromQL)
    /// `left op right`, parenthesised.
    case binary(PromQL, String, PromQL)
    case number(Double)

    public struct Matcher: Sendable, Hashable {
        public var label: String
        public var op: String
        public var value: String

        public init(_ label: String, _ op: String = "=", _ value: String) {
            self.label = label
            self.op = op
            self.value = value
        }
    }

    /// `metric{matchers}`, an instant vector.
    public static func metric(_ name: String, _ matchers: [Matcher] = []) -> PromQL {
        .selector(name, matchers, window: nil)
    }

    /// `rate(metric{matchers}[window])`.
    public static func rate(_ name: String, _ matchers: [Matcher] = [], window: Int = 300) -> PromQL {
        .call("rate", [.selector(name, matchers, window: window)])
    }

    public static func sum(by labels: [String] = [], _ expression: PromQL) -> PromQL {
        .aggregate("sum", by: labels, expression)
    }

    public static func max(by labels: [String] = [], _ expression: PromQL) -> PromQL {
        .aggregate("max", by: labels, expression)
    }

    /// The `quantile` of a histogram's buckets over 5 minutes, by `labels`.
    public static func quantile(_ quantile: Double, _ histogram: String, _ matchers: [Matcher], by labels: [String])
        -> PromQL
    {
        .call(
            "histogram_quantile",
            [.number(quantile), .sum(by: ["le"] + labels, .rate(histogram + "_bucket", matchers))])
    }

    /// The metric names the expression reads (a histogram's by its `_bucket` series).
    public var metrics: Set<String> {
        switch self {
        case .selector(let name, _, _): [name]
        case .call(_, let arguments): arguments.reduce(into: []) { $0.formUnion($1.metrics) }
        case .aggregate(_, _, let expression): expression.metrics
        case .binary(let left, _, let right): left.metrics.union(right.metrics)
        case .number: []
        }
    }

    /// The label names the expression filters or groups on, with the metric each belongs to.
    public var labels: [(metric: String?, label: String)] {
        switch self {
        case .selector(let name, let matchers, _): matchers.map { (name, $0.label) }
        case .call(_, let arguments): arguments.flatMap(\.labels)
        case .aggregate(_, let by, let expression):
            expression.labels
                + by.map { label in (expression.metrics.count == 1 ? expression.metrics.first : nil, label) }
        case .binary(let left, _, let right): left.labels + right.labels
        case .number: []
        }
    }

    /// The query's text.
    public var text: String {
        switch self {
        case .selector(let name, let matchers, let window):
            let filter =
                matchers.isEmpty
                ? "" : "{" + matchers.map { "\($0.label)\($0.op)\(Self.quoted($0.value))" }.joined(separator: ",") + "}"
            return name + filter + (window.map { "[\(Self.duration($0))]" } ?? "")
        case .call(let name, let arguments):
            return name + "(" + arguments.map(\.text).joined(separator: ", ") + ")"
        case .aggregate(let name, let by, let expression):
            return name + (by.isEmpty ? "" : " by (" + by.joined(separator: ", ") + ")") + " (" + expression.text + ")"
        case .binary(let left, let op, let right):
            return "(" + left.text + ") " + op + " " + right.operandText
        case .number(let value):
            return Self.numberText(value)
        }
    }

    private var operandText: String {
        if case .number = self { return text }
        return "(" + text + ")"
    }

    static func numberText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// PromQL durations: whole minutes as `5m`, else seconds.
    static func duration(_ seconds: Int) -> String {
        seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds)s"
    }

    /// A PromQL string literal: double quotes, with backslash and quote escaped.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

extension ServerMetricsExport {
    /// The sidecar's configuration: a `RunMonitoring` (apiVersion `monitoring.googleapis.com/v1beta`) scraping the
    /// server's metrics port; the sidecar refuses unknown keys.
    var document: YAMLValue {
        .map(
            ("apiVersion", .string("monitoring.googleapis.com/v1beta")),
            ("kind", .string("RunMonitoring")),
            ("metadata", .map(("name", .string(Self.jobName)))),
            (
                "spec",
                .map(
                    (
                        "endpoints",
                        .sequence([
                            .map(
                                ("port", .string(String(port))), ("path", .string("/metrics")),
                                ("interval", .string("\(intervalSeconds)s")))
                        ])
                    ))
            )
        )
    }
}
