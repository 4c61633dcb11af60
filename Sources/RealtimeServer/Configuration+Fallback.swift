import Foundation
import _CryptoExtras

// The Firebase fallback's settings (ServerConfiguration.fallback).

/// An emulator's address as Firebase's SDKs read it: host and port, no scheme.
private func emulatorHost(_ host: String, variable: String) throws -> String {
    guard !host.contains("/"), let colon = host.lastIndex(of: ":"),
        let port = Int(host[host.index(after: colon)...]),
        (1...65535).contains(port), colon != host.startIndex
    else {
        throw ServerConfiguration.InvalidSetting(name: variable, value: host, expected: "host:port, without a scheme")
    }
    return host
}

/// `FIREBASE_DATABASE_URL` with `FIREBASE_DATABASE_EMULATOR_HOST` and `FIREBASE_AUTH_EMULATOR_HOST` (`host:port`),
/// `FIREBASE_WEB_API_KEY`, `GCE_METADATA_HOST`,
/// `FALLBACK_FLUSH_MS`, `FALLBACK_QUEUE_LIMIT` and `FALLBACK_MAX_EVENTS`; nil without a database URL.
func fallbackSettings(
    _ environment: DeclaredEnvironment, _ integer: (String, ClosedRange<Int>) throws -> Int?
) throws -> FallbackConfiguration? {
    guard let url = environment["FIREBASE_DATABASE_URL"], !url.isEmpty else {
        if let host = environment["FIREBASE_DATABASE_EMULATOR_HOST"], !host.isEmpty {
            throw ServerConfiguration.InvalidSetting(
                name: "FIREBASE_DATABASE_URL", value: "", expected: "the database the emulator at \(host) stands for")
        }
        return nil
    }
    var fallback: FallbackConfiguration
    do {
        fallback = try FallbackConfiguration(databaseURL: url)
    } catch {
        throw ServerConfiguration.InvalidSetting(
            name: "FIREBASE_DATABASE_URL", value: url,
            expected: "https://<name>.firebaseio.com or https://<name>.<region>.firebasedatabase.app")
    }
    if let host = environment["FIREBASE_DATABASE_EMULATOR_HOST"], !host.isEmpty {
        fallback.emulatorHost = try emulatorHost(host, variable: "FIREBASE_DATABASE_EMULATOR_HOST")
    }
    if let host = environment["FIREBASE_AUTH_EMULATOR_HOST"], !host.isEmpty {
        guard fallback.emulatorHost != nil else {
            throw ServerConfiguration.InvalidSetting(
                name: "FIREBASE_AUTH_EMULATOR_HOST", value: host,
                expected: "unset unless FIREBASE_DATABASE_EMULATOR_HOST is set (clients of a real database sign in "
                    + "to the real Firebase Auth)")
        }
        fallback.authEmulatorHost = try emulatorHost(host, variable: "FIREBASE_AUTH_EMULATOR_HOST")
    }
    if let key = environment["FIREBASE_WEB_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
        // Google API keys are 39 characters of base64url; anything else would break the sign-in URL.
        guard key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ServerConfiguration.InvalidSetting(
                name: "FIREBASE_WEB_API_KEY", value: "(hidden)", expected: "an API key: letters, digits, - and _")
        }
        fallback.webAPIKey = key
    }
    if let host = environment["GCE_METADATA_HOST"], !host.isEmpty {
        guard !host.contains("/") else {
            throw ServerConfiguration.InvalidSetting(
                name: "GCE_METADATA_HOST", value: host, expected: "a host or host:port, without a scheme")
        }
        fallback.metadataHost = host
    }
    if let milliseconds = try integer("FALLBACK_FLUSH_MS", 10...10_000) {
        fallback.flushInterval = .milliseconds(milliseconds)
    }
    fallback.queueLimit = try integer("FALLBACK_QUEUE_LIMIT", 100...1_000_000) ?? fallback.queueLimit
    fallback.maxEvents = try integer("FALLBACK_MAX_EVENTS", 1...10_000) ?? fallback.maxEvents
    let key = environment["FALLBACK_TOKEN_KEY"].flatMap { $0.isEmpty ? nil : $0.replacingEscapedNewlines() }
    let account = environment["FALLBACK_TOKEN_ACCOUNT"].flatMap { $0.isEmpty ? nil : $0 }
    switch (key, account) {
    case (nil, nil):
        break
    case (let key?, let account?):
        guard (try? _RSA.Signing.PrivateKey(pemRepresentation: key)) != nil else {
            throw ServerConfiguration.InvalidSetting(
                name: "FALLBACK_TOKEN_KEY", value: "(hidden)", expected: "an RSA private key in PEM")
        }
        guard account.contains("@") else {
            throw ServerConfiguration.InvalidSetting(
                name: "FALLBACK_TOKEN_ACCOUNT", value: account, expected: "the key's service account email")
        }
        fallback.tokenKeyPEM = key
        fallback.tokenAccount = account
    default:
        throw ServerConfiguration.InvalidSetting(
            name: key == nil ? "FALLBACK_TOKEN_KEY" : "FALLBACK_TOKEN_ACCOUNT", value: "",
            expected: "both FALLBACK_TOKEN_KEY and FALLBACK_TOKEN_ACCOUNT, or neither")
    }
    return fallback
}
