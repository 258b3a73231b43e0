// Finding LF bytes in raw memory with memchr, for the line framer's fast path.

import Glibc

extension UnsafeRawBufferPointer {
    /// Index of the first LF, by memchr; nil if there is none.
    func firstLineFeedIndex() -> Int? {
        guard let base = baseAddress, !isEmpty else { return nil }
        guard let found = memchr(base, Int32(ASCII.lineFeed), count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Index of the last LF; nil if there is none.
    ///
    /// Glibc's memrchr is not visible to Swift, so look back by hand over at most one line's
    /// worth of bytes (a read usually ends at an LF, making this one comparison), then fall back
    /// to memchr hops from the front for the rare chunk whose last line is already over-long.
    func lastLineFeedIndex() -> Int? {
        let lookBackStart = Swift.max(0, count - ProtocolLimits.lineBytesMax)
        var index = count - 1
        while index >= lookBackStart {
            if self[index] == ASCII.lineFeed { return index }
            index -= 1
        }
        var last: Int? = nil
        var searchStart = 0
        while let found = UnsafeRawBufferPointer(rebasing: self[searchStart..<lookBackStart]).firstLineFeedIndex() {
            last = searchStart + found
            searchStart = searchStart + found + 1
        }
        return last
    }

    /// The bytes as `UInt8` elements with contiguous storage, so `Array.append(contentsOf:)`
    /// copies them with one memcpy instead of an element loop.
    func asBytes() -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: baseAddress?.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
