// Engine: turns request lines into ledger commands and reply bytes, journaling every change.

import CreditCore
import CreditCrypto
import CreditJournal
import CreditProtocol

/// Counters shown by STATS.
struct Counters {
    var requests = 0
    var errors = 0
    var connectionsOpen = 0
    var connectionsTotal = 0
    var connectionsRefused = 0
    /// TLS handshakes completed, and failed or timed out (the TLS port only).
    var tlsHandshakes = 0
    var tlsHandshakeFailures = 0
}

/// The single owner of the ledger. Runs on the event-loop thread only: requests are applied one
/// at a time in one order, so no interleaving of tills can break a hold invariant.
final class Engine {
    private(set) var ledger: Ledger
    let journal: JournalWriter
    private let hasher: KeyedHasher
    private let minter: Minter
    private let digests: Digests
    private var keys: KeyStore
    private let abuse = AbuseGuard()
    let snapshotter: Snapshotter
    /// LSN of the last entry applied to the ledger; a reply may be sent once the journal has made
    /// it durable, so no reply reveals state that a crash could still lose.
    private(set) var appliedLSN: UInt64
    /// LSN of the last record recovered at start: records after it were journaled by this process.
    let startLSN: UInt64
    var counters = Counters()
    /// Per-verb and per-error counters and latency histograms for STATS.
    let stats = RequestStats()
    /// Whether to log one line per request (`request_log`, reloaded on SIGHUP).
    var requestLog = false
    /// Where BACKUP writes; nil refuses BACKUP.
    var backupTarget: BackupTarget?
    /// What is known about the request being handled, for STATS and the request log.
    private var note = RequestNote()
    /// The array each request's canonical bytes are written into (`canonicalDigest`).
    private var canonicalScratch: [UInt8] = []
    /// Monotonic start time, for `uptime_seconds` (immune to wall-clock changes).
    let startedMillis = monotonicMillis()

    init(ledger: Ledger, journal: JournalWriter, appliedLSN: UInt64, hasher: KeyedHasher, cards: CardGenerator,
         keys: KeyStore, snapshotter: Snapshotter) {
        self.ledger = ledger
        self.journal = journal
        self.appliedLSN = appliedLSN
        self.startLSN = appliedLSN
        self.hasher = hasher
        self.minter = Minter(hasher: hasher, cards: cards)
        self.digests = Engine.makeDigests(hasher: hasher, minter: minter)
        self.keys = keys
        self.snapshotter = snapshotter
    }

    /// The verb slot (`RequestStats`) of the request handled last.
    var lastVerbSlot: Int { note.verb }
    /// What is known about the request handled last.
    var currentNote: RequestNote { note }

    /// Debug builds (the tests' daemon) check, as the event loop starts, that the engine holds
    /// the only copy of the ledger: a copy the start-up code kept (as `Server.run` once did, in
    /// a local living to the end of its scope) shared every table, so each table the engine
    /// changed was copied, and what the recovered ledger held stayed resident once the engine
    /// forgot it (refs that aged out).
    func assertLedgerHeldAlone() {
        assert(ledger.isHeldAlone(), "the engine's ledger is the only copy")
    }

    /// Handles one request line: appends its whole reply to `out`.
    func handle(line: ArraySlice<UInt8>, session: inout Session, out: inout [UInt8]) {
        counters.requests += 1
        note = RequestNote()
        let request: ParsedRequest
        switch RequestParser.parse(line) {
        case .failure(let error):
            stats.noteRequest(verb: note.verb)
            return fail(tag: error.tag, CreditError(.badRequest, error.message), out: &out)
        case .success(let parsed):
            request = parsed
        }
        if requestLog { note.request = request }
        let found = CommandTable.spec(request.verb)
        note.verb = found?.position ?? RequestStats.unknownVerbSlot
        stats.noteRequest(verb: note.verb)
        guard let spec = found else {
            return fail(tag: request.tag, CreditError(.unknownVerb, "unknown verb \(request.verb); try HELP"), out: &out)
        }
        if spec.roles != nil {
            guard let key = session.key else {
                return fail(tag: request.tag, CreditError(.notAuthenticated, "AUTH first"), out: &out)
            }
            guard keys.isEnabled(key.id) else {
                session.key = nil
                return fail(tag: request.tag, CreditError(.notAuthenticated, "key \(key.id) was disabled; AUTH again"), out: &out)
            }
            if let error = CommandTable.authorize(request, spec: spec, role: key.role) {
                return fail(tag: request.tag, error, out: &out)
            }
        }
        switch CommandTable.action(for: request, spec: spec, cards: digests) {
        case .failure(let error):
            fail(tag: request.tag, error, out: &out)
        case .success(.session(let verb)):
            handleSession(verb, request: request, session: &session, out: &out)
        case .success(.ledger(let command, let ref)):
            handleLedger(command, ref: ref, request: request, session: &session, out: &out)
        }
    }

