import Foundation
import JSON
import Shell
import TopologyModel

/// `cloudbuild/build.sh` (beside the build config it submits): builds the bundled server with Cloud Build and prints it by digest, for `deploy.sh` (`IMAGE=`).
/// First, idempotently, what the build needs: the image repository, the build's own account with only the
/// roles it uses (Cloud Build, "Configure user-specified service accounts": write logs, push to the repository,
/// read the staged source) and the bucket the source is staged in. The Terraform path creates the same pieces
/// (`BuildBlocks`).
struct BuildScript {
    let topology: Topology
    var names: ResourceNames { topology.names }
    var region: String { topology.primaryRegion }

    func script(header: String) -> Script {
        var body = Preamble.settings(topology, readsFiles: true)
        body += Preamble.arguments(
            usage: [
                "usage: build.sh [--dry-run]",
                "Builds the bundled server of '\(topology.name)' with Cloud Build; prints REPOSITORY@sha256:... on standard output.",
                "  --dry-run  print the commands instead of running them (every resource counts as absent)",
                "SOURCE=DIRECTORY  where Templates/Dockerfile is (default: three levels up, where tfctl render ran)",
                "SOURCE_TAG=TAG  also tag the image so (tfctl apply: src-<hash of the source>; default: manual)",
            ],
            flags: [("--dry-run", "DRY_RUN")])
        body += [.blank] + Preamble.helpers + [.blank]
        body += [
            .if(
                Command.test(.syntax(.isEmpty), .defaulted("SOURCE", "")),
                then: [.assign("SOURCE", .concat([.variable("HERE"), "/../../.."]))]),
            .if(
                Command.test(.syntax(.isEmpty), .defaulted("SOURCE_TAG", "")),
                then: [.assign("SOURCE_TAG", .literal("manual"))]),
            .if(
                Command.test(.syntax(.isFile), .concat([.variable("SOURCE"), "/Templates/Dockerfile"])), negated: true,
                then: [
                    G.log(
                        .concat([
                            "No Templates/Dockerfile in ", .variable("SOURCE"), ": set SOURCE to the tfctl checkout.",
                        ])),
                    .command(Command("exit", "64")),
                ]),
            G.log("APIs"),
            G.run(["services", "enable"] + BuildScript.apis.map { .literal("\($0).googleapis.com") }),
        ]
        body += repository() + [.assign("new_account", .literal("0"))] + account() + bucket() + build()
        return Script(
            header: [
                header, "",
                "Builds the bundled server's image, after making sure of what the build needs; safe to run again.",
            ],
            body: body)
    }

    static var apis: [String] { Topology.imageBuildAPIs }

    private var member: Word {
        .literal("serviceAccount:" + names.buildServiceAccountEmail)
    }

    private func repository() -> [Statement] {
        G.ensure(
            "Artifact Registry repository \(names.artifactRepository)",
            probe: [
                "artifacts", "repositories", "describe", .literal(names.artifactRepository), "--location",
                .literal(region),
            ],
            create: [
                G.run(
                    "artifacts", "repositories", "create", .literal(names.artifactRepository), "--location",
                    .literal(region), "--repository-format", "docker", "--description",
                    .literal("Container images of the \(topology.name) topology"))
            ])
    }

    private func account() -> [Statement] {
        G.ensure(
            "Build service account \(names.buildServiceAccountID)",
            probe: ["iam", "service-accounts", "describe", .literal(names.buildServiceAccountEmail)],
            create: [
                G.run(
                    "iam", "service-accounts", "create", .literal(names.buildServiceAccountID), "--display-name",
                    .literal("\(topology.name) image builds")),
                .assign("new_account", .literal("1")),
            ])
            + [
                G.run(
                    "projects", "add-iam-policy-binding", G.project, "--member", member, "--role",
                    "roles/logging.logWriter", "--condition", "None"),
                G.run(
                    "artifacts", "repositories", "add-iam-policy-binding", .literal(names.artifactRepository),
                    "--location", .literal(region), "--member", member, "--role", "roles/artifactregistry.writer"),
            ]
    }

    private func bucket() -> [Statement] {
        let url = Word.literal("gs://" + names.buildSourceBucket)
        return G.ensure(
            "Source bucket \(names.buildSourceBucket)",
            probe: ["storage", "buckets", "describe", url],
            create: [
                G.run(
                    "storage", "buckets", "create", url, "--location", .literal(region.uppercased()),
                    "--uniform-bucket-level-access", "--public-access-prevention", "--lifecycle-file",
                    G.besideScript(Self.lifecyclePath))
            ])
            + [
                G.run(
                    "storage", "buckets", "add-iam-policy-binding", url, "--member", member, "--role",
                    "roles/storage.objectViewer")
            ]
    }

    /// Submits the build and prints the pushed image by digest, from the build's own result (`results.images`),
    /// not from whatever `:latest` is by then.
    private func build() -> [Statement] {
        let submit = GcloudCalls.submitBuild(
            source: Word.variable("SOURCE"), config: G.besideScript("bundled-image.yaml"),
            bucket: names.buildSourceBucket,
            substitution: .concat([.literal(CloudBuildRenderer.sourceTagSubstitution + "="), .variable("SOURCE_TAG")]),
            word: Word.literal)
        return [
            G.log(.concat(["Building the bundled server from ", .variable("SOURCE")])),
            .if(
                G.isDryRun,
                then: [
                    G.log(
                        .concat([
                            "  (dry run: would submit cloudbuild/bundled-image.yaml with ", .variable("SOURCE"), ")",
                        ]))
                ],
                else: [
                    // "Policy changes typically propagate in 2 minutes" (IAM, access change propagation): a build
                    // submitted at once as a new account may not read its source or push yet.
                    .if(
                        Command.test(.variable("new_account"), .syntax(.equal), "1"),
                        then: [
                            G.log("  waiting 2 minutes for the new build account's roles to take effect"),
                            .command(Command("sleep", .literal(String(GcloudCalls.iamPropagationSeconds)))),
                        ]),
                    .assign(
                        "digest",
                        .substitution(G.gcloud(submit + ["--quiet"]))),
                    .if(
                        Command.test(.syntax(.isEmpty), .variable("digest")),
                        then: [
                            G.log("The build reported no image: see its log in the Cloud Build console."),
                            .command(Command("exit", "1")),
                        ]),
                    .command(Command("echo", .concat([.literal(names.imageRepository + "@"), .variable("digest")]))),
                ]),
        ]
    }

    /// `cloudbuild/source-lifecycle.json`: staged sources are deleted after a week.
    static let lifecyclePath = "source-lifecycle.json"

    static func lifecycle() -> String {
        JSONValue.sortedObject([
            "rule": .array([
                .sortedObject(["action": .sortedObject(["type": "Delete"]), "condition": .sortedObject(["age": 7])])
            ])
        ]).pretty()
    }
}
