import ArgumentParser
import Foundation

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
            for difference in differences { print(difference) }
            print("\(directory): \(differences.count) file(s) differ; run `tfctl render --env \(options.env)`")
            throw ExitCode(2)
        }
        try writer.replace(with: files)
        print("\(directory): wrote \(files.count) files")
    }
}
