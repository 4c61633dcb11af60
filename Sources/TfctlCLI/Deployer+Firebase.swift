import Foundation
import Renderers
import TopologyModel

/// The Realtime Database's security rules on the Terraform path: the google provider has no resource for them,
/// so `apply` uploads `firebase/database.rules.json` after Terraform created the database (deploy.sh does the
/// same with curl).
extension Deployer {
    func uploadDatabaseRules() throws {
        guard topology.firebaseEnabled else { return }
        try withGoogleHeaders { headers in try upload(headers: headers) }
    }

    /// Firebase Authentication, which exchanges the fallback clients' custom tokens, answers
    /// `CONFIGURATION_NOT_FOUND` until the project's Identity Platform configuration is initialized (the console's
    /// "Get started"): initialized here when its configuration answers 404, as deploy.sh does, after the rules. Not
    /// a Terraform resource: its creation fails on a project whose Authentication is already set up, which would
    /// then have to be imported by hand.
    func initializeAuthentication() throws {
        guard topology.firebaseEnabled else { return }
        try withGoogleHeaders(tokenCall: ["auth", "print-access-token"]) { headers in
            let probe = try runner.capture(
                "curl",
                [
                    "--silent", "--show-error", "--header", "@" + headers.path, "--output", "/dev/null",
                    "--write-out", "%{http_code}", IdentityPlatform.configURL(project: topology.project),
                ])
            let code = probe.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if probe.status == 0, code == "200" { return }
            guard probe.status == 0, code == "404" else {
                throw Refused(
                    reason: "could not read Firebase Authentication's configuration in \(topology.project) "
                        + "(curl exit status \(probe.status), HTTP \(code.isEmpty ? "none" : code)); Terraform's "
                        + "changes and the rules are applied: run tfctl apply again")
            }
            let status = try runner.run(
                "curl",
                [
                    "--fail", "--silent", "--show-error", "--request", "POST", "--header", "@" + headers.path,
                    "--header", "Content-Type: application/json", "--data", "{}", "--output", "/dev/null",
                    IdentityPlatform.initializeURL(project: topology.project),
                ])
            guard status == 0 else {
                throw Refused(
                    reason: "could not initialize Firebase Authentication (Identity Platform) in \(topology.project): "
                        + "it needs billing on the project; Terraform's changes and the rules are applied: run tfctl "
                        + "apply again")
            }
            log("Initialized Firebase Authentication (Identity Platform) in \(topology.project).")
        }
    }

    private func upload(headers: URL) throws {
        let url = topology.names.firebaseDatabaseURL + "/.settings/rules.json"
        for attempt in 1...DatabaseRules.attempts {
            let status = try runner.run(
                "curl",
                [
                    "--fail", "--silent", "--show-error", "--request", "PUT", "--header", "@" + headers.path,
                    "--data-binary", "@" + directory + "/firebase/database.rules.json", "--output", "/dev/null", url,
                ])
            if status == 0 {
                log("Uploaded the Realtime Database rules to \(url).")
                return
            }
            guard attempt < DatabaseRules.attempts else { break }
            log("Realtime Database rules: curl exit status \(status); trying again in \(DatabaseRules.retrySeconds) s")
            pause(DatabaseRules.retrySeconds)
        }
        throw Refused(
            reason: "could not upload the Realtime Database rules to \(url) after \(DatabaseRules.attempts) attempts; "
                + "Terraform's changes are applied: run tfctl apply again")
    }

    /// Runs `body` with a curl header file (`--header @FILE`) holding an access token (`tokenCall`'s: by default
    /// of the application default credentials, with the Realtime Database's scopes) and the project to bill: the token goes to curl in a file only this user can read, never on a
    /// command line others can list, in a directory made 0700 before anything is written into it, removed after.
    func withGoogleHeaders<T>(tokenCall: [String] = DatabaseRules.tokenCall, _ body: (URL) throws -> T) throws -> T {
        let token = try runner.capture("gcloud", tokenCall)
        try runner.require(token.status, "gcloud " + tokenCall.prefix(3).joined(separator: " "))
        let privateDirectory = scratchDirectory.appendingPathComponent("tfctl-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: privateDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: privateDirectory) }
        let headers = privateDirectory.appendingPathComponent("headers")
        guard
            FileManager.default.createFile(
                atPath: headers.path,
                contents: Data(
                    ("Authorization: Bearer \(token.output.trimmingCharacters(in: .whitespacesAndNewlines))\n"
                        // Quota and billing go to the project, not to the credentials' own (user credentials
                        // have none): "X-Goog-User-Project".
                        + "X-Goog-User-Project: \(topology.project)\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw Refused(reason: "could not write a temporary file for the access token") }
        return try body(headers)
    }
}
