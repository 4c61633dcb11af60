/// A typed bash script: commands are argument vectors, and every piece of data reaches the text through one
/// quoting function. Knows nothing about gcloud.
public struct Script: Sendable, Hashable {
    /// Comment lines after the shebang.
    public var header: [String]
    public var body: [Statement]

    public init(header: [String], body: [Statement]) {
        self.header = header
        self.body = body
    }
}

public indirect enum Statement: Sendable, Hashable {
    case comment(String)
    case blank
    case command(Command)
    /// `NAME=word`, or `local NAME` / `local NAME=word` inside functions.
    case assign(String, Word?, local: Bool = false)
    /// `if [!] condition; then ... [else ...] fi`.
    case `if`(Command, negated: Bool = false, then: [Statement], else: [Statement] = [])
    case function(String, [Statement])
    /// `for NAME in words; do ... done`.
    case `for`(String, in: [Word], [Statement])
    /// `case word in pattern) ... ;; esac`.
    case `case`(Word, [CaseArm])
}

public struct CaseArm: Sendable, Hashable {
    /// Alternatives (`a|b`), each a sequence of glob and quoted parts.
    public var patterns: [[PatternPart]]
    public var body: [Statement]

    public init(_ patterns: [[PatternPart]], _ body: [Statement]) {
        self.patterns = patterns
        self.body = body
    }

    /// An arm matching literal words.
    public init(literals: [String], _ body: [Statement]) {
        self.init(literals.map { [.word(.literal($0))] }, body)
    }
}

public enum PatternPart: Sendable, Hashable {
    /// `*` (any string) or `?` (one character).
    case anyString
    case anyCharacter
    /// Matched literally: quoted like any word.
    case word(Word)
}

/// A simple command with redirections, optionally piped into further commands.
public struct Command: Sendable, Hashable {
    public var words: [Word]
    public var redirects: [Redirect]
    /// `self | pipeline[0] | pipeline[1] ...`
    public var pipeline: [Command]

    public init(_ words: [Word], redirects: [Redirect] = [], pipeline: [Command] = []) {
        self.words = words
        self.redirects = redirects
        self.pipeline = pipeline
    }

    /// A command of literal words and variables: `Command("gcloud", "run", ...)`.
    public init(_ words: Word...) { self.init(words) }

    public func piped(into next: Command) -> Command {
        Command(words, redirects: redirects, pipeline: pipeline + [next])
    }

    public func redirecting(_ more: Redirect...) -> Command {
        Command(words, redirects: redirects + more, pipeline: pipeline)
    }
}

public enum Redirect: Sendable, Hashable {
    /// `>/dev/null`
    case discardOutput
    /// `2>&1`
    case errorsToOutput
    /// `>&2`
    case outputToErrors
    /// `2>/dev/null`
    case discardErrors
    /// `>"$FILE"`: standard output into a file, replacing it.
    case outputToFile(Word)
}

/// One shell word. Literal text is always quoted as needed; variables and substitutions expand inside
/// double quotes, so nothing is ever split or globbed.
public enum Word: Sendable, Hashable, ExpressibleByStringInterpolation {
    case literal(String)
    case variable(String)
    /// `"${NAME:-default}"`
    case defaulted(String, String)
    /// `"$@"`
    case allArguments
    /// `"$(command)"`
    case substitution(Command)
    /// Parts joined into one double-quoted word: `"prefix-${NAME}-$(cmd)"`.
    case concat([WordPart])
    /// Shell syntax that must stay unquoted, from a closed set.
    case syntax(Syntax)

    public init(stringLiteral value: String) { self = .literal(value) }
}

/// The unquoted tokens of `[ ... ]` tests.
public enum Syntax: String, Sendable, Hashable {
    case openTest = "["
    case closeTest = "]"
    case equal = "="
    case notEqual = "!="
    case isEmpty = "-z"
    case isNotEmpty = "-n"
    case isFile = "-f"
}

extension Command {
    /// `[ words ]`.
    public static func test(_ words: Word...) -> Command {
        Command([.syntax(.openTest)] + words + [.syntax(.closeTest)])
    }
}

public enum WordPart: Sendable, Hashable, ExpressibleByStringInterpolation {
    case literal(String)
    case variable(String)
    case substitution(Command)

    public init(stringLiteral value: String) { self = .literal(value) }
}
