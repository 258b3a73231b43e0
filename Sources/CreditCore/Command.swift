// Commands: what a client asks of the ledger, already parsed into typed values.

/// How a request names a credit.
public enum CreditSelector: Sendable {
    /// By credit id (staff and back-office use).
    case credit(CreditID)
    /// By gift card number and PIN, given as their keyed digests.
    case card(cardDigest: Digest32, pinDigest: Digest32)
}

/// ISSUE: create a credit with its first value.
public struct IssueCommand: Sendable {
    /// Gift, store or promo.
    public var type: CreditType
    /// The value, in major units as written.
    public var amount: DecimalAmount
    /// The currency code as written.
    public var currency: String
    /// Owner profile; required for store and promo credits.
    public var profile: ProfileID?
    /// Last day of use, if the credit expires.
    public var expires: CivilDate?
    /// For gift cards: the new card's keys (number and PIN are made by the server, never here).
    public var card: CardKeys?

    /// Makes an ISSUE command.
    public init(type: CreditType, amount: DecimalAmount, currency: String, profile: ProfileID?,
                expires: CivilDate?, card: CardKeys?) {
        self.type = type
        self.amount = amount
        self.currency = currency
        self.profile = profile
        self.expires = expires
        self.card = card
    }
}

/// HOLD: reserve funds on one credit.
public struct HoldCommand: Sendable {
    /// Which credit.
    public var selector: CreditSelector
    /// How much, in major units as written.
    public var amount: DecimalAmount
    /// The sale's currency code as written.
    public var currency: String
    /// Time to live; nil takes the configured default.
    public var ttl: Seconds?
    /// With `partial`, reserve what is available (if any) instead of refusing.
    public var partial: Bool

    /// Makes a HOLD command.
    public init(selector: CreditSelector, amount: DecimalAmount, currency: String, ttl: Seconds?, partial: Bool) {
        self.selector = selector
        self.amount = amount
        self.currency = currency
        self.ttl = ttl
        self.partial = partial
    }
}

/// A request to the ledger.
public enum Command: Sendable {
    /// Create a credit.
    case issue(IssueCommand)
    /// Show a credit's balance.
    case balance(CreditSelector)
    /// Reserve funds.
    case hold(HoldCommand)
    /// Take all (nil) or part of a hold.
    case capture(HoldID, amount: DecimalAmount?)
    /// Release a hold.
    case void(HoldID)
    /// Show a credit's latest activities, at most `limit`.
    case history(CreditID, limit: Int)

    /// True for commands that change state and so must carry a ref.
    public var isMutating: Bool {
        switch self {
        case .issue, .hold, .capture, .void: return true
        case .balance, .history: return false
        }
    }
}

/// Who asked, when, and under which ref: everything about a request that is not its arguments.
public struct RequestContext: Sendable {
    /// The time of the request (the engine's clock, never earlier than the last journaled entry).
    public var now: Instant
    /// The authenticated client key.
    public var client: ClientID
    /// The idempotency ref; required for mutating commands.
    public var ref: Ref?
    /// A keyed digest of the request's canonical arguments, to tell a replay from a conflict.
    public var fingerprint: Digest32

    /// Makes a context.
    public init(now: Instant, client: ClientID, ref: Ref?, fingerprint: Digest32) {
        self.now = now
        self.client = client
        self.ref = ref
        self.fingerprint = fingerprint
    }
}
