// Proves TTLs, calendar dates and RFC 3339 instants parse and print exactly, date arithmetic round-trips, and rounding goes up to the next whole second.

import CreditCore
import Testing

@Test(arguments: [("30s", Int64(30)), ("15m", 900), ("2h", 7200), ("7d", 604_800), ("1s", 1), ("3660d", 316_224_000)])
func ttlParsesCountAndUnit(_ text: String, _ seconds: Int64) {
    #expect(Seconds(ttl: text) == Seconds(seconds))
}

@Test(arguments: [
    "0s", "-1s", "5x", "s", "15", "", "1.5h", "5S", " 5s", "5s ", "5 s", "0d", "m1",
    "3661d",  // just over the 10-year parse limit
    "316224001s",  // likewise, in seconds
    "99999999999d",  // far over
    "1234567890123s",  // over 12 characters
])
func ttlRejectsMalformedZeroNegativeAndHuge(_ text: String) {
    #expect(Seconds(ttl: text) == nil, "accepted \(text.debugDescription)")
}

@Test(arguments: [(Int64(900), "15m"), (7200, "2h"), (604_800, "7d"), (90, "90s"), (172_801, "172801s"), (86_400, "1d")])
func ttlTextIsTheShortestForm(_ seconds: Int64, _ text: String) {
    #expect(Seconds(seconds).ttlText == text)
    #expect(Seconds(ttl: text) == Seconds(seconds))
}

@Test(arguments: ["2028-02-29", "2000-02-29", "1970-01-01", "9999-12-31", "2027-06-30", "2027-04-30", "2027-12-31"])
func civilDateParsesRealDates(_ text: String) throws {
    let date = try #require(CivilDate(text))
    #expect(date.description == text)
}

@Test(arguments: [
    "2027-02-29", "2100-02-29", "2027-13-01", "2027-00-10", "2027-04-31", "2027-01-00", "2027-01-32",
    "1969-12-31", "0000-01-01", "2027-6-30", "2027/06/30", "2027-06-30x", "+027-06-30", "2027-+6-30",
    "2027-06-3a", "", "27-06-30",
])
func civilDateRejectsInvalidDates(_ text: String) {
    #expect(CivilDate(text) == nil, "accepted \(text.debugDescription)")
}

@Test func civilDateFieldsAndKnownDayNumbers() throws {
    let leap = try #require(CivilDate("2028-02-29"))
    #expect(leap.year == 2028 && leap.month == 2 && leap.day == 29)
    #expect(CivilDate("1970-01-01")?.daysSinceEpoch == 0)
    #expect(CivilDate("1970-01-02")?.daysSinceEpoch == 1)
    #expect(CivilDate("2000-03-01")?.daysSinceEpoch == 11_017)
    #expect(CivilDate("2026-11-26")?.daysSinceEpoch == 20_783)
    #expect(CivilDate("2028-02-29")?.daysSinceEpoch == 21_243)
    #expect(CivilDate("2027-06-30")! < CivilDate("2027-07-01")!)
}

@Test func daysSinceEpochRoundTripsOverFourHundredYearsAndEveryDateText() throws {
    // Every day of one full Gregorian cycle, then a sparse walk to 9999-12-31.
    var previous = CivilDate(daysSinceEpoch: -1)
    var firstBadDay: Int64?
    for days in Int64(0)...146_097 {
        let date = CivilDate(daysSinceEpoch: days)
        if date.daysSinceEpoch != days || !isDayAfter(previous, date) { firstBadDay = firstBadDay ?? days }
        previous = date
    }
    #expect(firstBadDay == nil)
    let last = try #require(CivilDate("9999-12-31")).daysSinceEpoch
    var firstBadText: String?
    for days in stride(from: Int64(0), through: last, by: 97) {
        let date = CivilDate(daysSinceEpoch: days)
        if CivilDate(date.description) != date { firstBadText = firstBadText ?? "day \(days) printed as \(date)" }
    }
    #expect(firstBadText == nil)
    #expect(CivilDate(daysSinceEpoch: last).description == "9999-12-31")
}

/// True when `next` is the calendar day after `date`, by the Gregorian rules written out again here.
private func isDayAfter(_ date: CivilDate, _ next: CivilDate) -> Bool {
    let leap = (date.year % 4 == 0 && date.year % 100 != 0) || date.year % 400 == 0
    let monthLengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if date.day < monthLengths[Int(date.month - 1)] {
        return next.year == date.year && next.month == date.month && next.day == date.day + 1
    }
    if date.month < 12 { return next.year == date.year && next.month == date.month + 1 && next.day == 1 }
    return next.year == date.year + 1 && next.month == 1 && next.day == 1
}

@Test func dateBoundsAreTheStartAndEndOfTheDayUTC() throws {
    let date = try #require(CivilDate("2027-06-30"))
    #expect(date.startInstant == Instant(millis: 1_814_313_600_000))
    #expect(date.endInstant == Instant(millis: 1_814_400_000_000))
    #expect(date.endInstant.rfc3339 == "2027-07-01T00:00:00Z")
}

@Test(arguments: [
    (Int64(0), "1970-01-01T00:00:00Z"), (1500, "1970-01-01T00:00:01.500Z"), (86_399_999, "1970-01-01T23:59:59.999Z"),
    (1_795_703_400_000, "2026-11-26T14:30:00Z"), (1_795_703_400_123, "2026-11-26T14:30:00.123Z"),
    (1_795_703_400_007, "2026-11-26T14:30:00.007Z"), (1_835_395_200_000, "2028-02-29T00:00:00Z"),
    (-1, "1969-12-31T23:59:59.999Z"), (-86_400_000, "1969-12-31T00:00:00Z"),
])
func rfc3339PrintsKnownInstants(_ millis: Int64, _ text: String) {
    #expect(Instant(millis: millis).rfc3339 == text)
}

@Test(arguments: [
    (Int64(0), Int64(0)), (1000, 1000), (1001, 2000), (1999, 2000), (-1, 0), (-999, 0), (-1000, -1000),
    (-1001, -1000), (1_795_703_400_250, 1_795_703_401_000),
])
func roundedUpToSecondGoesToTheNextWholeSecond(_ millis: Int64, _ rounded: Int64) {
    #expect(Instant(millis: millis).roundedUpToSecond == Instant(millis: rounded))
}

@Test func addingSecondsMovesForwardInMilliseconds() {
    #expect(Instant(millis: 250).adding(Seconds(90)) == Instant(millis: 90_250))
    #expect(Instant(millis: 1) < Instant(millis: 2))
}
