import Foundation
import Logging
import RealtimeServer
import TestSupport
import Testing
import TopologyModel

/// The renderers and the server agree on one list of environment variables: every variable a rendered service
/// gets is one the server reads, and every variable the server reads is documented in README.
@Suite struct EnvironmentContractTests {
    /// A topology that sets every variable tfctl can set: Redis with TLS, three regions (relays), the fallback.
    static let topology = Topology(
        project: "p", name: "t", regions: ["europe-west1", "us-central1", "asia-east1"],
        services: [RealtimeService(name: "realtime")], memorystore: Memorystore(transitEncryption: true),
        firebase: FirebaseFallback())

    @Test("every variable the renderers set on a service is read by the server")
    func renderedVariablesAreRead() {
        let service = Self.topology.services[0]
        for region in Self.topology.regions {
            let names = Self.topology.environment(for: service, in: region).map(\.name)
            // No variable names another region: a region added changes no service (the relay reads a file).
            #expect(names.contains(RelayEndpoints.fileVariable))
            let spelled = Self.topology.regions.flatMap {
                [$0, $0.uppercased().replacingOccurrences(of: "-", with: "_")]
            }
            #expect(!names.contains { name in spelled.contains { name.contains($0) } })
            for name in names {
                #expect(ServerConfiguration.reads(name), "\(name) is set by tfctl but the server never reads it")
            }
        }
        for name in RealtimeService.topologyEnvironment { #expect(ServerConfiguration.reads(name), "\(name)") }
    }

    @Test("every variable the server reads is documented in README's table")
    func serverVariablesAreDocumented() throws {
        let readme = try String(contentsOf: Repository.url("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `") }.joined(separator: "\n")
        for name in ServerConfiguration.variables {
            #expect(rows.contains("`\(name)`"), "\(name) is read by the server but README's table lacks it")
        }
    }

    @Test("the values the renderers give the server's own variables are ones it accepts")
    func renderedValuesAreAccepted() throws {
        var environment: [String: String] = [:]
        for variable in Self.topology.environment(for: Self.topology.services[0], in: "europe-west1") {
            guard case .plain(let value) = variable.value else { continue }
            environment[variable.name] = value
        }
        // What the deployment stores in the region's endpoint secret; the CA is left out (no TLS to check here).
        environment["REDIS_URL"] = "rediss://:auth@10.2.0.3:6378"
        let configuration = try ServerConfiguration.fromEnvironment(environment)
        #expect(configuration.relayEndpointsFile == RelayEndpoints.filePath)
        #expect(configuration.region == "europe-west1")
        #expect(configuration.topology == "t")
        #expect(configuration.fallback?.databaseURL.hasPrefix("https://") == true)
    }
}

/// The log levels validation accepts for the bundled server are exactly the ones the server takes.
@Suite struct LogLevelContractTests {
    @Test("RealtimeService.bundledServerLogLevels is swift-log's levels, which the server parses")
    func levels() throws {
        #expect(RealtimeService.bundledServerLogLevels == Logger.Level.allCases.map(\.rawValue))
        for level in RealtimeService.bundledServerLogLevels {
            #expect(try ServerConfiguration.fromEnvironment(["LOG_LEVEL": level]).logLevel.rawValue == level)
        }
    }
}
