/// Prints HCL exactly as `terraform fmt` would leave it: two-space indent, `=` aligned across runs of
/// single-line arguments, one blank line between top-level blocks, one final newline.
public struct Printer: Sendable {
    /// Lists and objects longer than this on one line are broken one element per line.
    public var lineWidth: Int

    public init(lineWidth: Int = 100) { self.lineWidth = lineWidth }

    public func print(_ file: File) -> String {
        var out = ""
        out.reserveCapacity(4096)
        for comment in file.comments { out += comment.isEmpty ? "#\n" : "# \(comment)\n" }
        for (index, block) in file.blocks.enumerated() {
            if index > 0 || !file.comments.isEmpty { out += "\n" }
            write(block, indent: 0, into: &out)
        }
        return out
    }

    public func print(_ block: Block, indent: Int) -> String {
        var out = ""
        write(block, indent: indent, into: &out)
        return out
    }

    /// Appends to one buffer throughout: building nested strings and concatenating them costs quadratic time in
    /// the nesting depth.
    private func write(_ block: Block, indent: Int, into out: inout String) {
        for comment in block.comments {
            appendPad(indent, to: &out)
            out += comment.isEmpty ? "#\n" : "# \(comment)\n"
        }
        appendPad(indent, to: &out)
        out += block.type
        for label in block.labels { out += " " + quoted(label) }
        let groups = canonicalOrder(block.body)
        if groups.isEmpty {
            out += " {}\n"
            return
        }
        out += " {\n"
        for (index, group) in groups.enumerated() {
            if index > 0 { out += "\n" }
            writeItems(group, indent: indent + 1, into: &out)
        }
        appendPad(indent, to: &out)
        out += "}\n"
    }

    /// Meta-arguments, arguments, nested blocks, then `lifecycle` and `depends_on`; blank lines between groups.
    private func canonicalOrder(_ items: [BodyItem]) -> [[BodyItem]] {
        var meta: [BodyItem] = [], arguments: [BodyItem] = [], blocks: [BodyItem] = [], trailing: [BodyItem] = []
        for item in items {
            switch item {
            case .attribute(let attribute) where ["provider", "count", "for_each"].contains(attribute.name):
                meta.append(item)
            case .attribute(let attribute) where attribute.name == "depends_on":
                trailing.append(item)
            case .attribute:
                arguments.append(item)
            case .block(let block) where block.type == "lifecycle":
                trailing.insert(item, at: 0)
            case .block:
                blocks.append(item)
            }
        }
        return [meta, arguments + blocks, trailing].filter { !$0.isEmpty }
    }

    /// Prints items, aligning `=` across each run of consecutive single-line attributes (as hclwrite does:
    /// a multi-line value or a nested block ends the run and is not aligned itself).
    private func writeItems(_ items: [BodyItem], indent: Int, into out: inout String) {
        var assignments: [(name: String, value: String)] = []
        for item in items {
            switch item {
            case .attribute(let attribute):
                assignments.append((attribute.name, expression(attribute.value, indent: indent)))
            case .block(let block):
                writeAligned(assignments, indent: indent, into: &out)
                assignments.removeAll()
                write(block, indent: indent, into: &out)
            }
        }
        writeAligned(assignments, indent: indent, into: &out)
    }

    /// `name = value` lines with `=` aligned across each run of single-line values, as `terraform fmt` does.
    private func writeAligned(_ assignments: [(name: String, value: String)], indent: Int, into out: inout String) {
        var start = 0
        while start < assignments.count {
            if assignments[start].value.utf8.contains(Self.newline) {
                appendPad(indent, to: &out)
                out += assignments[start].name + " = " + assignments[start].value + "\n"
                start += 1
                continue
            }
            var end = start
            while end < assignments.count, !assignments[end].value.utf8.contains(Self.newline) { end += 1 }
            // Columns as terraform fmt counts them (characters); for the usual ASCII names, bytes.
            let width = assignments[start..<end].map { Self.columns($0.name) }.max() ?? 0
            for (name, value) in assignments[start..<end] {
                appendPad(indent, to: &out)
                out += name
                for _ in 0..<(width - Self.columns(name)) { out += " " }
                out += " = " + value + "\n"
            }
            start = end
        }
    }

