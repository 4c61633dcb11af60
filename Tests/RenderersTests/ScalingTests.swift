import EnvironmentLoader
import Foundation
import RenderPipeline
import Testing

/// The render grows linearly in regions: no service lists the other regions, so a region adds a fixed amount of
/// output however many there are (`make bench` measures the time and memory of the same renders).
@Suite struct ScalingTests {
    /// The topology `make bench` renders (Benchmarks/render_bench.py, which takes real region names first), with
    /// `regions` generated regions. Without in-transit encryption: with it, the relay endpoints document of more
    /// than 22 regions would not fit in its secret (TFC0409).
    static func environment(regions: Int) -> String {
        let names = (0..<regions).map { "bench-region\($0)" }
        return """
            project: tenderflow-bench
            name: bench
            regions: [\(names.joined(separator: ", "))]
            network: { cidr: 10.0.0.0/8, subnet_prefix: 20 }
            services:
              realtime: { min_instances: 2, max_instances: 100, env: { LOG_LEVEL: info }, secrets: { JWT_SECRET: jwt } }
              admin: { max_instances: 5, concurrency: 250 }
            memorystore: { tier: standard_ha, memory_gb: 5, read_replicas: 1, transit_encryption: false }
            load_balancer: { domains: [realtime.example.com], rate_limit: { requests: 600, interval_seconds: 60 } }
            firebase: { location: us-central1 }
            monitoring: { emails: [oncall@example.com] }
            capacity: { peak_connections: \(regions * 20_000), peak_messages_per_second: 100000 }

            """
    }

    /// Bytes of every file `tfctl render` writes for `regions` regions.
    static func renderedBytes(regions: Int) throws -> Int {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tfctl-scaling-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try environment(regions: regions).write(
            to: directory.appendingPathComponent("bench.yaml"), atomically: true, encoding: .utf8)
        let pipeline = Pipeline(environment: "bench.yaml", loader: EnvironmentLoader(workingDirectory: directory.path))
        #expect(!pipeline.failed(strict: false), "\(pipeline.diagnostics.map(\.message))")
        return pipeline.render().reduce(0) { $0 + $1.contents.utf8.count }
    }

    @Test("the rendered bytes grow linearly in regions: the same amount per region at 10, 50 and 100")
    func linearInRegions() throws {
        let ten = try Self.renderedBytes(regions: 10)
        let fifty = try Self.renderedBytes(regions: 50)
        let hundred = try Self.renderedBytes(regions: 100)
        #expect(Double(hundred) <= 2.2 * Double(fifty), "100 regions: \(hundred) bytes, 50: \(fifty)")
        // Per region added, from 10 to 50 and from 50 to 100: within 5 % of each other (a quadratic term, such as
        // every service naming every other region, makes the second step larger by about the region count).
        let early = Double(fifty - ten) / 40, late = Double(hundred - fifty) / 50
        #expect(abs(late - early) / early < 0.05, "bytes per region: \(early) then \(late)")
    }
}
