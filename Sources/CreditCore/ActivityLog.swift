// ActivityLog: a credit's history packed as bytes, one allocation per credit.

import CPrefetch

/// A credit's activities, oldest first, packed one after another in one byte array.
///
/// Why bytes: histories are kept forever, and a million gift cards each have a few activities.
/// As `[Activity]` a card's history cost a 32-byte array header plus 64 bytes an activity (with
/// room to grow to a power of two), plus a heap string for each ref over 15 bytes; packed, an
/// ISSUE with a 22-byte ref takes about 40 bytes and the whole history one small allocation.
/// Reads (HISTORY, REPORT, snapshots) decode `Activity` values on demand; only the ledger's
/// `record` appends.
///
/// Layout (memory only: snapshots write `Activity` fields as before):
///
///     count      u32 little-endian, the number of activities (absent while there are none)
///     activity   repeated `count` times:
///       tag      u8: the kind's `packedCode` in the low 5 bits; 0x20 a hold follows,
///                0x40 a ref follows, 0x80 a note (sale amount or reason) follows
///       at       zigzag varint: milliseconds since the first activity's instant (the first
///                activity: since the epoch)
///       amount   zigzag varint, minor units
///       balance  zigzag varint, the balance after it
///       hold     varint, the hold's number                      (if 0x20)
///       ref      u8 byte count, the ref's UTF-8 bytes           (if 0x40)
///       note     u8: 1 a sale follows, 2 a reason follows       (if 0x80)
///         sale   zigzag amount; u8 byte count and the currency code; zigzag rate units; u8 scale
///         reason varint byte count, the UTF-8 bytes
///
/// The sequence number is the position (from 1), as `record` has always numbered activities.
/// Varints are always in their shortest form, so equal histories have equal bytes and `==`
/// compares bytes.
public struct ActivityLog: Equatable, Sendable {
    /// Bytes of the count at the start.
    private static let countBytes = MemoryLayout<UInt32>.size
    /// Up to this size a history grows to exactly what it needs (a copy per append, of a few
    /// short activities); past it, by doubling. 256 bytes is six to eight activities.
    private static let exactGrowthBytesMax = 256
    private static let holdFlag: UInt8 = 0x20
    private static let refFlag: UInt8 = 0x40
    private static let noteFlag: UInt8 = 0x80
    private static let kindMask: UInt8 = 0x1F
    private static let saleNote: UInt8 = 1
    private static let reasonNote: UInt8 = 2

    /// The packed bytes; empty for an empty history.
    private var bytes: [UInt8] = []

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

    /// Number of activities.
    public var count: Int {
        guard !bytes.isEmpty else { return 0 }
        return bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
    }

    /// Bytes the packed history takes (not counting the array's header).
    var byteCount: Int { bytes.count }

    /// True when nothing has happened to the credit yet.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Every activity, oldest first.
    public var activities: [Activity] {
        var result: [Activity] = []
        result.reserveCapacity(count)
        forEach { result.append($0) }
        return result
    }

    /// Calls `body` with each activity, oldest first.
    public func forEach(_ body: (Activity) throws -> Void) rethrows {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { raw in
            var source = ByteSource(UnsafeRawBufferPointer(rebasing: raw[ActivityLog.countBytes...]))
            var base: Int64 = 0
            var seq: UInt32 = 1
            while !source.isAtEnd {
                let activity = ActivityLog.decode(&source, seq: seq, base: &base)
                try body(activity)
                seq += 1
            }
        }
    }

