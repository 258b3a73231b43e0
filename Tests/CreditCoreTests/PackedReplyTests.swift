// Proves that reply values packed by type come back byte for byte: every typed form (ids, amounts,
// instants, dates, masked cards, currency codes, words) takes its form and round-trips; every
// near miss (leading zeros, overflow, wrong separators, impossible dates and times, other
// scripts' digits, unknown words) stays text and round-trips; random texts round-trip and never
// pack longer than the journal layout; and realistic ISSUE, HOLD and CAPTURE replies pack smaller
// than they did with every value as text.

import Testing
@testable import CreditCore

/// The packed bytes of one value.
private func packedValue(_ text: String) -> [UInt8] {
    var text = text
    return text.withUTF8 { utf8 in
        [UInt8](unsafeUninitializedCapacity: utf8.count + 4) { buffer, count in
            var sink = ByteSink(writingInto: UnsafeMutableRawBufferPointer(buffer))
            PackedValue.pack(UnsafeRawBufferPointer(utf8), wordTable: PackedValue.wordTable, into: &sink)
            count = sink.offset
        }
    }
}

/// The text bytes a packed value unpacks to, checking the u32 length before them and that every
/// packed byte was read.
private func unpackedValue(_ packed: [UInt8]) -> [UInt8]? {
    let journal = packed.withUnsafeBytes { packed -> [UInt8] in
        var reader = ByteSource(packed)
        var counter = ByteSink(counting: ())
        PackedValue.unpack(from: &reader, into: &counter)
        return [UInt8](unsafeUninitializedCapacity: counter.offset) { buffer, count in
            var reader = ByteSource(packed)
            var sink = ByteSink(writingInto: UnsafeMutableRawBufferPointer(buffer))
            PackedValue.unpack(from: &reader, into: &sink)
            precondition(reader.isAtEnd)
            count = sink.offset
        }
    }
    guard journal.count >= 4 else { return nil }
    let length = Int(journal[0]) | Int(journal[1]) << 8 | Int(journal[2]) << 16 | Int(journal[3]) << 24
    return length == journal.count - 4 ? Array(journal[4...]) : nil
}

/// True when `text` packs and unpacks to its own bytes, no longer than the journal layout's
/// u32 length and bytes.
private func roundTrips(_ text: String) -> Bool {
    let packed = packedValue(text)
    return unpackedValue(packed) == Array(text.utf8) && packed.count <= 4 + text.utf8.count
}

