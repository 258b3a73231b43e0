// Proves when the daemon hands freed memory back to the kernel: only after the ref count fell by a
// quarter of its high point and by at least 50,000 refs (never while steady traffic swaps old refs
// for new ones), at most every 10 s, counting from the last release; and that reading the
// resident size works.

@testable import CreditServer
import Testing

/// The answers of a policy that starts at `refCount` to the ticks `(refCount, nowMillis)`, in turn.
private func answers(from refCount: Int, _ ticks: [(Int, Int64)]) -> [Bool] {
    var policy = MemoryReleasePolicy(refCount: refCount)
    return ticks.map { policy.releaseDue(refCount: $0.0, nowMillis: $0.1) }
}

@Test func memoryIsReleasedOnlyWhenManyRefsWereForgottenAndNotTooOften() {
    let ticks: [(Int, Int64)] = [
        // Steady traffic: the count wobbles around the window's size, high point 420k.
        (400_000, 0), (420_000, 1_000), (390_000, 2_000), (410_000, 3_000), (380_000, 4_000),
        // Traffic fell: a quarter below 420k is 315k.
        (316_000, 5_000), (315_000, 6_000),
        // Counted from the release: 315k is the new high point, and 10 s must pass.
        (200_000, 15_999), (200_000, 16_000),
        // 200k is the high point now: a quarter below it is 150k.
        (150_001, 40_000), (150_000, 41_000),
    ]
    #expect(answers(from: 400_000, ticks) == [false, false, false, false, false, false, true, false, true, false, true])
    // A small ledger: a quarter of 60k is fewer refs than are worth a release.
    #expect(answers(from: 60_000, [(15_000, 0), (10_000, 0)]) == [false, true])
    // Everything forgotten at once (a restart after the refs aged out).
    #expect(answers(from: 3_000_000, [(0, 1_000)]) == [true])
}

@Test func theResidentSizeIsReadFromProc() throws {
    let kilobytes = try #require(residentKilobytes())
    #expect(kilobytes > 1_000 && kilobytes < 64_000_000)
}
