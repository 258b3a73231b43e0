// RequestStats: per-verb request counts and latency histograms, per-code error counts — fixed arrays, no allocation per request.

import CreditCore
import CreditProtocol

/// Counters behind STATS' per-verb and per-error lines. Every array is allocated once, indexed by
/// a verb's position in `CommandTable.verbs` (one extra slot for lines that name no known verb)
/// and by an error code's position in `ErrorCode.allCases`, so recording a request is a few
/// integer increments on the engine thread.
///
/// Latency is measured from when the event loop takes a complete request line (before parsing)
/// to when its reply is released to the connection's send buffer, i.e. once its journal records
/// are durable: it includes the group-commit fsync wait, not the time spent in the socket.
final class RequestStats {
    /// Upper bounds of the latency buckets in microseconds, from a cached read (~10 µs) to a
    /// fsync on a slow disk (seconds); a last, unbounded bucket follows. Fixed so Prometheus
    /// series stay stable across restarts and versions.
    static let latencyBoundsMicros: [Int64] = [
        50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    ]
    /// Buckets per verb: one per bound plus the unbounded one.
    static let bucketCount = latencyBoundsMicros.count + 1
    /// Verb slots: every row of the command table, then `unknownVerbSlot`.
    static let verbSlotCount = CommandTable.verbs.count + 1
    /// The slot for lines that name no verb (unparseable, unknown verb, over-long line).
    static let unknownVerbSlot = CommandTable.verbs.count
    /// The name STATS shows for `unknownVerbSlot`.
    static let unknownVerbName = "UNKNOWN"
    /// Error codes in their wire order, cached: `allCases` builds a new array at each call.
    static let errorCodes = ErrorCode.allCases

    /// Requests handled, per verb slot.
    private(set) var requests: [Int]
    /// ERR replies, per verb slot.
    private(set) var errorsByVerb: [Int]
    /// ERR replies, per error code position.
    private(set) var errorsByCode: [Int]
    /// Latency histogram: `bucketCount` non-cumulative counts per verb slot, flattened.
    private(set) var latencyBuckets: [Int]
    /// Sum of the latencies counted, per verb slot, in microseconds.
    private(set) var latencySumMicros: [Int64]

    init() {
        requests = Array(repeating: 0, count: Self.verbSlotCount)
        errorsByVerb = Array(repeating: 0, count: Self.verbSlotCount)
        errorsByCode = Array(repeating: 0, count: Self.errorCodes.count)
        latencyBuckets = Array(repeating: 0, count: Self.verbSlotCount * Self.bucketCount)
        latencySumMicros = Array(repeating: 0, count: Self.verbSlotCount)
    }

    /// The name of a verb slot as STATS shows it.
    static func verbName(_ slot: Int) -> String {
        slot == unknownVerbSlot ? unknownVerbName : CommandTable.verbs[slot].verb
    }

    /// Counts a request of verb slot `verb`.
    func noteRequest(verb: Int) {
        requests[verb] += 1
    }

    /// Counts an ERR reply to a request of verb slot `verb`.
    func noteError(_ code: ErrorCode, verb: Int) {
        errorsByVerb[verb] += 1
        if let position = Self.errorCodes.firstIndex(of: code) { errorsByCode[position] += 1 }
    }

    /// Counts one reply's latency.
    func noteLatency(verb: Int, micros: Int64) {
        var bucket = 0
        while bucket < Self.latencyBoundsMicros.count && micros > Self.latencyBoundsMicros[bucket] { bucket += 1 }
        latencyBuckets[verb * Self.bucketCount + bucket] += 1
        latencySumMicros[verb] += max(0, micros)
    }

    /// The latency bucket counts of a verb slot, not cumulative.
    func buckets(verb: Int) -> ArraySlice<Int> {
        latencyBuckets[(verb * Self.bucketCount)..<((verb + 1) * Self.bucketCount)]
    }

    /// An upper bound on the `percent` percentile latency of a verb slot: the bound of the bucket
    /// that holds it (the histogram keeps no finer detail), the last bound for the open bucket,
    /// 0 when nothing was counted.
    func latencyPercentileMicros(verb: Int, percent: Int) -> Int64 {
        let counts = buckets(verb: verb)
        let total = counts.reduce(0, +)
        guard total > 0 else { return 0 }
        let rank = (total * percent + 99) / 100
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= rank { return Self.latencyBoundsMicros[min(index, Self.latencyBoundsMicros.count - 1)] }
        }
        return Self.latencyBoundsMicros.last!
    }
}
