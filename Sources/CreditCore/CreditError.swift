// Error codes: the stable, upper-case codes of `ERR` replies, and the error value carrying one.

/// Every error code the daemon can send. The raw value is the code on the wire; these are a
/// contract with POS vendors, so codes are only ever added, never renamed.
public enum ErrorCode: String, Sendable, CaseIterable {
    case unknownVerb = "UNKNOWN_VERB"
    case badRequest = "BAD_REQUEST"
    case badAmount = "BAD_AMOUNT"
    case badCurrency = "BAD_CURRENCY"
    case lineTooLong = "LINE_TOO_LONG"
    case notAuthenticated = "NOT_AUTHENTICATED"
    case authFailed = "AUTH_FAILED"
    case forbidden = "FORBIDDEN"
    case declined = "DECLINED"
    case notFound = "NOT_FOUND"
    case insufficientFunds = "INSUFFICIENT_FUNDS"
    case exceedsHold = "EXCEEDS_HOLD"
    case holdCaptured = "HOLD_CAPTURED"
    case holdVoided = "HOLD_VOIDED"
    case holdExpired = "HOLD_EXPIRED"
    case currencyMismatch = "CURRENCY_MISMATCH"
    case noRate = "NO_RATE"
    case creditInactive = "CREDIT_INACTIVE"
    case creditFrozen = "CREDIT_FROZEN"
    case creditCancelled = "CREDIT_CANCELLED"
    case holdsPending = "HOLDS_PENDING"
    case notTransferable = "NOT_TRANSFERABLE"
    case notReversible = "NOT_REVERSIBLE"
    case reversed = "REVERSED"
    case cardLocked = "CARD_LOCKED"
    case refConflict = "REF_CONFLICT"
    case creditExpired = "CREDIT_EXPIRED"
    case tooManyHolds = "TOO_MANY_HOLDS"
    case busy = "BUSY"
    case `internal` = "INTERNAL"
}

/// A refused request: a code and a human message. A refused request changed nothing.
public struct CreditError: Error, Equatable, Sendable {
    /// The stable code.
    public let code: ErrorCode
    /// A message for the person reading the till log or `nc`.
    public let message: String

    /// Makes an error.
    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
