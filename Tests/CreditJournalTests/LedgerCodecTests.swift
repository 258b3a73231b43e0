// Proves EntryCodec and SnapshotCodec round-trip every event and a ledger state holding every kind of credit, hold and activity (FX sale amounts, reasons, campaigns, bonus) and decoy locks exactly; that a credit's pending holds, which it only counts, are listed by id from the holds and a list the holds disagree with is refused; that a version-1 snapshot (no decoys) still decodes and an unknown version is refused; that an encoded entry or snapshot cut or damaged at any byte throws DecodeError instead of trapping; and that a bad event tag, a negative amount and a bad currency code are refused.

import CreditCore
import CreditJournal
import Testing

// MARK: Fixtures

private let aud = Currency(code: "AUD", minorDigits: 2, balanceMax: MinorUnits(100_000))
private let nzd = Currency(code: "NZD", minorDigits: 2, balanceMax: MinorUnits(100_000))
private let jpy = Currency(code: "JPY", minorDigits: 0, balanceMax: MinorUnits(100_000))
private let kwd = Currency(code: "KWD", minorDigits: 3, balanceMax: MinorUnits(500_000))
private let currencies = CurrencyTable([aud, nzd, jpy, kwd])
private let t0 = Instant(millis: 1_795_703_400_000)  // 2026-11-26T14:30:00Z

private func rate(_ text: String) -> Rate {
    guard let rate = Rate(text) else { preconditionFailure("test literal \(text) is not a rate") }
    return rate
}

private func card(_ n: UInt64) -> CardKeys {
    CardKeys(cardDigest: Digest32(w0: n, w1: 1, w2: 2, w3: 3), pinDigest: Digest32(w0: n, w1: 4, w2: 5, w3: 6),
             last4: String(1000 + n % 9000), length: 16)
}

/// The case name of an event. The switch is exhaustive, so a new case fails to compile here
/// until `everyEvent` covers it.
private func caseName(_ event: Event) -> String {
    switch event {
    case .issued: return "issued"
    case .held: return "held"
    case .captured: return "captured"
    case .voided: return "voided"
    case .expired: return "expired"
    case .refunded: return "refunded"
    case .frozen: return "frozen"
    case .unfrozen: return "unfrozen"
    case .cancelled: return "cancelled"
    case .creditExpired: return "creditExpired"
    case .loaded: return "loaded"
    case .cardReplaced: return "cardReplaced"
    case .transferred: return "transferred"
    case .split: return "split"
    case .reverted: return "reverted"
    case .reversal: return "reversal"
    case .tombstone: return "tombstone"
    case .markReversed: return "markReversed"
    case .cardDeclined: return "cardDeclined"
    case .pinReset: return "pinReset"
    case .unknownCardDeclined: return "unknownCardDeclined"
    }
}

private let everyEventName: Set<String> = ["issued", "held", "captured", "voided", "expired", "refunded", "frozen",
                                           "unfrozen", "cancelled", "creditExpired", "loaded", "cardReplaced",
                                           "transferred", "split", "reverted", "reversal", "tombstone", "markReversed",
                                           "cardDeclined", "pinReset", "unknownCardDeclined"]

/// One or more of every event, with every optional both present and absent.
private let everyEvent: [Event] = [
    .issued(IssuedCredit(credit: CreditID(1), type: .gift, currency: "AUD", amount: MinorUnits(5000), bonus: .zero,
                         expires: nil, profile: nil, card: card(1), campaign: nil)),
    .issued(IssuedCredit(credit: CreditID(2), type: .store, currency: "NZD", amount: MinorUnits(4000), bonus: MinorUnits(500),
                         expires: CivilDate("2027-06-30"), profile: ProfileID("cust-1"), card: nil, campaign: nil)),
    .issued(IssuedCredit(credit: CreditID(3), type: .promo, currency: "JPY", amount: MinorUnits(500), bonus: .zero,
                         expires: CivilDate("2026-12-31"), profile: ProfileID("cust-1"), card: nil, campaign: "xmas-26")),
    .held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(4500),
                     legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(3000), covers: MinorUnits(3000), rate: nil),
                            HoldLeg(credit: CreditID(2), amount: MinorUnits(1083), covers: MinorUnits(1000), rate: rate("0.9238"))],
                     deadline: Instant(millis: t0.millis + 900_000))),
    .captured(HoldID(1), legs: [CapturedLeg(amount: MinorUnits(3000), covers: MinorUnits(3000)),
                                CapturedLeg(amount: MinorUnits(542), covers: MinorUnits(500))]),
    .captured(HoldID(2), legs: [CapturedLeg(amount: .zero, covers: .zero)]),
    .voided(HoldID(3)),
    .expired(HoldID(4)),
    .refunded(CreditID(2), amount: MinorUnits(125)),
    .frozen(CreditID(1), reason: "reported lost"),
    .unfrozen(CreditID(1), reason: "found ✓"),
    .cancelled(CreditID(2), reason: ""),
    .creditExpired(CreditID(3)),
    .issued(IssuedCredit(credit: CreditID(9), type: .gift, currency: "AUD", amount: .zero, expires: nil, profile: nil,
                         card: card(9), status: .inactive, batch: "xmas-26")),
    .issued(IssuedCredit(credit: CreditID(10), type: .gift, currency: "AUD", amount: MinorUnits(2500), expires: nil,
                         profile: ProfileID("buyer"), card: card(10), purchaser: ProfileID("buyer"),
                         claim: Digest32(w0: 7, w1: 7, w2: 7, w3: 7), revertAt: Instant(millis: t0.millis + 86_400_000))),
    .loaded(CreditID(9), amount: MinorUnits(1000), activate: true),
    .loaded(CreditID(9), amount: MinorUnits(250), activate: false),
    .cardReplaced(CreditID(9), card(11)),
    .transferred(CreditID(10), to: ProfileID("friend")!, claimed: true),
    .transferred(CreditID(9), to: ProfileID("friend")!, claimed: false),
    .split(CreditID(9), into: CreditID(12), amount: MinorUnits(300), to: ProfileID("other")!),
    .reverted(CreditID(10)),
    .reversal(CreditID(9), delta: MinorUnits(-100)),
    .reversal(CreditID(9), delta: MinorUnits(100)),
    .tombstone(ClientID("till-1"), Ref("late-1")!),
    .markReversed(ClientID("till-1"), Ref("r-1")!),
    .cardDeclined(nil),
    .cardDeclined(CreditID(9)),
    .pinReset(CreditID(9)),
    .unknownCardDeclined(Digest32(w0: 0xFEED, w1: .max, w2: 0, w3: 42)),
]

