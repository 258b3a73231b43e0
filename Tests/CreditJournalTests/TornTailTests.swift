// Proves a write cut short anywhere in the last record, or followed by zero fill, is cut off durably and the journal continues at the right LSN, while a torn record in an earlier segment is corruption.

import Foundation
import Testing
import CreditJournal

/// Writes records 1...count with a writer and returns the segment bytes and record offsets.
private func makeJournal(_ directory: String, count: Int) throws -> (bytes: [UInt8], offsets: [Int]) {
    let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
    var offsets: [Int] = []
    var size = 0
    for lsn in 1...UInt64(count) {
        offsets.append(size)
        let body = testBody(lsn, length: lsn == UInt64(count) ? 64 : nil)
        size += RecordFormat.recordByteCount(bodyCount: body.count)
        _ = writer.append(body)
    }
    writer.close()
    let bytes = try readFile(segmentPath(directory, 1))
    #expect(bytes.count == size)
    return (bytes, offsets)
}

@Test func cutAtEveryOffsetInsideTheLastRecordRecoversThePreviousRecords() throws {
    let (bytes, offsets) = try withTempDirectory { try makeJournal($0, count: 5) }
    let lastStart = offsets[4]
    for cut in (lastStart + 1)..<bytes.count {
        try withTempDirectory { directory in
            let path = segmentPath(directory, 1)
            try writeFile(path, Array(bytes[..<cut]))
            let (records, report) = try replayAll(directory)
            #expect(records.map(\.lsn) == [1, 2, 3, 4], "cut at \(cut)")
            #expect(records.allSatisfy { $0.body == testBody($0.lsn) })
            #expect(report.lastLSN == 4)
            let torn = try #require(report.tornTail, "cut at \(cut)")
            #expect(torn.contains(SegmentName.fileName(firstLSN: 1)))
            #expect(torn.contains("offset \(lastStart)"))
            #expect(torn.contains("dropped \(cut - lastStart) bytes"))
            #expect(try readFile(path).count == lastStart)

            let writer = try WriterEvents().makeWriter(directory, nextLSN: report.nextLSN)
            #expect(writer.append([0xC0, 0xDE]) == 5)
            writer.close()
            let (after, again) = try replayAll(directory)
            #expect(after.map(\.lsn) == [1, 2, 3, 4, 5])
            #expect(after.last?.body == [0xC0, 0xDE])
            #expect(again.tornTail == nil)
        }
    }
}

@Test func cutInsideTheOnlyRecordLeavesAnEmptySegmentThatIsRemoved() throws {
    let (bytes, _) = try withTempDirectory { try makeJournal($0, count: 1) }
    for cut in 1..<bytes.count {
        try withTempDirectory { directory in
            try writeFile(segmentPath(directory, 1), Array(bytes[..<cut]))
            let (records, report) = try replayAll(directory)
            #expect(records.isEmpty)
            #expect(report.lastLSN == 0)
            #expect(report.tornTail != nil)
            #expect(report.removedEmptySegment != nil)
            #expect(try fileNames(directory).isEmpty)
            let writer = try WriterEvents().makeWriter(directory, nextLSN: report.nextLSN)
            #expect(writer.append([1]) == 1)
            writer.close()
            #expect(try replayAll(directory).0.map(\.lsn) == [1])
        }
    }
}

@Test func zeroFillAfterTheLastRecordIsCutWithoutReportingATornTail() throws {
    try withTempDirectory { directory in
        let offsets = try writeSegment(directory, name: 1, records: (1...4).map { ($0, testBody($0)) })
        let path = segmentPath(directory, 1)
        let whole = try readFile(path)
        // What the writer's zero-filled-ahead space looks like after a crash.
        try writeFile(path, whole + [UInt8](repeating: 0, count: 4096))
        let (records, report) = try replayAll(directory)
        #expect(records.count == 4)
        #expect(report.tornTail == nil)
        #expect(try readFile(path) == whole)
        #expect(offsets.count == 4)
    }
}

