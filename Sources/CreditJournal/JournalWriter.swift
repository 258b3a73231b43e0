// JournalWriter: group commit — the engine appends records, one background thread writes and fdatasyncs them in batches.

import CreditCore
import Dispatch
import Glibc
import Synchronization

/// A thread the journal starts, as `JournalWriter`'s `onThreadStart` names it.
public enum JournalThread: Sendable {
    /// The writer: writes and fdatasyncs batches.
    case writer
    /// The spare-segment maker, started by the writer when records arrive fast.
    case spare
}

/// The journal's append side. The engine thread calls `append` for each record and `flush` when
/// it wants what it appended written (the event loop: at least once per turn); a background
/// thread writes everything pending with one `write` and one `fdatasync`, then publishes
/// `durableLSN` and calls `onDurable`. Records that arrive while a sync is running join the next
/// batch, so one fdatasync serves many requests (group commit).
///
/// The engine appends `Entry` values, and the writer thread encodes and frames them as it takes
/// a batch: encoding was about a fifteenth of the engine thread's work per request, and the
/// writer mostly waits for fdatasync. (An encoded body can be appended too, as tools and tests do.)
///
/// Thread safety: every mutable field shared between threads lives in `shared` (a
/// `Synchronization.Mutex`) or in an `Atomic`; the segment file and the batch being written are
/// private to the writer thread. All stored properties are therefore `Sendable` and the compiler
/// checks the conformance, so no `@unchecked` is needed.
///
/// Waking a sleeping thread costs tens of microseconds on a virtual machine, on both sides, and
/// among the wake-ups a lone till would wait for per change are the writer's, when the engine
/// flushes, and the engine's, when the batch is durable. So after a batch of one record (a lone
/// till's pace), and before its first batch, the writer keeps polling for the next one for
/// `idleSpin` (the engine's `flush` then only sets a flag) before it sleeps; after a larger
/// batch, or with `idleSpin` zero, it sleeps at once.
///
/// Failure: any failed open, write or fdatasync calls `onFatal` once and stops the writer;
/// `durableLSN` never advances again, because data that was not synced must not be acknowledged.
public final class JournalWriter: Sendable {
    /// Most bytes that may wait for the writer before `append` blocks: 64 MiB is several seconds
    /// of the engine's peak rate (~100k records/s of a few hundred bytes). Past that the disk
    /// cannot keep up, and stalling the engine (back-pressure) beats unbounded memory. An entry
    /// not yet encoded counts as `estimatedByteCount(of:)`.
    public static let pendingBytesMax = 64 << 20

    /// What a pending entry counts for against `pendingBytesMax` before the writer encodes it,
    /// growing with its events and its remembered reply as its record and its memory do: more
    /// than a HOLD's or CAPTURE's record (about 200 bytes), and a STOCK of 100 cards or a sweep of
    /// 1,000 expiries counts a hundred or a thousand times an event. Computed without encoding.
    public static func estimatedByteCount(of entry: Entry) -> Int {
        var bytes = 64 + 192 * entry.events.count
        if let record = entry.idempotency { bytes += 128 + record.ref.text.utf8.count + record.storedReply.byteCount }
        return bytes
    }

    /// Name of the writer thread in error messages.
    static let threadName = "journal writer"

    /// A record appended but not yet taken by the writer: its body, or the entry the writer
    /// encodes into one.
    enum PendingRecord: Sendable {
        case body([UInt8])
        case entry(Entry)
    }

    /// A point in the pending records where later records go to a new segment: before the
    /// record at `recordIndex` in the pending records, or (in a framed batch) at `byteOffset`.
    struct SegmentSwitch: Sendable {
        var recordIndex = 0
        var byteOffset = 0
        let firstLSN: UInt64
    }

