// CRC32C: the Castagnoli checksum guarding every journal record and snapshot: the CPU's crc32
// instruction where there is one, else slicing-by-8 tables.

import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), eight bytes at a time: with the CPU's
/// instruction when it has one, else in software.
///
/// The `seed` is a previous checksum, so a checksum can be continued over several pieces:
/// `checksum(b, seed: checksum(a)) == checksum(a + b)`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// Entries per lookup table: one per byte value.
    private static let tableEntryCount = 256

    /// Slicing-by-8 needs eight tables: table k maps a byte to its CRC after k further zero bytes.
    private static let tableCount = 8

    /// The eight 256-entry tables, flattened: table k starts at `k * 256`.
    private static let tables: [UInt32] = makeTables()

    /// True when the CPU's crc32 instruction computes the checksum (x86-64 with SSE 4.2): about
    /// ten times fewer instructions than the tables, on every record written and replayed.
    public static let usesHardware = creditd_crc32c_hardware_available() == 1

    /// Returns the CRC-32C of `bytes`, continuing from `seed` (0 for a fresh checksum).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard usesHardware else { return softwareChecksum(bytes, seed: seed) }
        return ~creditd_crc32c_update(~seed, bytes.baseAddress, bytes.count)
    }

    /// The table-driven checksum, for CPUs without the instruction (and to test against it).
    static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        tables.withUnsafeBufferPointer { table in
            var crc = ~seed
            var index = 0
            let count = bytes.count
            while count - index >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                crc = step8(crc: crc, word: word, table: table)
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
            return ~crc
        }
    }

    /// Returns the CRC-32C of an array of bytes, continuing from `seed`.
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Returns the CRC-32C of a slice of bytes, continuing from `seed`.
    public static func checksum(_ bytes: ArraySlice<UInt8>, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Folds eight input bytes (as a little-endian word) into the running CRC.
    @inline(__always)
    private static func step8(crc: UInt32, word: UInt64, table: UnsafeBufferPointer<UInt32>) -> UInt32 {
        let low = UInt32(truncatingIfNeeded: word) ^ crc
        let high = UInt32(truncatingIfNeeded: word >> 32)
        let fromLow = table[7 * 256 + Int(low & 0xFF)]
            ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
            ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
            ^ table[4 * 256 + Int(low >> 24)]
        let fromHigh = table[3 * 256 + Int(high & 0xFF)]
            ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
            ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
            ^ table[Int(high >> 24)]
        return fromLow ^ fromHigh
    }

    /// Builds the slicing-by-8 tables from the polynomial.
    private static func makeTables() -> [UInt32] {
        var table = [UInt32](repeating: 0, count: tableCount * tableEntryCount)
        for byte in 0..<tableEntryCount {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            table[byte] = crc
        }
        for slice in 1..<tableCount {
            for byte in 0..<tableEntryCount {
                let previous = table[(slice - 1) * tableEntryCount + byte]
                table[slice * tableEntryCount + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }
}
