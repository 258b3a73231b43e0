// DecodeError: why and where a ByteReader refused its input.

/// A decoding failure: truncated input, invalid UTF-8, an over-long length or an invalid value.
public struct DecodeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was wrong, e.g. "need 8 bytes for u64, 3 remain".
    public let message: String

    /// Byte offset, from the start of the reader's input, of the read that failed.
    public let offset: Int

    /// Makes an error for a read that failed at `offset`.
    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    /// A log line naming the offset and the reason.
    public var description: String {
        "decode error at offset \(offset): \(message)"
    }
}
