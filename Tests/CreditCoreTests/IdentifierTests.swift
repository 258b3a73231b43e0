// Proves credit and hold ids parse only their own canonical `cr_<n>`/`hd_<n>` form and print back, and profile ids, refs and masked cards follow their character and length rules.

import CreditCore
import Testing

@Test(arguments: ["cr_1", "cr_9", "cr_10", "cr_1234567890", "cr_9999999999999999999"])
func creditIDParsesAndPrintsBack(_ text: String) throws {
    let id = try #require(CreditID(text))
    #expect(id.description == text)
    #expect(CreditID(id.number) == id)
}

@Test(arguments: ["cr_0", "cr_01", "cr_", "hd_1", "CR_1", "cr-1", "cr_-1", "cr_+1", "cr_1a", " cr_1", "cr_1 ", "1", "", "cr_١",
                  "c", "cr", "cr_12345678901234567890", "cr_99999999999999999999", "cr_\u{301}1", "cr_1\u{301}", "c\u{302}r_1",
                  "cr_\u{FF11}", "cr_1\0"])
func creditIDRejectsOtherForms(_ text: String) {
    #expect(CreditID(text) == nil, "accepted \(text.debugDescription)")
}

@Test func holdIDParsesOnlyItsOwnPrefix() throws {
    let id = try #require(HoldID("hd_7"))
    #expect(id.number == 7)
    #expect(id.description == "hd_7")
    #expect(HoldID("cr_7") == nil)
    #expect(HoldID("hd_0") == nil)
    #expect(HoldID("hd_07") == nil)
    #expect(HoldID("hd_") == nil)
    #expect(HoldID(UInt64(42)).description == "hd_42")
}

@Test func idsPrintEveryNumberAsInterpolationWould() {
    var numbers: [UInt64] = [0, 1, 9, 10, 99, 100, 1 << 32, UInt64(Int64.max), .max - 1, .max]
    var power: UInt64 = 1
    while power <= UInt64.max / 10 {
        power *= 10
        numbers += [power - 1, power, power + 1]
    }
    for number in numbers {
        #expect(CreditID(number).description == "cr_\(number)")
        #expect(HoldID(number).description == "hd_\(number)")
    }
}

@Test func idsOrderByNumberNotText() {
    #expect(CreditID(2) < CreditID(10))
    #expect(HoldID(9) < HoldID(10))
}

@Test(arguments: ["a", "cust-42", "user@example.com", "crm:1.2_3", "A9", String(repeating: "x", count: 64)])
func profileIDAcceptsTokens(_ text: String) throws {
    #expect(try #require(ProfileID(text)).description == text)
}

@Test(arguments: ["", String(repeating: "x", count: 65), "a b", "a/b", "a#b", "a=b", "é", "a\n", "a,b", "a\u{0}"])
func profileIDRejectsOtherCharactersAndLengths(_ text: String) {
    #expect(ProfileID(text) == nil, "accepted \(text.debugDescription)")
}

@Test(arguments: ["r", "till-7/2026-11-26#0001", "a/b", "a#b", "x@y:z.w_v", String(repeating: "r", count: 64)])
func refAcceptsTokens(_ text: String) throws {
    #expect(try #require(Ref(text)).text == text)
}

@Test(arguments: ["", String(repeating: "r", count: 65), "a b", "a,b", "a=b", "é", "a\tb", "a?b"])
func refRejectsOtherCharactersAndLengths(_ text: String) {
    #expect(Ref(text) == nil, "accepted \(text.debugDescription)")
}

@Test func cardKeysMaskAllButTheLastFourDigits() {
    #expect(Fixture.card(1234).masked == "************1234")
    #expect(Fixture.card(7, length: 12).masked == "********0007")
    #expect(Fixture.card(98_765, length: 19).masked == "***************8765")
}

@Test func digestBytesRoundTripBigEndianPerWord() {
    let bytes = (0..<32).map { UInt8($0 * 7 + 1) }
    let digest = Digest32(bytes: bytes)
    #expect(digest.bytes == bytes)
    #expect(digest.w0 == 0x0108_0F16_1D24_2B32)
    #expect(digest.constantTimeEquals(Digest32(bytes: bytes)))
    var other = bytes
    other[31] ^= 1
    #expect(!digest.constantTimeEquals(Digest32(bytes: other)))
    #expect(digest != Digest32(bytes: other))
}

@Test func refsAndProfileIDsAcceptExactlyLettersDigitsAndTheirPunctuationAtEveryPosition() {
    let isAlphanumeric = { (byte: UInt8) in
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
    for byte in UInt8(0)...UInt8(127) {
        let character = String(decoding: [byte], as: UTF8.self)
        for text in [character, "a" + character, character + "z", "ab" + character + "cd"] {
            #expect((Ref(text) != nil) == (isAlphanumeric(byte) || "_.:/@#-".utf8.contains(byte)), "ref \(text.debugDescription)")
            #expect((ProfileID(text) != nil) == (isAlphanumeric(byte) || "_.:@-".utf8.contains(byte)), "profile \(text.debugDescription)")
        }
    }
    for text in ["é", "aé", "日本", "a\u{80}", "a🎁"] {
        #expect(Ref(text) == nil && ProfileID(text) == nil, "accepted \(text.debugDescription)")
    }
}

@Test(arguments: ["0000", "0042", "0999", "1000", "9999", "1234"])
func cardKeysKeepTheLastFourDigitsWithTheirLeadingZeros(_ last4: String) {
    let keys = CardKeys(cardDigest: Digest32(w0: 1, w1: 2, w2: 3, w3: 4), pinDigest: Digest32(w0: 5, w1: 6, w2: 7, w3: 8),
                        last4: last4, length: 16)
    #expect(keys.last4 == last4 && keys.length == 16 && keys.masked == "************" + last4)
}

/// The id grammar as a reference: prefix, then 1–19 ASCII digits with no leading zero.
private func referenceNumber(_ text: String, prefix: String) -> UInt64? {
    let bytes = Array(text.utf8)
    let prefixBytes = Array(prefix.utf8)
    guard bytes.count > prefixBytes.count, Array(bytes[..<prefixBytes.count]) == prefixBytes else { return nil }
    let digits = bytes[prefixBytes.count...]
    guard digits.count <= 19, digits.first != UInt8(ascii: "0"), digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
    return UInt64(String(decoding: digits, as: UTF8.self))
}

@Test func idsParseExactlyAsTheGrammarSaysForMixedTexts() {
    let pieces = ["cr_", "hd_", "c", "r", "_", "0", "1", "9", "12345", "9999999999", "\u{301}", "é", "١", " ", "-", "x"]
    var rng = SplitMix64(seed: 5000)
    for _ in 0..<5000 {
        let text = (0..<rng.below(7)).map { _ in pieces[rng.below(pieces.count)] }.joined()
        #expect(CreditID(text)?.number == referenceNumber(text, prefix: "cr_"), "\(text.debugDescription)")
        #expect(HoldID(text)?.number == referenceNumber(text, prefix: "hd_"), "\(text.debugDescription)")
    }
}
