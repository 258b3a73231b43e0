// Engine+Stats: the STATS reply — one item per verb and per error code, then the scalar counters.

import CreditCore
import CreditJournal

extension Engine {
    /// The STATS reply (PROTOCOL.md §16): an item line per verb slot with its request count,
    /// errors and latency histogram, an item line per error code, then the daemon-wide counters.
    /// Built only when STATS is asked for, so its allocations cost the hot path nothing.
    func statsReply() -> Reply {
        var items = (0..<RequestStats.verbSlotCount).map(verbItem)
        items += RequestStats.errorCodes.enumerated().map { position, code in
            [Field("error", code.rawValue), Field("count", String(stats.errorsByCode[position]))]
        }
        return Reply(items: items, fields: counterFields() + journalFields())
    }

    private func verbItem(_ slot: Int) -> [Field] {
        [
            Field("verb", RequestStats.verbName(slot)),
            Field("requests", String(stats.requests[slot])),
            Field("errors", String(stats.errorsByVerb[slot])),
            Field("latency_p50_us", String(stats.latencyPercentileMicros(verb: slot, percent: 50))),
            Field("latency_p99_us", String(stats.latencyPercentileMicros(verb: slot, percent: 99))),
            Field("latency_sum_us", String(stats.latencySumMicros[slot])),
            Field("latency_buckets", stats.buckets(verb: slot).map(String.init).joined(separator: ",")),
        ]
    }

    private func counterFields() -> [Field] {
        [
            Field("connections", String(counters.connectionsOpen)),
            Field("connections_total", String(counters.connectionsTotal)),
            Field("connections_refused", String(counters.connectionsRefused)),
            Field("tls_handshakes", String(counters.tlsHandshakes)),
            Field("tls_handshake_failures", String(counters.tlsHandshakeFailures)),
            Field("requests", String(counters.requests)), Field("errors", String(counters.errors)),
            Field("credits", String(ledger.creditCount)), Field("pending_holds", String(ledger.pendingHoldCount)),
            Field("refs", String(ledger.refCount)),
            Field("latency_bounds_us", RequestStats.latencyBoundsMicros.map(String.init).joined(separator: ",")),
        ]
    }

    private func journalFields() -> [Field] {
        let usage = DataDirectoryUsage.measure(directory: snapshotter.directory)
        let records = appliedLSN - startLSN
        let fsyncs = journal.fsyncCount
        let snapshotAge = usage.snapshotLSN == nil ? 0 : max(0, Instant.wallClock().millis / 1000 - usage.snapshotModifiedSeconds)
        return [
            Field("journal_lsn", String(appliedLSN)), Field("durable_lsn", String(journal.durableLSN)),
            Field("journal_records", String(records)),
            Field("journal_bytes", String(journal.bytesWritten)), Field("fsyncs", String(fsyncs)),
            Field("ops_per_fsync", Self.ratio(records, fsyncs)),
            Field("journal_segments", String(usage.segmentCount)), Field("journal_disk_bytes", String(usage.segmentBytes + usage.spareBytes)),
            Field("snapshots", String(snapshotter.completed)),
            Field("snapshot_lsn", String(usage.snapshotLSN ?? 0)), Field("snapshot_bytes", String(usage.snapshotBytes)),
            Field("snapshot_spare_bytes", String(usage.snapshotSpareBytes)),
            Field("snapshot_age_seconds", String(snapshotAge)),
            Field("uptime_seconds", String((monotonicMillis() - startedMillis) / 1000)),
        ]
    }

    /// `numerator / denominator` with two decimals, `0.00` when the denominator is zero.
    static func ratio(_ numerator: UInt64, _ denominator: Int) -> String {
        guard denominator > 0 else { return "0.00" }
        let hundredths = numerator * 100 / UInt64(denominator)
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
