// Entries: the unit of the journal. Each is applied whole, live and on replay, by the same code.

/// The data of a newly issued credit.
public struct IssuedCredit: Equatable, Sendable {
    /// The new credit's id.
    public let credit: CreditID
    /// Its type.
    public let type: CreditType
    /// Its currency code (must be in the currency table).
    public let currency: String
    /// Its first value (for store credit: the return-funded part).
    public let amount: MinorUnits
    /// Store credit: the marketing-funded incentive on top of `amount`.
    public let bonus: MinorUnits
    /// Its expiry date, if any.
    public let expires: CivilDate?
    /// Its profile, if any.
    public let profile: ProfileID?
    /// For gift cards, its card keys.
    public let card: CardKeys?
    /// Promo credit: the campaign.
    public let campaign: String?
    /// `.active`, or `.inactive` for a stock card (amount zero until ACTIVATE).
    public let status: CreditStatus
    /// Gift card: the purchaser's profile.
    public let purchaser: ProfileID?
    /// Gift card for an unknown recipient: its claim code's digest.
    public let claim: Digest32?
    /// Smart gift card: when it reverts to the purchaser if unused.
    public let revertAt: Instant?
    /// Stock card: its batch label.
    public let batch: String?

    /// Makes the data of an issue event.
    public init(credit: CreditID, type: CreditType, currency: String, amount: MinorUnits, bonus: MinorUnits = .zero,
                expires: CivilDate?, profile: ProfileID?, card: CardKeys?, campaign: String? = nil,
                status: CreditStatus = .active, purchaser: ProfileID? = nil, claim: Digest32? = nil,
                revertAt: Instant? = nil, batch: String? = nil) {
        self.credit = credit
        self.type = type
        self.currency = currency
        self.amount = amount
        self.bonus = bonus
        self.expires = expires
        self.profile = profile
        self.card = card
        self.campaign = campaign
        self.status = status
        self.purchaser = purchaser
        self.claim = claim
        self.revertAt = revertAt
        self.batch = batch
    }
}

/// The data of a new hold.
public struct PlacedHold: Equatable, Sendable {
    /// The new hold's id.
    public let hold: HoldID
    /// The sale currency's code.
    public let currency: String
    /// The amount asked for, in the sale currency.
    public let requested: MinorUnits
    /// The legs, in plan order.
    public let legs: [HoldLeg]
    /// When it expires if unresolved.
    public let deadline: Instant

    /// Makes the data of a hold event.
    public init(hold: HoldID, currency: String, requested: MinorUnits, legs: [HoldLeg], deadline: Instant) {
        self.hold = hold
        self.currency = currency
        self.requested = requested
        self.legs = legs
        self.deadline = deadline
    }
}

/// What a capture took from one leg of a hold.
public struct CapturedLeg: Equatable, Sendable {
    /// Taken from the credit, in its currency (≤ the leg's amount).
    public let amount: MinorUnits
    /// What that pays of the sale, in the sale currency (≤ the leg's cover).
    public let covers: MinorUnits

    /// Makes a captured leg.
    public init(amount: MinorUnits, covers: MinorUnits) {
        self.amount = amount
        self.covers = covers
    }
}

/// One state change.
public enum Event: Equatable, Sendable {
    /// A credit was created. Boxed, as is `cardReplaced`: inline, these two made every event 264
    /// bytes (49 now), and applying one copied it whole, three times: boxing them took 5% off
    /// the instructions of replay's applying thread.
    indirect case issued(IssuedCredit)
    /// Funds were reserved.
    case held(PlacedHold)
    /// A pending hold was captured: `legs[i]` was taken from leg i; the rest was released.
    case captured(HoldID, legs: [CapturedLeg])
    /// A pending hold was voided.
    case voided(HoldID)
    /// A pending hold reached its deadline.
    case expired(HoldID)
    /// Value was returned to a credit.
    case refunded(CreditID, amount: MinorUnits)
    /// A credit was frozen (reason kept in its history).
    case frozen(CreditID, reason: String)
    /// A frozen credit became active again.
    case unfrozen(CreditID, reason: String)
    /// A credit was closed for good; its balance was written off.
    case cancelled(CreditID, reason: String)
    /// A credit reached its expiry; its balance became breakage.
    case creditExpired(CreditID)
    /// Value was loaded onto a gift card; `activate` also made a stock card active.
    case loaded(CreditID, amount: MinorUnits, activate: Bool)
    /// A gift card got a new number and PIN.
    indirect case cardReplaced(CreditID, CardKeys)
    /// A credit moved to another profile (`claimed` also retires its claim code).
    case transferred(CreditID, to: ProfileID, claimed: Bool)
    /// `amount` of a gift credit became a new card-less gift credit owned by `to`.
    case split(CreditID, into: CreditID, amount: MinorUnits, to: ProfileID)
    /// A smart gift card went back to its purchaser; its card number stopped working.
    case reverted(CreditID)
    /// A REVERSE changed a credit's balance by `delta` (negative: value taken back).
    case reversal(CreditID, delta: MinorUnits)
    /// A REVERSE arrived before its original: the original ref is refused from now on.
    case tombstone(ClientID, Ref)
    /// A REVERSE undid the request with this ref: it cannot be reversed again.
    case markReversed(ClientID, Ref)
    /// A card request was declined: a wrong PIN on this credit's card (counts toward its lock).
    /// Nil (an unknown card) is only in journals written before `unknownCardDeclined`; it changes nothing.
    case cardDeclined(CreditID?)
    /// A card request named a card number that is no card (this is its keyed digest): it counts
    /// toward the number's decoy lock, so unknown numbers lock exactly as real cards do.
    case unknownCardDeclined(Digest32)
    /// The card's wrong-PIN count was cleared (a right PIN) or its lock lifted (UNLOCK).
    case pinReset(CreditID)
}

