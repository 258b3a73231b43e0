// PipelinedReplay: start-up replay on two cores: one thread reads, checks and decodes records
// while the caller applies the ones already decoded.

import CreditCore
import Dispatch
import Synchronization

extension JournalRecovery {
    /// Records decoded per hand-over between the two threads.
    static let pipelineBatchCount = 2048

    /// Batches decoded ahead of the caller at most (bounds the memory of a slow apply).
    static let pipelineBatchesAhead = 8

    /// How many records before its `apply` a record is handed to `lookAhead`. Applying a record of
    /// a large ledger takes over a microsecond, several cache misses' time.
    public static let lookAheadRecords = 4

    /// How many records before its `apply` a record is handed to `lookAheadAgain`: fewer than
    /// `lookAheadRecords`, so that what `lookAhead` asked for has arrived.
    public static let lookAheadAgainRecords = 2

    /// `replay` with decoding moved to a second thread: a thread started here scans the journal
    /// (reading, CRC and continuity checks, torn-tail repair) and calls `decode(lsn, body)` on
    /// each record, while the calling thread calls `apply` on the decoded records, in LSN order
    /// (`inout` only so that a record is not copied to be lent: `apply` need not change it).
    /// `lookAhead` is called on each record `lookAheadRecords` records before `apply` (within a
    /// batch of `pipelineBatchCount`: the first few of a batch see it just before), to prefetch
    /// what applying it will read; `lookAheadAgain` `lookAheadAgainRecords` before, to prefetch
    /// what that refers to.
    /// Decoding was about half of replay, and the two halves now run on two cores.
    ///
    /// Same checks, same report and same errors as `replay`: if scanning or `decode` throws at a
    /// record, every record before it is applied first, then the error is thrown here (and, as
    /// with `replay`, nothing on disk was changed).
    ///
    /// Compiled for the daemon's `PreparedEntry` here: left generic, the decoding thread looked up
    /// its arrays' type metadata at run time for every record appended.
    @_specialize(exported: true, where Decoded == PreparedEntry)
    public static func replayPipelined<Decoded: Sendable>(
        directory: String,
        afterLSN: UInt64,
        repair: Bool = true,
        decode: @escaping @Sendable (UInt64, UnsafeRawBufferPointer) throws -> Decoded,
        lookAhead: (inout Decoded) -> Void = { _ in },
        lookAheadAgain: (inout Decoded) -> Void = { _ in },
        apply: (inout Decoded) -> Void
    ) throws -> RecoveryReport {
        let pipe = DecodedPipe<Decoded>(batchesAhead: pipelineBatchesAhead)
        let producer = try JoinableThread.start(name: "replay-decode") {
            var batch: [Decoded] = []
            batch.reserveCapacity(pipelineBatchCount)
            let outcome: Result<RecoveryReport, any Error>
            do {
                let report = try replay(directory: directory, afterLSN: afterLSN, repair: repair) { lsn, body in
                    batch.append(try decode(lsn, body))
                    if batch.count == pipelineBatchCount {
                        pipe.send(.batch(takeBatch(&batch)))
                        pipe.dropSpent()
                    }
                }
                outcome = .success(report)
            } catch {
                outcome = .failure(error)
            }
            if !batch.isEmpty { pipe.send(.batch(takeBatch(&batch))) }  // what came before a failure is applied first
            pipe.send(.finished(outcome))
        }
        defer { producer.join() }
        while true {
            switch pipe.receive() {
            case .batch(var decoded):
                // Each record is lent to `apply` where it lies, as an `inout` argument: that
                // passes its address. Passed by value, even from a buffer pointer, this generic
                // code copied every record (retaining each of its strings and arrays, which the
                // decoding thread's core had just written) and destroyed the copy after: 6% of
                // the applying thread.
                decoded.withUnsafeMutableBufferPointer { records in
                    for index in records.indices.prefix(lookAheadRecords) { lookAhead(&records[index]) }
                    for index in records.indices.prefix(lookAheadAgainRecords) { lookAheadAgain(&records[index]) }
                    for index in records.indices {
                        if index + lookAheadRecords < records.count { lookAhead(&records[index + lookAheadRecords]) }
                        if index + lookAheadAgainRecords < records.count {
                            lookAheadAgain(&records[index + lookAheadAgainRecords])
                        }
                        apply(&records[index])
                    }
                }
                pipe.returnSpent(consume decoded)
            case .finished(let outcome): return try outcome.get()
            }
        }
    }
}

/// Hands over `batch`'s records, leaving it empty with room for a whole batch. Moved out, not
/// copied: a batch the decoding thread still referred to when the applying thread took it was not
/// uniquely referenced, and lending its records `inout` would have copied all of them first.
private func takeBatch<Decoded>(_ batch: inout [Decoded]) -> [Decoded] {
    var next: [Decoded] = []
    next.reserveCapacity(JournalRecovery.pipelineBatchCount)
    swap(&next, &batch)
    return next
}

/// What the decoding thread hands the applying one.
private enum DecodedMessage<Decoded: Sendable>: Sendable {
    /// Records decoded, in LSN order.
    case batch([Decoded])
    /// The scan ended: its report, or the error that stopped it. Always the last message.
    case finished(Result<RecoveryReport, any Error>)
}

/// A bounded single-producer, single-consumer queue of messages.
private final class DecodedPipe<Decoded: Sendable>: Sendable {
    private let messages = Mutex<[DecodedMessage<Decoded>]>([])
    /// Signalled once per message sent.
    private let sent = DispatchSemaphore(value: 0)
    /// Counts the free places: `send` waits while `batchesAhead` messages are unreceived.
    private let freePlaces: DispatchSemaphore

    init(batchesAhead: Int) {
        freePlaces = DispatchSemaphore(value: batchesAhead)
    }

    /// Queues a message, waiting while the queue is full.
    func send(_ message: DecodedMessage<Decoded>) {
        freePlaces.wait()
        messages.withLock { $0.append(message) }
        sent.signal()
    }

    /// Batches the caller has applied, waiting for the decoding thread to free them.
    private let spent = Mutex<[[Decoded]]>([])

    /// Hands an applied batch back, so that what the decoding thread allocated is freed there
    /// too: freeing it on the applying thread made the two threads contend for one malloc arena,
    /// and that cost the applying thread (replay's bottleneck) more than the freeing itself.
    func returnSpent(_ batch: [Decoded]) {
        spent.withLock { $0.append(batch) }
    }

    /// Frees the batches handed back so far (on the calling thread, the decoding one).
    func dropSpent() {
        let batches = spent.withLock { spent -> [[Decoded]] in
            defer { spent.removeAll(keepingCapacity: true) }
            return spent
        }
        _ = consume batches
    }

    /// Takes the oldest message, waiting for one.
    func receive() -> DecodedMessage<Decoded> {
        sent.wait()
        let message = messages.withLock { $0.removeFirst() }
        freePlaces.signal()
        return message
    }
}
