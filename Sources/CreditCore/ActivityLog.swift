// ActivityLog: a credit's history, a handle to its activities packed in the history arena.

/// A credit's activities, oldest first: each packed as bytes in `HistoryArena.shared`, linked to
/// the one before it. The log itself is the offset of the last (8 bytes, nothing to retain).
///
/// Why bytes: histories are kept forever, and a million gift cards each have a few activities.
/// As `[Activity]` a card's history cost a 32-byte array header plus 64 bytes an activity, plus a
/// heap string for each ref over 15 bytes; packed into one array per history, a header and a
/// malloc chunk each, and the gaps arrays left as they grew (see `HistoryArena`). In the arena an
/// ISSUE with a 22-byte ref takes about 40 bytes, link and all. Reads (HISTORY, REPORT,
/// snapshots) decode `Activity` values on demand; only the ledger appends (and decoders making
/// one from a snapshot).
///
/// Layout of one activity in the arena (memory only: snapshots write `Activity` fields as before):
///
///     previous   u40 little-endian, the arena offset of the activity before it; 0 for the first
///     tag        u8: the kind's `packedCode` in the low 5 bits; 0x20 a hold follows,
///                0x40 a ref follows, 0x80 a note (sale amount or reason) follows
///     at         zigzag varint, milliseconds since the epoch
///     amount     zigzag varint, minor units
///     balance    zigzag varint, the balance after it
///     hold       varint, the hold's number                      (if 0x20)
///     ref        u8 byte count, the ref's UTF-8 bytes           (if 0x40)
///     note       u8: 1 a sale follows, 2 a reason follows       (if 0x80)
///       sale     zigzag amount; u8 byte count and the currency code; zigzag rate units; u8 scale
///       reason   varint byte count, the UTF-8 bytes
///
/// The sequence number is the position (from 1), as `record` has always numbered activities; the
/// count is the length of the chain, which reads walk anyway. Appending reads nothing of the
/// activities before: it writes the new one where the arena's last append stopped, linked to the
/// offset the log holds. (Keeping the instant as a difference from the first activity's, as the
/// array did, saved about 2 bytes an activity but made each append read the first.)
///
/// A copy of a log is a handle to the same activities; appending to one moves only its own handle,
/// so copies stay independent values. Logs compare by their activities.
public struct ActivityLog: Equatable, Sendable {
    /// Bytes of the link to the previous activity.
    private static let linkBytes = 5
    private static let holdFlag: UInt8 = 0x20
    private static let refFlag: UInt8 = 0x40
    private static let noteFlag: UInt8 = 0x80
    private static let kindMask: UInt8 = 0x1F
    private static let saleNote: UInt8 = 1
    private static let reasonNote: UInt8 = 2

    /// The arena offset of the last activity; 0 for an empty history.
    private var last: UInt64 = 0

    /// An empty history.
    public init() {}

    /// A history of `activities`, which must be numbered 1, 2, 3, … in order.
    public init(_ activities: [Activity]) {
        for (index, activity) in activities.enumerated() {
            precondition(activity.seq == UInt32(index + 1), "activities are numbered from 1 in order")
            append(kind: activity.kind, at: activity.at, amount: activity.amount, balanceAfter: activity.balanceAfter,
                   hold: activity.hold, ref: activity.ref, sale: activity.sale, reason: activity.reason)
        }
    }

    /// Number of activities (a walk along the chain).
    public var count: Int {
        var count = 0
        walkBack { _ in count += 1 }
        return count
    }

    /// Bytes the packed activities take in the arena, links included.
    var byteCount: Int {
        var total = 0
        walkBack { offset in
            var source = ActivityLog.source(at: offset)
            _ = ActivityLog.decode(&source, seq: 1)
            total += ActivityLog.linkBytes + source.offset
        }
        return total
    }

    /// True when nothing has happened to the credit yet.
    public var isEmpty: Bool { last == 0 }

    /// Every activity, oldest first.
    public var activities: [Activity] {
        var result: [Activity] = []
        forEach { result.append($0) }
        return result
    }

