// Workload: the client threads of one cycle and the seeded mix of requests they send.

import CreditClient
import Foundation
import Synchronization

/// The state the client threads of one cycle share, behind one lock. Choosing a request,
/// recording it as sent and judging its reply each take the lock briefly; no I/O happens under it.
final class Board: Sendable {
    private let state: Mutex<HarnessState>

    init(_ state: HarnessState) {
        self.state = Mutex(state)
    }

    /// The state, for the harness once the threads have stopped.
    var snapshot: HarnessState { state.withLock { $0 } }

    /// Chooses a client's next request and records it as sent (before it is sent: a request
    /// may take effect even if its reply never arrives). Nil once the run has failed or the
    /// cycle's request budget is spent.
    func next(client: Int, cycle: Int, number: Int, random: inout SeededRandom) -> (index: Int, operation: Operation)? {
        state.withLock { state in
            guard state.failure == nil, state.sent.count < Limits.requestsPerCycleMax else { return nil }
            let ref = "k\(cycle).\(client).\(number)"
            let operation = Mix.choose(&state, ref: ref, random: &random)
            state.sent.append(SentRequest(cycle: cycle, client: client, operation: operation))
            return (state.sent.count - 1, operation)
        }
    }

    /// Records the reply to request `index` and judges it.
    func acknowledge(_ index: Int, _ reply: Reply, cycle: Int) {
        state.withLock { state in
            state.sent[index].reply = reply
            do throws(HarnessFailure) {
                try state.take(reply, to: state.sent[index].operation, cycle: cycle, check: Check.live)
            } catch {
                if state.failure == nil { state.failure = error }
            }
        }
    }

    /// Records a failure found outside a reply (a request the client could not encode).
    func fail(_ failure: HarnessFailure) {
        state.withLock { state in
            if state.failure == nil { state.failure = failure }
        }
    }
}

/// One client thread: connect, authenticate, then send the mix one request at a time until the
/// connection fails (the kill), the budget is spent, or `deadline` passes.
struct Client: Sendable {
    let index: Int
    let port: Int
    let cycle: Int
    let options: Options
    let deadline: Date

    func run(on board: Board) {
        var random = SeededRandom(seed: options.seed, stream: UInt64(cycle), UInt64(index) + 1)
        let connection: CreditConnection
        do {
            connection = try CreditConnection(host: "127.0.0.1", port: port, timeoutSeconds: Limits.replyTimeoutSeconds)
            try connection.authenticate(key: options.key, secret: options.secret)
        } catch {
            return  // the daemon died before this client got going
        }
        defer { connection.close() }
        var number = 0
        while Date() < deadline, let (index, operation) = board.next(client: self.index, cycle: cycle, number: number, random: &random) {
            number += 1
            do {
                let reply = try connection.send(operation.request)
                board.acknowledge(index, reply, cycle: cycle)
            } catch let error as CreditClientError where error.isConnectionFailure {
                return  // unacknowledged: settled after the restart
            } catch {
                board.fail(HarnessFailure(Check.live, request: operation.request.text, expected: "a request the client can send",
                                          actual: "\(error)"))
                return
            }
        }
    }
}

/// The seeded mix of requests. Weights favour the requests that move money; CAPTURE and VOID
/// claim a pending hold so that two clients never race for the same one (a deliberate few
/// requests do try a resolved hold, and must be refused).
enum Mix {
    /// The sale and credit currency of the workload.
    static let currency = "AUD"
    /// Holds last 7 days, so none expires during a run (the derived config allows 7d).
    static let holdTTL = "7d"

    static func choose(_ state: inout HarnessState, ref: String, random: inout SeededRandom) -> Operation {
        let model = state.model
        let crowded = state.resolvable.count > Limits.pendingHoldsSoftMax
        let cards = model.creditOrder.filter { model.credits[$0]?.pin != nil }
        let weights: [(Int, Choice)] = [
            (crowded ? 8 : 34, .hold),
            (state.resolvable.isEmpty ? 0 : 18, .capture),
            (state.resolvable.isEmpty ? 0 : 10, .void),
            (14, .refund),
            (model.creditOrder.count < Limits.creditsMax ? 1 : 0, .issue),
            (state.replayable.isEmpty ? 0 : 8, .replay),
            (cards.isEmpty ? 0 : 6, .read),
            (model.finishedOrder.isEmpty ? 0 : 3, .resolved),
        ]
        var roll = Int.random(in: 0..<weights.reduce(0) { $0 + $1.0 }, using: &random)
        var choice = Choice.hold
        for (weight, candidate) in weights {
            if roll < weight { choice = candidate; break }
            roll -= weight
        }
        switch choice {
        case .hold: return hold(model, cards: cards, ref: ref, random: &random)
        case .capture, .void: return resolve(&state, capture: choice == .capture, ref: ref, random: &random)
        case .refund: return refund(model, ref: ref, random: &random)
        case .issue: return issue(model, ref: ref, random: &random)
        case .replay:
            let earlier = random.pick(state.replayable)
            return Operation(kind: .replay(expected: earlier.expected), request: earlier.request)
        case .read:
            let credit = model.credits[random.pick(cards)]!
            return Operation(kind: .read, request: Request("BALANCE", ["card": credit.card!, "pin": credit.pin!]))
        case .resolved:
            let hold = random.pick(model.finishedOrder)
            let verb = random.chance(50) ? "CAPTURE" : "VOID"
            return Operation(kind: .resolved(code: model.finished[hold]!), request: Request(verb, ["hold": hold, "ref": ref]))
        }
    }

