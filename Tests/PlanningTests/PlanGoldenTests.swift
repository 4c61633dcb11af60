import EnvironmentLoader
import Foundation
import RenderPipeline
import Renderers
import TestSupport
import Testing

@testable import Planning
@testable import TfctlCLI

/// Plans between pairs of environments, with their exact expected output (`Goldens/<case>.plan`).
@Suite struct PlanGoldenTests {
    static let directory = Repository.url("Tests/PlanningTests")
    static let cases = [
        "add-region", "change-concurrency", "change-image", "change-labels", "change-project", "change-tier",
        "ingress-only", "redis-6x",
        "remove-first-region", "remove-region", "remove-service", "rename", "replicas-on", "resize-redis",
    ]
    /// The environment a case is planned against, when it is not `base`.
    static let befores = [
        "change-image": "reference-image", "remove-region": "add-region", "remove-first-region": "add-region",
    ]

    static func manifest(_ file: String) throws -> Manifest {
        let pipeline = Pipeline(
            environment: "Fixtures/\(file).yaml", loader: EnvironmentLoader(workingDirectory: directory.path))
        #expect(!pipeline.diagnostics.hasErrors, "\(pipeline.diagnostics.map(\.message))")
        return try #require(pipeline.manifest())
    }

    static func report(_ name: String) throws -> PlanReport {
        let before = befores[name] ?? "base"
        return PlanReport(
            plan: Plan(before: try manifest(before), after: try manifest(name)), against: "out/\(before)/manifest.json",
            prices: .success(try PriceSheet.bundled(executable: Bundle.main.executableURL ?? Repository.root)))
    }

    @Test("plan output matches its golden", arguments: cases)
    func golden(_ name: String) throws {
        let text = try Self.report(name).text()
        if let problem = Golden.compare(text, golden: Self.directory.appendingPathComponent("Goldens/\(name).plan")) {
            Issue.record("\(name): \(problem)")
        }
    }

    @Test("the markdown plan (a pull-request comment) matches its golden", arguments: cases)
    func markdown(_ name: String) throws {
        let text = try Self.report(name).markdown()
        if let problem = Golden.compare(text, golden: Self.directory.appendingPathComponent("Goldens/\(name).md")) {
            Issue.record("\(name): \(problem)")
        }
        #expect(text.count <= PlanReport.commentLimit)
    }

    @Test("a plan too long for one comment collapses its tables, then its list, and says what it left out")
    func markdownBounded() throws {
        let report = try Self.report("add-region")
        let full = report.markdown()
        #expect(full.contains("<details><summary>"))
        let shorter = report.markdown(limit: full.count - 1)
        #expect(shorter.count < full.count)
        #expect(shorter.contains("Left out to stay under a comment's"))
        // Without any table it is still too long: changes are left out, and counted.
        let bare = MarkdownPrinter.print(report.document(detail: .none)).count
        let tiny = report.markdown(limit: bare - 1)
        #expect(tiny.count < bare)
        #expect(tiny.contains(" of the changes. `tfctl plan` prints everything."))
        // Hazards come before any change, dangers before disruptions.
        let tier = try Self.report("change-tier").markdown()
        let danger = try #require(tier.range(of: "**Danger**")),
            disruption = try #require(tier.range(of: "**Disruption**"))
        #expect(danger.lowerBound < disruption.lowerBound)
        #expect(disruption.lowerBound < (tier.range(of: "#### Changes")?.lowerBound ?? tier.endIndex))
    }

    @Test("the shipped environments' plan from staging to prod, as the pull-request comment README shows")
    func stagingToProd() throws {
        func manifest(_ environment: String) throws -> Manifest {
            let pipeline = Pipeline(
                environment: "Environments/\(environment).yaml",
                loader: EnvironmentLoader(workingDirectory: Repository.root.path))
            return try #require(pipeline.manifest())
        }
        let report = PlanReport(
            plan: Plan(before: try manifest("staging"), after: try manifest("prod")), against: "out/staging",
            prices: .success(try PriceSheet.bundled(executable: Bundle.main.executableURL ?? Repository.root)))
        let text = report.markdown()
        if let problem = Golden.compare(
            text, golden: Self.directory.appendingPathComponent("Goldens/staging-to-prod.md"))
        {
            Issue.record("\(problem)")
        }
        #expect(text.count <= PlanReport.commentLimit)
    }

