// Proves the line protocol's contract on the wire, the same on the plaintext and the TLS port (tests taking a Transport run over both): auth and roles, HELP, QUIT, tagged pipelining, hostile and malformed input answered without losing the connection, idempotent retries, the connection cap, the idle timeout and hold expiry.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

/// An admin connection (over `transport`) to a fresh daemon with one gift card of 100.00 AUD (cr_1).
private func daemonWithCard(_ extraConfig: String = "", over transport: Transport = .plain) throws -> (Daemon, WireClient, IssuedCard) {
    let daemon = try Daemon(extraConfig: extraConfig)
    let admin = try daemon.connect(as: "dev-admin", over: transport)
    let card = try admin.issueGift(amount: "100.00", ref: "issue-1")
    #expect(card.credit == "cr_1")
    return (daemon, admin, card)
}

/// The error code of a final reply line (`ERR CODE message`, possibly tagged), or nil if it is no ERR.
private func errorCode(_ reply: [String]) -> String? {
    guard var words = reply.last?.split(separator: " ") else { return nil }
    if words.first?.hasPrefix("#") == true { words.removeFirst() }
    guard words.count >= 2, words[0] == "ERR" else { return nil }
    return String(words[1])
}

// MARK: Authentication and roles

@Test(arguments: Transport.allCases) func onlyAuthPingHelpQuitWorkBeforeAuth(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    #expect(try client.request("PING") == ["OK"])
    let help = try client.request("HELP")
    #expect(help.last == "OK count=28")
    // HELP marks exactly the four session verbs as usable by anyone.
    let open = help.dropLast().filter { client.fields($0)["roles"] == "any" }.compactMap { client.fields($0)["verb"] }
    #expect(open == ["AUTH", "PING", "HELP", "QUIT"])
    for line in ["ISSUE type=gift amount=5 currency=AUD ref=x", "BALANCE credit=cr_1", "HOLD credit=cr_1 amount=1 currency=AUD ref=x",
                 "CAPTURE hold=hd_1 ref=x", "VOID hold=hd_1 ref=x", "HISTORY credit=cr_1", "STATS", "ISSUE", "balance",
                 "CREDITS profile=p1", "QUOTE profile=p1 amount=1 currency=AUD", "HOLD profile=p1 amount=1 currency=AUD ref=x",
                 "REFUND credit=cr_1 amount=1 currency=AUD ref=x", "FREEZE credit=cr_1 reason=lost ref=x",
                 "UNFREEZE credit=cr_1 reason=found ref=x", "CANCEL credit=cr_1 reason=closed ref=x",
                 "STOCK count=1 currency=AUD ref=x", "ACTIVATE card=6000000000000000 amount=1 currency=AUD ref=x",
                 "LOAD card=6000000000000000 amount=1 currency=AUD ref=x", "REPLACE credit=cr_1 ref=x",
                 "TRANSFER credit=cr_1 to=p2 ref=x", "CLAIM code=ABC profile=p1 ref=x", "UNLOCK credit=cr_1 ref=x",
                 "REVERSE original=x ref=y", "REPORT kind=liability", "RATES", "BACKUP", "credits"] {
        let reply = try client.request(line)
        #expect(reply.count == 1 && errorCode(reply) == "NOT_AUTHENTICATED", "\(line) → \(reply)")
    }
    // Checks come in the documented order: framing, syntax, the verb, then authentication.
    #expect(errorCode(try client.request("FROB credit=cr_1")) == "UNKNOWN_VERB")
    #expect(errorCode(try client.request("BALANCE Credit=cr_1")) == "BAD_REQUEST")
    #expect(errorCode(try client.request("BALANCE credit=" + String(repeating: "1", count: 1100))) == "LINE_TOO_LONG")
    // Nothing was issued by the refused ISSUE.
    #expect(try client.request("AUTH key=dev-admin secret=dev-admin-secret") == ["OK role=admin"])
    #expect(try client.ok("STATS")["credits"] == "0")
}