private let record = IdempotencyRecord(
    client: ClientID("till-1"), ref: Ref("store-7/till-2#0042")!, fingerprint: Digest32(w0: 9, w1: 8, w2: 7, w3: 6),
    reply: Reply(items: [[Field("credit", "cr_1"), Field("amount", "30.00")], []],
                 fields: [Field("hold", "hd_1"), Field("remaining", "0.00")]))

/// The body of an entry holding just `event`, and the offset its tag byte is at.
private func body(_ event: Event) -> (bytes: [UInt8], tagOffset: Int) {
    // u8 version, i64 at, absent idempotency (1 byte), u32 count: the tag follows.
    (EntryCodec.encode(Entry(at: t0, idempotency: nil, events: [event])), 1 + 8 + 1 + 4)
}

// MARK: Entries

@Test func everyEventRoundTripsAloneAndTogether() throws {
    #expect(Set(everyEvent.map(caseName)) == everyEventName)
    for event in everyEvent {
        let entry = Entry(at: t0, idempotency: nil, events: [event])
        #expect(try EntryCodec.decode(EntryCodec.encode(entry)[...]) == entry)
    }
    let all = Entry(at: Instant(millis: -1), idempotency: record, events: everyEvent)
    let bytes = EntryCodec.encode(all)
    #expect(try EntryCodec.decode(bytes[...]) == all)
    // Offsets count from the slice's start, wherever it sits.
    let padded = [0xEE, 0xEE] + bytes
    #expect(try EntryCodec.decode(padded[2...]) == all)
    #expect(try EntryCodec.decode(EntryCodec.encode(Entry(at: t0, idempotency: record, events: []))[...]).events.isEmpty)
}

@Test func entriesAppendedToTheWriterAreEncodedThereAndReplayAsAppendedAmongBodiesAndSwitches() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        // Entries, bodies and segment switches interleaved, within batches and across them.
        var expected: [Replayed] = []
        var entries: [UInt64: Entry] = [:]
        func appendEntry(_ index: Int) {
            let entry = Entry(at: Instant(millis: t0.millis + Int64(index)), idempotency: index % 2 == 0 ? record : nil,
                              events: [everyEvent[index % everyEvent.count]])
            #expect(writer.append(entry) == UInt64(expected.count + 1))
            entries[UInt64(expected.count + 1)] = entry
            expected.append(Replayed(lsn: UInt64(expected.count + 1), body: EntryCodec.encode(entry)))
        }
        func appendBody() {
            let body = testBody(UInt64(expected.count + 1))
            #expect(writer.append(body) == UInt64(expected.count + 1))
            expected.append(Replayed(lsn: UInt64(expected.count + 1), body: body))
        }
        appendEntry(0)
        appendBody()
        appendEntry(1)
        #expect(writer.pendingByteCount == JournalWriter.estimatedByteCount(of: entries[1]!) + JournalWriter.estimatedByteCount(of: entries[3]!)
            + RecordFormat.recordByteCount(bodyCount: testBody(2).count))
        #expect(writer.startNewSegment() == 4)  // after an entry, in the same batch
        appendEntry(2)
        writer.flush()
        waitUntilDurable(writer, 4)
        #expect(writer.pendingByteCount == 0)
        #expect(writer.startNewSegment() == 5)  // first thing in a batch
        for index in 3..<40 { index % 3 == 0 ? appendBody() : appendEntry(index) }
        #expect(writer.startNewSegment() == 42)  // last thing in a batch
        writer.close()
        #expect(try fileNames(directory) == [1, 4, 5, 42].map { SegmentName.fileName(firstLSN: UInt64($0)) })
        let (records, _) = try replayAll(directory)
        #expect(records == expected)
        for (lsn, entry) in entries {
            #expect(try EntryCodec.decode(records[Int(lsn) - 1].body[...]) == entry)
        }
    }
}

