import EnvironmentLoader
import Foundation
import Planning
import RenderPipeline
import Renderers
import TestSupport
import Testing

@testable import TfctlCLI

/// `apply` and `destroy` drive terraform, gcloud and bash; here recording stand-ins come first on PATH (the
/// real cloud cannot be reached), and the tests read what was called, where, and in which order.
@Suite struct DeployerTests {
    struct Harness {
        let root: URL
        let log: URL
        let calls: () -> [String]
        let deployer: Deployer
        var output: URL { root.appendingPathComponent("out/env") }

        /// The calls after the preflight's reads (`Deployer.preflight`), which come first.
        func steps() -> [String] {
            let reads = [
                " projects describe ", " services list --enabled ", " billing projects describe ",
                " application-default print-access-token ", " compute project-info describe ",
                " secrets versions list ",
            ]
            let after = Array(
                calls().drop { call in call.hasPrefix("gcloud ") && reads.contains { call.contains($0) } })
            // The monitoring's reads before the plan (`Deployer.monitoringVariables`): the certificate's status, and
            // the metric descriptor with the token it is asked with.
            return after.indices.compactMap { index in
                let call = after[index]
                let probe =
                    call.contains("/metricDescriptors/") || call.contains(" compute ssl-certificates describe ")
                    || (call.contains("print-access-token") && index + 1 < after.count
                        && after[index + 1].contains("/metricDescriptors/"))
                return probe ? nil : call
            }
        }
    }

    /// A scratch project with the plan fixtures as Environments/, Templates/, and stub tools.
    /// `noVersion`: the secrets whose `versions list` finds no enabled version; `absent`: those that do not exist
    /// before the apply creates them.
    /// `preflight`: what the project looks like to the preflight's reads (by default, ready).
    struct Project {
        var enabledAPIs = ["cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com"]
        var billing = "True"
        var applicationDefaultCredentials = true
        /// The digest an image of the current source already has, if it was built before.
        var built = ""
        /// Whether Cloud Monitoring knows the server's metrics, and the certificate is ACTIVE.
        var metricsKnown = false
        var certificateActive = false
        /// What Firebase Authentication's configuration answers (HTTP status).
        var authConfig = "200"
    }

