// Commands: what a client asks of the ledger, already parsed into typed values.

/// How a request names the credit(s) to spend.
public enum CreditSelector: Sendable {
    /// By credit id (staff and back-office use).
    case credit(CreditID)
    /// By gift card number and PIN, given as their keyed digests.
    case card(cardDigest: Digest32, pinDigest: Digest32)
    /// Every usable credit of a customer profile, in tender order.
    case profile(ProfileID)
}

/// ISSUE: create a credit with its first value.
public struct IssueCommand: Sendable {
    /// Gift, store or promo.
    public var type: CreditType
    /// The value, in major units as written (store credit: the return-funded part).
    public var amount: DecimalAmount
    /// Store credit only: a marketing-funded incentive on top of `amount`.
    public var bonus: DecimalAmount?
    /// The currency code as written.
    public var currency: String
    /// Owner profile; required for store and promo credits.
    public var profile: ProfileID?
    /// Promo credit only (and required there): the campaign that funds it.
    public var campaign: String?
    /// Last day of use, if the credit expires.
    public var expires: CivilDate?
    /// For gift cards: the new card's keys (number and PIN are made by the server, never here).
    public var card: CardKeys?
    /// Gift card: who bought it.
    public var purchaser: ProfileID?
    /// Gift card: who it is for; `.unknown` keeps it against the purchaser until claimed.
    public var recipient: Recipient?
    /// Smart gift card: revert to the purchaser if the recipient redeems nothing within this.
    public var revertAfter: Seconds?
    /// For an unknown recipient: the digest of the claim code the server made.
    public var claim: Digest32?

    /// Makes an ISSUE command.
    public init(type: CreditType, amount: DecimalAmount, bonus: DecimalAmount? = nil, currency: String,
                profile: ProfileID?, campaign: String? = nil, expires: CivilDate?, card: CardKeys?,
                purchaser: ProfileID? = nil, recipient: Recipient? = nil, revertAfter: Seconds? = nil) {
        self.type = type
        self.amount = amount
        self.bonus = bonus
        self.currency = currency
        self.profile = profile
        self.campaign = campaign
        self.expires = expires
        self.card = card
        self.purchaser = purchaser
        self.recipient = recipient
        self.revertAfter = revertAfter
    }
}

/// Who a gift card is for.
public enum Recipient: Sendable, Equatable {
    /// A known profile.
    case profile(ProfileID)
    /// Someone without a profile yet: they claim it with a one-time code.
    case unknown
}

/// Which report to make.
public enum ReportKind: Sendable, Equatable {
    /// Outstanding balance and held amounts per type and currency, optionally one currency.
    case liability(currency: String?)
    /// Activity totals per type and currency for days `from` through `to` (UTC).
    case activity(from: CivilDate, to: CivilDate)
}

/// HOLD (and QUOTE): reserve funds for a sale on one credit or across a profile's credits.
public struct HoldCommand: Sendable {
    /// Which credit(s).
    public var selector: CreditSelector
    /// How much, in major units of the sale currency as written.
    public var amount: DecimalAmount
    /// The sale's currency code as written.
    public var currency: String
    /// Time to live; nil takes the configured default.
    public var ttl: Seconds?
    /// With `partial`, reserve what the credits can cover (if anything) instead of refusing.
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

/// FREEZE, UNFREEZE and CANCEL: status changes made by staff.
public enum StatusChange: String, Sendable {
    case freeze, unfreeze, cancel
}

/// A request to the ledger.
public enum Command: Sendable {
    /// Create a credit. Boxed: an `IssueCommand` is 265 bytes, the next largest case 114, and a
    /// command is moved several times on its way through a request.
    indirect case issue(IssueCommand)
    /// Show a credit's balance.
    case balance(CreditSelector)
    /// Reserve funds.
    case hold(HoldCommand)
    /// Show the plan a HOLD with these arguments would make, without holding anything.
    case quote(HoldCommand)
    /// Take all (nil) or part of a hold, in its sale currency.
    case capture(HoldID, amount: DecimalAmount?)
    /// Release a hold.
    case void(HoldID)
    /// Show a credit's latest activities, at most `limit`.
    case history(CreditID, limit: Int)
    /// List a profile's credits.
    case credits(ProfileID)
    /// List the configured FX rates.
    case rates
    /// Return value to a credit, in its currency.
    case refund(CreditID, amount: DecimalAmount, currency: String)
    /// Freeze, unfreeze or cancel a credit.
    case changeStatus(CreditID, StatusChange, reason: String)
    /// Create `count` inactive stock gift cards in one currency and batch; the server fills in
    /// `cards` (one new card's keys each) before executing.
    case stock(count: Int, cards: [CardKeys], currency: String, batch: String?)
    /// Load value onto a stock card and make it active.
    case activate(cardDigest: Digest32, amount: DecimalAmount, currency: String)
    /// Top up an active gift card.
    case load(cardDigest: Digest32, amount: DecimalAmount, currency: String)
    /// Give a gift card a new number and PIN; the server fills in the new keys before executing.
    case replace(CreditID, CardKeys?)
    /// Move a gift credit to another profile, whole or (with `amount`) split; with `from`, only if
    /// the credit belongs to that profile (self-service acts within its own profile).
    case transfer(CreditID, to: ProfileID, amount: DecimalAmount?, from: ProfileID?)
    /// Claim a gift card kept for an unknown recipient, by its code's digest.
    case claim(code: Digest32, profile: ProfileID)
    /// Undo what the request with ref `original` (same client) did.
    case reverse(original: Ref)
    /// A finance report.
    case report(ReportKind)
    /// Lift a card's PIN lock and clear its wrong-PIN count.
    case unlock(CreditID)

    /// The card selector, for commands that name a card by number and PIN.
    var cardSelector: (cardDigest: Digest32, pinDigest: Digest32)? {
        switch self {
        case .balance(.card(let card, let pin)): return (card, pin)
        case .hold(let hold), .quote(let hold):
            if case .card(let card, let pin) = hold.selector { return (card, pin) }
            return nil
        default: return nil
        }
    }

    /// True for commands that change state and so must carry a ref.
    public var isMutating: Bool {
        switch self {
        case .issue, .hold, .capture, .void, .refund, .changeStatus, .stock, .activate, .load, .replace, .transfer,
             .claim, .reverse, .unlock:
            return true
        case .balance, .quote, .history, .credits, .rates, .report:
            return false
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
    /// The ref index's hash of `client` and `ref`, if the caller has it (`Ledger.prefetchRef`).
    public var refHash: UInt64?

    /// Makes a context.
    public init(now: Instant, client: ClientID, ref: Ref?, fingerprint: Digest32, refHash: UInt64? = nil) {
        self.now = now
        self.client = client
        self.ref = ref
        self.fingerprint = fingerprint
        self.refHash = refHash
    }
}
