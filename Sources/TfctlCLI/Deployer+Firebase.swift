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

    /// Runs `body` with a curl header file (`--header @FILE`) holding an access token of the application default
    /// credentials and the project to bill: the token goes to curl in a file only this user can read, never on a
    /// command line others can list, in a directory made 0700 before anything is written into it, removed after.
    func withGoogleHeaders<T>(_ body: (URL) throws -> T) throws -> T {
        let token = try runner.capture("gcloud", DatabaseRules.tokenCall)
        try runner.require(token.status, "gcloud auth application-default print-access-token")
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