@Test(arguments: Transport.allCases) func helpListsExactlyTheVerbs(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    let reply = try client.request("HELP")
    let items = reply.dropLast()
    #expect(items.allSatisfy { $0.hasPrefix("* ") })
    // Every verb in table order, with the roles of the verb x role matrix.
    let matrix: [(verb: String, roles: String)] = [
        ("AUTH", "any"), ("PING", "any"), ("HELP", "any"), ("QUIT", "any"),
        ("ISSUE", "admin,staff"), ("BALANCE", "admin,staff,pos,gateway,portal"), ("CREDITS", "admin,staff,pos,gateway,portal"),
        ("QUOTE", "admin,staff,pos,gateway"), ("HOLD", "admin,pos,gateway"), ("CAPTURE", "admin,pos,gateway"),
        ("VOID", "admin,pos,gateway"), ("REFUND", "admin,pos,gateway"), ("FREEZE", "admin,staff"), ("UNFREEZE", "admin,staff"),
        ("CANCEL", "admin"), ("STOCK", "admin"), ("ACTIVATE", "admin,staff,pos"), ("LOAD", "admin,staff,pos"),
        ("REPLACE", "admin,staff"), ("TRANSFER", "admin,staff,portal"), ("CLAIM", "admin,staff,portal"), ("UNLOCK", "admin"),
        ("REVERSE", "admin,pos,gateway"), ("REPORT", "admin"), ("HISTORY", "admin,staff"),
        ("RATES", "admin,staff,pos,gateway,portal"), ("STATS", "admin"), ("BACKUP", "admin"),
    ]
    #expect(items.map { client.fields($0)["verb"] } == matrix.map(\.verb))
    #expect(items.map { client.fields($0)["roles"] } == matrix.map(\.roles))
    #expect(items.allSatisfy { $0.contains(" syntax=") })
    #expect(reply.last == "OK count=\(items.count)")
    // Verbs are case-insensitive.
    #expect(try client.request("help") == reply)
}

@Test(arguments: Transport.allCases) func wrongSecretsFailAndTheFifthFailureClosesTheConnection(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    // An unknown key and a wrong secret get the same reply.
    let failed = try client.request("AUTH key=dev-admin secret=dev-pos-secret")
    #expect(failed.count == 1 && errorCode(failed) == "AUTH_FAILED")
    #expect(try client.request("AUTH key=nobody secret=dev-admin-secret") == failed)
    #expect(errorCode(try client.request("HISTORY credit=cr_1")) == "NOT_AUTHENTICATED")
    // A success in between neither resets the count nor is undone by a later failure.
    #expect(try client.request("AUTH key=dev-pos secret=dev-pos-secret") == ["OK role=pos"])
    #expect(try client.request("AUTH key=dev-pos secret=wrong") == failed)
    #expect(try client.request("AUTH key=dev-admin secret=dev-admin-secretX") == failed)
    #expect(try client.request("PING") == ["OK"], "four failures leave the connection open")
    #expect(errorCode(try client.request("CAPTURE hold=hd_1 ref=w1")) == "NOT_FOUND", "still authenticated as dev-pos")
    #expect(errorCode(try client.request("STATS")) == "FORBIDDEN", "and still with the pos role")
    #expect(try client.request("AUTH key=dev-admin secret=guess5") == failed)
    #expect(try client.isClosedByServer())

    // Other connections are unaffected.
    #expect(try daemon.connect(as: "dev-admin", over: transport).request("PING") == ["OK"])
}

