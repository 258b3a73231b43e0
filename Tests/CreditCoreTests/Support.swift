// Provides the shared fixtures: a fixed policy (AUD, JPY, KWD), an FX policy (AUD, NZD, JPY, KWD with rates both ways), fixed instants, card keys, claim codes, and a harness that runs every command at explicit instants.

import CreditCore
import Testing

/// The fixed rules every ledger test runs under. Small limits so each one is easy to reach.
enum Fixture {
    /// AUD, 2 digits, at most 1000.00 per credit.
    static let aud = Currency(code: "AUD", minorDigits: 2, balanceMax: MinorUnits(100_000))
    /// JPY, no minor digits, at most 100000 per credit.
    static let jpy = Currency(code: "JPY", minorDigits: 0, balanceMax: MinorUnits(100_000))
    /// KWD, 3 digits, at most 500.000 per credit.
    static let kwd = Currency(code: "KWD", minorDigits: 3, balanceMax: MinorUnits(500_000))

    /// Default TTL 15m, max TTL 1d, refs remembered 1h, 3 pending holds per credit.
    static let policy = LedgerPolicy(
        currencies: CurrencyTable([aud, jpy, kwd]), holdTTLDefault: Seconds(900), holdTTLMax: Seconds(86_400),
        refWindow: Seconds(3600), holdsPerCreditMax: 3)

    /// NZD, 2 digits, at most 1000.00 per credit.
    static let nzd = Currency(code: "NZD", minorDigits: 2, balanceMax: MinorUnits(100_000))

    /// Rates both ways between AUD and each of NZD, JPY and KWD; none between NZD, JPY and KWD.
    static let ratesText = """
        AUD NZD 1.0825
        NZD AUD 0.9238
        AUD JPY 97.45
        JPY AUD 0.01026
        AUD KWD 0.2011
        KWD AUD 4.9731
        """

    /// The fixed rates, parsed once.
    static let rates: RateTable = {
        do {
            return try RateTable.parse(ratesText, currencies: CurrencyTable([aud, nzd, jpy, kwd]))
        } catch {
            preconditionFailure("fixture rates do not parse: \(error)")
        }
    }()

    /// The same limits as `policy`, with NZD and the fixed rates.
    static let fxPolicy = LedgerPolicy(
        currencies: CurrencyTable([aud, nzd, jpy, kwd]), holdTTLDefault: Seconds(900), holdTTLMax: Seconds(86_400),
        refWindow: Seconds(3600), holdsPerCreditMax: 3, rates: rates)

    /// A rate literal; a typo is a bug in the test itself.
    static func rate(_ text: String) -> Rate {
        guard let rate = Rate(text) else { preconditionFailure("test literal \(text) is not a rate") }
        return rate
    }

    /// 2026-11-26T14:30:00Z.
    static let t0 = Instant(millis: 1_795_703_400_000)

    /// Distinct, deterministic card keys for card `n` (last four digits are `n` padded).
    static func card(_ n: UInt64, length: Int = 16) -> CardKeys {
        var last4 = String(n % 10_000)
        while last4.count < 4 { last4 = "0" + last4 }
        return CardKeys(cardDigest: Digest32(w0: n, w1: 0xCA4D, w2: 0, w3: 0),
                        pinDigest: Digest32(w0: n, w1: 0x9114, w2: 0, w3: 0), last4: last4, length: length)
    }

    /// A PIN digest that matches no card.
    static let wrongPIN = Digest32(w0: 0xBAD, w1: 0xBAD, w2: 0xBAD, w3: 0xBAD)
}

/// Parses a decimal amount written in a test; a typo in a literal is a bug in the test itself.
func amount(_ text: String) -> DecimalAmount {
    guard let parsed = DecimalAmount(text) else { preconditionFailure("test literal \(text) is not an amount") }
    return parsed
}

