// HashIndex: the ledger's large lookup tables (card digests, remembered refs) as 12-byte slots.

/// A map from a key's 64-bit hash to a 64-bit value (a credit number, a ref position), with
/// open addressing and linear probing. Keys themselves are not stored: a lookup passes a check
/// that tells, for a candidate value, whether it belongs to the key (the card's credit has that
/// digest; the ref at that position has that client and ref), so colliding hashes are harmless.
/// Only the hash's low 32 bits are kept (they pick the home slot too, and tables stay far below
/// 2³² slots): hashes that differ only above them meet the check, which sorts them out, and a
/// slot takes 12 bytes instead of 16 (about 24 MB for a million cards and three million refs).
///
/// Why not a `Dictionary`: with a million cards, `[Digest32: CreditID]` and `[RefKey: Int]` took
/// about 84 MB each (40-byte slots), and each probe of the ref index compared two strings, one
/// of them on the heap — a cache miss per probe. Here a slot is 12 bytes and a probe compares
/// integers until the hash matches.
struct HashIndex: Sendable {
    /// Slots at the first insert; the table doubles past three quarters full.
    static let initialCapacity = 16
    /// `shrinkIfSparse` shrinks the table once fewer than one slot in this many is used: after
    /// refs age out or many cards go, a table sized for the peak would otherwise keep its memory
    /// (50 MB for the three million refs of a busy window). Far below the growth threshold, so a
    /// table whose count hovers never grows and shrinks by turns.
    static let sparseSlotsPerEntry = 8

    /// Each slot's stored hash, the low 32 bits; 0 marks an empty slot (0 is stored as 1).
    private var hashes: [UInt32] = []
    /// Each slot's value.
    private var values: [UInt64] = []
    /// Number of entries.
    private(set) var count = 0

    /// An empty index.
    init() {}

    private var mask: Int { hashes.count - 1 }

    private static func stored(_ hash: UInt64) -> UInt32 {
        let low = UInt32(truncatingIfNeeded: hash)
        return low == 0 ? 1 : low
    }

    private func home(_ storedHash: UInt32) -> Int { Int(storedHash) & mask }

    /// The value of the first entry with this hash that `belongs` accepts.
    func first(hash: UInt64, where belongs: (UInt64) -> Bool) -> UInt64? {
        guard count > 0 else { return nil }
        let wanted = Self.stored(hash)
        var slot = home(wanted)
        while hashes[slot] != 0 {
            if hashes[slot] == wanted && belongs(values[slot]) { return values[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Adds an entry. The caller makes sure its key is not indexed already.
    mutating func insert(hash: UInt64, value: UInt64) {
        if (count + 1) * 4 > hashes.count * 3 { grow() }
        place(Self.stored(hash), value)
        count += 1
    }

    /// Removes the entry with exactly this hash and value; false if there is none.
    @discardableResult
    mutating func remove(hash: UInt64, value: UInt64) -> Bool {
        guard count > 0 else { return false }
        let wanted = Self.stored(hash)
        var slot = home(wanted)
        while hashes[slot] != 0 {
            if hashes[slot] == wanted && values[slot] == value {
                closeHole(at: slot)
                count -= 1
                return true
            }
            slot = (slot + 1) & mask
        }
        return false
    }

    /// Puts an entry in the first empty slot from its home (there always is one).
    private mutating func place(_ storedHash: UInt32, _ value: UInt64) {
        var slot = home(storedHash)
        while hashes[slot] != 0 { slot = (slot + 1) & mask }
        hashes[slot] = storedHash
        values[slot] = value
    }

    /// Slots the table has (a power of two, or 0 before the first insert).
    var capacity: Int { hashes.count }

    /// Doubles the table and places every entry again.
    private mutating func grow() {
        resize(to: Swift.max(Self.initialCapacity, hashes.count * 2))
    }

    /// Once fewer than one slot in `sparseSlotsPerEntry` is used, makes the table the smallest
    /// power of two at least four times the entries (a quarter full, so the next growth is far
    /// off), and at least `initialCapacity`; returns whether it did. Not done by `remove`: from 4M
    /// slots a shrink takes about 25 ms, so the daemon does it where it already pauses to give
    /// memory back (`Ledger.shrinkSparseTables`).
    @discardableResult
    mutating func shrinkIfSparse() -> Bool {
        guard count * Self.sparseSlotsPerEntry < hashes.count && hashes.count > Self.initialCapacity else { return false }
        var capacity = Self.initialCapacity
        while capacity < count * 4 { capacity *= 2 }
        resize(to: capacity)
        return true
    }

    /// Makes a table of `capacity` slots (a power of two) and places every entry again.
    private mutating func resize(to capacity: Int) {
        let (oldHashes, oldValues) = (hashes, values)
        hashes = [UInt32](repeating: 0, count: capacity)
        values = [UInt64](repeating: 0, count: capacity)
        for slot in oldHashes.indices where oldHashes[slot] != 0 { place(oldHashes[slot], oldValues[slot]) }
    }

    /// Empties `slot` by shifting later entries of its run back (no tombstones), so every entry
    /// stays reachable from its home without passing an empty slot.
    private mutating func closeHole(at slot: Int) {
        var hole = slot
        var next = slot
        while true {
            next = (next + 1) & mask
            let storedHash = hashes[next]
            if storedHash == 0 { break }
            let home = home(storedHash)
            // The entry at `next` must stay if its home lies cyclically in (hole, next].
            let staysPut = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !staysPut {
                hashes[hole] = storedHash
                values[hole] = values[next]
                hole = next
            }
        }
        hashes[hole] = 0
        values[hole] = 0
    }
}
