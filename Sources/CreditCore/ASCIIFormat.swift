// ASCIIFormat: money amounts, dates and timestamps written straight into a String's storage.

/// Formats the numbers every reply carries (amounts, dates, RFC 3339 instants) by writing ASCII
/// digits into one freshly allocated String. Building them from `String(n)`, padding and `+`
/// cost more per HOLD than the ledger work itself.
enum ASCIIFormat {
    /// Longest amount text: a sign, 20 digits of a UInt64, a point and leading zeros for up to
    /// `DecimalAmount.fractionDigitsMax` minor digits.
    static let amountBytesMax = 32

    /// `magnitude` in minor units as a decimal with exactly `minorDigits` fraction digits.
    ///
    /// Written on the stack first, then copied into a string of exactly its length: a string made
    /// with room for more than 15 bytes is always a heap allocation, even when what is written
    /// would fit inline, and nearly every amount a reply carries is 15 bytes or fewer.
    static func amount(negative: Bool, magnitude: UInt64, minorDigits: Int) -> String {
        precondition(minorDigits >= 0 && minorDigits < 8, "minor digits out of range")
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: amountBytesMax) { scratch in
            // Written backwards from the end, then copied from where it starts.
            var rest = magnitude
            var start = amountBytesMax
            var written = 0
            repeat {
                if written == minorDigits && minorDigits > 0 {
                    start -= 1
                    scratch[start] = UInt8(ascii: ".")
                }
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                written += 1
            } while rest > 0 || written <= minorDigits
            if negative {
                start -= 1
                scratch[start] = UInt8(ascii: "-")
            }
            let text = UnsafeBufferPointer(rebasing: scratch[start...])
            return String(unsafeUninitializedCapacity: text.count) { buffer in
                _ = buffer.initialize(fromContentsOf: text)
                return text.count
            }
        }
    }

    /// `YYYY-MM-DD`, or with `time` `YYYY-MM-DDTHH:MM:SS[.mmm]Z`; the year must be 0...9999.
    static func date(year: Int64, month: Int64, day: Int64,
                     time: (secondOfDay: Int64, millis: Int64)? = nil) -> String {
        precondition((0...9999).contains(year), "four-digit years only")
        let capacity = time == nil ? 10 : 24
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            var at = 0
            func put(_ value: Int64, width: Int) {
                var rest = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[at + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += width
            }
            func put(byte: UInt8) {
                buffer[at] = byte
                at += 1
            }
            put(year, width: 4)
            put(byte: UInt8(ascii: "-"))
            put(month, width: 2)
            put(byte: UInt8(ascii: "-"))
            put(day, width: 2)
            guard let time else { return at }
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
            return at
        }
    }
}
