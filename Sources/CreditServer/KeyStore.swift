// Client keys: who may connect and in which role, with secrets kept only as SHA-256 hashes.

import CreditCore
import CreditCrypto
import CreditProtocol
import Foundation

/// One client key: its id, role, the SHA-256 of its secret, and optional restrictions.
struct ClientKey: Sendable {
    let id: ClientID
    let role: Role
    let secretHash: [UInt8]
    /// When set, AUTH is accepted only from these source addresses.
    var addresses: [AddressRange] = []
    /// When set, AUTH must name this terminal (`terminal=`): the key belongs to one till.
    var terminal: String?

    /// Nil if a connection from `peer` naming `terminal` may use this key, else why not (logged only).
    func restrictionFailure(peer: String, terminal given: String?) -> String? {
        if !addresses.isEmpty && !addresses.contains(where: { $0.contains(peer) }) { return "address \(peer) not allowed" }
        if let terminal, terminal != given { return "terminal \(given ?? "none") is not \(terminal)" }
        return nil
    }
}

/// The client keys loaded from the keys file.
struct KeyStore: Sendable {
    private var keys: [String: ClientKey] = [:]
    /// A hash no secret matches, compared against when the key id is unknown so that an unknown
    /// id and a wrong secret take the same time.
    private let decoyHash = [UInt8](repeating: 0, count: 32)

    /// Ids of development keys (`dev-` prefix): the daemon warns while any is enabled.
    var developmentKeyIDs: [String] { keys.keys.filter { $0.hasPrefix("dev-") }.sorted() }

    /// Parses the keys file: `id role sha256:<64 hex> [from=CIDR[,CIDR…]] [terminal=ID]` per line,
    /// `#` comments.
    static func load(path: String) throws(ConfigError) -> KeyStore {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("cannot read keys file \(path)")
        }
        var store = KeyStore()
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            let place = "\(path) line \(index + 1)"
            guard words.count >= 3, ProfileID(words[0]) != nil, let role = Role(rawValue: words[1]),
                  words[2].hasPrefix("sha256:"), let hash = hexBytes(String(words[2].dropFirst(7))), hash.count == 32
            else { throw ConfigError("\(place): expected `id role sha256:<64 hex digits> [from=CIDR] [terminal=ID]`") }
            guard store.keys[words[0]] == nil else { throw ConfigError("\(place): duplicate key id \(words[0])") }
            var key = ClientKey(id: ClientID(words[0]), role: role, secretHash: hash)
            for option in words.dropFirst(3) {
                if option.hasPrefix("from="), !option.dropFirst(5).isEmpty {
                    let ranges = option.dropFirst(5).split(separator: ",").map { AddressRange(String($0)) }
                    guard ranges.allSatisfy({ $0 != nil }) else { throw ConfigError("\(place): bad address range in \(option)") }
                    key.addresses += ranges.map { $0! }
                } else if option.hasPrefix("terminal="), ProfileID(String(option.dropFirst(9))) != nil {
                    key.terminal = String(option.dropFirst(9))
                } else {
                    throw ConfigError("\(place): unknown key option \(option) (from=CIDR or terminal=ID)")
                }
            }
            store.keys[words[0]] = key
        }
        guard !store.keys.isEmpty else { throw ConfigError("keys file \(path) has no keys") }
        return store
    }

    /// Number of keys.
    var count: Int { keys.count }

    /// True while a key with this id is in the store (a SIGHUP reload may remove it).
    func isEnabled(_ id: ClientID) -> Bool {
        keys[id.text] != nil
    }

    /// The key if `secret` is its secret; comparison is constant-time.
    func authenticate(id: String, secret: String) -> ClientKey? {
        let given = hexBytes(KeySecret.sha256Hex(secret))!
        let key = keys[id]
        let matches = KeySecret.constantTimeEquals(key?.secretHash ?? decoyHash, given)
        return matches ? key : nil
    }
}

private func hexBytes(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case 48...57: return digit - 48
    case 97...102: return digit - 87
    case 65...70: return digit - 55
    default: return nil
    }
}
