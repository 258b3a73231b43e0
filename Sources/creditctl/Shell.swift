// The interactive mode: a `creditd> ` prompt that sends each typed line as a protocol line.

import CreditClient
import Glibc

/// Reads protocol lines from stdin, sends each as typed, prints each reply. Works with stdin a
/// pipe (no prompt is printed then), which is how tests and scripts drive it.
enum Shell {
    /// Runs until `quit`, `exit`, EOF or a `QUIT` the server accepted. Returns 0 then, 1 if the
    /// opening AUTH was refused, 3 if the connection fails.
    static func run(_ invocation: Invocation) -> ExitStatus {
        let interactive = isatty(0) == 1
        let connection: CreditConnection
        do {
            connection = try CreditConnection(host: invocation.host, port: invocation.effectivePort,
                                              timeoutSeconds: invocation.timeoutSeconds, tls: invocation.tlsOptions)
            if let key = invocation.key, let secret = invocation.secret {
                let role = try connection.authenticate(key: key, secret: secret)
                if interactive { Console.error("connected to \(invocation.host):\(invocation.effectivePort)\(invocation.tls ? " (TLS)" : "") as \(key) (role \(role))") }
            } else if interactive {
                Console.error("connected to \(invocation.host):\(invocation.effectivePort)\(invocation.tls ? " (TLS)" : ""), not authenticated (type AUTH key= secret=)")
            }
        } catch let error as CreditClientError {
            return CreditCtl.report(error)
        } catch {
            Console.error("\(error)")
            return .connectionFailure
        }
        defer { connection.close() }
        while true {
            if interactive { Console.prompt("creditd> ") }
            guard let line = readLine(strippingNewline: true) else { return .ok }
            switch handle(line, connection: connection, json: invocation.json) {
            case .next: continue
            case .finish(let status): return status
            }
        }
    }

    /// What the loop does after a line.
    private enum Step {
        case next
        case finish(ExitStatus)
    }

    /// Sends one line and prints its reply; the local words `quit` and `exit` end the session.
    private static func handle(_ typed: String, connection: CreditConnection, json: Bool) -> Step {
        let line = trimmed(typed.hasSuffix("\r") ? String(typed.dropLast()) : typed)
        if line.isEmpty { return .next }
        // Lower-case `quit` and `exit` end the session here; an upper-case `QUIT` goes to the
        // server like any protocol line, and its `OK` ends the session too.
        if line == "quit" || line == "exit" { return .finish(.ok) }
        do {
            let reply = try connection.send(line: line)
            Console.out(json ? JSONRenderer.render(reply) : HumanRenderer.render(reply))
            return isQuit(line) && reply.isOK ? .finish(.ok) : .next
        } catch let error as CreditClientError where !error.isConnectionFailure {
            Console.error(error.description)
            return .next
        } catch let error as CreditClientError {
            return .finish(CreditCtl.report(error))
        } catch {
            Console.error("\(error)")
            return .finish(.connectionFailure)
        }
    }

    /// True when the line's verb (after an optional `#tag`) is QUIT: the server closes after it.
    private static func isQuit(_ line: String) -> Bool {
        let tokens = line.split(separator: " ")
        let verb = tokens.first?.hasPrefix("#") == true ? tokens.dropFirst().first : tokens.first
        return verb?.uppercased() == "QUIT"
    }

    /// The text without leading and trailing spaces and tabs.
    private static func trimmed(_ text: String) -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(text[first...last])
    }
}
