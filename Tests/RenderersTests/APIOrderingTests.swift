import EnvironmentLoader
import HCL
import RenderPipeline
import Renderers
import TestSupport
import Testing

/// On a fresh project every API starts disabled, and Terraform creates in parallel whatever references nothing:
/// each resource must reach the `google_project_service` of its API through what it references or depends on,
/// or the first apply races the enablement and fails.
@Suite struct APIOrderingTests {
    typealias Address = String

    /// Every resource of the rendered root module with the addresses it references (resources only).
    static func graph(_ environment: String) throws -> [Address: (type: String, edges: Set<Address>)] {
        let pipeline = Pipeline(
            environment: environment, loader: EnvironmentLoader(workingDirectory: Repository.root.path))
        let topology = try #require(pipeline.topology)
        var graph: [Address: (type: String, edges: Set<Address>)] = [:]
        for (_, blocks) in TerraformRenderer().modules(topology) {
            for block in blocks where block.type == "resource" && block.labels.count == 2 {
                let edges = block.references.compactMap { traversal -> Address? in
                    guard traversal.root.hasPrefix("google_"), case .attribute(let name) = traversal.steps.first
                    else { return nil }
                    return "\(traversal.root).\(name)"
                }
                graph["\(block.labels[0]).\(block.labels[1])"] = (block.labels[0], Set(edges))
            }
        }
        return graph
    }

    static func reaches(_ start: Address, _ goal: Address, in graph: [Address: (type: String, edges: Set<Address>)])
        -> Bool
    {
        var seen: Set<Address> = [start]
        var queue = [start]
        while let next = queue.popLast() {
            if next == goal { return true }
            for edge in graph[next]?.edges ?? [] where seen.insert(edge).inserted { queue.append(edge) }
        }
        return false
    }

    @Test("every resource waits for its API's enablement", arguments: RenderGoldenTests.environments)
    func everyResourceWaitsForItsAPI(_ environment: String) throws {
        let graph = try Self.graph(environment)
        #expect(!graph.isEmpty)
        for (address, resource) in graph.sorted(by: { $0.key < $1.key }) {
            guard let api = APIs.byResourceType[resource.type] else {
                Issue.record("\(resource.type) has no API in APIs.byResourceType")
                continue
            }
            guard let api else { continue }
            let enablement = "google_project_service.\(api)"
            let enabled = graph[enablement] != nil
            let ordered = Self.reaches(address, enablement, in: graph)
            #expect(enabled, "\(environment): \(address) needs \(api), which is not enabled")
            #expect(ordered, "\(environment): nothing orders \(address) after \(enablement)")
        }
    }

    @Test("the walk sees references inside nested blocks, templates and depends_on")
    func referencesAreFound() {
        let block = Block("resource", "a", "b") {
            Attribute("name", .template([.literal("x-"), .interpolation(.ref("google_x", "y", "name"))]))
            Block("nested") { Attribute("id", .call("tostring", [.ref("google_z", "w", "id")])) }
            Attribute("depends_on", .list([.ref("google_project_service", "run")]))
        }
        #expect(block.references.map(\.root) == ["google_x", "google_z", "google_project_service"])
    }
}
