// The command table: one row per verb with its roles, syntax and parser, so HELP, dispatch and
// the spec cannot drift apart.

import CreditCore

/// What a client key may do. Each verb row names the roles allowed to use it.
public enum Role: String, Sendable, CaseIterable {
    /// CX managers and back office: everything, including reports, stock and adjustments.
    case admin
    /// Clienteling staff: issue credits, sell and activate gift cards, transfer, freeze.
    case staff
    /// Tills: balance with PIN, tender, capture, void, reverse, refund, activate and load.
    case pos
    /// eCommerce checkout: balance with PIN, tender, capture, void, reverse, refund.
    case gateway
    /// Customer self-service: the credits of the profile it names, claims, transfers, balance with PIN.
    case portal

    /// The role's bit in `VerbSpec.roleBits`.
    var bit: UInt8 {
        switch self {
        case .admin: 1
        case .staff: 2
        case .pos: 4
        case .gateway: 8
        case .portal: 16
        }
    }
}

/// Roles that act for a customer who is present (till, checkout, self-service) name a card with
/// its PIN or a profile, never a bare credit id: an id is no proof the customer is there.
private let noBareCreditID: [Role: Set<String>] = [.pos: ["credit"], .gateway: ["credit"], .portal: ["credit"]]

/// Verbs handled by the connection itself rather than the ledger.
public enum SessionVerb: Sendable {
    case auth, ping, help, quit, stats, backup
}

/// The keyed hashing of secrets the protocol layer needs; the server supplies it (it holds the
/// key). Malformed text must still yield digests, which then match nothing and decline.
public struct Digests: Sendable {
    /// Card number and PIN to a card selector.
    public let card: @Sendable (_ card: String, _ pin: String) -> CreditSelector
    /// A card number alone to its digest (ACTIVATE and LOAD add value, so need no PIN).
    public let cardNumber: @Sendable (_ card: String) -> Digest32
    /// A claim code to its digest.
    public let claimCode: @Sendable (_ code: String) -> Digest32

    /// Makes the digest functions.
    public init(card: @escaping @Sendable (String, String) -> CreditSelector,
                cardNumber: @escaping @Sendable (String) -> Digest32,
                claimCode: @escaping @Sendable (String) -> Digest32) {
        self.card = card
        self.cardNumber = cardNumber
        self.claimCode = claimCode
    }
}

/// A request turned into something to do.
public enum Action: Sendable {
    /// A connection-level verb.
    case session(SessionVerb)
    /// A ledger command with its ref (mutating commands) — the ref is not part of the command.
    case ledger(Command, ref: Ref?)
}

/// One row of the command table. A class, so that looking a request's row up hands over one
/// reference rather than copying (and retaining) every field.
public final class VerbSpec: Sendable {
    /// The verb, upper case.
    public let verb: String
    /// The syntax line HELP shows.
    public let syntax: String
    /// Roles allowed; nil means allowed before AUTH, to anyone.
    public let roles: Set<Role>?
    /// Arguments the verb accepts; anything else is a BAD_REQUEST.
    public let allowed: Set<String>
    /// Arguments that must be present.
    public let required: [String]
    /// Arguments some roles may not use (e.g. `credit=` for tills).
    public let forbiddenFor: [Role: Set<String>]
    /// Arguments some roles must give (e.g. the portal's `from=` on TRANSFER).
    public let requiredFor: [Role: Set<String>]
    /// The row's position in `CommandTable.verbs`: an index for per-verb counters, so counting
    /// a request needs no lookup by name.
    public let position: Int
    /// `allowed` as an array: a request's few keys are found by comparing short strings, which
    /// cost half as much as hashing each one into the set.
    let allowedList: [String]
    /// `roles` as bits (`Role.bit`), all set when nil; with `hasRoleRules`, so that authorizing
    /// a request looks nothing up by hash.
    let roleBits: UInt8
    /// Whether some role has `forbiddenFor` or `requiredFor` arguments.
    let hasRoleRules: Bool
    /// Builds the action from validated arguments.
    let build: @Sendable (ParsedRequest, Digests) -> Result<Action, CreditError>

