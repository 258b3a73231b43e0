// shim.h: the slice of OpenSSL's libssl that CreditTLS uses, with the macros it needs turned
// into functions (Swift cannot call function-like macros).
#ifndef CREDITD_CLIBSSL_SHIM_H
#define CREDITD_CLIBSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/// The lowest protocol version a context accepts (TLS1_2_VERSION and up).
static inline int cssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

/// The highest protocol version a context offers (tests use it to play an old client).
static inline int cssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

/// Non-blocking writes: return after each record, and allow the retry buffer to move (a Swift
/// array may be reallocated between a WANT_WRITE and its retry; its bytes stay the same).
static inline void cssl_ctx_set_nonblocking_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

/// No renegotiation (a TLS 1.2 DoS vector the line protocol never needs), and a peer's TCP
/// close without close_notify reads as end of input, as it does on the plaintext port.
static inline void cssl_ctx_set_server_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF
                        | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
}

/// The client side's options: no renegotiation, no compression.
static inline void cssl_ctx_set_client_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/// Server Name Indication for a host name (never for an address literal).
static inline int cssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// Verify the server certificate's SAN against an IP address literal.
static inline int cssl_set1_ip(SSL *ssl, const char *address) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address);
}

/// The oldest error on this thread's OpenSSL error queue (the root cause) as text, "" if none;
/// empties the queue so the next call starts clean.
static inline void cssl_take_error(char *out, size_t out_len) {
    unsigned long first = ERR_get_error();
    while (ERR_get_error() != 0) {}
    if (out_len == 0) return;
    out[0] = 0;
    if (first != 0) ERR_error_string_n(first, out, out_len);
}

#endif
