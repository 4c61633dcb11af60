import Foundation
import RenderPipeline
import TestSupport
import Testing

/// `render --check`'s diff is a real unified diff: `patch` turns what is on disk into what would be rendered.
@Suite struct UnifiedDiffTests {
    /// Applies `diff` to a file holding `old` with `patch` and answers the result.
    func patched(_ old: String, _ diff: String) throws -> String {
        let directory = try temporaryDirectory("tfctl-diff")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("file.txt")
        try Data(old.utf8).write(to: file)
        let patchFile = directory.appendingPathComponent("change.diff")
        try Data(diff.utf8).write(to: patchFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["patch", "--silent", "--force", file.path, patchFile.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "patch refused:\n\(diff)")
        return String(decoding: try Data(contentsOf: file), as: UTF8.self)
    }

    @Test("patch applies the diff of every pair: edits anywhere, empty texts, a missing last newline")
    func roundTrips() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/patch") else {
            Issue.record("SKIPPED: patch is not installed")
            return
        }
        var generator = SeededGenerator(seed: 17)
        var pairs: [(String, String)] = [
            ("", "a\n"), ("a\n", ""), ("a\nb\nc\n", "a\nb\nc"), ("a\nb\nc", "a\nb\nc\n"), ("x", "y"),
            ("one\ntwo\nthree\n", "zero\none\ntwo\nthree\nfour\n"),
            // CRLF lines are lines (Swift reads "\r\n" as one Character; the diff splits bytes).
            ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n"),
        ]
        for _ in 0..<40 {
            let old = (0..<Int.random(in: 0...60, using: &generator)).map { _ in
                "line \(Int.random(in: 0...9, using: &generator))"
            }
            var new = old
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let at = Int.random(in: 0...new.count, using: &generator)
                switch Int.random(in: 0...2, using: &generator) {
                case 0: new.insert("added \(Int.random(in: 0...99, using: &generator))", at: at)
                case 1 where at < new.count: new.remove(at: at)
                default: if at < new.count { new[at] = "changed" }
                }
            }
            pairs.append((old.map { $0 + "\n" }.joined(), new.map { $0 + "\n" }.joined()))
        }
        for (old, new) in pairs where old != new {
            let diff = try #require(UnifiedDiff.diff(old, new, oldName: "a/file.txt", newName: "b/file.txt"))
            #expect(try patched(old, diff) == new, "\(diff)")
        }
        #expect(UnifiedDiff.diff("same\n", "same\n", oldName: "a", newName: "b") == nil)
        let crlf = try #require(UnifiedDiff.diff("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", oldName: "a", newName: "b"))
        #expect(crlf.contains("\n-b\r\n+B\r\n"), "\(crlf)")
    }

    @Test("the hunks carry three lines of context and diff's line numbers")
    func hunkShape() throws {
        let old = (1...20).map { "\($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "10\n", with: "ten\n")
        let diff = try #require(UnifiedDiff.diff(old, new, oldName: "a/f", newName: "b/f"))
        #expect(diff == "--- a/f\n+++ b/f\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n")
    }

    @Test("texts too different to walk are left to their line counts")
    func bounded() {
        let old = (0..<300).map { "a\($0)\n" }.joined()
        let new = (0..<300).map { "b\($0)\n" }.joined()
        #expect(UnifiedDiff.diff(old, new, oldName: "a", newName: "b", maxEdits: 100) == nil)
        #expect(UnifiedDiff.diff(old, new, oldName: "a", newName: "b") != nil)
    }
}

/// A small deterministic generator, so a failing case is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
