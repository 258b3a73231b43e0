// DaemonProcess: the creditd under test — its derived config, start, SIGKILL, SIGTERM and verify.

import Foundation
import Glibc
import Synchronization

/// The running daemon's process id (0: none), for the signal handler that takes it down when the
/// harness itself is interrupted, so no daemon outlives its harness.
let runningDaemonPID = Atomic<Int32>(0)

/// On SIGINT or SIGTERM: SIGKILL the daemon, then exit 3 (both async-signal-safe).
func killDaemonOnInterrupt() {
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber) { number in
            let pid = runningDaemonPID.load(ordering: .relaxed)
            if pid > 0 { kill(pid, SIGKILL) }
            _exit(128 + number)
        }
    }
}

/// The real creditd binary, run on one data directory for the whole harness run. Its stderr goes
/// to a log file (never a pipe, so the daemon cannot block on a slow reader); the harness finds
/// each run's `msg=listening addr=127.0.0.1:PORT` line there.
final class DaemonProcess {
    let binary: String
    /// A private directory for the derived config and the daemon's log.
    let workDirectory: String
    let configPath: String
    let logPath: String
    let dataDirectory: String
    private(set) var port = 0
    private var process: Process?
    private var exited: DispatchSemaphore?

    /// Prepares a fresh data directory (which must not exist, or be empty) and writes the run's
    /// config, derived from the one at `options.config`.
    init(options: Options) throws(HarnessFailure) {
        binary = absolute(options.binary)
        dataDirectory = absolute(options.data)
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw setupFailure("\(binary) is not an executable file") }
        let config = try DaemonProcess.derivedConfig(base: absolute(options.config), data: dataDirectory,
                                                     snapshotEvery: options.snapshotEvery)
        try DaemonProcess.makeFreshDirectory(dataDirectory)
        var template = Array("/tmp/creditd-crashtest-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw setupFailure("mkdtemp failed: \(String(cString: strerror(errno)))") }
        workDirectory = String(cString: made)
        configPath = workDirectory + "/creditd.conf"
        logPath = workDirectory + "/daemon.log"
        guard FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8)) else {
            throw setupFailure("cannot write \(configPath)")
        }
    }

    /// Starts creditd on the data directory and waits for its `listening` line.
    func start() throws(HarnessFailure) {
        precondition(process == nil, "the daemon is already running")
        let logFD = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard logFD >= 0 else { throw setupFailure("cannot open \(logPath)") }
        let logStart = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config", configPath]
        // The child gets its own copy of the descriptor at spawn; the harness closes its copy
        // itself (Process keeps its handles alive, so closeOnDealloc would leak one per start).
        process.standardError = FileHandle(fileDescriptor: logFD, closeOnDealloc: false)
        process.standardOutput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        defer { close(logFD) }
        do { try process.run() } catch { throw setupFailure("cannot run \(binary): \(error)") }
        self.process = process
        self.exited = exited
        runningDaemonPID.store(process.processIdentifier, ordering: .relaxed)
        let deadline = Date().addingTimeInterval(Limits.startSecondsMax)
        while Date() < deadline {
            if let port = listeningPort(after: logStart) {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            usleep(2_000)
        }
        kill9()
        throw HarnessFailure(Check.daemon, expected: "creditd logs msg=listening within \(Int(Limits.startSecondsMax)) s",
                             actual: "it did not; log tail:\n" + logTail())
    }

    /// SIGKILL: no chance to flush anything. Waits until the process is gone.
    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = exited?.wait(timeout: .now() + Limits.stopSecondsMax)
        self.process = nil
        runningDaemonPID.store(0, ordering: .relaxed)
    }

    /// True while the process runs.
    var isRunning: Bool { process?.isRunning ?? false }

    /// SIGTERM, then waits for a graceful exit, which must be status 0.
    func stop() throws(HarnessFailure) {
        guard let process else { return }
        kill(process.processIdentifier, SIGTERM)
        let finished = exited?.wait(timeout: .now() + Limits.stopSecondsMax) == .success
        if !finished { kill9() }
        self.process = nil
        runningDaemonPID.store(0, ordering: .relaxed)
        guard finished, process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = finished ? "status \(process.terminationStatus) (\(process.terminationReason == .exit ? "exit" : "signal"))"
                : "no exit within \(Int(Limits.stopSecondsMax)) s"
            throw HarnessFailure(Check.daemon, request: "SIGTERM", expected: "a graceful exit with status 0",
                                 actual: how + "; log tail:\n" + logTail())
        }
    }

    /// Runs `creditd verify --config … --data …` and returns its exit status and output (status
    /// -1 if it had to be killed at the deadline).
    func verify() throws(HarnessFailure) -> (status: Int32, output: String) {
        let outputPath = workDirectory + "/verify.out"
        _ = unlink(outputPath)
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else { throw setupFailure("cannot open \(outputPath)") }
        defer { close(outputFD) }
        let output = FileHandle(fileDescriptor: outputFD, closeOnDealloc: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["verify", "--config", configPath, "--data", dataDirectory]
        process.standardOutput = output
        process.standardError = output
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch { throw setupFailure("cannot run \(binary) verify: \(error)") }
        let finished = exited.wait(timeout: .now() + Limits.verifySecondsMax) == .success
        if !finished {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + Limits.stopSecondsMax)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (finished ? process.terminationStatus : -1, text.trimmingCharacters(in: .newlines))
    }

    /// What the data directory holds: journal segments and snapshots (a snapshot removes the
    /// segments it covers, so many segments and no snapshot mean start-up replays everything).
    func dataSummary() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory)) ?? []
        let segments = names.filter { $0.hasPrefix("journal-") && $0.hasSuffix(".log") }.count
        let snapshots = names.filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".bin") }.count
        return "data: \(segments) journal segments, \(snapshots) snapshots"
    }

    /// The last lines the daemon logged, for failure reports.
    func logTail(_ count: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// Removes the work directory (config and log); kept when a run fails.
    func removeWorkDirectory() {
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    /// The port of the first `listening` line logged after byte `offset`.
    private func listeningPort(after offset: Int) -> Int? {
        guard let data = FileManager.default.contents(atPath: logPath), data.count > offset else { return nil }
        let text = String(decoding: data[offset...], as: UTF8.self)
        guard let range = text.range(of: "msg=listening addr=127.0.0.1:") else { return nil }
        let rest = text[range.upperBound...]
        let digits = rest.prefix { $0.isNumber }
        guard rest.dropFirst(digits.count).first == " ", let port = Int(digits) else { return nil }
        return port
    }

    /// Creates `path` (mode 0700) unless it exists; an existing one must be an empty directory,
    /// so the harness never runs on, or deletes, data it did not make.
    private static func makeFreshDirectory(_ path: String) throws(HarnessFailure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]
            guard isDirectory.boolValue, entries.isEmpty else {
                throw setupFailure("--data \(path) must not exist or be an empty directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw setupFailure("cannot create \(path): \(error)")
        }
    }

    /// The base config with its relative paths made absolute (they are relative to its directory)
    /// and the harness's settings in place of its own: a free loopback port and no TLS listener
    /// (the harness tests durability, and a fixed TLS port would collide between runs), the fresh data
    /// directory (with its own server secret), the snapshot interval, and holds that may last 7
    /// days (the workload's holds must not expire during a run).
    static func derivedConfig(base: String, data: String, snapshotEvery: Int) throws(HarnessFailure) -> String {
        guard let text = try? String(contentsOfFile: base, encoding: .utf8) else { throw setupFailure("cannot read --config \(base)") }
        let baseDirectory = (base as NSString).deletingLastPathComponent
        let replaced: Set<String> = ["listen", "listen_tls", "data_dir", "secret_file", "snapshot_every", "hold_ttl_max"]
        let paths: Set<String> = ["keys_file", "currencies_file", "rates_file", "tls_cert", "tls_key", "tls_client_ca"]
        var lines = ["# Written by creditd-crashtest from \(base)."]
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let parts = content.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if replaced.contains(parts[0]) { continue }
            let value = paths.contains(parts[0]) && !parts[1].hasPrefix("/") ? baseDirectory + "/" + parts[1] : parts[1]
            lines.append("\(parts[0]) = \(value)")
        }
        lines += ["listen = 127.0.0.1:0", "listen_tls = off", "data_dir = \(data)", "snapshot_every = \(snapshotEvery)", "hold_ttl_max = 7d", ""]
        return lines.joined(separator: "\n")
    }
}

/// A path made absolute against the current directory.
func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// A failure to set the run up (not a finding about the daemon).
func setupFailure(_ why: String) -> HarnessFailure {
    HarnessFailure("setup", expected: "a runnable setup", actual: why)
}
