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

    /// The index in the list of `bytes`, if they are one of its strings.
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

    /// At most 16 bytes, zero-padded and loaded as two words.
    private static func words(of bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var padded: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &padded) { $0.copyMemory(from: bytes) }
        return padded
    }

    /// A slot number before masking: the high bits of a multiplicative hash (the byte count
    /// counts because zero padding makes "ab" and "ab\0" load alike).
    private static func hash(count: Int, _ w0: UInt64, _ w1: UInt64) -> Int {
        let mixed = (w0 ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 40)
    }
}
