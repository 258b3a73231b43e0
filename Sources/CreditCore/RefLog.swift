// RefLog: the remembered refs packed as bytes in append-only chunks, dropped from the front a
// chunk at a time, each found by a position that never changes.

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

/// The remembered refs, oldest first: appended at the back, forgotten from the front after the
/// ref window.
///
/// Why bytes: every successful mutating request is remembered for days, and only a retry or a
/// REVERSE ever reads one back. As `StoredRef` values a ref cost about 330 bytes (a 104-byte
/// element, a heap string for a ref over 15 bytes, the reply's own heap array); packed one after
/// another with small length prefixes, the client id as a number (a ledger hears from a handful
/// of client keys) and the reply packed (`PackedReply`), a gift card ISSUE's record takes about
/// 90 bytes with a 20-byte ref, 20 of them its reply. Reads decode a `StoredRef` on demand.
///
/// Record layout (memory only: the journal and snapshots write `IdempotencyRecord`s as before):
///
///     at           i64 little-endian, milliseconds
///     action tag   u8, the journal's `RecordedAction` tag; bit 0x80 set once reversed (`.none`)
///     ref count    u8 (a ref is at most 64 bytes)
///     client       varint, the client id's number in this log's table of client ids
///     reply count  varint, the packed reply's byte count (as wide as the journal layout's byte
///                  count would need: the reply is packed straight after it, in one pass)
///     ref          its UTF-8 bytes
///     fingerprint  32 bytes, its four words little-endian
///     action       the tag's operands as the journal writes them (0, 8, 16 or 17 bytes)
///     reply        packed (`PackedReply`)
///
/// Records go into chunks of `chunkBytes`, never split across two (a record larger than a chunk
/// gets a chunk of its own). A record's *position* is its chunk's serial number (chunks are
/// numbered from 0 as they are made) and its byte offset in that chunk: it stays valid while the
/// record is kept, so the ledger's index of positions never needs rebuilding when old refs are
/// dropped, and needs no table of offsets beside it. A chunk is dropped once every record in it
/// is; refs are pruned oldest first, so that is each chunk in turn. The log keeps one empty
/// chunk aside as the next to fill: one given to it with its pages already mapped
/// (`giveSpareChunk`, as replay does), or the last whole chunk it dropped.
///
/// Copying is cheap, as with `NumberedTable`: a snapshot's copy shares every chunk, and the first
/// change afterwards copies only the chunk it touches (the last one, for an append).
public struct RefLog: Sendable {
    /// Bytes a chunk fills before the next record starts a new one. 1 MiB: copying the last
    /// chunk after a snapshot's copy takes tens of microseconds, and a million refs are ~130 chunks.
    public static var chunkBytes: Int { 1 << 20 }
    /// Capacity of a new chunk's first allocation: a small ledger (tests, replicas) stays small.
    static var firstChunkCapacity: Int { 256 }
    /// Bytes of the fixed part of a record's header: at, action tag, ref count.
    private static let fixedHeaderBytes = 10
    /// Offset of the action tag in a record.
    private static let tagOffset = 8
    /// Set in the action tag once the request was reversed: the action reads as `.none`.
    private static let reversedBit: UInt8 = 0x80

    /// The chunks kept, oldest first; each holds whole records and at least one that is kept.
    private var chunks: [[UInt8]] = []
    /// Serial number of `chunks[0]`.
    private var firstSerial = 0
    /// Offset in `chunks[0]` of the oldest record kept.
    private var headOffset = 0
    /// Position of the newest record kept (meaningless when empty).
    private var lastPosition = 0
    /// Number of records kept.
    public private(set) var count = 0
    /// When the oldest ref kept was made, in milliseconds (`Int64.max` when none is). Kept beside
    /// the records because the ledger asks after every entry applied whether the oldest has aged
    /// out: reading it from its record was 6% of replay's applying thread, to learn it had not.
    private var firstAtMillis = Int64.max
    /// The UTF-8 bytes of every client id a record was appended for, each once, one after
    /// another; records name a client by its number. Never pruned: client ids are key ids, few.
    private var clientBytes: [UInt8] = []
    /// Where each numbered client id's bytes are in `clientBytes`.
    private var clientRanges: [Range<Int>] = []
    /// The number of each client id in `clientRanges`.
    private var clientNumbers: [ClientID: Int] = [:]
    /// The client id appended for last and its number: refs come in runs from one client, and
    /// comparing two short strings is cheaper than hashing one.
    private var lastClient: (id: ClientID, number: Int)?

