// The ledger: the single owner of credits, holds and refs, changed only by applying entries.

/// Everything the ledger knows, in the form a snapshot stores. Indexes are derived from it.
public struct LedgerState: Equatable, Sendable {
    /// Credits by id (chunked, so a snapshot's copy never makes the engine copy them all).
    public var credits = NumberedTable<CreditID, Credit>()
    /// Holds by id: pending ones, and resolved ones until a ref window after their deadline
    /// (see `Ledger.forgetHolds`).
    public var holds = NumberedTable<HoldID, Hold>()
    /// Remembered refs, oldest first, packed as bytes; positions are stable while a ref is kept.
    public var refs = RefLog()
    /// The highest credit number issued.
    public var lastCreditNumber: UInt64 = 0
    /// The highest hold number issued.
    public var lastHoldNumber: UInt64 = 0
    /// The instant of the last applied entry; entries never go back in time.
    public var lastAt = Instant(millis: 0)
    /// Wrong-PIN counts and locks of card numbers that name no card, by card digest.
    public var decoys = ChunkedMap<Digest32, DecoyLock>()

    /// An empty ledger's state.
    public init() {}

    /// Adds a decoded credit under its id; false (changing nothing) if the id is taken. Not
    /// generic on purpose: a decoder in another module calling `credits.updateValue` got the
    /// table's unspecialised code, which looked up generic metadata on every call (7% of a 1M-card
    /// snapshot load).
    public mutating func insertDecoded(_ credit: Credit) -> Bool {
        guard !credits.contains(credit.id) else { return false }
        credits[credit.id] = credit
        return true
    }

    /// Adds a decoded hold under its id; false (changing nothing) if the id is taken.
    public mutating func insertDecoded(_ hold: Hold) -> Bool {
        guard !holds.contains(hold.id) else { return false }
        holds[hold.id] = hold
        return true
    }

    /// The pending holds with a leg on credit `id`, in the order they were placed (one entry per
    /// leg, as `Credit.pendingHoldCount` counts them). Looks through every hold kept: for audits,
    /// tests and snapshots, not for requests.
    public func pendingHolds(of id: CreditID) -> [HoldID] {
        pendingHoldsByCredit()[id] ?? []
    }

    /// `pendingHolds(of:)` of every credit that has any, in one pass through the holds.
    public func pendingHoldsByCredit() -> [CreditID: [HoldID]] {
        var found: [CreditID: [HoldID]] = [:]
        for hold in holds.values where hold.state == .pending {
            for leg in hold.legs { found[leg.credit, default: []].append(hold.id) }
        }
        return found
    }
}

/// The ledger. Pure: no clock, no randomness, no I/O. `execute` decides what a command does and
/// applies it; `apply` is the only code that changes state, used live and on journal replay.
public struct Ledger: Sendable {
    /// The configured rules.
    public private(set) var policy: LedgerPolicy
    /// The state (credits, holds, refs, counters).
    public private(set) var state: LedgerState
    /// Card digest → credit number, keyed by the digest's first word (see `creditID(forCard:)`).
    var cardIndex = HashIndex()
    var claimIndex: [Digest32: CreditID] = [:]
    var profileIndex: [ProfileID: [CreditID]] = [:]
    /// (client, ref) → position in `state.refs` of each remembered ref (see `refPosition`).
    /// Refs are scoped to the client key that sent them.
    var refIndex = HashIndex()
    var deadlines = DeadlineHeap<HoldID>()
    var creditExpiries = DeadlineHeap<CreditID>()
    var reverts = DeadlineHeap<CreditID>()
    /// Number of holds now pending, across all credits.
    public private(set) var pendingHoldCount = 0
    /// Holds numbered below this were forgotten (or never existed): `forgetHolds` goes on from here.
    private var holdsKeptFrom: UInt64 = 1
    /// `forgetHolds` can forget nothing while the ref window's cutoff is before this: the deadline
    /// of the hold it stopped at (a hold is forgotten only once resolved and its deadline is past
    /// the cutoff, and a hold's deadline never changes). The earliest instant when no hold was
    /// kept, since the next hold's deadline is not known yet.
    private var holdsKeptUntil = Instant(millis: .min)

    /// An empty ledger.
    public init(policy: LedgerPolicy) {
        self.init(policy: policy, state: LedgerState())
    }

