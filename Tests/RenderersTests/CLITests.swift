import ArgumentParser
import EnvironmentLoader
import Foundation
import RenderPipeline
import TestSupport
import Testing

@testable import TfctlCLI

/// The command-line contract: exit codes, atomic output directories, `--check`.
@Suite struct CLITests {
    /// Runs `tfctl ARGS --chdir DIRECTORY` in-process and returns its exit code. (Never `chdir` the test
    /// process: tests run in parallel and spawn tools that inherit the working directory.)
    func tfctl(_ arguments: [String], in directory: URL) -> Int32 {
        let chdir = arguments.first == "explain" ? [] : ["--chdir", directory.path]
        do {
            var command = try Tfctl.parseAsRoot(arguments + chdir)
            try command.run()
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            return Tfctl.exitCode(for: error).rawValue
        }
    }

    /// A scratch project with a copy of the shipped environments.
    func project() throws -> URL {
        let directory = try temporaryDirectory()
        try FileManager.default.copyItem(
            at: Repository.url("Environments"), to: directory.appendingPathComponent("Environments"))
        return directory
    }

    func files(under url: URL) -> [String] {
        (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
    }

    @Test("render writes out/<env>/terraform, and --check then reports up to date")
    func renderThenCheck() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tfctl(["render", "--env", "dev"], in: directory) == 0)
        let out = directory.appendingPathComponent("out/dev/terraform")
        #expect(files(under: out).contains("cloud_run.tf"))
        #expect(tfctl(["render", "--env", "dev", "--check"], in: directory) == 0)
        // A hand edit and a stray file are both differences: exit 2.
        try Data("# edited\n".utf8).write(to: out.appendingPathComponent("cloud_run.tf"))
        #expect(tfctl(["render", "--env", "dev", "--check"], in: directory) == 2)
        // Rendering again restores the files and removes what tfctl does not render.
        try Data("stray".utf8).write(to: out.appendingPathComponent("stray.tf"))
        #expect(tfctl(["render", "--env", "dev"], in: directory) == 0)
        #expect(!files(under: out).contains("stray.tf"))
        #expect(tfctl(["render", "--env", "dev", "--check"], in: directory) == 0)
        #expect(files(under: directory.appendingPathComponent("out")).allSatisfy { !$0.contains(".tfctl-") })
    }

    @Test("render --check says which files differ and shows the diff of each, bounded")
    func checkShowsTheDiff() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tfctl(["render", "--env", "dev"], in: directory) == 0)
        let out = directory.appendingPathComponent("out/dev")
        let cloudRun = out.appendingPathComponent("terraform/cloud_run.tf")
        let rendered = try String(contentsOf: cloudRun, encoding: .utf8)
        try Data((rendered + "# edited by hand\n").utf8).write(to: cloudRun)
        try Data("stray\n".utf8).write(to: out.appendingPathComponent("terraform/stray.tf"))
        let writer = OutputDirectory(path: out.path, displayPath: "out/dev")
        let pipeline = Pipeline(environment: "dev", loader: EnvironmentLoader(workingDirectory: directory.path))
        let differences = try writer.differences(from: pipeline.render())
        #expect(
            differences.map { "\($0.kind.rawValue) \($0.path)" } == [
                "differs terraform/cloud_run.tf", "extra terraform/stray.tf",
            ])
        let diff = Render.diff(differences, directory: "out/dev")
        #expect(diff.contains("--- a/out/dev/terraform/cloud_run.tf\n+++ b/out/dev/terraform/cloud_run.tf\n@@ "))
        #expect(diff.contains("\n }\n-# edited by hand\n"))
        #expect(diff.contains("--- a/out/dev/terraform/stray.tf\n+++ /dev/null\n@@ -1 +0,0 @@\n-stray\n"))
        // A whole render missing is more than a CI log needs: cut, and said.
        let everything = pipeline.render().map {
            OutputDirectory.Difference(kind: .missing, path: $0.path, onDisk: nil, rendered: $0.contents)
        }
        let bounded = Render.diff(everything, directory: "out/dev")
        #expect(bounded.split(separator: "\n").count <= Render.maxDiffLines + 1)
        #expect(bounded.contains("more file(s) left out after \(Render.maxDiffLines) lines: "))
    }

    @Test("tfctl with no arguments renders the bundled example environment")
    func defaultRender() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tfctl([], in: directory) == 0)
        #expect(files(under: directory.appendingPathComponent("out/prod/terraform")).count >= 10)
    }

    @Test("invalid input exits 1 and leaves the existing output untouched")
    func invalidChangesNothing() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tfctl(["render", "--env", "dev"], in: directory) == 0)
        let out = directory.appendingPathComponent("out/dev")
        let before = try snapshot(out)
        let env = directory.appendingPathComponent("Environments/dev.yaml")
        try Data(
            (try String(contentsOf: env, encoding: .utf8) + "services: { realtime: { concurrency: 5000 } }\n").utf8
        )
        .write(to: env)
        #expect(tfctl(["render", "--env", "dev"], in: directory) == 1)
        #expect(tfctl(["validate", "--env", "dev"], in: directory) == 1)
        #expect(try snapshot(out) == before)
        // Nothing written for an environment that never rendered.
        #expect(tfctl(["render", "--env", "dev", "--out", "elsewhere"], in: directory) == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("elsewhere").path))
    }

    @Test("warnings pass, unless --strict")
    func strict() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        let env = directory.appendingPathComponent("Environments/warn.yaml")
        try Data("extends: dev.yaml\nservices: { realtime: { timeout: 900s } }\n".utf8).write(to: env)
        #expect(tfctl(["validate", "--env", "warn"], in: directory) == 0)
        #expect(tfctl(["validate", "--env", "warn", "--strict"], in: directory) == 1)
    }

    @Test("a missing environment and an unknown rule are errors, not crashes")
    func missing() throws {
        let directory = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tfctl(["validate", "--env", "nope"], in: directory) == 1)
        #expect(tfctl(["explain", "TFC0302"], in: directory) == 0)
        #expect(tfctl(["explain", "TFC9999"], in: directory) != 0)
    }

    private func snapshot(_ url: URL) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for path in files(under: url) {
            contents[path] = FileManager.default.contents(atPath: url.appendingPathComponent(path).path)
        }
        return contents
    }
}
