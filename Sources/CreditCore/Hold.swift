// Hold: a reservation of funds for one sale, as the ledger keeps it (forever, so compactly).

/// A reservation of funds for one sale, on one credit or (for a profile tender) several.
public struct Hold: Equatable, Sendable {
    /// Its id.
    public let id: HoldID
    /// The amount the till asked for, in the sale currency.
    public let requested: MinorUnits
    /// When it expires if still pending: a pending hold is expired at and after this instant.
    public let deadline: Instant
    /// Its legs, in plan order (captures take them in this order), with what a capture took
    /// from each.
    public private(set) var legs: HoldLegs
    /// Its state.
    public internal(set) var state: HoldState
    /// The sale's currency code, in two bytes. Declared after `state`, it fills what would be
    /// padding after the legs: a hold takes 72 bytes, not 88 with the code as a `String`.
    private let currencyCode: PackedCurrencyCode

    /// The sale's currency code.
    public var currency: String { currencyCode.code }

    /// What a capture took from each leg, in each credit's currency (zeros unless captured).
    public var captured: HoldCapturedAmounts { legs.captured }

    /// The amount held, in the sale currency: the sum of what the legs cover.
    public var amount: MinorUnits { legs.covered }

    /// Makes a hold from its legs and what was captured from each (decoders on restore).
    public init(id: HoldID, currency: String, requested: MinorUnits, legs: [HoldLeg], deadline: Instant,
                state: HoldState, captured: [MinorUnits]) {
        self.init(id: id, currency: currency, requested: requested, legs: HoldLegs(legs, captured: captured),
                  deadline: deadline, state: state)
    }

    /// Makes a hold from legs already stored (the ledger when placing; decoders on restore).
    /// `currency` must be a currency code: three upper-case ASCII letters.
    public init(id: HoldID, currency: String, requested: MinorUnits, legs: HoldLegs, deadline: Instant, state: HoldState) {
        self.id = id
        currencyCode = PackedCurrencyCode(currency)
        self.requested = requested
        self.deadline = deadline
        self.legs = legs
        self.state = state
    }

    /// Records what a capture took from the leg at `index`, in its credit's currency.
    mutating func setCaptured(_ amount: MinorUnits, at index: Int) {
        legs.setCaptured(amount, at: index)
    }
}
