/// `tfctl plan --format markdown`: a pull-request comment. The summary line, then the hazards (dangers first),
/// then one collapsible section per resource with its attribute changes as a table, then capacity and cost. Built
/// as a small tree of Markdown blocks, printed by one printer that escapes what a cell or a line needs; kept under
/// the size a comment may have by collapsing, saying what was left out.
extension PlanReport {
    /// GitHub refuses a comment body longer than this many characters.
    public static let commentLimit = 65_536
    /// Room left for what a workflow adds to the comment (the shipped one, a marker line to find it again).
    public static let commentReserve = 256

    /// Measured in UTF-8 bytes: at least the characters GitHub counts, whatever it counts them in.
    public func markdown(limit: Int = PlanReport.commentLimit - PlanReport.commentReserve) -> String {
        // The fullest form that fits: every table; then tables only for changes with hazards; then none.
        for detail in [Detail.all, .hazardous, .none] {
            let text = MarkdownPrinter.print(document(detail: detail, limit: limit))
            if text.utf8.count <= limit { return text }
        }
        // Still too long (thousands of resources): the list of changes is cut, then the hazards, saying how much.
        var kept = plan.changes.count
        while kept > 0 {
            kept /= 2
            let text = MarkdownPrinter.print(document(detail: .none, keep: kept, limit: limit))
            if text.utf8.count <= limit { return text }
        }
        var hazards = plan.changes.reduce(0) { $0 + $1.hazards.count }
        while hazards > 0 {
            hazards /= 2
            let text = MarkdownPrinter.print(document(detail: .none, keep: 0, hazards: hazards, limit: limit))
            if text.utf8.count <= limit { return text }
        }
        // The summary, capacity and cost alone; a limit below even that gets what fits of them.
        let text = MarkdownPrinter.print(document(detail: .none, keep: 0, hazards: 0, limit: limit))
        return text.utf8.count <= limit ? text : String(decoding: text.utf8.prefix(limit), as: UTF8.self)
    }

    enum Detail { case all, hazardous, none }

    func document(detail: Detail, keep: Int? = nil, hazards: Int? = nil, limit: Int = PlanReport.commentLimit)
        -> [Markdown]
    {
        let summary = plan.summary
        var blocks: [Markdown] = [
            .heading(3, [.text("tfctl plan: "), .code(plan.after.source)]),
            .paragraph(
                against.map { [.text("Against "), .code($0), .text(".")] } ?? [
                    .text("No previous render: everything is new.")
                ]),
        ]
        guard plan.hasChanges else {
            blocks.append(.paragraph([.text("No changes. The rendered topology matches the previous render.")]))
            return blocks + capacityAndCost()
        }
        let dangers = plan.changes.filter { $0.hazards.contains { $0.severity == .danger } }
        let disruptions = plan.changes.filter { $0.hazards.contains { $0.severity == .disruption } }
        var line: [Inline] = [
            .strong("\(summary.add) to add, \(summary.change) to change, \(summary.destroy) to destroy.")
        ]
        if !dangers.isEmpty || !disruptions.isEmpty {
            line.append(
                .text(
                    " \(dangers.count) dangerous change(s) (data loss or irreversible), \(disruptions.count) "
                        + "disruptive change(s) (live connections dropped): read them before merging."))
        }
        blocks.append(.paragraph(line))
        if !dangers.isEmpty || !disruptions.isEmpty {
            blocks.append(.heading(4, [.text("Hazards")]))
            var items: [[Inline]] = []
            for severity in [Hazard.Severity.danger, .disruption] {
                for change in plan.changes {
                    for hazard in change.hazards where hazard.severity == severity {
                        items.append([
                            .strong(severity == .danger ? "Danger" : "Disruption"), .text(" "), .code(change.address),
                            .text(": " + hazard.message),
                        ])
                    }
                }
            }
            let total = items.count
            if let hazards, hazards < total {
                items = Array(items.prefix(hazards)) + [[.text("… and \(total - hazards) more (dangers first).")]]
            }
            blocks.append(.list(items))
        }
        blocks.append(.heading(4, [.text("Changes")]))
        let shown = keep.map { Array(plan.changes.prefix($0)) } ?? plan.changes
        for change in shown {
            let withTable =
                !change.attributes.isEmpty
                && (detail == .all || (detail == .hazardous && !change.hazards.isEmpty))
            let head: [Inline] = [.code("\(change.symbol) \(change.address)"), .text(" " + change.label)]
            guard withTable else {
                blocks.append(.paragraph(head + attributeCount(change)))
                continue
            }
            let rows = change.attributes.map { attribute -> [[Inline]] in
                [
                    [.code(attribute.path)] + (attribute.forcesReplacement ? [.text(" (forces replacement)")] : []),
                    [.code(attribute.before ?? "(none)")], [.code(attribute.after ?? "(none)")],
                ]
            }
            blocks.append(
                .details(
                    summary: head,
                    [.table(header: ["attribute", "before", "after"], rows: rows)]))
        }
        var cuts: [String] = []
        if detail != .all {
            cuts.append(
                detail == .hazardous
                    ? "the attribute tables of changes without hazards" : "every attribute table")
        }
        if let keep, keep < plan.changes.count { cuts.append("\(plan.changes.count - keep) of the changes") }
        let hazardCount = plan.changes.reduce(0) { $0 + $1.hazards.count }
        if let hazards, hazards < hazardCount { cuts.append("\(hazardCount - hazards) of the hazards") }
        if !cuts.isEmpty {
            blocks.append(
                .paragraph([
                    .text(
                        "Left out to stay under a comment's \(limit) characters: "
                            + cuts.joined(separator: " and ") + ". "),
                    .code("tfctl plan"), .text(" prints everything."),
                ]))
        }
        return blocks + capacityAndCost()
    }

