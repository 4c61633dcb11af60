import JSON
import Renderers
import Testing

/// The Realtime Database rules each shipped environment uploads, path by path: who reads what, and that nothing
/// else is readable or writable by a client.
@Suite struct DatabaseRulesTests {
    static func rules(_ environment: String) throws -> JSONValue {
        let text = try #require(try RuntimeBehaviourTests.files(environment)["firebase/database.rules.json"])
        return try #require(JSONValue.parse(Substring(text)))
    }

    static func rule(_ document: JSONValue, _ path: [String]) -> JSONValue? {
        var node = document["rules"]
        for key in path { node = node?[key] }
        return node
    }

    @Test("a tender and its presence are read by fallback clients whose token names it, or by administrators")
    func tenders() throws {
        let document = try Self.rules("prod")
        for root in ["tenders", "presence"] {
            let read = try #require(Self.rule(document, [root, "$tenderId", ".read"])?.stringValue)
            #expect(read.contains("auth.token.fallback === true && auth.token.until > now"))
            #expect(read.contains("auth.token.tenders.contains(',' + $tenderId + ',')"))
            #expect(read.contains("auth.token.admin === true"))
            #expect(Self.rule(document, [root, ".read"]) == nil, "a read on /\(root) would cascade to every tender")
        }
    }

    @Test("notices are read by every fallback client, a user node by its user only, the root by nobody")
    func others() throws {
        let document = try Self.rules("prod")
        let client = "auth != null && auth.token.fallback === true && auth.token.until > now"
        #expect(Self.rule(document, ["system", ".read"]) == .string(client))
        #expect(Self.rule(document, ["users", "$uid", ".read"]) == .string(client + " && auth.uid === $uid"))
        #expect(Self.rule(document, [".read"]) == .bool(false) && Self.rule(document, [".write"]) == .bool(false))
    }

    @Test("the rendered rules expose nothing, in every shipped environment", arguments: ["dev", "staging", "prod"])
    func nothingExposed(_ environment: String) throws {
        #expect(DatabaseRules.exposures(try Self.rules(environment)).isEmpty)
    }

    @Test("the audit finds what would expose tenders: any signed-in user, a read above a tender, a client write")
    func audit() {
        func document(_ rules: [(String, JSONValue)]) -> JSONValue { .object([("rules", .object(rules))]) }
        let anySignedIn = document([
            ("tenders", .object([("$tenderId", .object([(".read", .string("auth != null"))]))]))
        ])
        #expect(DatabaseRules.exposures(anySignedIn) == [#"/tenders/$tenderId: readable under "auth != null""#])
        let cascading = document([("tenders", .object([(".read", .string(DatabaseRules.reads[2].condition))]))])
        #expect(DatabaseRules.exposures(cascading).count == 1)
        let writable = document([("system", .object([(".write", .string("auth != null"))]))])
        #expect(DatabaseRules.exposures(writable) == [#"/system: clients may write ("auth != null")"#])
        #expect(DatabaseRules.exposures(document([(".read", .bool(true))])) == ["/: readable under true"])
        #expect(DatabaseRules.exposures(.object([])) == ["no `rules` object"])
    }
}
