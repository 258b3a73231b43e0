// The simulation's disk: every entry framed as the server's journal writer frames it, a snapshot as the snapshotter writes it, torn at random, and recovered by the server's own recovery path.

import CreditCore
import CreditJournal
import Foundation

/// What the server would have on disk after the simulated run so far: the newest snapshot and the
/// journal segments after it. Records are framed by `RecordFormat` around `EntryCodec`'s body,
/// exactly as `JournalWriter` writes them; recovery writes the files to a scratch directory and
/// runs `SnapshotStore`, `SnapshotCodec`, `JournalRecovery` and `EntryCodec` on them, as
/// `Recovery.recover` does at start-up.
struct SimulatedDisk {
    /// A journal segment file: its first LSN (in its name) and its bytes.
    struct Segment {
        let firstLSN: UInt64
        var bytes: [UInt8] = []
        /// Where each whole record ends, in order: the last segment's record boundaries.
        var recordEnds: [Int] = []
    }

    /// The snapshot recovery starts from: LSN 0 holds the run's initial state.
    private(set) var snapshot: (lsn: UInt64, body: [UInt8])
    /// The snapshot before it, which a crash just after writing the new one can leave behind.
    private(set) var previousSnapshot: (lsn: UInt64, body: [UInt8])?
    /// Segments after the snapshot, in LSN order; the last is the one being appended to.
    private(set) var segments: [Segment]
    /// LSN of the last record appended.
    private(set) var lastLSN: UInt64 = 0
    /// Directory the files are written to for recovery (created on first use, one per run).
    private(set) var scratch: String?

    init(initial: LedgerState) {
        snapshot = (0, SnapshotCodec.encode(initial))
        segments = [Segment(firstLSN: 1)]
    }

    /// Bytes in the segment being appended to.
    var tailByteCount: Int { segments[segments.count - 1].bytes.count }

    /// Frames `entry` as the next record. The body must decode to the same entry (checked before
    /// writing, as the server's rules ask).
    mutating func append(_ entry: Entry) throws -> UInt64 {
        let body = EntryCodec.encode(entry)
        let decoded = try EntryCodec.decode(body[...])
        try ensure(decoded == entry, "entry \(entry) decodes as \(decoded)")
        lastLSN += 1
        let last = segments.count - 1
        RecordFormat.appendRecord(lsn: lastLSN, body: body, to: &segments[last].bytes)
        segments[last].recordEnds.append(segments[last].bytes.count)
        return lastLSN
    }

    /// A snapshot of `state` at the last LSN replaces the old one, and later records start a new
    /// segment (unless the current one has none yet), as the snapshotter and `startNewSegment` do.
    /// The segments it covers go (`removeSegments`) unless `keepingCovered`: a crash came before
    /// their removal, and recovery must skip their records.
    mutating func takeSnapshot(_ state: LedgerState, keepingCovered: Bool) {
        previousSnapshot = snapshot
        snapshot = (lastLSN, SnapshotCodec.encode(state))
        if !keepingCovered {
            segments = [Segment(firstLSN: lastLSN + 1)]
        } else if !segments[segments.count - 1].bytes.isEmpty {
            segments.append(Segment(firstLSN: lastLSN + 1))
        }
    }

    /// Record boundaries in the last segment at or after byte `offset`, before its end.
    func tailBoundaries(from offset: Int) -> [Int] {
        let last = segments[segments.count - 1]
        return ([0] + last.recordEnds).filter { $0 >= offset && $0 < last.bytes.count }
    }

    /// A crash in the middle of writing the tail: the last segment keeps only its first
    /// `byteCount` bytes, then `zeroFill` zero bytes (the file system extended the file, the data
    /// never arrived). Returns the LSN of the last whole record left (a record whose lost bytes
    /// were zeros and came back as zero fill is whole again), and whether non-zero bytes follow
    /// it (a torn tail recovery must cut and report; zeros alone are the writer's preallocated
    /// zero fill, which recovery cuts without reporting).
    mutating func tear(keeping byteCount: Int, zeroFill: Int) -> (lsn: UInt64, torn: Bool) {
        let last = segments.count - 1
        let old = segments[last].bytes
        precondition(byteCount < old.count, "a tear loses at least one byte")
        var bytes = Array(old[..<byteCount])
        bytes.append(contentsOf: repeatElement(0, count: zeroFill))
        var whole = 0
        var start = 0
        for end in segments[last].recordEnds {
            guard end <= bytes.count, bytes[start..<end] == old[start..<end] else { break }
            whole += 1
            start = end
        }
        segments[last].bytes = bytes
        lastLSN -= UInt64(segments[last].recordEnds.count - whole)
        segments[last].recordEnds.removeSubrange(whole...)
        return (lastLSN, bytes[start...].contains { $0 != 0 })
    }

