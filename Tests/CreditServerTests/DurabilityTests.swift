// Proves no acknowledged operation is lost and none is half-applied across kill -9, that a journal cut at any byte of its last record recovers the state before it, that damage mid-journal stops start-up naming file and offset, that snapshots recover the identical state, and that refs replayed across several ref-log chunks (written into chunks mapped ahead on another thread) still give their first replies.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

// MARK: Journal files

/// The start offset of every record in a journal segment; throws unless the records (12-byte
/// header: u32 payload length LE, u32 payload CRC, u32 header CRC; then the payload) tile the
/// file exactly.
private func recordOffsets(_ bytes: [UInt8]) throws -> [Int] {
    var offsets: [Int] = []
    var offset = 0
    while offset < bytes.count {
        guard bytes.count - offset >= 12 else { throw TestError("partial header at \(offset)") }
        let length = (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        offsets.append(offset)
        offset += 12 + length
    }
    guard offset == bytes.count else { throw TestError("last record runs past the end of the file") }
    return offsets
}

/// The files of a stopped daemon's data directory, by name.
private func dataFiles(_ daemon: Daemon) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    for name in try daemon.dataFileNames() { files[name] = try readBytes(daemon.dataDirectory + "/" + name) }
    return files
}

/// A daemon, not started, whose data directory holds `files`.
private func daemonWithData(_ files: [String: [UInt8]], extraConfig: String = "") throws -> Daemon {
    let daemon = try Daemon(extraConfig: extraConfig, start: false)
    guard mkdir(daemon.dataDirectory, 0o700) == 0 else { throw TestError("mkdir \(daemon.dataDirectory) failed") }
    for (name, bytes) in files { try writeBytes(daemon.dataDirectory + "/" + name, bytes) }
    return daemon
}

/// The name of the last journal segment that holds any bytes.
private func lastSegmentName(_ files: [String: [UInt8]]) throws -> String {
    let segments = files.keys.filter { $0.hasPrefix("journal-") && $0.hasSuffix(".log") && !files[$0]!.isEmpty }.sorted()
    return try #require(segments.last, "no journal segment with records in \(files.keys.sorted())")
}

// MARK: kill -9 during a stream

/// One request a till sent during the stream.
private struct StreamRequest: Sendable {
    let credit: String
    let isCapture: Bool
    let line: String
    let ref: String
    /// The reply, or nil when the daemon died before the till read it (unacknowledged).
    let reply: [String]?
}

/// A till streaming HOLD + CAPTURE pairs on one card (named with its PIN) with unique refs,
/// recording every request, until the connection fails or `pairs` are done.
private func streamTill(port: Int, till: Int, card: IssuedCard, pairs: Int,
                        sent: Locked<[StreamRequest]>, acknowledged: Locked<Int>, unexpected: Locked<[String]>) {
    let credit = card.credit
    guard let client = try? WireClient(port: port),
          (try? client.request("AUTH key=dev-pos secret=dev-pos-secret")) == ["OK role=pos"] else {
        unexpected.with { $0.append("till \(till) could not connect") }
        return
    }
    /// Sends one request; its reply, or nil once the daemon is gone.
    func send(_ line: String, ref: String, isCapture: Bool) -> String? {
        do {
            let reply = try client.request(line)
            sent.with { $0.append(StreamRequest(credit: credit, isCapture: isCapture, line: line, ref: ref, reply: reply)) }
            acknowledged.with { $0 += 1 }
            guard reply.count == 1, reply[0].hasPrefix("OK ") else {
                unexpected.with { $0.append("\(line) → \(reply)") }
                return nil
            }
            return reply[0]
        } catch {
            sent.with { $0.append(StreamRequest(credit: credit, isCapture: isCapture, line: line, ref: ref, reply: nil)) }
            return nil
        }
    }
    for pair in 0..<pairs {
        let holdRef = "s\(till)-\(pair)-h"
        let holdLine = "HOLD card=\(card.card) pin=\(card.pin) amount=\(amountText(Int.random(in: 2...99))) currency=AUD ref=\(holdRef)"
        guard let hold = send(holdLine, ref: holdRef, isCapture: false) else { return }
        let fields = client.fields(hold)
        guard let id = fields["hold"], let held = cents(fields["amount"]) else {
            unexpected.with { $0.append("\(holdLine) → \(hold)") }
            return
        }
        let captureRef = "s\(till)-\(pair)-c"
        let captureLine = "CAPTURE hold=\(id) amount=\(amountText(Int.random(in: 1...held))) ref=\(captureRef)"
        guard send(captureLine, ref: captureRef, isCapture: true) != nil else { return }
    }
}

