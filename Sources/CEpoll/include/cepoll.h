// cepoll: the Linux event and socket calls Swift's Glibc module does not expose, wrapped once.
#ifndef CEPOLL_H
#define CEPOLL_H

#include <stdint.h>

/// Event bits, re-exported as plain constants (the epoll macros are enums Swift imports badly).
extern const uint32_t cepoll_in;
extern const uint32_t cepoll_out;
extern const uint32_t cepoll_err;
extern const uint32_t cepoll_hup;
extern const uint32_t cepoll_rdhup;

/// One ready event: which file descriptor, which bits.
typedef struct {
    int32_t fd;
    uint32_t events;
} cepoll_event;

/// epoll_create1(EPOLL_CLOEXEC). Returns the fd or -1 with errno.
int cepoll_create(void);
/// Adds (op 0), modifies (op 1) or deletes (op 2) interest in fd. Returns 0 or -1 with errno.
int cepoll_ctl(int epfd, int op, int fd, uint32_t events);
/// Waits up to timeout_ms; fills out[0..n) and returns n, or -1 with errno.
int cepoll_wait(int epfd, cepoll_event *out, int max_events, int timeout_ms);
/// As cepoll_wait, but waits up to timeout_us microseconds (epoll_pwait2; where the kernel or a
/// seccomp filter refuses it, epoll_wait with the wait rounded up to whole milliseconds). A
/// negative timeout returns at once, unlike cepoll_wait's, which waits for ever.
int cepoll_wait_micros(int epfd, cepoll_event *out, int max_events, int64_t timeout_us);
/// Sets the calling thread's timer slack (how late Linux may fire its timers, 50 µs by default),
/// so that short waits end when asked. Returns 0, or -1 with errno.
int cepoll_set_timer_slack(unsigned long nanoseconds);
/// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; writes the peer's printable address to peer (size peer_len).
int cepoll_accept(int listen_fd, char *peer, int peer_len);
/// eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC).
int cepoll_eventfd(void);
/// Creates a non-blocking listening TCP socket bound to host:port (port 0 picks one).
/// Returns the fd or -1 with errno; *bound_port receives the port actually bound.
int cepoll_listen(const char *host, int port, int backlog, int *bound_port);
/// Sets TCP_NODELAY on a connected socket.
int cepoll_nodelay(int fd);
/// malloc_trim(0): returns the heap's free memory to the kernel (malloc.h is not in Glibc's
/// module either). Returns 1 if memory was released, 0 if not.
int cepoll_malloc_trim(void);
/// Lowers the calling thread's scheduling priority: adds `by` to its nice value (Linux keeps one
/// per thread), up to 19. Returns 0, or -1 with errno.
int cepoll_lower_thread_priority(int by);
/// Pins the calling thread to one CPU (its own affinity; threads it starts later inherit it).
/// Returns 0, or an errno value (EINVAL for a CPU this machine or the process's CPU set lacks).
int cepoll_pin_thread(int cpu);
/// Gives the calling thread the main thread's CPUs (undoing a pin it inherited). Returns 0, or
/// an errno value.
int cepoll_unpin_thread(void);
/// 1 if the calling thread may run on `cpu` (it exists and the CPU set allows it), 0 if not,
/// -1 with errno if the set cannot be read.
int cepoll_cpu_allowed(int cpu);



/// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread (call before starting any thread, so
/// every thread inherits the mask), ignores SIGPIPE, and returns a non-blocking signalfd that
/// reports those three signals, or -1 with errno.
int cepoll_signalfd(void);
/// Reads one pending signal from a signalfd: its number, 0 if none, -1 on error.
int cepoll_read_signal(int fd);
#endif
