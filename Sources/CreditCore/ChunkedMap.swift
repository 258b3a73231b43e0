// ChunkedMap: a dictionary split into fixed buckets, so that a snapshot's copy of the ledger costs
// one small array and the first change afterwards copies one bucket, not the whole table.

/// A hash map stored as `bucketCount` ordinary dictionaries (one, while it is small).
///
/// The ledger's state is a value: a snapshot takes a copy and encodes it on another thread while
/// the engine goes on changing its own. With one `Dictionary` per table, the first change after
/// that copy duplicated the entire table on the engine thread (every credit, with a retain per
/// field), stalling all requests for hundreds of milliseconds at 100k credits. Split into
/// buckets, the first change copies the bucket array (references only) and the one bucket it
/// touches; later changes copy other buckets as they reach them, so the copying is spread over
/// many requests, a bucket (about n/1024 entries) at a time.
public struct ChunkedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Buckets per map: a power of two, so a hash picks one with a mask. 1024 keeps each bucket of
    /// a million-credit ledger near a thousand entries, and an empty map small.
    public static var bucketCount: Int { 1024 }

    /// Entries a map holds in one bucket before it splits into `bucketCount`: small maps (most
    /// ledgers in tests, a new shop) stay one plain dictionary; the one-time split of this many
    /// entries takes about a millisecond.
    public static var splitThreshold: Int { 4096 }

    /// One bucket until the map first grows past `splitThreshold`, then `bucketCount`.
    private var buckets: [[Key: Value]] = [[:]]

    /// An empty map.
    public init() {}

    private func bucket(_ key: Key) -> Int {
        buckets.count == 1 ? 0 : key.hashValue & (Self.bucketCount - 1)
    }

    /// The value for `key`; assigning nil removes it. Mutation through this subscript happens in
    /// place (`map[key]!.field = x` does not copy the value).
    public subscript(key: Key) -> Value? {
        get { buckets[bucket(key)][key] }
        _modify {
            yield &buckets[bucket(key)][key]
            splitIfDue()
        }
        set {
            buckets[bucket(key)][key] = newValue
            splitIfDue()
        }
    }

    /// Sets the value for `key`, returning the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        defer { splitIfDue() }
        return buckets[bucket(key)].updateValue(value, forKey: key)
    }

    /// Spreads a single bucket that grew past `splitThreshold` over `bucketCount` buckets.
    private mutating func splitIfDue() {
        guard buckets.count == 1, buckets[0].count > Self.splitThreshold else { return }
        var spread = [[Key: Value]](repeating: [:], count: Self.bucketCount)
        for (key, value) in buckets[0] { spread[key.hashValue & (Self.bucketCount - 1)][key] = value }
        buckets = spread
    }

    /// Number of entries (sums the buckets: for statistics, not for hot loops).
    public var count: Int { buckets.reduce(0) { $0 + $1.count } }

    /// True when the map holds nothing.
    public var isEmpty: Bool { buckets.allSatisfy(\.isEmpty) }

    /// Every key, in no particular order.
    public var keys: [Key] { buckets.flatMap(\.keys) }

    /// Every value, in no particular order, without copying the table.
    public var values: Values { Values(buckets: buckets) }

    /// The values of a map, bucket by bucket (a plain, eager `Sequence`, like `Dictionary.Values`).
    public struct Values: Sequence {
        fileprivate let buckets: [[Key: Value]]

        public func makeIterator() -> Iterator {
            Iterator(buckets: buckets, bucket: 0, inner: buckets.first?.values.makeIterator())
        }

        public struct Iterator: IteratorProtocol {
            fileprivate let buckets: [[Key: Value]]
            fileprivate var bucket: Int
            fileprivate var inner: Dictionary<Key, Value>.Values.Iterator?

            public mutating func next() -> Value? {
                while bucket < buckets.count {
                    if let value = inner?.next() { return value }
                    bucket += 1
                    inner = bucket < buckets.count ? buckets[bucket].values.makeIterator() : nil
                }
                return nil
            }
        }
    }
}

extension ChunkedMap: Equatable where Value: Equatable {
    /// Equal when they hold the same keys with equal values. Maps with as many buckets bucket
    /// keys alike (one hash per process), so their buckets compare pairwise.
    public static func == (lhs: ChunkedMap, rhs: ChunkedMap) -> Bool {
        if lhs.buckets.count == rhs.buckets.count { return lhs.buckets == rhs.buckets }
        return lhs.count == rhs.count && lhs.buckets.allSatisfy { bucket in
            bucket.allSatisfy { rhs[$0.key] == $0.value }
        }
    }
}

extension ChunkedMap: ExpressibleByDictionaryLiteral {
    /// A map of the given pairs; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (Key, Value)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }
}