    /// State shared by the engine thread (append, flush) and the writer thread.
    struct Shared: Sendable {
        /// Records appended but not yet taken by the writer, in LSN order.
        var pending: [PendingRecord] = []
        /// Framed bytes of the pending bodies plus `estimatedByteCount(of:)` of the pending entries.
        var pendingBytes = 0
        /// LSN the next append gets.
        var nextLSN: UInt64
        /// Segment switches inside `pending`, in order.
        var segmentSwitches: [SegmentSwitch] = []
        /// First LSN of the segment appends currently go to (it may not be created yet).
        var requestedSegmentFirstLSN: UInt64
        /// First LSN of the segment the writer thread has open; older ones may be removed.
        var openSegmentFirstLSN: UInt64
        /// `flush` (or a full buffer, or a rotation) asked for `pending` to be written.
        var flushRequested = false
        /// The writer is waiting on `writerWake`; whoever clears this must signal it once.
        /// While it polls after a batch (`idleSpin`) it is not idle, so nobody signals it.
        var writerIdle = false
        /// `append` is waiting on `producerWake` for room; whoever clears this must signal it once.
        var producerWaiting = false
        /// `close` was called: write what is pending, then stop.
        var closing = false
        /// The writer hit a fatal error and stopped; nothing will be written again.
        var failed = false
    }

    /// One batch taken by the writer thread.
    private struct Batch {
        let lastLSN: UInt64
        let switches: [SegmentSwitch]
    }

    private let directory: String
    private let onDurable: @Sendable (UInt64) -> Void
    private let onFatal: @Sendable (String) -> Void
    private let shared: Mutex<Shared>
    private let writerWake = DispatchSemaphore(value: 0)
    private let producerWake = DispatchSemaphore(value: 0)
    private let durable: Atomic<UInt64>
    /// Set (under the lock) whenever a write or close is requested; cleared (under the lock)
    /// when the writer looks and takes the batch or finds nothing. What the writer polls,
    /// without the lock, while it spins.
    private let writeWanted = Atomic<Bool>(false)
    /// How long the writer polls for the next batch before sleeping, in nanoseconds.
    private let idleSpinNanos: UInt64
    private let polls = Atomic<Int>(0)
    private let sleeps = Atomic<Int>(0)
    private let fsyncs = Atomic<Int>(0)
    private let written = Atomic<UInt64>(0)
    private let thread = Mutex<JoinableThread?>(nil)
    private let spares: SparePreparer

    /// Creates the new segment `journal-<nextLSN>.log` in `directory` (it must not exist),
    /// fsyncs the directory and starts the writer thread. `nextLSN` is `RecoveryReport.nextLSN`.
    /// A spare segment file left by an earlier run is deleted. `onDurable` and `onFatal` run on
    /// the writer thread: keep them short (a batch waits for them) and never call `close()` from
    /// them (the thread would wait for itself). `onWarning` reports, from either thread, that
    /// spare segments are off (`SparePreparer`); nothing is lost by it. `idleSpin` (at most a
    /// second) is how long the writer polls for more work after a batch of one record before it
    /// sleeps (see above). `onThreadStart` runs first on each thread the journal starts, the
    /// writer and (made by the writer, so sharing its CPU affinity) the spare thread: the server
    /// pins the writer to a CPU there, and gives the spare thread the process's CPUs back.
    public init(
        directory: String,
        nextLSN: UInt64,
        spareSizes: SpareSegmentSizes = .standard,
        idleSpin: Duration = .zero,
        onThreadStart: @escaping @Sendable (JournalThread) -> Void = { _ in },
        onDurable: @escaping @Sendable (UInt64) -> Void,
        onFatal: @escaping @Sendable (String) -> Void,
        onWarning: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        precondition(nextLSN >= 1, "LSNs start at 1")
        self.directory = directory
        self.onDurable = onDurable
        self.onFatal = onFatal
        idleSpinNanos = UInt64(min(max(0, idleSpin / .nanoseconds(1)), 1e9))
        shared = Mutex(Shared(nextLSN: nextLSN, requestedSegmentFirstLSN: nextLSN, openSegmentFirstLSN: nextLSN))
        durable = Atomic(nextLSN - 1)
        spares = SparePreparer(directory: directory, sizes: spareSizes, onWarning: onWarning, onThreadStart: onThreadStart)
        try SparePreparer.removeLeftover(directory: directory)
        var segment = try OpenSegment.create(directory: directory, firstLSN: nextLSN)
        do {
            let started = try JoinableThread.start(name: Self.threadName) { [self, segment] in
                onThreadStart(.writer)
                self.runWriter(segment: segment)
            }
            thread.withLock { $0 = started }
        } catch {
            segment.abandon()
            throw error
        }
    }

