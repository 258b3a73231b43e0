// Recovery: rebuild the ledger from the newest snapshot plus every journal record after it.

import CreditCore
import CreditJournal
import Dispatch
import Synchronization

/// Start-up recovery. A torn tail (a crash mid-write) is cut and logged; any other damage stops
/// start-up with a message naming the file and offset, because dropping data silently is worse
/// than not starting.
enum Recovery {
    /// The recovered ledger, the LSN of the last record applied, and the LSN the newest snapshot
    /// covers (0 without one).
    static func recover(directory: String, policy: LedgerPolicy) throws -> (Ledger, UInt64, UInt64) {
        var ledger = Ledger(policy: policy)
        var snapshotLSN: UInt64 = 0
        let started = monotonicMillis()
        if let snapshot = try SnapshotStore.loadLatest(directory: directory) {
            let state: LedgerState
            do {
                state = try snapshot.withBody { try SnapshotCodec.decode($0, currencies: policy.currencies) }
            } catch {
                throw ServerError("\(directory)/\(SnapshotStore.fileName(lsn: snapshot.lsn)) cannot be decoded: \(error)")
            }
            ledger = Ledger(policy: policy, state: state)
            snapshotLSN = snapshot.lsn
        }
        let snapshotLoaded = monotonicMillis()
        // Records are decoded on a second thread while this one applies them (replay ran on one
        // core), and the ref log's next chunk is made on a third, so that this one, the slower,
        // takes none of its page faults.
        let spareChunks = SpareRefChunks()
        let report = try JournalRecovery.replayPipelined(directory: directory, afterLSN: snapshotLSN, decode: { lsn, body in
            do {
                return PreparedEntry(try EntryCodec.decode(body))
            } catch {
                throw ServerError("journal record \(lsn) in \(segmentPath(holding: lsn, directory: directory)) cannot be decoded: \(error)")
            }
        }, lookAhead: { ledger.prefetch(for: $0) }, apply: {
            ledger.offerSpareRefChunk(spareChunks.take)
            ledger.apply($0)
        })
        if let torn = report.tornTail { Log.write(.warn, "journal tail cut", ["detail": torn]) }
        Log.write(.info, "recovered", [
            "snapshot_lsn": String(snapshotLSN), "records_replayed": String(report.recordsApplied),
            "segments": String(report.segmentCount), "credits": String(ledger.creditCount),
            "ref_chunks_premapped": String(spareChunks.takenCount),
            "snapshot_ms": String(snapshotLoaded - started), "replay_ms": String(monotonicMillis() - snapshotLoaded),
        ])
        // Indexes sized for refs the replay has since forgotten give their memory back. Here, on
        // the local ledger: a mutable copy kept by the caller beside the engine's would share the
        // engine's tables, and every change the engine made would copy them instead.
        ledger.shrinkSparseTables()
        return (ledger, report.lastLSN, snapshotLSN)
    }

    /// The path of the segment file that holds record `lsn` (the one with the greatest first LSN
    /// not above it), for error messages; the directory if it cannot be told.
    static func segmentPath(holding lsn: UInt64, directory: String) -> String {
        let names = (try? BackupFiles.list(directory)) ?? nil
        let first = names?.compactMap(SegmentName.firstLSN(fileName:)).filter { $0 <= lsn }.max()
        return first.map { directory + "/" + SegmentName.fileName(firstLSN: $0) } ?? directory
    }
}

/// Ref log chunks for replay (`RefLog.makeSpareChunk()`), made one ahead on a queue of their own:
/// `take()` hands over the one made, if it is ready, and starts the next.
final class SpareRefChunks: Sendable {
    private let ready = Mutex<[UInt8]?>(nil)
    private let queue = DispatchQueue(label: "creditd.spare-ref-chunks")

    init() {
        makeNext()
    }

    /// How many chunks were taken.
    private let taken = Mutex(0)

    /// The chunk made, or nil while it is being made.
    func take() -> [UInt8]? {
        guard let chunk = ready.withLock({ ready in ready.take() }) else { return nil }
        taken.withLock { $0 += 1 }
        makeNext()
        return chunk
    }

    /// How many chunks `take()` handed over.
    var takenCount: Int { taken.withLock { $0 } }

    private func makeNext() {
        queue.async { [self] in
            let chunk = RefLog.makeSpareChunk()
            ready.withLock { $0 = chunk }
        }
    }
}
