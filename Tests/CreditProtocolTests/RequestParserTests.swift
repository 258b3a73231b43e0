// Proves RequestParser accepts well-formed request lines (tags, any-case verbs, bare and
// quoted values) and rejects every malformation of the wire rules with a clear message,
// keeping the tag for the ERR reply whenever the first token was a valid tag.

import Testing
import CreditProtocol

private func parse(_ text: String) -> Result<ParsedRequest, RequestError> {
    RequestParser.parse(Array(text.utf8))
}

private func request(_ text: String) -> ParsedRequest? {
    try? parse(text).get()
}

private func failure(_ text: String) -> RequestError? {
    guard case .failure(let error) = parse(text) else { return nil }
    return error
}

// MARK: - Accepted

@Test func verbAlone() {
    #expect(request("PING") == ParsedRequest(tag: nil, verb: "PING", arguments: []))
}

@Test func verbIsCaseInsensitiveAndUppercased() {
    #expect(request("bal card=1")?.verb == "BAL")
    #expect(request("BaL card=1")?.verb == "BAL")
}

@Test func tagVerbAndArguments() {
    let parsed = request("#till-7_42 CAPTURE hold=h1 amount=250")
    #expect(parsed == ParsedRequest(tag: "till-7_42", verb: "CAPTURE", arguments: [
        Argument(key: "hold", value: "h1"), Argument(key: "amount", value: "250"),
    ]))
    #expect(parsed?.value("amount") == "250")
    #expect(parsed?.value("missing") == nil)
}

@Test func multipleSpacesAndSurroundingSpacesAreIgnored() {
    let parsed = request("   #t   BAL    card=1   pin=2  ")
    #expect(parsed == ParsedRequest(tag: "t", verb: "BAL", arguments: [
        Argument(key: "card", value: "1"), Argument(key: "pin", value: "2"),
    ]))
}