@Test func kill9DuringAStreamKeepsEveryAcknowledgedOperationAndHalfAppliesNothing() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let credits = ["cr_1", "cr_2", "cr_3", "cr_4"]
    let cards = try credits.map { try admin.issueGift(amount: "1000.00", ref: "stream-\($0)") }
    #expect(cards.map(\.credit) == credits)
    let issued = 100_000

    // Two tills per credit, at most 150 pairs each: a credit's history (≤ 601 activities) fits
    // in one HISTORY reply. The daemon dies after ~1 s, or sooner once 700 replies arrived.
    let sent = Locked<[StreamRequest]>([])
    let acknowledged = Locked(0)
    let unexpected = Locked<[String]>([])
    let port = daemon.port
    runThreads(9) { index in
        guard index == 8 else {
            streamTill(port: port, till: index, card: cards[index % 4], pairs: 150,
                       sent: sent, acknowledged: acknowledged, unexpected: unexpected)
            return
        }
        let started = Date()
        while true {
            let count = acknowledged.with { $0 }
            let elapsed = Date().timeIntervalSince(started)
            if (count >= 20 && elapsed >= 1) || count >= 700 || elapsed > 20 { break }
            usleep(2000)
        }
        daemon.kill9()
    }
    let requests = sent.with { $0 }
    #expect(unexpected.with { $0 }.isEmpty, "\(unexpected.with { $0 }.prefix(5))")
    let acked = requests.filter { $0.reply != nil }
    let unacked = requests.filter { $0.reply == nil }
    #expect(acked.count >= 20)
    #expect(!unacked.isEmpty, "the kill interrupted the stream")
    #expect(unacked.count <= 8, "each till has at most one request in flight")

    try daemon.start()
    // The till retries; the back office reads histories and balances by credit id.
    let client = try daemon.connect(as: "dev-pos")
    let office = try daemon.connect(as: "dev-admin")
    let sentByRef = Dictionary(uniqueKeysWithValues: requests.map { ($0.ref, $0) })
    var historyBefore: [String: [[String: String]]] = [:]
    var appliedUnacked: [(StreamRequest, [String: String])] = []
    for credit in credits {
        let (items, final) = try office.history(credit)
        historyBefore[credit] = items
        #expect(final == "OK credit=\(credit) currency=AUD count=\(items.count)")
        #expect(items.first?["kind"] == "issue" && cents(items.first?["balance"]) == issued)
        var running = issued
        var pending: [String: Int] = [:]
        var seenRefs: Set<String> = []
        for item in items.dropFirst() {
            guard let ref = item["ref"], let hold = item["hold"], let amount = cents(item["amount"]),
                  let after = cents(item["balance"]) else {
                Issue.record("malformed activity \(item)")
                continue
            }
            #expect(seenRefs.insert(ref).inserted, "ref \(ref) appears twice in \(credit)'s history")
            guard let request = sentByRef[ref], request.credit == credit else {
                Issue.record("activity \(item) comes from no request sent on \(credit)")
                continue
            }
            switch item["kind"] {
            case "hold":
                #expect(!request.isCapture && pending[hold] == nil, "\(item)")
                pending[hold] = amount
            case "capture":
                // A capture is never there without its hold.
                #expect(request.isCapture && pending.removeValue(forKey: hold) ?? -1 >= amount, "\(item) without its hold")
                running -= amount
            default:
                Issue.record("unexpected activity \(item)")
            }
            #expect(after == running, "balance-after chain broken at \(item)")
            if let reply = request.reply {
                // The acknowledged reply and the recorded activity agree.
                let fields = client.fields(reply[0])
                #expect(fields["hold"] == hold, "\(reply) vs \(item)")
                #expect(cents(fields[request.isCapture ? "captured" : "amount"]) == amount, "\(reply) vs \(item)")
            } else {
                appliedUnacked.append((request, item))
            }
        }
        // Every acknowledged request on this credit is in its history.
        for request in acked where request.credit == credit {
            #expect(seenRefs.contains(request.ref), "acknowledged \(request.line) is missing after the restart")
        }
        // The balance is what was issued less every acknowledged capture and every capture that
        // was applied without its reply arriving, and nothing else.
        let capturedAcked = acked.filter { $0.credit == credit && $0.isCapture }
            .compactMap { cents(client.fields($0.reply![0])["captured"]) }.reduce(0, +)
        let capturedUnacked = appliedUnacked.filter { $0.0.credit == credit && $0.0.isCapture }
            .compactMap { cents($0.1["amount"]) }.reduce(0, +)
        #expect(running == issued - capturedAcked - capturedUnacked)
        let balance = office.fields(try #require(try office.request("BALANCE credit=\(credit)").last))
        #expect(cents(balance["balance"]) == running)
        #expect(cents(balance["held"]) == pending.values.reduce(0, +), "held is exactly the holds not yet captured")
    }

    // Retrying each acknowledged request replays its reply byte for byte (pipelined in batches).
    for batchStart in stride(from: 0, to: acked.count, by: 400) {
        let batch = acked[batchStart..<min(acked.count, batchStart + 400)]
        try client.send(batch.map { $0.line + "\n" }.joined())
        for request in batch {
            #expect(try client.readReply() == request.reply, "retry of \(request.line)")
        }
    }
    // An unacknowledged request that was applied replays what it did.
    for (request, item) in appliedUnacked {
        let fields = try client.ok(request.line)
        #expect(fields["hold"] == item["hold"])
        #expect(fields[request.isCapture ? "captured" : "amount"] == item["amount"])
    }
    // None of the retries changed anything.
    for credit in credits {
        #expect(try office.history(credit).items == historyBefore[credit])
    }
}

