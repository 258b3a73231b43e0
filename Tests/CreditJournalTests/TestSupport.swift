// Shared test helpers (not tests): unique temp directories, raw segment files, replay into arrays.

import Foundation
import Synchronization
import Testing
import CreditJournal

/// Runs `body` with a fresh directory under /tmp and removes it afterwards.
func withTempDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/creditjournal-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String? in
        guard let result = mkdtemp(buffer.baseAddress!) else { return nil }
        return String(cString: result)
    }
    guard let path else { throw JournalIOError(operation: "mkdtemp", path: "/tmp", code: errno) }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A reader over `bytes[start..<end]`, as `ByteReader` reads a record in a mapped segment: the
/// whole array is copied (so the slice keeps its offset from an allocation's start, which the
/// alignment tests rely on) into memory never freed, so the reader can be passed around and kept
/// like a value. Test inputs are small.
func testReader(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) -> ByteReader {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
    bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
    return ByteReader(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy)[start..<(end ?? bytes.count)]))
}

/// A replayed record.
struct Replayed: Equatable {
    let lsn: UInt64
    let body: [UInt8]
}

/// Replays `directory` and collects every record applied.
func replayAll(_ directory: String, afterLSN: UInt64 = 0) throws -> ([Replayed], RecoveryReport) {
    var records: [Replayed] = []
    let report = try JournalRecovery.replay(directory: directory, afterLSN: afterLSN) { lsn, body in
        records.append(Replayed(lsn: lsn, body: Array(body)))
    }
    return (records, report)
}

/// Path of the segment starting at `firstLSN`.
func segmentPath(_ directory: String, _ firstLSN: UInt64) -> String {
    directory + "/" + SegmentName.fileName(firstLSN: firstLSN)
}

/// Writes a segment file directly (no writer): records with the given LSNs and bodies.
/// Returns the start offset of each record.
@discardableResult
func writeSegment(_ directory: String, name firstLSN: UInt64, records: [(UInt64, [UInt8])]) throws -> [Int] {
    var bytes: [UInt8] = []
    var offsets: [Int] = []
    for (lsn, body) in records {
        offsets.append(bytes.count)
        RecordFormat.appendRecord(lsn: lsn, body: body, to: &bytes)
    }
    try writeFile(segmentPath(directory, firstLSN), bytes)
    return offsets
}

/// The body used for record `lsn` in tests: recognisable and of varying length.
func testBody(_ lsn: UInt64, length: Int? = nil) -> [UInt8] {
    let count = length ?? Int(lsn % 37)
    return (0..<count).map { UInt8(truncatingIfNeeded: Int(lsn) &* 31 &+ $0 &* 7 &+ 1) }
}

/// Reads a whole file.
func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw JournalIOError(operation: "read", path: path, code: ENOENT)
    }
    return [UInt8](data)
}

/// Writes a whole file, replacing it.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// File names in a directory, sorted.
func fileNames(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

/// Collects what a writer reports from its thread.
final class WriterEvents: Sendable {
    private let state = Mutex<(durable: [UInt64], fatal: [String], warnings: [String])>(([], [], []))

    var durable: [UInt64] { state.withLock { $0.durable } }
    var fatal: [String] { state.withLock { $0.fatal } }
    var warnings: [String] { state.withLock { $0.warnings } }

    /// Opens a writer whose callbacks record into this object.
    /// Tests that are not about spares never ask for one (as a daemon below 1 MiB a second).
    static let noSpares = SpareSegmentSizes(
        byteCount: 32 << 20, requestAboveBytesPerSecond: .max, pieceBytes: 128 << 10, reserveBytes: 1 << 30
    )

    func makeWriter(
        _ directory: String, nextLSN: UInt64, spareSizes: SpareSegmentSizes = noSpares, idleSpin: Duration = .zero,
        onThreadStart: @escaping @Sendable (JournalThread) -> Void = { _ in }
    ) throws -> JournalWriter {
        try JournalWriter(
            directory: directory, nextLSN: nextLSN, spareSizes: spareSizes, idleSpin: idleSpin, onThreadStart: onThreadStart,
            onDurable: { lsn in self.state.withLock { $0.durable.append(lsn) } },
            onFatal: { message in self.state.withLock { $0.fatal.append(message) } },
            onWarning: { message in self.state.withLock { $0.warnings.append(message) } }
        )
    }
}

/// Waits (up to 60 s, for a loaded CI machine) until `writer` reports `lsn` durable.
func waitUntilDurable(_ writer: JournalWriter, _ lsn: UInt64) {
    for _ in 0..<60_000 where writer.durableLSN < lsn {
        usleep(1_000)
    }
    #expect(writer.durableLSN >= lsn)
}

/// Appends `count` records that together pass `JournalWriter.pendingBytesMax` to a new writer in
/// `directory`, with no flush: each append must return its LSN (it would deadlock if a full
/// buffer did not wake the writer), and what is pending never passes the limit. Then closes the
/// writer and returns how many replayed records `isAppended` recognises.
func appendPastThePendingLimit(_ directory: String, count: Int, append: (JournalWriter) -> UInt64,
                               isAppended: (UnsafeRawBufferPointer) throws -> Bool) throws -> Int {
    let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
    for lsn in 1...count {
        #expect(append(writer) == UInt64(lsn))
        #expect(writer.pendingByteCount <= JournalWriter.pendingBytesMax)
    }
    waitUntilDurable(writer, 1)  // the writer took the full buffer without any flush
    writer.close()
    var seen = 0
    _ = try JournalRecovery.replay(directory: directory, afterLSN: 0) { _, body in
        if try isAppended(body) { seen += 1 }
    }
    return seen
}
