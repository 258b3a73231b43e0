// TypedValue: a reply value's text parsed, strictly, into a form that takes fewer bytes to keep.

/// A reply value in one of the shapes the ledger's replies repeat (ids, amounts, instants, masked
/// cards, a few words), as `PackedValue` keeps it in memory instead of its text.
///
/// Exactness is the parsers' job: each form's parser (`amount(parsing:)` and the rest) accepts
/// only texts in the canonical spelling the form writes back (`write(to:words:)`), so writing a
/// parsed value gives the very same bytes. A text in any other spelling (`cr_007`, `0012.50`,
/// `5.`, `+1`, `2026-02-30`, a leap second, full-width digits, a value past a form's range) is
/// not parsed and stays text. Words are not parsed here: `PackedValue` looks them up.
enum TypedValue: Equatable {
    /// `cr_` or `hd_` then a number: `0`, or up to 19 digits without a leading zero.
    case numberedID(NumberedPrefix, UInt64)
    /// An optional `-`, integer digits (`0`, or no leading zero), and optionally `.` and 1 to
    /// `fractionDigitsMax` fraction digits; at most 19 digits in all. `unscaled` is the digits
    /// without the point (`12.50` → 1250, two fraction digits). `-0.00` is negative zero.
    case amount(negative: Bool, fractionDigits: Int, unscaled: UInt64)
    /// RFC 3339 UTC as `Instant.rfc3339` writes it, `YYYY-MM-DDTHH:MM:SSZ`, or with `.mmm`
    /// before the `Z` (then `millis` is not nil, and may be 0 for `.000`); seconds since the
    /// epoch fit a u32 (1970 to 2106).
    case instant(seconds: UInt32, millis: UInt16?)
    /// `YYYY-MM-DD`, a real date, days since 1970-01-01 fitting a u16 (up to 2149).
    case date(days: UInt16)
    /// 1 to `maskedCardStarsMax` stars then four ASCII digits, as `CardNumber.masked` writes.
    case maskedCard(stars: Int, lastFour: UInt16)
    /// Three ASCII capital letters (a currency code not among the words), numbered base 26.
    case currencyCode(UInt16)
    /// The word at this index of the word list it was parsed with.
    case word(Int)

    /// The prefixes of numbered ids.
    enum NumberedPrefix: Int, CaseIterable {
        /// `cr_`, a credit.
        case credit
        /// `hd_`, a hold.
        case hold

        /// The prefix's two letters (each prefix is two letters then `_`).
        var letters: (UInt8, UInt8) {
            switch self {
            case .credit: (UInt8(ascii: "c"), UInt8(ascii: "r"))
            case .hold: (UInt8(ascii: "h"), UInt8(ascii: "d"))
            }
        }
    }

    /// Most fraction digits of an amount (`ASCIIFormat.amount` writes fewer than 8).
    static let fractionDigitsMax = 7
    /// Most stars of a masked card (a card number has at most 19 digits, four shown).
    static let maskedCardStarsMax = 15
    /// Most digits of a number kept as a u64: 19 digits never overflow one.
    static let digitCountMax = 19

    /// `cr_123`, `hd_0`; nil for leading zeros, no digits, more than 19 digits or anything after.
    @inline(__always)
    static func numberedID(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        guard text.count > 3, text[2] == UInt8(ascii: "_") else { return nil }
        let letters = (text[0], text[1])
        let prefix: NumberedPrefix
        if letters == NumberedPrefix.credit.letters {
            prefix = .credit
        } else if letters == NumberedPrefix.hold.letters {
            prefix = .hold
        } else {
            return nil
        }
        guard let number = naturalNumber(text, from: 3) else { return nil }
        return .numberedID(prefix, number)
    }

    /// `-12.50`, `0.05`, `5000`; nil for any other spelling. The integer digits, the point and
    /// the fraction digits are read in turn, then their counts checked.
    @inline(__always)
    static func amount(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        guard let first = text.first else { return nil }
        let negative = first == UInt8(ascii: "-")
        let start = negative ? 1 : 0
        var unscaled: UInt64 = 0
        var index = digits(text, from: start, into: &unscaled)
        let integerDigits = index - start
        guard integerDigits > 0, text[start] != UInt8(ascii: "0") || integerDigits == 1 else { return nil }
        var fractionDigits = 0
        if index < text.count {
            guard text[index] == UInt8(ascii: ".") else { return nil }
            index = digits(text, from: index + 1, into: &unscaled)
            fractionDigits = text.count - integerDigits - start - 1
            guard index == text.count, (1...fractionDigitsMax).contains(fractionDigits) else { return nil }
        }
        guard integerDigits + fractionDigits <= digitCountMax else { return nil }
        return .amount(negative: negative, fractionDigits: fractionDigits, unscaled: unscaled)
    }

