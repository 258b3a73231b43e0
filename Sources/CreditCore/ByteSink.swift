// ByteSource and ByteSink: reading and writing the packed in-memory layouts (refs, replies,
// histories) with LEB128 varints, over bytes already checked.

/// Reads bytes known to be well formed (see `PackedReply`); anything short traps.
struct ByteSource {
    /// The bytes read.
    private let bytes: UnsafeRawBufferPointer
    /// Index of the next byte.
    private(set) var offset = 0

    /// A reader at the start of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// True when every byte has been read.
    var isAtEnd: Bool { offset == bytes.count }

    /// The next `count` bytes. Made from the base address once the one check has passed (a
    /// slice's `rebasing` checked its range again and cost as much as the check).
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        precondition(count >= 0 && bytes.count - offset >= count, "well-formed bytes are not cut short")
        defer { offset += count }
        return UnsafeRawBufferPointer(start: bytes.baseAddress.map { $0 + offset }, count: count)
    }

    /// A u32 byte count, then that many bytes: the bytes. One call reads both (packing a reply
    /// reads every key and value this way; `take(u32())` cost about 9 instructions a field more).
    mutating func u32Prefixed() -> UnsafeRawBufferPointer {
        let countBytes = MemoryLayout<UInt32>.size
        precondition(bytes.count - offset >= countBytes, "well-formed bytes are not cut short")
        let start = bytes.baseAddress! + offset
        let count = Int(UInt32(littleEndian: start.loadUnaligned(as: UInt32.self)))
        precondition(bytes.count - offset - countBytes >= count, "well-formed bytes are not cut short")
        offset += countBytes + count
        return UnsafeRawBufferPointer(start: start + countBytes, count: count)
    }

    /// The next byte.
    mutating func byte() -> UInt8 {
        take(1)[0]
    }

    /// The next little-endian u32, as an `Int`.
    mutating func u32() -> Int {
        Int(UInt32(littleEndian: take(MemoryLayout<UInt32>.size).loadUnaligned(as: UInt32.self)))
    }

    /// The next little-endian u16.
    mutating func u16() -> UInt16 {
        UInt16(littleEndian: take(MemoryLayout<UInt16>.size).loadUnaligned(as: UInt16.self))
    }

    /// The next little-endian u64.
    mutating func u64() -> UInt64 {
        UInt64(littleEndian: take(MemoryLayout<UInt64>.size).loadUnaligned(as: UInt64.self))
    }

    /// The next LEB128 varint of a count or length (every one fits a u32).
    mutating func varint() -> Int {
        let value = varint64()
        precondition(value <= UInt64(UInt32.max), "a count or length varint fits a u32")
        return Int(value)
    }

    /// The next LEB128 varint of up to 64 bits (as `ByteSink.varint64` writes them).
    mutating func varint64() -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = byte()
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            precondition(shift < 70, "a varint holds at most 64 bits")
        }
    }

    /// The next zigzag varint: 0, −1, 1, −2, … as 0, 1, 2, 3, … (as `ActivityLog` writes them).
    mutating func signedVarint() -> Int64 {
        let zigzag = varint64()
        return Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
    }
}

/// Writes bytes into a buffer sized beforehand, or only counts them (to size that buffer), so
/// one walk both measures and writes and the two cannot disagree.
struct ByteSink {
    /// Where bytes go; nil when only counting.
    private let base: UnsafeMutableRawPointer?
    /// Bytes there is room for from `base` (`Int.max` when only counting). Kept as a plain count
    /// rather than an optional buffer: every byte written checks it, and the optional's count
    /// cost more than the write.
    private let capacity: Int
    /// Bytes written (or counted) so far; never above `capacity`.
    private(set) var offset = 0

    /// A sink that counts and writes nothing.
    init(counting: Void) {
        base = nil
        capacity = .max
    }

    /// A sink that writes into `output` from its start.
    init(writingInto output: UnsafeMutableRawBufferPointer) {
        base = output.baseAddress
        capacity = output.count
    }

