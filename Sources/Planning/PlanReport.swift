import Foundation
import JSON

/// A plan with the capacity and cost of both sides: what `tfctl plan` prints.
public struct PlanReport: Sendable {
    public var plan: Plan
    /// Where the previous render was read from, as shown to the user (nil: nothing rendered before).
    public var against: String?
    /// Absent when the price sheet could not be read: the plan is still shown, without cost.
    public var cost: (prices: PriceSheet, before: CostEstimate, after: CostEstimate)?
    /// Why there is no cost estimate.
    public var costUnavailable: String?
    public var capacityBefore: Int
    public var capacityAfter: Int

    public init(plan: Plan, against: String?, prices: Result<PriceSheet, Error>) {
        self.plan = plan
        self.against = against
        capacityBefore = CostEstimate.connectionCapacity(plan.before)
        capacityAfter = CostEstimate.connectionCapacity(plan.after)
        switch prices {
        case .success(let sheet):
            cost = (sheet, CostEstimate(plan.before, prices: sheet), CostEstimate(plan.after, prices: sheet))
        case .failure(let error):
            costUnavailable = "\(error)"
        }
    }

    // MARK: Text

    public func text() -> String {
        var out = "tfctl plan for \(plan.after.source)"
        out += against.map { " against \($0)\n\n" } ?? " (no previous render: everything is new)\n\n"
        if !plan.hasChanges { out += "No changes. The rendered topology matches the previous render.\n\n" }
        for change in plan.changes { out += describe(change) }
        let summary = plan.summary
        if plan.hasChanges {
            out += "\nPlan: \(summary.add) to add, \(summary.change) to change, \(summary.destroy) to destroy.\n"
        }
        let dangers = plan.changes.filter { $0.hazards.contains { $0.severity == .danger } }.count
        let disruptions = plan.changes.filter { $0.hazards.contains { $0.severity == .disruption } }.count
        if dangers + disruptions > 0 {
            out +=
                "!! \(dangers) dangerous change(s) (data loss or irreversible), "
                + "\(disruptions) disruptive change(s) (live connections dropped). Read them before applying.\n"
        }
        out += "\n" + capacityAndCost()
        return out
    }

    private func describe(_ change: Plan.Change) -> String {
        // The symbols right-aligned in three columns.
        let symbol = String(repeating: " ", count: max(0, 3 - change.symbol.count)) + change.symbol
        var out = "\(symbol) \(change.address) (\(change.label))\n"
        for attribute in change.attributes {
            // A multi-line value (a `jsonencode({...})`) keeps its lines under the attribute, not at the margin.
            let value = "\(attribute.before ?? "(none)") → \(attribute.after ?? "(none)")"
            out += "      \(attribute.path): " + value.replacingOccurrences(of: "\n", with: "\n        ")
            out += attribute.forcesReplacement ? "  # forces replacement\n" : "\n"
        }
        for hazard in change.hazards {
            out +=
                hazard.severity == .danger
                ? "      !! DANGER: \(hazard.message)\n" : "      ! disruption: \(hazard.message)\n"
        }
        return out
    }

