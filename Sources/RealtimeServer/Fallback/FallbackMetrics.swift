import Metrics
import Prometheus

/// What the mirror to the Realtime Database did: paths written by kind, batches by outcome, writes it dropped by
/// reason, its queue, and its circuit (0 closed, 1 half-open, 2 open) with how often it opened.
struct FallbackMetrics: Sendable {
    let eventsWritten: Metrics.Counter
    let presenceWritten: Metrics.Counter
    let pruned: Metrics.Counter
    let batchesWritten: Metrics.Counter
    let batchesFailed: Metrics.Counter
    let droppedQueueFull: Metrics.Counter
    let droppedNotObject: Metrics.Counter
    let droppedTooLarge: Metrics.Counter
    let droppedRejected: Metrics.Counter
    let queueDepth: Metrics.Gauge
    let circuitState: Metrics.Gauge
    let circuitOpened: Metrics.Counter

    init(factory: PrometheusMetricsFactory) {
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Metrics.Counter {
            Metrics.Counter(label: label, dimensions: dimensions, factory: factory)
        }
        eventsWritten = counter("realtime_fallback_writes_total", [("kind", "event")])
        presenceWritten = counter("realtime_fallback_writes_total", [("kind", "presence")])
        pruned = counter("realtime_fallback_writes_total", [("kind", "prune")])
        batchesWritten = counter("realtime_fallback_batches_total", [("outcome", "written")])
        batchesFailed = counter("realtime_fallback_batches_total", [("outcome", "failed")])
        droppedQueueFull = counter("realtime_fallback_dropped_total", [("reason", "queue_full")])
        droppedNotObject = counter("realtime_fallback_dropped_total", [("reason", "payload_not_object")])
        droppedTooLarge = counter("realtime_fallback_dropped_total", [("reason", "too_large")])
        droppedRejected = counter("realtime_fallback_dropped_total", [("reason", "rejected")])
        queueDepth = Metrics.Gauge(label: "realtime_fallback_queue_depth", factory: factory)
        circuitState = Metrics.Gauge(label: "realtime_fallback_circuit_state", factory: factory)
        circuitOpened = counter("realtime_fallback_circuit_opened_total")
    }
}
