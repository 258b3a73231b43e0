// Recovery: rebuild the ledger from the newest snapshot plus every journal record after it.

import CreditCore
import CreditJournal

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
            let state = try SnapshotCodec.decode(snapshot.body, currencies: policy.currencies)
            ledger = Ledger(policy: policy, state: state)
            snapshotLSN = snapshot.lsn
        }
        let snapshotLoaded = monotonicMillis()
        let report = try JournalRecovery.replay(directory: directory, afterLSN: snapshotLSN) { lsn, body in
            do {
                ledger.apply(try EntryCodec.decode(body))
            } catch {
                throw ServerError("journal record \(lsn) in \(directory) cannot be decoded: \(error)")
            }
        }
        if let torn = report.tornTail { Log.write(.warn, "journal tail cut", ["detail": torn]) }
        Log.write(.info, "recovered", [
            "snapshot_lsn": String(snapshotLSN), "records_replayed": String(report.recordsApplied),
            "segments": String(report.segmentCount), "credits": String(ledger.creditCount),
            "snapshot_ms": String(snapshotLoaded - started), "replay_ms": String(monotonicMillis() - snapshotLoaded),
        ])
        return (ledger, report.lastLSN, snapshotLSN)
    }
}