    /// Appends an activity numbered `count + 1`.
    public mutating func append(kind: ActivityKind, at: Instant, amount: MinorUnits, balanceAfter: MinorUnits,
                                hold: HoldID?, ref: Ref?, sale: SaleAmount?, reason: String?) {
        precondition(hold.map { $0.number > 0 } ?? true, "hold numbers start at 1")
        var ref = ref?.text
        var reason = reason
        let base = firstAt ?? 0
        let oldCount = count
        precondition(oldCount < Int(UInt32.max), "a history holds fewer than 2³² activities")
        ActivityLog.withUTF8(&ref) { refBytes in
            ActivityLog.withUTF8(&reason) { reasonBytes in
                let fields = PackedFields(kind: kind, delta: at.millis &- base, amount: amount, balanceAfter: balanceAfter,
                                          hold: hold, ref: refBytes, sale: sale, reason: reasonBytes)
                // One pass into a scratch buffer on the stack, sized for the longest encoding (the
                // sink traps past it), then one copy: counting first and writing second cost
                // twice the encoding.
                let countBytes = ActivityLog.countBytes
                withUnsafeTemporaryAllocation(byteCount: countBytes + fields.bytesMax, alignment: 1) { scratch in
                    let written = fields.write(to: UnsafeMutableRawBufferPointer(rebasing: scratch[countBytes...]))
                    if bytes.isEmpty {
                        // The first activity makes the array at its exact size (most credits
                        // never grow), count and all, in one copy.
                        scratch.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 0, as: UInt32.self)
                        bytes = Array(UnsafeRawBufferPointer(rebasing: scratch[..<(countBytes + written)]))
                        return
                    }
                    // Later ones grow it to the size needed while it is short (most histories
                    // stay a few activities long, and doubling left a third of them empty), then
                    // by doubling, so a long history is not copied on every append.
                    if bytes.capacity < bytes.count + written {
                        let needed = bytes.count + written
                        bytes.reserveCapacity(needed <= ActivityLog.exactGrowthBytesMax ? needed : max(needed, bytes.count * 2))
                    }
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[countBytes..<(countBytes + written)]))
                    bytes.withUnsafeMutableBytes { raw in
                        raw.storeBytes(of: UInt32(oldCount + 1).littleEndian, toByteOffset: 0, as: UInt32.self)
                    }
                }
            }
        }
    }

    /// Asks the CPU for the first cache lines of the packed bytes of the history at `log` (their
    /// array's header and first activity, which `append` reads, and a short history whole): a
    /// hint, which changes nothing. The array's reference is read as a raw word, so the bytes are
    /// not retained: a retain would write to them, waiting for the very cache miss this is to
    /// spare. (It relies on an array being one reference to storage whose elements start 32
    /// bytes in, as on every 64-bit platform Swift has; were that to change, the hint would ask
    /// for the wrong lines, and nothing else would change.)
    static func prefetch(at log: UnsafeRawPointer) {
        guard let storage = log.load(as: UnsafeRawPointer?.self) else { return }
        var line = UnsafeRawPointer(bitPattern: Int(bitPattern: storage) & ~63)!
        let end = storage + arrayHeaderBytes + prefetchBytesMax
        while line < end {
            creditd_prefetch(line)
            line += 64
        }
    }

    /// Bytes of an array's storage before its first element (on 64-bit platforms).
    private static let arrayHeaderBytes = 32

    /// Bytes of a history `prefetch` asks for at most: most histories are shorter, and `append`
    /// reads only the first activity and the end.
    private static let prefetchBytesMax = 96

    /// The first activity's instant in milliseconds, nil while there is none.
    private var firstAt: Int64? {
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBytes { raw in
            var source = ByteSource(UnsafeRawBufferPointer(rebasing: raw[(ActivityLog.countBytes + 1)...]))
            return source.signedVarint()
        }
    }

    /// Calls `body` with the UTF-8 bytes of `text`, or nil.
    private static func withUTF8<R>(_ text: inout String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard text != nil else { return body(nil) }
        return text!.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes the activity at `source`; `base` is the first activity's instant, set by it.
    private static func decode(_ source: inout ByteSource, seq: UInt32, base: inout Int64) -> Activity {
        let tag = source.byte()
        guard let kind = ActivityKind(packedCode: tag & kindMask) else { preconditionFailure("packed activity kind") }
        let at = base &+ source.signedVarint()
        if seq == 1 { base = at }
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
        let delta: Int64
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
            out.signedVarint(delta)
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