    /// Highest LSN known to be on disk (written and fdatasynced). Readable from any thread.
    public var durableLSN: UInt64 { durable.load(ordering: .acquiring) }

    /// Times the writer, after a batch of one record (or before its first), looked for its next
    /// batch by polling for `idleSpin` rather than sleeping at once.
    public var pollCount: Int { polls.load(ordering: .relaxed) }

    /// Times the writer went to sleep until woken (after its poll, or at once).
    public var sleepCount: Int { sleeps.load(ordering: .relaxed) }

    /// fdatasync calls made so far.
    public var fsyncCount: Int { fsyncs.load(ordering: .relaxed) }

    /// Bytes written to segment files so far.
    public var bytesWritten: UInt64 { written.load(ordering: .relaxed) }

    /// Whether the writer hit a fatal error: `durableLSN` will never advance again, so anything
    /// waiting for it must give up (`onFatal` has been or is being called).
    public var hasFailed: Bool { shared.withLock { $0.failed } }

    /// Whether a spare segment file is made and waiting for the next roll-over or switch.
    public var hasSpareSegment: Bool { spares.isReady }

    /// Spares not made because the file system lacked the room (`SpareSegmentSizes.reserveBytes`).
    public var sparesDeclinedForSpace: Int { spares.declinedForSpace }

    /// Bytes appended but not yet taken by the writer thread (for back-pressure and stats),
    /// counting `estimatedByteCount(of:)` for each entry.
    public var pendingByteCount: Int { shared.withLock { $0.pendingBytes } }

    /// Adds `entry` as the next record and returns its LSN; the writer thread encodes it
    /// (`EntryCodec`), and stops the process there if its body exceeds `recordBodyBytesMax`,
    /// before the record or any after it is durable. Does not wake the writer (`flush` does),
    /// unless the pending records are full, in which case it wakes the writer and blocks until
    /// the writer has taken them.
    public func append(_ entry: Entry) -> UInt64 {
        append(.entry(entry), byteCount: Self.estimatedByteCount(of: entry))
    }

    /// Adds `body` as the next record and returns its LSN, as `append(_: Entry)` does.
    public func append(_ body: [UInt8]) -> UInt64 {
        precondition(body.count <= recordBodyBytesMax, "record body of \(body.count) bytes exceeds recordBodyBytesMax")
        return append(.body(body), byteCount: RecordFormat.recordByteCount(bodyCount: body.count))
    }

    private func append(_ record: PendingRecord, byteCount recordBytes: Int) -> UInt64 {
        while true {
            let (lsn, wakeWriter) = shared.withLock { state -> (UInt64?, Bool) in
                precondition(!state.closing, "append after close")
                let full = !state.pending.isEmpty && state.pendingBytes + recordBytes > Self.pendingBytesMax
                if full && !state.failed {
                    state.producerWaiting = true
                    return (nil, self.requestWrite(&state))
                }
                let lsn = state.nextLSN
                state.nextLSN += 1
                // After a fatal error nothing will be written again; don't let the buffer grow.
                if !state.failed {
                    state.pending.append(record)
                    state.pendingBytes += recordBytes
                }
                return (lsn, false)
            }
            if let lsn { return lsn }
            if wakeWriter { writerWake.signal() }
            producerWake.wait()
        }
    }

    /// Asks the writer to write and sync everything appended so far; returns at once.
    public func flush() {
        let wakeWriter = shared.withLock { state -> Bool in
            guard !state.pending.isEmpty || !state.segmentSwitches.isEmpty else { return false }
            return self.requestWrite(&state)
        }
        if wakeWriter { writerWake.signal() }
    }

