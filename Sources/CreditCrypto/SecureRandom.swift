// SecureRandom: unpredictable bytes, bounded integers and decimal digits from OpenSSL's CSPRNG.

import CLibCrypto

/// Randomness for secrets (card numbers, PINs, the server secret), drawn from `RAND_bytes`.
///
/// There is no fallback: if the CSPRNG fails the process stops, because a card number or PIN
/// from a weak source could be guessed.
public enum SecureRandom {
    /// `count` bytes from the CSPRNG.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "byte count must not be negative")
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A uniformly distributed integer in `0..<bound`, without modulo bias.
    public static func uniform(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "uniform(below:) needs a positive bound")
        // 2^64 mod bound: draws below this would make the low residues more likely.
        let rejectBelow = (0 &- bound) % bound
        while true {
            let draw = word()
            if draw >= rejectBelow { return draw % bound }
        }
    }

    /// `count` uniformly distributed decimal digits, 0...9, each from its own CSPRNG byte, drawn
    /// a batch at a time. One `RAND_bytes` call costs about 7,000 instructions whatever its
    /// length, and a card number and PIN took one call per digit: 22 calls, 150,000 instructions
    /// on the event loop for each gift card issued.
    public static func digits(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "digit count must not be negative")
        var result: [UInt8] = []
        result.reserveCapacity(count)
        // A byte is kept with probability 250/256, so a few spare bytes make a second call rare.
        var pool = [UInt8](repeating: 0, count: count + 8)
        while result.count < count {
            pool.withUnsafeMutableBytes { fill($0) }
            // 250 is the largest multiple of 10 not above 256; bytes 250...255 would favour 0...5.
            for byte in pool where byte < 250 && result.count < count { result.append(byte % 10) }
        }
        return result
    }

    private static func word() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { fill($0) }
        return value
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        precondition(buffer.count <= Int(Int32.max), "RAND_bytes takes an Int32 length")
        guard RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            fatalError("creditd: OpenSSL RAND_bytes failed; refusing to continue without a CSPRNG")
        }
    }
}
