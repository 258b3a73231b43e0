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

    /// Writes `key=` an amount as `formatAmount` spells it in `currency` (`-12.50`).
    mutating func field(_ key: StaticString, _ amount: MinorUnits, in currency: Currency) {
        let (negative, magnitude, minorDigits) = (amount.value < 0, amount.value.magnitude, currency.minorDigits)
        let value = startField(key, valueLength: ASCIIFormat.amountByteCount(negative: negative, magnitude: magnitude,
                                                                            minorDigits: minorDigits))
        ASCIIFormat.writeAmount(negative: negative, magnitude: magnitude, minorDigits: minorDigits, into: value)
    }

    /// Writes `key=` an instant as `Instant.rfc3339` spells it: `2026-11-28T10:00:00Z`, with
    /// `.mmm` before the `Z` when the milliseconds are not zero.
    mutating func field(_ key: StaticString, _ instant: Instant) {
        let (date, secondOfDay, millis) = instant.civilParts
        guard (0...9999).contains(date.year) else {
            // No deadline a till could be given, but spelled the same.
            return field(key, text: instant.rfc3339)
        }
        let time = (secondOfDay: secondOfDay, millis: millis)
        let value = startField(key, valueLength: ASCIIFormat.dateByteCount(time: time))
        ASCIIFormat.writeDate(year: date.year, month: date.month, day: date.day, time: time, into: value)
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

    /// Writes `key=` a prefix (`cr_`) then a number's digits (an amount with no minor digits).
    private mutating func numberedID(_ key: StaticString, _ prefix: StaticString, _ number: UInt64) {
        let prefixLength = prefix.utf8CodeUnitCount
        let digitCount = ASCIIFormat.amountByteCount(negative: false, magnitude: number, minorDigits: 0)
        let value = startField(key, valueLength: prefixLength + digitCount)
        value.copyMemory(from: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefixLength))
        ASCIIFormat.writeAmount(negative: false, magnitude: number, minorDigits: 0,
                                into: UnsafeMutableRawBufferPointer(rebasing: value[prefixLength...]))
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
}
