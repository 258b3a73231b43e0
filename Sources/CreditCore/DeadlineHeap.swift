// DeadlineHeap: a binary min-heap of hold deadlines, so the expiry sweep touches only due holds.

/// A min-heap of (deadline, hold) pairs, ordered by deadline then hold id so that holds with the
/// same deadline always expire in the same order (live, after replay, after a snapshot restore).
/// Resolved holds are not removed eagerly: the sweep skips entries whose hold is no longer
/// pending when it pops them.
struct DeadlineHeap: Sendable {
    private var items: [(deadline: Instant, hold: HoldID)] = []

    /// The earliest deadline, if any.
    var first: (deadline: Instant, hold: HoldID)? { items.first }

    /// Number of entries (including stale ones).
    var count: Int { items.count }

    /// Adds a deadline.
    mutating func insert(_ deadline: Instant, _ hold: HoldID) {
        items.append((deadline, hold))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest deadline.
    mutating func popFirst() -> (deadline: Instant, hold: HoldID)? {
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

    private func precedes(_ a: (deadline: Instant, hold: HoldID), _ b: (deadline: Instant, hold: HoldID)) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.hold < b.hold)
    }
}
