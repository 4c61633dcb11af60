import Foundation
import HCL
import JSON

/// Every managed resource of a render with its attributes flattened to paths: what `tfctl plan` compares.
/// `render` writes it as `manifest.json` beside the files, so a later plan can diff against it.
public struct Manifest: Sendable, Hashable, Codable {
    /// v2: variables with a default and the provider's project are resolved into the attributes (v1 kept
    /// `var.image_realtime` as text, so a new image or project compared equal).
    public static let schema = "tfctl.manifest/v2"

    public var schema: String
    /// The environment file it was rendered from.
    public var source: String
    /// Resources by address (`google_redis_instance.redis_us_central1`).
    public var resources: [String: Resource]

    public struct Resource: Sendable, Hashable, Codable {
        public var type: String
        /// Attribute path (`template.scaling.max_instance_count`) to its value as HCL text (`100`, `"BASIC"`).
        public var attributes: [String: String]
        /// `lifecycle { create_before_destroy = true }`; nil otherwise.
        public var createBeforeDestroy: Bool?

        public init(type: String, attributes: [String: String], createBeforeDestroy: Bool? = nil) {
            self.type = type
            self.attributes = attributes
            self.createBeforeDestroy = createBeforeDestroy
        }
    }

    public init(source: String, resources: [String: Resource] = [:]) {
        self.schema = Self.schema
        self.source = source
        self.resources = resources
    }

    /// Flattens the `resource` blocks of a Terraform module, with what Terraform would resolve before comparing:
    /// each `var.NAME` that has a literal default is its value (a new image is a new default, hence a new
    /// revision), and a resource that sets no `project` gets the google provider's, which is ForceNew on every
    /// resource (a new `project:` replaces everything).
    public init(source: String, blocks: [Block]) {
        self.init(source: source)
        var defaults: [String: String] = [:]
        for block in blocks where block.type == "variable" && block.labels.count == 1 {
            for case .attribute(let attribute) in block.body where attribute.name == "default" {
                let text = Self.printer.expression(attribute.value)
                if Self.isLiteral(text) { defaults[block.labels[0]] = text }
            }
        }
        var providerProject: String?
        var defaultLabels: [String: String] = [:]
        for block in blocks where block.type == "provider" && block.labels == ["google"] {
            var settings: [String: String] = [:]
            Self.flatten(block.body, prefix: "", into: &settings)
            guard settings["alias"] == nil else { continue }  // the default provider, not an aliased one
            providerProject = settings["project"].map { Self.resolve($0, defaults) }
            for (path, value) in settings where path.hasPrefix("default_labels.") {
                defaultLabels[String(path.dropFirst("default_labels.".count))] = value
            }
        }
        for block in blocks where block.type == "resource" && block.labels.count == 2 {
            var attributes: [String: String] = [:]
            Self.flatten(block.body, prefix: "", into: &attributes)
            for (path, value) in attributes { attributes[path] = Self.resolve(value, defaults) }
            if attributes["project"] == nil, !Self.withoutProject.contains(block.labels[0]), let providerProject {
                attributes["project"] = providerProject
            }
            // The provider's default labels join a resource's own in `terraform_labels`, updated in place on every
            // resource that takes labels when they change (the provider's SetLabelsDiff).
            if Self.labeled.contains(block.labels[0]) {
                for (key, value) in defaultLabels where attributes["labels.\(key)"] == nil {
                    attributes["terraform_labels.\(key)"] = value
                }
            }
            let createBeforeDestroy = block.body.contains { item in
                guard case .block(let lifecycle) = item, lifecycle.type == "lifecycle" else { return false }
                return lifecycle.body.contains {
                    guard case .attribute(let attribute) = $0 else { return false }
                    return attribute.name == "create_before_destroy"
                        && Self.printer.expression(attribute.value) == "true"
                }
            }
            resources["\(block.labels[0]).\(block.labels[1])"] = Resource(
                type: block.labels[0], attributes: attributes, createBeforeDestroy: createBeforeDestroy ? true : nil)
        }
    }

    /// Resource types of the render that take no `project` argument (google provider 6.50's schema): they follow
    /// their parent (a secret, a network, a bucket), through the references `Propagation` follows.
    /// IAM members too: theirs is Optional+Computed with no provider default, so an unset one never differs.
    static let withoutProject: Set = [
        "google_artifact_registry_repository_iam_member", "google_cloud_run_v2_service_iam_member",
        "google_secret_manager_secret_iam_member", "google_secret_manager_secret_version",
        "google_service_networking_connection", "google_storage_bucket_iam_member",
    ]

    /// Resource types of the render that take labels (`terraform_labels` in google provider 6.50's schema).
    static let labeled: Set = [
        "google_artifact_registry_repository", "google_cloud_run_v2_service", "google_compute_global_address",
        "google_compute_global_forwarding_rule", "google_redis_instance", "google_secret_manager_secret",
        "google_storage_bucket",
    ]

    /// A quoted string without interpolation, a number or a bool.
    private static func isLiteral(_ text: String) -> Bool {
        (text.hasPrefix("\"") && text.hasSuffix("\"") && !text.contains("${")) || Double(text) != nil
            || text == "true" || text == "false"
    }

