import Foundation
import Planning
import RenderPipeline
import Renderers
import TopologyModel

/// How a run may go ahead: approved up front, by asking a person at a terminal, or not at all.
enum Approval {
    case autoApproved
    /// Asks on the terminal; returns whether the person typed `yes`.
    case interactive(ask: (String) -> Bool)
    /// No terminal and no `--auto-approve`: refuse before changing anything.
    case refused
}

/// What `apply` and `destroy` do, in order, with the external tools. Every step's failure stops the run; the
/// rendered files stay for inspection.
struct Deployer {
    let pipeline: Pipeline
    let runner: ProcessRunner
    /// The environment's output directory (absolute) and as shown to the user.
    let directory: String
    let displayDirectory: String
    /// Where `Templates/Dockerfile` of the bundled server is (the repository root).
    let sourceDirectory: String
    let log: (String) -> Void
    /// Waits between attempts of a step that is retried (seconds); the tests do not wait.
    var pause: (Int) -> Void = { sleep(UInt32($0)) }
    /// Where short-lived private files go (the Realtime Database token).
    var scratchDirectory = FileManager.default.temporaryDirectory

    struct Refused: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    var topology: Topology {
        // Deployer is only built for a pipeline that loaded and validated.
        pipeline.topology!
    }

    private var terraformDirectory: String { directory + "/terraform" }

    // MARK: apply

    func applyTerraform(_ approval: Approval, report: PlanReport) throws {
        if case .refused = approval {
            throw Refused(reason: "refusing to apply without --auto-approve: this run is not interactive")
        }
        try preflight()
        try writeRender()
        try step("terraform init", runner.run("terraform", ["init", "-input=false"], in: terraformDirectory))
        var variables: [String] = []
        if topology.usesBundledImage {
            // What the build needs first: the repository, the build's account and roles, the source bucket.
            let listed = try runner.capture(
                "terraform", ["state", "list", "google_service_account.build"], in: terraformDirectory)
            let newAccount = listed.status != 0 || listed.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            try step(
                "terraform apply (build prerequisites)",
                runner.run(
                    "terraform",
                    ["apply", "-input=false", "-auto-approve"]
                        + TerraformRenderer().buildPrerequisites(topology).map { "-target=" + $0 } + placeholders(),
                    in: terraformDirectory))
            let pinned = try bundledImage(newAccount: newAccount)
            for service in topology.sortedServices where service.image == .bundled {
                variables += ["-var", "\(TerraformRenderer.imageVariable(service))=\(pinned)"]
            }
        }
        if !topology.userSecretIDs.isEmpty {
            // The secrets first, on their own, so they can be given a value before any service reads them.
            let targets =
                ["-target=google_project_service.secretmanager"]
                + topology.userSecretIDs.map {
                    "-target=google_secret_manager_secret.\(TerraformRenderer.secretLabel($0))"
                }
            try step(
                "terraform apply (secrets)",
                runner.run(
                    "terraform", ["apply", "-input=false", "-auto-approve"] + targets + placeholders(),
                    in: terraformDirectory))
            // Pinned: a new version is a new revision in the plan below, not a value instances pick up at random.
            for (id, version) in try resolveSecretVersions().sorted(by: { $0.key < $1.key })
            where topology.userSecretIDsPinnedAtDeploy.contains(id) {
                variables += ["-var", "\(TerraformRenderer.secretVersionVariable(id))=\(version)"]
            }
        }
        variables += try monitoringVariables()
        try step(
            "terraform plan",
            runner.run("terraform", ["plan", "-input=false", "-out=tfctl.tfplan"] + variables, in: terraformDirectory))
        // The image build and the secrets come before the plan, which needs the image's digest and the versions.
        let madeBefore = [
            topology.usesBundledImage ? "the image, its repository, build account and bucket" : nil,
            topology.userSecretIDs.isEmpty ? nil : "the secrets",
        ].compactMap { $0 }
        try confirm(
            approval, "Apply the plan above to project \(topology.project)?",
            madeBefore: madeBefore.isEmpty ? nil : madeBefore.joined(separator: " and "))
        try step(
            "terraform apply",
            runner.run("terraform", ["apply", "-input=false", "tfctl.tfplan"], in: terraformDirectory))
        try uploadDatabaseRules()
        try initializeAuthentication()
        log("Applied \(report.plan.after.source) with Terraform.")
    }

    func applyGcloud(_ approval: Approval) throws {
        if case .refused = approval {
            throw Refused(reason: "refusing to apply without --auto-approve: this run is not interactive")
        }
        try preflight()
        try confirm(approval, "Run gcloud/deploy.sh against project \(topology.project)?")
        try writeRender()
        // cloudbuild/build.sh makes sure of the repository, the build's account and its bucket, then builds.
        let image = topology.usesBundledImage ? try bundledImage(withScript: true) : nil
        // deploy.sh deploys exactly this build (IMAGE), not whatever `:latest` is when it gets there.
        try step(
            "gcloud/deploy.sh",
            runner.run(
                "bash", [directory + "/gcloud/deploy.sh"], extraEnvironment: image.map { ["IMAGE": $0] } ?? [:]))
        log("Applied \(pipeline.loaded.displayPath) with gcloud.")
    }

