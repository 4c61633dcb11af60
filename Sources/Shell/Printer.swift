/// Prints a `Script` as bash: two-space indentation, one statement per line, every word through `quote`.
public struct ScriptPrinter: Sendable {
    public init() {}

    public func print(_ script: Script) -> String {
        var out = "#!/usr/bin/env bash\n"
        out.reserveCapacity(16384)
        for line in script.header { out += line.isEmpty ? "#\n" : "# \(line)\n" }
        write(script.body, indent: 0, into: &out)
        return out
    }

    /// Appends to one buffer throughout, so nesting costs nothing extra.
    private func write(_ list: [Statement], indent: Int, into out: inout String) {
        for statement in list { write(statement, indent: indent, into: &out) }
    }

    private func write(_ statement: Statement, indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        switch statement {
        case .comment(let text):
            out += "\(pad)# \(text)\n"
        case .blank:
            out += "\n"
        case .command(let command):
            out += pad + render(command) + "\n"
        case .assign(let name, let value, let isLocal):
            let assignment = value.map { "\(name)=\(quote($0))" } ?? name
            out += "\(pad)\(isLocal ? "local " : "")\(assignment)\n"
        case .if(let condition, let negated, let then, let otherwise):
            out += "\(pad)if \(negated ? "! " : "")\(render(condition)); then\n"
            write(then, indent: indent + 1, into: &out)
            if !otherwise.isEmpty {
                out += "\(pad)else\n"
                write(otherwise, indent: indent + 1, into: &out)
            }
            out += "\(pad)fi\n"
        case .function(let name, let body):
            out += "\(pad)\(name)() {\n"
            write(body, indent: indent + 1, into: &out)
            out += "\(pad)}\n"
        case .for(let name, let words, let body):
            out += "\(pad)for \(name) in \(words.map(quote).joined(separator: " ")); do\n"
            write(body, indent: indent + 1, into: &out)
            out += "\(pad)done\n"
        case .case(let word, let arms):
            out += "\(pad)case \(quote(word)) in\n"
            for arm in arms {
                out += "\(pad)  \(arm.patterns.map(pattern).joined(separator: "|")))\n"
                write(arm.body, indent: indent + 2, into: &out)
                out += "\(pad)    ;;\n"
            }
            out += "\(pad)esac\n"
        }
    }

    public func render(_ command: Command) -> String {
        var text = command.words.map(quote).joined(separator: " ")
        for redirect in command.redirects {
            switch redirect {
            case .discardOutput: text += " >/dev/null"
            case .errorsToOutput: text += " 2>&1"
            case .outputToErrors: text += " >&2"
            case .discardErrors: text += " 2>/dev/null"
            case .outputToFile(let file): text += " >" + quote(file)
            }
        }
        return ([text] + command.pipeline.map(render)).joined(separator: " | ")
    }

    private func pattern(_ parts: [PatternPart]) -> String {
        parts.map { part in
            switch part {
            case .anyString: return "*"
            case .anyCharacter: return "?"
            case .word(let word): return quote(word)
            }
        }.joined()
    }

    /// The one quoting function. Plain words stay bare when every character is safe, otherwise they are
    /// single-quoted; anything that expands is double-quoted with `\`, `"`, `$` and `` ` `` escaped.
    public func quote(_ word: Word) -> String {
        switch word {
        case .literal(let text):
            if !text.isEmpty, text.utf8.allSatisfy(Self.isSafe), !text.hasPrefix("~"), !text.hasPrefix("#") {
                return text
            }
            guard text.utf8.contains(UInt8(ascii: "'")) else { return "'" + text + "'" }
            return "'" + text.replacingAll(UInt8(ascii: "'"), with: "'\\''") + "'"
        case .variable(let name):
            return "\"\(reference(name, braced: false))\""
        case .defaulted(let name, let fallback):
            return "\"${\(name):-\(escapeInDoubleQuotes(fallback, extra: UInt8(ascii: "}")))}\""
        case .allArguments:
            return "\"$@\""
        case .substitution(let command):
            return "\"$(\(render(command)))\""
        case .syntax(let token):
            return token.rawValue
        case .concat(let parts):
            return "\""
                + parts.map { part in
                    switch part {
                    case .literal(let text): return escapeInDoubleQuotes(text)
                    case .variable(let name): return reference(name, braced: true)
                    case .substitution(let command): return "$(\(render(command)))"
                    }
                }.joined() + "\""
        }
    }

    private func reference(_ name: String, braced: Bool) -> String {
        let special = name.count == 1 && !name.first!.isLetter
        return braced && !special ? "${\(name)}" : (name.contains("[") ? "${\(name)}" : "$\(name)")
    }

    /// By Unicode scalar, not by Character: a quote followed by a combining mark is one Character that is not
    /// `"`, and would end the quoting unescaped. `extra` is ASCII (`}` in `${NAME:-...}`).
    private func escapeInDoubleQuotes(_ text: String, extra: UInt8? = nil) -> String {
        func needsBackslash(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "$"), UInt8(ascii: "`"): true
            default: byte == extra
            }
        }
        // Most text has nothing to escape: returned as it is, without a walk over its characters.
        if !text.utf8.contains(where: needsBackslash) { return text }
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if needsBackslash(byte) { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes a word may hold unquoted (ASCII only: every byte of a multi-byte character is 0x80 or above).
    private static func isSafe(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
            UInt8(ascii: "="), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: ","):
            return true
        default: return false
        }
    }
}

extension String {
    /// Replaces an ASCII byte wherever it is, whatever follows it (by byte, not by Character: a quote followed by
    /// a combining mark is one Character that is not `'`).
    fileprivate func replacingAll(_ target: UInt8, with replacement: String) -> String {
        var out = [UInt8]()
        for byte in utf8 { if byte == target { out += replacement.utf8 } else { out.append(byte) } }
        return String(decoding: out, as: UTF8.self)
    }
}
