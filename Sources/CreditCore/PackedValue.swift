// PackedValue: one reply value in the packed layout, a tag byte choosing its form (text, or an
// id, amount, instant, date, masked card or word packed by type).

/// Packs and unpacks one value of a `PackedReply`. Three million remembered HOLD, CAPTURE and
/// ISSUE replies repeat a few shapes of value (`hd_98765`, `30.00`, `AUD`, `2026-11-26T14:45:00Z`,
/// `************1234`), and as text with a length they took most of a packed reply's bytes.
///
/// A value is one tag byte, then what the tag says follows:
///
///     0x00...0x7F  text: the tag is its UTF-8 byte count, those bytes follow (as before typed
///                  values, a short text costs one byte more than its bytes)
///     0x80         text of 128 bytes or more: varint byte count, the bytes
///     0x81, 0x82   `cr_`, `hd_` and a number: varint (64-bit) of the number
///     0x83         instant to the second: u32 seconds since the epoch
///     0x84         instant with milliseconds: u32 seconds since the epoch, u16 milliseconds
///     0x85         date: u16 days since 1970-01-01
///     0x86         currency code not among the words: u16, its letters base 26
///     0x90...0x9F  amount: 0x90 | 0x08 if negative | fraction digits (0...7); varint (64-bit)
///                  of the digits without the point
///     0xA1...0xAF  masked card: 0xA0 | star count; u16 of the last four digits
///     0xC0...0xFF  word: 0xC0 | index into `words`
///
/// u16 and u32 are little-endian; varints are LEB128 in their shortest form.
///
/// A value takes a typed form only when that form's parser in `TypedValue` takes its text (which
/// it does only for the spelling the form writes back; every other text is kept as text), and
/// packing is a function of the text alone, so equal replies pack to equal bytes and unpacking
/// gives back the very bytes packed (debug builds check every reply packed). No value packs
/// longer than the journal layout's u32 length and bytes (`PackedReply.pack` relies on it): text
/// adds at most 3 bytes to its bytes (a value is at most `StoredReply.valueBytesMax` bytes, a
/// 2-byte varint), and no typed form is longer than its text with a one-byte tag.
enum PackedValue {
    /// Largest byte count of text whose count is the tag itself.
    static let shortTextBytesMax = 0x7F
    /// Tag of longer text, a varint byte count following.
    static let longTextTag: UInt8 = 0x80
    /// Tag of `cr_` and a number; `hd_` is the next tag (`NumberedPrefix` in order).
    static let numberedIDTag: UInt8 = 0x81
    /// Tag of an instant to the second.
    static let instantTag: UInt8 = 0x83
    /// Tag of an instant with milliseconds.
    static let instantMillisTag: UInt8 = 0x84
    /// Tag of a date.
    static let dateTag: UInt8 = 0x85
    /// Tag of a currency code that is not a word.
    static let currencyCodeTag: UInt8 = 0x86
    /// Tags of amounts: this, with the sign bit and the fraction digits in the low four bits.
    static let amountTags: UInt8 = 0x90
    /// Bit of an amount's tag set for a negative amount.
    static let amountNegativeBit: UInt8 = 0x08
    /// Bits of an amount's tag holding its fraction digits.
    static let amountFractionDigitsMask: UInt8 = 0x07
    /// Tags of masked cards: this | star count.
    static let maskedCardTags: UInt8 = 0xA0
    /// Tags of words: this | index into `words`.
    static let wordTags: UInt8 = 0xC0

    /// Values written as one byte: words stored replies of this ledger repeat (currency codes,
    /// credit types, statuses, tax classes, REVERSE's effects, yes and no). At most 64, each at
    /// most 16 bytes. Order matters only within one process's memory, as for `PackedReply.keys`.
    static let words: [[UInt8]] = [
        "AUD", "NZD", "USD", "EUR", "GBP", "SGD", "JPY", "KWD", "CAD", "CHF", "HKD", "CNY",
        "gift", "store", "promo", "tender", "active", "inactive", "frozen", "cancelled", "expired",
        "pending", "yes", "no", "none", "voided", "refunded", "taken_back",
    ].map { Array($0.utf8) }

    /// `words` for lookup by hashing.
    static let wordTable: ShortStringTable = {
        precondition(words.count <= 0x40, "a word's index fits the low six bits of its tag")
        return ShortStringTable(words)
    }()