// MARK: Torn tail

/// The replies that show cr_1's whole state.
private func observeCredit(_ daemon: Daemon, _ card: IssuedCard) throws -> [[String]] {
    let client = try daemon.connect(as: "dev-admin")
    return [
        try client.request("BALANCE credit=cr_1"),
        try client.request("BALANCE card=\(card.card) pin=\(card.pin)"),
        try client.request("HISTORY credit=cr_1"),
    ]
}

@Test func journalCutAtEveryOffsetOfItsLastRecordRecoversTheStateBeforeIt() throws {
    let original = try Daemon()
    let admin = try original.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "100.00", ref: "cut-issue")
    _ = try admin.ok("HOLD credit=cr_1 amount=30 currency=AUD ref=cut-h1")
    _ = try admin.ok("CAPTURE hold=hd_1 amount=10 ref=cut-c1")
    _ = try admin.ok("HOLD credit=cr_1 amount=20 currency=AUD ref=cut-h2")
    let before = try observeCredit(original, card)
    #expect(before[0] == ["OK credit=cr_1 type=gift balance=90.00 held=20.00 available=70.00 currency=AUD status=active"])
    #expect(try admin.request("VOID hold=hd_2 ref=cut-v1") == ["OK hold=hd_2 released=20.00 currency=AUD"])
    let after = try observeCredit(original, card)
    #expect(after[0] == ["OK credit=cr_1 type=gift balance=90.00 held=0.00 available=90.00 currency=AUD status=active"])
    #expect(original.stop() == 0)

    let files = try dataFiles(original)
    let segment = try lastSegmentName(files)
    let bytes = files[segment]!
    let offsets = try recordOffsets(bytes)
    #expect(offsets.count == 5, "issue, hold, capture, hold, void")
    let lastStart = offsets.last!
    #expect(bytes.count - lastStart > 20 && bytes.count - lastStart < 1000)

    // Every cut from the start of the last record to its end; the end itself is the whole journal.
    let cuts = Array(lastStart...bytes.count)
    let failures = Locked<[String]>([])
    runThreads(2) { worker in
        for cut in cuts where cut % 2 == worker {
            do {
                var copy = files
                copy[segment] = Array(bytes[..<cut])
                let daemon = try daemonWithData(copy)
                try daemon.start()
                let observed = try observeCredit(daemon, card)
                let expected = cut == bytes.count ? after : before
                let torn = cut != lastStart && cut != bytes.count
                let logged = daemon.log.contains("msg=\"journal tail cut\"")
                let truncatedTo = try readBytes(daemon.dataDirectory + "/" + segment).count
                daemon.kill9()
                var problems: [String] = []
                if observed != expected { problems.append("state \(observed)") }
                if logged != torn { problems.append("tail cut logged: \(logged)") }
                if torn && !daemon.log.contains("\(segment): torn tail at offset \(lastStart), dropped \(cut - lastStart) bytes") {
                    problems.append("log does not name the segment, offset and bytes dropped: \(daemon.log)")
                }
                if truncatedTo != (torn ? lastStart : cut) { problems.append("segment left at \(truncatedTo) bytes") }
                if !problems.isEmpty { failures.with { $0.append("cut at \(cut): \(problems)") } }
            } catch {
                failures.with { $0.append("cut at \(cut): \(error)") }
            }
        }
    }
    let problems = failures.with { $0 }
    #expect(problems.isEmpty, "\(problems.count) of \(cuts.count) cuts failed, e.g. \(problems.prefix(3))")
}

