// RecoveryReport: what replaying the journal found and repaired, for the startup log.

/// The outcome of `JournalRecovery.replay`.
public struct RecoveryReport: Sendable, Equatable {
    /// LSN of the newest record in the journal, or the `afterLSN` passed in if none is newer.
    /// The next writer starts at `lastLSN + 1`.
    public let lastLSN: UInt64

    /// A log line naming the file, offset and bytes dropped if a torn tail was cut, else nil.
    public let tornTail: String?

    /// Path of an empty last segment that was deleted so a new writer can create it afresh.
    public let removedEmptySegment: String?

    /// Records passed to `apply` (those with LSN > afterLSN).
    public let recordsApplied: Int

    /// Segment files scanned.
    public let segmentCount: Int

    /// The LSN the next writer must start at.
    public var nextLSN: UInt64 { lastLSN + 1 }
}
