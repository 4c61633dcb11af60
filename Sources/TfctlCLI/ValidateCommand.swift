import ArgumentParser

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an environment against Google Cloud's limits; writes nothing.")

    @OptionGroup var options: EnvironmentOptions

    func run() throws {
        let pipeline = options.pipeline()
        pipeline.report(format: options.format)
        if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
        if options.format == .text { print("\(pipeline.loaded.displayPath): valid") }
    }
}
