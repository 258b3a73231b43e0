// Ledger policy: the configured rules and limits the ledger enforces.

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

    /// Largest `limit=` a HISTORY request may ask for: bounds one reply's size.
    public static let historyLimitMax = 1000
    /// HISTORY's `limit` when none is given.
    public static let historyLimitDefault = 100

    /// Makes a policy.
    public init(currencies: CurrencyTable, holdTTLDefault: Seconds = Seconds(900),
                holdTTLMax: Seconds = Seconds(7 * 86_400), refWindow: Seconds = Seconds(7 * 86_400),
                holdsPerCreditMax: Int = 256) {
        precondition(holdTTLDefault.value > 0 && holdTTLDefault <= holdTTLMax, "default TTL within 1s...max")
        precondition(refWindow.value > 0 && holdsPerCreditMax > 0, "positive limits")
        self.currencies = currencies
        self.holdTTLDefault = holdTTLDefault
        self.holdTTLMax = holdTTLMax
        self.refWindow = refWindow
        self.holdsPerCreditMax = holdsPerCreditMax
    }
}
