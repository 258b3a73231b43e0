// EntryCodec: ledger entries to journal record bodies and back, versioned and fully validated.

import CreditCore

/// Encodes and decodes journal entries. Format version 1 (little-endian):
/// `u8 version, i64 at-millis, optional idempotency record, u32 event count, events`. Decoding
/// checks every value (ids, refs, currencies, card keys) so a record that passed its checksum but
/// is not what this code wrote is refused, never applied.
public enum EntryCodec {
    /// The format version written by this code. Older versions stay readable.
    public static let version: UInt8 = 1
    /// Events one entry may hold: one request causes a handful, and a sweep stops at
    /// `Ledger.sweepEventsMax`; the margin lets later versions batch more without a format change.
    public static let eventsMax = 10_000

    /// The record body of an entry.
    public static func encode(_ entry: Entry) -> [UInt8] {
        var writer = ByteWriter(capacity: 512)
        writer.u8(version)
        writer.i64(entry.at.millis)
        writer.optional(entry.idempotency) { $0.idempotencyRecord($1) }
        precondition(entry.events.count <= eventsMax, "too many events in one entry")
        writer.u32(UInt32(entry.events.count))
        for event in entry.events { writer.event(event) }
        return writer.buffer
    }

    /// The entry in a record body; throws `DecodeError` on anything unexpected.
    public static func decode(_ body: ArraySlice<UInt8>) throws(DecodeError) -> Entry {
        try ByteReader.reading(body) { (reader: inout ByteReader) throws(DecodeError) in try decode(&reader) }
    }

    /// The entry in a record body in memory (a record in a mapped journal segment). With
    /// `packingReplies`, its remembered reply is read packed when it can be
    /// (`StoredReply(packingValidatedBytes:)`: replay's decoder, whose ref log keeps it so); the
    /// entry is the same either way, and so is every error.
    public static func decode(_ body: UnsafeRawBufferPointer, packingReplies: Bool = false) throws(DecodeError) -> Entry {
        var reader = ByteReader(body)
        return try decode(&reader, packingReplies: packingReplies)
    }

    /// The entry the reader holds, which must be all of its bytes.
    private static func decode(_ reader: inout ByteReader, packingReplies: Bool = false) throws(DecodeError) -> Entry {
        let version = try reader.u8()
        guard version == EntryCodec.version else {
            throw DecodeError("unknown entry format version \(version)", offset: 0)
        }
        let at = Instant(millis: try reader.i64())
        let idempotency = try reader.optional { (reader: inout ByteReader) throws(DecodeError) in
            try reader.idempotencyRecord(packingReply: packingReplies)
        }
        let count = try reader.count(max: eventsMax, what: "events")
        let events = try reader.list(count) { (reader: inout ByteReader) throws(DecodeError) in try reader.event() }
        try reader.expectEnd()
        return Entry(at: at, idempotency: idempotency, events: events)
    }
}

// MARK: Writing ledger values

extension ByteWriter {
    mutating func digest(_ digest: Digest32) {
        u64(digest.w0)
        u64(digest.w1)
        u64(digest.w2)
        u64(digest.w3)
    }

    mutating func cardKeys(_ card: CardKeys) {
        digest(card.cardDigest)
        digest(card.pinDigest)
        string(card.last4)
        u8(UInt8(card.length))
    }

    mutating func civilDate(_ date: CivilDate) {
        i64(date.daysSinceEpoch)
    }

    mutating func idempotencyRecord(_ record: IdempotencyRecord) {
        string(record.client.text)
        string(record.ref.text)
        digest(record.fingerprint)
        raw(record.storedReply.bytes)  // already in the journal's reply layout
        recordedAction(record.action)
    }

    mutating func recordedAction(_ action: RecordedAction) {
        switch action {
        case .none: u8(0)
        case .issued(let id): u8(1); u64(id.number)
        case .held(let id): u8(2); u64(id.number)
        case .captured(let id): u8(3); u64(id.number)
        case .loaded(let id, let amount, let activated): u8(4); u64(id.number); i64(amount.value); bool(activated)
        case .refunded(let id, let amount): u8(5); u64(id.number); i64(amount.value)
        case .tombstone: u8(6)
        }
    }

