// ByteReader: bounds-checked reads of little-endian integers and length-prefixed fields.

/// Reads fields written by `ByteWriter` from bytes in memory. Every read checks bounds and
/// throws `DecodeError` (with the offset) instead of trapping, because input comes from disk.
///
/// The reader borrows its bytes (a record in a mapped journal segment, a mapped snapshot): it
/// must not outlive them, and what it returns as raw bytes is valid only while they are.
/// `reading(_:_:)` makes one for the length of a call over an array or slice.
public struct ByteReader {
    /// Default limit on one length-prefixed field: no field can be longer than a journal record
    /// body, so a larger length is damage, and the limit stops a bad length from allocating GiBs.
    public static let fieldBytesMaxDefault = recordBodyBytesMax

    /// The input.
    private let input: UnsafeRawBufferPointer

    /// Bytes consumed so far, i.e. the offset of the next read from the start of the input.
    public private(set) var offset: Int = 0

    /// Makes a reader over bytes that stay valid while it is used.
    public init(_ bytes: UnsafeRawBufferPointer) {
        input = bytes
    }

    /// Calls `body` with a reader over `bytes`, valid only during the call; offsets count from the
    /// slice's start.
    public static func reading<R>(
        _ bytes: ArraySlice<UInt8>, _ body: (inout ByteReader) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        let result = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return Result { () throws(DecodeError) -> R in try body(&reader) }
        }
        return try result.get()
    }

    /// `reading(_:_:)` over a whole array.
    public static func reading<R>(
        _ bytes: [UInt8], _ body: (inout ByteReader) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        try reading(bytes[...], body)
    }

    /// Bytes not yet read.
    public var remainingCount: Int { input.count - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { remainingCount == 0 }

    /// Reads one byte.
    @inline(__always)
    public mutating func u8() throws(DecodeError) -> UInt8 {
        try integer(UInt8.self, "u8")
    }

    /// Reads a little-endian u16.
    @inline(__always)
    public mutating func u16() throws(DecodeError) -> UInt16 {
        try integer(UInt16.self, "u16")
    }

    /// Reads a little-endian u32.
    @inline(__always)
    public mutating func u32() throws(DecodeError) -> UInt32 {
        try integer(UInt32.self, "u32")
    }

    /// Reads a little-endian u64.
    @inline(__always)
    public mutating func u64() throws(DecodeError) -> UInt64 {
        try integer(UInt64.self, "u64")
    }

    /// Reads a little-endian i64 (two's complement).
    @inline(__always)
    public mutating func i64() throws(DecodeError) -> Int64 {
        try integer(Int64.self, "i64")
    }

    /// Reads a bool; any byte other than 0 or 1 is an error, not "true".
    @inline(__always)
    public mutating func bool() throws(DecodeError) -> Bool {
        let start = offset
        let byte = try u8()
        guard byte <= 1 else { throw ByteReader.invalidBool(byte, at: start) }
        return byte == 1
    }

    /// The error for a bool byte other than 0 or 1 (out of line: it is cold, and every optional
    /// field's presence byte is a bool).
    @inline(never)
    private static func invalidBool(_ byte: UInt8, at offset: Int) -> DecodeError {
        DecodeError("invalid bool byte \(byte)", offset: offset)
    }

    /// Reads a u32 length, then that many bytes; a length above `maxCount` is an error.
    public mutating func bytes(maxCount: Int = fieldBytesMaxDefault) throws(DecodeError) -> [UInt8] {
        Array(try lengthPrefixed(maxCount: maxCount, what: "bytes"))
    }

    /// Reads a u32 length, then that many bytes of UTF-8; invalid UTF-8 is an error.
    public mutating func string(maxBytes: Int = fieldBytesMaxDefault) throws(DecodeError) -> String {
        let start = offset
        let field = try lengthPrefixedField(maxCount: maxBytes, what: "string")
        // Nearly every stored string is ASCII, which is valid UTF-8 as it is: decoding it from a
        // buffer skips `String(validating:)`, whose generic path cost a third of journal replay.
        let bytes = UnsafeRawBufferPointer(rebasing: input[field])
        if ByteReader.isASCII(bytes) {
            // Copied into place: up to 15 ASCII bytes become a small String with no allocation
            // and no second validation, which `String(decoding:as:)` would do.
            return String(unsafeUninitializedCapacity: bytes.count) { buffer in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                return bytes.count
            }
        }
        guard let value = String(validating: bytes, as: UTF8.self) else {
            throw DecodeError("invalid UTF-8 in string of \(bytes.count) bytes", offset: start)
        }
        return value
    }

    /// Reads a string as `string(maxBytes:)` does (same limits, same errors) and returns the case
    /// of `E` it is the raw value of; nil for any other string. Bytes spelling a case's raw value
    /// exactly are matched without making a `String` or running `E(rawValue:)`'s string switch
    /// (credit types and statuses are read in every issue record); anything else goes the
    /// `String` way, so what is accepted does not change.
    mutating func rawValueCase<E: CaseIterable & RawRepresentable>(
        of type: E.Type, maxBytes: Int
    ) throws(DecodeError) -> E? where E.RawValue == String {
        let start = offset
        let field = try lengthPrefixedField(maxCount: maxBytes, what: "string")
        let bytes = UnsafeRawBufferPointer(rebasing: input[field])
        for value in E.allCases {
            var rawValue = value.rawValue
            if rawValue.withUTF8({ $0.elementsEqual(bytes) }) { return value }
        }
        offset = start
        return E(rawValue: try string(maxBytes: maxBytes))
    }

    /// Reads a u32 length, then that many bytes of UTF-8, and returns the bytes without making a
    /// `String`: for callers that check or copy the bytes as they are (valid while the input is).
    /// Limits and errors as `string(maxBytes:)`.
    public mutating func utf8(maxBytes: Int = fieldBytesMaxDefault) throws(DecodeError) -> UnsafeRawBufferPointer {
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
        body(UnsafeRawBufferPointer(rebasing: input[offset...]))
    }

    /// The bytes read since offset `start` (an earlier `offset`): a structure checked field by
    /// field, taken whole (valid while the input is).
    public func consumed(since start: Int) -> UnsafeRawBufferPointer {
        precondition(start >= 0 && start <= offset, "consumed bytes start at an offset already read")
        return UnsafeRawBufferPointer(rebasing: input[start..<offset])
    }

    /// Reads exactly `count` bytes with no length prefix (the counterpart of `ByteWriter.raw`);
    /// valid while the input is.
    public mutating func raw(count: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        precondition(count >= 0, "a raw read needs a non-negative count")
        try require(count, for: "raw field")
        let start = offset
        offset += count
        return UnsafeRawBufferPointer(rebasing: input[start..<offset])
    }

    /// Reads exactly `count` bytes into a new array.
    public mutating func rawArray(count: Int) throws(DecodeError) -> [UInt8] {
        Array(try raw(count: count))
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
    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if ByteReader.isASCII(bytes) { return true }
        let hadError = transcode(bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true) { _ in }
        return !hadError
    }

    /// Throws unless `count` more bytes are available. `what` is a `StaticString` so that the hot
    /// path passes a constant pointer; the message is only built when the read fails.
    @inline(__always)
    private func require(_ count: Int, for what: StaticString) throws(DecodeError) {
        guard remainingCount >= count else { throw shortInput(count, for: what) }
    }

    /// The error for a read of `count` bytes that runs past the end (kept out of line: it is cold).
    @inline(never)
    private func shortInput(_ count: Int, for what: StaticString) -> DecodeError {
        DecodeError("need \(count) bytes for \(what), \(remainingCount) remain", offset: offset)
    }

    /// Reads a fixed-width little-endian integer straight from the input.
    @inline(__always)
    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ what: StaticString) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what)
        let at = offset
        let value = input.loadUnaligned(fromByteOffset: at, as: T.self)
        offset = at + size
        return T(littleEndian: value)
    }

    /// Reads a u32 length, checks it against `maxCount`, and returns that many bytes.
    private mutating func lengthPrefixed(maxCount: Int, what: StaticString) throws(DecodeError) -> UnsafeRawBufferPointer {
        let field = try lengthPrefixedField(maxCount: maxCount, what: what)
        return UnsafeRawBufferPointer(rebasing: input[field])
    }

    /// Reads a u32 length, checks it against `maxCount` and the bytes left, and moves past that
    /// many bytes; returns their offsets, for a caller that reads them in place.
    @inline(__always)
    private mutating func lengthPrefixedField(maxCount: Int, what: StaticString) throws(DecodeError) -> Range<Int> {
        let start = offset
        let length = Int(try u32())
        guard length <= maxCount else {
            throw DecodeError("\(what) length \(length) exceeds limit \(maxCount)", offset: start)
        }
        guard remainingCount >= length else {
            throw DecodeError("\(what) length \(length) but \(remainingCount) bytes remain", offset: start)
        }
        let fieldStart = offset
        offset = fieldStart + length
        return fieldStart..<offset
    }

    /// Whether every byte is ASCII (below 0x80). Eight bytes are tested at a time: the journal's
    /// strings and stored replies are checked byte by byte on every record replayed.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var highBits: UInt64 = 0
        var index = 0
        while count - index >= 8 {
            highBits |= base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        // The last zero to seven bytes: most strings are that short, so no byte-by-byte loop.
        if count - index >= 4 {
            highBits |= UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt32.self))
            index += 4
        }
        if count - index >= 2 {
            highBits |= UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt16.self))
            index += 2
        }
        if count - index >= 1 {
            highBits |= UInt64(base.load(fromByteOffset: index, as: UInt8.self))
        }
        return highBits & 0x8080_8080_8080_8080 == 0
    }
}