@Test func quotedValuesWithSpacesAndEscapes() {
    let parsed = request(#"NOTE text="hello world" q="say \"hi\"" bs="a\\b" n=1"#)
    #expect(parsed?.value("text") == "hello world")
    #expect(parsed?.value("q") == #"say "hi""#)
    #expect(parsed?.value("bs") == #"a\b"#)
    #expect(parsed?.value("n") == "1")
}

@Test func quotedValueAtEndOfLine() {
    #expect(request(#"NOTE text="a b""#)?.value("text") == "a b")
}

@Test func valueIsEverythingAfterTheFirstEquals() {
    #expect(request("SET a==b")?.value("a") == "=b")
    #expect(request("SET a=b=c")?.value("a") == "b=c")
    #expect(request("SET a==")?.value("a") == "=")
}

@Test func backslashInBareValueIsLiteral() {
    #expect(request(#"SET path=a\b"#)?.value("path") == #"a\b"#)
}

@Test func keysMayHaveDigitsAndUnderscores() {
    #expect(request("SET hold_id2=x")?.value("hold_id2") == "x")
}

@Test func tagAndKeyLimitsAreInclusive() {
    let tag = String(repeating: "t", count: 32)
    let key = "k" + String(repeating: "_", count: 31)
    let parsed = request("#\(tag) SET \(key)=1")
    #expect(parsed?.tag == tag)
    #expect(parsed?.value(key) == "1")
}

@Test func valueOfExactly256BytesIsAccepted() {
    let bare = String(repeating: "v", count: 256)
    #expect(request("SET pin=\(bare)")?.value("pin") == bare)
    let quoted = String(repeating: "a ", count: 128)
    #expect(request("SET note=\"\(quoted)\"")?.value("note") == quoted)
    let escaped = String(repeating: "\\\\", count: 256)
    #expect(request("SET note=\"\(escaped)\"")?.value("note") == String(repeating: "\\", count: 256))
}

@Test func thirtyTwoTokensAreAccepted() {
    let arguments = (1...31).map { "k\($0)=v" }.joined(separator: " ")
    #expect(request("SET \(arguments)")?.arguments.count == 31)
    let tagged = (1...30).map { "k\($0)=v" }.joined(separator: " ")
    #expect(request("#t SET \(tagged)")?.arguments.count == 30)
}

// MARK: - Rejected

@Test func tooManyTokens() {
    let arguments = (1...32).map { "k\($0)=v" }.joined(separator: " ")
    #expect(failure("SET \(arguments)") == RequestError(tag: nil, message: "too many tokens (max 32)"))
    let tagged = (1...31).map { "k\($0)=v" }.joined(separator: " ")
    #expect(failure("#t SET \(tagged)") == RequestError(tag: "t", message: "too many tokens (max 32)"))
}

@Test func valueOver256Bytes() {
    let bare = String(repeating: "v", count: 257)
    #expect(failure("#t SET pin=\(bare)") == RequestError(tag: "t", message: "value of pin exceeds 256 bytes"))
    let quoted = String(repeating: " ", count: 257)
    #expect(failure("SET pin=\"\(quoted)\"")?.message == "value of pin exceeds 256 bytes")
}

@Test func badTags() {
    for line in ["# BAL", "#a.b BAL", "#\(String(repeating: "x", count: 33)) BAL", "#ab\"c BAL", "#"] {
        #expect(failure(line) == RequestError(tag: nil, message: "bad tag"), "\(line)")
    }
}

@Test func missingVerb() {
    #expect(failure("#t1") == RequestError(tag: "t1", message: "missing verb"))
    #expect(failure("#t1    ") == RequestError(tag: "t1", message: "missing verb"))
    #expect(failure("   ")?.message == "missing verb")
}

@Test func badVerbs() {
    #expect(failure("#t B4L")?.tag == "t")
    #expect(failure("#t B4L")?.message.hasPrefix("bad verb") == true)
    #expect(failure("BAL=1")?.message.hasPrefix("bad verb") == true)
    #expect(failure("#a #b BAL")?.message.hasPrefix("bad verb") == true)
    #expect(failure("card=1 BAL")?.message.hasPrefix("bad verb") == true)
}

@Test func nonPrintableBytes() {
    var line = Array("#t BAL card=1".utf8)
    line.insert(0x00, at: 9)
    #expect(RequestParser.parse(line) == .failure(RequestError(tag: "t", message: "byte 0x00 is not printable ASCII")))
    #expect(RequestParser.parse(Array("BAL\tcard=1".utf8)) == .failure(RequestError(tag: nil, message: "byte 0x09 is not printable ASCII")))
    #expect(RequestParser.parse(Array("BAL card=1\r".utf8)) == .failure(RequestError(tag: nil, message: "byte 0x0D is not printable ASCII")))
    #expect(RequestParser.parse([0x42, 0x7F]) == .failure(RequestError(tag: nil, message: "byte 0x7F is not printable ASCII")))
    #expect(RequestParser.parse(Array("BAL note=café".utf8)) == .failure(RequestError(tag: nil, message: "byte 0xC3 is not printable ASCII")))
    #expect(RequestParser.parse([0x23, 0x74, 0x20, 0x1B]) == .failure(RequestError(tag: "t", message: "byte 0x1B is not printable ASCII")))
}

@Test func tagWithControlByteIsReportedAsTheByte() {
    #expect(RequestParser.parse([0x23, 0x74, 0x00, 0x20, 0x42]) == .failure(RequestError(tag: nil, message: "byte 0x00 is not printable ASCII")))
}

@Test func duplicateKeys() {
    #expect(failure("#t SET amount=1 card=2 amount=1") == RequestError(tag: "t", message: "duplicate argument amount"))
    #expect(failure(#"SET amount=1 amount="2""#)?.message == "duplicate argument amount")
}

@Test func emptyValues() {
    #expect(failure("SET amount=")?.message == "empty value for amount")
    #expect(failure("SET amount= card=1")?.message == "empty value for amount")
    #expect(failure(#"SET amount="""#)?.message == "empty value for amount")
    #expect(failure(#"#t SET amount="" card=1"#) == RequestError(tag: "t", message: "empty value for amount"))
}

@Test func unterminatedQuote() {
    #expect(failure(#"#t NOTE text="abc"#) == RequestError(tag: "t", message: "unterminated quoted value"))
    #expect(failure(#"NOTE text="abc\""#)?.message == "unterminated quoted value")
    #expect(failure(#"NOTE text="abc\"#)?.message == "unterminated quoted value")
    #expect(failure(#"NOTE text=""#)?.message == "unterminated quoted value")
}

@Test func badEscapes() {
    for escape in [#"\n"#, #"\t"#, #"\x"#, #"\ "#, #"\0"#] {
        let message = failure("NOTE text=\"a\(escape)b\"")?.message
        #expect(message?.hasPrefix("bad escape \(escape) in value of text") == true, "\(escape)")
    }
}

@Test func closingQuoteMustEndTheToken() {
    #expect(failure(#"NOTE text="a"b"#)?.message == "closing quote of text must be followed by a space or end of line")
    #expect(failure(#"NOTE text="a""b""#)?.message == "closing quote of text must be followed by a space or end of line")
}

@Test func quoteInsideBareValue() {
    #expect(failure(#"SET a=b"c"#)?.message == #"unquoted value of a contains ""#)
    #expect(failure(#"SET a=bc""#)?.message == #"unquoted value of a contains ""#)
}

@Test func tokensWithoutEquals() {
    #expect(failure("#t BAL card")  == RequestError(tag: "t", message: #"expected key=value, got "card""#))
    #expect(failure("BAL card=1 x")?.message == #"expected key=value, got "x""#)
}

@Test func badKeys() {
    #expect(failure("SET =1")?.message == "missing key before =")
    #expect(failure("SET Amount=1")?.message == #"key "Amount" must be lowercase"#)
    #expect(failure("SET amountX=1")?.message == #"key "amountX" must be lowercase"#)
    #expect(failure("SET 1a=1")?.message == #"key "1a" must start with a letter"#)
    #expect(failure("SET _a=1")?.message == #"key "_a" must start with a letter"#)
    #expect(failure("SET a-b=1")?.message == #"key "a-b" may contain only a-z, 0-9 and _"#)
    #expect(failure("SET \"a\"=1")?.message == #"key ""a"" must start with a letter"#)
    let long = String(repeating: "k", count: 33)
    #expect(failure("#t SET \(long)=1") == RequestError(tag: "t", message: "key \"\(long)\" exceeds 32 bytes"))
}

@Test func longSnippetsAreCut() {
    let long = String(repeating: "x", count: 300)
    let message = failure("BAL \(long)")?.message
    #expect(message == "expected key=value, got \"\(String(repeating: "x", count: 40))...\"")
}

@Test func errorMessagesArePrintable() {
    let lines = ["SET Ab=1", "SET a=b\"", #"SET a="\q""#, "#t", "BAL x", "SET a= ", "1BAL"]
    for line in lines {
        let message = failure(line)?.message ?? ""
        #expect(!message.isEmpty && message.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "\(line)")
    }
}