    /// An empty log.
    public init() {}

    /// True when no ref is kept.
    public var isEmpty: Bool { count == 0 }

    /// When the oldest ref kept was made, nil when empty.
    public var firstAt: Instant? { isEmpty ? nil : Instant(millis: firstAtMillis) }

    /// Position of the oldest ref kept, nil when empty.
    public var firstPosition: Int? { isEmpty ? nil : RefLog.position(serial: firstSerial, offset: headOffset) }

    /// The oldest ref kept.
    public var first: StoredRef? { firstPosition.map { self[$0] } }

    /// The newest ref kept.
    public var last: StoredRef? { isEmpty ? nil : self[lastPosition] }

    /// Number of chunks kept (for tests of chunk dropping).
    var chunkCount: Int { chunks.count }

    /// The next chunk to fill once the last one is full, if the log has one: given
    /// (`giveSpareChunk`), or a dropped chunk kept. Not part of the log's value (`==`).
    private var spare: [UInt8]?

    /// True when the log keeps a spare chunk (for tests).
    var hasSpareChunk: Bool { spare != nil }

    /// Where the memory of chunk `index` (0 the oldest kept), or with nil of the spare, starts
    /// (for tests: a chunk given is the one filled).
    func chunkAddress(_ index: Int?) -> UnsafeRawPointer? {
        let chunk = index.map { chunks[$0] } ?? spare
        return chunk?.withUnsafeBytes { $0.baseAddress }
    }

    /// Appends a ref and returns its position.
    @discardableResult
    public mutating func append(_ stored: StoredRef) -> Int {
        append(stored.record, at: stored.at, packedReply: nil)
    }

    /// Appends the ref of `record`, applied at `at`, whose reply `PackedReply.packed` has already
    /// packed (nil: pack it here), and returns its position. Replay packs replies on its decoding
    /// thread (`PreparedEntry`), so the thread applying entries, its bottleneck, only copies them.
    /// Takes the record, not a `StoredRef`: making one copied the record (retaining its strings
    /// and arrays) for every ref replayed.
    @discardableResult
    mutating func append(_ record: IdempotencyRecord, at: Instant, packedReply: [UInt8]?) -> Int {
        let client = clientNumber(record.client)
        var ref = record.ref.text
        return ref.withUTF8 { ref in
            if let packedReply {
                return packedReply.withUnsafeBytes { reply in
                    append(at: at, client: client, ref: UnsafeRawBufferPointer(ref),
                           fingerprint: record.fingerprint, action: record.action,
                           reply: .packed(reply, journalByteCount: record.storedReply.byteCount))
                }
            }
            return record.storedReply.bytes.withUnsafeBytes { reply in
                append(at: at, client: client, ref: UnsafeRawBufferPointer(ref),
                       fingerprint: record.fingerprint, action: record.action, reply: .journal(reply))
            }
        }
    }

    /// A reply as `append` gets it.
    private enum ReplyBytes {
        /// In the journal layout, to be packed.
        case journal(UnsafeRawBufferPointer)
        /// Packed already (by `PackedReply.packed`), and its byte count in the journal layout.
        case packed(UnsafeRawBufferPointer, journalByteCount: Int)

        /// The reply's byte count in the journal layout: at least its packed count (packing
        /// never makes a reply longer), and what the record's count is as wide as, either way.
        var journalByteCount: Int {
            switch self {
            case .journal(let bytes): bytes.count
            case .packed(_, let journalByteCount): journalByteCount
            }
        }
    }

    /// The number of a client id, numbering it if it is new.
    private mutating func clientNumber(_ client: ClientID) -> Int {
        if let lastClient, lastClient.id == client { return lastClient.number }
        let number: Int
        if let known = clientNumbers[client] {
            number = known
        } else {
            var text = client.text
            text.withUTF8 { clientBytes.append(contentsOf: $0) }
            clientRanges.append((clientBytes.count - client.text.utf8.count)..<clientBytes.count)
            number = clientRanges.count - 1
            clientNumbers[client] = number
        }
        lastClient = (client, number)
        return number
    }

