// SeededRandom: a small, seedable random generator, so a run's schedule follows from its seed.

/// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, full period, good enough statistics
/// for a test schedule, and the same sequence on every platform for the same seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator for one stream of a run: the run's seed mixed with stream numbers (for
    /// example the cycle and the client), so streams do not overlap and each reproduces alone.
    init(seed: UInt64, stream: UInt64...) {
        var mixed = seed
        for part in stream {
            var scramble = SeededRandom(state: mixed ^ (part &* 0x9E37_79B9_7F4A_7C15))
            mixed = scramble.next()
        }
        state = mixed
    }

    private init(state: UInt64) {
        self.state = state
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }

    /// One element of a non-empty collection.
    mutating func pick<C: RandomAccessCollection>(_ collection: C) -> C.Element {
        precondition(!collection.isEmpty, "pick from an empty collection")
        let offset = Int.random(in: 0..<collection.count, using: &self)
        return collection[collection.index(collection.startIndex, offsetBy: offset)]
    }
}
