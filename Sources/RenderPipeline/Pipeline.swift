import Diagnostics
import Dispatch
import EnvironmentLoader
import Planning
import Renderers
import Synchronization
import TopologyModel
import Validation

/// The compiler's pipeline, as a library: load, then validate (the front half of every command), then render every
/// output in memory. Pure apart from reading the environment files through its loader; only the CLI writes,
/// prints and exits.
public struct Pipeline: Sendable {
    public let loaded: LoadedEnvironment
    public let diagnostics: [Diagnostic]

    /// The topology, if it loaded; whether it may be rendered depends on `failed(strict:)`.
    public var topology: Topology? { loaded.topology }

    public init(environment: String, loader: EnvironmentLoader = EnvironmentLoader()) {
        loaded = loader.load(path: EnvironmentLoader.environmentPath(for: environment))
        if let topology = loaded.topology {
            diagnostics = Diagnostic.sorted(
                loaded.diagnostics + Validator().validate(topology, sourceMap: loaded.sourceMap))
        } else {
            diagnostics = loaded.diagnostics
        }
    }

    /// Whether the run stops here: nothing loaded, an error, or (`strict`) any diagnostic.
    public func failed(strict: Bool) -> Bool {
        topology == nil || diagnostics.hasErrors || (strict && !diagnostics.isEmpty)
    }

    /// Every file `tfctl render` writes for this environment, in path order.
    public func render() -> [RenderedFile] {
        guard let topology else { return [] }
        let source = loaded.displayPath
        // The Terraform trees once, for the files and for the manifest.
        let modules = TerraformRenderer().modules(topology)
        // Independent renderers of one immutable model, run side by side (the largest first); each result goes
        // to its own slot and the files are sorted by path after, so the output is the same bytes in any order.
        let jobs: [@Sendable () -> [RenderedFile]] = [
            { GcloudRenderer().render(topology, source: source) },
            {
                let manifest = Manifest(source: source, blocks: modules.flatMap(\.blocks))
                return [RenderedFile(path: "manifest.json", contents: manifest.json())]
            },
            { KnativeRenderer().render(topology, source: source) },
            { TerraformRenderer().render(modules: modules, source: source) },
            {
                FirebaseRulesRenderer().render(topology) + CloudBuildRenderer().render(topology, source: source)
            },
        ]
        let results = Mutex([[RenderedFile]](repeating: [], count: jobs.count))
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            let files = jobs[index]()
            results.withLock { $0[index] = files }
        }
        return results.withLock { $0 }.flatMap { $0 }.sorted { $0.path < $1.path }
    }

    /// The resources of the Terraform render, flattened, for `plan`.
    public func manifest() -> Manifest? {
        guard let topology else { return nil }
        return Manifest(source: loaded.displayPath, blocks: TerraformRenderer().modules(topology).flatMap(\.blocks))
    }
}