    /// `-var` for every variable without a default, for a targeted apply before the image is built and the
    /// secrets have values: Terraform wants every variable even then. The tag about to be built and version 1
    /// stand in; nothing targeted reads them.
    func placeholders() -> [String] {
        topology.sortedServices.filter { $0.image == .bundled }.flatMap { service in
            ["-var", "\(TerraformRenderer.imageVariable(service))=\(topology.names.image(service))"]
        }
            + topology.userSecretIDsPinnedAtDeploy.flatMap {
                ["-var", "\(TerraformRenderer.secretVersionVariable($0))=1"]
            }
    }

    // MARK: destroy

    /// Destroys what `destroy.sh` would (`TerraformRenderer.isKeptOnDestroy`): the data stays unless
    /// `deleteData`, and the Realtime Database always, by naming every other resource with `-target`. With
    /// `deleteData` and private service access, the VPC goes last, after the peering Service Networking made is
    /// removed: the connection is abandoned (`deletion_policy = "ABANDON"`, since its deletion is refused while
    /// Memorystore's side still cleans up), its peering stays, and a network with a peering cannot be deleted.
    func destroyTerraform(_ approval: Approval, deleteData: Bool = false) throws {
        if case .refused = approval {
            throw Refused(reason: "refusing to destroy without --auto-approve: this run is not interactive")
        }
        try writeRender()
        try step("terraform init", runner.run("terraform", ["init", "-input=false"], in: terraformDirectory))
        let network = "google_compute_network.vpc"
        let peered = deleteData && topology.memorystore != nil
        let targets = TerraformRenderer().modules(topology).flatMap(\.blocks).compactMap { block -> String? in
            guard block.type == "resource", block.labels.count == 2,
                !TerraformRenderer.isKeptOnDestroy(
                    type: block.labels[0], label: block.labels[1], deleteData: deleteData)
            else { return nil }
            let address = "\(block.labels[0]).\(block.labels[1])"
            return peered && address == network ? nil : address
        }
        // Terraform wants every variable without a default even to destroy; nothing destroyed reads them.
        try step(
            "terraform plan -destroy",
            runner.run(
                "terraform",
                ["plan", "-destroy", "-input=false", "-out=tfctl-destroy.tfplan"]
                    + targets.sorted().map { "-target=\($0)" } + placeholders(),
                in: terraformDirectory))
        let kept =
            deleteData
            ? "The Realtime Database stays (its id can never be reused)\(peered ? "; the VPC goes after the plan above" : "")."
            : "Memorystore, secrets, the network, the service account, the image repository and the Realtime "
                + "Database stay (--delete-data removes all but the Realtime Database)."
        try confirm(approval, "Destroy everything above in project \(topology.project)? \(kept)")
        try step(
            "terraform apply (destroy)",
            runner.run("terraform", ["apply", "-input=false", "tfctl-destroy.tfplan"], in: terraformDirectory))
        if peered {
            let name = topology.names.network
            let project = ["--project", topology.project]
            let peerings = try runner.capture("gcloud", GcloudCalls.peerings(network: name) + project)
            try runner.require(peerings.status, "gcloud compute networks peerings list")
            if peerings.output.contains(GcloudCalls.serviceNetworkingPeering) {
                try step(
                    "gcloud compute networks peerings delete",
                    runner.run(
                        "gcloud", GcloudCalls.deleteServiceNetworkingPeering(network: name) + project + ["--quiet"]))
            }
            try step(
                "terraform apply -destroy (VPC)",
                runner.run(
                    "terraform",
                    ["apply", "-destroy", "-input=false", "-auto-approve", "-target=\(network)"] + placeholders(),
                    in: terraformDirectory))
        }
        log("Destroyed \(pipeline.loaded.displayPath) with Terraform.")
    }

    func destroyGcloud(_ approval: Approval, deleteData: Bool) throws {
        if case .refused = approval {
            throw Refused(reason: "refusing to destroy without --auto-approve: this run is not interactive")
        }
        try confirm(
            approval,
            "Run gcloud/destroy.sh against project \(topology.project)\(deleteData ? ", deleting Memorystore data and secrets" : "")?"
        )
        try writeRender()
        try step(
            "gcloud/destroy.sh",
            runner.run("bash", [directory + "/gcloud/destroy.sh", "--yes"] + (deleteData ? ["--delete-data"] : [])))
        log("Destroyed \(pipeline.loaded.displayPath) with gcloud.")
    }

    // MARK: steps

    private func writeRender() throws {
        try OutputDirectory(path: directory, displayPath: displayDirectory).replace(with: pipeline.render())
        log("Rendered \(displayDirectory).")
    }

    /// `madeBefore`: what the run already created before it asks, said when the answer is no.
    private func confirm(_ approval: Approval, _ question: String, madeBefore: String? = nil) throws {
        guard case .interactive(let ask) = approval else { return }
        guard ask(question) else {
            throw Refused(
                reason: madeBefore.map { "cancelled: the plan was not applied (\($0) stay)" }
                    ?? "cancelled: nothing was applied")
        }
    }

    /// A long step (a Terraform apply, an image build), said before it starts and with how long it took, in plain
    /// lines a CI log keeps: a run that takes minutes is never silent.
    private func step(_ name: String, _ status: @autoclosure () throws -> Int32) throws {
        log("==> \(name)")
        let started = ContinuousClock.now
        let code = try status()
        let seconds = (ContinuousClock.now - started).components.seconds
        log("\(name): exit status \(code) after \(seconds) s")
        try runner.require(code, name)
    }
}