    /// Appends a record's fields, packing the reply if it is in the journal layout. The record is
    /// built in one pass in a buffer on the stack sized for the reply unpacked (packing never
    /// makes a reply longer), then copied to the chunk: replay appends a million of these at startup.
    private mutating func append(at: Instant, client: Int, ref: UnsafeRawBufferPointer,
                                 fingerprint: Digest32, action: RecordedAction, reply: ReplyBytes) -> Int {
        precondition(ref.count <= Int(UInt8.max), "refs fit a count byte")
        let replyCountWidth = ByteSink.varintWidth(reply.journalByteCount)
        let byteCountMax = RefLog.fixedHeaderBytes + ByteSink.varintWidth(client) + replyCountWidth + ref.count
            + Digest32.byteCount + RefLog.operandBytes(ofTag: action.tag) + reply.journalByteCount
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCountMax) { buffer in
            let record = UnsafeMutableRawBufferPointer(buffer)
            var sink = ByteSink(writingInto: record)
            sink.u64(UInt64(bitPattern: at.millis))
            sink.byte(action.tag)
            sink.byte(UInt8(ref.count))
            sink.varint(client)
            let replyCountOffset = sink.offset
            sink.skip(replyCountWidth)  // filled in once the reply is packed
            sink.bytes(ref)
            sink.u64(fingerprint.w0)
            sink.u64(fingerprint.w1)
            sink.u64(fingerprint.w2)
            sink.u64(fingerprint.w3)
            action.writeOperands(to: &sink)
            let replyOffset = sink.offset
            let replyBytes: Int
            switch reply {
            case .journal(let journal):
                replyBytes = PackedReply.pack(journal, into: UnsafeMutableRawBufferPointer(rebasing: record[replyOffset...]))
            case .packed(let packed, _):
                UnsafeMutableRawBufferPointer(rebasing: record[replyOffset...]).copyMemory(from: packed)
                replyBytes = packed.count
            }
            var replyCount = ByteSink(writingInto: UnsafeMutableRawBufferPointer(
                rebasing: record[replyCountOffset..<(replyCountOffset + replyCountWidth)]))
            replyCount.varint(replyBytes, width: replyCountWidth)
            let position = appendRecord(UnsafeBufferPointer(rebasing: buffer[..<(replyOffset + replyBytes)]))
            lastPosition = position
            if count == 0 { firstAtMillis = at.millis }
            count += 1
            return position
        }
    }

    /// Copies a record to the end of the last chunk (or of a new one if it does not fit) and
    /// returns its position.
    private mutating func appendRecord(_ record: UnsafeBufferPointer<UInt8>) -> Int {
        if chunks.isEmpty || chunks[chunks.count - 1].count + record.count > RefLog.chunkBytes {
            if let chunk = spare, record.count <= chunk.capacity {
                spare = nil
                chunks.append(chunk)
            } else if chunks.isEmpty {
                chunks.append([])  // grown by doubling: a small log stays small
            } else {
                // A log that has filled a chunk is a large one: a whole chunk at once.
                chunks.append(RefLog.emptyChunk(capacity: Swift.max(RefLog.chunkBytes, record.count)))
            }
        }
        let last = chunks.count - 1
        let offset = chunks[last].count
        let needed = offset + record.count
        if needed > chunks[last].capacity {
            // Grow by doubling, then straight to a whole chunk: a full chunk never carries the
            // spare capacity array growth would leave.
            let doubled = Swift.max(RefLog.firstChunkCapacity, 2 * chunks[last].capacity, needed)
            chunks[last].reserveCapacity(doubled > RefLog.chunkBytes / 8 ? Swift.max(RefLog.chunkBytes, needed) : doubled)
        }
        chunks[last].append(contentsOf: record)
        return RefLog.position(serial: firstSerial + last, offset: offset)
    }

    /// True when the log has no spare chunk and its last chunk is at least half full: the next
    /// chunk is due soon, and a small log is not given a whole chunk it may never fill.
    public var wantsSpareChunk: Bool {
        // By index: `chunks.last` copied the chunk (a retain and release), on every record replayed.
        spare == nil && !chunks.isEmpty && chunks[chunks.count - 1].count >= RefLog.chunkBytes / 2
    }

    /// Keeps `chunk` (empty, with room for a whole chunk) as the next chunk to fill, when the log
    /// has none. Replay hands over chunks that another thread made with `makeSpareChunk()`, so
    /// the thread appending refs writes to pages already mapped: the first write to each fresh
    /// page faulted, and on this project's VM that was a tenth of the replay's applying thread.
    public mutating func giveSpareChunk(_ chunk: [UInt8]) {
        precondition(chunk.isEmpty && chunk.capacity >= RefLog.chunkBytes, "a spare chunk is empty and whole")
        if spare == nil { spare = chunk }
    }

    /// An empty chunk with room for a whole chunk and a byte written to each page of its memory, so
    /// that the kernel has mapped them all: appending to it then takes no page fault.
    public static func makeSpareChunk() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: chunkBytes) { buffer, initializedCount in
            mapPages(UnsafeMutableRawBufferPointer(buffer))
            initializedCount = 0
        }
    }

    /// An empty chunk with room for `capacity` bytes.
    private static func emptyChunk(capacity: Int) -> [UInt8] {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(capacity)
        return chunk
    }

    /// Forgets the oldest ref kept; positions of the others do not change.
    public mutating func removeFirst() {
        precondition(!isEmpty, "cannot remove a ref from an empty log")
        headOffset = withRecord(at: RefLog.position(serial: firstSerial, offset: headOffset)) { $0.end }
        count -= 1
        if headOffset == chunks[0].count && (chunks.count > 1 || count == 0) {
            var dropped = chunks.removeFirst()
            // A whole chunk becomes the spare, its pages still mapped: a log whose old refs age
            // out as new ones come then writes mostly to pages it has used before.
            // (Not one made larger for a record larger than a chunk: only a chunk's worth of it
            // would ever be filled again.)
            // (A chunk's capacity is a little over `chunkBytes`: malloc rounds up to whole pages.)
            if spare == nil && dropped.capacity >= RefLog.chunkBytes && dropped.capacity < RefLog.chunkBytes + RefLog.chunkBytes / 16 {
                dropped.removeAll(keepingCapacity: true)
                spare = dropped
            }
            firstSerial += 1
            headOffset = 0
        }
        firstAtMillis = isEmpty ? .max : at(RefLog.position(serial: firstSerial, offset: headOffset)).millis
    }

    /// The ref at `position` (which must be kept), decoded.
    public subscript(position: Int) -> StoredRef {
        withRecord(at: position) { record in
            let reply = PackedReply.journalLayout(ofPacked: record.reply)
            let refText = String(decoding: record.ref, as: UTF8.self)
            guard let ref = Ref(refText) else { preconditionFailure("a remembered ref is a valid ref") }
            return StoredRef(at: record.at, record: IdempotencyRecord(
                client: ClientID(String(decoding: record.client, as: UTF8.self)), ref: ref,
                fingerprint: record.fingerprint, storedReply: StoredReply(validatedBytes: reply), action: record.action))
        }
    }

    /// When the ref at `position` was made.
    public func at(_ position: Int) -> Instant {
        withRecord(at: position) { $0.at }
    }

    /// What the request remembered at `position` did (`.none` once reversed).
    public func action(at position: Int) -> RecordedAction {
        withRecord(at: position) { $0.action }
    }

    /// Calls `body` with the client's and the ref's UTF-8 bytes of the record at `position`.
    func withKey<Result>(at position: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        withRecord(at: position) { body($0.client, $0.ref) }
    }

    /// True when the records at positions `a` and `b` were remembered for the same client and ref.
    func sameKey(at a: Int, as b: Int) -> Bool {
        withRecord(at: a) { first in
            withRecord(at: b) { second in first.client.elementsEqual(second.client) && first.ref.elementsEqual(second.ref) }
        }
    }

    /// Turns the action of the ref at `position` to `.none`, in place: a reversed request cannot
    /// be reversed again.
    public mutating func markReversed(at position: Int) {
        let (chunk, offset) = locate(position)
        chunks[chunk][offset + RefLog.tagOffset] |= RefLog.reversedBit
    }

    /// The positions of the refs kept, oldest first.
    public var positions: Positions { Positions(log: self) }

    /// Calls `body` with a view of the record at `position`, valid only during the call.
    private func withRecord<Result>(at position: Int, _ body: (RecordView) -> Result) -> Result {
        let (chunk, offset) = locate(position)
        return clientBytes.withUnsafeBytes { clients in
            chunks[chunk].withUnsafeBytes { body(RecordView(chunk: $0, offset: offset, clients: clients, clientRanges)) }
        }
    }

    /// The index in `chunks` and the byte offset of a kept record's position.
    private func locate(_ position: Int) -> (chunk: Int, offset: Int) {
        let chunk = (position >> 32) - firstSerial
        let offset = RefLog.offset(of: position)
        precondition(!isEmpty && chunk >= 0 && chunk < chunks.count && offset < chunks[chunk].count
                     && (chunk > 0 || offset >= headOffset), "position \(position) is not kept")
        return (chunk, offset)
    }

    /// The position of the record at `offset` in the chunk numbered `serial`.
    private static func position(serial: Int, offset: Int) -> Int { serial << 32 | offset }

    /// The byte offset in its chunk of the record at `position`.
    private static func offset(of position: Int) -> Int { position & 0xFFFF_FFFF }

    /// Bytes of the operands following an action tag (as the journal writes them).
    fileprivate static func operandBytes(ofTag tag: UInt8) -> Int {
        switch tag & ~reversedBit {
        case 1, 2, 3: 8
        case 4: 17
        case 5: 16
        default: 0
        }
    }

    /// One record's fields, read in place from its chunk.
    private struct RecordView {
        /// When the ref was made.
        let at: Instant
        /// The action tag, with the reversed bit.
        let tag: UInt8
        /// The client's UTF-8 bytes.
        let client: UnsafeRawBufferPointer
        /// The ref's UTF-8 bytes.
        let ref: UnsafeRawBufferPointer
        /// The fingerprint's 32 bytes.
        let fingerprintBytes: UnsafeRawBufferPointer
        /// The action's operands.
        let operands: UnsafeRawBufferPointer
        /// The packed reply.
        let reply: UnsafeRawBufferPointer
        /// Offset in the chunk just past the record.
        let end: Int

        /// Reads the record at `offset` of `chunk`, its client id from `clients` (a log's
        /// `clientBytes`) at the range its number picks from `clientRanges`.
        init(chunk: UnsafeRawBufferPointer, offset: Int, clients: UnsafeRawBufferPointer, _ clientRanges: [Range<Int>]) {
            var reader = ByteSource(UnsafeRawBufferPointer(rebasing: chunk[offset...]))
            at = Instant(millis: Int64(bitPattern: reader.u64()))
            tag = reader.byte()
            let refCount = Int(reader.byte())
            client = UnsafeRawBufferPointer(rebasing: clients[clientRanges[reader.varint()]])
            let replyCount = reader.varint()
            ref = reader.take(refCount)
            fingerprintBytes = reader.take(Digest32.byteCount)
            operands = reader.take(RefLog.operandBytes(ofTag: tag))
            reply = reader.take(replyCount)
            end = offset + reader.offset
        }

        /// The fingerprint.
        var fingerprint: Digest32 {
            var reader = ByteSource(fingerprintBytes)
            return Digest32(w0: reader.u64(), w1: reader.u64(), w2: reader.u64(), w3: reader.u64())
        }

        /// The action (`.none` once reversed).
        var action: RecordedAction {
            guard tag & RefLog.reversedBit == 0 else { return .none }
            return RecordedAction(tag: tag, operands: operands)
        }

        /// True when both records hold the same ref: equal fields, actions compared as values
        /// (a reversed issue and a record made with `.none` are equal, as their snapshots are).
        func hasSameFields(as other: RecordView) -> Bool {
            at == other.at && client.elementsEqual(other.client) && ref.elementsEqual(other.ref)
                && fingerprintBytes.elementsEqual(other.fingerprintBytes) && action == other.action
                && reply.elementsEqual(other.reply)
        }
    }
}

