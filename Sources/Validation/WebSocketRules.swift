import Diagnostics
import TopologyModel

/// TFC035x: settings Cloud Run accepts but that break WebSocket and Socket.IO services.
enum WebSocketRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        for service in topology.sortedServices {
            let path = "services.\(service.name)"
            if service.timeoutSeconds < GCPFacts.maxTimeoutSeconds, service.timeoutSeconds >= 1 {
                report.warning(
                    "TFC0350", "\(path).timeout",
                    "WebSockets are closed after \(service.timeoutSeconds)s, below Cloud Run's 3600s maximum",
                    notes: ["every client reconnects when its connection reaches the timeout"],
                    help: "set `timeout: 3600s`")
            }
            if !service.sessionAffinity {
                report.warning(
                    "TFC0351", "\(path).session_affinity", "session affinity is off on a WebSocket service",
                    notes: [
                        "Socket.IO polling requests and reconnects may reach an instance that does not "
                            + "know the session"
                    ],
                    help: "set `session_affinity: true`")
            }
            if !service.cpuAlwaysAllocated {
                report.warning(
                    "TFC0352", "\(path).cpu_always_allocated",
                    "CPU is throttled outside requests: heartbeats and broadcasts to idle sockets stall",
                    help: "set `cpu_always_allocated: true`")
            }
            if topology.memorystore == nil, service.maxInstances > 1 || topology.regions.count > 1 {
                report.warning(
                    "TFC0353", "\(path).max_instances",
                    "'\(service.name)' scales out without `memorystore`: broadcasts reach only one instance",
                    help: "add `memorystore`, or set `max_instances: 1` in a single region")
            }
        }
    }
}
