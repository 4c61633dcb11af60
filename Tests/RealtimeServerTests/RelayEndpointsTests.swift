import Foundation
import JSON
import SocketIO
import Testing
import TopologyModel

@testable import RealtimeServer

/// The relay endpoints document as tfctl writes it (`RelayEndpointsDocument`'s keys) is the one the server reads,
/// and a document broken anywhere is refused whole.
@Suite struct RelayEndpointsTests {
    /// A self-signed certificate (a stand-in for a Memorystore server CA; the server builds a TLS trust store of it).
    static let pem = """
        -----BEGIN CERTIFICATE-----
        MIIBiDCCAS2gAwIBAgIUD55sznQr9aZHmGtNyTplGILzheUwCgYIKoZIzj0EAwIw
        GDEWMBQGA1UEAwwNcmVsYXktdGVzdC1jYTAgFw0yNjEyMDMwNjIyNDhaGA8yMTI2
        MTEwOTA2MjI0OFowGDEWMBQGA1UEAwwNcmVsYXktdGVzdC1jYTBZMBMGByqGSM49
        AgEGCCqGSM49AwEHA0IABBuFLNVkieZ3KwEqiSog316iNhjawIGL2EG6stlcClG4
        4CZXRe4DHg5iOrRETGlUWLikQibCtU0OOahoLhnNTQGjUzBRMB0GA1UdDgQWBBS0
        d0tfU7hXdR7k2f9Q5IRQ8H8xwjAfBgNVHSMEGDAWgBS0d0tfU7hXdR7k2f9Q5IRQ
        8H8xwjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCU8znfHGAX
        KbRAWv2wM6lxc3WkEQSqDTRIRlCSI2FUnAIhAKcA2bP4ubP75k2UkXla8VxB99a3
        zMfLkTBoFKlgaLG0
        -----END CERTIFICATE-----
        """

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
        let endpoints = try RegionRelays.parse(data, ownRegion: "us-central1", instanceID: "i")
        #expect(Array(endpoints.keys) == ["europe-west1"])
        #expect(endpoints["europe-west1"]?.endpoint == .init(url: "rediss://:auth@10.2.0.3:6378", caPEM: Self.pem))
        let configuration = try #require(endpoints["europe-west1"]?.configuration)
        #expect(configuration.host == "10.2.0.3" && configuration.port == 6378 && configuration.tls != nil)
    }

    /// Not JSON, another format, a region without a usable URL (the reader's own too), a CA that is not a string,
    /// a document without the reader's region.
    @Test("a document broken anywhere is refused whole")
    func refusesABrokenDocumentWhole() {
        let broken: [Data] = [
            Data("{".utf8),
            Self.document([("europe-west1", Self.endpoint("redis://h"))], format: "tfctl.relay-endpoints/v2"),
            Self.document([("europe-west1", Self.endpoint("redis://h")), ("us-central1", .object([]))]),
            Self.document([
                ("europe-west1", .object([(key: "url", value: "redis://h"), (key: "ca", value: 1)])),
                ("us-central1", Self.endpoint("redis://h")),
            ]),
            Self.document([("europe-west1", Self.endpoint("http://h")), ("us-central1", Self.endpoint("redis://h"))]),
            Self.document([("europe-west1", Self.endpoint("redis://h"))]),
        ]
        for data in broken {
            #expect(throws: RegionRelays.InvalidDocument.self) {
                try RegionRelays.parse(data, ownRegion: "us-central1", instanceID: "i")
            }
        }
    }
}