@Test func anEntryCountsAgainstTheBackPressureLimitAsItsEventsAndReplyGrow() {
    let bare = Entry(at: t0, idempotency: nil, events: [everyEvent[0]])
    let remembered = Entry(at: t0, idempotency: record, events: [everyEvent[0]])
    let many = Entry(at: t0, idempotency: record, events: Array(repeating: everyEvent[0], count: 100))
    let eachEvent = everyEvent.flatMap { event in
        [Entry(at: t0, idempotency: nil, events: [event]), Entry(at: t0, idempotency: record, events: [event])]
    }
    for entry in [bare, remembered, many, Entry(at: t0, idempotency: record, events: everyEvent)] + eachEvent {
        // At least its record, without encoding it.
        #expect(JournalWriter.estimatedByteCount(of: entry) >= RecordFormat.recordByteCount(bodyCount: EntryCodec.encode(entry).count))
    }
    #expect(JournalWriter.estimatedByteCount(of: remembered) > JournalWriter.estimatedByteCount(of: bare))
    #expect(JournalWriter.estimatedByteCount(of: many) >= 100 * JournalWriter.estimatedByteCount(of: bare) / 2)
}

@Test func entriesWaitingForTheWriterBackPressureTheAppender() throws {
    try withTempDirectory { directory in
        let entry = Entry(at: t0, idempotency: record, events: everyEvent)
        let count = JournalWriter.pendingBytesMax / JournalWriter.estimatedByteCount(of: entry) + 8
        let seen = try appendPastThePendingLimit(directory, count: count, append: { $0.append(entry) },
                                                 isAppended: { try EntryCodec.decode($0) == entry })
        #expect(seen == count)
    }
}

@Test func anEntryCutAtAnyByteThrowsAndSoDoesATrailingByte() throws {
    let bytes = EntryCodec.encode(Entry(at: t0, idempotency: record, events: everyEvent))
    for length in 0..<bytes.count {
        #expect(throws: DecodeError.self, "cut at \(length) of \(bytes.count)") { try EntryCodec.decode(bytes[0..<length]) }
    }
    #expect(throws: DecodeError("1 unexpected trailing bytes", offset: bytes.count)) {
        try EntryCodec.decode((bytes + [0])[...])
    }
}

@Test func anEntryDamagedAtAnyByteDecodesToWhatItEncodesOrThrows() {
    let bytes = EntryCodec.encode(Entry(at: t0, idempotency: record, events: everyEvent))
    for index in bytes.indices {
        for mask: UInt8 in [0x01, 0x80, 0xFF] {
            var damaged = bytes
            damaged[index] ^= mask
            // Never a trap; and whatever is accepted is exactly what the encoder writes for it.
            if let entry = try? EntryCodec.decode(damaged[...]) {
                #expect(EntryCodec.encode(entry) == damaged, "byte \(index) ^ \(mask) decoded to a non-canonical entry")
            }
        }
    }
}

@Test(arguments: [UInt8(0), 22, 99, 255])
func anUnknownEventTagIsRefused(_ tag: UInt8) {
    var (bytes, offset) = body(.voided(HoldID(1)))
    #expect(bytes[offset] == 4)
    bytes[offset] = tag
    #expect(throws: DecodeError("unknown event tag \(tag)", offset: offset)) { try EntryCodec.decode(bytes[...]) }
}

@Test func anUnknownVersionIsRefused() {
    var (bytes, _) = body(.voided(HoldID(1)))
    bytes[0] = 2
    #expect(throws: DecodeError("unknown entry format version 2", offset: 0)) { try EntryCodec.decode(bytes[...]) }
}

@Test(arguments: [
    (Event.refunded(CreditID(1), amount: MinorUnits(-5)), "refund amount must be positive, is -5"),
    (.refunded(CreditID(1), amount: .zero), "refund amount must be positive, is 0"),
    (.issued(IssuedCredit(credit: CreditID(1), type: .gift, currency: "AUD", amount: MinorUnits(-1), expires: nil,
                          profile: nil, card: card(1))), "issue amount must not be negative, is -1"),
    (.issued(IssuedCredit(credit: CreditID(1), type: .store, currency: "AUD", amount: MinorUnits(1), bonus: MinorUnits(-1),
                          expires: nil, profile: ProfileID("p"), card: nil)), "bonus must not be negative, is -1"),
    (.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(-100),
                      legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(1), covers: MinorUnits(1), rate: nil)],
                      deadline: t0)), "requested amount must be positive, is -100"),
    (.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(100),
                      legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(-1), covers: MinorUnits(1), rate: nil)],
                      deadline: t0)), "leg amount must be positive, is -1"),
    (.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(100),
                      legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(1), covers: MinorUnits(-1), rate: nil)],
                      deadline: t0)), "leg cover must be positive, is -1"),
    (.captured(HoldID(1), legs: [CapturedLeg(amount: MinorUnits(-1), covers: .zero)]), "captured amount must not be negative, is -1"),
    (.captured(HoldID(1), legs: [CapturedLeg(amount: .zero, covers: MinorUnits(-1))]), "captured cover must not be negative, is -1"),
])
func aNegativeAmountIsRefused(_ event: Event, _ message: String) {
    let (bytes, _) = body(event)
    #expect(throws: DecodeError.self) { try EntryCodec.decode(bytes[...]) }
    do {
        _ = try EntryCodec.decode(bytes[...])
    } catch {
        #expect(error.message == message)
    }
}

