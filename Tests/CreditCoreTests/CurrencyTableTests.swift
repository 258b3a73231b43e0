// Proves the currency table parses codes, digits and maximum balances exactly, and rejects bad lines by line number and an empty table.

import CreditCore
import Testing

@Test func goodTableParsesEveryCurrencyWithCommentsBlankLinesAndTabs() throws {
    let text = """
        # code digits max
        AUD 2 10000.00

        JPY\t0 1000000   # yen
        KWD 3 5000.000
        EUR 2 250
        """
    let table = try CurrencyTable.parse(text)
    #expect(table.byCode.count == 4)
    let aud = try #require(table["AUD"])
    #expect(aud.minorDigits == 2)
    #expect(aud.balanceMax == MinorUnits(1_000_000))
    #expect(table["JPY"]?.minorDigits == 0)
    #expect(table["JPY"]?.balanceMax == MinorUnits(1_000_000))
    #expect(table["KWD"]?.minorDigits == 3)
    #expect(table["KWD"]?.balanceMax == MinorUnits(5_000_000))
    #expect(table["EUR"]?.balanceMax == MinorUnits(25_000))
    #expect(table["USD"] == nil)
    #expect(table["aud"] == nil)
}

@Test func tableAcceptsTheBalanceCeilingExactly() throws {
    let table = try CurrencyTable.parse("AUD 2 10000000000000.00")
    #expect(table["AUD"]?.balanceMax == Currency.balanceCeiling)
}

@Test(arguments: [
    ("AUD 2 100.00\nJPY 0\n", "currency table line 2: expected `CODE DIGITS MAX_BALANCE`"),
    ("AUD 2 100.00 extra", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("# header\n\naud 2 100.00", "currency table line 3: expected `CODE DIGITS MAX_BALANCE`"),
    ("AUDX 2 100.00", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("A1D 2 100.00", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("XAU 5 1", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("AUD two 100.00", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("AUD -1 100", "currency table line 1: expected `CODE DIGITS MAX_BALANCE`"),
    ("AUD 2 12.345", "currency table line 1: bad maximum balance 12.345"),
    ("JPY 0 100.5", "currency table line 1: bad maximum balance 100.5"),
    ("AUD 2 0", "currency table line 1: bad maximum balance 0"),
    ("AUD 2 -5", "currency table line 1: bad maximum balance -5"),
    ("AUD 2 lots", "currency table line 1: bad maximum balance lots"),
    ("JPY 0 1\nAUD 2 10000000000000.01", "currency table line 2: bad maximum balance 10000000000000.01"),
])
func badLineIsRejectedNamingItsLine(_ text: String, _ message: String) {
    #expect(throws: ConfigError(message)) { try CurrencyTable.parse(text) }
}

@Test(arguments: ["", "\n\n", "# nothing configured\n   \n"])
func emptyTableIsRejected(_ text: String) {
    #expect(throws: ConfigError("currency table is empty")) { try CurrencyTable.parse(text) }
}

@Test func currencyCodesAreThreeUpperCaseASCIILetters() {
    #expect(Currency.isCode("AUD"))
    #expect(!Currency.isCode("AU"))
    #expect(!Currency.isCode("AUDD"))
    #expect(!Currency.isCode("Aud"))
    #expect(!Currency.isCode("ÄUD"))
    #expect(!Currency.isCode(""))
}

@Test func crlfTablesParseAndDuplicatesAndSignedDigitsAreRefused() throws {
    let table = try CurrencyTable.parse("AUD 2 100.00\r\nJPY 0 1000\r\n")
    #expect(table["AUD"]?.minorDigits == 2 && table["JPY"]?.balanceMax == MinorUnits(1000))
    #expect(throws: ConfigError.self) { try CurrencyTable.parse("AUD 2 100.00\nAUD 2 200.00\n") }
    #expect(throws: ConfigError.self) { try CurrencyTable.parse("AUD +2 100.00\n") }
    #expect(throws: ConfigError.self) { try CurrencyTable.parse("CLF 4 999999999999999\n") }
}
