import EngineIO

/// The live Engine.IO sessions of this process, by id.
actor SessionRegistry {
    private var sessions: [String: EngineSession] = [:]

    func add(_ session: EngineSession) { sessions[session.id] = session }

    func remove(_ id: String) { sessions[id] = nil }

    func session(_ id: String) -> EngineSession? { sessions[id] }

    var count: Int { sessions.count }

    var all: [EngineSession] { Array(sessions.values) }

    /// 20 URL-safe random characters: unguessable, and safe in JSON and URLs without escaping.
    static func newID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt8(alphabet.count)))] })
    }
}
