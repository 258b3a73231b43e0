// Test support: runs the built creditctl binary against a test daemon and captures its output,
// and opens CreditConnections to a test daemon.

@testable import CreditTestSupport
import CreditClient
import Foundation
import Glibc

/// What one creditctl run did.
struct CtlResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

extension Daemon {
    /// A connection to this daemon, authenticated with a development key unless `key` is nil.
    func client(as key: String? = "dev-admin") throws -> CreditConnection {
        let connection = try CreditConnection(host: "127.0.0.1", port: port, timeoutSeconds: 10)
        if let key { try connection.authenticate(key: key, secret: key + "-secret") }
        return connection
    }

    /// Runs creditctl with `--port` of this daemon, then `arguments`, with only the given
    /// environment (by default the dev-admin key in CREDITD_KEY/CREDITD_SECRET) and `input` on
    /// stdin. Kills it and fails if it runs longer than `timeout` seconds.
    func ctl(
        _ arguments: [String],
        environment: [String: String] = ["CREDITD_KEY": "dev-admin", "CREDITD_SECRET": "dev-admin-secret"],
        input: String = "",
        timeout: Double = 30
    ) throws -> CtlResult {
        try runCtl(["--port", String(port)] + arguments, environment: environment, input: input, timeout: timeout)
    }
}

/// Runs the creditctl binary with exactly these arguments and environment; see `Daemon.ctl`.
func runCtl(_ arguments: [String], environment: [String: String], input: String = "", timeout: Double = 30) throws -> CtlResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Daemon.creditctl)
    process.arguments = arguments
    process.environment = environment
    // Close-on-exec pipes: a daemon another test spawns meanwhile must not inherit (and so hold
    // open) an end of these pipes.
    let stdinPipe = Daemon.privatePipe()
    let stdoutPipe = Daemon.privatePipe()
    let stderrPipe = Daemon.privatePipe()
    process.standardInput = stdinPipe
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    let output = Locked(["", ""])
    let readers = DispatchGroup()
    for (index, pipe) in [stdoutPipe, stderrPipe].enumerated() {
        readers.enter()
        Thread {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            output.with { $0[index] = text }
            readers.leave()
        }.start()
    }
    // creditctl may exit without reading its input (a usage error): a write to the closed pipe
    // must fail with EPIPE rather than kill the test process with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    try? stdinPipe.fileHandleForWriting.write(contentsOf: Data(input.utf8))
    try? stdinPipe.fileHandleForWriting.close()
    guard exited.wait(timeout: .now() + timeout) == .success else {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw TestError("creditctl \(arguments) did not exit within \(timeout) s")
    }
    _ = readers.wait(timeout: .now() + 5)
    let (stdout, stderr) = output.with { ($0[0], $0[1]) }
    return CtlResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}

/// Parses the one JSON object creditctl printed on a line.
func jsonObject(_ line: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw TestError("not a JSON object: \(line)")
    }
    return object
}
