// Proves records replayed at start-up count toward the next snapshot, so a daemon that restarts
// more often than every `snapshot_every` records still snapshots and compacts its journal.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

@Test func recordsBeforeARestartCountTowardTheNextSnapshot() throws {
    let daemon = try Daemon(extraConfig: "snapshot_every = 1000")
    func burst(_ round: Int) throws {
        let admin = try daemon.connect(as: "dev-admin")
        if round == 0 { _ = try admin.ok("ISSUE type=store amount=5000 currency=AUD profile=p1 ref=cad-issue") }
        var lines = ""
        for index in 0..<350 {
            lines += "HOLD credit=cr_1 amount=0.01 currency=AUD ref=cad-\(round)-h\(index)\nVOID hold=hd_\(round * 350 + index + 1) ref=cad-\(round)-v\(index)\n"
        }
        try admin.send(lines)
        #expect(try admin.readReplies(700).allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") })
    }
    try burst(0)  // 701 records, below snapshot_every
    daemon.kill9()
    try daemon.start()
    try burst(1)  // 700 more: 1401 since the start, so one snapshot is due
    let snapshots = try daemon.connect(as: "dev-admin").statsOnceSnapshotted(1)["snapshots"]
    #expect(snapshots == "1")
    let files = try FileManager.default.contentsOfDirectory(atPath: daemon.dataDirectory)
    #expect(files.contains { $0.hasPrefix("snapshot-") }, "\(files)")
    daemon.stop()
}
