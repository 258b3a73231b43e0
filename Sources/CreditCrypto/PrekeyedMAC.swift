// PrekeyedMAC: HMAC-SHA256 under one fixed key, with the key schedule done once, not per call.

import CLibCrypto
import CreditCore
import Synchronization

/// HMAC-SHA256 under a key fixed at creation.
///
/// OpenSSL's one-shot `HMAC()` looks up the algorithm, builds a context and hashes the padded key
/// on every call; on the request path that cost more than the rest of a HOLD. This type keys an
/// `EVP_MAC_CTX` once and re-initialises it with a NULL key per message, which OpenSSL documents
/// as reusing the key already set, so a MAC costs only the message and finalisation blocks.
/// The context is mutable, so it lives behind a `Mutex`: uncontended (the engine thread is the
/// only hot caller) the lock is a single atomic operation.
public final class PrekeyedMAC: Sendable {
    /// Largest message `mac(_:_:_:)` accepts in one piece: card digits, PINs, claim codes and
    /// request fingerprints are all far shorter; longer inputs are a programming error.
    public static let partBytesMax = 4096

    private let context: Mutex<ContextBox>

    /// A MAC keyed by `key` (any length; HMAC hashes keys longer than a block).
    public init(key: [UInt8]) {
        guard let algorithm = EVP_MAC_fetch(nil, "HMAC", nil) else {
            fatalError("creditd: OpenSSL has no HMAC implementation available")
        }
        defer { EVP_MAC_free(algorithm) }
        guard let ctx = EVP_MAC_CTX_new(algorithm) else { fatalError("creditd: EVP_MAC_CTX_new failed") }
        let ok = "SHA256".withCString { digestName in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: digestName), 0),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBufferPointer { keyBuffer in
                EVP_MAC_init(ctx, keyBuffer.baseAddress, keyBuffer.count, &params)
            }
        }
        precondition(ok == 1, "OpenSSL HMAC-SHA256 key set-up failed")
        context = Mutex(ContextBox(ctx))
    }

    /// HMAC of the message that `write` feeds, piece by piece, to the `MACInput` it is given.
    ///
    /// Feeding pieces lets callers hash "domain NUL digits NUL PIN" without first building the
    /// message in a fresh array.
    public func mac(_ write: (inout MACInput) -> Void) -> Digest32 {
        context.withLock { box in
            var input = MACInput(ctx: box.ctx, ok: EVP_MAC_init(box.ctx, nil, 0, nil) == 1)
            write(&input)
            var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var written = 0
            let finished = withUnsafeMutableBytes(of: &out) { raw in
                EVP_MAC_final(box.ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, raw.count)
            }
            precondition(input.ok && finished == 1 && written == Digest32.byteCount, "OpenSSL HMAC-SHA256 failed")
            return Digest32(w0: UInt64(bigEndian: out.0), w1: UInt64(bigEndian: out.1),
                            w2: UInt64(bigEndian: out.2), w3: UInt64(bigEndian: out.3))
        }
    }

    deinit {
        context.withLock { box in EVP_MAC_CTX_free(box.ctx) }
    }
}

/// The OpenSSL context a `PrekeyedMAC` owns. It is only ever touched with the owning mutex held,
/// which is what makes handing it to the `Mutex` sound.
struct ContextBox: ~Copyable, @unchecked Sendable {
    let ctx: OpaquePointer
    init(_ ctx: OpaquePointer) { self.ctx = ctx }
}

/// The message side of one `PrekeyedMAC.mac` call: each `append` feeds more bytes to the MAC.
public struct MACInput: ~Copyable {
    fileprivate let ctx: OpaquePointer
    fileprivate var ok: Bool

    fileprivate init(ctx: OpaquePointer, ok: Bool) {
        self.ctx = ctx
        self.ok = ok
    }

    /// Feeds `bytes` to the MAC.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(bytes.count <= PrekeyedMAC.partBytesMax, "MAC input part too long")
        ok = ok && EVP_MAC_update(ctx, base.assumingMemoryBound(to: UInt8.self), bytes.count) == 1
    }

    /// Feeds the UTF-8 bytes of `text`.
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Feeds one byte (a separator).
    public mutating func append(byte: UInt8) {
        withUnsafeBytes(of: byte) { append($0) }
    }
}