@Test(arguments: Transport.allCases) func posRoleMayUseTillVerbsOnly(over transport: Transport) throws {
    let (daemon, admin, card) = try daemonWithCard(over: transport)
    let pos = try daemon.connect(transport)
    #expect(try pos.request("AUTH key=dev-pos secret=dev-pos-secret") == ["OK role=pos"])
    let tender = "card=\(card.card) pin=\(card.pin)"
    #expect(try pos.ok("BALANCE \(tender)")["credit"] == "cr_1")
    #expect(try pos.ok("HOLD \(tender) amount=10 currency=AUD ref=p1")["hold"] == "hd_1")
    #expect(try pos.ok("CAPTURE hold=hd_1 amount=4 ref=p2")["balance"] == "96.00")
    #expect(try pos.ok("HOLD \(tender) amount=1 currency=AUD ref=p3")["hold"] == "hd_2")
    #expect(try pos.request("VOID hold=hd_2 ref=p4") == ["OK hold=hd_2 released=1.00 currency=AUD"])
    #expect(try pos.request("REFUND credit=cr_1 amount=2.00 currency=AUD ref=p5")
        == ["OK credit=cr_1 refunded=2.00 balance=98.00 currency=AUD"])
    #expect(try pos.request("REVERSE original=p5 ref=p6") == ["OK original=p5 effect=taken_back"])
    #expect(try pos.request("QUOTE \(tender) amount=3 currency=AUD").last == "OK amount=3.00 requested=3.00 remaining=0.00 currency=AUD")
    #expect(try pos.request("CREDITS profile=nobody") == ["OK profile=nobody count=0"])
    #expect(try pos.request("RATES") == ["OK count=0"])
    // ACTIVATE and LOAD are till verbs too: these get past the role check to the ledger's own refusals.
    #expect(errorCode(try pos.request("ACTIVATE card=\(card.card) amount=1 currency=AUD ref=p7")) == "BAD_REQUEST")
    #expect(errorCode(try pos.request("LOAD card=\(card.card) amount=1 currency=USD ref=p7")) == "CURRENCY_MISMATCH")
    // A till names a card with its PIN, never a bare credit id (an id is no proof the customer is there).
    for line in ["BALANCE credit=cr_1", "HOLD credit=cr_1 amount=1 currency=AUD ref=p8", "QUOTE credit=cr_1 amount=1 currency=AUD"] {
        let reply = try pos.request(line)
        #expect(reply.count == 1 && errorCode(reply) == "FORBIDDEN", "\(line) → \(reply)")
    }
    // Every back-office verb is refused before its arguments are even looked at.
    for line in ["ISSUE type=gift amount=5.00 currency=AUD ref=pos-issue", "STATS", "HISTORY credit=cr_1",
                 "FREEZE credit=cr_1 reason=lost ref=p8", "UNFREEZE credit=cr_1 reason=found ref=p8",
                 "CANCEL credit=cr_1 reason=closed ref=p8", "STOCK count=1 currency=AUD ref=p8", "REPLACE credit=cr_1 ref=p8",
                 "TRANSFER credit=cr_1 to=p2 ref=p8", "CLAIM code=ABC profile=p1 ref=p8", "UNLOCK credit=cr_1 ref=p8",
                 "REPORT kind=liability", "REPORT", "BACKUP"] {
        let reply = try pos.request(line)
        #expect(reply.count == 1 && errorCode(reply) == "FORBIDDEN", "\(line) → \(reply)")
    }
    let (items, final) = try admin.history("cr_1")
    #expect(final == "OK credit=cr_1 currency=AUD count=7")
    #expect(items.map { $0["kind"] } == ["issue", "hold", "capture", "hold", "void", "refund", "reversal"])
    #expect(items.last?["amount"] == "-2.00" && items.last?["balance"] == "96.00")
    // The forbidden requests did nothing.
    #expect(try admin.ok("STATS")["credits"] == "1")
    #expect(try admin.request("BALANCE credit=cr_1")
        == ["OK credit=cr_1 type=gift balance=96.00 held=0.00 available=96.00 currency=AUD status=active"])
}

@Test(arguments: Transport.allCases) func everyRoleGetsExactlyItsRowOfTheVerbMatrix(over transport: Transport) throws {
    let daemon = try Daemon()
    let matrix = try daemon.connect(transport).request("HELP").dropLast().map { line -> (verb: String, roles: Set<String>) in
        let fields = WireClient.fieldsOf(line)
        return (fields["verb"] ?? "", Set((fields["roles"] ?? "").split(separator: ",").map(String.init)))
    }
    #expect(matrix.count == 28)
    for role in ["admin", "staff", "pos", "gateway", "portal"] {
        let client = try daemon.connect(as: "dev-\(role)", over: transport)
        // Bare verbs (TRANSFER with the portal's from=): a verb outside the role's row is FORBIDDEN, one inside
        // gets as far as its own argument checks. AUTH and QUIT would change the session, so they are left out.
        for (verb, roles) in matrix where verb != "AUTH" && verb != "QUIT" {
            let line = verb == "TRANSFER" ? "TRANSFER from=p1" : verb
            let reply = try client.request(line)
            let allowed = roles.contains("any") || roles.contains(role)
            #expect((errorCode(reply) == "FORBIDDEN") == !allowed, "\(role): \(line) → \(reply)")
        }
        // Roles acting for a customer who is present name a card with its PIN, never a bare credit id.
        let customerFacing = ["pos", "gateway", "portal"].contains(role)
        for line in ["BALANCE credit=cr_1", "QUOTE credit=cr_1 amount=1 currency=AUD", "HOLD credit=cr_1 amount=1 currency=AUD ref=m1"] {
            let verb = String(line.prefix { $0 != " " })
            guard matrix.first(where: { $0.verb == verb })?.roles.contains(role) == true else { continue }
            let expected = customerFacing ? "FORBIDDEN" : "NOT_FOUND"
            #expect(errorCode(try client.request(line)) == expected, "\(role): \(line)")
        }
        // The portal transfers only within the profile it names.
        if role == "portal" {
            #expect(errorCode(try client.request("TRANSFER credit=cr_1 to=p2 ref=m2")) == "FORBIDDEN")
        }
        #expect(try client.request("PING") == ["OK"], "\(role)'s connection is still open")
    }
    #expect(try daemon.connect(as: "dev-admin", over: transport).ok("STATS")["credits"] == "0")
}

