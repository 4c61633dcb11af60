import JSON
import TopologyModel

/// `firebase/database.rules.json`, the Realtime Database's security rules: nobody writes but the servers (service
/// accounts, which bypass rules), and a client reads only what its fallback token allows: the tenders its socket
/// token names (or all, for an administrator), their presence, the system notices, and its own user node. Every
/// read asks for `auth.token.fallback === true`, a claim only tfctl's custom tokens carry, so a user the project
/// signs in any other way reads nothing, and for `auth.token.until > now`, the end of the token's hour. A read granted on a node is granted on everything under it, so nothing
/// above those nodes is readable. (`FallbackTokens` in the server writes the claims these rules read.)
public struct FirebaseRulesRenderer: Sendable {
    public init() {}

    public func render(_ topology: Topology) -> [RenderedFile] {
        guard topology.firebaseEnabled else { return [] }
        return [RenderedFile(path: "firebase/database.rules.json", contents: DatabaseRules.document.pretty())]
    }
}

/// The Realtime Database's rules: the document, what it must not expose, and how deploy.sh and `tfctl apply` upload
/// it through the database's own REST API.
public enum DatabaseRules {
    /// What a Realtime Database REST call needs ("Authenticate REST Requests": `userinfo.email` and
    /// `firebase.database`); gcloud's own access token has neither.
    public static let scopes = [
        "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/firebase.database",
    ]

    /// A token for `scopes` from Application Default Credentials.
    public static let tokenCall = [
        "auth", "application-default", "print-access-token", "--scopes=" + scopes.joined(separator: ","),
    ]

    /// Upload attempts, and seconds between them: a database just created can take a moment to answer on its host.
    public static let attempts = 5
    public static let retrySeconds = 10

    /// Signed in with a token tfctl's server minted, within its hour: a Firebase session outlives the custom token
    /// that began it (its refresh token does not expire), so the token's scope carries its own end.
    static let fallbackClient = "auth != null && auth.token.fallback === true && auth.token.until > now"
    /// ... whose tenders (`,<id>,<id>,`) hold this one, or an administrator's.
    static let tenderReader =
        fallbackClient + " && (auth.token.admin === true || auth.token.tenders.contains(',' + $tenderId + ','))"

    /// The read condition of each readable path (`$` segments are rule variables); everything else is closed.
    public static let reads: [(path: [String], condition: String)] = [
        (["presence", "$tenderId"], tenderReader),
        (["system"], fallbackClient),
        (["tenders", "$tenderId"], tenderReader),
        (["users", "$uid"], fallbackClient + " && auth.uid === $uid"),
    ]

    public static var document: JSONValue {
        var root: [String: JSONValue] = [".read": .bool(false), ".write": .bool(false)]
        for (path, condition) in reads {
            root[path[0]] = nest(Array(path.dropFirst()), condition)
        }
        return .sortedObject(["rules": .sortedObject(root)])
    }

    private static func nest(_ path: [String], _ condition: String) -> JSONValue {
        guard let first = path.first else {
            return .sortedObject([".read": .string(condition), ".write": .bool(false)])
        }
        return .sortedObject([first: nest(Array(path.dropFirst()), condition)])
    }

    /// What a rules document would expose, one line per finding: a write that is not `false`, or a read that is
    /// not `false` where `reads` has no such path or a weaker condition. Empty for the rules tfctl renders.
    public static func exposures(_ document: JSONValue) -> [String] {
        guard case .object(let top) = document, let rules = top.first(where: { $0.key == "rules" })?.value else {
            return ["no `rules` object"]
        }
        var findings: [String] = []
        walk(rules, path: [], into: &findings)
        return findings
    }

    private static func walk(_ node: JSONValue, path: [String], into findings: inout [String]) {
        guard case .object(let members) = node else { return }
        let location = "/" + path.joined(separator: "/")
        for (key, value) in members {
            switch key {
            case ".write":
                if value != .bool(false) { findings.append("\(location): clients may write (\(value.serialized()))") }
            case ".read":
                let allowed = reads.first { $0.path == path }.map { JSONValue.string($0.condition) }
                if value != .bool(false), value != allowed {
                    findings.append("\(location): readable under \(value.serialized())")
                }
            case _ where key.hasPrefix("."):
                continue  // .validate, .indexOn: they grant nothing
            default:
                walk(value, path: path + [key], into: &findings)
            }
        }
    }
}

/// Firebase Authentication's project configuration (Identity Platform), without which it refuses every sign-in with
/// `CONFIGURATION_NOT_FOUND`; initialized once (`identityPlatform:initializeAuth`, which needs billing on the
/// project, as the Realtime Database does), never deleted.
/// The URLs around the project id, for deploy.sh (where the project is `$PROJECT`) and `tfctl apply` alike.
public enum IdentityPlatform {
    static let config = (before: "https://identitytoolkit.googleapis.com/admin/v2/projects/", after: "/config")
    static let initialize = (
        before: "https://identitytoolkit.googleapis.com/v2/projects/", after: "/identityPlatform:initializeAuth"
    )

    /// The configuration: 200 when it exists, 404 (`CONFIGURATION_NOT_FOUND`) before it is initialized.
    public static func configURL(project: String) -> String { config.before + project + config.after }

    /// `POST` with `{}` initializes it.
    public static func initializeURL(project: String) -> String { initialize.before + project + initialize.after }
}
