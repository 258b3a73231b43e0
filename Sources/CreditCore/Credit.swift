// Credits and holds: the ledger's records, and the activities that make up a credit's history.

/// Where a credit is in its life. A zero balance is not a state: a depleted credit stays active
/// and can be refunded onto.
public enum CreditStatus: String, Sendable, CaseIterable {
    /// Stock gift card not yet sold: no value, cannot be spent until ACTIVATE.
    case inactive
    /// Spendable.
    case active
    /// Temporarily blocked (e.g. a lost card); UNFREEZE makes it active again.
    case frozen
    /// Permanently closed; its remaining balance was written off.
    case cancelled
    /// Past its expiry date; its remaining balance expired (breakage).
    case expired
}

/// A gift card's identity as the ledger knows it: keyed digests and the last four digits only.
public struct CardKeys: Equatable, Sendable {
    /// HMAC of the card number under the server secret: how the card is looked up.
    public let cardDigest: Digest32
    /// HMAC of card number and PIN under the server secret: how the PIN is checked.
    public let pinDigest: Digest32
    /// The last four digits as a number (0...9999): two bytes instead of a string's sixteen.
    private let last4Value: UInt16
    /// The number's length in digits, 12...19.
    private let digitCount: UInt8

    /// The last four digits, for display and masked replies.
    public var last4: String {
        let digits = [last4Value / 1000, last4Value / 100 % 10, last4Value / 10 % 10, last4Value % 10]
        return String(decoding: digits.map { UInt8($0) + 48 }, as: UTF8.self)
    }

    /// How many digits the card number has (for masking as `************1234`).
    public var length: Int { Int(digitCount) }

    /// Makes card keys; `last4` must be four digits and `length` 12...19.
    public init(cardDigest: Digest32, pinDigest: Digest32, last4: String, length: Int) {
        // Checked and converted in one pass over the UTF-8 buffer: iterating `utf8` three times
        // cost more than the rest of decoding a card's keys from the journal.
        var last4 = last4
        let value: UInt16? = last4.withUTF8 { bytes in
            guard bytes.count == 4 else { return nil }
            var value: UInt16 = 0
            for byte in bytes {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + UInt16(byte - 48)
            }
            return value
        }
        precondition(value != nil, "last4 is 4 digits")
        precondition((12...19).contains(length), "card length 12...19")
        self.cardDigest = cardDigest
        self.pinDigest = pinDigest
        self.last4Value = value!
        self.digitCount = UInt8(length)
    }

    /// The number masked to its last four digits, e.g. `************1234`.
    public var masked: String { String(repeating: "*", count: length - 4) + last4 }
}

/// What happened to a credit, as shown by HISTORY.
public enum ActivityKind: String, Sendable, CaseIterable {
    /// The credit was created with its first value (for store credit: the return-funded part).
    case issue
    /// Marketing-funded incentive added at issue (store credit `bonus=`).
    case bonus
    /// Stock card created without value.
    case stock
    /// Value loaded onto a gift card (ACTIVATE or LOAD).
    case load
    /// Funds were reserved by a hold (balance unchanged, available reduced).
    case hold
    /// A hold was captured: the balance went down.
    case capture
    /// A hold was voided: its funds are available again.
    case void
    /// A hold reached its deadline unresolved: its funds are available again.
    case expire
    /// Value returned to the credit (a returned item paid with it).
    case refund
    /// The credit was frozen.
    case freeze
    /// The credit was unfrozen.
    case unfreeze
    /// The credit was cancelled; the remaining balance was written off.
    case cancel
    /// The credit expired; the remaining balance is breakage.
    case breakage
    /// The card got a new number and PIN; the old ones stopped working.
    case replace
    /// The credit moved to another profile (whole transfer or claim).
    case transfer
    /// Part of the balance was split off into a new gift credit for another profile.
    case split
    /// The new credit's value, split off another credit.
    case splitIn = "split_in"
    /// A smart gift card unused by its recipient went back to its purchaser.
    case revert
    /// A REVERSE undid an earlier request's effect on the balance.
    case reversal
    /// Too many wrong PINs in a row: the card is locked for the configured cooldown.
    case lock
    /// An admin unlocked the card.
    case unlock
}

