// The simulation's crashes and restarts: a torn journal tail recovered by the real recovery code must give exactly the live state as of the last whole record, and the run goes on from the recovered ledger.

import CreditCore
import CreditJournal

extension Simulation {
    /// At the start of a step (when no crash is on its way): now and then opens a crash window of
    /// one to three steps, takes a snapshot (later records go to a new segment), or restarts the
    /// server cleanly from the disk.
    mutating func diskEvent() throws {
        guard crashWindow == nil else { return }
        switch diskRNG.below(100) {
        case 0..<3:
            crashWindow = (1 + diskRNG.below(3), disk.tailByteCount, sent.count)
            checkpoints = [disk.lastLSN: checkpoint()]
        case 3..<5:
            try takeSnapshot()
        case 5..<6:
            try restartFromDisk()
        default:
            break
        }
    }

    /// Crashes when the open window's last step is done.
    mutating func crashIfDue() throws {
        guard let window = crashWindow else { return }
        guard window.stepsLeft <= 1 else {
            crashWindow = (window.stepsLeft - 1, window.tailStart, window.sentBefore)
            return
        }
        try crash()
    }

    /// The whole simulation as it is now, to go back to (without the other checkpoints).
    func checkpoint() -> Simulation {
        var copy = self
        copy.checkpoints = [:]
        copy.crashWindow = nil
        return copy
    }

    /// A crash while the window's records were being written: the last segment keeps a random
    /// prefix of them (maybe followed by zero fill), so at least one byte of the group commit in
    /// flight is lost (zero fill may put back lost zeros, making a record whole again: then it
    /// survives). Recovery must cut the torn tail and rebuild exactly the live state as of
    /// the last whole record: nothing after it, nothing half-applied, nothing before it lost.
    /// The run then resumes from the recovered ledger, the model rolled back to that record;
    /// the clock, the random source and the requests sent (clients retry them) go on.
    mutating func crash() throws {
        guard let window = crashWindow else { preconditionFailure("crash without a window") }
        crashWindow = nil
        let written = disk.tailByteCount - window.tailStart
        guard written > 0 else {
            checkpoints = [:]
            tally["crash-nothing-in-flight", default: 0] += 1
            return
        }
        // Mostly anywhere in the bytes in flight; now and then exactly between two records.
        let boundaries = disk.tailBoundaries(from: window.tailStart)
        let kept = diskRNG.chance(20) ? boundaries[diskRNG.below(boundaries.count)]
                                      : window.tailStart + diskRNG.below(written)
        let zeroFill = diskRNG.chance(30) ? 1 + diskRNG.below(disk.tailByteCount - kept + 16) : 0
        let (windowStartLSN, lastWritten) = (checkpoints.keys.min()!, disk.lastLSN)
        let (survivor, torn) = disk.tear(keeping: kept, zeroFill: zeroFill)
        try ensure(survivor >= windowStartLSN && survivor <= lastWritten,
                   "a tear inside the window (LSN \(windowStartLSN + 1)...\(lastWritten)) kept LSN \(survivor)")
        let (recovered, report) = try disk.recover(policy: policy, leftovers: diskRNG.chance(30))
        try ensure((report.tornTail != nil) == torn,
                   "kept \(kept) bytes and \(zeroFill) zeros: expected torn \(torn), "
                       + "recovery reported \(String(describing: report.tornTail))")
        guard let resumed = checkpoints[survivor] else {
            throw SimulationFailure(description: "no checkpoint at LSN \(survivor) (window from LSN \(windowStartLSN + 1))")
        }
        let expected = resumed.live
        try ensure(recovered.canonicalState == expected.canonicalState && recovered.refCount == expected.refCount
                   && recovered.pendingHoldCount == expected.pendingHoldCount,
                   "recovered from a tear at byte \(kept) (+\(zeroFill) zeros): not the live state as of LSN \(survivor)")
        try ensure(resumed.replica.canonicalState == expected.canonicalState, "the replica as of LSN \(survivor) differs")
        resume(from: resumed, recovered: recovered)
        tally["crash", default: 0] += 1
        tally[torn ? "torn-tail" : "crash-cut-between-records", default: 0] += 1
        // Tills retry most requests that got no reply: one whose record survived replays, one
        // that was lost applies afresh, as the model (rolled back) predicts.
        for request in sent[window.sentBefore...] where diskRNG.chance(60) {
            try send(request)
            tally["retry-after-crash", default: 0] += 1
        }
    }

    /// Goes back to `resumed`'s model with the recovered ledger as the live one; what is not
    /// ledger state (the clock, randomness, counters that keep cards, codes and refs unique, the
    /// requests sent) carries on.
    mutating func resume(from resumed: Simulation, recovered: Ledger) {
        var next = resumed
        next.rng = rng
        next.diskRNG = diskRNG
        next.step = step
        next.now = now
        next.tally = tally
        next.refCounter = refCounter
        next.cardCounter = cardCounter
        next.claimCounter = claimCounter
        next.claimCodes = claimCodes
        next.retiredCards = retiredCards
        next.sent = sent
        next.lateRefs = lateRefs
        next.disk = disk
        next.ledgers[0] = recovered
        next.checkpoints = [:]
        next.crashWindow = nil
        next.touchedCredits = Set(recovered.state.credits.keys)
        next.touchedHolds = Set(recovered.state.holds.keys)
        next.auditDue = true
        self = next
    }

    /// A snapshot of the live state: it must decode to that state; the journal starts a new
    /// segment after it, and the covered segments go (or, now and then, stay: a crash came first).
    mutating func takeSnapshot() throws {
        let state = live.canonicalState
        let keepingCovered = diskRNG.chance(30)
        disk.takeSnapshot(state, keepingCovered: keepingCovered)
        if keepingCovered { tally["snapshot-segments-kept", default: 0] += 1 }
        let decoded = try SnapshotCodec.decode(disk.snapshot.body, currencies: policy.currencies)
        try ensure(decoded == state, "the snapshot at LSN \(disk.lastLSN) decodes to another state")
        tally["snapshot", default: 0] += 1
    }

    /// A clean restart: recovery from the snapshot and journal must give the live state exactly,
    /// and the server goes on with the recovered ledger.
    mutating func restartFromDisk() throws {
        let (recovered, report) = try disk.recover(policy: policy, leftovers: diskRNG.chance(30))
        try ensure(report.tornTail == nil, "a clean restart found a torn tail: \(report.tornTail!)")
        try ensure(recovered.canonicalState == live.canonicalState && recovered.refCount == live.refCount
                   && recovered.pendingHoldCount == live.pendingHoldCount,
                   "recovered from the snapshot at LSN \(disk.snapshot.lsn) and the journal to LSN \(report.lastLSN): "
                       + "another state")
        ledgers[0] = recovered
        auditDue = true
        tally["restart", default: 0] += 1
    }
}
