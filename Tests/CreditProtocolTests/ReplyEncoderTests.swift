// Proves ReplyEncoder writes the reply grammar exactly (tag only on the final line, items
// untagged, quoting when needed) and that every value it writes parses back unchanged.

import Testing
import CreditCore
import CreditProtocol

private func encoded(_ build: (inout [UInt8]) -> Void) -> String {
    var buffer: [UInt8] = []
    build(&buffer)
    return String(decoding: buffer, as: UTF8.self)
}

@Test func okWithAndWithoutTag() {
    #expect(encoded { ReplyEncoder.ok(tag: nil, fields: [], into: &$0) } == "OK\n")
    #expect(encoded { ReplyEncoder.ok(tag: "t7", fields: [("balance", "1200"), ("currency", "EUR")], into: &$0) }
        == "#t7 OK balance=1200 currency=EUR\n")
}

@Test func itemsNeverCarryTheTag() {
    let reply = encoded {
        ReplyEncoder.item(fields: [("hold", "h1"), ("amount", "5")], into: &$0)
        ReplyEncoder.item(fields: [("hold", "h2"), ("amount", "7")], into: &$0)
        ReplyEncoder.ok(tag: "x", fields: [("count", "2")], into: &$0)
    }
    #expect(reply == "* hold=h1 amount=5\n* hold=h2 amount=7\n#x OK count=2\n")
}

@Test func errorLine() {
    #expect(encoded { ReplyEncoder.error(tag: nil, code: "BAD_REQUEST", message: "missing verb", into: &$0) }
        == "ERR BAD_REQUEST missing verb\n")
    #expect(encoded { ReplyEncoder.error(tag: "a-1", code: "NO_FUNDS", message: "available 5 < 7", into: &$0) }
        == "#a-1 ERR NO_FUNDS available 5 < 7\n")
    #expect(encoded { ReplyEncoder.error(tag: nil, code: "INTERNAL", message: "", into: &$0) } == "ERR INTERNAL\n")
}

@Test func errorMessageIsSanitised() {
    let reply = encoded { ReplyEncoder.error(tag: nil, code: "X", message: "a\nb\r\tc\u{7F}é€d", into: &$0) }
    #expect(reply == "ERR X a b  c ??d\n")
    let long = String(repeating: "m", count: 5000)
    let capped = encoded { ReplyEncoder.error(tag: nil, code: "X", message: long, into: &$0) }
    #expect(capped.utf8.count == "ERR X ".utf8.count + ProtocolLimits.errorMessageBytesMax + 1)
}

@Test func quoteIfNeeded() {
    #expect(ReplyEncoder.quoteIfNeeded("plain-value_1.5") == "plain-value_1.5")
    #expect(ReplyEncoder.quoteIfNeeded("") == #""""#)
    #expect(ReplyEncoder.quoteIfNeeded("a b") == #""a b""#)
    #expect(ReplyEncoder.quoteIfNeeded("a=b") == #""a=b""#)
    #expect(ReplyEncoder.quoteIfNeeded(#"say "hi""#) == #""say \"hi\"""#)
    #expect(ReplyEncoder.quoteIfNeeded(#"a\b"#) == #""a\\b""#)
    #expect(ReplyEncoder.quoteIfNeeded("line\nbreak") == #""line?break""#)
}

@Test func encodedValuesParseBackUnchanged() {
    var values = ["x", "a b", "=", "==b", #"""#, #"\"#, #"\\"#, #"\""#, #"a "quoted" \ value"#, " ", "  lead", "trail ",
                  String(repeating: "z", count: 256), String(repeating: #"\""#, count: 128)]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<500 {
        let length = Int.random(in: 1...ProtocolLimits.valueBytesMax, using: &generator)
        let scalars = (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &generator) }
        values.append(String(decoding: scalars, as: UTF8.self))
    }
    for value in values {
        var line = Array("#t SET v=".utf8)
        line += Array(ReplyEncoder.quoteIfNeeded(value).utf8)
        let parsed = try? RequestParser.parse(line).get()
        #expect(parsed?.value("v") == value, "\(value)")
    }
}

@Test func itemLineParsesBackAsArguments() {
    let fields = [("note", "coffee & cake"), ("path", #"C:\x"#), ("eq", "k=v"), ("id", "h1")]
    var buffer: [UInt8] = []
    ReplyEncoder.item(fields: fields, into: &buffer)
    #expect(buffer.first == 0x2A && buffer.last == 0x0A)
    let line = Array("ITEM".utf8) + buffer.dropFirst().dropLast()
    let parsed = try? RequestParser.parse(line).get()
    #expect(parsed?.arguments == fields.map { Argument(key: $0.0, value: $0.1) })
}

@Test func ledgerRepliesEncodeExactlyAsTupleFieldsWhetherBareQuotedOrLong() {
    let lines: [[(String, String)]] = [
        [],
        [("hold", "hd_1"), ("amount", "12.50"), ("currency", "AUD")],
        [("note", "coffee & cake"), ("id", "h1")],  // a quoted value first
        [("id", "h1"), ("path", #"C:\x"#), ("eq", "k=v"), ("empty", "")],  // quoted after bare ones
        [("name", "café"), ("tab", "a\tb")],  // outside printable ASCII: one `?` per character
        [("long", String(repeating: "v", count: 1024)), ("after", "x")],  // past the scratch at once
        (0..<40).map { ("key_\($0)", String(repeating: "9", count: 10)) },  // past the scratch part way
        (0..<31).map { ("k\($0)", String(repeating: "7", count: 12)) },  // ends near the scratch's edge
    ]
    // Pinned, not only compared with the tuple encoder (they share `appendValue`): a character
    // outside printable ASCII is one `?`, and the value is quoted.
    #expect(encoded { ReplyEncoder.reply(Reply(fields: [Field("name", "café"), Field("tab", "a\tb")]), tag: "t", into: &$0) }
        == "#t OK name=\"caf?\" tab=\"a?b\"\n")
    for fields in lines {
        let ledgerFields = fields.map { Field($0.0, $0.1) }
        // The line as the OK line, and as each of two item lines before one short OK line.
        #expect(encoded { ReplyEncoder.reply(Reply(fields: ledgerFields), tag: "t", into: &$0) }
            == encoded { ReplyEncoder.ok(tag: "t", fields: fields, into: &$0) })
        let withItems = Reply(items: [ledgerFields, ledgerFields], fields: [Field("count", "2")])
        #expect(encoded { ReplyEncoder.reply(withItems, tag: nil, into: &$0) }
            == encoded {
                ReplyEncoder.item(fields: fields, into: &$0)
                ReplyEncoder.item(fields: fields, into: &$0)
                ReplyEncoder.ok(tag: nil, fields: [("count", "2")], into: &$0)
            })
        // Appended after what the buffer already holds, and nothing else.
        var buffer = Array("* earlier\n".utf8)
        ReplyEncoder.reply(Reply(fields: ledgerFields), tag: nil, into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "* earlier\n" + encoded { ReplyEncoder.ok(tag: nil, fields: fields, into: &$0) })
    }
}
