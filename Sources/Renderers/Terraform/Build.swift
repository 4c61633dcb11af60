import HCL
import TopologyModel

/// What building the bundled server needs: its image repository, the account Cloud Build runs as, and the
/// bucket the source is staged in. `tfctl apply` creates these first (a targeted apply), then builds.
///
/// The build runs as its own account with only the roles it uses (Cloud Build, "Configure user-specified
/// service accounts": write logs, push to the repository, read the staged source); such a build must say
/// where its logs go (`options.logging`, in `cloudbuild/bundled-image.yaml`).
enum BuildBlocks {
    static let repository = "images"
    static let account = "build"
    static let bucket = "build_source"

    static func blocks(_ context: TerraformContext) -> [Block] {
        guard context.usesBundledImage else { return [] }
        let names = context.names
        let member = TF.ref("google_service_account", account, "member")
        return [
            TF.resource("google_artifact_registry_repository", repository) {
                Attribute("location", .string(context.topology.primaryRegion))
                Attribute("repository_id", .string(names.artifactRepository))
                Attribute("format", "DOCKER")
                Attribute("description", .string("Container images of the \(context.topology.name) topology"))
                TF.dependsOn([context.api("artifactregistry")])
            },
            TF.resource("google_service_account", account) {
                Attribute("account_id", .string(names.buildServiceAccountID))
                Attribute("display_name", .string("\(context.topology.name) image builds"))
                TF.dependsOn([context.api("iam"), context.api("cloudbuild")])
            },
            TF.resource("google_project_iam_member", "build_logging_logWriter") {
                Attribute("project", TF.variable("project_id"))
                Attribute("role", "roles/logging.logWriter")
                Attribute("member", member)
            }.commented("The build's log goes to Cloud Logging as this account (options.logging: CLOUD_LOGGING_ONLY)."),
            TF.resource("google_artifact_registry_repository_iam_member", "build_writer") {
                Attribute("location", TF.ref("google_artifact_registry_repository", repository, "location"))
                Attribute("repository", TF.ref("google_artifact_registry_repository", repository, "name"))
                Attribute("role", "roles/artifactregistry.writer")
                Attribute("member", member)
            }.commented("Pushes the built image, to this repository only."),
            TF.resource("google_storage_bucket", bucket) {
                Attribute("name", .string(names.buildSourceBucket))
                Attribute("location", .string(context.topology.primaryRegion.uppercased()))
                Attribute("uniform_bucket_level_access", true)
                Attribute("public_access_prevention", "enforced")
                // Only staged source archives: nothing to keep when the topology goes.
                Attribute("force_destroy", true)
                Block("lifecycle_rule") {
                    Block("condition") { Attribute("age", 7) }
                    Block("action") { Attribute("type", "Delete") }
                }
                TF.dependsOn([context.api("storage")])
            },
            TF.resource("google_storage_bucket_iam_member", "build_source_reader") {
                Attribute("bucket", TF.ref("google_storage_bucket", bucket, "name"))
                Attribute("role", "roles/storage.objectViewer")
                Attribute("member", member)
            }.commented("Reads the source gcloud staged, in this bucket only."),
        ]
    }

    /// The addresses `tfctl apply` creates before it builds (with the APIs they need).
    static func addresses(_ context: TerraformContext) -> [String] {
        Topology.imageBuildAPIs.map { "google_project_service.\($0)" }
            + blocks(context).map { "\($0.labels[0]).\($0.labels[1])" }
    }
}
