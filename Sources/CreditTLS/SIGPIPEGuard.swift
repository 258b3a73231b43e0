// SIGPIPEGuard: keeps a TLS client's writes to a closed socket from killing the process.

import Glibc

/// OpenSSL writes to its socket with `write(2)`, which raises SIGPIPE when the peer has gone;
/// by default that kills the process. A library must not change the process's signal handling,
/// so a client session blocks SIGPIPE on its own thread around each OpenSSL call and discards
/// the one the call raised (the call itself then fails with EPIPE, which is reported). This is
/// what libpq does. The daemon ignores SIGPIPE process-wide, so server sessions skip it.
enum SIGPIPEGuard {
    /// Runs `body` with SIGPIPE blocked on this thread, then drops a SIGPIPE it raised.
    static func run<T>(_ body: () -> T) -> T {
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        var previous = sigset_t()
        let wasPending = isPending()
        pthread_sigmask(SIG_BLOCK, &pipeOnly, &previous)
        let result = body()
        let callErrno = errno  // the caller reads it (SSL_ERROR_SYSCALL); keep it intact
        defer { errno = callErrno }
        if !wasPending && isPending() {
            var now = timespec(tv_sec: 0, tv_nsec: 0)
            while sigtimedwait(&pipeOnly, nil, &now) < 0 && errno == EINTR {}
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        return result
    }

    private static func isPending() -> Bool {
        var pending = sigset_t()
        sigpending(&pending)
        return sigismember(&pending, SIGPIPE) == 1
    }
}
