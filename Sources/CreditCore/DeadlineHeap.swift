// DeadlineHeap: a binary min-heap of deadlines, so expiry sweeps touch only what is due.

/// A min-heap of (deadline, id) pairs — hold deadlines, credit expiries — ordered by deadline then
/// id so that things due at the same instant always expire in the same order (live, after
/// replay, after a snapshot restore). Entries are not removed eagerly: the sweep skips an entry
/// whose hold or credit is no longer pending when it pops it.
struct DeadlineHeap<ID: Comparable & Sendable>: Sendable {
    private var items: [(deadline: Instant, id: ID)] = []

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
        var parent = 0
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
        return top
    }

    private func precedes(_ a: (deadline: Instant, id: ID), _ b: (deadline: Instant, id: ID)) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id)
    }
}
