// Decoy locks: unknown card numbers count wrong PINs and lock exactly as real cards do, so that a
// lock (or its absence) tells a guesser nothing about whether a number exists.

/// The wrong-PIN state of a card number that names no card: a real card's `pinFailures` and
/// `lockedUntil`, kept by card digest (a keyed hash, never the number).
public struct DecoyLock: Equatable, Sendable {
    /// Declined attempts since the last lock (a real card's `pinFailures`; no right PIN can clear it).
    public internal(set) var failures: Int
    /// Declined until then; stays set after it passes, as a real card's does, until it relocks.
    public internal(set) var lockedUntil: Instant?
    /// When the last declined attempt was applied: the order evictions follow.
    public internal(set) var lastFailureAt: Instant

    /// Makes a decoy (used by decoders and tests).
    public init(failures: Int, lockedUntil: Instant?, lastFailureAt: Instant) {
        self.failures = failures
        self.lockedUntil = lockedUntil
        self.lastFailureAt = lastFailureAt
    }

    /// True when it is locked at `now`.
    public func isLocked(at now: Instant) -> Bool {
        lockedUntil.map { now < $0 } ?? false
    }

    /// True when it behaves exactly like a number never tried: no failures counted, no lock in force.
    func isSpent(at now: Instant) -> Bool {
        failures == 0 && !isLocked(at: now)
    }
}

extension LedgerPolicy {
    /// Most decoys the ledger keeps by default. Each is about 100 bytes, so this bounds them to a
    /// few MB of memory and snapshot, while a guesser has to try this many distinct numbers (at
    /// their per-key rate limits) before any partly counted decoy is forgotten.
    public static let decoysMaxDefault = 100_000
}
