// Proves the Luhn check on known numbers and that card numbers and PINs parse strictly and always print masked.

import CreditCrypto
import Testing

private func digits(_ text: String) -> [UInt8] { text.utf8.map { $0 - UInt8(ascii: "0") } }

@Test(arguments: ["4539148803436467", "4111111111111111", "378282246310005", "79927398713", "0"])
func luhnAcceptsKnownValidNumbers(_ number: String) {
    #expect(Luhn.isValid(digits(number)))
}

@Test(arguments: ["4539148803436468", "4111111111111112", "79927398710", "4539148803436476"])
func luhnRejectsCorruptedNumbers(_ number: String) {
    #expect(!Luhn.isValid(digits(number)))
}

@Test(arguments: ["4539148803436467", "4111111111111111", "378282246310005", "79927398713", "0",
                   "4539148803436468", "79927398710", "", "4539 1488", "45391488034364a7", "4539148803436467\u{0}",
                   "٤٥٣٩", "0000000000000000000"])
func luhnOnASCIITextAgreesWithLuhnOnDigits(_ text: String) {
    let isDigits = !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    let expected = isDigits && Luhn.isValid(digits(text))
    var text = text
    #expect(text.withUTF8 { Luhn.isValid(ascii: $0) } == expected)
}

@Test func luhnCheckDigitCompletesPayload() {
    #expect(Luhn.checkDigit(for: digits("7992739871")) == 3)
    #expect(Luhn.checkDigit(for: digits("453914880343646")) == 7)
    #expect(Luhn.checkDigit(for: [UInt8]()) == 0)
    #expect(!Luhn.isValid([]))
    #expect(!Luhn.isValid([1, 10, 8]))
}

@Test func cardNumberParsesOnlyLuhnValidDigitStringsOfLegalLength() {
    #expect(CardNumber("4539148803436467")?.digits == "4539148803436467")
    #expect(CardNumber("4539148803436468") == nil)  // bad check digit
    #expect(CardNumber("79927398713") == nil)  // 11 digits: too short
    #expect(CardNumber("4539 1488 0343 6467") == nil)
    #expect(CardNumber("453914880343646７") == nil)  // full-width digit
    #expect(CardNumber("") == nil)
    #expect(CardNumber("00000000000000000000") == nil)  // 20 digits: too long
    #expect(CardNumber("000000000000") != nil)  // 12 digits
    #expect(CardNumber("0000000000000000000") != nil)  // 19 digits
}

@Test func cardNumberPrintsMasked() throws {
    let card = try #require(CardNumber("4539148803436467"))
    #expect(card.last4 == "6467")
    #expect(card.masked == "************6467")
    #expect(card.description == "************6467")
    #expect("\(card)" == "************6467")
    #expect(!String(reflecting: card).contains("4539148803"))
    var dumped = ""
    dump(card, to: &dumped)
    #expect(!dumped.contains("4539148803"))
}

@Test func pinParsesFourToEightDigitsAndPrintsMasked() throws {
    #expect(PIN("123") == nil)
    #expect(PIN("123456789") == nil)
    #expect(PIN("12a4") == nil)
    #expect(PIN("12345678")?.digits == "12345678")
    let pin = try #require(PIN("9876"))
    #expect(pin.description == "****")
    #expect("\(pin)" == "****")
    #expect(!String(reflecting: pin).contains("9876"))
    var dumped = ""
    dump(pin, to: &dumped)
    #expect(!dumped.contains("9876"))
}
