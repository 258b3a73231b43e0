// Server: start-up — read config and keys, recover the ledger, open the journal, listen, serve.

import CEpoll
import CreditCore
import CreditCrypto
import CreditJournal
import Foundation
import Glibc

/// The daemon, assembled from its configuration.
public enum Server {
    /// Starts the daemon and serves until SIGTERM/SIGINT. Returns normally after a graceful stop;
    /// throws (before serving) when configuration, keys, secret or recovery fail.
    public static func run(config: ServerConfig) throws {
        // Block the signals before any thread starts, so every thread inherits the mask and only
        // the event loop (through the signalfd) ever sees them.
        let signalFD = cepoll_signalfd()
        guard signalFD >= 0 else { throw ServerError("signalfd failed: \(errnoText())") }
        let policy = try loadPolicy(config)
        let tlsContext = try Listeners.loadTLSContext(config)
        let keys = try KeyStore.load(path: config.keysFile)
        if !keys.developmentKeyIDs.isEmpty {
            Log.write(.warn, "development keys enabled: never use this config in production",
                      ["keys": keys.developmentKeyIDs.joined(separator: ",")])
        }
        if let cpu = config.journalCPU {
            let allowed = cepoll_cpu_allowed(Int32(cpu))
            if allowed < 0 { throw ServerError("journal_cpu \(cpu): cannot read this process's CPUs: \(errnoText())") }
            if allowed == 0 { throw ServerError("journal_cpu \(cpu) is not a CPU this process may run on") }
        }
        try makeDataDirectory(config.dataDirectory)
        let lockFD = try lockDataDirectory(config.dataDirectory)
        defer { close(lockFD) }
        let secret = try ServerSecret.loadOrCreate(path: config.secretPath)
        let cards = try CardGenerator(prefix: config.cardPrefix, length: config.cardLength, pinLength: config.pinLength)
        let (ledger, lastLSN, snapshotLSN) = try Recovery.recover(directory: config.dataDirectory, policy: policy)
        // Replay's batches, and the refs it forgot on the way, leave freed memory behind.
        releaseFreedMemory(reason: "recovered")

        let wakeFD = cepoll_eventfd()
        guard wakeFD >= 0 else { throw ServerError("eventfd failed: \(errnoText())") }
        let journal = try JournalWriter(
            directory: config.dataDirectory, nextLSN: lastLSN + 1,
            idleSpin: .microseconds(config.journalSpinMicros),
            onThreadStart: { [journalCPU = config.journalCPU] thread in
                guard let cpu = journalCPU else { return }
                // The spare thread is made by the writer, so it starts pinned too: unpin it.
                let error = thread == .writer ? cepoll_pin_thread(Int32(cpu)) : cepoll_unpin_thread()
                if error != 0 {
                    Log.write(.warn, thread == .writer ? "journal_cpu not applied" : "journal spare thread left on journal_cpu",
                              ["cpu": String(cpu), "error": String(cString: strerror(error))])
                }
            },
            onDurable: { _ in var one: UInt64 = 1; _ = write(wakeFD, &one, 8) },
            onFatal: { message in fatal("journal failed, stopping without acknowledging: \(message)") },
            onWarning: { message in Log.write(.warn, "spare journal segments off", ["error": message]) })
        let snapshotter = Snapshotter(directory: config.dataDirectory, everyRecords: config.snapshotEveryRecords,
                                      recordsSince: Int(lastLSN - snapshotLSN), onFatal: { message in fatal(message) })
        // Consumed: a copy kept here (a local lives to the end of its scope) would share every
        // table with the engine's ledger, so each table the engine changed would be copied, and
        // what the recovered ledger held (refs that age out, after a restart all of them) would
        // stay resident once the engine forgot it.
        let engine = Engine(ledger: consume ledger, journal: journal, appliedLSN: lastLSN, hasher: KeyedHasher(secret: secret),
                            cards: cards, keys: keys, snapshotter: snapshotter)
        engine.backupTarget = BackupTarget(root: config.backupPath, secretPath: config.secretPath)
        applyLogSettings(config, engine: engine)

        let listeners = try Listeners.open(config, tlsContext: tlsContext)
        let loop = try EventLoop(engine: engine, config: config, listeners: listeners, wakeFD: wakeFD, signalFD: signalFD) {
            do {
                let rates = try loadRates(config, currencies: policy.currencies)
                let keys = try KeyStore.load(path: config.keysFile)
                let reread = try config.sourcePath.map { path throws(ConfigError) in try ServerConfig.load(path: path) }
                engine.reloadRates(rates)
                engine.reloadKeys(keys)
                if let reread { applyLogSettings(reread, engine: engine) }
                Log.write(.info, "reloaded", ["rates": String(rates.all.count), "keys": String(keys.count),
                                              "log_level": (reread ?? config).logLevel.rawValue,
                                              "request_log": engine.requestLog ? "on" : "off"])
            } catch {
                Log.write(.error, "reload failed; keeping the previous settings", ["error": "\(error)"])
            }
        }
        Log.write(.info, "listening",
                  listeners.logFields + [("credits", String(engine.ledger.creditCount)), ("lsn", String(lastLSN))])
        // Once more shortly after: a restart whose replay forgot most refs and holds was 330 MB
        // resident after a second `malloc_trim` and often 400 MB without it (BENCHMARKS.md). What
        // is freed after the first was not found. On a thread of its own, so that no request waits:
        // `malloc_trim` takes each arena's lock in turn, the engine's only briefly.
        DispatchQueue(label: "creditd.memory-release").asyncAfter(deadline: .now() + .seconds(2)) {
            releaseFreedMemory(reason: "started")
        }
        loop.run()
        journal.close()
        Log.write(.info, "stopped", ["lsn": String(engine.appliedLSN)])
    }

