// Proves no card number, PIN, claim code or client secret reaches the journal, the snapshot, a backup or the log (with the request log on) after a session of issuing and using cards across a kill -9, and that the server secret file is private.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

/// Whether `needle` occurs in `haystack` as a byte string.
private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var index = 0
    while let found = haystack[index...].firstIndex(of: first) {
        if found + needle.count > haystack.count { return false }
        if haystack[found..<(found + needle.count)].elementsEqual(needle) { return true }
        index = found + 1
    }
    return false
}

/// Every regular file under `directory`, recursively.
private func filesUnder(_ directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    return enumerator.compactMap { $0 as? String }.map { directory + "/" + $0 }.filter {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// Uses every card with its number and PIN: a balance, a hold and a capture, and a wrong PIN.
/// Each card gets a till connection of its own: the daemon closes a connection after ten declines.
private func useCards(_ daemon: Daemon, _ cards: [IssuedCard], round: String, expectedBalance: String) throws {
    for (index, card) in cards.enumerated() {
        let pos = try daemon.connect(as: "dev-pos")
        #expect(try pos.ok("BALANCE card=\(card.card) pin=\(card.pin)")["balance"] == expectedBalance)
        let hold = try pos.ok("HOLD card=\(card.card) pin=\(card.pin) amount=5.00 currency=AUD ref=\(round)-h\(index)")
        _ = try pos.ok("CAPTURE hold=\(hold["hold"]!) amount=2.50 ref=\(round)-c\(index)")
        let wrongPin = String(card.pin.reversed()) == card.pin ? "00000000" : String(card.pin.reversed())
        #expect(try pos.request("BALANCE card=\(card.card) pin=\(wrongPin)") == ["ERR DECLINED card declined"])
        #expect(try pos.request("HOLD card=\(card.card) pin=\(wrongPin) amount=1 currency=AUD ref=\(round)-w\(index)")
            == ["ERR DECLINED card declined"])
    }
}

@Test func noCardNumberOrPinIsWrittenToDiskOrLog() throws {
    let daemon = try Daemon(extraConfig: "pin_length = 8\nsnapshot_every = 1000\nrequest_log = on")
    let admin = try daemon.connect(as: "dev-admin")
    var cards: [IssuedCard] = []
    for index in 0..<20 { cards.append(try admin.issueGift(amount: "50.00", ref: "secret-\(index)")) }
    #expect(cards.allSatisfy { $0.card.count == 16 && $0.pin.count == 8 })
    #expect(Set(cards.map(\.card)).count == 20)
    // A retried ISSUE and a wrong-PIN attempt must not leak them either.
    #expect(try admin.request("ISSUE type=gift amount=50.00 currency=AUD ref=secret-0").last?.contains(cards[0].pin) == false)
    try useCards(daemon, cards, round: "one", expectedBalance: "50.00")

    // Claim codes, replacement cards, stock cards and client secrets must not leak either.
    var otherSecrets = ["dev-admin-secret", "dev-pos-secret"]
    let claimed = try admin.ok("ISSUE type=gift amount=10.00 currency=AUD purchaser=buyer recipient=unknown ref=secret-c1")
    let unclaimed = try admin.ok("ISSUE type=gift amount=10.00 currency=AUD purchaser=buyer recipient=unknown ref=secret-c2")
    let claimCode = try #require(claimed["claim"])
    #expect(claimCode.count == 20)
    #expect(try admin.ok("CLAIM code=\(claimCode) profile=friend ref=secret-c3")["profile"] == "friend")
    let toReplace = try admin.ok("ISSUE type=gift amount=10.00 currency=AUD ref=secret-r1")
    let replaced = try admin.ok("REPLACE credit=\(toReplace["credit"]!) ref=secret-r2")
    otherSecrets += [claimCode, unclaimed["claim"]!, unclaimed["card"]!, unclaimed["pin"]!, toReplace["card"]!,
                     toReplace["pin"]!, replaced["card"]!, replaced["pin"]!]
    let stock = try admin.request("STOCK count=3 currency=AUD ref=secret-s1")
    #expect(stock.count == 4)
    for item in stock.dropLast() {
        let fields = admin.fields(item)
        otherSecrets += [fields["card"]!, fields["pin"]!]
    }
    #expect(otherSecrets.count == 2 + 8 + 6 && otherSecrets.allSatisfy { $0.count >= 8 })

    // Enough records (20 issues + 40 + 1000) for a snapshot, so one is scanned too.
    var lines = ""
    for index in 0..<500 {
        lines += "HOLD credit=cr_\(1 + index % 20) amount=0.01 currency=AUD ref=fill-h\(index)\nVOID hold=hd_\(21 + index) ref=fill-v\(index)\n"
    }
    try admin.send(lines)
    #expect(try admin.readReplies(1000).allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") })
    let snapshots = try admin.statsOnceSnapshotted(1)["snapshots"] ?? "0"
    #expect(snapshots != "0")

    // A backup lands under the data directory, so the scan below reads it too.
    #expect(try admin.ok("BACKUP")["secret"] == "included")

    daemon.kill9()
    try daemon.start()
    try useCards(daemon, cards, round: "two", expectedBalance: "47.50")
    #expect(daemon.stop() == 0)

    let dataFiles = filesUnder(daemon.dataDirectory)
    #expect(dataFiles.contains { $0.contains("/snapshot-") && $0.hasSuffix(".bin") }, "\(dataFiles)")
    #expect(dataFiles.contains { $0.contains("/journal-") && $0.hasSuffix(".log") }, "\(dataFiles)")
    var scanned: [(String, [UInt8])] = try dataFiles.map { ($0, try readBytes($0)) }
    scanned.append((daemon.logPath, try readBytes(daemon.logPath)))
    scanned.append(("captured stderr", Array(daemon.log.utf8)))
    #expect(daemon.log.contains("msg=stopped"), "the log is complete")
    #expect(daemon.log.contains(" msg=request verb=HOLD ") && daemon.log.contains(" card=****"), "the request log was on")
    #expect(dataFiles.contains { $0.contains("/backups/backup-") && $0.hasSuffix("/MANIFEST") }, "\(dataFiles)")
    #expect(scanned.reduce(0) { $0 + $1.1.count } > 10_000, "there was something to scan")
    for card in cards {
        for (path, bytes) in scanned {
            #expect(!contains(bytes, Array(card.card.utf8)), "card \(card.card) found in \(path)")
            #expect(!contains(bytes, Array(card.pin.utf8)), "PIN \(card.pin) found in \(path)")
        }
    }
    for secret in otherSecrets {
        for (path, bytes) in scanned {
            #expect(!contains(bytes, Array(secret.utf8)), "secret \(secret) found in \(path)")
        }
    }
    // The scan reads what the daemon stores as text: each card's masked form (kept in the stored
    // ISSUE reply for replay) is there, so the full number would be found if it were.
    for card in cards {
        let masked = Array((String(repeating: "*", count: 12) + card.card.suffix(4)).utf8)
        #expect(scanned.contains { $0.0.hasPrefix(daemon.dataDirectory) && contains($0.1, masked) }, "masked \(card.card.suffix(4))")
    }

    var info = stat()
    #expect(stat(daemon.dataDirectory + "/server.secret", &info) == 0)
    #expect(info.st_mode & 0o777 == 0o600, "server.secret mode \(String(info.st_mode & 0o777, radix: 8))")
    #expect(stat(daemon.dataDirectory, &info) == 0)
    #expect(info.st_mode & 0o077 == 0, "data directory mode \(String(info.st_mode & 0o777, radix: 8))")
}

@Test func creditdRefusesAServerSecretOthersCanRead() throws {
    let daemon = try Daemon()
    #expect(daemon.stop() == 0)
    let secret = daemon.dataDirectory + "/server.secret"
    #expect(chmod(secret, 0o644) == 0)
    let (status, output) = try daemon.runToExit()
    #expect(status != 0 && status != -1, "status \(status): \(output)")
    #expect(output.contains("server.secret"), "\(output)")
    #expect(chmod(secret, 0o600) == 0)
    try daemon.start()
    #expect(try daemon.connect(as: "dev-pos").request("PING") == ["OK"])
}