    mutating func rate(_ rate: Rate) {
        i64(rate.units)
        u8(UInt8(rate.scale))
    }

    mutating func event(_ event: Event) {
        switch event {
        case .issued(let issued):
            u8(1)
            u64(issued.credit.number)
            string(issued.type.rawValue)
            string(issued.currency)
            i64(issued.amount.value)
            i64(issued.bonus.value)
            optional(issued.expires) { $0.civilDate($1) }
            optional(issued.profile) { $0.string($1.text) }
            optional(issued.card) { $0.cardKeys($1) }
            optional(issued.campaign) { $0.string($1) }
            string(issued.status.rawValue)
            optional(issued.purchaser) { $0.string($1.text) }
            optional(issued.claim) { $0.digest($1) }
            optional(issued.revertAt) { $0.i64($1.millis) }
            optional(issued.batch) { $0.string($1) }
        case .held(let placed):
            u8(2)
            u64(placed.hold.number)
            string(placed.currency)
            i64(placed.requested.value)
            u32(UInt32(placed.legs.count))
            for leg in placed.legs {
                u64(leg.credit.number)
                i64(leg.amount.value)
                i64(leg.covers.value)
                optional(leg.rate) { $0.rate($1) }
            }
            i64(placed.deadline.millis)
        case .captured(let hold, let legs):
            u8(3)
            u64(hold.number)
            u32(UInt32(legs.count))
            for leg in legs {
                i64(leg.amount.value)
                i64(leg.covers.value)
            }
        case .voided(let hold):
            u8(4)
            u64(hold.number)
        case .expired(let hold):
            u8(5)
            u64(hold.number)
        case .refunded(let credit, let amount):
            u8(6)
            u64(credit.number)
            i64(amount.value)
        case .frozen(let credit, let reason):
            u8(7)
            u64(credit.number)
            string(reason)
        case .unfrozen(let credit, let reason):
            u8(8)
            u64(credit.number)
            string(reason)
        case .cancelled(let credit, let reason):
            u8(9)
            u64(credit.number)
            string(reason)
        case .creditExpired(let credit):
            u8(10)
            u64(credit.number)
        case .loaded(let credit, let amount, let activate):
            u8(11)
            u64(credit.number)
            i64(amount.value)
            bool(activate)
        case .cardReplaced(let credit, let keys):
            u8(12)
            u64(credit.number)
            cardKeys(keys)
        case .transferred(let credit, let profile, let claimed):
            u8(13)
            u64(credit.number)
            string(profile.text)
            bool(claimed)
        case .split(let credit, let newCredit, let amount, let profile):
            u8(14)
            u64(credit.number)
            u64(newCredit.number)
            i64(amount.value)
            string(profile.text)
        case .reverted(let credit):
            u8(15)
            u64(credit.number)
        case .reversal(let credit, let delta):
            u8(16)
            u64(credit.number)
            i64(delta.value)
        case .tombstone(let client, let ref):
            u8(17)
            string(client.text)
            string(ref.text)
        case .markReversed(let client, let ref):
            u8(18)
            string(client.text)
            string(ref.text)
        case .cardDeclined(let credit):
            u8(19)
            optional(credit) { $0.u64($1.number) }
        case .pinReset(let credit):
            u8(20)
            u64(credit.number)
        case .unknownCardDeclined(let cardDigest):
            u8(21)
            digest(cardDigest)
        }
    }
}

// MARK: Reading ledger values

