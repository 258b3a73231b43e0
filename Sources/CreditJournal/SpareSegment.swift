// SpareSegment: the next segment file, zero-filled and synced ahead of need on its own thread.

import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// When spare segment files are made, and how big. Public so that tests can make them small.
public struct SpareSegmentSizes: Sendable {
    /// Zeros in one spare: the filled space a segment rolled over to starts with. 32 MiB is
    /// about three seconds of records at 30k HOLDs a second.
    public var byteCount: Int
    /// The writer asks for a spare when it writes records at least this fast, measured over
    /// windows of a second or a little more (`SpareDemand`). A quiet daemon, or one at a couple
    /// of thousand records a second, never makes one: its in-line fills are rare, and a spare's
    /// I/O would only compete with the snapshots' (BENCHMARKS.md). 0 asks for a spare after
    /// every batch, whenever none is ready (for tests).
    public var requestAboveBytesPerSecond: Int
    /// Free space the file system must keep besides a spare for one to be made, or 5/4 of the
    /// newest snapshot file if that is more (the next snapshot is written beside it when there
    /// is no spare snapshot file to write over, and may grow past it even then): a spare
    /// should not take the room a snapshot or the journal's own fills need, which would stop
    /// the daemon (a failed journal or snapshot write is fatal). Checked when a spare is begun.
    public var reserveBytes: Int
    /// Zeros written to the device at a time while a spare is prepared (`sync_file_range`,
    /// without a cache flush), so that a journal fdatasync, which replies wait for, never
    /// queues behind much of it; one fdatasync at the end makes the whole spare durable.
    public var pieceBytes: Int

    public init(byteCount: Int, requestAboveBytesPerSecond: Int, pieceBytes: Int, reserveBytes: Int) {
        precondition(byteCount > 0 && pieceBytes > 0 && reserveBytes >= 0 && requestAboveBytesPerSecond >= 0,
                     "spare sizes must be positive")
        self.byteCount = byteCount
        self.requestAboveBytesPerSecond = requestAboveBytesPerSecond
        self.pieceBytes = pieceBytes
        self.reserveBytes = reserveBytes
    }

    /// What the daemon uses: 32 MiB spares, once the journal grows by 1 MiB a second (about
    /// 3,000 HOLDs), and only while 1 GiB more is free.
    public static let standard = SpareSegmentSizes(
        byteCount: 32 << 20, requestAboveBytesPerSecond: 1 << 20, pieceBytes: 128 << 10, reserveBytes: 1 << 30
    )
}

/// How fast the journal grows, as the writer thread sees it after each batch: tells it when to
/// ask for a spare (`SpareSegmentSizes.requestAboveBytesPerSecond`). Public so that tests can
/// drive it with their own instants.
public struct SpareDemand: Sendable {
    public let bytesPerSecond: Int
    /// Start of the current window (at least a second long), and the bytes written since.
    private var windowStart: ContinuousClock.Instant
    private var windowBytes = 0

    public init(bytesPerSecond: Int, start: ContinuousClock.Instant) {
        precondition(bytesPerSecond >= 0, "a rate is not negative")
        self.bytesPerSecond = bytesPerSecond
        self.windowStart = start
    }

    /// Call after each batch of `byteCount` bytes, finished at `now`. Returns whether to ask
    /// for a spare: when the first batch at least a second after the window began closes it,
    /// and the window's bytes over its length reach `bytesPerSecond` (so at most once a
    /// second). A window of a minute or more is a quiet spell, never a fast one.
    /// `bytesPerSecond` 0 asks after every batch.
    public mutating func wantsSpare(afterWriting byteCount: Int, at now: ContinuousClock.Instant) -> Bool {
        if bytesPerSecond == 0 { return true }
        windowBytes += byteCount
        let elapsed = now - windowStart
        guard elapsed >= .seconds(1) else { return false }
        defer {
            windowStart = now
            windowBytes = 0
        }
        guard elapsed < .seconds(60) else { return false }
        let (seconds, attoseconds) = elapsed.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let written = windowBytes.multipliedReportingOverflow(by: 1_000_000_000)
        let wanted = bytesPerSecond.multipliedReportingOverflow(by: Int(nanoseconds))
        if wanted.overflow { return false }
        return written.overflow || written.partialValue >= wanted.partialValue
    }
}

