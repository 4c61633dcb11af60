extension RuleCatalog {
    static let cloudRunRules: [Rule] = [
        Rule(
            "TFC0301", family: "cloud-run", title: "request timeout out of range",
            explanation: "Cloud Run request timeouts are 1 to 3600 seconds.",
            source: "https://cloud.google.com/run/docs/configuring/request-timeout"),
        Rule(
            "TFC0302", family: "cloud-run", title: "concurrency out of range",
            explanation: "Cloud Run takes 1 to 1000 concurrent requests per instance.",
            source: "https://cloud.google.com/run/docs/about-concurrency"),
        Rule(
            "TFC0303", family: "cloud-run", title: "instance limits",
            explanation: "`min_instances` must be 0 or more and not above `max_instances`, which is at least 1.",
            source: "https://cloud.google.com/run/docs/configuring/max-instances"),
        Rule(
            "TFC0304", family: "cloud-run", title: "CPU value not offered",
            explanation: "Cloud Run CPU limits are fractions from 0.08 to 1, or 1, 2, 4, 6 or 8 vCPUs.",
            source: "https://cloud.google.com/run/docs/configuring/services/cpu"),
        Rule(
            "TFC0305", family: "cloud-run", title: "CPU and memory combination not offered",
            explanation: """
                Memory is 512Mi to 32Gi (128Mi on gen1). More than 4Gi needs 2 CPUs, more than 8Gi 4, more than \
                16Gi 6 and more than 24Gi 8; 4 CPUs need at least 2Gi and 6 or 8 CPUs at least 4Gi.
                """,
            source: "https://cloud.google.com/run/docs/configuring/services/memory-limits"),
        Rule(
            "TFC0306", family: "cloud-run", title: "invalid service name",
            explanation: """
                Service names use lowercase letters, digits and hyphens, begin with a letter, do not end with a \
                hyphen and are at most 49 characters (Cloud Run appends a revision suffix to reach 63).
                """),
        Rule(
            "TFC0307", family: "cloud-run", title: "fractional CPU needs concurrency 1",
            explanation: "With less than 1 CPU, Cloud Run requires concurrency 1: useless for WebSockets.",
            source: "https://cloud.google.com/run/docs/configuring/services/cpu"),
        Rule(
            "TFC0308", family: "cloud-run", title: "invalid environment variable",
            explanation: """
                Variable names are C identifiers; `PORT`, `K_SERVICE`, `K_REVISION` and `K_CONFIGURATION` are set \
                by Cloud Run; `TFCTL_*`, `REDIS_*`, `FIREBASE_DATABASE_URL` and `FIREBASE_WEB_API_KEY` by \
                tfctl; a name is either a plain variable or a secret, not both.
                """,
            source: "https://cloud.google.com/run/docs/configuring/services/environment-variables"),
        Rule(
            "TFC0309", family: "cloud-run", title: "invalid secret reference",
            explanation: """
                Secret ids are 1 to 255 letters, digits, `_` and `-`; versions are `latest` or a positive number.
                """),
        Rule(
            "TFC0310", family: "cloud-run", title: "ingress through a load balancer that does not exist",
            explanation: """
                `ingress: internal-and-cloud-load-balancing` makes the service reachable only through a load \
                balancer, but the topology has none: add `load_balancer` or set `ingress: all`.
                """),
        Rule(
            "TFC0311", family: "cloud-run", title: "invalid probe",
            explanation: """
                Probe paths start with `/`; `timeout_seconds` is below `period_seconds`; startup probe periods are \
                at most 240 s and liveness periods at most 3600 s; failure thresholds are at least 1; a startup \
                probe's `period_seconds × failure_threshold` is at most 240 s (Cloud Run stops the container once \
                it has failed for that long).
                """),
        Rule(
            "TFC0316", family: "cloud-run", title: "startup probe shorter than Direct VPC egress needs",
            explanation: """
                With Memorystore the server is ready only once Redis answers (tfctl sets \
                `REDIS_REQUIRED_FOR_READY=true`, so an instance that cannot reach Redis takes no sockets), and \
                Direct VPC egress "can take a minute or more" to connect after an instance starts. A startup \
                probe that fails before then has Cloud Run stop the instance, again and again: the revision never \
                becomes ready. `initial_delay_seconds + period_seconds × failure_threshold` must be at least 120 s \
                (and `period_seconds × failure_threshold` at most 240 s, TFC0311).
                """,
            source: "https://cloud.google.com/run/docs/configuring/vpc-direct-vpc"),
        Rule(
            "TFC0318", family: "cloud-run", severity: .warning, title: "token signing secret in a service",
            explanation: """
                With HS256 the key that verifies a token also signs one: a realtime service holding \
                `JWT_HS256_SECRET` can mint tokens for any user if it is compromised. With RS256 it holds only the \
                issuer's public key (`JWT_RS256_PUBLIC_KEY`), which verifies and cannot sign. HS256 remains for \
                setups where the issuer can only share a secret; the shipped environments use RS256.
                """,
            source: "https://www.rfc-editor.org/rfc/rfc7518#section-3"),
        Rule(
            "TFC0317", family: "cloud-run", title: "invalid CORS origin",
            explanation: """
                `cors_origins` lists the origins whose pages may poll the service cross-origin, as a browser sends \
                them in `Origin`: `https://app.example.com` or `http://localhost:3000`, without a path or a \
                trailing slash (a browser never sends one, so such an entry would match nothing); `*` alone allows \
                any. The default is `https://` and each load-balancer domain.
                """,
            source: "https://fetch.spec.whatwg.org/#origin-header"),
        Rule(
            "TFC0312", family: "cloud-run", title: "invalid port",
            explanation: "The container port is 1 to 65535."),
        Rule(
            "TFC0314", family: "cloud-run", severity: .warning, title: "max_instances beyond the default quota",
            explanation: """
                A service's maximum instances are bounded by the regional CPU and memory quota divided by its CPU and \
                memory. The baseline is 1000 vCPU and 2000 GiB per region; beyond it, scale-out stops short of \
                `max_instances` until a quota increase is granted.
                """,
            source: "https://cloud.google.com/run/docs/configuring/max-instances-limits"),
        Rule(
            "TFC0313", family: "cloud-run", title: "invalid image",
            explanation: "`image` is `bundled` or an image reference without whitespace."),
        Rule(
            "TFC0315", family: "cloud-run", title: "a setting the bundled server refuses",
            explanation: """
                The bundled server checks its settings at start and exits with status 2 on a bad one, naming it. \
                On Cloud Run such a revision never passes its startup probe, and the deployment fails after \
                the probe's whole budget. `LOG_LEVEL` in `env` is one of `trace`, `debug`, `info`, `notice`, \
                `warning`, `error`, `critical`, in lower case, as swift-log spells them.
                """),
    ]

    static let webSocketRules: [Rule] = [
        Rule(
            "TFC0350", family: "websocket", severity: .warning, title: "WebSockets closed before an hour",
            explanation: """
                Cloud Run treats a WebSocket as a long-running request and closes it when the request timeout \
                elapses; every client then reconnects at once. 3600 s keeps connections as long as Cloud Run allows.
                """,
            source: "https://cloud.google.com/run/docs/triggering/websockets"),
        Rule(
            "TFC0351", family: "websocket", severity: .warning, title: "session affinity off",
            explanation: """
                Without session affinity, Socket.IO's HTTP long-polling requests and reconnects land on random \
                instances, which do not know the session.
                """,
            source: "https://cloud.google.com/run/docs/configuring/session-affinity"),
        Rule(
            "TFC0352", family: "websocket", severity: .warning, title: "CPU throttled outside requests",
            explanation: """
                With CPU only allocated during requests, heartbeats, Redis subscriptions and broadcasts to idle \
                sockets stall. Set `cpu_always_allocated: true`.
                """,
            source: "https://cloud.google.com/run/docs/configuring/billing-settings"),
        Rule(
            "TFC0353", family: "websocket", severity: .warning, title: "scale-out without a pub/sub adapter",
            explanation: """
                More than one instance (or region) without `memorystore`: a broadcast reaches only the clients \
                connected to the instance that sent it.
                """),
    ]
}
