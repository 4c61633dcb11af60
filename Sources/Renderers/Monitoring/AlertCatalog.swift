import TopologyModel

/// What each alert policy says to the on-call engineer: its title, and documentation that tells what it means and
/// the first thing to check. The policies carry this text (`documentation.content`), README's "Operating it"
/// section shows it, and `tfctl explain ALERT` prints it for an environment's thresholds.
public enum AlertCatalog {
    public static func title(_ kind: AlertKind, _ topology: Topology, service: String? = nil) -> String {
        let scope = service ?? topology.name
        switch kind {
        case .instancesNearMax: return "\(scope): instances near max_instances"
        case .serverErrors: return "\(scope): 5xx responses"
        case .loadBalancerErrors: return "\(scope): load balancer 5xx responses"
        case .redisMemory: return "\(scope): Redis memory usage"
        case .redisDisconnected: return "\(scope): instances without Redis"
        case .clusterDrops: return "\(scope): broadcasts lost between instances or regions"
        case .connectionsNearConcurrency: return "\(scope): connections near concurrency"
        case .slowConsumerDrops: return "\(scope): messages dropped for slow clients"
        case .connectRefusals: return "\(scope): connections refused"
        case .uptimeFailing: return "\(scope): /healthz failing through the load balancer"
        case .fallbackCircuitOpen: return "\(scope): fallback mirror circuit open"
        case .handshakeAvailabilityBurn: return "\(scope): handshake availability error budget burning fast"
        case .handshakeAvailabilitySlowBurn: return "\(scope): handshake availability error budget burning"
        case .deliveryLatencyBurn: return "\(scope): delivery latency error budget burning fast"
        case .deliveryLatencySlowBurn: return "\(scope): delivery latency error budget burning"
        }
    }

