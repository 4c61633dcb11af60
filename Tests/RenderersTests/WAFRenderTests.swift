import EnvironmentLoader
import Foundation
import Renderers
import TestSupport
import Testing
import TopologyModel

/// Cloud Armor's preconfigured WAF rules as rendered: where they sit among the policy's rules, the Socket.IO
/// opt-outs per sensitivity, the preview switch, Adaptive Protection and Secret Manager's audit logs, in both
/// outputs. (Tests/ServerTests/test_waf.py replays the server's real traffic through CRS against them.)
@Suite struct WAFRenderTests {
    static func prod() throws -> Topology {
        let loader = EnvironmentLoader(workingDirectory: Repository.root.path)
        return try #require(loader.load(path: "Environments/prod.yaml").topology)
    }

    static func outputs(_ topology: Topology) throws -> (security: String, deploy: String) {
        let security = try #require(
            TerraformRenderer().render(topology, source: "prod.yaml").first { $0.path == "terraform/security.tf" })
        let deploy = try #require(
            GcloudRenderer().render(topology, source: "prod.yaml").first { $0.path == "gcloud/deploy.sh" })
        return (security.contents, deploy.contents)
    }

    @Test("every WAF rule comes after the admin rule and before the rate limit, whose throttle allows and stops")
    func order() throws {
        let (security, deploy) = try Self.outputs(try Self.prod())
        let priorities = security.components(separatedBy: "\n").compactMap { line -> Int? in
            let parts = line.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 && parts[0] == "priority" ? Int(parts[1]) : nil
        }
        #expect(priorities == [900] + Array(910...919) + [1000, 2_147_483_647], "\(priorities)")
        #expect(security.contains("expression = \"evaluatePreconfiguredWaf('cve-canary')\""))
        #expect(security.contains("evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})"))
        #expect(!security.contains("preview     = true") && security.contains("preview     = false"))
        for priority in 910...919 {
            #expect(deploy.contains("rules create \(priority) --security-policy realtime-armor --expression"))
        }
        #expect(deploy.contains("update realtime-armor --enable-layer7-ddos-defense"))
        #expect(security.contains("layer_7_ddos_defense_config"))
    }

    @Test("sensitivity 1 opts out of nothing; from 2 the SQL signatures Socket.IO trips are opted out, by level")
    func optOuts() throws {
        var waf = WebApplicationFirewall()
        #expect(waf.rules.allSatisfy { !$0.expression.contains("opt_out") })
        waf.sensitivity = 2
        let sqli = try #require(waf.rules.first { $0.ruleSet == .sqli }).expression
        #expect(sqli.contains("'owasp-crs-v030301-id942440-sqli'") && !sqli.contains("942431"))
        #expect(!sqli.contains("942100"), "libinjection's SQL rule is never opted out")
        #expect(waf.rules.filter { $0.expression.contains("opt_out") }.map(\.ruleSet) == [.sqli])
        waf.sensitivity = 4
        let all = try #require(waf.rules.first { $0.ruleSet == .sqli }).expression
        #expect(SocketIOTuning.optOuts.allSatisfy { all.contains("id\($0.crsID)-sqli") })
        waf.sensitivity = 0
        #expect(waf.rules.isEmpty)
    }

    @Test("preview renders every WAF rule in preview, and an update takes rules out of it when it is off")
    func preview() throws {
        var topology = try Self.prod()
        let (_, enforced) = try Self.outputs(topology)
        #expect(enforced.contains("--description 'WAF: xss-v33-stable at sensitivity 1' --no-preview"))
        topology.loadBalancer?.waf.preview = true
        topology.loadBalancer?.waf.ruleSets = [.xss]
        topology.loadBalancer?.adaptiveProtection = false
        let (security, deploy) = try Self.outputs(topology)
        #expect(security.components(separatedBy: "preview     = true").count == 2, "\(security)")
        #expect(deploy.contains("at sensitivity 1' --preview --project"))
        #expect(deploy.contains("--no-enable-layer7-ddos-defense"))
        // The sets no longer rendered are deleted on the gcloud path, as Terraform would remove them.
        #expect(deploy.contains("rules delete 911 --security-policy realtime-armor"))
        #expect(!deploy.contains("rules delete 910 "))
    }

    @Test("every rule's description fits Cloud Armor's 64 characters, a long header key's too")
    func descriptions() throws {
        var topology = try Self.prod()
        topology.loadBalancer?.rateLimit?.key = .header("X-Tenderflow-Tenant-Identifier-For-Rate-Limits")
        let (security, deploy) = try Self.outputs(topology)
        let rules = security.components(separatedBy: "  rule {").dropFirst()
        #expect(rules.count == 13)  // admin, 10 WAF sets, rate limit, default
        for rule in rules {
            let line = try #require(rule.components(separatedBy: "\n").first { $0.contains("description =") })
            let text = try #require(line.components(separatedBy: "\"").dropFirst().first)
            #expect(text.count <= WebApplicationFirewall.maxDescription, "\(text)")
            // The default rule is the policy's own on the gcloud path.
            guard text != "Default rule: allow" else { continue }
            #expect(deploy.contains("--description '\(text.replacingOccurrences(of: "'", with: "'\\''"))'"))
        }
        #expect(security.contains("per header value"))
    }

    @Test("Secret Manager's data-access audit logs are on", arguments: RenderGoldenTests.environments)
    func secretAudit(_ environment: String) throws {
        let security = try #require(try SecurityTests.files(environment)["terraform/security.tf"])
        let audit = try #require(
            RenderedReaders.terraformResources(security, type: "google_project_iam_audit_config")["secretmanager"])
        #expect(audit["service"] == "secretmanager.googleapis.com")
        #expect(security.contains("log_type = \"DATA_READ\""))
    }
}
