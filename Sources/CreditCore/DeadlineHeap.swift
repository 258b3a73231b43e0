// DeadlineHeap: a binary min-heap of deadlines, so expiry sweeps touch only what is due.

/// A min-heap of (deadline, id) pairs — hold deadlines, credit expiries — ordered by deadline then
/// id so that things due at the same instant always expire in the same order (live, after
/// replay, after a snapshot restore). Entries are not removed eagerly: the sweep skips an entry
/// whose hold or credit is no longer pending when it pops it.
struct DeadlineHeap<ID: Comparable & Sendable>: Sendable {
    /// Pops give memory back once the heap uses under a quarter of its storage and the storage is
    /// above twice this many entries, down to at least this many: two million holds' deadlines
    /// kept 17 MB after they were all due. A shrink copies what is left (under a quarter).
    static var keptCapacityMin: Int { 4_096 }

    private var items: [(deadline: Instant, id: ID)] = []

    /// Entries the storage has room for.
    var capacity: Int { items.capacity }

    /// The earliest deadline, if any.
    var first: (deadline: Instant, id: ID)? { items.first }

    /// Number of entries (including stale ones).
    var count: Int { items.count }

    /// Adds a deadline.
    mutating func insert(_ deadline: Instant, _ id: ID) {
        items.append((deadline, id))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest deadline.
    mutating func popFirst() -> (deadline: Instant, id: ID)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        // Above twice the floor, not the floor: an allocator that rounds the floor's capacity up
        // would otherwise make every pop of a small heap copy it.
        if items.capacity > 2 * Self.keptCapacityMin && items.count * 4 < items.capacity { shrink() }
        siftDown(from: 0)
        return top
    }

    /// Moves the entry at `start` down until neither child precedes it.
    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && precedes(items[left], items[smallest]) { smallest = left }
            if right < items.count && precedes(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Drops every entry `keep` rejects (stale ones: resolved holds) and rebuilds the heap from the
    /// rest in linear time, in storage twice their number. Order is by (deadline, id), a total
    /// order, so pops after it come out as they would have without it, less the dropped entries.
    mutating func removeAll(keeping keep: (ID) -> Bool) {
        items = items.filter { keep($0.id) }
        shrink()
        var parent = items.count / 2 - 1
        while parent >= 0 {
            siftDown(from: parent)
            parent -= 1
        }
    }

    /// Moves the entries to storage twice their number, so pops and inserts after it do not
    /// copy again soon. The order of `items` (the heap's shape) is kept as it is.
    private mutating func shrink() {
        var smaller: [(deadline: Instant, id: ID)] = []
        smaller.reserveCapacity(Swift.max(Self.keptCapacityMin, items.count * 2))
        smaller.append(contentsOf: items)
        items = smaller
    }

    private func precedes(_ a: (deadline: Instant, id: ID), _ b: (deadline: Instant, id: ID)) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id)
    }
}