    func harness(
        _ environment: String, failOn: String = "", noVersion: [String] = [], absent: [String] = [],
        project: Project = Project()
    ) throws -> Harness {
        let root = try temporaryDirectory("tfctl-deploy")
        let fm = FileManager.default
        try fm.copyItem(
            at: PlanGoldenTests.directory.appendingPathComponent("Fixtures"),
            to: root.appendingPathComponent("Environments"))
        try fm.copyItem(at: Repository.url("Templates"), to: root.appendingPathComponent("Templates"))
        let bin = root.appendingPathComponent("bin")
        try fm.createDirectory(at: bin, withIntermediateDirectories: true)
        let log = root.appendingPathComponent("calls.log")
        let stub = """
            #!/usr/bin/env bash
            # Records "tool [directory] arguments"; fails when the call contains $STUB_FAIL.
            line="$(basename "$0") [$(basename "$PWD")] $*"
            echo "$line" >> "$STUB_LOG"
            # Read what the caller pipes in, as gcloud does (else its writer may die of SIGPIPE under pipefail).
            if [[ "$line" == *"--data-file=-"* ]]; then cat >/dev/null; fi
            if [ -n "$STUB_FAIL" ] && [[ "$line" == *"$STUB_FAIL"* ]]; then exit 3; fi
            if [[ "$line" == *"builds submit"* ]]; then echo "sha256:$(printf 'a%.0s' $(seq 1 64))"; fi
            if [[ "$line" == *"docker images describe"* ]] && [ -n "$STUB_BUILT" ]; then echo "$STUB_BUILT"; fi
            if [[ "$line" == *"networks peerings list"* ]]; then echo "servicenetworking-googleapis-com"; fi
            if [[ "$line" == *"/metricDescriptors/"* ]]; then [ -n "$STUB_METRICS" ] && printf 200 || printf 404; fi
            if [[ "$line" == *"/admin/v2/projects/"*"/config"* ]]; then printf '%s' "$STUB_AUTH_CONFIG"; fi
            if [[ "$line" == *"ssl-certificates describe"* ]] && [ -n "$STUB_CERT" ]; then echo ACTIVE; fi
            if [[ "$line" == *"-target=google_secret_manager_secret."* ]]; then touch "$STUB_LOG.secrets"; fi
            if [[ "$line" == *"secrets versions list"* ]]; then
              # A secret in $STUB_ABSENT does not exist until the targeted apply creates it, then has no version.
              if [[ "$STUB_ABSENT" == *"${4:-}"* ]]; then [ -e "$STUB_LOG.secrets" ] || exit 1; exit 0; fi
              if [[ "$STUB_NO_VERSION" != *"${4:-}"* ]]; then echo "projects/p/secrets/$4/versions/7"; fi
            fi
            if [[ "$line" == *"services list --enabled"* ]]; then printf '%s\n' $STUB_ENABLED_APIS; fi
            if [[ "$line" == *"billing projects describe"* ]]; then echo "$STUB_BILLING"; fi
            if [[ "$line" == *"print-access-token"* ]]; then
              if [ -n "$STUB_NO_ADC" ] && [[ "$line" == *"application-default"* ]]; then exit 1; fi
              echo "ya29.stub"
            fi
            if [[ "$line" == *"curl"*"--header @"* ]]; then
              # The header file exists while curl runs, and holds the token.
              file="${line#*--header @}"; file="${file%% *}"; grep -q "Bearer ya29.stub" "$file" || exit 4
            fi
            exit 0

            """
        for tool in ["terraform", "gcloud", "curl"] {
            let url = bin.appendingPathComponent(tool)
            try Data(stub.utf8).write(to: url)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        let pipeline = Pipeline(environment: environment, loader: EnvironmentLoader(workingDirectory: root.path))
        #expect(!pipeline.failed(strict: false))
        let runner = ProcessRunner(
            environment: [
                "PATH": "\(bin.path):/usr/bin:/bin", "STUB_LOG": log.path, "STUB_FAIL": failOn, "HOME": root.path,
                "STUB_NO_VERSION": noVersion.isEmpty ? "-" : noVersion.joined(separator: " "),
                "STUB_ENABLED_APIS": project.enabledAPIs.joined(separator: " "), "STUB_BILLING": project.billing,
                "STUB_NO_ADC": project.applicationDefaultCredentials ? "" : "1",
                "STUB_ABSENT": absent.isEmpty ? "-" : absent.joined(separator: " "), "STUB_BUILT": project.built,
                "STUB_METRICS": project.metricsKnown ? "1" : "", "STUB_CERT": project.certificateActive ? "1" : "",
                "STUB_AUTH_CONFIG": project.authConfig,
            ],
            output: .nullDevice, errors: .nullDevice)
        let deployer = Deployer(
            pipeline: pipeline, runner: runner, directory: root.appendingPathComponent("out/env").path,
            displayDirectory: "out/env", sourceDirectory: root.path, log: { _ in },
            // Recorded among the calls, not waited.
            pause: { seconds in
                if let handle = try? FileHandle(forWritingTo: log) {
                    handle.seekToEndOfFile()
                    handle.write(Data("pause \(seconds)\n".utf8))
                    try? handle.close()
                }
            }, scratchDirectory: root.appendingPathComponent("scratch"))
        try fm.createDirectory(at: deployer.scratchDirectory, withIntermediateDirectories: true)
        let calls = { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        return Harness(root: root, log: log, calls: calls, deployer: deployer)
    }

    func report(_ harness: Harness, _ environment: String = "reference-image") throws -> PlanReport {
        let options = try EnvironmentOptions.parse(["--env", environment, "--chdir", harness.root.path])
        return try PlanCommand.planReport(harness.deployer.pipeline, options, against: nil)
    }

    @Test("without a terminal and without --auto-approve, nothing runs and nothing is written")
    func refusesNonInteractive() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        #expect(throws: Deployer.Refused.self) { try h.deployer.applyTerraform(.refused, report: try report(h)) }
        #expect(throws: Deployer.Refused.self) { try h.deployer.destroyTerraform(.refused) }
        #expect(throws: Deployer.Refused.self) { try h.deployer.applyGcloud(.refused) }
        #expect(h.calls().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: h.output.path))
    }

    @Test("apply runs init, a saved plan, then applies exactly that plan, in the rendered directory")
    func applyOrder() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        let steps = h.steps()
        #expect(
            Array(steps.prefix(3)) == [
                "terraform [terraform] init -input=false",
                "terraform [terraform] plan -input=false -out=tfctl.tfplan -var edge_serving=false",
                "terraform [terraform] apply -input=false tfctl.tfplan",
            ])
        // Then the Realtime Database's rules and Firebase Authentication's configuration (asked for: here it
        // exists, so it is left alone), neither of which Terraform sets (deploy.sh does both too).
        #expect(steps.count == 7, "\(steps)")
        #expect(steps[3].contains(" auth application-default print-access-token --scopes="))
        #expect(steps[3].contains("https://www.googleapis.com/auth/firebase.database"))
        #expect(steps[4].hasPrefix("curl [") && steps[4].contains(" --request PUT --header @"))
        #expect(steps[4].hasSuffix(" https://tenderflow-plan-realtime.firebaseio.com/.settings/rules.json"))
        #expect(steps[5] == "gcloud [main] auth print-access-token")
        #expect(steps[6].hasPrefix("curl [") && !steps[6].contains("--request"))
        #expect(steps[6].hasSuffix(" https://identitytoolkit.googleapis.com/admin/v2/projects/tenderflow-plan/config"))
        #expect(FileManager.default.fileExists(atPath: h.output.appendingPathComponent("terraform/cloud_run.tf").path))
    }

    @Test("a bundled image is built with Cloud Build and its digest pinned before the plan")
    func bundledImage() throws {
        let h = try harness("base")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        let calls = h.steps()
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let image = "us-central1-docker.pkg.dev/tenderflow-plan/realtime/realtime-server@\(digest)"
        #expect(calls.count == 12, "\(calls)")
        #expect(calls[0] == "terraform [terraform] init -input=false")
        // Not in the state yet: a new account, whose roles take a while to apply before the build may use them.
        #expect(calls[1] == "terraform [terraform] state list google_service_account.build")
        // What the build needs, with the APIs; the image variables have no default, and the targeted apply
        // names the tag about to be built.
        #expect(
            calls[2].hasPrefix(
                "terraform [terraform] apply -input=false -auto-approve -target=google_project_service.artifactregistry "
                    + "-target=google_project_service.cloudbuild -target=google_project_service.iam "
                    + "-target=google_project_service.storage -target=google_artifact_registry_repository.images "
                    + "-target=google_service_account.build "))
        #expect(calls[2].contains(" -target=google_storage_bucket_iam_member.build_source_reader "))
        #expect(
            calls[2].hasSuffix(
                "-var image_realtime=us-central1-docker.pkg.dev/tenderflow-plan/realtime/realtime-server:latest"))
        // No image of this source yet (it is tagged with the source's fingerprint), so it is built.
        let tag = try h.deployer.sourceTag()
        #expect(
            calls[3].contains(
                " artifacts docker images describe us-central1-docker.pkg.dev/tenderflow-plan/realtime/realtime-server:\(tag) "
            ))
        #expect(calls[4] == "pause \(Deployer.newAccountSeconds)", "IAM changes take about 2 minutes to apply")
        // Built as the build account, staged in its bucket; the digest comes from the build's result.
        #expect(calls[5].hasPrefix("gcloud ") && calls[5].contains(" builds submit \(h.root.path) --config "))
        #expect(calls[5].contains(" --gcs-source-staging-dir gs://tenderflow-plan-realtime-build-source/source "))
        #expect(calls[5].contains(" --suppress-logs --substitutions _SOURCE_TAG=\(tag) "))
        #expect(calls[5].contains(" --format value(results.images[0].digest) "))
        #expect(
            calls[6]
                == "terraform [terraform] plan -input=false -out=tfctl.tfplan -var image_admin=\(image) -var image_realtime=\(image)"
                + " -var server_metrics_exist=false -var edge_serving=false"
        )
        #expect(calls[7] == "terraform [terraform] apply -input=false tfctl.tfplan")
        let config = try String(
            contentsOf: h.output.appendingPathComponent("cloudbuild/bundled-image.yaml"), encoding: .utf8)
        #expect(config.contains("serviceAccount: projects/tenderflow-plan/serviceAccounts/realtime-build@"))
        #expect(config.contains("  logging: CLOUD_LOGGING_ONLY"))
    }

    @Test("an unchanged source is not built again: its image is found by the source's fingerprint and deployed")
    func unchangedSourceNotRebuilt() throws {
        let digest = "sha256:" + String(repeating: "e", count: 64)
        let h = try harness("base", project: Project(built: digest))
        defer { try? FileManager.default.removeItem(at: h.root) }
        let tag = try h.deployer.sourceTag()
        #expect(tag.hasPrefix("src-") && tag.count == 20)
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        #expect(!h.calls().contains { $0.contains(" builds submit ") }, "built again: a new digest, new revisions")
        let image = "us-central1-docker.pkg.dev/tenderflow-plan/realtime/realtime-server@\(digest)"
        #expect(
            h.calls().contains { $0.hasPrefix("terraform [terraform] plan ") && $0.contains("image_realtime=\(image)") }
        )
        // The fingerprint follows the source: another byte in Sources is another tag.
        let file = h.root.appendingPathComponent("Sources/realtime-server/main.swift")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("// changed\n".utf8).write(to: file)
        #expect(try h.deployer.sourceTag() != tag)
    }

    @Test("the secrets are created first, and a secret without an enabled version stops the run before any service")
    func secretsWithoutVersion() throws {
        let h = try harness("with-secrets", absent: ["realtime-jwt"])
        defer { try? FileManager.default.removeItem(at: h.root) }
        #expect {
            try h.deployer.applyTerraform(.autoApproved, report: try report(h, "with-secrets"))
        } throws: { error in
            "\(error)".contains("gcloud secrets versions add realtime-jwt --data-file=FILE --project tenderflow-plan")
        }
        let calls = h.steps()
        #expect(
            calls[1]
                == "terraform [terraform] apply -input=false -auto-approve -target=google_project_service.secretmanager "
                + "-target=google_secret_manager_secret.secret_realtime_jwt -var secret_version_realtime_jwt=1")
        #expect(
            calls.last?.contains(
                "secrets versions list realtime-jwt --filter state:ENABLED --sort-by ~createTime --limit 1")
                == true)
        #expect(!calls.contains { $0.contains(" plan ") }, "nothing planned or applied past the secrets")

        let ready = try harness("with-secrets")
        defer { try? FileManager.default.removeItem(at: ready.root) }
        try ready.deployer.applyTerraform(.autoApproved, report: try report(ready, "with-secrets"))
        #expect(
            ready.steps().suffix(6).prefix(2) == [
                "terraform [terraform] plan -input=false -out=tfctl.tfplan -var secret_version_realtime_jwt=7"
                    + " -var edge_serving=false",
                "terraform [terraform] apply -input=false tfctl.tfplan",
            ])
    }

    @Test("the SLOs and the uptime alert wait for what they need in the live project, and follow it once there")
    func monitoringGates() throws {
        let fresh = try harness("base")
        defer { try? FileManager.default.removeItem(at: fresh.root) }
        try fresh.deployer.applyTerraform(.autoApproved, report: try report(fresh, "base"))
        // Asked before the plan: the metric descriptor (with a token, in a header file) and the certificate.
        let calls = fresh.calls()
        let descriptor = try #require(calls.firstIndex { $0.contains("/metricDescriptors/") })
        #expect(
            calls[descriptor].hasSuffix(
                "/v3/projects/tenderflow-plan/metricDescriptors/"
                    + "prometheus.googleapis.com%2Frealtime_handshakes_total%2Fcounter"))
        #expect(calls[descriptor - 1].contains("print-access-token"))
        let certificate = try #require(calls.firstIndex { $0.contains(" compute ssl-certificates describe ") })
        let plan = try #require(calls.firstIndex { $0.hasPrefix("terraform [terraform] plan ") })
        #expect(descriptor < plan && certificate < plan)
        #expect(calls[plan].hasSuffix(" -var server_metrics_exist=false -var edge_serving=false"))

        var live = Project()
        live.metricsKnown = true
        live.certificateActive = true
        let running = try harness("base", project: live)
        defer { try? FileManager.default.removeItem(at: running.root) }
        try running.deployer.applyTerraform(.autoApproved, report: try report(running, "base"))
        let planned = try #require(running.calls().first { $0.hasPrefix("terraform [terraform] plan ") })
        #expect(planned.hasSuffix(" -var server_metrics_exist=true -var edge_serving=true"))
    }

    @Test("the preflight reports every problem at once and changes nothing, on both targets")
    func preflightProblems() throws {
        let broken = Project(
            enabledAPIs: ["serviceusage.googleapis.com"], billing: "False", applicationDefaultCredentials: false)
        let h = try harness("with-secrets", noVersion: ["realtime-jwt"], project: broken)
        defer { try? FileManager.default.removeItem(at: h.root) }
        for apply in [
            { try h.deployer.applyTerraform(.autoApproved, report: try report(h, "with-secrets")) },
            { try h.deployer.applyGcloud(.autoApproved) },
        ] {
            do {
                try apply()
                Issue.record("the preflight should have stopped the apply")
            } catch let refused as Deployer.Refused {
                let reason = refused.reason
                #expect(reason.contains("4 problem(s)"), "\(reason)")
                #expect(reason.contains("gcloud services enable cloudresourcemanager.googleapis.com --project"))
                #expect(reason.contains("gcloud billing projects link tenderflow-plan --billing-account"))
                #expect(reason.contains("Blaze"))
                #expect(reason.contains("gcloud secrets versions add realtime-jwt --data-file=FILE"))
                #expect(reason.contains("gcloud auth application-default login --scopes="))
            }
        }
        #expect(h.calls().allSatisfy { $0.hasPrefix("gcloud ") }, "only the preflight's reads: \(h.calls())")
        #expect(h.steps().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: h.output.path), "nothing rendered either")

        let unreadable = try harness("base", failOn: " projects describe ")
        defer { try? FileManager.default.removeItem(at: unreadable.root) }
        #expect {
            try unreadable.deployer.applyGcloud(.autoApproved)
        } throws: { error in
            "\(error)".contains("project tenderflow-plan cannot be read by the active gcloud account")
        }
    }

    @Test("Firebase Authentication is initialized when its configuration answers 404, and only then")
    func authenticationInitialized() throws {
        var absent = Project()
        absent.authConfig = "404"
        let h = try harness("reference-image", project: absent)
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        let initialize = h.steps().filter { $0.contains("identityPlatform:initializeAuth") }
        #expect(initialize.count == 1, "\(h.steps())")
        #expect(initialize.first?.contains(" --request POST --header @") == true)
        #expect(initialize.first?.contains(" --data {} ") == true)

        // Any other answer (permission refused, a server error) initializes nothing and says so, after the rules.
        var unreadable = Project()
        unreadable.authConfig = "403"
        let refused = try harness("reference-image", project: unreadable)
        defer { try? FileManager.default.removeItem(at: refused.root) }
        #expect {
            try refused.deployer.applyTerraform(.autoApproved, report: try report(refused))
        } throws: { error in
            "\(error)".contains("HTTP 403")
        }
        #expect(!refused.steps().contains { $0.contains("initializeAuth") })
        #expect(refused.steps().contains { $0.hasSuffix("/.settings/rules.json") })
    }

    @Test("a Realtime Database that does not take its rules yet is tried again, a bounded number of times")
    func rulesRetried() throws {
        let h = try harness("reference-image", failOn: ".settings/rules.json")
        defer { try? FileManager.default.removeItem(at: h.root) }
        #expect {
            try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        } throws: { error in
            "\(error)".contains("after \(DatabaseRules.attempts) attempts")
        }
        #expect(h.calls().filter { $0.hasSuffix(".settings/rules.json") }.count == DatabaseRules.attempts)
        let scratch = try FileManager.default.contentsOfDirectory(atPath: h.deployer.scratchDirectory.path)
        #expect(scratch.isEmpty, "the token's file is removed: \(scratch)")
    }

    @Test("a failed plan stops before apply and leaves the rendered files")
    func failedPlan() throws {
        let h = try harness("reference-image", failOn: "terraform [terraform] plan")
        defer { try? FileManager.default.removeItem(at: h.root) }
        #expect(throws: ProcessRunner.Failure.self) {
            try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        }
        #expect(!h.calls().contains { $0.contains(" apply ") })
        #expect(FileManager.default.fileExists(atPath: h.output.appendingPathComponent("terraform/versions.tf").path))
    }

    @Test("a failed apply is reported with terraform's exit status")
    func failedApply() throws {
        let h = try harness("reference-image", failOn: "apply -input=false tfctl.tfplan")
        defer { try? FileManager.default.removeItem(at: h.root) }
        do {
            try h.deployer.applyTerraform(.autoApproved, report: try report(h))
            Issue.record("apply should have failed")
        } catch let failure as ProcessRunner.Failure {
            #expect(failure.status == 3)
            #expect(failure.step == "terraform apply")
        }
    }

    @Test("at a terminal, answering anything but yes cancels after the plan and before apply")
    func interactiveDecline() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        var asked: [String] = []
        #expect(throws: Deployer.Refused.self) {
            try h.deployer.applyTerraform(
                .interactive {
                    asked.append($0); return false
                }, report: try report(h))
        }
        #expect(asked == ["Apply the plan above to project tenderflow-plan?"])
        #expect(
            h.steps() == [
                "terraform [terraform] init -input=false",
                "terraform [terraform] plan -input=false -out=tfctl.tfplan -var edge_serving=false",
            ])
    }

    @Test("--target gcloud runs the rendered deploy script; destroy runs destroy.sh with --yes")
    func gcloudTarget() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.applyGcloud(.autoApproved)
        let calls = h.steps()
        #expect(calls.first?.hasPrefix("gcloud [") == true && calls.first?.contains(" services enable ") == true)
        #expect(calls.contains { $0.contains(" run deploy realtime --region us-central1 ") })

        // A bundled image: deploy.sh gets the digest just built, and deploys that, never the tag.
        let bundled = try harness("base")
        defer { try? FileManager.default.removeItem(at: bundled.root) }
        try bundled.deployer.applyGcloud(.autoApproved)
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let deploys = bundled.calls().filter { $0.contains(" run deploy ") }
        #expect(deploys.count == 4, "two services in two regions: \(deploys)")
        #expect(
            deploys.allSatisfy {
                $0.contains(" --image us-central1-docker.pkg.dev/tenderflow-plan/realtime/realtime-server@\(digest) ")
            })
        // cloudbuild/build.sh built it once, as the build account, and deploy.sh looked no tag up.
        #expect(bundled.calls().filter { $0.contains(" builds submit ") }.count == 1)
        #expect(
            bundled.calls().contains { $0.contains(" iam service-accounts describe realtime-build@tenderflow-plan") })
        #expect(!bundled.calls().contains { $0.contains("realtime-server:latest") }, "no :latest lookup")
        try h.deployer.destroyGcloud(.autoApproved, deleteData: true)
        #expect(h.calls().contains { $0.contains(" redis instances delete realtime-redis-us-central1 ") })
    }

    @Test("destroy plans the destruction, then applies that plan")
    func destroyTerraform() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.destroyTerraform(.autoApproved)
        let calls = h.calls()
        #expect(calls.count == 3)
        #expect(calls[0] == "terraform [terraform] init -input=false")
        #expect(
            calls[1].hasPrefix("terraform [terraform] plan -destroy -input=false -out=tfctl-destroy.tfplan -target="))
        #expect(calls[2] == "terraform [terraform] apply -input=false tfctl-destroy.tfplan")
        // Data stays unless --delete-data, as with destroy.sh; the Realtime Database always.
        let targets = Set(calls[1].split(separator: " ").filter { $0.hasPrefix("-target=") }.map { $0.dropFirst(8) })
        #expect(targets.contains("google_cloud_run_v2_service.realtime_us_central1"))
        #expect(targets.contains("google_compute_global_forwarding_rule.https"))
        for kept in [
            "google_redis_instance.redis_us_central1", "google_secret_manager_secret_version.redis_url_us_central1",
            "google_compute_network.vpc", "google_compute_global_address.private_service_access",
            "google_firebase_database_instance.fallback",
        ] {
            #expect(!targets.contains(Substring(kept)), "\(kept) would be destroyed")
        }
        let all = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: all.root) }
        try all.deployer.destroyTerraform(.autoApproved, deleteData: true)
        let allCalls = all.calls()
        let everything = allCalls[1]
        #expect(everything.contains("-target=google_redis_instance.redis_us_central1"))
        #expect(!everything.contains("google_firebase_database_instance"), "the RTDB is never deleted")
        // The VPC last, once the peering that private service access left behind is removed.
        #expect(!everything.contains("-target=google_compute_network.vpc"))
        #expect(allCalls.count == 6, "\(allCalls)")
        #expect(allCalls[3].contains("compute networks peerings list --network realtime-vpc"))
        #expect(
            allCalls[4].contains(
                "compute networks peerings delete servicenetworking-googleapis-com --network realtime-vpc"))
        #expect(
            allCalls[5]
                == "terraform [terraform] apply -destroy -input=false -auto-approve -target=google_compute_network.vpc")
    }

    @Test("re-rendering keeps Terraform's local state and working files")
    func keepsState() throws {
        let h = try harness("reference-image")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        let state = h.output.appendingPathComponent("terraform/terraform.tfstate")
        let providers = h.output.appendingPathComponent("terraform/.terraform/providers/marker")
        try Data("{\"version\": 4}".utf8).write(to: state)
        try FileManager.default.createDirectory(
            at: providers.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: providers)
        try h.deployer.applyTerraform(.autoApproved, report: try report(h))
        #expect(FileManager.default.contents(atPath: state.path) == Data("{\"version\": 4}".utf8))
        #expect(FileManager.default.fileExists(atPath: providers.path))
    }
}