    init(verb: String, syntax: String, roles: Set<Role>?, allowed: Set<String>, required: [String],
         forbiddenFor: [Role: Set<String>] = [:], requiredFor: [Role: Set<String>] = [:], position: Int = 0,
         build: @escaping @Sendable (ParsedRequest, Digests) -> Result<Action, CreditError>) {
        self.verb = verb
        self.syntax = syntax
        self.roles = roles
        self.allowed = allowed
        self.required = required
        self.forbiddenFor = forbiddenFor
        self.requiredFor = requiredFor
        self.position = position
        self.build = build
        allowedList = Array(allowed)
        roleBits = Role.allCases.reduce(0) { bits, role in roles?.contains(role) ?? true ? bits | role.bit : bits }
        hasRoleRules = !forbiddenFor.isEmpty || !requiredFor.isEmpty
    }

    /// The same row at `position`.
    func numbered(_ position: Int) -> VerbSpec {
        VerbSpec(verb: verb, syntax: syntax, roles: roles, allowed: allowed, required: required,
                 forbiddenFor: forbiddenFor, requiredFor: requiredFor, position: position, build: build)
    }
}

/// The table of every verb the daemon speaks.
public enum CommandTable {
    /// Every verb, in HELP order, each knowing its position.
    public static let verbs: [VerbSpec] = numbered(rows)

    private static func numbered(_ rows: [VerbSpec]) -> [VerbSpec] {
        rows.enumerated().map { index, row in row.numbered(index) }
    }

