/// An haproxy configuration as a tree: sections of directives, each a list of words. One printer writes it, and
/// quotes every word that is not plainly safe, so a value from the model can never become a second directive.
public struct HAProxyConfig: Sendable, Hashable {
    public struct Section: Sendable, Hashable {
        /// `global`, `defaults`, `frontend NAME` or `backend NAME`.
        public var kind: String
        public var name: String?
        public var directives: [Directive]

        public init(_ kind: String, _ name: String? = nil, _ directives: [Directive]) {
            self.kind = kind
            self.name = name
            self.directives = directives
        }
    }

    public struct Directive: Sendable, Hashable {
        public var words: [String]
        /// Written on its own line above the directive.
        public var comment: String?

        public init(_ words: String..., comment: String? = nil) {
            self.words = words
            self.comment = comment
        }

        public init(words: [String], comment: String? = nil) {
            self.words = words
            self.comment = comment
        }
    }

    public var sections: [Section]

    public init(_ sections: [Section]) { self.sections = sections }

    /// The configuration file's text.
    public func printed(header: [String]) -> String {
        var lines = header.map { "# " + $0 }
        for section in sections {
            if !lines.isEmpty { lines.append("") }
            lines.append(([section.kind] + (section.name.map { [Self.word($0)] } ?? [])).joined(separator: " "))
            for directive in section.directives {
                if let comment = directive.comment {
                    lines += comment.split(separator: "\n", omittingEmptySubsequences: false).map { "    # " + $0 }
                }
                lines.append("    " + directive.words.map(Self.word).joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A word as haproxy reads it back: bare when every character is plainly literal, else in single quotes,
    /// inside which haproxy expands nothing (no `$VAR`, no escapes); a single quote itself is closed, escaped and
    /// reopened (`'\''`), since haproxy joins adjacent quoted and bare parts into one word as a shell does.
    static func word(_ text: String) -> String {
        if !text.isEmpty, text.unicodeScalars.allSatisfy(isBare) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func isBare(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "-", "_", ".", "/", ":", "=", ",", "@", "+", "%", "(", ")", "{", "}", "[", "]", "!", "<", ">", "^", "|",
            "*", "?":
            true
        default: false
        }
    }
}
