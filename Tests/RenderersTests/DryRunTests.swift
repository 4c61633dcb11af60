import Foundation
import TestSupport
import Testing

/// `deploy.sh --dry-run` prints the commands and changes nothing: a recording `gcloud` (and `curl`) first on
/// PATH shows which calls the script really made.
@Suite struct DryRunTests {
    struct Run {
        let status: Int32
        let output: String
        let calls: [String]
    }

    /// Runs the prod golden `gcloud/deploy.sh` with `arguments` and extra environment, recording tool calls.
    /// `stubStatus`: what every stubbed call exits with (1: nothing exists; 0: everything exists, every list
    /// is empty).
    func deploy(_ arguments: [String], environment: [String: String] = [:], stubStatus: Int = 1) async throws -> Run {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("calls.log")
        for tool in ["gcloud", "curl"] {
            let stub = bin.appendingPathComponent(tool)
            // Records its arguments; answers every describe/list with failure or nothing.
            try Data("#!/usr/bin/env bash\necho \"\(tool) $*\" >> \"\(log.path)\"\nexit \(stubStatus)\n".utf8)
                .write(to: stub)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        }
        let script = RenderGoldenTests.goldens.appendingPathComponent("prod/gcloud/deploy.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = bin.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let printed = directory.appendingPathComponent("stdout")
        guard FileManager.default.createFile(atPath: printed.path, contents: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let stdout = try FileHandle(forWritingTo: printed)
        defer { try? stdout.close() }
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try await process.runUntilExit()
        let output = try String(contentsOf: printed, encoding: .utf8)
        let calls = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        return Run(status: process.terminationStatus, output: output, calls: calls)
    }

    @Test("--dry-run prints every change and makes only read-only calls")
    func dryRun() async throws {
        let run = try await deploy(["--dry-run"])
        #expect(run.status == 0)
        let printed = run.output.split(separator: "\n").filter { $0.hasPrefix("gcloud ") }
        #expect(printed.contains { $0.hasPrefix("gcloud run deploy realtime --region us-central1 ") })
        #expect(printed.contains { $0.hasPrefix("gcloud redis instances create realtime-redis-asia-southeast1 ") })
        #expect(printed.contains { $0.hasPrefix("gcloud compute forwarding-rules create realtime-https ") })
        for call in run.calls {
            let readOnly = call.contains(" list ") || call.contains(" list-configs ") || call.contains(" describe ")
            #expect(readOnly && call.hasPrefix("gcloud "), "dry run made a call that is not read-only: \(call)")
        }
    }

    @Test("the project and regions are the environment file's: PROJECT and REGIONS from the environment are ignored")
    func noOverrides() async throws {
        // Both were overrides once, and broke: the image path, the RTDB id and the relay secrets every region
        // reads all follow from the file's project and regions.
        let run = try await deploy(
            ["--dry-run"], environment: ["REGIONS": "europe-west1", "PROJECT": "sandbox-project"])
        #expect(run.status == 0)
        let deploys = run.output.split(separator: "\n").filter { $0.hasPrefix("gcloud run deploy ") }
        #expect(deploys.count == 3)
        #expect(deploys.allSatisfy { $0.contains("--project tenderflow-prod") })
        #expect(!run.output.contains("sandbox-project"))
    }

    @Test("deploy.sh run again with nothing changed creates no revision; a new secret version or image does")
    func secondRunChangesNothing() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let state = directory.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("calls.log")
        // A recording gcloud with just enough memory for Cloud Run: `run deploy` keeps the service's labels,
        // `services describe` answers them; every secret's newest version is $VERSION.
        let gcloud = """
            #!/usr/bin/env bash
            echo "gcloud $*" >> "\(log.path)"
            # Read what the script pipes in, as gcloud does (else printf may die of SIGPIPE under pipefail).
            case "$*" in *"--data-file=-"*) cat >/dev/null ;; esac
            all="$*"; region="${all#*--region }"; region="${region%% *}"
            case "$all" in
              "run deploy "*)
                labels="${all#*--labels }"; echo "${labels##*tfctl-fingerprint=}" | cut -d' ' -f1 > "\(state.path)/$region"
                ;;
              "run services describe "*"latestCreatedRevisionName"*)
                [ -e "\(state.path)/$region" ] || exit 1; echo rev-2 ;;
              "run services describe "*"latestReadyRevisionName"*)
                # $UNREADY: the region whose newest revision never became ready.
                [ -e "\(state.path)/$region" ] || exit 1; [ "$region" = "$UNREADY" ] && echo rev-1 || echo rev-2 ;;
              "run services describe "*"tfctl-fingerprint"*) cat "\(state.path)/$region" ;;
              "secrets versions list "*) echo "$VERSION" ;;
              "artifacts docker images describe "*) echo "sha256:$(printf 'b%.0s' $(seq 1 64))" ;;
            esac
            exit 0

            """
        for (name, text) in [("gcloud", gcloud), ("curl", Self.curlAnswering200)] {
            let url = bin.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        func deploys(version: String, image: String? = nil, unready: String = "") async throws -> [String] {
            try? FileManager.default.removeItem(at: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "bash", RenderGoldenTests.goldens.appendingPathComponent("prod/gcloud/deploy.sh").path,
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["VERSION"] = version
            environment["IMAGE"] = image
            environment["UNREADY"] = unready
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try await process.runUntilExit()
            #expect(process.terminationStatus == 0)
            return try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init).filter {
                $0.hasPrefix("gcloud run deploy ")
            }
        }
        let first = try await deploys(version: "3")
        #expect(first.count == 3, "one per region")
        let digest = "sha256:" + String(repeating: "b", count: 64)
        #expect(first.allSatisfy { $0.contains("realtime-server@\(digest) ") }, "by digest, never :latest")
        #expect(
            first.allSatisfy { $0.contains("JWT_RS256_PUBLIC_KEY=realtime-jwt-public-key:3,") }, "pinned, never latest")
        #expect(try await deploys(version: "3").isEmpty, "a second run made new revisions")
        let rotated = try await deploys(version: "4")
        #expect(rotated.count == 3 && rotated.allSatisfy { $0.contains("realtime-jwt-public-key:4,") })
        #expect(try await deploys(version: "4").isEmpty)
        let built =
            "us-central1-docker.pkg.dev/tenderflow-prod/realtime/realtime-server@sha256:"
            + String(repeating: "c", count: 64)
        let newImage = try await deploys(version: "4", image: built)
        #expect(newImage.count == 3 && newImage.allSatisfy { $0.contains(" --image \(built) ") })
        // A deployment whose revision never became ready is tried again, there only.
        let retried = try await deploys(version: "4", image: built, unready: "europe-west1")
        #expect(retried.count == 1 && retried.first?.contains("--region europe-west1 ") == true, "\(retried)")
    }

    @Test("a secret without an enabled version stops the script before any Cloud Run step, saying how to add one")
    func secretWithoutVersion() async throws {
        // Everything exists, but no secret has a version (every list answers nothing).
        let run = try await deploy([], stubStatus: 0)
        #expect(run.status == 1)
        #expect(
            run.calls.contains {
                $0.hasPrefix("gcloud secrets versions list realtime-jwt-public-key --filter state:ENABLED")
            })
        #expect(!run.calls.contains { $0.hasPrefix("gcloud run deploy") }, "a Cloud Run step ran")
        let dry = try await deploy(["--dry-run"])
        #expect(dry.status == 0 && dry.output.contains("gcloud run deploy realtime"), "a dry run goes on")
    }