    private static let rows: [VerbSpec] = [
        VerbSpec(verb: "AUTH", syntax: "AUTH key=<id> secret=<secret> [terminal=<id>]", roles: nil,
                 allowed: ["key", "secret", "terminal"], required: ["key", "secret"]) { _, _ in .success(.session(.auth)) },
        VerbSpec(verb: "PING", syntax: "PING", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.ping)) },
        VerbSpec(verb: "HELP", syntax: "HELP", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.help)) },
        VerbSpec(verb: "QUIT", syntax: "QUIT", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.quit)) },
        VerbSpec(verb: "ISSUE",
                 syntax: "ISSUE type=gift|store|promo amount=<decimal> currency=<ISO 4217> ref=<ref> [profile=<id>] [bonus=<decimal>] [campaign=<name>] [expires=YYYY-MM-DD] [purchaser=<id>] [recipient=<id>|unknown] [revert_after=30d]",
                 roles: [.admin, .staff], allowed: ["type", "amount", "currency", "ref", "profile", "bonus", "campaign", "expires",
                                            "purchaser", "recipient", "revert_after"],
                 required: ["type", "amount", "currency", "ref"], build: buildIssue),
        VerbSpec(verb: "BALANCE", syntax: "BALANCE card=<number> pin=<pin> | BALANCE credit=<id>",
                 roles: [.admin, .staff, .pos, .gateway, .portal], allowed: ["card", "pin", "credit"], required: [],
                 forbiddenFor: noBareCreditID, build: buildBalance),
        VerbSpec(verb: "CREDITS", syntax: "CREDITS profile=<id>",
                 roles: [.admin, .staff, .pos, .gateway, .portal], allowed: ["profile"], required: ["profile"], build: buildCredits),
        VerbSpec(verb: "QUOTE",
                 syntax: "QUOTE (card=<number> pin=<pin> | credit=<id> | profile=<id>) amount=<decimal> currency=<ISO 4217> [partial=yes|no]",
                 roles: [.admin, .staff, .pos, .gateway], allowed: ["card", "pin", "credit", "profile", "amount", "currency", "partial"],
                 required: ["amount", "currency"],
                 forbiddenFor: noBareCreditID, build: buildQuote),
        VerbSpec(verb: "HOLD",
                 syntax: "HOLD (card=<number> pin=<pin> | credit=<id> | profile=<id>) amount=<decimal> currency=<ISO 4217> ref=<ref> [ttl=30s|15m|2h|7d] [partial=yes|no]",
                 roles: [.admin, .pos, .gateway], allowed: ["card", "pin", "credit", "profile", "amount", "currency", "ref", "ttl", "partial"],
                 required: ["amount", "currency", "ref"],
                 forbiddenFor: noBareCreditID, build: buildHold),
        VerbSpec(verb: "CAPTURE", syntax: "CAPTURE hold=<id> [amount=<decimal>] ref=<ref>",
                 roles: [.admin, .pos, .gateway], allowed: ["hold", "amount", "ref"], required: ["hold", "ref"], build: buildCapture),
        VerbSpec(verb: "VOID", syntax: "VOID hold=<id> ref=<ref>",
                 roles: [.admin, .pos, .gateway], allowed: ["hold", "ref"], required: ["hold", "ref"], build: buildVoid),
        VerbSpec(verb: "REFUND", syntax: "REFUND credit=<id> amount=<decimal> currency=<ISO 4217> ref=<ref>",
                 roles: [.admin, .pos, .gateway], allowed: ["credit", "amount", "currency", "ref"],
                 required: ["credit", "amount", "currency", "ref"], build: buildRefund),
        VerbSpec(verb: "FREEZE", syntax: "FREEZE credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin, .staff], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .freeze) }),
        VerbSpec(verb: "UNFREEZE", syntax: "UNFREEZE credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin, .staff], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .unfreeze) }),
        VerbSpec(verb: "CANCEL", syntax: "CANCEL credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .cancel) }),
        VerbSpec(verb: "STOCK", syntax: "STOCK count=1..\(Ledger.stockCountMax) currency=<ISO 4217> ref=<ref> [batch=<label>]",
                 roles: [.admin], allowed: ["count", "currency", "batch", "ref"], required: ["count", "currency", "ref"],
                 build: buildStock),
        VerbSpec(verb: "ACTIVATE", syntax: "ACTIVATE card=<number> amount=<decimal> currency=<ISO 4217> ref=<ref>",
                 roles: [.admin, .staff, .pos], allowed: ["card", "amount", "currency", "ref"], required: ["card", "amount", "currency", "ref"],
                 build: { request, digests in buildLoad(request, digests, activate: true) }),
        VerbSpec(verb: "LOAD", syntax: "LOAD card=<number> amount=<decimal> currency=<ISO 4217> ref=<ref>",
                 roles: [.admin, .staff, .pos], allowed: ["card", "amount", "currency", "ref"], required: ["card", "amount", "currency", "ref"],
                 build: { request, digests in buildLoad(request, digests, activate: false) }),
        VerbSpec(verb: "REPLACE", syntax: "REPLACE credit=<id> ref=<ref>",
                 roles: [.admin, .staff], allowed: ["credit", "ref"], required: ["credit", "ref"], build: buildReplace),
        VerbSpec(verb: "TRANSFER", syntax: "TRANSFER credit=<id> to=<profile> ref=<ref> [amount=<decimal>] [from=<profile>]",
                 roles: [.admin, .staff, .portal], allowed: ["credit", "to", "from", "amount", "ref"], required: ["credit", "to", "ref"],
                 requiredFor: [.portal: ["from"]], build: buildTransfer),
        VerbSpec(verb: "CLAIM", syntax: "CLAIM code=<claim code> profile=<id> ref=<ref>",
                 roles: [.admin, .staff, .portal], allowed: ["code", "profile", "ref"], required: ["code", "profile", "ref"], build: buildClaim),
        VerbSpec(verb: "UNLOCK", syntax: "UNLOCK credit=<id> ref=<ref>",
                 roles: [.admin], allowed: ["credit", "ref"], required: ["credit", "ref"]) { request, _ in
                     attempt { () throws(CreditError) -> Action in
                         .ledger(.unlock(try creditID(request.value("credit")!)), ref: try ref(request))
                     }
                 },
        VerbSpec(verb: "REVERSE", syntax: "REVERSE original=<ref> ref=<ref>",
                 roles: [.admin, .pos, .gateway], allowed: ["original", "ref"], required: ["original", "ref"], build: buildReverse),
        VerbSpec(verb: "REPORT", syntax: "REPORT kind=liability [currency=<ISO 4217>] | REPORT kind=activity from=YYYY-MM-DD to=YYYY-MM-DD",
                 roles: [.admin], allowed: ["kind", "currency", "from", "to"], required: ["kind"], build: buildReport),
        VerbSpec(verb: "HISTORY", syntax: "HISTORY credit=<id> [limit=1..\(LedgerPolicy.historyLimitMax)]",
                 roles: [.admin, .staff], allowed: ["credit", "limit"], required: ["credit"], build: buildHistory),
        VerbSpec(verb: "RATES", syntax: "RATES", roles: [.admin, .staff, .pos, .gateway, .portal], allowed: [], required: []) { _, _ in .success(.ledger(.rates, ref: nil)) },
        VerbSpec(verb: "STATS", syntax: "STATS", roles: [.admin], allowed: [], required: []) { _, _ in .success(.session(.stats)) },
        VerbSpec(verb: "BACKUP", syntax: "BACKUP", roles: [.admin], allowed: [], required: []) { _, _ in .success(.session(.backup)) },
    ]

    /// The row of a verb (already upper case), if the verb exists: a scan comparing byte counts
    /// first (`isSameKey`) cost a third of hashing the verb into a dictionary.
    public static func spec(_ verb: String) -> VerbSpec? { verbs.first { isSameKey($0.verb, verb) } }

    /// Nil if `role` may make this request; FORBIDDEN when the verb is not for the role or the
    /// role may not use one of its arguments (or must give one it lacks).
    public static func authorize(_ request: ParsedRequest, spec: VerbSpec, role: Role) -> CreditError? {
        guard spec.roles != nil else { return nil }
        guard spec.roleBits & role.bit != 0 else {
            return CreditError(.forbidden, "\(spec.verb) is not allowed for role \(role.rawValue)")
        }
        guard spec.hasRoleRules else { return nil }
        if let forbidden = spec.forbiddenFor[role] {
            for argument in request.arguments where forbidden.contains(argument.key) {
                return CreditError(.forbidden, "role \(role.rawValue) may not use \(argument.key)= with \(spec.verb)")
            }
        }
        // Sorted only when something is missing, so the error names the same key every time.
        guard let required = spec.requiredFor[role], !required.allSatisfy({ request.value($0) != nil }) else { return nil }
        for key in required.sorted() where request.value(key) == nil {
            return CreditError(.forbidden, "role \(role.rawValue) must give \(key)= with \(spec.verb)")
        }
        return nil
    }

    /// Checks the arguments of a request against its row and builds its action.
    public static func action(for request: ParsedRequest, spec: VerbSpec, cards: Digests) -> Result<Action, CreditError> {
        for argument in request.arguments where !spec.allowedList.contains(where: { isSameKey($0, argument.key) }) {
            return .failure(CreditError(.badRequest, "\(spec.verb) takes no argument \(argument.key)="))
        }
        for key in spec.required where request.value(key) == nil {
            return .failure(CreditError(.badRequest, "\(spec.verb) requires \(key)="))
        }
        return spec.build(request, cards)
    }

    /// The bytes a request's fingerprint is computed over: the verb and its arguments sorted by
    /// key, without the ref, with values in canonical form — `amount=50` and `amount=50.00`,
    /// `ttl=15m` and `ttl=900s`, no `partial=` and `partial=no` are the same request, so a till
    /// that reformats a retry gets its replay rather than REF_CONFLICT.
    public static func canonicalBytes(_ request: ParsedRequest) -> [UInt8] {
        var bytes: [UInt8] = []
        canonicalBytes(request, into: &bytes)
        return bytes
    }

    /// Replaces `bytes` with the request's canonical bytes (`canonicalBytes(_:)`), keeping the
    /// array's storage: the engine reuses one array for every request, where a new one (and the
    /// sort's) were two of a HOLD's dozen allocations.
    public static func canonicalBytes(_ request: ParsedRequest, into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        // Keys are validated ASCII tokens, so String order is byte order; the few arguments are
        // sorted by key with an insertion sort of their indices (a request has a handful).
        let arguments = request.arguments
        withUnsafeTemporaryAllocation(of: Int.self, capacity: arguments.count) { order in
            var sorted = 0
            for index in arguments.indices where !isSameKey(arguments[index].key, "ref") {
                var slot = sorted
                while slot > 0 && arguments[index].key < arguments[order[slot - 1]].key {
                    order[slot] = order[slot - 1]
                    slot -= 1
                }
                order[slot] = index
                sorted += 1
            }
            bytes.appendUTF8(request.verb)
            for index in order[..<sorted] {
                let argument = arguments[index]
                if isSameKey(argument.key, "partial") && argument.value == "no" { continue }
                bytes.append(0)
                bytes.appendUTF8(argument.key)
                bytes.append(UInt8(ascii: "="))
                appendCanonicalValue(argument, to: &bytes)
            }
        }
    }

    /// Appends `value` in decimal ASCII.
    private static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Appends the canonical form of an argument's value: amounts as `<unscaled>e-<digits>` with
    /// trailing zeros dropped, durations as `<seconds>s`, anything else as given.
    private static func appendCanonicalValue(_ argument: Argument, to bytes: inout [UInt8]) {
        let key = argument.key
        if isSameKey(key, "amount") || isSameKey(key, "bonus") {
            guard let amount = DecimalAmount(argument.value) else { return bytes.appendUTF8(argument.value) }
            var unscaled = amount.unscaled
            var digits = amount.fractionDigits
            while digits > 0 && unscaled % 10 == 0 { unscaled /= 10; digits -= 1 }
            appendDecimal(Int64(unscaled), to: &bytes)
            bytes += "e-".utf8
            appendDecimal(Int64(digits), to: &bytes)
        } else if isSameKey(key, "ttl") || isSameKey(key, "revert_after") {
            guard let seconds = Seconds(ttl: argument.value) else { return bytes.appendUTF8(argument.value) }
            appendDecimal(seconds.value, to: &bytes)
            bytes.append(UInt8(ascii: "s"))
        } else {
            bytes.appendUTF8(argument.value)
        }
    }
}

// MARK: Builders

private func buildIssue(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        guard let type = CreditType(rawValue: request.value("type")!) else {
            throw CreditError(.badRequest, "type must be gift, store or promo")
        }
        var expires: CivilDate?
        if let text = request.value("expires") {
            guard let parsed = CivilDate(text) else { throw CreditError(.badRequest, "expires must be a date YYYY-MM-DD") }
            expires = parsed
        }
        var campaign: String?
        if let text = request.value("campaign") {
            guard ProfileID(text) != nil else { throw CreditError(.badRequest, "campaign must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
            campaign = text
        }
        let bonus = request.value("bonus") == nil ? nil : try amount(request, "bonus")
        var recipient: Recipient?
        if let text = request.value("recipient") {
            recipient = text == "unknown" ? .unknown : .profile(try profile(request, key: "recipient")!)
        }
        var revertAfter: Seconds?
        if let text = request.value("revert_after") {
            guard let parsed = Seconds(ttl: text) else { throw CreditError(.badRequest, "revert_after must look like 30d") }
            revertAfter = parsed
        }
        let command = IssueCommand(type: type, amount: try amount(request, "amount"), bonus: bonus, currency: try currency(request),
                                   profile: try profile(request), campaign: campaign, expires: expires, card: nil,
                                   purchaser: try profile(request, key: "purchaser"), recipient: recipient, revertAfter: revertAfter)
        return .ledger(.issue(command), ref: try ref(request))
    }
}

private func buildBalance(_ request: ParsedRequest, _ cards: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        return .ledger(.balance(try selector(request, cards, allowProfile: false)), ref: nil)
    }
}

private func buildCredits(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.credits(try profile(request)!), ref: nil) }
}

