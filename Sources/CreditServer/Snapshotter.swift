// Snapshotter: writes a snapshot of the ledger in the background every N journal records.

import CEpoll
import CreditCore
import CreditJournal
import Foundation
import Synchronization

/// Progress shared with the snapshot thread.
private final class SnapshotProgress: Sendable {
    let running = Atomic<Bool>(false)
    let completed = Atomic<Int>(0)
}

/// Decides when to snapshot, and writes snapshots off the engine thread so requests do not wait
/// for the encoding or the fsyncs. The state is a copy-on-write value copy taken on the engine
/// thread, so the engine keeps changing its own ledger meanwhile.
final class Snapshotter {
    /// The data directory snapshots are written to.
    let directory: String
    private let everyRecords: Int
    private var recordsSince = 0
    private let progress = SnapshotProgress()
    private let onFatal: @Sendable (String) -> Void

    /// Snapshots completed since start.
    var completed: Int { progress.completed.load(ordering: .relaxed) }

    /// `recordsSince` counts the journal records the last snapshot does not cover (those replayed
    /// at start-up), so a daemon that restarts often still snapshots.
    init(directory: String, everyRecords: Int, recordsSince: Int, onFatal: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.everyRecords = everyRecords
        self.recordsSince = recordsSince
        self.onFatal = onFatal
    }

    /// Counts a journaled record and starts a snapshot when enough have accumulated.
    ///
    /// `state` is only evaluated when a snapshot starts: taking the ledger by value on every
    /// record would copy (retain and release) all of its tables per request.
    func noteRecord(lsn: UInt64, journal: JournalWriter, state: @autoclosure () -> LedgerState) {
        recordsSince += 1
        guard recordsSince >= everyRecords, !progress.running.load(ordering: .acquiring) else { return }
        recordsSince = 0
        start(lsn: lsn, state: state(), journal: journal, background: true)
    }

    /// Writes a snapshot covering everything through `lsn` now, and waits for it (BACKUP, tests).
    /// Its thread keeps the daemon's priority: every request waits for it anyway. A background
    /// snapshot already running is waited for first, at its lower priority.
    func snapshotNow(lsn: UInt64, ledger: Ledger, journal: JournalWriter) {
        while progress.running.load(ordering: .acquiring) { usleep(1000) }
        start(lsn: lsn, state: ledger.canonicalState, journal: journal, background: false)
        while progress.running.load(ordering: .acquiring) { usleep(1000) }
    }

    /// How many nice steps the snapshot thread runs below the rest of the daemon.
    static let threadNiceSteps: Int32 = 10

    /// Starts the snapshot thread; a `background` one runs `threadNiceSteps` below the daemon.
    private func start(lsn: UInt64, state: LedgerState, journal: JournalWriter, background: Bool) {
        progress.running.store(true, ordering: .releasing)
        _ = journal.startNewSegment()
        let directory = self.directory
        let progress = self.progress
        let onFatal = self.onFatal
        let thread = Thread {
            // Below the event loop's priority: on a small box the encoding (seconds of a core for
            // a million cards) competes with requests for the CPU, and a request must not wait
            // for it. Ten nice steps lower still gets it about a tenth of a busy core, so it
            // always finishes.
            if background && cepoll_lower_thread_priority(Snapshotter.threadNiceSteps) != 0 {
                Log.write(.warn, "snapshot thread priority unchanged", ["error": errnoText()])
            }
            // The snapshot may only cover what the journal has made durable: otherwise a crash
            // could leave a snapshot holding changes whose replies were never sent.
            while journal.durableLSN < lsn { usleep(200) }
            let startedMillis = monotonicMillis()
            do {
                // Encoded a piece at a time straight into the file: the whole body is never in memory.
                try SnapshotStore.write(directory: directory, lsn: lsn) { emit in
                    try SnapshotCodec.encode(state, pieceBytes: SnapshotStore.writeChunkBytes, emit: emit)
                }
                let tookMillis = monotonicMillis() - startedMillis  // the write alone, not the removals
                try journal.removeSegments(coveredThrough: lsn)
                Log.write(.info, "snapshot written", ["lsn": String(lsn), "credits": String(state.credits.count),
                                                      "took_ms": String(tookMillis)])
                progress.completed.add(1, ordering: .relaxed)
            } catch {
                onFatal("snapshot at lsn \(lsn) failed: \(error)")
            }
            progress.running.store(false, ordering: .releasing)
        }
        thread.start()
    }
}
