// Proves the command table checks arguments per verb, builds typed commands, and canonicalises
// requests so reformatted retries are recognised as the same request.

import CreditCore
@testable import CreditProtocol
import Testing

private func parse(_ line: String) -> ParsedRequest {
    guard case .success(let request) = RequestParser.parse(Array(line.utf8)) else {
        Issue.record("did not parse: \(line)")
        return ParsedRequest(tag: nil, verb: "", arguments: [])
    }
    return request
}

private func action(_ line: String) -> Result<Action, CreditError> {
    let request = parse(line)
    guard let spec = CommandTable.spec(request.verb) else { return .failure(CreditError(.unknownVerb, request.verb)) }
    let zero = Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
    let digests = Digests(card: { _, _ in .credit(CreditID(999)) }, cardNumber: { _ in zero }, claimCode: { _ in zero })
    return CommandTable.action(for: request, spec: spec, cards: digests)
}

private func errorCode(_ line: String) -> ErrorCode? {
    if case .failure(let error) = action(line) { return error.code }
    return nil
}

@Test func everyVerbHasOneRowAndASyntaxLineStartingWithIt() {
    let verbs = CommandTable.verbs.map(\.verb)
    #expect(verbs == ["AUTH", "PING", "HELP", "QUIT", "ISSUE", "BALANCE", "CREDITS", "QUOTE", "HOLD", "CAPTURE", "VOID",
                      "REFUND", "FREEZE", "UNFREEZE", "CANCEL", "STOCK", "ACTIVATE", "LOAD", "REPLACE", "TRANSFER", "CLAIM",
                      "UNLOCK", "REVERSE", "REPORT", "HISTORY", "RATES", "STATS", "BACKUP"])
    #expect(Set(verbs).count == verbs.count)
    for spec in CommandTable.verbs { #expect(spec.syntax.hasPrefix(spec.verb)) }
    #expect(CommandTable.verbs.map(\.position) == Array(0..<verbs.count), "each row knows its position")
    #expect(CommandTable.spec("HOLD")?.position == verbs.firstIndex(of: "HOLD"))
}

@Test func unknownMissingAndMalformedArgumentsAreRefused() {
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=AUD ref=r1 colour=red") == .badRequest)
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=AUD") == .badRequest)
    #expect(errorCode("HOLD credit=cr_1 card=6000000000000000 pin=1234 amount=5 currency=AUD ref=r") == .badRequest)
    #expect(errorCode("HOLD card=6000000000000000 amount=5 currency=AUD ref=r") == .badRequest)
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=aud ref=r") == .badCurrency)
    #expect(errorCode("HOLD credit=cr_1 amount=-5 currency=AUD ref=r") == .badAmount)
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=AUD ref=r ttl=+30s") == .badRequest)
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=AUD ref=r partial=maybe") == .badRequest)
    #expect(errorCode("HOLD credit=c1 amount=5 currency=AUD ref=r") == .badRequest)
    #expect(errorCode("HOLD credit=cr_1 amount=5 currency=AUD ref=has,comma") == .badRequest)
    #expect(errorCode("HISTORY credit=cr_1 limit=+1") == .badRequest)
    #expect(errorCode("HISTORY credit=cr_1 limit=1001") == .badRequest)
    #expect(errorCode("ISSUE type=voucher amount=5 currency=AUD ref=r") == .badRequest)
    #expect(errorCode("ISSUE type=store amount=5 currency=AUD ref=r expires=2027-02-30") == .badRequest)
    #expect(errorCode("CAPTURE hold=hd_x ref=r") == .badRequest)
}

@Test func wellFormedRequestsBuildTypedCommands() throws {
    guard case .success(.ledger(.hold(let hold), let ref)) = action("HOLD credit=cr_7 amount=12.5 currency=AUD ref=t-1 ttl=2h partial=yes") else {
        Issue.record("HOLD did not build")
        return
    }
    #expect(ref?.text == "t-1")
    #expect(hold.ttl == Seconds(7200))
    #expect(hold.partial)
    #expect(hold.amount == DecimalAmount("12.5"))
    guard case .credit(let id) = hold.selector else { Issue.record("selector"); return }
    #expect(id == CreditID(7))
    guard case .success(.ledger(.capture(let holdID, let amount), _)) = action("CAPTURE hold=hd_3 ref=r") else {
        Issue.record("CAPTURE did not build")
        return
    }
    #expect(holdID == HoldID(3) && amount == nil)
    guard case .success(.ledger(.history(_, let limit), nil)) = action("HISTORY credit=cr_1") else {
        Issue.record("HISTORY did not build")
        return
    }
    #expect(limit == LedgerPolicy.historyLimitDefault)
}

@Test func canonicalBytesIgnoreOrderRefAndFormatting() {
    let a = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=50 currency=AUD ref=r1"))
    let b = CommandTable.canonicalBytes(parse("HOLD ref=r2 currency=AUD amount=50.00 credit=cr_1 partial=no"))
    #expect(a == b)
    let c = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=50 currency=AUD ref=r1 ttl=15m"))
    let d = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=50 currency=AUD ref=r1 ttl=900s"))
    #expect(c == d)
    let e = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=50.01 currency=AUD ref=r1"))
    #expect(a != e)
    let f = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=50 currency=AUD ref=r1 partial=yes"))
    #expect(a != f)
    let g = CommandTable.canonicalBytes(parse("HOLD credit=cr_1 amount=500 currency=AUD ref=r1"))
    #expect(a != g)
}

