import JSON
import Testing

@Suite struct JSONPrinterTests {
    @Test("pretty: two spaces a level, members in the order built, empty containers inline, escapes as compact")
    func pretty() {
        let value = JSONValue.object([
            (key: "b", value: .array([1, .string("x\n\"y\""), .object([])])),
            (key: "a", value: .object([(key: "c", value: .null), (key: "d", value: .array([]))])),
        ])
        #expect(
            value.pretty() == """
                {
                  "b": [
                    1,
                    "x\\n\\"y\\"",
                    {}
                  ],
                  "a": {
                    "c": null,
                    "d": []
                  }
                }

                """)
        #expect(value.serialized() == #"{"b":[1,"x\n\"y\"",{}],"a":{"c":null,"d":[]}}"#)
        #expect(JSONValue.parse(Substring(value.pretty())) == value)
    }
}
