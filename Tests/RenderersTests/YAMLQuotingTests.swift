import Testing
import Yams

@testable import Renderers

@Suite struct YAMLQuotingTests {
    /// Strings a resolver reads as numbers, booleans, nulls or timestamps, and strings it reads as strings.
    static let samples = [
        "1", "0", "-1", "+1", "1.5", ".5", "1e3", "0x1F", "0o17", "1_000", "12:30", ".inf", "-.inf", ".nan", "~",
        "null",
        "Null", "NULL", "true", "True", "FALSE", "yes", "No", "on", "OFF", "y", "n", "2026-11-27", "", "512Mi", "gen2",
        "https://x", "private-ranges-only", "tfctl", "a b", "1000m", "3600s", "latest", "info", "[1]", "{}", "@x", "#x",
        "a: b", "a #b", "a#b", "x:", " lead", "trail ", "line\nbreak", "tab\there", "it's", "?x", ":x", "!x", "*x",
        "&x", "|x", ">x", "%x", "`x", "\"x\"", "élan", "a,b", "a[0]", "<<", "=", "---", "...", "del\u{7F}",
        "c1\u{85}next", "line\u{2028}sep", "para\u{2029}sep", "bell\u{07}", "q\"\u{301}", "back\\slash",
    ]

    @Test("every string a YAML resolver would not read back as a string is quoted", arguments: samples)
    func sound(_ text: String) {
        let plain = Node.scalar(Node.Scalar(text))
        if Resolver.default.resolveTag(of: plain) != .str {
            #expect(
                YAMLValue.mightReadAsNonString(text),
                "'\(text)' would be read as \(Resolver.default.resolveTag(of: plain))")
        }
    }

    @Test("every emitted string reads back as the same string")
    func roundTrip() throws {
        let document = YAMLValue.mapping(
            Self.samples.enumerated().map { YAMLEntry(key: "k\($0.offset)", value: .string($0.element)) })
        let loaded = try #require(try Yams.load(yaml: document.document(header: [])) as? [String: Any])
        for (index, sample) in Self.samples.enumerated() {
            #expect(
                loaded["k\(index)"] as? String == sample,
                "'\(sample)' came back as \(String(describing: loaded["k\(index)"]))")
        }
    }
}
