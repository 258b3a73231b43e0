// StoredReply: a remembered reply kept as one compact byte buffer, in the journal's reply layout.

/// The reply a retry of a remembered request gets, kept as bytes instead of `Field`s and
/// `String`s. Every remembered request's record carries one (`RefLog` keeps it packed further,
/// see `PackedReply`), but only a retry reads it back: as fields, a million refs cost hundreds of
/// bytes each, and decoding them was a quarter of journal replay.
///
/// The layout is `ReplyLayout`'s, a `Reply`'s own bytes, and exactly the journal's reply
/// encoding, so the journal and snapshots write and read these bytes as they are.
///
/// Equality is byte equality, as `Reply`'s is: equal iff the replies have the same lines holding
/// the same keys and values with the same UTF-8 bytes (a precomposed and a combining "é" are
/// equal `String`s, not equal replies).
///
/// Replay reads replies already packed (`init(packingValidatedBytes:)`): the ref log keeps them
/// packed, so replay's decoding thread packs each one straight from the journal's bytes instead
/// of copying them into an array of their own first. Such a reply gives its journal layout back
/// unpacked, byte for byte.
public struct StoredReply: Equatable, Sendable {
    /// Most item lines, and most fields on one line, the journal accepts in a stored reply. A
    /// HISTORY is never stored; the longest stored reply is a STOCK's, one item line per card
    /// (`Ledger.stockCountMax`), so this leaves room above it and keeps a damaged count cheap.
    /// `init(_:)` refuses (traps on) a reply beyond these limits: writing one would leave a
    /// journal that could not be read back.
    public static let listCountMax = 256
    /// Longest key the journal accepts in a stored reply: reply keys are short words.
    public static let keyBytesMax = 64
    /// Longest value the journal accepts in a stored reply: values are ids, amounts and echoed
    /// request values, none near a request line's length.
    public static let valueBytesMax = 1024

    /// The reply's bytes: in `ReplyLayout`'s layout, or packed (`PackedReply`).
    private enum Storage: Sendable {
        case journal([UInt8])
        case packed([UInt8], journalByteCount: Int)
    }

    private let storage: Storage

    /// The encoded reply, in `ReplyLayout`'s layout (unpacked first if it was read packed).
    public var bytes: [UInt8] {
        switch storage {
        case .journal(let bytes): bytes
        case .packed(let packed, _): packed.withUnsafeBytes { PackedReply.journalLayout(ofPacked: $0) }
        }
    }

    /// The byte count of `bytes`, without unpacking.
    public var byteCount: Int {
        switch storage {
        case .journal(let bytes): bytes.count
        case .packed(_, let journalByteCount): journalByteCount
        }
    }

    /// The reply packed (`PackedReply`) if it was read that way, without packing it.
    var packedBytes: [UInt8]? {
        guard case .packed(let packed, _) = storage else { return nil }
        return packed
    }

    /// The reply's bytes, which are in this layout already (the reply's array is shared,
    /// not copied: every `Reply` holds exactly its encoded size).
    public init(_ reply: Reply) {
        precondition(StoredReply.fitsLimits(reply), "a stored reply must be readable back from the journal")
        storage = .journal(reply.bytes)
    }

    /// Wraps bytes already checked to be one reply in `ReplyLayout`'s layout, with nothing after it,
    /// valid UTF-8 in every string (the journal's decoder checks all of this as it reads them).
    /// Bytes that are not are a caller bug: whatever reads the reply's lines (the wire encoder,
    /// `items`, `fields`) traps on a count or length that does not fit
    /// (invalid UTF-8 would come back with replacement characters).
    public init(validatedBytes: [UInt8]) {
        storage = .journal(validatedBytes)
    }

    /// Packs bytes already checked as `init(validatedBytes:)` requires, keeping only the packed
    /// form (for replay: see the type's note).
    public init(packingValidatedBytes bytes: UnsafeRawBufferPointer) {
        storage = .packed(PackedReply.packed(bytes), journalByteCount: bytes.count)
    }

    /// Byte equality of the layout, however each side is kept.
    public static func == (lhs: StoredReply, rhs: StoredReply) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case let (.journal(left), .journal(right)): left == right
        // Packing is a function of the bytes and unpacking gives them back, so equal packed
        // bytes are equal replies.
        case let (.packed(left, _), .packed(right, _)): left == right
        default: lhs.bytes == rhs.bytes
        }
    }

    /// True when the journal's decoder accepts `reply`: at most `listCountMax` item lines and
    /// fields per line, keys and values within `keyBytesMax` and `valueBytesMax` bytes.
    public static func fitsLimits(_ reply: Reply) -> Bool {
        ReplyLayout.fits(reply.bytes, listCountMax: listCountMax, keyBytesMax: keyBytesMax, valueBytesMax: valueBytesMax)
    }

    /// The reply (only a retry needs it).
    public var reply: Reply {
        Reply(layoutBytes: bytes)
    }
}