/// The verb × role matrix as PROTOCOL.md states it: A admin, S staff, P pos, G gateway, O portal.
private let matrix: [String: String] = [
    "AUTH": "ASPGO", "PING": "ASPGO", "HELP": "ASPGO", "QUIT": "ASPGO",
    "ISSUE": "AS", "BALANCE": "ASPGO", "CREDITS": "ASPGO", "QUOTE": "ASPG", "HOLD": "APG", "CAPTURE": "APG",
    "VOID": "APG", "REFUND": "APG", "FREEZE": "AS", "UNFREEZE": "AS", "CANCEL": "A", "STOCK": "A",
    "ACTIVATE": "ASP", "LOAD": "ASP", "REPLACE": "AS", "TRANSFER": "ASO", "CLAIM": "ASO", "UNLOCK": "A",
    "REVERSE": "APG", "REPORT": "A", "HISTORY": "AS", "RATES": "ASPGO", "STATS": "A",
    "BACKUP": "A",
]

private let roleLetters: [Role: Character] = [.admin: "A", .staff: "S", .pos: "P", .gateway: "G", .portal: "O"]

@Test func everyVerbHasOneRowFoundByNameAtItsPosition() {
    #expect(Set(CommandTable.verbs.map(\.verb)).count == CommandTable.verbs.count)
    for (index, spec) in CommandTable.verbs.enumerated() {
        #expect(spec.position == index)
        #expect(CommandTable.spec(spec.verb) === spec)
    }
    #expect(CommandTable.spec("HOLDS") == nil)
    #expect(CommandTable.spec("HOL") == nil)
    #expect(CommandTable.spec("hold") == nil)  // the parser upper-cases verbs first
}

@Test func everyCellOfTheVerbRoleMatrix() {
    #expect(Set(matrix.keys) == Set(CommandTable.verbs.map(\.verb)))
    for spec in CommandTable.verbs {
        for role in Role.allCases {
            let allowed = matrix[spec.verb]!.contains(roleLetters[role]!)
            // Give what the role must give, so the cell tests the verb alone.
            let given = (spec.requiredFor[role] ?? []).map { Argument(key: $0, value: "p1") }
            let request = ParsedRequest(tag: nil, verb: spec.verb, arguments: given)
            let error = CommandTable.authorize(request, spec: spec, role: role)
            #expect((error == nil) == allowed, "\(spec.verb) for \(role.rawValue)")
            if !allowed { #expect(error?.code == .forbidden) }
        }
    }
}

@Test func presentCustomerRolesNeverUseBareCreditIDs() {
    for verb in ["BALANCE", "QUOTE", "HOLD"] {
        let spec = CommandTable.spec(verb)!
        let byCredit = ParsedRequest(tag: nil, verb: verb, arguments: [Argument(key: "credit", value: "cr_1")])
        let byCard = ParsedRequest(tag: nil, verb: verb, arguments: [Argument(key: "card", value: "6"), Argument(key: "pin", value: "1")])
        for role in [Role.pos, .gateway, .portal] where spec.roles!.contains(role) {
            #expect(CommandTable.authorize(byCredit, spec: spec, role: role)?.code == .forbidden, "\(verb) credit= for \(role)")
            #expect(CommandTable.authorize(byCard, spec: spec, role: role) == nil, "\(verb) card= for \(role)")
        }
        #expect(CommandTable.authorize(byCredit, spec: spec, role: .admin) == nil)
    }
    let transfer = CommandTable.spec("TRANSFER")!
    let withoutFrom = ParsedRequest(tag: nil, verb: "TRANSFER", arguments: [Argument(key: "credit", value: "cr_1")])
    #expect(CommandTable.authorize(withoutFrom, spec: transfer, role: .portal)?.code == .forbidden)
    #expect(CommandTable.authorize(withoutFrom, spec: transfer, role: .staff) == nil)
}

/// The fingerprint's input is stored (as its MAC) with every ref in the journal: its exact bytes
/// must never change, or a till's retry across an upgrade would get REF_CONFLICT.
@Test func canonicalBytesAreExactlyTheDocumentedForm() throws {
    func canonical(_ line: String) throws -> String {
        let request = try RequestParser.parse(Array(line.utf8)).get()
        return String(decoding: CommandTable.canonicalBytes(request), as: UTF8.self)
    }
    #expect(try canonical("HOLD ttl=15m ref=a pin=2 currency=AUD card=1 amount=12.50 partial=no")
        == "HOLD\u{0}amount=125e-1\u{0}card=1\u{0}currency=AUD\u{0}pin=2\u{0}ttl=900s")
    #expect(try canonical("ISSUE type=store amount=50 bonus=0.000 currency=JPY ref=b")
        == "ISSUE\u{0}amount=50e-0\u{0}bonus=0e-0\u{0}currency=JPY\u{0}type=store")
    #expect(try canonical("HOLD amount=x ttl=soon partial=yes credit=cr_1 ref=c")
        == "HOLD\u{0}amount=x\u{0}credit=cr_1\u{0}partial=yes\u{0}ttl=soon")
}

@Test func canonicalBytesIntoAnArrayReplaceWhatItHeld() {
    let request = parse("HOLD ref=r2 currency=AUD amount=50.00 credit=cr_1 partial=no")
    var scratch = Array("bytes of an earlier, longer request: HOLD credit=cr_2 amount=9".utf8)
    CommandTable.canonicalBytes(request, into: &scratch)
    #expect(scratch == CommandTable.canonicalBytes(request))
    #expect(scratch.starts(with: Array("HOLD\0amount=".utf8)))
    // Once more into the same array, after a request with more arguments.
    CommandTable.canonicalBytes(parse("PING"), into: &scratch)
    #expect(scratch == Array("PING".utf8))
}
