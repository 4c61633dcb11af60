import Foundation
import Renderers
import TopologyModel

/// Read-only checks before `apply` changes anything, on both targets. Every problem is collected and printed at
/// once, so a new project is fixed in one round instead of one failed apply per missing prerequisite.
extension Deployer {
    /// A finding of the preflight: `blocking` ones stop the apply; the others are printed and the apply goes on.
    struct Finding: Equatable {
        let blocking: Bool
        let message: String
    }

    /// The APIs Terraform and gcloud need before they can enable any other: Service Usage enables APIs, and
    /// Cloud Resource Manager serves the project's IAM policy (`APIs.byResourceType` leaves both out).
    static let preexistingAPIs = ["cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com"]

    /// Runs every check; logs each finding; throws when any blocks.
    func preflight() throws {
        let findings = try preflightFindings()
        for finding in findings { log("preflight: \(finding.blocking ? "problem" : "note"): \(finding.message)") }
        let problems = findings.filter(\.blocking)
        guard problems.isEmpty else {
            throw Refused(
                reason: (["nothing was changed: the preflight found \(problems.count) problem(s):"]
                    + problems.map { "  - " + $0.message }).joined(separator: "\n"))
        }
        log("preflight: project \(topology.project) is ready (\(findings.count) note(s)).")
    }

    func preflightFindings() throws -> [Finding] {
        let project = topology.project
        let described = try runner.capture(
            "gcloud", ["projects", "describe", project, "--format", "value(projectNumber)"])
        guard described.status == 0 else {
            return [
                Finding(
                    blocking: true,
                    message: "project \(project) cannot be read by the active gcloud account (gcloud auth login; "
                        + "check the project id in the environment file)")
            ]
        }
        var findings: [Finding] = []
        let services = try runner.capture(
            "gcloud", ["services", "list", "--enabled", "--format", "value(config.name)", "--project", project])
        let enabled = Set(services.output.split(whereSeparator: \.isNewline).map(String.init))
        let missing = Self.preexistingAPIs.filter { !enabled.contains($0) }
        if services.status != 0 || !missing.isEmpty {
            let apis = services.status == 0 ? missing : Self.preexistingAPIs
            findings.append(
                Finding(
                    blocking: true,
                    message: "\(apis.joined(separator: " and ")) must be enabled before anything else can be: "
                        + "gcloud services enable \(apis.joined(separator: " ")) --project \(project)"))
        }
        findings += try billing()
        findings += try secretVersions()
        if topology.firebaseEnabled { findings += try databaseCredentials() }
        if enabled.contains("compute.googleapis.com") { findings += try computeQuotas() }
        return findings
    }