@Test(arguments: ["aud", "A1D", "AU", "", "ÄUD", "AUDX"])
func aBadCurrencyCodeIsRefusedInIssuesAndHolds(_ code: String) {
    let issued = body(.issued(IssuedCredit(credit: CreditID(1), type: .gift, currency: code, amount: MinorUnits(1),
                                           expires: nil, profile: nil, card: card(1)))).bytes
    let held = body(.held(PlacedHold(hold: HoldID(1), currency: code, requested: MinorUnits(1),
                                     legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(1), covers: MinorUnits(1), rate: nil)],
                                     deadline: t0))).bytes
    #expect(throws: DecodeError.self) { try EntryCodec.decode(issued[...]) }
    #expect(throws: DecodeError.self) { try EntryCodec.decode(held[...]) }
}

@Test func badIDsRatesCardKeysAndLegCountsAreRefused() {
    let zeroID = body(.voided(HoldID(0))).bytes
    #expect(throws: DecodeError("hold id 0", offset: 15)) { try EntryCodec.decode(zeroID[...]) }
    let badRate = body(.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(1),
                                        legs: [HoldLeg(credit: CreditID(1), amount: MinorUnits(1), covers: MinorUnits(1),
                                                       rate: Rate(units: 1, scale: 8))], deadline: t0))).bytes
    var scale = badRate
    scale[scale.count - 9] = 9  // the rate's scale byte, just before the i64 deadline
    #expect(throws: DecodeError.self) { try EntryCodec.decode(scale[...]) }
    let noLegs = body(.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(1), legs: [], deadline: t0))).bytes
    let noLegsError = #expect(throws: DecodeError.self) { try EntryCodec.decode(noLegs[...]) }
    #expect(noLegsError?.message == "hold without legs")
    let noCaptured = body(.captured(HoldID(1), legs: [])).bytes
    let noCapturedError = #expect(throws: DecodeError.self) { try EntryCodec.decode(noCaptured[...]) }
    #expect(noCapturedError?.message == "capture without legs")
    let tooMany = (0...LedgerPolicy.legsMax).map {
        HoldLeg(credit: CreditID(UInt64($0 + 1)), amount: MinorUnits(1), covers: MinorUnits(1), rate: nil)
    }
    let wide = body(.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(100), legs: tooMany, deadline: t0))).bytes
    #expect(throws: DecodeError.self) { try EntryCodec.decode(wide[...]) }
}

// MARK: Snapshots

/// Runs commands against a ledger at an explicit clock, each mutating one under a fresh ref.
private struct Driver {
    var ledger: Ledger
    var now = t0
    var refs = 0

    mutating func run(_ command: Command) throws -> Reply {
        refs += 1
        let context = RequestContext(now: now, client: ClientID("till-1"), ref: Ref("r-\(refs)"),
                                     fingerprint: Digest32(w0: UInt64(refs), w1: 0, w2: 0, w3: 0))
        switch ledger.execute(command, context: context) {
        case .applied(_, let reply), .read(let reply, _): return reply
        case let other: throw DriverError(description: "\(command) came to \(other)")
        }
    }

    mutating func issue(_ type: CreditType, _ amount: String, _ currency: String, bonus: String? = nil,
                        campaign: String? = nil, expires: String? = nil, card keys: CardKeys? = nil) throws {
        _ = try run(.issue(IssueCommand(type: type, amount: DecimalAmount(amount)!, bonus: bonus.flatMap(DecimalAmount.init),
                                        currency: currency, profile: ProfileID("cust-1"), campaign: campaign,
                                        expires: expires.flatMap(CivilDate.init), card: keys)))
    }

    mutating func hold(_ selector: CreditSelector, _ amount: String, ttl: Seconds? = nil) throws {
        _ = try run(.hold(HoldCommand(selector: selector, amount: DecimalAmount(amount)!, currency: "AUD", ttl: ttl, partial: true)))
    }
}

private struct DriverError: Error, CustomStringConvertible {
    let description: String
}

