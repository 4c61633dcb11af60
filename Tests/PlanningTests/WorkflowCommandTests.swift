import Diagnostics
import Foundation
import TestSupport
import Testing

@testable import TfctlCLI

/// `--format github`: diagnostics and hazards as workflow commands, escaped as the Actions runner reads them.
@Suite struct WorkflowCommandTests {
    @Test("messages escape %, CR and LF; properties also : and , (actions/toolkit's command.ts)")
    func escaping() {
        let command = WorkflowCommands.command(
            .error, [("file", "Env, one: two.yaml"), ("line", "3"), ("title", "")], "50% done\r\nnext: a,b")
        #expect(command == "::error file=Env%2C one%3A two.yaml,line=3::50%25 done%0D%0Anext: a,b")
        #expect(WorkflowCommands.command(.notice, [], "plain") == "::notice::plain")
    }

    @Test("a diagnostic annotates its file, line and columns, titled by its rule, with its help")
    func diagnostics() {
        let diagnostic = Diagnostic(
            .error, RuleID("TFC0302"), "concurrency 1200 exceeds Cloud Run's maximum of 1000",
            at: SourceLocation(file: "Environments/prod.yaml", line: 5, column: 38, length: 4),
            path: "services.realtime.concurrency", help: "set concurrency between 1 and 1000")
        let warning = Diagnostic(
            .warning, RuleID("TFC0703"), "alert policies notify nobody", at: nil, path: "monitoring")
        #expect(
            WorkflowCommands.diagnostics([diagnostic, warning])
                == "::error file=Environments/prod.yaml,line=5,endLine=5,col=38,endColumn=41,title=TFC0302::concurrency 1200 "
                + "exceeds Cloud Run's maximum of 1000%0Ahelp: set concurrency between 1 and 1000\n"
                + "::warning title=TFC0703::alert policies notify nobody\n")
    }

    @Test("a plan's dangers are errors and its disruptions warnings, on the environment file")
    func hazards() throws {
        let report = try PlanGoldenTests.report("change-tier")
        let commands = PlanCommand.hazardCommands(report, file: "Environments/change-tier.yaml")
        let lines = commands.split(separator: "\n")
        #expect(!lines.isEmpty)
        let dangers = report.plan.changes.flatMap(\.hazards).filter { $0.severity == .danger }.count
        #expect(
            lines.filter { $0.hasPrefix("::error file=Environments/change-tier.yaml,title=danger%3A ") }.count
                == dangers)
        #expect(lines.allSatisfy { $0.hasPrefix("::error ") || $0.hasPrefix("::warning ") })
    }
}
