// The command table: one row per verb with its roles, syntax and parser, so HELP, dispatch and
// the spec cannot drift apart.

import CreditCore

/// What a client key may do. Each verb row names the roles allowed to use it.
public enum Role: String, Sendable, CaseIterable {
    /// Back office: everything.
    case admin
    /// Tills: balance, hold, capture, void, history.
    case pos
}

/// Verbs handled by the connection itself rather than the ledger.
public enum SessionVerb: Sendable {
    case auth, ping, help, quit, stats
}

/// Turns card number and PIN text into a selector of keyed digests. The server supplies it
/// (it holds the secret); malformed text must still yield a selector, which then declines.
public typealias CardResolver = (_ card: String, _ pin: String) -> CreditSelector

/// A request turned into something to do.
public enum Action: Sendable {
    /// A connection-level verb.
    case session(SessionVerb)
    /// A ledger command with its ref (mutating commands) — the ref is not part of the command.
    case ledger(Command, ref: Ref?)
}

/// One row of the command table.
public struct VerbSpec: Sendable {
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
    /// Builds the action from validated arguments.
    let build: @Sendable (ParsedRequest, CardResolver) -> Result<Action, CreditError>
}

/// The table of every verb the daemon speaks.
public enum CommandTable {
    /// Every verb, in HELP order.
    public static let verbs: [VerbSpec] = [
        VerbSpec(verb: "AUTH", syntax: "AUTH key=<id> secret=<secret>", roles: nil,
                 allowed: ["key", "secret"], required: ["key", "secret"]) { _, _ in .success(.session(.auth)) },
        VerbSpec(verb: "PING", syntax: "PING", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.ping)) },
        VerbSpec(verb: "HELP", syntax: "HELP", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.help)) },
        VerbSpec(verb: "QUIT", syntax: "QUIT", roles: nil, allowed: [], required: []) { _, _ in .success(.session(.quit)) },
        VerbSpec(verb: "ISSUE",
                 syntax: "ISSUE type=gift|store|promo amount=<decimal> currency=<ISO 4217> ref=<ref> [profile=<id>] [bonus=<decimal>] [campaign=<name>] [expires=YYYY-MM-DD]",
                 roles: [.admin], allowed: ["type", "amount", "currency", "ref", "profile", "bonus", "campaign", "expires"],
                 required: ["type", "amount", "currency", "ref"], build: buildIssue),
        VerbSpec(verb: "BALANCE", syntax: "BALANCE card=<number> pin=<pin> | BALANCE credit=<id>",
                 roles: [.admin, .pos], allowed: ["card", "pin", "credit"], required: [], build: buildBalance),
        VerbSpec(verb: "CREDITS", syntax: "CREDITS profile=<id>",
                 roles: [.admin, .pos], allowed: ["profile"], required: ["profile"], build: buildCredits),
        VerbSpec(verb: "QUOTE",
                 syntax: "QUOTE (card=<number> pin=<pin> | credit=<id> | profile=<id>) amount=<decimal> currency=<ISO 4217> [partial=yes|no]",
                 roles: [.admin, .pos], allowed: ["card", "pin", "credit", "profile", "amount", "currency", "partial"],
                 required: ["amount", "currency"], build: buildQuote),
        VerbSpec(verb: "HOLD",
                 syntax: "HOLD (card=<number> pin=<pin> | credit=<id> | profile=<id>) amount=<decimal> currency=<ISO 4217> ref=<ref> [ttl=30s|15m|2h|7d] [partial=yes|no]",
                 roles: [.admin, .pos], allowed: ["card", "pin", "credit", "profile", "amount", "currency", "ref", "ttl", "partial"],
                 required: ["amount", "currency", "ref"], build: buildHold),
        VerbSpec(verb: "CAPTURE", syntax: "CAPTURE hold=<id> [amount=<decimal>] ref=<ref>",
                 roles: [.admin, .pos], allowed: ["hold", "amount", "ref"], required: ["hold", "ref"], build: buildCapture),
        VerbSpec(verb: "VOID", syntax: "VOID hold=<id> ref=<ref>",
                 roles: [.admin, .pos], allowed: ["hold", "ref"], required: ["hold", "ref"], build: buildVoid),
        VerbSpec(verb: "REFUND", syntax: "REFUND credit=<id> amount=<decimal> currency=<ISO 4217> ref=<ref>",
                 roles: [.admin, .pos], allowed: ["credit", "amount", "currency", "ref"],
                 required: ["credit", "amount", "currency", "ref"], build: buildRefund),
        VerbSpec(verb: "FREEZE", syntax: "FREEZE credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .freeze) }),
        VerbSpec(verb: "UNFREEZE", syntax: "UNFREEZE credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .unfreeze) }),
        VerbSpec(verb: "CANCEL", syntax: "CANCEL credit=<id> reason=<text> ref=<ref>",
                 roles: [.admin], allowed: ["credit", "reason", "ref"], required: ["credit", "reason", "ref"],
                 build: { request, _ in buildStatus(request, .cancel) }),
        VerbSpec(verb: "HISTORY", syntax: "HISTORY credit=<id> [limit=1..\(LedgerPolicy.historyLimitMax)]",
                 roles: [.admin, .pos], allowed: ["credit", "limit"], required: ["credit"], build: buildHistory),
        VerbSpec(verb: "RATES", syntax: "RATES", roles: [.admin, .pos], allowed: [], required: []) { _, _ in .success(.ledger(.rates, ref: nil)) },
        VerbSpec(verb: "STATS", syntax: "STATS", roles: [.admin], allowed: [], required: []) { _, _ in .success(.session(.stats)) },
    ]

    private static let byVerb: [String: VerbSpec] = Dictionary(uniqueKeysWithValues: verbs.map { ($0.verb, $0) })

    /// The row of a verb (already upper case), if the verb exists.
    public static func spec(_ verb: String) -> VerbSpec? { byVerb[verb] }

    /// Checks the arguments of a request against its row and builds its action.
    public static func action(for request: ParsedRequest, spec: VerbSpec, cards: CardResolver) -> Result<Action, CreditError> {
        for argument in request.arguments where !spec.allowed.contains(argument.key) {
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
        var bytes = Array(request.verb.utf8)
        for argument in request.arguments.sorted(by: { $0.key < $1.key }) where argument.key != "ref" {
            let value = canonicalValue(argument)
            if argument.key == "partial" && value == "no" { continue }
            bytes.append(0)
            bytes += argument.key.utf8
            bytes.append(UInt8(ascii: "="))
            bytes += value.utf8
        }
        return bytes
    }

    private static func canonicalValue(_ argument: Argument) -> String {
        switch argument.key {
        case "amount", "bonus":
            guard let amount = DecimalAmount(argument.value) else { return argument.value }
            var unscaled = amount.unscaled
            var digits = amount.fractionDigits
            while digits > 0 && unscaled % 10 == 0 { unscaled /= 10; digits -= 1 }
            return "\(unscaled)e-\(digits)"
        case "ttl":
            return Seconds(ttl: argument.value).map { "\($0.value)s" } ?? argument.value
        default:
            return argument.value
        }
    }
}

// MARK: Builders

private func buildIssue(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
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
        let command = IssueCommand(type: type, amount: try amount(request, "amount"), bonus: bonus, currency: try currency(request),
                                   profile: try profile(request), campaign: campaign, expires: expires, card: nil)
        return .ledger(.issue(command), ref: try ref(request))
    }
}

