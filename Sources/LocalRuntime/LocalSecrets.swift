import Foundation

/// Development values for the topology's secrets, generated on first use and kept under the state directory
/// (`secrets/`, readable by the user only), so a second apply finds the same ones. Never printed.
///
/// A secret read as `JWT_RS256_PUBLIC_KEY` gets an RSA public key, with its private key beside it
/// (`secrets/<id>.private.pem`) to sign local test tokens with; every other secret gets 32 random bytes in hex
/// (the server asks at least 16 characters of `PUBLISH_TOKEN`).
public struct LocalSecrets: Sendable {
    let directory: LocalStateDirectory
    /// False for a plan: a secret not made yet is a placeholder.
    let create: Bool

    public init(directory: LocalStateDirectory, create: Bool = true) {
        self.directory = directory
        self.create = create
    }

    /// What a plan shows for a secret an apply would make.
    public static let placeholder = "(generated on apply)"

    public func file(id: String) -> URL { directory.secrets.appendingPathComponent(id) }
    public func privateKeyFile(id: String) -> URL { directory.secrets.appendingPathComponent(id + ".private.pem") }

    /// The key that signs the fallback's custom tokens (`privateKey(id:)`).
    public static let fallbackTokenKeyID = "fallback-token"

    /// The private key of the connection tokens' RS256 pair (`JWT_RS256_PUBLIC_KEY`), which signs local test tokens;
    /// nil when the topology verifies none that way.
    public func connectionTokenKey() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.secrets.path)) ?? []
        guard
            let name = names.sorted().first(where: {
                $0.hasSuffix(".private.pem") && $0 != Self.fallbackTokenKeyID + ".private.pem"
            })
        else { return nil }
        return try? String(contentsOf: directory.secrets.appendingPathComponent(name), encoding: .utf8)
    }

    /// An RSA private key (PEM) that signs for the local run, made on first use: the fallback's custom tokens.
    public func privateKey(id: String) throws -> String {
        let key = privateKeyFile(id: id)
        if let existing = try? String(contentsOf: key, encoding: .utf8), !existing.isEmpty { return existing }
        guard create else { return Self.placeholder }
        try OpenSSL.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.path])
        chmod(key.path, 0o600)
        return try String(contentsOf: key, encoding: .utf8)
    }

    public func value(id: String, variable: String) throws -> String {
        let url = file(id: id)
        if let existing = try? String(contentsOf: url, encoding: .utf8), !existing.isEmpty { return existing }
        guard create else { return Self.placeholder }
        let value: String
        if variable == "JWT_RS256_PUBLIC_KEY" {
            let key = privateKeyFile(id: id)
            try OpenSSL.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.path])
            chmod(key.path, 0o600)
            value = try OpenSSL.run(["pkey", "-in", key.path, "-pubout"])
        } else {
            var generator = SystemRandomNumberGenerator()
            value = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
                .joined()
        }
        try LocalStateDirectory.write(value, to: url)
        return value
    }
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it, made once: the local Redis of a
/// topology with in-transit encryption serves TLS with it, and the servers trust the CA, as they trust
/// Memorystore's server CA.
public struct LocalTLS: Sendable {
    let directory: LocalStateDirectory

    /// Makes what is missing (unless `create` is false: a plan) and answers the CA's PEM.
    public func prepare(create: Bool = true) throws -> String {
        let tls = directory.tls
        let ca = tls.appendingPathComponent("ca.crt")
        let server = tls.appendingPathComponent("server.crt")
        let missing =
            !FileManager.default.fileExists(atPath: ca.path) || !FileManager.default.fileExists(atPath: server.path)
        if missing, !create { return LocalSecrets.placeholder }
        if missing {
            func path(_ name: String) -> String { tls.appendingPathComponent(name).path }
            try OpenSSL.run([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.crt"),
                "-days", "825", "-subj", "/CN=tfctl local Redis CA",
            ])
            try OpenSSL.run([
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
                "-subj", "/CN=127.0.0.1",
            ])
            try LocalStateDirectory.write("subjectAltName=IP:127.0.0.1\n", to: tls.appendingPathComponent("san.ext"))
            try OpenSSL.run([
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-out", path("server.crt"), "-days", "825", "-extfile", path("san.ext"),
            ])
            for key in ["ca.key", "server.key"] { chmod(path(key), 0o600) }
        }
        return try String(contentsOf: ca, encoding: .utf8)
    }
}

enum OpenSSL {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs openssl and answers its standard output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        guard let executable = Tool.find("openssl") else {
            throw Failed(description: "openssl is needed to make local keys and certificates: apt-get install openssl")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "openssl \(arguments[0]) failed (exit status \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Finding the programs a local run needs.
public enum Tool {
    /// `name` on PATH (as an absolute path), or in the system directories a user's PATH often lacks (Debian puts haproxy in /usr/sbin).
    public static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        let directories =
            (path ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        for directory in directories {
            // Absolute: the supervisor runs in the state directory, where a relative PATH entry means nothing.
            let candidate = URL(fileURLWithPath: directory + "/" + name).standardizedFileURL.path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