    /// Cloud Run, Memorystore and the load balancer need a billing account; a Realtime Database other than the
    /// default one needs the Blaze plan, which is billing on the project (and which Firebase sees minutes later).
    private func billing() throws -> [Finding] {
        let project = topology.project
        let billing = try runner.capture(
            "gcloud", ["billing", "projects", "describe", project, "--format", "value(billingEnabled)"])
        let firebase = topology.firebaseEnabled ? " (Firebase: the Blaze plan)" : ""
        guard billing.status == 0 else {
            return [
                Finding(
                    blocking: false,
                    message: "could not read whether billing is enabled on \(project)\(firebase): the account may "
                        + "lack billing.resourceAssociations.list; the apply will fail early if it is not")
            ]
        }
        guard billing.output.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true" else {
            return [
                Finding(
                    blocking: true,
                    message: "billing is not enabled on \(project)\(firebase): gcloud billing projects link "
                        + "\(project) --billing-account ACCOUNT_ID")
            ]
        }
        return []
    }

    /// A secret that exists without an enabled version would stop the apply half way (`resolveSecretVersions`);
    /// one that does not exist yet is created by the apply, which then stops until it has a value.
    private func secretVersions() throws -> [Finding] {
        try topology.userSecretIDs.compactMap { id in
            let listed = try runner.capture(
                "gcloud", GcloudCalls.newestEnabledSecretVersion(id) + ["--project", topology.project])
            if listed.status != 0 {
                return Finding(
                    blocking: false,
                    message: "secret \(id) does not exist yet: the apply creates it and stops until it has a value "
                        + "(gcloud secrets versions add \(id) --data-file=FILE --project \(topology.project))")
            }
            guard Self.versionNumber(listed.output) == nil else { return nil }
            return Finding(
                blocking: true,
                message: "secret \(id) has no enabled version, and Cloud Run does not start an instance whose secrets "
                    + "it cannot read: gcloud secrets versions add \(id) --data-file=FILE --project \(topology.project)"
            )
        }
    }

    /// The rules upload calls the Realtime Database's REST API, which wants a token with `DatabaseRules.scopes`: from
    /// Application Default Credentials, which a person must have granted them.
    private func databaseCredentials() throws -> [Finding] {
        let token = try runner.capture("gcloud", DatabaseRules.tokenCall)
        guard token.status != 0 else { return [] }
        return [
            Finding(
                blocking: true,
                message: "no Application Default Credentials with the Realtime Database scopes (the rules upload "
                    + "needs them): gcloud auth application-default login --scopes=openid,"
                    + "https://www.googleapis.com/auth/cloud-platform,\(DatabaseRules.scopes.joined(separator: ","))")
        ]
    }

    /// The project's global Compute Engine quotas against what the load balancer creates. Only a note: resources
    /// of an earlier apply already count in the usage, so a shortfall may be none.
    private func computeQuotas() throws -> [Finding] {
        guard let lb = topology.loadBalancer else { return [] }
        let described = try runner.capture(
            "gcloud",
            ["compute", "project-info", "describe", "--format", "json(quotas)", "--project", topology.project])
        guard described.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(described.output.utf8)) as? [String: Any],
            let quotas = object["quotas"] as? [[String: Any]]
        else { return [] }
        let listeners = lb.httpRedirect ? 2 : 1
        let needed: [String: Int] = [
            "BACKEND_SERVICES": topology.services.count,
            "GLOBAL_EXTERNAL_MANAGED_BACKEND_SERVICES": topology.services.count,
            "GLOBAL_EXTERNAL_MANAGED_FORWARDING_RULES": listeners, "SECURITY_POLICIES": 1,
            // Two during a certificate switch (`previous_domains`).
            "SSL_CERTIFICATES": lb.certificateDomains.count, "URL_MAPS": listeners, "TARGET_HTTPS_PROXIES": 1,
            "TARGET_HTTP_PROXIES": listeners - 1,
        ]
        return quotas.compactMap { quota in
            guard let metric = quota["metric"] as? String, let need = needed[metric],
                let limit = (quota["limit"] as? NSNumber)?.intValue,
                let usage = (quota["usage"] as? NSNumber)?.intValue,
                limit - usage < need
            else { return nil }
            return Finding(
                blocking: false,
                message: "Compute Engine quota \(metric): \(usage) of \(limit) used, the topology needs \(need) "
                    + "(fine if they are this topology's own)")
        }
    }

    /// The newest enabled version of every secret the services read at `latest`, by number, for the plan's
    /// `-var`s; stops, naming every secret without one and the command that gives it one.
    func resolveSecretVersions() throws -> [String: String] {
        var versions: [String: String] = [:]
        var missing: [String] = []
        for id in topology.userSecretIDs {
            let listed = try runner.capture(
                "gcloud", GcloudCalls.newestEnabledSecretVersion(id) + ["--project", topology.project])
            try runner.require(listed.status, "gcloud secrets versions list \(id)")
            guard let version = Self.versionNumber(listed.output) else {
                missing.append(id)
                continue
            }
            versions[id] = version
        }
        guard missing.isEmpty else {
            let commands = missing.map {
                "  gcloud secrets versions add \($0) --data-file=FILE --project \(topology.project)"
            }
            throw Refused(
                reason: ([
                    "stopping before any Cloud Run service: these secrets have no enabled version, and Cloud "
                        + "Run does not start an instance whose secrets it cannot read. Add a value to each, then apply "
                        + "again:"
                ] + commands).joined(separator: "\n"))
        }
        log(
            "Secret versions: "
                + versions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        return versions
    }

    /// A version number from `versions list`: its last path component (the basename gcloud prints, or a full
    /// resource name), if it is a number.
    static func versionNumber(_ output: String) -> String? {
        let line = output.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let number = line.split(separator: "/").last.map(String.init) ?? ""
        return !number.isEmpty && number.allSatisfy(\.isNumber) ? number : nil
    }
}