@Test(arguments: Transport.allCases) func quitRepliesOkThenTheServerCloses(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(as: "dev-pos", over: transport)
    #expect(try client.request("#bye QUIT") == ["#bye OK"])
    #expect(try client.readLine() == nil)
}

// MARK: Framing and pipelining

@Test(arguments: Transport.allCases) func pipelinedTaggedRequestsAreAnsweredInOrder(over transport: Transport) throws {
    let (daemon, client, _) = try daemonWithCard(over: transport)
    var batch = ""
    for index in 1...200 {
        switch index % 5 {
        case 0: batch += "#t\(index) PING\n"
        case 1: batch += "#t\(index) BALANCE credit=cr_1\n"
        case 2: batch += "#t\(index) HOLD credit=cr_1 amount=0.01 currency=AUD ref=p\(index)\n"
        case 3: batch += "#t\(index) HISTORY credit=cr_1 limit=2\n"
        default: batch += "#t\(index) BALANCE credit=cr_999\n"
        }
    }
    try client.send(batch)  // one write
    var holds = 0
    for index in 1...200 {
        let reply = try client.readReply()
        let final = try #require(reply.last)
        #expect(final.hasPrefix("#t\(index) "), "reply \(index) is \(reply)")
        switch index % 5 {
        case 0:
            #expect(reply == ["#t\(index) OK"])
        case 1:
            #expect(reply == ["#t\(index) OK credit=cr_1 type=gift balance=100.00 held=\(amountText(holds)) "
                + "available=\(amountText(10_000 - holds)) currency=AUD status=active"])
        case 2:
            holds += 1
            let fields = client.fields(final)
            #expect(reply.count == 1 && final.hasPrefix("#t\(index) OK hold=hd_\(holds) "), "\(reply)")
            #expect(fields["available"] == amountText(10_000 - holds))
        case 3:
            #expect(reply.count == 3, "\(reply)")
            #expect(reply.dropLast().allSatisfy { $0.hasPrefix("* seq=") }, "item lines are untagged: \(reply)")
            #expect(reply.dropLast().last?.contains(" ref=p\(index - 1)") == true)
            #expect(final == "#t\(index) OK credit=cr_1 currency=AUD count=2")
        default:
            #expect(reply.count == 1 && final.hasPrefix("#t\(index) ERR NOT_FOUND "), "\(reply)")
        }
    }
    #expect(try client.ok("BALANCE credit=cr_1")["held"] == "0.40")
    #expect(daemon.stop() == 0)
}

@Test func aClientFloodingWithoutReadingGetsEveryReplyInOrder() throws {
    let (daemon, client, _) = try daemonWithCard()
    var setup = ""
    for pair in 0..<150 { setup += "HOLD credit=cr_1 amount=0.01 currency=AUD ref=f\(pair)\nVOID hold=hd_\(pair + 1) ref=v\(pair)\n" }
    try client.send(setup)
    #expect(try client.readReplies(300).allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") })

    // 1260 requests, every 20th a 301-line HISTORY (~2 MB of replies in all): more than the
    // daemon's pipeline depth and output bound. A second thread writes them while this one
    // reads nothing for a while, so the daemon has to stop reading and resume.
    var flood = ""
    for index in 0..<1260 { flood += index % 20 == 0 ? "#f\(index) HISTORY credit=cr_1 limit=1000\n" : "#f\(index) PING\n" }
    let bytes = Array(flood.utf8)
    let fd = client.fd
    let written = Locked(false)
    let writerDone = DispatchSemaphore(value: 0)
    let writer = Thread {
        defer { writerDone.signal() }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            offset += count
        }
        written.with { $0 = true }
    }
    writer.start()
    defer {
        // Never leave the writer behind on a socket that is about to close (its number could be reused).
        withExtendedLifetime(client) {
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
            _ = writerDone.wait(timeout: .now() + 10)
        }
    }
    usleep(300_000)
    for index in 0..<1260 {
        let reply = try client.readReply()
        if index % 20 == 0 {
            #expect(reply.count == 302 && reply.last == "#f\(index) OK credit=cr_1 currency=AUD count=301", "reply \(index): \(reply.count) lines")
        } else {
            #expect(reply == ["#f\(index) OK"], "reply \(index): \(reply)")
        }
    }
    #expect(written.with { $0 })
    #expect(try client.request("#after PING") == ["#after OK"])
    #expect(daemon.stop() == 0)
}

