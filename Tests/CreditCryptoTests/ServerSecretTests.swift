// Proves the server secret file is created owner-only, loads back as the same key, and insecure or malformed files are refused.

import CreditCrypto
import Glibc
import Testing

/// A fresh, uniquely named directory under /tmp, removed by `cleanUp`.
private struct ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/creditcrypto-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { preconditionFailure("mkdtemp failed") }
        path = String(cString: made)
    }

    func write(_ name: String, _ content: String, mode: mode_t) -> String {
        let file = "\(path)/\(name)"
        let fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, mode)
        precondition(fd >= 0, "cannot create \(file)")
        _ = Array(content.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)  // umask may have narrowed it
        close(fd)
        return file
    }

    func cleanUp(_ names: [String]) {
        for name in names { unlink("\(path)/\(name)") }
        rmdir(path)
    }
}

private func fileMode(_ path: String) -> mode_t {
    var info = stat()
    precondition(stat(path, &info) == 0, "cannot stat \(path)")
    return info.st_mode & 0o7777
}

@Test func createsOwnerOnlySecretThatLoadsBackUnchanged() throws {
    let directory = ScratchDirectory()
    defer { directory.cleanUp(["secret"]) }
    let path = "\(directory.path)/secret"

    let created = try ServerSecret.loadOrCreate(path: path)
    #expect(fileMode(path) == 0o600)
    let loaded = try ServerSecret.loadOrCreate(path: path)

    let card = try #require(CardNumber("4539148803436467"))
    #expect(KeyedHasher(secret: created).cardDigest(card) == KeyedHasher(secret: loaded).cardDigest(card))
    #expect("\(created)" == "ServerSecret(redacted)")
}

@Test func secretFileHolds64LowercaseHexAndNewline() throws {
    let directory = ScratchDirectory()
    defer { directory.cleanUp(["secret"]) }
    let path = "\(directory.path)/secret"
    _ = try ServerSecret.loadOrCreate(path: path)

    var buffer = [UInt8](repeating: 0, count: 100)
    let fd = open(path, O_RDONLY)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    close(fd)
    let text = String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
    #expect(text.count == 65)
    #expect(text.hasSuffix("\n"))
    #expect(text.dropLast().allSatisfy { "0123456789abcdef".contains($0) })
}

@Test func loadsKnownSecretWithOrWithoutNewline() throws {
    let directory = ScratchDirectory()
    defer { directory.cleanUp(["a", "b"]) }
    let hexKey = String(repeating: "0A", count: 32)
    let withNewline = try ServerSecret.loadOrCreate(path: directory.write("a", hexKey + "\n", mode: 0o600))
    let without = try ServerSecret.loadOrCreate(path: directory.write("b", hexKey.lowercased(), mode: 0o400))

    let card = try #require(CardNumber("4111111111111111"))
    let expected = KeyedHasher(secret: ServerSecret(bytes: [UInt8](repeating: 0x0a, count: 32))).cardDigest(card)
    #expect(KeyedHasher(secret: withNewline).cardDigest(card) == expected)
    #expect(KeyedHasher(secret: without).cardDigest(card) == expected)
}

@Test func refusesSecretReadableByOthers() {
    let directory = ScratchDirectory()
    defer { directory.cleanUp(["secret"]) }
    let path = directory.write("secret", String(repeating: "ab", count: 32) + "\n", mode: 0o644)
    #expect(throws: CryptoError.secretFileInsecure(path: path)) { try ServerSecret.loadOrCreate(path: path) }
}

@Test(arguments: [
    "", "\n", String(repeating: "ab", count: 31), String(repeating: "ab", count: 33),
    String(repeating: "ab", count: 32) + "\n\n", String(repeating: "zz", count: 32),
    " " + String(repeating: "ab", count: 32),
])
func rejectsMalformedSecretContent(_ content: String) {
    let directory = ScratchDirectory()
    defer { directory.cleanUp(["secret"]) }
    let path = directory.write("secret", content, mode: 0o600)
    do {
        _ = try ServerSecret.loadOrCreate(path: path)
        Issue.record("accepted malformed secret")
    } catch let error as CryptoError {
        guard case .secretFileInvalid(let reportedPath, _) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reportedPath == path)
        #expect(error.description.contains(path))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test func reportsMissingDirectoryAsIOError() {
    let path = "/tmp/creditcrypto-no-such-dir-\(getpid())/secret"
    do {
        _ = try ServerSecret.loadOrCreate(path: path)
        Issue.record("created a secret in a missing directory")
    } catch let error as CryptoError {
        #expect(error == .secretFileIO(path: path, operation: "create", errno: ENOENT))
        #expect(error.description.contains(path))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}