/// What an applied request did, remembered with its ref so a REVERSE can undo it.
public enum RecordedAction: Equatable, Sendable {
    /// Nothing a REVERSE can undo (a status change, a transfer, a reversal itself).
    case none
    /// Created a credit (ISSUE).
    case issued(CreditID)
    /// Placed a hold.
    case held(HoldID)
    /// Captured a hold.
    case captured(HoldID)
    /// Loaded value onto a credit (`activated` for ACTIVATE).
    case loaded(CreditID, amount: MinorUnits, activated: Bool)
    /// Refunded value onto a credit.
    case refunded(CreditID, amount: MinorUnits)
    /// A REVERSE that found no original: the original ref is a tombstone.
    case tombstone
}

/// What the ledger remembers of a successful mutating request, so that a retry with the same
/// client and ref gets the same reply and no second effect.
public struct IdempotencyRecord: Equatable, Sendable {
    /// The client key that sent it.
    public let client: ClientID
    /// The client's ref.
    public let ref: Ref
    /// Keyed digest of the request's canonical arguments.
    public let fingerprint: Digest32
    /// The reply a retry gets, encoded. For a gift card ISSUE the card number is masked and the
    /// PIN absent: they are shown once and never stored.
    public let storedReply: StoredReply
    /// What the request did, for REVERSE.
    public let action: RecordedAction

    /// The reply a retry gets: `storedReply`'s bytes (unpacked first if they were kept packed).
    public var reply: Reply { storedReply.reply }

    /// Makes a record, encoding its reply.
    public init(client: ClientID, ref: Ref, fingerprint: Digest32, reply: Reply, action: RecordedAction = .none) {
        self.init(client: client, ref: ref, fingerprint: fingerprint, storedReply: StoredReply(reply), action: action)
    }

    /// Makes a record from a reply already encoded (read from the journal, or kept from another record).
    public init(client: ClientID, ref: Ref, fingerprint: Digest32, storedReply: StoredReply,
                action: RecordedAction = .none) {
        self.client = client
        self.ref = ref
        self.fingerprint = fingerprint
        self.storedReply = storedReply
        self.action = action
    }
}

/// A journal entry: the events of one request (or one expiry sweep), applied all or nothing.
public struct Entry: Equatable, Sendable {
    /// When it happened; entries' instants never decrease.
    public let at: Instant
    /// The request's idempotency record, if it came from a client request.
    public let idempotency: IdempotencyRecord?
    /// The state changes, in order.
    public let events: [Event]

    /// Makes an entry.
    public init(at: Instant, idempotency: IdempotencyRecord?, events: [Event]) {
        self.at = at
        self.idempotency = idempotency
        self.events = events
    }
}

/// An entry decoded from the journal, with the part of applying it that needs no ledger state
/// done beside it: packing its idempotency record's reply as the ledger keeps it in memory.
/// Replay makes these on its decoding thread, to take work off the applying thread, which was the
/// bottleneck: packing was a fifth of its instructions on a 100k-card journal. The decoding
/// thread now runs more instructions than the applying one, and replay's wall-clock time moved by
/// less than this VM's noise (BENCHMARKS.md).
public struct PreparedEntry: Sendable {
    /// The entry.
    public let entry: Entry
    /// Its idempotency record's reply packed (`PackedReply`), nil when it has no record.
    let packedReply: [UInt8]?
    /// The ref index's hash of its idempotency record's client and ref (`Ledger.refHash`), nil
    /// when it has no record. `Hasher`'s seed is the process's, the same on every thread.
    let refHash: UInt64?
    /// The credit of the first hold leg it places, if any, and the first hold it captures, voids
    /// or expires: what `Ledger.prefetch(for:)` asks for, found here so that the applying thread
    /// need not walk the events twice (copying each one, as a walk did).
    let heldCredit: CreditID?
    let resolvedHold: HoldID?

    /// Prepares `entry` for `Ledger.apply(_:)`.
    public init(_ entry: consuming Entry) {
        // Read through the optional in place: `map` on the record copied it, and the entry.
        // Already packed when replay's decoder read it so (`StoredReply(packingValidatedBytes:)`).
        packedReply = entry.idempotency?.storedReply.packedBytes
            ?? entry.idempotency?.storedReply.bytes.withUnsafeBytes { PackedReply.packed($0) }
        refHash = entry.idempotency.map { Ledger.refHash(client: $0.client, ref: $0.ref) }
        var heldCredit: CreditID?
        var resolvedHold: HoldID?
        // Each event read where it lies, as `Ledger.apply` does: a for-in loop copied each one.
        entry.events.withUnsafeBufferPointer { events in
            for index in events.indices {
                switch events[index] {
                case .held(let placed): heldCredit = heldCredit ?? placed.legs.first?.credit
                case .captured(let id, _), .voided(let id), .expired(let id): resolvedHold = resolvedHold ?? id
                default: break
                }
            }
        }
        (self.heldCredit, self.resolvedHold) = (heldCredit, resolvedHold)
        self.entry = entry
    }
}
