#if os(Linux)
    import Foundation
    import JSON
    import Testing

    @testable import LoadTest

    /// The load generator's parsing on the hot path and its refusals; `test_local_runtime.py` runs it end to end.
    @Suite struct LoadTestTests {
        static func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
            Array(text.utf8).withUnsafeBytes(body)
        }

        @Test("an event is timed from its `sent` field and keeps its offset, without parsing the whole payload")
        func eventFastPath() {
            let stats = LoadTestStats()
            let client = EngineClient(
                index: 0, room: 0, tender: "load-0", auth: .object([(key: "user", value: .string("u"))]), stats: stats)
            let event = #"42/tenders,["tender:update",{"tenderId":"load-0","sent":1000000},"1733212345-7"]"#
            let replies = Self.withBytes(event) { client.received($0, now: 3_000_000) }
            #expect(replies.isEmpty)
            #expect(stats.deliveries == 1)
            #expect(stats.latency.totalCount == 1 && stats.latency.max >= 1999 && stats.latency.max <= 2001)
            #expect(client.offset == "1733212345-7")
        }

        @Test("open, connect, subscribe, ping: the conversation a socket.io-client has")
        func conversation() {
            let stats = LoadTestStats()
            let client = EngineClient(
                index: 3, room: 3, tender: "load-3", auth: .object([(key: "token", value: .string("t"))]), stats: stats)
            #expect(Self.withBytes(#"0{"sid":"e"}"#) { client.received($0, now: 1) } == [#"40/tenders,{"token":"t"}"#])
            let subscribe = Self.withBytes(#"40/tenders,{"sid":"s1","pid":"p1"}"#) { client.received($0, now: 2) }
            #expect(subscribe == [#"42/tenders,1["subscribe",{"tenderId":"load-3"}]"#])
            #expect(Self.withBytes(#"43/tenders,1[{"ok":true}]"#) { client.received($0, now: 3) }.isEmpty)
            #expect(stats.connected == 1 && stats.subscribed == 1 && client.phase == .subscribed)
            #expect(Self.withBytes("2") { client.received($0, now: 4) } == ["3"])
            // Back after a drop: the private id and the offset, and a recovered session is not subscribed again.
            client.offset = "o9"
            client.reconnecting = true
            #expect(client.connectPacket == #"40/tenders,{"token":"t","pid":"p1","offset":"o9"}"#)
            #expect(Self.withBytes(#"40/tenders,{"sid":"s1","pid":"p1"}"#) { client.received($0, now: 5) }.isEmpty)
            #expect(stats.reconnects == 1 && stats.recoveries == 1)
            #expect(stats.subscribed == 1 && stats.subscribedNow == 1, "a recovered session is counted once")
            client.connectionClosed()
            #expect(stats.subscribedNow == 0)
        }

        @Test("a refused subscription is an error, not a subscriber")
        func refusedSubscription() {
            let stats = LoadTestStats()
            let client = EngineClient(index: 0, room: 0, tender: "load-0", auth: .object([]), stats: stats)
            _ = Self.withBytes(#"43/tenders,1[{"ok":false,"error":"forbidden"}]"#) { client.received($0, now: 1) }
            #expect(stats.subscribed == 0 && stats.errors["subscribe_refused"] == 1)
        }

        @Test("a refused CONNECT ends the client without retrying")
        func refused() {
            let stats = LoadTestStats()
            let client = EngineClient(index: 0, room: 0, tender: "load-0", auth: .object([]), stats: stats)
            _ = Self.withBytes(#"44/tenders,{"message":"invalid token"}"#) { client.received($0, now: 1) }
            #expect(client.phase == .closed && stats.errors["connect_refused"] == 1)
        }

        @Test(
            "only this machine is a target unless --allow-remote",
            arguments: [
                ("http://127.0.0.1:8080", false, true), ("http://localhost:8080", false, true),
                ("http://192.0.2.1:8080", false, false), ("http://192.0.2.1:8080", true, true),
                ("https://127.0.0.1:8080", false, false),
            ])
        func loopbackOnly(url: String, allowRemote: Bool, accepted: Bool) {
            let options = LoadTestOptions(
                urls: [URL(string: url)!], publishURL: URL(string: "http://127.0.0.1:1/v1/publish")!, publishToken: nil,
                connections: 1, rooms: 1, rate: 1, duration: 1, ramp: 0, transport: .websocket,
                auth: { _ in .object([]) },
                allowRemote: allowRemote)
            #expect(((try? options.validate()) != nil) == accepted)
        }
    }
#endif
