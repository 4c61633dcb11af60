import JSON
import Testing

@testable import RealtimeServer

@Suite struct FallbackTests {
    @Test("the circuit opens after three failures, lets one trial through when its time is up, and closes on success")
    func circuit() {
        var breaker = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(1), maxOpenDuration: .seconds(4))
        let start = ContinuousClock.now
        let allowed = breaker.allowsRequest(at: start)
        let openedEarly = [breaker.failed(at: start), breaker.failed(at: start)]
        let opened = breaker.failed(at: start)
        #expect(allowed && openedEarly == [false, false] && opened)
        #expect(breaker.state == .open(until: start + .seconds(1)))
        let early = breaker.allowsRequest(at: start + .milliseconds(999))
        #expect(!early)
        let trial = breaker.allowsRequest(at: start + .seconds(1))
        #expect(trial && breaker.state == .halfOpen)
        // A failed trial opens it again for twice as long, up to the maximum.
        let reopened = breaker.failed(at: start + .seconds(1))
        #expect(reopened && breaker.state == .open(until: start + .seconds(3)))
        _ = breaker.allowsRequest(at: start + .seconds(3))
        breaker.failed(at: start + .seconds(3))
        _ = breaker.allowsRequest(at: start + .seconds(7))
        breaker.failed(at: start + .seconds(7))
        #expect(breaker.state == .open(until: start + .seconds(11)))
        _ = breaker.allowsRequest(at: start + .seconds(11))
        breaker.succeeded()
        #expect(breaker.state == .closed && breaker.consecutiveFailures == 0)
        // Closed again, it takes three failures again, and opens for the base time.
        breaker.failed(at: start)
        #expect(breaker.state == .closed)
        #expect(breaker.state.gauge == 0 && CircuitBreaker.State.halfOpen.gauge == 1)
    }

    @Test("event ids are fixed-width, sort in acceptance order, and never go back with the clock")
    func eventIDs() {
        let clock = ClockBox(1_700_000_000_123)
        let ids = EventIDs(instance: "inst-A_1", now: { clock.value })
        let first = ids.next().id
        #expect(first == "1700000000123-000000-inst-A_1")
        let second = ids.next().id
        clock.value = 1_699_999_999_000  // the clock stepped back
        let third = ids.next().id
        clock.value = 1_700_000_000_200
        let (fourth, fourthMilliseconds) = ids.next()
        #expect([first, second, third, fourth] == [first, second, third, fourth].sorted())
        #expect(Set([first, second, third, fourth]).count == 4)
        #expect(third == "1700000000123-000002-inst-A_1")
        #expect(fourth == "1700000000200-000000-inst-A_1")
        #expect(fourthMilliseconds == 1_700_000_000_200)
        #expect(EventIDs.prefix(before: 5) == "0000000000005")
    }

    @Test("a million ids in one millisecond borrow the next one instead of overflowing")
    func sequenceOverflow() {
        let ids = EventIDs(instance: "i", now: { 10 })
        var last = ""
        for _ in 0...EventIDs.maxSequence { last = ids.next().id }
        #expect(last == "0000000000010-999999-i")
        #expect(ids.next() == ("0000000000011-000000-i", 11))
    }

    @Test("keys Firebase forbids are escaped, reversibly, and the rest is left alone")
    func keys() {
        #expect(RTDBKey.encode("alice_01-x") == "alice_01-x")
        #expect(RTDBKey.encode("bob@example.com") == "bob@example%2Ecom")
        #expect(RTDBKey.encode("a/b$c#d[e]f%g\u{1}") == "a%2Fb%24c%23d%5Be%5Df%25g%01")
        #expect(RTDBKey.encode("zoë") == "zoë")
        #expect(RTDBKey.encode("") == "%", "an empty id would name the parent's path")
        #expect(RTDBClient.percentEncoded("a b/é~") == "a%20b%2F%C3%A9~")
    }

    @Test("retention: events before the cutoff go, then the oldest beyond the count")
    func expired() {
        let keys = (1...6).map { EventIDs.format(milliseconds: UInt64($0) * 1000, sequence: 0, instance: "i") }
        #expect(FallbackMirror.expired(keys.shuffled(), before: 3000, keep: 10) == Array(keys.prefix(2)))
        #expect(FallbackMirror.expired(keys, before: 3000, keep: 2) == Array(keys.prefix(4)))
        #expect(FallbackMirror.expired(keys, before: 0, keep: 6).isEmpty)
    }

    @Test("a batch is at most 500 writes and 8 MiB, one write more when the first alone is larger; a path is sent once")
    func batches() {
        let small = (0..<600).map { FallbackMirror.Write(path: "p/\($0)", value: .null, kind: .prune) }
        #expect(FallbackMirror.batch(small).count == 500)
        let large = (0..<3).map {
            FallbackMirror.Write(path: "p/\($0)", value: .null, kind: .event, bytes: 5 << 20)
        }
        #expect(FallbackMirror.batch(large).count == 1)
        let writes = [
            FallbackMirror.Write(path: "presence/1/a", value: .string("editing"), kind: .presence),
            FallbackMirror.Write(path: "presence/1/b", value: .string("viewing"), kind: .presence),
            FallbackMirror.Write(path: "presence/1/a", value: .null, kind: .presence),
        ]
        let merged = FallbackMirror.merged(writes)
        #expect(merged.map(\.path) == ["presence/1/a", "presence/1/b"])
        #expect(merged.map(\.value) == [.null, .string("viewing")])
    }

    @Test("what is mirrored where: tender rooms and /system notices only")
    func targets() {
        #expect(FallbackMirror.Target(namespace: "/tenders", room: "tender:42") == .tender("42"))
        #expect(FallbackMirror.Target(namespace: "/tenders", room: "tender:42")?.eventsPath == "tenders/42/events")
        #expect(FallbackMirror.Target(namespace: "/system", room: nil)?.eventsPath == "system/notices")
        #expect(FallbackMirror.Target(namespace: "/tenders", room: "tender:a.b") == nil)
        #expect(FallbackMirror.Target(namespace: "/tenders", room: "lobby") == nil)
        #expect(FallbackMirror.Target(namespace: "/tenders", room: nil) == nil)
        #expect(FallbackMirror.Target(namespace: "/system", room: "admins") == nil)
    }

    @Test(
        "database URLs of both forms are read, with their name; anything else is refused",
        arguments: [
            ("https://tf-prod-default-rtdb.firebaseio.com", "tf-prod-default-rtdb"),
            ("https://tf-eu.europe-west1.firebasedatabase.app/", "tf-eu"),
        ])
    func databaseURL(_ url: String, _ namespace: String) throws {
        var configuration = try FallbackConfiguration(databaseURL: url)
        #expect(configuration.namespace == namespace)
        #expect(configuration.endpoint.base == url.trimmingSuffix("/") && configuration.endpoint.query.isEmpty)
        configuration.emulatorHost = "127.0.0.1:9000"
        #expect(configuration.endpoint.base == "http://127.0.0.1:9000")
        #expect(configuration.endpoint.query.map(\.1) == [namespace])
    }

    @Test(
        "a URL that is not a Realtime Database's is refused",
        arguments: [
            "http://x.firebaseio.com", "https://example.com", "https://x.firebaseio.com.evil.example",
            "https://X.firebaseio.com", "https://.firebaseio.com", "https://x.firebaseio.com/path",
        ])
    func badURL(_ url: String) {
        #expect(throws: FallbackConfiguration.InvalidURL.self) { try FallbackConfiguration(databaseURL: url) }
    }

    @Test("the fallback's settings, read from the environment; the retention follows the recovery window")
    func settings() throws {
        #expect(try ServerConfiguration.fromEnvironment([:]).fallback == nil)
        let configuration = try ServerConfiguration.fromEnvironment([
            "FIREBASE_DATABASE_URL": "https://tf-default-rtdb.firebaseio.com",
            "FIREBASE_DATABASE_EMULATOR_HOST": "127.0.0.1:9000", "GCE_METADATA_HOST": "127.0.0.1:8181",
            "FALLBACK_FLUSH_MS": "50", "FALLBACK_QUEUE_LIMIT": "200", "FALLBACK_MAX_EVENTS": "7",
            "RECOVERY_WINDOW_MS": "4000",
        ])
        let fallback = try #require(configuration.fallback)
        #expect(fallback.namespace == "tf-default-rtdb" && fallback.emulatorHost == "127.0.0.1:9000")
        #expect(fallback.metadataHost == "127.0.0.1:8181" && fallback.flushInterval == .milliseconds(50))
        #expect(fallback.queueLimit == 200 && fallback.maxEvents == 7 && fallback.retention == .seconds(4))
        let defaults = try #require(
            try ServerConfiguration.fromEnvironment(["FIREBASE_DATABASE_URL": "https://x.firebaseio.com"]).fallback)
        #expect(defaults.metadataHost == "metadata.google.internal" && defaults.emulatorHost == nil)
        #expect(defaults.retention == .seconds(120))
    }

    @Test(
        "a bad fallback setting stops the server at start",
        arguments: [
            ["FIREBASE_DATABASE_URL": "http://x.firebaseio.com"],
            ["FIREBASE_DATABASE_EMULATOR_HOST": "127.0.0.1:9000"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "FIREBASE_DATABASE_EMULATOR_HOST": "http://h:1"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "FIREBASE_DATABASE_EMULATOR_HOST": "h"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "GCE_METADATA_HOST": "http://h"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "FALLBACK_FLUSH_MS": "0"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "FALLBACK_MAX_EVENTS": "0"],
            ["FIREBASE_DATABASE_URL": "https://x.firebaseio.com", "FALLBACK_MAX_EVENTS": "10001"],
        ])
    func badSettings(_ environment: [String: String]) {
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment(environment)
        }
    }

    @Test("a token is fetched again five minutes before it expires, or after three quarters of a short life")
    func refresh() {
        #expect(AccessTokens.refreshAfter(.seconds(3599)) == .seconds(3299))
        #expect(AccessTokens.refreshAfter(.seconds(400)) == .seconds(300))
    }
}

final class ClockBox: @unchecked Sendable {
    var value: UInt64
    init(_ value: UInt64) { self.value = value }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast()) : self }
}
