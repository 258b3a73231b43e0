// Proves per-key restrictions (source address ranges, terminal ids) are enforced at AUTH, and that
// a keys file reloaded on SIGHUP disables a removed key at its next request.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

private let secretHash = "9fdd0c0ab4738d9dbeeacf60eeac6e7d0b19a25a65091badd496a5995c4033a3"  // SHA-256 of "t-secret"

private func keysFile(_ directory: String, _ lines: [String]) throws -> String {
    let path = directory + "/test.keys"
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Test func keysAreRestrictedBySourceAddressAndTerminal() throws {
    let daemon = try Daemon(start: false)
    let path = try keysFile(daemon.directory, [
        "t-far pos sha256:\(secretHash) from=10.0.0.0/8",
        "t-near pos sha256:\(secretHash) from=10.0.0.0/8,127.0.0.0/8",
        "t-till pos sha256:\(secretHash) terminal=till-7",
        "t-admin admin sha256:\(secretHash)",
    ])
    let config = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        .replacingOccurrences(of: "keys_file = \(Daemon.repoRoot)/Config/keys.dev", with: "keys_file = \(path)")
    try config.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
    try daemon.start()
    let client = try daemon.connect()
    #expect(try client.request("AUTH key=t-far secret=t-secret") == ["ERR AUTH_FAILED unknown key or wrong secret"])
    #expect(try client.ok("AUTH key=t-near secret=t-secret")["role"] == "pos")
    #expect(try client.request("AUTH key=t-till secret=t-secret") == ["ERR AUTH_FAILED unknown key or wrong secret"])
    #expect(try client.request("AUTH key=t-till secret=t-secret terminal=till-8") == ["ERR AUTH_FAILED unknown key or wrong secret"])
    #expect(try client.ok("AUTH key=t-till secret=t-secret terminal=till-7")["role"] == "pos")
    // The log is read from the daemon's stderr by another thread: give it a moment.
    for _ in 0..<200 where !daemon.log.contains("auth refused by key restriction") { usleep(10_000) }
    #expect(daemon.log.contains("auth refused by key restriction"))
    daemon.stop()
}

@Test func aKeyRemovedAndReloadedOnSighupStopsWorking() throws {
    let daemon = try Daemon(start: false)
    let path = try keysFile(daemon.directory, ["t-admin admin sha256:\(secretHash)", "t-pos pos sha256:\(secretHash)"])
    let config = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        .replacingOccurrences(of: "keys_file = \(Daemon.repoRoot)/Config/keys.dev", with: "keys_file = \(path)")
    try config.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
    try daemon.start()
    let pos = try daemon.connect()
    #expect(try pos.ok("AUTH key=t-pos secret=t-secret")["role"] == "pos")
    #expect(try pos.request("RATES").last?.hasPrefix("OK") == true)
    _ = try keysFile(daemon.directory, ["t-admin admin sha256:\(secretHash)"])
    daemon.send(signal: SIGHUP)
    var reply: [String] = []
    for _ in 0..<100 {
        reply = try pos.request("RATES")
        if reply.last?.hasPrefix("ERR") == true { break }
        usleep(20_000)
    }
    #expect(reply == ["ERR NOT_AUTHENTICATED key t-pos was disabled; AUTH again"])
    #expect(try pos.request("AUTH key=t-pos secret=t-secret") == ["ERR AUTH_FAILED unknown key or wrong secret"])
    #expect(try pos.ok("AUTH key=t-admin secret=t-secret")["role"] == "admin")
    daemon.stop()
}
