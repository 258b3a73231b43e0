// Fuzzes SnapshotCodec.decode: any bytes must throw DecodeError or decode, never trap; whatever
// decodes must round-trip through the encoder, and restoring a ledger from it and auditing that
// ledger must not trap either (a damaged state may have audit problems: reporting them is the
// audit's job, trapping is a bug).

@_spi(Fuzzing) import CreditCore
import CreditJournal
import FuzzSupport
import LibFuzzer

@_cdecl("FuzzSnapshotDecoder_main")
func fuzzSnapshotDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        checkSnapshotDecoding(fuzzInput(data, size))
        // Nothing of this input's ledgers is left: what their histories appended goes too, or
        // the history arena (never freed in the daemon) would grow with every input.
        ActivityLog.discardAllHistories()
        return 0
    }
}

/// `state` without the holds a restored ledger forgets at once: from the lowest number up, each
/// ended hold whose deadline is a ref window before the last instant, up to the first that is not
/// (PROTOCOL.md §13). Restoring changes nothing else.
func dueHoldsForgotten(_ state: LedgerState) -> LedgerState {
    var expected = state
    // Nothing is a window older than an instant near the bottom of the range.
    let (difference, overflow) = state.lastAt.millis.subtractingReportingOverflow(fuzzPolicy.refWindow.value * 1000)
    let cutoff = overflow ? Int64.min : difference
    for hold in state.holds.values {
        guard hold.state != .pending, hold.deadline.millis <= cutoff else { break }
        expected.holds.removeValue(forKey: hold.id)
    }
    return expected
}

/// One input: decode, round-trip, restore, audit.
func checkSnapshotDecoding(_ bytes: [UInt8]) {
    guard case .success(let state) = decodeSnapshot(bytes) else { return }
    let encoded = SnapshotCodec.encode(state)
    precondition(decodeSnapshot(encoded) == .success(state), "a decoded snapshot does not survive re-encoding")
    // Credits and holds may come in any order, so only the encoder's output is canonical.
    precondition(SnapshotCodec.encode(state) == encoded, "encoding the same state twice differs")
    let ledger = Ledger(policy: fuzzPolicy, state: state)
    precondition(ledger.canonicalState == dueHoldsForgotten(state), "restoring a ledger changed more than its due holds")
    precondition(ledger.creditCount == state.credits.count, "restoring lost credits")
    _ = ledger.auditProblems
    _ = ledger.nextDeadline
}

/// The decoder's answer as a value, so answers can be compared.
func decodeSnapshot(_ body: [UInt8]) -> Result<LedgerState, DecodeError> {
    do throws(DecodeError) {
        return .success(try SnapshotCodec.decode(body, currencies: fuzzCurrencies))
    } catch {
        return .failure(error)
    }
}