    private static let newline = UInt8(ascii: "\n")

    private static func columns(_ name: String) -> Int {
        name.utf8.allSatisfy { $0 < 0x80 } ? name.utf8.count : name.count
    }

    private func appendPad(_ indent: Int, to out: inout String) {
        for _ in 0..<indent { out += "  " }
    }

    /// Renders an expression; multi-line results continue at `indent`.
    public func expression(_ expression: Expression, indent: Int = 0) -> String {
        switch expression {
        case .string(let text): return quoted(text)
        case .int(let value): return String(value)
        case .double(let value): return formatDouble(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .reference(let traversal): return render(traversal)
        case .call(let name, let arguments):
            return "\(name)(\(arguments.map { self.expression($0, indent: indent) }.joined(separator: ", ")))"
        case .template(let parts):
            return "\""
                + parts.map { part in
                    switch part {
                    case .literal(let text): return escape(text)
                    case .interpolation(let inner): return "${\(self.expression(inner, indent: indent))}"
                    }
                }.joined() + "\""
        case .list(let elements):
            return list(elements, indent: indent)
        case .object(let items):
            return object(items, indent: indent)
        case .conditional(let condition, let whenTrue, let whenFalse):
            return [condition, whenTrue, whenFalse].map { self.expression($0, indent: indent) }
                .enumerated().map { $0.offset == 0 ? $0.element : ($0.offset == 1 ? "? " : ": ") + $0.element }
                .joined(separator: " ")
        }
    }

    private func list(_ elements: [Expression], indent: Int) -> String {
        if elements.isEmpty { return "[]" }
        let inline = elements.map { expression($0, indent: indent) }
        let oneLine = "[" + inline.joined(separator: ", ") + "]"
        if !oneLine.utf8.contains(Self.newline), oneLine.count + indent * 2 <= lineWidth,
            !elements.contains(where: \.isObject)
        {
            return oneLine
        }
        let pad = String(repeating: "  ", count: indent + 1)
        let lines = elements.map { "\(pad)\(expression($0, indent: indent + 1)),\n" }.joined()
        return "[\n\(lines)\(String(repeating: "  ", count: indent))]"
    }

    private func object(_ items: [ObjectItem], indent: Int) -> String {
        if items.isEmpty { return "{}" }
        let assignments = items.map { item in
            (
                name: isIdentifier(item.key) ? item.key : quoted(item.key),
                value: expression(item.value, indent: indent + 1)
            )
        }
        var out = "{\n"
        writeAligned(assignments, indent: indent + 1, into: &out)
        appendPad(indent, to: &out)
        return out + "}"
    }

    private func render(_ traversal: Traversal) -> String {
        traversal.steps.reduce(traversal.root) { text, step in
            switch step {
            case .attribute(let name): return "\(text).\(name)"
            case .index(let index): return "\(text)[\(index)]"
            case .splat: return "\(text)[*]"
            }
        }
    }

    private func formatDouble(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    private func quoted(_ text: String) -> String { "\"\(escape(text))\"" }

    /// The one escaping function for string literals: quotes, backslashes, control characters and the
    /// template introducers `${` and `%{`, which would otherwise start interpolation.
    public func escape(_ text: String) -> String {
        // Most strings need nothing escaped: returned as they are, without a walk over their characters.
        if !text.utf8.contains(where: {
            $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "{")
        }) {
            return text
        }
        // By Unicode scalar, not by Character: a quote followed by a combining mark is one Character that is not
        // `"`, and "\r\n" is one Character that is neither `\r` nor `\n`.
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out.append(contentsOf: #"\""#.unicodeScalars)
            case "\\": out.append(contentsOf: #"\\"#.unicodeScalars)
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            case "{" where previous == "$" || previous == "%":
                // `$${` and `%%{` are the literal `${` and `%{`.
                out.append(previous!)
                out.append("{")
            default:
                out.append(scalar)
            }
            previous = scalar
        }
        return String(out)
    }

    private func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } && text.allSatisfy(\.isASCII)
    }
}

extension Expression {
    var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}
