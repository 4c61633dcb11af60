import Foundation
import Renderers
import TestSupport
import Testing
import TopologyModel
import Yams

/// What Google Cloud does at run time, which no offline oracle sees, checked in every output it concerns (read
/// back from the rendered text): public services under Domain Restricted Sharing, the redirect that keeps a
/// polling POST a POST, readiness that waits for Redis, failover between regions, Memorystore CA rotation and a
/// teardown that can finish.
@Suite struct RuntimeBehaviourTests {
    static func files(_ environment: String) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try RenderGoldenTests.render(environment).map { ($0.path, $0.contents) })
    }

    static func yaml(_ text: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test(
        "public services turn the invoker check off; nothing grants allUsers", arguments: RenderGoldenTests.environments
    )
    func publicWithoutAllUsers(_ environment: String) throws {
        let files = try Self.files(environment)
        for (path, text) in files { #expect(!text.contains("allUsers"), "\(path) grants allUsers") }
        let services = RenderedReaders.terraformResources(
            try #require(files["terraform/cloud_run.tf"]), type: "google_cloud_run_v2_service")
        #expect(!services.isEmpty)
        for (label, attributes) in services { #expect(attributes["invoker_iam_disabled"] == "true", "\(label)") }
        let deploys = RenderedReaders.gcloudCalls(try #require(files["gcloud/deploy.sh"]), ["run", "deploy"])
        #expect(!deploys.isEmpty)
        for call in deploys {
            #expect(call.flags["--no-invoker-iam-check"] != nil && call.flags["--allow-unauthenticated"] == nil)
        }
        for (path, text) in files where path.hasPrefix("cloudrun/") {
            let metadata = try #require(try Self.yaml(text)["metadata"] as? [String: Any])
            let annotations = try #require(metadata["annotations"] as? [String: Any])
            #expect(annotations["run.googleapis.com/invoker-iam-disabled"] as? String == "true", "\(path)")
        }
    }

    @Test("the HTTP to HTTPS redirect is a 308, which keeps a POST a POST", arguments: RenderGoldenTests.environments)
    func redirectKeepsTheMethod(_ environment: String) throws {
        let files = try Self.files(environment)
        let maps = RenderedReaders.terraformResources(
            try #require(files["terraform/load_balancer.tf"]), type: "google_compute_url_map")
        #expect(maps["http_redirect"]?["redirect_response_code"] == "PERMANENT_REDIRECT")
        let imported = try Self.yaml(try #require(files["gcloud/url-maps/http-redirect.yaml"]))
        let redirect = try #require(imported["defaultUrlRedirect"] as? [String: Any])
        #expect(redirect["redirectResponseCode"] as? String == "PERMANENT_REDIRECT")
    }

    @Test(
        "with Memorystore an instance is ready only once Redis answers, and its startup probe waits long enough",
        arguments: RenderGoldenTests.environments)
    func readinessWaitsForRedis(_ environment: String) throws {
        let files = try Self.files(environment)
        let terraform = try #require(files["terraform/cloud_run.tf"])
        #expect(terraform.contains("name  = \"REDIS_REQUIRED_FOR_READY\"\n        value = \"true\""))
        for (path, text) in files where path.hasPrefix("gcloud/env/") {
            #expect(try Self.yaml(text)["REDIS_REQUIRED_FOR_READY"] as? String == "true", "\(path)")
        }
        for (path, text) in files where path.hasPrefix("cloudrun/") {
            #expect(text.contains("- name: REDIS_REQUIRED_FOR_READY\n          value: 'true'"), "\(path)")
        }
        for call in RenderedReaders.gcloudCalls(try #require(files["gcloud/deploy.sh"]), ["run", "deploy"]) {
            let probe = try #require(call.flags["--startup-probe"])
            let settings = Dictionary(
                uniqueKeysWithValues: probe.split(separator: ",").map {
                    let pair = $0.split(separator: "=")
                    return (String(pair[0]), String(pair[1]))
                })
            let period = try #require(settings["periodSeconds"].flatMap { Int($0) })
            let failures = try #require(settings["failureThreshold"].flatMap { Int($0) })
            let delay = try #require(settings["initialDelaySeconds"].flatMap { Int($0) })
            #expect(delay + period * failures >= 120 && period * failures <= 240, "\(probe)")
        }
    }

    @Test("outlier detection takes a failing region out, never all of them", arguments: RenderGoldenTests.environments)
    func outlierDetection(_ environment: String) throws {
        let files = try Self.files(environment)
        let text = try #require(files["terraform/load_balancer.tf"])
        let regions = RenderedReaders.terraformResources(
            try #require(files["terraform/network.tf"]), type: "google_compute_subnetwork"
        ).count
        if regions > 1 {
            #expect(text.contains("outlier_detection {"))
            let backends = RenderedReaders.terraformResources(text, type: "google_compute_backend_service")
            for (label, attributes) in backends {
                let percent = try #require(attributes["max_ejection_percent"].flatMap { Int($0) }, "\(label)")
                #expect(percent < 100 && percent >= 100 / regions, "\(label): \(percent) with \(regions) regions")
                // deploy.sh's backend service (imported whole: gcloud has no flags for it) ejects the same way.
                let name = try #require(attributes["name"]?.trimmingCharacters(in: ["\""]))
                let file = try Self.yaml(try #require(files["gcloud/backend-services/\(name).yaml"]))
                let outliers = try #require(file["outlierDetection"] as? [String: Any], "\(name)")
                #expect(outliers["maxEjectionPercent"] as? Int == percent)
                #expect("\(outliers["consecutiveErrors"] ?? "")" == attributes["consecutive_errors"])
                #expect("\(outliers["consecutiveGatewayFailure"] ?? "")" == attributes["consecutive_gateway_failure"])
            }
        } else {
            #expect(!text.contains("outlier_detection"), "one region: nothing to fail over to")
            #expect(!files.contains { $0.key.hasPrefix("gcloud/backend-services/") && $0.value.contains("outlier") })
        }
    }

    @Test("every Memorystore server CA is trusted, not only the first", arguments: RenderGoldenTests.environments)
    func everyCA(_ environment: String) throws {
        let files = try Self.files(environment)
        let memorystore = try #require(files["terraform/memorystore.tf"])
        #expect(memorystore.contains(".server_ca_certs[*].cert)"))
        #expect(!memorystore.contains("server_ca_certs[0]"))
        let deploy = try #require(files["gcloud/deploy.sh"])
        #expect(deploy.contains("--flatten serverCaCerts --format 'value(serverCaCerts.cert)'"))
        #expect(!deploy.contains("serverCaCerts[0]"))
    }

    @Test("teardown can finish: the peering is abandoned by Terraform and deleted first by the script")
    func teardownFinishes() throws {
        let files = try Self.files("prod")
        let connections = RenderedReaders.terraformResources(
            try #require(files["terraform/network.tf"]), type: "google_service_networking_connection")
        #expect(connections["private_service_access"]?["deletion_policy"] == "ABANDON")
        let destroy = try #require(files["gcloud/destroy.sh"]).split(separator: "\n").map(String.init)
        func line(_ fragment: String) -> Int? { destroy.firstIndex { $0.contains(fragment) } }
        let memorystore = try #require(line("gcloud redis instances delete"))
        let peering = try #require(line("gcloud compute networks peerings delete servicenetworking-googleapis-com"))
        let range = try #require(line("gcloud compute addresses delete realtime-psa"))
        let network = try #require(line("gcloud compute networks delete"))
        #expect(memorystore < peering && peering < range && range < network)
        // The service account's roles go before it, and deploy.sh's email channels with the rest.
        let role = try #require(line("gcloud projects remove-iam-policy-binding"))
        let account = try #require(line("gcloud iam service-accounts delete"))
        #expect(role < account)
        #expect(line("gcloud beta monitoring channels delete") != nil)
    }

    @Test("the bundled image has no default that cannot exist before the first apply")
    func bundledImageIsRequired() throws {
        let variables = try #require(try Self.files("prod")["terraform/variables.tf"])
        let block = try #require(variables.components(separatedBy: "variable \"image_realtime\" {").last)
        let body = try #require(block.components(separatedBy: "\n}").first)
        #expect(!body.contains("default"), "\(body)")
        #expect(!variables.contains(":latest"))
    }

    @Test(
        "services read pinned secret versions: a new value is a new revision in the plan",
        arguments: RenderGoldenTests.environments)
    func pinnedSecrets(_ environment: String) throws {
        let files = try Self.files(environment)
        let services = try #require(files["terraform/cloud_run.tf"])
        #expect(!services.contains("version = \"latest\""))
        #expect(services.contains("version = google_secret_manager_secret_version.redis_url_"))
        #expect(services.contains("version = var.secret_version_realtime_jwt"))
        let variables = try #require(files["terraform/variables.tf"])
        #expect(variables.contains("variable \"secret_version_realtime_jwt\" {"))
        #expect(variables.contains("condition     = can(regex(\"^[1-9][0-9]*$\", var.secret_version_realtime_jwt))"))
        // A version Terraform replaces is disabled after the new one exists, never destroyed under a revision.
        let memorystore = try #require(files["terraform/memorystore.tf"])
        #expect(memorystore.contains("deletion_policy = \"DISABLE\""))
        #expect(memorystore.contains("create_before_destroy = true"))
    }

    @Test(
        "the HTTPS proxy takes TLS 1.2 or later with MODERN ciphers, in both outputs",
        arguments: RenderGoldenTests.environments)
    func tlsPolicy(_ environment: String) throws {
        let files = try Self.files(environment)
        let balancer = try #require(files["terraform/load_balancer.tf"])
        let policy = try #require(
            RenderedReaders.terraformResources(balancer, type: "google_compute_ssl_policy")["tls"])
        #expect(policy["profile"] == "MODERN" && policy["min_tls_version"] == "TLS_1_2")
        let proxy = try #require(
            RenderedReaders.terraformResources(balancer, type: "google_compute_target_https_proxy")["https"])
        #expect(proxy["ssl_policy"] == "google_compute_ssl_policy.tls.id")
        let script = try #require(files["gcloud/deploy.sh"])
        let created = try #require(RenderedReaders.gcloudCalls(script, ["compute", "ssl-policies", "create"]).first)
        #expect(created.flags["--profile"] == "MODERN" && created.flags["--min-tls-version"] == "1.2")
        for verb in ["create", "update"] {
            let proxies = RenderedReaders.gcloudCalls(script, ["compute", "target-https-proxies", verb])
            #expect(!proxies.isEmpty && proxies.allSatisfy { $0.flags["--ssl-policy"] == created.positional })
        }
    }

    @Test(
        "every subnet logs its flows and the VPC denies ingress explicitly, in both outputs",
        arguments: RenderGoldenTests.environments)
    func networkHygiene(_ environment: String) throws {
        let files = try Self.files(environment)
        let network = try #require(files["terraform/network.tf"])
        let subnets = RenderedReaders.terraformResources(network, type: "google_compute_subnetwork")
        #expect(!subnets.isEmpty)
        #expect(network.components(separatedBy: "flow_sampling        = 0.5").count - 1 == subnets.count)
        let firewall = try #require(
            RenderedReaders.terraformResources(network, type: "google_compute_firewall")["deny_all_ingress"])
        #expect(firewall["direction"] == "INGRESS" && firewall["priority"] == "65534")
        #expect(firewall["source_ranges"] == "[\"0.0.0.0/0\"]" && firewall["protocol"] == "all")
        let script = try #require(files["gcloud/deploy.sh"])
        let rule = try #require(RenderedReaders.gcloudCalls(script, ["compute", "firewall-rules", "create"]).first)
        #expect(
            rule.flags["--action"] == "DENY" && rule.flags["--rules"] == "all" && rule.flags["--priority"] == "65534")
        for verb in ["create", "update"] {
            let calls = RenderedReaders.gcloudCalls(script, ["compute", "networks", "subnets", verb])
            #expect(calls.count == subnets.count)
            #expect(calls.allSatisfy { $0.flags["--logging-flow-sampling"] == "0.5" })
        }
    }

    @Test(
        "the load balancer refuses the server's admin and metrics paths, in both outputs",
        arguments: RenderGoldenTests.environments)
    func adminPathsRefused(_ environment: String) throws {
        let files = try Self.files(environment)
        let security = try #require(files["terraform/security.tf"])
        let rule = try #require(security.components(separatedBy: "  rule {").first { $0.contains("priority    = 900") })
        #expect(rule.contains("action      = \"deny(403)\""))
        #expect(rule.contains("expression = \"request.path.urlDecodeUni().lower().matches('^/+(metrics|v1)(/|$)')\""))
        let script = try #require(files["gcloud/deploy.sh"])
        let created = try #require(
            RenderedReaders.gcloudCalls(script, ["compute", "security-policies", "rules", "create"]).first {
                $0.positional == "900"
            })
        #expect(created.flags["--action"] == "deny-403")
        // The expression as bash receives it (single-quoted, its own quotes as '\'').
        let expression = "request.path.urlDecodeUni().lower().matches('^/+(metrics|v1)(/|$)')"
        let quoted = "'" + expression.replacingOccurrences(of: "'", with: "'\\''") + "'"
        #expect(script.contains("rules create 900 --security-policy realtime-armor --expression \(quoted) "))
    }

    @Test("the refused paths are every admin route the server has, however the path is spelled")
    func adminPathsCoverTheServer() throws {
        // What Cloud Armor does before matching: decode, lower-case (then the pattern collapses leading slashes).
        func refused(_ path: String) -> Bool {
            let decoded = (path.removingPercentEncoding ?? path).lowercased()
            return decoded.range(of: AdminPaths.pathPattern, options: .regularExpression) != nil
        }
        for path in ["/metrics", "/v1/publish", "//v1/instances", "/%76%31/publish", "/V1/users/u/sockets", "/v1"] {
            #expect(refused(path), "\(path) reaches the server")
        }
        for path in ["/socket.io/", "/socket.io/?EIO=4&transport=polling", "/healthz", "/readyz", "/v10", "/metricsx"] {
            #expect(!refused(path), "\(path) is refused")
        }
        // Every route the server registers with a literal path, other than the health checks.
        let source = try String(
            contentsOf: Repository.url("Sources/RealtimeServer/Application.swift"), encoding: .utf8)
        let routes = source.components(separatedBy: "router.").dropFirst().compactMap { call -> String? in
            guard let open = call.range(of: "(\""), let close = call[open.upperBound...].range(of: "\"") else {
                return nil
            }
            return String(call[open.upperBound..<close.lowerBound]).replacingOccurrences(of: ":user", with: "u")
        }
        let admin = routes.filter { !["/healthz", "/readyz"].contains($0) }
        #expect(admin.count >= 6, "\(routes)")
        for route in admin { #expect(refused(route), "\(route) is served through the load balancer") }
    }

    @Test("alerts mean what they say: Redis memory per instance, the load balancer's own 5xx, each revision")
    func alerts() throws {
        let monitoring = try #require(try Self.files("prod")["terraform/monitoring.tf"])
        let policies = RenderedReaders.terraformResources(monitoring, type: "google_monitoring_alert_policy")
        let redis = try #require(policies["redis_memory"])
        #expect(redis["cross_series_reducer"] == "REDUCE_MAX" && redis["per_series_aligner"] == "ALIGN_MAX")
        #expect(redis["group_by_fields"] == "[\"resource.labels.instance_id\"]")
        // Scoped to this topology's instances, not every Memorystore instance in the project.
        #expect(
            redis["filter"]?.contains(
                "resource.labels.instance_id = monitoring.regex.full_match(\\\"(.*/)?realtime-redis-[a-z0-9-]+\\\")")
                == true, "\(redis)")
        let balancer = try #require(policies["load_balancer_server_errors"])
        #expect(balancer["filter"]?.contains("loadbalancing.googleapis.com/https/request_count") == true)
        let instances = try #require(policies["realtime_instances"])
        #expect(instances["group_by_fields"]?.contains("resource.labels.revision_name") == true)
    }

    @Test("Memorystore maintenance happens in the window the model names, in both outputs")
    func maintenanceWindow() throws {
        let files = try Self.files("prod")
        let memorystore = try #require(files["terraform/memorystore.tf"])
        #expect(memorystore.contains("weekly_maintenance_window {\n      day = \"SUNDAY\""))
        let creates = RenderedReaders.gcloudCalls(try #require(files["gcloud/deploy.sh"]), ["redis", "instances"])
        #expect(!creates.isEmpty)
        for call in creates {
            #expect(
                call.flags["--maintenance-window-day"] == "sunday" && call.flags["--maintenance-window-hour"] == "3")
        }
    }

    @Test("a front end on the load balancer's domains may poll cross-origin, in every output")
    func corsOrigins() throws {
        let files = try Self.files("prod")
        let expected = "https://realtime.tenderflow.example.com"
        #expect(
            try #require(files["terraform/cloud_run.tf"]).contains(
                "name  = \"CORS_ORIGINS\"\n        value = \"\(expected)\""))
        for (path, text) in files where path.hasPrefix("gcloud/env/") {
            #expect(try Self.yaml(text)["CORS_ORIGINS"] as? String == expected, "\(path)")
        }
        for (path, text) in files where path.hasPrefix("cloudrun/") {
            #expect(text.contains("- name: CORS_ORIGINS\n          value: \(expected)"), "\(path)")
        }
    }
}
