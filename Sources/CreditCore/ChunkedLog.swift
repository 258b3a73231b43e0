// ChunkedLog: an append-only sequence kept in fixed chunks, dropped from the front a chunk at a
// time, with positions that never change.

/// The remembered refs: appended at the back, forgotten from the front after the ref window.
///
/// Stored as chunks of `chunkCount` elements so that (like `ChunkedMap`) a snapshot's copy is
/// cheap and an append afterwards copies only the last chunk, not millions of refs. Each
/// element keeps its *position* (its index among everything ever appended) for as long as it is
/// kept, so an index of positions never needs rebuilding when old elements are dropped.
public struct ChunkedLog<Element: Sendable>: Sendable {
    /// Elements per chunk.
    public static var chunkCount: Int { 4096 }

    private var chunks: [[Element]] = []
    /// Position of `chunks[0][0]`.
    private var chunkBase = 0
    /// Position of the first element kept.
    public private(set) var startPosition = 0
    /// Position the next append gets.
    public private(set) var endPosition = 0

    /// An empty log.
    public init() {}

    /// Number of elements kept.
    public var count: Int { endPosition - startPosition }

    /// True when no element is kept.
    public var isEmpty: Bool { count == 0 }

    /// Appends `element` at position `endPosition`.
    public mutating func append(_ element: Element) {
        // A new chunk grows as arrays do (no up-front reservation): most logs in tests are tiny.
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkCount { chunks.append([]) }
        chunks[chunks.count - 1].append(element)
        endPosition += 1
    }

    /// The element at `position` (in `startPosition..<endPosition`).
    public subscript(position: Int) -> Element {
        get {
            let (chunk, offset) = locate(position)
            return chunks[chunk][offset]
        }
        _modify {
            let (chunk, offset) = locate(position)
            yield &chunks[chunk][offset]
        }
        set {
            let (chunk, offset) = locate(position)
            chunks[chunk][offset] = newValue
        }
    }

    /// Forgets the first `k` elements kept; positions of the others do not change.
    public mutating func removeFirst(_ k: Int) {
        precondition(k >= 0 && k <= count, "cannot remove more elements than are kept")
        startPosition += k
        let wholeChunks = (startPosition - chunkBase) / Self.chunkCount
        if wholeChunks > 0 {
            chunks.removeFirst(wholeChunks)
            chunkBase += wholeChunks * Self.chunkCount
        }
    }

    /// The oldest element kept.
    public var first: Element? { isEmpty ? nil : self[startPosition] }

    /// The newest element kept.
    public var last: Element? { isEmpty ? nil : self[endPosition - 1] }

    /// The positions of the elements kept, in order.
    public var positions: Range<Int> { startPosition..<endPosition }

    private func locate(_ position: Int) -> (chunk: Int, offset: Int) {
        precondition(position >= startPosition && position < endPosition, "position \(position) is not kept")
        let relative = position - chunkBase
        return (relative / Self.chunkCount, relative % Self.chunkCount)
    }
}

extension ChunkedLog: Sequence {
    /// Iterates the elements kept, oldest first.
    public struct Iterator: IteratorProtocol {
        fileprivate let log: ChunkedLog
        fileprivate var position: Int

        public mutating func next() -> Element? {
            guard position < log.endPosition else { return nil }
            defer { position += 1 }
            return log[position]
        }
    }

    public func makeIterator() -> Iterator { Iterator(log: self, position: startPosition) }

    public var underestimatedCount: Int { count }
}

extension ChunkedLog: Equatable where Element: Equatable {
    /// Equal when they keep equal elements in the same order (positions may differ: a ledger
    /// restored from a snapshot numbers its refs from 0).
    public static func == (lhs: ChunkedLog, rhs: ChunkedLog) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }
}

extension ChunkedLog: ExpressibleByArrayLiteral {
    /// A log of the given elements, at positions from 0.
    public init(arrayLiteral elements: Element...) {
        self.init()
        for element in elements { append(element) }
    }
}
