/// What changes between two renders, resource by resource, as Terraform would classify it, with what each
/// change does to a running real-time system.
public struct Plan: Sendable, Hashable {
    public var changes: [Change]
    public var before: Manifest
    public var after: Manifest

    public enum Action: String, Sendable, Hashable, Codable {
        case create
        case update
        case replace
        case delete
    }

    public struct Change: Sendable, Hashable {
        public var address: String
        public var type: String
        public var action: Action
        /// Changed attributes (empty for create and delete), sorted by path.
        public var attributes: [AttributeChange]
        public var hazards: [Hazard]
        /// A replacement that creates the new object before destroying the old (`Propagation.forceCreateBeforeDestroy`).
        public var createBeforeDestroy = false

        /// Terraform's symbol for the action (`+`, `~`, `-/+`, `+/-`, `-`) and its words, in every plan format.
        public var symbol: String {
            switch action {
            case .create: "+"
            case .update: "~"
            case .replace where createBeforeDestroy: "+/-"
            case .replace: "-/+"
            case .delete: "-"
            }
        }

        public var label: String {
            switch action {
            case .create: "create"
            case .update: "update in place"
            case .replace where createBeforeDestroy: "replace, create before destroy"
            case .replace: "replace"
            case .delete: "destroy"
            }
        }
    }

    public struct AttributeChange: Sendable, Hashable {
        public var path: String
        public var before: String?
        public var after: String?
        public var forcesReplacement: Bool
    }

    /// Computes the plan from `before` (nil: nothing rendered yet) to `after`. Changes are sorted by address.
    public init(before: Manifest?, after: Manifest) {
        let before = before ?? Manifest(source: after.source)
        self.before = before
        self.after = after
        var changes: [Change] = []
        let addresses = Set(before.resources.keys).union(after.resources.keys).sorted()
        for address in addresses {
            switch (before.resources[address], after.resources[address]) {
            case (nil, let new?):
                changes.append(Change(address: address, type: new.type, action: .create, attributes: [], hazards: []))
            case (let old?, nil):
                changes.append(Change(address: address, type: old.type, action: .delete, attributes: [], hazards: []))
            case (let old?, let new?):
                let attributes = Self.diff(old, new)
                guard !attributes.isEmpty else { continue }
                let action: Action = attributes.contains(where: \.forcesReplacement) ? .replace : .update
                changes.append(
                    Change(address: address, type: new.type, action: action, attributes: attributes, hazards: []))
            case (nil, nil):
                continue
            }
        }
        Propagation.apply(to: &changes, before: before, after: after)
        Propagation.forceCreateBeforeDestroy(&changes, after: after)
        for index in changes.indices {
            changes[index].hazards = Hazards.of(changes[index], before: before, after: after)
        }
        self.changes = changes
    }

    private static func diff(_ old: Manifest.Resource, _ new: Manifest.Resource) -> [AttributeChange] {
        Set(old.attributes.keys).union(new.attributes.keys).sorted().compactMap { path in
            let before = old.attributes[path], after = new.attributes[path]
            guard before != after else { return nil }
            // Left out of the configuration, an Optional+Computed attribute keeps what the object has: no diff.
            if after == nil, ReplacementRules.keptWhenUnset[new.type]?.contains(path) == true { return nil }
            return AttributeChange(
                path: path, before: before, after: after,
                forcesReplacement: ReplacementRules.forcesReplacement(
                    type: new.type, path: path, before: before, after: after))
        }
    }

    public var hasChanges: Bool { !changes.isEmpty }

    /// Terraform's counting: a replacement is one add and one destroy.
    public var summary: (add: Int, change: Int, destroy: Int) {
        changes.reduce((0, 0, 0)) { counts, change in
            switch change.action {
            case .create: return (counts.0 + 1, counts.1, counts.2)
            case .update: return (counts.0, counts.1 + 1, counts.2)
            case .replace: return (counts.0 + 1, counts.1, counts.2 + 1)
            case .delete: return (counts.0, counts.1, counts.2 + 1)
            }
        }
    }
}
