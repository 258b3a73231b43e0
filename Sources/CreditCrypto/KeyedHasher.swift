// KeyedHasher: domain-separated HMAC digests of card numbers, PINs and other secrets.

import CreditCore

/// Turns card numbers, PINs and request material into `Digest32`s keyed by the server secret.
///
/// Every digest starts with a domain label and a NUL byte, so a digest made for one purpose
/// (say a card number) can never equal one made for another (a PIN, a claim code).
public struct KeyedHasher: Sendable {
    private let key: [UInt8]

    /// A hasher keyed by `secret`.
    public init(secret: ServerSecret) {
        self.key = secret.bytes
    }

    /// The digest under which a card is stored: HMAC(secret, "card\0" + digits).
    public func cardDigest(_ card: CardNumber) -> Digest32 {
        mac(["card"], card.digits)
    }

    /// The digest of a PIN, bound to its card: HMAC(secret, "pin\0" + card digits + "\0" + PIN).
    ///
    /// Binding to the card means equal PINs on two cards give different digests.
    public func pinDigest(card: CardNumber, pin: PIN) -> Digest32 {
        mac(["pin", card.digits], pin.digits)
    }

    /// HMAC(secret, domain + "\0" + message), for request fingerprints, claim codes and the like.
    public func digest(domain: String, _ message: [UInt8]) -> Digest32 {
        var input = Array(domain.utf8)
        input.append(0)
        input.append(contentsOf: message)
        return Self.digest32(HMACSHA256.authenticationCode(key: key, message: input))
    }

    /// HMAC over the NUL-terminated `prefixes` followed by `last`.
    private func mac(_ prefixes: [String], _ last: String) -> Digest32 {
        var input: [UInt8] = []
        input.reserveCapacity(40)
        for prefix in prefixes {
            input.append(contentsOf: prefix.utf8)
            input.append(0)
        }
        input.append(contentsOf: last.utf8)
        return Self.digest32(HMACSHA256.authenticationCode(key: key, message: input))
    }

    /// The same value as `Digest32(bytes:)` (big-endian words), built without that initializer's
    /// unspecialized generic loop, which costs more than the HMAC itself on this per-request path.
    private static func digest32(_ mac: [UInt8]) -> Digest32 {
        precondition(mac.count == Digest32.byteCount, "HMAC-SHA256 output is 32 bytes")
        return mac.withUnsafeBytes { raw in
            func word(_ index: Int) -> UInt64 {
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
            }
            return Digest32(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
        }
    }
}
