import Foundation
import JSON
import Shell
import TopologyModel

/// Firebase has no gcloud commands: the project, the RTDB instance and its rules go through the REST APIs.
///
/// What those APIs need, and the scripts therefore do ("Deploying to a new project" in README):
/// - `addFirebase` returns a long-running operation; the project is a Firebase project only once it is done, so
///   the script polls the project until it answers, for five minutes at most.
/// - A Realtime Database other than the default needs the Blaze plan, and a project's billing takes minutes to
///   reach Firebase: creation is tried again every minute, ten times at most, then the script stops saying why.
/// - Calls made with a person's credentials need `X-Goog-User-Project` (they have no quota project of their own).
/// - Firebase Authentication answers `CONFIGURATION_NOT_FOUND` to every sign-in until the project's Identity
///   Platform configuration exists (`identityPlatform:initializeAuth`, what the console's "Get started" does, once;
///   it cannot be deleted): initialized when `admin/v2/projects/<project>/config` answers 404, after the rules.
/// - The database's own REST API (the rules) wants the `userinfo.email` and `firebase.database` scopes, which
///   gcloud's access token lacks: that call uses Application Default Credentials asked for those scopes.
struct FirebaseSteps {
    let topology: Topology

    /// Polls of `addFirebase`'s outcome, and creation attempts of the database, with their pauses.
    static let addAttempts = 30
    static let addPollSeconds = 10
    static let createAttempts = 10
    static let createRetrySeconds = 60

    func statements() -> [Statement] {
        guard let firebase = topology.firebase, firebase.enabled else { return [] }
        let names = topology.names
        let database = names.firebaseDatabase
        let project: [WordPart] = [.literal("https://firebase.googleapis.com/v1beta1/projects/"), .variable("PROJECT")]
        let instance: [WordPart] = [
            .literal("https://firebasedatabase.googleapis.com/v1beta/projects/"), .variable("PROJECT"),
            .literal("/locations/\(firebase.location)/instances"),
        ]
        // The headers, token included, go to curl in files only this user can read (mktemp); removed when the
        // script exits.
        func writeHeaders(_ file: String, token: Command) -> [Statement] {
            [
                .assign("token", .substitution(token)),
                .command(
                    Command(
                        "printf", "Authorization: Bearer %s\\nX-Goog-User-Project: %s\\n", .variable("token"),
                        .variable("PROJECT")
                    ).redirecting(.outputToFile(.variable(file)))),
            ]
        }
        let projectExists = Self.curl(["--output", "/dev/null", .concat(project)])
        let databaseExists = Self.curl(["--output", "/dev/null", .concat(instance + [.literal("/\(database)")])])
        let work: [Statement] =
            [
                .assign("headers", .substitution(Command("mktemp"))),
                .assign("database_headers", .substitution(Command("mktemp"))),
                .command(Command("trap", "rm -f \"$headers\" \"$database_headers\"", "EXIT")),
            ]
            + writeHeaders("headers", token: Command("gcloud", "auth", "print-access-token"))
            + [
                G.log("Firebase project"),
                .if(
                    projectExists, negated: true,
                    then: [
                        // With a body: a POST without Content-Length is refused (411) by Google's front end.
                        .command(
                            Self.curl([
                                "--request", "POST", "--header", "Content-Type: application/json", "--data", "{}",
                                "--output", "/dev/null", .concat(project + [":addFirebase"]),
                            ]))
                    ]
                        + G.retrying(
                            projectExists, attempts: Self.addAttempts, pauseSeconds: Self.addPollSeconds,
                            waiting: "addFirebase has not finished",
                            gaveUp:
                                "Gave up waiting for addFirebase: see the project in the Firebase console, then run "
                                + "deploy.sh again."),
                    else: [G.log("  exists, unchanged")]),
                G.log("Realtime Database \(database) (\(firebase.location))"),
                // Each attempt first asks whether the database exists: a creation that succeeded but whose answer
                // was lost is not repeated (it would be refused as a conflict until the budget ran out).
                .function(
                    "create_database",
                    [
                        .if(databaseExists, then: [.command(Command("return", "0"))]),
                        .command(
                            Self.curl([
                                "--request", "POST", "--header", "Content-Type: application/json", "--data",
                                "{\"type\":\"USER_DATABASE\"}",
                                "--output", "/dev/null", .concat(instance + [.literal("?databaseId=\(database)")]),
                            ])),
                    ]),
                .if(
                    databaseExists, negated: true,
                    then: G.retrying(
                        Command("create_database"), attempts: Self.createAttempts,
                        pauseSeconds: Self.createRetrySeconds,
                        waiting: "refused (user databases need the Blaze plan, and billing takes minutes to reach "
                            + "Firebase)",
                        gaveUp: "Gave up creating \(database): check that billing is enabled on the project (the Blaze "
                            + "plan), then run deploy.sh again."),
                    else: [G.log("  exists, unchanged")]),
                G.log("Realtime Database rules"),
            ]
            + writeHeaders(
                "database_headers",
                token: Command(["gcloud"] + DatabaseRules.tokenCall.map(Word.literal)))
            + G.retrying(
                Self.curl(
                    [
                        "--request", "PUT", "--output", "/dev/null", "--data-binary",
                        .concat(["@", .variable("HERE"), "/../firebase/database.rules.json"]),
                        .literal("\(names.firebaseDatabaseURL)/.settings/rules.json"),
                    ], headers: "database_headers"),
                attempts: DatabaseRules.attempts, pauseSeconds: DatabaseRules.retrySeconds,
                waiting: "the database does not take the rules yet",
                gaveUp: "Gave up uploading the rules: Application Default Credentials need the Realtime Database "
                    + "scopes (README: Deploying to a new project); run deploy.sh again.")
            + Self.authentication()
        return [
            .if(
                G.isDryRun,
                then: [
                    G.log(
                        "Firebase: would add Firebase to the project, create \(database), initialize Authentication "
                            + "and upload firebase/database.rules.json"
                    )
                ], else: work)
        ]
    }

