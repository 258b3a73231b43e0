// Proves a retried ref gets the original reply and no second effect, a reused ref with other arguments conflicts, refs are per client, refusals are not remembered, refs are forgotten after the ref window, and the ref index shrinks when asked once they are.

@testable import CreditCore
import Testing

@Test func retryWithTheSameRefAndArgumentsReplaysTheReplyAndChangesNothing() throws {
    var h = Harness()
    let issue = Command.issue(IssueCommand(type: .gift, amount: amount("50"), currency: "AUD", profile: nil,
                                           expires: nil, card: Fixture.card(1)))
    let issued = try #require(h.run(issue, ref: "i-1").appliedReply)
    let hold = Command.hold(HoldCommand(selector: .credit(CreditID(1)), amount: amount("20"), currency: "AUD",
                                        ttl: nil, partial: false))
    let held = try #require(h.run(hold, ref: "h-1").appliedReply)
    let capture = Command.capture(HoldID(1), amount: amount("5"))
    let captured = try #require(h.run(capture, ref: "c-1").appliedReply)
    // Later changes do not alter what a retry is told.
    _ = try #require(h.hold(CreditID(1), "1").appliedReply)
    h.advance(millis: 60_000)

    let before = h.ledger.canonicalState
    #expect(h.run(issue, ref: "i-1").replayedReply == issued)
    #expect(h.run(hold, ref: "h-1").replayedReply == held)
    #expect(h.run(capture, ref: "c-1").replayedReply == captured)
    #expect(captured.value("balance") == "45.00")
    #expect(h.ledger.canonicalState == before)
    #expect(h.ledger.creditCount == 1)
}

@Test func aRetryIsReplayedEvenWhenTheCommandWouldNowBeRefused() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "50")
    let void = Command.void(HoldID(1))
    _ = try h.newHold(credit, "10")
    let voided = try #require(h.run(void, ref: "v-1").appliedReply)
    #expect(h.run(void, ref: "v-2").code == .holdVoided)  // a new ref is a new request
    #expect(h.run(void, ref: "v-1").replayedReply == voided)
}

@Test func sameRefWithOtherArgumentsIsRefConflict() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "50")
    _ = try #require(h.hold(credit, "10", ref: "h-1").appliedReply)
    let before = h.ledger.canonicalState
    #expect(h.hold(credit, "11", ref: "h-1").refusal == CreditError(.refConflict, "ref h-1 was used for a different request"))
    #expect(h.void(HoldID(1), ref: "h-1").code == .refConflict)
    #expect(h.ledger.canonicalState == before)
}

@Test func refsAreScopedToTheClient() throws {
    var h = Harness()
    let command = Command.issue(IssueCommand(type: .store, amount: amount("5"), currency: "AUD",
                                             profile: ProfileID("p"), expires: nil, card: nil))
    let first = try #require(h.run(command, ref: "r-1", client: ClientID("till-a")).appliedReply)
    let second = try #require(h.run(command, ref: "r-1", client: ClientID("till-b")).appliedReply)
    #expect(first.value("credit") == "cr_1")
    #expect(second.value("credit") == "cr_2")
    #expect(h.run(command, ref: "r-1", client: ClientID("till-a")).replayedReply == first)
    #expect(h.run(command, ref: "r-1", client: ClientID("till-b")).replayedReply == second)
    #expect(h.ledger.refCount == 2)
}

@Test func aRefusedRequestIsNotRememberedSoAFixedRetrySucceeds() throws {
    var h = Harness()
    #expect(h.issue(.store, "10", ref: "i-1").code == .badRequest)  // no profile
    #expect(h.ledger.refCount == 0)
    #expect(h.issue(.store, "10", profile: "cust-1", ref: "i-1").appliedReply?.value("credit") == "cr_1")
    let credit = CreditID(1)
    #expect(h.hold(credit, "11", ref: "h-1").code == .insufficientFunds)
    #expect(h.hold(credit, "11", ref: "h-1").code == .insufficientFunds)  // refused again, not replayed
    #expect(h.hold(credit, "10", ref: "h-1").appliedReply != nil)
}

@Test func refsAreForgottenOnceAnEntryIsAppliedAWindowLater() throws {
    var h = Harness()  // refWindow is 1h
    let command = Command.issue(IssueCommand(type: .store, amount: amount("5"), currency: "AUD",
                                             profile: ProfileID("p"), expires: nil, card: nil))
    let original = try #require(h.run(command, ref: "r-1").appliedReply)
    let window = Fixture.policy.refWindow.value * 1000

    // An entry applied 1 ms inside the window keeps the ref.
    _ = try #require(h.issue(.gift, "1", at: Instant(millis: Fixture.t0.millis + window - 1)).appliedReply)
    #expect(h.ledger.refCount == 2)
    #expect(h.run(command, ref: "r-1").replayedReply == original)

    // An entry applied exactly a window later forgets it; the same ref is then a new request.
    _ = try #require(h.issue(.gift, "1", at: Instant(millis: Fixture.t0.millis + window)).appliedReply)
    #expect(h.ledger.refCount == 2)
    let again = try #require(h.run(command, ref: "r-1", at: Instant(millis: Fixture.t0.millis + window)).appliedReply)
    #expect(again.value("credit") == "cr_4")
    #expect(h.ledger.creditCount == 4)
}

