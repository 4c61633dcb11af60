import Diagnostics
import Foundation
import TopologyModel
import Yams

/// The result of loading an environment: the topology (when the files decoded), where every value came from,
/// and the problems found so far. Schema problems make `topology` nil only when decoding could not go on.
public struct LoadedEnvironment: Sendable {
    /// The environment's name: the file name without `.yaml`.
    public var name: String
    /// The environment file as the user named it, relative to the working directory.
    public var displayPath: String
    public var topology: Topology?
    public var sourceMap: SourceMap
    public var diagnostics: [Diagnostic]
    /// The text of every file read (the environment and what it extends), keyed by display path.
    public var sources: [String: String]
}

/// Reads an environment file and the files it `extends`, overlays them and decodes the topology.
public struct EnvironmentLoader: Sendable {
    /// Reads a file's text; throws when it cannot be read.
    public typealias ReadFile = @Sendable (String) throws -> String

    private let readFile: ReadFile
    private let workingDirectory: String

    public init(
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        readFile: @escaping ReadFile = { try String(contentsOfFile: $0, encoding: .utf8) }
    ) {
        self.workingDirectory = workingDirectory
        self.readFile = readFile
    }

    /// `--env NAME` means `Environments/NAME.yaml`; anything with a slash or a YAML extension is a path.
    public static func environmentPath(for argument: String) -> String {
        if argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml") {
            return argument
        }
        return "Environments/\(argument).yaml"
    }

    public func load(path: String) -> LoadedEnvironment {
        let display = displayPath(path)
        let name = ((display as NSString).lastPathComponent as NSString).deletingPathExtension
        var state = LoadState()
        let tree = loadFile(display, extendedFrom: nil, state: &state)
        var result = LoadedEnvironment(
            name: name, displayPath: display, topology: nil,
            sourceMap: SourceMap(root: SourceLocation(file: display, line: 1, column: 1)),
            diagnostics: state.diagnostics, sources: state.sources)
        guard let tree, !state.diagnostics.hasErrors else {
            result.diagnostics = Diagnostic.sorted(result.diagnostics)
            return result
        }
        let context = DecodingContext(sourceMap: result.sourceMap)
        result.topology = TopologyDecoder(context: context).decode(tree)
        result.sourceMap = context.sourceMap
        result.diagnostics = Diagnostic.sorted(result.diagnostics + context.diagnostics)
        return result
    }

    private struct LoadState {
        var diagnostics: [Diagnostic] = []
        var sources: [String: String] = [:]
        /// Canonical paths of the files being loaded, innermost last, to detect `extends` cycles.
        var chain: [String] = []
    }

    /// Loads one file and, recursively, what it extends; returns the merged tree.
    private func loadFile(_ display: String, extendedFrom: SourceNode.Entry?, state: inout LoadState) -> SourceNode? {
        let canonical = canonicalPath(display)
        if state.chain.contains(canonical) {
            let cycle = (state.chain.drop { $0 != canonical } + [canonical]).map(displayPath).joined(separator: " -> ")
            state.diagnostics.append(
                Diagnostic(
                    .error, RuleID("TFC0005"), "'\(display)' extends itself: \(cycle)",
                    at: extendedFrom?.value.location, path: "extends",
                    help: "remove one `extends` so the chain ends in a file that extends nothing"))
            return nil
        }
        let text: String
        do {
            text = try readFile(canonical)
        } catch {
            if let entry = extendedFrom {
                state.diagnostics.append(
                    Diagnostic(
                        .error, RuleID("TFC0006"), "cannot read '\(display)', named by `extends`",
                        at: entry.value.location, path: "extends",
                        help: "paths in `extends` are relative to the file that names them"))
            } else {
                state.diagnostics.append(
                    Diagnostic(
                        .error, RuleID("TFC0009"), "environment file '\(display)' not found",
                        at: nil, path: display,
                        help: "--env NAME reads Environments/NAME.yaml; --env PATH reads any YAML file"))
            }
            return nil
        }
        state.sources[display] = text
        guard let node = parse(text, file: display, diagnostics: &state.diagnostics) else { return nil }
        guard case .mapping(var entries, let location) = node else {
            state.diagnostics.append(
                Diagnostic(
                    .error, RuleID("TFC0002"),
                    "an environment file is a mapping of keys, found \(node.kindDescription)",
                    at: node.location, path: ""))
            return nil
        }
        guard let extendsIndex = entries.firstIndex(where: { $0.key == "extends" }) else { return node }
        let extends = entries.remove(at: extendsIndex)
        let own = SourceNode.mapping(entries, location)
        if extends.value.isNull { return own }
        guard case .scalar(let target) = extends.value else {
            state.diagnostics.append(
                Diagnostic(
                    .error, RuleID("TFC0002"), "`extends` takes a file path, found \(extends.value.kindDescription)",
                    at: extends.value.location, path: "extends"))
            return nil
        }
        let baseDisplay = resolve(target.text, relativeTo: display)
        state.chain.append(canonical)
        defer { state.chain.removeLast() }
        guard let base = loadFile(baseDisplay, extendedFrom: extends, state: &state) else { return nil }
        return base.overlaid(with: own)
    }

    private func parse(_ text: String, file: String, diagnostics: inout [Diagnostic]) -> SourceNode? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                diagnostics.append(
                    Diagnostic(
                        .error, RuleID("TFC0002"), "the environment file is empty",
                        at: SourceLocation(file: file, line: 1, column: 1), path: "",
                        help: "an environment needs at least `project`, `name`, `regions` and `services`"))
                return nil
            }
            return SourceNode.from(node, file: file, diagnostics: &diagnostics)
        } catch let error as YamlError {
            diagnostics.append(Self.diagnostic(for: error, file: file))
            return nil
        } catch {
            diagnostics.append(
                Diagnostic(
                    .error, RuleID("TFC0001"), "cannot parse YAML: \(error)",
                    at: SourceLocation(file: file, line: 1, column: 1), path: ""))
            return nil
        }
    }

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let notes = context.map { ["\($0.text) at line \($0.mark.line), column \($0.mark.column)"] } ?? []
            return Diagnostic(
                .error, RuleID("TFC0001"), "YAML syntax error: \(problem)", at: at(mark), path: "",
                notes: notes)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(
                .error, RuleID("TFC0008"), "duplicate key \(keys) in one mapping",
                at: at(context.mark), path: "", help: "keep one of them")
        case .reader(let problem, _, _, _):
            return Diagnostic(
                .error, RuleID("TFC0001"), "cannot read YAML: \(problem)",
                at: SourceLocation(file: file, line: 1, column: 1), path: "")
        default:
            return Diagnostic(
                .error, RuleID("TFC0001"), "cannot parse YAML: \(error)",
                at: SourceLocation(file: file, line: 1, column: 1), path: "")
        }
    }

    /// `extends` targets are relative to the directory of the file naming them.
    private func resolve(_ target: String, relativeTo display: String) -> String {
        if target.hasPrefix("/") { return displayPath(target) }
        let directory = (display as NSString).deletingLastPathComponent
        let joined = directory.isEmpty ? target : (directory as NSString).appendingPathComponent(target)
        return normalize(joined)
    }

    private func canonicalPath(_ display: String) -> String {
        display.hasPrefix("/")
            ? normalize(display) : normalize((workingDirectory as NSString).appendingPathComponent(display))
    }

    /// The path relative to the working directory when it lies below it: never an absolute path in output.
    private func displayPath(_ path: String) -> String {
        let normalized = normalize(path)
        let base = normalize(workingDirectory) + "/"
        if normalized.hasPrefix(base) { return String(normalized.dropFirst(base.count)) }
        return normalized
    }

    /// Removes `.` and resolves `..` lexically, without touching the file system.
    private func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : joined
    }
}
