/// A unified diff of two texts (what `diff -u` and `git diff` print), for `render --check` to show what differs:
/// Myers' algorithm over lines, hunks with three lines of context, `\ No newline at end of file` where a text
/// ends without one. `patch` applies what it prints (a test holds it to that).
public enum UnifiedDiff {
    public static let context = 3

    /// The diff of `old` into `new` with `---`/`+++` headers naming `oldName` and `newName`; nil when they are the
    /// same, or when they differ in more than `maxEdits` lines (then only the line counts are worth printing).
    public static func diff(
        _ old: String, _ new: String, oldName: String, newName: String, maxEdits: Int = 4000
    ) -> String? {
        guard old != new else { return nil }
        let a = Lines(old), b = Lines(new)
        guard let edits = script(a.keys, b.keys, maxEdits: maxEdits) else { return nil }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        for hunk in hunks(edits) {
            let oldLength = hunk.filter { $0.kind != .insert }.count
            let newLength = hunk.filter { $0.kind != .delete }.count
            let oldStart = (hunk.first { $0.kind != .insert }?.old).map { $0 + 1 } ?? hunk[0].old
            let newStart = (hunk.first { $0.kind != .delete }?.new).map { $0 + 1 } ?? hunk[0].new
            out += "@@ -\(range(oldStart, oldLength)) +\(range(newStart, newLength)) @@\n"
            for edit in hunk {
                switch edit.kind {
                case .keep:
                    out += " " + a.lines[edit.old] + "\n"
                    if edit.old == a.lines.count - 1, !a.endsWithNewline { out += "\\ No newline at end of file\n" }
                case .delete:
                    out += "-" + a.lines[edit.old] + "\n"
                    if edit.old == a.lines.count - 1, !a.endsWithNewline { out += "\\ No newline at end of file\n" }
                case .insert:
                    out += "+" + b.lines[edit.new] + "\n"
                    if edit.new == b.lines.count - 1, !b.endsWithNewline { out += "\\ No newline at end of file\n" }
                }
            }
        }
        return out
    }

    /// `start,length`, or `start` alone for one line, as diff writes it.
    private static func range(_ start: Int, _ length: Int) -> String {
        length == 1 ? "\(start)" : "\(start),\(length)"
    }

    /// A text's lines without their newlines, and whether its last line had one.
    struct Lines {
        let lines: [Substring]
        let endsWithNewline: Bool
        /// What the lines are compared by: a last line without its newline differs from the same line with one.
        let keys: [Substring]

        init(_ text: String) {
            // By bytes: Swift reads "\r\n" as one Character, which is not "\n", and would not split there. A line of
            // a CRLF file keeps its "\r", as diff's does.
            var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
                Substring(String(decoding: $0, as: UTF8.self))
            }
            endsWithNewline = text.isEmpty || text.utf8.last == UInt8(ascii: "\n")
            if endsWithNewline { lines.removeLast() }
            self.lines = lines
            var keys = lines
            if !endsWithNewline, let last = keys.popLast() { keys.append(Substring(String(last) + "\u{0}")) }
            self.keys = keys
        }
    }

    struct Edit: Equatable {
        enum Kind { case keep, delete, insert }
        let kind: Kind
        /// The line's index in the old text (for an insert: how many old lines come before it).
        let old: Int
        /// The line's index in the new text (for a delete: how many new lines come before it).
        let new: Int
    }

    /// The shortest edit script (Myers, "An O(ND) Difference Algorithm", 1986), in order; nil past `maxEdits`.
    /// The common head and tail are kept aside first, so the search covers only what changed.
    static func script(_ a: [Substring], _ b: [Substring], maxEdits: Int) -> [Edit]? {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] {
            tail += 1
        }
        let n = a.count - head - tail, m = b.count - head - tail
        // v[k] is the furthest x on diagonal k = x - y; each round's v (for k in -d...d) is kept to walk back.
        let offset = n + m + 1
        var v = [Int](repeating: 0, count: 2 * offset + 1)
        var trace: [[Int]] = []
        var found = false
        search: for d in 0...(n + m) {
            guard d <= maxEdits else { return nil }
            trace.append(Array(v[(offset - d)...(offset + d)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x =
                    k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])
                    ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[head + x] == b[head + y] {
                    x += 1
                    y += 1
                }
                v[offset + k] = x
                if x >= n, y >= m {
                    found = true
                    break search
                }
            }
        }
        guard found else { return nil }
        // Walk back from the end through each round's diagonals.
        var middle: [Edit] = []
        var x = n, y = m
        for d in stride(from: trace.count - 1, to: 0, by: -1) {
            let round = trace[d]
            func at(_ k: Int) -> Int { round[k + d] }
            let k = x - y
            let previous = k == -d || (k != d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
            let previousX = at(previous), previousY = previousX - previous
            while x > previousX, y > previousY {
                x -= 1
                y -= 1
                middle.append(Edit(kind: .keep, old: head + x, new: head + y))
            }
            if x == previousX {
                y -= 1
                middle.append(Edit(kind: .insert, old: head + x, new: head + y))
            } else {
                x -= 1
                middle.append(Edit(kind: .delete, old: head + x, new: head + y))
            }
        }
        while x > 0, y > 0 {
            x -= 1
            y -= 1
            middle.append(Edit(kind: .keep, old: head + x, new: head + y))
        }
        let before = (0..<head).map { Edit(kind: .keep, old: $0, new: $0) }
        let after = (0..<tail).map { Edit(kind: .keep, old: head + n + $0, new: head + m + $0) }
        return before + middle.reversed() + after
    }

    /// The changes with `context` kept lines around them; changes closer than twice that share a hunk.
    static func hunks(_ edits: [Edit]) -> [[Edit]] {
        let changed = edits.indices.filter { edits[$0].kind != .keep }
        guard !changed.isEmpty else { return [] }
        var hunks: [[Edit]] = []
        var start = max(0, changed[0] - context)
        var end = min(edits.count - 1, changed[0] + context)
        for index in changed.dropFirst() {
            if index - context <= end + 1 {
                end = min(edits.count - 1, index + context)
            } else {
                hunks.append(Array(edits[start...end]))
                start = index - context
                end = min(edits.count - 1, index + context)
            }
        }
        hunks.append(Array(edits[start...end]))
        return hunks
    }
}