    /// Checks that `count` more bytes fit (they always do when only counting).
    @inline(__always)
    private func checkRoom(_ count: Int) {
        precondition(count >= 0 && capacity - offset >= count, "a sink's bytes fit the bytes counted")
    }

    /// Writes one byte. Inlined: packing a reply writes most of its bytes one at a time, and a
    /// call cost more than the write.
    @inline(__always)
    mutating func byte(_ value: UInt8) {
        precondition(offset < capacity, "a sink's bytes fit the bytes counted")
        base?.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset &+= 1  // below `capacity`, so no overflow
    }

    /// Writes bytes as they are.
    mutating func bytes(_ value: UnsafeRawBufferPointer) {
        checkRoom(value.count)
        if let base, let source = value.baseAddress {
            if value.count <= 16 {
                // Most are short keys, values and refs: a loop beats a call to memcpy.
                for index in 0..<value.count { base.storeBytes(of: value[index], toByteOffset: offset &+ index, as: UInt8.self) }
            } else {
                (base + offset).copyMemory(from: source, byteCount: value.count)
            }
        }
        offset &+= value.count
    }

    /// Leaves `count` bytes as they are, to be written later.
    mutating func skip(_ count: Int) {
        checkRoom(count)
        offset &+= count
    }

    /// Writes a little-endian u32.
    mutating func u32(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "counts and lengths fit a u32")
        integer(UInt32(value))
    }

    /// Writes a little-endian u16.
    mutating func u16(_ value: UInt16) {
        integer(value)
    }

    /// Writes a little-endian u64.
    mutating func u64(_ value: UInt64) {
        integer(value)
    }

    /// Writes a fixed-width integer, little-endian.
    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        checkRoom(size)
        base?.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset &+= size
    }

    /// Bytes of `value`'s shortest LEB128 varint.
    static func varintWidth(_ value: Int) -> Int {
        var sink = ByteSink(counting: ())
        sink.varint(value)
        return sink.offset
    }

    /// Writes a LEB128 varint in exactly `width` bytes (padded with continuation bytes holding
    /// zero bits when its shortest form is shorter); `value` must fit.
    mutating func varint(_ value: Int, width: Int) {
        precondition(width >= 1 && width <= 5 && value >= 0 && value >> (7 * width) == 0, "a varint fits its width")
        for index in 0..<width {
            let group = UInt8((value >> (7 * index)) & 0x7F)
            byte(index == width - 1 ? group : group | 0x80)
        }
    }

    /// Writes a LEB128 varint of up to 64 bits in its shortest form (as `varint64()` reads it).
    @inline(__always)
    mutating func varint64(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            byte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        byte(UInt8(rest))
    }

    /// Writes a signed integer as a zigzag varint (as `signedVarint()` reads it): small
    /// magnitudes of either sign take few bytes (0, −1, 1, −2, … as 0, 1, 2, 3, …).
    mutating func signedVarint(_ value: Int64) {
        varint64(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Writes a LEB128 varint in its shortest form.
    mutating func varint(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "varints hold counts and lengths that fit a u32")
        var rest = value
        while rest >= 0x80 {
            byte(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        byte(UInt8(rest))
    }
}

/// Byte arrays written in place, for the replies every request and every replayed record makes.
enum ByteArrays {
    /// An array of the bytes `write` puts at the start of a scratch buffer of `byteCount` bytes
    /// (returning how many it wrote, at most `byteCount`). Written on the stack (the heap when
    /// large) and copied: `[UInt8](unsafeUninitializedCapacity:)` allocates through the standard
    /// library's unspecialized path, which looks the array's storage type up at run time, and
    /// cost 300 instructions more per array than copying from a buffer (callgrind, 40 bytes).
    static func make(byteCount: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 1) { scratch in
            let written = write(scratch)
            precondition(written >= 0 && written <= byteCount, "wrote within the scratch buffer")
            return Array(UnsafeRawBufferPointer(rebasing: scratch[..<written]))
        }
    }
}
