import Foundation
import JSON

/// What `tfctl loadtest` runs: N Socket.IO clients on the TenderFlow `/tenders` namespace, spread over R tender
/// rooms, and a publisher sending `tender:update` events through `POST /v1/publish` at a fixed rate.
public struct LoadTestOptions: Sendable {
    public enum Transport: String, Sendable, CaseIterable {
        case websocket, polling
    }

    /// Where the clients connect (spread round-robin over several, e.g. every instance directly).
    public var urls: [URL]
    /// Where the publisher posts (`/v1/publish` of an instance: the load balancer refuses admin paths).
    public var publishURL: URL
    public var publishToken: String?
    public var connections: Int
    public var rooms: Int
    /// Publishes per second, over all rooms.
    public var rate: Int
    /// Seconds of publishing once every client is subscribed.
    public var duration: Double
    /// Seconds over which the connections are opened (each at a random moment of its share of the ramp).
    public var ramp: Double
    public var transport: Transport
    /// What each client presents in its CONNECT: `{"token": ...}` for connection `i`, or `{"user": ...}` when
    /// the server runs without authentication.
    public var auth: @Sendable (Int) -> JSONValue
    /// Sent on every request: a region choice at the local front door, for instance.
    public var headers: [(String, String)]
    public var threads: Int
    public var allowRemote: Bool

    public init(
        urls: [URL], publishURL: URL, publishToken: String?, connections: Int, rooms: Int, rate: Int,
        duration: Double, ramp: Double, transport: Transport, auth: @escaping @Sendable (Int) -> JSONValue,
        headers: [(String, String)] = [], threads: Int = 1, allowRemote: Bool = false
    ) {
        self.urls = urls
        self.publishURL = publishURL
        self.publishToken = publishToken
        self.connections = connections
        self.rooms = rooms
        self.rate = rate
        self.duration = duration
        self.ramp = ramp
        self.transport = transport
        self.auth = auth
        self.headers = headers
        self.threads = threads
        self.allowRemote = allowRemote
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Bounds, and the loopback rule: a load test of someone else's service needs `--allow-remote`.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw Invalid(description: message) }
        }
        try require((1...100_000).contains(connections), "--connections must be from 1 to 100000")
        try require((1...100_000).contains(rooms), "--rooms must be from 1 to 100000")
        try require((0...1_000_000).contains(rate), "--rate must be from 0 to 1000000 publishes per second")
        try require(duration > 0 && duration <= 3600, "--duration must be more than 0 and at most 3600 seconds")
        try require(ramp >= 0 && ramp <= 600, "--ramp must be from 0 to 600 seconds")
        try require((1...64).contains(threads), "--threads must be from 1 to 64")
        for url in urls + [publishURL] {
            try require(url.scheme == "http", "\(url.absoluteString): only http:// URLs are load-tested")
            guard let host = url.host else { throw Invalid(description: "\(url.absoluteString) has no host") }
            try require(
                allowRemote || Self.isLoopback(host),
                "\(url.absoluteString) is not on this machine: pass --allow-remote to load-test another host")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The room of connection `index`, and the one each publish goes to (round-robin).
    public static func room(_ index: Int, of rooms: Int) -> String { "load-\(index % rooms)" }
}
