// Proves that requests encode to exactly one valid protocol line (quoting per PROTOCOL.md §3),
// that the reply parser reads every encoded value back unchanged, and that anything the server
// would reject or misread (LF, CR, non-printable bytes, over-long lines, bad keys) is refused.

import Testing
@testable import CreditClient

@Suite struct RequestEncodingTests {
    @Test func plainArgumentsAreWrittenBareInOrder() throws {
        let request = Request("hold", ["credit": "cr_1", "amount": "5.00", "currency": "AUD", "ref": "till3-77"])
        #expect(try request.encoded() == "HOLD credit=cr_1 amount=5.00 currency=AUD ref=till3-77")
        #expect(request["amount"] == "5.00")
        #expect(try request.encodedLine().last == 0x0A)
    }

    @Test func tagComesFirst() throws {
        let request = Request("PING", tag: "a-1")
        #expect(try request.encoded() == "#a-1 PING")
    }

    @Test func valuesWithSpacesQuotesAndBackslashesAreQuotedAndEscaped() throws {
        let request = Request("AUTH", ["key": "dev-admin", "secret": "has a \"quote\" and \\ backslash"])
        #expect(try request.encoded() == #"AUTH key=dev-admin secret="has a \"quote\" and \\ backslash""#)
        // A lone backslash or quote, with no space, still needs quoting: bare values may not hold `"`.
        #expect(try Request("X", ["a": "\\"]).encoded() == #"X a="\\""#)
        #expect(try Request("X", ["a": "\""]).encoded() == #"X a="\"""#)
        #expect(try Request("X", ["a": "k=v"]).encoded() == #"X a="k=v""#)
    }

    /// Every printable byte, in awkward places, survives encoding and the reply parser's decoding.
    @Test(arguments: [
        "plain", "two words", " leading", "trailing ", "  ", "\"", "\\", "\\\"", "\"\\\"", "a\\qb",
        "=", "a==b", "#tag", "*", "OK", "ERR X", String(repeating: "\\", count: 128),
        String((0x20...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }),
    ])
    func roundTripThroughTheReplyParser(value: String) throws {
        let request = Request(verb: "ECHO", arguments: [("first", value), ("second", "x"), ("third", value)])
        let line = try request.encoded()
        #expect(line.hasPrefix("ECHO "))
        let reply = try Reply(lines: ["OK" + line.dropFirst("ECHO".count)])
        #expect(reply.fields == Fields([("first", value), ("second", "x"), ("third", value)]))
    }

    @Test(arguments: ["a\nb", "a\rb", "\n", "tab\there", "nul\u{0}", "del\u{7F}", "café", "\u{1B}[31m"])
    func nonPrintableValuesAreRefused(value: String) {
        #expect(throws: CreditClientError.self) { try Request("HISTORY", ["credit": value]).encoded() }
    }

    @Test func refusalNamesTheByte() {
        #expect(throws: CreditClientError.invalidRequest("value of note contains byte 0x0A (line feed); only printable ASCII can be sent")) {
            try Request("X", ["note": "one\ntwo"]).encoded()
        }
        #expect(throws: CreditClientError.invalidRequest("value of note contains byte 0x0D (carriage return); only printable ASCII can be sent")) {
            try Request("X", ["note": "one\r"]).encoded()
        }
    }

    @Test func lineLimitIs1024BytesIncludingTheLF() throws {
        // VERB + 4 × " kN=" + 250 bytes + LF: a 7-letter verb makes 7 + 4 × 254 + 1 = 1024 bytes.
        func request(verbLetters: Int) -> Request {
            let arguments = (0..<4).map { (key: "k\($0)", value: String(repeating: "v", count: 250)) }
            return Request(verb: String(repeating: "X", count: verbLetters), arguments: arguments)
        }
        #expect(try request(verbLetters: 7).encodedLine().count == 1024)
        #expect(throws: CreditClientError.invalidRequest("the line would be 1025 bytes; the limit is 1024 including the LF")) {
            try request(verbLetters: 8).encodedLine()
        }
    }

    @Test func quotingCountsTowardTheLineLimit() {
        // 4 values of 128 backslashes are 4 × 258 bytes quoted: over the limit though short unquoted.
        let arguments = (0..<4).map { (key: "k\($0)", value: String(repeating: "\\", count: 128)) }
        #expect(throws: CreditClientError.self) { try Request(verb: "X", arguments: arguments).encoded() }
    }

    @Test func malformedPartsAreRefused() {
        let refused: [Request] = [
            Request("X", ["k": ""]),                                   // empty value
            Request("X", ["k": String(repeating: "v", count: 257)]),   // value over 256 bytes
            Request("X", ["Key": "v"]),                                // upper-case key
            Request("X", ["1k": "v"]),                                 // key not starting with a letter
            Request("X", ["a b": "v"]),                                // space in key
            Request("X", ["a=b": "v"]),                                // = in key
            Request("X", [String(repeating: "k", count: 33): "v"]),    // key over 32 bytes
            Request("X", ["k": "1", "k": "2"]),                        // duplicate key
            Request("PING2"),                                          // verb with a digit
            Request(""),                                               // no verb
            Request("PING", tag: "bad.tag"),                           // bad tag
            Request("PING", tag: ""),                                  // empty tag
            Request("PING", tag: String(repeating: "t", count: 33)),   // tag over 32 bytes
            Request(verb: "X", arguments: (0..<32).map { ("k\($0)", "v") }),  // verb + 32 arguments: 33 tokens
        ]
        for request in refused {
            #expect(throws: CreditClientError.self, "\(request.verb) \(request.arguments)") { try request.encoded() }
        }
        // 31 arguments plus the verb is exactly 32 tokens, the maximum.
        #expect(throws: Never.self) { try Request(verb: "X", arguments: (0..<31).map { ("k\($0)", "v") }).encoded() }
        #expect(throws: Never.self) { try Request(verb: "X", arguments: (0..<30).map { ("k\($0)", "v") }, tag: "t").encoded() }
    }
}
