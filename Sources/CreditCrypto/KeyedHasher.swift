// KeyedHasher: domain-separated HMAC digests of card numbers, PINs and other secrets.

import CreditCore

/// Turns card numbers, PINs and request material into `Digest32`s keyed by the server secret.
///
/// Every digest starts with a domain label and a NUL byte, so a digest made for one purpose
/// (say a card number) can never equal one made for another (a PIN, a claim code).
public struct KeyedHasher: Sendable {
    private let mac: PrekeyedMAC

    /// A hasher keyed by `secret`.
    public init(secret: ServerSecret) {
        self.mac = PrekeyedMAC(key: secret.bytes)
    }

    /// The digest under which a card is stored: HMAC(secret, "card\0" + digits).
    public func cardDigest(_ card: CardNumber) -> Digest32 {
        mac.mac { input in
            input.append("card")
            input.append(byte: 0)
            input.append(card.digits)
        }
    }

    /// The digest of a PIN, bound to its card: HMAC(secret, "pin\0" + card digits + "\0" + PIN).
    ///
    /// Binding to the card means equal PINs on two cards give different digests.
    public func pinDigest(card: CardNumber, pin: PIN) -> Digest32 {
        mac.mac { input in
            input.append("pin")
            input.append(byte: 0)
            input.append(card.digits)
            input.append(byte: 0)
            input.append(pin.digits)
        }
    }

    /// HMAC(secret, domain + "\0" + message), for request fingerprints, claim codes and the like.
    public func digest(domain: String, _ message: [UInt8]) -> Digest32 {
        mac.mac { input in
            input.append(domain)
            input.append(byte: 0)
            message.withUnsafeBytes { input.append($0) }
        }
    }
}
