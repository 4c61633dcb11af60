import Foundation
import JSON
import SocketIO
import Testing
import TopologyModel

@testable import RealtimeServer

/// The relay endpoints document as tfctl writes it (`RelayEndpointsDocument`'s keys) is the one the server reads,
/// and a document broken anywhere is refused whole.
@Suite struct RelayEndpointsTests {
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"

    static func document(_ regions: [(String, JSONValue)], format: String = RelayEndpointsDocument.format) -> Data {
        let value = JSONValue.object([
            (key: RelayEndpointsDocument.formatKey, value: .string(format)),
            (key: RelayEndpointsDocument.regionsKey, value: .object(regions.map { (key: $0.0, value: $0.1) })),
        ])
        return Data(value.serialized().utf8)
    }

    static func endpoint(_ url: String, ca: String? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let ca { members.append((key: RelayEndpointsDocument.caKey, value: .string(ca))) }
        members.append((key: RelayEndpointsDocument.urlKey, value: .string(url)))
        return .object(members)
    }

    @Test("every region but the reader's, with its CA")
    func parsesTheDocumentTfctlWrites() throws {
        let data = Self.document([
            ("europe-west1", Self.endpoint("rediss://:auth@10.2.0.3:6378", ca: Self.pem)),
            ("us-central1", Self.endpoint("redis://10.1.0.3:6379")),
        ])
        let endpoints = try RegionRelays.parse(data, ownRegion: "us-central1")
        #expect(Array(endpoints.keys) == ["europe-west1"])
        #expect(endpoints["europe-west1"] == .init(url: "rediss://:auth@10.2.0.3:6378", caPEM: Self.pem))
    }

    @Test("not JSON, another format, a region without a URL (the reader's own too), a CA that is not a string")
    func refusesABrokenDocumentWhole() {
        let broken: [Data] = [
            Data("{".utf8),
            Self.document([("europe-west1", Self.endpoint("redis://h"))], format: "tfctl.relay-endpoints/v2"),
            Self.document([("europe-west1", Self.endpoint("redis://h")), ("us-central1", .object([]))]),
            Self.document([("europe-west1", .object([(key: "url", value: "redis://h"), (key: "ca", value: 1)]))]),
        ]
        for data in broken {
            #expect(throws: RegionRelays.InvalidDocument.self) {
                try RegionRelays.parse(data, ownRegion: "us-central1")
            }
        }
    }
}