/// A reply's bytes in the journal layout and packed.
private func packedReply(_ reply: Reply) -> (journal: [UInt8], packed: [UInt8]) {
    let journal = StoredReply(reply).bytes
    let packed = journal.withUnsafeBytes { journal in
        [UInt8](unsafeUninitializedCapacity: journal.count) { buffer, count in
            count = PackedReply.pack(journal, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }
    return (journal, packed)
}

/// A reply's packed byte count as it was before values were typed: every value a varint byte
/// count and its bytes.
private func packedByteCountWithTextValues(_ reply: Reply) -> Int {
    func lineBytes(_ line: [Field]) -> Int {
        line.reduce(ByteSink.varintWidth(line.count)) { total, field in
            let keyBytes = PackedReply.keys.contains(Array(field.key.utf8)) ? 1 : 1 + field.key.utf8.count
            return total + keyBytes + ByteSink.varintWidth(field.value.utf8.count) + field.value.utf8.count
        }
    }
    return reply.items.reduce(ByteSink.varintWidth(reply.items.count) + lineBytes(reply.fields)) { $0 + lineBytes($1) }
}

/// Texts that take a typed form, the tag it takes and the packed byte count.
private let typedSamples: [(text: String, tag: UInt8, bytes: Int)] = [
    ("cr_123456", 0x81, 4), ("cr_0", 0x81, 2), ("cr_1", 0x81, 2), ("hd_98765", 0x82, 4),
    ("hd_9999999999999999999", 0x82, 11),
    ("30.00", 0x92, 3), ("5000", 0x90, 3), ("12.505", 0x93, 3), ("0", 0x90, 2), ("0.00", 0x92, 2),
    ("-0.00", 0x9A, 2), ("-0", 0x98, 2), ("0.05", 0x92, 2), ("-7.5", 0x99, 2), ("4999.95", 0x92, 4),
    ("0.0000001", 0x97, 2), ("97.45", 0x92, 3), ("9999999999999999999", 0x90, 11), ("-999999999999.9999999", 0x9F, 11),
    ("2026-11-26T14:45:00Z", 0x83, 5), ("1970-01-01T00:00:00Z", 0x83, 5), ("2106-02-07T06:28:15Z", 0x83, 5),
    ("2024-02-29T23:59:59Z", 0x83, 5), ("2026-11-26T15:20:04.027Z", 0x84, 7), ("2026-11-26T15:20:04.000Z", 0x84, 7),
    ("2027-06-30", 0x85, 3), ("2024-02-29", 0x85, 3), ("1970-01-01", 0x85, 3), ("2149-06-06", 0x85, 3),
    ("************1234", 0xAC, 3), ("********0815", 0xA8, 3), ("*0000", 0xA1, 3), ("***************9999", 0xAF, 3),
    ("AUD", 0xC0, 1), ("gift", 0xC0 | 12, 1), ("taken_back", 0xC0 | 27, 1), ("XAU", 0x86, 3), ("ZZZ", 0x86, 3),
]

@Test func everyTypedFormTakesItsTagAndComesBackExactly() {
    for sample in typedSamples {
        let packed = packedValue(sample.text)
        #expect(packed.first == sample.tag && packed.count == sample.bytes, "\(sample.text) packed as \(packed)")
        #expect(roundTrips(sample.text), "\(sample.text)")
    }
    // Every word, and every fraction digit count and sign of an amount.
    for word in PackedValue.words {
        let text = String(decoding: word, as: UTF8.self)
        #expect(packedValue(text).count == 1 && roundTrips(text))
    }
    for fractionDigits in 0...7 {
        for sign in ["", "-"] {
            let text = sign + "123" + (fractionDigits == 0 ? "" : "." + String(repeating: "4", count: fractionDigits))
            #expect(packedValue(text).first == 0x90 | (sign.isEmpty ? 0 : 0x08) | UInt8(fractionDigits) && roundTrips(text))
        }
    }
}

/// Texts close to a typed form but not in its canonical spelling: each must stay text.
private let nearMisses: [String] = [
    // Ids: leading zeros, no digits, signs, too many digits, other prefixes and scripts' digits.
    "cr_007", "cr_00", "cr_", "cr_-1", "cr_+1", "cr_1x", "cr_12345678901234567890", "cr_18446744073709551616",
    "CR_1", "cr-1", "cr 1", "hd_ 1", "hd_1 ", "cr_١٢", "cr_１", "cx_1", "hd__1", "cr_1.5",
    // Amounts: leading zeros, bare points, signs, separators, exponents, too many digits.
    "0012.50", "00", "01", "-01", "-00.5", "5.", ".5", "-.5", "+5", "1.2.3", "1,000.00", "1 000", "1e5", "--1", "-",
    "- 1", "1.12345678", "12345678901234567890", "99999999999999999999", "18446744073709551616",
    "1234567890123.4567890", "٣٠.٠٠", "３０.００", "1.0 ", " 1.0", "1.0\n", "1.0\0", "1-0", "0x10", "1_000",
    // Instants: wrong case, separators, impossible times and dates, out of range, wrong widths.
    "2026-11-26T14:45:00z", "2026-11-26t14:45:00Z", "2026-11-26 14:45:00Z", "2026-11-26T24:00:00Z",
    "2026-11-26T14:60:00Z", "2026-11-26T14:45:60Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "1969-12-31T23:59:59Z", "2106-02-07T06:28:16Z",
    "9999-12-31T23:59:59Z", "2026-11-26T14:45:00.27Z", "2026-11-26T14:45:00.2700Z", "2026-11-26T14:45:00,270Z",
    "2026-11-26T14:45:00+00:00", "2026-11-26T14:45Z", "2026/11/26T14:45:00Z", "20261126T144500Z",
    "2026-11-26T14:45:00ZZ", "2026-11-26T14:45:00.27ZZ", "2026-11-26T1:45:00Z ", "2026-11-26T14:45:0１Z",
    "2026-11-26T14:45:00.-12Z", "2026-11-26T14:45:00Z\0\0\0\0", "+026-11-26T14:45:00Z", "2026-11-26T-4:45:00Z",
    // Dates: impossible, out of range, wrong widths and separators.
    "2025-02-29", "1900-02-29", "2100-02-29", "1969-12-31", "2149-06-07", "2150-01-01", "9999-12-31",
    "2026-1-01", "2026-01-1 ", "2026_11_26", "2026-11-26x", "2026-11-2６", "0000-01-01",
    // Masked cards: wrong digit counts, too many stars, letters, other scripts' digits.
    "************123", "************12345", "****************1234", "************12a4", "*************",
    "**1*1234", "*", "****", "************١٢٣٤", "************ 123", "\u{2217}1234",
    // Words and codes: case, spacing, lookalikes, NUL padding.
    "Aud", "aud", "AUD ", " AUD", "AU", "AUDD", "A1D", "ÄUD", "AUD\0", "gifts", "Gift", "gift\0", "yes\0\0",
    // Text: empty, NUL, non-ASCII, long.
    "", "\0", "\0\0\0", "naïve café ☕️", "e\u{301}", String(repeating: "x", count: 127),
    String(repeating: "x", count: 128), String(repeating: "é", count: 512),
]

@Test func nearMissesStayTextAndComeBackExactly() {
    for text in nearMisses {
        let packed = packedValue(text)
        let count = text.utf8.count
        let textTag: UInt8 = count <= PackedValue.shortTextBytesMax ? UInt8(count) : PackedValue.longTextTag
        #expect(packed.first == textTag, "\(text.debugDescription) packed as \(packed.prefix(4))")
        #expect(roundTrips(text), "\(text.debugDescription)")
        #expect(packed.count == count + (count <= PackedValue.shortTextBytesMax ? 1 : 1 + ByteSink.varintWidth(count)))
    }
}

@Test func randomTextsAndMutationsOfTypedOnesComeBackExactly() {
    var random = SplitMix64(seed: 0xC0FFEE)  // the ledger simulation's generator
    let alphabet: [Character] = ["0", "1", "2", "5", "9", "-", ".", ":", "T", "Z", "*", "c", "r", "h", "d", "_",
                                 "A", "U", "D", "é", "٣", "１", " ", "\0"]
    let seeds = typedSamples.map(\.text) + nearMisses.filter { $0.utf8.count < 40 }
    for round in 0..<20_000 {
        var characters: [Character]
        if round % 2 == 0 {
            characters = (0..<random.below(27)).map { _ in alphabet[random.below(alphabet.count)] }
        } else {
            // A typed sample or near miss with one to three characters replaced, removed or added.
            characters = Array(seeds[random.below(seeds.count)])
            for _ in 0...random.below(3) {
                let character = alphabet[random.below(alphabet.count)]
                switch random.below(3) {
                case 0 where !characters.isEmpty: characters[random.below(characters.count)] = character
                case 1 where !characters.isEmpty: characters.remove(at: random.below(characters.count))
                default: characters.insert(character, at: random.below(characters.count + 1))
                }
            }
        }
        let text = String(characters)
        #expect(roundTrips(text), "\(text.debugDescription)")
    }
    // Every masked card, date and second of a day near the ends of their ranges, and amounts by
    // the thousand.
    for lastFour in stride(from: 0, through: 9999, by: 7) {
        let digits = String(lastFour)
        #expect(roundTrips("************" + String(repeating: "0", count: 4 - digits.count) + digits))
    }
    for days in Array(0..<800) + Array(64_800...65_600) {
        #expect(roundTrips(CivilDate(daysSinceEpoch: Int64(days)).description))
    }
    for millis in stride(from: Int64(0), through: 2 * 86_400_000, by: 997) {
        #expect(roundTrips(Instant(millis: 1_795_703_400_000 + millis).rfc3339))
    }
    for units in stride(from: Int64(-20_000), through: 20_000, by: 3) {
        for minorDigits in [0, 2, 3, 4, 7] {
            #expect(roundTrips(ASCIIFormat.amount(negative: units < 0, magnitude: units.magnitude, minorDigits: minorDigits)))
        }
    }
}

@Test func typedValuesMakeIssueHoldAndCaptureRepliesSmaller() {
    // As the ledger writes them (PROTOCOL.md): a gift card bought for 5000, then held and captured.
    let issue = Reply(fields: [Field("credit", "cr_123456"), Field("type", "gift"), Field("balance", "5000.00"),
                               Field("currency", "AUD"), Field("card", "************6710")])
    let hold = Reply(fields: [Field("hold", "hd_1234567"), Field("credit", "cr_123456"), Field("amount", "0.05"),
                              Field("requested", "0.05"), Field("currency", "AUD"), Field("available", "4999.95"),
                              Field("expires", "2026-11-26T15:35:08Z")])
    let capture = Reply(fields: [Field("hold", "hd_1234567"), Field("captured", "0.05"), Field("released", "0.00"),
                                 Field("balance", "4999.95"), Field("currency", "AUD")])
    // With every value as text they packed to 51, 73 and 40 bytes; typed, to 20, 32 and 21.
    for (reply, before, bound) in [(issue, 51, 20), (hold, 73, 32), (capture, 40, 21)] {
        let (journal, packed) = packedReply(reply)
        #expect(packedByteCountWithTextValues(reply) == before)
        #expect(packed.count <= bound, "packed \(packed.count) bytes, before \(before)")
        #expect(packed.withUnsafeBytes { PackedReply.journalLayout(ofPacked: $0) } == journal)
    }
}

@Test func wholeRepliesOfTypedAndTextValuesComeBackByteForByte() {
    let values = typedSamples.map(\.text) + nearMisses
    var fields: [Field] = []
    for (index, value) in values.enumerated() {
        fields.append(Field(index % 3 == 0 ? "unheard_of_key" : "amount", value))
    }
    let reply = Reply(items: stride(from: 0, to: fields.count, by: 7).map { Array(fields[$0..<min($0 + 7, fields.count)]) },
                      fields: Array(fields.prefix(40)))
    let (journal, packed) = packedReply(reply)
    #expect(packed.withUnsafeBytes { PackedReply.journalLayout(ofPacked: $0) } == journal)
    #expect(packed.count <= journal.count)
    // Equal replies pack to equal bytes.
    #expect(packedReply(reply).packed == packed)
}

@Test func ledgerMadeIssueHoldAndCaptureRepliesPackSmaller() throws {
    // Replies as a ledger makes them: 200 gift cards of 1000 (the test currency's most), then 400 HOLD and CAPTURE pairs as
    // the load generator sends them (hold 0.10 to 0.99, capture 0.05).
    var harness = Harness()
    var bytes: [String: (before: Int, after: Int, count: Int)] = [:]
    func record(_ kind: String, _ reply: Reply) {
        let old = bytes[kind] ?? (0, 0, 0)
        bytes[kind] = (old.before + packedByteCountWithTextValues(reply), old.after + packedReply(reply).packed.count,
                       old.count + 1)
    }
    var credits: [CreditID] = []
    for _ in 0..<200 {
        let reply = try #require(harness.issue(.gift, "1000").appliedReply)
        record("ISSUE", reply)
        credits.append(try #require(reply.value("credit").flatMap(CreditID.init)))
    }
    for n in 0..<400 {
        harness.advance(millis: 1234)
        let held = try #require(harness.hold(credits[n * 7 % credits.count], "0.\(10 + n % 90)").appliedReply)
        record("HOLD", held)
        let hold = try #require(held.value("hold").flatMap(HoldID.init))
        record("CAPTURE", try #require(harness.capture(hold, "0.05").appliedReply))
    }
    // Averages with every value as text, then typed (ids here are short: cr_1 to cr_200).
    for (kind, bound) in [("ISSUE", 19.0), ("HOLD", 31.0), ("CAPTURE", 20.0)] {
        let total = try #require(bytes[kind])
        let (before, after) = (Double(total.before) / Double(total.count), Double(total.after) / Double(total.count))
        print("packed \(kind) reply: \(before) bytes with text values, \(after) typed")
        #expect(after <= bound && after < before * 0.6, "\(kind): \(after) bytes, \(before) before")
    }
}
