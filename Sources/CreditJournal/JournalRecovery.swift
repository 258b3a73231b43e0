// JournalRecovery: replays every segment in LSN order, checks continuity, and cuts a torn tail.

/// Startup recovery: scans the journal once, hands each record newer than the snapshot to the
/// caller, and leaves the directory ready for a new `JournalWriter` at `report.nextLSN`.
public enum JournalRecovery {
    /// The number of records after `afterLSN` in every segment but the last, read from the
    /// segments' names (each is named by its first LSN, and the next one starts where it ends):
    /// what `replay` will apply from those segments, known without reading them. For sizing what
    /// replay fills (the ledger's ref index); it checks nothing. A damaged journal, which `replay`
    /// then refuses, cannot make it large: each segment counts at most as many records as its
    /// bytes could hold.
    public static func recordCountBeforeLastSegment(directory: String, afterLSN: UInt64) throws -> Int {
        let segments = try SegmentFile.list(directory: directory)
        let recordBytesMin = UInt64(RecordFormat.recordByteCount(bodyCount: 0))
        var count: UInt64 = 0
        for (segment, next) in zip(segments, segments.dropFirst().map(\.firstLSN))
        where next > segment.firstLSN && next - 1 > afterLSN {
            let named = next - Swift.max(segment.firstLSN, afterLSN + 1)
            let room = UInt64(POSIXFile.size(segment.path) ?? 0) / recordBytesMin
            count += Swift.min(named, room)
        }
        return Int(clamping: count)
    }

    /// Replays the journal in `directory`, calling `apply(lsn, body)` for every record with
    /// LSN > `afterLSN` in LSN order, starting exactly at `afterLSN + 1`. `body` is the record's
    /// bytes in the segment, mapped or read into memory (`access`, see `FileBytes`), and valid
    /// only during the call: copy what you keep.
    ///
    /// Checks: each segment's records are consecutive and begin at the LSN in its name; each
    /// segment begins where the previous one ended; the journal begins no later than
    /// `afterLSN + 1` and ends no earlier than `afterLSN`. A torn tail is corruption unless it is
    /// in the last segment (zero fill the writer preallocated counts as a torn tail, but is cut
    /// without being reported); there, once every check has passed, it is cut (ftruncate + fsync) so
    /// the segment can safely stop being the last. A last segment left empty is deleted, so a new
    /// writer can create it afresh. Reads one segment into memory at a time and keeps no records.
    ///
    /// - Throws: `JournalCorruption` naming the file and offset; `JournalIOError`; or whatever
    ///   `apply` throws. After a throw nothing on disk was changed, and the caller's state is
    ///   partial and must not be used.
    /// With `repair: false` (verification) nothing on disk changes: a torn tail is only reported.
    public static func replay(
        directory: String,
        afterLSN: UInt64,
        repair: Bool = true,
        access: FileBytes.Access = .mapped,
        _ apply: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws -> RecoveryReport {
        precondition(afterLSN < UInt64.max, "afterLSN leaves no room for another record")
        let segments = try SegmentFile.list(directory: directory)
        var continuity = Continuity(afterLSN: afterLSN)
        var lastApplied = afterLSN
        var recordsApplied = 0
        var last: ScannedSegment?
        for segment in segments {
            try continuity.checkStart(of: segment)
            if let torn = last?.scan.tornTail, let previous = last?.segment {
                throw JournalCorruption(
                    file: previous.path, offset: torn.offset,
                    reason: "\(torn.reason), in a segment that is not the last"
                )
            }
            // Unmapped (or freed) at the end of each pass, before a torn tail is cut.
            let file = try FileBytes(path: segment.path, access: access)
            let scan = try file.withUnsafeBytes { bytes in
                try SegmentScanner.scan(bytes, segment: segment) { lsn, body in
                    guard lsn > afterLSN else { return }
                    precondition(lsn == lastApplied + 1, "continuity checks guarantee consecutive LSNs")
                    try apply(lsn, body)
                    lastApplied = lsn
                    recordsApplied += 1
                }
            }
            continuity.recordEnd(of: segment, lastLSN: scan.lastLSN, validEnd: scan.validEnd)
            last = ScannedSegment(segment: segment, scan: scan, fileSize: file.bytes.count)
        }
        try continuity.checkEnd()
        let repaired: (tornTail: String?, removedSegment: String?)? = try last.map { last in
            if repair { return try repairLastSegment(last, directory: directory) }
            let torn = last.scan.tornTail.flatMap { $0.isZeroFill ? nil : $0 }
            return (torn.map { "\(last.segment.path): torn tail at offset \($0.offset) (\($0.reason))" }, nil)
        }
        return RecoveryReport(
            lastLSN: lastApplied, tornTail: repaired?.tornTail, removedEmptySegment: repaired?.removedSegment,
            recordsApplied: recordsApplied, segmentCount: segments.count
        )
    }

    /// Cuts the last segment's torn tail durably and deletes the segment if no record is left.
    /// Returns the log line for the cut and the path of a deleted segment.
    private static func repairLastSegment(
        _ last: ScannedSegment, directory: String
    ) throws -> (tornTail: String?, removedSegment: String?) {
        var tornTail: String?
        if let torn = last.scan.tornTail {
            precondition(torn.offset == last.scan.validEnd && last.fileSize > torn.offset, "a torn tail follows the whole records")
            try POSIXFile.truncate(last.segment.path, to: torn.offset)
            // Zero fill is the writer's preallocation, not a crash trace: cut it quietly.
            if !torn.isZeroFill {
                tornTail = "\(last.segment.path): torn tail at offset \(torn.offset), "
                    + "dropped \(last.fileSize - torn.offset) bytes (\(torn.reason))"
            }
        }
        guard last.scan.recordCount == 0 else { return (tornTail, nil) }
        try POSIXFile.remove(last.segment.path)
        try POSIXFile.syncDirectory(directory)
        return (tornTail, last.segment.path)
    }
}

/// One segment's scan, kept until the next segment shows whether it was the last.
private struct ScannedSegment {
    let segment: SegmentFile
    let scan: SegmentScanResult
    let fileSize: Int
}

/// Tracks where the journal must continue as segments are scanned in LSN order.
private struct Continuity {
    /// LSN of the snapshot the replay starts from.
    let afterLSN: UInt64
    /// LSN the next segment must start at; nil before the first segment.
    var journalNextLSN: UInt64?
    /// The last segment seen and the end of its whole records, for the end check.
    var lastSegment: (path: String, validEnd: Int)?

