import LocalRuntime
import Testing

/// Colour only where a person reads a terminal: never in a CI log, with `--no-color`, `NO_COLOR` or `TERM=dumb`.
@Suite struct TerminalStyleTests {
    @Test("colour only on a terminal, and never with --no-color, NO_COLOR (not empty) or TERM=dumb")
    func rules() {
        let terminal = ["TERM": "xterm-256color"]
        #expect(TerminalStyle.colour(isTerminal: true, noColorFlag: false, environment: terminal))
        #expect(!TerminalStyle.colour(isTerminal: false, noColorFlag: false, environment: terminal))
        #expect(!TerminalStyle.colour(isTerminal: true, noColorFlag: true, environment: terminal))
        #expect(!TerminalStyle.colour(isTerminal: true, noColorFlag: false, environment: ["NO_COLOR": "1"]))
        // no-color.org: set to anything but the empty string.
        #expect(TerminalStyle.colour(isTerminal: true, noColorFlag: false, environment: ["NO_COLOR": ""]))
        #expect(!TerminalStyle.colour(isTerminal: true, noColorFlag: false, environment: ["TERM": "dumb"]))
    }
}
