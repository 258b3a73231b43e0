// HistoryArena: where every credit's history lies, one activity after another, never moved or freed.

import Glibc
import Synchronization

/// The bytes of every history's activities, appended at one end of a run of 1 MiB blocks and kept
/// for the life of the process (`ActivityLog` is a credit's handle into it).
///
/// Why one arena and not an array per history: a million gift cards each had a history array, a
/// 32-byte header and a malloc chunk apiece, regrown as activities arrived, and the arrays they
/// outgrew left gaps between the ones still alive that malloc could not hand back (1M cards with
/// their refs aged out: 129.5 MB of live histories, and about 140 MB resident beyond the whole
/// live heap, binary and libraries included). Here an activity costs its packed bytes and a
/// 5-byte link to the one before it, appending writes where the last append stopped (memory that
/// is already in cache), and nothing is freed, so nothing fragments: the same ledger now takes
/// about 50 MB less (BENCHMARKS.md). Histories are kept forever anyway: no credit is ever deleted.
///
/// What it costs: bytes appended by a ledger that is then dropped (a test's, or a ledger decoded
/// from a snapshot that turned out damaged) stay in the arena unreachable until the process ends.
/// The daemon drops no ledger it appended to (it appends only to its own, and to the one it
/// recovers, which becomes its own). A tool that decodes ledger after ledger for hours (the
/// snapshot fuzz target) calls `discardAll()` between them (`ActivityLog.discardAllHistories()`).
///
/// Threads: appends take a lock (uncontended in the daemon, where one thread changes the ledger).
/// Reads take none: a reader only follows handles it received from the appending thread through
/// some synchronization (a queue, a lock, a thread's start), so the bytes and the block they lie in
/// were written before; and appends never touch bytes already written.
final class HistoryArena: @unchecked Sendable {
    /// The arena every `ActivityLog` uses.
    static let shared = HistoryArena()

    /// Bytes of one block: an offset's low 20 bits.
    static let blockBytes = 1 << 20
    /// Blocks at most: with 40-bit offsets (`ActivityLog`'s 5-byte links), 1 TiB of history.
    static let blockCountMax = 1 << 20

    /// The blocks, by number; nil past the last made. Mapped from the kernel zeroed, so its pages
    /// (8 MiB in all) are resident only as blocks come to need them.
    private let blocks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Where the next append goes.
    private let tail: Mutex<Tail>

    private struct Tail {
        /// The block being filled, by number.
        var block: Int
        /// Bytes of it used.
        var used: Int
    }

    private init() {
        let bytes = HistoryArena.blockCountMax * MemoryLayout<UnsafeMutableRawPointer?>.stride
        blocks = HistoryArena.map(bytes)
            .bindMemory(to: UnsafeMutableRawPointer?.self, capacity: HistoryArena.blockCountMax)
        blocks[0] = HistoryArena.map(HistoryArena.blockBytes)
        // Offset 0 is no activity (an empty history's handle): the first byte is never handed out.
        tail = Mutex(Tail(block: 0, used: 1))
    }

    /// Appends at most `bytesMax` bytes that `write` writes into the buffer it is given (of at least
    /// that size) and counts; returns the offset of the first. `bytesMax` is at most a block.
    func append(bytesMax: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) -> UInt64 {
        precondition(bytesMax > 0 && bytesMax <= HistoryArena.blockBytes, "an activity fits in a block")
        return tail.withLock { tail in
            if HistoryArena.blockBytes - tail.used < bytesMax {
                precondition(tail.block + 1 < HistoryArena.blockCountMax, "history arena full (1 TiB)")
                tail.block += 1
                blocks[tail.block] = HistoryArena.map(HistoryArena.blockBytes)
                tail.used = 0
            }
            let start = blocks[tail.block]! + tail.used
            let written = write(UnsafeMutableRawBufferPointer(start: start, count: bytesMax))
            precondition(written > 0 && written <= bytesMax, "an append writes what it counted")
            let offset = UInt64(tail.block) << 20 | UInt64(tail.used)
            tail.used += written
            return offset
        }
    }

    /// The bytes from `offset` to the end of its block (what was appended there, and maybe more).
    func bytes(at offset: UInt64) -> UnsafeRawBufferPointer {
        let within = Int(offset & UInt64(HistoryArena.blockBytes - 1))
        let block = Int(offset >> 20)
        precondition(offset != 0 && block < HistoryArena.blockCountMax, "an offset the arena handed out")
        return UnsafeRawBufferPointer(start: blocks[block]! + within, count: HistoryArena.blockBytes - within)
    }

    /// Forgets every activity appended so far: the blocks after the first are unmapped, and
    /// appends start again at the first's start. Every handle handed out before is invalid after
    /// it (reading one reads other bytes, or traps); only for a single-threaded tool that keeps no
    /// ledger across the call.
    func discardAll() {
        tail.withLock { tail in
            if tail.block > 0 {
                for block in 1...tail.block {
                    munmap(blocks[block], HistoryArena.blockBytes)
                    blocks[block] = nil
                }
            }
            tail = Tail(block: 0, used: 1)
        }
    }

    /// Zeroed memory of `bytes` bytes straight from the kernel (its pages mapped as first written).
    private static func map(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            preconditionFailure("cannot map \(bytes) bytes for histories: errno \(errno)")
        }
        return memory
    }
}