@Test(arguments: Transport.allCases) func malformedLinesEachGetTheirErrorAndTheConnectionKeepsWorking(over transport: Transport) throws {
    let (daemon, client, _) = try daemonWithCard(over: transport)
    let cases: [(bytes: [UInt8], code: String)] = [
        (Array(String(repeating: "x", count: 2000).utf8), "LINE_TOO_LONG"),
        (Array("HOLD credit=cr_1 amount=1 currency=AUD ref=\(String(repeating: "a", count: 1500))".utf8), "LINE_TOO_LONG"),
        (Array("FROB credit=cr_1".utf8), "UNKNOWN_VERB"),
        (Array("HOLD credit=cr_1 amount=12.505 currency=AUD ref=b1".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=-5 currency=AUD ref=b2".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=0 currency=AUD ref=b3".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=0.00 currency=AUD ref=b3".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=1e3 currency=AUD ref=b4".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=abc currency=AUD ref=b5".utf8), "BAD_AMOUNT"),
        (Array("ISSUE type=gift amount=12.505 currency=AUD ref=b6".utf8), "BAD_AMOUNT"),
        (Array("HOLD credit=cr_1 amount=1 currency=XYZ ref=b7".utf8), "BAD_CURRENCY"),
        (Array("HOLD credit=cr_1 amount=1 currency=aud ref=b8".utf8), "BAD_CURRENCY"),
        (Array("PING\0".utf8), "BAD_REQUEST"),
        ([0xFF, 0xFE, 0x00, 0x80], "BAD_REQUEST"),
        (Array("PING \u{1B}[2J\u{07}".utf8), "BAD_REQUEST"),
        (Array("HOLD credit=cr_1 amount=1\u{01} currency=AUD ref=b9".utf8), "BAD_REQUEST"),
        (Array("HOLD credit=cr_1 amount=1 amount=2 currency=AUD ref=b10".utf8), "BAD_REQUEST"),
        (Array("HOLD credit=cr_1 amount=1 currency=AUD ref=b11 colour=red".utf8), "BAD_REQUEST"),
        (Array("HOLD credit=cr_1 amount=1 currency=AUD".utf8), "BAD_REQUEST"),
        (Array("HOLD credit=cr_1 card=6000000000000000 amount=1 currency=AUD ref=b12".utf8), "BAD_REQUEST"),
        (Array("BALANCE credit=\"unterminated".utf8), "BAD_REQUEST"),
    ]
    for (bytes, code) in cases {
        try client.send(bytes + [10])
        let reply = try client.readReply()
        let shown = String(decoding: bytes.prefix(60), as: UTF8.self)
        #expect(reply.count == 1 && errorCode(reply) == code, "\(shown) → \(reply)")
        #expect(try client.request("PING") == ["OK"], "connection alive after \(shown)")
    }
    // A tag is echoed on the error line too.
    #expect(errorCode(try client.request("#e1 FROB")) == "UNKNOWN_VERB")
    #expect(try client.request("#e2 FROB").first?.hasPrefix("#e2 ERR UNKNOWN_VERB ") == true)
    // None of them changed anything.
    #expect(try client.request("BALANCE credit=cr_1")
        == ["OK credit=cr_1 type=gift balance=100.00 held=0.00 available=100.00 currency=AUD status=active"])
    #expect(try client.ok("STATS")["credits"] == "1")
    #expect(daemon.stop() == 0)
}

@Test(arguments: Transport.allCases) func lineLengthLimitIs1024BytesIncludingTheLineFeed(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    // 1023 bytes + LF: the longest line allowed (trailing spaces are ignored by the parser).
    let longest = "PING" + String(repeating: " ", count: 1019)
    #expect(longest.utf8.count == 1023)
    #expect(try client.request(longest) == ["OK"])
    #expect(errorCode(try client.request(longest + " ")) == "LINE_TOO_LONG")
    // The long line's tail is discarded, not parsed as a request of its own.
    #expect(errorCode(try client.request(String(repeating: "A", count: 1100) + " PING")) == "LINE_TOO_LONG")
    #expect(try client.request("#after PING") == ["#after OK"])
}

@Test(arguments: Transport.allCases) func wrongPinUnknownCardAndMalformedCardAreTheSameDecline(over transport: Transport) throws {
    let (daemon, _, card) = try daemonWithCard("pin_length = 8", over: transport)
    #expect(card.pin.count == 8)
    let pos = try daemon.connect(as: "dev-pos", over: transport)
    let lastPinDigit = card.pin.last!.wholeNumberValue!
    let wrongPin = String(card.pin.dropLast()) + String((lastPinDigit + 1) % 10)
    let lastCardDigit = card.card.last!.wholeNumberValue!
    let otherCard = String(card.card.dropLast()) + String((lastCardDigit + 1) % 10)
    let declined = ["ERR DECLINED card declined"]
    #expect(try pos.request("BALANCE card=\(card.card) pin=\(wrongPin)") == declined)
    #expect(try pos.request("BALANCE card=\(otherCard) pin=\(card.pin)") == declined)
    #expect(try pos.request("BALANCE card=6000000000000000 pin=12345678") == declined)
    #expect(try pos.request("BALANCE card=123 pin=x") == declined)
    #expect(try pos.request("HOLD card=\(card.card) pin=\(wrongPin) amount=1 currency=AUD ref=d1") == declined)
    #expect(try pos.request("HOLD card=\(otherCard) pin=\(card.pin) amount=1 currency=AUD ref=d2") == declined)
    // The right PIN still works, and the declined HOLDs held nothing.
    #expect(try pos.ok("BALANCE card=\(card.card) pin=\(card.pin)")["held"] == "0.00")
}

@Test(arguments: Transport.allCases) func crlfLineEndingsWorkAndEmptyLinesAreIgnored(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    try client.send("AUTH key=dev-admin secret=dev-admin-secret\r\n")
    #expect(try client.readReply() == ["OK role=admin"])
    try client.send("\n\r\n\n#a PING\r\n")
    #expect(try client.readReply() == ["#a OK"])
    try client.send("ISSUE type=gift amount=7.25 currency=AUD ref=crlf\r\nBALANCE credit=cr_1\r\n")
    #expect(try client.readReply().last?.hasPrefix("OK credit=cr_1 type=gift balance=7.25 currency=AUD card=") == true)
    #expect(try client.readReply() == ["OK credit=cr_1 type=gift balance=7.25 held=0.00 available=7.25 currency=AUD status=active"])
    #expect(try client.request("#b PING") == ["#b OK"], "no stray replies were queued for the empty lines")
}

@Test(arguments: Transport.allCases) func halfLineAtEndOfInputIsABadRequest(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    try client.send("#x PING\nPING")
    client.shutdownWrite()
    #expect(try client.readLine() == "#x OK")
    let error = try #require(try client.readLine())
    #expect(error.hasPrefix("ERR BAD_REQUEST "), "\(error)")
    #expect(try client.readLine() == nil)

    // An over-long unfinished line at end of input gets exactly one error.
    let long = try daemon.connect(transport)
    try long.send(String(repeating: "x", count: 2000))
    long.shutdownWrite()
    #expect(try long.readLine()?.hasPrefix("ERR LINE_TOO_LONG ") == true)
    #expect(try long.readLine() == nil)
}

// MARK: Idempotency

@Test(arguments: Transport.allCases) func retriesWithTheSameRefReplayTheOriginalReply(over transport: Transport) throws {
    let (daemon, admin, card) = try daemonWithCard("pin_length = 8", over: transport)
    let pos = try daemon.connect(as: "dev-pos", over: transport)
    // A till names the card with its PIN.
    let tender = "card=\(card.card) pin=\(card.pin)"

    let hold = try pos.request("HOLD \(tender) amount=12.50 currency=AUD ref=r-hold")
    #expect(hold.last?.hasPrefix("OK hold=hd_1 ") == true)
    #expect(try pos.request("HOLD \(tender) amount=12.50 currency=AUD ref=r-hold") == hold)
    #expect(try pos.request("HOLD ref=r-hold currency=AUD amount=12.50 pin=\(card.pin) card=\(card.card)") == hold, "argument order does not matter")
    #expect(try pos.request("#again HOLD \(tender) amount=12.50 currency=AUD ref=r-hold").last == "#again " + hold.last!)
    // Same request in canonical form: amounts by value, partial=no as absent, verb case ignored.
    #expect(try pos.request("hold \(tender) amount=12.5 currency=AUD partial=no ref=r-hold") == hold)
    #expect(try pos.request("HOLD \(tender) amount=0012.50 currency=AUD ref=r-hold") == hold)
    #expect(try pos.ok("BALANCE \(tender)")["held"] == "12.50", "the hold was placed once")
    #expect(errorCode(try pos.request("HOLD \(tender) amount=13.00 currency=AUD ref=r-hold")) == "REF_CONFLICT")
    #expect(errorCode(try pos.request("VOID hold=hd_1 ref=r-hold")) == "REF_CONFLICT")

    let capture = try pos.request("CAPTURE hold=hd_1 amount=2.50 ref=r-capture")
    #expect(capture == ["OK hold=hd_1 captured=2.50 released=10.00 balance=97.50 currency=AUD"])
    #expect(try pos.request("CAPTURE hold=hd_1 amount=2.50 ref=r-capture") == capture)
    #expect(errorCode(try pos.request("CAPTURE hold=hd_1 amount=2.50 ref=r-capture-2")) == "HOLD_CAPTURED")
    #expect(errorCode(try pos.request("CAPTURE hold=hd_1 amount=3.50 ref=r-capture")) == "REF_CONFLICT")
    #expect(try pos.request("BALANCE \(tender)")
        == ["OK credit=cr_1 type=gift balance=97.50 held=0.00 available=97.50 currency=AUD status=active"])
    let (items, _) = try admin.history("cr_1")
    #expect(items.map { $0["kind"] } == ["issue", "hold", "capture"])

    // TTLs compare by length.
    let timed = try pos.request("HOLD \(tender) amount=1 currency=AUD ttl=15m ref=r-ttl")
    #expect(timed.last?.hasPrefix("OK hold=hd_2 ") == true)
    #expect(try pos.request("HOLD \(tender) amount=1.00 currency=AUD ttl=900s ref=r-ttl") == timed)
    #expect(errorCode(try pos.request("HOLD \(tender) amount=1 currency=AUD ttl=16m ref=r-ttl")) == "REF_CONFLICT")
    #expect(try pos.request("VOID hold=hd_2 ref=r-ttl-void") == ["OK hold=hd_2 released=1.00 currency=AUD"])

    // A request that failed is not remembered: its ref is free for a different request.
    #expect(errorCode(try pos.request("HOLD \(tender) amount=500 currency=AUD ref=r-retry")) == "INSUFFICIENT_FUNDS")
    #expect(try pos.ok("HOLD \(tender) amount=5 currency=AUD ref=r-retry")["hold"] == "hd_3")
    #expect(try pos.request("VOID hold=hd_3 ref=r-retry-void") == ["OK hold=hd_3 released=5.00 currency=AUD"])

    // Refs belong to a client key: the admin key's ref space is separate from the till's.
    #expect(try admin.ok("HOLD credit=cr_1 amount=1 currency=AUD ref=r-hold")["hold"] == "hd_4")

    // A retried gift ISSUE replays the masked card and never the PIN again.
    let retried = try admin.request("ISSUE type=gift amount=100.00 currency=AUD ref=issue-1")
    #expect(retried == ["OK credit=cr_1 type=gift balance=100.00 currency=AUD card=************\(card.card.suffix(4))"])
    #expect(retried.allSatisfy { !$0.contains("pin=") && !$0.contains(card.pin) })
    #expect(try admin.ok("STATS")["credits"] == "1")
    #expect(errorCode(try admin.request("ISSUE type=gift amount=99.00 currency=AUD ref=issue-1")) == "REF_CONFLICT")
}