/// A spare ready for the writer: open, zero-filled to `byteCount` and synced, still under its
/// temporary name.
struct SpareFile: Sendable {
    let fd: Int32
    let byteCount: Int
}

/// Makes one spare segment file at a time, `journal-spare.tmp`, on its own thread, so that under
/// sustained load the writer thread rolls over to space that is already filled instead of
/// zero-filling 1 MiB in front of a batch (one such fill held a batch ~1–1.5 ms here, ten times
/// a second at 30k HOLD/s; BENCHMARKS.md).
///
/// The writer asks for a spare (`request`) when the journal grows fast (`SpareDemand`), and
/// takes it (`take`) when the segment runs out of filled space or a snapshot starts a new one.
/// The thread starts with the first request. A spare is made only while the file system has
/// room for it and the reserve besides (`SpareSegmentSizes.reserveBytes`); otherwise the
/// request is dropped (a later one checks again).
/// A failure to make a spare deletes the file, is reported through `onWarning`, and ends spares
/// for this writer (`turnOff` does the same for the writer's own failures with one): the writer
/// fills in line as before.
///
/// The writer thread alone calls `request`, `take` and `turnOff`, so between its `take` and its
/// `link` of the spare's path no new spare can be started there: the path still names the
/// file whose descriptor the writer holds.
final class SparePreparer: Sendable {
    /// The spare's name in the data directory; not a segment's name, so recovery ignores it.
    static let fileName = "journal-spare.tmp"

    /// Name of the thread in error messages.
    static let threadName = "journal spare"

    private enum Phase: Sendable {
        case idle
        case requested
        case preparing
        case ready(SpareFile)
        /// A spare could not be made; no more are tried.
        case off
    }

    private struct State: Sendable {
        var phase: Phase = .idle
        var closing = false
        var thread: JoinableThread?
    }

    /// Thrown inside `prepare` when `close` asks the thread to stop.
    private struct Cancelled: Error {}

    let sizes: SpareSegmentSizes
    let directory: String
    let path: String
    private let onWarning: @Sendable (String) -> Void
    private let onThreadStart: @Sendable (JournalThread) -> Void
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let declines = Atomic<Int>(0)

    /// Requests dropped so far because the file system lacked the room (`hasRoomForSpare`).
    var declinedForSpace: Int { declines.load(ordering: .relaxed) }

    init(directory: String, sizes: SpareSegmentSizes, onWarning: @escaping @Sendable (String) -> Void,
         onThreadStart: @escaping @Sendable (JournalThread) -> Void = { _ in }) {
        self.sizes = sizes
        self.directory = directory
        self.path = POSIXFile.join(directory, Self.fileName)
        self.onWarning = onWarning
        self.onThreadStart = onThreadStart
    }

    /// Deletes a spare left by an earlier run (it was never part of the journal).
    static func removeLeftover(directory: String) throws(JournalIOError) {
        let path = POSIXFile.join(directory, fileName)
        if unlink(path) != 0 && errno != ENOENT {
            throw JournalIOError(operation: "unlink", path: path, code: errno)
        }
    }

    /// Asks for a spare unless one is ready, being made, or spares are off. Returns at once.
    func request() {
        let (signal, startFailure) = state.withLock { state -> (Bool, JournalIOError?) in
            guard case .idle = state.phase, !state.closing else { return (false, nil) }
            state.phase = .requested
            guard state.thread == nil else { return (true, nil) }
            do throws(JournalIOError) {
                state.thread = try JoinableThread.start(name: Self.threadName) { [self] in
                    onThreadStart(.spare)
                    run()
                }
                return (true, nil)
            } catch {
                state.phase = .off
                return (false, error)
            }
        }
        if signal { wake.signal() }
        if let startFailure { onWarning("no spare journal segments: \(startFailure)") }
    }

    /// Ends spares for good, reporting `reason` (the writer could not use one).
    func turnOff(reason: String) {
        state.withLock { $0.phase = .off }
        onWarning(reason)
    }

