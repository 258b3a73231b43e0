// TLSProtocolVersion: the TLS versions a context may be limited to, as a type instead of a raw int.

import CLibSSL

/// A TLS protocol version. The daemon accepts 1.2 and 1.3 only; 1.1 exists here so that tests
/// can play an old client and see it refused.
public enum TLSProtocolVersion: Sendable, CaseIterable {
    /// TLS 1.1: refused by the daemon (a test client's version).
    case tls1_1
    /// TLS 1.2: the lowest version the daemon accepts.
    case tls1_2
    /// TLS 1.3.
    case tls1_3

    /// OpenSSL's number for the version.
    var openSSLValue: Int32 {
        switch self {
        case .tls1_1: return TLS1_1_VERSION
        case .tls1_2: return TLS1_2_VERSION
        case .tls1_3: return TLS1_3_VERSION
        }
    }
}
