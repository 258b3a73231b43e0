// Proves that the built creditctl binary works against the real daemon: commands map to verbs,
// refs are generated and printed for mutating commands, human output is aligned tables with the
// currency beside amounts, --json is one parseable object per reply, the interactive mode reads a
// pipe, and the exit status is 0 OK, 1 ERR reply, 2 usage error, 3 connection failure.

@testable import CreditTestSupport
import CreditClient
import Foundation
import Testing

@Suite struct CreditctlTests {
    @Test func issueWithJSONThenBalance() throws {
        let daemon = try Daemon()
        let issued = try daemon.ctl(["issue", "type=gift", "amount=50", "currency=AUD", "--json"])
        #expect(issued.status == 0, "\(issued.stderr)")
        let lines = issued.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try jsonObject(String(lines[0]))
        #expect(object["ok"] as? Bool == true)
        #expect((object["items"] as? [Any])?.isEmpty == true)
        let fields = try #require(object["fields"] as? [String: String])
        #expect(fields["balance"] == "50.00")
        #expect(fields["currency"] == "AUD")
        #expect(fields["card"]?.count == 16)
        #expect(fields["pin"]?.count == 6)
        // The generated ref is printed on stderr so the operator can retry with it.
        let ref = try #require(issued.stderr.firstMatch(of: /ref=(ctl-[0-9a-f]{16})/)?.1)

        let credit = try #require(fields["credit"])
        let balance = try daemon.ctl(["balance", "credit=\(credit)"])
        #expect(balance.status == 0, "\(balance.stderr)")
        #expect(balance.stderr.isEmpty)
        #expect(balance.stdout == """
            credit     \(credit)
            type       gift
            balance    50.00 AUD
            held       0.00 AUD
            available  50.00 AUD
            currency   AUD
            status     active

            """)

        // Retrying with the printed ref replays the original (card masked) instead of issuing again.
        let retry = try daemon.ctl(["--json", "issue", "type=gift", "amount=50.00", "currency=AUD", "ref=\(ref)"])
        #expect(retry.status == 0)
        #expect(!retry.stderr.contains("ref="))
        let replayed = try #require(try jsonObject(retry.stdout.trimmingCharacters(in: .newlines))["fields"] as? [String: String])
        #expect(replayed["credit"] == credit)
        #expect(replayed["card"] == "************" + fields["card"]!.suffix(4))
    }

    @Test func holdCaptureVoidHistoryAsTables() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        let credit = try #require(try connection.send(Request("ISSUE", ["type": "gift", "amount": "100", "currency": "AUD", "ref": "t-1"])).require()["credit"])
        connection.close()

        let hold = try daemon.ctl(["hold", "credit=\(credit)", "amount=20", "currency=AUD", "--json"])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.stderr.contains("ref=ctl-"))
        let holdFields = try #require(try jsonObject(hold.stdout.trimmingCharacters(in: .newlines))["fields"] as? [String: String])
        let holdID = try #require(holdFields["hold"])

        let capture = try daemon.ctl(["capture", "hold=\(holdID)", "amount=5.5", "ref=my-cap-1"])
        #expect(capture.status == 0, "\(capture.stderr)")
        #expect(capture.stdout.contains("captured  5.50 AUD\n"))
        #expect(capture.stdout.contains("released  14.50 AUD\n"))

        let second = try daemon.ctl(["hold", "credit=\(credit)", "amount=1", "currency=AUD"])
        let secondHold = try #require(second.stdout.firstMatch(of: /hold +(hd_[0-9]+)/)?.1)
        let void = try daemon.ctl(["void", "hold=\(secondHold)"])
        #expect(void.status == 0)
        #expect(void.stdout.contains("released  1.00 AUD"))

        let history = try daemon.ctl(["history", "credit=\(credit)"])
        #expect(history.status == 0)
        let rows = history.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Header of field names in wire order (the optional hold= before ref=), one row per item.
        #expect(rows[0].split(separator: " ") == ["seq", "at", "kind", "amount", "balance", "hold", "ref"])
        #expect(rows[1].split(separator: " ").prefix(3).last == "issue")
        #expect(rows[3].contains("capture") && rows[3].contains("5.50") && rows[3].contains("my-cap-1"))
        #expect(rows[6] == "")
        #expect(rows[7...9] == ["credit    \(credit)", "currency  AUD", "count     5"])
        #expect(rows.count == 11 && rows[10] == "")
        // The reply's currency= now labels the history's amounts too.
        #expect(rows[3].contains("5.50 AUD"))
        // Columns line up: every row's `kind` starts where the header's does.
        let kindColumn = rows[0].range(of: "kind")!.lowerBound.utf16Offset(in: rows[0])
        for row in rows[1...5] {
            #expect(row.dropFirst(kindColumn).first?.isLetter == true && row.dropFirst(kindColumn - 1).first == " ")
        }
    }

    @Test func serverErrorExitsOneWithTheMessageOnStderr() throws {
        let daemon = try Daemon()
        let result = try daemon.ctl(["balance", "credit=cr_99"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("ERR NOT_FOUND no credit cr_99"))

        let json = try daemon.ctl(["--json", "void", "hold=hd_9", "ref=v-1"])
        #expect(json.status == 1)
        let object = try jsonObject(json.stdout.trimmingCharacters(in: .newlines))
        #expect(object["ok"] as? Bool == false)
        #expect(object["code"] as? String == "NOT_FOUND")
        #expect(object["message"] as? String == "no hold hd_9")

        let unknown = try daemon.ctl(["raw", "FROB", "x=1"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("UNKNOWN_VERB"))

        let badSecret = try daemon.ctl(["stats"], environment: ["CREDITD_KEY": "dev-admin", "CREDITD_SECRET": "nope"])
        #expect(badSecret.status == 1)
        #expect(badSecret.stderr.contains("authentication failed"))

        let forbidden = try daemon.ctl(["--key", "dev-pos", "--secret", "dev-pos-secret", "stats"], environment: [:])
        #expect(forbidden.status == 1)
        #expect(forbidden.stderr.contains("FORBIDDEN"))
    }

    @Test func usageErrorsExitTwoAndSendNothing() throws {
        let daemon = try Daemon()
        let cases: [(arguments: [String], environment: [String: String], says: String)] = [
            (["frob"], [:], "unknown command"),
            (["balance", "cr_1"], ["CREDITD_KEY": "dev-admin", "CREDITD_SECRET": "dev-admin-secret"], "expected key=value"),
            (["balance", "credit=cr_1"], ["CREDITD_KEY": "dev-admin"], "CREDITD_SECRET"),
            (["balance", "credit=cr_1"], [:], "--key"),
            (["history", "credit=cr_1\nSTATS"], ["CREDITD_KEY": "dev-admin", "CREDITD_SECRET": "dev-admin-secret"], "0x0A"),
            (["--bogus", "ping"], [:], "unknown option --bogus"),
            (["--port", "seventy", "ping"], [:], "--port"),
            (["raw"], [:], "raw needs a verb"),
        ]
        for example in cases {
            let result = try daemon.ctl(example.arguments, environment: example.environment)
            #expect(result.status == 2, "\(example.arguments)")
            #expect(result.stderr.contains(example.says), "\(example.arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        // Nothing reached the daemon: STATS counts this request and the AUTH only.
        let stats = try daemon.client().send(Request("STATS")).require()
        #expect(stats["requests"] == "2")

        let help = try runCtl(["--help"], environment: [:])
        #expect(help.status == 0)
        #expect(help.stdout.hasPrefix("usage: creditctl"))
    }

    @Test func connectionFailureExitsThree() throws {
        let daemon = try Daemon()
        let port = daemon.port
        daemon.stop()
        let result = try runCtl(["--port", String(port), "ping"], environment: [:])
        #expect(result.status == 3)
        #expect(result.stderr.contains("cannot connect to 127.0.0.1:\(port)"))
    }

    @Test func pingAndHelpNeedNoCredentials() throws {
        let daemon = try Daemon()
        let ping = try daemon.ctl(["ping"], environment: [:])
        #expect(ping.status == 0)
        #expect(ping.stdout == "OK\n")
        let help = try daemon.ctl(["help"], environment: [:])
        #expect(help.status == 0)
        let rows = help.stdout.split(separator: "\n").map(String.init)
        #expect(rows.first?.split(separator: " ") == ["verb", "roles", "syntax"])
        #expect(rows.contains { $0.hasPrefix("CAPTURE   admin,pos,gateway               CAPTURE hold=<id> [amount=<decimal>] ref=<ref>") })
        #expect(rows.contains { $0.hasPrefix("TRANSFER  admin,staff,portal              TRANSFER credit=<id> to=<profile> ref=<ref> ") })
        #expect(rows.count == 1 + 28 + 1)
        #expect(rows.last == "count  28")
    }

    @Test func interactiveModeReadsAPipe() throws {
        let daemon = try Daemon()
        let input = """
            PING

            #t1 ISSUE type=store amount=12.5 currency=AUD ref=sh-1 profile=cust-42
            BALANCE credit=cr_1
            BALANCE credit=cr_99
            HISTORY credit=cr_1
            quit
            PING

            """
        let result = try daemon.ctl([], input: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("creditd> "))  // no prompt when stdin is not a terminal
        #expect(result.stdout.hasPrefix("OK\n"))
        #expect(result.stdout.contains("balance   12.50 AUD\n"))
        #expect(result.stdout.contains("available  12.50 AUD\n"))
        #expect(result.stdout.contains("ERR NOT_FOUND no credit cr_99\n"))
        #expect(result.stdout.contains("seq  at"))
        #expect(result.stdout.components(separatedBy: "OK").count == 2)  // the PING after quit was never sent

        let json = try daemon.ctl(["shell", "--json"], input: "#a PING\nfoo bar\nBALANCE credit=cr_1\n")
        #expect(json.status == 0)
        let objects = try json.stdout.split(separator: "\n").map { try jsonObject(String($0)) }
        #expect(objects.count == 3)
        #expect(objects[0]["tag"] as? String == "a")
        #expect(objects[1]["code"] as? String == "BAD_REQUEST")
        #expect((objects[2]["fields"] as? [String: String])?["balance"] == "12.50")

        // Unauthenticated: protocol AUTH typed by hand works; QUIT ends the session.
        let manual = try daemon.ctl([], environment: [:], input: "STATS\nAUTH key=dev-pos secret=dev-pos-secret\nQUIT\nPING\n")
        #expect(manual.status == 0)
        let lines = manual.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ERR NOT_AUTHENTICATED") == true)
        #expect(lines.dropFirst() == ["role  pos", "OK"])
    }
}
