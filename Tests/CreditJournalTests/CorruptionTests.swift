// Proves damage anywhere but the last record — a flipped byte, an LSN gap or a missing segment — throws JournalCorruption naming the file and the damaged record's offset, while damage to the last record is a torn tail.

import Foundation
import Testing
import CreditJournal

@Test func flippingAnyByteIsCorruptionExceptInTheLastRecord() throws {
    let records: [(UInt64, [UInt8])] = [(1, testBody(1, length: 3)), (2, testBody(2, length: 17)),
                                         (3, []), (4, testBody(4, length: 40)), (5, testBody(5, length: 25))]
    var offsets: [Int] = []
    var bytes: [UInt8] = []
    for (lsn, body) in records {
        offsets.append(bytes.count)
        RecordFormat.appendRecord(lsn: lsn, body: body, to: &bytes)
    }
    let lastStart = offsets[4]
    for position in 0..<bytes.count {
        for mask: UInt8 in [0xFF, 0x01, 0x80] {
            var damaged = bytes
            damaged[position] ^= mask
            let damagedRecord = offsets.lastIndex { $0 <= position }!
            try withTempDirectory { directory in
                let path = segmentPath(directory, 1)
                try writeFile(path, damaged)
                if position >= lastStart {
                    let (replayed, report) = try replayAll(directory)
                    #expect(replayed.map(\.lsn) == [1, 2, 3, 4], "flip \(mask) at \(position)")
                    #expect(report.tornTail?.contains("offset \(lastStart)") == true, "flip \(mask) at \(position)")
                    #expect(try readFile(path).count == lastStart)
                } else {
                    let error = #expect(throws: JournalCorruption.self, "flip \(mask) at \(position)") {
                        try replayAll(directory)
                    }
                    #expect(error?.offset == offsets[damagedRecord], "flip \(mask) at \(position)")
                    #expect(error?.file == path)
                    #expect(error?.description.contains("\(SegmentName.fileName(firstLSN: 1)): corrupt record at offset \(offsets[damagedRecord]): ") == true)
                    #expect(try readFile(path) == damaged)  // corruption is never "repaired"
                }
            }
        }
    }
}

@Test func descriptionNamesFileOffsetAndReason() throws {
    try withTempDirectory { directory in
        let offsets = try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0, length: 10)) })
        let path = segmentPath(directory, 1)
        var bytes = try readFile(path)
        bytes[offsets[1] + 25] ^= 0x10
        try writeFile(path, bytes)
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.description == "\(path): corrupt record at offset 30: payload checksum mismatch")
    }
}

@Test func anLSNGapInsideASegmentIsCorruption() throws {
    try withTempDirectory { directory in
        let offsets = try writeSegment(directory, name: 1, records: [(1, [1]), (2, [2]), (4, [4]), (5, [5])])
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.offset == offsets[2])
        #expect(error?.reason.contains("LSN 4, expected 3") == true)
    }
}

@Test func aGapInTheLastRecordIsStillCorruption() throws {
    try withTempDirectory { directory in
        let offsets = try writeSegment(directory, name: 1, records: [(1, [1]), (2, [2]), (9, [9])])
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.offset == offsets[2])
    }
}

@Test func aFirstRecordThatDisagreesWithTheFileNameIsCorruption() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 5, records: [(1, [1]), (2, [2])])
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory, afterLSN: 4) }
        #expect(error?.offset == 0)
        #expect(error?.file == segmentPath(directory, 5))
    }
}

@Test func aMissingSegmentIsCorruptionNamingTheFileAfterTheGap() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        try writeSegment(directory, name: 6, records: (6...7).map { ($0, testBody($0)) })
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.file == segmentPath(directory, 6))
        #expect(error?.offset == 0)
    }
}

@Test func aJournalStartingAfterTheSnapshotIsCorruption() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 8, records: (8...9).map { ($0, testBody($0)) })
        #expect(throws: JournalCorruption.self) { try replayAll(directory, afterLSN: 5) }
        let (records, report) = try replayAll(directory, afterLSN: 7)
        #expect(records.map(\.lsn) == [8, 9])
        #expect(report.lastLSN == 9)
    }
}

@Test func aJournalEndingBeforeTheSnapshotIsCorruption() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        #expect(throws: JournalCorruption.self) { try replayAll(directory, afterLSN: 5) }
        let (records, report) = try replayAll(directory, afterLSN: 3)
        #expect(records.isEmpty)
        #expect(report.lastLSN == 3)
    }
}

@Test func anIntactHeaderWithAnImpossibleLengthIsCorruption() throws {
    try withTempDirectory { directory in
        var bytes = RecordFormat.record(lsn: 1, body: [1, 2, 3])
        var header = ByteWriter()
        header.u32(UInt32(RecordFormat.payloadBytesMax + 1))
        header.u32(0)
        header.u32(CRC32C.checksum(header.buffer))
        bytes += header.buffer + [UInt8](repeating: 7, count: 64)
        try writeFile(segmentPath(directory, 1), bytes)
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.offset == 23)
        #expect(error?.reason.contains("payload length") == true)
    }
}

@Test func nonZeroGarbageAfterTheLastRecordIsCorruption() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 1, records: (1...2).map { ($0, testBody($0)) })
        let path = segmentPath(directory, 1)
        let whole = try readFile(path)
        try writeFile(path, whole + [UInt8](repeating: 0xAA, count: 100))
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.offset == whole.count)
        #expect(error?.reason == "header checksum mismatch")
    }
}

@Test func anApplyErrorStopsTheReplay() throws {
    struct Refused: Error {}
    try withTempDirectory { directory in
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        var seen: [UInt64] = []
        #expect(throws: Refused.self) {
            try JournalRecovery.replay(directory: directory, afterLSN: 0) { lsn, _ in
                seen.append(lsn)
                if lsn == 2 { throw Refused() }
            }
        }
        #expect(seen == [1, 2])
    }
}
