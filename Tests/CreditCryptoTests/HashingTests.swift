// Proves HMAC-SHA256 and SHA-256 match published vectors, secrets compare correctly, and keyed digests are domain-separated.

import CreditCore
import CreditCrypto
import Testing

/// Lowercase hex of `bytes`, for comparing against published test vectors.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Test func hmacSHA256MatchesRFC4231TestCase2() {
    let mac = HMACSHA256.authenticationCode(
        key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
    #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
}

@Test func hmacSHA256MatchesRFC4231TestCase1() {
    let mac = HMACSHA256.authenticationCode(
        key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
    #expect(hex(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
}

@Test func prekeyedMACMatchesRFC4231TestCases1And2() {
    let jefe = PrekeyedMAC(key: Array("Jefe".utf8))
    let mac2 = jefe.mac { $0.append("what do ya "); $0.append("want for nothing?") }
    #expect(hex(mac2.bytes) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    let mac1 = PrekeyedMAC(key: [UInt8](repeating: 0x0b, count: 20)).mac { $0.append("Hi There") }
    #expect(hex(mac1.bytes) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    // The context is re-used: a second message under the same key gives the same answer again.
    #expect(jefe.mac { $0.append("what do ya want for nothing?") } == mac2)
}

@Test func sha256MatchesFIPSVectorForABC() {
    let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    #expect(hex(HMACSHA256.sha256(Array("abc".utf8))) == expected)
    #expect(KeySecret.sha256Hex("abc") == expected)
    #expect(KeySecret.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
}

@Test func constantTimeEqualsComparesContentAndLength() {
    #expect(KeySecret.constantTimeEquals([1, 2, 3], [1, 2, 3]))
    #expect(KeySecret.constantTimeEquals([], []))
    #expect(!KeySecret.constantTimeEquals([1, 2, 3], [1, 2, 4]))
    #expect(!KeySecret.constantTimeEquals([9, 2, 3], [1, 2, 3]))
    #expect(!KeySecret.constantTimeEquals([1, 2, 3], [1, 2]))
}

@Test func keyedDigestsAreDomainSeparatedAndCardBound() throws {
    let hasher = KeyedHasher(secret: ServerSecret(bytes: [UInt8](repeating: 7, count: 32)))
    let cardA = try #require(CardNumber("4539148803436467"))
    let cardB = try #require(CardNumber("4111111111111111"))
    let pin = try #require(PIN("1234"))

    #expect(hasher.cardDigest(cardA) == hasher.cardDigest(cardA))
    #expect(hasher.cardDigest(cardA) != hasher.cardDigest(cardB))
    #expect(hasher.cardDigest(cardA) != hasher.pinDigest(card: cardA, pin: pin))
    #expect(hasher.pinDigest(card: cardA, pin: pin) != hasher.pinDigest(card: cardB, pin: pin))
    #expect(hasher.cardDigest(cardA) == hasher.digest(domain: "card", Array(cardA.digits.utf8)))
    #expect(hasher.digest(domain: "ref", [1, 2]) != hasher.digest(domain: "claim", [1, 2]))
}

@Test func keyedDigestMatchesHMACOfDomainNULMessage() {
    let key = [UInt8](repeating: 0x42, count: 32)
    let hasher = KeyedHasher(secret: ServerSecret(bytes: key))
    let expected = HMACSHA256.authenticationCode(key: key, message: Array("ref\u{0}abc".utf8))
    #expect(hasher.digest(domain: "ref", Array("abc".utf8)).bytes == expected)
}

@Test func differentSecretsGiveDifferentDigests() throws {
    let card = try #require(CardNumber("4539148803436467"))
    let first = KeyedHasher(secret: ServerSecret(bytes: [UInt8](repeating: 1, count: 32)))
    let second = KeyedHasher(secret: ServerSecret(bytes: [UInt8](repeating: 2, count: 32)))
    #expect(first.cardDigest(card) != second.cardDigest(card))
}

@Test func keyedDigestWordsMatchDigest32ByteLayout() {
    let key = SecureRandom.bytes(32)
    let hasher = KeyedHasher(secret: ServerSecret(bytes: key))
    let mac = HMACSHA256.authenticationCode(key: key, message: Array("claim\u{0}xyz".utf8))
    #expect(hasher.digest(domain: "claim", Array("xyz".utf8)) == Digest32(bytes: mac))
}
