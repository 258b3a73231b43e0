// Limits: every bound the harness keeps, each with the reason for its number.

/// The harness's bounds. Everything it does is finite in count and in time, so a hung daemon or a
/// runaway loop ends the run with a report instead of hanging CI.
enum Limits {
    /// Most concurrent client threads. 32 threads already saturate a small machine; more would
    /// only measure the scheduler.
    static let clientsMax = 32

    /// Most cycles one run may ask for (a week of cycles at ~0.5 s each).
    static let cyclesMax = 1_000_000

    /// Requests all clients may send in one cycle together. With at most one leg of a request per
    /// credit, a credit gains fewer than 1000 history entries in a cycle (this cap, plus at most
    /// `clientsMax` settled retries), so one `HISTORY limit=1000` always reaches back to the last
    /// entry checked in the previous cycle.
    static let requestsPerCycleMax = 900

    /// HISTORY returns at most this many entries per request (PROTOCOL.md §9, HISTORY).
    static let historyLimitMax = 1000

    /// Shortest and longest time (milliseconds) from the clients' start to the kill, unless
    /// `--kill-window-ms` says otherwise: long enough for requests to be in flight, short
    /// enough for 100 cycles in about a minute.
    static let killDelayMillisMin = 20
    static let killDelayMillisMax = 300

    /// How long a client keeps going after the planned kill before it stops by itself, should the
    /// kill not cut its connection (it always should).
    static let clientOvertimeSeconds = 10.0

    /// The wait for any one reply, and for a connect. A reply normally takes milliseconds; ten
    /// seconds covers a loaded CI machine without letting a stalled daemon hang the run.
    static let replyTimeoutSeconds = 10

    /// The wait for the daemon's `listening` log line after a (re)start. Recovery replays at most
    /// `snapshot_every` records, which takes well under a second; 30 s covers a cold cache.
    static let startSecondsMax = 30.0

    /// The wait for a graceful exit after SIGTERM (the daemon spends up to 2 s sending replies).
    static let stopSecondsMax = 15.0

    /// The wait for `creditd verify`, which replays one snapshot interval of journal.
    static let verifySecondsMax = 60.0

    /// Credits the workload creates at most: occasional ISSUEs stop here so that one cycle's
    /// BALANCE and HISTORY checks stay a few hundred requests.
    static let creditsMax = 100

    /// Pending holds above which the mix favours CAPTURE and VOID over HOLD, so holds do not pile
    /// up toward `holds_per_credit_max` (256 by default).
    static let pendingHoldsSoftMax = 48

    /// Acknowledged requests from earlier cycles retried after each restart, on top of all of this
    /// cycle's. The final cycle retries every acknowledged request of the run.
    static let olderRetriesPerCycle = 64

    /// Requests per pipelined batch during the checks: below the daemon's 1024 unanswered
    /// requests per connection (PROTOCOL.md §5), so a batch never waits on back-pressure.
    static let pipelineBatch = 256

    /// Snapshot interval written into the run's config unless `--snapshot-every` says otherwise:
    /// the daemon's minimum, so that a run crosses many snapshots and kills land during them.
    static let snapshotEveryDefault = 1000
}
