// ReplyWriter: a short one-line reply written straight into its bytes, with no strings on the way.

/// Writes a reply with no item lines (HOLD, CAPTURE and VOID of one credit, the replies tills ask
/// for most) in `ReplyLayout`'s bytes: on the stack, then copied into the reply's array of
/// exactly its size. Ids, amounts and instants are written as digits where they go, in the
/// spelling the ids' `description`, `formatAmount` and `Instant.rfc3339` give: building a
/// `String` for each, a `Field` of two and an array of those was more of a HOLD's work than the
/// ledger's rules.
///
///     let reply = ReplyWriter.reply { writer in
///         writer.field("hold", id)
///         writer.field("amount", amount, in: currency)
///     }
struct ReplyWriter {
    /// Most fields a written reply has: room for the longest of the replies written this way
    /// (seven fields), with some to spare.
    static let fieldCountMax = 12
    /// Longest key: reply keys are short words.
    static let keyBytesMax = 16
    /// Longest value: an id (`cr_` and 20 digits), an amount (a sign, 19 digits and a point), an
    /// instant's RFC 3339 text (at most 30 bytes for any `Int64` of milliseconds), or a short
    /// word such as a currency code.
    static let valueBytesMax = 32
    /// The stack buffer: the layout's two counts, then each field at its largest (two lengths,
    /// the key and the value).
    static let bytesMax = 2 * ReplyLayout.countByteCount
        + fieldCountMax * (2 * ReplyLayout.countByteCount + keyBytesMax + valueBytesMax)

    /// The stack buffer, `bytesMax` bytes.
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private var offset: Int
    /// Fields written so far.
    private var fieldCount = 0

    /// The reply `write` writes, one field at a time.
    static func reply(_ write: (inout ReplyWriter) -> Void) -> Reply {
        Reply(layoutBytes: ByteArrays.make(byteCount: bytesMax) { buffer in
            var writer = ReplyWriter(buffer: buffer)
            write(&writer)
            return writer.finish()
        })
    }