    init(afterLSN: UInt64) {
        self.afterLSN = afterLSN
    }

    /// Throws if `segment` does not start where the journal must continue.
    func checkStart(of segment: SegmentFile) throws(JournalCorruption) {
        if let next = journalNextLSN {
            guard segment.firstLSN == next else {
                throw JournalCorruption(
                    file: segment.path, offset: 0,
                    reason: "segment starts at LSN \(segment.firstLSN) but the previous segment ends at LSN \(next - 1)"
                )
            }
        } else if segment.firstLSN > afterLSN + 1 {
            throw JournalCorruption(
                file: segment.path, offset: 0,
                reason: "journal starts at LSN \(segment.firstLSN) but the snapshot covers only through LSN \(afterLSN)"
            )
        }
    }

    /// Records where `segment` ended: after its last record, or at its name's LSN if empty.
    mutating func recordEnd(of segment: SegmentFile, lastLSN: UInt64?, validEnd: Int) {
        journalNextLSN = lastLSN.map { $0 + 1 } ?? segment.firstLSN
        lastSegment = (segment.path, validEnd)
    }

    /// Throws if the journal ends before the snapshot: records the snapshot claims are missing.
    func checkEnd() throws(JournalCorruption) {
        guard let next = journalNextLSN, let last = lastSegment else { return }
        guard next > afterLSN else {
            throw JournalCorruption(
                file: last.path, offset: last.validEnd,
                reason: "journal ends at LSN \(next - 1) but the snapshot is at LSN \(afterLSN)"
            )
        }
    }
}
