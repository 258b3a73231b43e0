// HoldLegs: a hold's legs and what a capture took from each, stored so that a hold on one
// credit costs no heap memory.

/// A hold's legs in plan order, each with what a capture took from it: a collection of
/// `HoldLeg`s, with the amounts in `captured`.
///
/// Nearly every hold is on one credit, so one leg is kept inline; only a profile tender's
/// several legs (at most `LedgerPolicy.legsMax`) share one array. Holds are kept forever, and
/// the two arrays a one-leg hold used to carry (legs, captured amounts) took 144 heap bytes.
/// Reading a leg builds a `HoldLeg` on the stack: the request path never allocates to read legs.
public struct HoldLegs: RandomAccessCollection, Equatable, Sendable, CustomStringConvertible {
    /// One leg inline, or two and more in one array. Never one leg in the array, so that equal
    /// legs are always stored alike and the synthesized equality compares values.
    private enum Storage: Equatable, Sendable {
        /// A hold on one credit: its leg, inline.
        case one(PackedLeg)
        /// A profile tender's legs (two or more), in plan order.
        case many([PackedLeg])
    }

    /// The legs with their captured amounts.
    private var storage: Storage

    /// The first leg's credit, read where it lies (replay's look ahead asks for its slot).
    var firstCredit: CreditID {
        switch storage {
        case .one(let leg): leg.credit
        case .many(let legs): legs[0].credit
        }
    }

    /// One leg, with what a capture took from it (zero unless captured). Allocates nothing.
    public init(_ leg: HoldLeg, captured: MinorUnits = .zero) {
        storage = .one(PackedLeg(leg, captured: captured))
    }

    /// Legs in plan order, with what a capture took from each (all zero when `captured` is nil).
    public init(_ legs: [HoldLeg], captured: [MinorUnits]? = nil) {
        precondition(!legs.isEmpty && legs.count <= LedgerPolicy.legsMax, "a hold has 1...legsMax legs")
        precondition(captured == nil || captured!.count == legs.count, "one captured amount per leg")
        guard legs.count > 1 else {
            storage = .one(PackedLeg(legs[0], captured: captured?[0] ?? .zero))
            return
        }
        var packed: [PackedLeg] = []
        packed.reserveCapacity(legs.count)
        for index in legs.indices { packed.append(PackedLeg(legs[index], captured: captured?[index] ?? .zero)) }
        storage = .many(packed)
    }

    /// Always 0.
    public var startIndex: Int { 0 }

    /// The number of legs.
    public var endIndex: Int {
        switch storage {
        case .one: 1
        case .many(let legs): legs.count
        }
    }

    /// The leg at `position`.
    public subscript(position: Int) -> HoldLeg { packed(at: position).leg }

    /// What a capture took from the leg at `index`, in its credit's currency (zero unless captured).
    public func capturedAmount(at index: Int) -> MinorUnits { packed(at: index).captured }

    /// What a capture took from each leg, in leg order.
    public var captured: HoldCapturedAmounts { HoldCapturedAmounts(self) }

    /// The sum of what the legs cover of the sale, in the sale's currency.
    public var covered: MinorUnits {
        switch storage {
        case .one(let leg): leg.covers
        case .many(let legs): legs.reduce(.zero) { $0 + $1.covers }
        }
    }

    /// The legs as an array would print them (test and audit messages).
    public var description: String { Array(self).description }

    /// The stored leg at `index`.
    private func packed(at index: Int) -> PackedLeg {
        switch storage {
        case .one(let leg):
            precondition(index == 0, "leg index out of range")
            return leg
        case .many(let legs):
            return legs[index]
        }
    }

    /// Records what a capture took from the leg at `index`. Changes the shared array in place
    /// when this value is its only owner.
    mutating func setCaptured(_ amount: MinorUnits, at index: Int) {
        switch storage {
        case .one(var leg):
            precondition(index == 0, "leg index out of range")
            leg.captured = amount
            storage = .one(leg)
        case .many(var legs):
            // Drop this value's reference first, so that the array is unique and changes in place.
            storage = .one(PackedLeg.placeholder)
            legs[index].captured = amount
            storage = .many(legs)
        }
    }
}

/// What a capture took from each leg of a hold, in leg order: a view of `HoldLegs`, so reading
/// the amounts allocates nothing.
public struct HoldCapturedAmounts: RandomAccessCollection, Equatable, Sendable, CustomStringConvertible {
    /// The legs whose amounts these are.
    private let legs: HoldLegs

    /// The amounts of `legs`.
    init(_ legs: HoldLegs) {
        self.legs = legs
    }

    /// Always 0.
    public var startIndex: Int { 0 }

    /// The number of legs.
    public var endIndex: Int { legs.endIndex }

    /// What a capture took from the leg at `position`.
    public subscript(position: Int) -> MinorUnits { legs.capturedAmount(at: position) }

    /// Amounts equal leg by leg (whatever the legs).
    public static func == (lhs: HoldCapturedAmounts, rhs: HoldCapturedAmounts) -> Bool { lhs.elementsEqual(rhs) }

    /// The amounts as an array would print them (test and audit messages).
    public var description: String { Array(self).description }
}

/// A leg as a hold keeps it: 41 bytes. The rate is kept as its digits and scale, with 0 digits
/// for none (a rate's digits are positive): `Rate?` takes 17 bytes, these 9.
private struct PackedLeg: Equatable, Sendable {
    /// The credit the funds are reserved on.
    let credit: CreditID
    /// Reserved on the credit, in its currency.
    let amount: MinorUnits
    /// What the leg covers of the sale, in the sale's currency.
    let covers: MinorUnits
    /// The rate's digits, or 0 without a rate.
    let rateUnits: Int64
    /// What a capture took from the credit, in its currency (zero unless captured).
    var captured: MinorUnits
    /// The rate's scale (0...`Rate.scaleMax`), 0 without a rate.
    let rateScale: UInt8

    /// Packs a leg and its captured amount.
    init(_ leg: HoldLeg, captured: MinorUnits) {
        credit = leg.credit
        amount = leg.amount
        covers = leg.covers
        rateUnits = leg.rate?.units ?? 0
        rateScale = UInt8(leg.rate?.scale ?? 0)
        self.captured = captured
    }

    /// The leg as callers see it.
    var leg: HoldLeg {
        let rate = rateUnits == 0 ? nil : Rate(units: rateUnits, scale: Int(rateScale))!
        return HoldLeg(credit: credit, amount: amount, covers: covers, rate: rate)
    }

    /// Stands in for a moment while `HoldLegs.setCaptured` changes its array in place.
    static var placeholder: PackedLeg {
        PackedLeg(HoldLeg(credit: CreditID(0), amount: .zero, covers: .zero, rate: nil), captured: .zero)
    }
}
