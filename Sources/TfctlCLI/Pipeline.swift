import Diagnostics
import EnvironmentLoader
import Foundation
import Planning
import Renderers
import TopologyModel
import Validation

/// Load, then validate: the front half of every command. Pure apart from reading the environment files.
struct Pipeline {
    let loaded: LoadedEnvironment
    let diagnostics: [Diagnostic]

    /// The topology, if it loaded; whether it may be rendered depends on `failed(strict:)`.
    var topology: Topology? { loaded.topology }

    init(environment: String, loader: EnvironmentLoader = EnvironmentLoader()) {
        loaded = loader.load(path: EnvironmentLoader.environmentPath(for: environment))
        if let topology = loaded.topology {
            diagnostics = Diagnostic.sorted(
                loaded.diagnostics + Validator().validate(topology, sourceMap: loaded.sourceMap))
        } else {
            diagnostics = loaded.diagnostics
        }
    }

    func failed(strict: Bool) -> Bool {
        topology == nil || diagnostics.hasErrors || (strict && !diagnostics.isEmpty)
    }

    /// Every file `tfctl render` writes for this environment, in path order.
    func render() -> [RenderedFile] {
        guard let topology else { return [] }
        let source = loaded.displayPath
        let files =
            TerraformRenderer().render(topology, source: source) + GcloudRenderer().render(topology, source: source)
            + KnativeRenderer().render(topology, source: source) + FirebaseRulesRenderer().render(topology)
            + CloudBuildRenderer().render(topology, source: source)
            + [RenderedFile(path: "manifest.json", contents: manifest()?.json() ?? "")]
        return files.sorted { $0.path < $1.path }
    }

    /// The resources of the Terraform render, flattened, for `plan`.
    func manifest() -> Manifest? {
        guard let topology else { return nil }
        return Manifest(source: loaded.displayPath, blocks: TerraformRenderer().modules(topology).flatMap(\.blocks))
    }

    /// Prints diagnostics: text to standard error, JSON to standard output.
    func report(format: OutputFormat) {
        let formatter = DiagnosticFormatter(sources: loaded.sources)
        switch format {
        case .json:
            print(formatter.json(diagnostics), terminator: "")
        case .text where !diagnostics.isEmpty:
            FileHandle.standardError.write(Data(formatter.text(diagnostics).utf8))
        case .text:
            break
        }
    }
}
