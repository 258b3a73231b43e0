// Proves a BACKUP taken while tills issue, hold and capture restores (with `creditd restore`) into a data directory that passes verify and on which a daemon starts holding every operation acknowledged before the BACKUP was sent and every one pipelined ahead of it on its own connection; and that restore refuses a non-empty target, a tampered file and an unknown manifest version.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

/// One acknowledged operation of the load, with when its reply arrived.
private struct Acked {
    enum Kind { case issue, hold, capture }
    let kind: Kind
    let credit: String
    let hold: String?
    let atNanos: UInt64
}

private func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Runs `creditd <arguments>` to completion; returns its exit status and stdout + stderr.
private func runCreditd(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Daemon.binary)
    process.arguments = arguments
    let pipe = Daemon.privatePipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// One till until `stop`: ISSUE store credit, HOLD part of it, CAPTURE part of the hold.
private func runTill(_ daemon: Daemon, till: Int, stop: Locked<Bool>, log: Locked<[Acked]>, failures: Locked<[String]>) {
    do {
        let client = try daemon.connect(as: "dev-admin")
        var round = 0
        while !stop.with({ $0 }) {
            let issued = try client.ok("ISSUE type=store amount=10.00 currency=AUD profile=p\(till) ref=t\(till)-i\(round)")
            let credit = issued["credit"]!
            log.with { $0.append(Acked(kind: .issue, credit: credit, hold: nil, atNanos: nowNanos())) }
            let hold = try client.ok("HOLD credit=\(credit) amount=3.00 currency=AUD ref=t\(till)-h\(round)")["hold"]!
            log.with { $0.append(Acked(kind: .hold, credit: credit, hold: hold, atNanos: nowNanos())) }
            _ = try client.ok("CAPTURE hold=\(hold) amount=1.00 ref=t\(till)-c\(round)")
            log.with { $0.append(Acked(kind: .capture, credit: credit, hold: hold, atNanos: nowNanos())) }
            round += 1
        }
    } catch {
        failures.with { $0.append("till \(till): \(error)") }
    }
}

/// Whether the restored daemon holds the effect of `op`.
private func isPresent(_ op: Acked, _ client: WireClient) throws -> Bool {
    let reply = try client.request("HISTORY credit=\(op.credit)")
    guard reply.last?.hasPrefix("OK") == true else { return false }
    let entries = reply.dropLast().map(WireClient.fieldsOf)
    switch op.kind {
    case .issue: return entries.contains { $0["kind"] == "issue" }
    case .hold: return entries.contains { $0["kind"] == "hold" && $0["hold"] == op.hold }
    case .capture: return entries.contains { $0["kind"] == "capture" && $0["hold"] == op.hold }
    }
}

@Test func aBackupTakenUnderLoadRestoresEveryAcknowledgedOperation() throws {
    let daemon = try Daemon(extraConfig: "snapshot_every = 1000")
    let stop = Locked(false)
    let log = Locked<[Acked]>([])
    let failures = Locked<[String]>([])
    let group = DispatchGroup()
    for till in 0..<4 {
        DispatchQueue.global().async(group: group) { runTill(daemon, till: till, stop: stop, log: log, failures: failures) }
    }
    defer {
        stop.with { $0 = true }
        group.wait()
    }
    for _ in 0..<3000 where log.with({ $0.count }) < 200 && failures.with({ $0.isEmpty }) { usleep(10_000) }
    try #require(log.with { $0.count } >= 200, "the load got going: \(failures.with { $0 })")
    // The backup's own connection pipelines an ISSUE ahead of the BACKUP: its reply comes first.
    let admin = try daemon.connect(as: "dev-admin")
    let sentNanos = nowNanos()
    try admin.send("ISSUE type=store amount=7.00 currency=AUD profile=pre ref=pre-backup\nBACKUP\n")
    let pre = WireClient.fieldsOf(try admin.readReply().last!)
    let backupReply = try admin.readReply()
    let backup = WireClient.fieldsOf(backupReply.last!)
    #expect(backupReply.last?.hasPrefix("OK backup=") == true, "\(backupReply)")
    usleep(200_000)
    stop.with { $0 = true }
    group.wait()
    #expect(failures.with { $0 }.isEmpty, "\(failures.with { $0 })")
    let before = log.with { $0 }.filter { $0.atNanos < sentNanos }
    #expect(before.count >= 200)
    #expect(backupReply.dropLast().map(WireClient.fieldsOf).contains { $0["file"] == backup["snapshot"] })
    #expect(daemon.stop() == 0)

    let restored = try Daemon(start: false)
    let result = try runCreditd(["restore", "--config", restored.configPath, "--from", backup["backup"]!])
    #expect(result.status == 0 && result.output.contains("verify: OK"), "\(result.output)")
    try restored.start()
    let client = try restored.connect(as: "dev-admin")
    #expect(try client.ok("STATS")["journal_lsn"] == backup["lsn"])
    #expect(try isPresent(Acked(kind: .issue, credit: pre["credit"]!, hold: nil, atNanos: 0), client))
    let missing = try before.filter { try !isPresent($0, client) }
    #expect(missing.isEmpty, "\(missing.count) of \(before.count) acknowledged operations missing, first \(String(describing: missing.first))")
}

@Test func restoreRefusesNonEmptyTargetsTamperedFilesAndUnknownVersions() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    _ = try admin.issueGift(amount: "5.00", ref: "rs-1")
    let backup = try admin.ok("BACKUP")
    let directory = backup["backup"]!
    #expect(daemon.stop() == 0)
    // Into the live data directory: refused, nothing touched.
    let busy = try runCreditd(["restore", "--config", daemon.configPath, "--from", directory])
    #expect(busy.status == 1 && busy.output.contains("is not empty"), "\(busy.output)")

    let target = try Daemon(start: false)
    let snapshot = directory + "/" + backup["snapshot"]!
    var bytes = try Data(contentsOf: URL(fileURLWithPath: snapshot))
    bytes[bytes.count - 1] ^= 0xff
    try bytes.write(to: URL(fileURLWithPath: snapshot))
    let tampered = try runCreditd(["restore", "--config", target.configPath, "--from", directory])
    #expect(tampered.status == 1 && tampered.output.contains("SHA-256 does not match"), "\(tampered.output)")
    #expect(!FileManager.default.fileExists(atPath: target.dataDirectory), "nothing was copied")
    bytes[bytes.count - 1] ^= 0xff
    try bytes.write(to: URL(fileURLWithPath: snapshot))

    let manifestPath = directory + "/MANIFEST"
    let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8)
    #expect(manifest.hasPrefix("creditd-backup 1\nlsn \(backup["lsn"]!)\n"), "\(manifest)")
    try manifest.replacingOccurrences(of: "creditd-backup 1", with: "creditd-backup 9")
        .write(toFile: manifestPath, atomically: true, encoding: .utf8)
    let future = try runCreditd(["restore", "--config", target.configPath, "--from", directory])
    #expect(future.status == 1 && future.output.contains("backup format version 9 is not supported"), "\(future.output)")
    try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)

    let good = try runCreditd(["restore", "--config", target.configPath, "--from", directory])
    #expect(good.status == 0 && good.output.contains("verify: OK"), "\(good.output)")
    var info = stat()
    #expect(stat(target.dataDirectory + "/server.secret", &info) == 0 && info.st_mode & 0o777 == 0o600)
    try target.start()
    #expect(try target.connect(as: "dev-admin").ok("BALANCE credit=cr_1")["balance"] == "5.00")
}