    /// Reads ASCII digits from `start` up to the first other byte or the end, appending them to
    /// `number` (wrapping past 19 digits: callers refuse more); returns where it stopped.
    @inline(__always)
    private static func digits(_ text: UnsafeRawBufferPointer, from start: Int, into number: inout UInt64) -> Int {
        var index = start
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            number = number &* 10 &+ UInt64(digit)
            index &+= 1  // below `text.count`
        }
        return index
    }

    /// `2026-11-26T14:45:00Z` or `2026-11-26T14:45:00.250Z`; nil for any other spelling, a time
    /// that is not one (hour 24, second 60) or an instant outside 1970...2106-02-07.
    static func instant(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        guard text.count == 20 || text.count == 24, let days = daysSinceEpoch(text),
              text[10] == UInt8(ascii: "T"), text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"),
              text[text.count - 1] == UInt8(ascii: "Z"),
              let hour = fixedDigits(text, at: 11, count: 2), hour < 24,
              let minute = fixedDigits(text, at: 14, count: 2), minute < 60,
              let second = fixedDigits(text, at: 17, count: 2), second < 60
        else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        guard seconds <= Int(UInt32.max) else { return nil }
        guard text.count == 24 else { return .instant(seconds: UInt32(seconds), millis: nil) }
        guard text[19] == UInt8(ascii: "."), let millis = fixedDigits(text, at: 20, count: 3) else { return nil }
        return .instant(seconds: UInt32(seconds), millis: UInt16(millis))
    }

    /// `2027-06-30`; nil for any other spelling, a date that does not exist or one past 2149.
    static func date(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        guard text.count == 10, let days = daysSinceEpoch(text), days <= Int(UInt16.max) else { return nil }
        return .date(days: UInt16(days))
    }

    /// Days since 1970-01-01 of the `YYYY-MM-DD` that starts `text` (at least 10 bytes), nil
    /// unless it is a real date from 1970 on.
    private static func daysSinceEpoch(_ text: UnsafeRawBufferPointer) -> Int? {
        guard text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
              let year = fixedDigits(text, at: 0, count: 4), let month = fixedDigits(text, at: 5, count: 2),
              let day = fixedDigits(text, at: 8, count: 2),
              let date = CivilDate(year: Int64(year), month: Int64(month), day: Int64(day))
        else { return nil }
        return Int(date.daysSinceEpoch)
    }

    /// `************1234`; nil unless 1 to 15 stars are followed by exactly four ASCII digits.
    static func maskedCard(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        let stars = text.count - 4
        guard (1...maskedCardStarsMax).contains(stars), let lastFour = fixedDigits(text, at: stars, count: 4) else { return nil }
        var index = 0
        while stars - index >= 8 {  // eight stars at a time
            guard text.loadUnaligned(fromByteOffset: index, as: UInt64.self) == 0x2A2A_2A2A_2A2A_2A2A else { return nil }
            index += 8
        }
        while index < stars {
            guard text[index] == UInt8(ascii: "*") else { return nil }
            index += 1
        }
        return .maskedCard(stars: stars, lastFour: UInt16(lastFour))
    }

    /// `AUD`: three ASCII capital letters.
    @inline(__always)
    static func currencyCode(parsing text: UnsafeRawBufferPointer) -> TypedValue? {
        guard text.count == 3 else { return nil }
        var number = 0
        for byte in text {
            guard byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") else { return nil }
            number = number * 26 + Int(byte - UInt8(ascii: "A"))
        }
        return .currencyCode(UInt16(number))
    }

    /// The number spelled by `text[start...]`: `0`, or 1 to 19 ASCII digits not starting with
    /// `0`; nil for anything else (no digits included).
    @inline(__always)
    private static func naturalNumber(_ text: UnsafeRawBufferPointer, from start: Int) -> UInt64? {
        let count = text.count - start
        guard count > 0, count <= digitCountMax, text[start] != UInt8(ascii: "0") || count == 1 else { return nil }
        var number: UInt64 = 0
        guard digits(text, from: start, into: &number) == text.count else { return nil }  // 19 digits: no wrap
        return number
    }

    /// The number spelled by exactly `count` ASCII digits at `start` (leading zeros allowed:
    /// fixed-width fields such as a month are written zero-padded).
    @inline(__always)
    private static func fixedDigits(_ text: UnsafeRawBufferPointer, at start: Int, count: Int) -> Int? {
        var number = 0
        for index in start..<(start + count) {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            number = number &* 10 &+ Int(digit)  // at most 4 digits
        }
        return number
    }
}
