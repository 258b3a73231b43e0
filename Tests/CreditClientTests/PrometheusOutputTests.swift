// Proves `creditctl stats --prometheus` prints valid Prometheus text exposition: every sample line is `name{labels} value` with a valid name, labels and number, every metric family has one HELP and one TYPE before its samples, histograms have cumulative buckets ending in +Inf that equal _count, and the values are the daemon's counters.

@testable import CreditTestSupport
import Foundation
import Testing

/// A sample line split into its parts.
private struct Sample {
    let name: String
    let labels: [String: String]
    let value: Double
}

/// What the checker found wrong, one message per problem.
private struct ExpositionCheck {
    var samples: [Sample] = []
    var problems: [String] = []
    var types: [String: String] = [:]
}

private func isMetricName(_ name: Substring) -> Bool {
    guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
    return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
}

private func isLabelName(_ name: Substring) -> Bool {
    guard let first = name.first, first.isLetter || first == "_" else { return false }
    return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }
}

/// Parses `{a="x",b="y"}` (no escapes needed by creditd's labels; a backslash is reported).
private func parseLabels(_ text: Substring, into check: inout ExpositionCheck, line: String) -> [String: String]? {
    var labels: [String: String] = [:]
    guard text.hasPrefix("{"), text.hasSuffix("}") else { return nil }
    for pair in text.dropFirst().dropLast().split(separator: ",") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, isLabelName(parts[0]), parts[1].count >= 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\""),
              !parts[1].contains("\\") else {
            check.problems.append("bad label \(pair) in: \(line)")
            return nil
        }
        labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
    }
    return labels
}

/// The base family of a sample name: histogram samples belong to the family without the suffix.
private func family(of name: String, types: [String: String]) -> String {
    for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
        let base = String(name.dropLast(suffix.count))
        if types[base] == "histogram" { return base }
    }
    return name
}

/// Checks the text format rules creditd's output must follow.
private func checkExposition(_ text: String) -> ExpositionCheck {
    var check = ExpositionCheck()
    var helps: Set<String> = []
    #expect(text.hasSuffix("\n"))
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) {
        let words = line.split(separator: " ", maxSplits: 3)
        if line.hasPrefix("# HELP ") {
            guard words.count == 4, isMetricName(words[2]), helps.insert(String(words[2])).inserted else {
                check.problems.append("bad or repeated HELP: \(line)"); continue
            }
        } else if line.hasPrefix("# TYPE ") {
            guard words.count == 4, isMetricName(words[2]), check.types[String(words[2])] == nil,
                  ["counter", "gauge", "histogram", "summary", "untyped"].contains(words[3]) else {
                check.problems.append("bad or repeated TYPE: \(line)"); continue
            }
            check.types[String(words[2])] = String(words[3])
        } else {
            let space = line.lastIndex(of: " ") ?? line.startIndex
            let series = line[..<space]
            let nameEnd = series.firstIndex(of: "{") ?? series.endIndex
            let name = series[..<nameEnd]
            guard isMetricName(name), let value = Double(line[line.index(after: space)...]),
                  let labels = nameEnd == series.endIndex ? [:] : parseLabels(series[nameEnd...], into: &check, line: line) else {
                check.problems.append("not `name{labels} value`: \(line)"); continue
            }
            let base = family(of: String(name), types: check.types)
            if check.types[base] == nil || !helps.contains(base) { check.problems.append("no HELP/TYPE before: \(line)") }
            if base.hasSuffix("_total") && check.types[base] != "counter" { check.problems.append("_total not a counter: \(line)") }
            check.samples.append(Sample(name: String(name), labels: labels, value: value))
        }
    }
    return check
}

@Test func statsPrometheusOutputParsesAndCarriesTheCounters() throws {
    let daemon = try Daemon()
    let admin = try daemon.client(as: "dev-admin")
    _ = try admin.send(line: "ISSUE type=gift amount=10.00 currency=AUD ref=prom-1")
    _ = try admin.send(line: "BALANCE credit=cr_404")
    let result = try daemon.ctl(["stats", "--prometheus"])
    #expect(result.status == 0, "\(result.stderr)")
    let check = checkExposition(result.stdout)
    #expect(check.problems.isEmpty, "\(check.problems)")
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        check.samples.first { $0.name == name && $0.labels == labels }?.value
    }
    #expect(value("creditd_requests_total", ["verb": "ISSUE"]) == 1)
    #expect(value("creditd_errors_total", ["code": "NOT_FOUND"]) == 1)
    #expect(value("creditd_request_errors_total", ["verb": "BALANCE"]) == 1)
    #expect(value("creditd_credits") == 1 && value("creditd_pending_holds") == 0)
    #expect(value("creditd_connections") == 2, "this test's connection and creditctl's")
    #expect(check.types["creditd_request_latency_seconds"] == "histogram")
    #expect((value("creditd_journal_disk_bytes") ?? 0) > 0)
    // The ISSUE's latency histogram: cumulative, ending in +Inf, which equals _count.
    let buckets = check.samples.filter { $0.name == "creditd_request_latency_seconds_bucket" && $0.labels["verb"] == "ISSUE" }
    #expect(buckets.count == 16 && buckets.last?.labels["le"] == "+Inf")
    #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value })
    #expect(buckets.dropLast().allSatisfy { Double($0.labels["le"]!) != nil })
    #expect(buckets.last?.value == 1 && value("creditd_request_latency_seconds_count", ["verb": "ISSUE"]) == 1)
    #expect((value("creditd_request_latency_seconds_sum", ["verb": "ISSUE"]) ?? 0) > 0)

    #expect(try daemon.ctl(["balance", "credit=cr_1", "--prometheus"]).status == 2, "--prometheus is for stats only")
}
