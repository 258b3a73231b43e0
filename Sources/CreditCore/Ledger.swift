// The ledger: the single owner of credits, holds and refs, changed only by applying entries.

/// A remembered ref: the record and when it was made (for pruning after the ref window).
public struct StoredRef: Equatable, Sendable {
    /// When the request was applied.
    public let at: Instant
    /// What a retry gets.
    public let record: IdempotencyRecord

    /// Makes a stored ref.
    public init(at: Instant, record: IdempotencyRecord) {
        self.at = at
        self.record = record
    }
}

/// The key of a remembered ref: refs are scoped to the client key that sent them.
struct RefKey: Hashable, Sendable {
    let client: ClientID
    let ref: Ref
}

/// Everything the ledger knows, in the form a snapshot stores. Indexes are derived from it.
public struct LedgerState: Equatable, Sendable {
    /// Credits by id.
    public var credits: [CreditID: Credit] = [:]
    /// Holds by id, pending and resolved.
    public var holds: [HoldID: Hold] = [:]
    /// Remembered refs, oldest first.
    public var refs: [StoredRef] = []
    /// The highest credit number issued.
    public var lastCreditNumber: UInt64 = 0
    /// The highest hold number issued.
    public var lastHoldNumber: UInt64 = 0
    /// The instant of the last applied entry; entries never go back in time.
    public var lastAt = Instant(millis: 0)

    /// An empty ledger's state.
    public init() {}
}

/// The ledger. Pure: no clock, no randomness, no I/O. `execute` decides what a command does and
/// applies it; `apply` is the only code that changes state, used live and on journal replay.
public struct Ledger: Sendable {
    /// The configured rules.
    public let policy: LedgerPolicy
    /// The state (credits, holds, refs, counters).
    public private(set) var state: LedgerState
    var cardIndex: [Digest32: CreditID] = [:]
    var refIndex: [RefKey: Int] = [:]
    var refsDropped = 0
    var deadlines = DeadlineHeap()
    /// Number of holds now pending, across all credits.
    public private(set) var pendingHoldCount = 0

    /// An empty ledger.
    public init(policy: LedgerPolicy) {
        self.init(policy: policy, state: LedgerState())
    }

    /// A ledger restored from a snapshot's state; indexes are rebuilt.
    public init(policy: LedgerPolicy, state: LedgerState) {
        self.policy = policy
        self.state = state
        for credit in state.credits.values {
            if let card = credit.card { cardIndex[card.cardDigest] = credit.id }
        }
        for hold in state.holds.values where hold.state == .pending {
            deadlines.insert(hold.deadline, hold.id)
            pendingHoldCount += 1
        }
        for (index, stored) in state.refs.enumerated() {
            refIndex[RefKey(client: stored.record.client, ref: stored.record.ref)] = index
        }
    }

    /// Number of credits.
    public var creditCount: Int { state.credits.count }

    /// Number of refs remembered.
    public var refCount: Int { state.refs.count - refsDropped }

    /// True when a card with this digest exists (the server draws another number if so).
    public func cardExists(_ cardDigest: Digest32) -> Bool {
        cardIndex[cardDigest] != nil
    }

    /// The earliest deadline of a pending hold, possibly stale (the sweep skips resolved holds).
    public var nextDeadline: Instant? { deadlines.first?.deadline }

    /// The state in canonical form (refs compacted), for snapshots and for comparing a replayed
    /// ledger with a live one.
    public var canonicalState: LedgerState {
        var canonical = state
        canonical.refs.removeFirst(refsDropped)
        return canonical
    }

    /// Applies an entry: the only way state changes. Entries come from `execute` or `sweep` live,
    /// and from the journal on replay; invariant violations stop the process.
    public mutating func apply(_ entry: Entry) {
        let ref = entry.idempotency?.ref
        for event in entry.events {
            switch event {
            case .issued(let issued): applyIssued(issued, at: entry.at, ref: ref)
            case .held(let placed): applyHeld(placed, at: entry.at, ref: ref)
            case .captured(let id, let amount): resolve(id, to: .captured, captured: amount, at: entry.at, ref: ref)
            case .voided(let id): resolve(id, to: .voided, captured: .zero, at: entry.at, ref: ref)
            case .expired(let id): resolve(id, to: .expired, captured: .zero, at: entry.at, ref: ref)
            }
        }
        if let record = entry.idempotency {
            refIndex[RefKey(client: record.client, ref: record.ref)] = state.refs.count
            state.refs.append(StoredRef(at: entry.at, record: record))
        }
        if entry.at > state.lastAt { state.lastAt = entry.at }
        pruneRefs(now: state.lastAt)
    }