    /// Writes the snapshot and segments to the scratch directory and recovers from them as the
    /// server does at start-up (cutting a torn tail); then reads back what recovery left on disk
    /// and starts a new segment at the next LSN, as a restarted server's journal writer does.
    /// With `leftovers`, the directory also holds what a crash in the middle of writing a
    /// snapshot leaves: the previous snapshot, a half-written temp file of a later one, and a
    /// spare snapshot file (an older snapshot's bytes).
    mutating func recover(policy: LedgerPolicy, leftovers: Bool = false) throws -> (Ledger, RecoveryReport) {
        let directory = try prepareScratch()
        try SnapshotStore.write(directory: directory, lsn: snapshot.lsn, body: snapshot.body)
        if leftovers {
            if let previous = previousSnapshot, previous.lsn < snapshot.lsn {
                try SnapshotStore.write(directory: directory, lsn: previous.lsn, body: previous.body)
            }
            let temp = directory + "/" + SnapshotStore.fileName(lsn: lastLSN + 1) + ".tmp"
            let torn = Array(SnapshotStore.magic) + Array(snapshot.body.prefix(snapshot.body.count / 2))
            guard FileManager.default.createFile(atPath: temp, contents: Data(torn)) else {
                throw SimulationFailure(description: "cannot write \(temp)")
            }
            // And a spare snapshot file holding a whole older snapshot's bytes, never to be read.
            let spare = directory + "/" + SnapshotStore.spareFileName
            let older = Array(SnapshotStore.magic) + Array(repeating: 0, count: 20) + (previousSnapshot?.body ?? [])
            guard FileManager.default.createFile(atPath: spare, contents: Data(older)) else {
                throw SimulationFailure(description: "cannot write \(spare)")
            }
        }
        for segment in segments {
            let path = directory + "/" + SegmentName.fileName(firstLSN: segment.firstLSN)
            guard FileManager.default.createFile(atPath: path, contents: Data(segment.bytes)) else {
                throw SimulationFailure(description: "cannot write \(path)")
            }
        }
        guard let loaded = try SnapshotStore.loadLatest(directory: directory) else {
            throw SimulationFailure(description: "the snapshot just written is not found")
        }
        var ledger = Ledger(policy: policy, state: try loaded.withBody { try SnapshotCodec.decode($0, currencies: policy.currencies) })
        // As the daemon's replay does: decoded on a second thread, prefetched ahead of each apply
        // (which must change nothing the checks after this can see).
        let report = try JournalRecovery.replayPipelined(directory: directory, afterLSN: loaded.lsn, decode: { _, body in
            PreparedEntry(try EntryCodec.decode(body, packingReplies: true))
        }, lookAhead: { ledger.prefetch(for: &$0) }, lookAheadAgain: { ledger.prefetchFurther(for: &$0) },
           apply: { ledger.apply(&$0) })
        try readBack(directory: directory, report: report)
        return (ledger, report)
    }

    /// Removes the scratch directory.
    func removeScratch() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    /// Replaces the segments by the files recovery left, then opens a new one at the next LSN.
    private mutating func readBack(directory: String, report: RecoveryReport) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let found = names.compactMap { name in SegmentName.firstLSN(fileName: name).map { (firstLSN: $0, name: name) } }
        var kept: [Segment] = []
        for (firstLSN, name) in found.sorted(by: { $0.firstLSN < $1.firstLSN }) {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw SimulationFailure(description: "cannot read back \(name)")
            }
            kept.append(Segment(firstLSN: firstLSN, bytes: [UInt8](data)))
        }
        try ensure(report.lastLSN == lastLSN,
                   "recovery ended at LSN \(report.lastLSN), the disk's last whole record is \(lastLSN)")
        segments = kept + [Segment(firstLSN: report.nextLSN)]
    }

    /// Creates the scratch directory on first use (in /dev/shm when there is one: no disk
    /// flushes for the snapshot's fsync) and empties it before every recovery.
    private mutating func prepareScratch() throws -> String {
        if let scratch {
            for name in try FileManager.default.contentsOfDirectory(atPath: scratch) {
                try FileManager.default.removeItem(atPath: scratch + "/" + name)
            }
            return scratch
        }
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array("\(base)/creditd-sim-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SimulationFailure(description: "mkdtemp in \(base) failed") }
        scratch = String(cString: made)
        return scratch!
    }
}
