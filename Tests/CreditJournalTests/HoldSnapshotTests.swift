// Proves holds are written to a snapshot in the format's exact bytes whatever their storage (one leg inline, several legs, FX rates, captured amounts, every state), written out by hand here, and decode back to equal holds; and that a pending hold on a credit the snapshot lacks is refused.

import CreditCore
import CreditJournal
import Testing

private let aud = Currency(code: "AUD", minorDigits: 2, balanceMax: MinorUnits(100_000))
private let deadline = Instant(millis: 1_795_704_300_000)

/// The snapshot format's primitives, little-endian, written independently of `ByteWriter`.
private struct ExpectedBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func i64(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ value: String) {
        u32(UInt32(value.utf8.count))
        bytes += value.utf8
    }

    /// A hold as the format lays it out: id, currency, requested, legs each with its captured
    /// amount, deadline, state.
    mutating func hold(_ id: UInt64, _ requested: Int64, _ legs: [(credit: UInt64, amount: Int64, covers: Int64,
                                                                  rate: (units: Int64, scale: UInt8)?, captured: Int64)],
                       _ state: String) {
        u64(id)
        string("AUD")
        i64(requested)
        u32(UInt32(legs.count))
        for leg in legs {
            u64(leg.credit)
            i64(leg.amount)
            i64(leg.covers)
            if let rate = leg.rate {
                u8(1)
                i64(rate.units)
                u8(rate.scale)
            } else {
                u8(0)
            }
            i64(leg.captured)
        }
        i64(deadline.millis)
        string(state)
    }
}

private func leg(_ credit: UInt64, _ amount: Int64, covers: Int64? = nil, rate: String? = nil) -> HoldLeg {
    HoldLeg(credit: CreditID(credit), amount: MinorUnits(amount), covers: MinorUnits(covers ?? amount), rate: rate.flatMap(Rate.init))
}

/// A state holding only holds: one leg pending, three legs captured (one through a rate), one leg voided.
private func holdsOnly() -> LedgerState {
    var state = LedgerState()
    state.lastHoldNumber = 3
    state.holds[HoldID(1)] = Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(3000), legs: [leg(4, 3000)],
                                  deadline: deadline, state: .pending, captured: [.zero])
    state.holds[HoldID(2)] = Hold(id: HoldID(2), currency: "AUD", requested: MinorUnits(9000),
                                  legs: [leg(5, 1000), leg(6, 2000, covers: 2165, rate: "1.0825"), leg(7, 500)],
                                  deadline: deadline, state: .captured,
                                  captured: [MinorUnits(1000), MinorUnits(1848), .zero])
    state.holds[HoldID(3)] = Hold(id: HoldID(3), currency: "AUD", requested: MinorUnits(700), legs: [leg(4, 700)],
                                  deadline: deadline, state: .voided, captured: [.zero])
    return state
}

@Test func holdsAreWrittenInTheSnapshotFormatByteForByteAndReadBack() throws {
    var expected = ExpectedBytes()
    expected.u8(2)  // version
    expected.u64(0)  // last credit number
    expected.u64(3)  // last hold number
    expected.i64(0)  // last instant
    expected.u32(0)  // credits
    expected.u32(3)  // holds
    expected.hold(1, 3000, [(4, 3000, 3000, nil, 0)], "pending")
    expected.hold(2, 9000, [(5, 1000, 1000, nil, 1000), (6, 2000, 2165, (10825, 4), 1848), (7, 500, 500, nil, 0)], "captured")
    expected.hold(3, 700, [(4, 700, 700, nil, 0)], "voided")
    expected.u32(0)  // refs
    expected.u32(0)  // decoys

    let state = holdsOnly()
    let bytes = SnapshotCodec.encode(state)
    #expect(bytes == expected.bytes)
    // Read back, it is refused: a pending hold's credits are always in the snapshot, and this one
    // has none.
    #expect(throws: DecodeError("pending hold hd_1 has a leg on credit cr_4, which the snapshot lacks",
                                offset: bytes.count - 8)) {
        try SnapshotCodec.decode(bytes, currencies: CurrencyTable([aud]))
    }
    // With hold 1 expired instead, the same holds decode back to what was encoded.
    var ended = state
    ended.holds[HoldID(1)] = Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(3000), legs: [leg(4, 3000)],
                                  deadline: deadline, state: .expired, captured: [.zero])
    let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(ended), currencies: CurrencyTable([aud]))
    #expect(decoded == ended && decoded.holds[HoldID(1)]?.state == .expired)
    let holds = Array(decoded.holds.values)
    #expect(holds.map(\.legs.count) == [1, 3, 1])
    #expect(Array(holds[1].captured) == [MinorUnits(1000), MinorUnits(1848), .zero])
    #expect(holds[1].legs[1].rate == Rate("1.0825") && holds[1].amount == MinorUnits(1000 + 2165 + 500))
}
