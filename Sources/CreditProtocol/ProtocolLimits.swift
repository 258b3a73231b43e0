// The wire protocol's size limits, each a named constant with the reason for its value.

/// Limits of the line protocol that both the framer and the parser enforce.
///
/// Every number here is part of the wire contract: clients may rely on requests up to these
/// sizes being accepted, and the daemon relies on nothing larger ever being buffered or parsed.
public enum ProtocolLimits {
    /// Longest request line in bytes, counting a CR (if sent) and the LF.
    ///
    /// Why 1024: the largest legitimate request (a few dozen short arguments, one 256-byte quoted
    /// note) fits with room to spare, and it bounds per-connection buffering to about 1 KiB
    /// of unfinished line, so 10k idle connections cost ~10 MiB at worst.
    public static let lineBytesMax = 1024

    /// Most tokens on one line, counting the tag and the verb.
    ///
    /// Why 32: no verb needs more than a dozen arguments; a hard cap keeps argument lookup a
    /// short linear scan and duplicate detection trivially cheap.
    public static let tokensMax = 32

    /// Longest argument value in bytes, after quotes are removed and escapes decoded.
    ///
    /// Why 256: the longest value we carry is a free-text note or memo; card numbers, PINs,
    /// amounts and ids are far shorter.
    public static let valueBytesMax = 256

    /// Longest request tag in bytes, not counting the `#`.
    ///
    /// Why 32: enough for a UUID without dashes or a terminal id plus a sequence number, short
    /// enough that echoing it on every final reply line costs little.
    public static let tagBytesMax = 32

    /// Longest argument key in bytes.
    ///
    /// Why 32: keys are fixed names from the command table (`amount`, `hold_id`); 32 leaves
    /// room for descriptive names and rejects garbage early.
    public static let keyBytesMax = 32

    /// Longest human message on an `ERR` line, in bytes after sanitising.
    ///
    /// Why 512: with a tag (33 bytes) and an error code, an `ERR` line still fits the 1024-byte
    /// line buffer a client uses for our requests, so a client can read replies with the same
    /// framer it writes requests with.
    public static let errorMessageBytesMax = 512
}
