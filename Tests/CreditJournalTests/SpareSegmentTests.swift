// Proves the writer rolls over to spare segment files made ahead of need, that the records replay exactly across roll-overs and switches, that a spare is never part of the journal (left over, zero-filled or failing), and that a failed spare only turns spares off.

import Foundation
import Testing
import CreditJournal

/// Small spares, so that a test rolls over several times in a few megabytes. Bigger than the
/// 1 MiB the writer fills in line: a segment runs low (under half of that left) only after its
/// spare is ready, so the writer never fills it further and rolls when it overflows.
private let smallSpares = SpareSegmentSizes(byteCount: 2 << 20, requestAfterBytes: 64 << 10, pieceBytes: 32 << 10)

private let spareName = "journal-spare.tmp"

/// Waits up to `seconds` for the writer's spare to be ready; returns whether it is.
private func waitForSpare(_ writer: JournalWriter, seconds: Int) -> Bool {
    for _ in 0..<(seconds * 1000) where !writer.hasSpareSegment { usleep(1_000) }
    return writer.hasSpareSegment
}

/// Appends `count` records of 1,000-byte bodies after `expected`, flushes, waits until durable.
private func appendRound(_ writer: JournalWriter, _ expected: inout [Replayed], count: Int) {
    for _ in 0..<count {
        let lsn = UInt64(expected.count + 1)
        let body = testBody(lsn, length: 1000)
        #expect(writer.append(body) == lsn)
        expected.append(Replayed(lsn: lsn, body: body))
    }
    writer.flush()
    waitUntilDurable(writer, UInt64(expected.count))
}

private func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : -1
}

@Test func sustainedWritesRollOverToSparesAndReplayExactly() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        var expected: [Replayed] = []
        var rolledInto: [String] = []
        for _ in 0..<60 {
            // Each round is ~200 KB: the first segment lasts five or six rounds, a spare about ten.
            let before = try fileNames(directory).filter { $0.hasSuffix(".log") }
            // The first round's batch passes requestAfterBytes; from then on a spare is asked
            // for in every segment before its first roll-over could be needed.
            let spareWasReady = !expected.isEmpty && waitForSpare(writer, seconds: 5)
            appendRound(writer, &expected, count: 200)
            let after = try fileNames(directory).filter { $0.hasSuffix(".log") }
            let added = after.filter { !before.contains($0) }
            #expect(added.count <= 1)
            if let name = added.first {
                #expect(spareWasReady)
                rolledInto.append(name)
                // A roll-over starts the spare with its whole zero fill already on disk.
                #expect(fileSize(directory + "/" + name) == smallSpares.byteCount)
            }
        }
        #expect(rolledInto.count >= 4)
        #expect(events.warnings.isEmpty)
        writer.close()
        #expect(events.fatal.isEmpty)
        #expect(!(try fileNames(directory)).contains(spareName))
        // Closed segments end at their last record: recovery accepts no zero tail before the last.
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.tornTail == nil)
        #expect(report.segmentCount == rolledInto.count + 1)
    }
}

@Test func aSnapshotSwitchTakesTheReadySpare() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        var expected: [Replayed] = []
        appendRound(writer, &expected, count: 80)  // past requestAfterBytes
        #expect(waitForSpare(writer, seconds: 10))
        #expect(try fileNames(directory).contains(spareName))
        let first = writer.startNewSegment()
        #expect(first == 81)
        appendRound(writer, &expected, count: 3)
        #expect(!writer.hasSpareSegment)
        #expect(!(try fileNames(directory)).contains(spareName))
        #expect(fileSize(segmentPath(directory, 81)) == smallSpares.byteCount)
        writer.close()
        #expect(fileSize(segmentPath(directory, 81)) == 3 * RecordFormat.recordByteCount(bodyCount: 1000))
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.segmentCount == 2)
    }
}

@Test func aLeftoverSpareIsDeletedAtStartAndNeverReplayed() throws {
    try withTempDirectory { directory in
        try writeFile(directory + "/" + spareName, [UInt8](repeating: 0xAB, count: 4096))
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        #expect(!(try fileNames(directory)).contains(spareName))
        var expected: [Replayed] = []
        appendRound(writer, &expected, count: 5)
        writer.close()
        #expect(try replayAll(directory).0 == expected)
    }
}

@Test func aSpareRenamedInJustBeforeACrashIsAnEmptyLastSegmentThatRecoveryRemoves() throws {
    try withTempDirectory { directory in
        // The writer links the spare in and fsyncs the directory before writing records to it;
        // a crash between the two leaves a last segment of nothing but synced zeros.
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        try writeFile(segmentPath(directory, 4), [UInt8](repeating: 0, count: smallSpares.byteCount))
        let (records, report) = try replayAll(directory)
        #expect(records.map(\.lsn) == [1, 2, 3])
        #expect(report.removedEmptySegment?.hasSuffix(SegmentName.fileName(firstLSN: 4)) == true)
        #expect(!FileManager.default.fileExists(atPath: segmentPath(directory, 4)))
        #expect(report.nextLSN == 4)
    }
}

@Test func aSpareThatCannotBeMadeTurnsSparesOffAndTheWriterFillsInLine() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        // A directory where the spare goes: creating the file fails (EEXIST) and cannot be undone.
        try FileManager.default.createDirectory(atPath: directory + "/" + spareName, withIntermediateDirectories: false)
        var expected: [Replayed] = []
        appendRound(writer, &expected, count: 80)
        for _ in 0..<10_000 where events.warnings.isEmpty { usleep(1_000) }
        #expect(events.warnings.count == 1)
        #expect(events.warnings.first?.contains(spareName) == true)
        for _ in 0..<12 { appendRound(writer, &expected, count: 100) }  // past the first 1 MiB fill
        #expect(!writer.hasSpareSegment)
        #expect(writer.durableLSN == UInt64(expected.count))
        writer.close()
        #expect(events.fatal.isEmpty)
        #expect(events.warnings.count == 1)
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.segmentCount == 1)
    }
}