/// One entry of a credit's history.
public struct Activity: Equatable, Sendable {
    /// When it happened.
    public let at: Instant
    /// The amount issued, held, captured, released or written off, in the credit's currency.
    public let amount: MinorUnits
    /// The credit's balance after it.
    public let balanceAfter: MinorUnits
    /// The client's ref of the request that caused it, if any.
    public let ref: Ref?
    /// The hold's number, 0 for none (8 bytes where an optional id takes 16).
    private let holdNumber: UInt64
    /// The sale amount and reason, which few activities have; nil when both are.
    private let note: ActivityNote?
    /// Position in the credit's history, from 1.
    public let seq: UInt32
    /// What happened.
    public let kind: ActivityKind

    /// The hold involved, if any.
    public var hold: HoldID? { holdNumber == 0 ? nil : HoldID(holdNumber) }
    /// For captures converted with an FX rate: the amount in the sale's currency, and its code.
    public var sale: SaleAmount? { note?.sale }
    /// Why (freeze, unfreeze, cancel), as the operator gave it.
    public var reason: String? { note?.reason }

    /// Makes an activity.
    public init(seq: UInt32, at: Instant, kind: ActivityKind, amount: MinorUnits, balanceAfter: MinorUnits,
                hold: HoldID?, ref: Ref?, sale: SaleAmount? = nil, reason: String? = nil) {
        precondition(hold.map { $0.number > 0 } ?? true, "hold numbers start at 1")
        self.seq = seq
        self.at = at
        self.kind = kind
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.holdNumber = hold?.number ?? 0
        self.ref = ref
        self.note = sale == nil && reason == nil ? nil : ActivityNote(sale: sale, reason: reason)
    }
}

/// The rarely set parts of an activity, kept out of line so the common activity stays 64 bytes.
final class ActivityNote: Equatable, Sendable {
    let sale: SaleAmount?
    let reason: String?

    init(sale: SaleAmount?, reason: String?) {
        self.sale = sale
        self.reason = reason
    }

    static func == (lhs: ActivityNote, rhs: ActivityNote) -> Bool {
        lhs === rhs || (lhs.sale == rhs.sale && lhs.reason == rhs.reason)
    }
}

/// An amount in a sale's currency, kept beside a converted activity so history shows both.
public struct SaleAmount: Equatable, Sendable {
    /// Minor units of the sale currency.
    public let amount: MinorUnits
    /// The sale currency's code.
    public let currency: String
    /// The rate used (source → sale).
    public let rate: Rate

    /// Makes a sale amount.
    public init(amount: MinorUnits, currency: String, rate: Rate) {
        self.amount = amount
        self.currency = currency
        self.rate = rate
    }
}

/// A credit: a stored value of one type in one currency.
public struct Credit: Equatable, Sendable {
    // Stored properties are laid out in declaration order: the two one-byte enums and the
    // two-byte count of pending holds fit in the 11-byte currency's padding, so a credit takes
    // 168 bytes (`aCreditStaysSmall` holds it there).
    /// Its id.
    public let id: CreditID
    /// The currency of its balance.
    public let currency: Currency
    /// Gift, store or promo.
    public let type: CreditType
    /// Its status.
    public internal(set) var status: CreditStatus
    /// The number of pending holds with a leg on it (`pendingHoldCount`).
    private var pendingHoldLegs: UInt16
    /// Value on the credit, including what pending holds reserve.
    public internal(set) var balance: MinorUnits
    /// Sum of the legs of pending holds on it.
    public internal(set) var held: MinorUnits
    /// Store credit: the part of the balance funded by marketing (`bonus=`), spent first.
    public internal(set) var marketing: MinorUnits
    /// The last day it can be used, if it expires.
    public let expires: CivilDate?
    /// The customer profile it belongs to (for an unclaimed gift card: its purchaser).
    public internal(set) var profile: ProfileID?
    /// For gift cards: the keyed digests of number and PIN (nil for a card-less gift credit).
    public internal(set) var card: CardKeys?
    /// Everything that happened to it, oldest first, packed (see `ActivityLog`).
    public internal(set) var activityLog: ActivityLog
    /// The fields below, which most credits never set; nil while all are unset.
    private var rare: CreditRareBox?

