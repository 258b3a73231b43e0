// Test support shared by the wire test targets: starts the real creditd binary on loopback ports
// (plaintext and TLS) with a fresh data directory, and finds the binaries built beside the tests.

import CreditTLS
import Foundation
import Glibc

/// Which listener a test client connects to: the same protocol tests run over both.
enum Transport: String, CaseIterable, Sendable {
    case plain, tls
}

/// A creditd process started for a test, with its own temporary data directory.
final class Daemon: @unchecked Sendable {
    /// The repository root, found from this file's path.
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The creditd binary built beside the test bundle.
    static let binary: String = builtBinary("creditd")

    /// The creditctl binary built beside the test bundle.
    static let creditctl: String = builtBinary("creditctl")

    /// The path of an executable product in the build directory that holds the test bundle.
    static func builtBinary(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent(name).path
    }

    let directory: String
    let dataDirectory: String
    let configPath: String
    /// Every line the daemon wrote to stderr, across restarts, is also appended here.
    let logPath: String
    private(set) var process: Process?
    /// Extra environment for the daemon's process (e.g. LD_PRELOAD for fault injection).
    var environment: [String: String] = [:]
    /// The plaintext port (0 with `listen = off`).
    private(set) var port: Int = 0
    /// The TLS port (0 with `listen_tls = off`).
    private(set) var tlsPort: Int = 0
    private let logLock = NSLock()
    private var logText = ""
    /// Signalled when the current process's stderr reaches end of file.
    private var stderrClosed: DispatchSemaphore?

    /// The development CA, server and till certificates, from `Config/tls`.
    static func devCertificate(_ name: String) -> String { repoRoot + "/Config/tls/" + name }

    /// A client context trusting the development CA (no client certificate).
    static let tlsClient: TLSClientContext = {
        do { return try TLSClientContext(caFile: devCertificate("dev-ca.pem")) } catch { fatalError("\(error)") }
    }()

