// AddressRange: an IPv4 or IPv6 CIDR range (`10.1.0.0/16`, `fd00::/8`) that a key may connect from.

import Glibc

/// A CIDR range of source addresses.
struct AddressRange: Sendable, CustomStringConvertible {
    private let network: [UInt8]
    private let prefixBits: Int
    let description: String

    /// Parses `address/bits` or a bare address (a range of one).
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let bytes = AddressRange.bytes(parts[0]) else { return nil }
        let maxBits = bytes.count * 8
        let bits = parts.count == 2 ? Int(parts[1]) : maxBits
        guard let bits, (0...maxBits).contains(bits), parts.count == 1 || parts[1].allSatisfy(\.isNumber) else { return nil }
        network = bytes
        prefixBits = bits
        description = text
    }

    /// True when `address` (printable form, as accept reports it) is inside the range.
    func contains(_ address: String) -> Bool {
        guard var bytes = AddressRange.bytes(address) else { return false }
        if bytes.count == 16 && network.count == 4 && bytes[0..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
            bytes = Array(bytes[12...])  // IPv4-mapped IPv6
        }
        guard bytes.count == network.count else { return false }
        for bit in 0..<prefixBits {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if bytes[bit / 8] & mask != network[bit / 8] & mask { return false }
        }
        return true
    }

    private static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
