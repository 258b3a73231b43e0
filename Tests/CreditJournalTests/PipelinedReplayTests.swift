// Proves the pipelined replay (decoding on a second thread) applies exactly what the one-thread replay applies, in LSN order across batches and segments, with the same report; and that a decode failure or a damaged record applies every record before it, then throws the same error.

import Testing
@testable import CreditJournal
import Glibc

/// A decode failure at a chosen LSN.
private struct RefusedRecord: Error, Equatable {
    let lsn: UInt64
}

/// Writes `count` records from LSN 1 into segments of `perSegment` records each.
private func writeJournal(_ directory: String, count: UInt64, perSegment: UInt64) throws {
    var first: UInt64 = 1
    while first <= count {
        let last = min(first + perSegment - 1, count)
        try writeSegment(directory, name: first, records: (first...last).map { ($0, testBody($0)) })
        first = last + 1
    }
}

@Test(arguments: [UInt64(0), 1, 2_047, 2_048, 2_049, 5_000])
func pipelinedReplayAppliesWhatTheOneThreadReplayApplies(afterLSN: UInt64) throws {
    try withTempDirectory { directory in
        let count = UInt64(JournalRecovery.pipelineBatchCount * 3 + 123)
        try writeJournal(directory, count: count, perSegment: 2_500)
        let (expected, expectedReport) = try replayAll(directory, afterLSN: afterLSN)
        var applied: [Replayed] = []
        let report = try JournalRecovery.replayPipelined(directory: directory, afterLSN: afterLSN, repair: false,
                                                         decode: { lsn, body in Replayed(lsn: lsn, body: Array(body)) },
                                                         apply: { applied.append($0) })
        #expect(applied == expected)
        #expect(applied.count == Int(count - afterLSN) && applied.first?.lsn == afterLSN + 1)
        #expect(report.lastLSN == expectedReport.lastLSN && report.recordsApplied == expectedReport.recordsApplied)
        #expect(report.segmentCount == expectedReport.segmentCount)
    }
}

@Test(arguments: [UInt64(1), 2_048, 2_049, 6_000])
func aDecodeFailureAppliesEveryRecordBeforeItThenThrows(refused: UInt64) throws {
    try withTempDirectory { directory in
        try writeJournal(directory, count: 7_000, perSegment: 3_000)
        var applied: [UInt64] = []
        #expect(throws: RefusedRecord(lsn: refused)) {
            try JournalRecovery.replayPipelined(directory: directory, afterLSN: 0, decode: { lsn, _ in
                if lsn == refused { throw RefusedRecord(lsn: lsn) }
                return lsn
            }, apply: { applied.append($0) })
        }
        #expect(applied == Array(1..<refused))
    }
}

@Test func aDamagedRecordInAnEarlierSegmentStopsPipelinedReplayAsItStopsReplay() throws {
    try withTempDirectory { directory in
        try writeJournal(directory, count: 5_000, perSegment: 2_500)
        var bytes = try readFile(segmentPath(directory, 1))
        bytes[bytes.count / 2] ^= 0xFF
        try writeFile(segmentPath(directory, 1), bytes)
        #expect(throws: JournalCorruption.self) { try replayAll(directory) }
        var applied = 0
        #expect(throws: JournalCorruption.self) {
            try JournalRecovery.replayPipelined(directory: directory, afterLSN: 0, decode: { lsn, _ in lsn },
                                                apply: { _ in applied += 1 })
        }
        #expect(applied > 0 && applied < 2_500, "the records before the damage were applied, no others")
    }
}

@Test(arguments: [UInt64(0), 2_046, 2_047])
func everyRecordIsLookedAtAheadOfItsApply(afterLSN: UInt64) throws {
    try withTempDirectory { directory in
        let count = UInt64(JournalRecovery.pipelineBatchCount * 2 + 5)
        try writeJournal(directory, count: count, perSegment: 3_000)
        var lookedAt: [UInt64] = []
        var lookedAtAgain: [UInt64] = []
        var applied: [UInt64] = []
        var misses: [String] = []
        _ = try JournalRecovery.replayPipelined(directory: directory, afterLSN: afterLSN, decode: { lsn, _ in lsn },
                                                lookAhead: { lookedAt.append($0) },
                                                lookAheadAgain: { lsn in
            if !lookedAt.contains(lsn) { misses.append("looked at \(lsn) again before the first time") }
            lookedAtAgain.append(lsn)
        }, apply: { lsn in
            // Records are handed over in batches from `afterLSN + 1`; looking ahead stays within one.
            let batch = UInt64(JournalRecovery.pipelineBatchCount)
            let batchEnd = min(afterLSN + ((lsn - afterLSN - 1) / batch + 1) * batch, count)
            let expected = min(lsn + UInt64(JournalRecovery.lookAheadRecords), batchEnd)
            if lookedAt.last != expected { misses.append("apply \(lsn) with the last look at \(lookedAt.last ?? 0)") }
            let expectedAgain = min(lsn + UInt64(JournalRecovery.lookAheadAgainRecords), batchEnd)
            if lookedAtAgain.last != expectedAgain {
                misses.append("apply \(lsn) with the last second look at \(lookedAtAgain.last ?? 0)")
            }
            applied.append(lsn)
        })
        #expect(misses.isEmpty, "\(misses.prefix(5))")
        #expect(applied == Array((afterLSN + 1)...count))
        #expect(lookedAt == applied, "each record looked at once, in order")
        #expect(lookedAtAgain == applied, "and looked at again once, in order")
        #expect(JournalRecovery.lookAheadAgainRecords < JournalRecovery.lookAheadRecords)
    }
}

@Test func theRecordsBeforeTheLastSegmentAreCountedFromTheSegmentsNames() throws {
    try withTempDirectory { directory in
        #expect(try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: 0) == 0, "no segments")
        try writeJournal(directory, count: 2_000, perSegment: 2_000)
        #expect(try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: 0) == 0, "one segment")
    }
    try withTempDirectory { directory in
        try writeJournal(directory, count: 7_000, perSegment: 2_500)  // 1–2,500, 2,501–5,000, 5,001–7,000
        for (afterLSN, expected) in [(UInt64(0), 5_000), (1, 4_999), (2_500, 2_500), (4_999, 1), (5_000, 0), (6_000, 0)] {
            #expect(try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: afterLSN) == expected,
                    "after \(afterLSN)")
        }
        // A segment named far ahead (a damaged directory) counts no more than its bytes could hold.
        try writeSegment(directory, name: UInt64.max - 1, records: [])
        let capped = try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: 0)
        let lastBytes = try readFile(segmentPath(directory, 5_001)).count
        #expect(capped == 5_000 + lastBytes / RecordFormat.recordByteCount(bodyCount: 0))
        #expect(unlink(segmentPath(directory, UInt64.max - 1)) == 0)
        // A lower bound of what replay applies.
        let applied = try JournalRecovery.replay(directory: directory, afterLSN: 1, repair: false) { _, _ in }.recordsApplied
        let counted = try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: 1)
        #expect(applied == 6_999 && counted <= applied)
    }
}