extension RefLog {
    /// The positions of the refs kept, oldest first.
    public struct Positions: Sequence {
        /// The log walked.
        fileprivate let log: RefLog

        /// Iterates the positions.
        public func makeIterator() -> Iterator {
            Iterator(log: log, chunk: 0, offset: log.headOffset)
        }

        /// Number of positions.
        public var underestimatedCount: Int { log.count }

        /// Walks the chunks record by record.
        public struct Iterator: IteratorProtocol {
            fileprivate let log: RefLog
            fileprivate var chunk: Int
            fileprivate var offset: Int

            /// The next position, nil past the newest ref.
            public mutating func next() -> Int? {
                guard !log.isEmpty, chunk < log.chunks.count else { return nil }
                let position = RefLog.position(serial: log.firstSerial + chunk, offset: offset)
                offset = log.withRecord(at: position) { $0.end }
                if offset == log.chunks[chunk].count {
                    chunk += 1
                    offset = 0
                }
                return position
            }
        }
    }
}

extension RefLog: Sequence {
    /// Iterates the refs kept, oldest first, decoding each.
    public struct Iterator: IteratorProtocol {
        fileprivate let log: RefLog
        fileprivate var positions: Positions.Iterator

        /// The next ref, nil past the newest.
        public mutating func next() -> StoredRef? {
            positions.next().map { log[$0] }
        }
    }

