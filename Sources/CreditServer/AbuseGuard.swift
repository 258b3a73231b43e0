// AbuseGuard: throttles card cracking and secret guessing across connections, keys and addresses.

/// Counts failures in fixed one-minute windows and says when a key or an address must wait.
/// Not journaled: it protects the service, it is not ledger state (card locks are journaled).
final class AbuseGuard {
    /// Length of a counting window.
    static let windowMillis: Int64 = 60_000
    /// Declined cards or claim codes one connection may cause before it is closed: a till
    /// mistyping a few PINs stays far below; a script trying numbers does not.
    static let declinesPerConnectionMax = 10
    /// Declines one client key may cause per window (over all its connections) before its card
    /// requests get BUSY until the window ends: room for a busy store, not for cracking.
    static let declinesPerKeyMax = 200
    /// Failed AUTHs from one source address per window before AUTH from it is refused.
    static let authFailuresPerAddressMax = 20
    /// Most keys and addresses tracked at once, so the tables cannot grow without bound.
    static let trackedMax = 100_000

    private struct Window { var start: Int64; var count: Int }
    private var declinesByKey: [String: Window] = [:]
    private var authFailuresByAddress: [String: Window] = [:]

    /// Counts a declined card or claim code by `key`; true if the key is now throttled.
    func noteDecline(key: String, now: Int64) -> Bool {
        Self.count(&declinesByKey, key, now) >= Self.declinesPerKeyMax
    }

    /// True while `key` is throttled.
    func isThrottled(key: String, now: Int64) -> Bool {
        Self.current(declinesByKey, key, now) >= Self.declinesPerKeyMax
    }

    /// Counts a failed AUTH from `address`.
    func noteAuthFailure(address: String, now: Int64) {
        _ = Self.count(&authFailuresByAddress, address, now)
    }

    /// True while AUTH from `address` is refused.
    func isBlocked(address: String, now: Int64) -> Bool {
        Self.current(authFailuresByAddress, address, now) >= Self.authFailuresPerAddressMax
    }

    private static func count(_ table: inout [String: Window], _ key: String, _ now: Int64) -> Int {
        if table.count >= trackedMax { table = table.filter { now - $0.value.start < windowMillis } }
        var window = table[key] ?? Window(start: now, count: 0)
        if now - window.start >= windowMillis { window = Window(start: now, count: 0) }
        window.count += 1
        table[key] = window
        return window.count
    }

    private static func current(_ table: [String: Window], _ key: String, _ now: Int64) -> Int {
        guard let window = table[key], now - window.start < windowMillis else { return 0 }
        return window.count
    }
}
