// NumberedTable: credits and holds by id, stored as slots indexed by the id's sequence number.

import CPrefetch

/// An identifier that wraps a sequence number from 1, as `CreditID` and `HoldID` do.
public protocol SequenceNumbered: Hashable, Comparable, Sendable {
    /// The sequence number (from 1).
    var number: UInt64 { get }
    /// Wraps a sequence number.
    init(_ number: UInt64)
}

extension CreditID: SequenceNumbered {}
extension HoldID: SequenceNumbered {}

/// A map from sequence-numbered ids to values, kept as fixed chunks of slots: the value for id
/// `n` lives in slot `n - 1`. The ledger numbers credits and holds 1, 2, 3, … and never removes
/// one, so the slots are dense: a credit costs its value's size and nothing else — no hash
/// table with its empty buckets, no hashing on lookup. (As `ChunkedMap`s, a million credits took
/// 2,048-bucket dictionaries per 1,000 entries: about 750 bytes a credit.)
///
/// Chunks keep a snapshot cheap, as in `ChunkedMap`: copying the table copies the chunk array
/// (references only), and the first change afterwards copies only the chunk it touches.
public struct NumberedTable<ID: SequenceNumbered, Value: Sendable>: Sendable {
    /// Slots per chunk. A chunk grows to its highest slot set (so a small ledger's one chunk is
    /// small and quick to scan), then is allocated whole once past an eighth of this.
    public static var chunkCount: Int { 1024 }

    /// The largest sequence number a table stores: 2³², so the chunk array stays small
    /// (4M references) whatever number a caller sets. Lookups of larger numbers find nothing.
    public static var numberMax: UInt64 { 1 << 32 }

    /// Chunk `c` holds numbers `c * chunkCount + 1 ...` up to its own length (at most
    /// `chunkCount`); slots past its length are empty.
    private var chunks: [[Value?]] = []

    /// Number of ids with a value.
    public private(set) var count = 0

    /// An empty table.
    public init() {}

    /// The chunk and slot of `id`, or nil if no chunk could hold it.
    private func locate(_ id: ID) -> (chunk: Int, slot: Int)? {
        guard id.number >= 1 && id.number <= Self.numberMax else { return nil }
        let index = Int(id.number - 1)
        return (index / Self.chunkCount, index % Self.chunkCount)
    }

    /// Makes sure the slot for `id` exists (its chunk, grown to reach it); traps for a number no
    /// table can hold (the ledger only stores ids it numbered itself, and decoders check numbers
    /// first).
    private mutating func reserve(_ id: ID) -> (chunk: Int, slot: Int) {
        guard let place = locate(id) else { preconditionFailure("id number \(id.number) outside 1...\(Self.numberMax)") }
        if place.chunk >= chunks.count {
            chunks.append(contentsOf: repeatElement([], count: place.chunk + 1 - chunks.count))
            // A new highest chunk starts in the spare, if there is one. Not a chunk below it (one
            // released, refilled): that would keep a whole chunk for a few slots.
            if let chunk = spare {
                spare = nil
                chunks[place.chunk] = chunk
            }
        }
        let length = chunks[place.chunk].count
        if place.slot >= length {
            makeRoom(inChunk: place.chunk, slots: place.slot + 1)
            chunks[place.chunk].append(contentsOf: repeatElement(nil, count: place.slot + 1 - length))
        }
        return place
    }

    /// Gives chunk `chunk` capacity for `slots` slots: by doubling, then straight to a whole
    /// chunk, so a full chunk never carries the spare capacity array growth would leave.
    private mutating func makeRoom(inChunk chunk: Int, slots needed: Int) {
        guard needed > chunks[chunk].capacity else { return }
        let doubled = Swift.max(16, 2 * chunks[chunk].capacity, needed)
        chunks[chunk].reserveCapacity(doubled > Self.chunkCount / 8 ? Self.chunkCount : doubled)
    }

    /// The value for `id`; assigning nil removes it. Mutation through this subscript happens in
    /// place (`table[id]!.field = x` does not copy the value).
    public subscript(id: ID) -> Value? {
        get {
            guard let place = locate(id), place.chunk < chunks.count, place.slot < chunks[place.chunk].count else { return nil }
            return chunks[place.chunk][place.slot]
        }
        _modify {
            let place = reserve(id)
            let had = chunks[place.chunk][place.slot] != nil
            yield &chunks[place.chunk][place.slot]
            count += (chunks[place.chunk][place.slot] != nil ? 1 : 0) - (had ? 1 : 0)
        }
        set {
            updateValueOrRemove(newValue, id)
        }
    }

