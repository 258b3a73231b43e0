// Proves the small pieces behind STATS, the request log and backups compute exactly: latency buckets and percentiles, records per fsync, digit-run masking, and the MANIFEST's text round trip and refusals.

@testable import CreditServer
import CreditCore
import Testing

@Test func latencyBucketsAndPercentilesAreBucketBounds() {
    let stats = RequestStats()
    let hold = 8
    #expect(stats.latencyPercentileMicros(verb: hold, percent: 99) == 0, "nothing counted yet")
    for micros: Int64 in [10, 50, 51, 400, 400, 400, 400, 400, 400, 9_000_000] { stats.noteLatency(verb: hold, micros: micros) }
    let buckets = Array(stats.buckets(verb: hold))
    #expect(buckets.count == RequestStats.latencyBoundsMicros.count + 1)
    #expect(buckets[0] == 2, "10 and 50 are within the first bound, inclusive")
    #expect(buckets[1] == 1 && buckets[3] == 6 && buckets.last == 1)
    #expect(stats.latencyPercentileMicros(verb: hold, percent: 50) == 500)
    #expect(stats.latencyPercentileMicros(verb: hold, percent: 99) == 2_500_000, "the open bucket reports the last bound")
    #expect(stats.latencySumMicros[hold] == 9_002_511)
    #expect(stats.buckets(verb: hold + 1).allSatisfy { $0 == 0 }, "verbs do not share buckets")
}

@Test func errorsAreCountedPerCodeAndPerVerb() {
    let stats = RequestStats()
    stats.noteError(.declined, verb: 5)
    stats.noteError(.declined, verb: RequestStats.unknownVerbSlot)
    stats.noteError(.internal, verb: 5)
    #expect(stats.errorsByCode[RequestStats.errorCodes.firstIndex(of: .declined)!] == 2)
    #expect(stats.errorsByCode.last == 1 && RequestStats.errorCodes.last == .internal)
    #expect(stats.errorsByVerb[5] == 2 && stats.errorsByVerb[RequestStats.unknownVerbSlot] == 1)
    #expect(RequestStats.verbName(RequestStats.unknownVerbSlot) == "UNKNOWN" && RequestStats.verbName(0) == "AUTH")
}

@Test func recordsPerFsyncHasTwoDecimals() {
    #expect(Engine.ratio(0, 0) == "0.00")
    #expect(Engine.ratio(7, 2) == "3.50")
    #expect(Engine.ratio(1, 3) == "0.33")
    #expect(Engine.ratio(100, 1) == "100.00")
    #expect(Engine.ratio(101, 100) == "1.01")
}

@Test func longDigitRunsAreMaskedToTheLastFour() {
    #expect(RequestLog.maskingDigitRuns("till3-77") == "till3-77")
    #expect(RequestLog.maskingDigitRuns("order-12345678901") == "order-12345678901", "11 digits stay")
    #expect(RequestLog.maskingDigitRuns("sale-6526268790776350-x") == "sale-************6350-x")
    #expect(RequestLog.maskingDigitRuns("6526268790776350") == "************6350")
    #expect(RequestLog.maskedCard("123") == "123")
}

@Test func manifestTextRoundTripsAndRefusesWhatItCannotTrust() throws {
    let manifest = BackupManifest(lsn: 42, created: "2026-11-26T17:01:02.123Z",
                                  entries: [BackupManifest.entry(name: "snapshot-00000000000000000042.bin", bytes: Array("abc".utf8))])
    #expect(manifest.entries[0].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc")
    #expect(try BackupManifest.parse(manifest.text, path: "M") == manifest)
    let sha = manifest.entries[0].sha256
    for bad in ["creditd-backup 2\nlsn 1\n", "something else\n", "creditd-backup 1\n",
                "creditd-backup 1\nlsn 1\nfile ../escape 3 sha256:\(sha)\n",
                "creditd-backup 1\nlsn 1\nfile MANIFEST 3 sha256:\(sha)\n",
                "creditd-backup 1\nlsn 1\nfile a 3 md5:abc\n", "creditd-backup 1\nlsn 1\nextra line\n"] {
        #expect(throws: ServerError.self, "\(bad)") { try BackupManifest.parse(bad, path: "M") }
    }
}