/// A stand-in for the server's keyed digest of a request's canonical arguments: FNV-1a over every
/// argument of the command, so equal commands get equal fingerprints and different ones differ.
func fingerprint(of command: Command) -> Digest32 {
    var fnv = FNV()
    switch command {
    case .issue(let issue):
        fnv.mix("issue", issue.type.rawValue, issue.currency, issue.profile?.text ?? "-", issue.expires?.description ?? "-",
                issue.campaign ?? "-")
        fnv.mix(amount: issue.amount)
        if let bonus = issue.bonus { fnv.mix(amount: bonus) } else { fnv.mix("-") }
        fnv.mix(issue.card?.cardDigest.bytes ?? [], issue.card?.pinDigest.bytes ?? [])
        let recipient: String
        switch issue.recipient {
        case .profile(let profile)?: recipient = "to:" + profile.text
        case .unknown?: recipient = "unknown"
        case nil: recipient = "-"
        }
        fnv.mix(issue.purchaser?.text ?? "-", recipient, issue.revertAfter.map { String($0.value) } ?? "-")
        fnv.mix(issue.claim?.bytes ?? [])
    case .hold(let hold):
        fnv.mix("hold")
        fnv.mix(hold)
    case .quote(let hold):
        fnv.mix("quote")
        fnv.mix(hold)
    case .capture(let id, let amount):
        fnv.mix("capture", id.description)
        if let amount { fnv.mix(amount: amount) }
    case .void(let id): fnv.mix("void", id.description)
    case .balance(let selector):
        fnv.mix("balance")
        fnv.mix(selector)
    case .history(let id, let limit): fnv.mix("history", id.description, String(limit))
    case .credits(let profile): fnv.mix("credits", profile.text)
    case .rates: fnv.mix("rates")
    case .refund(let id, let amount, let currency):
        fnv.mix("refund", id.description, currency)
        fnv.mix(amount: amount)
    case .changeStatus(let id, let change, let reason): fnv.mix("status", id.description, change.rawValue, reason)
    case .stock(let count, let cards, let currency, let batch):
        fnv.mix("stock", String(count), currency, batch ?? "-")
        for card in cards { fnv.mix(card.cardDigest.bytes, card.pinDigest.bytes) }
    case .activate(let cardDigest, let amount, let currency):
        fnv.mix("activate", currency)
        fnv.mix(cardDigest.bytes)
        fnv.mix(amount: amount)
    case .load(let cardDigest, let amount, let currency):
        fnv.mix("load", currency)
        fnv.mix(cardDigest.bytes)
        fnv.mix(amount: amount)
    case .replace(let id, let keys):
        fnv.mix("replace", id.description)
        fnv.mix(keys?.cardDigest.bytes ?? [], keys?.pinDigest.bytes ?? [])
    case .transfer(let id, let profile, let amount, let from):
        fnv.mix("transfer", id.description, profile.text, from?.text ?? "-")
        if let amount { fnv.mix(amount: amount) } else { fnv.mix("whole") }
    case .claim(let code, let profile):
        fnv.mix("claim", profile.text)
        fnv.mix(code.bytes)
    case .reverse(let original): fnv.mix("reverse", original.text)
    case .report(let kind):
        switch kind {
        case .liability(let currency): fnv.mix("liability", currency ?? "-")
        case .activity(let from, let to): fnv.mix("activity", from.description, to.description)
        }
    case .unlock(let id): fnv.mix("unlock", id.description)
    }
    return fnv.digest
}

/// Four FNV-1a lanes with different offsets; plenty to tell test commands apart.
private struct FNV {
    private static let prime: UInt64 = 0x0000_0100_0000_01B3
    private var a: UInt64 = 0xCBF2_9CE4_8422_2325
    private var b: UInt64 = 0x1234_5678_9ABC_DEF1
    private var c: UInt64 = 0x0FED_CBA9_8765_4321
    private var d: UInt64 = 0x5555_AAAA_5555_AAAA

    mutating func mix(byte: UInt8) {
        a = (a ^ UInt64(byte)) &* FNV.prime
        b = (b ^ UInt64(byte)) &* FNV.prime
        c = (c ^ UInt64(byte)) &* FNV.prime
        d = (d ^ UInt64(byte)) &* FNV.prime
    }

    mutating func mix(_ texts: String...) {
        for text in texts {
            for byte in text.utf8 { mix(byte: byte) }
            mix(byte: 0)
        }
    }

    mutating func mix(_ byteArrays: [UInt8]...) {
        for bytes in byteArrays {
            for byte in bytes { mix(byte: byte) }
            mix(byte: 0)
        }
    }

    mutating func mix(amount: DecimalAmount) {
        mix(String(amount.unscaled), String(amount.fractionDigits))
    }

    mutating func mix(_ selector: CreditSelector) {
        switch selector {
        case .credit(let id): mix("credit", id.description)
        case .card(let cardDigest, let pinDigest): mix(cardDigest.bytes, pinDigest.bytes)
        case .profile(let profile): mix("profile", profile.text)
        }
    }