    /// Answers a line that exceeded the length limit.
    func handleTooLong(out: inout [UInt8]) {
        counters.requests += 1
        note = RequestNote()
        stats.noteRequest(verb: note.verb)
        fail(tag: nil, CreditError(.lineTooLong, "request lines are limited to \(ProtocolLimits.lineBytesMax) bytes"), out: &out)
    }

    /// Installs new FX rates (SIGHUP). Pending holds keep the rates they were placed with.
    func reloadRates(_ rates: RateTable) {
        ledger.updateRates(rates)
    }

    /// Expires due holds; called before every command and on timer ticks.
    func sweep(now: Instant) {
        while let entry = ledger.sweep(now: now) { record(entry) }
    }

    /// Shrinks the ledger's mostly empty indexes (see `Ledger.shrinkSparseTables`).
    func shrinkSparseTables() {
        ledger.shrinkSparseTables()
    }

    private func handleLedger(_ command: Command, ref: Ref?, request: ParsedRequest, session: inout Session,
                              out: inout [UInt8]) {
        let key = session.key!
        let guesses = request.value("card") != nil || request.value("code") != nil
        if guesses && abuse.isThrottled(key: key.id.text, now: monotonicMillis()) {
            return fail(tag: request.tag, CreditError(.busy, "too many declined cards or codes from this key; wait a minute"), out: &out)
        }
        // Hashed first, with the ref index asked for its slots, so that they are in cache by
        // the time the ledger looks the ref up, after the HMAC below.
        let refHash = ref.map { ledger.prefetchRef(client: key.id, ref: $0) }
        let now = Instant.wallClock()
        sweep(now: now)
        // Most requests mint nothing; skipping the call spares copying the ledger to pass it.
        let (command, revelation) = Minter.mints(command) ? minter.prepare(command, ledger: ledger) : (command, Revelation())
        // Only a mutating request's fingerprint is ever stored or compared (for its ref), so reads
        // and requests without a ref skip the HMAC.
        let fingerprint = command.isMutating && ref != nil
            ? canonicalDigest(request)
            : Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
        let context = RequestContext(now: now, client: key.id, ref: ref, fingerprint: fingerprint, refHash: refHash)
        switch ledger.execute(command, context: context) {
        case .read(let reply, let entry):
            if let entry { record(entry) }
            encode(reply, tag: request.tag, out: &out)
        case .replayed(let reply):
            encode(reply, tag: request.tag, out: &out)
        case .refused(let error):
            noteRefusal(error, session: &session)
            fail(tag: request.tag, error, out: &out)
        case .refusedRecorded(let error, let entry):
            record(entry)
            noteRefusal(error, session: &session)
            fail(tag: request.tag, error, out: &out)
        case .applied(let entry, var reply):
            record(entry)
            revelation.reveal(in: &reply)
            encode(reply, tag: request.tag, out: &out)
        }
    }

    /// Counts declined cards and claim codes per connection and per key: a connection that keeps
    /// guessing is closed, a key that keeps guessing is throttled, and both are logged.
    private func noteRefusal(_ error: CreditError, session: inout Session) {
        guard error.code == .declined || error.code == .cardLocked, let key = session.key else { return }
        session.declines += 1
        if abuse.noteDecline(key: key.id.text, now: monotonicMillis()) {
            Log.write(.warn, "key throttled: too many declined cards or codes", ["key": key.id.text, "peer": session.peer])
        }
        if session.declines >= AbuseGuard.declinesPerConnectionMax {
            session.closing = true
            Log.write(.warn, "closing connection: too many declined cards or codes", ["key": key.id.text, "peer": session.peer])
        }
    }

    /// Installs a reloaded keys file (SIGHUP): removed keys stop working at their next request.
    func reloadKeys(_ store: KeyStore) {
        keys = store
    }