    /// Whether a spare is ready to take.
    var isReady: Bool {
        state.withLock { state in
            if case .ready = state.phase { return true }
            return false
        }
    }

    /// The ready spare, now the caller's (`OpenSegment.adopt` links it in and keeps its descriptor), or nil.
    func take() -> SpareFile? {
        state.withLock { state in
            guard case .ready(let spare) = state.phase else { return nil }
            state.phase = .idle
            return spare
        }
    }

    /// Stops the thread (a spare being made is abandoned) and deletes the spare file.
    func close() {
        let (thread, ready) = state.withLock { state -> (JoinableThread?, SpareFile?) in
            state.closing = true
            var ready: SpareFile?
            if case .ready(let spare) = state.phase {
                ready = spare
                state.phase = .idle
            }
            let thread = state.thread
            state.thread = nil
            return (thread, ready)
        }
        if let thread {
            wake.signal()
            thread.join()
        }
        if let ready { _ = Glibc.close(ready.fd) }
        _ = unlink(path)  // best effort: the next start deletes a leftover spare anyway
    }

    // MARK: - The preparing thread

    private func run() {
        while true {
            let next = state.withLock { state -> Bool? in
                if state.closing { return nil }
                guard case .requested = state.phase else { return false }
                state.phase = .preparing
                return true
            }
            guard let next else { return }
            guard next else {
                wake.wait()
                continue
            }
            guard hasRoomForSpare() else {
                state.withLock { state in if case .preparing = state.phase { state.phase = .idle } }
                continue
            }
            do {
                let spare = try prepare()
                let keep = state.withLock { state -> Bool in
                    guard !state.closing, case .preparing = state.phase else { return false }  // closed, or off
                    state.phase = .ready(spare)
                    return true
                }
                if !keep {
                    _ = Glibc.close(spare.fd)
                    _ = unlink(path)
                }
            } catch is Cancelled {
                return
            } catch {
                state.withLock { $0.phase = .off }
                onWarning("could not prepare a spare journal segment, filling in line from now on: \(error)")
                return
            }
        }
    }

    /// Whether the file system has room for a spare and, besides it, `reserveBytes` or 5/4 of
    /// the newest snapshot, whichever is more (as an unprivileged process sees it). If it cannot
    /// tell, no. Counts the declines.
    private func hasRoomForSpare() -> Bool {
        var info = statvfs()
        let snapshotBytes = UInt64(max(0, DataDirectoryUsage.measure(directory: directory).snapshotBytes))
        let reserve = max(UInt64(sizes.reserveBytes), snapshotBytes / 4 * 5)
        var room = false
        if statvfs(directory, &info) == 0 {
            let free = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
            room = free.overflow || free.partialValue >= UInt64(sizes.byteCount) + reserve
        }
        if !room { declines.add(1, ordering: .relaxed) }
        return room
    }

    /// Creates the spare afresh, writes its zeros a piece at a time, each written out to the
    /// device before the next, then fdatasyncs it (size, allocation and the device's cache), and
    /// returns it open. On any error (or `close`) the file is closed and deleted before the error
    /// is thrown.
    private func prepare() throws -> SpareFile {
        _ = unlink(path)  // a spare abandoned by this process; recreate it from nothing
        let fd = try POSIXFile.createExclusive(path)
        do {
            let zeros = [UInt8](repeating: 0, count: sizes.pieceBytes)
            var offset = 0
            while offset < sizes.byteCount {
                if state.withLock({ $0.closing }) { throw Cancelled() }
                let count = min(sizes.pieceBytes, sizes.byteCount - offset)
                try POSIXFile.pwriteAll(fd, zeros[..<count], at: offset, path: path)
                try POSIXFile.writeOut(fd, offset: offset, count: count, path: path)
                offset += count
            }
            try POSIXFile.dataSync(fd, path: path)
        } catch {
            _ = Glibc.close(fd)
            _ = unlink(path)
            throw error
        }
        return SpareFile(fd: fd, byteCount: sizes.byteCount)
    }
}
