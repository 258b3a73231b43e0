// Splits a TCP byte stream into request lines, with bounded memory against lines that never end.

/// One event from the framer: a complete request line, or notice that a line was too long.
public enum FramedLine: Equatable, Sendable {
    /// A complete, non-empty line without its LF (and without a CR that preceded the LF). A
    /// slice of the framer's buffer, not a copy (copying each line into an array of its own was
    /// one of a request's dozen allocations); the buffer is copied on write only if the slice
    /// is still held when the framer next compacts or appends.
    case line(ArraySlice<UInt8>)
    /// A line exceeded `ProtocolLimits.lineBytesMax`; reported once, and its bytes through the
    /// next LF are discarded.
    case tooLong
}

/// Cuts the bytes read from one connection into lines of at most `ProtocolLimits.lineBytesMax`
/// bytes (CR and LF included).
///
/// Feed it with `append(_:)` after every read, then drain it with `next()` until it returns
/// nil. Complete lines are buffered as they arrive (bounded by the caller's read size), but the
/// unfinished line at the end is never kept beyond `lineBytesMax` bytes: once it reaches that
/// size it is reported as `.tooLong` and everything up to its LF is dropped on arrival, so a
/// client streaming bytes with no LF cannot grow the buffer.
public struct LineFramer: Sendable {
    /// Unconsumed bytes live in `buffer[readIndex...]`; the prefix is dead and compacted lazily.
    private var buffer: [UInt8] = []
    /// Index of the first byte `next()` has not consumed yet.
    private var readIndex = 0
    /// Index just after the last LF in `buffer`: the start of the line still missing its LF.
    private var unfinishedStart = 0
    /// True while the rest of an over-long line is arriving and must be dropped up to its LF.
    private var isDiscardingInput = false

    /// Dead bytes in front of the buffer before `append` moves the live bytes down.
    ///
    /// Why 4096: compacting costs a memmove of the live bytes (under one line when the caller
    /// drains after each read), so doing it at most once per 4 KiB consumed keeps it rare
    /// without letting a long-lived connection's buffer creep.
    static let compactionBytesMin = 4096

    /// Creates an empty framer.
    public init() {}

    /// Bytes held that `next()` has not yet returned, including an unfinished line.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True when part of a line has arrived without its LF (or an over-long line is still
    /// being discarded); the server uses this to time out clients that stall mid-line.
    public var hasPartialLine: Bool { isDiscardingInput || buffer.count > unfinishedStart }

    /// True while the rest of an over-long line (already answered `.tooLong`) is being dropped.
    public var isDiscardingLongLine: Bool { isDiscardingInput }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Adds bytes read from the connection; they are copied, so the memory may be reused.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        var rest = bytes
        if isDiscardingInput {
            guard let lineFeed = rest.firstLineFeedIndex() else { return }
            isDiscardingInput = false
            rest = UnsafeRawBufferPointer(rebasing: rest[(lineFeed + 1)...])
        }
        guard !rest.isEmpty else { return }
        appendWithinLimit(rest)
    }

    /// Returns the next complete line or `.tooLong`, or nil when more bytes are needed.
    /// Empty lines (nothing, or only a CR, before the LF) are skipped.
    public mutating func next() -> FramedLine? {
        while readIndex < buffer.count {
            let available = buffer.count - readIndex
            let window = min(available, ProtocolLimits.lineBytesMax)
            guard let lineFeed = firstLineFeed(from: readIndex, count: window) else {
                guard available >= ProtocolLimits.lineBytesMax else { return nil }
                skipOverlongLine()
                return .tooLong
            }
            if let line = takeLine(endingAt: lineFeed) { return .line(line) }
        }
        return nil
    }

    // MARK: - Appending

    /// Appends bytes that start outside any discarded line, truncating an unfinished tail that
    /// reaches the limit.
    private mutating func appendWithinLimit(_ bytes: UnsafeRawBufferPointer) {
        let lastLineFeed = bytes.lastLineFeedIndex()
        let tailStart = lastLineFeed.map { $0 + 1 } ?? 0
        let carriedTail = lastLineFeed == nil ? buffer.count - unfinishedStart : 0
        let tailCount = carriedTail + (bytes.count - tailStart)
        guard tailCount >= ProtocolLimits.lineBytesMax else {
            buffer.append(contentsOf: bytes.asBytes())
            if let lastLineFeed { unfinishedStart = buffer.count - (bytes.count - lastLineFeed - 1) }
            return
        }
        // The unfinished line is already too long: keep just enough of it for `next()` to see
        // lineBytesMax bytes without an LF, close it with a synthetic LF, drop the rest.
        let keptTailCount = ProtocolLimits.lineBytesMax - carriedTail
        let keptEnd = tailStart + keptTailCount
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<keptEnd]).asBytes())
        buffer.append(ASCII.lineFeed)
        unfinishedStart = buffer.count
        isDiscardingInput = true
    }

    /// Moves live bytes to the front once enough dead bytes have piled up (or frees them all
    /// when nothing is live), so the buffer's size tracks live data.
    private mutating func compactIfWorthwhile() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if readIndex >= Self.compactionBytesMin {
            buffer.removeFirst(readIndex)
        } else {
            return
        }
        unfinishedStart -= readIndex
        readIndex = 0
    }

    // MARK: - Consuming

    /// Consumes the line whose LF is at `lineFeed`; returns its bytes without CR, or nil if the
    /// line was empty.
    private mutating func takeLine(endingAt lineFeed: Int) -> ArraySlice<UInt8>? {
        var end = lineFeed
        if end > readIndex && buffer[end - 1] == ASCII.carriageReturn { end -= 1 }
        let start = readIndex
        readIndex = lineFeed + 1
        guard end > start else { return nil }
        return buffer[start..<end]
    }

    /// Consumes a line known to have at least `lineBytesMax` bytes before its LF, LF included.
    /// Such a line always ends in the buffer: `appendWithinLimit` closes truncated tails.
    private mutating func skipOverlongLine() {
        let searchStart = readIndex + ProtocolLimits.lineBytesMax
        let lineFeed = firstLineFeed(from: searchStart, count: buffer.count - searchStart)
        precondition(lineFeed != nil, "an over-long line in the buffer must end in an LF")
        readIndex = lineFeed! + 1
    }

    // MARK: - Searching

    /// Index of the first LF in `buffer[start ..< start + count]`, by memchr.
    private func firstLineFeed(from start: Int, count: Int) -> Int? {
        guard count > 0 else { return nil }
        return buffer.withUnsafeBytes { raw in
            UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])
                .firstLineFeedIndex()
                .map { $0 + start }
        }
    }
}
