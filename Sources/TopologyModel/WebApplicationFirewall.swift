/// Cloud Armor's preconfigured WAF rules (Google's build of the OWASP Core Rule Set 3.3, plus its own Log4j
/// signatures) in front of the real-time service, tuned so Socket.IO traffic passes.
///
/// Each rule set is one Cloud Armor rule that denies with 403 what matches a signature at or below `sensitivity`
/// (Cloud Armor does no anomaly scoring: one signature is enough). The rules come before the rate limit: a
/// throttle's conform action is `allow`, which ends evaluation, so a WAF rule after it would never see a request
/// under the limit.
public struct WebApplicationFirewall: Sendable, Hashable {
    /// Cloud Armor's preconfigured rule sets this model offers: the CRS 3.3 families (`v33-stable`) and the Log4j
    /// (CVE-2021-44228) signatures.
    public enum RuleSet: String, Sendable, Hashable, CaseIterable {
        case sqli = "sqli-v33-stable"
        case xss = "xss-v33-stable"
        case lfi = "lfi-v33-stable"
        case rfi = "rfi-v33-stable"
        case rce = "rce-v33-stable"
        case methodEnforcement = "methodenforcement-v33-stable"
        case scannerDetection = "scannerdetection-v33-stable"
        case protocolAttack = "protocolattack-v33-stable"
        case sessionFixation = "sessionfixation-v33-stable"
        case php = "php-v33-stable"
        case java = "java-v33-stable"
        case nodejs = "nodejs-v33-stable"
        case cveCanary = "cve-canary"

        /// Cloud Armor's signature ids are `owasp-crs-v030301-id<CRS id>-<family>`.
        var signatureFamily: String { String(rawValue.prefix { $0 != "-" }) }

        /// The Cloud Armor id of one CRS rule of this set.
        public func signature(_ crsID: Int) -> String { "owasp-crs-v030301-id\(crsID)-\(signatureFamily)" }
    }

    /// The sets rendered unless the environment lists its own: every CRS family that applies to an HTTP service,
    /// and the Log4j signatures. Left out: the PHP, Java and Node.js families, which look for attacks on runtimes
    /// the reference server (Swift) does not have; list them for a server of your own that does.
    public static let defaultRuleSets: [RuleSet] = [
        .sqli, .xss, .lfi, .rfi, .rce, .methodEnforcement, .scannerDetection, .protocolAttack, .sessionFixation,
        .cveCanary,
    ]

    /// The longest description a Cloud Armor rule takes ("The description field is limited to 64 characters":
    /// Cloud Armor best practices); a longer one fails the rule's creation.
    public static let maxDescription = 64

    /// The first rule's priority, the next sets following one by one: after the admin paths (900), before the rate
    /// limit (1000).
    public static let firstPriority = 910

    /// 1 (the default, Google's recommended start) to 4: which signatures are on, as CRS's paranoia levels.
    /// 0 renders no WAF rule at all.
    public var sensitivity: Int
    /// Render the rules in preview: Cloud Armor logs what they would have denied and denies nothing, the way to roll
    /// them out on live traffic first (Cloud Logging: `jsonPayload.previewSecurityPolicy`).
    public var preview: Bool
    public var ruleSets: [RuleSet]

    public init(sensitivity: Int = 1, preview: Bool = false, ruleSets: [RuleSet] = defaultRuleSets) {
        self.sensitivity = sensitivity
        self.preview = preview
        self.ruleSets = ruleSets
    }

    /// The valid sensitivities.
    public static let sensitivities = 0...4

    /// One rule set's rule: its priority and expression.
    public struct Rule: Sendable, Hashable {
        public var ruleSet: RuleSet
        public var priority: Int
        public var expression: String
        public var description: String
    }

    public var rules: [Rule] {
        guard sensitivity > 0 else { return [] }
        return ruleSets.enumerated().map { index, set in
            Rule(
                ruleSet: set, priority: Self.firstPriority + index, expression: expression(set),
                description: set == .cveCanary
                    ? "WAF: cve-canary, every Log4j signature" : "WAF: \(set.rawValue) at sensitivity \(sensitivity)")
        }
    }

