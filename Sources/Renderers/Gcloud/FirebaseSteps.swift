import Foundation
import Shell
import TopologyModel

/// Firebase has no gcloud commands: the project, the RTDB instance and its rules go through the REST APIs with
/// gcloud's access token.
struct FirebaseSteps {
    let topology: Topology

    func statements() -> [Statement] {
        guard let firebase = topology.firebase, firebase.enabled else { return [] }
        let names = topology.names
        let database = names.firebaseDatabase
        let token = Word.concat(["Authorization: Bearer ", .variable("token")])
        let project: [WordPart] = [.literal("https://firebase.googleapis.com/v1beta1/projects/"), .variable("PROJECT")]
        let instance: [WordPart] = [
            .literal("https://firebasedatabase.googleapis.com/v1beta/projects/"), .variable("PROJECT"),
            .literal("/locations/\(firebase.location)/instances"),
        ]
        func curl(_ arguments: [Word]) -> Command {
            Command(["curl", "--fail", "--silent", "--show-error", "--header", token] + arguments)
        }
        let work: [Statement] = [
            .assign("token", .substitution(Command("gcloud", "auth", "print-access-token"))),
            G.log("Firebase project"),
            .if(
                curl(["--output", "/dev/null", .concat(project)]), negated: true,
                then: [
                    .command(curl(["--request", "POST", "--output", "/dev/null", .concat(project + [":addFirebase"])]))
                ], else: [G.log("  exists, unchanged")]),
            G.log("Realtime Database \(database) (\(firebase.location))"),
            .if(
                curl(["--output", "/dev/null", .concat(instance + [.literal("/\(database)")])]), negated: true,
                then: [
                    .command(
                        curl([
                            "--request", "POST", "--header", "Content-Type: application/json", "--data",
                            "{\"type\":\"USER_DATABASE\"}",
                            "--output", "/dev/null", .concat(instance + [.literal("?databaseId=\(database)")]),
                        ]))
                ], else: [G.log("  exists, unchanged")]),
            G.log("Realtime Database rules"),
            .command(
                curl([
                    "--request", "PUT", "--output", "/dev/null", "--data-binary",
                    .concat(["@", .variable("HERE"), "/../firebase/database.rules.json"]),
                    .literal("\(names.firebaseDatabaseURL)/.settings/rules.json"),
                ])),
        ]
        return [
            .if(
                G.isDryRun,
                then: [
                    G.log(
                        "Firebase: would add Firebase to the project, create \(database) and upload firebase/database.rules.json"
                    )
                ], else: work)
        ]
    }
}

/// `firebase/database.rules.json`: clients read only what they subscribe to, once signed in; only the servers
/// (service accounts, which bypass rules) write.
public struct FirebaseRulesRenderer: Sendable {
    public init() {}

    public func render(_ topology: Topology) -> [RenderedFile] {
        guard topology.firebaseEnabled else { return [] }
        let signedIn = "auth != null"
        let rules: [String: Any] = [
            "rules": [
                ".read": false,
                ".write": false,
                "tenders": ["$tenderId": [".read": signedIn, ".write": false]],
                "presence": ["$tenderId": [".read": signedIn, ".write": false]],
                "system": [".read": signedIn, ".write": false],
                "users": ["$uid": [".read": "auth != null && auth.uid === $uid", ".write": false]],
            ]
        ]
        let data =
            (try? JSONSerialization.data(
                withJSONObject: rules, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return [
            RenderedFile(path: "firebase/database.rules.json", contents: String(decoding: data, as: UTF8.self) + "\n")
        ]
    }
}
