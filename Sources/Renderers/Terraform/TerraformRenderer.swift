import HCL
import TopologyModel

/// Renders a topology as a Terraform root module: one file per concern, each through the one HCL printer.
public struct TerraformRenderer: Sendable {
    /// The provider range the output is written and checked against.
    public static let providerVersion = "~> 6.50"

    public init() {}

    /// `source` is the environment file as shown in the generated header.
    public func render(_ topology: Topology, source: String) -> [RenderedFile] {
        render(modules: modules(topology), source: source)
    }

    /// The files of trees `modules` made: a caller that also reads the trees (`plan`'s manifest) builds them once.
    public func render(modules: [(name: String, blocks: [Block])], source: String) -> [RenderedFile] {
        let printer = Printer()
        return modules.map { file in
            RenderedFile(
                path: "terraform/\(file.name).tf",
                contents: printer.print(File(comments: [generatedHeader(source: source)], blocks: file.blocks)))
        }
    }

    /// The Terraform variable that holds a service's image (`apply` pins the bundled image's digest through it).
    public static func imageVariable(_ service: RealtimeService) -> String { Providers.imageVariable(service) }

    /// The variable that pins the version of user secret `id`, which `tfctl apply` sets.
    public static func secretVersionVariable(_ id: String) -> String { Providers.secretVersionVariable(id) }

    /// Whether `tfctl destroy --target terraform` leaves resource `type`.`label` in place, as `destroy.sh` does: the
    /// Realtime Database and Firebase always (a deleted RTDB instance id can never be used again; Firebase cannot
    /// be removed from a project), the fallback's API key (a deleted key holds its id for 30 days) and the API
    /// enablements (`disable_on_destroy = false`); without `deleteData`
    /// also what holds data or what data needs: Memorystore, secrets (with their versions and access), the
    /// network with its private service access, the service accounts and their roles, the image repository and
    /// the build's source bucket. What
    /// goes is what serves traffic and is rebuilt by the next apply: Cloud Run, the load balancer, monitoring.
    public static func isKeptOnDestroy(type: String, label: String, deleteData: Bool) -> Bool {
        if keptAlways.contains(type) { return true }
        if deleteData { return false }
        return keptData.contains(type) || (type == "google_compute_global_address" && label == "private_service_access")
    }

    private static let keptAlways: Set<String> = [
        "google_apikeys_key", "google_firebase_database_instance", "google_firebase_project", "google_project_service",
    ]
    private static let keptData: Set<String> = [
        "google_redis_instance", "google_secret_manager_secret", "google_secret_manager_secret_version",
        "google_secret_manager_secret_iam_member", "google_artifact_registry_repository", "google_compute_network",
        "google_compute_subnetwork", "google_compute_firewall", "google_service_networking_connection",
        "google_service_account",
        "google_project_iam_member", "google_artifact_registry_repository_iam_member", "google_storage_bucket",
        "google_storage_bucket_iam_member",
    ]

    /// What `tfctl apply` creates before it builds the bundled image: the repository, the build's account and
    /// roles, the source bucket, and their APIs.
    public func buildPrerequisites(_ topology: Topology) -> [String] {
        BuildBlocks.addresses(TerraformContext(topology))
    }

    /// The label of the `google_secret_manager_secret` of a user secret (`apply` creates them first).
    public static func secretLabel(_ secret: String) -> String { Security.userSecretLabel(secret) }

    /// The HCL trees of the root module by file name (without `.tf`), before printing: what `plan` reads.
    public func modules(_ topology: Topology) -> [(name: String, blocks: [Block])] {
        let context = TerraformContext(topology)
        let files: [(name: String, blocks: [Block])] = [
            ("apis", APIs.blocks(context)),
            ("build", BuildBlocks.blocks(context)),
            ("cloud_run", CloudRun.blocks(context)),
            ("firebase", Firebase.blocks(context)),
            ("iam", IAM.blocks(context)),
            ("load_balancer", LoadBalancerBlocks.blocks(context)),
            ("memorystore", MemorystoreBlocks.blocks(context)),
            ("monitoring", MonitoringBlocks.blocks(context)),
            ("network", NetworkBlocks.blocks(context)),
            ("outputs", Outputs.blocks(context)),
            ("providers", Providers.providers(context)),
            ("security", Security.blocks(context)),
            ("variables", Providers.variables(context)),
            ("versions", Providers.versions(context.topology.state)),
        ]
        return files.filter { !$0.blocks.isEmpty }
    }
}