    private mutating func applyIssued(_ issued: IssuedCredit, at: Instant, ref: Ref?) {
        guard let currency = policy.currencies[issued.currency] else {
            preconditionFailure("journal names currency \(issued.currency), which is not configured")
        }
        precondition(state.credits[issued.credit] == nil, "credit issued twice")
        precondition(issued.amount.value > 0 && issued.amount <= currency.balanceMax, "issue amount in range")
        let activity = Activity(seq: 1, at: at, kind: .issue, amount: issued.amount,
                                balanceAfter: issued.amount, hold: nil, ref: ref)
        state.credits[issued.credit] = Credit(
            id: issued.credit, type: issued.type, currency: currency, balance: issued.amount, held: .zero,
            status: .active, expires: issued.expires, profile: issued.profile, card: issued.card,
            pendingHolds: [], history: [activity])
        state.lastCreditNumber = max(state.lastCreditNumber, issued.credit.number)
        if let card = issued.card {
            precondition(cardIndex[card.cardDigest] == nil, "card digest issued twice")
            cardIndex[card.cardDigest] = issued.credit
        }
    }

    private mutating func applyHeld(_ placed: PlacedHold, at: Instant, ref: Ref?) {
        precondition(state.holds[placed.hold] == nil, "hold placed twice")
        precondition(placed.amount.value > 0 && placed.amount <= placed.requested, "hold amount in range")
        modifyCredit(placed.credit) { credit in
            credit.held += placed.amount
            precondition(credit.available >= .zero, "a hold may never overdraw a credit")
            credit.pendingHolds.append(placed.hold)
            credit.history.append(Activity(seq: UInt32(credit.history.count + 1), at: at, kind: .hold,
                                           amount: placed.amount, balanceAfter: credit.balance,
                                           hold: placed.hold, ref: ref))
        }
        state.holds[placed.hold] = Hold(id: placed.hold, credit: placed.credit, amount: placed.amount,
                                        requested: placed.requested, deadline: placed.deadline,
                                        state: .pending, captured: .zero)
        state.lastHoldNumber = max(state.lastHoldNumber, placed.hold.number)
        deadlines.insert(placed.deadline, placed.hold)
        pendingHoldCount += 1
    }

    private mutating func resolve(_ id: HoldID, to outcome: HoldState, captured: MinorUnits, at: Instant, ref: Ref?) {
        guard var hold = state.holds[id] else { preconditionFailure("resolving unknown hold \(id)") }
        precondition(hold.state == .pending, "a hold resolves once")
        precondition(captured >= .zero && captured <= hold.amount, "captured ≤ held")
        hold.state = outcome
        hold.captured = captured
        state.holds[id] = hold
        pendingHoldCount -= 1
        let kind: ActivityKind = outcome == .captured ? .capture : (outcome == .voided ? .void : .expire)
        modifyCredit(hold.credit) { credit in
            credit.held -= hold.amount
            credit.balance -= captured
            precondition(credit.held >= .zero && credit.available >= .zero, "available = balance − held ≥ 0")
            credit.pendingHolds.removeAll { $0 == id }
            let amount = outcome == .captured ? captured : hold.amount
            credit.history.append(Activity(seq: UInt32(credit.history.count + 1), at: at, kind: kind,
                                           amount: amount, balanceAfter: credit.balance, hold: id, ref: ref))
        }
    }

    private mutating func modifyCredit(_ id: CreditID, _ body: (inout Credit) -> Void) {
        precondition(state.credits[id] != nil, "unknown credit \(id)")
        body(&state.credits[id]!)
    }

    /// Forgets refs older than the ref window. Deterministic: depends only on applied entries.
    private mutating func pruneRefs(now: Instant) {
        let cutoff = Instant(millis: now.millis - policy.refWindow.value * 1000)
        while refsDropped < state.refs.count, state.refs[refsDropped].at <= cutoff {
            let old = state.refs[refsDropped].record
            refIndex[RefKey(client: old.client, ref: old.ref)] = nil
            refsDropped += 1
        }
        // Compact once the dropped prefix dominates, so memory tracks the live window.
        if refsDropped > 1024 && refsDropped * 2 > state.refs.count {
            state.refs.removeFirst(refsDropped)
            refsDropped = 0
            refIndex.removeAll(keepingCapacity: true)
            for (index, stored) in state.refs.enumerated() {
                refIndex[RefKey(client: stored.record.client, ref: stored.record.ref)] = index
            }
        }
    }
}
