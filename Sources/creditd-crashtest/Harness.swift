// Harness: the cycles — run clients, kill -9 at a seeded moment, restart, check everything.

import CreditClient
import Foundation
import Glibc

/// One harness run: setup, `options.cycles` crash cycles, then a graceful stop and `verify`.
final class Harness {
    private let options: Options
    private var state = HarnessState()
    private var history = HistoryAudit()
    private var passed = 0
    /// The cycle running now (0 during setup), for the failure report.
    private var cycle = 0

    init(options: Options) {
        self.options = options
    }

    /// Runs everything and prints a line per cycle and the summary; returns the exit status.
    func run() -> Int32 {
        emit("creditd-crashtest: seed \(options.seed), \(options.cycles) cycles, \(options.clients) clients, kill after"
             + " \(options.killWindowMillis.lowerBound)-\(options.killWindowMillis.upperBound) ms, data \(absolute(options.data)),"
             + " binary \(options.binary)")
        var daemon: DaemonProcess?
        do throws(HarnessFailure) {
            let process = try DaemonProcess(options: options)
            daemon = process
            try process.start()
            try setup(process)
            for next in 1...options.cycles {
                cycle = next
                emit(try runCycle(next, process))
                passed += 1
            }
        } catch {
            daemon?.kill9()
            report(error, daemon)
            emit("\(passed) passed, 1 failed")
            return 1
        }
        daemon?.removeWorkDirectory()
        emit("\(passed) passed, 0 failed")
        return 0
    }

    /// Issues the starting credits; every reply must be OK.
    private func setup(_ daemon: DaemonProcess) throws(HarnessFailure) {
        let inspector = try Inspector(port: daemon.port, options: options)
        defer { inspector.close() }
        for request in Mix.setupRequests() {
            let reply = try inspector.send(request)
            guard reply.isOK else { throw HarnessFailure("setup", request: request.text, expected: "OK", actual: reply.text) }
            try state.take(reply, to: Operation(kind: .mutating, request: request), cycle: 0, check: "setup")
        }
    }

    /// One cycle: clients run until the kill, the daemon restarts, the checks run. Returns the
    /// cycle's line.
    private func runCycle(_ cycle: Int, _ daemon: DaemonProcess) throws(HarnessFailure) -> String {
        var random = SeededRandom(seed: options.seed, stream: UInt64(cycle), 0)
        var report = CycleReport(cycle: cycle, cycles: options.cycles)
        report.delayMillis = Int.random(in: options.killWindowMillis, using: &random)
        try runClients(cycle, daemon, delayMillis: report.delayMillis)
        report.count(state.sent)
        if options.verifyEvery > 0 && cycle % options.verifyEvery == 0 {
            try verify(daemon, when: "after the kill of cycle \(cycle), before the restart")
            report.notes.append("verify of the crashed data OK")
        }
        let restartStarted = Date()
        try daemon.start()
        report.restartMillis = millis(since: restartStarted)
        let checksStarted = Date()
        try check(cycle, daemon, random: &random, into: &report)
        report.checksMillis = millis(since: checksStarted)
        if cycle == options.cycles {
            try daemon.stop()
            try verify(daemon, when: "after SIGTERM following the last cycle")
            report.notes += ["SIGTERM exit 0, verify OK", daemon.dataSummary()]
        }
        return report.line(model: state.model)
    }

    /// The checks after a restart, in order: settle the lost replies (2), replay acknowledged
    /// requests (1), add up the money (3), audit the histories (4).
    private func check(_ cycle: Int, _ daemon: DaemonProcess, random: inout SeededRandom,
                       into report: inout CycleReport) throws(HarnessFailure) {
        let isLast = cycle == options.cycles
        let inspector = try Inspector(port: daemon.port, options: options)
        defer { inspector.close() }
        report.settled = try Checks.settle(&state, cycle: cycle, inspector: inspector)
        let candidates = Checks.replayCandidates(state, cycle: cycle, isLast: isLast, random: &random)
        try Checks.replay(candidates, inspector: inspector)
        report.retried = candidates.count
        let money = try Checks.money(state.model, inspector: inspector)
        report.moneyLines = money.lines
        report.entries = try history.check(state.model, appliedRefs: state.appliedRefs, balances: money.balances,
                                           all: isLast || cycle % 10 == 0, inspector: inspector)
    }

