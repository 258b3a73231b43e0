// MemoryRelease: hands heap memory freed by forgotten refs back to the kernel.

import CEpoll
import Glibc

/// When to return freed heap memory to the kernel with `malloc_trim`.
///
/// Refs are forgotten a 1 MiB chunk at a time once they leave the ref window, and malloc keeps
/// what they held for reuse instead of returning it, so a daemon whose traffic fell (or that
/// restarted after its refs aged out) stayed at its peak resident size. Measured on a 1M-card
/// ledger whose 3M refs had all been forgotten: 711 MB resident, 520 MB after `malloc_trim`,
/// which took 9.8 ms on this VM (before the ref log kept a chunk aside as the next to fill: one
/// chunk of a little over 1 MiB now stays resident however many refs are forgotten).
///
/// While traffic is steady, new refs reuse what old ones freed; returning that memory would only
/// make the kernel fault it in again. So a release is due only when the ref count has fallen by a
/// quarter of its high point (and by at least `refsForgottenMin`) since the last release, and at
/// most every `intervalMillis`.
struct MemoryReleasePolicy {
    /// Fewest refs forgotten since the count's high point that make a release due.
    static let refsForgottenMin = 50_000
    /// Least time between two releases: `malloc_trim` walks the heap's free chunks.
    static let intervalMillis: Int64 = 10_000

    /// The highest ref count seen since the last release.
    private var peakRefs: Int
    /// When the last release was (monotonic milliseconds).
    private var lastReleaseMillis: Int64?

    /// A policy starting from the ledger's ref count.
    init(refCount: Int) {
        peakRefs = refCount
    }

    /// Notes the ref count at a tick; true when a release is due now (and counts it as done).
    mutating func releaseDue(refCount: Int, nowMillis: Int64) -> Bool {
        peakRefs = max(peakRefs, refCount)
        let forgotten = peakRefs - refCount
        guard forgotten >= MemoryReleasePolicy.refsForgottenMin, forgotten * 4 >= peakRefs else { return false }
        if let last = lastReleaseMillis, nowMillis - last < MemoryReleasePolicy.intervalMillis { return false }
        peakRefs = refCount
        lastReleaseMillis = nowMillis
        return true
    }
}

/// Returns the heap's free memory to the kernel and logs what it gave back and how long it took.
func releaseFreedMemory(reason: String) {
    let before = residentKilobytes()
    let started = monotonicMicros()
    _ = cepoll_malloc_trim()
    let micros = monotonicMicros() - started
    let after = residentKilobytes()
    Log.write(.info, "memory released", ["reason": reason, "rss_kb_before": before.map(String.init) ?? "?",
                                         "rss_kb_after": after.map(String.init) ?? "?", "took_us": String(micros)])
}

/// The process's resident set in kB, from /proc/self/statm (nil if it cannot be read).
func residentKilobytes() -> Int? {
    let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    guard count > 0 else { return nil }
    // "size resident shared ...", in pages.
    let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
    guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}
