// Fixtures shared by the fuzz targets and the seed writer, so seeds decode under the fuzzers.

import CreditCore

/// The currencies the snapshot fuzzer decodes with and the seed ledger runs on: two 2-digit
/// currencies (so FX legs appear), a 0-digit and a 3-digit one (digit-count edge cases).
public let fuzzCurrencies = CurrencyTable([
    Currency(code: "AUD", minorDigits: 2, balanceMax: MinorUnits(1_000_000)),
    Currency(code: "NZD", minorDigits: 2, balanceMax: MinorUnits(1_000_000)),
    Currency(code: "JPY", minorDigits: 0, balanceMax: MinorUnits(1_000_000)),
    Currency(code: "KWD", minorDigits: 3, balanceMax: MinorUnits(5_000_000)),
])

/// The policy the fuzzers restore ledgers with: the fixed currencies, everything else default.
public let fuzzPolicy = LedgerPolicy(currencies: fuzzCurrencies)
