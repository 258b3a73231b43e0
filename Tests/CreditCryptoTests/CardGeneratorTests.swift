// Proves generated cards and PINs have the configured shape, are Luhn-valid, distinct and uniformly random (card digits, PIN digits, and digits drawn in batches of any size), and bad configs are refused.

import CreditCrypto
import Testing

@Test func generatedCardsHavePrefixLengthAndValidCheckDigit() throws {
    let generator = try CardGenerator(prefix: "600649", length: 16, pinLength: 4)
    for _ in 0..<2_000 {
        let card = generator.makeCardNumber()
        #expect(card.digits.count == 16)
        #expect(card.digits.hasPrefix("600649"))
        #expect(Luhn.isValid(card.digits.utf8.map { $0 - UInt8(ascii: "0") }))
        #expect(CardNumber(card.digits) == card)
    }
}

@Test func generatedCardsAreDistinct() throws {
    // 17 random digits: a collision among 5,000 cards has probability about 1e-10.
    let generator = try CardGenerator(prefix: "9", length: 19, pinLength: 8)
    let cards = Set((0..<5_000).map { _ in generator.makeCardNumber() })
    #expect(cards.count == 5_000)
}

@Test func randomDigitsOfGeneratedCardsAreRoughlyUniform() throws {
    // 2,000 cards x 10 random digits = 20,000 digits. With 9 degrees of freedom a chi-square
    // above 60 has probability about 1e-9 for a fair source, so this does not flake.
    let generator = try CardGenerator(prefix: "12345", length: 16, pinLength: 4)
    var counts = [Int](repeating: 0, count: 10)
    for _ in 0..<2_000 {
        let random = generator.makeCardNumber().digits.utf8.dropFirst(5).dropLast()
        for byte in random { counts[Int(byte - UInt8(ascii: "0"))] += 1 }
    }
    let total = counts.reduce(0, +)
    #expect(total == 20_000)
    let expected = Double(total) / 10
    let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    #expect(chiSquare < 60, "digit counts \(counts) look biased")
}

@Test func generatedPINsHaveConfiguredLength() throws {
    for length in 4...8 {
        let generator = try CardGenerator(prefix: "1", length: 16, pinLength: length)
        let pin = generator.makePIN()
        #expect(pin.digits.count == length)
        #expect(PIN(pin.digits) == pin)
    }
}

@Test(arguments: [
    ("", 16, 4, "prefix"), ("123456789", 19, 4, "prefix"), ("12a4", 16, 4, "prefix"),
    ("1", 15, 4, "length 15"), ("1", 20, 4, "length 20"), ("1", 16, 3, "PIN length 3"),
    ("1", 16, 9, "PIN length 9"),
])
func cardGeneratorRejectsBadConfiguration(prefix: String, length: Int, pinLength: Int, named: String) {
    do {
        _ = try CardGenerator(prefix: prefix, length: length, pinLength: pinLength)
        Issue.record("accepted prefix \(prefix) length \(length) PIN length \(pinLength)")
    } catch let error as CryptoError {
        guard case .badConfiguration = error else { Issue.record("unexpected \(error)"); return }
        #expect(error.description.contains(named))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test(arguments: [("12345678", 16, 4), ("1", 19, 8), ("12345678", 19, 6)])
func cardGeneratorAcceptsBoundaryConfiguration(prefix: String, length: Int, pinLength: Int) throws {
    let generator = try CardGenerator(prefix: prefix, length: length, pinLength: pinLength)
    #expect(generator.makeCardNumber().digits.count == length)
}

@Test func secureRandomStaysInRange() {
    #expect(SecureRandom.bytes(0).isEmpty)
    #expect(SecureRandom.bytes(48).count == 48)
    #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    var seen = Set<UInt64>()
    for _ in 0..<1_000 {
        let value = SecureRandom.uniform(below: 7)
        #expect(value < 7)
        seen.insert(value)
    }
    #expect(seen.count == 7)
    #expect(SecureRandom.uniform(below: 1) == 0)
    #expect((0..<1_000).allSatisfy { _ in SecureRandom.digits(1)[0] <= 9 })
    #expect(SecureRandom.digits(0).isEmpty)
    for count in [1, 7, 17, 300] {
        let digits = SecureRandom.digits(count)
        #expect(digits.count == count && digits.allSatisfy { $0 <= 9 })
    }
}

/// Chi-square of digit counts against a uniform spread over 0...9 (9 degrees of freedom: above
/// 60 has probability about 1e-9 for a fair source, so tests using it do not flake).
private func chiSquare(_ digits: [UInt8]) -> Double {
    var counts = [Int](repeating: 0, count: 10)
    for digit in digits { counts[Int(digit)] += 1 }
    let expected = Double(digits.count) / 10
    return counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
}

@Test func digitsDrawnInBatchesAndPINsAreRoughlyUniform() throws {
    // Large batches (many refills of the pool) and small ones alike.
    #expect(chiSquare(SecureRandom.digits(20_000)) < 60)
    #expect(chiSquare((0..<4_000).flatMap { _ in SecureRandom.digits(5) }) < 60)
    let generator = try CardGenerator(prefix: "1", length: 16, pinLength: 8)
    let pins = (0..<2_500).flatMap { _ in generator.makePIN().digits.utf8.map { $0 - UInt8(ascii: "0") } }
    #expect(pins.count == 20_000 && chiSquare(pins) < 60)
}
