// Proves replies are not delayed past a pipeline-depth stall, and that a graceful stop answers every request it applied, on the plaintext and the TLS port alike.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

@Test(arguments: Transport.allCases) func moreThan1024PipelinedRequestsAreAnsweredWithoutStalling(over transport: Transport) throws {
    let daemon = try Daemon()
    let client = try daemon.connect(transport)
    let started = Date()
    try client.send(String(repeating: "PING\n", count: 1100))
    for index in 0..<1100 { #expect(try client.readReply() == ["OK"], "reply \(index)") }
    let elapsed = Date().timeIntervalSince(started)
    // 1100 PINGs take a few ms; the daemon currently waits for its 1 s timer tick.
    #expect(elapsed < 0.5, "1100 pipelined PINGs took \(elapsed) s")
}

@Test(arguments: Transport.allCases) func sigtermAnswersEveryRequestItAppliedEvenBeyondThePipelineDepth(over transport: Transport) throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin", over: transport)
    _ = try admin.issueGift(amount: "5000.00", ref: "term-issue")
    var lines = ""
    for pair in 0..<1500 { lines += "HOLD credit=cr_1 amount=0.01 currency=AUD ref=th\(pair)\nVOID hold=hd_\(pair + 1) ref=tv\(pair)\n" }
    try admin.send(lines)
    #expect(try admin.readReply().first?.hasPrefix("OK hold=hd_1 ") == true)
    daemon.send(signal: SIGTERM)
    var answered = 1
    while let reply = try? admin.readReply() {
        #expect(reply.count == 1 && reply[0].hasPrefix("OK hold="), "reply \(answered): \(reply)")
        answered += 1
    }
    #expect(daemon.stop() == 0)
    try daemon.start()
    let stats = try daemon.connect(as: "dev-admin").ok("STATS")
    // Every applied request (journal_lsn - 1 for the ISSUE) must have been answered.
    #expect(stats["journal_lsn"] == String(1 + answered), "answered \(answered) requests: \(stats)")
}
