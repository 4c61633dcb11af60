extension RuleCatalog {
    static let networkRules: [Rule] = [
        Rule(
            "TFC0201", family: "network", title: "invalid CIDR",
            explanation: "Ranges are IPv4 CIDR blocks `a.b.c.d/n` with no host bits set (`10.20.0.0/16`)."),
        Rule(
            "TFC0202", family: "network", severity: .warning, title: "range outside private address space",
            explanation: "VPC ranges should lie in RFC 1918 space (10/8, 172.16/12, 192.168/16)."),
        Rule(
            "TFC0203", family: "network", title: "subnets do not fit",
            explanation: """
                Each region gets a `/subnet_prefix` block of `network.cidr`, and the private service access range \
                takes the last block. Widen the CIDR, lengthen `subnet_prefix` or give subnets explicitly.
                """),
        Rule(
            "TFC0204", family: "network", title: "overlapping ranges",
            explanation: "Subnets and the private service access range must not overlap."),
        Rule(
            "TFC0205", family: "network", title: "subnet for a region not in the topology",
            explanation: "`network.subnets` names a region that is not listed in `regions`."),
        Rule(
            "TFC0206", family: "network", title: "private service access range too small",
            explanation: """
                Memorystore with private service access allocates from this range; Google requires at least a /24.
                """,
            source: "https://cloud.google.com/memorystore/docs/redis/networking#private_services_access"),
        Rule(
            "TFC0208", family: "network", title: "flow log sampling out of range",
            explanation: """
                VPC flow logs record a fraction of each subnet's flows, from 0 (off) to 1 (every flow); tfctl \
                turns them on at 0.5, Google's default, so that a review or an incident can see who talked to what.
                """,
            source: "https://cloud.google.com/vpc/docs/flow-logs"),
        Rule(
            "TFC0207", family: "network", severity: .warning, title: "subnet too small for Direct VPC egress",
            explanation: """
                Direct VPC egress takes IP addresses from the subnet for every instance (twice during revision \
                roll-outs); Google recommends at least a /26.
                """,
            source: "https://cloud.google.com/run/docs/configuring/vpc-direct-vpc"),
    ]

    static let memorystoreRules: [Rule] = [
        Rule(
            "TFC0401", family: "memorystore", title: "invalid instance id",
            explanation: """
                The derived instance id `<name>-redis-<region>` must match `^[a-z][a-z0-9-]{0,39}[a-z0-9]$` \
                (at most 41 characters). Shorten the topology name.
                """,
            source: "https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/redis_instance"),
        Rule(
            "TFC0402", family: "memorystore", title: "memory size out of bounds",
            explanation: "Memorystore for Redis instances hold 1 to 300 GB.",
            source: "https://cloud.google.com/memorystore/docs/redis/redis-tiers"),
        Rule(
            "TFC0403", family: "memorystore", title: "read replicas need the standard_ha tier",
            explanation: "Basic tier instances have no replicas.",
            source: "https://cloud.google.com/memorystore/docs/redis/about-read-replicas"),
        Rule(
            "TFC0404", family: "memorystore", title: "read replicas need 5 GB or more",
            explanation: "Read replicas are only supported for instance sizes of 5 GB and more.",
            source: "https://cloud.google.com/memorystore/docs/redis/about-read-replicas"),
        Rule(
            "TFC0405", family: "memorystore", title: "read replica count out of range",
            explanation: "A Standard tier instance takes 1 to 5 read replicas, or 0 to disable them.",
            source: "https://cloud.google.com/memorystore/docs/redis/about-read-replicas"),
        Rule(
            "TFC0406", family: "memorystore", title: "unsupported Redis version",
            explanation: "Memorystore offers Redis 4.0, 5.0, 6.x, 7.0 and 7.2.",
            source: "https://cloud.google.com/memorystore/docs/redis/supported-versions"),
        Rule(
            "TFC0408", family: "memorystore", title: "Redis version too old for the bundled server",
            explanation: """
                The bundled server reads presence and online status with `ZRANGE ... BYSCORE`, which Redis 6.2 \
                added. Memorystore's 6.x is Redis 6.2; its 4.0 and 5.0 would fail every presence list at run time.
                """,
            source: "https://cloud.google.com/memorystore/docs/redis/supported-versions"),
        Rule(
            "TFC0409", family: "memorystore", title: "relay endpoints document over Secret Manager's 64 KiB",
            explanation: """
                Every service mounts one secret listing every region's Redis URL and, with in-transit encryption, \
                its server CAs (two while one rotates in). A secret version holds at most 64 KiB, so about 22 \
                regions fit with TLS and about 500 without; the apply that adds the region over the limit would \
                fail, or the one after Memorystore adds a CA.
                """,
            source: "https://cloud.google.com/secret-manager/quotas"),
        Rule(
            "TFC0407", family: "memorystore", title: "invalid maintenance window",
            explanation: """
                `memorystore.maintenance` is a weekly one-hour window in UTC: a `day` (monday … sunday) and the \
                `hour` it starts, 0 to 23. Maintenance on a Standard instance is a failover, so the window is when \
                the servers' Redis connections may drop for a few seconds.
                """,
            source: "https://cloud.google.com/memorystore/docs/redis/about-maintenance"),
    ]

    static let loadBalancerRules: [Rule] = [
        Rule(
            "TFC0501", family: "load-balancer", title: "backend timeout on serverless NEGs",
            explanation: """
                A backend service with serverless NEG backends rejects `timeout_sec` ("Timeout sec is not supported \
                for a backend service with Serverless network endpoint groups"); the load balancer's timeout is a \
                fixed 60 minutes. The WebSocket lifetime is set by the Cloud Run service's `timeout`.
                """,
            source: "https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts"),
        Rule(
            "TFC0502", family: "load-balancer", title: "load-balancer session affinity on serverless NEGs",
            explanation: """
                Session affinity is not supported with serverless NEG backends. Use the Cloud Run service's \
                `session_affinity: true` instead.
                """,
            source: "https://cloud.google.com/run/docs/configuring/session-affinity"),
        Rule(
            "TFC0503", family: "load-balancer", title: "health check on serverless NEGs",
            explanation: """
                Backend services with serverless NEGs take no health checks; Cloud Run's own startup and liveness \
                probes (`services.*.probes`) do that job.
                """,
            source: "https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts"),
        Rule(
            "TFC0504", family: "load-balancer", title: "invalid domain",
            explanation: """
                Certificate domains are fully qualified names: labels of letters, digits and hyphens, at most 63 \
                characters each and 253 in all, no wildcard (Google-managed certificates do not issue wildcards).
                """),
        Rule(
            "TFC0505", family: "load-balancer", title: "domain count",
            explanation: "A Google-managed certificate covers 1 to 100 domains, each listed once.",
            source: "https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs"),
        Rule(
            "TFC0509", family: "load-balancer", title: "certificate switch without a change",
            explanation: """
                `previous_domains` names the certificate being replaced while a new one provisions: a Google-managed \
                certificate provisions only once attached to the load balancer, which takes up to an hour after DNS \
                points at it, and serves only when ACTIVE, so the old one stays attached and serving meanwhile. \
                Listing the current domains there switches nothing. Remove `previous_domains` once `gcloud compute \
                ssl-certificates describe NAME --format 'value(managed.status)'` says ACTIVE.
                """,
            source: "https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs"),
        Rule(
            "TFC0510", family: "load-balancer", severity: .warning, title: "weak TLS policy",
            explanation: """
                The HTTPS proxy's SSL policy decides the oldest TLS version and the cipher suites it accepts. TLS \
                1.0 and 1.1 are deprecated (RFC 8996), and the COMPATIBLE profile keeps suites without forward \
                secrecy; without any policy the global external Application Load Balancer accepts both. tfctl \
                attaches MODERN with TLS 1.2 unless `load_balancer.tls` says otherwise, and warns when it does.
                """,
            source: "https://cloud.google.com/load-balancing/docs/ssl-policies-concepts"),
        Rule(
            "TFC0511", family: "load-balancer", title: "too many admin source ranges",
            explanation: """
                The load balancer refuses the server's admin and metrics paths (`/metrics`, `/v1/...`) with a Cloud \
                Armor rule, except from `admin_source_ranges`. Each range is one `inIpRange` subexpression, and a \
                rule's expression takes at most five, one of them the path test: at most four ranges.
                """,
            source: "https://cloud.google.com/armor/docs/rules-language-reference"),
        Rule(
            "TFC0512", family: "load-balancer", severity: .warning, title: "rate-based ban keyed on IP",
            explanation: """
                A rate-based ban shuts a key out for `ban_seconds` once it exceeds the limit. Keyed on the client \
                IP, one key is a whole office behind a NAT, and a deploy that makes every client reconnect at once \
                (about four requests each over Socket.IO's polling handshake) bans all of them. A throttle only \
                refuses the excess; a header or cookie key counts per tenant or session.
                """,
            source: "https://cloud.google.com/armor/docs/rate-limiting-overview"),
        Rule(
            "TFC0513", family: "load-balancer", title: "WAF sensitivity out of range",
            explanation: """
                Cloud Armor's preconfigured WAF rules take a sensitivity from 0 to 4, the OWASP Core Rule Set's \
                paranoia levels: level N turns on the signatures of levels 1 to N. tfctl renders 1 by default, \
                with the signatures that misfire on Socket.IO's JSON polling bodies at higher levels opted out; 0 \
                renders no WAF rule.
                """,
            source: "https://cloud.google.com/armor/docs/waf-rules"),
        Rule(
            "TFC0514", family: "load-balancer", title: "WAF rule set listed twice",
            explanation: """
                Each preconfigured rule set in `load_balancer.waf.rule_sets` becomes one Cloud Armor rule; a set \
                listed twice would be two rules evaluating the same signatures.
                """,
            source: "https://cloud.google.com/armor/docs/waf-rules"),
        Rule(
            "TFC0515", family: "load-balancer", severity: .warning, title: "rate limit below the declared traffic",
            explanation: """
                A Socket.IO client whose WebSocket is blocked stays on HTTP long-polling, where each packet is a \
                request Cloud Armor counts: four to connect, a PONG and a poll per 25 s ping interval, and a poll \
                per message received. `capacity` gives each connection its share of the peak message rate; when \
                one such client needs more requests per interval than `rate_limit.requests`, every polling client \
                is throttled at peak. The warning shows the arithmetic.
                """,
            source: "https://socket.io/docs/v4/how-it-works/"),
        Rule(
            "TFC0506", family: "load-balancer", title: "invalid rate limit",
            explanation: """
                Cloud Armor rate limits count requests over one of the intervals 10, 30, 60, 120, 180, 240, 300, \
                600, 900, 1200, 1800, 2700 or 3600 seconds; the count and any ban duration are positive.
                """,
            source: "https://cloud.google.com/armor/docs/rate-limiting-overview"),
        Rule(
            "TFC0507", family: "load-balancer", title: "log sample rate out of range",
            explanation: "The backend service log sample rate is a fraction between 0 and 1."),
        Rule(
            "TFC0508", family: "load-balancer", title: "invalid derived resource name",
            explanation: """
                Load balancer pieces, NEGs and the VPC get names derived from the topology, service and region; \
                Compute Engine names are 1 to 63 characters matching `[a-z]([-a-z0-9]*[a-z0-9])?`. Shorten the \
                topology or service name.
                """),
    ]

    static let firebaseRules: [Rule] = [
        Rule(
            "TFC0601", family: "firebase", title: "RTDB location not offered",
            explanation: """
                Firebase Realtime Database instances exist only in us-central1, europe-west1 and asia-southeast1, and \
                the location cannot be changed later.
                """,
            source: "https://firebase.google.com/docs/database/locations"),
        Rule(
            "TFC0602", family: "firebase", title: "invalid RTDB instance id",
            explanation: """
                Database instance ids are 6 to 63 lowercase letters, digits and hyphens, start with a letter and \
                are globally unique; the id becomes part of the database URL.
                """),
        Rule(
            "TFC0603", family: "firebase", title: "the fallback's database is the project's default",
            explanation: """
                The fallback's rules are the whole database's: tfctl replaces them, and they let each client read \
                only its own tenders. The project's default database (`<project>-default-rtdb`, or `<project>` in \
                older projects) belongs to its \
                apps, whose `firebase deploy` replaces the rules too: one deploy of an app's rules would expose \
                every tender, and tfctl's would break the app. It is also not a user database, which is what tfctl \
                creates. The fallback needs a database of its own.
                """,
            source: "https://firebase.google.com/docs/database/usage/sharding"),
    ]

    static let monitoringRules: [Rule] = [
        Rule(
            "TFC0701", family: "monitoring", title: "invalid email address",
            explanation: "Notification channel addresses must be plain `user@domain` addresses."),
        Rule(
            "TFC0702", family: "monitoring", title: "alert threshold out of range",
            explanation: "Utilisation thresholds are fractions above 0 and at most 1; error rates are positive."),
        Rule(
            "TFC0703", family: "monitoring", severity: .warning, title: "alerts notify nobody",
            explanation: """
                Neither `monitoring.emails` nor `monitoring.channels`: alert policies are created but nobody is \
                told when they fire.
                """),
        Rule(
            "TFC0704", family: "monitoring", title: "invalid notification channel",
            explanation: """
                An existing notification channel (a pager, a chat room) is named as Cloud Monitoring names it: \
                `projects/PROJECT/notificationChannels/ID`, as `gcloud beta monitoring channels list` prints it.
                """),
        Rule(
            "TFC0705", family: "monitoring", title: "scrape interval out of range",
            explanation: """
                The Managed Service for Prometheus sidecar scrapes the server's metrics at this interval (30 s by \
                default). Below 10 s the samples cost more than they tell (Managed Service for Prometheus bills \
                per sample); above 5 minutes a rate over the alerts' windows has too few points.
                """,
            source: "https://cloud.google.com/stackdriver/pricing#managed-prometheus-pricing"),
        Rule(
            "TFC0706", family: "monitoring", title: "auto_close out of range",
            explanation: """
                An incident whose condition is no longer met is closed after `auto_close`; Cloud Monitoring \
                accepts 30 minutes to 7 days.
                """,
            source: "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#AlertStrategy"),
        Rule(
            "TFC0707", family: "monitoring", title: "invalid uptime checker regions",
            explanation: """
                An uptime check runs from Cloud Monitoring's checker regions (EUROPE, SOUTH_AMERICA, \
                ASIA_PACIFIC, USA_OREGON, USA_IOWA, USA_VIRGINIA; the API's `USA` is left out because gcloud \
                cannot create a check with it) and needs at least three of them, so that one checker's own \
                trouble is not taken for an outage.
                """,
            source: "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.uptimeCheckConfigs"),
        Rule(
            "TFC0708", family: "monitoring", title: "invalid service level objective",
            explanation: """
                A goal is above 0 and at most 0.999 (the API's bound; 1 would leave no error budget), over a \
                rolling window of 1 to 30 \
                days. The delivery latency SLO counts the buckets of the server's histogram \
                `realtime_delivery_latency_seconds`, so its threshold is one of their bounds.
                """,
            source: "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/services.serviceLevelObjectives"),
        Rule(
            "TFC0709", family: "monitoring", severity: .warning, title: "the server's metrics are not exported",
            explanation: """
                With `monitoring.prometheus: false` no sidecar sends the bundled server's metrics to Cloud \
                Monitoring: the dashboard keeps its Cloud Run, load balancer and Redis rows, but the alerts on the \
                server's own metrics and both SLOs are not rendered.
                """),
    ]

    static let capacityRules: [Rule] = [
        Rule(
            "TFC0801", family: "capacity", title: "scaling limits cannot hold the declared peak",
            explanation: """
                Each instance holds at most `concurrency` connections, so a service holds at most \
                `max_instances × concurrency × regions`. That must cover `peak_connections` plus `headroom`.
                """),
        Rule(
            "TFC0802", family: "capacity", severity: .warning, title: "losing one region drops connections",
            explanation: """
                With several regions, clients of a failed region reconnect to the others; if the remaining regions \
                cannot hold the peak, those reconnects are refused. Raise `max_instances` to survive a region loss.
                """),
        Rule(
            "TFC0803", family: "capacity", title: "invalid capacity declaration",
            explanation: "Peaks are zero or more; `headroom` is a fraction between 0 and 10 (0.25 = 25 % spare)."),
    ]
}