@Test func refPruningFollowsAppliedEntriesNotTheRequestClock() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "50")
    let original = try #require(h.hold(credit, "1", ref: "h-1").appliedReply)
    let late = Instant(millis: Fixture.t0.millis + 2 * Fixture.policy.refWindow.value * 1000)
    // No entry applied since: the ref is still remembered, whatever the request's clock says.
    #expect(h.hold(credit, "1", ref: "h-1", at: late).replayedReply == original)
    // A sweep entry is an applied entry too, and prunes.
    #expect(h.ledger.sweep(now: late) != nil)
    #expect(h.ledger.refCount == 0)
    #expect(h.hold(credit, "1", ref: "h-1", at: late).appliedReply?.value("hold") == "hd_2")
}

@Test(arguments: [
    Command.issue(IssueCommand(type: .store, amount: DecimalAmount("1")!, currency: "AUD", profile: ProfileID("p"),
                               expires: nil, card: nil)),
    .hold(HoldCommand(selector: .credit(CreditID(1)), amount: DecimalAmount("1")!, currency: "AUD", ttl: nil, partial: false)),
    .capture(HoldID(1), amount: nil),
    .void(HoldID(1)),
    .refund(CreditID(1), amount: DecimalAmount("1")!, currency: "AUD"),
    .changeStatus(CreditID(1), .freeze, reason: "lost"),
    .changeStatus(CreditID(1), .unfreeze, reason: "found"),
    .changeStatus(CreditID(1), .cancel, reason: "fraud"),
])
func mutatingCommandsWithoutARefAreBadRequest(_ command: Command) throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "50")
    _ = try h.newHold(credit, "10")
    let before = h.ledger.canonicalState
    let context = RequestContext(now: h.now, client: h.client, ref: nil, fingerprint: fingerprint(of: command))
    #expect(h.ledger.execute(command, context: context).refusal == CreditError(.badRequest, "ref= is required"))
    #expect(h.ledger.canonicalState == before)
}

@Test func readsNeedNoRef() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "50")
    let quote = HoldCommand(selector: .credit(credit), amount: amount("5"), currency: "AUD", ttl: nil, partial: false)
    let before = h.ledger.canonicalState
    for command in [Command.balance(.credit(credit)), .history(credit, limit: 10), .quote(quote),
                    .credits(ProfileID("cust-1")!), .rates] {
        let context = RequestContext(now: h.now, client: h.client, ref: nil, fingerprint: fingerprint(of: command))
        #expect(h.ledger.execute(command, context: context).readReply != nil)
        #expect(!command.isMutating)
    }
    #expect(h.ledger.refCount == 1)
    #expect(h.ledger.canonicalState == before)
}

@Test func theRefIndexShrinksOnlyWhenAskedOnceItsRefsAreForgotten() throws {
    var h = Harness()  // refWindow is 1h
    for n in 0..<2_000 { _ = try #require(h.issue(.store, "1", profile: "p", ref: "many-\(n)").appliedReply) }
    let peak = h.ledger.refIndexCapacity
    #expect(h.ledger.refCount == 2_000 && peak >= 2_000 * 4 / 3)
    // A window later one entry forgets the 2,000 refs; the index keeps its size until asked.
    let later = Instant(millis: Fixture.t0.millis + Fixture.policy.refWindow.value * 1000)
    let kept = try #require(h.issue(.store, "1", profile: "p", ref: "kept", at: later).appliedReply)
    #expect(h.ledger.refCount == 1 && h.ledger.refIndexCapacity == peak)
    h.ledger.shrinkSparseTables()
    #expect(h.ledger.refIndexCapacity == HashIndex.initialCapacity)
    // The ref left is still found, and a forgotten one is a new request.
    let retried = h.issue(.store, "1", profile: "p", ref: "kept", at: later).replayedReply
    let forgotten = h.issue(.store, "1", profile: "p", ref: "many-7", at: later).appliedReply
    #expect(retried == kept && forgotten?.value("credit") == "cr_2002")
}

@Test func aRefHashedAheadWithPrefetchRefIsTheSameRefWithoutIt() throws {
    // The same requests, refs hashed ahead on every other call in one ledger and never in the
    // other: the same replies, replays and conflicts, and the same state.
    func script(_ h: inout Harness, alternate: Bool) throws -> [Execution] {
        let credit = try h.newCredit(.gift, "50")
        var executions: [Execution] = []
        func run(_ command: Command, _ ref: String) {
            if alternate { h.prefetchRefs.toggle() }
            executions.append(h.run(command, ref: ref))
        }
        let hold = Command.hold(HoldCommand(selector: .credit(credit), amount: amount("20"), currency: "AUD", ttl: nil, partial: false))
        run(hold, "h-1")
        run(hold, "h-1")  // replayed, hashed the other way
        run(Command.capture(HoldID(1), amount: amount("5")), "c-1")
        run(Command.capture(HoldID(1), amount: amount("6")), "c-1")  // conflict
        run(Command.capture(HoldID(1), amount: amount("5")), "c-1")  // replayed
        run(hold, "h-2")
        run(Command.void(HoldID(2)), "v-1")
        run(Command.void(HoldID(2)), "v-1")
        return executions
    }
    var plain = Harness()
    var ahead = Harness()
    let expected = try script(&plain, alternate: false)
    let got = try script(&ahead, alternate: true)
    #expect(got.map { String(describing: $0) } == expected.map { String(describing: $0) })
    #expect(expected[1].replayedReply == expected[0].appliedReply)
    #expect(expected[3].code == .refConflict)
    #expect(expected[4].replayedReply == expected[2].appliedReply)
    #expect(expected[7].replayedReply == expected[6].appliedReply)
    #expect(ahead.ledger.canonicalState == plain.ledger.canonicalState)
    #expect(ahead.ledger.refCount == plain.ledger.refCount)
}
