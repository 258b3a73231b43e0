// Recovery: rebuild the ledger from the newest snapshot plus every journal record after it.

import CreditCore
import CreditJournal
import Dispatch
import Synchronization

/// Start-up recovery. A torn tail (a crash mid-write) is cut and logged; any other damage stops
/// start-up with a message naming the file and offset, because dropping data silently is worse
/// than not starting.
enum Recovery {
    /// Most refs recovery makes the ref index ready for beyond the `alreadyRemembered` ones of the
    /// snapshot: three times those, and at least 2M (with none remembered, a table of 4M slots,
    /// 48 MB, as growth makes for 1.5M to 3M refs).
    static func expectedRefsMax(alreadyRemembered: Int) -> Int {
        max(3 * alreadyRemembered, 1 << 21)
    }

    /// The recovered ledger, the LSN of the last record applied, and the LSN the newest snapshot
    /// covers (0 without one).
    static func recover(directory: String, policy: LedgerPolicy) throws -> (Ledger, UInt64, UInt64) {
        let started = monotonicMillis()
        var state = LedgerState()
        var snapshotLSN: UInt64 = 0
        // The snapshot's file is mapped only within this block: kept to the end of recovery, its
        // pages (read once, while decoding) stayed resident through replay, 230 MB more at the peak.
        if let snapshot = try SnapshotStore.loadLatest(directory: directory) {
            do {
                state = try snapshot.withBody { try SnapshotCodec.decode($0, currencies: policy.currencies) }
            } catch {
                throw ServerError("\(directory)/\(SnapshotStore.fileName(lsn: snapshot.lsn)) cannot be decoded: \(error)")
            }
            snapshotLSN = snapshot.lsn
        }
        // The ref index is made large enough for the records replay is about to apply, as far as
        // the segments' names tell (all but the last segment's), so that it does not grow on the
        // way; but for at most a few times the refs it has, so that a long journal whose refs age
        // out as it is replayed does not leave a table sized for all of them (growth takes over).
        let knownRecords = try JournalRecovery.recordCountBeforeLastSegment(directory: directory, afterLSN: snapshotLSN)
        let expectedRecords = min(knownRecords, Self.expectedRefsMax(alreadyRemembered: state.refs.count))
        // Consumed: a second reference kept here would make the ledger's first change copy its tables.
        var ledger = Ledger(policy: policy, state: consume state, expectingRefs: expectedRecords)
        let snapshotLoaded = monotonicMillis()
        // Records are decoded on a second thread while this one applies them (replay ran on one
        // core), and the next chunks of the ref log and the holds and credits tables, and the ref
        // index's next large table, are made on others, so that this one, the slower, takes none
        // of their page faults.
        let spares = ReplaySpares()
        let report = try JournalRecovery.replayPipelined(directory: directory, afterLSN: snapshotLSN, decode: { lsn, body in
            do {
                return PreparedEntry(try EntryCodec.decode(body, packingReplies: true))
            } catch {
                throw ServerError("journal record \(lsn) in \(segmentPath(holding: lsn, directory: directory)) cannot be decoded: \(error)")
            }
        }, lookAhead: { ledger.prefetch(for: &$0) }, lookAheadAgain: { ledger.prefetchFurther(for: &$0) }, apply: {
            ledger.offerSpares(from: spares)
            ledger.apply(&$0)
        })
        if let torn = report.tornTail { Log.write(.warn, "journal tail cut", ["detail": torn]) }
        Log.write(.info, "recovered", [
            "snapshot_lsn": String(snapshotLSN), "records_replayed": String(report.recordsApplied),
            "segments": String(report.segmentCount), "credits": String(ledger.creditCount),
            "ref_chunks_premapped": String(spares.refChunks.takenCount),
            "index_tables_premapped": String(spares.tablesTakenCount),
            "table_chunks_premapped": String(spares.holdChunks.takenCount + spares.creditChunks.takenCount),
            "snapshot_ms": String(snapshotLoaded - started), "replay_ms": String(monotonicMillis() - snapshotLoaded),
        ])
        // Indexes sized for refs the replay has since forgotten give their memory back. Here, on
        // the local ledger: a mutable copy kept by the caller beside the engine's would share the
        // engine's tables, and every change the engine made would copy them instead.
        ledger.shrinkSparseTables()
        spares.finish()
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

/// Memory for replay's applying thread made ahead, its pages mapped, on other threads: ref log
/// chunks (`RefLog.makeSpareChunk()`), holds and credits table chunks
/// (`NumberedTable.makeSpareChunk()`), each kind kept one ready once asked for, and a table for
/// a large growth of the ref index (`SpareIndexTable`), made once asked for. The first write to a
/// fresh page faults, and on this project's VM that cost the applying thread more than a tenth
/// of its time.
final class ReplaySpares: LedgerSpareSupplier, Sendable {
    /// Chunks on one queue, tables on another: a table of millions of slots takes long enough to
    /// make that the chunks made behind it came late.
    private let chunkQueue = DispatchQueue(label: "creditd.replay-spare-chunks")
    private let tableQueue = DispatchQueue(label: "creditd.replay-spare-tables")
    let refChunks: SpareSupply<[UInt8]>
    let holdChunks: SpareSupply<[Hold?]>
    let creditChunks: SpareSupply<[Credit?]>
    /// The index table asked for last: its capacity, and the table once made.
    private let table = Mutex<(capacity: Int, made: SpareIndexTable?)?>(nil)
    /// How many index tables were handed to the ledger.
    private let tablesTaken = Mutex(0)

    init() {
        refChunks = SpareSupply(queue: chunkQueue, make: RefLog.makeSpareChunk)
        holdChunks = SpareSupply(queue: chunkQueue, make: NumberedTable<HoldID, Hold>.makeSpareChunk)
        creditChunks = SpareSupply(queue: chunkQueue, make: NumberedTable<CreditID, Credit>.makeSpareChunk)
    }

    func refChunk() -> [UInt8]? { refChunks.take() }
    func holdChunk() -> [Hold?]? { holdChunks.take() }
    func creditChunk() -> [Credit?]? { creditChunks.take() }

    /// A table of `capacity` slots if one was made; otherwise nil, and one is started unless it
    /// already is.
    func refIndexTable(capacity: Int) -> SpareIndexTable? {
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
                // Not made if another size was asked for meanwhile: tens of MB for nothing.
                guard table.withLock({ $0?.capacity == capacity }) else { return }
                let made = SpareIndexTable(capacity: capacity)
                table.withLock { asked in if asked?.capacity == capacity { asked = (capacity, made) } }
            }
        }
        if ready != nil { tablesTaken.withLock { $0 += 1 } }
        return ready
    }