/// A ledger with every credit type and status, every hold state, every activity kind, FX legs and
/// sale amounts, reasons, a campaign, a bonus, and remembered refs with multi-line replies.
private func everyKindOfState() throws -> LedgerState {
    let rates = try RateTable.parse("NZD AUD 0.9238\nJPY AUD 0.01026\n", currencies: currencies)
    let policy = LedgerPolicy(currencies: currencies, holdTTLMax: Seconds(86_400), rates: rates)
    var d = Driver(ledger: Ledger(policy: policy))
    try d.issue(.gift, "100", "AUD", card: card(1))  // cr_1
    try d.issue(.store, "40", "NZD", bonus: "5", expires: "2027-06-30")  // cr_2
    try d.issue(.promo, "500", "JPY", campaign: "xmas-26")  // cr_3
    try d.issue(.gift, "12.505", "KWD", expires: "2026-11-26", card: card(2))  // cr_4: expires with breakage
    try d.issue(.store, "10", "AUD")  // cr_5: cancelled
    try d.hold(.profile(ProfileID("cust-1")!), "70")  // hd_1: promo (JPY), store (NZD), store cr_5, gift cr_1
    _ = try d.run(.capture(HoldID(1), amount: DecimalAmount("50")))
    try d.hold(.credit(CreditID(1)), "5")  // hd_2: voided
    _ = try d.run(.void(HoldID(2)))
    try d.hold(.credit(CreditID(1)), "6", ttl: Seconds(60))  // hd_3: expires
    d.now = Instant(millis: t0.millis + 60_000)
    guard d.ledger.sweep(now: d.now) != nil else { throw DriverError(description: "nothing to expire") }
    _ = try d.run(.refund(CreditID(2), amount: DecimalAmount("1.25")!, currency: "NZD"))
    _ = try d.run(.changeStatus(CreditID(2), .freeze, reason: "reported lost"))
    _ = try d.run(.changeStatus(CreditID(2), .unfreeze, reason: "found ✓"))
    _ = try d.run(.changeStatus(CreditID(2), .freeze, reason: "lost again"))
    _ = try d.run(.changeStatus(CreditID(5), .cancel, reason: "fraud"))
    d.now = CivilDate("2026-11-26")!.endInstant
    guard d.ledger.sweep(now: d.now) != nil else { throw DriverError(description: "no credit expired") }
    try d.hold(.credit(CreditID(1)), "7")  // hd_4: pending
    try d.issue(.store, "20", "AUD", bonus: "3")  // cr_6: marketing money unspent
    // Unknown card numbers: one tried until its decoy locked, one tried once.
    for (n, tries) in [(UInt64(50), 3), (51, 1)] {
        for _ in 0..<tries {
            let context = RequestContext(now: d.now, client: ClientID("till-1"), ref: nil,
                                         fingerprint: Digest32(w0: 0, w1: 0, w2: 0, w3: 0))
            _ = d.ledger.execute(.balance(.card(cardDigest: card(n).cardDigest, pinDigest: card(n).pinDigest)), context: context)
        }
    }
    // Stock cards come from outside the commands: one inactive, one sold and loaded.
    var state = d.ledger.canonicalState
    let (inactive, loaded) = (CreditID(state.lastCreditNumber + 1), CreditID(state.lastCreditNumber + 2))
    let stock = Activity(seq: 1, at: t0, kind: .stock, amount: .zero, balanceAfter: .zero, hold: nil, ref: nil)
    state.credits[inactive] = Credit(id: inactive, type: .gift, currency: aud, balance: .zero, held: .zero,
                                     status: .inactive, expires: nil, profile: nil, card: card(6), pendingHoldCount: 0,
                                     history: [stock])
    state.credits[loaded] = Credit(id: loaded, type: .gift, currency: aud, balance: MinorUnits(2500), held: .zero,
                                   status: .active, expires: nil, profile: ProfileID("cust-2"), card: card(7),
                                   pendingHoldCount: 0,
                                   history: [stock, Activity(seq: 2, at: t0, kind: .load, amount: MinorUnits(2500),
                                                             balanceAfter: MinorUnits(2500), hold: nil, ref: Ref("sale-9"))]
                                       + laterKinds(from: 3, balance: MinorUnits(2500)))
    state.lastCreditNumber = loaded.number
    return state
}

/// One activity of each kind the command-made state lacks (balance-neutral, so the chain holds).
private func laterKinds(from seq: UInt32, balance: MinorUnits) -> [Activity] {
    let pairs: [(ActivityKind, Int64)] = [(.replace, 0), (.transfer, 0), (.split, 100), (.splitIn, 100), (.revert, 0),
                                          (.reversal, -50), (.reversal, 50), (.lock, 0), (.unlock, 0)]
    var running = balance
    return pairs.enumerated().map { offset, pair in
        let (kind, amount) = pair
        switch kind {
        case .split: running -= MinorUnits(amount)
        case .splitIn, .reversal: running += MinorUnits(amount)
        default: break
        }
        return Activity(seq: seq + UInt32(offset), at: t0, kind: kind, amount: MinorUnits(amount), balanceAfter: running,
                        hold: nil, ref: nil, reason: kind == .transfer ? "to cust-3" : nil)
    }
}

