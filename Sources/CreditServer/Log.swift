// Log: one logfmt line per event on stderr, journald-friendly. Card numbers never reach it.

import Glibc
import Synchronization

/// Severity of a log line, least severe first.
public enum LogLevel: String, Sendable, CaseIterable {
    case debug, info, warn, error

    /// Position in severity order, for the threshold comparison.
    var severity: Int { LogLevel.allCases.firstIndex(of: self)! }
}

/// Writes `ts=… level=… msg="…" key=value…` lines to stderr, one `write` per line so lines from
/// the engine and the journal thread never interleave.
public enum Log {
    /// Severity of the least severe level written (`log_level`, reloaded on SIGHUP); info at start.
    private static let thresholdSeverity = Atomic<Int>(LogLevel.info.severity)

    /// Sets the least severe level written; safe from any thread.
    public static func setLevel(_ level: LogLevel) {
        thresholdSeverity.store(level.severity, ordering: .relaxed)
    }

    /// Logs one event if `level` is at or above the configured level. Values are quoted when
    /// they contain spaces, quotes or `=`.
    public static func write(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        guard level.severity >= thresholdSeverity.load(ordering: .relaxed) else { return }
        emit(level, message, fields.map { ($0.key, $0.value) })
    }

    /// Logs one event whose fields are assembled at run time (in this order).
    public static func write(_ level: LogLevel, _ message: String, _ fields: [(String, String)]) {
        guard level.severity >= thresholdSeverity.load(ordering: .relaxed) else { return }
        emit(level, message, fields)
    }

    /// Logs one request (`request_log = on`) at level info, whatever `log_level` says: the
    /// operator asked for these lines by turning the request log on.
    static func request(_ fields: [(String, String)]) {
        emit(.info, "request", fields)
    }

    private static func emit(_ level: LogLevel, _ message: String, _ fields: [(String, String)]) {
        var line = "ts=\(Instant.wallClock().rfc3339) level=\(level.rawValue) msg=\(quote(message))"
        for (key, value) in fields { line += " \(key)=\(quote(value))" }
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }

    private static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 == 32 || $0 == 34 || $0 == 61 || $0 == 92 || $0 < 32 }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar.value < 32 ? "?" : scalar)
            }
        }
        return out + "\""
    }
}

import CreditCore

extension Instant {
    /// The current wall-clock time (CLOCK_REALTIME), to the millisecond.
    public static func wallClock() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(millis: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
