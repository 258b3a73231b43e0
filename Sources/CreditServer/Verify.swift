// Verify: `creditd verify` — check a data directory without changing it.

import CreditCore
import CreditJournal

/// Offline verification of a data directory.
public enum Verify {
    /// Loads the newest snapshot and audits it, replays the journal after it (changing nothing
    /// on disk) and audits the result; when the journal still holds every record from the
    /// first, also replays it from scratch and compares with the snapshot. Returns the report
    /// lines and whether everything agreed.
    public static func run(config: ServerConfig) throws -> (lines: [String], ok: Bool) {
        let policy = try Server.loadPolicy(config)
        let directory = config.dataDirectory
        var lines: [String] = []
        var problems: [String] = []
        var ledger = Ledger(policy: policy)
        var snapshotLSN: UInt64 = 0
        // Files are read, not mapped: verify may run beside a live daemon, which can cut a file
        // (a torn tail at its start, an old segment it removes) under a mapping.
        // A live daemon's snapshot temp file is left alone: deleting it would fail its rename.
        if let snapshot = try SnapshotStore.loadLatest(directory: directory, access: .read, removingLeftovers: false) {
            ledger = Ledger(policy: policy, state: try snapshot.withBody { try SnapshotCodec.decode($0, currencies: policy.currencies) })
            snapshotLSN = snapshot.lsn
            lines.append("snapshot at lsn \(snapshot.lsn): \(ledger.creditCount) credits")
            problems += ledger.auditProblems.map { "snapshot: \($0)" }
            problems += compareWithFullReplay(directory: directory, policy: policy, snapshot: ledger, lsn: snapshot.lsn, lines: &lines)
        }
        let report = try JournalRecovery.replay(directory: directory, afterLSN: snapshotLSN, repair: false, access: .read) { _, body in
            ledger.apply(try EntryCodec.decode(body))
        }
        lines.append("journal: \(report.recordsApplied) records after the snapshot, last lsn \(report.lastLSN)")
        if let torn = report.tornTail { lines.append("journal: \(torn) (start-up would cut it)") }
        problems += ledger.auditProblems
        lines.append("state: \(ledger.creditCount) credits, \(ledger.pendingHoldCount) pending holds")
        lines += problems.isEmpty ? ["verify: OK"] : problems + ["verify: \(problems.count) problems"]
        return (lines, problems.isEmpty)
    }

    /// Replays the journal from its first record up to the snapshot and compares states.
    private static func compareWithFullReplay(directory: String, policy: LedgerPolicy, snapshot: Ledger, lsn: UInt64,
                                              lines: inout [String]) -> [String] {
        var replayed = Ledger(policy: policy)
        var replayedThrough: UInt64 = 0
        do {
            _ = try JournalRecovery.replay(directory: directory, afterLSN: 0, repair: false, access: .read) { recordLSN, body in
                guard recordLSN <= lsn else { return }
                replayed.apply(try EntryCodec.decode(body))
                replayedThrough = recordLSN
            }
        } catch {
            replayedThrough = 0
        }
        // No segment at all (a restored backup) replays nothing without an error: that too means
        // the records before the snapshot are gone, not that they disagree.
        guard replayedThrough == lsn else {
            lines.append("journal before the snapshot was removed (normal after snapshots): compared invariants only")
            return []
        }
        guard replayed.canonicalState == snapshot.canonicalState else {
            return ["snapshot at lsn \(lsn) differs from the journal replayed from the start"]
        }
        lines.append("snapshot equals the journal replayed from the start")
        return []
    }
}