    @Test("markdown escapes what a table cell and a line would otherwise read as markup")
    func markdownEscaping() {
        #expect(MarkdownPrinter.code("a`b") == "``a`b``")
        #expect(MarkdownPrinter.code("`x") == "`` `x ``")
        #expect(MarkdownPrinter.text("a_b *c* <d> | #") == "a\\_b \\*c\\* \\<d\\> \\| \\#")
        #expect(MarkdownPrinter.escapeHTML("x|y<z>&\"") == "x&#124;y&lt;z&gt;&amp;&quot;")
    }

    @Test("JSON plan matches its golden")
    func json() throws {
        let text = try Self.report("change-tier").json()
        if let problem = Golden.compare(text, golden: Self.directory.appendingPathComponent("Goldens/change-tier.json"))
        {
            Issue.record("\(problem)")
        }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["schema"] as? String == "tfctl.plan/v1")
    }

    @Test("without a price sheet the plan is still shown, with the reason there is no cost")
    func noPrices() throws {
        let report = PlanReport(
            plan: Plan(before: nil, after: try Self.manifest("base")), against: nil,
            prices: .failure(ManifestError(message: "price sheet not found")))
        #expect(report.text().contains("No cost estimate: price sheet not found."))
        #expect(report.json().contains("\"cost_unavailable\": \"price sheet not found\""))
    }

    @Test("a manifest of the earlier schema, which kept variables unresolved, is refused with what to do")
    func olderManifest() throws {
        var old = try Self.manifest("base")
        old.schema = "tfctl.manifest/v1"
        let error = #expect(throws: ManifestError.self) { try Manifest.decode(Data(old.json().utf8)) }
        #expect(error?.message.contains("render the base again") == true)
    }

    @Test("the same environment plans no change")
    func noChange() throws {
        let plan = Plan(before: try Self.manifest("base"), after: try Self.manifest("base"))
        #expect(!plan.hasChanges)
        #expect(plan.summary == (0, 0, 0))
    }

    @Test("changing the Redis tier replaces every instance and says data is lost")
    func tierReplaces() throws {
        let plan = try Self.report("change-tier").plan
        let redis = plan.changes.filter { $0.type == "google_redis_instance" }
        #expect(redis.count == 2)
        #expect(redis.allSatisfy { $0.action == .replace && $0.hazards.contains { $0.severity == .danger } })
    }

    @Test("adding a region disrupts nothing that runs: it adds, gains backends, and writes a new relay document")
    func addRegion() throws {
        let plan = try Self.report("add-region").plan
        #expect(plan.changes.filter { $0.action == .delete }.isEmpty)
        // The relay endpoints document is a new version of its secret, which the services mount at `latest`:
        // no service changes, so no region gets a new revision and no WebSocket is dropped.
        #expect(
            plan.changes.filter { $0.action == .replace }.map(\.address) == [
                "google_secret_manager_secret_version.relay_endpoints"
            ])
        #expect(Set(plan.changes.filter { $0.action == .update }.map(\.type)) == ["google_compute_backend_service"])
        #expect(plan.changes.flatMap(\.hazards).isEmpty, "\(plan.changes.flatMap(\.hazards))")
    }

    @Test("removing a region is the reverse: the other regions' services are untouched")
    func removeRegion() throws {
        let plan = try Self.report("remove-region").plan
        let kept = plan.changes.filter { $0.action != .delete }
        #expect(
            kept.filter { $0.action == .replace }.map(\.address) == [
                "google_secret_manager_secret_version.relay_endpoints"
            ])
        #expect(Set(kept.filter { $0.action == .update }.map(\.type)) == ["google_compute_backend_service"])
        #expect(kept.flatMap(\.hazards).isEmpty, "\(kept.flatMap(\.hazards))")
        #expect(plan.changes.filter { $0.action == .delete }.allSatisfy { $0.address.hasSuffix("asia_southeast1") })
        #expect(
            !plan.changes.contains {
                $0.type == "google_cloud_run_v2_service" && !$0.address.hasSuffix("asia_southeast1")
            })
    }

    @Test("a resize of a Standard instance is in place and flagged as a failover")
    func resize() throws {
        let plan = try Self.report("resize-redis").plan
        let redis = plan.changes.filter { $0.type == "google_redis_instance" }
        #expect(redis.count == 2)
        #expect(redis.allSatisfy { $0.action == .update && $0.hazards.map(\.severity) == [.disruption] })
    }

    @Test("new domains keep the old certificate serving until the new one is ACTIVE; a direct switch is flagged")
    func certificateSwitch() throws {
        let base = try Self.manifest("base"), direct = try Self.manifest("switch-domains")
        let switching = try Self.manifest("switch-domains-previous")
        func certificates(_ plan: Plan) -> [Plan.Change] {
            plan.changes.filter { $0.type == "google_compute_managed_ssl_certificate" }
        }
        // At once: the proxy lets go of the serving certificate while the new one has yet to provision.
        let atOnce = certificates(Plan(before: base, after: direct))
        #expect(atOnce.map(\.action).sorted { "\($0)" < "\($1)" } == [.create, .delete])
        let detached = try #require(atOnce.first { $0.action == .delete })
        #expect(detached.hazards.map(\.severity) == [.disruption])
        #expect(detached.hazards.first?.message.contains("load_balancer.previous_domains") == true)
        // With previous_domains: only a new certificate, beside the old one, which the proxy lists first.
        #expect(certificates(Plan(before: base, after: switching)).map(\.action) == [.create])
        let proxy = try #require(switching.resources["google_compute_target_https_proxy.https"]?.attributes)
        let listed = try #require(proxy["ssl_certificates"])
        let old = try #require(base.resources.keys.first { $0.hasPrefix("google_compute_managed_ssl_certificate.") })
        let new = try #require(direct.resources.keys.first { $0.hasPrefix("google_compute_managed_ssl_certificate.") })
        #expect(listed.range(of: old)!.lowerBound < listed.range(of: new)!.lowerBound, "\(listed)")
        // Once it is ACTIVE, removing previous_domains removes only the old one.
        let done = certificates(Plan(before: switching, after: direct))
        #expect(done.map(\.address) == [old] && done.map(\.action) == [.delete])
        // deploy.sh holds both, the old one first, the same way.
        let pipeline = Pipeline(
            environment: "Fixtures/switch-domains-previous.yaml",
            loader: EnvironmentLoader(workingDirectory: Self.directory.path))
        let script = try #require(pipeline.render().first { $0.path == "gcloud/deploy.sh" }?.contents)
        let oldName = "realtime-cert-" + old.split(separator: "_").last!
        let newName = "realtime-cert-" + new.split(separator: "_").last!
        #expect(script.contains("--ssl-certificates \(oldName),\(newName) "))
        #expect(script.contains("ssl-certificates create \(newName) --global --domains live.example.com "))
    }

    @Test("read replicas go on in place; left out, they stay on and Terraform shows nothing (the mode is computed)")
    func readReplicas() throws {
        let on = try #require(
            Plan(before: try Self.manifest("base"), after: try Self.manifest("replicas-on")).changes.first {
                $0.address == "google_redis_instance.redis_us_central1"
            })
        #expect(on.action == .update && on.hazards.isEmpty, "\(on)")
        let off = Plan(before: try Self.manifest("replicas-on"), after: try Self.manifest("base"))
        #expect(!off.changes.contains { $0.address == "google_redis_instance.redis_us_central1" })
    }

    @Test("a replacement forced create-before-destroy under the same name is the apply failing, not data lost")
    func forcedCreateBeforeDestroy() throws {
        // As the render was before: the endpoint's secret versions create_before_destroy, which Terraform forces
        // onto the instance they depend on.
        var after = try Self.manifest("change-tier")
        for (address, resource) in after.resources where resource.type == "google_secret_manager_secret_version" {
            after.resources[address]?.createBeforeDestroy = true
        }
        let plan = Plan(before: try Self.manifest("base"), after: after)
        let redis = try #require(plan.changes.first { $0.address == "google_redis_instance.redis_us_central1" })
        #expect(redis.action == .replace && redis.createBeforeDestroy)
        #expect(redis.hazards.map(\.message).allSatisfy { $0.hasPrefix("the apply fails here") }, "\(redis.hazards)")
        // As rendered now: destroyed first, the data-loss danger.
        let rendered = Plan(before: try Self.manifest("base"), after: try Self.manifest("change-tier"))
        let replaced = try #require(
            rendered.changes.first { $0.address == "google_redis_instance.redis_us_central1" })
        #expect(!replaced.createBeforeDestroy && replaced.hazards.contains { $0.message.hasPrefix("Redis data") })
    }

    @Test("plan exits 2 with --detailed-exitcode when there are changes, 0 otherwise")
    func exitCodes() throws {
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.copyItem(
            at: Self.directory.appendingPathComponent("Fixtures"), to: scratch.appendingPathComponent("Environments"))
        func tfctl(_ arguments: [String]) -> Int32 {
            do {
                var command = try Tfctl.parseAsRoot(arguments + ["--chdir", scratch.path])
                try command.run()
                return 0
            } catch {
                return Tfctl.exitCode(for: error).rawValue
            }
        }
        #expect(tfctl(["render", "--env", "base", "--out", "out/base"]) == 0)
        #expect(
            tfctl(["plan", "--env", "base", "--against", "out/base", "--detailed-exitcode", "--format", "json"]) == 0)
        #expect(
            tfctl(["plan", "--env", "change-tier", "--against", "out/base", "--detailed-exitcode", "--format", "json"])
                == 2)
        #expect(tfctl(["plan", "--env", "change-tier", "--against", "out/base", "--format", "json"]) == 0)
        // Nothing rendered yet: everything is new, still a valid plan.
        #expect(
            tfctl(["plan", "--env", "base", "--against", "out/none", "--detailed-exitcode", "--format", "json"]) == 2)
        try Data("{}".utf8).write(to: scratch.appendingPathComponent("out/base/manifest.json"))
        #expect(tfctl(["plan", "--env", "base", "--against", "out/base", "--format", "json"]) == 1)
    }
}