// MARK: Connection limits and timers

@Test func connectionsBeyondTheCapGetBusyAndAreClosed() throws {
    let daemon = try Daemon(extraConfig: "max_connections = 2")
    var first: WireClient? = try daemon.connect()
    let second = try daemon.connect(as: "dev-admin")
    #expect(try first!.request("PING") == ["OK"])
    #expect(try second.request("PING") == ["OK"])

    let third = try daemon.connect()
    #expect(try third.readLine() == "ERR BUSY too many connections", "sent on connect, untagged, unasked")
    #expect(try third.isClosedByServer())
    let stats = try second.ok("STATS")
    #expect(stats["connections"] == "2")
    #expect(stats["connections_refused"] == "1")

    // Once a connection goes away, a new one is served again.
    first = nil
    var served = false
    for _ in 0..<100 where !served {
        let next = try daemon.connect()
        if let line = try? next.request("PING"), line == ["OK"] { served = true } else { usleep(20_000) }
    }
    #expect(served)
    #expect(try second.request("PING") == ["OK"])
    _ = first
}

// Synchronous on purpose: an async test's sleep may resume late when blocking tests hold the
// executor's threads, and a late PING would let the daemon rightly close the active connection.
@Test(arguments: Transport.allCases) func idleConnectionsAreClosedAndActiveOnesAreNot(over transport: Transport) throws {
    let daemon = try Daemon(extraConfig: "idle_timeout = 1s")
    let idle = try daemon.connect(transport)
    let active = try daemon.connect(transport)
    #expect(try idle.request("PING") == ["OK"])
    let started = Date()
    var closedAfter: Double?
    // Keep the other connection busy for 2.5 s, well past the timeout, watching the idle one.
    while Date().timeIntervalSince(started) < 2.5 || (closedAfter == nil && Date().timeIntervalSince(started) < 5) {
        usleep(100_000)
        #expect(try active.request("PING") == ["OK"])
        if closedAfter == nil && idle.hasInput() {
            closedAfter = Date().timeIntervalSince(started)
            #expect(try idle.isClosedByServer())
        }
    }
    let after = try #require(closedAfter, "the idle connection was never closed")
    #expect(after >= 0.9 && after <= 3.0, "idle connection closed after \(after) s")
    #expect(try active.request("PING") == ["OK"])
}

