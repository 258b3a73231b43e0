// Digest32: a 256-bit keyed digest, the only form in which card numbers, PINs and refs are kept.

/// A 256-bit digest (an HMAC-SHA256 output) stored as four words.
///
/// Card numbers and PINs are known to the ledger only as keyed digests; `==` (from `Hashable`)
/// serves dictionary lookups of card digests, and `constantTimeEquals` serves secret comparisons
/// such as PIN verification, where timing must not reveal how many bytes matched.
public struct Digest32: Hashable, Sendable {
    public let w0: UInt64
    public let w1: UInt64
    public let w2: UInt64
    public let w3: UInt64

    /// Byte count of a digest.
    public static let byteCount = 32

    /// Makes a digest from its four words (used by decoders).
    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Makes a digest from exactly 32 bytes, big-endian per word.
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        precondition(bytes.count == Digest32.byteCount, "a Digest32 is 32 bytes")
        var words: [UInt64] = [0, 0, 0, 0]
        for (index, byte) in bytes.enumerated() {
            words[index / 8] = (words[index / 8] << 8) | UInt64(byte)
        }
        self.init(w0: words[0], w1: words[1], w2: words[2], w3: words[3])
    }

    /// The 32 bytes, big-endian per word.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Digest32.byteCount)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) {
                out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return out
    }

    /// Equality whose running time does not depend on where the digests differ.
    public func constantTimeEquals(_ other: Digest32) -> Bool {
        ((w0 ^ other.w0) | (w1 ^ other.w1) | (w2 ^ other.w2) | (w3 ^ other.w3)) == 0
    }
}
