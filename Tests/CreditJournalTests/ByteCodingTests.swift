// Proves ByteWriter and ByteReader round-trip every field type, that ByteReader rejects truncated, over-long, non-UTF-8 and malformed input with the right offset, and that its String-free UTF-8 read accepts exactly what String(validating:) does.

import Testing
import CreditJournal

/// A message exercising every field type.
private func encodeSample() -> [UInt8] {
    var writer = ByteWriter()
    writer.u8(0xAB)
    writer.u16(0xBEEF)
    writer.u32(0xDEAD_BEEF)
    writer.u64(0x0123_4567_89AB_CDEF)
    writer.i64(-42)
    writer.bool(true)
    writer.bytes([1, 2, 3])
    writer.bytes([9, 8, 7, 6][1...])
    writer.string("gift card ✓")
    writer.optional(UInt64(7)) { $0.u64($1) }
    writer.optional(UInt64?.none) { $0.u64($1) }
    writer.raw([0xEE, 0xFF])
    return writer.buffer
}

/// Decodes what `encodeSample` wrote, checking each value.
private func decodeSample(_ reader: inout ByteReader) throws(DecodeError) {
    #expect(try reader.u8() == 0xAB)
    #expect(try reader.u16() == 0xBEEF)
    #expect(try reader.u32() == 0xDEAD_BEEF)
    #expect(try reader.u64() == 0x0123_4567_89AB_CDEF)
    #expect(try reader.i64() == -42)
    #expect(try reader.bool() == true)
    #expect(try reader.bytes() == [1, 2, 3])
    #expect(try reader.bytes() == [8, 7, 6])
    #expect(try reader.string() == "gift card ✓")
    #expect(try reader.optional { (r: inout ByteReader) throws(DecodeError) in try r.u64() } == 7)
    #expect(try reader.optional { (r: inout ByteReader) throws(DecodeError) in try r.u64() } == nil)
    #expect(Array(try reader.raw(count: 2)) == [0xEE, 0xFF])
    try reader.expectEnd()
}

@Test func roundTripsEveryFieldType() throws {
    let bytes = encodeSample()
    var reader = testReader(bytes)
    try decodeSample(&reader)
    #expect(reader.isAtEnd)
}

@Test func integersAreLittleEndian() {
    var writer = ByteWriter()
    writer.u32(0x0102_0304)
    writer.i64(-2)
    #expect(writer.buffer == [4, 3, 2, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
}

@Test func everyTruncationThrowsInsteadOfTrapping() {
    let bytes = encodeSample()
    for length in 0..<bytes.count {
        var reader = testReader(bytes, to: length)
        #expect(throws: DecodeError.self) { try decodeSample(&reader) }
    }
}

@Test func readerOverASliceCountsOffsetsFromTheSliceStart() throws {
    let bytes: [UInt8] = [0xFF, 0xFF, 0xFF, 5, 0, 0, 0]
    var reader = testReader(bytes, from: 3)
    #expect(try reader.u32() == 5)
    let error = #expect(throws: DecodeError.self) { try reader.u8() }
    #expect(error?.offset == 4)
}

@Test func invalidUTF8IsRejectedAtTheFieldOffset() {
    var writer = ByteWriter()
    writer.u8(0)
    writer.bytes([0x61, 0xC3, 0x28])  // 0xC3 0x28 is not UTF-8
    var reader = testReader(writer.buffer)
    _ = try? reader.u8()
    let error = #expect(throws: DecodeError.self) { try reader.string() }
    #expect(error?.offset == 1)
    #expect(error?.message.contains("UTF-8") == true)
}

@Test func lengthAboveTheLimitIsRejected() throws {
    var writer = ByteWriter()
    writer.bytes([UInt8](repeating: 1, count: 100))
    var limited = testReader(writer.buffer)
    let error = #expect(throws: DecodeError.self) { try limited.bytes(maxCount: 99) }
    #expect(error?.offset == 0)
    var unlimited = testReader(writer.buffer)
    #expect(try unlimited.bytes(maxCount: 100).count == 100)

    // A huge length with no bytes behind it fails on the default limit, before any allocation.
    var huge = testReader([0xFF, 0xFF, 0xFF, 0xFF])
    #expect(throws: DecodeError.self) { try huge.string() }
}

@Test func boolOtherThanZeroOrOneIsRejected() {
    var reader = testReader([2])
    let error = #expect(throws: DecodeError.self) { try reader.bool() }
    #expect(error?.offset == 0)
}

@Test func trailingBytesAreReported() throws {
    var reader = testReader([1, 2])
    _ = try reader.u8()
    let error = #expect(throws: DecodeError.self) { try reader.expectEnd() }
    #expect(error?.offset == 1)
    #expect(error?.description == "decode error at offset 1: 1 unexpected trailing bytes")
}

