// RecordFormat: the on-disk framing of one journal record (header, LSN, body) and its limits.

/// Largest body one journal record may carry: 1 MiB. A ledger entry is a few hundred bytes;
/// the limit exists so that a damaged length field can never make recovery allocate or trust
/// gigabytes, and so one record can never dominate a group commit.
public let recordBodyBytesMax = 1 << 20

/// The framing of a journal record: a 12-byte header followed by the payload.
///
/// ```
/// offset  size  field
///      0     4  payloadLength  u32 LE (8 + body length)
///      4     4  payloadCRC     u32 LE, CRC32C of the payload
///      8     4  headerCRC      u32 LE, CRC32C of header bytes 0..<8
///     12     8  lsn            u64 LE   \ payload
///     20     n  body                    /
/// ```
public enum RecordFormat {
    /// Bytes in a record header.
    public static let headerByteCount = 12

    /// Bytes of the LSN at the start of every payload.
    public static let lsnByteCount = 8

    /// Smallest valid payload: an LSN and an empty body.
    public static let payloadBytesMin = lsnByteCount

    /// Largest valid payload: an LSN and a body of `recordBodyBytesMax`.
    public static let payloadBytesMax = lsnByteCount + recordBodyBytesMax

    /// Bytes a record with a body of `bodyCount` bytes takes on disk.
    public static func recordByteCount(bodyCount: Int) -> Int {
        headerByteCount + lsnByteCount + bodyCount
    }

    /// Appends the framed record (header, LSN, body) for `lsn` and `body` to `buffer`.
    public static func appendRecord(lsn: UInt64, body: [UInt8], to buffer: inout [UInt8]) {
        precondition(body.count <= recordBodyBytesMax, "record body of \(body.count) bytes exceeds recordBodyBytesMax")
        precondition(lsn >= 1, "LSNs start at 1")
        let start = buffer.count
        let payloadLength = UInt32(lsnByteCount + body.count)
        // Grown geometrically: reserving exactly the record's end would reallocate (and copy the
        // whole buffer) on every record of a batch larger than any before it.
        let end = start + headerByteCount + Int(payloadLength)
        if buffer.capacity < end { buffer.reserveCapacity(max(end, 2 * buffer.capacity)) }
        buffer.append(contentsOf: repeatElement(0, count: headerByteCount))
        withUnsafeBytes(of: lsn.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: body)
        buffer.withUnsafeMutableBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[(start + headerByteCount)...])
            raw.storeBytes(of: payloadLength.littleEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: CRC32C.checksum(payload).littleEndian, toByteOffset: start + 4, as: UInt32.self)
            let headerPrefix = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 8)])
            raw.storeBytes(of: CRC32C.checksum(headerPrefix).littleEndian, toByteOffset: start + 8, as: UInt32.self)
        }
    }

    /// Returns one framed record, for tools and tests; the writer appends into a reused buffer instead.
    public static func record(lsn: UInt64, body: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        appendRecord(lsn: lsn, body: body, to: &buffer)
        return buffer
    }
}

/// A record header as read from disk, before it is trusted.
struct RecordHeader {
    /// Bytes of payload that follow the header.
    let payloadLength: UInt32
    /// Stored CRC32C of the payload.
    let payloadCRC: UInt32
    /// Stored CRC32C of the first eight header bytes.
    let headerCRC: UInt32
    /// Whether `headerCRC` matches the first eight bytes as read.
    let isIntact: Bool

    /// Reads the header at `offset`; the caller guarantees 12 bytes are there.
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && bytes.count - offset >= RecordFormat.headerByteCount, "header read out of bounds")
        payloadLength = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        payloadCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        headerCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
        isIntact = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 8)])) == headerCRC
    }

    /// Whether the length is one a writer could have produced.
    var hasValidLength: Bool {
        Int(payloadLength) >= RecordFormat.payloadBytesMin && Int(payloadLength) <= RecordFormat.payloadBytesMax
    }
}