    /// Removes and returns the value for `id`: the caller then owns it alone, so changing its
    /// arrays before putting it back copies none of them.
    @discardableResult
    public mutating func removeValue(forKey id: ID) -> Value? {
        updateValueOrRemove(nil, id)
    }

    /// Asks the CPU for the slot of `id` (each cache line of it: a credit's is 168 bytes), ahead
    /// of a read or change of its value: a hint, which changes nothing.
    public func prefetch(_ id: ID) {
        guard let place = locate(id), place.chunk < chunks.count else { return }
        chunks.withUnsafeBufferPointer { chunks in
            chunks[place.chunk].withUnsafeBufferPointer { slots in
                guard place.slot < slots.count else { return }
                let start = UnsafeRawPointer(slots.baseAddress! + place.slot)
                let end = start + MemoryLayout<Value?>.size
                var line = UnsafeRawPointer(bitPattern: Int(bitPattern: start) & ~63)!
                while line < end {
                    creditd_prefetch(line)
                    line += 64
                }
            }
        }
    }

    /// What `body` reads through the address of `id`'s value where it lies, nil when it has no
    /// value. Unlike `self[id]`, copies no value out: reading a field through the address copies
    /// that field alone, where a copied credit retained each of its references (3% of a
    /// HOLD+CAPTURE's engine thread, when a credit still held arrays), and a replay hint
    /// (`Ledger.prefetchFurther(for:)`) can read a value's fields without copying it. `body`
    /// must only read, and only during the call.
    public func withValueAddress<R>(_ id: ID, _ body: (UnsafePointer<Value>) -> R) -> R? {
        guard let place = locate(id), place.chunk < chunks.count else { return nil }
        return chunks.withUnsafeBufferPointer { chunks in
            chunks[place.chunk].withUnsafeBufferPointer { slots -> R? in
                guard place.slot < slots.count, case .some = slots[place.slot] else { return nil }
                // A single-payload enum keeps its payload at offset 0: a present `Value?` is a `Value`
                // at the same address.
                return body(UnsafeRawPointer(slots.baseAddress! + place.slot).assumingMemoryBound(to: Value.self))
            }
        }
    }

    /// True when `id` has a value; unlike `self[id] != nil`, copies no value out.
    public func contains(_ id: ID) -> Bool {
        guard let place = locate(id), place.chunk < chunks.count, place.slot < chunks[place.chunk].count else { return false }
        return chunks[place.chunk][place.slot] != nil
    }