    /// A ledger restored from a snapshot's state; indexes are rebuilt. `expectingRefs`: how many
    /// more refs are about to be remembered (the journal records replay is about to apply, as far
    /// as is known): the ref index is made that much larger at once, so that neither rebuilding it
    /// nor replay grows it, moving every entry, on the way (4.8% of replay's applying thread).
    public init(policy: LedgerPolicy, state: LedgerState, expectingRefs: Int = 0) {
        self.policy = policy
        self.state = state
        // An overflowing sum wraps negative, which `reserveCapacity` ignores.
        refIndex.reserveCapacity(state.refs.count.addingReportingOverflow(Swift.max(expectingRefs, 0)).partialValue)
        for credit in state.credits.values { index(credit) }  // in id order
        for hold in state.holds.values where hold.state == .pending {
            deadlines.insert(hold.deadline, hold.id)
            pendingHoldCount += 1
        }
        // Forgetting from number 1 finds the oldest hold kept, where the live ledger stood. A
        // snapshot from before holds were forgotten still has them all: this forgets what is due,
        // so the restored state is what replaying the journal from the start gives.
        forgetHolds(now: state.lastAt)
        // Read through a local copy of the log (one retain): a closure on `state.refs` calling a
        // method on `self` made the compiler copy the whole ledger for every ref.
        let refs = state.refs
        for position in refs.positions {
            let hash = refs.withKey(at: position) { Ledger.refHash($0, $1) }
            let old = refIndex.first(hash: hash) { refs.sameKey(at: Int($0), as: position) }
            pointRef(hash: hash, at: position, replacing: old.map { Int($0) })
        }
    }

    /// Replaces the FX rates (SIGHUP reload). Pending holds keep the rates they recorded.
    public mutating func updateRates(_ rates: RateTable) {
        policy.rates = rates
    }

    /// Number of credits.
    public var creditCount: Int { state.credits.count }

    /// Number of refs remembered.
    public var refCount: Int { state.refs.count }

    /// Gives each of its growing stores a spare from `supplier` (nil where none is ready) when it
    /// wants one: the ref log and the holds and credits tables a chunk once their last is half
    /// full, the ref index a table once a large growth is near (`RefLog.wantsSpareChunk`,
    /// `NumberedTable.wantsSpareChunk`, `HashIndex.spareCapacityWanted`). Replay calls this for
    /// every record with spares made on other threads, so that the thread applying records takes
    /// none of their page faults. `shrinkSparseTables()` drops an index table no growth used.
    ///
    /// One call, and the checks in here: replay's closure reading a property of the ledger it
    /// captured copied the whole ledger each time, and handing over a method of the supplier as
    /// a closure for each store cost about 300 instructions a record.
    public mutating func offerSpares(from supplier: some LedgerSpareSupplier) {
        if state.refs.wantsSpareChunk, let chunk = supplier.refChunk() { state.refs.giveSpareChunk(chunk) }
        if let capacity = refIndex.spareCapacityWanted, let table = supplier.refIndexTable(capacity: capacity) {
            refIndex.giveSpare(table)
        }
        if state.holds.wantsSpareChunk, let chunk = supplier.holdChunk() { state.holds.giveSpareChunk(chunk) }
        if state.credits.wantsSpareChunk, let chunk = supplier.creditChunk() { state.credits.giveSpareChunk(chunk) }
    }

    /// Shrinks the card and ref indexes if they are mostly empty (after refs aged out, say): they
    /// keep the size of their busiest moment otherwise. Rehashes what is left, which takes tens of
    /// milliseconds for millions of slots: call it where a pause is already taken.
    ///
    /// Also drops the deadlines of holds already resolved, which the sweep would otherwise pop
    /// one by one when they come due: replay never sweeps, so after it the heap held the deadline
    /// of every hold replayed, and the first sweep after a restart popped them all at once.
    ///
    /// And drops the spares replay gave (`offerSpares(from:)`) that nothing filled: the ref index's
    /// table (in `shrinkIfSparse`) and the holds and credits tables' chunks. The ref log keeps its
    /// spare chunk, as it keeps a chunk its refs left.
    public mutating func shrinkSparseTables() {
        refIndex.shrinkIfSparse()
        cardIndex.shrinkIfSparse()
        state.holds.dropSpareChunk()
        state.credits.dropSpareChunk()
        dropResolvedDeadlines()
    }

    /// Removes the deadlines of holds no longer pending from the heap, in time linear in its size.
    private mutating func dropResolvedDeadlines() {
        let holds = state.holds  // a read inside the closure would overlap the heap's modify of `self`
        deadlines.removeAll { holds[$0]?.state == .pending }
    }

    /// True when no other copy of this ledger exists: no copy shares its card and ref indexes
    /// (which, unlike its state, no snapshot takes). A copy kept beside the one that serves
    /// requests makes each table that one changes be copied, and keeps everything it forgets.
    public mutating func isHeldAlone() -> Bool {
        cardIndex.isHeldAlone() && refIndex.isHeldAlone()
    }

    /// Slots in the ref index (for tests of `shrinkSparseTables`).
    var refIndexCapacity: Int { refIndex.capacity }

    /// True when a card with this digest exists (the server draws another number if so).
    public func cardExists(_ cardDigest: Digest32) -> Bool {
        creditID(forCard: cardDigest) != nil
    }

    /// The credit whose card has this digest. The index holds the digest's first word (an HMAC
    /// output: uniform, and not choosable without the server secret); a hit is confirmed against
    /// the credit's own card digest.
    func creditID(forCard cardDigest: Digest32) -> CreditID? {
        cardIndex.first(hash: cardDigest.w0) { number in
            state.credits.withValueAddress(CreditID(number)) { $0.pointee.card?.cardDigest == cardDigest } ?? false
        }.map { CreditID($0) }
    }

