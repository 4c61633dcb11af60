import Foundation

/// A real redis-server (Debian's package) on a free loopback port, for the tests of one suite. The suites that use it
/// carry `Oracle.redisServer.trait`: skipped where redis-server is not installed, failed when it is required.
///
/// Starting is checked, not assumed: the server counts as started when it logs that it accepts connections, and a
/// server that exits first (a port taken between `freePort()` and its bind, say) is reported with its own last log
/// lines and started again on fresh ports.
public final class RedisServer: @unchecked Sendable {
    public private(set) var port: Int
    public private(set) var tlsPort: Int?
    let directory: URL
    private var process: Process?
    private let extra: [String]
    private let executable: String
    private let tls: Bool
    static let attempts = 3

    /// `extra`: more redis-server options (`--requirepass`, ...). `tls`: also listen with TLS, with a CA and a
    /// server certificate made for the test (see `certificateAuthorityPEM`). `ports` hands out the ports to try (the
    /// helper's own tests give it a taken one).
    public init(
        _ extra: [String] = [], tls: Bool = false, ports: () throws -> Int = RedisServer.freePort
    ) async throws {
        guard let executable = Oracle.redisServer.resolved else { throw OracleMissing(name: "redis-server") }
        self.executable = executable
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.extra = extra
        self.tls = tls
        if tls { try Self.makeCertificates(in: directory) }
        port = 0
        var failures: [String] = []
        for _ in 1...Self.attempts {
            port = try ports()
            tlsPort = tls ? try Self.freePort() : nil
            do {
                try await launch()
                return
            } catch let failure as RedisServerFailure where failure.exited {
                failures.append(failure.description)
            }
        }
        throw RedisServerFailure(
            message: "redis-server did not start in \(Self.attempts) attempts:\n" + failures.joined(separator: "\n"),
            exited: true)
    }

    private var arguments: [String] {
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", directory.path, "--loglevel", "notice",
        ]
        if let tlsPort {
            arguments += [
                "--tls-port", "\(tlsPort)", "--tls-cert-file", directory.appendingPathComponent("server.crt").path,
                "--tls-key-file", directory.appendingPathComponent("server.key").path, "--tls-ca-cert-file",
                directory.appendingPathComponent("ca.crt").path, "--tls-auth-clients", "no",
            ]
        }
        return arguments + extra
    }

    public var certificateAuthorityPEM: String {
        (try? String(contentsOf: directory.appendingPathComponent("ca.crt"), encoding: .utf8)) ?? ""
    }

    /// Starts the server again on the same ports (after `kill()`), retrying while the old port is not yet free.
    public func start() async throws {
        var last: RedisServerFailure?
        for attempt in 1...Self.attempts {
            do {
                try await launch()
                return
            } catch let failure as RedisServerFailure where failure.exited {
                last = failure
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
        throw last!
    }

    private var logFile: URL { directory.appendingPathComponent("redis-server.log") }

    /// Starts redis-server and waits until it logs that it accepts connections, or exits, or 30 s
    /// pass. Its output goes to a file (a pipe nobody reads could fill and stall it).
    private func launch() async throws {
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
            throw RedisServerFailure(message: "cannot create \(logFile.path)", exited: false)
        }
        let output = try FileHandle(forWritingTo: logFile)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var exited = false
        // Logged once every listener (TCP and TLS) is bound; a failed bind exits before it.
        let ready = try await eventually(within: .seconds(30)) {
            exited = !process.isRunning
            return exited || log.contains("Ready to accept connections")
        }
        if exited {
            process.waitUntilExit()
            throw RedisServerFailure(
                message: "redis-server on port \(port) exited with status \(process.terminationStatus): " + logTail(),
                exited: true)
        }
        if ready {
            self.process = process
            return
        }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw RedisServerFailure(
            message: "redis-server on port \(port) was not ready after 30 s: " + logTail(), exited: false)
    }

    private var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// redis-server's last log lines, which say why it stopped (`bind: Address already in use`, a bad option).
    private func logTail() -> String {
        let lines = log.split(separator: "\n").suffix(5)
        return lines.isEmpty ? "(it logged nothing)" : lines.joined(separator: "\n")
    }

    /// SIGKILL, as when the machine under Redis dies.
    public func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Runs redis-cli against this server.
    @discardableResult
    public func cli(_ arguments: String...) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-cli", "-p", "\(port)"] + arguments
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A port the kernel just handed out (and took back): free unless someone races for it.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it, with openssl.
    private static func makeCertificates(in directory: URL) throws {
        func openssl(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CocoaError(
                    .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments[0]) failed"])
            }
        }
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=test redis CA",
        ])
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
            "/CN=redis.test",
        ])
        try "subjectAltName=IP:127.0.0.1\n".write(
            to: directory.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "server.crt", "-days", "2", "-extfile", "san.ext",
        ])
    }
}

/// Why a test's redis-server could not be started, with redis-server's own words.
public struct RedisServerFailure: Error, CustomStringConvertible {
    public let message: String
    /// The process exited (worth retrying on a fresh port), as opposed to hanging.
    let exited: Bool
    public var description: String { message }
}
