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
    public private(set) var policy: LedgerPolicy
    /// The state (credits, holds, refs, counters).
    public private(set) var state: LedgerState
    var cardIndex: [Digest32: CreditID] = [:]
    var profileIndex: [ProfileID: [CreditID]] = [:]
    var refIndex: [RefKey: Int] = [:]
    var refsDropped = 0
    var deadlines = DeadlineHeap<HoldID>()
    var creditExpiries = DeadlineHeap<CreditID>()
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
        for id in state.credits.keys.sorted() { index(state.credits[id]!) }
        for hold in state.holds.values where hold.state == .pending {
            deadlines.insert(hold.deadline, hold.id)
            pendingHoldCount += 1
        }
        for (index, stored) in state.refs.enumerated() {
            refIndex[RefKey(client: stored.record.client, ref: stored.record.ref)] = index
        }
    }

    /// Replaces the FX rates (SIGHUP reload). Pending holds keep the rates they recorded.
    public mutating func updateRates(_ rates: RateTable) {
        policy.rates = rates
    }

    /// Number of credits.
    public var creditCount: Int { state.credits.count }

    /// Number of refs remembered.
    public var refCount: Int { state.refs.count - refsDropped }

    /// True when a card with this digest exists (the server draws another number if so).
    public func cardExists(_ cardDigest: Digest32) -> Bool {
        cardIndex[cardDigest] != nil
    }

    /// The earliest pending deadline (a hold's or a credit's expiry), possibly stale: the sweep
    /// skips what was resolved meanwhile.
    public var nextDeadline: Instant? {
        switch (deadlines.first?.deadline, creditExpiries.first?.deadline) {
        case let (hold?, credit?): return min(hold, credit)
        case let (hold?, nil): return hold
        case let (nil, credit?): return credit
        case (nil, nil): return nil
        }
    }

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
        let context = ApplyContext(at: entry.at, ref: entry.idempotency?.ref)
        for event in entry.events { apply(event, context) }
        if let record = entry.idempotency {
            refIndex[RefKey(client: record.client, ref: record.ref)] = state.refs.count
            state.refs.append(StoredRef(at: entry.at, record: record))
        }
        if entry.at > state.lastAt { state.lastAt = entry.at }
        pruneRefs(now: state.lastAt)
    }

    private mutating func apply(_ event: Event, _ context: ApplyContext) {
        switch event {
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
        }
    }

    private mutating func applyIssued(_ issued: IssuedCredit, _ context: ApplyContext) {
        guard let currency = policy.currencies[issued.currency] else {
            preconditionFailure("journal names currency \(issued.currency), which is not configured")
        }
        precondition(state.credits[issued.credit] == nil, "credit issued twice")
        let total = issued.amount + issued.bonus
        precondition(issued.amount.value > 0 && issued.bonus >= .zero && total <= currency.balanceMax, "issue amount in range")
        var history = [Activity(seq: 1, at: context.at, kind: .issue, amount: issued.amount,
                                balanceAfter: issued.amount, hold: nil, ref: context.ref)]
        if issued.bonus > .zero {
            history.append(Activity(seq: 2, at: context.at, kind: .bonus, amount: issued.bonus,
                                    balanceAfter: total, hold: nil, ref: context.ref))
        }
        let credit = Credit(
            id: issued.credit, type: issued.type, currency: currency, balance: total, held: .zero,
            status: .active, expires: issued.expires, profile: issued.profile, card: issued.card,
            marketing: issued.bonus, campaign: issued.campaign, pendingHolds: [], history: history)
        state.credits[issued.credit] = credit
        state.lastCreditNumber = max(state.lastCreditNumber, issued.credit.number)
        if let card = issued.card { precondition(cardIndex[card.cardDigest] == nil, "card digest issued twice") }
        index(credit)
    }

    /// Adds a credit to the card, profile and expiry indexes.
    private mutating func index(_ credit: Credit) {
        if let card = credit.card { cardIndex[card.cardDigest] = credit.id }
        if let profile = credit.profile { profileIndex[profile, default: []].append(credit.id) }
        if let expires = credit.expires, [.inactive, .active, .frozen].contains(credit.status) {
            creditExpiries.insert(expires.endInstant, credit.id)
        }
    }

    private mutating func applyHeld(_ placed: PlacedHold, _ context: ApplyContext) {
        precondition(state.holds[placed.hold] == nil, "hold placed twice")
        precondition(!placed.legs.isEmpty && placed.legs.count <= LedgerPolicy.legsMax, "hold has 1...legsMax legs")
        for leg in placed.legs {
            precondition(leg.amount.value > 0 && leg.covers.value > 0, "hold legs are positive")
            modifyCredit(leg.credit) { credit in
                credit.held += leg.amount
                precondition(credit.available >= .zero, "a hold may never overdraw a credit")
                credit.pendingHolds.append(placed.hold)
                credit.record(.hold, leg.amount, context, hold: placed.hold)
            }
        }
        let hold = Hold(id: placed.hold, currency: placed.currency, requested: placed.requested, legs: placed.legs,
                        deadline: placed.deadline, state: .pending,
                        captured: Array(repeating: .zero, count: placed.legs.count))
        precondition(hold.amount <= placed.requested, "a hold never covers more than requested")
        state.holds[placed.hold] = hold
        state.lastHoldNumber = max(state.lastHoldNumber, placed.hold.number)
        deadlines.insert(placed.deadline, placed.hold)
        pendingHoldCount += 1
    }

    private mutating func resolve(_ id: HoldID, to outcome: HoldState, captured: [CapturedLeg]?, _ context: ApplyContext) {
        guard var hold = state.holds[id] else { preconditionFailure("resolving unknown hold \(id)") }
        precondition(hold.state == .pending, "a hold resolves once")
        precondition(captured == nil || captured!.count == hold.legs.count, "one captured amount per leg")
        hold.state = outcome
        pendingHoldCount -= 1
        for (index, leg) in hold.legs.enumerated() {
            let take = captured?[index]
            let amount = take?.amount ?? .zero
            precondition(amount >= .zero && amount <= leg.amount, "captured ≤ held")
            hold.captured[index] = amount
            modifyCredit(leg.credit) { credit in
                credit.held -= leg.amount
                credit.balance -= amount
                credit.marketing -= min(credit.marketing, amount)
                precondition(credit.held >= .zero && credit.available >= .zero, "available = balance − held ≥ 0")
                credit.pendingHolds.removeAll { $0 == id }
                switch outcome {
                case .captured:
                    let sale = leg.rate.map { SaleAmount(amount: take!.covers, currency: hold.currency, rate: $0) }
                    credit.record(.capture, amount, context, hold: id, sale: sale)
                case .voided: credit.record(.void, leg.amount, context, hold: id)
                case .expired: credit.record(.expire, leg.amount, context, hold: id)
                case .pending: preconditionFailure("resolving to pending")
                }
            }
        }
        state.holds[id] = hold
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
                precondition(credit.pendingHolds.isEmpty, "a credit closes with no pending holds")
                amount = credit.balance
                credit.balance = .zero
                credit.marketing = .zero
            }
            credit.record(kind, amount, context, reason: reason)
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

/// The time and ref shared by every event of one entry.
struct ApplyContext {
    let at: Instant
    let ref: Ref?
}

extension Credit {
    /// Appends an activity with the next sequence number and the current balance.
    mutating func record(_ kind: ActivityKind, _ amount: MinorUnits, _ context: ApplyContext, hold: HoldID? = nil,
                         sale: SaleAmount? = nil, reason: String? = nil) {
        history.append(Activity(seq: UInt32(history.count + 1), at: context.at, kind: kind, amount: amount,
                                balanceAfter: balance, hold: hold, ref: context.ref, sale: sale, reason: reason))
    }
}