    /// Makes later appends go to a new segment and returns its first LSN. The writer thread
    /// creates the file after writing out everything appended before. If the current segment
    /// has no records yet, it is kept and its first LSN returned.
    public func startNewSegment() -> UInt64 {
        let (firstLSN, wakeWriter) = shared.withLock { state -> (UInt64, Bool) in
            precondition(!state.closing, "startNewSegment after close")
            guard state.nextLSN != state.requestedSegmentFirstLSN else { return (state.nextLSN, false) }
            state.segmentSwitches.append(SegmentSwitch(recordIndex: state.pending.count, firstLSN: state.nextLSN))
            state.requestedSegmentFirstLSN = state.nextLSN
            return (state.nextLSN, self.requestWrite(&state))
        }
        if wakeWriter { writerWake.signal() }
        return firstLSN
    }

    /// Deletes the segments all of whose records have LSN <= `lsn` (a segment is covered when
    /// the next segment on disk starts at or before `lsn + 1`), never the segment being written,
    /// then fsyncs the directory. Call only once a snapshot at `lsn` or later is durable.
    /// Returns how many files were deleted. Any error must be treated as fatal.
    @discardableResult
    public func removeSegments(coveredThrough lsn: UInt64) throws -> Int {
        let openFirstLSN = shared.withLock { $0.openSegmentFirstLSN }
        let segments = try SegmentFile.list(directory: directory)
        var removed = 0
        for (index, segment) in segments.enumerated().dropLast() {
            let next = segments[index + 1]
            guard segment.firstLSN < openFirstLSN, next.firstLSN <= lsn + 1 else { break }
            try POSIXFile.removeGradually(segment.path)
            removed += 1
        }
        if removed > 0 { try POSIXFile.syncDirectory(directory) }
        return removed
    }

    /// Writes and syncs everything pending, stops the writer thread and closes the segment,
    /// then stops making spares and deletes the spare file. Idempotent; concurrent callers all
    /// return after the threads have stopped.
    public func close() {
        thread.withLock { handle in
            guard let running = handle else { return }
            let wakeWriter = shared.withLock { state -> Bool in
                state.closing = true
                writeWanted.store(true, ordering: .releasing)
                guard state.writerIdle else { return false }
                state.writerIdle = false
                return true
            }
            if wakeWriter { writerWake.signal() }
            running.join()
            spares.close()
            handle = nil
        }
    }

    /// Marks a write as wanted (call under the lock); returns true if the caller must wake the
    /// idle writer.
    private func requestWrite(_ state: inout Shared) -> Bool {
        state.flushRequested = true
        writeWanted.store(true, ordering: .releasing)
        guard state.writerIdle else { return false }
        state.writerIdle = false
        return true
    }

    // MARK: - Writer thread

    /// The writer thread: take a batch, write it, sync it, publish it; until closed or failed.
    private func runWriter(segment initial: OpenSegment) {
        var segment = initial
        var records: [PendingRecord] = []
        var buffer: [UInt8] = []
        var batchFirstLSN = initial.firstLSN
        var demand = SpareDemand(bytesPerSecond: spares.sizes.requestAboveBytesPerSecond, start: .now)
        var poll = true  // before the first batch
        while let batch = takeBatch(swappingWith: &records, mayPoll: poll) {
            poll = batch.lastLSN == batchFirstLSN
            let switches = Self.frame(records, firstLSN: batchFirstLSN, switches: batch.switches, into: &buffer)
            // Emptied here, keeping its capacity: the entries' memory is freed on this thread.
            records.removeAll(keepingCapacity: true)
            do {
                try write(buffer, firstLSN: batchFirstLSN, switches: switches, segment: &segment)
            } catch {
                fail("journal write failed, records after LSN \(durableLSN) are not durable: \(error)", &segment)
                return
            }
            publish(batch.lastLSN)
            batchFirstLSN = batch.lastLSN + 1
            if demand.wantsSpare(afterWriting: buffer.count, at: .now) { spares.request() }
            buffer.removeAll(keepingCapacity: true)
            do {
                if try fillAheadIfIdle(&segment) { fsyncs.add(1, ordering: .relaxed) }
            } catch {
                fail("journal write failed while zero-filling ahead: \(error)", &segment)
                return
            }
        }
        do {
            try segment.close()
        } catch {
            fail("journal close failed: \(error)", &segment)
        }
    }

