import Foundation
import TestSupport
import Testing
import Yams

/// The Terraform, the gcloud script and the Knative YAML of each environment describe the same topology:
/// values are read back from the committed goldens' text, not from the model.
@Suite struct ConsistencyTests {
    struct Rendered {
        let environment: String
        let directory: URL

        func text(_ path: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
        }

        func files(in folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(folder).path)) ?? [])
                .sorted()
        }
    }

    static func rendered(_ environment: String) -> Rendered {
        Rendered(environment: environment, directory: RenderGoldenTests.goldens.appendingPathComponent(environment))
    }

    /// One service in one region, as each format states it.
    struct ServiceFacts: Equatable, CustomStringConvertible {
        var name, region, minInstances, maxInstances, concurrency, timeoutSeconds, sessionAffinity, cpuAlwaysAllocated,
            cpu, memory, ingress: String
        var description: String {
            "\(name)@\(region) min=\(minInstances) max=\(maxInstances) concurrency=\(concurrency) timeout=\(timeoutSeconds) "
                + "affinity=\(sessionAffinity) always-cpu=\(cpuAlwaysAllocated) cpu=\(cpu) memory=\(memory) ingress=\(ingress)"
        }
    }

    func terraformServices(_ rendered: Rendered) throws -> [ServiceFacts] {
        let resources = RenderedReaders.terraformResources(
            try rendered.text("terraform/cloud_run.tf"), type: "google_cloud_run_v2_service")
        let ingress = [
            "INGRESS_TRAFFIC_ALL": "all", "INGRESS_TRAFFIC_INTERNAL_ONLY": "internal",
            "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": "internal-and-cloud-load-balancing",
        ]
        return resources.values.map { r in
            ServiceFacts(
                name: r["name"] ?? "", region: r["location"] ?? "", minInstances: r["min_instance_count"] ?? "",
                maxInstances: r["max_instance_count"] ?? "", concurrency: r["max_instance_request_concurrency"] ?? "",
                timeoutSeconds: String((r["timeout"] ?? "").dropLast()), sessionAffinity: r["session_affinity"] ?? "",
                cpuAlwaysAllocated: r["cpu_idle"] == "false" ? "true" : "false", cpu: r["cpu"] ?? "",
                memory: r["memory"] ?? "",
                ingress: ingress[r["ingress"] ?? ""] ?? "?")
        }.sorted { $0.description < $1.description }
    }

    func scriptServices(_ rendered: Rendered) throws -> [ServiceFacts] {
        RenderedReaders.gcloudCalls(try rendered.text("gcloud/deploy.sh"), ["run", "deploy"]).map { call in
            let f = call.flags
            return ServiceFacts(
                name: call.positional, region: f["--region"] ?? "", minInstances: f["--min-instances"] ?? "",
                maxInstances: f["--max-instances"] ?? "", concurrency: f["--concurrency"] ?? "",
                timeoutSeconds: String((f["--timeout"] ?? "").dropLast()),
                sessionAffinity: f["--session-affinity"] != nil ? "true" : "false",
                cpuAlwaysAllocated: f["--no-cpu-throttling"] != nil ? "true" : "false", cpu: f["--cpu"] ?? "",
                memory: f["--memory"] ?? "", ingress: f["--ingress"] ?? "")
        }.sorted { $0.description < $1.description }
    }

    func yamlServices(_ rendered: Rendered) throws -> [ServiceFacts] {
        try rendered.files(in: "cloudrun").map { file in
            let document = try #require(try Yams.load(yaml: try rendered.text("cloudrun/\(file)")) as? [String: Any])
            let metadata = try #require(document["metadata"] as? [String: Any])
            let template = try #require((document["spec"] as? [String: Any])?["template"] as? [String: Any])
            let annotations = try #require(
                (template["metadata"] as? [String: Any])?["annotations"] as? [String: String])
            let spec = try #require(template["spec"] as? [String: Any])
            let container = try #require((spec["containers"] as? [[String: Any]])?.first)
            let limits = try #require((container["resources"] as? [String: Any])?["limits"] as? [String: String])
            let labels = try #require(metadata["labels"] as? [String: String])
            return ServiceFacts(
                name: metadata["name"] as? String ?? "", region: labels["cloud.googleapis.com/location"] ?? "",
                minInstances: annotations["autoscaling.knative.dev/minScale"] ?? "",
                maxInstances: annotations["autoscaling.knative.dev/maxScale"] ?? "",
                concurrency: "\(spec["containerConcurrency"] ?? "")", timeoutSeconds: "\(spec["timeoutSeconds"] ?? "")",
                sessionAffinity: annotations["run.googleapis.com/sessionAffinity"] ?? "",
                cpuAlwaysAllocated: annotations["run.googleapis.com/cpu-throttling"] == "false" ? "true" : "false",
                cpu: limits["cpu"] ?? "", memory: limits["memory"] ?? "",
                ingress: (metadata["annotations"] as? [String: String])?["run.googleapis.com/ingress"] ?? "")
        }.sorted { $0.description < $1.description }
    }

    @Test(
        "Cloud Run: regions, scaling, timeout, concurrency, affinity, CPU and ingress agree",
        arguments: RenderGoldenTests.environments)
    func cloudRun(_ environment: String) throws {
        let rendered = Self.rendered(environment)
        let terraform = try terraformServices(rendered)
        #expect(!terraform.isEmpty)
        #expect(try scriptServices(rendered) == terraform)
        #expect(try yamlServices(rendered) == terraform)
    }

    @Test(
        "Memorystore: instances, tier, size, version, AUTH, TLS and replicas agree",
        arguments: RenderGoldenTests.environments)
    func memorystore(_ environment: String) throws {
        let rendered = Self.rendered(environment)
        let terraform = RenderedReaders.terraformResources(
            try rendered.text("terraform/memorystore.tf"), type: "google_redis_instance"
        )
        .values.map { r in
            [
                r["name"] ?? "", r["region"] ?? "", r["tier"] == "STANDARD_HA" ? "standard" : "basic",
                r["memory_size_gb"] ?? "",
                (r["redis_version"] ?? "").lowercased(), r["auth_enabled"] ?? "",
                r["transit_encryption_mode"] == "SERVER_AUTHENTICATION" ? "true" : "false", r["replica_count"] ?? "0",
            ]
        }.sorted { $0.joined() < $1.joined() }
        let script = RenderedReaders.gcloudCalls(
            try rendered.text("gcloud/deploy.sh"), ["redis", "instances", "create"]
        ).map { call in
            let f = call.flags
            return [
                call.positional, f["--region"] ?? "", f["--tier"] ?? "", f["--size"] ?? "", f["--redis-version"] ?? "",
                f["--enable-auth"] != nil ? "true" : "false",
                f["--transit-encryption-mode"] == "server-authentication" ? "true" : "false",
                f["--replica-count"] ?? "0",
            ]
        }.sorted { $0.joined() < $1.joined() }
        #expect(!terraform.isEmpty)
        #expect(script == terraform)
    }

    @Test("load balancer: NEGs, backends, certificate and listeners agree", arguments: RenderGoldenTests.environments)
    func loadBalancer(_ environment: String) throws {
        let rendered = Self.rendered(environment)
        let tf = try rendered.text("terraform/load_balancer.tf")
        let script = try rendered.text("gcloud/deploy.sh")
        let negs = RenderedReaders.terraformResources(tf, type: "google_compute_region_network_endpoint_group").values
            .map { "\($0["name"] ?? "")@\($0["region"] ?? "")" }.sorted()
        let scriptNegs = RenderedReaders.gcloudCalls(script, ["compute", "network-endpoint-groups", "create"])
            .map { "\($0.positional)@\($0.flags["--region"] ?? "")" }.sorted()
        #expect(!negs.isEmpty)
        #expect(scriptNegs == negs)
        let backends = RenderedReaders.terraformResources(tf, type: "google_compute_backend_service").values
            .map { "\($0["name"] ?? "") \($0["load_balancing_scheme"] ?? "") \($0["protocol"] ?? "")" }.sorted()
        // deploy.sh imports each backend service whole, from the file beside it.
        let imported = RenderedReaders.gcloudCalls(script, ["compute", "backend-services", "import"])
        let scriptBackends = try imported.map { call -> String in
            let file = try #require(call.flags["--source"]?.components(separatedBy: "${HERE}/").last)
            let document = try #require(try Yams.load(yaml: try rendered.text("gcloud/" + file)) as? [String: Any])
            #expect(document["name"] as? String == call.positional)
            return "\(call.positional) \(document["loadBalancingScheme"] ?? "") \(document["protocol"] ?? "")"
        }.sorted()
        #expect(scriptBackends == backends)
        let certificate = try #require(
            RenderedReaders.terraformResources(tf, type: "google_compute_managed_ssl_certificate").values.first)
        let scriptCertificate = try #require(
            RenderedReaders.gcloudCalls(script, ["compute", "ssl-certificates", "create"]).first)
        #expect(scriptCertificate.positional == certificate["name"])
        let domains = certificate["domains"].map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",")
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }.joined(separator: ",")
        }
        #expect(scriptCertificate.flags["--domains"] == domains)
        let ports = RenderedReaders.terraformResources(tf, type: "google_compute_global_forwarding_rule").values
            .map { "\($0["name"] ?? ""):\($0["port_range"] ?? "")" }.sorted()
        let scriptPorts = RenderedReaders.gcloudCalls(script, ["compute", "forwarding-rules", "create"])
            .map { "\($0.positional):\($0.flags["--ports"] ?? "")" }.sorted()
        #expect(scriptPorts == ports)
    }

    @Test("every service reads the same secrets in every format", arguments: RenderGoldenTests.environments)
    func secrets(_ environment: String) throws {
        let rendered = Self.rendered(environment)
        for call in RenderedReaders.gcloudCalls(try rendered.text("gcloud/deploy.sh"), ["run", "deploy"]) {
            let region = call.flags["--region"] ?? ""
            let scriptSecrets = (call.flags["--set-secrets"] ?? "").split(separator: ",").map(String.init).sorted()
            let yaml = try rendered.text("cloudrun/\(call.positional)-\(region).yaml")
            let document = try #require(try Yams.load(yaml: yaml) as? [String: Any])
            let template = (document["spec"] as? [String: Any])?["template"] as? [String: Any]
            // Every container's: the server's variables, and each container's mounted files.
            let containers = ((template?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]) ?? []
            let env = containers.flatMap { ($0["env"] as? [[String: Any]]) ?? [] }
            var yamlSecrets = env.compactMap { variable -> String? in
                guard let reference = (variable["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: String]
                else { return nil }
                return "\(variable["name"] ?? ""):\(reference["name"] ?? ""):\(reference["key"] ?? "")"
            }
            // Mounted secrets: `<mount directory>/<file>:<secret>:<version>`, as deploy.sh's `/path=secret:version`.
            let spec = template?["spec"] as? [String: Any]
            let mounts = containers.flatMap { ($0["volumeMounts"] as? [[String: Any]]) ?? [] }
            for volume in (spec?["volumes"] as? [[String: Any]]) ?? [] {
                let secret = try #require(volume["secret"] as? [String: Any])
                let mount = try #require(mounts.first { $0["name"] as? String == volume["name"] as? String })
                for item in (secret["items"] as? [[String: String]]) ?? [] {
                    yamlSecrets.append(
                        "\(mount["mountPath"] ?? "")/\(item["path"] ?? ""):\(secret["secretName"] ?? ""):\(item["key"] ?? "")"
                    )
                }
            }
            yamlSecrets.sort()
            // deploy.sh pins a secret variable read at `latest` to the version it resolved (`${version_<secret>}`);
            // the Knative file, which nothing resolves, names `latest`. Only a mounted file (`/...`) stays at
            // `latest` in deploy.sh: Cloud Run reads it again while instances run (`RelayEndpoints`).
            let pinned = scriptSecrets.map { secret -> String in
                let parts = secret.replacingOccurrences(of: "=", with: ":").split(separator: ":").map(String.init)
                let version = parts[2].hasPrefix("${version_") ? "latest" : parts[2]
                #expect(parts[2] != "latest" || parts[0].hasPrefix("/"), "deploy.sh reads \(parts[1]) at latest")
                return "\(parts[0]):\(parts[1]):\(version)"
            }
            #expect(pinned == yamlSecrets)
            #expect(scriptSecrets.contains { $0.hasPrefix("/") } == !mounts.isEmpty)
        }
    }
}
