import Foundation

/// Readers of rendered output for the consistency tests: they read what a person or a tool would read, the
/// files' text, independently of the model that produced them.
enum RenderedReaders {
    /// The attributes (`key = value`, at any depth) of every `resource "TYPE" "LABEL"` block of a Terraform file.
    static func terraformResources(_ text: String, type: String) -> [String: [String: String]] {
        var resources: [String: [String: String]] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(line)
            if line.hasPrefix("resource \"\(type)\" \"") {
                current = String(line.dropFirst("resource \"\(type)\" \"".count).prefix { $0 != "\"" })
                resources[current!] = [:]
            } else if line == "}" {
                current = nil
            } else if let label = current, let equals = line.range(of: " = ") {
                let key = line[..<equals.lowerBound].trimmingCharacters(in: .whitespaces)
                var value = String(line[equals.upperBound...])
                if value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                if resources[label]?[key] == nil { resources[label]?[key] = value }
            }
        }
        return resources
    }

    /// Shell words of a line as bash would split them (bare, '...', "..." with backslash escapes; expansions
    /// are kept as text).
    static func shellWords(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(line).makeIterator()
        while let character = iterator.next() {
            switch character {
            case " " where true:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "'":
                inWord = true
                while let next = iterator.next(), next != "'" { current.append(next) }
            case "\"":
                inWord = true
                while let next = iterator.next(), next != "\"" {
                    if next == "\\", let escaped = iterator.next() {
                        current.append(escaped)
                    } else {
                        current.append(next)
                    }
                }
            default:
                inWord = true
                current.append(character)
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// Every `run gcloud A B ...` line of a script whose words start with `prefix`, as flag → value maps
    /// (a flag without a value maps to ""), keyed by the first positional argument after the prefix. A flag
    /// given again (a sidecar's, after `--container`) keeps its first value, the server's, except
    /// `--set-secrets`, whose lists are joined: every secret the revision reads.
    static func gcloudCalls(_ script: String, _ prefix: [String]) -> [(positional: String, flags: [String: String])] {
        script.split(separator: "\n").compactMap { line in
            let words = shellWords(line.trimmingCharacters(in: .whitespaces))
            guard words.count > prefix.count + 2, words[0] == "run", words[1] == "gcloud",
                Array(words[2..<(2 + prefix.count)]) == prefix
            else { return nil }
            let rest = Array(words[(2 + prefix.count)...])
            var flags: [String: String] = [:]
            var index = 1
            while index < rest.count {
                let flag = rest[index]
                if index + 1 < rest.count, !rest[index + 1].hasPrefix("--") {
                    let value = rest[index + 1]
                    if flag == "--set-secrets", let earlier = flags[flag] {
                        flags[flag] = earlier + "," + value
                    } else if flags[flag] == nil {
                        flags[flag] = value
                    }
                    index += 2
                } else {
                    if flags[flag] == nil { flags[flag] = "" }
                    index += 1
                }
            }
            return (rest[0], flags)
        }
    }
}
