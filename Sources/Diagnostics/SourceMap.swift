/// Where each value of a loaded topology was written, keyed by model path (`services.realtime.concurrency`).
///
/// Through `extends`, a value's location is the file that set it last. Lookups fall back to the nearest
/// enclosing path, so a rule about a defaulted value points at the object it belongs to.
public struct SourceMap: Sendable {
    private var values: [String: SourceLocation] = [:]
    private var keys: [String: SourceLocation] = [:]
    /// The location used when nothing on the path was written (the top of the environment file).
    public var root: SourceLocation?

    public init(root: SourceLocation? = nil) { self.root = root }

    public mutating func record(_ path: String, value: SourceLocation, key: SourceLocation?) {
        values[path] = value
        if let key { keys[path] = key }
    }

    /// The location of the value at `path`; for a defaulted value, the key of its nearest recorded ancestor
    /// (the object the value belongs to).
    public func location(of path: String) -> SourceLocation? {
        if let found = values[path] { return found }
        var current = path
        while let dot = current.lastIndex(of: ".") {
            current = String(current[..<dot])
            if let found = keys[current] ?? values[current] { return found }
        }
        return root
    }

    /// The location of the key that introduced `path`, falling back to the value's location.
    public func keyLocation(of path: String) -> SourceLocation? {
        keys[path] ?? location(of: path)
    }

    /// Whether `path` itself was written in a file (not defaulted).
    public func contains(_ path: String) -> Bool { values[path] != nil }
}