    /// Promo credit: the campaign that funded it.
    public var campaign: String? { rare?.fields.campaign }
    /// Gift card: who bought it, if known.
    public var purchaser: ProfileID? { rare?.fields.purchaser }
    /// Gift card for an unknown recipient: the keyed digest of its one-time claim code, until claimed.
    public internal(set) var claim: Digest32? {
        get { rare?.fields.claim }
        set { if newValue != claim { changeRare { $0.claim = newValue } } }
    }
    /// Smart gift card: when it reverts to the purchaser unless the recipient redeems some of it first.
    public internal(set) var revertAt: Instant? {
        get { rare?.fields.revertAt }
        set { if newValue != revertAt { changeRare { $0.revertAt = newValue } } }
    }
    /// Stock card: the batch it was printed in.
    public var batch: String? { rare?.fields.batch }
    /// Wrong PINs in a row since the last right one or the last lock.
    public internal(set) var pinFailures: Int {
        get { rare?.fields.pinFailures ?? 0 }
        set { if newValue != pinFailures { changeRare { $0.pinFailures = newValue } } }
    }
    /// While set and in the future, the card is locked against PIN use (CARD_LOCKED).
    public internal(set) var lockedUntil: Instant? {
        get { rare?.fields.lockedUntil }
        set { if newValue != lockedUntil { changeRare { $0.lockedUntil = newValue } } }
    }

    /// Changes the rare fields, boxing them anew (or dropping the box when all are unset).
    private mutating func changeRare(_ change: (inout CreditRareFields) -> Void) {
        var fields = rare?.fields ?? CreditRareFields()
        change(&fields)
        rare = fields == CreditRareFields() ? nil : CreditRareBox(fields)
    }

    /// Everything that happened to it, oldest first (decoded from `activityLog` on each read).
    public var history: [Activity] { activityLog.activities }

    /// Balance not reserved by pending holds: never negative.
    public var available: MinorUnits { balance - held }

    /// The number of pending holds with a leg on it (counted per leg, as the list of ids it
    /// replaces had an entry per leg; a hold's legs are on different credits). Which holds they
    /// are, the holds table tells (`LedgerState.pendingHolds(of:)`). A credit kept their ids in
    /// an array of its own, which placing a hold allocated and resolving it freed (5% of the
    /// instructions of replaying holds and captures), besides its 8 bytes in every credit.
    public var pendingHoldCount: Int { Int(pendingHoldLegs) }

    /// Counts a leg of a hold placed on it. The limit of holds per credit is far below 2¹⁶.
    mutating func addPendingHold() {
        precondition(pendingHoldLegs < UInt16.max, "fewer than 65,535 pending holds on a credit")
        pendingHoldLegs += 1
    }

    /// Uncounts a leg of a hold on it that resolved.
    mutating func removePendingHold() {
        precondition(pendingHoldLegs > 0, "a credit's resolved hold was pending on it")
        pendingHoldLegs -= 1
    }

