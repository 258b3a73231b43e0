// HashIndex: the ledger's large lookup tables (card digests, remembered refs) as 12-byte slots.

import CPrefetch
import Glibc

/// A map from a key's 64-bit hash to a 64-bit value (a credit number, a ref position), with
/// open addressing and linear probing. Keys themselves are not stored: a lookup passes a check
/// that tells, for a candidate value, whether it belongs to the key (the card's credit has that
/// digest; the ref at that position has that client and ref), so colliding hashes are harmless.
/// Only the hash's low 32 bits are kept (they pick the home slot too, and tables stay far below
/// 2³² slots): hashes that differ only above them meet the check, which sorts them out, and a
/// slot takes 12 bytes instead of 16 (about 24 MB for a million cards and three million refs).
///
/// Growing is incremental: a full table is not copied into a zero-filled one twice its size in
/// one go (past 6.3 million refs that stalled every request for 0.7–0.9 s), but kept as the old
/// table while each insert moves `movedSlotsPerInsert` of its slots into the new one, whose pages
/// are zeroed as they are first used (`Table`), or were mapped ahead when replay gave it as a
/// spare (`giveSpare`); lookups and removals see both until the old one is empty.
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
    /// Slots of the old table moved into the new one by each insert while growing. The old table
    /// is empty after a quarter of its slots' worth of inserts, long before the new one (twice
    /// its size, and three eighths full when growing starts) could fill to three quarters.
    static let movedSlotsPerInsert = 4
    /// Slots a growth's new table must have to be worth a spare made ahead (`spareCapacityWanted`):
    /// a smaller one's pages are few enough to fault in where they are first written.
    static let spareCapacityMin = 1 << 20

    /// The table inserts go to.
    private var table = Table(capacity: 0)
    /// While growing: the table before it. Its slots below `moved` were moved into `table` and are
    /// ignored (left as they were, so that probe runs across them stay unbroken); the rest is
    /// looked up and removed from here. Nothing is inserted into it.
    private var old: Table?
    private var moved = 0
    /// Number of entries.
    private(set) var count = 0
    /// A table made ahead for the next growth, its pages mapped (`giveSpare`), if any.
    private var spare: Table?

    /// An empty index.
    init() {}

    /// True when no copy of this index shares its table (a change then copies nothing).
    mutating func isHeldAlone() -> Bool {
        table.isHeldAlone()
    }

    /// The value of the first entry with this hash that `belongs` accepts.
    func first(hash: UInt64, where belongs: (UInt64) -> Bool) -> UInt64? {
        guard count > 0 else { return nil }
        let wanted = Table.stored(hash)
        if let found = table.first(wanted, from: 0, where: belongs) { return found }
        return old?.first(wanted, from: moved, where: belongs)
    }

    /// Asks the CPU for the slots where a lookup or insert of this hash starts (in both tables
    /// while growing), ahead of it: a hint, which changes nothing.
    func prefetch(hash: UInt64) {
        let wanted = Table.stored(hash)
        table.prefetch(wanted)
        old?.prefetch(wanted)
    }

    /// Makes room for `entries` entries in all, so that inserting up to that many causes no
    /// growth: when the index is empty and smaller, its table is replaced by one of that size.
    /// (Only an empty index: moving entries into a larger table is what growth does, spread over
    /// later inserts.)
    mutating func reserveCapacity(_ entries: Int) {
        // Beyond any memory: ignored (the callers bound what they ask for; this keeps the
        // arithmetic below from overflowing whatever they pass).
        guard entries > 0, entries <= Int.max / 16, count == 0, old == nil else { return }
        var capacity = Swift.max(table.capacity, Self.initialCapacity)
        while capacity * 3 < entries * 4 { capacity *= 2 }
        if capacity > table.capacity {
            table = Table(capacity: capacity)
            spare = nil
        }
    }

    /// Adds an entry. The caller makes sure its key is not indexed already.
    mutating func insert(hash: UInt64, value: UInt64) {
        precondition(value != Table.removedValue, "a hash index value is a credit number or a ref position")
        if old == nil && (count + 1) * 4 > table.capacity * 3 { startGrowing() }
        table.place(Table.stored(hash), value)
        count += 1
        if old != nil { moveSlots(Self.movedSlotsPerInsert) }
    }

    /// Removes the entry with exactly this hash and value; false if there is none.
    @discardableResult
    mutating func remove(hash: UInt64, value: UInt64) -> Bool {
        guard count > 0 else { return false }
        let wanted = Table.stored(hash)
        if table.remove(wanted, value) || old?.markRemoved(wanted, value, from: moved) == true {
            count -= 1
            return true
        }
        return false
    }

    /// Slots in the table that inserts go to (a power of two, or 0 before the first insert).
    var capacity: Int { table.capacity }

    /// True while an old table is being emptied into the new one.
    var isGrowing: Bool { old != nil }

    /// The capacity of the table the next growth makes, when that growth is near (the table five
    /// eighths full: it grows at three quarters) and large (`spareCapacityMin`), and no spare was
    /// given for it; nil otherwise. Not asked for sooner: a spare no growth used stays mapped
    /// until `shrinkIfSparse`, and is twice the table's size.
    var spareCapacityWanted: Int? {
        guard old == nil && spare == nil && table.capacity * 2 >= Self.spareCapacityMin && count * 8 >= table.capacity * 5
        else { return nil }
        return table.capacity * 2
    }

    /// Keeps `spare` for the next growth if it is the size that growth makes; a growth then
    /// writes to pages already mapped. Replay's applying thread took 5–7% of its samples in page
    /// faults on a new table of the ref index when the index grew (BENCHMARKS.md).
    mutating func giveSpare(_ spare: SpareIndexTable) {
        if old == nil && spare.table.capacity == table.capacity * 2 { self.spare = spare.table }
    }

    /// True when a spare table is kept (for tests).
    var hasSpare: Bool { spare != nil }

    /// Where the memory of the stored hashes of the table inserts go to starts, or with `spare`
    /// of the spare's (for tests: a spare given is the table a growth fills).
    func tableAddress(spare: Bool = false) -> UnsafeRawPointer? {
        (spare ? self.spare : table).map { UnsafeRawPointer($0.hashAddress) }
    }

    /// Makes a table twice the size (or `initialCapacity`) and starts moving the entries over.
    private mutating func startGrowing() {
        let capacity = Swift.max(Self.initialCapacity, table.capacity * 2)
        let bigger = spare?.capacity == capacity ? spare! : Table(capacity: capacity)
        spare = nil
        if count == 0 {
            table = bigger
        } else {
            old = table
            table = bigger
            moved = 0
        }
    }

    /// Moves up to `slots` more slots of the old table into the new one; drops the old table once
    /// every slot is moved.
    private mutating func moveSlots(_ slots: Int) {
        guard let capacity = old?.capacity else { return }
        let end = Swift.min(moved + slots, capacity)
        // `old!` lent in place: binding it to a constant retained and released its storage on
        // every insert of a growth, and each of those atomics waited for the table writes before.
        table.place(entriesOf: old!, slots: moved..<end)
        moved = end
        if moved == capacity { old = nil }
    }

    /// Once fewer than one slot in `sparseSlotsPerEntry` is used, makes the table the smallest
    /// power of two at least four times the entries (a quarter full, so the next growth is far
    /// off), and at least `initialCapacity`; returns whether it did. Not done by `remove`: from 4M
    /// slots a shrink takes about 25 ms, so the daemon does it where it already pauses to give
    /// memory back (`Ledger.shrinkSparseTables`). Finishes a growth first.
    @discardableResult
    mutating func shrinkIfSparse() -> Bool {
        spare = nil  // made for a growth that has not come: its memory goes back too
        if let from = old { moveSlots(from.capacity) }
        guard count * Self.sparseSlotsPerEntry < table.capacity && table.capacity > Self.initialCapacity else { return false }
        var capacity = Self.initialCapacity
        while capacity < count * 4 { capacity *= 2 }
        var smaller = Table(capacity: capacity)
        smaller.place(entriesOf: table, slots: 0..<table.capacity)
        table = smaller
        return true
    }
}

