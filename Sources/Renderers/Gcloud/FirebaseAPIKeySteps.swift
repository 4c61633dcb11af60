import Shell
import TopologyModel

/// The browser key fallback clients sign in to Firebase Auth with, and the secret the services read it from
/// (`FIREBASE_WEB_API_KEY`). Before Cloud Run: a service reading a secret at `latest` that has no version does
/// not start ("If the secret ... cannot be accessed, the container fails to start", Cloud Run, "Configure
/// secrets").
///
/// What the API Keys API does that the steps allow for:
/// - A deleted key is kept for 30 days, still described (with its `deleteTime`), and can be restored (`gcloud
///   services api-keys undelete`); its id cannot be given to a new key meanwhile, so a deleted key is restored,
///   and one is created only when none is described. destroy.sh never deletes it (the Terraform path keeps it too).
/// - The key string is read with `get-key-string` (`apikeys.keys.getKeyString`), never printed: it goes from the
///   command substitution into the secret through a pipe.
struct FirebaseAPIKeySteps {
    let topology: Topology

    func statements() -> [Statement] {
        guard topology.firebaseEnabled else { return [] }
        let names = topology.names
        let key = names.fallbackAPIKey
        let target = "service=\(Self.identityToolkit)"
        func describe(_ field: String) -> Word {
            .substitution(
                G.gcloud("services", "api-keys", "describe", .literal(key), "--format", .literal("value(\(field))")))
        }
        let create = G.run(
            "services", "api-keys", "create", "--key-id", .literal(key), "--display-name",
            .literal("\(topology.name) fallback clients (Firebase Auth)"), "--api-target", .literal(target))
        return [
            G.log("API key \(key) (Identity Toolkit only)"),
            .if(
                G.exists(["services", "api-keys", "describe", .literal(key)]),
                then: [
                    // A deleted key is still described, with its deleteTime, for 30 days.
                    .if(
                        Command.test(.syntax(.isNotEmpty), describe("deleteTime")),
                        then: [
                            G.run("services", "api-keys", "undelete", .literal(key)),
                            G.log("  restored (deleted in the last 30 days)"),
                        ]),
                    // The restriction back to the Identity Toolkit when it was changed by hand, and only then: an
                    // update is a long-running operation.
                    .if(
                        Command.test(
                            describe("restrictions.apiTargets[].service"), .syntax(.notEqual),
                            .literal(Self.identityToolkit)),
                        then: [
                            G.run("services", "api-keys", "update", .literal(key), "--api-target", .literal(target))
                        ],
                        else: [G.log("  exists, unchanged")]),
                ],
                else: [create]),
        ]
            + DeployScript.secret(names.fallbackAPIKeySecret, names: names)
            + [
                .if(
                    G.isDryRun,
                    then: [G.log("  would store the key's string in \(names.fallbackAPIKeySecret)")],
                    else: [
                        .assign(
                            "api_key",
                            .substitution(
                                G.gcloud(
                                    "services", "api-keys", "get-key-string", .literal(key), "--format",
                                    "value(keyString)")))
                    ] + DeployScript.storeIfChanged(secret: names.fallbackAPIKeySecret, value: "api_key"))
            ]
    }

    /// The only API the key may call: `accounts:signInWithCustomToken`'s.
    static let identityToolkit = "identitytoolkit.googleapis.com"
}