    /// `evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 2, 'opt_out_rule_ids': [...]})`. The Log4j set
    /// is evaluated whole, at the sensitivity Cloud Armor takes when none is given (4: its signatures are of levels 1
    /// and 3), whatever the other sets' level: its signatures look for JNDI lookups (`${jndi:...}`), which no
    /// Socket.IO message holds, and it is the form policy scanners check for (checkov CKV_GCP_73). Google's
    /// signatures are unpublished, so the replay test cannot check them against the server's traffic.
    public func expression(_ set: RuleSet) -> String {
        if set == .cveCanary { return "evaluatePreconfiguredWaf('cve-canary')" }
        var options = ["'sensitivity': \(sensitivity)"]
        let optOuts = SocketIOTuning.optOuts(set, sensitivity: sensitivity)
        if !optOuts.isEmpty {
            let ids = optOuts.map { "'\(set.signature($0.crsID))'" }.joined(separator: ", ")
            options.append("'opt_out_rule_ids': [\(ids)]")
        }
        return "evaluatePreconfiguredWaf('\(set.rawValue)', {\(options.joined(separator: ", "))})"
    }
}

/// The signatures that fire on ordinary Socket.IO traffic, found by replaying the reference server's real
/// handshake, polling and upgrade requests through CRS 3.3 at each paranoia level (Tests/ServerTests/test_waf.py,
/// which fails if this list holds one signature more or one less than that traffic needs).
///
/// All are in the polling body, Engine.IO packets carrying JSON (`42/tenders,1["subscribe",{"tenderId":"42"}]`), whose
/// quotes, braces and colons read as SQL to the higher-paranoia SQL rules. Cloud Armor inspects a POST body as one
/// string and no field exclusion can name it (exclusions name headers, cookies, query parameters and the URI), so
/// each is opted out of its set; a signature of the same set still stops SQL injection in a body (942100, the
/// libinjection rule, is never opted out). Nothing fires at sensitivity 1.
public enum SocketIOTuning {
    public struct OptOut: Sendable, Hashable {
        public var ruleSet: WebApplicationFirewall.RuleSet
        public var crsID: Int
        /// The sensitivity (paranoia level) the signature belongs to.
        public var sensitivity: Int
        public var reason: String
    }

    /// Each with its CRS title.
    public static let optOuts: [OptOut] = [
        OptOut(
            ruleSet: .sqli, crsID: 942200, sensitivity: 2,
            reason: "Detects MySQL comment-/space-obfuscated injections and backtick termination"),
        OptOut(
            ruleSet: .sqli, crsID: 942260, sensitivity: 2,
            reason: "Detects basic SQL authentication bypass attempts 2/3"),
        OptOut(
            ruleSet: .sqli, crsID: 942340, sensitivity: 2,
            reason: "Detects basic SQL authentication bypass attempts 3/3"),
        OptOut(ruleSet: .sqli, crsID: 942370, sensitivity: 2, reason: "Detects classic SQL injection probings 2/3"),
        // Not every message: base64url (a token's signature, an Engine.IO sid) holds `--` followed by `-` now and
        // then, which this rule reads as an SQL comment; one CONNECT in a dozen, refused at random.
        OptOut(ruleSet: .sqli, crsID: 942440, sensitivity: 2, reason: "SQL Comment Sequence Detected"),
        OptOut(
            ruleSet: .sqli, crsID: 942430, sensitivity: 2,
            reason: "Restricted SQL Character Anomaly Detection (args): # of special characters exceeded (12)"),
        OptOut(
            ruleSet: .sqli, crsID: 942431, sensitivity: 3,
            reason: "Restricted SQL Character Anomaly Detection (args): # of special characters exceeded (6)"),
        OptOut(
            ruleSet: .sqli, crsID: 942460, sensitivity: 3,
            reason: "Meta-Character Anomaly Detection Alert - Repetitive Non-Word Characters"),
        OptOut(ruleSet: .sqli, crsID: 942490, sensitivity: 3, reason: "Detects classic SQL injection probings 3/3"),
        OptOut(
            ruleSet: .sqli, crsID: 942432, sensitivity: 4,
            reason: "Restricted SQL Character Anomaly Detection (args): # of special characters exceeded (2)"),
    ]

    /// The opt-outs of `set` at `sensitivity`, in CRS id order.
    public static func optOuts(_ set: WebApplicationFirewall.RuleSet, sensitivity: Int) -> [OptOut] {
        optOuts.filter { $0.ruleSet == set && $0.sensitivity <= sensitivity }.sorted { $0.crsID < $1.crsID }
    }
}
