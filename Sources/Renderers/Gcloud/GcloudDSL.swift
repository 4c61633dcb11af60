import Shell
import TopologyModel

/// Building blocks of the generated scripts: every gcloud call carries `--project "$PROJECT"`, mutations go
/// through `run` (which prints instead under `--dry-run`), probes through `exists`.
enum G {
    static let project = Word.variable("PROJECT")

    /// `gcloud ARGS --project "$PROJECT"`.
    static func gcloud(_ arguments: [Word]) -> Command {
        Command([.literal("gcloud")] + arguments + [.literal("--project"), project])
    }

    static func gcloud(_ arguments: Word...) -> Command { gcloud(arguments) }

    /// `run gcloud ARGS --project "$PROJECT" --quiet`: a change, printed instead of run under `--dry-run`.
    static func run(_ arguments: [Word]) -> Statement { .command(runCommand(arguments)) }

    /// `run gcloud ARGS --project "$PROJECT" --quiet TRAILING`: for flags that must come last (a container's).
    static func run(_ arguments: [Word], trailing: [Word]) -> Statement {
        .command(Command(runCommand(arguments).words + trailing))
    }

    /// `run`'s command, for a condition.
    static func runCommand(_ arguments: [Word]) -> Command {
        Command([.literal("run")] + gcloud(arguments).words + [.literal("--quiet")])
    }

    /// A change that may find nothing to do (it is gone already): `if ! run ...; then log ...; fi`, so a second
    /// run goes on instead of stopping under `set -e`.
    static func attempt(_ arguments: [Word], otherwise: String) -> Statement {
        .if(runCommand(arguments), negated: true, then: [log("  " + otherwise)])
    }

    /// `exists gcloud ARGS --project "$PROJECT"`: whether a `describe` (or other probe) succeeds.
    static func exists(_ probe: [Word]) -> Command { Command([.literal("exists")] + gcloud(probe).words) }

    static func run(_ arguments: Word...) -> Statement { run(arguments) }

    static func log(_ message: Word) -> Statement { .command(Command("log", message)) }

    static func log(_ message: String) -> Statement { log(.literal(message)) }

    /// Creates the resource when `probe` fails, else runs `update` (or says it is unchanged).
    static func ensure(_ what: String, probe: [Word], create: [Statement], update: [Statement] = []) -> [Statement] {
        [
            log(what),
            .if(
                exists(probe),
                then: update.isEmpty ? [log("  exists, unchanged")] : update,
                else: create),
        ]
    }

    /// Runs `command` until it succeeds, `attempts` times at most, `pauseSeconds` apart, saying why it waits;
    /// then stops the script with `gaveUp`. Bounded, never a hang: every wait the scripts know of ends.
    static func retrying(
        _ command: Command, attempts: Int, pauseSeconds: Int, waiting: String, gaveUp: String
    ) -> [Statement] {
        let pause = pauseSeconds % 60 == 0 ? "\(pauseSeconds / 60) minute(s)" : "\(pauseSeconds) s"
        return [
            .assign("succeeded", .literal("0")),
            .for(
                "attempt", in: (1...attempts).map { Word.literal(String($0)) },
                [
                    .if(command, then: [.assign("succeeded", .literal("1")), .command(Command("break"))]),
                    // No wait after the last attempt.
                    .if(
                        Command.test(.variable("attempt"), .syntax(.notEqual), .literal(String(attempts))),
                        then: [
                            log(
                                .concat([
                                    .literal("  \(waiting); trying again in \(pause), attempt "), .variable("attempt"),
                                    .literal(" of \(attempts)"),
                                ])),
                            .command(Command("sleep", .literal(String(pauseSeconds)))),
                        ]),
                ]),
            .if(
                Command.test(.variable("succeeded"), .syntax(.notEqual), "1"),
                then: [log(gaveUp), .command(Command("exit", "1"))]),
        ]
    }

    /// `serviceAccount:NAME@$PROJECT.iam.gserviceaccount.com`.
    static func serviceAccountMember(_ names: ResourceNames) -> Word {
        .concat([
            "serviceAccount:", .literal(names.serviceAccountID + "@"), .variable("PROJECT"), ".iam.gserviceaccount.com",
        ])
    }

    static func serviceAccountEmail(_ names: ResourceNames) -> Word {
        .concat([.literal(names.serviceAccountID + "@"), .variable("PROJECT"), ".iam.gserviceaccount.com"])
    }

    /// A path beside the script: `"$HERE/relative"`.
    static func besideScript(_ relative: String) -> Word {
        .concat([.variable("HERE"), .literal("/" + relative)])
    }

    /// `[ "$DRY_RUN" = 1 ]`
    static let isDryRun = Command.test(.variable("DRY_RUN"), .syntax(.equal), "1")

    static func flag(_ name: String, _ value: String) -> [Word] { [.literal(name), .literal(value)] }
}
