// Proves a lone till's acknowledged changes survive kill -9 whether the journal writer and the
// event loop poll for a commit (long polls), sleep at once, or the writer is pinned to a CPU
// (kill -9 keeps the page cache: losing unsynced writes is `creditd-crashtest`'s and the
// durability tests' business), and so do the changes of eight tills at once, which the loop hands
// to the writer early; which events flush early; that an idle daemon stops polling; that the polling and
// pinning settings are checked, a CPU the process may not use refuses start, and pinning moves
// only the pinned thread (a thread it starts is given the CPUs back).

import CEpoll
@testable import CreditServer
@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

/// One till, one change at a time: 30 HOLD and CAPTURE pairs of 1.00 on a 100.00 gift card,
/// then kill -9. Every acknowledged capture must survive the restart.
private func loneTillSurvivesKill9(extraConfig: String) throws {
    let daemon = try Daemon(extraConfig: extraConfig)
    let card = try daemon.connect(as: "dev-admin").issueGift(amount: "100.00", ref: "poll-issue")
    let till = try daemon.connect(as: "dev-pos")
    for round in 1...30 {
        let hold = try till.ok("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=poll-h\(round)")
        let id = try #require(hold["hold"])
        _ = try till.ok("CAPTURE hold=\(id) ref=poll-c\(round)")
    }
    daemon.kill9()
    try daemon.start()
    let balance = try daemon.connect(as: "dev-admin").ok("BALANCE credit=\(card.credit)")
    #expect(balance["balance"] == "70.00", "\(extraConfig): \(balance)")
}

@Test func aLoneTillsAcknowledgedChangesSurviveKill9WhenTheJournalAndLoopPoll() throws {
    try loneTillSurvivesKill9(extraConfig: "journal_spin_us = 2000\nevent_loop_spin_us = 2000")
}

@Test func aLoneTillsAcknowledgedChangesSurviveKill9WhenTheLoopPollsForUpToEightConnections() throws {
    try loneTillSurvivesKill9(extraConfig: "event_loop_spin_connections = 8")
}

@Test func aLoneTillsAcknowledgedChangesSurviveKill9WhenNothingPolls() throws {
    try loneTillSurvivesKill9(extraConfig: "journal_spin_us = 0\nevent_loop_spin_us = 0")
}

/// Eight tills at once, each one change at a time on a card of its own, then kill -9. Their turns
/// have up to eight ready connections with one reply waiting each, where the loop flushes early
/// (`EventLoop.flushesEarly`; the test does not count the flushes).
@Test func severalTillsAtOnceKeepEveryAcknowledgedChangeThroughKill9() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let cards = try (0..<8).map { till in try admin.issueGift(amount: "100.00", ref: "early-issue-\(till)") }
    let captured = Locked([Int](repeating: 0, count: cards.count))
    runThreads(cards.count) { till in
        do {
            let client = try daemon.connect(as: "dev-pos")
            for round in 1...20 {
                let card = cards[till]
                let hold = try client.ok("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=early-h\(till)-\(round)")
                _ = try client.ok("CAPTURE hold=\(try #require(hold["hold"])) ref=early-c\(till)-\(round)")
                captured.with { $0[till] += 1 }
            }
        } catch {
            Issue.record("till \(till): \(error)")
        }
    }
    daemon.kill9()
    try daemon.start()
    let after = try daemon.connect(as: "dev-admin")
    for (till, card) in cards.enumerated() {
        let balance = try after.ok("BALANCE credit=\(card.credit)")
        #expect(balance["balance"] == "\(100 - captured.with { $0[till] }).00", "till \(till): \(balance)")
    }
    #expect(captured.with { $0.allSatisfy { $0 == 20 } })
}

@Test func onlyATillWithOneReplyWaitingInASmallTurnIsFlushedEarly() {
    let most = EventLoop.earlyFlushConnectionsMax
    #expect(EventLoop.flushesEarly(readyConnections: 1, repliesWaiting: 1))
    #expect(EventLoop.flushesEarly(readyConnections: most, repliesWaiting: 1))
    #expect(!EventLoop.flushesEarly(readyConnections: most + 1, repliesWaiting: 1), "a big turn is batch enough")
    #expect(!EventLoop.flushesEarly(readyConnections: 1, repliesWaiting: 2), "a pipelining client waits for the turn's end")
    #expect(!EventLoop.flushesEarly(readyConnections: 1, repliesWaiting: 0), "nothing of its own to sync")
}

/// The CPUs this process may use (the test runner's may be a subset of the machine's).
private func allowedCPUs() -> [Int] {
    (0..<1024).filter { cepoll_cpu_allowed(Int32($0)) == 1 }
}

