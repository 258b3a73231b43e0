// Proves a short string table finds each of its strings of 0 to 16 bytes at its index, and none of
// the strings one byte away from them: shorter, longer, NUL-padded, one byte changed.

import Testing
@testable import CreditCore

@Test func aShortStringTableFindsExactlyItsStrings() {
    let strings: [[UInt8]] = (0...16).map { count in (0..<count).map { UInt8(ascii: "a") + UInt8($0) } }
        + PackedReply.keys + [[0], [0, 0], Array("AUD".utf8), Array("é".utf8)]
    let table = ShortStringTable(strings)
    let known = Set(strings)
    for (index, string) in strings.enumerated() {
        #expect(string.withUnsafeBytes { table.index(of: $0) } == index)
        var nearMisses = [string + [0], string + [UInt8(ascii: "z")], [0] + string]
        if !string.isEmpty {
            nearMisses.append(Array(string.dropLast()))
            nearMisses.append(Array(string.dropFirst()))
            for position in string.indices {
                var changed = string
                changed[position] ^= 0x20
                nearMisses.append(changed)
            }
        }
        for miss in nearMisses where !known.contains(miss) {
            #expect(miss.withUnsafeBytes { table.index(of: $0) } == nil, "\(miss) found")
        }
    }
}