private func holdCommand(_ request: ParsedRequest, _ cards: Digests) throws(CreditError) -> HoldCommand {
    var ttl: Seconds?
    if let text = request.value("ttl") {
        guard let parsed = Seconds(ttl: text) else { throw CreditError(.badRequest, "ttl must look like 30s, 15m, 2h or 7d") }
        ttl = parsed
    }
    var partial = false
    switch request.value("partial") {
    case nil, "no": partial = false
    case "yes": partial = true
    default: throw CreditError(.badRequest, "partial must be yes or no")
    }
    return HoldCommand(selector: try selector(request, cards), amount: try amount(request, "amount"),
                       currency: try currency(request), ttl: ttl, partial: partial)
}

private func buildQuote(_ request: ParsedRequest, _ cards: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.quote(try holdCommand(request, cards)), ref: nil) }
}

private func buildHold(_ request: ParsedRequest, _ cards: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.hold(try holdCommand(request, cards)), ref: try ref(request)) }
}

private func buildRefund(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        .ledger(.refund(try creditID(request.value("credit")!), amount: try amount(request, "amount"), currency: try currency(request)),
                ref: try ref(request))
    }
}

private func buildStatus(_ request: ParsedRequest, _ change: StatusChange) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let reason = request.value("reason")!
        guard reason.utf8.count <= 64 else { throw CreditError(.badRequest, "reason is limited to 64 bytes") }
        return .ledger(.changeStatus(try creditID(request.value("credit")!), change, reason: reason), ref: try ref(request))
    }
}

