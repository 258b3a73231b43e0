// SpareSegment: the next segment file, zero-filled and synced ahead of need on its own thread.

import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// When spare segment files are made, and how big. Public so that tests can make them small.
public struct SpareSegmentSizes: Sendable {
    /// Zeros in one spare: the filled space a segment rolled over to starts with. 32 MiB is
    /// about three seconds of records at the engine's peak rate.
    public var byteCount: Int
    /// Bytes the segment being written must have taken before the writer asks for a spare, so
    /// that a quiet daemon (or a test) never makes one.
    public var requestAfterBytes: Int
    /// Zeros written to the device at a time while a spare is prepared (`sync_file_range`,
    /// without a cache flush), so that a journal fdatasync, which replies wait for, never
    /// queues behind much of it; one fdatasync at the end makes the whole spare durable.
    public var pieceBytes: Int

    public init(byteCount: Int, requestAfterBytes: Int, pieceBytes: Int) {
        precondition(byteCount > 0 && pieceBytes > 0 && requestAfterBytes >= 0, "spare sizes must be positive")
        self.byteCount = byteCount
        self.requestAfterBytes = requestAfterBytes
        self.pieceBytes = pieceBytes
    }

    /// What the daemon uses.
    public static let standard = SpareSegmentSizes(byteCount: 32 << 20, requestAfterBytes: 2 << 20, pieceBytes: 128 << 10)
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
/// The writer asks for a spare (`request`) once its segment has taken `requestAfterBytes`, and
/// takes it (`take`) when the segment runs out of filled space or a snapshot starts a new one.
/// The thread starts with the first request. A failure to make a spare (a full disk, say)
/// deletes the file, is reported through `onWarning`, and ends spares for this writer: the
/// writer fills in line as before, and a real shortage of space then fails there, fatally.
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
    let path: String
    private let onWarning: @Sendable (String) -> Void
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    init(directory: String, sizes: SpareSegmentSizes, onWarning: @escaping @Sendable (String) -> Void) {
        self.sizes = sizes
        self.path = POSIXFile.join(directory, Self.fileName)
        self.onWarning = onWarning
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
                state.thread = try JoinableThread.start(name: Self.threadName) { [self] in run() }
                return (true, nil)
            } catch {
                state.phase = .off
                return (false, error)
            }
        }
        if signal { wake.signal() }
        if let startFailure { onWarning("no spare journal segments: \(startFailure)") }
    }

    /// Whether a spare is ready to take.
    var isReady: Bool {
        state.withLock { state in
            if case .ready = state.phase { return true }
            return false
        }
    }

    /// The ready spare, now the caller's (it must rename it and close its descriptor), or nil.
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
            do {
                let spare = try prepare()
                let keep = state.withLock { state -> Bool in
                    guard !state.closing else { return false }
                    state.phase = .ready(spare)
                    return true
                }
                if !keep { _ = Glibc.close(spare.fd) }
            } catch is Cancelled {
                return
            } catch {
                state.withLock { $0.phase = .off }
                onWarning("could not prepare a spare journal segment, filling in line from now on: \(error)")
                return
            }
        }
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