    /// The position in `state.refs` of the ref `ref` remembered for `client`.
    func refPosition(client: ClientID, ref: Ref) -> Int? {
        refLookup(client: client, ref: ref, knownHash: nil).position
    }

    /// The hash and position of `ref` remembered for `client`, from the hash when it is given.
    func refLookup(client: ClientID, ref: Ref, knownHash: UInt64?) -> (hash: UInt64, position: Int?) {
        Ledger.refLookup(refIndex, state.refs, client: client, ref: ref, knownHash: knownHash)
    }

    /// Hashes a request's client and ref and asks the CPU for where the ref index keeps that
    /// hash, so that `execute` (given the hash in `RequestContext.refHash`) finds the slots in
    /// cache: with a million refs remembered, the index's lookup and insert, each a cache miss,
    /// were a twentieth of the engine thread's time. A hint: it changes nothing (`mutating` only
    /// so that the engine calls it on its ledger in place: a non-mutating call copied the ledger,
    /// retaining and releasing every table, which cost more than the hash).
    public mutating func prefetchRef(client: ClientID, ref: Ref) -> UInt64 {
        let hash = Ledger.refHash(client: client, ref: ref)
        refIndex.prefetch(hash: hash)
        return hash
    }

    /// The ref index's hash of a client and a ref, and the position of the record remembered for
    /// them in `refs`. Static, with the index and the log borrowed: done inside `remember`
    /// (mutating), the closures below made the compiler copy the whole ledger for every ref
    /// remembered, a fifth of replay's applying, and as a non-mutating method called from
    /// there it still copied the ledger's 408 bytes every time.
    /// `knownHash`, when given, is their hash already (`PreparedEntry.refHash`).
    private static func refLookup(_ refIndex: borrowing HashIndex, _ refs: borrowing RefLog, client: ClientID, ref: Ref,
                                  knownHash: UInt64? = nil) -> (hash: UInt64, position: Int?) {
        var clientText = client.text
        var refText = ref.text
        return clientText.withUTF8 { client in
            refText.withUTF8 { ref in
                let (client, ref) = (UnsafeRawBufferPointer(client), UnsafeRawBufferPointer(ref))
                let hash = knownHash ?? Ledger.refHash(client, ref)
                assert(knownHash == nil || knownHash == Ledger.refHash(client, ref), "a known ref hash is its client's and ref's")
                // A hash hit is confirmed against the remembered record's client and ref bytes.
                let position = refIndex.first(hash: hash) { position in
                    refs.withKey(at: Int(position)) { $0.elementsEqual(client) && $1.elementsEqual(ref) }
                }
                return (hash, position.map { Int($0) })
            }
        }
    }

    /// `refHash` of a client and a ref.
    static func refHash(client: ClientID, ref: Ref) -> UInt64 {
        var clientText = client.text
        var refText = ref.text
        return clientText.withUTF8 { client in
            refText.withUTF8 { ref in Ledger.refHash(UnsafeRawBufferPointer(client), UnsafeRawBufferPointer(ref)) }
        }
    }

    /// Points the ref index's entry for a client and ref (whose hash is `hash`) at `position`,
    /// removing the entry at `old`, the position of an earlier record for the same client and
    /// ref (as assigning to a dictionary key would replace it).
    private mutating func pointRef(hash: UInt64, at position: Int, replacing old: Int?) {
        if let old { refIndex.remove(hash: hash, value: UInt64(old)) }
        refIndex.insert(hash: hash, value: UInt64(position))
    }

