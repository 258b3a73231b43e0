// Config: the daemon's settings, read from a `key = value` file with comments.

import CreditCore
import Foundation

/// Everything the daemon is configured with. Every key, its unit and its default are listed in
/// `Config/creditd.conf`.
public struct ServerConfig: Sendable {
    /// Address to listen on, `host:port`.
    public var listenHost = "127.0.0.1"
    /// Port to listen on (0 picks a free one and logs it).
    public var listenPort = 7878
    /// False after `listen = off`: no plaintext listener (only the TLS one serves).
    public var plainListenEnabled = true
    /// The TLS listener's settings (`listen_tls`, `tls_*`); by default there is none.
    public var tls = TLSSettings()
    /// Directory for the journal, snapshots and (by default) the server secret.
    public var dataDirectory = "data"
    /// File holding the server secret (HMAC key for card numbers and PINs).
    public var secretFile: String?
    /// File listing client keys: `id role sha256:<hex of secret>` per line.
    public var keysFile = "keys.dev"
    /// File listing currencies: `CODE DIGITS MAX_BALANCE` per line.
    public var currenciesFile = "currencies.conf"
    /// Most connections open at once; more are answered `ERR BUSY` and closed.
    public var connectionsMax = 1024
    /// Most connections open at once from one source address (a store's tills share one).
    public var connectionsPerAddressMax = 256
    /// A connection idle this long is closed.
    public var idleTimeout = Seconds(300)
    /// A line left unfinished this long closes the connection (slowloris defence).
    public var lineTimeout = Seconds(30)
    /// Hold TTL when a HOLD gives none.
    public var holdTTLDefault = Seconds(900)
    /// Longest hold TTL a HOLD may ask for.
    public var holdTTLMax = Seconds(7 * 86_400)
    /// How long refs are remembered for idempotent replay.
    public var refWindow = Seconds(7 * 86_400)
    /// Pending holds allowed on one credit at once.
    public var holdsPerCreditMax = 256
    /// Gift card number prefix (digits).
    public var cardPrefix = "6"
    /// Gift card number length, 16...19.
    public var cardLength = 16
    /// Gift card PIN length, 4...8.
    public var pinLength = 6
    /// Journal records between snapshots.
    public var snapshotEveryRecords = 100_000
    /// Microseconds the journal writer keeps polling for the next batch after committing a
    /// single record (and once at start), before it sleeps (0: it sleeps at once).
    public var journalSpinMicros = 300
    /// Microseconds the event loop keeps polling, instead of sleeping, while one connection's
    /// replies wait for a commit in flight, and again for its next request once answered (0: it
    /// sleeps at once).
    public var eventLoopSpinMicros = 500
    /// Most connections whose replies may wait for a commit in flight while the event loop
    /// polls for it; with more it sleeps.
    public var eventLoopSpinConnections = 1
    /// The CPU the journal writer thread runs on; nil leaves it to the scheduler.
    public var journalCPU: Int?
    /// File of FX rates, `FROM TO RATE` per line; nil means no conversions.
    public var ratesFile: String?
    /// Tax class reported for each credit type.
    public var taxClasses = LedgerPolicy.taxClassDefaults
    /// The order a profile's credits cover a sale in.
    public var tenderOrder = TenderOrder.standard
    /// What REFUND does onto a cancelled or expired credit.
    public var refundOntoClosed = RefundOntoClosed.refuse
    /// Wrong PINs in a row that lock a card.
    public var pinAttemptsMax = 3
    /// How long a locked card stays locked.
    public var pinLockout = Seconds(900)

    /// Least severe log level written; reloaded on SIGHUP.
    public var logLevel = LogLevel.info
    /// Whether to log one line per request; reloaded on SIGHUP.
    public var requestLog = false
    /// Directory BACKUP writes backups into; nil means `backups` in the data directory.
    public var backupDirectory: String?
    /// The file this configuration was read from, nil if built in code: SIGHUP reads it again
    /// for the settings that reload.
    public var sourcePath: String?

    /// The default configuration (paths relative to the working directory).
    public init() {}

    /// Where BACKUP writes: `backup_dir`, or `backups` in the data directory.
    public var backupPath: String { backupDirectory ?? dataDirectory + "/backups" }

    /// The secret file's path: `secret_file`, or `server.secret` in the data directory.
    public var secretPath: String { secretFile ?? dataDirectory + "/server.secret" }