@Test func aStateWithEveryKindOfCreditHoldAndActivityRoundTripsExactly() throws {
    let state = try everyKindOfState()
    let credits = Array(state.credits.values)
    let activities = credits.flatMap(\.history)
    #expect(Set(credits.map(\.status)) == Set(CreditStatus.allCases))
    #expect(Set(credits.map(\.type)) == Set(CreditType.allCases))
    #expect(Set(activities.map(\.kind)) == Set(ActivityKind.allCases))
    #expect(Set(state.holds.values.map(\.state.rawValue)) == ["pending", "captured", "voided", "expired"])
    #expect(state.holds.values.contains { $0.legs.count > 1 && $0.legs.contains { $0.rate != nil } })
    #expect(activities.contains { $0.sale != nil } && activities.contains { $0.reason != nil })
    #expect(credits.contains { $0.campaign != nil } && credits.contains { $0.marketing > .zero })
    #expect(state.refs.contains { $0.record.reply.items.count > 1 })
    #expect(state.decoys[card(50).cardDigest]?.lockedUntil != nil && state.decoys[card(51).cardDigest]?.failures == 1)

    let bytes = SnapshotCodec.encode(state)
    let decoded = try SnapshotCodec.decode(bytes, currencies: currencies)
    #expect(decoded == state)
    #expect(SnapshotCodec.encode(decoded) == bytes)
}

@Test(arguments: [1, 7, 300, 1 << 20])
func aSnapshotEncodedInPiecesIsTheWholeBodyCutAfterWholeItems(pieceBytes: Int) throws {
    let state = try everyKindOfState()
    var pieces: [[UInt8]] = []
    SnapshotCodec.encode(state, pieceBytes: pieceBytes) { pieces.append(Array($0)) }
    let joined = pieces.flatMap { $0 }
    #expect(try SnapshotCodec.decode(joined, currencies: currencies) == state)
    #expect(joined == SnapshotCodec.encode(state))
    // Every piece but the last reaches the size asked for; none is empty.
    #expect(pieces.dropLast().allSatisfy { $0.count >= pieceBytes } && !pieces.contains { $0.isEmpty })
    if pieceBytes == 1 { #expect(pieces.count > state.credits.count + state.holds.count + state.refs.count) }
    if pieceBytes == 1 << 20 { #expect(pieces.count == 1) }
}

@Test func anErrorFromThePieceWriterStopsTheEncodingThere() throws {
    struct DiskFull: Error {}
    let state = try everyKindOfState()
    var pieces = 0
    #expect(throws: DiskFull.self) {
        try SnapshotCodec.encode(state, pieceBytes: 1) { (_: UnsafeRawBufferPointer) throws(DiskFull) in
            pieces += 1
            if pieces == 3 { throw DiskFull() }
        }
    }
    #expect(pieces == 3)
}

@Test func aSnapshotCutAtAnyByteThrows() throws {
    let bytes = SnapshotCodec.encode(try everyKindOfState())
    for length in 0..<bytes.count {
        #expect(throws: DecodeError.self, "cut at \(length) of \(bytes.count)") {
            try SnapshotCodec.decode(Array(bytes[0..<length]), currencies: currencies)
        }
    }
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(bytes + [0], currencies: currencies) }
}

@Test func aSnapshotDamagedAtAnyByteDecodesToAStateThatRoundTripsOrThrows() throws {
    let bytes = SnapshotCodec.encode(try everyKindOfState())
    for index in bytes.indices {
        var damaged = bytes
        damaged[index] ^= 0xFF
        // Never a trap. (A damaged id may reorder credits, so the bytes need not come back; the state must.)
        if let state = try? SnapshotCodec.decode(damaged, currencies: currencies) {
            #expect(try SnapshotCodec.decode(SnapshotCodec.encode(state), currencies: currencies) == state,
                    "byte \(index) decoded to a state that does not round-trip")
        }
    }
}

@Test func aSnapshotNamingAnUnconfiguredCurrencyIsRefused() throws {
    let bytes = SnapshotCodec.encode(try everyKindOfState())
    let withoutKWD = CurrencyTable([aud, nzd, jpy])
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(bytes, currencies: withoutKWD) }
}

@Test func aVersion1SnapshotDecodesWithNoDecoys() throws {
    var state = try everyKindOfState()
    state.decoys = ChunkedMap()
    var bytes = SnapshotCodec.encode(state)
    // Version 1 is version 2 without the decoy section (here an empty one: a zero u32 at the end).
    #expect(bytes[0] == 2 && Array(bytes.suffix(4)) == [0, 0, 0, 0])
    bytes[0] = 1
    bytes.removeLast(4)
    #expect(try SnapshotCodec.decode(bytes, currencies: currencies) == state)
    // A version-1 body ends with its refs: anything after them is refused.
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(bytes + [0, 0, 0, 0], currencies: currencies) }
}