// MARK: Corruption

@Test func aFlippedByteMidJournalStopsStartUpNamingTheFileAndOffset() throws {
    let original = try Daemon()
    let admin = try original.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "80.00", ref: "flip-issue")
    _ = try admin.ok("HOLD credit=cr_1 amount=30 currency=AUD ref=flip-h1")
    _ = try admin.ok("CAPTURE hold=hd_1 amount=10 ref=flip-c1")
    _ = try admin.ok("HOLD credit=cr_1 amount=5 currency=AUD ref=flip-h2")
    let state = try observeCredit(original, card)
    #expect(original.stop() == 0)

    let files = try dataFiles(original)
    let segment = try lastSegmentName(files)
    let bytes = files[segment]!
    let offsets = try recordOffsets(bytes)
    #expect(offsets.count == 4)

    // A byte in the middle of the first record's payload, then in the middle of the second's.
    for (index, start) in offsets.prefix(2).enumerated() {
        let end = offsets[index + 1]
        var damaged = bytes
        damaged[start + 12 + (end - start - 12) / 2] ^= 0x5A
        var copy = files
        copy[segment] = damaged
        let daemon = try daemonWithData(copy)
        let (status, output) = try daemon.runToExit()
        #expect(status != 0 && status != -1, "creditd must refuse to start: status \(status), output \(output)")
        #expect(output.contains(daemon.dataDirectory + "/" + segment), "\(output)")
        #expect(output.contains("offset \(start)"), "\(output)")
        #expect(!output.contains("msg=listening"))
        // Nothing on disk was "repaired".
        #expect(try readBytes(daemon.dataDirectory + "/" + segment) == damaged)
    }

    // The undamaged copy starts and shows the same state: the refusals were the flipped bytes.
    let intact = try daemonWithData(files)
    try intact.start()
    #expect(try observeCredit(intact, card) == state)
}

// MARK: Snapshots

