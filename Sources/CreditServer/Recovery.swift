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
        // core), and the ref log's next chunk and the ref index's next large table are made on a
        // third, so that this one, the slower, takes none of their page faults.
        let spares = ReplaySpares()
        let report = try JournalRecovery.replayPipelined(directory: directory, afterLSN: snapshotLSN, decode: { lsn, body in
            do {
                return PreparedEntry(try EntryCodec.decode(body))
            } catch {
                throw ServerError("journal record \(lsn) in \(segmentPath(holding: lsn, directory: directory)) cannot be decoded: \(error)")
            }
        }, lookAhead: { ledger.prefetch(for: $0) }, apply: {
            ledger.offerSpareRefChunk(spares.takeChunk)
            ledger.offerSpareRefIndexTable(spares.takeIndexTable)
            ledger.apply($0)
        })
        if let torn = report.tornTail { Log.write(.warn, "journal tail cut", ["detail": torn]) }
        Log.write(.info, "recovered", [
            "snapshot_lsn": String(snapshotLSN), "records_replayed": String(report.recordsApplied),
            "segments": String(report.segmentCount), "credits": String(ledger.creditCount),
            "ref_chunks_premapped": String(spares.takenCounts.chunks),
            "index_tables_premapped": String(spares.takenCounts.tables),
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

/// Memory for replay's applying thread made ahead, its pages mapped, on other threads: ref
/// log chunks (`RefLog.makeSpareChunk()`), one kept ready once asked for, and a table for a large growth of
/// the ref index (`SpareIndexTable`), made once asked for. The first write to a fresh page faults,
/// and on this project's VM that cost the applying thread more than a tenth of its time.
final class ReplaySpares: Sendable {
    /// One queue for each kind: a table of millions of slots takes long enough to make that the
    /// chunks made behind it came late.
    private let chunkQueue = DispatchQueue(label: "creditd.replay-spare-chunks")
    private let tableQueue = DispatchQueue(label: "creditd.replay-spare-tables")
    /// The chunk made, nil while the next is being made.
    private let chunk = Mutex<[UInt8]?>(nil)
    /// The index table asked for last: its capacity, and the table once made.
    private let table = Mutex<(capacity: Int, made: SpareIndexTable?)?>(nil)
    /// How many chunks and tables were handed to the ledger.
    private let taken = Mutex((chunks: 0, tables: 0))

    /// True once a chunk is being made or ready: the first is started when first asked for (the
    /// ref log asks with half a chunk to fill before it needs it), so that a start with a short
    /// journal makes none.
    private let chunkStarted = Mutex(false)

    /// The chunk made, or nil while it is being made; taking one starts the next.
    func takeChunk() -> [UInt8]? {
        if !chunkStarted.withLock({ started in defer { started = true }; return started }) {
            makeChunk()
            return nil
        }
        guard let ready = chunk.withLock({ $0.take() }) else { return nil }
        taken.withLock { $0.chunks += 1 }
        makeChunk()
        return ready
    }

    /// A table of `capacity` slots if one was made; otherwise nil, and one is started unless it
    /// already is.
    func takeIndexTable(capacity: Int) -> SpareIndexTable? {
        let (ready, start) = table.withLock { asked -> (SpareIndexTable?, Bool) in
            guard let current = asked, current.capacity == capacity else {
                asked = (capacity, nil)
                return (nil, true)
            }
            if let made = current.made { asked = nil; return (made, false) }
            return (nil, false)
        }
        if start {
            tableQueue.async { [self] in
                let made = SpareIndexTable(capacity: capacity)
                table.withLock { asked in if asked?.capacity == capacity { asked = (capacity, made) } }
            }
        }
        if ready != nil { taken.withLock { $0.tables += 1 } }
        return ready
    }

    /// How many chunks and index tables were handed to the ledger (the last chunk may not be
    /// filled before replay ends).
    var takenCounts: (chunks: Int, tables: Int) { taken.withLock { $0 } }

    private func makeChunk() {
        chunkQueue.async { [self] in
            let made = RefLog.makeSpareChunk()
            chunk.withLock { $0 = made }
        }
    }
}
