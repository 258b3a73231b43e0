// Generates the simulation's random issues, holds, captures, refunds, status changes and retries: valid most of the time, and each kind of invalid one now and then.

import CreditCore

extension Simulation {
    /// Amount text for `units`: sometimes with trailing zeros trimmed, or with one digit too many.
    mutating func amountText(_ units: Int64, _ currency: Currency, valid: Bool = true) -> String {
        var text = formatAmount(MinorUnits(units), currency)
        if !valid { return text + (currency.minorDigits > 0 ? "1" : ".5") }
        if currency.minorDigits > 0 && rng.chance(30) {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// AUD and JPY mostly (they convert both ways), KWD now and then (it converts to nothing).
    mutating func randomCurrency() -> Currency {
        switch rng.below(100) {
        case 0..<45: return Fixture.aud
        case 45..<90: return Fixture.jpy
        default: return Fixture.kwd
        }
    }

    /// The date of `now`: a credit expiring on it expires at the next midnight.
    var today: CivilDate { CivilDate(daysSinceEpoch: now.millis / 86_400_000) }

    /// A credit id, now and then one that does not exist.
    mutating func randomCreditID() -> CreditID {
        CreditID(UInt64(rng.below(Int(live.state.lastCreditNumber) + 1)) + 1)
    }

    /// Mostly (80%) a credit that `matches`, if there is one; else any id.
    mutating func randomCreditID(mostly matches: (Credit) -> Bool) -> CreditID {
        let ids = live.state.credits.values.filter(matches).map(\.id).sorted()
        return !ids.isEmpty && rng.chance(80) ? ids[rng.below(ids.count)] : randomCreditID()
    }

    /// One of the profiles, now and then one without credits.
    mutating func randomProfile() -> ProfileID {
        rng.chance(5) ? ProfileID("cust-9")! : ProfileID(Simulation.profiles[rng.below(Simulation.profiles.count)])!
    }

    mutating func randomIssue() -> Command {
        let currency = randomCurrency()
        let type: CreditType = rng.chance(45) ? .gift : rng.chance(55) ? .store : .promo
        var bonus: DecimalAmount?
        var bonusUnits: Int64 = 0
        if type == .store ? rng.chance(60) : rng.chance(2) {
            bonusUnits = rng.chance(4) ? 0 : rng.inRange(1...3000)
            bonus = DecimalAmount(amountText(bonusUnits, currency))!
        }
        var units = rng.inRange(100...20_000)
        var code = currency.code
        var valid = true
        switch rng.below(100) {
        case 0..<3: units = currency.balanceMax.value - bonusUnits + rng.inRange(0...2)  // at or over the maximum
        case 3..<5: valid = false
        case 5..<7: code = "EUR"
        default: break
        }
        let profile = (type == .gift ? rng.chance(25) : !rng.chance(4)) ? randomProfile() : nil
        let campaign = (type == .promo ? !rng.chance(5) : rng.chance(2)) ? "camp-\(rng.below(3))" : nil
        var expires: CivilDate?
        switch rng.below(100) {
        case 0..<30: expires = today
        case 30..<40: expires = CivilDate(daysSinceEpoch: today.daysSinceEpoch + 1)
        case 40..<43: expires = CivilDate(daysSinceEpoch: today.daysSinceEpoch - 1)
        default: break
        }
        var card: CardKeys?
        if type == .gift {
            cardCounter += 1
            card = Fixture.card(cardCounter)
        }
        var issue = IssueCommand(type: type, amount: DecimalAmount(amountText(units, currency, valid: valid))!,
                                 bonus: bonus, currency: code, profile: profile, campaign: campaign,
                                 expires: expires, card: card)
        if type == .gift && rng.chance(75) {
            addGiftParties(&issue)
        } else if type != .gift && rng.chance(3) {
            issue.purchaser = randomProfile()  // gift cards only: BAD_REQUEST
        }
        return .issue(issue)
    }

    /// A gift card's purchaser, its recipient (a profile, or unknown with a fresh claim code) and a
    /// smart revert; now and then a combination the rules refuse.
    mutating func addGiftParties(_ issue: inout IssueCommand) {
        issue.purchaser = rng.chance(92) ? randomProfile() : nil
        switch rng.below(100) {
        case 0..<40: issue.recipient = .profile(randomProfile())
        case 40..<85:
            issue.recipient = .unknown
            claimCounter += 1
            issue.claim = Digest32(w0: claimCounter, w1: 0xC1A1, w2: seed, w3: 0)
            claimCodes.append(issue.claim!)
        default: break
        }
        if issue.recipient != nil && !rng.chance(5) { issue.profile = nil }  // else recipient and profile: BAD_REQUEST
        if rng.chance(issue.recipient != nil ? 45 : 5) { issue.revertAfter = Seconds(rng.inRange(20...240)) }
    }

    /// HOLD on one credit by id or card, mostly in its currency, often in the other convertible
    /// one, now and then in one without a rate or an unknown one.
    mutating func randomSingleHold() -> HoldCommand {
        let id: CreditID
        switch rng.below(100) {
        case 0..<30: id = randomCreditID(mostly: { $0.pendingHoldCount != 0 })
        case 30..<40: id = randomCreditID(mostly: { $0.revertAt != nil })
        case 40..<48: id = randomCreditID(mostly: { $0.pendingHoldCount >= 2 })  // toward TOO_MANY_HOLDS
        default: id = randomCreditID()
        }
        let credit = live.state.credits[id]
        var selector = CreditSelector.credit(id)
        if let card = credit?.card, rng.chance(50) {
            selector = .card(cardDigest: card.cardDigest, pinDigest: rng.chance(8) ? Fixture.wrongPIN : card.pinDigest)
        }
        var sale = credit?.currency ?? randomCurrency()
        switch rng.below(100) {
        case 0..<30: sale = sale.code == "AUD" ? Fixture.jpy : Fixture.aud
        case 30..<33: sale = sale.code == "KWD" ? Fixture.aud : Fixture.kwd
        default: break
        }
        let value = credit.map { worth($0.available, $0.currency, in: sale) } ?? MinorUnits(1000)
        return randomHold(selector, value: value, sale)
    }

    /// HOLD across a profile's credits, in any currency.
    mutating func randomProfileHold() -> HoldCommand {
        let profile = randomProfile()
        let sale = randomCurrency()
        let value = live.state.credits.values.filter { $0.profile == profile }
            .reduce(MinorUnits.zero) { $0 + worth($1.available, $1.currency, in: sale) }
        return randomHold(.profile(profile), value: value, sale)
    }

    /// A HOLD for up to a third more than `value` (what the credits are worth in `sale`).
    mutating func randomHold(_ selector: CreditSelector, value: MinorUnits, _ sale: Currency) -> HoldCommand {
        let units = rng.chance(3) ? 0 : rng.inRange(1...max(1, value.value + value.value / 3 + 1))
        let text = amountText(units, sale, valid: !rng.chance(3))
        let ttl: Seconds? = rng.chance(20) ? nil : Seconds(rng.inRange(1...330))
        return HoldCommand(selector: selector, amount: DecimalAmount(text)!, currency: rng.chance(2) ? "EUR" : sale.code,
                           ttl: ttl, partial: rng.chance(30))
    }

    /// Mostly a pending hold, sometimes any hold, now and then one that does not exist.
    mutating func randomHoldID() -> HoldID {
        let last = live.state.lastHoldNumber
        if rng.chance(70) {
            let pending = live.state.holds.values.filter { $0.state == .pending }.map(\.id).sorted()
            if !pending.isEmpty { return pending[rng.below(pending.count)] }
        }
        return HoldID(UInt64(rng.below(Int(last) + 1)) + 1)
    }

    mutating func randomCapture() -> Command {
        let id = randomHoldID()
        guard let hold = live.state.holds[id], let sale = Simulation.currencies[hold.currency] else {
            return .capture(id, amount: nil)
        }
        let held = hold.amount.value
        switch rng.below(100) {
        case 0..<40: return .capture(id, amount: nil)
        case 40..<80: return .capture(id, amount: DecimalAmount(amountText(rng.inRange(1...held), sale))!)
        case 80..<90: return .capture(id, amount: DecimalAmount(amountText(held + rng.inRange(1...500), sale))!)
        case 90..<95: return .capture(id, amount: DecimalAmount(amountText(0, sale))!)
        default: return .capture(id, amount: DecimalAmount(amountText(max(1, held / 2), sale, valid: false))!)
        }
    }

    /// REFUND, mostly in the credit's currency and within its maximum.
    mutating func randomRefund() -> Command {
        let id = randomCreditID()
        let credit = live.state.credits[id]
        let currency = credit?.currency ?? randomCurrency()
        var code = currency.code
        switch rng.below(100) {
        case 0..<8: code = currency.code == "AUD" ? "JPY" : "AUD"
        case 8..<11: code = "EUR"
        default: break
        }
        var units = rng.inRange(1...5000)
        if let credit, rng.chance(5) { units = credit.currency.balanceMax.value - credit.balance.value + rng.inRange(0...2) }
        if rng.chance(3) { units = 0 }
        return .refund(id, amount: DecimalAmount(amountText(units, currency, valid: !rng.chance(2)))!, currency: code)
    }

    /// FREEZE a random credit, UNFREEZE mostly a frozen one, CANCEL a random one.
    mutating func randomStatusChange() -> Command {
        let change: StatusChange
        switch rng.below(100) {
        case 0..<40: change = .freeze
        case 40..<70: change = .unfreeze
        default: change = .cancel
        }
        let id: CreditID
        switch change {
        case .freeze: id = randomCreditID(mostly: { $0.status == .active })
        case .unfreeze: id = randomCreditID(mostly: { $0.status == .frozen })
        case .cancel: id = randomCreditID(mostly: { $0.pendingHoldCount == 0 && $0.status != .cancelled })
        }
        return .changeStatus(id, change, reason: Simulation.reasons[rng.below(Simulation.reasons.count)])
    }

    /// An earlier request again: mostly identical, sometimes other arguments under the same ref,
    /// sometimes the same ref from the other client.
    mutating func randomRetry() -> Request {
        guard !sent.isEmpty else { return Request(client: randomClient(), ref: newRef(), command: randomIssue()) }
        let recent = rng.chance(70) ? max(0, sent.count - 10) : 0
        let old = sent[recent + rng.below(sent.count - recent)]
        switch rng.below(100) {
        case 0..<60:
            return old
        case 60..<85:
            let other: Command
            switch rng.below(7) {
            case 0: other = .hold(randomSingleHold())
            case 1: other = randomCapture()
            case 2: other = .void(randomHoldID())
            case 3: other = randomRefund()
            case 4: other = randomTransfer()
            case 5: other = randomLoad()
            default: other = randomStatusChange()
            }
            return Request(client: old.client, ref: old.ref, command: other)
        default:
            let client = old.client == Simulation.clients[0] ? Simulation.clients[1] : Simulation.clients[0]
            return Request(client: client, ref: old.ref, command: old.command)
        }
    }
}