@Test func snapshotsDropOldSegmentsAndRecoverTheIdenticalStateAfterKill9() throws {
    let daemon = try Daemon(extraConfig: "snapshot_every = 1000")
    let admin = try daemon.connect(as: "dev-admin")
    let credits = (1...5).map { "cr_\($0)" }
    for credit in credits { #expect(try admin.issueGift(amount: "1000.00", ref: "snap-\(credit)").credit == credit) }

    // 1300 HOLD + CAPTURE pairs, pipelined 200 pairs per write: 2605 records in all. This
    // connection is the only one, so the holds are numbered hd_1, hd_2, … in order.
    var firstReplies: [[String]] = []
    for batch in 0..<(1300 / 200) + 1 {
        let pairs = (batch * 200)..<min(1300, batch * 200 + 200)
        guard !pairs.isEmpty else { break }
        // Batch 2 passed record 1000 and started the first snapshot; let it finish before batch
        // 4 passes record 2000. A snapshot due while one runs starts at the next record, and a
        // first snapshot slowed by a busy machine would otherwise see every record arrive first.
        if batch == 3 { _ = try admin.statsOnceSnapshotted(1) }
        var lines = ""
        for pair in pairs {
            lines += "HOLD credit=\(credits[pair % 5]) amount=0.0\(1 + pair % 9) currency=AUD ref=sh\(pair)\n"
            lines += "CAPTURE hold=hd_\(pair + 1) ref=sc\(pair)\n"
        }
        try admin.send(lines)
        let replies = try admin.readReplies(pairs.count * 2)
        #expect(replies.allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") }, "\(replies.first { !$0[0].hasPrefix("OK") } ?? [])")
        if batch == 0 { firstReplies = Array(replies.prefix(2)) }
    }

    let stats = try admin.statsOnceSnapshotted(2)
    #expect(Int(stats["snapshots"] ?? "") ?? 0 >= 2, "\(stats)")
    #expect(stats["journal_lsn"] == "2605")
    // Each snapshot's log line says how long it took to write. The log is read from the
    // daemon's stderr by another thread, so a line may arrive a moment after STATS counts it.
    func writtenLines() -> [Substring] {
        daemon.log.split(separator: "\n").filter { $0.contains("msg=\"snapshot written\"") }
    }
    func allTimed(_ lines: [Substring]) -> Bool { lines.count >= 2 && lines.allSatisfy { $0.contains(/\stook_ms=\d+$/) } }
    for _ in 0..<200 where !allTimed(writtenLines()) { usleep(10_000) }
    #expect(allTimed(writtenLines()), "\(writtenLines())")
    let names = try daemon.dataFileNames()
    let snapshots = names.filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".bin") }
    let segments = names.filter { $0.hasPrefix("journal-") && $0.hasSuffix(".log") }
    #expect(snapshots.count == 1, "older snapshots are deleted: \(names)")
    #expect(!segments.contains("journal-00000000000000000001.log"), "covered segments are deleted: \(names)")
    #expect(segments.count <= 2, "\(names)")

    func observe(_ client: WireClient) throws -> [[String]] {
        try credits.flatMap { [try client.request("BALANCE credit=\($0)"), try client.request("HISTORY credit=\($0) limit=1000")] }
    }
    let before = try observe(admin)
    #expect(before[1].count == 1 + 520 + 1, "cr_1 has its issue, 260 holds and 260 captures")

    daemon.kill9()
    try daemon.start()
    let listening = daemon.log.split(separator: "\n").last { $0.contains("msg=listening") } ?? ""
    #expect(listening.hasSuffix(" lsn=2605"), "recovered through the last record: \(listening)")
    let client = try daemon.connect(as: "dev-admin")
    #expect(try observe(client) == before)
    let restarted = try client.ok("STATS")
    #expect(restarted["credits"] == stats["credits"])
    #expect(restarted["journal_lsn"] == "2605")
    #expect(restarted["pending_holds"] == "0")
    // Refs from before the snapshot still replay.
    #expect(try client.request("HOLD credit=cr_1 amount=0.01 currency=AUD ref=sh0") == firstReplies[0])
    #expect(try client.request("CAPTURE hold=hd_1 ref=sc0") == firstReplies[1])
    #expect(try client.ok("HOLD credit=cr_1 amount=0.01 currency=AUD ref=after-snapshot")["hold"] == "hd_1301")
}

