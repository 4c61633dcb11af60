import Foundation
import Histogram
import JSON

/// What a load test measured, as text for a terminal and as one JSON document (`--format json`).
public struct LoadTestReport: Sendable {
    public static let format = "tfctl.loadtest/v1"

    public let connections: Int
    public let subscribed: Int
    public let rooms: Int
    public let rate: Int
    public let transport: String
    public let setupSeconds: Double
    public let publishSeconds: Double
    /// Connection time percentiles, milliseconds: TCP connect to the namespace's CONNECT answer.
    public let connectMilliseconds: [String: Double]
    public let publishes: Int
    public let deliveries: Int
    /// What the accepted publishes should have reached, every client being subscribed.
    public let expected: Int
    /// Delivery latency percentiles, milliseconds, from the moment each publish was due.
    public let latencyMilliseconds: [String: Double]
    public let errors: [String: Int]
    public let reconnects: Int
    public let recoveries: Int
    /// CPU seconds the load generator itself used while publishing, and per delivery (microseconds).
    public let cpuSeconds: Double

    init(
        options: LoadTestOptions, setupSeconds: Double, publishSeconds: Double, stats: LoadTestStats,
        deliveries: Int, expected: Int, publishes: Int, errors: [String: Int], cpuSeconds: Double
    ) {
        connections = options.connections
        subscribed = stats.subscribed
        rooms = options.rooms
        rate = options.rate
        transport = options.transport.rawValue
        self.setupSeconds = setupSeconds
        self.publishSeconds = publishSeconds
        func percentiles(_ histogram: Histogram<UInt64>) -> [String: Double] {
            guard histogram.totalCount > 0 else { return [:] }
            var values: [String: Double] = [:]
            for (name, percentile) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)] {
                values[name] = Double(histogram.valueAtPercentile(percentile)) / 1000
            }
            values["max"] = Double(histogram.max) / 1000
            return values
        }
        connectMilliseconds = percentiles(stats.connectTime)
        latencyMilliseconds = percentiles(stats.latency)
        self.publishes = publishes
        self.deliveries = deliveries
        self.expected = expected
        self.errors = errors
        reconnects = stats.reconnects
        recoveries = stats.recoveries
        self.cpuSeconds = cpuSeconds
    }

    public var deliveriesPerSecond: Double { Double(deliveries) / max(publishSeconds, 0.001) }
    public var cpuMicrosecondsPerDelivery: Double { deliveries == 0 ? 0 : cpuSeconds * 1e6 / Double(deliveries) }

    public var json: JSONValue {
        func numbers(_ values: [String: Double]) -> JSONValue {
            .sortedObject(values.mapValues { .number(($0 * 1000).rounded() / 1000) })
        }
        return .object([
            (key: "format", value: .string(Self.format)),
            (key: "transport", value: .string(transport)),
            (key: "connections", value: .number(Double(connections))),
            (key: "subscribed", value: .number(Double(subscribed))),
            (key: "rooms", value: .number(Double(rooms))),
            (key: "rate", value: .number(Double(rate))),
            (key: "setup_seconds", value: .number((setupSeconds * 1000).rounded() / 1000)),
            (key: "publish_seconds", value: .number((publishSeconds * 1000).rounded() / 1000)),
            (key: "connect_ms", value: numbers(connectMilliseconds)),
            (key: "publishes", value: .number(Double(publishes))),
            (key: "deliveries", value: .number(Double(deliveries))),
            (key: "expected_deliveries", value: .number(Double(expected))),
            (key: "deliveries_per_second", value: .number(deliveriesPerSecond.rounded())),
            (key: "latency_ms", value: numbers(latencyMilliseconds)),
            (key: "errors", value: .sortedObject(errors.mapValues { .number(Double($0)) })),
            (key: "reconnects", value: .number(Double(reconnects))),
            (key: "recoveries", value: .number(Double(recoveries))),
            (key: "loadtest_cpu_seconds", value: .number((cpuSeconds * 1000).rounded() / 1000)),
            (key: "loadtest_cpu_us_per_delivery", value: .number((cpuMicrosecondsPerDelivery * 100).rounded() / 100)),
        ])
    }

    public var text: String {
        func milliseconds(_ values: [String: Double]) -> String {
            guard !values.isEmpty else { return "none" }
            return ["p50", "p90", "p99", "p99.9", "max"].compactMap { name in
                values[name].map { String(format: "%@ %.2f ms", name, $0) }
            }.joined(separator: ", ")
        }
        let ratio = expected == 0 ? 0 : 100 * Double(deliveries) / Double(expected)
        let errorText =
            errors.isEmpty
            ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
            Load test: \(connections) \(transport) connections in \(rooms) rooms, \(rate) publishes/s for \
            \(String(format: "%.1f", publishSeconds)) s
              connected:   \(subscribed)/\(connections) subscribed in \(String(format: "%.1f", setupSeconds)) s; \
            connect \(milliseconds(connectMilliseconds))
              delivered:   \(deliveries) of \(expected) expected (\(String(format: "%.2f", ratio)) %), \
            \(String(format: "%.0f", deliveriesPerSecond)) deliveries/s from \(publishes) publishes
              latency:     \(milliseconds(latencyMilliseconds))
              errors:      \(errorText); \(reconnects) reconnects, \(recoveries) recovered
              load tester: \(String(format: "%.2f", cpuSeconds)) CPU s, \
            \(String(format: "%.2f", cpuMicrosecondsPerDelivery)) µs per delivery

            """
    }
}
