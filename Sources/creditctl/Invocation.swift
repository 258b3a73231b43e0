// Parses creditctl's command line: options (anywhere), the command, and key=value arguments.

import CreditClient

/// A command line creditctl cannot run; the message says why. Exit status 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Everything the command line says, before any credential or command lookup.
struct Invocation {
    /// The plaintext and TLS ports creditd listens on by default (Config/creditd.conf).
    static let plainPortDefault = 7878
    static let tlsPortDefault = 7879

    /// Where creditd listens (`port` nil: the default for the transport).
    var host = "127.0.0.1"
    var port: Int?
    /// `--tls` (or any of `--ca`, `--cert`, `--cert-key`): connect to the TLS port.
    var tls = false
    /// `--ca FILE`: CA certificates to trust (default: the system store).
    var caFile: String?
    /// `--cert FILE` / `--cert-key FILE`: a till certificate and its key, for servers that ask.
    var certificateFile: String?
    var certificateKeyFile: String?
    /// Credentials from `--key` / `--secret`, falling back to the environment.
    var key: String?
    var secret: String?
    /// `--json`: one JSON object per reply instead of tables.
    var json = false
    /// `--prometheus` (with `stats`): Prometheus text exposition format instead of tables.
    var prometheus = false
    /// `--timeout`: seconds to wait for creditd to connect or reply.
    var timeoutSeconds = 10
    /// `--help` / `-h`: print usage and exit 0.
    var wantsUsage = false
    /// The command word and what follows it (for `raw`, the verb comes first). Empty: the shell.
    var words: [String] = []

    /// Reads options wherever they appear (`--host H` or `--host=H`); `--` ends options.
    static func parse(_ arguments: [String], environment: Environment) throws(UsageError) -> Invocation {
        var invocation = Invocation()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if optionsEnded || !word.hasPrefix("-") || word == "-" {
                invocation.words.append(word)
                continue
            }
            if word == "--" { optionsEnded = true; continue }
            var name = word
            var inlineValue: String?
            if let equals = word.firstIndex(of: "=") {
                name = String(word[..<equals])
                inlineValue = String(word[word.index(after: equals)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw UsageError("\(name) needs a value") }
                index += 1
                return arguments[index - 1]
            }
            switch name {
            case "--host": invocation.host = try value()
            case "--port": invocation.port = try number(try value(), for: name, in: 1...65_535)
            case "--key": invocation.key = try value()
            case "--secret": invocation.secret = try value()
            case "--timeout": invocation.timeoutSeconds = try number(try value(), for: name, in: 1...3600)
            case "--json" where inlineValue == nil: invocation.json = true
            case "--tls" where inlineValue == nil: invocation.tls = true
            case "--ca": invocation.caFile = try value()
            case "--cert": invocation.certificateFile = try value()
            case "--cert-key": invocation.certificateKeyFile = try value()
            case "--prometheus" where inlineValue == nil: invocation.prometheus = true
            case "--help", "-h": invocation.wantsUsage = true
            default: throw UsageError("unknown option \(word)")
            }
        }
        if invocation.caFile != nil || invocation.certificateFile != nil || invocation.certificateKeyFile != nil {
            invocation.tls = true
        }
        guard (invocation.certificateFile == nil) == (invocation.certificateKeyFile == nil) else {
            throw UsageError("--cert and --cert-key go together")
        }
        if invocation.prometheus && invocation.words.first != "stats" {
            throw UsageError("--prometheus goes with the stats command only")
        }
        if invocation.key == nil { invocation.key = environment.key }
        if invocation.secret == nil { invocation.secret = environment.secret }
        return invocation
    }

    /// The port to connect to: `--port`, or the default of the transport.
    var effectivePort: Int { port ?? (tls ? Invocation.tlsPortDefault : Invocation.plainPortDefault) }

    /// The TLS settings for the connection, nil for plaintext.
    var tlsOptions: TLSOptions? {
        guard tls else { return nil }
        return TLSOptions(caFile: caFile, certificateFile: certificateFile, privateKeyFile: certificateKeyFile)
    }

    /// A decimal integer within `range`.
    private static func number(_ text: String, for option: String, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("\(option) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// Splits `key=value` words into arguments in the order given.
    static func keyValues(_ words: ArraySlice<String>) throws(UsageError) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for word in words {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw UsageError("expected key=value, got \"\(word)\"")
            }
            pairs.append((String(word[..<equals]), String(word[word.index(after: equals)...])))
        }
        return pairs
    }
}

/// The usage text for `--help` and usage errors.
let usageText = """
    usage: creditctl [--host H] [--port P] [--key ID] [--secret S] [--json] [--timeout SECONDS]
                     [--tls [--ca FILE] [--cert FILE --cert-key FILE]] <command> [key=value ...]
           creditctl [options] stats --prometheus   STATS in Prometheus text format (textfile collector)
           creditctl [options] [shell]          interactive prompt; type protocol lines, quit to leave

    commands (key=value arguments pass through to creditd; `creditctl help` lists each verb's
    syntax and roles as the daemon states them):
      issue balance credits quote hold capture void refund freeze unfreeze cancel stock activate
      load replace transfer claim unlock reverse report history rates stats backup ping help
      raw VERB [key=value ...]   send any verb as is

    commands that change state (issue hold capture void refund freeze unfreeze cancel stock
    activate load replace transfer claim unlock reverse) get ref=ctl-<random> when none is given;
    it is printed on stderr so that the request can be retried safely with the same ref.

    defaults: --host 127.0.0.1 --port 7878 (7879 with --tls) --timeout 10; --key and --secret fall
    back to CREDITD_KEY and CREDITD_SECRET (prefer the variable: arguments are visible in ps).
    TLS: --tls connects to creditd's TLS port, verifying its certificate against --ca FILE (default:
    the system's CAs) and the host name or address; --cert and --cert-key present a till's
    certificate. --ca, --cert and --cert-key imply --tls.
    exit status: 0 OK, 1 creditd answered ERR, 2 usage error, 3 connection or protocol failure.
    """