    /// Zero-fills more of the segment ahead of the records when it runs low, no records are
    /// waiting and no spare is ready (the next batch that does not fit rolls over to the spare),
    /// so that the fill rarely delays a batch. Returns whether it synced.
    private func fillAheadIfIdle(_ segment: inout OpenSegment) throws(JournalIOError) -> Bool {
        guard segment.isLowOnFilledSpace, !spares.isReady else { return false }
        guard shared.withLock({ $0.pending.isEmpty && $0.segmentSwitches.isEmpty }) else { return false }
        return try segment.fillAheadIfLow()
    }

    /// Frames `records` (LSNs from `firstLSN`) into `buffer`, encoding entries, and returns
    /// `switches` with the byte offsets where they fall in `buffer`.
    private static func frame(
        _ records: [PendingRecord], firstLSN: UInt64, switches: [SegmentSwitch], into buffer: inout [UInt8]
    ) -> [SegmentSwitch] {
        var framed = switches
        var next = 0
        for (index, record) in records.enumerated() {
            while next < framed.count && framed[next].recordIndex == index {
                framed[next].byteOffset = buffer.count
                next += 1
            }
            let lsn = firstLSN + UInt64(index)
            switch record {
            case .body(let body):
                RecordFormat.appendRecord(lsn: lsn, body: body, to: &buffer)
            case .entry(let entry):
                RecordFormat.appendRecord(lsn: lsn, body: EntryCodec.encode(entry), to: &buffer)
            }
        }
        while next < framed.count {
            framed[next].byteOffset = buffer.count
            next += 1
        }
        return framed
    }

    /// Waits until a write is requested, then swaps the pending records with `records` (empty,
    /// keeping its capacity, so neither side reallocates). Returns nil when closed and drained.
    /// With `mayPoll`, polls for `idleSpin` from the call before it sleeps.
    private func takeBatch(swappingWith records: inout [PendingRecord], mayPoll: Bool) -> Batch? {
        precondition(records.isEmpty, "the writer's records are empty between batches")
        let poll = mayPoll && idleSpinNanos > 0
        if poll { polls.add(1, ordering: .relaxed) }
        let spinUntil = poll ? DispatchTime.now().uptimeNanoseconds + idleSpinNanos : 0
        while true {
            // `idle`: it set `writerIdle`, so it must sleep (and will be signalled); else it spins.
            let (batch, stop, wakeProducer, idle) = shared.withLock { state -> (Batch?, Bool, Bool, Bool) in
                let hasWork = !state.pending.isEmpty || !state.segmentSwitches.isEmpty
                guard hasWork && (state.flushRequested || state.closing) else {
                    if state.closing { return (nil, true, false, false) }
                    writeWanted.store(false, ordering: .relaxed)
                    let idle = DispatchTime.now().uptimeNanoseconds >= spinUntil
                    if idle { state.writerIdle = true }
                    return (nil, false, false, idle)
                }
                swap(&state.pending, &records)
                state.pendingBytes = 0
                let batch = Batch(lastLSN: state.nextLSN - 1, switches: state.segmentSwitches)
                state.segmentSwitches.removeAll()
                state.flushRequested = false
                writeWanted.store(false, ordering: .relaxed)
                let wakeProducer = state.producerWaiting
                state.producerWaiting = false
                return (batch, false, wakeProducer, false)
            }
            if wakeProducer { producerWake.signal() }
            if let batch { return batch }
            if stop { return nil }
            if idle {
                sleeps.add(1, ordering: .relaxed)
                writerWake.wait()
            } else {
                spin(until: spinUntil)
            }
        }
    }

