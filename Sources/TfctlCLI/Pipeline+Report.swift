import Diagnostics
import Foundation
import RenderPipeline

extension Pipeline {
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