    /// Iterates the refs kept, oldest first.
    public func makeIterator() -> Iterator { Iterator(log: self, positions: positions.makeIterator()) }

    /// Number of refs kept.
    public var underestimatedCount: Int { count }
}

extension RefLog: Equatable {
    /// Equal when they keep equal refs in the same order (positions may differ: a ledger restored
    /// from a snapshot packs its refs afresh, and a reversed action equals `.none`).
    public static func == (lhs: RefLog, rhs: RefLog) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs.positions, rhs.positions).allSatisfy { left, right in
            lhs.withRecord(at: left) { a in rhs.withRecord(at: right) { b in a.hasSameFields(as: b) } }
        }
    }
}

extension RefLog: ExpressibleByArrayLiteral {
    /// A log of the given refs.
    public init(arrayLiteral elements: StoredRef...) {
        self.init()
        for element in elements { append(element) }
    }
}

extension RecordedAction {
    /// The journal's tag for this action.
    fileprivate var tag: UInt8 {
        switch self {
        case .none: 0
        case .issued: 1
        case .held: 2
        case .captured: 3
        case .loaded: 4
        case .refunded: 5
        case .tombstone: 6
        }
    }

    /// Writes the operands that follow the tag, as the journal does.
    fileprivate func writeOperands(to sink: inout ByteSink) {
        switch self {
        case .none, .tombstone:
            break
        case .issued(let id):
            sink.u64(id.number)
        case .held(let id), .captured(let id):
            sink.u64(id.number)
        case .loaded(let id, let amount, let activated):
            sink.u64(id.number)
            sink.u64(UInt64(bitPattern: amount.value))
            sink.byte(activated ? 1 : 0)
        case .refunded(let id, let amount):
            sink.u64(id.number)
            sink.u64(UInt64(bitPattern: amount.value))
        }
    }

    /// The action with this tag (without the reversed bit) and operands, as `writeOperands` wrote them.
    fileprivate init(tag: UInt8, operands: UnsafeRawBufferPointer) {
        var reader = ByteSource(operands)
        switch tag {
        case 0: self = .none
        case 1: self = .issued(CreditID(reader.u64()))
        case 2: self = .held(HoldID(reader.u64()))
        case 3: self = .captured(HoldID(reader.u64()))
        case 4: self = .loaded(CreditID(reader.u64()), amount: MinorUnits(Int64(bitPattern: reader.u64())),
                               activated: reader.byte() != 0)
        case 5: self = .refunded(CreditID(reader.u64()), amount: MinorUnits(Int64(bitPattern: reader.u64())))
        case 6: self = .tombstone
        default: preconditionFailure("a remembered action has a known tag")
        }
    }
}