@Test(arguments: [UInt8(0), 3, 255])
func anUnknownSnapshotVersionIsRefused(_ version: UInt8) throws {
    var bytes = SnapshotCodec.encode(try everyKindOfState())
    bytes[0] = version
    #expect(throws: DecodeError("unknown snapshot format version \(version)", offset: 0)) {
        try SnapshotCodec.decode(bytes, currencies: currencies)
    }
}

@Test func aSnapshotWhoseCreditOrHoldIsNumberedAboveTheLastNumberIsRefused() throws {
    let state = try everyKindOfState()
    #expect(state.lastCreditNumber > 0 && state.lastHoldNumber > 0)
    // The body starts: version (1 byte), last credit number (u64), last hold number (u64).
    var lowCredit = SnapshotCodec.encode(state)
    lowCredit.replaceSubrange(1..<9, with: withUnsafeBytes(of: (state.lastCreditNumber - 1).littleEndian, Array.init))
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(lowCredit, currencies: currencies) }
    var lowHold = SnapshotCodec.encode(state)
    lowHold.replaceSubrange(9..<17, with: withUnsafeBytes(of: (state.lastHoldNumber - 1).littleEndian, Array.init))
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(lowHold, currencies: currencies) }
    // A last hold number no table can reach (restoring would step through every number up to it).
    let numberMax = NumberedTable<HoldID, Hold>.numberMax
    for (last, refused) in [(numberMax, false), (numberMax + 1, true), (UInt64.max, true)] {
        var high = SnapshotCodec.encode(state)
        high.replaceSubrange(9..<17, with: withUnsafeBytes(of: last.littleEndian, Array.init))
        if refused {
            #expect(throws: DecodeError("last hold number \(last) is above \(numberMax)", offset: 9)) {
                try SnapshotCodec.decode(high, currencies: currencies)
            }
        } else {
            #expect(try SnapshotCodec.decode(high, currencies: currencies).lastHoldNumber == last)
        }
    }
}

@Test func aSnapshotWhoseCreditListsPendingHoldsTheHoldsDisagreeWithIsRefused() throws {
    let state = try everyKindOfState()
    // hd_4 is the one pending hold, on cr_1; credits keep only the count, the format the ids.
    #expect(state.pendingHoldsByCredit() == [CreditID(1): [HoldID(4)]])
    #expect(state.credits[CreditID(1)]?.pendingHoldCount == 1 && state.pendingHolds(of: CreditID(1)) == [HoldID(4)])
    let bytes = SnapshotCodec.encode(state)
    // hd_4 ended ("expired" is as long as "pending"), but cr_1 still lists it.
    let (ended, _) = replacingField("pending", with: Array("expired".utf8), in: bytes)
    #expect(ended.count == bytes.count)
    #expect(throws: DecodeError.self) { try SnapshotCodec.decode(ended, currencies: currencies) }
    do {
        _ = try SnapshotCodec.decode(ended, currencies: currencies)
    } catch {
        #expect(error.message == "credit cr_1 lists pending holds [hd_4] but the pending holds with a leg on it are []")
    }
    // The other way: hd_3 (expired, on cr_1) pending again, which cr_1 does not list. The state
    // is the last length-prefixed "expired" of the credits and holds (a credit's status comes first).
    var prefixed = ByteWriter()
    prefixed.string("expired")
    let pattern = prefixed.buffer
    let starts = bytes.indices.filter { bytes[$0...].starts(with: pattern) }
    let messages = starts.map { start -> String? in
        var revived = bytes
        revived.replaceSubrange((start + 4)..<(start + pattern.count), with: Array("pending".utf8))
        do {
            _ = try SnapshotCodec.decode(revived, currencies: currencies)
            return nil
        } catch {
            return (error as? DecodeError)?.message
        }
    }
    #expect(messages.contains("credit cr_1 lists pending holds [hd_4] but the pending holds with a leg on it are [hd_3, hd_4]"))
}

// MARK: Fields matched without making a String

/// `bytes` with the first length-prefixed field holding `field` replaced by `replacement` (its
/// length prefix too), and the offset of that length prefix.
private func replacingField(_ field: String, with replacement: [UInt8], in bytes: [UInt8]) -> (bytes: [UInt8], offset: Int) {
    var old = ByteWriter()
    old.string(field)
    var new = ByteWriter()
    new.bytes(replacement)
    let pattern = old.buffer
    guard let offset = bytes.indices.first(where: { bytes[$0...].starts(with: pattern) }) else {
        preconditionFailure("no field \(field) in the bytes")
    }
    return (Array(bytes[..<offset]) + new.buffer + bytes[(offset + pattern.count)...], offset)
}

/// An entry issuing a credit of `type` and `status` with a card, as a record body.
private func issued(_ type: CreditType, _ status: CreditStatus) -> [UInt8] {
    body(.issued(IssuedCredit(credit: CreditID(1), type: type, currency: "AUD", amount: MinorUnits(1), expires: nil,
                              profile: nil, card: card(3321), status: status))).bytes  // last4 4321
}