enum Providers {
    static func versions(_ state: TerraformState?) -> [Block] {
        let provider = { (source: String) -> Expression in
            .object([
                ObjectItem("source", .string(source)),
                ObjectItem("version", .string(TerraformRenderer.providerVersion)),
            ])
        }
        return [
            Block("terraform") {
                Attribute("required_version", ">= 1.5.0")
                Block("required_providers") {
                    Attribute("google", provider("hashicorp/google"))
                    Attribute("google-beta", provider("hashicorp/google-beta"))
                }
                if let state {
                    Block("backend", "gcs") {
                        Attribute("bucket", .string(state.bucket))
                        Attribute("prefix", .string(state.prefix))
                    }
                }
            }
        ]
    }

    static func providers(_ context: TerraformContext) -> [Block] {
        let labels = Expression.object(context.topology.sortedLabels.map { ObjectItem($0.key, .string($0.value)) })
        return ["google", "google-beta"].map { name in
            Block("provider", name) {
                Attribute("project", TF.variable("project_id"))
                Attribute("region", TF.variable("primary_region"))
                Attribute("default_labels", labels)
                if name == "google-beta" { Attribute("user_project_override", true) }
            }
        }
    }

    static func variables(_ context: TerraformContext) -> [Block] {
        var blocks = [
            Block("variable", "project_id") {
                Attribute("description", "Google Cloud project that holds the topology.")
                Attribute("type", .ref("string"))
                Attribute("default", .string(context.topology.project))
            },
            Block("variable", "primary_region") {
                Attribute("description", "Region of the provider default and of regionless resources.")
                Attribute("type", .ref("string"))
                Attribute("default", .string(context.topology.primaryRegion))
            },
        ]
        for service in context.services {
            blocks.append(
                Block("variable", imageVariable(service)) {
                    switch service.image {
                    case .reference(let reference):
                        Attribute(
                            "description",
                            .string("Container image of the '\(service.name)' service; pin a digest when deploying."))
                        Attribute("type", .ref("string"))
                        Attribute("default", .string(reference))
                    case .bundled:
                        // No default: the bundled image lives in a repository this same configuration creates,
                        // so no tag can exist before the first apply, and a default would make a plain
                        // `terraform apply` fail half way, at the Cloud Run services. Required, Terraform names it.
                        Attribute(
                            "description",
                            .string(
                                "Container image of the '\(service.name)' service, by digest: the bundled server, "
                                    + "built into \(context.names.imageRepository) (tfctl apply builds it and passes "
                                    + "IMAGE@sha256:...; README: Deploying to a new project)."))
                        Attribute("type", .ref("string"))
                    }
                })
        }
        if !ServerSeries.services(context.topology).isEmpty {
            blocks.append(
                Block("variable", ServerAlerts.metricsExistVariable) {
                    Attribute(
                        "description",
                        .string(
                            "Whether Cloud Monitoring knows the server's metrics yet (tfctl apply looks): the SLOs and "
                                + "their burn-rate alerts are created only then, as the SLO API refuses a filter on a "
                                + "metric it does not know, and the sidecar sends the first series once the services run."
                        ))
                    Attribute("type", .ref("bool"))
                    Attribute("default", false)
                })
        }
        if context.topology.loadBalancer != nil {
            blocks.append(
                Block("variable", MonitoringBlocks.edgeServingVariable) {
                    Attribute(
                        "description",
                        .string(
                            "Whether the load balancer's certificate is ACTIVE (tfctl apply looks): the uptime alert is "
                                + "enabled only then, so a first deploy does not page while DNS and the certificate settle."
                        ))
                    Attribute("type", .ref("bool"))
                    Attribute("default", false)
                })
        }
        for id in context.topology.userSecretIDsPinnedAtDeploy {
            let name = secretVersionVariable(id)
            blocks.append(
                Block("variable", name) {
                    Attribute(
                        "description",
                        .string(
                            "Version of secret '\(id)' the services read, by number: tfctl apply passes the newest "
                                + "enabled one, so a new value shows in the plan as a new revision."))
                    Attribute("type", .ref("string"))
                    Block("validation") {
                        Attribute(
                            "condition", .call("can", [.call("regex", [.string("^[1-9][0-9]*$"), TF.variable(name)])]))
                        Attribute(
                            "error_message",
                            .string(
                                "A version number, not an alias such as latest (Cloud Run reads the value only when an "
                                    + "instance starts): gcloud secrets versions list \(id) --filter state:ENABLED."))
                    }
                })
        }
        return blocks
    }