    private func handleSession(_ verb: SessionVerb, request: ParsedRequest, session: inout Session, out: inout [UInt8]) {
        switch verb {
        case .auth:
            if abuse.isBlocked(address: session.peer, now: monotonicMillis()) {
                session.closing = true
                return fail(tag: request.tag, CreditError(.authFailed, "too many failed AUTHs from this address; wait a minute"), out: &out)
            }
            var key = keys.authenticate(id: request.value("key")!, secret: request.value("secret")!)
            if let restricted = key, let why = restricted.restrictionFailure(peer: session.peer, terminal: request.value("terminal")) {
                Log.write(.warn, "auth refused by key restriction", ["key": restricted.id.text, "reason": why])
                key = nil
            }
            guard let key else {
                abuse.noteAuthFailure(address: session.peer, now: monotonicMillis())
                session.authFailures += 1
                if session.authFailures >= Session.authFailuresMax { session.closing = true }
                Log.write(.warn, "auth failed", ["key": request.value("key")!, "failures": String(session.authFailures)])
                return fail(tag: request.tag, CreditError(.authFailed, "unknown key or wrong secret"), out: &out)
            }
            session.key = key
            encode(Reply(fields: [Field("role", key.role.rawValue)]), tag: request.tag, out: &out)
        case .ping:
            encode(Reply(fields: []), tag: request.tag, out: &out)
        case .quit:
            session.closing = true
            encode(Reply(fields: []), tag: request.tag, out: &out)
        case .help:
            let items = CommandTable.verbs.map { spec in
                [Field("verb", spec.verb), Field("roles", spec.roles.map { roleList($0) } ?? "any"), Field("syntax", spec.syntax)]
            }
            encode(Reply(items: items, fields: [Field("count", String(items.count))]), tag: request.tag, out: &out)
        case .stats:
            encode(statsReply(), tag: request.tag, out: &out)
        case .backup:
            backup(tag: request.tag, out: &out)
        }
    }

    // MARK: Helpers

    /// Appends an entry to the journal (durable at the next group commit; the journal's writer
    /// thread encodes it) and snapshots when due.
    private func record(_ entry: Entry) {
        appliedLSN = journal.append(entry)
        snapshotter.noteRecord(lsn: appliedLSN, journal: journal, state: ledger.canonicalState)
    }

    /// The keyed digest of a request's canonical bytes (its fingerprint), made in an array kept
    /// for the purpose.
    private func canonicalDigest(_ request: ParsedRequest) -> Digest32 {
        CommandTable.canonicalBytes(request, into: &canonicalScratch)
        return hasher.digest(domain: "request", canonicalScratch)
    }

    /// The keyed digests the protocol layer needs. Text that is no card number or PIN still gets
    /// digests (of the text), which match nothing: the ledger declines it like an unknown card.
    private static func makeDigests(hasher: KeyedHasher, minter: Minter) -> Digests {
        Digests(
            card: { cardText, pinText in
                guard let number = CardNumber(cardText), let pin = PIN(pinText) else {
                    return .card(cardDigest: hasher.digest(domain: "invalid-card", Array(cardText.utf8)),
                                 pinDigest: hasher.digest(domain: "invalid-pin", Array(pinText.utf8)))
                }
                return .card(cardDigest: hasher.cardDigest(number), pinDigest: hasher.pinDigest(card: number, pin: pin))
            },
            cardNumber: { cardText in
                guard let number = CardNumber(cardText) else { return hasher.digest(domain: "invalid-card", Array(cardText.utf8)) }
                return hasher.cardDigest(number)
            },
            claimCode: { code in minter.claimDigest(code) })
    }

    private func roleList(_ roles: Set<Role>) -> String {
        Role.allCases.filter { roles.contains($0) }.map(\.rawValue).joined(separator: ",")
    }

    func fail(tag: String?, _ error: CreditError, out: inout [UInt8]) {
        counters.errors += 1
        note.error = error.code
        stats.noteError(error.code, verb: note.verb)
        ReplyEncoder.error(tag: tag, code: error.code.rawValue, message: error.message, into: &out)
    }

    func encode(_ reply: Reply, tag: String?, out: inout [UInt8]) {
        ReplyEncoder.reply(reply, tag: tag, into: &out)
    }
}