    /// `value` with every `var.NAME` of `defaults` replaced by its default.
    static func resolve(_ value: String, _ defaults: [String: String]) -> String {
        // Most values name no variable; checked on the bytes (Foundation's substring search is slow).
        guard Self.mentionsVariable(value) else { return value }
        var result = ""
        var rest = value[...]
        while let range = rest.range(of: "var.") {
            let name = rest[range.upperBound...].prefix(while: Propagation.isIdentifier)
            let before = range.lowerBound == rest.startIndex ? result.last : rest[rest.index(before: range.lowerBound)]
            let standsAlone = before.map { !Propagation.isIdentifier($0) && $0 != "." } ?? true
            result += rest[..<range.lowerBound]
            if standsAlone, let text = defaults[String(name)] {
                result += text
            } else {
                result += "var." + name
            }
            rest = rest[range.upperBound...].dropFirst(name.count)
        }
        return result + rest
    }

    /// Whether `value` has `var.` anywhere: a plain scan of its bytes (the generic substring searches are much
    /// slower, and this runs on every attribute of every resource).
    private static func mentionsVariable(_ value: String) -> Bool {
        var matched = 0
        for byte in value.utf8 {
            matched = byte == Self.variablePrefix[matched] ? matched + 1 : (byte == Self.variablePrefix[0] ? 1 : 0)
            if matched == Self.variablePrefix.count { return true }
        }
        return false
    }

    private static let variablePrefix = Array("var.".utf8)

    static let printer = Printer(lineWidth: .max)

    /// Nested blocks become path segments; a block that has a `name`, `priority` or `group` argument is keyed by
    /// it (`env[LOG_LEVEL]`), so reordering or adding siblings does not shift every later path. Other repeated
    /// blocks are indexed. `depends_on` and `lifecycle` are Terraform's business, not the resource's.
    static func flatten(_ body: [BodyItem], prefix: String, into attributes: inout [String: String]) {
        var counts: [String: Int] = [:]
        for case .block(let block) in body { counts[block.type, default: 0] += 1 }
        var seen: [String: Int] = [:]
        for item in body {
            switch item {
            case .attribute(let attribute) where attribute.name == "depends_on":
                continue
            case .attribute(let attribute):
                flatten(attribute.value, path: prefix + attribute.name, into: &attributes)
            case .block(let block) where block.type == "lifecycle":
                continue
            case .block(let block):
                var segment = block.type
                if let key = identity(of: block) {
                    segment += "[\(key)]"
                } else if counts[block.type, default: 0] > 1 {
                    segment += "[\(seen[block.type, default: 0])]"
                    seen[block.type, default: 0] += 1
                }
                if block.body.isEmpty { attributes[prefix + segment] = "{}" }
                flatten(block.body, prefix: prefix + segment + ".", into: &attributes)
            }
        }
    }

    private static func flatten(_ value: HCL.Expression, path: String, into attributes: inout [String: String]) {
        if case .object(let items) = value, !items.isEmpty {
            for item in items { flatten(item.value, path: "\(path).\(item.key)", into: &attributes) }
        } else {
            attributes[path] = printer.expression(value)
        }
    }

    private static func identity(of block: Block) -> String? {
        for key in ["name", "priority", "group"] {
            for case .attribute(let attribute) in block.body where attribute.name == key {
                let text = printer.expression(attribute.value)
                return text.hasPrefix("\"") && text.hasSuffix("\"") ? String(text.dropFirst().dropLast()) : text
            }
        }
        return nil
    }

    /// Pretty JSON with every object's keys in order: stable bytes for the same render. Built as a JSON tree whose
    /// keys are sorted where they are made (resources by address, attributes by path, each object's own keys
    /// written in order), then printed once; no encoder sorts each object again.
    public func json() -> String {
        let resources = self.resources.sorted { $0.key < $1.key }.map { address, resource in
            var members: [(key: String, value: JSONValue)] = [
                (
                    key: "attributes",
                    value: .object(
                        resource.attributes.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })
                )
            ]
            if let createBeforeDestroy = resource.createBeforeDestroy {
                members.append((key: "createBeforeDestroy", value: .bool(createBeforeDestroy)))
            }
            members.append((key: "type", value: .string(resource.type)))
            return (key: address, value: JSONValue.object(members))
        }
        return JSONValue.object([
            (key: "resources", value: .object(resources)),
            (key: "schema", value: .string(schema)),
            (key: "source", value: .string(source)),
        ]).pretty()
    }

    /// Reads a manifest; throws on malformed JSON or an unknown schema.
    public static func decode(_ data: Data) throws -> Manifest {
        let manifest = try JSONDecoder().decode(Manifest.self, from: data)
        guard manifest.schema == schema else {
            throw ManifestError(
                message: "manifest schema '\(manifest.schema)' is not this tfctl's ('\(schema)'): render the base "
                    + "again with this version")
        }
        return manifest
    }
}

public struct ManifestError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