    /// The documentation of alert `kind` with the topology's thresholds (Markdown).
    public static func documentation(_ kind: AlertKind, _ topology: Topology) -> String {
        let alerts = topology.monitoring.alerts
        let slo = topology.monitoring.objectives
        let dashboard = "the dashboard \"\(topology.name): real-time topology\""
        switch kind {
        case .instancesNearMax:
            return """
                A service runs more than \(percent(alerts.instanceUtilization)) of its `max_instances` in a region: \
                the next connections will soon have no instance to go to, and Cloud Run answers 429. First check \
                whether the load is real (connections in \(dashboard)) or a reconnect storm (sessions ended, \
                handshakes); then raise `max_instances` in the environment file, within the region's quota.
                """
        case .serverErrors:
            return """
                More than \(alerts.serverErrorsPerMinute) 5xx responses a minute from Cloud Run in a region. First \
                check the service's logs for the failing path (`severity>=ERROR`), then whether instances are \
                starting and stopping (instances by state): a crash loop shows as both.
                """
        case .loadBalancerErrors:
            return """
                More than \(alerts.serverErrorsPerMinute) 5xx responses a minute from the load balancer, its own \
                included: no backend could answer (every region failing, or a region failing over). First check \
                which backend (the load balancer row of \(dashboard)), then that region's Cloud Run service.
                """
        case .redisMemory:
            return """
                A Memorystore instance uses more than \(percent(alerts.redisMemoryUtilization)) of its memory: \
                recovery streams and presence keys may be evicted, and clients reconnecting lose what they missed. \
                First check pub/sub channels and connected clients (the Redis row); then raise \
                `memorystore.memory_gb`.
                """
        case .redisDisconnected:
            return """
                An instance has had no Redis connection for \(alerts.redisDisconnectedMinutes) minutes \
                (`realtime_redis_connected` 0): its clients get nothing broadcast from other instances and cannot \
                recover, and it answers /readyz with 503. First check the Memorystore instance of that region (its \
                state, maintenance, `clients/connected`), then the service's Direct VPC egress and the Redis URL \
                and CA secrets it reads. An instance that never reached Redis is never ready and sends no metrics: \
                that shows as instances starting in a loop (instances near max_instances, 5xx), not here.
                """
        case .clusterDrops:
            return """
                More than \(alerts.clusterDropsPerMinute) broadcasts a minute lost between instances or regions \
                (`realtime_cluster_messages_dropped_total`, by reason): `redis_unavailable` is the region's Redis, \
                `relay_unavailable` another region's (its endpoint in the relay document, its TLS, the VPC between \
                them), `backlog` an instance receiving more than it can deliver. Clients of the affected rooms miss \
                events until they reconnect and recover.
                """
        case .connectionsNearConcurrency:
            return """
                An instance holds more than \(percent(alerts.connectionUtilization)) of the service's \
                `concurrency` in connections: near the limit, at which Cloud Run sends it nothing more, so \
                autoscaling is not keeping up. First check whether the load is spread (connections by region) and \
                instances against `max_instances`; raise `max_instances`, or `concurrency` if CPU and memory have \
                room.
                """
        case .slowConsumerDrops:
            return """
                More than \(alerts.slowConsumerDropsPerMinute) messages a minute dropped for clients that do not \
                read fast enough (`realtime_dropped_messages_total{reason="slow_consumer"}`): their queues \
                overflowed and the server closed them. Usually mobile networks or a room that fans out too much; \
                first check broadcast fan-out and events sent, then `OUTBOUND_QUEUE_LIMIT`.
                """
        case .connectRefusals:
            return """
                More than \(alerts.refusalsPerMinute) Socket.IO connections a minute refused \
                (`realtime_connects_total{outcome="refused"}`, by reason): `unauthorized` is usually an expired or \
                rotated signing key or a client with a wrong audience; `too_many_connections` a client reconnecting \
                in a loop. The log-based metric `connection_refusals` has the token's own reason.
                """
        case .uptimeFailing:
            return """
                /healthz through the load balancer fails from more than one checker region: users cannot reach the \
                service at all. First check the load balancer's 5xx and its certificate's status, then the Cloud Run \
                services behind it and Cloud Armor's recent denials.
                """
        case .fallbackCircuitOpen:
            return """
                An instance stopped writing to the Realtime Database fallback (`realtime_fallback_circuit_state` 2, \
                open): clients that cannot keep a WebSocket miss events while it stays open. First check the \
                mirror's failed batches and the server's logs for the database's answers (401/403: the runtime \
                account's access; 429: the database's write limit), then the database's usage in the Firebase \
                console.
                """
        case .handshakeAvailabilityBurn, .handshakeAvailabilitySlowBurn:
            return """
                The share of Engine.IO handshakes accepted (SLO \(percent(slo.handshakeAvailability)) over \
                \(slo.windowDays) days) is spending its error budget \(burn(kind)). Refused handshakes are \
                instances draining: a rollout that does not end, or instances stopped in a loop. First check \
                instances by state and the latest revision's rollout.
                """
        case .deliveryLatencyBurn, .deliveryLatencySlowBurn:
            return """
                Broadcasts are delivered later than \(slo.deliveryLatencyMilliseconds) ms after entering Redis more \
                often than the SLO (\(percent(slo.deliveryLatency)) over \(slo.windowDays) days) allows, spending \
                its error budget \(burn(kind)). First check the instances' CPU (a saturated instance delivers \
                late), then Redis CPU and the cluster's backlog drops.
                """
        }
    }

    /// How fast a burn-rate alert's budget goes (the SRE workbook's multiwindow thresholds).
    static func burn(_ kind: AlertKind) -> String {
        switch kind {
        case .handshakeAvailabilityBurn, .deliveryLatencyBurn:
            "fast: 14.4 times the sustainable rate over the last hour and the last 5 minutes (about 2% of the "
                + "budget in an hour)"
        default:
            "steadily: 6 times the sustainable rate over the last 6 hours and the last 30 minutes (about 5% of "
                + "the budget in 6 hours)"
        }
    }

    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }
}