@Test func aRestartReplaysRefsFillingSeveralRefLogChunksIntoChunksMappedAhead() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let credits = (1...4).map { "cr_\($0)" }
    for credit in credits { #expect(try admin.issueGift(amount: "10000.00", ref: "chunks-\(credit)").credit == credit) }
    // 16,000 HOLD + CAPTURE pairs, pipelined 400 pairs per write: 32,000 remembered refs, about
    // 2.9 MB of the ref log's 1 MiB chunks. Replay asks for a spare chunk from the time the last
    // one is half full until it is full (thousands of records), three times here, and a chunk
    // takes a millisecond or so to make.
    let pairs = 16_000
    var replies: [[String]] = []
    for batch in stride(from: 0, to: pairs, by: 400) {
        var lines = ""
        for pair in batch..<(batch + 400) {
            lines += "HOLD credit=\(credits[pair % 4]) amount=0.0\(1 + pair % 9) currency=AUD ref=ch-hold-\(pair)\n"
            lines += "CAPTURE hold=hd_\(pair + 1) ref=ch-capture-\(pair)\n"
        }
        try admin.send(lines)
        replies += try admin.readReplies(800)
    }
    #expect(replies.allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") }, "\(replies.first { !$0[0].hasPrefix("OK") } ?? [])")
    let balances = try credits.map { try admin.request("BALANCE credit=\($0)") }

    daemon.kill9()
    try daemon.start()
    let recovered = daemon.log.split(separator: "\n").last { $0.contains("msg=recovered") } ?? ""
    #expect(recovered.contains(" records_replayed=32004 "), "\(recovered)")
    // Chunks made on another thread were handed to the ref log.
    let premapped = recovered.firstMatch(of: /ref_chunks_premapped=(\d+)/).map { Int($0.1)! } ?? 0
    #expect(premapped >= 1, "\(recovered)")
    // So were chunks of the holds table (16,000 holds: 15 chunks of 1,024 started in replay).
    let tableChunks = recovered.firstMatch(of: /table_chunks_premapped=(\d+)/).map { Int($0.1)! } ?? 0
    #expect(tableChunks >= 1, "\(recovered)")
    let client = try daemon.connect(as: "dev-admin")
    #expect(try credits.map { try client.request("BALANCE credit=\($0)") } == balances)
    // Retries of refs from every part of the log get their first replies back.
    for pair in [0, 1, pairs / 2, pairs * 3 / 4, pairs - 1] {
        #expect(try client.request("HOLD credit=\(credits[pair % 4]) amount=0.0\(1 + pair % 9) currency=AUD ref=ch-hold-\(pair)") == replies[2 * pair])
        #expect(try client.request("CAPTURE hold=hd_\(pair + 1) ref=ch-capture-\(pair)") == replies[2 * pair + 1])
    }
    #expect(daemon.stop() == 0)
}

// MARK: Graceful stop

@Test func sigtermWithRequestsInFlightAnswersEveryAppliedRequestAndExitsZero() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    _ = try admin.issueGift(amount: "5000.00", ref: "term-issue")
    // 400 HOLD + VOID pairs in one write (within the daemon's pipeline depth), then SIGTERM
    // while they are being applied.
    var lines = ""
    for pair in 0..<400 { lines += "HOLD credit=cr_1 amount=0.01 currency=AUD ref=th\(pair)\nVOID hold=hd_\(pair + 1) ref=tv\(pair)\n" }
    try admin.send(lines)
    let first = try admin.readReply()
    #expect(first.count == 1 && first[0].hasPrefix("OK hold=hd_1 "), "\(first)")
    daemon.send(signal: SIGTERM)
    var answered = 1
    while let reply = try? admin.readReply() {
        let expected = answered % 2 == 0 ? "OK hold=hd_\(answered / 2 + 1) " : "OK hold=hd_\(answered / 2 + 1) released=0.01"
        #expect(reply.count == 1 && reply[0].hasPrefix(expected), "reply \(answered): \(reply)")
        answered += 1
    }
    #expect(daemon.stop() == 0)
    #expect(answered <= 800)

    try daemon.start()
    let stats = try daemon.connect(as: "dev-admin").ok("STATS")
    #expect(stats["journal_lsn"] == String(1 + answered), "exactly the answered requests were applied: \(stats)")
    #expect(stats["pending_holds"] == "0")
}
