// SnapshotCodec: the whole ledger state to a snapshot body and back, versioned and validated.

import CreditCore

/// Encodes and decodes `LedgerState`. Format version 2: `u8 version`, counters, then credits
/// (with their histories), holds, remembered refs and decoy locks, each as a u32 count and
/// records. Credits and holds are written in id order, decoys in digest order, so the same state
/// always gives the same bytes. Version 1 is version 2 without the decoys (it predates them).
public enum SnapshotCodec {
    /// The format version written by this code.
    public static let version: UInt8 = 2
    /// Versions this code reads.
    static let versionsReadable: ClosedRange<UInt8> = 1...2
    /// Largest count of any one collection in a snapshot: far above any real ledger, low enough
    /// that a damaged count cannot make the decoder reserve absurd memory.
    public static let collectionMax = 100_000_000
    /// Longest history one credit may have in a snapshot.
    public static let historyMax = 10_000_000

    /// The snapshot body of a state.
    public static func encode(_ state: LedgerState) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(64 + state.credits.count * 160 + state.holds.count * 48)
        encode(state, pieceBytes: 1 << 20) { body.append(contentsOf: $0) }
        return body
    }

    /// Encodes `state` a piece at a time: `emit` gets the body's bytes in order, in pieces of
    /// about `pieceBytes` (each ends after a whole credit, hold, ref or decoy; the last may be
    /// shorter). A snapshot written this way never holds its whole body in memory: for a million
    /// cards that was 450 MB more resident while it was written, and freeing it at the end
    /// stalled the event loop's page faults behind the unmapping.
    public static func encode<E: Error>(_ state: LedgerState, pieceBytes: Int,
                                        emit: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(pieceBytes > 0, "pieces have bytes")
        var writer = ByteWriter(capacity: pieceBytes + 4096)
        func flush(ifAtLeast threshold: Int) throws(E) {
            guard writer.count >= threshold else { return }
            var failure: E?  // `withUnsafeBytes` rethrows untyped errors: carry the typed one out
            writer.buffer.withUnsafeBytes { bytes in
                do throws(E) { try emit(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
            writer.removeAll()
        }
        writer.u8(version)
        writer.u64(state.lastCreditNumber)
        writer.u64(state.lastHoldNumber)
        writer.i64(state.lastAt.millis)
        // Credits count their pending holds; the format lists them by id, as the holds tell.
        let pendingHolds = state.pendingHoldsByCredit()
        writer.u32(UInt32(state.credits.count))
        for credit in state.credits.values {  // in id order
            writer.credit(credit, pendingHolds: pendingHolds[credit.id] ?? [])
            try flush(ifAtLeast: pieceBytes)
        }
        writer.u32(UInt32(state.holds.count))
        for hold in state.holds.values {  // in id order
            writer.hold(hold)
            try flush(ifAtLeast: pieceBytes)
        }
        writer.u32(UInt32(state.refs.count))
        for stored in state.refs {
            writer.i64(stored.at.millis)
            writer.idempotencyRecord(stored.record)
            try flush(ifAtLeast: pieceBytes)
        }
        writer.u32(UInt32(state.decoys.count))
        for digest in state.decoys.keys.sorted(by: digestOrder) {
            writer.decoy(digest, state.decoys[digest]!)
            try flush(ifAtLeast: pieceBytes)
        }
        try flush(ifAtLeast: 1)
    }

    /// The state in a snapshot body; currencies must be configured.
    public static func decode(_ body: [UInt8], currencies: CurrencyTable) throws(DecodeError) -> LedgerState {
        try ByteReader.reading(body) { (reader: inout ByteReader) throws(DecodeError) in try decode(&reader, currencies: currencies) }
    }

    /// Decodes a snapshot body in memory (a mapped snapshot file's).
    public static func decode(_ body: UnsafeRawBufferPointer, currencies: CurrencyTable) throws(DecodeError) -> LedgerState {
        var reader = ByteReader(body)
        return try decode(&reader, currencies: currencies)
    }

    /// The state the reader holds, which must be all of its bytes.
    private static func decode(_ reader: inout ByteReader, currencies: CurrencyTable) throws(DecodeError) -> LedgerState {
        let version = try reader.u8()
        guard versionsReadable.contains(version) else {
            throw DecodeError("unknown snapshot format version \(version)", offset: 0)
        }
        var state = LedgerState()
        state.lastCreditNumber = try reader.u64()
        state.lastHoldNumber = try reader.u64()
        // No table holds a larger number; a larger one would also make forgetting holds step
        // through numbers no hold can have.
        guard state.lastHoldNumber <= NumberedTable<HoldID, Hold>.numberMax else {
            throw DecodeError("last hold number \(state.lastHoldNumber) is above \(NumberedTable<HoldID, Hold>.numberMax)", offset: 9)
        }
        state.lastAt = Instant(millis: try reader.i64())
        // The pending holds each credit lists, checked against the holds once they are read: a
        // credit keeps only their count.
        var listedPending: [CreditID: [HoldID]] = [:]
        for _ in 0..<(try reader.count(max: collectionMax, what: "credits")) {
            let start = reader.offset
            let (credit, pending) = try reader.credit(currencies)
            if !pending.isEmpty { listedPending[credit.id] = pending }
            guard credit.id.number <= min(state.lastCreditNumber, NumberedTable<CreditID, Credit>.numberMax) else {
                throw DecodeError("credit \(credit.id) is numbered above the last credit number", offset: start)
            }
            guard state.insertDecoded(credit) else {
                throw DecodeError("credit \(credit.id) appears twice", offset: start)
            }
        }
        for _ in 0..<(try reader.count(max: collectionMax, what: "holds")) {
            let start = reader.offset
            let hold = try reader.hold()
            guard hold.id.number <= min(state.lastHoldNumber, NumberedTable<HoldID, Hold>.numberMax) else {
                throw DecodeError("hold \(hold.id) is numbered above the last hold number", offset: start)
            }
            guard state.insertDecoded(hold) else {
                throw DecodeError("hold \(hold.id) appears twice", offset: start)
            }
        }
        // Credits are never removed, so a pending hold's credits are all here; a credit issued
        // later under a missing one's number would otherwise count none of its holds, and
        // resolving them would trap.
        let derived = state.pendingHoldsByCredit()
        if let id = derived.keys.filter({ !state.credits.contains($0) }).min() {
            throw DecodeError("pending hold \(derived[id]![0]) has a leg on credit \(id), which the snapshot lacks",
                              offset: reader.offset)
        }
        let disagreeing = Set(listedPending.keys).union(derived.keys).filter { listedPending[$0] != derived[$0] }
        if let id = disagreeing.min() {
            throw DecodeError("credit \(id) lists pending holds \(listedPending[id] ?? []) but the pending holds "
                                  + "with a leg on it are \(derived[id] ?? [])", offset: reader.offset)
        }
        for _ in 0..<(try reader.count(max: collectionMax, what: "refs")) {
            let at = Instant(millis: try reader.i64())
            state.refs.append(StoredRef(at: at, record: try reader.idempotencyRecord()))
        }
        if version >= 2 {
            for _ in 0..<(try reader.count(max: collectionMax, what: "decoys")) {
                let start = reader.offset
                let (digest, decoy) = try reader.decoy()
                guard state.decoys.updateValue(decoy, forKey: digest) == nil else {
                    throw DecodeError("a decoy appears twice", offset: start)
                }
            }
        }
        try reader.expectEnd()
        return state
    }
}

/// Digests in word order: how a snapshot sorts its decoys.
private func digestOrder(_ a: Digest32, _ b: Digest32) -> Bool {
    (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
}

extension ByteWriter {
    mutating func decoy(_ digest: Digest32, _ decoy: DecoyLock) {
        self.digest(digest)
        u32(UInt32(decoy.failures))
        optional(decoy.lockedUntil) { $0.i64($1.millis) }
        i64(decoy.lastFailureAt.millis)
    }

    /// A credit, with the ids of the pending holds that have a leg on it.
    mutating func credit(_ credit: Credit, pendingHolds: [HoldID]) {
        precondition(pendingHolds.count == credit.pendingHoldCount, "a credit counts the pending holds on it")
        u64(credit.id.number)
        string(credit.type.rawValue)
        string(credit.currency.code)
        i64(credit.balance.value)
        i64(credit.held.value)
        string(credit.status.rawValue)
        optional(credit.expires) { $0.civilDate($1) }
        optional(credit.profile) { $0.string($1.text) }
        optional(credit.card) { $0.cardKeys($1) }
        i64(credit.marketing.value)
        optional(credit.campaign) { $0.string($1) }
        optional(credit.purchaser) { $0.string($1.text) }
        optional(credit.claim) { $0.digest($1) }
        optional(credit.revertAt) { $0.i64($1.millis) }
        optional(credit.batch) { $0.string($1) }
        u32(UInt32(credit.pinFailures))
        optional(credit.lockedUntil) { $0.i64($1.millis) }
        u32(UInt32(pendingHolds.count))
        for hold in pendingHolds { u64(hold.number) }
        u32(UInt32(credit.activityLog.count))
        credit.activityLog.forEach { self.activity($0) }
    }

    mutating func activity(_ activity: Activity) {
        u32(activity.seq)
        i64(activity.at.millis)
        string(activity.kind.rawValue)
        i64(activity.amount.value)
        i64(activity.balanceAfter.value)
        optional(activity.hold) { $0.u64($1.number) }
        optional(activity.ref) { $0.string($1.text) }
        optional(activity.sale) { writer, sale in
            writer.i64(sale.amount.value)
            writer.string(sale.currency)
            writer.rate(sale.rate)
        }
        optional(activity.reason) { $0.string($1) }
    }

    mutating func hold(_ hold: Hold) {
        u64(hold.id.number)
        string(hold.currency)
        i64(hold.requested.value)
        u32(UInt32(hold.legs.count))
        for (leg, captured) in zip(hold.legs, hold.captured) {
            u64(leg.credit.number)
            i64(leg.amount.value)
            i64(leg.covers.value)
            optional(leg.rate) { $0.rate($1) }
            i64(captured.value)
        }
        i64(hold.deadline.millis)
        string(hold.state.rawValue)
    }
}

extension ByteReader {
    mutating func decoy() throws(DecodeError) -> (Digest32, DecoyLock) {
        let digest = try digest()
        let failures = Int(try u32())
        let lockedUntil = try optional { (reader: inout ByteReader) throws(DecodeError) in Instant(millis: try reader.i64()) }
        return (digest, DecoyLock(failures: failures, lockedUntil: lockedUntil, lastFailureAt: Instant(millis: try i64())))
    }

    /// A credit, and the pending holds it lists.
    mutating func credit(_ currencies: CurrencyTable) throws(DecodeError) -> (Credit, [HoldID]) {
        let id = CreditID(try id("credit"))
        let type = try creditType()
        let start = offset
        guard let currency = currencies[try currencyCode()] else {
            throw DecodeError("snapshot names a currency that is not configured", offset: start)
        }
        let balance = MinorUnits(try i64())
        let held = MinorUnits(try i64())
        let status = try creditStatus()
        guard held.value >= 0, balance >= held else { throw DecodeError("credit \(id) overdrawn", offset: start) }
        let expires = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.civilDate() }
        let profile = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.profile() }
        let card = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.cardKeys() }
        let marketing = try nonNegative("marketing")
        let campaign = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.note() }
        let purchaser = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.profile() }
        let claim = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.digest() }
        let revertAt = try optional { (reader: inout ByteReader) throws(DecodeError) in Instant(millis: try reader.i64()) }
        let batch = try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.note() }
        let pinFailures = Int(try u32())
        let lockedUntil = try optional { (reader: inout ByteReader) throws(DecodeError) in Instant(millis: try reader.i64()) }
        var pending: [HoldID] = []
        for _ in 0..<(try count(max: Int(UInt16.max), what: "pending holds")) {
            pending.append(HoldID(try self.id("hold")))
        }
        var history = ActivityLog()
        for index in 0..<(try count(max: SnapshotCodec.historyMax, what: "activities")) {
            let start = offset
            let activity = try activity()
            guard activity.seq == UInt32(index + 1) else {
                throw DecodeError("credit \(id) activity \(index + 1) is numbered \(activity.seq)", offset: start)
            }
            history.append(kind: activity.kind, at: activity.at, amount: activity.amount,
                           balanceAfter: activity.balanceAfter, hold: activity.hold, ref: activity.ref,
                           sale: activity.sale, reason: activity.reason)
        }
        return (Credit(id: id, type: type, currency: currency, balance: balance, held: held, status: status,
                      expires: expires, profile: profile, card: card, marketing: marketing, campaign: campaign,
                      purchaser: purchaser, claim: claim, revertAt: revertAt, batch: batch,
                      pinFailures: pinFailures, lockedUntil: lockedUntil,
                      pendingHoldCount: pending.count, activityLog: history), pending)
    }

    mutating func activity() throws(DecodeError) -> Activity {
        let seq = try u32()
        let at = Instant(millis: try i64())
        let start = offset
        guard let kind = ActivityKind(rawValue: try string(maxBytes: 16)) else {
            throw DecodeError("invalid activity kind", offset: start)
        }
        return Activity(seq: seq, at: at, kind: kind, amount: MinorUnits(try i64()),
                        balanceAfter: MinorUnits(try i64()),
                        hold: try optional { (reader: inout ByteReader) throws(DecodeError) in HoldID(try reader.id("hold")) },
                        ref: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.ref() },
                        sale: try optional { (reader: inout ByteReader) throws(DecodeError) in
                            SaleAmount(amount: MinorUnits(try reader.i64()), currency: try reader.currencyCode(), rate: try reader.rate())
                        },
                        reason: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.note() })
    }

    mutating func hold() throws(DecodeError) -> Hold {
        let id = HoldID(try id("hold"))
        let currency = try currencyCode()
        let requested = try positive("requested amount")
        let legs = try holdLegs(id)
        let deadline = Instant(millis: try i64())
        let start = offset
        guard let state = HoldState(rawValue: try string(maxBytes: 16)) else {
            throw DecodeError("invalid hold state", offset: start)
        }
        return Hold(id: id, currency: currency, requested: requested, legs: legs, deadline: deadline, state: state)
    }

    /// A hold's legs, each followed by what a capture took from it. One leg (nearly every hold)
    /// is read straight into its inline storage, without the arrays several legs are gathered in.
    mutating func holdLegs(_ id: HoldID) throws(DecodeError) -> HoldLegs {
        let legsStart = offset
        let count = try count(max: LedgerPolicy.legsMax, what: "legs")
        guard count > 0 else { throw DecodeError("hold \(id) has no legs", offset: legsStart) }
        var legs: [HoldLeg] = []
        var captured: [MinorUnits] = []
        for _ in 0..<count {
            let leg = try holdLeg()
            let take = try nonNegative("captured amount")
            guard take <= leg.amount else { throw DecodeError("hold \(id) captured more than held", offset: legsStart) }
            if count == 1 { return HoldLegs(leg, captured: take) }
            legs.append(leg)
            captured.append(take)
        }
        return HoldLegs(legs, captured: captured)
    }
}
