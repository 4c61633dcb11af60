/// Changes that follow references: what Terraform does to a resource that refers to one being replaced.
///
/// A replaced resource's computed attributes (`id`, `host`, a secret version's `version`: whatever its configuration
/// does not set) are unknown until apply. An attribute that refers to one has an unknown new value; the plugin SDK
/// plans a ForceNew attribute whose new value is unknown as a replacement ("ForceNew ... the new value is
/// computed": helper/schema's diff of SDK v2), and any other as an update known after apply. So a Memorystore tier
/// change also replaces the secret versions that hold its endpoint, and those give every service that pins them a
/// new revision; a renamed VPC replaces the private service access connection built on its id.
enum Propagation {
    static let unknown = "(known after apply)"

    static func apply(to changes: inout [Plan.Change], before: Manifest, after: Manifest) {
        var replaced = Set(changes.filter { $0.action == .replace }.map(\.address))
        var frontier = replaced
        while !frontier.isEmpty {
            var next: Set<String> = []
            for (address, resource) in after.resources.sorted(by: { $0.key < $1.key }) {
                let index = changes.firstIndex { $0.address == address }
                if let index, changes[index].action != .update { continue }  // created, deleted or already replaced
                var followed: [Plan.AttributeChange] = []
                for (path, value) in resource.attributes.sorted(by: { $0.key < $1.key })
                where refersToChanged(value, of: frontier, before: before, after: after) {
                    if let index, changes[index].attributes.contains(where: { $0.path == path }) { continue }
                    let new = knownValue(value, before: before, after: after) ?? unknown
                    followed.append(
                        Plan.AttributeChange(
                            path: path, before: value, after: new,
                            forcesReplacement: ReplacementRules.forcesReplacement(
                                type: resource.type, path: path, before: value, after: new)))
                }
                guard !followed.isEmpty else { continue }
                if let index {
                    changes[index].attributes = (changes[index].attributes + followed).sorted { $0.path < $1.path }
                } else {
                    changes.append(
                        Plan.Change(
                            address: address, type: resource.type, action: .update, attributes: followed, hazards: []))
                }
                let position = index ?? changes.count - 1
                if changes[position].attributes.contains(where: \.forcesReplacement) {
                    changes[position].action = .replace
                    if replaced.insert(address).inserted { next.insert(address) }
                }
            }
            frontier = next
        }
        changes.sort { $0.address < $1.address }
    }

    /// The new value of a value that is exactly one reference to a configured attribute (`x.y.name` → its new
    /// text); nil when it is anything else or not configured (unknown until apply).
    static func knownValue(_ value: String, before: Manifest, after: Manifest) -> String? {
        let parts = value.split(separator: ".")
        guard parts.count == 3, value.allSatisfy({ isIdentifier($0) || $0 == "." }) else {
            return nil
        }
        let address = "\(parts[0]).\(parts[1])", attribute = String(parts[2])
        guard let new = after.resources[address]?.attributes[attribute],
            new != before.resources[address]?.attributes[attribute]
        else { return nil }
        return new
    }

    /// Terraform replaces create-before-destroy a resource that has `create_before_destroy`, and every resource such a
    /// resource depends on, directly or not ("Forced Create Before Destroy": Terraform's docs/destroying.md): the
    /// secret versions of a Memorystore endpoint create their replacement first, so the instance they refer to is
    /// created anew before the old one goes, under the same name (`Hazards`: the apply fails).
    static func forceCreateBeforeDestroy(_ changes: inout [Plan.Change], after: Manifest) {
        var forced = Set(after.resources.filter { $0.value.createBeforeDestroy == true }.keys)
        var frontier = forced
        while !frontier.isEmpty {
            var next: Set<String> = []
            for address in frontier.sorted() {
                for value in after.resources[address]?.attributes.values.sorted() ?? [] {
                    for dependency in after.resources.keys where !forced.contains(dependency) {
                        if references(value, dependency) {
                            forced.insert(dependency)
                            next.insert(dependency)
                        }
                    }
                }
            }
            frontier = next
        }
        for index in changes.indices where changes[index].action == .replace && forced.contains(changes[index].address)
        {
            changes[index].createBeforeDestroy = true
        }
    }

    /// Whether `value` refers to the resource at `address`.
    static func references(_ value: String, _ address: String) -> Bool {
        !referencedAttributes(in: value, of: address).isEmpty
    }

    /// Whether `value` refers to an attribute of a resource in `replaced` that its configuration does not set
    /// (unknown until apply), or sets to a new value (the new name of a renamed bucket).
    static func refersToChanged(_ value: String, of replaced: Set<String>, before: Manifest, after: Manifest) -> Bool {
        replaced.contains { address in
            referencedAttributes(in: value, of: address).contains { attribute in
                let configured = after.resources[address]?.attributes[attribute]
                return configured == nil || configured != before.resources[address]?.attributes[attribute]
            }
        }
    }

    /// The attributes of the resource at `address` that `value` refers to (`address.attribute`, the address not the
    /// tail of a longer name).
    static func referencedAttributes(in value: String, of address: String) -> [String] {
        var attributes: [String] = []
        var rest = value[...]
        while let range = rest.range(of: address + ".") {
            let attribute = rest[range.upperBound...].prefix(while: isIdentifier)
            let preceding = range.lowerBound == value.startIndex ? nil : value[value.index(before: range.lowerBound)]
            if !attribute.isEmpty, preceding.map({ !isIdentifier($0) && $0 != "." }) ?? true {
                attributes.append(String(attribute))
            }
            rest = rest[range.upperBound...]
        }
        return attributes
    }

    /// A character of an HCL identifier (a resource type, label, attribute or variable name).
    static func isIdentifier(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }
}
