// Minter: makes the secrets a command needs (card numbers, PINs, claim codes) and shows them once.

import CreditCore
import CreditCrypto

/// The clear secrets made for one request: shown in its live reply only, never stored.
struct Revelation {
    var cards: [(number: CardNumber, pin: PIN)] = []
    var claimCode: String?

    /// Puts the clear card numbers, PINs and claim code into the live reply. The stored reply
    /// (what a retry gets) keeps the masked card and `claim=pending`.
    /// The reply's lines are decoded once and the reply re-encoded once (`Reply` keeps bytes:
    /// editing `items[index]` in a loop decoded the whole reply for each card of a STOCK).
    func reveal(in reply: inout Reply) {
        guard !cards.isEmpty || claimCode != nil else { return }
        var items = reply.items
        var fields = reply.fields
        if cards.count == 1, items.isEmpty {
            show(cards[0], in: &fields)
        } else {
            for (index, card) in cards.enumerated() where index < items.count { show(card, in: &items[index]) }
        }
        if let claimCode, let index = fields.firstIndex(where: { $0.key == "claim" }) {
            fields[index] = Field("claim", claimCode)
        }
        reply = Reply(items: items, fields: fields)
    }

    private func show(_ card: (number: CardNumber, pin: PIN), in fields: inout [Field]) {
        guard let index = fields.firstIndex(where: { $0.key == "card" }) else { return }
        fields[index] = Field("card", card.number.digits)
        fields.insert(Field("pin", card.pin.digits), at: index + 1)
    }
}

/// Makes new cards and claim codes with OpenSSL's CSPRNG, unique against the ledger.
struct Minter {
    /// Claim code alphabet: Crockford's base32 (no I, L, O, U), easy to read aloud and type.
    static let claimAlphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    /// Claim code length: 20 symbols of 5 bits = 100 random bits (at least 80 are required).
    static let claimLength = 20

    let hasher: KeyedHasher
    let cards: CardGenerator

    /// True for the commands `prepare` fills in: gift issues, stock and replacements.
    static func mints(_ command: Command) -> Bool {
        switch command {
        case .issue(let issue): return issue.type == .gift
        case .stock, .replace: return true
        default: return false
        }
    }

    /// The command with every secret it needs filled in, and what to reveal once it is applied.
    func prepare(_ command: Command, ledger: Ledger) -> (Command, Revelation) {
        var revelation = Revelation()
        switch command {
        case .issue(var issue) where issue.type == .gift:
            let card = makeCard(ledger: ledger, avoiding: [])
            issue.card = card.keys
            revelation.cards = [(card.number, card.pin)]
            if issue.recipient == .unknown {
                let claim = makeClaimCode(ledger: ledger)
                issue.claim = claim.digest
                revelation.claimCode = claim.code
            }
            return (.issue(issue), revelation)
        case .stock(let count, _, let currency, let batch):
            var keys: [CardKeys] = []
            for _ in 0..<count {
                let card = makeCard(ledger: ledger, avoiding: Set(keys.map(\.cardDigest)))
                keys.append(card.keys)
                revelation.cards.append((card.number, card.pin))
            }
            return (.stock(count: count, cards: keys, currency: currency, batch: batch), revelation)
        case .replace(let id, _):
            let card = makeCard(ledger: ledger, avoiding: [])
            revelation.cards = [(card.number, card.pin)]
            return (.replace(id, card.keys), revelation)
        default:
            return (command, revelation)
        }
    }

    /// The digest a claim code is found by (codes are case-insensitive).
    func claimDigest(_ code: String) -> Digest32 {
        hasher.digest(domain: "claim", Array(code.uppercased().utf8))
    }

    private func makeCard(ledger: Ledger, avoiding: Set<Digest32>) -> (number: CardNumber, pin: PIN, keys: CardKeys) {
        while true {
            let number = cards.makeCardNumber()
            let digest = hasher.cardDigest(number)
            if ledger.cardExists(digest) || avoiding.contains(digest) { continue }
            let pin = cards.makePIN()
            let keys = CardKeys(cardDigest: digest, pinDigest: hasher.pinDigest(card: number, pin: pin),
                                last4: number.last4, length: number.digits.count)
            return (number, pin, keys)
        }
    }

    private func makeClaimCode(ledger: Ledger) -> (code: String, digest: Digest32) {
        while true {
            let code = String((0..<Minter.claimLength).map { _ in
                Minter.claimAlphabet[Int(SecureRandom.uniform(below: UInt64(Minter.claimAlphabet.count)))]
            })
            let digest = claimDigest(code)
            if !ledger.claimExists(digest) { return (code, digest) }
        }
    }
}
