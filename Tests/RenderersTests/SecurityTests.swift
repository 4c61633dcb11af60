import EnvironmentLoader
import Foundation
import Renderers
import TestSupport
import Testing
import TopologyModel

/// What the rendered topology exposes and to whom, read back from the rendered text of every shipped environment:
/// the edge (TLS, admin paths), the network, the identities.
@Suite struct SecurityTests {
    static func files(_ environment: String) throws -> [String: String] {
        try RuntimeBehaviourTests.files(environment)
    }

    @Test("the rate limit throttles by default and counts per the key the model names, in both outputs")
    func rateLimitKey() throws {
        let shipped = try #require(try Self.files("prod")["terraform/security.tf"])
        #expect(shipped.contains("action      = \"throttle\"") && shipped.contains("enforce_on_key = \"IP\""))
        #expect(!shipped.contains("rate_based_ban"), "a ban by IP shuts out whole offices after a deploy")
        let loader = EnvironmentLoader(workingDirectory: Repository.root.path)
        var topology = try #require(loader.load(path: "Environments/prod.yaml").topology)
        topology.loadBalancer?.rateLimit?.key = .header("X-Tenant")
        let terraform = TerraformRenderer().render(topology, source: "prod.yaml")
        let security = try #require(terraform.first { $0.path == "terraform/security.tf" }?.contents)
        #expect(security.contains("enforce_on_key      = \"HTTP_HEADER\""), "\(security)")
        #expect(security.contains("enforce_on_key_name = \"X-Tenant\""))
        let script = try #require(
            GcloudRenderer().render(topology, source: "prod.yaml").first { $0.path == "gcloud/deploy.sh" }?.contents)
        #expect(script.contains(" --enforce-on-key HTTP-HEADER --enforce-on-key-name X-Tenant "))
        #expect(script.contains("per X-Tenant header"))
    }

    @Test(
        "every role the runtime account gets is needed by a rendered feature, and says which",
        arguments: RenderGoldenTests.environments)
    func leastPrivilege(_ environment: String) throws {
        let files = try Self.files(environment)
        let iam = try #require(files["terraform/iam.tf"])
        let members = RenderedReaders.terraformResources(iam, type: "google_project_iam_member")
        let roles = Set(members.values.compactMap { $0["role"] })
        let firebase = files["terraform/firebase.tf"]?.contains("google_firebase_database_instance") == true
        let sidecar = files["terraform/cloud_run.tf"]?.contains("cloud-run-gmp-sidecar") == true
        // Logs from the server's JSON lines; RTDB writes only with the fallback; metric writes only for the
        // Prometheus sidecar. No trace agent (the server sends no traces): a role no feature needs fails here.
        #expect(
            roles
                == Set(
                    ["roles/logging.logWriter"] + (firebase ? ["roles/firebasedatabase.admin"] : [])
                        + (sidecar ? ["roles/monitoring.metricWriter"] : [])), "\(roles)")
        // On the account itself, with the fallback only: it signs its clients' tokens as itself, and as no other.
        let own = RenderedReaders.terraformResources(iam, type: "google_service_account_iam_member")
        #expect(Set(own.values.compactMap { $0["role"] }) == (firebase ? ["roles/iam.serviceAccountTokenCreator"] : []))
        for binding in own.values {
            #expect(binding["service_account_id"] == "google_service_account.runtime.name", "\(binding)")
            #expect(binding["member"] == "google_service_account.runtime.member", "\(binding)")
        }
        let lines = iam.components(separatedBy: "\n")
        for (index, line) in lines.enumerated()
        where line.hasPrefix("resource \"google_project_iam_member\"")
            || line.hasPrefix("resource \"google_service_account_iam_member\"")
        {
            #expect(index > 0 && lines[index - 1].hasPrefix("# "), "\(line) says nothing of why")
        }
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
        // Every route the server registers with a literal path, other than the health checks; /metrics too, though
        // only its loopback listener serves it.
        let source = try String(
            contentsOf: Repository.url("Sources/RealtimeServer/Application.swift"), encoding: .utf8
        ).replacingOccurrences(of: "metricsRouter.", with: "router.")
        let routes = source.components(separatedBy: "router.").dropFirst().compactMap { call -> String? in
            guard let open = call.range(of: "(\""), let close = call[open.upperBound...].range(of: "\"") else {
                return nil
            }
            return String(call[open.upperBound..<close.lowerBound]).replacingOccurrences(of: ":user", with: "u")
        }
        // The public routes: health checks, and the fallback's token endpoint, which browsers call through the edge.
        let public_ = ["/healthz", "/readyz", "/fallback/v1/token"]
        for route in public_ { #expect(!refused(route), "\(route) is refused") }
        let admin = routes.filter { !public_.contains($0) }
        #expect(admin.count >= 6, "\(routes)")
        for route in admin { #expect(refused(route), "\(route) is served through the load balancer") }
    }
}
