// Proves that the reply parser reads PROTOCOL.md §4 exactly: item lines then one final line,
// OK fields and ERR code/message, echoed tags, quoted values with escapes, future fields kept in
// order; and that every malformed line is a protocol violation rather than a guess.

import Testing
@testable import CreditClient

@Suite struct ReplyParsingTests {
    @Test func okWithFields() throws {
        let reply = try Reply(lines: ["OK credit=cr_1 type=gift balance=50.00 held=0.00 available=50.00 currency=AUD status=active"])
        #expect(reply.isOK)
        #expect(reply.tag == nil)
        #expect(reply.items.isEmpty)
        let fields = try reply.require()
        #expect(fields["balance"] == "50.00")
        #expect(fields["currency"] == "AUD")
        #expect(fields["missing"] == nil)
        #expect(fields.keys == ["credit", "type", "balance", "held", "available", "currency", "status"])
    }

    @Test func bareOK() throws {
        let reply = try Reply(lines: ["OK"])
        #expect(reply.fields == Fields())
        #expect(try reply.require().isEmpty)
    }

    @Test func errorWithCodeAndMessage() throws {
        let reply = try Reply(lines: ["ERR INSUFFICIENT_FUNDS 1000 JPY available"])
        #expect(!reply.isOK)
        #expect(reply.final == .error(code: "INSUFFICIENT_FUNDS", message: "1000 JPY available"))
        #expect(throws: CreditClientError.server(code: "INSUFFICIENT_FUNDS", message: "1000 JPY available")) { try reply.require() }
        // The message is free text to the end of the line: quotes and `=` are not fields.
        let odd = try Reply(lines: [#"ERR BAD_REQUEST key "Credit" must be lowercase a=b"#])
        #expect(odd.final == .error(code: "BAD_REQUEST", message: #"key "Credit" must be lowercase a=b"#))
        #expect(try Reply(lines: ["ERR BUSY"]).final == .error(code: "BUSY", message: ""))
    }

    @Test func itemsThenFinalWithTag() throws {
        let reply = try Reply(lines: [
            "* seq=1 at=2026-11-26T14:32:20.930Z kind=issue amount=25.00 balance=25.00 ref=iss-0011",
            "* seq=2 at=2026-11-26T14:33:00.205Z kind=hold amount=10.00 balance=25.00 hold=hd_7 ref=till9-0001",
            "#6 OK credit=cr_7 count=2",
        ])
        #expect(reply.tag == "6")
        #expect(reply.items.count == 2)
        #expect(reply.items[0]["hold"] == nil)
        #expect(reply.items[1]["hold"] == "hd_7")
        #expect(reply.fields?["count"] == "2")
        let tagged = try Reply(lines: ["#t-4_x ERR HOLD_CAPTURED hold hd_7 was already captured"])
        #expect(tagged.tag == "t-4_x")
        #expect(tagged.final == .error(code: "HOLD_CAPTURED", message: "hold hd_7 was already captured"))
    }

    @Test func quotedValuesFromHelp() throws {
        let reply = try Reply(lines: [
            #"* verb=AUTH roles=any syntax="AUTH key=<id> secret=<secret>""#,
            "* verb=PING roles=any syntax=PING",
            #"* verb=X roles=any syntax="say \"hi\" \\ bye" after=1"#,
            "OK count=3",
        ])
        #expect(reply.items[0]["syntax"] == "AUTH key=<id> secret=<secret>")
        #expect(reply.items[1]["syntax"] == "PING")
        #expect(reply.items[2]["syntax"] == #"say "hi" \ bye"#)
        #expect(reply.items[2]["after"] == "1")
    }

    @Test func bareValuesMayHoldBackslashAndEquals() throws {
        let fields = try #require(try Reply(lines: [#"OK a==b path=C:\x empty="""#]).fields)
        #expect(fields["a"] == "=b")
        #expect(fields["path"] == #"C:\x"#)
        #expect(fields["empty"] == "")
    }

    @Test func unknownFutureFieldsAreKeptInOrder() throws {
        let fields = try #require(try Reply(lines: ["OK hold=hd_1 released=5.00 currency=AUD new_field=42"]).fields)
        #expect(fields.keys.last == "new_field")
        #expect(fields["new_field"] == "42")
    }

    @Test(arguments: [
        "",                              // empty line
        "OKAY",                          // not OK
        "ok",                            // lower case
        "ERR",                           // no code
        "ERR lower message",             // code not upper case
        "#bad.tag OK",                   // bad tag
        "#t1",                           // tag without reply
        "*seq=1",                        // item without the space
        "OK credit",                     // token without =
        "OK =x",                         // empty key
        "OK Key=x",                      // upper-case key
        #"OK a="unterminated"#,          // unterminated quote
        #"OK a="x"y"#,                   // closing quote not followed by space
        #"OK a="\q""#,                   // bad escape
        #"OK a=b"c"#,                    // quote in bare value
        "OK a=caf\u{E9}",                // non-ASCII
        "OK a=tab\there",                // control byte
        "HELLO",                         // unknown line
    ])
    func malformedLinesAreViolations(line: String) {
        #expect(throws: CreditClientError.self) { try Reply(lines: [line]) }
    }

    @Test func replyMustEndWithExactlyOneFinalLine() {
        #expect(throws: CreditClientError.self) { try Reply(lines: ["* seq=1"]) }
        #expect(throws: CreditClientError.self) { try Reply(lines: []) }
        #expect(throws: CreditClientError.self) { try Reply(lines: ["OK", "OK"]) }
        #expect(throws: CreditClientError.self) { try Reply(lines: ["OK", "* seq=1"]) }
    }

    @Test func assemblerSplitsAStreamIntoReplies() throws {
        var assembler = ReplyAssembler()
        var replies: [Reply] = []
        for line in ["#1 OK role=pos", "* a=1", "* a=2", "#2 OK count=2", "#3 ERR NOT_FOUND no hold hd_9"] {
            if let reply = try assembler.consume(Array(line.utf8)) { replies.append(reply) }
        }
        #expect(replies.map(\.tag) == ["1", "2", "3"])
        #expect(replies[1].items.map { $0["a"] } == ["1", "2"])
        #expect(replies[2].items.isEmpty)
        #expect(!assembler.isMidReply)
    }

    @Test func errorsDescribeThemselves() {
        #expect(CreditClientError.server(code: "DECLINED", message: "card declined").description == "ERR DECLINED card declined")
        #expect(CreditClientError.cannotConnect(host: "::1", port: 7878, reason: "Connection refused").description
            == "cannot connect to [::1]:7878: Connection refused")
        #expect(CreditClientError.timedOut(seconds: 3).isConnectionFailure)
        #expect(!CreditClientError.server(code: "X", message: "").isConnectionFailure)
    }
}
