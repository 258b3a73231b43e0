// ASCIIFormat: money amounts, dates and timestamps written straight into a String's storage or a reply's bytes.

/// Formats the numbers every reply carries (amounts, dates, RFC 3339 instants) by writing ASCII
/// digits into one freshly allocated String, or (`writeAmount`, `writeDate`) straight into the
/// bytes of a reply `ReplyWriter` writes. Building them from `String(n)`, padding and `+` cost
/// more per HOLD than the ledger work itself.
enum ASCIIFormat {
    /// `magnitude` in minor units as a decimal with exactly `minorDigits` fraction digits.
    ///
    /// Written straight into a string of exactly its length: a string made with room for more
    /// than 15 bytes is always a heap allocation, even when what is written would fit inline,
    /// and nearly every amount a reply carries is 15 bytes or fewer.
    static func amount(negative: Bool, magnitude: UInt64, minorDigits: Int) -> String {
        let count = amountByteCount(negative: negative, magnitude: magnitude, minorDigits: minorDigits)
        return String(unsafeUninitializedCapacity: count) { buffer in
            writeAmount(negative: negative, magnitude: magnitude, minorDigits: minorDigits,
                        into: UnsafeMutableRawBufferPointer(buffer))
            return count
        }
    }

    /// The byte count of `amount`'s text: the sign, at least `minorDigits + 1` digits, the point.
    static func amountByteCount(negative: Bool, magnitude: UInt64, minorDigits: Int) -> Int {
        precondition(minorDigits >= 0 && minorDigits < 8, "minor digits out of range")
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return (negative ? 1 : 0) + max(digits, minorDigits + 1) + (minorDigits > 0 ? 1 : 0)
    }

    /// Writes `amount`'s text into `bytes`, which must be exactly `amountByteCount` long
    /// (`ReplyWriter` writes it straight into a reply this way).
    static func writeAmount(negative: Bool, magnitude: UInt64, minorDigits: Int, into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count == amountByteCount(negative: negative, magnitude: magnitude, minorDigits: minorDigits),
                     "an amount fills exactly its bytes")
        // Backwards from the end: the minor digits, the point, then the rest.
        var rest = magnitude
        var at = bytes.count
        var written = 0
        repeat {
            if written == minorDigits && minorDigits > 0 {
                at -= 1
                bytes[at] = UInt8(ascii: ".")
            }
            at -= 1
            bytes[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            written += 1
        } while rest > 0 || written <= minorDigits
        if negative { bytes[0] = UInt8(ascii: "-") }
    }

    /// `YYYY-MM-DD`, or with `time` `YYYY-MM-DDTHH:MM:SS[.mmm]Z`; the year must be 0...9999.
    static func date(year: Int64, month: Int64, day: Int64,
                     time: (secondOfDay: Int64, millis: Int64)? = nil) -> String {
        let count = dateByteCount(time: time)
        return String(unsafeUninitializedCapacity: count) { buffer in
            writeDate(year: year, month: month, day: day, time: time, into: UnsafeMutableRawBufferPointer(buffer))
            return count
        }
    }

    /// The byte count of `date`'s text: 10, 20 with a time, 24 with milliseconds.
    static func dateByteCount(time: (secondOfDay: Int64, millis: Int64)?) -> Int {
        guard let time else { return 10 }
        return time.millis != 0 ? 24 : 20
    }

    /// Writes `date`'s text into the start of `bytes` (at least `dateByteCount` long).
    static func writeDate(year: Int64, month: Int64, day: Int64, time: (secondOfDay: Int64, millis: Int64)?,
                          into bytes: UnsafeMutableRawBufferPointer) {
        precondition((0...9999).contains(year), "four-digit years only")
        precondition(bytes.count >= dateByteCount(time: time), "room for the date's text")
        var at = 0
        func put(_ value: Int64, width: Int) {
            var rest = value
            for offset in stride(from: width - 1, through: 0, by: -1) {
                bytes[at + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            at += width
        }
        func put(byte: UInt8) {
            bytes[at] = byte
            at += 1
        }
        put(year, width: 4)
        put(byte: UInt8(ascii: "-"))
        put(month, width: 2)
        put(byte: UInt8(ascii: "-"))
        put(day, width: 2)
        guard let time else { return }
        put(byte: UInt8(ascii: "T"))
        put(time.secondOfDay / 3600, width: 2)
        put(byte: UInt8(ascii: ":"))
        put(time.secondOfDay / 60 % 60, width: 2)
        put(byte: UInt8(ascii: ":"))
        put(time.secondOfDay % 60, width: 2)
        if time.millis != 0 {
            put(byte: UInt8(ascii: "."))
            put(time.millis, width: 3)
        }
        put(byte: UInt8(ascii: "Z"))
    }
}