/// One open-addressing table of `HashIndex`: stored hashes and values, in memory from `calloc`.
/// A table of millions of slots is mostly fresh pages that the kernel hands over zeroed as they are
/// first touched; an array filled with zeros touched them all at once, and for the 16M slots of a
/// table growing past 6.3M refs that was 0.7 s of page faults with every request waiting. Copied
/// on write, like the arrays it replaces.
private struct Table: @unchecked Sendable {
    private var storage: TableStorage

    /// The value of an old table's slot whose entry was removed while growing: the slot keeps its
    /// hash so that probe runs across it stay unbroken. No credit number or ref position is this.
    static let removedValue = UInt64.max

    init(capacity: Int) {
        storage = TableStorage(capacity: capacity)
    }

    var capacity: Int { storage.capacity }

    /// Where the stored hashes' memory starts (for tests).
    var hashAddress: UnsafeMutablePointer<UInt32> { storage.hashes }

    /// Has the kernel map every page of the table's memory (`TableStorage.mapPages`).
    func mapPages() { storage.mapPages() }

    private var mask: Int { storage.capacity - 1 }

    /// Slot `slot`'s stored hash (0: empty).
    func hash(at slot: Int) -> UInt32 { storage.hashes[slot] }

    /// Slot `slot`'s value.
    func value(at slot: Int) -> UInt64 { storage.values[slot] }

