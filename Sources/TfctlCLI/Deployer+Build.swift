import Crypto
import Foundation
import Renderers

/// The bundled server's image, built only when its source changed.
///
/// A Docker build is not reproducible: building the same source again gives a new digest, and a new digest is a
/// new revision in every region, which drains every WebSocket. So a build is tagged with the fingerprint of its
/// source (`sourceTag`), and an apply whose source already has an image deploys that image and builds nothing.
extension Deployer {
    /// What `Templates/Dockerfile` copies into the build, relative to the source directory.
    static let buildInputs = ["Package.swift", "Templates/Dockerfile", "Sources", "Tests"]

    /// How long a build waits after its account was created (`GcloudCalls.iamPropagationSeconds`).
    static let newAccountSeconds = GcloudCalls.iamPropagationSeconds

    /// The image of the source in `sourceDirectory`, by digest: the existing one, or a new build, with
    /// `cloudbuild/build.sh` (`withScript`, the gcloud path, which also makes sure of what the build needs) or
    /// with `gcloud builds submit` (the Terraform path, which created those with Terraform; `newAccount`: just
    /// now, so its roles are given time to apply).
    func bundledImage(newAccount: Bool = false, withScript: Bool = false) throws -> String {
        guard FileManager.default.fileExists(atPath: sourceDirectory + "/Templates/Dockerfile") else {
            throw Refused(
                reason: "image: bundled is built from Templates/Dockerfile, which is not in \(sourceDirectory)")
        }
        let tag = try sourceTag()
        let repository = topology.names.imageRepository
        let existing = try runner.capture(
            "gcloud",
            [
                "artifacts", "docker", "images", "describe", "\(repository):\(tag)", "--format",
                "value(image_summary.digest)", "--project", topology.project,
            ])
        if existing.status == 0,
            let image = try? Self.imageByDigest(
                repository + "@" + existing.output.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            log("The source is unchanged since \(image) (\(tag)): nothing to build.")
            return image
        }
        let output: String
        if withScript {
            let built = try runner.capture(
                "bash", [directory + "/cloudbuild/build.sh"],
                extraEnvironment: ["SOURCE": sourceDirectory, "SOURCE_TAG": tag])
            try runner.require(built.status, "cloudbuild/build.sh")
            output = built.output
        } else {
            if newAccount {
                log("Waiting \(Self.newAccountSeconds) s for the new build account's roles to take effect.")
                pause(Self.newAccountSeconds)
            }
            let built = try runner.capture(
                "gcloud",
                GcloudCalls.submitBuild(
                    source: sourceDirectory, config: directory + "/cloudbuild/bundled-image.yaml",
                    bucket: topology.names.buildSourceBucket, sourceTag: tag)
                    + ["--project", topology.project, "--quiet"])
            try runner.require(built.status, "gcloud builds submit")
            output = repository + "@" + built.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let image = try Self.imageByDigest(output.trimmingCharacters(in: .whitespacesAndNewlines))
        log("Built \(image) (\(tag)).")
        return image
    }

    /// `src-` and the first 16 hex digits of the SHA-256 of every build input's path and bytes, in path order.
    /// Hidden files and `__pycache__` are left out, as gcloud leaves out what `.gitignore` names when it uploads.
    func sourceTag() throws -> String {
        let root = URL(fileURLWithPath: sourceDirectory)
        var files: [String] = []
        for input in Self.buildInputs {
            var isDirectory: ObjCBool = false
            let path = root.appendingPathComponent(input).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            guard isDirectory.boolValue else {
                files.append(input)
                continue
            }
            let walker = FileManager.default.enumerator(atPath: path)
            while let relative = walker?.nextObject() as? String {
                let components = relative.split(separator: "/")
                if components.contains(where: { $0.hasPrefix(".") || $0 == "__pycache__" }) { continue }
                var isFolder: ObjCBool = false
                let full = path + "/" + relative
                if FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue {
                    files.append(input + "/" + relative)
                }
            }
        }
        var hash = SHA256()
        for file in files.sorted() {
            hash.update(data: Data(file.utf8) + [0])
            hash.update(data: try Data(contentsOf: root.appendingPathComponent(file)))
            hash.update(data: [0])
        }
        return "src-" + hash.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// `image` if it is `REPOSITORY@sha256:<64 hex digits>`.
    static func imageByDigest(_ image: String) throws -> String {
        let parts = image.split(separator: "@", maxSplits: 1)
        let digest = parts.count == 2 ? parts[1] : ""
        let hex = digest.dropFirst("sha256:".count)
        guard digest.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw Refused(reason: "the build did not report an image by digest (got '\(image)')")
        }
        return image
    }
}
