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
        try writeRender()
        try step("terraform init", runner.run("terraform", ["init", "-input=false"], in: terraformDirectory))
        var variables: [String] = []
        if topology.usesBundledImage {
            // The repository must exist before the image can be pushed into it.
            try step(
                "terraform apply (image repository)",
                runner.run(
                    "terraform",
                    [
                        // Cloud Build's API too: `gcloud builds submit --quiet` does not enable it.
                        "apply", "-input=false", "-auto-approve", "-target=google_project_service.artifactregistry",
                        "-target=google_project_service.cloudbuild",
                        "-target=google_artifact_registry_repository.images",
                    ] + imagePlaceholders(), in: terraformDirectory))
            let pinned = try buildBundledImage()
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
                    "terraform", ["apply", "-input=false", "-auto-approve"] + targets + imagePlaceholders(),
                    in: terraformDirectory))
            try requireSecretVersions()
        }
        try step(
            "terraform plan",
            runner.run("terraform", ["plan", "-input=false", "-out=tfctl.tfplan"] + variables, in: terraformDirectory))
        try confirm(approval, "Apply the plan above to project \(topology.project)?")
        try step(
            "terraform apply",
            runner.run("terraform", ["apply", "-input=false", "tfctl.tfplan"], in: terraformDirectory))
        log("Applied \(report.plan.after.source) with Terraform.")
    }

    func applyGcloud(_ approval: Approval) throws {
        if case .refused = approval {
            throw Refused(reason: "refusing to apply without --auto-approve: this run is not interactive")
        }
        try confirm(approval, "Run gcloud/deploy.sh against project \(topology.project)?")
        try writeRender()
        if topology.usesBundledImage {
            // deploy.sh enables the topology's APIs, but the image is built before it runs.
            try step(
                "gcloud services enable",
                runner.run(
                    "gcloud",
                    [
                        "services", "enable", "artifactregistry.googleapis.com", "cloudbuild.googleapis.com",
                        "--project", topology.project, "--quiet",
                    ]))
            let repository = topology.names.artifactRepository, region = topology.regions.first ?? "us-central1"
            let exists =
                try runner.capture(
                    "gcloud",
                    [
                        "artifacts", "repositories", "describe", repository, "--location", region, "--project",
                        topology.project,
                    ]
                ).status == 0
            if !exists {
                try step(
                    "gcloud artifacts repositories create",
                    runner.run(
                        "gcloud",
                        [
                            "artifacts", "repositories", "create", repository, "--location", region,
                            "--repository-format", "docker",
                            "--project", topology.project, "--quiet",
                        ]))
            }
            _ = try buildBundledImage()
        }
        try step("gcloud/deploy.sh", runner.run("bash", [directory + "/gcloud/deploy.sh"]))
        log("Applied \(pipeline.loaded.displayPath) with gcloud.")
    }

    /// `-var` for every image variable without a default, for a targeted apply before the image is built:
    /// Terraform wants every variable even then. The tag about to be built stands in; nothing targeted reads it.
    private func imagePlaceholders() -> [String] {
        topology.sortedServices.filter { $0.image == .bundled }.flatMap { service in
            ["-var", "\(TerraformRenderer.imageVariable(service))=\(topology.names.image(service))"]
        }
    }

    /// Stops while a secret the services read has no enabled version, with the commands that give each one.
    /// Cloud Run resolves secret environment variables before an instance starts, and an instance whose secret
    /// cannot be resolved does not start: with `min_instances` ≥ 1 the service never becomes ready, and the apply
    /// fails (or hangs) half way, after the network and Memorystore (Cloud Run, "Configure secrets").
    private func requireSecretVersions() throws {
        var missing: [String] = []
        for id in topology.userSecretIDs {
            let listed = try runner.capture(
                "gcloud", GcloudCalls.enabledSecretVersion(id) + ["--project", topology.project])
            try runner.require(listed.status, "gcloud secrets versions list \(id)")
            if listed.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { missing.append(id) }
        }
        guard missing.isEmpty else {
            let commands = missing.map {
                "  gcloud secrets versions add \($0) --data-file=FILE --project \(topology.project)"
            }
            throw Refused(
                reason: ([
                    "stopping before any Cloud Run service: these secrets have no enabled version, and Cloud "
                        + "Run does not start an instance whose secrets it cannot read. Add a value to each, then apply "
                        + "again:"
                ] + commands).joined(separator: "\n"))
        }
        log("Every secret the services read has an enabled version.")
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
        try step(
            "terraform plan -destroy",
            runner.run(
                "terraform",
                ["plan", "-destroy", "-input=false", "-out=tfctl-destroy.tfplan"]
                    + targets.sorted().map { "-target=\($0)" },
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
                    "terraform", ["apply", "-destroy", "-input=false", "-auto-approve", "-target=\(network)"],
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

    private func confirm(_ approval: Approval, _ question: String) throws {
        guard case .interactive(let ask) = approval else { return }
        guard ask(question) else { throw Refused(reason: "cancelled: nothing was applied") }
    }

    private func step(_ name: String, _ status: Int32) throws {
        log("\(name): exit status \(status)")
        try runner.require(status, name)
    }

    /// Builds the bundled server with Cloud Build, pushes it, and returns `IMAGE@sha256:...` to pin.
    private func buildBundledImage() throws -> String {
        guard let service = topology.sortedServices.first(where: { $0.image == .bundled }) else { return "" }
        let image = topology.names.image(service)
        let dockerfile = sourceDirectory + "/Templates/Dockerfile"
        guard FileManager.default.fileExists(atPath: dockerfile) else {
            throw Refused(
                reason: "image: bundled is built from Templates/Dockerfile, which is not in \(sourceDirectory)")
        }
        try step(
            "gcloud builds submit",
            runner.run(
                "gcloud",
                [
                    "builds", "submit", sourceDirectory, "--config", directory + "/cloudbuild/bundled-image.yaml",
                    "--project", topology.project, "--quiet",
                ]))
        let described = try runner.capture(
            "gcloud",
            [
                "artifacts", "docker", "images", "describe", image, "--format", "value(image_summary.digest)",
                "--project", topology.project,
            ])
        try runner.require(described.status, "gcloud artifacts docker images describe")
        let digest = described.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = digest.dropFirst("sha256:".count)
        guard digest.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw Refused(reason: "could not read the digest of \(image) (got '\(digest)')")
        }
        let repository = image.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = image.hasSuffix(":latest") ? String(image.dropLast(":latest".count)) : String(repository[0])
        log("Built \(name)@\(digest).")
        return "\(name)@\(digest)"
    }
}