    /// The ref index's hash of a client's and a ref's UTF-8 bytes (seeded per process, like every
    /// `Hasher`; the index is rebuilt at each start). The client's length goes first, so moving
    /// bytes between client and ref changes the hash.
    static func refHash(_ client: UnsafeRawBufferPointer, _ ref: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(client.count)
        hasher.combine(bytes: client)
        hasher.combine(bytes: ref)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// True when a pending claim code has this digest (the server draws another code if so).
    public func claimExists(_ claimDigest: Digest32) -> Bool {
        claimIndex[claimDigest] != nil
    }

    /// The earliest pending deadline (a hold's, a credit's expiry, a smart card's revert),
    /// possibly stale: the sweep skips what was resolved meanwhile.
    public var nextDeadline: Instant? {
        [deadlines.first?.deadline, creditExpiries.first?.deadline, reverts.first?.deadline].compactMap { $0 }.min()
    }

    /// The state in canonical form, for snapshots and for comparing a replayed ledger with a
    /// live one. Forgotten refs are already gone, so this is the state itself: a cheap copy
    /// (its tables are chunked) that the engine may go on changing without a stall.
    public var canonicalState: LedgerState { state }

    /// Applies an entry: the only way state changes. Entries come from `execute` or `sweep` live,
    /// and from the journal on replay; invariant violations stop the process.
    public mutating func apply(_ entry: Entry) {
        apply(entry, packedReply: nil)
    }

    /// Applies a live entry whose ref `execute` has already hashed.
    mutating func apply(_ entry: Entry, refHash: UInt64) {
        apply(entry, packedReply: nil, refHash: refHash)
    }

    /// Applies an entry decoded from the journal, with what its decoding thread prepared.
    /// `inout` only so that it is passed where it lies (it is not changed): replay lends each
    /// record in place, and passed by value from there each was copied first (161 bytes, the
    /// first read of memory the decoding thread's core had just written).
    public mutating func apply(_ prepared: inout PreparedEntry) {
        apply(prepared.entry, packedReply: prepared.packedReply, refHash: prepared.refHash)
    }

    /// Asks the CPU for the memory that applying `prepared` will start from: the table slots of
    /// the credit its hold changes and of the hold it resolves, and its ref's index slot. A hint
    /// that changes nothing; replay calls it a few entries ahead of `apply`, so that these random
    /// reads, each a cache miss in a large ledger, overlap with applying the entries before.
    ///
    /// `mutating` though it changes nothing: called on a variable captured by a closure (as
    /// replay does), a non-mutating method got a copy of the whole ledger, retaining and
    /// releasing each of its tables, on every call. `prepared` is `inout` for the reason it is
    /// in `apply(_:)`.
    public mutating func prefetch(for prepared: inout PreparedEntry) {
        if let hash = prepared.refHash { refIndex.prefetch(hash: hash) }
        if let id = prepared.heldCredit { state.credits.prefetch(id) }
        if let id = prepared.resolvedHold { state.holds.prefetch(id) }
    }

    /// The second look ahead at a record, closer to its `apply` than `prefetch(for:)`'s: asks for
    /// what the slots that asked for refer to, now that those slots are likely in cache, so that
    /// reading where they point costs no wait: a resolved hold's first credit's slot. A hint: it
    /// changes nothing. (It asked for a held credit's history too, whose first read was 9% of
    /// replay's applying thread, until appending stopped reading a history: `ActivityLog`.)
    public mutating func prefetchFurther(for prepared: inout PreparedEntry) {
        if let id = prepared.resolvedHold {
            if let credit = state.holds.withValueAddress(id, { $0.pointee.legs.firstCredit }) { state.credits.prefetch(credit) }
        }
    }

    /// Applies an entry; `packedReply` is its idempotency record's reply packed, if already done,
    /// and `refHash` its ref's hash, if known.
    private mutating func apply(_ entry: Entry, packedReply: [UInt8]?, refHash: UInt64? = nil) {
        let context = ApplyContext(at: entry.at, ref: entry.idempotency?.ref)
        // Each event read where it lies: a loop over the array copied every event (then 264 bytes,
        // and a retain and release of what it holds) before applying it.
        entry.events.withUnsafeBufferPointer { events in
            for index in events.indices { apply(events.baseAddress! + index, context) }
        }
        if let record = entry.idempotency { remember(record, at: entry.at, packedReply: packedReply, refHash: refHash) }
        if entry.at > state.lastAt { state.lastAt = entry.at }
        pruneRefs(now: state.lastAt)
        forgetHolds(now: state.lastAt)
    }

    private mutating func apply(_ event: UnsafePointer<Event>, _ context: ApplyContext) {
        switch event.pointee {
        case .issued(let issued): applyIssued(issued, context)
        case .held(let placed): applyHeld(placed, context)
        case .captured(let id, let legs): resolve(id, to: .captured, captured: legs, context)
        case .voided(let id): resolve(id, to: .voided, captured: nil, context)
        case .expired(let id): resolve(id, to: .expired, captured: nil, context)
        case .refunded(let id, let amount): applyRefund(id, amount, context)
        case .frozen(let id, let reason): changeStatus(id, from: [.active], to: .frozen, kind: .freeze, reason, context)
        case .unfrozen(let id, let reason): changeStatus(id, from: [.frozen], to: .active, kind: .unfreeze, reason, context)
        case .cancelled(let id, let reason):
            changeStatus(id, from: [.inactive, .active, .frozen], to: .cancelled, kind: .cancel, reason, context)
        case .creditExpired(let id):
            changeStatus(id, from: [.inactive, .active, .frozen], to: .expired, kind: .breakage, nil, context)
        case .loaded(let id, let amount, let activate): applyLoad(id, amount, activate: activate, context)
        case .cardReplaced(let id, let keys): applyReplace(id, keys, context)
        case .transferred(let id, let profile, let claimed): applyTransfer(id, to: profile, claimed: claimed, context)
        case .split(let id, let newID, let amount, let profile): applySplit(id, into: newID, amount, to: profile, context)
        case .reverted(let id): applyRevert(id, context)
        case .reversal(let id, let delta): applyReversal(id, delta, context)
        case .tombstone(let client, let ref):
            let record = IdempotencyRecord(client: client, ref: ref, fingerprint: Digest32(w0: 0, w1: 0, w2: 0, w3: 0),
                                           reply: Reply(fields: []), action: .tombstone)
            remember(record, at: context.at, packedReply: nil)
        case .cardDeclined(let id?):
            let (attemptsMax, lockout) = (policy.pinAttemptsMax, policy.pinLockout)
            modifyCredit(id) { credit in
                credit.pinFailures += 1
                if credit.pinFailures >= attemptsMax {
                    credit.pinFailures = 0
                    credit.lockedUntil = context.at.adding(lockout)
                    credit.record(.lock, .zero, context, reason: "\(attemptsMax) wrong PINs")
                }
            }
        case .cardDeclined(nil):
            break  // written before decoy locks: an unknown card, recorded and nothing more
        case .unknownCardDeclined(let cardDigest):
            applyUnknownCardDeclined(cardDigest, at: context.at)
        case .pinReset(let id):
            modifyCredit(id) { credit in
                // Lifting a lock still in force is an UNLOCK; a lock that ran out just clears.
                if let until = credit.lockedUntil, context.at < until { credit.record(.unlock, .zero, context) }
                credit.pinFailures = 0
                credit.lockedUntil = nil
            }
        case .markReversed(let client, let ref):
            guard let index = refPosition(client: client, ref: ref) else { preconditionFailure("reversing an unknown ref") }
            state.refs.markReversed(at: index)
        }
    }

    private mutating func remember(_ record: IdempotencyRecord, at: Instant, packedReply: [UInt8]?, refHash: UInt64? = nil) {
        // Hashed and looked up from the record's own strings, before the append: reading the key
        // back from the log inside a closure on `state.refs` made the compiler copy the whole log
        // value (and retain and release its arrays) for every ref replayed.
        let (hash, old) = Ledger.refLookup(refIndex, state.refs, client: record.client, ref: record.ref, knownHash: refHash)
        let position = state.refs.append(record, at: at, packedReply: packedReply)
        pointRef(hash: hash, at: position, replacing: old)
    }

    private mutating func applyIssued(_ issued: IssuedCredit, _ context: ApplyContext) {
        guard let currency = policy.currencies[issued.currency] else {
            preconditionFailure("journal names currency \(issued.currency), which is not configured")
        }
        precondition(!state.credits.contains(issued.credit), "credit issued twice")
        let total = issued.amount + issued.bonus
        let stock = issued.status == .inactive
        precondition(stock ? total == .zero : issued.amount.value > 0, "stock cards start empty, others do not")
        precondition(issued.bonus >= .zero && total <= currency.balanceMax, "issue amount in range")
        var history = ActivityLog()
        history.append(kind: stock ? .stock : .issue, at: context.at, amount: issued.amount,
                       balanceAfter: issued.amount, hold: nil, ref: context.ref, sale: nil, reason: nil)
        if issued.bonus > .zero {
            history.append(kind: .bonus, at: context.at, amount: issued.bonus, balanceAfter: total, hold: nil,
                           ref: context.ref, sale: nil, reason: nil)
        }
        let credit = Credit(
            id: issued.credit, type: issued.type, currency: currency, balance: total, held: .zero,
            status: issued.status, expires: issued.expires, profile: issued.profile, card: issued.card,
            marketing: issued.bonus, campaign: issued.campaign, purchaser: issued.purchaser, claim: issued.claim,
            revertAt: issued.revertAt, batch: issued.batch, pendingHoldCount: 0, activityLog: history)
        if let card = issued.card { precondition(creditID(forCard: card.cardDigest) == nil, "card digest issued twice") }
        index(credit)
        state.credits[issued.credit] = consume credit  // moved, not copied and destroyed
        state.lastCreditNumber = max(state.lastCreditNumber, issued.credit.number)
    }

    /// Adds a credit to the card, profile and expiry indexes.
    private mutating func index(_ credit: Credit) {
        if let card = credit.card { cardIndex.insert(hash: card.cardDigest.w0, value: credit.id.number) }
        if let claim = credit.claim { claimIndex[claim] = credit.id }
        if let profile = credit.profile { profileIndex[profile, default: []].append(credit.id) }
        if let expires = credit.expires, [.inactive, .active, .frozen].contains(credit.status) {
            creditExpiries.insert(expires.endInstant, credit.id)
        }
        if let revertAt = credit.revertAt { reverts.insert(revertAt, credit.id) }
    }

    private mutating func applyHeld(_ placed: PlacedHold, _ context: ApplyContext) {
        precondition(!state.holds.contains(placed.hold), "hold placed twice")
        precondition(!placed.legs.isEmpty && placed.legs.count <= LedgerPolicy.legsMax, "hold has 1...legsMax legs")
        for leg in placed.legs {
            precondition(leg.amount.value > 0 && leg.covers.value > 0, "hold legs are positive")
            modifyCredit(leg.credit) { credit in
                credit.held += leg.amount
                precondition(credit.available >= .zero, "a hold may never overdraw a credit")
                credit.addPendingHold()
                credit.record(.hold, leg.amount, context, hold: placed.hold)
            }
        }
        let hold = Hold(id: placed.hold, currency: placed.currency, requested: placed.requested, legs: HoldLegs(placed.legs),
                        deadline: placed.deadline, state: .pending)
        precondition(hold.amount <= placed.requested, "a hold never covers more than requested")
        state.holds[placed.hold] = hold
        state.lastHoldNumber = max(state.lastHoldNumber, placed.hold.number)
        deadlines.insert(placed.deadline, placed.hold)
        pendingHoldCount += 1
    }

    private mutating func resolve(_ id: HoldID, to outcome: HoldState, captured: [CapturedLeg]?, _ context: ApplyContext) {
        precondition(state.holds.contains(id), "resolving unknown hold \(id)")
        // Changed where it lies (through the table's `_modify`), then its legs read from a copy:
        // taking the hold out of its table and putting it back moved it twice (3% of replay's
        // applying thread). By index: iterating the legs while setting amounts would share their
        // array and make each change copy it.
        let (legs, currency) = { (hold: inout Hold) -> (HoldLegs, String?) in
            precondition(hold.state == .pending, "a hold resolves once")
            precondition(captured == nil || captured!.count == hold.legs.count, "one captured amount per leg")
            hold.state = outcome
            for index in 0..<hold.legs.count {
                let amount = captured?[index].amount ?? .zero
                precondition(amount >= .zero && amount <= hold.legs[index].amount, "captured ≤ held")
                hold.setCaptured(amount, at: index)
            }
            // The sale's currency only where a capture's history needs it (a leg with a rate).
            return (hold.legs, captured != nil && hold.legs.contains { $0.rate != nil } ? hold.currency : nil)
        }(&state.holds[id]!)
        pendingHoldCount -= 1
        for index in 0..<legs.count {
            let leg = legs[index]
            let take = captured?[index]
            let amount = take?.amount ?? .zero
            modifyCredit(leg.credit) { credit in
                credit.held -= leg.amount
                credit.balance -= amount
                credit.marketing -= min(credit.marketing, amount)
                if amount > .zero { credit.revertAt = nil }
                precondition(credit.held >= .zero && credit.available >= .zero, "available = balance − held ≥ 0")
                credit.removePendingHold()
                switch outcome {
                case .captured where amount == .zero:
                    credit.record(.void, leg.amount, context, hold: id)  // the capture did not reach this leg
                case .captured:
                    let sale = leg.rate.map { SaleAmount(amount: take!.covers, currency: currency!, rate: $0) }
                    credit.record(.capture, amount, context, hold: id, sale: sale)
                case .voided: credit.record(.void, leg.amount, context, hold: id)
                case .expired: credit.record(.expire, leg.amount, context, hold: id)
                case .pending: preconditionFailure("resolving to pending")
                }
            }
        }
        // A smart card whose revert waited for its holds is due again once the last resolves.
        for leg in legs {
            // Read where the credit lies: a `modifyCredit` access to read two fields cost a
            // uniqueness check of its table and chunk.
            let due = state.credits.withValueAddress(leg.credit) { credit in
                credit.pointee.pendingHoldCount == 0 ? credit.pointee.revertAt : nil
            } ?? nil
            if let due { reverts.insert(due, leg.credit) }
        }
        // A resolved hold's deadline stays in the heap until the sweep pops it: with the default
        // 15-minute holds, every hold of the last quarter hour, 16 bytes each (430 MB at 30k
        // holds a second). Dropped once they are most of the heap, so it stays within about twice
        // the pending holds; with few pending, each drop rebuilds a few thousand entries.
        if deadlines.count > 2 * pendingHoldCount + DeadlineHeap<HoldID>.keptCapacityMin { dropResolvedDeadlines() }
    }

    private mutating func applyRefund(_ id: CreditID, _ amount: MinorUnits, _ context: ApplyContext) {
        modifyCredit(id) { credit in
            precondition(amount.value > 0 && credit.balance + amount <= credit.currency.balanceMax, "refund in range")
            precondition(credit.status == .active || credit.status == .frozen, "refund onto a usable credit")
            credit.balance += amount
            credit.record(.refund, amount, context)
        }
    }

    private mutating func changeStatus(_ id: CreditID, from allowed: Set<CreditStatus>, to status: CreditStatus,
                                       kind: ActivityKind, _ reason: String?, _ context: ApplyContext) {
        modifyCredit(id) { credit in
            precondition(allowed.contains(credit.status), "status change \(credit.status) → \(status) not allowed")
            credit.status = status
            var amount = MinorUnits.zero
            if status == .cancelled || status == .expired {
                precondition(credit.pendingHoldCount == 0, "a credit closes with no pending holds")
                amount = credit.balance
                credit.balance = .zero
                credit.marketing = .zero
            }
            credit.record(kind, amount, context, reason: reason)
        }
    }

    private mutating func applyLoad(_ id: CreditID, _ amount: MinorUnits, activate: Bool, _ context: ApplyContext) {
        modifyCredit(id) { credit in
            precondition(credit.status == (activate ? .inactive : .active), "load onto an active card, activate a stock card")
            precondition(amount.value > 0 && credit.balance + amount <= credit.currency.balanceMax, "load in range")
            if activate { credit.status = .active }
            credit.balance += amount
            credit.record(.load, amount, context)
        }
    }

    private mutating func applyReplace(_ id: CreditID, _ keys: CardKeys, _ context: ApplyContext) {
        precondition(creditID(forCard: keys.cardDigest) == nil, "replacement card digest is new")
        guard let old = state.credits[id]?.card else { preconditionFailure("only a card can be replaced") }
        cardIndex.remove(hash: old.cardDigest.w0, value: id.number)
        cardIndex.insert(hash: keys.cardDigest.w0, value: id.number)
        modifyCredit(id) { credit in
            credit.card = keys
            credit.pinFailures = 0  // a new card has a new PIN: old wrong guesses and locks are moot
            credit.lockedUntil = nil
            credit.record(.replace, .zero, context)
        }
    }

    private mutating func applyTransfer(_ id: CreditID, to profile: ProfileID, claimed: Bool, _ context: ApplyContext) {
        guard let current = state.credits[id] else { preconditionFailure("unknown credit \(id)") }
        if let old = current.profile { profileIndex[old]?.removeAll { $0 == id } }
        profileIndex[profile, default: []].append(id)
        if claimed {
            guard let claim = current.claim else { preconditionFailure("claiming a credit with a claim code") }
            claimIndex[claim] = nil
        }
        modifyCredit(id) { credit in
            credit.profile = profile
            if claimed { credit.claim = nil }
            credit.record(.transfer, .zero, context, reason: "to \(profile)")
        }
    }

    private mutating func applySplit(_ id: CreditID, into newID: CreditID, _ amount: MinorUnits, to profile: ProfileID,
                                     _ context: ApplyContext) {
        precondition(!state.credits.contains(newID), "split into a new credit")
        var source: Credit?
        modifyCredit(id) { credit in
            precondition(amount.value > 0 && amount <= credit.available, "split within available")
            credit.balance -= amount
            credit.marketing -= min(credit.marketing, amount)
            credit.record(.split, amount, context, reason: "to \(newID)")
            source = credit
        }
        var credit = Credit(id: newID, type: .gift, currency: source!.currency, balance: amount, held: .zero,
                            status: .active, expires: source!.expires, profile: profile, card: nil,
                            pendingHoldCount: 0, history: [])
        credit.record(.splitIn, amount, context, reason: "from \(id)")
        state.credits[newID] = credit
        state.lastCreditNumber = max(state.lastCreditNumber, newID.number)
        index(credit)
    }

    private mutating func applyRevert(_ id: CreditID, _ context: ApplyContext) {
        guard let current = state.credits[id], let purchaser = current.purchaser else {
            preconditionFailure("revert needs a purchaser")
        }
        precondition(current.pendingHoldCount == 0 && current.revertAt != nil, "revert an unused smart card")
        if let card = current.card { cardIndex.remove(hash: card.cardDigest.w0, value: id.number) }
        if let claim = current.claim { claimIndex[claim] = nil }
        if let old = current.profile { profileIndex[old]?.removeAll { $0 == id } }
        profileIndex[purchaser, default: []].append(id)
        modifyCredit(id) { credit in
            credit.card = nil
            credit.claim = nil
            credit.revertAt = nil
            credit.profile = purchaser
            credit.record(.revert, credit.balance, context, reason: "to \(purchaser)")
        }
    }

    private mutating func applyReversal(_ id: CreditID, _ delta: MinorUnits, _ context: ApplyContext) {
        modifyCredit(id) { credit in
            credit.balance += delta
            credit.marketing = min(credit.marketing, credit.balance)
            precondition(credit.available >= .zero && credit.balance <= credit.currency.balanceMax, "reversal in range")
            credit.record(.reversal, delta, context)
        }
    }

    private mutating func modifyCredit(_ id: CreditID, _ body: (inout Credit) -> Void) {
        precondition(state.credits.contains(id), "unknown credit \(id)")
        body(&state.credits[id]!)
    }

    /// Applies an unknown card's declined attempt: a wrong PIN on a card whose PIN is always wrong.
    private mutating func applyUnknownCardDeclined(_ cardDigest: Digest32, at: Instant) {
        var decoy = state.decoys[cardDigest] ?? DecoyLock(failures: 0, lockedUntil: nil, lastFailureAt: at)
        decoy.failures += 1
        decoy.lastFailureAt = at
        if decoy.failures >= policy.pinAttemptsMax {
            decoy.failures = 0
            decoy.lockedUntil = at.adding(policy.pinLockout)
        }
        state.decoys[cardDigest] = decoy
        if state.decoys.count > policy.decoysMax { pruneDecoys(now: at) }
    }

    /// Bounds the decoy table. First forgets decoys that behave like numbers never tried (exact:
    /// nothing observable changes); if that is not enough, forgets the least recently tried down
    /// to nine tenths of the cap, so the sort runs once per tenth of the cap new numbers.
    /// Deterministic: depends only on applied entries, so replay prunes alike.
    private mutating func pruneDecoys(now: Instant) {
        for digest in state.decoys.keys where state.decoys[digest]!.isSpent(at: now) { state.decoys[digest] = nil }
        let keep = policy.decoysMax - policy.decoysMax / 10
        guard state.decoys.count > keep else { return }
        let oldest = state.decoys.keys.map { ($0, state.decoys[$0]!.lastFailureAt) }.sorted { a, b in
            if a.1 != b.1 { return a.1 < b.1 }
            return (a.0.w0, a.0.w1, a.0.w2, a.0.w3) < (b.0.w0, b.0.w1, b.0.w2, b.0.w3)
        }
        for (digest, _) in oldest.prefix(state.decoys.count - keep) { state.decoys[digest] = nil }
    }

    /// Forgets resolved holds whose deadline is a ref window past, oldest number first, stopping at
    /// the first hold that must stay (pending, or not that old): without this, every hold ever
    /// placed stayed in memory. A hold resolves before or at its deadline, and the refs of the
    /// HOLD and of its CAPTURE or VOID were made before it too, so they are forgotten first:
    /// REVERSE, which finds a hold through its ref, never meets a forgotten one. A long hold
    /// (up to `hold_ttl_max`) keeps the holds numbered after it until it is forgotten itself.
    /// Deterministic: depends only on applied entries, so replay forgets alike.
    private mutating func forgetHolds(now: Instant) {
        let cutoff = refWindowCutoff(now: now)
        // Checked after every entry applied: looking the kept hold up each time was 3% of the
        // instructions of replaying HOLDs and CAPTUREs, and a tenth of the time sampled there.
        guard cutoff >= holdsKeptUntil else { return }
        let start = holdsKeptFrom
        holdsKeptFrom = state.lastHoldNumber + 1  // unless a hold must stay, below
        holdsKeptUntil = Instant(millis: .min)
        // Hold by hold, not number by number: a restored state may have long gaps between them.
        var from = HoldID(start)
        while let id = state.holds.firstID(atOrAbove: from) {
            let hold = state.holds[id]!
            if hold.state == .pending || hold.deadline > cutoff {
                holdsKeptFrom = id.number
                holdsKeptUntil = hold.deadline
                break
            }
            state.holds.removeValue(forKey: id)
            from = HoldID(id.number + 1)
        }
        if holdsKeptFrom != start { state.holds.releaseEmptyChunks(below: HoldID(holdsKeptFrom)) }
    }

    /// True when hold `id` was placed and has since been forgotten (`forgetHolds`).
    func isForgotten(_ id: HoldID) -> Bool {
        id.number < holdsKeptFrom && !state.holds.contains(id)
    }

    /// The instant a ref window before `now`: what happened at or before it is older than the
    /// window. Saturates at the earliest instant: a restored snapshot's last instant is any i64,
    /// and one near the bottom of the range made the subtraction trap (found by fuzzing).
    private func refWindowCutoff(now: Instant) -> Instant {
        let (millis, overflow) = now.millis.subtractingReportingOverflow(policy.refWindow.value * 1000)
        return Instant(millis: overflow ? Int64.min : millis)
    }

    /// Forgets refs older than the ref window. Deterministic: depends only on applied entries.
    private mutating func pruneRefs(now: Instant) {
        let cutoff = refWindowCutoff(now: now)
        // Refs are appended in time order, so the old ones are a prefix. Dropping them keeps the
        // others' positions, so `refIndex` needs no rebuild.
        while let oldest = state.refs.firstAt, oldest <= cutoff {
            let position = state.refs.firstPosition!
            let hash = state.refs.withKey(at: position) { Ledger.refHash($0, $1) }
            refIndex.remove(hash: hash, value: UInt64(position))
            state.refs.removeFirst()
        }
    }
}

/// The time and ref shared by every event of one entry.
struct ApplyContext {
    let at: Instant
    let ref: Ref?
}

extension Credit {
    /// Appends an activity with the next sequence number and the current balance.
    mutating func record(_ kind: ActivityKind, _ amount: MinorUnits, _ context: ApplyContext, hold: HoldID? = nil,
                         sale: SaleAmount? = nil, reason: String? = nil) {
        activityLog.append(kind: kind, at: context.at, amount: amount, balanceAfter: balance, hold: hold,
                           ref: context.ref, sale: sale, reason: reason)
    }
}

/// What gives `Ledger.offerSpares(from:)` its spares: each method returns one made ahead, with its
/// pages mapped, or nil if none is ready.
public protocol LedgerSpareSupplier {
    /// An empty ref log chunk (`RefLog.makeSpareChunk()`).
    func refChunk() -> [UInt8]?
    /// An empty ref index table of `capacity` slots.
    func refIndexTable(capacity: Int) -> SpareIndexTable?
    /// An empty holds table chunk (`NumberedTable.makeSpareChunk()`).
    func holdChunk() -> [Hold?]?
    /// An empty credits table chunk.
    func creditChunk() -> [Credit?]?
}
