// A scripted session against a real ledger, the way the engine drives it, minus secrets and I/O:
// request lines are parsed and built into commands by the real protocol code; card numbers,
// PINs and claim codes are deterministic stand-ins hashed with FNV instead of HMAC.

import CreditCore
import CreditJournal
import CreditProtocol
import FuzzSupport

struct SeedSession {
    /// Every journal entry the session caused, in order.
    private(set) var entries: [Entry] = []
    /// Snapshot bodies: empty, early (three credits) and final.
    private(set) var snapshots: [[UInt8]] = []
    /// The request lines sent.
    private(set) var transcript: [String] = []
    /// Requests the ledger or the table refused (expected ones are part of the script).
    private(set) var refusals: [String] = []

    private var ledger: Ledger
    /// 2026-11-26T14:30:00Z, moved on one second per request.
    private var now = Instant(millis: 1_795_703_400_000)
    /// Cards handed out so far, to make the next number.
    private var cardsMade = 0

    init() {
        let rates = try! RateTable.parse("AUD NZD 1.0825\nNZD AUD 0.9238\nAUD JPY 97.5\n", currencies: fuzzCurrencies)
        ledger = Ledger(policy: LedgerPolicy(currencies: fuzzCurrencies, rates: rates))
    }

    /// The card number the n-th card made gets (1-based), and its PIN.
    static func card(_ n: Int) -> (number: String, pin: String) {
        (String(6_000_000_000_000_000 + n), String(100_000 + n))
    }

    mutating func run() {
        snapshots.append(SnapshotCodec.encode(ledger.canonicalState))
        let card1 = Self.card(1)
        send("ISSUE type=gift amount=50 currency=AUD ref=s-1")
        send("ISSUE type=store amount=100.00 bonus=10.00 currency=AUD profile=ana ref=s-2")
        send("ISSUE type=promo amount=20 currency=AUD profile=ana campaign=xmas26 expires=2026-11-27 ref=s-3")
        snapshots.append(SnapshotCodec.encode(ledger.canonicalState))
        send("ISSUE type=store amount=30 currency=NZD profile=ana ref=s-4")
        send("ISSUE type=gift amount=2.125 currency=KWD purchaser=ben recipient=unknown ref=s-5")
        send("ISSUE type=gift amount=30 currency=NZD purchaser=ben recipient=cara revert_after=1d ref=s-6")
        send("ISSUE type=gift amount=1000 currency=JPY ref=s-7")
        send("STOCK count=2 currency=AUD batch=xmas26 ref=s-8")
        let stock1 = Self.card(5)  // cards 2-4 went to cr_5, cr_6 and cr_7
        send("ACTIVATE card=\(stock1.number) amount=25 currency=AUD ref=s-9")
        send("LOAD card=\(card1.number) amount=10 currency=AUD ref=s-10")
        send("BALANCE card=\(card1.number) pin=000000")
        send("BALANCE card=\(card1.number) pin=\(card1.pin)")
        send("BALANCE card=9999000011112222 pin=1234")
        send("#t1 HOLD card=\(card1.number) pin=\(card1.pin) amount=20 currency=AUD ref=s-11")
        send("CAPTURE hold=hd_1 amount=7.5 ref=s-12")
        send("HOLD profile=ana amount=150 currency=AUD partial=yes ref=s-13")
        send("VOID hold=hd_2 ref=s-14")
        send("HOLD credit=cr_4 amount=10 currency=AUD ttl=30s ref=s-15")
        send("HOLD credit=cr_7 amount=100 currency=JPY ttl=30s ref=s-15b")
        send("REFUND credit=cr_2 amount=5 currency=AUD ref=s-16")
        send("FREEZE credit=cr_7 reason=\"reported lost\" ref=s-17")
        send("UNFREEZE credit=cr_7 reason=found ref=s-18")
        send("CANCEL credit=cr_9 reason=damaged ref=s-19")
        send("REPLACE credit=cr_1 ref=s-20")
        send("CLAIM code=CLAIM-5 profile=dan ref=s-21")
        send("TRANSFER credit=cr_8 to=erin amount=5 ref=s-22")
        send("TRANSFER credit=cr_1 to=frank ref=s-23")
        send("REVERSE original=s-16 ref=s-24")
        send("REVERSE original=s-99 ref=s-25")
        for _ in 0..<3 { send("BALANCE card=\(stock1.number) pin=000000") }
        send("UNLOCK credit=cr_8 ref=s-26")
        send("BALANCE card=\(Self.card(7).number) pin=\(Self.card(7).pin)")
        send("ISSUE type=gift amount=50 currency=AUD ref=s-1")
        now = Instant(millis: now.millis + 2 * 86_400_000)
        sweep()
        snapshots.append(SnapshotCodec.encode(ledger.canonicalState))
    }

