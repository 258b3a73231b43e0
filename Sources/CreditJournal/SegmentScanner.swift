// SegmentScanner: walks one segment's bytes record by record and tells a torn tail from corruption.

/// Where a segment stops holding whole records because its last write did not complete.
struct TornTail: Sendable {
    /// Offset of the first byte that is not part of a whole record.
    let offset: Int
    /// Why the bytes from `offset` are not a whole record.
    let reason: String
    /// Every byte from `offset` on is zero: space the writer filled ahead and never wrote a
    /// record into (or whose record never reached the disk). Nothing was lost that was ever
    /// acknowledged, so recovery cuts it without reporting a torn tail.
    var isZeroFill = false
}

/// What a scan of one segment found.
struct SegmentScanResult: Sendable {
    /// Offset just past the last whole record (the length to keep if the tail is cut).
    var validEnd = 0
    /// LSN of the last whole record, nil if the segment holds none.
    var lastLSN: UInt64?
    /// Whole records found.
    var recordCount = 0
    /// The torn tail, if the segment does not end on a record boundary.
    var tornTail: TornTail?
}

/// Walks a segment from offset 0 and applies the recovery rules. A *torn tail* is the trace of a
/// write that never completed, so it was never acknowledged and may be dropped; anything else
/// that is wrong is *corruption* and throws `JournalCorruption`.
///
/// At each offset:
/// 1. fewer than 12 bytes remain → torn tail.
/// 2. header checksum mismatch → torn tail if no intact record starts anywhere after this offset
///    and either (a) every byte after the header to EOF is zero (the file system extended the
///    file but the data never arrived, or arrived only for part of the header: a whole record's
///    payload starts with a non-zero LSN, so such a record cannot be whole), or (b) the header is that of the last record: its length field
///    ends the record exactly at EOF or before nothing but zero fill, or its payload checksum
///    matches the bytes from the payload start to EOF. Otherwise corruption. (b) treats a damaged
///    last-record header like rule 4 treats a damaged last-record payload.
/// 3. intact header with a length no writer produces → corruption; payload runs past EOF → torn.
/// 4. payload checksum mismatch → torn tail if the record ends exactly at EOF or only zero fill
///    follows it (it is the last record written); otherwise corruption.
/// 5. an LSN other than previous + 1 (or, first, the LSN in the file name) → corruption.
enum SegmentScanner {
    /// Outcome of examining the bytes at one offset.
    private enum Step {
        case record(lsn: UInt64, end: Int)
        case torn(reason: String)
    }

    /// Scans `raw`, the whole content of `segment`, calling `visit` with each record's LSN and
    /// body (a part of `raw`) in order. Throws `JournalCorruption` (or whatever `visit` throws).
    static func scan(
        _ raw: UnsafeRawBufferPointer,
        segment: SegmentFile,
        visit: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws -> SegmentScanResult {
        var result = SegmentScanResult()
        var expectedLSN = segment.firstLSN
        while result.validEnd < raw.count {
            let offset = result.validEnd
            switch try examine(raw, at: offset, expectedLSN: expectedLSN, path: segment.path) {
            case .torn(let reason):
                let zeroFill = isZero(raw, from: offset)
                result.tornTail = TornTail(offset: offset, reason: zeroFill ? "zero fill, never written" : reason,
                                           isZeroFill: zeroFill)
                return result
            case .record(let lsn, let end):
                let bodyStart = offset + RecordFormat.headerByteCount + RecordFormat.lsnByteCount
                try visit(lsn, UnsafeRawBufferPointer(rebasing: raw[bodyStart..<end]))
                result.validEnd = end
                result.lastLSN = lsn
                result.recordCount += 1
                expectedLSN = lsn + 1
            }
        }
        return result
    }

    /// Applies rules 1–5 to the record starting at `offset`.
    private static func examine(
        _ raw: UnsafeRawBufferPointer,
        at offset: Int,
        expectedLSN: UInt64,
        path: String
    ) throws(JournalCorruption) -> Step {
        func corrupt(_ reason: String) -> JournalCorruption {
            JournalCorruption(file: path, offset: offset, reason: reason)
        }
        let remaining = raw.count - offset
        guard remaining >= RecordFormat.headerByteCount else {
            return .torn(reason: "only \(remaining) bytes, less than a record header")
        }
        let header = RecordHeader(raw, at: offset)
        guard header.isIntact else {
            guard isTornHeader(raw, at: offset, header: header) else { throw corrupt("header checksum mismatch") }
            return .torn(reason: "header checksum mismatch in the last record")
        }
        guard header.hasValidLength else {
            throw corrupt("payload length \(header.payloadLength) outside \(RecordFormat.payloadBytesMin)...\(RecordFormat.payloadBytesMax)")
        }
        let payloadStart = offset + RecordFormat.headerByteCount
        let end = payloadStart + Int(header.payloadLength)
        guard end <= raw.count else {
            return .torn(reason: "record of \(end - offset) bytes runs past end of file")
        }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[payloadStart..<end])) == header.payloadCRC else {
            guard isZero(raw, from: end) else { throw corrupt("payload checksum mismatch") }
            return .torn(reason: "payload checksum mismatch in the last record")
        }
        let lsn = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: payloadStart, as: UInt64.self))
        guard lsn == expectedLSN else {
            throw corrupt("record has LSN \(lsn), expected \(expectedLSN)")
        }
        return .record(lsn: lsn, end: end)
    }

    /// Rule 2: whether a header that fails its checksum is the torn last record.
    private static func isTornHeader(_ raw: UnsafeRawBufferPointer, at offset: Int, header: RecordHeader) -> Bool {
        let payloadStart = offset + RecordFormat.headerByteCount
        if isZero(raw, from: payloadStart) { return !intactRecordExists(raw, after: offset) }
        let claimedEnd = payloadStart + Int(header.payloadLength)
        let lengthEndsFile = header.hasValidLength && claimedEnd <= raw.count && isZero(raw, from: claimedEnd)
        let payloadToEOF = raw.count - payloadStart
        let checksumCoversRest = payloadToEOF >= RecordFormat.payloadBytesMin
            && payloadToEOF <= RecordFormat.payloadBytesMax
            && CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[payloadStart...])) == header.payloadCRC
        guard lengthEndsFile || checksumCoversRest else { return false }
        return !intactRecordExists(raw, after: offset)
    }

    /// Whether every byte from `offset` to the end is zero (true when nothing remains).
    private static func isZero(_ raw: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        var index = offset
        while index < raw.count {
            if raw[index] != 0 { return false }
            index += 1
        }
        return true
    }

    /// Whether a record with intact checksums starts at any offset after `offset`: if one does,
    /// the damage at `offset` is followed by written data, so it is not a torn tail.
    private static func intactRecordExists(_ raw: UnsafeRawBufferPointer, after offset: Int) -> Bool {
        // No record starts inside trailing zero fill: an all-zero header fails its checksum.
        var zeroFillStart = raw.count
        while zeroFillStart > offset && raw[zeroFillStart - 1] == 0 { zeroFillStart -= 1 }
        var start = offset + 1
        while start < zeroFillStart && raw.count - start >= RecordFormat.headerByteCount {
            let header = RecordHeader(raw, at: start)
            let payloadStart = start + RecordFormat.headerByteCount
            let end = payloadStart + Int(header.payloadLength)
            if header.isIntact, header.hasValidLength, end <= raw.count,
               CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[payloadStart..<end])) == header.payloadCRC {
                return true
            }
            start += 1
        }
        return false
    }
}
