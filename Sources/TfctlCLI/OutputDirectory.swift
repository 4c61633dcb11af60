import Foundation
import Renderers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The environment's output directory. Replaced whole and atomically: a failed render never leaves a
/// half-written directory, and files tfctl no longer renders disappear.
struct OutputDirectory {
    let path: String
    /// The directory as the user named it, for messages.
    let displayPath: String
    private let fileManager = FileManager.default

    /// Writes `files` into a sibling staging directory, then swaps it in with renames.
    func replace(with files: [RenderedFile]) throws {
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        let token = "\(ProcessInfo.processInfo.processIdentifier)"
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).tfctl-new-\(token)")
        let retired = parent.appendingPathComponent(".\(target.lastPathComponent).tfctl-old-\(token)")
        try? fileManager.removeItem(at: staging)
        do {
            var created: Set<String> = []
            for file in files {
                let url = staging.appendingPathComponent(file.path)
                let directory = url.deletingLastPathComponent().path
                if created.insert(directory).inserted {
                    try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
                // An unchanged file is linked from the current output instead of written again: the same bytes,
                // without allocating a new inode (the expensive part of re-rendering hundreds of files).
                let previous = target.appendingPathComponent(file.path).path
                if !isUnchanged(previous, file) {
                    try writeFile(file.contents, to: url.path, mode: file.executable ? 0o755 : 0o644)
                } else if link(previous, url.path) != 0 {
                    try writeFile(file.contents, to: url.path, mode: file.executable ? 0o755 : 0o644)
                }
            }
            // Terraform's working files (local state, providers, lock file, saved plans) are not rendered but
            // belong to the directory: they move into the new one.
            for path in Self.terraformWorkingFiles(in: target) {
                let destination = staging.appendingPathComponent(path)
                try fileManager.createDirectory(
                    at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fileManager.moveItem(at: target.appendingPathComponent(path), to: destination)
            }
            if fileManager.fileExists(atPath: target.path) {
                try fileManager.moveItem(at: target, to: retired)
            }
            try fileManager.moveItem(at: staging, to: target)
        } catch {
            try? fileManager.removeItem(at: staging)
            if !fileManager.fileExists(atPath: target.path), fileManager.fileExists(atPath: retired.path) {
                try? fileManager.moveItem(at: retired, to: target)
            }
            throw error
        }
        try? fileManager.removeItem(at: retired)
    }

    /// Paths, relative to the output directory, of what `terraform init/plan/apply` leave in `terraform/`.
    static func terraformWorkingFiles(in root: URL) -> [String] {
        let directory = root.appendingPathComponent("terraform")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            name == ".terraform" || name == ".terraform.lock.hcl" || name.hasPrefix("terraform.tfstate")
                || name.hasSuffix(".tfplan")
        }.sorted().map { "terraform/\($0)" }
    }

    /// Whether the file at `path` already holds exactly `file` (bytes and mode).
    private func isUnchanged(_ path: String, _ file: RenderedFile) -> Bool {
        guard let attributes = try? fileManager.attributesOfItem(atPath: path),
            (attributes[.posixPermissions] as? Int).map({ ($0 & 0o111 != 0) == file.executable }) == true,
            let data = fileManager.contents(atPath: path)
        else { return false }
        return data == Data(file.contents.utf8)
    }

    /// Plain create-write-close: the staging directory is swapped in whole afterwards, so per-file atomic
    /// writes (and their syncs) would only cost time.
    private func writeFile(_ contents: String, to path: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        var bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            offset += written
        }
    }

    /// One line per file that is missing, different or no longer rendered, sorted by path.
    /// A file whose rendering and what is on disk disagree: missing on disk, different, or on disk only.
    struct Difference: Comparable {
        enum Kind: String { case missing, differs, extra }
        let kind: Kind
        let path: String
        /// What is on disk (nil when missing) and what would be rendered (nil when extra).
        let onDisk: String?
        let rendered: String?

        static func < (lhs: Difference, rhs: Difference) -> Bool { lhs.path < rhs.path }
        static func == (lhs: Difference, rhs: Difference) -> Bool { lhs.path == rhs.path && lhs.kind == rhs.kind }
    }

    func differences(from files: [RenderedFile]) throws -> [Difference] {
        let root = URL(fileURLWithPath: path)
        var found: [Difference] = []
        let expected = Set(files.map(\.path))
        for file in files {
            let url = root.appendingPathComponent(file.path)
            guard let data = fileManager.contents(atPath: url.path) else {
                found.append(Difference(kind: .missing, path: file.path, onDisk: nil, rendered: file.contents))
                continue
            }
            if data != Data(file.contents.utf8) {
                found.append(
                    Difference(
                        kind: .differs, path: file.path, onDisk: String(decoding: data, as: UTF8.self),
                        rendered: file.contents))
            }
        }
        let working = Set(Self.terraformWorkingFiles(in: root))
        for existing in existingFiles(under: root)
        where !expected.contains(existing)
            && !working.contains(where: { existing == $0 || existing.hasPrefix($0 + "/") })
        {
            let data = fileManager.contents(atPath: root.appendingPathComponent(existing).path) ?? Data()
            found.append(
                Difference(
                    kind: .extra, path: existing, onDisk: String(decoding: data, as: UTF8.self), rendered: nil))
        }
        return found.sorted()
    }

    private func existingFiles(under root: URL) -> [String] {
        guard let enumerator = fileManager.enumerator(atPath: root.path) else { return [] }
        var found: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: root.appendingPathComponent(relative).path, isDirectory: &isDirectory),
                !isDirectory.boolValue, !relative.hasPrefix(".")
            {
                found.append(relative)
            }
        }
        return found
    }
}
