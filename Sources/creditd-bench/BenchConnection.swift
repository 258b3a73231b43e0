// BenchConnection: a blocking, buffered line-protocol connection for the load generator.

import Glibc

/// One TCP connection to creditd: writes request batches, reads reply lines. Blocking I/O on its
/// own thread keeps the load generator simple and its overhead per request small.
final class BenchConnection {
    /// The socket, handed to a driver after setup.
    let fd: Int32
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0

    init(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw BenchError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw BenchError("cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Writes all bytes.
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw BenchError("send failed: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// Reads the final line of one reply (skipping `* ` item lines).
    func readFinalLine() throws -> String {
        while true {
            let line = try readLine()
            if !line.hasPrefix("* ") { return line }
        }
    }

    private func readLine() throws -> String {
        while true {
            if let newline = input[start..<end].firstIndex(of: 10) {
                let line = String(decoding: input[start..<newline], as: UTF8.self)
                start = newline + 1
                return line
            }
            if start > 0 {
                input.replaceSubrange(0..<(end - start), with: input[start..<end])
                end -= start
                start = 0
            }
            if end == input.count { input += [UInt8](repeating: 0, count: input.count) }
            let count = input.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, $0.count - end, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchError("connection closed by creditd") }
            end += count
        }
    }
}

/// A load-generator failure with a message.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The value of `key=` in a reply line.
func field(_ key: String, in line: String) -> String? {
    for token in line.split(separator: " ") where token.hasPrefix(key + "=") {
        return String(token.dropFirst(key.count + 1))
    }
    return nil
}

/// Microseconds on the monotonic clock.
func monotonicMicros() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
}
