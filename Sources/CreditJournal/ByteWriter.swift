// ByteWriter: appends little-endian integers and length-prefixed fields to a byte buffer.

/// Builds a byte buffer field by field: fixed-width integers little-endian, variable-length
/// fields (`bytes`, `string`) behind a u32 length prefix. The mirror image of `ByteReader`.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var buffer: [UInt8]

    /// Makes an empty writer, reserving `capacity` bytes up front.
    public init(capacity: Int = 0) {
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    /// Number of bytes written so far.
    public var count: Int { buffer.count }

    /// Empties the buffer, keeping its storage for reuse.
    public mutating func removeAll() {
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends one byte.
    public mutating func u8(_ value: UInt8) {
        buffer.append(value)
    }

    /// Appends a u16, little-endian.
    public mutating func u16(_ value: UInt16) {
        integer(value)
    }

    /// Appends a u32, little-endian.
    public mutating func u32(_ value: UInt32) {
        integer(value)
    }

    /// Appends a u64, little-endian.
    public mutating func u64(_ value: UInt64) {
        integer(value)
    }

    /// Appends an i64 (two's complement), little-endian.
    public mutating func i64(_ value: Int64) {
        integer(value)
    }

    /// Appends a bool as one byte, 0 or 1.
    public mutating func bool(_ value: Bool) {
        buffer.append(value ? 1 : 0)
    }

    /// Appends a u32 byte count, then the bytes.
    public mutating func bytes(_ value: [UInt8]) {
        value.withUnsafeBytes { lengthPrefixed($0) }
    }

    /// Appends a u32 byte count, then the bytes of the slice.
    public mutating func bytes(_ value: ArraySlice<UInt8>) {
        value.withUnsafeBytes { lengthPrefixed($0) }
    }

    /// Appends a u32 UTF-8 byte count, then the UTF-8 bytes.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in lengthPrefixed(UnsafeRawBufferPointer(utf8)) }
    }

    /// Appends bytes as they are, with no length prefix (for fixed-size fields such as digests).
    public mutating func raw(_ value: [UInt8]) {
        buffer.append(contentsOf: value)
    }

    /// Appends a presence byte (0 absent, 1 present), then the value with `write` if present.
    public mutating func optional<T>(_ value: T?, _ write: (inout ByteWriter, T) -> Void) {
        guard let value else {
            bool(false)
            return
        }
        bool(true)
        write(&self, value)
    }

    /// Appends a fixed-width integer, little-endian.
    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// Appends a u32 length then the bytes; a field over 4 GiB is a caller bug.
    private mutating func lengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= Int(UInt32.max), "a length-prefixed field must fit a u32 length")
        u32(UInt32(bytes.count))
        buffer.append(contentsOf: bytes)
    }
}