    private enum Choice { case hold, capture, void, refund, issue, replay, read, resolved }

    /// HOLD by credit id, by card and PIN, or by profile; mostly small, sometimes more than the
    /// credits hold (refused, or partial with `partial=yes`).
    private static func hold(_ model: MoneyModel, cards: [String], ref: String, random: inout SeededRandom) -> Operation {
        var arguments: [(key: String, value: String)] = []
        let selector = Int.random(in: 0..<10, using: &random)
        if selector < 3, !cards.isEmpty {
            let credit = model.credits[random.pick(cards)]!
            arguments = [("card", credit.card!), ("pin", credit.pin!)]
        } else if selector < 6, !model.profiles.isEmpty {
            arguments = [("profile", random.pick(model.profiles))]
        } else {
            arguments = [("credit", random.pick(model.creditOrder))]
        }
        let cents = random.chance(5) ? Int.random(in: 50_000...500_000, using: &random) : Int.random(in: 1...5_000, using: &random)
        arguments += [("amount", MinorUnits(cents).formatted(digits: 2)), ("currency", currency), ("ttl", holdTTL)]
        if random.chance(25) { arguments.append(("partial", "yes")) }
        arguments.append(("ref", ref))
        return Operation(kind: .mutating, request: Request(verb: "HOLD", arguments: arguments))
    }

    /// CAPTURE (in full or in part) or VOID of a pending hold this client claims.
    private static func resolve(_ state: inout HarnessState, capture: Bool, ref: String, random: inout SeededRandom) -> Operation {
        let position = Int.random(in: 0..<state.resolvable.count, using: &random)
        let id = state.resolvable.remove(at: position)
        guard capture else { return Operation(kind: .mutating, request: Request("VOID", ["hold": id, "ref": ref])) }
        let hold = state.model.pending[id]!
        guard random.chance(50) else { return Operation(kind: .mutating, request: Request("CAPTURE", ["hold": id, "ref": ref])) }
        let part = MinorUnits(Int.random(in: 1...hold.covered.value, using: &random))
        let amount = part.formatted(digits: state.model.digits[hold.currency] ?? 2)
        return Operation(kind: .mutating, request: Request("CAPTURE", ["hold": id, "amount": amount, "ref": ref]))
    }

    /// REFUND onto any credit, in its own currency: on average about what CAPTURE takes, so the
    /// credits neither run dry nor reach the maximum balance.
    private static func refund(_ model: MoneyModel, ref: String, random: inout SeededRandom) -> Operation {
        let credit = model.credits[random.pick(model.creditOrder)]!
        let amount = MinorUnits(Int.random(in: 1...5_000, using: &random)).formatted(digits: model.digits[credit.currency] ?? 2)
        return Operation(kind: .mutating,
                         request: Request("REFUND", ["credit": credit.id, "amount": amount, "currency": credit.currency, "ref": ref]))
    }

    /// ISSUE of store credit to a profile, or of a gift card (anonymous or to a profile).
    private static func issue(_ model: MoneyModel, ref: String, random: inout SeededRandom) -> Operation {
        let amount = MinorUnits(Int.random(in: 10_000...100_000, using: &random)).formatted(digits: 2)
        let profile = random.pick(profileNames)
        var arguments: [(key: String, value: String)]
        if random.chance(50) {
            arguments = [("type", "store"), ("profile", profile)]
        } else {
            arguments = [("type", "gift")] + (random.chance(50) ? [("profile", profile)] : [])
        }
        arguments += [("amount", amount), ("currency", currency), ("ref", ref)]
        return Operation(kind: .mutating, request: Request(verb: "ISSUE", arguments: arguments))
    }

    /// The customers of the workload.
    static let profileNames = ["crash-ana", "crash-ben", "crash-cai"]

    /// The credits issued before the first cycle: each profile gets store credit and a gift
    /// card, one a promo credit too, and three gift cards belong to nobody.
    static func setupRequests() -> [Request] {
        var requests: [Request] = []
        for (index, profile) in profileNames.enumerated() {
            requests.append(Request("ISSUE", ["type": "store", "amount": "600.00", "currency": currency, "profile": profile, "ref": "setup-s\(index)"]))
            requests.append(Request("ISSUE", ["type": "gift", "amount": "400.00", "currency": currency, "profile": profile, "ref": "setup-g\(index)"]))
        }
        requests.append(Request("ISSUE", ["type": "promo", "amount": "150.00", "currency": currency, "profile": profileNames[0],
                                          "campaign": "crashtest", "ref": "setup-p0"]))
        for index in 0..<3 {
            requests.append(Request("ISSUE", ["type": "gift", "amount": "800.00", "currency": currency, "ref": "setup-a\(index)"]))
        }
        return requests
    }
}
