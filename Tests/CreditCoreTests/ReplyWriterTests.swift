// Proves ReplyWriter writes the very bytes a reply built from `Field` strings has — ids, amounts in every digit count and sign, instants with and without milliseconds and outside the typed range, short words — and that a Reply keeps its lines as StoredReply's bytes, decodes them back, and re-encodes an edited line.

@testable import CreditCore
import Testing

@Test func writtenRepliesAreTheBytesOfTheSameFieldsAsStrings() {
    var rng = SplitMix64(seed: 20261128)
    let currencies = (0...DecimalAmount.fractionDigitsMax).map { digits in
        Currency(code: ["JPY", "AUD", "XAU", "KWD", "XXD", "XXE", "XXF", "XXG"][digits], minorDigits: digits, balanceMax: MinorUnits(1_000_000))
    }
    let amounts: [Int64] = [0, 1, -1, 5, 10, 99, 100, 1250, -1250, 123_456_789, Int64.max, Int64.min + 1, Int64.min]
    // Around the epoch, now, the end of u32 seconds, the last second of year 9999 and the first
    // of 10000 (`rfc3339`'s own spelling from there), and years before 0.
    let instants: [Int64] = [0, 999, 1000, 1_764_324_000_000, 1_764_324_000_007, 4_294_967_295_000, 4_294_967_295_999,
                             4_294_967_296_000, -1, -1000, -86_400_001, 253_402_300_799_000, 253_402_300_799_999,
                             253_402_300_800_000, 253_402_300_800_001, 9_000_000_000_000_000, -62_167_219_200_001,
                             -9_000_000_000_000_000]
    for round in 0..<400 {
        let currency = currencies[round % currencies.count]
        let amount = MinorUnits(round < amounts.count ? amounts[round] : Int64(bitPattern: rng.next()) >> (rng.next() % 64))
        let instant = Instant(millis: round < instants.count ? instants[round]
                                  : Int64(bitPattern: rng.next() % 5_000_000_000_000) - 100_000_000_000)
        let hold = HoldID(rng.next() >> (rng.next() % 64) | 1)
        let credit = CreditID(round < 2 ? UInt64(round + 1) : rng.next() >> (rng.next() % 64) | 1)
        let written = ReplyWriter.reply { writer in
            writer.field("hold", hold)
            writer.field("credit", credit)
            writer.field("amount", amount, in: currency)
            writer.field("currency", text: currency.code)
            writer.field("expires", instant)
        }
        let built = Reply(fields: [Field("hold", hold.description), Field("credit", credit.description),
                                   Field("amount", formatAmount(amount, currency)), Field("currency", currency.code),
                                   Field("expires", instant.rfc3339)])
        #expect(written == built, "round \(round): \(written.fields) against \(built.fields)")
    }
    #expect(ReplyWriter.reply { _ in } == Reply(fields: []))
}

@Test func aReplyIsItsStoredBytesAndDecodesAndReencodesItsLines() {
    let items = [[Field("credit", "cr_1"), Field("amount", "5.00")], [], [Field("note", "café au lait")]]
    let fields = [Field("count", "3"), Field("empty", "")]
    // The layout written out by hand: u32 little-endian counts and lengths, UTF-8 bytes.
    func u32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    func list(_ fields: [Field]) -> [UInt8] {
        u32(fields.count) + fields.flatMap { u32($0.key.utf8.count) + Array($0.key.utf8) + u32($0.value.utf8.count) + Array($0.value.utf8) }
    }
    let layout = u32(items.count) + items.flatMap(list) + list(fields)
    var reply = Reply(items: items, fields: fields)
    #expect(reply.bytes == layout)
    let read = Reply(layoutBytes: layout)
    #expect(read.items == items && read.fields == fields && read.value("count") == "3" && read.value("none") == nil)
    reply.fields[0] = Field("count", "three")
    reply.items[1].append(Field("k", "v"))
    #expect(reply.fields == [Field("count", "three"), Field("empty", "")])
    #expect(reply.items == [items[0], [Field("k", "v")], items[2]])
    #expect(reply.bytes == u32(3) + list(items[0]) + list([Field("k", "v")]) + list(items[2])
        + list([Field("count", "three"), Field("empty", "")]))
}