    /// Starts the client threads, kills the daemon after `delayMillis`, and waits for every
    /// client to notice and stop.
    private func runClients(_ cycle: Int, _ daemon: DaemonProcess, delayMillis: Int) throws(HarnessFailure) {
        state.sent = []
        let board = Board(state)
        let deadline = Date().addingTimeInterval(Double(delayMillis) / 1000 + Limits.clientOvertimeSeconds)
        let group = DispatchGroup()
        for index in 0..<options.clients {
            let client = Client(index: index, port: daemon.port, cycle: cycle, options: options, deadline: deadline)
            group.enter()
            let thread = Thread {
                client.run(on: board)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        usleep(UInt32(delayMillis) * 1000)
        let diedEarly = !daemon.isRunning
        daemon.kill9()
        let waitSeconds = Limits.clientOvertimeSeconds + Double(Limits.replyTimeoutSeconds) + 5
        guard group.wait(timeout: .now() + waitSeconds) == .success else {
            throw HarnessFailure(Check.daemon, expected: "every client stops once the daemon is killed",
                                 actual: "clients still running after \(Int(waitSeconds)) s")
        }
        state = board.snapshot
        if let failure = state.failure { throw failure }
        if diedEarly {
            throw HarnessFailure(Check.daemon, expected: "the daemon serves until the harness kills it",
                                 actual: "it exited by itself during cycle \(cycle); log tail:\n" + daemon.logTail())
        }
    }

    /// (5) `creditd verify` on the stopped daemon's data must exit 0.
    private func verify(_ daemon: DaemonProcess, when: String) throws(HarnessFailure) {
        let result = try daemon.verify()
        guard result.status == 0 else {
            throw HarnessFailure(Check.verify, request: "creditd verify --config \(daemon.configPath) --data \(daemon.dataDirectory) (\(when))",
                                 expected: "exit status 0", actual: "exit status \(result.status):\n" + result.output)
        }
    }

    /// Prints the failure with everything needed to look into it and to run its schedule again.
    private func report(_ error: HarnessFailure, _ daemon: DaemonProcess?) {
        emit("FAIL seed=\(options.seed) cycle=\(cycle == 0 ? "0 (setup)" : String(cycle))")
        emit(error.description)
        if let daemon {
            emit("data:     \(daemon.dataDirectory) (kept)")
            emit("config:   \(daemon.configPath)")
            emit("log:      \(daemon.logPath)")
            let tail = daemon.logTail(5)
            if !tail.isEmpty { emit("log tail:\n" + tail) }
        }
        if cycle > 0 { emit("reproduce the schedule: " + options.reproduceCommand(cycles: cycle)) }
    }
}

/// Writes a line to stdout at once (unbuffered), so a long run shows its progress through a pipe.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Whole milliseconds from `start` to `end`.
func millis(since start: Date, until end: Date = Date()) -> Int {
    Int(end.timeIntervalSince(start) * 1000)
}

/// What one cycle did, for its line.
struct CycleReport {
    let cycle: Int
    let cycles: Int
    var delayMillis = 0
    var sent = 0
    var ok = 0
    var refused = 0
    /// BALANCE reads and live replays whose reply was lost (nothing to settle).
    var lostReads = 0
    var settled = Settlement()
    var retried = 0
    var entries = 0
    var moneyLines: [String] = []
    var restartMillis = 0
    var checksMillis = 0
    var notes: [String] = []

    mutating func count(_ requests: [SentRequest]) {
        sent = requests.count
        ok = requests.filter { $0.reply?.isOK == true }.count
        refused = requests.filter { $0.reply.map { !$0.isOK } ?? false }.count
        lostReads = requests.filter { $0.reply == nil && !$0.operation.needsSettling }.count
    }

    func line(model: MoneyModel) -> String {
        let parts = [
            "cycle \(cycle)/\(cycles): killed after \(delayMillis) ms",
            "\(sent) sent: \(ok) OK, \(refused) ERR, \(settled.unacknowledged + lostReads) unacknowledged"
                + " (\(settled.applied) had been applied, \(settled.notApplied) had not, \(lostReads) reads or replays)",
            "\(retried) acknowledged retried, \(entries) history entries",
            "\(model.credits.count) credits, \(model.pending.count) pending holds",
        ] + moneyLines + ["restart \(restartMillis) ms, checks \(checksMillis) ms"] + notes + ["ok"]
        return parts.joined(separator: "; ")
    }
}