/// Whether `utf8(maxBytes:)` accepts `bytes` as a length-prefixed field, returning them as they are.
private func utf8Accepts(_ bytes: [UInt8]) -> Bool {
    var writer = ByteWriter()
    writer.bytes(bytes)
    var reader = testReader(writer.buffer)
    guard let read = try? reader.utf8() else { return false }
    return Array(read) == bytes && reader.isAtEnd
}

@Test func utf8AcceptsExactlyWhatStringValidatingAccepts() {
    var samples: [[UInt8]] = [[], Array("gift card ✓ 日本 🎁".utf8), [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
                              [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0x61, 0xE2, 0x82]]
    // Every one- and two-byte sequence; three- and four-byte ones around each lead byte's bounds.
    for first in UInt8.min...UInt8.max {
        samples.append([first])
        for second in UInt8.min...UInt8.max {
            samples.append([first, second])
            guard first >= 0xE0 else { continue }
            for third: UInt8 in [0x7F, 0x80, 0xBF, 0xC0] {
                samples.append([first, second, third])
                if first >= 0xF0 { samples.append([first, second, third, 0x80]) }
            }
        }
    }
    let disagreements = samples.filter { utf8Accepts($0) != (String(validating: $0, as: UTF8.self) != nil) }
    #expect(disagreements.isEmpty)
    #expect(samples.count > 100_000 && samples.contains { utf8Accepts($0) } && samples.contains { !utf8Accepts($0) })
}

@Test func consumedReturnsTheBytesReadSinceAnOffset() throws {
    let bytes: [UInt8] = [0xEE, 7, 1, 0, 0, 0, 0x61, 0xFF]
    var reader = testReader(bytes, from: 1)
    _ = try reader.u8()
    let start = reader.offset
    #expect(Array(try reader.utf8()) == [0x61])
    #expect(Array(reader.consumed(since: start)) == [1, 0, 0, 0, 0x61])
    #expect(reader.consumed(since: reader.offset).isEmpty)
}

/// A reader over `field` written as a length-prefixed string behind one pad byte, in a slice
/// that does not start at index 0, already past the pad byte.
private func readerPastPad(_ field: [UInt8]) -> ByteReader {
    var writer = ByteWriter()
    writer.raw([0xEE, 0x00])
    writer.bytes(field)
    var reader = testReader(writer.buffer, from: 1)
    _ = try? reader.u8()
    return reader
}

@Test func stringsOfEveryLengthAreCheckedWhereverTheirNonASCIIByteIs() throws {
    // ASCII is tested eight bytes at a time, then byte by byte: put the odd byte in every word
    // position and in every tail position, for strings shorter and longer than a word.
    for length in 0...24 {
        let ascii = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        var reader = readerPastPad(ascii)
        #expect(try reader.string() == String(decoding: ascii, as: UTF8.self))
        #expect(reader.isAtEnd)
        for position in 0..<length {
            var invalid = ascii
            invalid[position] = 0xFF
            var bad = readerPastPad(invalid)
            #expect(throws: DecodeError("invalid UTF-8 in string of \(length) bytes", offset: 1)) { try bad.string() }
            var badUTF8 = readerPastPad(invalid)
            #expect(throws: DecodeError("invalid UTF-8 in string of \(length) bytes", offset: 1)) { try badUTF8.utf8() }

            var accented = ascii
            accented.replaceSubrange(position...position, with: [0xC3, 0xA9])  // é
            var good = readerPastPad(accented)
            #expect(try good.string() == String(decoding: accented, as: UTF8.self))
            #expect(good.isAtEnd)
        }
    }
}

@Test func integersReadAtAnyAlignmentOfASlice() throws {
    var writer = ByteWriter()
    writer.raw([0xEE, 0xEE, 0xEE])
    writer.u16(0xBEEF)
    writer.u64(0x0123_4567_89AB_CDEF)
    writer.i64(-3)
    writer.u32(0xDEAD_BEEF)
    writer.bool(false)
    for start in 0...3 {
        var reader = testReader(writer.buffer, from: start)
        _ = try reader.raw(count: 3 - start)
        #expect(try reader.u16() == 0xBEEF)
        #expect(try reader.u64() == 0x0123_4567_89AB_CDEF)
        #expect(try reader.i64() == -3)
        #expect(try reader.u32() == 0xDEAD_BEEF)
        #expect(try reader.bool() == false)
        let error = #expect(throws: DecodeError.self) { try reader.u64() }
        #expect(error == DecodeError("need 8 bytes for u64, 0 remain", offset: 26 - start))
    }
}

@Test func rawArrayReadsExactlyItsCountOrThrows() throws {
    let bytes: [UInt8] = [0xEE, 1, 2, 3, 4, 5]
    var reader = testReader(bytes, from: 1)
    #expect(try reader.rawArray(count: 0) == [])
    #expect(try reader.rawArray(count: 2) == [1, 2])
    #expect(throws: DecodeError("need 4 bytes for raw field, 3 remain", offset: 2)) { try reader.rawArray(count: 4) }
    #expect(try reader.rawArray(count: 3) == [3, 4, 5])
    #expect(reader.isAtEnd)
}