@Test func holdExpiresAtItsDeadlineOnTheWire() async throws {
    let (daemon, client, _) = try daemonWithCard()
    let hold = try client.ok("HOLD credit=cr_1 amount=30 currency=AUD ttl=1s ref=e1")
    #expect(hold["available"] == "70.00")
    let deadline = try #require(ISO8601DateFormatter().date(from: hold["expires"] ?? ""))
    #expect(deadline.timeIntervalSinceNow > 0 && deadline.timeIntervalSinceNow <= 2.1, "expires=\(hold["expires"]!)")
    // Wait past the deadline without sending anything: the daemon's own timer must expire it.
    try await Task.sleep(for: .milliseconds(Int(max(0, deadline.timeIntervalSinceNow) * 1000) + 600))

    let (items, _) = try client.history("cr_1")
    #expect(items.map { $0["kind"] } == ["issue", "hold", "expire"])
    #expect(items.last?["hold"] == hold["hold"])
    #expect(items.last?["amount"] == "30.00")
    #expect(items.last?["balance"] == "100.00")
    // `at=` has milliseconds unless they are zero.
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let at = items.last?["at"] ?? ""
    let expiredAt = try #require(fractional.date(from: at) ?? ISO8601DateFormatter().date(from: at), "\(items.last ?? [:])")
    #expect(expiredAt >= deadline, "never early")
    #expect(expiredAt.timeIntervalSince(deadline) < 0.4, "expired by the timer at \(expiredAt), deadline \(deadline)")

    #expect(errorCode(try client.request("CAPTURE hold=\(hold["hold"]!) ref=e2")) == "HOLD_EXPIRED")
    #expect(errorCode(try client.request("VOID hold=\(hold["hold"]!) ref=e3")) == "HOLD_EXPIRED")
    let balance = ["OK credit=cr_1 type=gift balance=100.00 held=0.00 available=100.00 currency=AUD status=active"]
    #expect(try client.request("BALANCE credit=cr_1") == balance)

    // The expiry is journaled like any other activity.
    let history = try client.request("HISTORY credit=cr_1")
    daemon.kill9()
    try daemon.start()
    let restarted = try daemon.connect(as: "dev-admin")
    #expect(try restarted.request("HISTORY credit=cr_1") == history)
    #expect(try restarted.request("BALANCE credit=cr_1") == balance)
    #expect(daemon.stop() == 0)
}