    /// Calls `body` with each activity, oldest first.
    public func forEach(_ body: (Activity) throws -> Void) rethrows {
        guard last != 0 else { return }
        // The links lead from the newest back: counted first, then noted in a buffer on the stack
        // (for all but very long histories), newest last, so that REPORT, which reads every
        // credit's history, allocates nothing per credit. The second walk finds the links in cache.
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: count) { offsets in
            var index = offsets.count
            walkBack { offset in
                index -= 1
                offsets[index] = offset
            }
            for index in offsets.indices {
                var source = ActivityLog.source(at: offsets[index])
                try body(ActivityLog.decode(&source, seq: UInt32(index + 1)))
            }
        }
    }

    /// Calls `body` with the arena offset of each activity, newest first, along the links.
    private func walkBack(_ body: (UInt64) -> Void) {
        var offset = last
        while offset != 0 {
            body(offset)
            offset = ActivityLog.previous(of: offset)
        }
    }

    /// Forgets every history appended so far in this process (`HistoryArena.discardAll()`), so
    /// that a tool decoding and dropping ledger after ledger (the snapshot fuzz target, which may
    /// run for hours) does not grow without bound: the arena is otherwise never freed. Every
    /// `ActivityLog` made before is invalid afterwards; only for a single-threaded tool that keeps
    /// no ledger, credit or history across the call. The daemon never calls it.
    @_spi(Fuzzing) public static func discardAllHistories() {
        HistoryArena.shared.discardAll()
    }

    /// Logs are equal when they hold equal activities (the same handle, or copies made alike).
    public static func == (lhs: ActivityLog, rhs: ActivityLog) -> Bool {
        lhs.last == rhs.last || lhs.activities == rhs.activities
    }

    /// Appends an activity numbered `count + 1`.
    public mutating func append(kind: ActivityKind, at: Instant, amount: MinorUnits, balanceAfter: MinorUnits,
                                hold: HoldID?, ref: Ref?, sale: SaleAmount?, reason: String?) {
        precondition(hold.map { $0.number > 0 } ?? true, "hold numbers start at 1")
        var ref = ref?.text
        var reason = reason
        let previous = last
        last = ActivityLog.withUTF8(&ref) { refBytes in
            ActivityLog.withUTF8(&reason) { reasonBytes in
                let fields = PackedFields(kind: kind, at: at.millis, amount: amount, balanceAfter: balanceAfter,
                                          hold: hold, ref: refBytes, sale: sale, reason: reasonBytes)
                // Written straight into the arena, which has room for the longest encoding (the
                // sink traps past it) and moves its end past only the bytes written.
                return HistoryArena.shared.append(bytesMax: ActivityLog.linkBytes + fields.bytesMax) { output in
                    var link = previous.littleEndian
                    withUnsafeBytes(of: &link) { link in
                        output.copyMemory(from: UnsafeRawBufferPointer(rebasing: link[..<ActivityLog.linkBytes]))
                    }
                    let rest = UnsafeMutableRawBufferPointer(rebasing: output[ActivityLog.linkBytes...])
                    return ActivityLog.linkBytes + fields.write(to: rest)
                }
            }
        }
    }

    /// The offset of the activity before the one at `offset`; 0 for none.
    private static func previous(of offset: UInt64) -> UInt64 {
        let bytes = HistoryArena.shared.bytes(at: offset)
        var link: UInt64 = 0
        for index in (0..<linkBytes).reversed() { link = link << 8 | UInt64(bytes[index]) }
        return link
    }

    /// A reader of the packed fields of the activity at `offset` (after its link).
    private static func source(at offset: UInt64) -> ByteSource {
        let bytes = HistoryArena.shared.bytes(at: offset)
        return ByteSource(UnsafeRawBufferPointer(rebasing: bytes[linkBytes...]))
    }

    /// Calls `body` with the UTF-8 bytes of `text`, or nil.
    private static func withUTF8<R>(_ text: inout String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard text != nil else { return body(nil) }
        return text!.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes the activity at `source`, numbered `seq`.
    private static func decode(_ source: inout ByteSource, seq: UInt32) -> Activity {
        let tag = source.byte()
        guard let kind = ActivityKind(packedCode: tag & kindMask) else { preconditionFailure("packed activity kind") }
        let at = source.signedVarint()
        let amount = MinorUnits(source.signedVarint())
        let balanceAfter = MinorUnits(source.signedVarint())
        let hold = tag & holdFlag == 0 ? nil : HoldID(source.varint64())
        let ref = tag & refFlag == 0 ? nil : Ref(trusted: string(source.take(Int(source.byte()))))
        var sale: SaleAmount?
        var reason: String?
        if tag & noteFlag != 0 {
            let note = source.byte()
            if note & saleNote != 0 {
                let amount = MinorUnits(source.signedVarint())
                let currency = string(source.take(Int(source.byte())))
                let units = source.signedVarint()
                guard let rate = Rate(units: units, scale: Int(source.byte())) else { preconditionFailure("packed rate") }
                sale = SaleAmount(amount: amount, currency: currency, rate: rate)
            }
            if note & reasonNote != 0 { reason = string(source.take(source.varint())) }
        }
        return Activity(seq: seq, at: Instant(millis: at), kind: kind, amount: amount, balanceAfter: balanceAfter,
                        hold: hold, ref: ref, sale: sale, reason: reason)
    }

    /// A String of UTF-8 bytes this log wrote from a String.
    private static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// One activity's fields as `append` packs them, written the same way to count and to write.
    private struct PackedFields {
        let kind: ActivityKind
        let at: Int64
        let amount: MinorUnits
        let balanceAfter: MinorUnits
        let hold: HoldID?
        let ref: UnsafeRawBufferPointer?
        let sale: SaleAmount?
        let reason: UnsafeRawBufferPointer?

        /// The most bytes `write` can take: a tag, three 10-byte varints, a hold's varint, the ref
        /// with its count byte, and the note (its flags, the sale's two varints, currency with its
        /// count byte and scale, the reason with a 5-byte count).
        var bytesMax: Int {
            let sale = self.sale.map { 10 + 1 + $0.currency.utf8.count + 10 + 1 } ?? 0
            return 1 + 30 + 10 + 1 + (ref?.count ?? 0) + 1 + sale + 5 + (reason?.count ?? 0)
        }

        /// Writes the fields into `output`, which has room for `bytesMax` bytes; returns the count.
        func write(to output: UnsafeMutableRawBufferPointer) -> Int {
            var out = ByteSink(writingInto: output)
            var tag = kind.packedCode
            if hold != nil { tag |= ActivityLog.holdFlag }
            if ref != nil { tag |= ActivityLog.refFlag }
            if sale != nil || reason != nil { tag |= ActivityLog.noteFlag }
            out.byte(tag)
            out.signedVarint(at)
            out.signedVarint(amount.value)
            out.signedVarint(balanceAfter.value)
            if let hold { out.varint64(hold.number) }
            if let ref {
                precondition(ref.count <= Ref.bytesMax, "a ref fits its byte count")
                out.byte(UInt8(ref.count))
                out.bytes(ref)
            }
            if sale != nil || reason != nil {
                out.byte((sale == nil ? 0 : ActivityLog.saleNote) | (reason == nil ? 0 : ActivityLog.reasonNote))
                if let sale { write(sale, to: &out) }
                if let reason {
                    out.varint(reason.count)
                    out.bytes(reason)
                }
            }
            return out.offset
        }

        private func write(_ sale: SaleAmount, to out: inout ByteSink) {
            out.signedVarint(sale.amount.value)
            var currency = sale.currency
            currency.withUTF8 { code in
                precondition(code.count <= Int(UInt8.max), "a currency code fits its byte count")
                out.byte(UInt8(code.count))
                out.bytes(UnsafeRawBufferPointer(code))
            }
            out.signedVarint(sale.rate.units)
            precondition(sale.rate.scale >= 0 && sale.rate.scale <= Int(UInt8.max), "a rate's scale fits a byte")
            out.byte(UInt8(sale.rate.scale))
        }
    }
}

extension ActivityKind {
    /// The kind's number in `ActivityLog`'s packed layout (its position in `allCases`, below 32).
    var packedCode: UInt8 {
        switch self {
        case .issue: 0
        case .bonus: 1
        case .stock: 2
        case .load: 3
        case .hold: 4
        case .capture: 5
        case .void: 6
        case .expire: 7
        case .refund: 8
        case .freeze: 9
        case .unfreeze: 10
        case .cancel: 11
        case .breakage: 12
        case .replace: 13
        case .transfer: 14
        case .split: 15
        case .splitIn: 16
        case .revert: 17
        case .reversal: 18
        case .lock: 19
        case .unlock: 20
        }
    }

    /// The kind with this packed code, nil for none.
    init?(packedCode: UInt8) {
        guard Int(packedCode) < ActivityKind.allCases.count else { return nil }
        self = ActivityKind.allCases[Int(packedCode)]
    }
}