@Suite struct PlanRuleTests {
    @Test("the provider replaces Redis only for a lower REDIS_<major>_<minor>; 6.x pairs are in place")
    func redisVersions() {
        func replaces(_ before: String, _ after: String) -> Bool {
            ReplacementRules.forcesReplacement(
                type: "google_redis_instance", path: "redis_version", before: "\"\(before)\"", after: "\"\(after)\"")
        }
        #expect(replaces("REDIS_7_2", "REDIS_7_0") && replaces("REDIS_7_0", "REDIS_5_0"))
        #expect(!replaces("REDIS_7_0", "REDIS_7_2") && !replaces("REDIS_5_0", "REDIS_7_2"))
        // A plain string comparison gets these wrong: "REDIS_6_X" > "REDIS_6_2"-like orderings mean nothing.
        #expect(!replaces("REDIS_7_0", "REDIS_6_X") && !replaces("REDIS_6_X", "REDIS_5_0"))
        #expect(!replaces("REDIS_6_X", "REDIS_7_2") && !replaces("REDIS_4_0", "REDIS_6_X"))
        // The provider compares "<major>.<minor>" as a float: 7.10 reads as 7.1, below 7.2.
        #expect(replaces("REDIS_7_2", "REDIS_7_10"))
    }

    @Test("the table is read from the provider release the render pins, and has every type the renders use")
    func pinned() throws {
        let release = ReplacementRules.providerRelease.split(separator: ".")
        #expect(TerraformRenderer.providerVersion == "~> \(release[0]).\(release[1])")
        let loader = EnvironmentLoader(workingDirectory: Repository.root.path)
        let environments = try FileManager.default.contentsOfDirectory(atPath: Repository.url("Environments").path)
        #expect(environments.count >= 3)
        for file in environments where file.hasSuffix(".yaml") {
            let manifest = try #require(Pipeline(environment: "Environments/\(file)", loader: loader).manifest())
            for resource in manifest.resources.values {
                #expect(ReplacementRules.table[resource.type] != nil, "\(resource.type) of \(file) has no entry")
            }
        }
        for entry in ReplacementRules.table.values {
            #expect(entry.source.hasPrefix("google/") || entry.source.hasPrefix("google-beta/"), "\(entry.source)")
        }
    }

