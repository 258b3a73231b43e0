// Histogram: latencies in microseconds with about 1% precision, mergeable across threads.

/// A log-linear latency histogram: exact below 128 µs, then 64 sub-buckets per power of two
/// (≤ 1.6% error), up to about 10^9 µs.
struct Histogram {
    private static let subBits = 6
    private static let bucketCount = 64 * 40
    private var counts = [UInt64](repeating: 0, count: Histogram.bucketCount)
    private(set) var total: UInt64 = 0
    private(set) var maxValue: UInt64 = 0

    /// Records one latency in microseconds.
    mutating func record(_ micros: UInt64) {
        counts[Histogram.index(micros)] += 1
        total += 1
        maxValue = max(maxValue, micros)
    }

    /// Adds another histogram's counts.
    mutating func merge(_ other: Histogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        maxValue = max(maxValue, other.maxValue)
    }

    /// The latency at quantile `q` (0...1), in microseconds (upper edge of its bucket).
    func quantile(_ q: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * q).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return min(Histogram.upperEdge(index), maxValue) }
        }
        return maxValue
    }

    private static func index(_ value: UInt64) -> Int {
        let limit = UInt64(1) << (subBits + 1)
        if value < limit { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount - subBits
        let mantissa = Int(value >> UInt64(exponent)) - (1 << subBits)
        return min(bucketCount - 1, Int(limit) + (exponent - 1) * (1 << subBits) + mantissa)
    }

    private static func upperEdge(_ index: Int) -> UInt64 {
        let limit = 1 << (subBits + 1)
        if index < limit { return UInt64(index) }
        let exponent = (index - limit) / (1 << subBits) + 1
        let mantissa = (index - limit) % (1 << subBits) + (1 << subBits)
        return (UInt64(mantissa + 1) << UInt64(exponent)) - 1
    }
}
