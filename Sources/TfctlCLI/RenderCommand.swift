import ArgumentParser
import Foundation
import RenderPipeline

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render an environment to out/<env>/: Terraform, gcloud scripts, Knative YAML.",
        discussion: "With --check, compare with what is on disk instead of writing (exit 2 when they differ).")

    @OptionGroup var options: EnvironmentOptions

    @Option(name: .long, help: "Output directory (default: out/<env name>).")
    var out: String?

    @Flag(name: .long, help: "Exit 2 if the files on disk differ from what would be rendered; write nothing.")
    var check = false

    func run() throws {
        let pipeline = options.pipeline()
        pipeline.report(format: options.format)
        if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
        let files = pipeline.render()
        let directory = out ?? "out/\(pipeline.loaded.name)"
        let writer = OutputDirectory(path: options.resolve(directory), displayPath: directory)
        if check {
            let differences = try writer.differences(from: files)
            if differences.isEmpty {
                print("\(directory): up to date (\(files.count) files)")
                return
            }
            for difference in differences { print("\(difference.kind.rawValue): \(directory)/\(difference.path)") }
            print("\(directory): \(differences.count) file(s) differ; run `tfctl render --env \(options.env)`")
            print(Self.diff(differences, directory: directory), terminator: "")
            throw ExitCode(2)
        }
        try writer.replace(with: files)
        print("\(directory): wrote \(files.count) files")
    }

    /// At most this many lines of diff in all: a CI log shows the fix, not every line of a whole new render.
    static let maxDiffLines = 400

    /// A unified diff of what is on disk (`a/`) into what would be rendered (`b/`), file by file, with `/dev/null`
    /// for a missing or extra file, as `git diff` writes them, cut at `maxDiffLines` with what was left out.
    static func diff(_ differences: [OutputDirectory.Difference], directory: String) -> String {
        var out = ""
        var lines = 0
        var cut: [String] = []
        for difference in differences {
            let old = difference.kind == .missing ? "/dev/null" : "a/\(directory)/\(difference.path)"
            let new = difference.kind == .extra ? "/dev/null" : "b/\(directory)/\(difference.path)"
            guard
                // A walk of more edits than the diff may show would be cut anyway (and its trace grows with the
                // square of the edits).
                let text = UnifiedDiff.diff(
                    difference.onDisk ?? "", difference.rendered ?? "", oldName: old, newName: new,
                    maxEdits: maxDiffLines * 2)
            else {
                cut.append("\(difference.path) (too different to show line by line)")
                continue
            }
            let count = text.utf8.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            guard lines + count <= maxDiffLines else {
                cut.append("\(difference.path) (\(count) lines)")
                continue
            }
            out += text
            lines += count
        }
        if !cut.isEmpty {
            out +=
                "... diff of \(cut.count) more file(s) left out after \(maxDiffLines) lines: "
                + cut.joined(separator: ", ") + "\n"
        }
        return out
    }
}