    @Test("a Redis version change replaces the instance only when it goes down")
    func redisVersion() {
        #expect(
            !ReplacementRules.forcesReplacement(
                type: "google_redis_instance", path: "redis_version", before: "\"REDIS_6_X\"", after: "\"REDIS_7_2\""))
        #expect(
            ReplacementRules.forcesReplacement(
                type: "google_redis_instance", path: "redis_version", before: "\"REDIS_7_2\"", after: "\"REDIS_7_0\""))
    }

    @Test("a subnet grows in place and is replaced otherwise")
    func subnet() {
        #expect(
            !ReplacementRules.forcesReplacement(
                type: "google_compute_subnetwork", path: "ip_cidr_range", before: "\"10.20.0.0/20\"",
                after: "\"10.20.0.0/19\""))
        #expect(
            ReplacementRules.forcesReplacement(
                type: "google_compute_subnetwork", path: "ip_cidr_range", before: "\"10.20.0.0/20\"",
                after: "\"10.20.0.0/21\""))
        #expect(
            ReplacementRules.forcesReplacement(
                type: "google_compute_subnetwork", path: "ip_cidr_range", before: "\"10.20.0.0/20\"",
                after: "\"10.30.0.0/16\""))
    }

    @Test("names force replacement on types without their own rules; IAM members always do")
    func defaults() {
        #expect(
            ReplacementRules.forcesReplacement(
                type: "google_unknown_thing", path: "name", before: "\"a\"", after: "\"b\""))
        #expect(
            !ReplacementRules.forcesReplacement(type: "google_unknown_thing", path: "size", before: "1", after: "2"))
        #expect(
            ReplacementRules.forcesReplacement(
                type: "google_project_iam_member", path: "role", before: "\"a\"", after: "\"b\""))
    }

    @Test("the price sheet is read from where the caller says: an override first, then beside the executable")
    func priceSheetLocation() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let shipped = try String(contentsOf: Repository.url("Sources/Planning/Resources/prices.json"), encoding: .utf8)
        let override = directory.appendingPathComponent("prices.json")
        try shipped.replacingOccurrences(of: "\"hours_per_month\": 730", with: "\"hours_per_month\": 744")
            .write(to: override, atomically: true, encoding: .utf8)
        let executable = directory.appendingPathComponent("tfctl")
        #expect(try PriceSheet.bundled(override: override, executable: executable).hoursPerMonth == 744)
        #expect(try PriceSheet.bundled(executable: executable).hoursPerMonth == 730)  // the source tree's
    }

    @Test("cost: hand-computed Cloud Run and Memorystore figures")
    func cost() throws {
        let prices = try PriceSheet.bundled(executable: Bundle.main.executableURL ?? Repository.root)
        let manifest = Manifest(
            source: "test",
            resources: [
                "google_cloud_run_v2_service.a": Manifest.Resource(
                    type: "google_cloud_run_v2_service",
                    attributes: [
                        "location": "\"us-central1\"", "template.containers.resources.limits.cpu": "\"2\"",
                        "template.containers.resources.limits.memory": "\"1Gi\"",
                        "template.scaling.min_instance_count": "1",
                        "template.scaling.max_instance_count": "3", "template.max_instance_request_concurrency": "500",
                    ]),
                "google_redis_instance.r": Manifest.Resource(
                    type: "google_redis_instance",
                    attributes: [
                        "tier": "\"BASIC\"", "memory_size_gb": "4",
                    ]),
            ])
        let estimate = CostEstimate(manifest, prices: prices)
        // 730 h × 3600 s × (2 vCPU × 0.000018 + 1 GiB × 0.000002) = 99.864 per instance-month.
        #expect(abs(estimate.lines[0].baseline - 99.864) < 0.001)
        #expect(abs(estimate.lines[0].ceiling - 3 * 99.864) < 0.001)
        // 4 GB × 730 h × 0.049 (Basic, up to 4 GB) = 143.08.
        #expect(abs(estimate.lines[1].baseline - 143.08) < 0.001)
        #expect(CostEstimate.connectionCapacity(manifest) == 1500)
    }

    @Test("the manifest keys repeated blocks by name so adding a variable does not shift the others")
    func manifestKeys() throws {
        let pipeline = Pipeline(
            environment: "Fixtures/base.yaml",
            loader: EnvironmentLoader(workingDirectory: PlanGoldenTests.directory.path))
        let manifest = try #require(pipeline.manifest())
        let service = try #require(manifest.resources["google_cloud_run_v2_service.realtime_us_central1"])
        #expect(service.attributes["template.containers[app].env[TFCTL_REGION].value"] == "\"us-central1\"")
        #expect(service.attributes["template.scaling.max_instance_count"] == "20")
        #expect(manifest.json() == (try Manifest.decode(Data(manifest.json().utf8))).json())
    }
}
