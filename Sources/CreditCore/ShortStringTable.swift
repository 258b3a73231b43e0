// ShortStringTable: finds a short byte string's index in a fixed list by hashing, for the keys
// and words `PackedReply` writes as one byte.

/// A fixed list of distinct strings of at most 16 bytes, looked up by hashing the bytes loaded as
/// two words. Replay packs every remembered reply (a million at startup) and looks up each of its
/// keys and many of its values: a linear scan of the 44 keys cost about 300 instructions a reply.
///
/// Open addressing with linear probing in a power-of-two table at most a quarter full, so a
/// lookup is one hash and, almost always, one slot compared.
struct ShortStringTable: Sendable {
    /// Longest string the table can hold: a longer one is never in it.
    static let bytesMax = 16

    /// One slot: a string's byte count, its bytes zero-padded and loaded as two words, and its
    /// index in the list (`-1` for an empty slot).
    private struct Slot {
        /// The string's byte count.
        var count = 0
        /// Bytes 0..<8, zero-padded.
        var w0: UInt64 = 0
        /// Bytes 8..<16, zero-padded.
        var w1: UInt64 = 0
        /// Index in the list, or -1 when empty.
        var index = -1
    }

    /// The slots, a power of two of them.
    private let slots: [Slot]
    /// `slots.count - 1`.
    private let mask: Int

    /// A table of `strings`, which must be distinct and at most `bytesMax` bytes each.
    init(_ strings: [[UInt8]]) {
        var size = 4
        while size < 4 * strings.count { size *= 2 }
        var slots = [Slot](repeating: Slot(), count: size)
        for (index, string) in strings.enumerated() {
            precondition(string.count <= Self.bytesMax, "a short string table holds strings of at most 16 bytes")
            let (w0, w1) = string.withUnsafeBytes { Self.words(of: $0) }
            var slot = Self.hash(count: string.count, w0, w1) & (size - 1)
            while slots[slot].index >= 0 {
                precondition(slots[slot].count != string.count || slots[slot].w0 != w0 || slots[slot].w1 != w1,
                             "a short string table's strings are distinct")
                slot = (slot + 1) & (size - 1)
            }
            slots[slot] = Slot(count: string.count, w0: w0, w1: w1, index: index)
        }
        self.slots = slots
        mask = size - 1
    }

    /// The index in the list of `bytes`, if they are one of its strings. Inlined where the
    /// optimizer's size budget allows: a call cost more than the lookup.
    @inline(__always)
    func index(of bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count <= Self.bytesMax else { return nil }
        let (w0, w1) = Self.words(of: bytes)
        let count = bytes.count
        return slots.withUnsafeBufferPointer { slots in
            var slot = Self.hash(count: count, w0, w1) & mask
            while slots[slot].index >= 0 {
                if slots[slot].w0 == w0 && slots[slot].w1 == w1 && slots[slot].count == count { return slots[slot].index }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    /// At most 16 bytes, zero-padded and loaded as two little-endian words. Two overlapping
    /// loads cover any count from 4 to 16 (copying into a zeroed pair of words was a call to
    /// memset and one to memcpy, a quarter of a lookup).
    @inline(__always)
    private static func words(of bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let count = bytes.count
        precondition(count <= bytesMax, "at most 16 bytes load as two words")
        guard let base = bytes.baseAddress else { return (0, 0) }
        func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> UInt64 {
            UInt64(T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self)))
        }
        switch count {
        case 8...:
            // Bytes 8..<count are the top `count - 8` bytes of the word ending at `count`.
            let high = count == 8 ? 0 : load(count - 8, as: UInt64.self) >> UInt64(8 * (16 - count))
            return (load(0, as: UInt64.self), high)
        case 4...:
            // Bytes 0..<4 and count-4..<count overlap where they agree, so OR-ing them is exact.
            return (load(0, as: UInt32.self) | load(count - 4, as: UInt32.self) << UInt64(8 * (count - 4)), 0)
        case 1...:
            // Bytes 0, count/2 and count-1 are every byte of 1 to 3 (some twice, in place).
            let middle = count >> 1
            return (UInt64(bytes[0]) | UInt64(bytes[middle]) << UInt64(8 * middle)
                        | UInt64(bytes[count - 1]) << UInt64(8 * (count - 1)), 0)
        default:
            return (0, 0)
        }
    }

    /// A slot number before masking: the high bits of a multiplicative hash of the words' sum
    /// (the byte count counts because zero padding makes "ab" and "ab\0" load alike; a collision
    /// only costs a probe).
    private static func hash(count: Int, _ w0: UInt64, _ w1: UInt64) -> Int {
        let mixed = (w0 &+ w1 &+ UInt64(count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 40)
    }
}
