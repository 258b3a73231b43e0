// Proves a data directory written by an earlier creditd (the committed fixture) still recovers to the same state, that a journal record or a snapshot in an unknown, newer format version stops start-up with an error naming the file and the version, and that a stray segment named far ahead stops it naming the gap.

@testable import CreditTestSupport
import CreditJournal
import Foundation
import Glibc
import Testing

/// The fixture written by the old code path (see its README).
private let fixture = Daemon.repoRoot + "/Tests/Fixtures/datadir-format1"

/// Copies the fixture into `daemon`'s (not yet created) data directory, secret mode 0600.
private func installFixture(_ daemon: Daemon) throws {
    try FileManager.default.createDirectory(atPath: daemon.dataDirectory, withIntermediateDirectories: false,
                                            attributes: [.posixPermissions: 0o700])
    for name in ["snapshot-00000000000000000003.bin", "journal-00000000000000000004.log", "server.secret"] {
        try FileManager.default.copyItem(atPath: fixture + "/" + name, toPath: daemon.dataDirectory + "/" + name)
        #expect(chmod(daemon.dataDirectory + "/" + name, 0o600) == 0)
    }
}

@Test func aDataDirectoryWrittenByTheOldCodeStillRecovers() throws {
    let daemon = try Daemon(start: false)
    try installFixture(daemon)
    try daemon.start()
    let admin = try daemon.connect(as: "dev-admin")
    let balance = try admin.ok("BALANCE card=6526268790776350 pin=859080")
    #expect(balance["credit"] == "cr_1" && balance["balance"] == "44.50", "\(balance)")
    let kinds = try admin.history("cr_1").items.map { $0["kind"] ?? "" }
    #expect(Array(kinds.prefix(4)) == ["issue", "hold", "capture", "hold"], "\(kinds)")
    #expect(try admin.request("CREDITS profile=mia").contains { $0.contains("credit=cr_2") && $0.contains("balance=30.00") })
    // The retried ISSUE replays (refs survived), and new records continue the LSNs.
    #expect(try admin.ok("ISSUE type=gift amount=50.00 currency=AUD ref=fx-1")["credit"] == "cr_1")
    #expect(try admin.ok("ISSUE type=gift amount=1.00 currency=AUD ref=fx-new")["credit"] == "cr_3")
}

@Test func anUnknownEntryVersionStopsStartUpNamingTheSegment() throws {
    let daemon = try Daemon(start: false)
    try installFixture(daemon)
    let path = daemon.dataDirectory + "/journal-00000000000000000004.log"
    // Rewrite the first record with its body's version byte set to 9, checksums made right.
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let payloadLength = Int(UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
    let bodyStart = RecordFormat.headerByteCount + RecordFormat.lsnByteCount
    var body = Array(bytes[bodyStart..<(RecordFormat.headerByteCount + payloadLength)])
    #expect(body[0] == 1, "entry format version 1")
    body[0] = 9
    bytes.replaceSubrange(0..<(RecordFormat.headerByteCount + payloadLength), with: RecordFormat.record(lsn: 4, body: body))
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let result = try daemon.runToExit()
    #expect(result.status == 1, "\(result.output)")
    #expect(result.output.contains("journal record 4 in \(path) cannot be decoded") && result.output.contains("version 9"),
            "\(result.output)")
}

@Test(arguments: [UInt64(1_000_000_000), 100_000_000_000, UInt64.max - 1])
func aStraySegmentNamedFarAheadStopsStartUpWithTheGapNamed(firstLSN: UInt64) throws {
    // Recovery sizes the ref index from the segments' names before replay checks them: a name
    // far ahead must still end in replay's clear error, not in a huge allocation or a trap.
    let daemon = try Daemon(start: false)
    try installFixture(daemon)
    let stray = daemon.dataDirectory + "/" + SegmentName.fileName(firstLSN: firstLSN)
    #expect(FileManager.default.createFile(atPath: stray, contents: Data(), attributes: [.posixPermissions: 0o600]))
    let result = try daemon.runToExit()
    #expect(result.status == 1, "\(result.output)")
    #expect(result.output.contains("segment starts at LSN \(firstLSN)"), "\(result.output)")
}

@Test func aNewerSnapshotFormatStopsStartUpNamingTheFileAndVersion() throws {
    let daemon = try Daemon(start: false)
    try installFixture(daemon)
    let path = daemon.dataDirectory + "/snapshot-00000000000000000003.bin"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(bytes.prefix(8) == Data("CRSNAP01".utf8))
    bytes.replaceSubrange(6..<8, with: Data("02".utf8))
    try bytes.write(to: URL(fileURLWithPath: path))
    let result = try daemon.runToExit()
    #expect(result.status == 1, "\(result.output)")
    #expect(result.output.contains("\(path): snapshot format version 02 is not supported"), "\(result.output)")
}
