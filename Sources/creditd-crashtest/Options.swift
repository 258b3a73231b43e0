// Options: the command line of creditd-crashtest.

import Foundation

let usage = """
    usage: creditd-crashtest --binary PATH --config PATH --data DIR [--cycles N] [--clients C]
               [--seed S] [--snapshot-every N] [--verify-every K] [--kill-window-ms MIN-MAX]
    Starts the creditd binary at PATH on the fresh data directory DIR (created; it must not
    exist or be empty) with a config derived from --config: listen = 127.0.0.1:0, data_dir =
    DIR, snapshot_every = N (default 1000). Each cycle, C client threads (default 6) send a
    seeded random mix of HOLD, CAPTURE, VOID, REFUND, ISSUE and retries; MIN-MAX ms (default
    20-300) after they start, the daemon is killed with SIGKILL, restarted on DIR, and checked:
    every acknowledged request replays its reply, every unacknowledged one was applied fully or
    not at all, the money adds up exactly per currency, and every credit's history chains.
    Every K cycles (default 10; 0 = never) `creditd verify` also checks the crashed directory
    before the restart; after the last cycle the daemon is stopped with SIGTERM and verified.
    Prints a line per cycle and `N passed, 0 failed` (default 100 cycles); exits 1 at the
    first failure with the seed that repeats its schedule. The client key is dev-admin unless
    CREDITD_KEY and CREDITD_SECRET name another admin key.
    """

/// The run's settings.
struct Options: Sendable {
    var binary = ""
    var config = ""
    var data = ""
    var cycles = 100
    var clients = 6
    var seed: UInt64 = 0
    var snapshotEvery = Limits.snapshotEveryDefault
    var verifyEvery = 10
    /// The range the kill delay is drawn from, in milliseconds after the clients start.
    var killWindowMillis = Limits.killDelayMillisMin...Limits.killDelayMillisMax
    var key = "dev-admin"
    var secret = "dev-admin-secret"

    private static let flags: Set<String> = ["--binary", "--config", "--data", "--cycles", "--clients", "--seed",
                                             "--snapshot-every", "--verify-every", "--kill-window-ms"]

    /// Parses `arguments` (without the program name) and the environment.
    static func parse(_ arguments: [String], environment: [String: String]) throws(UsageError) -> Options {
        var options = Options()
        var seed: UInt64?
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            if flag == "--help" || flag == "-h" { throw UsageError(usage, isHelp: true) }
            guard flags.contains(flag) else { throw UsageError("unknown option \(flag)\n\(usage)") }
            guard index + 1 < arguments.count else { throw UsageError("\(flag) needs a value\n\(usage)") }
            let value = arguments[index + 1]
            switch flag {
            case "--binary": options.binary = value
            case "--config": options.config = value
            case "--data": options.data = value
            case "--cycles": options.cycles = try number(flag, value, 1...Limits.cyclesMax)
            case "--clients": options.clients = try number(flag, value, 1...Limits.clientsMax)
            case "--seed":
                guard let parsed = UInt64(value) else { throw UsageError("--seed needs a whole number, got \(value)") }
                seed = parsed
            case "--snapshot-every": options.snapshotEvery = try number(flag, value, 1000...100_000_000)
            case "--verify-every": options.verifyEvery = try number(flag, value, 0...Limits.cyclesMax)
            case "--kill-window-ms": options.killWindowMillis = try window(value)
            default: throw UsageError("unknown option \(flag)\n\(usage)")
            }
            index += 2
        }
        guard !options.binary.isEmpty, !options.config.isEmpty, !options.data.isEmpty else {
            throw UsageError("--binary, --config and --data are required\n\(usage)")
        }
        if let key = environment["CREDITD_KEY"], let secret = environment["CREDITD_SECRET"] {
            options.key = key
            options.secret = secret
        }
        options.seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000_000
        return options
    }

    /// `MIN-MAX` milliseconds, within 1...10000.
    private static func window(_ value: String) throws(UsageError) -> ClosedRange<Int> {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], 1 <= low, low <= high, high <= 10_000 else {
            throw UsageError("--kill-window-ms must look like 20-300 (milliseconds, at most 10000), got \(value)")
        }
        return low...high
    }

    /// An integer option within its range.
    private static func number(_ flag: String, _ value: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let parsed = Int(value), range.contains(parsed) else {
            throw UsageError("\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return parsed
    }

    /// The command line that repeats this run's schedule up to `cycles` on a new data directory.
    func reproduceCommand(cycles: Int) -> String {
        "creditd-crashtest --binary \(binary) --config \(config) --data NEW_EMPTY_DIR --cycles \(cycles)"
            + " --clients \(clients) --seed \(seed) --snapshot-every \(snapshotEvery) --verify-every \(verifyEvery)"
            + " --kill-window-ms \(killWindowMillis.lowerBound)-\(killWindowMillis.upperBound)"
    }
}

/// A bad command line (or `--help`): the message is printed and the run ends.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    let isHelp: Bool

    init(_ description: String, isHelp: Bool = false) {
        self.description = description
        self.isHelp = isHelp
    }
}
