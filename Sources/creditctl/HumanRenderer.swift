// Renders replies for people: aligned key/value tables, item tables with a header row, and
// amounts exactly as creditd printed them with the currency beside them.

import CreditClient

/// Turns a reply into the text a person reads.
enum HumanRenderer {
    /// Reply fields that hold money. Their values are shown verbatim (never reformatted) with the
    /// reply's `currency=` after them.
    static let amountKeys: Set<String> = ["amount", "balance", "held", "available", "requested", "captured", "released"]

    /// The whole reply: the items table (if any), then the OK fields table (or `OK` when there are
    /// none). ERR replies become `ERR CODE message`.
    static func render(_ reply: Reply) -> String {
        switch reply.final {
        case .error(let code, let message):
            return message.isEmpty ? "ERR \(code)" : "ERR \(code) \(message)"
        case .ok(let fields):
            var blocks: [String] = []
            if !reply.items.isEmpty { blocks.append(itemTable(reply.items, currency: fields["currency"])) }
            if !fields.isEmpty {
                blocks.append(fieldTable(fields))
            } else if reply.items.isEmpty {
                blocks.append("OK")
            }
            return blocks.joined(separator: "\n\n")
        }
    }

    /// `key  value` rows, keys padded to one column.
    static func fieldTable(_ fields: Fields) -> String {
        let currency = fields["currency"]
        let width = fields.keys.map(\.count).max() ?? 0
        return fields.map { field in
            pad(field.key, to: width) + "  " + annotated(field.key, field.value, currency: currency)
        }.joined(separator: "\n")
    }

    /// A header row of the field names (in order of first appearance), then one row per item.
    /// Missing fields are blank; money columns are right-aligned so decimal points line up.
    static func itemTable(_ items: [Fields], currency replyCurrency: String?) -> String {
        let columns = mergedColumns(items)
        let rows: [[String]] = items.map { item in
            columns.map { key in item[key].map { annotated(key, $0, currency: item["currency"] ?? replyCurrency) } ?? "" }
        }
        var widths = columns.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let last = index == cells.count - 1
                let rightAligned = amountKeys.contains(columns[index])
                let padded = rightAligned ? padLeft(cell, to: widths[index]) : (last ? cell : pad(cell, to: widths[index]))
                text += (index == 0 ? "" : "  ") + padded
            }
            return trimTrailingSpaces(text)
        }
        return ([line(columns)] + rows.map(line)).joined(separator: "\n")
    }

    /// Every key of the items once, keeping wire order: a key first seen in a later item goes
    /// right after the key that precedes it there (HISTORY's optional `hold=` stays before `ref=`).
    static func mergedColumns(_ items: [Fields]) -> [String] {
        var columns: [String] = []
        for item in items {
            var previous: String?
            for key in item.keys {
                if !columns.contains(key) {
                    let position = previous.flatMap { columns.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                    columns.insert(key, at: position)
                }
                previous = key
            }
        }
        return columns
    }

    /// The value, with ` CUR` after it when the key is an amount and the currency is known.
    private static func annotated(_ key: String, _ value: String, currency: String?) -> String {
        guard let currency, amountKeys.contains(key) else { return value }
        return value + " " + currency
    }

    private static func pad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func padLeft(_ text: String, to width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private static func trimTrailingSpaces(_ text: String) -> String {
        var result = Substring(text)
        while result.last == " " { result = result.dropLast() }
        return String(result)
    }
}