private func buildCapture(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let captured = request.value("amount") == nil ? nil : try amount(request, "amount")
        return .ledger(.capture(try holdID(request), amount: captured), ref: try ref(request))
    }
}

private func buildVoid(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.void(try holdID(request)), ref: try ref(request)) }
}

private func buildHistory(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        var limit = LedgerPolicy.historyLimitDefault
        if let text = request.value("limit") {
            guard text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let parsed = Int(text),
                  (1...LedgerPolicy.historyLimitMax).contains(parsed) else {
                throw CreditError(.badRequest, "limit must be 1 to \(LedgerPolicy.historyLimitMax)")
            }
            limit = parsed
        }
        return .ledger(.history(try creditID(request.value("credit")!), limit: limit), ref: nil)
    }
}

// MARK: Argument parsers

private func selector(_ request: ParsedRequest, _ cards: Digests, allowProfile: Bool = true) throws(CreditError) -> CreditSelector {
    switch (request.value("card"), request.value("pin"), request.value("credit"), request.value("profile")) {
    case (let card?, let pin?, nil, nil): return cards.card(card, pin)
    case (nil, nil, let credit?, nil): return .credit(try creditID(credit))
    case (nil, nil, nil, .some) where allowProfile: return .profile(try profile(request)!)
    default:
        throw CreditError(.badRequest, allowProfile ? "give card= with pin=, or credit=, or profile=" : "give card= with pin=, or credit=")
    }
}

