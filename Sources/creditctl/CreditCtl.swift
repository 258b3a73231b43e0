// Runs one creditctl invocation: check the command line, connect, authenticate, send, print.

import CreditClient

/// The tool's entry point and its one-shot command path.
enum CreditCtl {
    /// Runs the command line and returns the exit status. Prints results on stdout, errors on stderr.
    static func run(arguments: [String], environment: Environment) -> ExitStatus {
        do {
            let invocation = try Invocation.parse(arguments, environment: environment)
            if invocation.wantsUsage {
                Console.out(usageText)
                return .ok
            }
            guard let word = invocation.words.first, word != "shell" else {
                guard invocation.words.count <= 1 else { throw UsageError("shell takes no arguments") }
                return Shell.run(invocation)
            }
            let (spec, request) = try plan(word: word, rest: invocation.words.dropFirst())
            return execute(spec, request, invocation)
        } catch {
            Console.error(error.message)
            Console.error("try creditctl --help")
            return .usage
        }
    }

    /// The command row and the request a command line asks for; adds a ref to mutating requests
    /// that lack one. Throws a usage error for unknown commands and unsendable arguments.
    private static func plan(word: String, rest: ArraySlice<String>) throws(UsageError) -> (CommandSpec, Request) {
        var spec: CommandSpec
        var words = rest
        if word == "raw" {
            guard let verb = words.popFirst() else { throw UsageError("raw needs a verb, as in: raw PING") }
            spec = CommandSpec.raw(verb: verb)
        } else if let known = CommandSpec.named(word) {
            spec = known
        } else {
            throw UsageError("unknown command \"\(word)\"")
        }
        var request = Request(verb: spec.verb, arguments: try Invocation.keyValues(words))
        if spec.isMutating && request["ref"] == nil {
            let ref = makeRef()
            request.arguments.append((key: "ref", value: ref))
            Console.error("ref=\(ref) (if the outcome is unclear, retry with this ref: it will not apply twice)")
        }
        do {
            _ = try request.encoded()
        } catch {
            throw UsageError("\(error)")
        }
        return (spec, request)
    }

    /// Connects, authenticates if needed (or if credentials are at hand), sends and prints.
    private static func execute(_ spec: CommandSpec, _ request: Request, _ invocation: Invocation) -> ExitStatus {
        let credentials: (key: String, secret: String)?
        switch (invocation.key, invocation.secret) {
        case let (key?, secret?): credentials = (key, secret)
        case (nil, _) where spec.needsAuth:
            return usage("\(spec.name) needs a client key: pass --key or set CREDITD_KEY")
        case (_, nil) where spec.needsAuth:
            return usage("\(spec.name) needs the key's secret: set CREDITD_SECRET (or pass --secret)")
        default: credentials = nil
        }
        do {
            let connection = try CreditConnection(host: invocation.host, port: invocation.effectivePort,
                                                  timeoutSeconds: invocation.timeoutSeconds, tls: invocation.tlsOptions)
            defer { connection.close() }
            if let credentials {
                try connection.authenticate(key: credentials.key, secret: credentials.secret)
            }
            let reply = try connection.send(request)
            if invocation.prometheus && reply.isOK {
                Console.out(String(PrometheusRenderer.render(reply).dropLast()))
                return .ok
            }
            return show(reply, json: invocation.json)
        } catch let error as CreditClientError {
            return report(error)
        } catch {
            Console.error("\(error)")
            return .connectionFailure
        }
    }

    /// Prints a reply on stdout (and an ERR also on stderr); returns 0 for OK, 1 for ERR.
    static func show(_ reply: Reply, json: Bool) -> ExitStatus {
        if json {
            Console.out(JSONRenderer.render(reply))
        } else if reply.isOK {
            Console.out(HumanRenderer.render(reply))
        }
        guard case .error(let code, let message) = reply.final else { return .ok }
        Console.error(CreditClientError.server(code: code, message: message).description)
        return .serverError
    }

    /// Prints a client error on stderr and picks the exit status for it.
    static func report(_ error: CreditClientError) -> ExitStatus {
        switch error {
        case .server(let code, _) where code == "AUTH_FAILED":
            Console.error("authentication failed: \(error)")
            return .serverError
        case .server:
            Console.error(error.description)
            return .serverError
        case .invalidRequest:
            Console.error(error.description)
            return .usage
        default:
            Console.error(error.description)
            return .connectionFailure
        }
    }

    /// Prints a usage error and returns status 2.
    private static func usage(_ message: String) -> ExitStatus {
        Console.error(message)
        return .usage
    }

    /// A fresh idempotency key: `ctl-` and 16 hex digits from the system CSPRNG.
    static func makeRef() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() as UInt64
        let hex = String(bits, radix: 16)
        return "ctl-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension Error {
    /// The text to show for an error caught on the command-line path.
    var message: String {
        if let usage = self as? UsageError { return usage.message }
        return "\(self)"
    }
}
