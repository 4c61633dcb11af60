import Diagnostics
import Foundation
import RenderPipeline

extension Pipeline {
    /// Prints diagnostics: text to standard error, JSON and workflow commands to standard output.
    func report(format: OutputFormat) {
        let formatter = DiagnosticFormatter(sources: loaded.sources)
        switch format {
        case .json:
            print(formatter.json(diagnostics), terminator: "")
        case .github:
            // To standard output, where the runner reads workflow commands; the text form too, for the log.
            print(WorkflowCommands.diagnostics(diagnostics), terminator: "")
            if !diagnostics.isEmpty { FileHandle.standardError.write(Data(formatter.text(diagnostics).utf8)) }
        case .text where !diagnostics.isEmpty, .markdown where !diagnostics.isEmpty:
            FileHandle.standardError.write(Data(formatter.text(diagnostics).utf8))
        case .text, .markdown:
            break
        }
    }
}