    private func capacityAndCost() -> String {
        var out = "Capacity at max_instances: \(capacityBefore) → \(capacityAfter) concurrent connections\n\n"
        guard let (prices, costBefore, costAfter) = cost else {
            return out + "No cost estimate: \(costUnavailable ?? "no price sheet").\n"
        }
        out +=
            "Estimated monthly cost in \(prices.currency) (list prices of \(prices.date); an estimate, not a quote).\n"
        out += "min…max: with min_instances / with max_instances running all month.\n"
        let rows: [(String, (Double, Double), (Double, Double))] =
            zip(costBefore.lines, costAfter.lines).map {
                ($1.item, ($0.baseline, $0.ceiling), ($1.baseline, $1.ceiling))
            }
            + [("Total", (costBefore.baseline, costBefore.ceiling), (costAfter.baseline, costAfter.ceiling))]
        let width = rows.map(\.0.count).max() ?? 0
        func range(_ pair: (Double, Double)) -> String {
            pair.0 == pair.1 ? money(pair.0) : "\(money(pair.0))…\(money(pair.1))"
        }
        func delta(_ old: (Double, Double), _ new: (Double, Double)) -> String {
            let low = new.0 - old.0, high = new.1 - old.1
            func signed(_ value: Double) -> String {
                let text = money(abs(value))
                return (value < 0 && text != "0.00" ? "-" : "+") + text
            }
            return abs(low - high) < 0.005 ? signed(low) : "\(signed(low))…\(signed(high))"
        }
        let header = ["", "before", "after", "delta"]
        var table = [header] + rows.map { [$0.0, range($0.1), range($0.2), delta($0.1, $0.2)] }
        let widths = (0..<4).map { column in table.map { $0[column].count }.max() ?? 0 }
        table[0][0] = String(repeating: " ", count: width)
        for row in table {
            out +=
                "  "
                + row.enumerated().map { column, cell in
                    column == 0
                        ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "   ") + "\n"
        }
        out += "Not included: requests, data processed by the load balancer, egress, Realtime Database usage.\n"
        let unchecked = prices.uncheckedSources
        if !unchecked.isEmpty {
            out += "Verify before budgeting (not re-read on \(prices.date)): \(unchecked.joined(separator: ", "))\n"
        }
        return out
    }

    private func money(_ value: Double) -> String { String(format: "%.2f", value) }

    // MARK: JSON

    /// The versioned JSON document of `tfctl plan --format json` (schema `tfctl.plan/v1`, see README): a JSON tree
    /// whose objects are sorted where they are built, printed once. Absent values are `null` (`against` with
    /// nothing rendered before, an attribute's `before` or `after`); `create_before_destroy` is only on a
    /// replacement that creates first, `cost` and `cost_unavailable` only one of them.
    public func json() -> String {
        let summary = plan.summary
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        func range(_ baseline: Double, _ ceiling: Double) -> JSONValue {
            .sortedObject([
                "baseline": .number((baseline * 100).rounded() / 100),
                "ceiling": .number((ceiling * 100).rounded() / 100),
            ])
        }
        let changes = plan.changes.map { change -> JSONValue in
            var members: [String: JSONValue] = [
                "address": .string(change.address), "type": .string(change.type),
                "action": .string(change.action.rawValue),
                "attributes": .array(
                    change.attributes.map {
                        .sortedObject([
                            "path": .string($0.path), "before": optional($0.before), "after": optional($0.after),
                            "forces_replacement": .bool($0.forcesReplacement),
                        ])
                    }),
                "hazards": .array(
                    change.hazards.map {
                        .sortedObject(["severity": .string($0.severity.rawValue), "message": .string($0.message)])
                    }),
            ]
            if change.createBeforeDestroy { members["create_before_destroy"] = .bool(true) }
            return .sortedObject(members)
        }
        var document: [String: JSONValue] = [
            "schema": "tfctl.plan/v1", "environment": .string(plan.after.source), "against": optional(against),
            "changes": .array(changes),
            "summary": .sortedObject([
                "add": .number(Double(summary.add)), "change": .number(Double(summary.change)),
                "destroy": .number(Double(summary.destroy)),
            ]),
            "capacity": .sortedObject([
                "before": .number(Double(capacityBefore)), "after": .number(Double(capacityAfter)),
            ]),
        ]
        if let (prices, costBefore, costAfter) = cost {
            document["cost"] = .sortedObject([
                "currency": .string(prices.currency), "prices_date": .string(prices.date), "estimate": true,
                "before": range(costBefore.baseline, costBefore.ceiling),
                "after": range(costAfter.baseline, costAfter.ceiling),
                "lines": .array(
                    zip(costBefore.lines, costAfter.lines).map {
                        .sortedObject([
                            "item": .string($1.item), "before": range($0.baseline, $0.ceiling),
                            "after": range($1.baseline, $1.ceiling),
                        ])
                    }),
                "unchecked_sources": .array(prices.uncheckedSources.map(JSONValue.string)),
            ])
        }
        if let costUnavailable { document["cost_unavailable"] = .string(costUnavailable) }
        return JSONValue.sortedObject(document).pretty()
    }
}
