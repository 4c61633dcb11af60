import Foundation
import Shell
import TestSupport
import Testing

@Suite struct QuotingTests {
    let printer = ScriptPrinter()

    @Test("safe words stay bare; others are single-quoted; expansions are double-quoted")
    func spelling() {
        #expect(printer.quote("gcloud") == "gcloud")
        #expect(printer.quote("--format=value(host)") == "'--format=value(host)'")
        #expect(printer.quote("it's") == #"'it'\''s'"#)
        #expect(printer.quote("") == "''")
        #expect(printer.quote(.variable("PROJECT")) == "\"$PROJECT\"")
        #expect(printer.quote(.variable("BASH_SOURCE[0]")) == "\"${BASH_SOURCE[0]}\"")
        #expect(printer.quote(.defaulted("PROJECT", "p-1")) == "\"${PROJECT:-p-1}\"")
        #expect(printer.quote(.concat(["a\"$`\\", .variable("X"), .variable("1")])) == #""a\"\$\`\\${X}$1""#)
        #expect(printer.quote(.allArguments) == "\"$@\"")
        #expect(printer.quote(.syntax(.notEqual)) == "!=")
    }

    /// Hostile strings: every one must reach a command as exactly one unchanged argument.
    static let hostile = [
        "plain", "two words", "it's", "\"double\"", "$HOME", "${PATH}", "$(id)", "`id`", "back\\slash", "*", "?",
        "[a]", "~", "#comment", "a;b", "a|b", "a&&b", "new\nline", "tab\tbed", "ünïcödé", "--flag=a b", "!", "{a,b}",
        "'", "''", "-", "", " leading", "trailing ", "%s", "a=b",
        // A quote, a double quote or a backtick followed by a combining mark is one Swift Character that is none
        // of them: escaping by Character would let the quote end the quoting.
        "x'\u{301}; echo hijacked", "\"\u{301}$(id)", "`\u{301}id`", "crlf\r\nend",
    ]

    @Test("bash receives every hostile literal as one unchanged argument", Oracle.bash.trait)
    func roundTripLiterals() async throws {
        let words = Self.hostile.map(Word.literal)
        let script = Script(header: [], body: [.command(Command([.literal("printf"), .literal("%s\\0")] + words))])
        #expect(try await runBash(printer.print(script)) == Self.hostile)
    }

    @Test("bash receives variables and concatenations unsplit and unglobbed", Oracle.bash.trait)
    func roundTripExpansions() async throws {
        let hostile = "a b * $(id) `x` \"q\" 'q' \\ ${Y}"
        let script = Script(
            header: [],
            body: [
                .assign("X", .literal(hostile)),
                .assign("D", .defaulted("UNSET_FOR_TEST", "de}fault $x")),
                .command(
                    Command(
                        "printf", "%s\\0", .variable("X"), .concat(["<", .variable("X"), ">", "$lit\"`"]),
                        .variable("D"))),
            ])
        #expect(try await runBash(printer.print(script)) == [hostile, "<\(hostile)>$lit\"`", "de}fault $x"])
    }

    @Test("control flow prints as bash that runs", Oracle.bash.trait)
    func controlFlow() async throws {
        let script = Script(
            header: ["test"],
            body: [
                .command(Command("set", "-euo", "pipefail")),
                .function("greet", [.command(Command("printf", "%s\\0", .concat(["hi ", .variable("1")])))]),
                .for(
                    "name", in: ["a b", "c"],
                    [
                        .case(
                            .variable("name"),
                            [
                                CaseArm(
                                    [[.word(.literal("a")), .anyString]],
                                    [.command(Command("greet", .variable("name")))]),
                                CaseArm([[.anyString]], [.command(Command("printf", "%s\\0", "other"))]),
                            ])
                    ]),
                .if(Command.test(.syntax(.isEmpty), ""), then: [.command(Command("printf", "%s\\0", "empty"))]),
                .if(
                    Command("false"), negated: true,
                    then: [
                        .command(
                            Command("printf", "%s", "piped").piped(into: Command("tr", "p", "P")).redirecting(
                                .discardErrors))
                    ]),
            ])
        #expect(try await runBash(printer.print(script)) == ["hi a b", "other", "empty", "PiPed"])
    }

    /// Runs a script with bash and splits its output on NUL.
    private func runBash(_ text: String) async throws -> [String] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("script.sh")
        try Data(text.utf8).write(to: file)
        let result = try await Oracle.bash.run([file.path])
        #expect(result.status == 0, "\(text)\n\(result.output)")
        var parts = result.output.components(separatedBy: "\0")
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}
