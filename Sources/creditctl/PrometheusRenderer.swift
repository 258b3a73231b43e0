// Renders a STATS reply in the Prometheus text exposition format, for node_exporter's textfile collector.

import CreditClient

/// `creditctl stats --prometheus`: STATS (PROTOCOL.md §16) as Prometheus text format 0.0.4 —
/// `# HELP` and `# TYPE` once per metric family, then `name{labels} value` lines. Per-verb
/// counts and latency become a histogram labelled by verb, per-code errors a counter labelled
/// by code, and each daemon-wide field a counter or gauge. Fields it does not know are skipped,
/// so a newer daemon does not break an older creditctl.
enum PrometheusRenderer {
    /// One scalar STATS field and the metric it becomes.
    struct Scalar {
        let field: String
        let name: String
        let type: String
        let help: String
    }

    /// The OK-line fields exported, in output order.
    static let scalars: [Scalar] = [
        Scalar(field: "connections", name: "creditd_connections", type: "gauge", help: "Client connections open now."),
        Scalar(field: "connections_total", name: "creditd_connections_accepted_total", type: "counter", help: "Connections accepted since start."),
        Scalar(field: "connections_refused", name: "creditd_connections_refused_total", type: "counter", help: "Connections refused with ERR BUSY since start."),
        Scalar(field: "requests", name: "creditd_request_lines_total", type: "counter", help: "Request lines handled since start."),
        Scalar(field: "errors", name: "creditd_error_replies_total", type: "counter", help: "ERR replies sent since start."),
        Scalar(field: "credits", name: "creditd_credits", type: "gauge", help: "Credits in the ledger, any status."),
        Scalar(field: "pending_holds", name: "creditd_pending_holds", type: "gauge", help: "Holds pending now."),
        Scalar(field: "refs", name: "creditd_refs", type: "gauge", help: "Refs remembered for idempotent replay."),
        Scalar(field: "journal_lsn", name: "creditd_journal_lsn", type: "gauge", help: "LSN of the last journal record applied."),
        Scalar(field: "durable_lsn", name: "creditd_durable_lsn", type: "gauge", help: "Highest journal LSN known to be fsync'd."),
        Scalar(field: "journal_records", name: "creditd_journal_records_total", type: "counter", help: "Journal records appended since start."),
        Scalar(field: "journal_bytes", name: "creditd_journal_written_bytes_total", type: "counter", help: "Bytes written to journal segments since start."),
        Scalar(field: "fsyncs", name: "creditd_fsyncs_total", type: "counter", help: "Journal fdatasync calls since start."),
        Scalar(field: "ops_per_fsync", name: "creditd_records_per_fsync", type: "gauge", help: "Journal records per fdatasync since start (group commit)."),
        Scalar(field: "journal_segments", name: "creditd_journal_segments", type: "gauge", help: "Journal segment files on disk."),
        Scalar(field: "journal_disk_bytes", name: "creditd_journal_disk_bytes", type: "gauge", help: "Bytes in journal segment files on disk."),
        Scalar(field: "snapshots", name: "creditd_snapshots_total", type: "counter", help: "Snapshots written since start."),
        Scalar(field: "snapshot_lsn", name: "creditd_snapshot_lsn", type: "gauge", help: "LSN covered by the newest snapshot (0: none)."),
        Scalar(field: "snapshot_bytes", name: "creditd_snapshot_bytes", type: "gauge", help: "Bytes in the newest snapshot file."),
        Scalar(field: "snapshot_spare_bytes", name: "creditd_snapshot_spare_bytes", type: "gauge", help: "Bytes in the retired snapshot file the next snapshot is written over (0: none)."),
        Scalar(field: "snapshot_age_seconds", name: "creditd_snapshot_age_seconds", type: "gauge", help: "Seconds since the newest snapshot was written (0: none)."),
        Scalar(field: "uptime_seconds", name: "creditd_uptime_seconds", type: "gauge", help: "Seconds since the daemon started."),
    ]

    /// The whole exposition text for a STATS reply, ending in a newline.
    static func render(_ reply: Reply) -> String {
        guard let fields = reply.fields else { return "" }
        var lines: [String] = []
        let verbs = reply.items.filter { $0["verb"] != nil }
        let codes = reply.items.filter { $0["error"] != nil }
        family(&lines, "creditd_requests_total", "counter", "Requests handled per verb since start.")
        for item in verbs { lines.append("creditd_requests_total{verb=\(label(item["verb"]!))} \(item["requests"] ?? "0")") }
        family(&lines, "creditd_request_errors_total", "counter", "ERR replies per verb since start.")
        for item in verbs { lines.append("creditd_request_errors_total{verb=\(label(item["verb"]!))} \(item["errors"] ?? "0")") }
        family(&lines, "creditd_errors_total", "counter", "ERR replies per error code since start.")
        for item in codes { lines.append("creditd_errors_total{code=\(label(item["error"]!))} \(item["count"] ?? "0")") }
        histogram(&lines, verbs, bounds: (fields["latency_bounds_us"] ?? "").split(separator: ",").compactMap { Int64($0) })
        for scalar in scalars {
            guard let value = fields[scalar.field] else { continue }
            family(&lines, scalar.name, scalar.type, scalar.help)
            lines.append("\(scalar.name) \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The latency histogram: cumulative `_bucket` lines per verb, then `_sum` and `_count`.
    private static func histogram(_ lines: inout [String], _ verbs: [Fields], bounds: [Int64]) {
        let name = "creditd_request_latency_seconds"
        family(&lines, name, "histogram",
               "Time from reading a request to releasing its reply once durable, per verb.")
        for item in verbs {
            let verb = label(item["verb"]!)
            let counts = (item["latency_buckets"] ?? "").split(separator: ",").compactMap { Int($0) }
            guard counts.count == bounds.count + 1 else { continue }
            var cumulative = 0
            for (index, count) in counts.enumerated() {
                cumulative += count
                let bound = index < bounds.count ? seconds(micros: bounds[index]) : "+Inf"
                lines.append("\(name)_bucket{verb=\(verb),le=\"\(bound)\"} \(cumulative)")
            }
            lines.append("\(name)_sum{verb=\(verb)} \(seconds(micros: Int64(item["latency_sum_us"] ?? "0") ?? 0))")
            lines.append("\(name)_count{verb=\(verb)} \(cumulative)")
        }
    }

    private static func family(_ lines: inout [String], _ name: String, _ type: String, _ help: String) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) \(type)")
    }

    /// Microseconds as an exact decimal number of seconds: 2500 → `0.0025`.
    static func seconds(micros: Int64) -> String {
        let whole = micros / 1_000_000
        var fraction = String(micros % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? String(whole) : "\(whole).\(fraction)"
    }

    /// A label value in double quotes, with backslash, quote and newline escaped.
    static func label(_ value: String) -> String {
        var out = "\""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
