import EnvironmentLoader
import Foundation
import RenderPipeline
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
        // Every secret variable is pinned; `latest` only in the relay endpoints volume, read while instances run.
        let lines = services.components(separatedBy: "\n")
        for (index, line) in lines.enumerated() where line.hasSuffix("version = \"latest\"") {
            #expect(lines[index - 1].hasSuffix("path    = \"\(RelayEndpoints.fileName)\""), "\(line)")
        }
        #expect(services.contains("version = google_secret_manager_secret_version.redis_url_"))
        #expect(services.contains("version = var.secret_version_realtime_jwt_public_key"))
        let variables = try #require(files["terraform/variables.tf"])
        #expect(variables.contains("variable \"secret_version_realtime_jwt_public_key\" {"))
        #expect(
            variables.contains(
                "condition     = can(regex(\"^[1-9][0-9]*$\", var.secret_version_realtime_jwt_public_key))"))
        // A version Terraform replaces is disabled, never destroyed under a revision; and not created before the
        // old one goes, which would force create-before-destroy onto Memorystore (`tfctl plan` says the apply
        // fails: PlanGoldenTests.forcedCreateBeforeDestroy).
        let memorystore = try #require(files["terraform/memorystore.tf"])
        #expect(memorystore.contains("deletion_policy = \"DISABLE\""))
        #expect(!memorystore.contains("create_before_destroy"))
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

    @Test(
        "the fallback's clients get a browser key allowed only the Identity Toolkit, stored before any service starts"
    )
    func fallbackBrowserKey() throws {
        let files = try Self.files("prod")
        let names = try #require(
            Pipeline(environment: "prod", loader: EnvironmentLoader(workingDirectory: Repository.root.path)).topology
        ).names
        // Terraform: one key, restricted to the Identity Toolkit, its string in the secret the services pin.
        let firebase = try #require(files["terraform/firebase.tf"])
        let keys = RenderedReaders.terraformResources(firebase, type: "google_apikeys_key")
        #expect(keys.count == 1 && keys.values.first?["service"] == "identitytoolkit.googleapis.com")
        #expect(keys.values.first?["name"] == names.fallbackAPIKey)
        #expect(firebase.contains("secret_data     = google_apikeys_key.fallback_web.key_string"))
        #expect(
            try #require(files["terraform/cloud_run.tf"]).contains(
                "name = \"FIREBASE_WEB_API_KEY\"\n        value_source {\n          secret_key_ref {\n"
                    + "            secret  = google_secret_manager_secret.firebase_api_key.secret_id\n"
                    + "            version = google_secret_manager_secret_version.firebase_api_key.version"))
        // deploy.sh: the key and its secret before the first service; a key deleted lately is restored, not created.
        let deploy = try #require(files["gcloud/deploy.sh"])
        let creates = RenderedReaders.gcloudCalls(deploy, ["services", "api-keys"]).filter { $0.positional == "create" }
        #expect(!creates.isEmpty)
        for call in creates {
            #expect(call.flags["--key-id"] == names.fallbackAPIKey)
            #expect(call.flags["--api-target"] == "service=identitytoolkit.googleapis.com")
        }
        let stored = try #require(deploy.range(of: "gcloud secrets versions add \(names.fallbackAPIKeySecret)"))
        let firstService = try #require(deploy.range(of: "run gcloud run deploy "))
        #expect(stored.lowerBound < firstService.lowerBound)
        let undelete = try #require(deploy.range(of: "gcloud services api-keys undelete"))
        let createAfterUndelete = try #require(
            deploy.range(of: "gcloud services api-keys create", range: undelete.upperBound..<deploy.endIndex))
        #expect(createAfterUndelete.lowerBound < stored.lowerBound)
        // Knative YAML: from the secret, at the version deploy.sh stored.
        for (path, text) in files where path.hasPrefix("cloudrun/") {
            #expect(
                text.contains(
                    "- name: FIREBASE_WEB_API_KEY\n          valueFrom:\n            secretKeyRef:\n"
                        + "              key: latest\n              name: \(names.fallbackAPIKeySecret)"), "\(path)")
        }
        // Kept by destroy.sh, and by the Terraform path's destroy, even with --delete-data.
        #expect(!(try #require(files["gcloud/destroy.sh"])).contains("api-keys delete"))
        #expect(TerraformRenderer.isKeptOnDestroy(type: "google_apikeys_key", label: "fallback_web", deleteData: true))
    }
}
