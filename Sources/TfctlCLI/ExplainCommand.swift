import ArgumentParser
import Diagnostics

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Explain a rule: why it exists and how to fix it.")

    @Argument(help: "A rule id such as TFC0302.")
    var rule: String?

    @Flag(name: .long, help: "List every rule.")
    var list = false

    @Flag(name: .long, help: "With --list, print the rule table of README.md.")
    var markdown = false

    func run() throws {
        if markdown {
            print("| rule | family | severity | title |\n|---|---|---|---|")
            for rule in RuleCatalog.all {
                print("| \(rule.id) | \(rule.family) | \(rule.severity.rawValue) | \(rule.title) |")
            }
            return
        }
        if list || rule == nil {
            for rule in RuleCatalog.all { print("\(rule.id)  \(rule.family.padding(13))  \(rule.title)") }
            return
        }
        guard let id = rule, let found = RuleCatalog.rule(id) else {
            let suggestion = nearestMatch(to: rule ?? "", in: RuleCatalog.all.map(\.id.rawValue))
            throw ValidationError("unknown rule '\(rule ?? "")'" + (suggestion.map { "; did you mean \($0)?" } ?? ""))
        }
        print("\(found.id): \(found.title) (\(found.family), \(found.severity.rawValue))\n")
        print(found.explanation)
        if let source = found.source { print("\nSource: \(source)") }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