@Test func zeroFillInASegmentThatIsNotTheLastIsCorruption() throws {
    try withTempDirectory { directory in
        _ = try writeSegment(directory, name: 1, records: (1...2).map { ($0, testBody($0)) })
        _ = try writeSegment(directory, name: 3, records: [(3, testBody(3))])
        let path = segmentPath(directory, 1)
        try writeFile(path, try readFile(path) + [UInt8](repeating: 0, count: 512))
        #expect(throws: JournalCorruption.self) { _ = try replayAll(directory) }
    }
}

@Test func zeroFillStartingInsideTheLastRecordsIsATornTail() throws {
    try withTempDirectory { directory in
        let offsets = try writeSegment(directory, name: 1, records: (1...6).map { ($0, testBody($0, length: 30)) })
        let path = segmentPath(directory, 1)
        var bytes = try readFile(path)
        // Pages after the middle of record 4 never reached the disk: records 4-6 read as zeros.
        let zeroFrom = offsets[3] + 25
        for index in zeroFrom..<bytes.count { bytes[index] = 0 }
        try writeFile(path, bytes)
        let (records, report) = try replayAll(directory)
        #expect(records.map(\.lsn) == [1, 2, 3])
        #expect(report.tornTail?.contains("offset \(offsets[3])") == true)
        #expect(try readFile(path).count == offsets[3])

        // The same with the zeros starting inside a header.
        try writeSegmentAndZero(directory, from: offsets[2] + 5, expectRecords: 2, cutAt: offsets[2])
    }
}

@Test func aHeaderCutShortAndFollowedByZeroFillIsATornTail() throws {
    // The file grew by a whole record but only the first bytes of its header arrived: with fewer
    // zeros than the record claims (it ends past EOF) and with more, the record is torn.
    let records = (1...4).map { (UInt64($0), testBody(UInt64($0), length: 40)) }
    for kept in 1..<RecordFormat.headerByteCount {
        for zeroFill in [RecordFormat.headerByteCount, 30, 200] {
            try withTempDirectory { directory in
                let offsets = try writeSegment(directory, name: 1, records: records)
                let path = segmentPath(directory, 1)
                let bytes = try readFile(path)
                try writeFile(path, Array(bytes[..<(offsets[3] + kept)]) + [UInt8](repeating: 0, count: zeroFill))
                let (replayed, report) = try replayAll(directory)
                #expect(replayed.map(\.lsn) == [1, 2, 3], "kept \(kept) header bytes, then \(zeroFill) zeros")
                #expect(report.tornTail?.contains("offset \(offsets[3])") == true)
                #expect(try readFile(path).count == offsets[3])
            }
        }
    }
}

/// Rewrites segment 1 with six records, zeroes it from `from`, and checks the replay.
private func writeSegmentAndZero(_ directory: String, from: Int, expectRecords: Int, cutAt: Int) throws {
    try writeSegment(directory, name: 1, records: (1...6).map { ($0, testBody($0, length: 30)) })
    let path = segmentPath(directory, 1)
    var bytes = try readFile(path)
    for index in from..<bytes.count { bytes[index] = 0 }
    try writeFile(path, bytes)
    let (records, report) = try replayAll(directory)
    #expect(records.count == expectRecords)
    #expect(report.tornTail != nil)
    #expect(try readFile(path).count == cutAt)
}

@Test func aTornRecordInASegmentThatIsNotTheLastIsCorruption() throws {
    try withTempDirectory { directory in
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        try writeSegment(directory, name: 4, records: (4...5).map { ($0, testBody($0)) })
        let path = segmentPath(directory, 1)
        let whole = try readFile(path)
        try writeFile(path, whole + RecordFormat.record(lsn: 4, body: [1, 2, 3]).dropLast(2))
        let error = #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        #expect(error?.file == path)
        #expect(error?.offset == whole.count)
        #expect(try readFile(path).count == whole.count + 21)  // nothing was cut
    }
}
