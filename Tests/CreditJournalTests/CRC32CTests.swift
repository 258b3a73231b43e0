// Proves CRC32C (the hardware path where the CPU has one, and the software tables) matches the Castagnoli test vectors and a bit-at-a-time reference on every length, alignment and split.

import Testing
@testable import CreditJournal

/// Bit-at-a-time CRC32C, the definition the fast version must agree with.
private func referenceCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
        }
    }
    return ~crc
}

@Test func checkValueOf123456789() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
}

@Test func rfc3720Vectors() {
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    #expect(CRC32C.checksum([UInt8]()) == 0)
}

@Test func agreesWithReferenceOnEveryLengthAndAlignment() {
    var generator = SystemRandomNumberGenerator()
    let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
    for start in 0..<9 {
        for end in start...data.count {
            let slice = data[start..<end]
            #expect(CRC32C.checksum(slice) == referenceCRC(slice))
        }
    }
}

@Test func seedContinuesAChecksum() {
    let data = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 13) }
    let whole = CRC32C.checksum(data)
    for split in 0...data.count {
        let first = CRC32C.checksum(data[..<split])
        #expect(CRC32C.checksum(data[split...], seed: first) == whole)
    }
}

@Test func theSoftwareTablesAgreeWithTheReferenceAndTheChecksumInUse() {
    var generator = SystemRandomNumberGenerator()
    let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
    #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.softwareChecksum($0) } == 0xE306_9283)
    for start in 0..<9 {
        for end in start...data.count {
            let slice = data[start..<end]
            let software = slice.withUnsafeBytes { CRC32C.softwareChecksum($0, seed: 0x1234_5678) }
            #expect(software == CRC32C.checksum(slice, seed: 0x1234_5678))
            #expect(slice.withUnsafeBytes { CRC32C.softwareChecksum($0) } == referenceCRC(slice))
        }
    }
}