    mutating func mix(_ hold: HoldCommand) {
        mix(hold.currency, hold.partial ? "partial" : "whole", hold.ttl.map { String($0.value) } ?? "-")
        mix(amount: hold.amount)
        mix(hold.selector)
    }

    var digest: Digest32 { Digest32(w0: a, w1: b, w2: c, w3: d) }
}

extension Execution {
    /// The reply of an applied change, else nil.
    var appliedReply: Reply? { if case .applied(_, let reply) = self { return reply } else { return nil } }
    /// The entry of an applied change, else nil.
    var entry: Entry? { if case .applied(let entry, _) = self { return entry } else { return nil } }
    /// The reply of a read, else nil.
    var readReply: Reply? { if case .read(let reply, _) = self { return reply } else { return nil } }
    /// The entry a read had to journal (a right PIN clearing a card's wrong-PIN count), else nil.
    var readEntry: Entry? { if case .read(_, let entry) = self { return entry } else { return nil } }
    /// The reply of a replayed retry, else nil.
    var replayedReply: Reply? { if case .replayed(let reply) = self { return reply } else { return nil } }
    /// The error of a refusal, else nil.
    var refusal: CreditError? { if case .refused(let error) = self { return error } else { return nil } }
    /// The refusal's code, else nil.
    var code: ErrorCode? { refusal?.code }
    /// The error of a refusal whose attempt was journaled (a declined card), else nil.
    var recordedRefusal: CreditError? { if case .refusedRecorded(let error, _) = self { return error } else { return nil } }
    /// The entry of a refusal whose attempt was journaled, else nil.
    var recordedEntry: Entry? { if case .refusedRecorded(_, let entry) = self { return entry } else { return nil } }
}

/// Compares two executions case by case, payload by payload.
func sameOutcome(_ lhs: Execution, _ rhs: Execution) -> Bool {
    switch (lhs, rhs) {
    case (.read(let a, let entryA), .read(let b, let entryB)): return a == b && entryA == entryB
    case (.applied(let entryA, let a), .applied(let entryB, let b)): return entryA == entryB && a == b
    case (.replayed(let a), .replayed(let b)): return a == b
    case (.refused(let a), .refused(let b)): return a == b
    case (.refusedRecorded(let a, let entryA), .refusedRecorded(let b, let entryB)): return a == b && entryA == entryB
    default: return false
    }
}

/// A ledger with an explicit clock and one client. Every mutating command gets a fresh ref unless
/// the test names one; the fingerprint is derived from the command unless the test gives one.
struct Harness {
    var ledger = Ledger(policy: Fixture.policy)
    var now = Fixture.t0
    var client = ClientID("till-1")
    /// Every entry `run` saw applied, in order (for replay checks).
    var entries: [Entry] = []
    private var refCounter = 0
    private var cardCounter: UInt64 = 0
    /// Whether `run` hashes each ref ahead with `Ledger.prefetchRef`, as the engine does.
    var prefetchRefs = false

    init(policy: LedgerPolicy = Fixture.policy, now: Instant = Fixture.t0) {
        ledger = Ledger(policy: policy)
        self.now = now
    }

    /// Runs a command now (or `at`), under `ref` (a fresh one for mutating commands if nil).
    mutating func run(_ command: Command, ref: String? = nil, at: Instant? = nil, client: ClientID? = nil,
                      fingerprint given: Digest32? = nil) -> Execution {
        var refText = ref
        if refText == nil && command.isMutating {
            refCounter += 1
            refText = "auto-\(refCounter)"
        }
        let ref = refText.flatMap(Ref.init)
        let client = client ?? self.client
        let refHash = prefetchRefs ? ref.map { ledger.prefetchRef(client: client, ref: $0) } : nil
        let context = RequestContext(now: at ?? now, client: client, ref: ref,
                                     fingerprint: given ?? fingerprint(of: command), refHash: refHash)
        let execution = ledger.execute(command, context: context)
        switch execution {
        case .applied(let entry, _), .read(_, let entry?), .refusedRecorded(_, let entry): entries.append(entry)
        case .read, .replayed, .refused: break
        }
        return execution
    }

    /// Moves the clock forward.
    mutating func advance(millis: Int64) {
        now = Instant(millis: now.millis + millis)
    }

    /// Fresh card keys, different from every earlier call's.
    mutating func nextCard() -> CardKeys {
        cardCounter += 1
        return Fixture.card(cardCounter)
    }

