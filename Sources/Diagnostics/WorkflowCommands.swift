/// Diagnostics and plan hazards as GitHub Actions workflow commands (`::error file=F,line=L,col=C,title=T::M`),
/// which the runner turns into annotations on the lines of a pull request. Escaped as the runner reads them
/// (actions/toolkit, `command.ts`): in the message `%`, CR and LF; in a property also `:` and `,`, which would
/// otherwise end the property or the command.
public enum WorkflowCommands {
    public enum Level: String, Sendable {
        case error, warning, notice
    }

    /// One command: `::level properties::message`, properties in the order given and left out when empty.
    public static func command(_ level: Level, _ properties: [(String, String)], _ message: String) -> String {
        let list = properties.filter { !$0.1.isEmpty }.map { "\($0.0)=\(escapeProperty($0.1))" }
        return "::\(level.rawValue)" + (list.isEmpty ? "" : " " + list.joined(separator: ",")) + "::"
            + escapeData(message)
    }

    /// Each diagnostic as an `::error` or `::warning` on its file, line and columns, titled by its rule; its help
    /// on a second line of the message.
    public static func diagnostics(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map { diagnostic in
            var properties: [(String, String)] = []
            if let location = diagnostic.location {
                // `endColumn` is inclusive, and the runner keeps columns only when the command also says the
                // annotation ends on its line (`endLine`).
                properties += [
                    ("file", location.file), ("line", String(location.line)), ("endLine", String(location.line)),
                    ("col", String(location.column)), ("endColumn", String(location.column + location.length - 1)),
                ]
            }
            properties.append(("title", diagnostic.rule.rawValue))
            let message = ([diagnostic.message] + diagnostic.notes + (diagnostic.help.map { ["help: " + $0] } ?? []))
                .joined(separator: "\n")
            return command(diagnostic.severity == .error ? .error : .warning, properties, message) + "\n"
        }.joined()
    }

    static func escapeData(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func escapeProperty(_ text: String) -> String {
        var out = ""
        for scalar in escapeData(text).unicodeScalars {
            switch scalar {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
