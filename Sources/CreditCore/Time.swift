// Time as the ledger sees it: instants in milliseconds, TTLs, calendar dates and RFC 3339 text.

/// A point in time: milliseconds since the Unix epoch, UTC. The ledger never reads a clock; every
/// instant comes in with the request (or from the journal on replay).
public struct Instant: Hashable, Comparable, Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let millis: Int64

    /// Wraps milliseconds since the epoch.
    public init(millis: Int64) {
        self.millis = millis
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.millis < rhs.millis }

    /// This instant moved forward by `duration`.
    public func adding(_ duration: Seconds) -> Instant {
        Instant(millis: millis + duration.value * 1000)
    }

    /// The first whole second at or after this instant, so a deadline printed to the second is
    /// exact and never earlier than asked.
    public var roundedUpToSecond: Instant {
        let remainder = millis % 1000
        if remainder == 0 { return self }
        return Instant(millis: millis - remainder + (remainder > 0 ? 1000 : 0))
    }

    /// RFC 3339 UTC text, to the second (`2026-11-26T14:30:00Z`), or with milliseconds when the
    /// instant is not on a whole second.
    public var rfc3339: String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let subsecond = millis - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        guard (0...9999).contains(date.year) else {
            var text = date.description + "T" + pad(secondOfDay / 3600) + ":" + pad(secondOfDay / 60 % 60)
                + ":" + pad(secondOfDay % 60)
            if subsecond != 0 { text += "." + pad(subsecond, width: 3) }
            return text + "Z"
        }
        return ASCIIFormat.date(year: date.year, month: date.month, day: date.day,
                                time: (secondOfDay: secondOfDay, millis: subsecond))
    }
}

/// A whole number of seconds, e.g. a hold's time to live.
public struct Seconds: Hashable, Comparable, Sendable {
    /// The count of seconds.
    public let value: Int64

    /// Wraps a count of seconds.
    public init(_ value: Int64) {
        self.value = value
    }

    public static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.value < rhs.value }

    /// Upper bound on any parsed duration: 10 years, so adding one to an instant cannot overflow.
    public static let parseMax = Seconds(10 * 366 * 86_400)

    /// Parses `30s`, `15m`, `2h` or `7d`: a positive integer and one unit letter.
    public init?(ttl text: String) {
        // Bytes, not Characters: this runs on every HOLD (twice), and grapheme breaking is slow.
        let utf8 = text.utf8
        guard let unit = utf8.last, utf8.count >= 2, utf8.count <= 12 else { return nil }
        var count: Int64 = 0
        for byte in utf8.dropLast() {
            guard byte >= 48 && byte <= 57 else { return nil }
            count = count * 10 + Int64(byte - 48)  // at most 11 digits: cannot overflow
        }
        guard count > 0 else { return nil }
        let multiplier: Int64
        switch unit {
        case UInt8(ascii: "s"): multiplier = 1
        case UInt8(ascii: "m"): multiplier = 60
        case UInt8(ascii: "h"): multiplier = 3600
        case UInt8(ascii: "d"): multiplier = 86_400
        default: return nil
        }
        guard count <= Seconds.parseMax.value / multiplier else { return nil }
        self.init(count * multiplier)
    }

    /// The shortest `NNu` text for this duration (`900` → `15m`).
    public var ttlText: String {
        if value % 86_400 == 0 { return "\(value / 86_400)d" }
        if value % 3600 == 0 { return "\(value / 3600)h" }
        if value % 60 == 0 { return "\(value / 60)m" }
        return "\(value)s"
    }
}

/// A calendar date in the proleptic Gregorian calendar, as in `expires=2027-06-30`.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Year, 1970...9999.
    public let year: Int64
    /// Month, 1...12.
    public var month: Int64 { Int64(monthOfYear) }
    /// Day of month, 1...31 (valid for the month).
    public var day: Int64 { Int64(dayOfMonth) }

    // Month and day are stored as bytes: a credit's optional expiry date then takes 16 bytes, not 32.
    private let monthOfYear: UInt8
    private let dayOfMonth: UInt8

    /// Parses `YYYY-MM-DD` for a real date between 1970-01-01 and 9999-12-31.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = Int64(String(decoding: bytes[0..<4], as: UTF8.self)),
              let month = Int64(String(decoding: bytes[5..<7], as: UTF8.self)),
              let day = Int64(String(decoding: bytes[8..<10], as: UTF8.self)),
              bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || ($0.element >= 48 && $0.element <= 57) })
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The date `year`-`month`-`day`; nil unless it is a real date between 1970-01-01 and
    /// 9999-12-31.
    init?(year: Int64, month: Int64, day: Int64) {
        guard (1970...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= CivilDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.monthOfYear = UInt8(month)
        self.dayOfMonth = UInt8(day)
    }

    /// The date of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        dayOfMonth = UInt8(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        monthOfYear = UInt8(month)
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The first instant of this date, UTC.
    public var startInstant: Instant { Instant(millis: daysSinceEpoch * 86_400_000) }

    /// The instant a credit `expires=` this date stops being usable: the end of that day, UTC.
    public var endInstant: Instant { Instant(millis: (daysSinceEpoch + 1) * 86_400_000) }

    public var description: String {
        guard (0...9999).contains(year) else { return pad(year, width: 4) + "-" + pad(month) + "-" + pad(day) }
        return ASCIIFormat.date(year: year, month: month, day: day)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

private func pad(_ value: Int64, width: Int = 2) -> String {
    var text = String(value)
    while text.count < width { text = "0" + text }
    return text
}