    /// ISSUE; gift credits get fresh card keys unless `card` is given.
    @discardableResult
    mutating func issue(_ type: CreditType = .gift, _ value: String, _ currency: String = "AUD",
                        profile: String? = nil, bonus: String? = nil, campaign: String? = nil,
                        expires: String? = nil, card: CardKeys? = nil,
                        ref: String? = nil, at: Instant? = nil) -> Execution {
        let keys = type == .gift ? (card ?? nextCard()) : nil
        let command = Command.issue(IssueCommand(
            type: type, amount: amount(value), bonus: bonus.map(amount), currency: currency,
            profile: profile.flatMap(ProfileID.init), campaign: campaign, expires: expires.flatMap(CivilDate.init),
            card: keys))
        return run(command, ref: ref, at: at)
    }

    /// ISSUE that must succeed; returns the new credit's id. Store and promo credits go to
    /// `profile` (default `cust-1`); promo credits get campaign `spring` unless another is given.
    mutating func newCredit(_ type: CreditType = .gift, _ value: String, _ currency: String = "AUD",
                            profile: String? = nil, bonus: String? = nil, campaign: String? = nil,
                            expires: String? = nil, card: CardKeys? = nil) throws -> CreditID {
        let owner = profile ?? (type == .gift ? nil : "cust-1")
        let funder = campaign ?? (type == .promo ? "spring" : nil)
        let reply = try #require(issue(type, value, currency, profile: owner, bonus: bonus, campaign: funder,
                                       expires: expires, card: card).appliedReply)
        let text = try #require(reply.value("credit"))
        return try #require(CreditID(text))
    }

    /// HOLD on a credit by id.
    @discardableResult
    mutating func hold(_ credit: CreditID, _ value: String, _ currency: String = "AUD", ttl: Seconds? = nil,
                       partial: Bool = false, ref: String? = nil, at: Instant? = nil) -> Execution {
        hold(.credit(credit), value, currency, ttl: ttl, partial: partial, ref: ref, at: at)
    }

    /// HOLD on a credit by selector.
    @discardableResult
    mutating func hold(_ selector: CreditSelector, _ value: String, _ currency: String = "AUD", ttl: Seconds? = nil,
                       partial: Bool = false, ref: String? = nil, at: Instant? = nil) -> Execution {
        let command = Command.hold(HoldCommand(selector: selector, amount: amount(value), currency: currency,
                                               ttl: ttl, partial: partial))
        return run(command, ref: ref, at: at)
    }

    /// HOLD across a profile's credits.
    @discardableResult
    mutating func hold(profile: String, _ value: String, _ currency: String = "AUD", ttl: Seconds? = nil,
                       partial: Bool = false, ref: String? = nil, at: Instant? = nil) -> Execution {
        hold(.profile(ProfileID(profile)!), value, currency, ttl: ttl, partial: partial, ref: ref, at: at)
    }

    /// QUOTE: the plan a HOLD with these arguments would make.
    mutating func quote(_ selector: CreditSelector, _ value: String, _ currency: String = "AUD",
                        partial: Bool = false, at: Instant? = nil) -> Execution {
        run(.quote(HoldCommand(selector: selector, amount: amount(value), currency: currency, ttl: nil, partial: partial)),
            at: at)
    }

    /// HOLD that must succeed; returns the new hold's id.
    mutating func newHold(_ credit: CreditID, _ value: String, _ currency: String = "AUD",
                          ttl: Seconds? = nil) throws -> HoldID {
        try newHold(.credit(credit), value, currency, ttl: ttl)
    }

    /// HOLD by selector that must succeed; returns the new hold's id.
    mutating func newHold(_ selector: CreditSelector, _ value: String, _ currency: String = "AUD",
                          ttl: Seconds? = nil, partial: Bool = false) throws -> HoldID {
        let reply = try #require(hold(selector, value, currency, ttl: ttl, partial: partial).appliedReply)
        let text = try #require(reply.value("hold"))
        return try #require(HoldID(text))
    }

    /// CAPTURE all (nil) or part of a hold.
    @discardableResult
    mutating func capture(_ hold: HoldID, _ value: String? = nil, ref: String? = nil, at: Instant? = nil) -> Execution {
        run(.capture(hold, amount: value.map(amount)), ref: ref, at: at)
    }

    /// VOID a hold.
    @discardableResult
    mutating func void(_ hold: HoldID, ref: String? = nil, at: Instant? = nil) -> Execution {
        run(.void(hold), ref: ref, at: at)
    }

    /// REFUND onto a credit.
    @discardableResult
    mutating func refund(_ credit: CreditID, _ value: String, _ currency: String = "AUD", ref: String? = nil,
                         at: Instant? = nil) -> Execution {
        run(.refund(credit, amount: amount(value), currency: currency), ref: ref, at: at)
    }

    /// FREEZE, UNFREEZE or CANCEL a credit.
    @discardableResult
    mutating func change(_ credit: CreditID, _ change: StatusChange, reason: String = "staff", ref: String? = nil,
                         at: Instant? = nil) -> Execution {
        run(.changeStatus(credit, change, reason: reason), ref: ref, at: at)
    }

    /// BALANCE by credit id.
    mutating func balance(_ credit: CreditID, at: Instant? = nil) -> Execution {
        run(.balance(.credit(credit)), at: at)
    }

    /// HISTORY of a credit.
    mutating func history(_ credit: CreditID, limit: Int = LedgerPolicy.historyLimitDefault) -> Execution {
        run(.history(credit, limit: limit))
    }

    /// CREDITS of a profile.
    mutating func credits(_ profile: String, at: Instant? = nil) -> Execution {
        run(.credits(ProfileID(profile)!), at: at)
    }

    /// ISSUE of a gift card with its parties: `purchaser=`, `recipient=` (a profile, or unknown with
    /// `claim` as its code's digest) and `revert_after=`.
    @discardableResult
    mutating func issueGift(_ value: String, _ currency: String = "AUD", purchaser: String? = nil,
                            recipient: Recipient? = nil, claim: Digest32? = nil, revertAfter: Seconds? = nil,
                            profile: String? = nil, expires: String? = nil, card: CardKeys? = nil,
                            ref: String? = nil, at: Instant? = nil) -> Execution {
        var issue = IssueCommand(type: .gift, amount: amount(value), currency: currency,
                                 profile: profile.flatMap(ProfileID.init), expires: expires.flatMap(CivilDate.init),
                                 card: card ?? nextCard(), purchaser: purchaser.flatMap(ProfileID.init),
                                 recipient: recipient, revertAfter: revertAfter)
        issue.claim = claim
        return run(.issue(issue), ref: ref, at: at)
    }

    /// `issueGift` that must succeed; returns the new credit's id.
    mutating func newGift(_ value: String, _ currency: String = "AUD", purchaser: String? = nil,
                          recipient: Recipient? = nil, claim: Digest32? = nil, revertAfter: Seconds? = nil,
                          expires: String? = nil, card: CardKeys? = nil) throws -> CreditID {
        let reply = try #require(issueGift(value, currency, purchaser: purchaser, recipient: recipient, claim: claim,
                                           revertAfter: revertAfter, expires: expires, card: card).appliedReply)
        return try #require(reply.value("credit").flatMap(CreditID.init))
    }

    /// STOCK of `count` inactive cards with fresh keys; returns the outcome and the keys.
    mutating func stock(_ count: Int, _ currency: String = "AUD", batch: String? = nil,
                        ref: String? = nil) -> (Execution, [CardKeys]) {
        let cards = (0..<count).map { _ in nextCard() }
        return (run(.stock(count: count, cards: cards, currency: currency, batch: batch), ref: ref), cards)
    }

    /// ACTIVATE a stock card by its number.
    @discardableResult
    mutating func activate(_ card: CardKeys, _ value: String, _ currency: String = "AUD", ref: String? = nil) -> Execution {
        run(.activate(cardDigest: card.cardDigest, amount: amount(value), currency: currency), ref: ref)
    }

    /// LOAD (top up) a card by its number.
    @discardableResult
    mutating func load(_ card: CardKeys, _ value: String, _ currency: String = "AUD", ref: String? = nil) -> Execution {
        run(.load(cardDigest: card.cardDigest, amount: amount(value), currency: currency), ref: ref)
    }

    /// REPLACE a credit's card with `keys` (fresh ones if nil).
    @discardableResult
    mutating func replace(_ credit: CreditID, with keys: CardKeys? = nil, ref: String? = nil) -> Execution {
        let card = keys ?? nextCard()
        return run(.replace(credit, card), ref: ref)
    }

    /// TRANSFER a credit, whole (nil) or split (`value`), optionally only if it belongs to `from`.
    @discardableResult
    mutating func transfer(_ credit: CreditID, to profile: String, _ value: String? = nil, from: String? = nil,
                           ref: String? = nil) -> Execution {
        run(.transfer(credit, to: ProfileID(profile)!, amount: value.map(amount), from: from.flatMap(ProfileID.init)), ref: ref)
    }

    /// CLAIM a card kept for an unknown recipient.
    @discardableResult
    mutating func claim(_ code: Digest32, for profile: String, ref: String? = nil) -> Execution {
        run(.claim(code: code, profile: ProfileID(profile)!), ref: ref)
    }

    /// REVERSE the request this client (or `client`) sent as `original`.
    @discardableResult
    mutating func reverse(_ original: String, ref: String? = nil, client: ClientID? = nil, at: Instant? = nil) -> Execution {
        run(.reverse(original: Ref(original)!), ref: ref, at: at, client: client)
    }

    /// UNLOCK a card's PIN lock.
    @discardableResult
    mutating func unlock(_ credit: CreditID, ref: String? = nil) -> Execution {
        run(.unlock(credit), ref: ref)
    }

    /// BALANCE by card number and PIN (the card's own PIN unless `pin` is given).
    @discardableResult
    mutating func balance(card: CardKeys, pin: Digest32? = nil, at: Instant? = nil) -> Execution {
        run(.balance(.card(cardDigest: card.cardDigest, pinDigest: pin ?? card.pinDigest)), at: at)
    }

    /// Expires due holds and credits at the harness's clock.
    mutating func sweep() -> Entry? {
        ledger.sweep(now: now)
    }

    /// Replaces the ledger by one restored from its state with `credit` added (or replaced): a stock
    /// card without a STOCK request, or a tampered record for the audit.
    mutating func restore(adding credit: Credit) {
        var state = ledger.canonicalState
        state.credits[credit.id] = credit
        state.lastCreditNumber = max(state.lastCreditNumber, credit.id.number)
        ledger = Ledger(policy: ledger.policy, state: state)
    }

    /// The credit's current record.
    func credit(_ id: CreditID) throws -> Credit {
        try #require(ledger.state.credits[id])
    }

    /// The hold's current record.
    func holdRecord(_ id: HoldID) throws -> Hold {
        try #require(ledger.state.holds[id])
    }
}

