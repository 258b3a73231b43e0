// Inspector: the admin connection the checks use after a restart, with pipelining and STATS.

import CreditClient

/// One authenticated connection to the restarted daemon. While the checks run no client is
/// connected, so the journal's sequence number (`STATS journal_lsn`) moves only for the checks'
/// own requests: unchanged across a retry means the retry was a replay.
struct Inspector {
    private let connection: CreditConnection

    init(port: Int, options: Options) throws(HarnessFailure) {
        do {
            connection = try CreditConnection(host: "127.0.0.1", port: port, timeoutSeconds: Limits.replyTimeoutSeconds)
            try connection.authenticate(key: options.key, secret: options.secret)
        } catch {
            throw HarnessFailure(Check.daemon, request: "AUTH key=\(options.key)", expected: "the restarted daemon accepts the admin key",
                                 actual: "\(error)")
        }
    }

    /// Sends the requests pipelined (in batches under the daemon's per-connection limit) and
    /// returns their replies in order.
    func send(_ requests: [Request]) throws(HarnessFailure) -> [Reply] {
        var replies: [Reply] = []
        replies.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            let batch = Array(requests[start..<min(requests.count, start + Limits.pipelineBatch)])
            do {
                replies += try connection.pipeline(batch)
            } catch {
                throw HarnessFailure(Check.daemon, request: batch.first?.text, expected: "replies from the restarted daemon",
                                     actual: "\(error)")
            }
            start += batch.count
        }
        return replies
    }

    /// Sends one request.
    func send(_ request: Request) throws(HarnessFailure) -> Reply {
        try send([request])[0]
    }

    /// The STATS request, and a number read from its reply.
    static let stats = Request("STATS")

    static func number(_ key: String, in reply: Reply) throws(HarnessFailure) -> Int {
        guard let text = reply.fields?[key], let value = Int(text) else {
            throw HarnessFailure(Check.daemon, request: "STATS", expected: "OK with \(key)=", actual: reply.text)
        }
        return value
    }

    func close() {
        connection.close()
    }
}