    /// Reads a config file. Relative paths inside it are taken relative to the file's directory.
    public static func load(path: String) throws(ConfigError) -> ServerConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("cannot read config file \(path)")
        }
        let base = (path as NSString).deletingLastPathComponent
        var config = ServerConfig()
        config.sourcePath = path
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigError("\(path) line \(index + 1): expected `key = value`")
            }
            try config.set(parts[0], parts[1], base: base, place: "\(path) line \(index + 1)")
        }
        return config
    }

    private mutating func set(_ key: String, _ value: String, base: String, place: String) throws(ConfigError) {
        func resolved(_ path: String) -> String {
            path.hasPrefix("/") || base.isEmpty ? path : base + "/" + path
        }
        func integer(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw ConfigError("\(place): \(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        func duration() throws(ConfigError) -> Seconds {
            guard let seconds = Seconds(ttl: value) else {
                throw ConfigError("\(place): \(key) must be a duration like 30s, 15m, 2h or 7d")
            }
            return seconds
        }
        if try tls.set(key, value, resolved: resolved, place: place) { return }
        switch key {
        case "listen" where value == "off": plainListenEnabled = false
        case "listen": try setListen(value, place: place)
        case "data_dir": dataDirectory = resolved(value)
        case "secret_file": secretFile = resolved(value)
        case "keys_file": keysFile = resolved(value)
        case "currencies_file": currenciesFile = resolved(value)
        case "max_connections": connectionsMax = try integer(1...65_536)
        case "max_connections_per_address": connectionsPerAddressMax = try integer(1...65_536)
        case "idle_timeout": idleTimeout = try duration()
        case "line_timeout": lineTimeout = try duration()
        case "hold_ttl_default": holdTTLDefault = try duration()
        case "hold_ttl_max": holdTTLMax = try duration()
        case "ref_window": refWindow = try duration()
        case "holds_per_credit_max": holdsPerCreditMax = try integer(1...10_000)
        case "card_prefix": cardPrefix = value
        case "card_length": cardLength = try integer(16...19)
        case "pin_length": pinLength = try integer(4...8)
        case "snapshot_every": snapshotEveryRecords = try integer(1000...100_000_000)
        case "journal_spin_us": journalSpinMicros = try integer(0...10_000)
        case "event_loop_spin_us": eventLoopSpinMicros = try integer(0...10_000)
        case "event_loop_spin_connections": eventLoopSpinConnections = try integer(1...65_536)
        case "journal_cpu" where value == "none": journalCPU = nil
        case "journal_cpu": journalCPU = try integer(0...1023)
        case "rates_file": ratesFile = resolved(value)
        case "tax_class_gift", "tax_class_store", "tax_class_promo":
            guard ProfileID(value) != nil else { throw ConfigError("\(place): \(key) must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
            taxClasses[CreditType(rawValue: String(key.dropFirst("tax_class_".count)))!] = value
        case "log_level":
            guard let level = LogLevel(rawValue: value) else { throw ConfigError("\(place): log_level is debug, info, warn or error") }
            logLevel = level
        case "request_log":
            guard value == "on" || value == "off" else { throw ConfigError("\(place): request_log is on or off") }
            requestLog = value == "on"
        case "backup_dir": backupDirectory = resolved(value)
        case "pin_attempts_max": pinAttemptsMax = try integer(1...100)
        case "pin_lockout": pinLockout = try duration()
        case "refund_closed":
            guard let choice = RefundOntoClosed(rawValue: value) else {
                throw ConfigError("\(place): refund_closed is refuse or store_credit")
            }
            refundOntoClosed = choice
        case "tender_order":
            let keys = value.split(separator: ",").map { TenderKey(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            guard !keys.isEmpty, keys.allSatisfy({ $0 != nil }), Set(keys.map { $0! }).count == keys.count else {
                throw ConfigError("\(place): tender_order is a list of expiry, type, balance")
            }
            tenderOrder.keys = keys.map { $0! }
        case "tender_types":
            let types = value.split(separator: ",").map { CreditType(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            guard types.count == 3, types.allSatisfy({ $0 != nil }), Set(types.map { $0! }).count == 3 else {
                throw ConfigError("\(place): tender_types lists gift, store and promo once each, e.g. promo,store,gift")
            }
            tenderOrder.types = types.map { $0! }
        default: throw ConfigError("\(place): unknown key \(key)")
        }
        if holdTTLDefault > holdTTLMax {
            throw ConfigError("\(place): hold_ttl_default exceeds hold_ttl_max")
        }
    }

    /// Sets (and enables) the plaintext listen address from `host:port` (`[::1]:7878` for IPv6).
    public mutating func setListen(_ value: String, place: String) throws(ConfigError) {
        (listenHost, listenPort) = try ListenAddress.parse(value, key: "listen", place: place)
        plainListenEnabled = true
    }

    /// Sets the TLS listen address from `host:port`, or removes the TLS listener for `off`.
    public mutating func setListenTLS(_ value: String, place: String) throws(ConfigError) {
        _ = try tls.set("listen_tls", value, resolved: { $0 }, place: place)
    }

    /// Checks the listeners before start-up: at least one, and TLS keys that fit together.
    public func validateListeners() throws(ConfigError) {
        guard plainListenEnabled || tls.listen != nil else {
            throw ConfigError("no listener: listen = off needs listen_tls")
        }
        try tls.validate()
    }
}