    /// Installs the settings SIGHUP reloads besides keys and rates: the log level and the request log.
    private static func applyLogSettings(_ config: ServerConfig, engine: Engine) {
        Log.setLevel(config.logLevel)
        engine.requestLog = config.requestLog
    }

    static func loadPolicy(_ config: ServerConfig) throws -> LedgerPolicy {
        guard let data = FileManager.default.contents(atPath: config.currenciesFile),
              let text = String(data: data, encoding: .utf8)
        else { throw ConfigError("cannot read currencies file \(config.currenciesFile)") }
        let currencies = try CurrencyTable.parse(text)
        return LedgerPolicy(currencies: currencies, holdTTLDefault: config.holdTTLDefault,
                            holdTTLMax: config.holdTTLMax, refWindow: config.refWindow,
                            holdsPerCreditMax: config.holdsPerCreditMax,
                            rates: try loadRates(config, currencies: currencies),
                            taxClasses: config.taxClasses, tenderOrder: config.tenderOrder,
                            refundOntoClosed: config.refundOntoClosed,
                            pinAttemptsMax: config.pinAttemptsMax, pinLockout: config.pinLockout)
    }

    /// Reads the FX rates file, if one is configured.
    static func loadRates(_ config: ServerConfig, currencies: CurrencyTable) throws -> RateTable {
        guard let path = config.ratesFile else { return RateTable() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("cannot read rates file \(path)")
        }
        do {
            return try RateTable.parse(text, currencies: currencies)
        } catch {
            throw ConfigError("\(path): \(error)")
        }
    }

    /// Takes an exclusive lock on the data directory for the life of the process: two daemons
    /// appending to one journal would corrupt it.
    private static func lockDataDirectory(_ path: String) throws -> Int32 {
        let fd = open(path + "/LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError("cannot open \(path)/LOCK: \(errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ServerError("data directory \(path) is in use by another creditd")
        }
        return fd
    }

    private static func makeDataDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ServerError("cannot create data directory \(path): \(errnoText())")
        }
    }
}