/// A claim code's digest for tests (the server keeps only the keyed digest of the code it made).
func claimCode(_ n: UInt64) -> Digest32 {
    Digest32(w0: n, w1: 0xC1A1, w2: 0, w3: 0)
}

extension Harness {
    /// The pending holds with a leg on credit `id`, as the holds table lists them, after checking
    /// that the credit counts as many.
    func pendingHolds(_ id: CreditID) throws -> [HoldID] {
        let listed = ledger.state.pendingHolds(of: id)
        #expect(try credit(id).pendingHoldCount == listed.count)
        return listed
    }
}

/// A copy of `credit` with some fields changed, as a tampered snapshot would hold it.
func tampered(_ credit: Credit, balance: MinorUnits? = nil, held: MinorUnits? = nil, pendingHoldCount: Int? = nil,
              history: [Activity]? = nil) -> Credit {
    Credit(id: credit.id, type: credit.type, currency: credit.currency, balance: balance ?? credit.balance,
           held: held ?? credit.held, status: credit.status, expires: credit.expires, profile: credit.profile,
           card: credit.card, marketing: credit.marketing, campaign: credit.campaign, purchaser: credit.purchaser,
           claim: credit.claim, revertAt: credit.revertAt, batch: credit.batch, pinFailures: credit.pinFailures,
           lockedUntil: credit.lockedUntil, pendingHoldCount: pendingHoldCount ?? credit.pendingHoldCount,
           history: history ?? credit.history)
}

/// An inactive stock gift card of `value` (as a snapshot would hold one), for tests that need one
/// without a STOCK request.
func stockCard(_ id: CreditID, _ value: Int64, currency: Currency = Fixture.aud, card: CardKeys,
               profile: ProfileID? = nil) -> Credit {
    Credit(id: id, type: .gift, currency: currency, balance: MinorUnits(value), held: .zero, status: .inactive,
           expires: nil, profile: profile, card: card, pendingHoldCount: 0,
           history: [Activity(seq: 1, at: Fixture.t0, kind: .stock, amount: MinorUnits(value),
                              balanceAfter: MinorUnits(value), hold: nil, ref: nil)])
}