    static func imageVariable(_ service: RealtimeService) -> String { TF.label("image", service.name) }

    /// The variable that pins user secret `id`'s version (`CloudRun.pinnedVersion`).
    static func secretVersionVariable(_ id: String) -> String { TF.label("secret_version", id) }
}

public enum APIs {
    /// The API each resource type tfctl writes is served by (the label of its `google_project_service`), so
    /// that every resource can be made to wait for it: Terraform creates whatever references nothing at once,
    /// in parallel, and a resource created before its API is enabled fails with "API has not been used in
    /// project ... or it is disabled". nil for the two APIs Terraform itself needs before it can enable any:
    /// Service Usage (for `google_project_service`) and Cloud Resource Manager (project IAM), which `tfctl apply`
    /// checks before it starts (README: "Deploying to a new project"). A type missing here fails the tests.
    public static let byResourceType: [String: String?] = [
        "google_apikeys_key": "apikeys",
        "google_artifact_registry_repository": "artifactregistry",
        "google_artifact_registry_repository_iam_member": "artifactregistry",
        "google_storage_bucket": "storage",
        "google_compute_ssl_policy": "compute",
        "google_storage_bucket_iam_member": "storage",
        "google_cloud_run_v2_service": "run",
        "google_compute_backend_service": "compute",
        "google_compute_global_address": "compute",
        "google_compute_global_forwarding_rule": "compute",
        "google_compute_managed_ssl_certificate": "compute",
        "google_compute_network": "compute",
        "google_compute_firewall": "compute",
        "google_compute_region_network_endpoint_group": "compute",
        "google_compute_security_policy": "compute",
        "google_compute_subnetwork": "compute",
        "google_compute_target_http_proxy": "compute",
        "google_compute_target_https_proxy": "compute",
        "google_compute_url_map": "compute",
        "google_firebase_database_instance": "firebasedatabase",
        "google_firebase_project": "firebase",
        "google_logging_metric": "logging",
        "google_monitoring_alert_policy": "monitoring",
        "google_monitoring_custom_service": "monitoring",
        "google_monitoring_dashboard": "monitoring",
        "google_monitoring_slo": "monitoring",
        "google_monitoring_uptime_check_config": "monitoring",
        "google_monitoring_notification_channel": "monitoring",
        "google_project_iam_audit_config": nil,
        "google_project_iam_member": nil,
        "google_project_service": nil,
        "google_redis_instance": "redis",
        "google_secret_manager_secret": "secretmanager",
        "google_secret_manager_secret_iam_member": "secretmanager",
        "google_secret_manager_secret_version": "secretmanager",
        "google_service_account": "iam",
        "google_service_account_iam_member": "iam",
        "google_service_networking_connection": "servicenetworking",
    ]

    /// Short name (the resource label) and API of every service the topology uses.
    static func enabled(_ context: TerraformContext) -> [(label: String, api: String)] {
        context.topology.requiredAPIs.map { ($0, "\($0).googleapis.com") }
    }

    static func blocks(_ context: TerraformContext) -> [Block] {
        enabled(context).map { api in
            TF.resource("google_project_service", api.label) {
                Attribute("service", .string(api.api))
                // Provider 7 dropped the default; disabling an API on destroy would break everything else in the project.
                Attribute("disable_on_destroy", false)
            }
        }
    }
}