private func profile(_ request: ParsedRequest, key: String = "profile") throws(CreditError) -> ProfileID? {
    guard let text = request.value(key) else { return nil }
    guard let profile = ProfileID(text) else { throw CreditError(.badRequest, "\(key) must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
    return profile
}

private func buildStock(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let text = request.value("count")!
        guard text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let count = Int(text), (1...Ledger.stockCountMax).contains(count) else {
            throw CreditError(.badRequest, "count must be 1 to \(Ledger.stockCountMax)")
        }
        var batch: String?
        if let text = request.value("batch") {
            guard ProfileID(text) != nil else { throw CreditError(.badRequest, "batch must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
            batch = text
        }
        return .ledger(.stock(count: count, cards: [], currency: try currency(request), batch: batch), ref: try ref(request))
    }
}

private func buildLoad(_ request: ParsedRequest, _ digests: Digests, activate: Bool) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let digest = digests.cardNumber(request.value("card")!)
        let amount = try amount(request, "amount")
        let code = try currency(request)
        let command: Command = activate ? .activate(cardDigest: digest, amount: amount, currency: code)
                                        : .load(cardDigest: digest, amount: amount, currency: code)
        return .ledger(command, ref: try ref(request))
    }
}

private func buildReplace(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.replace(try creditID(request.value("credit")!), nil), ref: try ref(request)) }
}