private func buildBalance(_ request: ParsedRequest, _ cards: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        guard request.value("profile") == nil else { throw CreditError(.badRequest, "BALANCE takes card= with pin=, or credit=") }
        return .ledger(.balance(try selector(request, cards)), ref: nil)
    }
}

private func buildCredits(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.credits(try profile(request)!), ref: nil) }
}

private func holdCommand(_ request: ParsedRequest, _ cards: CardResolver) throws(CreditError) -> HoldCommand {
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

private func buildQuote(_ request: ParsedRequest, _ cards: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.quote(try holdCommand(request, cards)), ref: nil) }
}

private func buildHold(_ request: ParsedRequest, _ cards: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.hold(try holdCommand(request, cards)), ref: try ref(request)) }
}

private func buildRefund(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
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

private func buildCapture(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in
        let captured = request.value("amount") == nil ? nil : try amount(request, "amount")
        return .ledger(.capture(try holdID(request), amount: captured), ref: try ref(request))
    }
}

private func buildVoid(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
    attempt { () throws(CreditError) -> Action in .ledger(.void(try holdID(request)), ref: try ref(request)) }
}

private func buildHistory(_ request: ParsedRequest, _: CardResolver) -> Result<Action, CreditError> {
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

private func selector(_ request: ParsedRequest, _ cards: CardResolver) throws(CreditError) -> CreditSelector {
    switch (request.value("card"), request.value("pin"), request.value("credit"), request.value("profile")) {
    case (let card?, let pin?, nil, nil): return cards(card, pin)
    case (nil, nil, let credit?, nil): return .credit(try creditID(credit))
    case (nil, nil, nil, .some): return .profile(try profile(request)!)
    default: throw CreditError(.badRequest, "give card= with pin=, or credit=, or profile=")
    }
}

private func profile(_ request: ParsedRequest) throws(CreditError) -> ProfileID? {
    guard let text = request.value("profile") else { return nil }
    guard let profile = ProfileID(text) else { throw CreditError(.badRequest, "profile must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
    return profile
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
