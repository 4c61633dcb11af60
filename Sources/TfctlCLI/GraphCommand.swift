import ArgumentParser
import Renderers

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw the topology (or its Terraform resources) as Mermaid or Graphviz DOT.",
        discussion: """
            --level topology: the load balancer, Cloud Armor, each region's services and Redis, the relays, the \
            Realtime Database fallback and monitoring. --level resources: every Terraform resource and the \
            references between them. Mermaid renders in GitHub Markdown; DOT with Graphviz (dot -Tsvg).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case mermaid, dot
    }

    @Option(name: .long, help: "Environment name (Environments/<name>.yaml) or path to a YAML file.")
    var env: String = "prod"

    @Option(name: .long, help: "mermaid or dot.")
    var format: Format = .mermaid

    @Option(name: .long, help: "topology or resources.")
    var level: TopologyGraph.Level = .topology

    @Option(name: .long, help: "Run as if tfctl was started in this directory (like terraform -chdir).")
    var chdir: String?

    func run() throws {
        let options = try EnvironmentOptions.parse(["--env", env] + (chdir.map { ["--chdir", $0] } ?? []))
        let pipeline = options.pipeline()
        pipeline.report(format: .text)
        guard !pipeline.failed(strict: false), let topology = pipeline.topology else { throw ExitCode(1) }
        let graph = TopologyGraph.build(topology, level: level)
        print(format == .mermaid ? MermaidPrinter.print(graph) : DotPrinter.print(graph), terminator: "")
    }
}

extension TopologyGraph.Level: ExpressibleByArgument {}