    /// Sets the value for `id`, returning the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey id: ID) -> Value? {
        updateValueOrRemove(value, id)
    }

    /// Sets or (for nil) clears the slot of `id`, keeping `count`; returns the value it held.
    @discardableResult
    private mutating func updateValueOrRemove(_ value: Value?, _ id: ID) -> Value? {
        if value == nil && !contains(id) { return nil }  // removing what is not there allocates nothing
        if let value, let place = locate(id), place.chunk < chunks.count, place.slot == chunks[place.chunk].count {
            // The next number in its chunk, as every new credit and hold is: append it, rather
            // than append an empty slot, read it and overwrite it (that took 1,370 of an ISSUE's
            // 4,700 instructions at journal replay; appending takes 500).
            makeRoom(inChunk: place.chunk, slots: place.slot + 1)
            chunks[place.chunk].append(value)
            count += 1
            return nil
        }
        let place = reserve(id)
        let old = chunks[place.chunk][place.slot]
        chunks[place.chunk][place.slot] = value
        count += (value != nil ? 1 : 0) - (old != nil ? 1 : 0)
        return old
    }

    /// True when the table holds nothing.
    public var isEmpty: Bool { count == 0 }

    /// The lowest id at or above `id` that has a value; nil if there is none. Skips a missing
    /// chunk in one step.
    public func firstID(atOrAbove id: ID) -> ID? {
        guard var place = locate(ID(Swift.max(id.number, 1))) else { return nil }
        while place.chunk < chunks.count {
            let chunk = chunks[place.chunk]
            while place.slot < chunk.count {
                if chunk[place.slot] != nil { return ID(UInt64(place.chunk * Self.chunkCount + place.slot + 1)) }
                place.slot += 1
            }
            place = (place.chunk + 1, 0)
        }
        return nil
    }

    /// Frees the storage of every chunk whose numbers are all below `id`, which must hold no value
    /// any more: for a caller that removes the oldest entries first (the ledger forgetting holds)
    /// and would otherwise keep a chunk of empty slots for each thousand removed. Each chunk is
    /// checked and freed once; ids below `id` can still be set again (their chunk regrows).
    public mutating func releaseEmptyChunks(below id: ID) {
        guard id.number > 1 else { return }
        let end = Swift.min(Int((Swift.min(id.number, Self.numberMax + 1) - 1) / UInt64(Self.chunkCount)), chunks.count)
        while releasedChunks < end {
            if !chunks[releasedChunks].isEmpty {
                precondition(chunks[releasedChunks].allSatisfy { $0 == nil }, "releasing a chunk that still holds values")
                chunks[releasedChunks] = []
            }
            releasedChunks += 1
        }
    }

    /// Chunks before this one were freed by `releaseEmptyChunks` (or checked and found empty).
    private var releasedChunks = 0

    /// An empty whole chunk kept aside for the next chunk to start (`giveSpareChunk`), if any. Not
    /// part of the table's value (`==`).
    private var spare: [Value?]?

    /// True when no spare chunk is kept and the highest chunk is at least half full: its next
    /// chunk is due soon, and a small table is not given a whole chunk it may never fill.
    public var wantsSpareChunk: Bool {
        spare == nil && !chunks.isEmpty && chunks[chunks.count - 1].count >= Self.chunkCount / 2
    }

    /// Keeps `chunk` (empty, with room for a whole chunk; from `makeSpareChunk()`) as the storage
    /// of the next chunk started, when the table has none. Replay hands over chunks made on
    /// another thread, so that the thread applying records does not take their page faults
    /// (as `RefLog.giveSpareChunk`).
    public mutating func giveSpareChunk(_ chunk: [Value?]) {
        precondition(chunk.isEmpty && chunk.capacity >= Self.chunkCount, "a spare chunk is empty and whole")
        if spare == nil { spare = chunk }
    }

    /// An empty chunk with room for a whole chunk, every page of its memory (not yet holding any
    /// value) written so that the kernel has mapped it (`mapPages`).
    public static func makeSpareChunk() -> [Value?] {
        [Value?](unsafeUninitializedCapacity: chunkCount) { buffer, initializedCount in
            mapPages(UnsafeMutableRawBufferPointer(buffer))
            initializedCount = 0
        }
    }

    /// Drops the spare chunk, if any: what replay gave and did not fill goes back.
    public mutating func dropSpareChunk() {
        spare = nil
    }

    /// True when a spare chunk is kept (for tests).
    var hasSpareChunk: Bool { spare != nil }

    /// Where the memory of the chunk for `id`, or with nil of the spare, starts (for tests).
    func chunkAddress(of id: ID?) -> UnsafeRawPointer? {
        guard let id else { return spare?.withUnsafeBytes { $0.baseAddress } }
        guard let place = locate(id), place.chunk < chunks.count else { return nil }
        return chunks[place.chunk].withUnsafeBytes { $0.baseAddress }
    }

    /// Chunks whose storage is allocated (for tests of `releaseEmptyChunks`).
    var allocatedChunkCount: Int { chunks.count { $0.capacity > 0 } }

    /// Every id with a value, in ascending order.
    public var keys: [ID] {
        var keys: [ID] = []
        keys.reserveCapacity(count)
        for (chunkIndex, chunk) in chunks.enumerated() {
            for (slot, value) in chunk.enumerated() where value != nil {
                keys.append(ID(UInt64(chunkIndex * Self.chunkCount + slot + 1)))
            }
        }
        return keys
    }

    /// Every value, in ascending order of id, without copying the table.
    public var values: Values { Values(chunks: chunks) }

    /// The values of a table in id order (a plain, eager `Sequence`, like `Dictionary.Values`).
    public struct Values: Sequence {
        fileprivate let chunks: [[Value?]]

        public func makeIterator() -> Iterator { Iterator(chunks: chunks, chunk: 0, slot: 0) }

        public struct Iterator: IteratorProtocol {
            fileprivate let chunks: [[Value?]]
            fileprivate var chunk: Int
            fileprivate var slot: Int

            public mutating func next() -> Value? {
                while chunk < chunks.count {
                    let current = chunks[chunk]
                    while slot < current.count {
                        defer { slot += 1 }
                        if let value = current[slot] { return value }
                    }
                    chunk += 1
                    slot = 0
                }
                return nil
            }
        }
    }
}

extension NumberedTable: Equatable where Value: Equatable {
    /// Equal when they hold the same ids with equal values (however their chunks were allocated).
    public static func == (lhs: NumberedTable, rhs: NumberedTable) -> Bool {
        lhs.count == rhs.count && lhs.keys == rhs.keys && lhs.values.elementsEqual(rhs.values)
    }
}

extension NumberedTable: ExpressibleByDictionaryLiteral {
    /// A table of the given pairs; a repeated id keeps its last value.
    public init(dictionaryLiteral elements: (ID, Value)...) {
        self.init()
        for (id, value) in elements { self[id] = value }
    }
}