    @Test("destroy.sh waits, bounded, for a subnet Cloud Run still holds, and goes on once it is released")
    func subnetRetry() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("calls.log")
        let counter = directory.appendingPathComponent("subnet-deletes")
        // Everything exists; the us-central1 subnet's deletion is refused twice, as while Cloud Run holds it.
        let gcloud = """
            #!/usr/bin/env bash
            echo "gcloud $*" >> "\(log.path)"
            if [[ "$*" == *"subnets delete realtime-us-central1 "* ]]; then
              echo x >> "\(counter.path)"
              [ "$(wc -l < "\(counter.path)")" -gt 2 ] || exit 1
            fi
            exit 0

            """
        let sleep = "#!/usr/bin/env bash\necho \"sleep $*\" >> \"\(log.path)\"\n"
        for (name, text) in [("gcloud", gcloud), ("curl", Self.curlAnswering200), ("sleep", sleep)] {
            let url = bin.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "bash", RenderGoldenTests.goldens.appendingPathComponent("prod/gcloud/destroy.sh").path, "--yes",
            "--delete-data",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try await process.runUntilExit()
        #expect(process.terminationStatus == 0)
        let calls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.filter { $0.contains("subnets delete realtime-us-central1 ") }.count == 3)
        #expect(calls.filter { $0 == "sleep 600" }.count == 2)
        #expect(calls.contains { $0.contains("compute networks delete realtime-vpc") }, "the VPC went after the wait")
    }

    @Test("Firebase: addFirebase is polled until done, and the database's creation is retried while billing propagates")
    func firebasePrerequisites() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("calls.log")
        // Firebase answers the project only after the third look, and refuses the database twice (no Blaze yet).
        let curl = """
            #!/usr/bin/env bash
            echo "curl $*" >> "\(log.path)"
            # The headers come in a file: the token, and the project quota and billing go to.
            all="$*"; file="${all#*--header @}"; file="${file%% *}"
            grep -q "^Authorization: Bearer ya29.stub$" "$file" || exit 90
            grep -q "^X-Goog-User-Project: tenderflow-prod$" "$file" || exit 91
            count() { echo x >> "\(directory.path)/$1"; wc -l < "\(directory.path)/$1"; }
            case "$*" in
              *":addFirebase"*) exit 0 ;;
              *"--request POST"*"instances?databaseId="*) [ "$(count create)" -gt 2 ] || exit 22 ;;
              *"/v1beta1/projects/tenderflow-prod") [ "$(count project)" -gt 3 ] || exit 22 ;;
              *"/instances/tenderflow-prod-realtime") exit 22 ;;
              # Firebase Authentication was never set up in this project.
              *"/admin/v2/projects/tenderflow-prod/config") printf 404 ;;
            esac
            exit 0

            """
        let gcloud = """
            #!/usr/bin/env bash
            echo "gcloud $*" >> "\(log.path)"
            case "$*" in
              *"--data-file=-"*) cat >/dev/null ;;
              "secrets versions list "*) echo 3 ;;
              *"print-access-token"*) echo ya29.stub ;;
            esac
            exit 0

            """
        let sleep = "#!/usr/bin/env bash\necho \"sleep $*\" >> \"\(log.path)\"\n"
        for (name, text) in [("gcloud", gcloud), ("curl", curl), ("sleep", sleep)] {
            let url = bin.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", RenderGoldenTests.goldens.appendingPathComponent("prod/gcloud/deploy.sh").path]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["IMAGE"] =
            "us-central1-docker.pkg.dev/tenderflow-prod/realtime/realtime-server@sha256:"
            + String(repeating: "d", count: 64)
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try await process.runUntilExit()
        #expect(process.terminationStatus == 0)
        let calls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let firebase = calls.filter { $0.hasPrefix("curl ") }
        #expect(!firebase.isEmpty && firebase.allSatisfy { !$0.contains("ya29") }, "a token on a command line")
        let add = try #require(firebase.first { $0.contains(":addFirebase") })
        #expect(add.contains("--data {}"), "a POST without a body is refused with 411")
        // Looked at once before adding, then polled until it answers.
        #expect(firebase.filter { $0.hasSuffix("/v1beta1/projects/tenderflow-prod") }.count == 4)
        #expect(firebase.filter { $0.contains("instances?databaseId=") }.count == 3)
        #expect(calls.filter { $0 == "sleep \(60)" }.count == 2, "two refusals, a minute apart")
        #expect(calls.contains { $0.contains("gcloud auth application-default print-access-token --scopes=") })
        // The rules, then Firebase Authentication's configuration, initialized as it answered 404.
        let rules = try #require(firebase.firstIndex { $0.hasSuffix(".settings/rules.json") })
        let probe = try #require(firebase.firstIndex { $0.hasSuffix("/admin/v2/projects/tenderflow-prod/config") })
        #expect(rules < probe && firebase[probe].contains("--write-out %{http_code}"))
        #expect(firebase.last?.hasSuffix("/v2/projects/tenderflow-prod/identityPlatform:initializeAuth") == true)
        #expect(firebase.last?.contains("--request POST") == true)
    }

    /// A curl that succeeds, answering 200 where the scripts ask for a status (Firebase Authentication's
    /// configuration, which then exists).
    static let curlAnswering200 = """
        #!/usr/bin/env bash
        case "$*" in *"/admin/v2/projects/"*) printf 200 ;; esac
        exit 0

        """

    @Test("unknown arguments are refused before anything runs")
    func unknownArgument() async throws {
        let run = try await deploy(["--dryrun"])
        #expect(run.status == 64)
        #expect(run.calls.isEmpty)
    }
}