@Test func everyCreditTypeAndStatusRoundTrips() throws {
    for type in CreditType.allCases {
        for status in CreditStatus.allCases {
            let bytes = issued(type, status)
            guard case .issued(let credit) = try EntryCodec.decode(bytes[...]).events.first else {
                Issue.record("not an issue")
                continue
            }
            #expect(credit.type == type && credit.status == status && credit.card == card(3321))
        }
    }
}

@Test(arguments: [
    // What replaces `gift` (limit 8 bytes) or `active` (limit 16), and the error expected.
    (Array("store".utf8), nil),
    (Array("gifts".utf8), "invalid credit type"),
    (Array("Gift".utf8), "invalid credit type"),
    (Array("gif".utf8), "invalid credit type"),
    ([], "invalid credit type"),
    (Array("gïft".utf8), "invalid credit type"),
    ([0x67, 0xFF, 0x66, 0x74], "invalid UTF-8 in string of 4 bytes"),
    (Array("giftgift!".utf8), "string length 9 exceeds limit 8"),
] as [([UInt8], String?)])
func aCreditTypeIsMatchedExactlyAndBadOnesAreRefusedAtTheField(_ replacement: [UInt8], _ message: String?) throws {
    let (bytes, offset) = replacingField("gift", with: replacement, in: issued(.gift, .active))
    if let message {
        #expect(throws: DecodeError(message, offset: offset)) { try EntryCodec.decode(bytes[...]) }
    } else {
        guard case .issued(let credit) = try EntryCodec.decode(bytes[...]).events.first else { throw DecodeError("not an issue", offset: 0) }
        #expect(credit.type == CreditType(rawValue: String(decoding: replacement, as: UTF8.self)))
    }
}

@Test(arguments: [
    (Array("frozen".utf8), nil),
    (Array("activ".utf8), "invalid credit status"),
    (Array("actives".utf8), "invalid credit status"),
    (Array("ACTIVE".utf8), "invalid credit status"),
    (Array("activé".utf8), "invalid credit status"),
    ([0x61, 0x63, 0x74, 0xC3, 0x28, 0x65], "invalid UTF-8 in string of 6 bytes"),
    (Array(repeating: UInt8(ascii: "a"), count: 17), "string length 17 exceeds limit 16"),
] as [([UInt8], String?)])
func aCreditStatusIsMatchedExactlyAndBadOnesAreRefusedAtTheField(_ replacement: [UInt8], _ message: String?) throws {
    let (bytes, offset) = replacingField("active", with: replacement, in: issued(.gift, .active))
    if let message {
        #expect(throws: DecodeError(message, offset: offset)) { try EntryCodec.decode(bytes[...]) }
    } else {
        guard case .issued(let credit) = try EntryCodec.decode(bytes[...]).events.first else { throw DecodeError("not an issue", offset: 0) }
        #expect(credit.status == .frozen)
    }
}

@Test(arguments: ["12a4", "123", "12345", "١٢٣٤", "    "])
func cardKeysWithABadLast4AreRefusedAtTheField(_ last4: String) {
    let (bytes, offset) = replacingField("4321", with: Array(last4.utf8), in: issued(.gift, .active))
    let expected = last4.utf8.count > 4 ? "string length \(last4.utf8.count) exceeds limit 4" : "invalid card keys"
    #expect(throws: DecodeError(expected, offset: offset)) { try EntryCodec.decode(bytes[...]) }
}

@Test func aSnapshotWhoseActivitiesAreNotNumberedInOrderIsRefused() throws {
    // Histories are packed with their numbers implied by position, so a snapshot must number a
    // credit's activities 1, 2, 3, … as the ledger always has.
    let at = Instant(millis: 1_795_703_400_000)
    let history = [Activity(seq: 1, at: at, kind: .issue, amount: MinorUnits(500), balanceAfter: MinorUnits(500),
                            hold: nil, ref: nil),
                   Activity(seq: 2, at: at, kind: .freeze, amount: .zero, balanceAfter: MinorUnits(500),
                            hold: nil, ref: nil, reason: "lost")]
    var state = LedgerState()
    state.credits[CreditID(1)] = Credit(id: CreditID(1), type: .store, currency: currencies["AUD"]!,
                                        balance: MinorUnits(500), held: .zero, status: .frozen, expires: nil,
                                        profile: nil, card: nil, pendingHoldCount: 0, history: history)
    state.lastCreditNumber = 1
    let bytes = SnapshotCodec.encode(state)
    #expect(try SnapshotCodec.decode(bytes, currencies: currencies) == state)
    var second = ByteWriter()
    second.u32(2)
    second.i64(at.millis)
    second.string("freeze")
    let offset = try #require(bytes.indices.first { bytes[$0...].starts(with: second.buffer) })
    var skipped = bytes
    skipped.replaceSubrange(offset..<offset + 4, with: [3, 0, 0, 0])
    #expect(throws: DecodeError("credit cr_1 activity 2 is numbered 3", offset: offset)) {
        try SnapshotCodec.decode(skipped, currencies: currencies)
    }
}