    static func stored(_ hash: UInt64) -> UInt32 {
        let low = UInt32(truncatingIfNeeded: hash)
        return low == 0 ? 1 : low
    }

    private func home(_ storedHash: UInt32) -> Int { Int(storedHash) & mask }

    /// True when no other copy shares this table's storage.
    mutating func isHeldAlone() -> Bool {
        isKnownUniquelyReferenced(&storage)
    }

    /// Gives this table its own storage before a change, if another copy shares it.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// The value of the first entry with this stored hash that `belongs` accepts, among slots at
    /// or above `lowest` (the old table's slots below it were moved).
    func first(_ wanted: UInt32, from lowest: Int, where belongs: (UInt64) -> Bool) -> UInt64? {
        guard capacity > 0 else { return nil }
        let (hashes, values) = (storage.hashes, storage.values)
        var slot = home(wanted)
        while hashes[slot] != 0 {
            if slot >= lowest && hashes[slot] == wanted && values[slot] != Self.removedValue && belongs(values[slot]) {
                return values[slot]
            }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Prefetches the home slot of this stored hash (its hash and its value).
    func prefetch(_ storedHash: UInt32) {
        guard capacity > 0 else { return }
        let slot = home(storedHash)
        creditd_prefetch(storage.hashes + slot)
        creditd_prefetch(storage.values + slot)
    }

    /// Puts an entry in the first empty slot from its home (there always is one).
    mutating func place(_ storedHash: UInt32, _ value: UInt64) {
        makeUnique()
        put(storedHash, value)
    }

    /// Puts the entries of `from`'s slots `slots` (skipping those marked removed) in this table.
    /// One uniqueness check for them all: placing them one by one retained and released both
    /// tables' storage for every slot.
    mutating func place(entriesOf from: Table, slots: Range<Int>) {
        makeUnique()
        for slot in slots where from.hash(at: slot) != 0 && from.value(at: slot) != Self.removedValue {
            put(from.hash(at: slot), from.value(at: slot))
        }
    }

    /// `place` once the storage is this table's own.
    private func put(_ storedHash: UInt32, _ value: UInt64) {
        let (hashes, values) = (storage.hashes, storage.values)
        var slot = home(storedHash)
        while hashes[slot] != 0 { slot = (slot + 1) & mask }
        hashes[slot] = storedHash
        values[slot] = value
    }

    /// Removes the entry with exactly this stored hash and value, closing the hole it leaves.
    mutating func remove(_ wanted: UInt32, _ value: UInt64) -> Bool {
        guard let slot = slot(of: wanted, value, from: 0) else { return false }
        makeUnique()
        closeHole(at: slot)
        return true
    }

    /// In an old table: marks the entry with exactly this stored hash and value, at or above
    /// `lowest`, removed. Closing the hole would shift entries of its run to slots below `lowest`,
    /// which count as moved.
    mutating func markRemoved(_ wanted: UInt32, _ value: UInt64, from lowest: Int) -> Bool {
        guard let slot = slot(of: wanted, value, from: lowest) else { return false }
        makeUnique()
        storage.values[slot] = Self.removedValue
        return true
    }

    /// The slot at or above `lowest` holding exactly this stored hash and value, if any.
    private func slot(of wanted: UInt32, _ value: UInt64, from lowest: Int) -> Int? {
        guard capacity > 0 else { return nil }
        var slot = home(wanted)
        while storage.hashes[slot] != 0 {
            if slot >= lowest && storage.hashes[slot] == wanted && storage.values[slot] == value { return slot }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Empties `slot` by shifting later entries of its run back (no tombstones), so every entry
    /// stays reachable from its home without passing an empty slot.
    private mutating func closeHole(at slot: Int) {
        let (hashes, values) = (storage.hashes, storage.values)
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

/// A table's memory. Never shared between threads while changed: the ledger that owns it runs on
/// one thread, and a copy made for another thread gets its own storage at its first change.
private final class TableStorage: @unchecked Sendable {
    let capacity: Int
    let hashes: UnsafeMutablePointer<UInt32>
    let values: UnsafeMutablePointer<UInt64>

    init(capacity: Int) {
        self.capacity = capacity
        // calloc of a large size maps fresh zero pages instead of writing zeros.
        guard let hashMemory = calloc(Swift.max(capacity, 1), MemoryLayout<UInt32>.stride),
              let valueMemory = calloc(Swift.max(capacity, 1), MemoryLayout<UInt64>.stride)
        else { fatalError("out of memory for a hash index of \(capacity) slots") }
        hashes = hashMemory.bindMemory(to: UInt32.self, capacity: Swift.max(capacity, 1))
        values = valueMemory.bindMemory(to: UInt64.self, capacity: Swift.max(capacity, 1))
    }

    /// Has the kernel map every page of both arrays now (`mapPages`: the zeros it writes are what
    /// calloc left there).
    func mapPages() {
        CreditCore.mapPages(UnsafeMutableRawBufferPointer(start: hashes, count: capacity * MemoryLayout<UInt32>.stride))
        CreditCore.mapPages(UnsafeMutableRawBufferPointer(start: values, count: capacity * MemoryLayout<UInt64>.stride))
    }

    /// A storage with the same contents.
    func copy() -> TableStorage {
        let twin = TableStorage(capacity: capacity)
        twin.hashes.update(from: hashes, count: capacity)
        twin.values.update(from: values, count: capacity)
        return twin
    }

    deinit {
        free(hashes)
        free(values)
    }
}

/// An empty table for a growth of the ref index, made ahead with its pages mapped: replay makes
/// one on another thread (`Ledger.offerSpares(from:)`) so that the thread applying records
/// does not take the page faults of the growth.
public struct SpareIndexTable: Sendable {
    fileprivate let table: Table

    /// An empty table of `capacity` slots (a power of two), every page of it written.
    public init(capacity: Int) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "a hash index table's capacity is a power of two")
        table = Table(capacity: capacity)
        table.mapPages()
    }

    /// Its slots.
    public var capacity: Int { table.capacity }
}