@Test func aLoneTillsAcknowledgedChangesSurviveKill9WithTheJournalWriterPinnedToACPU() throws {
    let cpu = try #require(allowedCPUs().last)
    let daemon = try Daemon(extraConfig: "journal_cpu = \(cpu)")
    let card = try daemon.connect(as: "dev-admin").issueGift(amount: "10.00", ref: "pin-issue")
    _ = try daemon.connect(as: "dev-pos").ok("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=pin-h")
    #expect(!daemon.log.contains("journal_cpu not applied"), "\(daemon.log)")
    // Exactly one of the daemon's threads, the journal writer, is held to that CPU.
    let pid = try #require(daemon.process?.processIdentifier)
    let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
    let lists = try tasks.map { task in
        let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
        return status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }.map {
            $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
        }
    }
    if allowedCPUs().count > 1 {
        #expect(lists.filter { $0 == String(cpu) }.count == 1, "\(lists)")
    }
    #expect(daemon.stop() == 0)
    try loneTillSurvivesKill9(extraConfig: "journal_cpu = \(cpu)")
}

@Test(arguments: ["journal_spin_us = 10001", "journal_spin_us = -1", "event_loop_spin_us = fast",
                  "event_loop_spin_connections = 0", "event_loop_spin_connections = all",
                  "journal_cpu = 1024", "journal_cpu = any"])
func pollingAndPinningSettingsOutOfRangeRefuseToStart(_ line: String) throws {
    let daemon = try Daemon(extraConfig: line, start: false)
    let (status, output) = try daemon.runToExit()
    let key = String(line.prefix { $0 != " " })
    #expect(status != 0 && status != -1, "status \(status): \(output)")
    #expect(output.contains(key), "\(output)")
}

@Test func aJournalCPUTheProcessMayNotUseRefusesToStart() throws {
    let allowed = allowedCPUs()
    #expect(!allowed.isEmpty)
    let refused = try #require((0..<1024).first { !allowed.contains($0) })
    let daemon = try Daemon(extraConfig: "journal_cpu = \(refused)", start: false)
    let (status, output) = try daemon.runToExit()
    #expect(status != 0 && status != -1, "status \(status): \(output)")
    #expect(output.contains("journal_cpu \(refused) is not a CPU this process may run on"), "\(output)")
}

@Test func pinningAThreadMovesOnlyThatThreadAndUnpinningGivesTheCPUsBack() throws {
    let allowed = allowedCPUs()
    let target = try #require(allowed.last)
    let (pinned, pinnedCPUs, childCPUs, unpinned, childAfter) = onNewThread { () -> (Int32, [Int], [Int], Int32, [Int]) in
        let pinned = cepoll_pin_thread(Int32(target))
        let pinnedCPUs = allowedCPUs()
        // A thread started now inherits the pin, as the journal's spare thread does.
        let (childCPUs, unpinned, childAfter) = onNewThread { () -> ([Int], Int32, [Int]) in
            let before = allowedCPUs()
            return (before, cepoll_unpin_thread(), allowedCPUs())
        }
        return (pinned, pinnedCPUs, childCPUs, unpinned, childAfter)
    }
    #expect(pinned == 0)
    #expect(pinnedCPUs == [target])
    #expect(childCPUs == [target])
    #expect(unpinned == 0)
    #expect(childAfter == allowed)
    #expect(allowedCPUs() == allowed, "the calling thread keeps its CPUs")
    #expect(cepoll_pin_thread(-1) == EINVAL)
}

/// CPU time (user + system) the process has used, in clock ticks, from /proc/<pid>/stat.
private func cpuTicks(_ pid: Int32) throws -> Int {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15, so the 12th and 13th here.
    return try #require(Int(fields[11])) + (try #require(Int(fields[12])))
}

@Test func anIdleDaemonStopsPollingOnceItsLoneTillIsAnswered() throws {
    // The longest polls allowed: a poll that never ended would burn the whole second below.
    let daemon = try Daemon(extraConfig: "journal_spin_us = 10000\nevent_loop_spin_us = 10000\nevent_loop_spin_connections = 4")
    let card = try daemon.connect(as: "dev-admin").issueGift(amount: "10.00", ref: "idle-issue")
    let till = try daemon.connect(as: "dev-pos")
    _ = try till.ok("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=idle-h")
    #expect(try till.request("PING") == ["OK"])
    usleep(300_000)  // past every poll (the memory release 2 s after start takes under a millisecond)
    let pid = try #require(daemon.process?.processIdentifier)
    let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
    let before = try cpuTicks(pid)
    usleep(1_000_000)
    let used = try cpuTicks(pid) - before
    #expect(used * 1000 / ticksPerSecond < 300, "the idle daemon used \(used) ticks in a second")
}