    /// Polls `writeWanted` until it is set or `deadline` (uptime nanoseconds) passes, calling
    /// `sched_yield` between looks. Not idle meanwhile: nobody signals.
    private func spin(until deadline: UInt64) {
        while !writeWanted.load(ordering: .acquiring) && DispatchTime.now().uptimeNanoseconds < deadline {
            sched_yield()
        }
    }

    /// Writes one batch, whose first record has `firstLSN`, switching segments at the recorded
    /// offsets, and syncs every segment written to. Returns only when all of `bytes` is durable.
    private func write(
        _ bytes: [UInt8], firstLSN: UInt64, switches: [SegmentSwitch], segment: inout OpenSegment
    ) throws(JournalIOError) {
        var start = 0
        var pieceFirstLSN = firstLSN
        for next in switches {
            precondition(next.byteOffset >= start && next.byteOffset <= bytes.count, "segment switch inside the batch")
            try write(bytes[start..<next.byteOffset], firstLSN: pieceFirstLSN, to: &segment)
            try sync(&segment)
            try segment.close()
            segment = try newSegment(firstLSN: next.firstLSN)
            start = next.byteOffset
            pieceFirstLSN = next.firstLSN
        }
        try write(bytes[start...], firstLSN: pieceFirstLSN, to: &segment)
        try sync(&segment)
        written.add(UInt64(bytes.count), ordering: .relaxed)
    }

    /// Writes whole records, the first with `firstLSN`, to the segment. If they do not fit in
    /// its filled space and a spare is ready, the segment is closed (it is synced: this runs
    /// at the start of a batch or right after a switch) and the records start a new segment
    /// `journal-<firstLSN>.log`: the spare, or a created file if the link is refused
    /// (`newSegment`). A segment with no records yet is never rolled over.
    private func write(_ records: ArraySlice<UInt8>, firstLSN: UInt64, to segment: inout OpenSegment) throws(JournalIOError) {
        if !records.isEmpty && segment.writeOffset > 0 && !segment.hasFilledRoom(for: records.count) && spares.isReady {
            try segment.close()
            segment = try newSegment(firstLSN: firstLSN)  // only this thread takes the ready spare
        }
        try segment.write(records)
    }

    /// Opens the segment that starts at `firstLSN`: the spare if one is ready and the file
    /// system takes the link, else a new file.
    private func newSegment(firstLSN: UInt64) throws(JournalIOError) -> OpenSegment {
        let segment = try adoptSpareOrCreate(firstLSN: firstLSN)
        shared.withLock { $0.openSegmentFirstLSN = firstLSN }
        return segment
    }

    private func adoptSpareOrCreate(firstLSN: UInt64) throws(JournalIOError) -> OpenSegment {
        if let spare = spares.take() {
            switch try OpenSegment.adopt(spare, from: spares.path, directory: directory, firstLSN: firstLSN) {
            case .adopted(let segment):
                return segment
            case .refused(let error):
                spares.turnOff(reason: "could not use a spare journal segment, filling in line from now on: \(error)")
            }
        }
        return try OpenSegment.create(directory: directory, firstLSN: firstLSN)
    }

    /// fdatasyncs the segment if it has unsynced bytes, counting the call.
    private func sync(_ segment: inout OpenSegment) throws(JournalIOError) {
        if try segment.syncIfNeeded() {
            fsyncs.add(1, ordering: .relaxed)
        }
    }

    /// Makes `lastLSN` visible as durable and tells the server.
    private func publish(_ lastLSN: UInt64) {
        guard lastLSN > durable.load(ordering: .relaxed) else { return }
        durable.store(lastLSN, ordering: .releasing)
        onDurable(lastLSN)
    }

    /// Stops accepting work for good, releases a blocked producer and reports the error.
    private func fail(_ message: String, _ segment: inout OpenSegment) {
        let wakeProducer = shared.withLock { state -> Bool in
            state.failed = true
            state.pending.removeAll()
            state.pendingBytes = 0
            let waiting = state.producerWaiting
            state.producerWaiting = false
            return waiting
        }
        if wakeProducer { producerWake.signal() }
        segment.abandon()
        onFatal(message)
    }
}
