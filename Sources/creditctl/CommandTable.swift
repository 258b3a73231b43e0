// The commands creditctl knows, one row each: name, protocol verb, and how it is sent.

/// One creditctl command and the request it becomes.
struct CommandSpec {
    /// The word typed on the command line.
    let name: String
    /// The protocol verb it sends.
    let verb: String
    /// True for verbs that change state and must carry `ref=` (PROTOCOL.md §7).
    let isMutating: Bool
    /// True when the verb needs `AUTH` first (everything but PING and HELP).
    let needsAuth: Bool

    /// The command table: one row per command; every daemon verb but AUTH and QUIT has one.
    static let all: [CommandSpec] = [
        CommandSpec(name: "ping", verb: "PING", isMutating: false, needsAuth: false),
        CommandSpec(name: "help", verb: "HELP", isMutating: false, needsAuth: false),
        CommandSpec(name: "issue", verb: "ISSUE", isMutating: true, needsAuth: true),
        CommandSpec(name: "balance", verb: "BALANCE", isMutating: false, needsAuth: true),
        CommandSpec(name: "hold", verb: "HOLD", isMutating: true, needsAuth: true),
        CommandSpec(name: "capture", verb: "CAPTURE", isMutating: true, needsAuth: true),
        CommandSpec(name: "void", verb: "VOID", isMutating: true, needsAuth: true),
        CommandSpec(name: "history", verb: "HISTORY", isMutating: false, needsAuth: true),
        CommandSpec(name: "credits", verb: "CREDITS", isMutating: false, needsAuth: true),
        CommandSpec(name: "quote", verb: "QUOTE", isMutating: false, needsAuth: true),
        CommandSpec(name: "refund", verb: "REFUND", isMutating: true, needsAuth: true),
        CommandSpec(name: "freeze", verb: "FREEZE", isMutating: true, needsAuth: true),
        CommandSpec(name: "unfreeze", verb: "UNFREEZE", isMutating: true, needsAuth: true),
        CommandSpec(name: "cancel", verb: "CANCEL", isMutating: true, needsAuth: true),
        CommandSpec(name: "stock", verb: "STOCK", isMutating: true, needsAuth: true),
        CommandSpec(name: "activate", verb: "ACTIVATE", isMutating: true, needsAuth: true),
        CommandSpec(name: "load", verb: "LOAD", isMutating: true, needsAuth: true),
        CommandSpec(name: "replace", verb: "REPLACE", isMutating: true, needsAuth: true),
        CommandSpec(name: "transfer", verb: "TRANSFER", isMutating: true, needsAuth: true),
        CommandSpec(name: "claim", verb: "CLAIM", isMutating: true, needsAuth: true),
        CommandSpec(name: "unlock", verb: "UNLOCK", isMutating: true, needsAuth: true),
        CommandSpec(name: "reverse", verb: "REVERSE", isMutating: true, needsAuth: true),
        CommandSpec(name: "report", verb: "REPORT", isMutating: false, needsAuth: true),
        CommandSpec(name: "rates", verb: "RATES", isMutating: false, needsAuth: true),
        CommandSpec(name: "stats", verb: "STATS", isMutating: false, needsAuth: true),
        CommandSpec(name: "backup", verb: "BACKUP", isMutating: false, needsAuth: true),
    ]

    /// The row for a command word, or nil.
    static func named(_ name: String) -> CommandSpec? {
        all.first { $0.name == name }
    }

    /// The row for `raw VERB`: sent as is, no ref added; AUTH first unless the verb works without it.
    static func raw(verb: String) -> CommandSpec {
        let open: Set<String> = ["PING", "HELP", "QUIT", "AUTH"]
        return CommandSpec(name: "raw", verb: verb, isMutating: false, needsAuth: !open.contains(verb.uppercased()))
    }
}
