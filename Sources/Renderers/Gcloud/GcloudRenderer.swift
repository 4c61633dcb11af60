import Shell
import TopologyModel

/// Renders `gcloud/deploy.sh` and `gcloud/destroy.sh` (with the files they read) from the same model as the
/// Terraform: the same names, regions, scaling, Redis settings and load balancer pieces.
public struct GcloudRenderer: Sendable {
    public init() {}

    public func render(_ topology: Topology, source: String) -> [RenderedFile] {
        let header = generatedHeader(source: source)
        let printer = ScriptPrinter()
        var files = [
            RenderedFile(
                path: "gcloud/deploy.sh",
                contents: printer.print(DeployScript(topology: topology).script(header: header)),
                executable: true),
            RenderedFile(
                path: "gcloud/destroy.sh",
                contents: printer.print(DestroyScript(topology: topology).script(header: header)),
                executable: true),
        ]
        if topology.usesBundledImage {
            files.append(
                RenderedFile(
                    path: "cloudbuild/build.sh",
                    contents: printer.print(BuildScript(topology: topology).script(header: header)),
                    executable: true))
            files.append(
                RenderedFile(path: "cloudbuild/" + BuildScript.lifecyclePath, contents: BuildScript.lifecycle()))
        }
        for service in topology.sortedServices {
            for region in topology.regions {
                files.append(
                    RenderedFile(
                        path: "gcloud/" + CloudRunSteps.environmentFile(service, region),
                        contents: DeployScript.environmentFile(service, region, topology).document(header: [header])))
            }
        }
        if let lb = topology.loadBalancer {
            for service in topology.sortedServices {
                files.append(
                    RenderedFile(
                        path: "gcloud/" + LoadBalancerSteps.backendServiceFile(service, topology.names),
                        contents: LoadBalancerSteps.backendServiceDocument(service, lb, topology).document(header: [
                            header
                        ])))
            }
        }
        files += MonitoringSteps(topology: topology).files(header: header)
        if topology.loadBalancer?.httpRedirect == true {
            files.append(
                RenderedFile(
                    path: "gcloud/url-maps/http-redirect.yaml",
                    contents: DeployScript.redirectURLMap(topology).document(header: [header])))
        }
        return files
    }
}

/// What both scripts start with: strict mode, the project, helpers.
enum Preamble {
    static func settings(_ topology: Topology, readsFiles: Bool) -> [Statement] {
        let here: [Statement] = [
            .comment("Files the script reads live beside it."),
            .assign("HERE", .substitution(Command("dirname", .variable("BASH_SOURCE[0]")))),
        ]
        return [
            .command(Command("set", "-euo", "pipefail")),
            .blank,
            // Not overridable: the image path, the Realtime Database id and the relay secrets every region reads
            // all follow from the environment's project and regions. Another project or another set of regions
            // is another environment file.
            .comment("The project this script was rendered for (Environments: one file per project)."),
            .assign("PROJECT", .literal(topology.project)),
        ] + (readsFiles ? here : [])
    }

    /// `log`, `run` and `exists`.
    static let helpers: [Statement] = [
        .function("log", [.command(Command("printf", "==> %s\\n", .variable("*")).redirecting(.outputToErrors))]),
        .blank,
        .comment("Runs a change, or prints it under --dry-run."),
        .function(
            "run",
            [
                .if(
                    G.isDryRun,
                    then: [
                        .command(Command("printf", "%q ", .allArguments)),
                        .command(Command("printf", "\\n")),
                    ], else: [.command(Command([.allArguments]))])
            ]),
        .blank,
        .comment("Whether a resource exists (a describe that succeeds). Under --dry-run everything counts as absent."),
        .function(
            "exists",
            [
                .if(G.isDryRun, then: [.command(Command("return", "1"))]),
                .command(Command([.allArguments], redirects: [.discardOutput, .errorsToOutput])),
            ]),
    ]

    /// `for arg in "$@"; do case "$arg" in ... esac; done` over the given flags, with `-h`/`--help` and an error
    /// for anything else.
    static func arguments(usage: [String], flags: [(flag: String, variable: String)]) -> [Statement] {
        var statements: [Statement] = flags.map { .assign($0.variable, .literal("0")) }
        statements.append(.function("usage", usage.map { .command(Command("echo", .literal($0))) }))
        var arms = flags.map { CaseArm(literals: [$0.flag], [.assign($0.variable, .literal("1"))]) }
        arms.append(CaseArm(literals: ["-h", "--help"], [.command(Command("usage")), .command(Command("exit", "0"))]))
        arms.append(
            CaseArm(
                [[.anyString]],
                [
                    .command(
                        Command("echo", .concat(["unknown argument: ", .variable("arg")])).redirecting(.outputToErrors)),
                    .command(Command("usage").redirecting(.outputToErrors)),
                    .command(Command("exit", "64")),
                ]))
        statements.append(.for("arg", in: [.allArguments], [.case(.variable("arg"), arms)]))
        return statements
    }
}
