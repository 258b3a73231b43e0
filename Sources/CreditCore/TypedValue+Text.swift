// TypedValue+Text: a typed reply value written back as the exact text it was parsed from.

extension TypedValue {
    /// Longest text `write(to:words:)` writes for any value (a 20-digit id is `cr_` and 20 bytes;
    /// an instant with milliseconds, 24), so the text fits a buffer on the stack.
    static let textBytesMax = 32

    /// The canonical text of a value that is no word (`write` with no word list), made on the
    /// stack and copied into a string of exactly its length: ids go into every reply, and string
    /// interpolation cost about twice as many instructions.
    var text: String {
        precondition(!isWord, "a word's text needs its word list")
        return withUnsafeTemporaryAllocation(byteCount: Self.textBytesMax, alignment: 1) { buffer in
            var sink = ByteSink(writingInto: buffer)
            write(to: &sink, words: [])
            let written = UnsafeRawBufferPointer(rebasing: buffer[..<sink.offset])
            return String(unsafeUninitializedCapacity: written.count) { storage in
                _ = storage.initialize(from: written)
                return written.count
            }
        }
    }

    /// Whether this is a `.word`.
    private var isWord: Bool {
        if case .word = self { return true }
        return false
    }

    /// Writes the value's canonical text, the one `init(parsing:words:)` accepts for it; `words`
    /// must be the list it was parsed with.
    func write(to sink: inout ByteSink, words: [[UInt8]]) {
        switch self {
        case .numberedID(let prefix, let number):
            sink.byte(prefix.letters.0)
            sink.byte(prefix.letters.1)
            sink.byte(UInt8(ascii: "_"))
            Self.writeDigits(number, count: Self.digitCount(of: number), to: &sink)
        case .amount(let negative, let fractionDigits, let unscaled):
            Self.writeAmount(negative: negative, fractionDigits: fractionDigits, unscaled: unscaled, to: &sink)
        case .instant(let seconds, let millis):
            Self.writeInstant(seconds: Int64(seconds), millis: millis, to: &sink)
        case .date(let days):
            Self.writeDate(CivilDate(daysSinceEpoch: Int64(days)), to: &sink)
        case .maskedCard(let stars, let lastFour):
            for _ in 0..<stars { sink.byte(UInt8(ascii: "*")) }
            Self.writeDigits(UInt64(lastFour), count: 4, to: &sink)
        case .currencyCode(let number):
            sink.byte(UInt8(ascii: "A") + UInt8(number / 676))
            sink.byte(UInt8(ascii: "A") + UInt8(number / 26 % 26))
            sink.byte(UInt8(ascii: "A") + UInt8(number % 26))
        case .word(let index):
            words[index].withUnsafeBytes { sink.bytes($0) }
        }
    }

    /// `-`, the integer digits (at least `0`), then `.` and exactly `fractionDigits` digits.
    private static func writeAmount(negative: Bool, fractionDigits: Int, unscaled: UInt64, to sink: inout ByteSink) {
        if negative { sink.byte(UInt8(ascii: "-")) }
        var scale: UInt64 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        let integer = unscaled / scale
        writeDigits(integer, count: digitCount(of: integer), to: &sink)
        guard fractionDigits > 0 else { return }
        sink.byte(UInt8(ascii: "."))
        writeDigits(unscaled % scale, count: fractionDigits, to: &sink)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` before the `Z` when `millis` is not nil.
    private static func writeInstant(seconds: Int64, millis: UInt16?, to sink: inout ByteSink) {
        writeDate(CivilDate(daysSinceEpoch: seconds / 86_400), to: &sink)
        let secondOfDay = UInt64(seconds % 86_400)
        sink.byte(UInt8(ascii: "T"))
        writeDigits(secondOfDay / 3600, count: 2, to: &sink)
        sink.byte(UInt8(ascii: ":"))
        writeDigits(secondOfDay / 60 % 60, count: 2, to: &sink)
        sink.byte(UInt8(ascii: ":"))
        writeDigits(secondOfDay % 60, count: 2, to: &sink)
        if let millis {
            sink.byte(UInt8(ascii: "."))
            writeDigits(UInt64(millis), count: 3, to: &sink)
        }
        sink.byte(UInt8(ascii: "Z"))
    }

    /// `YYYY-MM-DD` (the year has four digits: typed dates and instants end before 10000).
    private static func writeDate(_ date: CivilDate, to sink: inout ByteSink) {
        writeDigits(UInt64(date.year), count: 4, to: &sink)
        sink.byte(UInt8(ascii: "-"))
        writeDigits(UInt64(date.month), count: 2, to: &sink)
        sink.byte(UInt8(ascii: "-"))
        writeDigits(UInt64(date.day), count: 2, to: &sink)
    }

    /// Writes `value` as exactly `count` ASCII digits, zero-padded; `value` must fit them.
    private static func writeDigits(_ value: UInt64, count: Int, to sink: inout ByteSink) {
        precondition(count >= 1 && count <= 20 && (count == 20 || value < power(ofTen: count)), "a number fits its digits")
        var divisor = power(ofTen: count - 1)
        for _ in 0..<count {
            sink.byte(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// Digits of `value` written without leading zeros (1 for 0). Also `ReplyWriter`'s.
    static func digitCount(of value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    /// 10 to the power `exponent` (0...19: the largest that fits a u64).
    private static func power(ofTen exponent: Int) -> UInt64 {
        var power: UInt64 = 1
        for _ in 0..<exponent { power *= 10 }
        return power
    }
}