    /// One request, as the engine handles it: parse, table, sweep, mint, execute, journal.
    private mutating func send(_ line: String) {
        transcript.append(line)
        now = Instant(millis: now.millis + 1000)
        guard case .success(let request) = RequestParser.parse(Array(line.utf8)),
              let spec = CommandTable.spec(request.verb) else { return refusals.append(line + " (parse)") }
        guard case .success(.ledger(let parsed, let ref)) = CommandTable.action(for: request, spec: spec, cards: seedDigests)
        else { return refusals.append(line + " (table)") }
        sweep()
        let command = mint(parsed)
        let context = RequestContext(now: now, client: ClientID("dev-admin"), ref: ref,
                                     fingerprint: seedDigest("request", CommandTable.canonicalBytes(request)))
        switch ledger.execute(command, context: context) {
        case .applied(let entry, _): entries.append(entry)
        case .read(_, let entry?): entries.append(entry)
        case .read(_, nil), .replayed: break
        case .refused(let error): refusals.append("\(line): \(error.code.rawValue) \(error.message)")
        case .refusedRecorded(let error, let entry):
            entries.append(entry)
            refusals.append("\(line): \(error.code.rawValue) \(error.message) (recorded)")
        }
    }

    private mutating func sweep() {
        while let entry = ledger.sweep(now: now) { entries.append(entry) }
    }

    /// Fills in the secrets the server's minter would: card keys, and a claim code `CLAIM-<credit>`.
    private mutating func mint(_ command: Command) -> Command {
        switch command {
        case .issue(var issue) where issue.type == .gift:
            issue.card = makeCardKeys()
            if issue.recipient == .unknown {
                issue.claim = seedDigest("claim", Array("CLAIM-\(ledger.state.lastCreditNumber + 1)".utf8))
            }
            return .issue(issue)
        case .stock(let count, _, let currency, let batch):
            return .stock(count: count, cards: (0..<count).map { _ in makeCardKeys() }, currency: currency, batch: batch)
        case .replace(let id, _):
            return .replace(id, makeCardKeys())
        default:
            return command
        }
    }

    private mutating func makeCardKeys() -> CardKeys {
        cardsMade += 1
        let card = Self.card(cardsMade)
        return CardKeys(cardDigest: seedDigest("card", Array(card.number.utf8)),
                        pinDigest: seedDigest("pin", Array((card.number + ":" + card.pin).utf8)),
                        last4: String(card.number.suffix(4)), length: card.number.utf8.count)
    }
}

/// The session's stand-in for the server's keyed hashes.
let seedDigests = Digests(
    card: { card, pin in
        .card(cardDigest: seedDigest("card", Array(card.utf8)), pinDigest: seedDigest("pin", Array((card + ":" + pin).utf8)))
    },
    cardNumber: { seedDigest("card", Array($0.utf8)) },
    claimCode: { seedDigest("claim", Array($0.uppercased().utf8)) })

/// Four FNV-1a hashes of `domain:bytes` with different offsets: distinct inputs, distinct digests.
func seedDigest(_ domain: String, _ bytes: [UInt8]) -> Digest32 {
    func fnv(_ basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in Array(domain.utf8) + [0x3A] + bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
    return Digest32(w0: fnv(0xCBF2_9CE4_8422_2325), w1: fnv(1), w2: fnv(2), w3: fnv(3))
}
