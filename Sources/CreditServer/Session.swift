// Session: what one connection has established — who it is, and how often it failed to say so.

import CreditCore

/// The protocol state of one connection.
struct Session {
    /// Failed AUTH attempts after which the connection is closed: enough for typos, too few to
    /// guess a secret.
    static let authFailuresMax = 5

    /// The peer's address, for per-address limits and logs.
    let peer: String
    /// The authenticated key, once AUTH succeeded.
    var key: ClientKey?
    /// Failed AUTH attempts so far.
    var authFailures = 0
    /// Declined cards and claim codes so far.
    var declines = 0
    /// Set by QUIT or by too many failures: close once the replies are written.
    var closing = false

    init(peer: String) {
        self.peer = peer
    }
}