    private func attributeCount(_ change: Plan.Change) -> [Inline] {
        change.attributes.isEmpty ? [] : [.text(" (\(change.attributes.count) attribute(s))")]
    }

    private func capacityAndCost() -> [Markdown] {
        var rows: [[[Inline]]] = [
            [
                [.text("Capacity at max_instances (connections)")], [.text("\(capacityBefore)")],
                [.text("\(capacityAfter)")],
            ]
        ]
        var notes: [Markdown] = []
        if let (prices, costBefore, costAfter) = cost {
            func range(_ low: Double, _ high: Double) -> String {
                low == high ? money(low) : "\(money(low))…\(money(high))"
            }
            for (old, new) in zip(costBefore.lines, costAfter.lines) {
                rows.append([
                    [.text(new.item)], [.text(range(old.baseline, old.ceiling))],
                    [.text(range(new.baseline, new.ceiling))],
                ])
            }
            rows.append([
                [.strong("Total")], [.text(range(costBefore.baseline, costBefore.ceiling))],
                [.text(range(costAfter.baseline, costAfter.ceiling))],
            ])
            notes.append(
                .paragraph([
                    .text(
                        "Monthly, in \(prices.currency), at list prices of \(prices.date) (an estimate, not a quote); "
                            + "min…max: with min_instances / max_instances running all month. Not included: "
                            + "requests, load balancer data, egress, Realtime Database usage.")
                ]))
        } else {
            notes.append(.paragraph([.text("No cost estimate: \(costUnavailable ?? "no price sheet").")]))
        }
        return [.heading(4, [.text("Capacity and cost")]), .table(header: ["", "before", "after"], rows: rows)] + notes
    }

