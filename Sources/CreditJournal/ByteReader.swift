// ByteReader: bounds-checked reads of little-endian integers and length-prefixed fields.

/// Reads fields written by `ByteWriter` from an array or slice. Every read checks bounds and
/// throws `DecodeError` (with the offset) instead of trapping, because input comes from disk.
public struct ByteReader: Sendable {
    /// Default limit on one length-prefixed field: no field can be longer than a journal record
    /// body, so a larger length is damage, and the limit stops a bad length from allocating GiBs.
    public static let fieldBytesMaxDefault = recordBodyBytesMax

    /// The input; indices are the slice's own (not necessarily zero-based).
    private let input: ArraySlice<UInt8>

    /// Bytes consumed so far, i.e. the offset of the next read from the start of the input.
    public private(set) var offset: Int = 0

    /// Makes a reader over a whole array.
    public init(_ bytes: [UInt8]) {
        input = bytes[...]
    }

    /// Makes a reader over a slice; offsets in errors count from the slice's start.
    public init(_ bytes: ArraySlice<UInt8>) {
        input = bytes
    }

    /// Bytes not yet read.
    public var remainingCount: Int { input.count - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { remainingCount == 0 }

    /// Reads one byte.
    public mutating func u8() throws(DecodeError) -> UInt8 {
        try require(1, for: "u8")
        let value = input[input.startIndex + offset]
        offset += 1
        return value
    }

    /// Reads a little-endian u16.
    public mutating func u16() throws(DecodeError) -> UInt16 {
        try integer(UInt16.self, "u16")
    }

    /// Reads a little-endian u32.
    public mutating func u32() throws(DecodeError) -> UInt32 {
        try integer(UInt32.self, "u32")
    }

    /// Reads a little-endian u64.
    public mutating func u64() throws(DecodeError) -> UInt64 {
        try integer(UInt64.self, "u64")
    }

    /// Reads a little-endian i64 (two's complement).
    public mutating func i64() throws(DecodeError) -> Int64 {
        try integer(Int64.self, "i64")
    }

    /// Reads a bool; any byte other than 0 or 1 is an error, not "true".
    public mutating func bool() throws(DecodeError) -> Bool {
        let start = offset
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw DecodeError("invalid bool byte \(other)", offset: start)
        }
    }

    /// Reads a u32 length, then that many bytes; a length above `maxCount` is an error.
    public mutating func bytes(maxCount: Int = fieldBytesMaxDefault) throws(DecodeError) -> [UInt8] {
        Array(try lengthPrefixed(maxCount: maxCount, what: "bytes"))
    }

    /// Reads a u32 length, then that many bytes of UTF-8; invalid UTF-8 is an error.
    public mutating func string(maxBytes: Int = fieldBytesMaxDefault) throws(DecodeError) -> String {
        let start = offset
        let utf8 = try lengthPrefixed(maxCount: maxBytes, what: "string")
        // Nearly every stored string is ASCII, which is valid UTF-8 as it is: decoding it from a
        // buffer skips `String(validating:)`, whose generic path cost a third of journal replay.
        let ascii: String? = utf8.withUnsafeBufferPointer { buffer in
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : nil
        }
        if let ascii { return ascii }
        guard let value = String(validating: utf8, as: UTF8.self) else {
            throw DecodeError("invalid UTF-8 in string of \(utf8.count) bytes", offset: start)
        }
        return value
    }

    /// Reads a u32 length, then that many bytes of UTF-8, and returns the bytes without making a
    /// `String`: for callers that keep the bytes as they are. Limits and errors as `string(maxBytes:)`.
    public mutating func utf8(maxBytes: Int = fieldBytesMaxDefault) throws(DecodeError) -> ArraySlice<UInt8> {
        let start = offset
        let utf8 = try lengthPrefixed(maxCount: maxBytes, what: "string")
        guard ByteReader.isValidUTF8(utf8) else {
            throw DecodeError("invalid UTF-8 in string of \(utf8.count) bytes", offset: start)
        }
        return utf8
    }

    /// Calls `body` with the bytes not read yet (reading nothing): for a scan that then takes a
    /// checked prefix with `raw(count:)`.
    public func withRemainingBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        input[(input.startIndex + offset)...].withUnsafeBytes(body)
    }

    /// The bytes read since offset `start` (an earlier `offset`): a structure checked field by
    /// field, taken whole.
    public func consumed(since start: Int) -> ArraySlice<UInt8> {
        precondition(start >= 0 && start <= offset, "consumed bytes start at an offset already read")
        return input[(input.startIndex + start)..<(input.startIndex + offset)]
    }

    /// Reads exactly `count` bytes with no length prefix (the counterpart of `ByteWriter.raw`).
    public mutating func raw(count: Int) throws(DecodeError) -> ArraySlice<UInt8> {
        precondition(count >= 0, "a raw read needs a non-negative count")
        try require(count, for: "raw field")
        let start = input.startIndex + offset
        offset += count
        return input[start..<start + count]
    }

    /// Reads a presence byte, then the value with `read` if present.
    public mutating func optional<T>(
        _ read: (inout ByteReader) throws(DecodeError) -> T
    ) throws(DecodeError) -> T? {
        guard try bool() else { return nil }
        return try read(&self)
    }

    /// Throws unless every byte has been read: trailing bytes mean the input is not what we think.
    public func expectEnd() throws(DecodeError) {
        guard isAtEnd else {
            throw DecodeError("\(remainingCount) unexpected trailing bytes", offset: offset)
        }
    }

    /// Whether `bytes` are well-formed UTF-8, as `String(validating:)` judges, without making a
    /// `String`. ASCII, nearly every stored byte, is checked alone; the rest by the standard library.
    private static func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        let isASCII = bytes.withUnsafeBufferPointer { buffer in buffer.allSatisfy { $0 < 0x80 } }
        if isASCII { return true }
        let hadError = transcode(bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true) { _ in }
        return !hadError
    }

    /// Throws unless `count` more bytes are available.
    private func require(_ count: Int, for what: String) throws(DecodeError) {
        guard remainingCount >= count else {
            throw DecodeError("need \(count) bytes for \(what), \(remainingCount) remain", offset: offset)
        }
    }

    /// Reads a fixed-width little-endian integer.
    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what)
        let start = input.startIndex + offset
        let value = input[start..<start + size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    /// Reads a u32 length, checks it against `maxCount`, and returns that many bytes.
    private mutating func lengthPrefixed(maxCount: Int, what: String) throws(DecodeError) -> ArraySlice<UInt8> {
        let start = offset
        let length = Int(try u32())
        guard length <= maxCount else {
            throw DecodeError("\(what) length \(length) exceeds limit \(maxCount)", offset: start)
        }
        guard remainingCount >= length else {
            throw DecodeError("\(what) length \(length) but \(remainingCount) bytes remain", offset: start)
        }
        return try raw(count: length)
    }
}
