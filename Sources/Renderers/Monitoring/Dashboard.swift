import JSON

/// A Cloud Monitoring dashboard (the API's `Dashboard`, https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards)
/// as a typed tree: a mosaic layout of 48 columns, tiles placed by `Dashboard.Layout`, charts whose data sets are
/// PromQL or a metric filter. `json` is what `google_monitoring_dashboard` and `gcloud monitoring dashboards`
/// take, through the one JSON printer.
public struct Dashboard: Sendable, Hashable {
    public static let columns = 48

    public var displayName: String
    public var tiles: [Tile]

    public struct Tile: Sendable, Hashable {
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
        public var widget: Widget
    }

    public enum Widget: Sendable, Hashable {
        /// A row's heading.
        case section(title: String, subtitle: String)
        case chart(Chart)
    }

    public struct Chart: Sendable, Hashable {
        public var title: String
        public var dataSets: [DataSet]
        /// The y axis's label: what the numbers count.
        public var unit: String

        public init(_ title: String, unit: String, _ dataSets: [DataSet]) {
            self.title = title
            self.unit = unit
            self.dataSets = dataSets
        }
    }

    public struct DataSet: Sendable, Hashable {
        public var query: Query
        /// `${labels.NAME}`-style legend; nil: Cloud Monitoring's default.
        public var legend: String?
        public var plot: Plot = .line

        public enum Plot: String, Sendable, Hashable {
            case line = "LINE"
            case stackedArea = "STACKED_AREA"
        }

        public init(_ query: Query, legend: String? = nil, plot: Plot = .line) {
            self.query = query
            self.legend = legend
            self.plot = plot
        }
    }

    public enum Query: Sendable, Hashable {
        /// PromQL over the server's metrics.
        case prometheus(PromQL)
        /// A Google metric through a filter and an aggregation (`TimeSeriesFilter`).
        case filter(MetricFilter)
    }

    public struct MetricFilter: Sendable, Hashable {
        public var metric: GoogleMetric
        /// Further conditions, ANDed: `resource.labels.service_name = "realtime"`.
        public var conditions: [String]
        public var aligner: String
        public var reducer: String
        public var groupBy: [String]

        public init(
            _ metric: GoogleMetric, _ conditions: [String] = [], aligner: String, reducer: String,
            groupBy: [String]
        ) {
            self.metric = metric
            self.conditions = conditions
            self.aligner = aligner
            self.reducer = reducer
            self.groupBy = groupBy
        }

        /// The Monitoring filter's text.
        public var filter: String {
            (["metric.type = \"\(metric.rawValue)\"", "resource.type = \"\(metric.resourceType)\""] + conditions)
                .joined(separator: " AND ")
        }
    }

    /// Places tiles row by row: a section heading across the grid, then charts two to a row.
    public struct Layout {
        public static let chartWidth = 24
        public static let chartHeight = 16
        public static let sectionHeight = 4

        var tiles: [Tile] = []
        var y = 0
        var column = 0

        public init() {}

        public mutating func section(_ title: String, _ subtitle: String) {
            newRow()
            tiles.append(
                Tile(
                    x: 0, y: y, width: Dashboard.columns, height: Self.sectionHeight,
                    widget: .section(title: title, subtitle: subtitle)))
            y += Self.sectionHeight
        }

        public mutating func chart(_ chart: Chart) {
            if column + Self.chartWidth > Dashboard.columns { newRow() }
            tiles.append(Tile(x: column, y: y, width: Self.chartWidth, height: Self.chartHeight, widget: .chart(chart)))
            column += Self.chartWidth
        }

        private mutating func newRow() {
            if column > 0 { y += Self.chartHeight }
            column = 0
        }

        public var placed: [Tile] { tiles }
    }

    public var json: JSONValue {
        .object([
            ("displayName", .string(displayName)),
            (
                "mosaicLayout",
                .object([("columns", .number(Double(Self.columns))), ("tiles", .array(tiles.map(\.json)))])
            ),
        ])
    }
}

extension Dashboard.Tile {
    var json: JSONValue {
        .object([
            ("xPos", .number(Double(x))), ("yPos", .number(Double(y))), ("width", .number(Double(width))),
            ("height", .number(Double(height))), ("widget", widget.json),
        ])
    }
}

extension Dashboard.Widget {
    var json: JSONValue {
        switch self {
        case .section(let title, let subtitle):
            return .object([
                ("title", .string(title)),
                ("sectionHeader", .object([("subtitle", .string(subtitle)), ("dividerBelow", .bool(true))])),
            ])
        case .chart(let chart):
            return .object([
                ("title", .string(chart.title)),
                (
                    "xyChart",
                    .object([
                        ("dataSets", .array(chart.dataSets.map(\.json))),
                        ("yAxis", .object([("label", .string(chart.unit)), ("scale", .string("LINEAR"))])),
                    ])
                ),
            ])
        }
    }
}

extension Dashboard.DataSet {
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        switch query {
        case .prometheus(let query):
            members.append(("timeSeriesQuery", .object([("prometheusQuery", .string(query.text))])))
        case .filter(let filter):
            let aggregation = JSONValue.object([
                ("alignmentPeriod", .string("60s")), ("perSeriesAligner", .string(filter.aligner)),
                ("crossSeriesReducer", .string(filter.reducer)),
                ("groupByFields", .array(filter.groupBy.map { .string($0) })),
            ])
            members.append(
                (
                    "timeSeriesQuery",
                    .object([
                        (
                            "timeSeriesFilter",
                            .object([("filter", .string(filter.filter)), ("aggregation", aggregation)])
                        )
                    ])
                ))
        }
        if let legend { members.append(("legendTemplate", .string(legend))) }
        members.append(("plotType", .string(plot.rawValue)))
        members.append(("targetAxis", .string("Y1")))
        return .object(members)
    }
}
