// Credits and holds: the ledger's records, and the activities that make up a credit's history.

/// Where a credit is in its life.
public enum CreditStatus: String, Sendable {
    /// Spendable.
    case active
}

/// A gift card's identity as the ledger knows it: keyed digests and the last four digits only.
public struct CardKeys: Equatable, Sendable {
    /// HMAC of the card number under the server secret: how the card is looked up.
    public let cardDigest: Digest32
    /// HMAC of card number and PIN under the server secret: how the PIN is checked.
    public let pinDigest: Digest32
    /// The last four digits, for display and masked replies.
    public let last4: String
    /// How many digits the card number has (for masking as `************1234`).
    public let length: Int

    /// Makes card keys; `last4` must be four digits and `length` 12...19.
    public init(cardDigest: Digest32, pinDigest: Digest32, last4: String, length: Int) {
        precondition(last4.utf8.count == 4 && last4.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }, "last4 is 4 digits")
        precondition((12...19).contains(length), "card length 12...19")
        self.cardDigest = cardDigest
        self.pinDigest = pinDigest
        self.last4 = last4
        self.length = length
    }

    /// The number masked to its last four digits, e.g. `************1234`.
    public var masked: String { String(repeating: "*", count: length - 4) + last4 }
}

/// What happened to a credit, as shown by HISTORY.
public enum ActivityKind: String, Sendable {
    /// The credit was created with its first value.
    case issue
    /// Funds were reserved by a hold (balance unchanged, available reduced).
    case hold
    /// A hold was captured: the balance went down.
    case capture
    /// A hold was voided: its funds are available again.
    case void
    /// A hold reached its deadline unresolved: its funds are available again.
    case expire
}

/// One entry of a credit's history.
public struct Activity: Equatable, Sendable {
    /// Position in the credit's history, from 1.
    public let seq: UInt32
    /// When it happened.
    public let at: Instant
    /// What happened.
    public let kind: ActivityKind
    /// The amount issued, held, captured or released.
    public let amount: MinorUnits
    /// The credit's balance after it.
    public let balanceAfter: MinorUnits
    /// The hold involved, if any.
    public let hold: HoldID?
    /// The client's ref of the request that caused it, if any.
    public let ref: Ref?

    /// Makes an activity (decoders; the ledger makes its own).
    public init(seq: UInt32, at: Instant, kind: ActivityKind, amount: MinorUnits, balanceAfter: MinorUnits,
                hold: HoldID?, ref: Ref?) {
        self.seq = seq
        self.at = at
        self.kind = kind
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.hold = hold
        self.ref = ref
    }
}

/// A credit: a stored value of one type in one currency.
public struct Credit: Equatable, Sendable {
    /// Its id.
    public let id: CreditID
    /// Gift, store or promo.
    public let type: CreditType
    /// The currency of its balance.
    public let currency: Currency
    /// Value on the credit, including what pending holds reserve.
    public internal(set) var balance: MinorUnits
    /// Sum of its pending holds.
    public internal(set) var held: MinorUnits
    /// Its status.
    public internal(set) var status: CreditStatus
    /// The last day it can be used, if it expires.
    public let expires: CivilDate?
    /// The customer profile it belongs to, if any.
    public let profile: ProfileID?
    /// For gift cards: the keyed digests of number and PIN.
    public let card: CardKeys?
    /// Its pending holds, in the order they were placed.
    public internal(set) var pendingHolds: [HoldID]
    /// Everything that happened to it, oldest first.
    public internal(set) var history: [Activity]

    /// Balance not reserved by pending holds: never negative.
    public var available: MinorUnits { balance - held }

    /// Makes a credit (decoders; the ledger makes its own).
    public init(id: CreditID, type: CreditType, currency: Currency, balance: MinorUnits, held: MinorUnits,
                status: CreditStatus, expires: CivilDate?, profile: ProfileID?, card: CardKeys?,
                pendingHolds: [HoldID], history: [Activity]) {
        self.id = id
        self.type = type
        self.currency = currency
        self.balance = balance
        self.held = held
        self.status = status
        self.expires = expires
        self.profile = profile
        self.card = card
        self.pendingHolds = pendingHolds
        self.history = history
    }
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

/// A reservation of funds on one credit.
public struct Hold: Equatable, Sendable {
    /// Its id.
    public let id: HoldID
    /// The credit it reserves funds on.
    public let credit: CreditID
    /// The amount reserved.
    public let amount: MinorUnits
    /// The amount the till asked for (more than `amount` after a partial hold).
    public let requested: MinorUnits
    /// When it expires if still pending: a pending hold is expired at and after this instant.
    public let deadline: Instant
    /// Its state.
    public internal(set) var state: HoldState
    /// What a capture took (zero unless captured).
    public internal(set) var captured: MinorUnits

    /// Makes a hold (decoders; the ledger makes its own).
    public init(id: HoldID, credit: CreditID, amount: MinorUnits, requested: MinorUnits, deadline: Instant,
                state: HoldState, captured: MinorUnits) {
        self.id = id
        self.credit = credit
        self.amount = amount
        self.requested = requested
        self.deadline = deadline
        self.state = state
        self.captured = captured
    }
}