    private init(buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.bytesMax, "a reply writer writes into a buffer of bytesMax bytes")
        self.buffer = buffer
        // No item lines; the OK line's field count is written by `finish`.
        buffer.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)
        offset = 2 * ReplyLayout.countByteCount
    }

    /// Writes `key=` a credit id (`cr_12`).
    mutating func field(_ key: StaticString, _ id: CreditID) {
        numberedID(key, "cr_", id.number)
    }

    /// Writes `key=` a hold id (`hd_12`).
    mutating func field(_ key: StaticString, _ id: HoldID) {
        numberedID(key, "hd_", id.number)
    }

    /// Writes `key=` an amount as `formatAmount` spells it in `currency`: `-`, the integer
    /// digits (at least `0`), then `.` and exactly the currency's minor digits.
    mutating func field(_ key: StaticString, _ amount: MinorUnits, in currency: Currency) {
        let minorDigits = currency.minorDigits
        precondition(minorDigits >= 0 && minorDigits < 8, "minor digits out of range")
        let magnitude = amount.value.magnitude
        let digitCount = max(TypedValue.digitCount(of: magnitude), minorDigits + 1)
        let length = (amount.value < 0 ? 1 : 0) + digitCount + (minorDigits > 0 ? 1 : 0)
        let value = startField(key, valueLength: length)
        // Backwards from the end: the minor digits, the point, then the rest.
        var rest = magnitude
        var at = length
        for written in 0..<digitCount {
            if written == minorDigits && minorDigits > 0 {
                at -= 1
                value[at] = UInt8(ascii: ".")
            }
            at -= 1
            value[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        if amount.value < 0 { value[0] = UInt8(ascii: "-") }
    }

    /// Writes `key=` an instant as `Instant.rfc3339` spells it: `2026-11-28T10:00:00Z`, with
    /// `.mmm` before the `Z` when the milliseconds are not zero.
    mutating func field(_ key: StaticString, _ instant: Instant) {
        let seconds = instant.millis >= 0 ? instant.millis / 1000 : (instant.millis - 999) / 1000
        let subsecond = instant.millis - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        guard (0...9999).contains(date.year) else {
            // No deadline a till could be given, but spelled the same.
            return field(key, text: instant.rfc3339)
        }
        let value = startField(key, valueLength: subsecond == 0 ? 20 : 24)
        Self.put(date.year, width: 4, at: 0, in: value)
        value[4] = UInt8(ascii: "-")
        Self.put(date.month, width: 2, at: 5, in: value)
        value[7] = UInt8(ascii: "-")
        Self.put(date.day, width: 2, at: 8, in: value)
        value[10] = UInt8(ascii: "T")
        Self.put(secondOfDay / 3600, width: 2, at: 11, in: value)
        value[13] = UInt8(ascii: ":")
        Self.put(secondOfDay / 60 % 60, width: 2, at: 14, in: value)
        value[16] = UInt8(ascii: ":")
        Self.put(secondOfDay % 60, width: 2, at: 17, in: value)
        if subsecond != 0 {
            value[19] = UInt8(ascii: ".")
            Self.put(subsecond, width: 3, at: 20, in: value)
        }
        value[value.count - 1] = UInt8(ascii: "Z")
    }

    /// Writes `key=text`; the text is a short word such as a currency code (at most
    /// `valueBytesMax` bytes).
    mutating func field(_ key: StaticString, text: String) {
        var text = text
        text.withUTF8 { utf8 in
            let value = startField(key, valueLength: utf8.count)
            value.copyMemory(from: UnsafeRawBufferPointer(utf8))
        }
    }

    /// Writes `key=` a prefix (`cr_`) then a number's digits.
    private mutating func numberedID(_ key: StaticString, _ prefix: StaticString, _ number: UInt64) {
        let prefixLength = prefix.utf8CodeUnitCount
        let digitCount = TypedValue.digitCount(of: number)
        let value = startField(key, valueLength: prefixLength + digitCount)
        value.copyMemory(from: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefixLength))
        var rest = number
        for at in stride(from: prefixLength + digitCount - 1, through: prefixLength, by: -1) {
            value[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
    }

    /// Counts a field and writes its key and its value's length; the value's bytes, for the
    /// caller to fill.
    private mutating func startField(_ key: StaticString, valueLength: Int) -> UnsafeMutableRawBufferPointer {
        let keyLength = key.utf8CodeUnitCount
        precondition(fieldCount < Self.fieldCountMax && keyLength <= Self.keyBytesMax && valueLength <= Self.valueBytesMax,
                     "a written reply has few fields with short keys and values")
        fieldCount += 1
        let base = buffer.baseAddress! + offset
        base.storeBytes(of: UInt32(keyLength).littleEndian, as: UInt32.self)
        (base + ReplyLayout.countByteCount).copyMemory(from: key.utf8Start, byteCount: keyLength)
        let valueLengthAt = base + ReplyLayout.countByteCount + keyLength
        valueLengthAt.storeBytes(of: UInt32(valueLength).littleEndian, as: UInt32.self)
        offset += 2 * ReplyLayout.countByteCount + keyLength + valueLength
        return UnsafeMutableRawBufferPointer(start: valueLengthAt + ReplyLayout.countByteCount, count: valueLength)
    }

    /// Writes the OK line's field count; the byte count written.
    private func finish() -> Int {
        buffer.storeBytes(of: UInt32(fieldCount).littleEndian, toByteOffset: ReplyLayout.countByteCount, as: UInt32.self)
        return offset
    }

    /// Writes `value` (not negative, and fitting) as exactly `width` digits, zero-padded.
    private static func put(_ value: Int64, width: Int, at start: Int, in bytes: UnsafeMutableRawBufferPointer) {
        var rest = value
        for at in stride(from: start + width - 1, through: start, by: -1) {
            bytes[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
    }
}