    /// curl with the headers in `headers` (the token among them, in a file only this user can read, never on a
    /// command line others can list); `--fail` unless `failing` is false, where the script reads the HTTP status.
    static func curl(_ arguments: [Word], headers: String = "headers", failing: Bool = true) -> Command {
        Command(
            ["curl"] + (failing ? ["--fail"] : []) + ["--silent", "--show-error", "--header"]
                + [.concat(["@", .variable(headers)])] + arguments)
    }

    /// `https://...<before>$PROJECT<after>`, one of `IdentityPlatform`'s URLs.
    static func projectURL(_ parts: (before: String, after: String)) -> Word {
        .concat([.literal(parts.before), .variable("PROJECT"), .literal(parts.after)])
    }

    /// Firebase Authentication refuses every sign-in (CONFIGURATION_NOT_FOUND) until the project's Identity
    /// Platform configuration exists: initialized (the console's "Get started") when it answers 404, after the
    /// rules, which are what guards the data. Any other answer stops the script: initializing a project that has
    /// a configuration would fail anyway.
    static func authentication() -> [Statement] {
        let status = curl(
            ["--output", "/dev/null", "--write-out", "%{http_code}", projectURL(IdentityPlatform.config)],
            failing: false)
        let initialize = curl([
            "--request", "POST", "--header", "Content-Type: application/json", "--data", "{}", "--output",
            "/dev/null", projectURL(IdentityPlatform.initialize),
        ])
        let stop: Statement = .command(Command("exit", "1"))
        return [
            G.log("Firebase Authentication (signs the fallback's clients in)"),
            // curl prints 000 when it gets no answer, and fails: that is an answer here, not the script's end.
            .function("auth_config_status", [.if(status, negated: true, then: [.command(Command("return", "0"))])]),
            .assign("auth_status", .substitution(Command("auth_config_status"))),
            .case(
                .variable("auth_status"),
                [
                    CaseArm(literals: ["200"], [G.log("  initialized, unchanged")]),
                    CaseArm(
                        literals: ["404"],
                        [
                            .if(
                                initialize, negated: true,
                                then: [
                                    G.log(
                                        "  initializeAuth was refused: it needs billing on the project and "
                                            + "firebaseauth.configs.create (Owner or Firebase Admin)"),
                                    stop,
                                ], else: [G.log("  initialized")])
                        ]),
                    CaseArm(
                        [[.anyString]],
                        [
                            G.log(
                                .concat([
                                    "  its configuration could not be read (HTTP ", .variable("auth_status"),
                                    "); run deploy.sh again",
                                ])),
                            stop,
                        ]),
                ]),
        ]
    }
}