    /// How many index tables were handed to the ledger.
    var tablesTakenCount: Int { tablesTaken.withLock { $0 } }

    /// Waits for the spares still being made and drops every one not taken, once replay is over,
    /// so that what they hold (an index table can be tens of MB) is freed before start-up hands
    /// freed memory back to the kernel, not by a queue's thread at some moment after it.
    func finish() {
        chunkQueue.sync {}
        tableQueue.sync {}
        table.withLock { $0 = nil }
        refChunks.drop()
        holdChunks.drop()
        creditChunks.drop()
    }
}

/// One kind of spare, made one ahead on a queue once first asked for: `take()` hands over the one
/// made, if it is ready, and starts the next.
final class SpareSupply<Spare: Sendable>: Sendable {
    private enum State {
        /// None asked for yet: the first is started when first asked for (the ledger asks with
        /// half a chunk to fill before it needs one), so that a start with a short journal makes none.
        case idle
        case making
        case ready(Spare)
    }

    private let queue: DispatchQueue
    private let make: @Sendable () -> Spare
    private let state = Mutex(State.idle)
    /// How many were handed to the ledger (the last may not be filled before replay ends).
    private let taken = Mutex(0)

    init(queue: DispatchQueue, make: @escaping @Sendable () -> Spare) {
        self.queue = queue
        self.make = make
    }

    /// The spare made, or nil while it is being made; asking first, or taking one, starts the next.
    func take() -> Spare? {
        let (spare, start) = state.withLock { state -> (Spare?, Bool) in
            switch state {
            case .idle: state = .making; return (nil, true)
            case .making: return (nil, false)
            case .ready(let spare): state = .making; return (spare, true)
            }
        }
        if start {
            queue.async { [self] in
                let made = make()
                state.withLock { $0 = .ready(made) }
            }
        }
        if spare != nil { taken.withLock { $0 += 1 } }
        return spare
    }

    /// How many `take()` handed over.
    var takenCount: Int { taken.withLock { $0 } }

    /// Drops the spare made, if any (once no more will be asked for, and none is being made).
    func drop() {
        state.withLock { $0 = .idle }
    }
}