private func buildTransfer(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let split = request.value("amount") == nil ? nil : try amount(request, "amount")
        return .ledger(.transfer(try creditID(request.value("credit")!), to: try profile(request, key: "to")!, amount: split,
                                 from: try profile(request, key: "from")),
                       ref: try ref(request))
    }
}

private func buildClaim(_ request: ParsedRequest, _ digests: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        .ledger(.claim(code: digests.claimCode(request.value("code")!), profile: try profile(request)!), ref: try ref(request))
    }
}

private func buildReverse(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        guard let original = Ref(request.value("original")!) else {
            throw CreditError(.badRequest, "original must be a ref: 1-64 of A-Z a-z 0-9 _ . : / @ # -")
        }
        return .ledger(.reverse(original: original), ref: try ref(request))
    }
}

private func buildReport(_ request: ParsedRequest, _: Digests) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        switch request.value("kind")! {
        case "liability":
            guard request.value("from") == nil, request.value("to") == nil else {
                throw CreditError(.badRequest, "a liability report takes no from= or to=")
            }
            return .ledger(.report(.liability(currency: request.value("currency") == nil ? nil : try currency(request))), ref: nil)
        case "activity":
            guard request.value("currency") == nil else { throw CreditError(.badRequest, "an activity report takes no currency=") }
            guard let fromText = request.value("from"), let from = CivilDate(fromText),
                  let toText = request.value("to"), let to = CivilDate(toText)
            else { throw CreditError(.badRequest, "an activity report needs from= and to= as YYYY-MM-DD") }
            return .ledger(.report(.activity(from: from, to: to)), ref: nil)
        default:
            throw CreditError(.badRequest, "kind must be liability or activity")
        }
    }
}

private func creditID(_ text: String) throws(CreditError) -> CreditID {
    guard let id = CreditID(text) else { throw CreditError(.badRequest, "credit must look like cr_123") }
    return id
}

private func holdID(_ request: ParsedRequest) throws(CreditError) -> HoldID {
    guard let id = HoldID(request.value("hold")!) else { throw CreditError(.badRequest, "hold must look like hd_123") }
    return id
}

private func amount(_ request: ParsedRequest, _ key: String) throws(CreditError) -> DecimalAmount {
    guard let amount = DecimalAmount(request.value(key)!) else {
        throw CreditError(.badAmount, "\(key) must be a positive decimal like 12.50")
    }
    return amount
}

private func currency(_ request: ParsedRequest) throws(CreditError) -> String {
    let code = request.value("currency")!
    guard Currency.isCode(code) else { throw CreditError(.badCurrency, "currency must be an ISO 4217 code like AUD") }
    return code
}

private func ref(_ request: ParsedRequest) throws(CreditError) -> Ref {
    guard let ref = Ref(request.value("ref")!) else {
        throw CreditError(.badRequest, "ref must be 1-64 of A-Z a-z 0-9 _ . : / @ # -")
    }
    return ref
}

/// Runs a throwing builder, catching its CreditError.
private func attempt(_ body: () throws(CreditError) -> Action) -> Result<Action, CreditError> {
    do { return .success(try body()) } catch { return .failure(error) }
}