    private func money(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// A Markdown document as a tree: what the plan comment is made of.
indirect enum Markdown: Sendable, Hashable {
    case heading(Int, [Inline])
    case paragraph([Inline])
    case list([[Inline]])
    case table(header: [String], rows: [[[Inline]]])
    /// A collapsible section (`<details>`), which GitHub renders closed.
    case details(summary: [Inline], [Markdown])
}

enum Inline: Sendable, Hashable {
    case text(String)
    case strong(String)
    case code(String)
}

/// The one Markdown printer. Text is escaped where Markdown would read it as markup; code is printed as HTML
/// `<code>` (escaped) inside tables and summaries, where backticks cannot hold a `|` or a newline, and with enough
/// backticks elsewhere.
enum MarkdownPrinter {
    static func print(_ blocks: [Markdown]) -> String {
        blocks.map(block).joined(separator: "\n")
    }

    private static func block(_ block: Markdown) -> String {
        switch block {
        case .heading(let level, let inlines):
            return String(repeating: "#", count: level) + " " + line(inlines) + "\n"
        case .paragraph(let inlines):
            return line(inlines) + "\n"
        case .list(let items):
            return items.map { "- " + line($0) + "\n" }.joined()
        case .table(let header, let rows):
            var out = "| " + header.map(text).joined(separator: " | ") + " |\n"
            out += "|" + header.map { _ in "---|" }.joined() + "\n"
            for row in rows { out += "| " + row.map { cell($0) }.joined(separator: " | ") + " |\n" }
            return out
        case .details(let summary, let body):
            return "<details><summary>" + html(summary) + "</summary>\n\n" + print(body) + "\n</details>\n"
        }
    }

    /// Inline Markdown on one line.
    private static func line(_ inlines: [Inline]) -> String {
        inlines.map { inline in
            switch inline {
            case .text(let value): text(value)
            case .strong(let value): "**" + text(value) + "**"
            case .code(let value): code(value)
            }
        }.joined()
    }

    /// A table cell: HTML for code (a value may hold `|` or newlines), escaped Markdown for the rest.
    private static func cell(_ inlines: [Inline]) -> String {
        inlines.map { inline in
            switch inline {
            case .text(let value): text(value)
            case .strong(let value): "**" + text(value) + "**"
            case .code(let value): "<code>" + cellCode(value) + "</code>"
            }
        }.joined()
    }

    /// Inline HTML (a `<summary>` is HTML, where Markdown is not read).
    private static func html(_ inlines: [Inline]) -> String {
        inlines.map { inline in
            switch inline {
            case .text(let value): escapeHTML(value)
            case .strong(let value): "<b>" + escapeHTML(value) + "</b>"
            case .code(let value): "<code>" + escapeHTML(value) + "</code>"
            }
        }.joined()
    }

    /// Text with Markdown's markup characters escaped and newlines as spaces.
    static func text(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "#", "|": out += "\\" + String(character)
            case "\n", "\r": out += " "
            default: out.append(character)
            }
        }
        return out
    }

    /// An inline code span: fenced with one more backtick than the longest run inside, padded when it starts or
    /// ends with one; newlines as spaces (a span is one line).
    static func code(_ value: String) -> String {
        let flat = value.replacingOccurrences(of: "\n", with: " ")
        var longest = 0, run = 0
        for character in flat {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
        return fence + pad + flat + pad + fence
    }

    /// Code in a table cell: between `<code>` tags Markdown is still read, so every character it could take as
    /// markup is a character reference, a newline is `<br>` and the indentation after it is kept with `&nbsp;`.
    static func cellCode(_ value: String) -> String {
        var out = ""
        var lineStart = true
        for character in value {
            switch character {
            case "\n", "\r\n":
                out += "<br>"
                lineStart = true
                continue
            case " " where lineStart: out += "&nbsp;"
            case "\\": out += "&#92;"
            case "*": out += "&#42;"
            case "_": out += "&#95;"
            case "`": out += "&#96;"
            case "[": out += "&#91;"
            case "]": out += "&#93;"
            case "~": out += "&#126;"
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "|": out += "&#124;"
            default: out.append(character)
            }
            if character != " " { lineStart = false }
        }
        return out
    }

    static func escapeHTML(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "|": out += "&#124;"
            default: out.append(character)
            }
        }
        return out
    }
}