    /// Creates a data directory and config (with `extraConfig` lines appended) and starts creditd,
    /// listening on a free plaintext port and a free TLS port (development certificates).
    init(extraConfig: String = "", start: Bool = true) throws {
        var template = Array("/tmp/creditd-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestError("mkdtemp failed") }
        directory = String(cString: made)
        dataDirectory = directory + "/data"
        configPath = directory + "/creditd.conf"
        logPath = directory + "/daemon.log"
        let config = """
            listen = 127.0.0.1:0
            data_dir = \(dataDirectory)
            keys_file = \(Daemon.repoRoot)/Config/keys.dev
            currencies_file = \(Daemon.repoRoot)/Config/currencies.conf
            listen_tls = 127.0.0.1:0
            tls_cert = \(Daemon.devCertificate("dev-server.pem"))
            tls_key = \(Daemon.devCertificate("dev-server.key"))
            \(extraConfig)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        if start { try self.start() }
    }

    /// Starts (or restarts) the daemon and waits for its `listening` log line. Throws, with the
    /// log, if the process exits first or does not listen within `timeout` seconds.
    func start(timeout: Double = 30) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Daemon.binary)
        process.arguments = ["--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Daemon.privatePipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let ready = DispatchSemaphore(value: 0)
        let closed = DispatchSemaphore(value: 0)
        let portBox = PortBox()
        let logFile = FileHandle(forWritingAtPath: logPath)
        logFile?.seekToEndOfFile()
        // A thread of its own reads stderr with blocking reads until end of file.
        let readFD = pipe.fileHandleForReading.fileDescriptor
        let reader = Thread { [weak self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let data = Data(chunk[..<count])
                logFile?.write(data)
                let text = String(decoding: data, as: UTF8.self)
                if let self {
                    self.logLock.lock()
                    self.logText += text
                    self.logLock.unlock()
                }
                portBox.text += text  // this run's output only: a restart must find its own ports
                if !portBox.listening { portBox.findPorts() }
                if portBox.listening { ready.signal() }
            }
            try? logFile?.close()
            withExtendedLifetime(pipe) {}
            closed.signal()
            ready.signal()
        }
        stderrClosed = closed
        try process.run()
        self.process = process
        reader.start()
        guard ready.wait(timeout: .now() + timeout) == .success, portBox.listening else {
            kill9()
            throw TestError("creditd did not start; log:\n\(log)")
        }
        port = portBox.port
        tlsPort = portBox.tlsPort
    }

    /// Runs creditd on this daemon's config and waits (at most `timeout` seconds) for it to exit
    /// on its own, e.g. because it refuses to start. Returns the exit status and what it wrote to
    /// stderr; a daemon that is still running at the deadline is killed and reported as status -1.
    func runToExit(timeout: Double = 10) throws -> (status: Int32, output: String) {
        precondition(process == nil, "the daemon is already running")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Daemon.binary)
        process.arguments = ["--config", configPath]
        let pipe = Daemon.privatePipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let finished = exited.wait(timeout: .now() + timeout) == .success
        if !finished {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (finished ? process.terminationStatus : -1, output)
    }

    /// A pipe whose ends are close-on-exec, so that a daemon another test spawns meanwhile does not
    /// inherit them (the spawned daemon gets its stderr by dup2, which clears the flag). An
    /// inherited write end would hold off end of file until that other daemon exits.
    static func privatePipe() -> Pipe {
        let pipe = Pipe()
        for fd in [pipe.fileHandleForReading.fileDescriptor, pipe.fileHandleForWriting.fileDescriptor] {
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
        return pipe
    }

    /// Everything the daemon wrote to stderr so far (every run of this instance).
    var log: String {
        logLock.lock()
        defer { logLock.unlock() }
        return logText
    }

    /// SIGKILL: the daemon gets no chance to flush anything.
    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
        awaitStderrClosed()
    }

    /// Forgets a process that exited on its own (after waiting for its stderr), so `start()` can run again.
    func resetProcess() {
        guard let process else { return }
        process.waitUntilExit()
        self.process = nil
        awaitStderrClosed()
    }

    /// Sends a signal and returns at once (`stop()` then waits for the exit).
    func send(signal: Int32) {
        guard let process else { return }
        kill(process.processIdentifier, signal)
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let process else { return 0 }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
        awaitStderrClosed()
        return process.terminationStatus
    }

    /// Waits until every byte the dead process wrote to stderr is in `log`.
    private func awaitStderrClosed() {
        _ = stderrClosed?.wait(timeout: .now() + 5)
        stderrClosed = nil
    }

    /// Opens a client connection to the plaintext or the TLS port.
    func connect(_ transport: Transport = .plain) throws -> WireClient {
        switch transport {
        case .plain: return try WireClient(port: port)
        case .tls: return try WireClient(port: tlsPort, tls: Daemon.tlsClient)
        }
    }

    /// Opens a client connection already authenticated with a development key.
    func connect(as key: String, over transport: Transport = .plain) throws -> WireClient {
        let client = try connect(transport)
        let reply = try client.request("AUTH key=\(key) secret=\(key)-secret")
        guard reply.last?.hasPrefix("OK") == true else { throw TestError("AUTH failed: \(reply)") }
        return client
    }

    /// Names of the files in the data directory, sorted.
    func dataFileNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dataDirectory).sorted()
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// What one run's stderr handler has seen (touched only by that handler, serially).
private final class PortBox: @unchecked Sendable {
    var port = 0
    var tlsPort = 0
    var listening = false
    var text = ""

    /// Reads the ports from a complete `msg=listening` line, once one has arrived.
    func findPorts() {
        guard let start = text.range(of: "msg=listening ") else { return }
        let rest = text[start.upperBound...]
        guard let end = rest.firstIndex(of: "\n") else { return }
        for field in rest[..<end].split(separator: " ") {
            if field.hasPrefix("addr=127.0.0.1:") { port = Int(field.dropFirst("addr=127.0.0.1:".count)) ?? 0 }
            if field.hasPrefix("tls_addr=127.0.0.1:") { tlsPort = Int(field.dropFirst("tls_addr=127.0.0.1:".count)) ?? 0 }
        }
        listening = true
    }
}

/// A failure in test support.
struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body(index)` on `count` threads of their own at once (real threads, so blocking socket
/// calls really overlap) and waits for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

/// A value shared between threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Reads or changes the value under the lock.
    func with<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Reads a whole file's bytes.
func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestError("cannot read \(path)") }
    return [UInt8](data)
}

/// Writes bytes to a file with mode 0600 (creditd refuses a server secret others can read).
func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
        throw TestError("cannot write \(path)")
    }
}

/// Parses an amount printed with two decimals (`12.50`) into cents.
func cents(_ text: String?) -> Int? {
    guard let text else { return nil }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, parts[1].count == 2, let whole = Int(parts[0]), let fraction = Int(parts[1]),
          !parts[0].hasPrefix("-"), !parts[0].hasPrefix("+") else { return nil }
    return whole * 100 + fraction
}

/// Formats cents as a two-decimal amount (`1250` → `12.50`).
func amountText(_ cents: Int) -> String {
    let fraction = cents % 100
    return "\(cents / 100)." + (fraction < 10 ? "0" : "") + String(fraction)
}