    /// Makes a credit (the ledger on issue; decoders on restore).
    public init(id: CreditID, type: CreditType, currency: Currency, balance: MinorUnits, held: MinorUnits,
                status: CreditStatus, expires: CivilDate?, profile: ProfileID?, card: CardKeys?,
                marketing: MinorUnits = .zero, campaign: String? = nil, purchaser: ProfileID? = nil,
                claim: Digest32? = nil, revertAt: Instant? = nil, batch: String? = nil,
                pinFailures: Int = 0, lockedUntil: Instant? = nil,
                pendingHoldCount: Int, history: [Activity]) {
        self.init(id: id, type: type, currency: currency, balance: balance, held: held, status: status,
                  expires: expires, profile: profile, card: card, marketing: marketing, campaign: campaign,
                  purchaser: purchaser, claim: claim, revertAt: revertAt, batch: batch, pinFailures: pinFailures,
                  lockedUntil: lockedUntil, pendingHoldCount: pendingHoldCount, activityLog: ActivityLog(history))
    }

    /// Makes a credit with its history already packed.
    public init(id: CreditID, type: CreditType, currency: Currency, balance: MinorUnits, held: MinorUnits,
                status: CreditStatus, expires: CivilDate?, profile: ProfileID?, card: CardKeys?,
                marketing: MinorUnits = .zero, campaign: String? = nil, purchaser: ProfileID? = nil,
                claim: Digest32? = nil, revertAt: Instant? = nil, batch: String? = nil,
                pinFailures: Int = 0, lockedUntil: Instant? = nil,
                pendingHoldCount: Int, activityLog: ActivityLog) {
        self.id = id
        self.type = type
        self.currency = currency
        self.balance = balance
        self.held = held
        self.status = status
        self.expires = expires
        self.profile = profile
        self.card = card
        self.marketing = marketing
        precondition((0...Int(UInt16.max)).contains(pendingHoldCount), "a credit's pending holds fit its count")
        self.pendingHoldLegs = UInt16(pendingHoldCount)
        self.activityLog = activityLog
        let rare = CreditRareFields(campaign: campaign, purchaser: purchaser, claim: claim, revertAt: revertAt,
                                    batch: batch, pinFailures: pinFailures, lockedUntil: lockedUntil)
        self.rare = rare == CreditRareFields() ? nil : CreditRareBox(rare)
    }
}

/// A credit's fields that most credits never set: a promo campaign, a gift card's purchaser,
/// claim code, revert time, stock batch and wrong-PIN state. Kept out of line, they cost a credit
/// one reference (8 bytes) instead of about 120.
struct CreditRareFields: Equatable, Sendable {
    var campaign: String?
    var purchaser: ProfileID?
    var claim: Digest32?
    var revertAt: Instant?
    var batch: String?
    var pinFailures = 0
    var lockedUntil: Instant?
}

/// An immutable box for a credit's rare fields; a change makes a new box, so credits stay values.
final class CreditRareBox: Equatable, Sendable {
    let fields: CreditRareFields

    init(_ fields: CreditRareFields) {
        self.fields = fields
    }

    static func == (lhs: CreditRareBox, rhs: CreditRareBox) -> Bool { lhs === rhs || lhs.fields == rhs.fields }
}

/// Where a hold is in its life. A hold resolves exactly once.
public enum HoldState: String, Sendable {
    /// Funds reserved; may be captured or voided until its deadline.
    case pending
    /// Captured (all or part); the rest was released.
    case captured
    /// Voided: all released.
    case voided
    /// Reached its deadline while pending: all released.
    case expired
}

/// One credit's part of a hold.
public struct HoldLeg: Equatable, Sendable {
    /// The credit the funds are reserved on.
    public let credit: CreditID
    /// Reserved on the credit, in its currency.
    public let amount: MinorUnits
    /// What this leg covers of the sale, in the sale's currency (equal to `amount` without FX).
    public let covers: MinorUnits
    /// The FX rate (credit currency → sale currency) used, fixed for the hold's life.
    public let rate: Rate?

    /// Makes a leg.
    public init(credit: CreditID, amount: MinorUnits, covers: MinorUnits, rate: Rate?) {
        self.credit = credit
        self.amount = amount
        self.covers = covers
        self.rate = rate
    }
}
