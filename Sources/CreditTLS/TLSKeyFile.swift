// TLSKeyFile: the checks a certificate or private key file passes before OpenSSL reads it.

import Glibc

/// Checks on the files a TLS context loads, so that start-up fails with a message naming the
/// file and the problem instead of an OpenSSL error code.
///
/// The private key's permissions are judged less strictly than the server secret's (which is
/// refused if group or others have any access): a key others could *write* is refused, since
/// anyone could swap in their own; a key others can *read* only draws a warning. Two reasons:
/// Debian's convention gives keys to the `ssl-cert` group (mode 0640), and git keeps no modes,
/// so the committed development key is 0644 in a fresh clone and `swift run creditd` must start.
public enum TLSKeyFile {
    /// Throws unless `path` names a regular file this process can open for reading.
    /// `role` is the config key, for the message (`tls_cert`, `tls_key`, `tls_client_ca`).
    public static func requireReadable(_ path: String, role: String) throws(TLSError) {
        _ = try status(path, role: role)
    }

    /// Checks the private key file: readable, a regular file, not writable by group or others.
    /// Returns a warning to log when others can read it, nil otherwise.
    public static func checkPrivateKey(_ path: String, role: String = "tls_key") throws(TLSError) -> String? {
        let mode = try status(path, role: role)
        if mode & 0o022 != 0 {
            throw TLSError("\(role) \(path) is writable by group or others; chmod go-w it (0600 or 0640)")
        }
        if mode & 0o004 != 0 {
            return "\(role) \(path) is readable by others; outside development chmod it to 0600 (or 0640 for a key group)"
        }
        return nil
    }

    /// The file's mode, after opening it for reading (which is what proves it readable).
    private static func status(_ path: String, role: String) throws(TLSError) -> mode_t {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSError("cannot read \(role) \(path): \(systemErrorText(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TLSError("cannot stat \(role) \(path): \(systemErrorText(errno))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw TLSError("\(role) \(path) is not a regular file") }
        return info.st_mode
    }
}
