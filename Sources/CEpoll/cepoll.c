// cepoll: thin wrappers over epoll, eventfd, accept4, listening-socket setup, malloc_trim, thread priority and CPU pinning.
#define _GNU_SOURCE
#include "cepoll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const uint32_t cepoll_in = EPOLLIN;
const uint32_t cepoll_out = EPOLLOUT;
const uint32_t cepoll_err = EPOLLERR;
const uint32_t cepoll_hup = EPOLLHUP;
const uint32_t cepoll_rdhup = EPOLLRDHUP;

int cepoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cepoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.fd = fd;
    int ops[3] = {EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL};
    if (op < 0 || op > 2) { errno = EINVAL; return -1; }
    return epoll_ctl(epfd, ops[op], fd, &ev);
}

int cepoll_wait(int epfd, cepoll_event *out, int max_events, int timeout_ms) {
    struct epoll_event events[256];
    if (max_events > 256) max_events = 256;
    int n = epoll_wait(epfd, events, max_events, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].fd = events[i].data.fd;
        out[i].events = events[i].events;
    }
    return n;
}

/// Set once epoll_pwait2 has failed for a reason other than EINTR (an old kernel, or a seccomp
/// filter that refuses unknown calls with EPERM): later waits go straight to epoll_wait.
static atomic_int pwait2_unavailable = 0;

int cepoll_wait_micros(int epfd, cepoll_event *out, int max_events, int64_t timeout_us) {
    struct epoll_event events[256];
    if (max_events > 256) max_events = 256;
    if (timeout_us < 0) timeout_us = 0;
    int n = -1;
#ifdef SYS_epoll_pwait2
    if (!atomic_load_explicit(&pwait2_unavailable, memory_order_relaxed)) {
        // Called through syscall(): glibc has a wrapper only from 2.35. The kernel's timespec
        // has 64-bit fields on every architecture.
        struct { int64_t tv_sec; int64_t tv_nsec; } timeout = { timeout_us / 1000000, (timeout_us % 1000000) * 1000 };
        n = (int)syscall(SYS_epoll_pwait2, epfd, events, max_events, &timeout, NULL, (size_t)0);
        if (n < 0 && errno != EINTR) atomic_store_explicit(&pwait2_unavailable, 1, memory_order_relaxed);
    }
#else
    atomic_store_explicit(&pwait2_unavailable, 1, memory_order_relaxed);
#endif
    if (atomic_load_explicit(&pwait2_unavailable, memory_order_relaxed)) {
        n = epoll_wait(epfd, events, max_events, (int)((timeout_us + 999) / 1000));
    }
    for (int i = 0; i < n; i++) {
        out[i].fd = events[i].data.fd;
        out[i].events = events[i].events;
    }
    return n;
}

int cepoll_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}

int cepoll_accept(int listen_fd, char *peer, int peer_len) {
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int fd = accept4(listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 || peer == NULL || peer_len <= 0) return fd;
    peer[0] = 0;
    if (addr.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, peer, (socklen_t)peer_len);
    } else if (addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, peer, (socklen_t)peer_len);
    }
    return fd;
}

int cepoll_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cepoll_malloc_trim(void) { return malloc_trim(0); }

int cepoll_lower_thread_priority(int by) {
    id_t thread = (id_t)syscall(SYS_gettid);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, thread);  // -1 is a valid nice value: errno tells
    if (nice == -1 && errno != 0) return -1;
    nice += by;
    return setpriority(PRIO_PROCESS, thread, nice > 19 ? 19 : nice);
}

int cepoll_pin_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int cepoll_unpin_thread(void) {
    cpu_set_t set;
    if (sched_getaffinity(getpid(), sizeof set, &set) != 0) return errno;
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int cepoll_cpu_allowed(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_ISSET(cpu, &set) ? 1 : 0;
}

int cepoll_listen(const char *host, int port, int backlog, int *bound_port) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    char portText[16];
    snprintf(portText, sizeof portText, "%d", port);
    int rc = getaddrinfo(host, portText, &hints, &res);
    if (rc != 0 || res == NULL) { errno = EADDRNOTAVAIL; return -1; }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { freeaddrinfo(res); return -1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        freeaddrinfo(res);
        errno = saved;
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 && bound_port != NULL) {
        *bound_port = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                                 : ntohs(((struct sockaddr_in *)&addr)->sin_port);
    }
    return fd;
}

int cepoll_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

int cepoll_signalfd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cepoll_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n < 0 && errno == EAGAIN) return 0;
    return -1;
}
