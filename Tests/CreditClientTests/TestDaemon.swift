// Test support (copied from CreditServerTests/Daemon.swift, renamed): starts the real creditd
// binary on a loopback port with a fresh data directory, and finds the binaries built beside the tests.

import Foundation
import Glibc

/// A creditd process started for a test, with its own temporary data directory.
final class TestDaemon: @unchecked Sendable {
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
    private(set) var port: Int = 0
    private let logLock = NSLock()
    private var logText = ""
    /// Signalled when the current process's stderr reaches end of file.
    private var stderrClosed: DispatchSemaphore?

    /// Creates a data directory and config (with `extraConfig` lines appended) and starts creditd.
    init(extraConfig: String = "", start: Bool = true) throws {
        var template = Array("/tmp/creditd-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        directory = String(cString: made)
        dataDirectory = directory + "/data"
        configPath = directory + "/creditd.conf"
        logPath = directory + "/daemon.log"
        let config = """
            listen = 127.0.0.1:0
            data_dir = \(dataDirectory)
            keys_file = \(TestDaemon.repoRoot)/Config/keys.dev
            currencies_file = \(TestDaemon.repoRoot)/Config/currencies.conf
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
        process.executableURL = URL(fileURLWithPath: TestDaemon.binary)
        process.arguments = ["--config", configPath]
        let pipe = TestDaemon.privatePipe()
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
                portBox.text += text  // this run's output only: a restart must find its own port
                if portBox.port == 0, let range = portBox.text.range(of: "msg=listening addr=127.0.0.1:") {
                    let digits = portBox.text[range.upperBound...].prefix { $0.isNumber }
                    if let port = Int(digits), portBox.text[range.upperBound...].dropFirst(digits.count).first == " " {
                        portBox.port = port
                        ready.signal()
                    }
                }
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
        guard ready.wait(timeout: .now() + timeout) == .success, portBox.port != 0 else {
            kill9()
            throw TestFailure("creditd did not start; log:\n\(log)")
        }
        port = portBox.port
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

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// What one run's stderr handler has seen (touched only by that handler, serially).
private final class PortBox: @unchecked Sendable {
    var port = 0
    var text = ""
}

/// A failure in test support.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
