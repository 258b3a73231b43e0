// Entries: the unit of the journal. Each is applied whole, live and on replay, by the same code.

/// The data of a newly issued credit.
public struct IssuedCredit: Equatable, Sendable {
    /// The new credit's id.
    public let credit: CreditID
    /// Its type.
    public let type: CreditType
    /// Its currency code (must be in the currency table).
    public let currency: String
    /// Its first value.
    public let amount: MinorUnits
    /// Its expiry date, if any.
    public let expires: CivilDate?
    /// Its profile, if any.
    public let profile: ProfileID?
    /// For gift cards, its card keys.
    public let card: CardKeys?

    /// Makes the data of an issue event.
    public init(credit: CreditID, type: CreditType, currency: String, amount: MinorUnits,
                expires: CivilDate?, profile: ProfileID?, card: CardKeys?) {
        self.credit = credit
        self.type = type
        self.currency = currency
        self.amount = amount
        self.expires = expires
        self.profile = profile
        self.card = card
    }
}

/// The data of a new hold.
public struct PlacedHold: Equatable, Sendable {
    /// The new hold's id.
    public let hold: HoldID
    /// The credit it reserves on.
    public let credit: CreditID
    /// The amount reserved.
    public let amount: MinorUnits
    /// The amount asked for.
    public let requested: MinorUnits
    /// When it expires if unresolved.
    public let deadline: Instant

    /// Makes the data of a hold event.
    public init(hold: HoldID, credit: CreditID, amount: MinorUnits, requested: MinorUnits, deadline: Instant) {
        self.hold = hold
        self.credit = credit
        self.amount = amount
        self.requested = requested
        self.deadline = deadline
    }
}

/// One state change.
public enum Event: Equatable, Sendable {
    /// A credit was created.
    case issued(IssuedCredit)
    /// Funds were reserved.
    case held(PlacedHold)
    /// A pending hold was captured for `amount` (≤ its amount); the rest was released.
    case captured(HoldID, amount: MinorUnits)
    /// A pending hold was voided.
    case voided(HoldID)
    /// A pending hold reached its deadline.
    case expired(HoldID)
}

/// What the ledger remembers of a successful mutating request, so that a retry with the same
/// client and ref gets the same reply and no second effect.
public struct IdempotencyRecord: Equatable, Sendable {
    /// The client key that sent it.
    public let client: ClientID
    /// The client's ref.
    public let ref: Ref
    /// Keyed digest of the request's canonical arguments.
    public let fingerprint: Digest32
    /// The reply a retry gets. For a gift card ISSUE the card number is masked and the PIN
    /// absent: they are shown once and never stored.
    public let reply: Reply

    /// Makes a record.
    public init(client: ClientID, ref: Ref, fingerprint: Digest32, reply: Reply) {
        self.client = client
        self.ref = ref
        self.fingerprint = fingerprint
        self.reply = reply
    }
}

/// A journal entry: the events of one request (or one expiry sweep), applied all or nothing.
public struct Entry: Equatable, Sendable {
    /// When it happened; entries' instants never decrease.
    public let at: Instant
    /// The request's idempotency record, if it came from a client request.
    public let idempotency: IdempotencyRecord?
    /// The state changes, in order.
    public let events: [Event]

    /// Makes an entry.
    public init(at: Instant, idempotency: IdempotencyRecord?, events: [Event]) {
        self.at = at
        self.idempotency = idempotency
        self.events = events
    }
}
