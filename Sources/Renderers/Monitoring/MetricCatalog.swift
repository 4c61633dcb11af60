/// The Cloud Monitoring metric types tfctl's dashboard, alerts and SLOs read, each with where it is documented: the
/// one list a query may take a Google metric from (a test holds every query to it).
public enum GoogleMetric: String, Sendable, CaseIterable {
    // Cloud Run, resource `cloud_run_revision` (https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run).
    /// Requests by `response_code_class`; a WebSocket is one request for its whole life.
    case runRequestCount = "run.googleapis.com/request_count"
    /// Instances by `state` (active, idle).
    case runInstanceCount = "run.googleapis.com/container/instance_count"
    /// Distributions of each instance's CPU and memory utilisation.
    case runCPUUtilizations = "run.googleapis.com/container/cpu/utilizations"
    case runMemoryUtilizations = "run.googleapis.com/container/memory/utilizations"

    // The external Application Load Balancer, resource `https_lb_rule`
    // (https://cloud.google.com/monitoring/api/metrics_gcp_i_o#gcp-loadbalancing).
    /// Requests by `response_code_class` (200, 500...) and backend (`backend_target_name`).
    case loadBalancerRequestCount = "loadbalancing.googleapis.com/https/request_count"

    // Memorystore for Redis, resource `redis_instance` (https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-redis).
    case redisMemoryUsageRatio = "redis.googleapis.com/stats/memory/usage_ratio"
    case redisConnectedClients = "redis.googleapis.com/clients/connected"
    case redisPubSubChannels = "redis.googleapis.com/stats/pubsub/channels"
    case redisCPUUtilization = "redis.googleapis.com/stats/cpu_utilization"

    // Uptime checks, resource `uptime_url` (https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-monitoring).
    /// One point per checker region and period: whether the check passed.
    case uptimeCheckPassed = "monitoring.googleapis.com/uptime_check/check_passed"

    /// The monitored resource type the metric is written against.
    public var resourceType: String {
        switch self {
        case .runRequestCount, .runInstanceCount, .runCPUUtilizations, .runMemoryUtilizations: "cloud_run_revision"
        case .loadBalancerRequestCount: "https_lb_rule"
        case .redisMemoryUsageRatio, .redisConnectedClients, .redisPubSubChannels, .redisCPUUtilization:
            "redis_instance"
        case .uptimeCheckPassed: "uptime_url"
        }
    }
}

/// How a Prometheus metric the sidecar sends is named in Cloud Monitoring outside PromQL (an SLO's filter):
/// `prometheus.googleapis.com/NAME/KIND` on the resource `prometheus_target`
/// (https://cloud.google.com/stackdriver/docs/managed-prometheus/troubleshooting#metric-names).
public enum PrometheusMetricType {
    public static func counter(_ name: String) -> String { "prometheus.googleapis.com/\(name)/counter" }
    public static func histogram(_ name: String) -> String { "prometheus.googleapis.com/\(name)/histogram" }
}