extension ByteReader {
    /// `count` values read one after another by `read`. Most lists here (an entry's events, a
    /// hold's legs) hold one value, made as a one-element literal: inlined, so that the array is
    /// allocated by code specialized for its element, as `reserveCapacity` was not (it went
    /// through the standard library's unspecialized path, which looked the array's type up at run
    /// time, 680 instructions, and an `append` after it allocated again).
    @inline(__always)
    mutating func list<T>(_ count: Int, _ read: (inout ByteReader) throws(DecodeError) -> T) throws(DecodeError) -> [T] {
        if count == 1 { return [try read(&self)] }
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try read(&self)) }
        return values
    }

    mutating func count(max: Int, what: String) throws(DecodeError) -> Int {
        let start = offset
        let value = try u32()
        guard value <= max else { throw DecodeError("\(what) count \(value) exceeds \(max)", offset: start) }
        return Int(value)
    }

    mutating func digest() throws(DecodeError) -> Digest32 {
        Digest32(w0: try u64(), w1: try u64(), w2: try u64(), w3: try u64())
    }

    mutating func ref() throws(DecodeError) -> Ref {
        let start = offset
        guard let ref = Ref(try string(maxBytes: Ref.bytesMax)) else { throw DecodeError("invalid ref", offset: start) }
        return ref
    }

    /// Checks a reply in the journal's layout (counts, lengths, UTF-8) and keeps its bytes as they
    /// are: no `Field` or `String` is made, since only a retry ever reads the reply back. With
    /// `packing`, a reply the tight scan below accepts is packed straight from the record's bytes
    /// instead (see `EntryCodec.decode(_:packingReplies:)`).
    mutating func storedReply(packing: Bool = false) throws(DecodeError) -> StoredReply {
        // Nearly every stored reply is ASCII within every limit: one tight scan finds its end.
        // Anything else goes the field-by-field way below, which accepts valid UTF-8 and names
        // what is wrong.
        if let length = withRemainingBytes(ByteReader.asciiStoredReplyLength) {
            let bytes = try raw(count: length)
            return packing ? StoredReply(packingValidatedBytes: bytes) : StoredReply(validatedBytes: Array(bytes))
        }
        let start = offset
        let itemCount = try count(max: StoredReply.listCountMax, what: "reply items")
        for _ in 0..<itemCount { try checkFields() }
        try checkFields()
        return StoredReply(validatedBytes: Array(consumed(since: start)))
    }

    /// The length of the stored reply at the start of `bytes` if it is whole, within every limit
    /// and all ASCII; nil otherwise (including for valid non-ASCII UTF-8).
    private static func asciiStoredReplyLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let length = storedReplyLength(bytes, checkingEachString: false) else { return nil }
        // One ASCII test over the whole reply: counts and lengths below 128 are ASCII bytes too,
        // so nearly every reply passes it, for less than a test per string. Only when it fails
        // (a count or length of 128 or more, or a non-ASCII string) is each string tested alone.
        if ByteReader.isASCII(UnsafeRawBufferPointer(rebasing: bytes[..<length])) { return length }
        return storedReplyLength(bytes, checkingEachString: true)
    }

    /// The length of the stored reply at the start of `bytes` if it is whole and within every
    /// limit, and, when `checkingEachString`, every key and value is ASCII; nil otherwise.
    private static func storedReplyLength(_ bytes: UnsafeRawBufferPointer, checkingEachString: Bool) -> Int? {
        // The helpers take and return offsets rather than moving a captured `var`: a captured
        // variable cost an exclusivity check on every u32 read.
        func u32(at index: Int) -> Int? {
            guard bytes.count - index >= 4 else { return nil }
            return Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
        }
        /// The end of the string starting at `index`, if it is whole, within `maxBytes` and as checked.
        func stringEnd(at index: Int, maxBytes: Int) -> Int? {
            guard let length = u32(at: index), length <= maxBytes, bytes.count - index - 4 >= length else { return nil }
            if checkingEachString {
                guard ByteReader.isASCII(UnsafeRawBufferPointer(rebasing: bytes[(index + 4)..<(index + 4 + length)])) else {
                    return nil
                }
            }
            return index + 4 + length
        }
        guard let itemCount = u32(at: 0), itemCount <= StoredReply.listCountMax else { return nil }
        var index = 4
        for _ in 0...itemCount {  // the item lines, then the OK line
            guard let fieldCount = u32(at: index), fieldCount <= StoredReply.listCountMax else { return nil }
            index += 4
            for _ in 0..<fieldCount {
                guard let keyEnd = stringEnd(at: index, maxBytes: StoredReply.keyBytesMax),
                      let valueEnd = stringEnd(at: keyEnd, maxBytes: StoredReply.valueBytesMax) else { return nil }
                index = valueEnd
            }
        }
        return index
    }

    /// Checks one field list of a stored reply and reads past it.
    private mutating func checkFields() throws(DecodeError) {
        let fieldCount = try count(max: StoredReply.listCountMax, what: "fields")
        for _ in 0..<fieldCount {
            _ = try utf8(maxBytes: StoredReply.keyBytesMax)
            _ = try utf8(maxBytes: StoredReply.valueBytesMax)
        }
    }

    mutating func positive(_ what: String) throws(DecodeError) -> MinorUnits {
        let start = offset
        let value = try i64()
        guard value > 0 else { throw DecodeError("\(what) must be positive, is \(value)", offset: start) }
        return MinorUnits(value)
    }

    mutating func id(_ what: String) throws(DecodeError) -> UInt64 {
        let start = offset
        let value = try u64()
        guard value > 0 else { throw DecodeError("\(what) id 0", offset: start) }
        return value
    }

    mutating func cardKeys() throws(DecodeError) -> CardKeys {
        let cardDigest = try digest()
        let pinDigest = try digest()
        let start = offset
        var last4 = try string(maxBytes: 4)
        let length = Int(try u8())
        // Over the UTF-8 buffer: iterating `utf8` cost more than the test.
        let isLast4 = last4.withUTF8 { bytes in bytes.count == 4 && bytes.allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard isLast4, (12...19).contains(length) else {
            throw DecodeError("invalid card keys", offset: start)
        }
        return CardKeys(cardDigest: cardDigest, pinDigest: pinDigest, last4: last4, length: length)
    }

    mutating func civilDate() throws(DecodeError) -> CivilDate {
        let start = offset
        let days = try i64()
        guard (0...3_000_000).contains(days) else { throw DecodeError("date out of range", offset: start) }
        return CivilDate(daysSinceEpoch: days)
    }

    mutating func profile() throws(DecodeError) -> ProfileID {
        let start = offset
        guard let profile = ProfileID(try string(maxBytes: ProfileID.bytesMax)) else {
            throw DecodeError("invalid profile id", offset: start)
        }
        return profile
    }

    mutating func creditType() throws(DecodeError) -> CreditType {
        let start = offset
        guard let type = try rawValueCase(of: CreditType.self, maxBytes: 8) else {
            throw DecodeError("invalid credit type", offset: start)
        }
        return type
    }

    mutating func currencyCode() throws(DecodeError) -> String {
        let start = offset
        let code = try string(maxBytes: 3)
        guard Currency.isCode(code) else { throw DecodeError("invalid currency code", offset: start) }
        return code
    }

    mutating func idempotencyRecord(packingReply: Bool = false) throws(DecodeError) -> IdempotencyRecord {
        IdempotencyRecord(client: ClientID(try string(maxBytes: 64)), ref: try ref(), fingerprint: try digest(),
                          storedReply: try storedReply(packing: packingReply), action: try recordedAction())
    }

    mutating func recordedAction() throws(DecodeError) -> RecordedAction {
        let start = offset
        switch try u8() {
        case 0: return .none
        case 1: return .issued(CreditID(try id("credit")))
        case 2: return .held(HoldID(try id("hold")))
        case 3: return .captured(HoldID(try id("hold")))
        case 4:
            let credit = CreditID(try id("credit"))
            let amount = try positive("loaded amount")
            return .loaded(credit, amount: amount, activated: try bool())
        case 5:
            let credit = CreditID(try id("credit"))
            return .refunded(credit, amount: try positive("refunded amount"))
        case 6: return .tombstone
        case let tag: throw DecodeError("unknown recorded action \(tag)", offset: start)
        }
    }

    mutating func creditStatus() throws(DecodeError) -> CreditStatus {
        let start = offset
        guard let status = try rawValueCase(of: CreditStatus.self, maxBytes: 16) else {
            throw DecodeError("invalid credit status", offset: start)
        }
        return status
    }

    mutating func rate() throws(DecodeError) -> Rate {
        let start = offset
        guard let rate = Rate(units: try i64(), scale: Int(try u8())) else { throw DecodeError("invalid rate", offset: start) }
        return rate
    }

    mutating func nonNegative(_ what: String) throws(DecodeError) -> MinorUnits {
        let start = offset
        let value = try i64()
        guard value >= 0 else { throw DecodeError("\(what) must not be negative, is \(value)", offset: start) }
        return MinorUnits(value)
    }

    /// A reason or campaign: short printable text.
    mutating func note() throws(DecodeError) -> String {
        try string(maxBytes: 256)
    }

    mutating func holdLeg() throws(DecodeError) -> HoldLeg {
        HoldLeg(credit: CreditID(try id("credit")), amount: try positive("leg amount"), covers: try positive("leg cover"),
                rate: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.rate() })
    }

    mutating func event() throws(DecodeError) -> Event {
        let start = offset
        switch try u8() {
        case 1:
            return .issued(IssuedCredit(
                credit: CreditID(try id("credit")), type: try creditType(), currency: try currencyCode(),
                amount: try nonNegative("issue amount"), bonus: try nonNegative("bonus"),
                expires: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.civilDate() },
                profile: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.profile() },
                card: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.cardKeys() },
                campaign: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.note() },
                status: try creditStatus(),
                purchaser: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.profile() },
                claim: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.digest() },
                revertAt: try optional { (reader: inout ByteReader) throws(DecodeError) in Instant(millis: try reader.i64()) },
                batch: try optional { (reader: inout ByteReader) throws(DecodeError) in try reader.note() }))
        case 2:
            let hold = HoldID(try id("hold"))
            let currency = try currencyCode()
            let requested = try positive("requested amount")
            let legCount = try count(max: LedgerPolicy.legsMax, what: "legs")
            guard legCount > 0 else { throw DecodeError("hold without legs", offset: start) }
            let legs = try list(legCount) { (reader: inout ByteReader) throws(DecodeError) in try reader.holdLeg() }
            return .held(PlacedHold(hold: hold, currency: currency, requested: requested, legs: legs,
                                    deadline: Instant(millis: try i64())))
        case 3:
            let hold = HoldID(try id("hold"))
            let legCount = try count(max: LedgerPolicy.legsMax, what: "captured legs")
            guard legCount > 0 else { throw DecodeError("capture without legs", offset: start) }
            let legs = try list(legCount) { (reader: inout ByteReader) throws(DecodeError) in
                CapturedLeg(amount: try reader.nonNegative("captured amount"), covers: try reader.nonNegative("captured cover"))
            }
            return .captured(hold, legs: legs)
        case 4:
            return .voided(HoldID(try id("hold")))
        case 5:
            return .expired(HoldID(try id("hold")))
        case 6:
            let credit = CreditID(try id("credit"))
            return .refunded(credit, amount: try positive("refund amount"))
        case 7:
            return .frozen(CreditID(try id("credit")), reason: try note())
        case 8:
            return .unfrozen(CreditID(try id("credit")), reason: try note())
        case 9:
            return .cancelled(CreditID(try id("credit")), reason: try note())
        case 10:
            return .creditExpired(CreditID(try id("credit")))
        case 11:
            let credit = CreditID(try id("credit"))
            let amount = try positive("loaded amount")
            return .loaded(credit, amount: amount, activate: try bool())
        case 12:
            return .cardReplaced(CreditID(try id("credit")), try cardKeys())
        case 13:
            let credit = CreditID(try id("credit"))
            let profile = try profile()
            return .transferred(credit, to: profile, claimed: try bool())
        case 14:
            let credit = CreditID(try id("credit"))
            let newCredit = CreditID(try id("credit"))
            let amount = try positive("split amount")
            return .split(credit, into: newCredit, amount: amount, to: try profile())
        case 15:
            return .reverted(CreditID(try id("credit")))
        case 16:
            let credit = CreditID(try id("credit"))
            let deltaStart = offset
            let delta = try i64()
            guard delta != 0 else { throw DecodeError("zero reversal", offset: deltaStart) }
            return .reversal(credit, delta: MinorUnits(delta))
        case 17:
            return .tombstone(ClientID(try string(maxBytes: 64)), try ref())
        case 18:
            return .markReversed(ClientID(try string(maxBytes: 64)), try ref())
        case 19:
            return .cardDeclined(try optional { (reader: inout ByteReader) throws(DecodeError) in CreditID(try reader.id("credit")) })
        case 20:
            return .pinReset(CreditID(try id("credit")))
        case 21:
            return .unknownCardDeclined(try digest())
        case let tag:
            throw DecodeError("unknown event tag \(tag)", offset: start)
        }
    }
}
