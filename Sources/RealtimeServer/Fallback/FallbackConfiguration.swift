import JSON

/// Where the Realtime Database of the fallback is, how to reach it, and how the mirror batches and prunes.
public struct FallbackConfiguration: Sendable, Equatable {
    /// `https://<name>.firebaseio.com` or `https://<name>.<region>.firebasedatabase.app` (`FIREBASE_DATABASE_URL`).
    public var databaseURL: String
    /// The database's name: the URL's first DNS label, which the emulator takes as its `ns` parameter.
    public var namespace: String
    /// `host:port` of an emulator (`FIREBASE_DATABASE_EMULATOR_HOST`, the variable Firebase's own SDKs read):
    /// plain HTTP, `ns=<namespace>` on every request, the owner's token `Bearer owner`.
    public var emulatorHost: String?
    /// `host:port` of the Auth emulator (`FIREBASE_AUTH_EMULATOR_HOST`, the variable Firebase's SDKs read), where
    /// clients sign in when the database is an emulator's; the database emulator's host when unset (tfctl's
    /// stand-in serves both).
    public var authEmulatorHost: String?
    /// The browser API key clients sign in to Firebase Auth with (`FIREBASE_WEB_API_KEY`), handed out with their
    /// token; an emulator takes any key.
    public var webAPIKey: String?
    /// The metadata server that gives the instance's access token (`GCE_METADATA_HOST`, the variable Google's
    /// auth libraries read; `metadata.google.internal` on Cloud Run).
    public var metadataHost = "metadata.google.internal"
    /// How long writes gather before one multi-path PATCH carries them (`FALLBACK_FLUSH_MS`).
    public var flushInterval = Duration.milliseconds(100)
    /// Writes waiting for the database; more are dropped and counted (`FALLBACK_QUEUE_LIMIT`).
    public var queueLimit = 10_000
    /// Events kept per tender, and system notices kept, in the database (`FALLBACK_MAX_EVENTS`).
    public var maxEvents = 1_000
    /// How long an event stays in the database: the recovery window, so that a client that switches channels
    /// finds what a reconnecting socket would have been given.
    public var retention = Duration.seconds(120)
    /// The key that signs fallback clients' custom tokens (`FALLBACK_TOKEN_KEY`, an RSA private key in PEM) and the
    /// service account it belongs to (`FALLBACK_TOKEN_ACCOUNT`): for local runs and tests. Without them, the
    /// runtime service account signs through IAM Credentials, as on Cloud Run.
    public var tokenKeyPEM: String?
    public var tokenAccount: String?

    /// Paths one PATCH carries at most.
    static let maxBatch = 500
    /// Bytes of records one PATCH carries at most (one record more if the first is larger): far under the 256 MB
    /// a REST write may be, and the 16 MB of an SDK's (https://firebase.google.com/docs/database/usage/limits).
    static let maxBatchBytes = 8 << 20
    /// An event larger than this is delivered on the sockets but not mirrored (counted): a fallback client is
    /// not the place for megabyte payloads.
    static let maxRecordBytes = 1 << 20

    public struct InvalidURL: Error, CustomStringConvertible {
        public let url: String
        public var description: String {
            "FIREBASE_DATABASE_URL=\(url) is not a Realtime Database URL: expected https://<name>.firebaseio.com or "
                + "https://<name>.<region>.firebasedatabase.app"
        }
    }

    public init(databaseURL: String) throws {
        var rest = Substring(databaseURL)
        guard rest.hasPrefix("https://") else { throw InvalidURL(url: databaseURL) }
        rest = rest.dropFirst("https://".count)
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        let labels = rest.split(separator: ".", omittingEmptySubsequences: false)
        let host = labels.joined(separator: ".")
        guard let name = labels.first, !name.isEmpty,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }),
            host.hasSuffix(".firebaseio.com") || host.hasSuffix(".firebasedatabase.app"),
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
        else { throw InvalidURL(url: databaseURL) }
        self.databaseURL = "https://" + host
        namespace = String(name)
    }

    /// What a fallback client needs, beside its token, to sign in and read (`/fallback/v1/token`'s answer):
    /// `databaseURL`; `apiKey` with a browser key; with an emulator, `emulatorHost` where it reads (and signs in,
    /// unless `authEmulatorHost` names the Auth emulator).
    var clientAccess: [String: JSONValue] {
        var access: [String: JSONValue] = ["databaseURL": .string(databaseURL)]
        if let emulatorHost { access["emulatorHost"] = .string(emulatorHost) }
        if let authEmulatorHost { access["authEmulatorHost"] = .string(authEmulatorHost) }
        if let webAPIKey { access["apiKey"] = .string(webAPIKey) }
        return access
    }

    /// The base of every REST URL, and the query parameters every request carries.
    var endpoint: (base: String, query: [(String, String)]) {
        if let emulatorHost { return ("http://\(emulatorHost)", [("ns", namespace)]) }
        return (databaseURL, [])
    }
}
