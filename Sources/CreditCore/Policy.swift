// Ledger policy: the configured rules and limits the ledger enforces.

/// What decides the order in which a profile's credits cover a sale.
public enum TenderKey: String, Sendable, CaseIterable {
    /// Soonest expiry first; credits that expire before those that never do.
    case expiry
    /// By type, in `TenderOrder.types` order.
    case type
    /// Smallest available balance first.
    case balance
}

/// The order a profile tender (`HOLD profile=`) uses its credits in. Ties after every key are
/// broken by credit id, so a plan is always the same for the same state.
public struct TenderOrder: Sendable, Equatable {
    /// The keys, most significant first.
    public var keys: [TenderKey]
    /// The type order for the `type` key.
    public var types: [CreditType]

    /// The default: soonest expiry, then promo before store before gift, then smallest balance.
    public static let standard = TenderOrder(keys: [.expiry, .type, .balance], types: [.promo, .store, .gift])

    /// Makes an order.
    public init(keys: [TenderKey], types: [CreditType]) {
        self.keys = keys
        self.types = types
    }
}

/// What REFUND does when the credit it names is cancelled or expired.
public enum RefundOntoClosed: String, Sendable {
    /// Refuse with CREDIT_CANCELLED / CREDIT_EXPIRED.
    case refuse
    /// Issue new store credit to the credit's profile instead (refused if it has no profile).
    case storeCredit = "store_credit"
}

/// The rules the ledger applies that come from configuration rather than from code.
public struct LedgerPolicy: Sendable {
    /// Accepted currencies, with their digits and balance ceilings.
    public var currencies: CurrencyTable
    /// TTL of a hold that does not give one.
    public var holdTTLDefault: Seconds
    /// Longest TTL a hold may ask for.
    public var holdTTLMax: Seconds
    /// How long a ref is remembered for idempotent replay.
    public var refWindow: Seconds
    /// Pending holds one credit may have at once: bounds the work and memory one card can cost,
    /// and no real till needs more than a handful.
    public var holdsPerCreditMax: Int
    /// FX rates for converting credits to a sale's currency.
    public var rates: RateTable
    /// The tax class of each credit type, reported per leg so the POS/ERP can account for GST.
    public var taxClasses: [CreditType: String]
    /// The order a profile's credits cover a sale in.
    public var tenderOrder: TenderOrder
    /// What REFUND does onto a cancelled or expired credit.
    public var refundOntoClosed: RefundOntoClosed
    /// Wrong PINs in a row that lock a card.
    public var pinAttemptsMax: Int
    /// How long a locked card stays locked.
    public var pinLockout: Seconds
    /// Most decoy locks kept (see `decoysMaxDefault`). Not configurable: replay must prune as the
    /// live ledger did, so only tests change it.
    public var decoysMax = LedgerPolicy.decoysMaxDefault

    /// Largest `limit=` a HISTORY request may ask for: bounds one reply's size.
    public static let historyLimitMax = 1000
    /// HISTORY's `limit` when none is given.
    public static let historyLimitDefault = 100
    /// Most legs one hold may have: bounds a reply and a journal record; a sale covered by more
    /// than this many credits is not a real sale.
    public static let legsMax = 32
    /// Default tax classes: gift cards and store credit are tenders (GST is on the goods); promo
    /// credit is a marketing discount-like tender whose treatment the retailer configures.
    public static let taxClassDefaults: [CreditType: String] = [.gift: "tender", .store: "tender", .promo: "promo"]

    /// Makes a policy.
    public init(currencies: CurrencyTable, holdTTLDefault: Seconds = Seconds(900),
                holdTTLMax: Seconds = Seconds(7 * 86_400), refWindow: Seconds = Seconds(7 * 86_400),
                holdsPerCreditMax: Int = 256, rates: RateTable = RateTable(),
                taxClasses: [CreditType: String] = LedgerPolicy.taxClassDefaults,
                tenderOrder: TenderOrder = .standard, refundOntoClosed: RefundOntoClosed = .refuse,
                pinAttemptsMax: Int = 3, pinLockout: Seconds = Seconds(900)) {
        precondition(pinAttemptsMax > 0 && pinLockout.value > 0, "PIN lockout limits are positive")
        precondition(holdTTLDefault.value > 0 && holdTTLDefault <= holdTTLMax, "default TTL within 1s...max")
        precondition(refWindow.value > 0 && holdsPerCreditMax > 0, "positive limits")
        // A credit counts its pending holds in 16 bits (`Credit.pendingHoldCount`).
        precondition(holdsPerCreditMax <= Int(UInt16.max), "at most 65,535 pending holds on a credit")
        self.currencies = currencies
        self.holdTTLDefault = holdTTLDefault
        self.holdTTLMax = holdTTLMax
        self.refWindow = refWindow
        self.holdsPerCreditMax = holdsPerCreditMax
        self.rates = rates
        self.taxClasses = taxClasses
        self.tenderOrder = tenderOrder
        self.refundOntoClosed = refundOntoClosed
        self.pinAttemptsMax = pinAttemptsMax
        self.pinLockout = pinLockout
    }

    /// The tax class of a credit type.
    public func taxClass(_ type: CreditType) -> String { taxClasses[type] ?? "tender" }
}