    /// Writes `text`'s packed form; `wordTable` must be `PackedValue.wordTable` (passed in, so a
    /// reply's values read the global once). The first byte picks the forms that may fit; the
    /// text is kept as text unless one of their parsers takes it. Each form is packed where it is
    /// parsed, and the common ones (amounts, ids, words) in this function: replay packs every
    /// value of every remembered reply, and handing a parsed value to another function to pack
    /// cost 20 to 50 instructions a value more.
    static func pack(_ text: UnsafeRawBufferPointer, wordTable: ShortStringTable, into sink: inout ByteSink) {
        switch text.first {
        case (UInt8(ascii: "0")...UInt8(ascii: "9"))? where text.count >= 10 && text[4] == UInt8(ascii: "-"):
            if packDateOrInstant(text, into: &sink) { return }
        case (UInt8(ascii: "0")...UInt8(ascii: "9"))?, UInt8(ascii: "-")?:
            if case let .amount(negative, fractionDigits, unscaled)? = TypedValue.amount(parsing: text) {
                sink.byte(amountTags | (negative ? amountNegativeBit : 0) | UInt8(fractionDigits))
                sink.varint64(unscaled)
                return
            }
        case UInt8(ascii: "*")?:
            if packMaskedCard(text, into: &sink) { return }
        case (UInt8(ascii: "a")...UInt8(ascii: "z"))?, (UInt8(ascii: "A")...UInt8(ascii: "Z"))?:
            if case let .numberedID(prefix, number)? = TypedValue.numberedID(parsing: text) {
                sink.byte(numberedIDTag + UInt8(prefix.rawValue))
                sink.varint64(number)
                return
            }
            if let index = wordTable.index(of: text) {
                sink.byte(wordTags | UInt8(index))
                return
            }
            if case let .currencyCode(number)? = TypedValue.currencyCode(parsing: text) {
                sink.byte(currencyCodeTag)
                sink.u16(number)
                return
            }
        default:
            break
        }
        packText(text, into: &sink)
    }

    /// Reads one packed value and writes it in the journal layout: u32 byte count, UTF-8 bytes.
    static func unpack(from reader: inout ByteSource, into sink: inout ByteSink) {
        let tag = reader.byte()
        if tag <= shortTextBytesMax || tag == longTextTag {
            let text = reader.take(tag == longTextTag ? reader.varint() : Int(tag))
            sink.u32(text.count)
            sink.bytes(text)
            return
        }
        let typed = unpackTyped(tag: tag, from: &reader)
        withUnsafeTemporaryAllocation(byteCount: TypedValue.textBytesMax, alignment: 1) { buffer in
            var text = ByteSink(writingInto: buffer)
            typed.write(to: &text, words: words)
            sink.u32(text.offset)
            sink.bytes(UnsafeRawBufferPointer(rebasing: buffer[..<text.offset]))
        }
    }

    /// Writes text: its byte count in the tag when short, else after it.
    private static func packText(_ text: UnsafeRawBufferPointer, into sink: inout ByteSink) {
        if text.count <= shortTextBytesMax {
            sink.byte(UInt8(text.count))
        } else {
            sink.byte(longTextTag)
            sink.varint(text.count)
        }
        sink.bytes(text)
    }

    /// Packs a masked card (one per gift card ISSUE reply: kept out of line); false (nothing
    /// written) for other text.
    private static func packMaskedCard(_ text: UnsafeRawBufferPointer, into sink: inout ByteSink) -> Bool {
        guard case let .maskedCard(stars, lastFour)? = TypedValue.maskedCard(parsing: text) else { return false }
        sink.byte(maskedCardTags | UInt8(stars))
        sink.u16(lastFour)
        return true
    }

    /// Packs a date or an instant (one per HOLD reply at most: kept out of line); false (nothing
    /// written) for other text.
    private static func packDateOrInstant(_ text: UnsafeRawBufferPointer, into sink: inout ByteSink) -> Bool {
        switch TypedValue.date(parsing: text) ?? TypedValue.instant(parsing: text) {
        case let .date(days)?:
            sink.byte(dateTag)
            sink.u16(days)
        case let .instant(seconds, nil)?:
            sink.byte(instantTag)
            sink.u32(Int(seconds))
        case let .instant(seconds, millis?)?:
            sink.byte(instantMillisTag)
            sink.u32(Int(seconds))
            sink.u16(millis)
        default:
            return false
        }
        return true
    }

    /// Reads the operands of a typed value's tag (anything but text).
    private static func unpackTyped(tag: UInt8, from reader: inout ByteSource) -> TypedValue {
        switch tag {
        case numberedIDTag..<(numberedIDTag + UInt8(TypedValue.NumberedPrefix.allCases.count)):
            return .numberedID(TypedValue.NumberedPrefix(rawValue: Int(tag - numberedIDTag))!, reader.varint64())
        case instantTag: return .instant(seconds: UInt32(reader.u32()), millis: nil)
        case instantMillisTag: return .instant(seconds: UInt32(reader.u32()), millis: reader.u16())
        case dateTag: return .date(days: reader.u16())
        case currencyCodeTag: return .currencyCode(reader.u16())
        case amountTags...(amountTags | amountNegativeBit | amountFractionDigitsMask):
            return .amount(negative: tag & amountNegativeBit != 0, fractionDigits: Int(tag & amountFractionDigitsMask),
                           unscaled: reader.varint64())
        case (maskedCardTags + 1)...(maskedCardTags + UInt8(TypedValue.maskedCardStarsMax)):
            return .maskedCard(stars: Int(tag - maskedCardTags), lastFour: reader.u16())
        case wordTags...:
            return .word(Int(tag - wordTags))
        default:
            preconditionFailure("a packed value has a known tag")
        }
    }
}
