import Foundation
import Renderers

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
            for file in files {
                let url = staging.appendingPathComponent(file.path)
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.contents.utf8).write(to: url)
                if file.executable { try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
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

    /// One line per file that is missing, different or no longer rendered, sorted by path.
    func differences(from files: [RenderedFile]) throws -> [String] {
        let root = URL(fileURLWithPath: path)
        var lines: [String] = []
        let expected = Set(files.map(\.path))
        for file in files {
            let url = root.appendingPathComponent(file.path)
            guard let data = fileManager.contents(atPath: url.path) else {
                lines.append("missing: \(displayPath)/\(file.path)")
                continue
            }
            if data != Data(file.contents.utf8) { lines.append("differs: \(displayPath)/\(file.path)") }
        }
        for existing in existingFiles(under: root) where !expected.contains(existing) {
            lines.append("extra: \(displayPath)/\(existing)")
        }
        return lines.sorted()
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
