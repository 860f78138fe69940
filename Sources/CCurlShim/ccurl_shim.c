#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include "ccurl_shim.h"

CURLcode ccurl_global_init_all(void) {
    return curl_global_init(CURL_GLOBAL_ALL);
}

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_writefunction(CURL *handle, ccurl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

CURLcode ccurl_easy_setopt_headerfunction(CURL *handle, ccurl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

int ccurl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result) {
    int remaining = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &remaining)) != NULL) {
        if (message->msg == CURLMSG_DONE) {
            *easy = message->easy_handle;
            *result = message->data.result;
            return 1;
        }
    }
    return 0;
}

void ccurl_name_current_thread(const char *name) {
#if defined(__APPLE__)
    pthread_setname_np(name);
#else
    pthread_setname_np(pthread_self(), name);
#endif
}

// MARK: The reactor: what wakes the event loop and how libcurl hears of it.

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long ccurl_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>

// Sockets are watched with epoll and serviced with curl_multi_socket_action, so each turn
// costs O(ready sockets) instead of curl_multi_perform's walk over every transfer. libcurl
// tells us what to watch (CURLMOPT_SOCKETFUNCTION) and when its next timeout is due
// (CURLMOPT_TIMERFUNCTION); the deadline becomes epoll_wait's timeout.
struct ccurl_reactor {
    CURLM *multi;
    int epoll_fd;
    int wake_fd;
    long long deadline_ns;  // -1: no libcurl timer pending
    long long ready_at_ns;  // when the last turn's epoll_wait returned with sockets ready
    int measure_busy;
    long long busy_ns;      // time spent servicing ready sockets, while measure_busy
};

enum { CCURL_REACTOR_MAX_EVENTS = 256 };

// Marks a socket that is already in the epoll set (curl_multi_assign's per-socket pointer).
static char ccurl_registered;

static int ccurl_reactor_socket(CURL *easy, curl_socket_t socket, int what, void *userp, void *socketp) {
    (void)easy;
    ccurl_reactor *reactor = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            epoll_ctl(reactor->epoll_fd, EPOLL_CTL_DEL, socket, NULL);
            curl_multi_assign(reactor->multi, socket, NULL);
        }
        return 0;
    }
    struct epoll_event event = {0};
    event.data.fd = socket;
    event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (socketp) {
        if (epoll_ctl(reactor->epoll_fd, EPOLL_CTL_MOD, socket, &event) == 0) return 0;
        if (errno != ENOENT) return -1;
    }
    if (epoll_ctl(reactor->epoll_fd, EPOLL_CTL_ADD, socket, &event) != 0) return -1;
    curl_multi_assign(reactor->multi, socket, &ccurl_registered);
    return 0;
}

static int ccurl_reactor_timer(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    ccurl_reactor *reactor = userp;
    reactor->deadline_ns = timeout_ms < 0 ? -1 : ccurl_monotonic_ns() + (long long)timeout_ms * 1000000LL;
    return 0;
}

ccurl_reactor *ccurl_reactor_create(CURLM *multi) {
    ccurl_reactor *reactor = calloc(1, sizeof *reactor);
    if (!reactor) return NULL;
    reactor->multi = multi;
    reactor->deadline_ns = -1;
    reactor->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    reactor->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event event = {0};
    event.events = EPOLLIN;
    event.data.fd = reactor->wake_fd;
    if (reactor->epoll_fd < 0 || reactor->wake_fd < 0
        || epoll_ctl(reactor->epoll_fd, EPOLL_CTL_ADD, reactor->wake_fd, &event) != 0) {
        int saved = errno;
        if (reactor->epoll_fd >= 0) close(reactor->epoll_fd);
        if (reactor->wake_fd >= 0) close(reactor->wake_fd);
        free(reactor);
        errno = saved;
        return NULL;
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, ccurl_reactor_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, reactor);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, ccurl_reactor_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, reactor);
    return reactor;
}

void ccurl_reactor_destroy(ccurl_reactor *reactor) {
    if (!reactor) return;
    close(reactor->epoll_fd);
    close(reactor->wake_fd);
    free(reactor);
}

void ccurl_reactor_wakeup(ccurl_reactor *reactor) {
    uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop is woken either way.
    (void)!write(reactor->wake_fd, &one, sizeof one);
}

int ccurl_reactor_turn(ccurl_reactor *reactor, int max_wait_ms, long long min_period_ns) {
    struct epoll_event events[CCURL_REACTOR_MAX_EVENTS];
    int flags = 0;
    if (min_period_ns > 0 && reactor->ready_at_ns > 0) {
        long long now = ccurl_monotonic_ns();
        long long hold = reactor->ready_at_ns + min_period_ns - now;
        // libcurl's timer is never postponed: a request just added (armed at 0 ms), a
        // connect or a timeout is handled on time.
        if (reactor->deadline_ns >= 0 && reactor->deadline_ns - now < hold) hold = reactor->deadline_ns - now;
        if (hold > 0) {
            // Sleep on the wake-up eventfd alone: data piles up in the socket buffers meanwhile,
            // while a new command (a request to start) ends the hold at once.
            struct pollfd wake = {.fd = reactor->wake_fd, .events = POLLIN};
            struct timespec span = {(time_t)(hold / 1000000000LL), (long)(hold % 1000000000LL)};
            (void)ppoll(&wake, 1, &span, NULL);
            // Counted as held only if it really waited (not when a wake-up was already pending).
            if (ccurl_monotonic_ns() - now >= 50000) flags |= CCURL_TURN_HELD;
        }
    }
    int wait_ms = max_wait_ms;
    if (reactor->deadline_ns >= 0) {
        long long left = reactor->deadline_ns - ccurl_monotonic_ns();
        // Round up: waking before the deadline would only spin.
        long long left_ms = left <= 0 ? 0 : (left + 999999) / 1000000;
        if (wait_ms < 0 || left_ms < wait_ms) wait_ms = (int)left_ms;
    }
    int count = epoll_wait(reactor->epoll_fd, events, CCURL_REACTOR_MAX_EVENTS, wait_ms);
    int running = 0;
    int sockets = 0;
    for (int i = 0; i < count; i++) {
        int fd = events[i].data.fd;
        if (fd == reactor->wake_fd) {
            uint64_t value;
            (void)!read(reactor->wake_fd, &value, sizeof value);
            flags |= CCURL_TURN_WOKEN;
            continue;
        }
        if (!sockets++ && (min_period_ns > 0 || reactor->measure_busy)) reactor->ready_at_ns = ccurl_monotonic_ns();
        uint32_t ready = events[i].events;
        int what = ((ready & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((ready & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                   | ((ready & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(reactor->multi, fd, what, &running);
    }
    if (reactor->deadline_ns >= 0 && ccurl_monotonic_ns() >= reactor->deadline_ns) {
        // Cleared first: the action may set the next timer.
        reactor->deadline_ns = -1;
        curl_multi_socket_action(reactor->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (sockets && reactor->measure_busy) reactor->busy_ns += ccurl_monotonic_ns() - reactor->ready_at_ns;
    if (count <= 0) reactor->ready_at_ns = 0;  // idle: the next data is read on arrival
    if (!sockets && !(flags & CCURL_TURN_WOKEN)) flags |= CCURL_TURN_IDLE;
    return flags;
}

void ccurl_reactor_measure_busy(ccurl_reactor *reactor, int on) { reactor->measure_busy = on; }

long long ccurl_reactor_busy_ns(const ccurl_reactor *reactor) { return reactor->busy_ns; }

#else

// Elsewhere (macOS) the multi handle's own poll loop does the job, a little less cheaply.
struct ccurl_reactor {
    CURLM *multi;
};

ccurl_reactor *ccurl_reactor_create(CURLM *multi) {
    ccurl_reactor *reactor = calloc(1, sizeof *reactor);
    if (reactor) reactor->multi = multi;
    return reactor;
}

void ccurl_reactor_destroy(ccurl_reactor *reactor) { free(reactor); }

void ccurl_reactor_measure_busy(ccurl_reactor *reactor, int on) { (void)reactor; (void)on; }

long long ccurl_reactor_busy_ns(const ccurl_reactor *reactor) { (void)reactor; return 0; }

void ccurl_reactor_wakeup(ccurl_reactor *reactor) { curl_multi_wakeup(reactor->multi); }

int ccurl_reactor_turn(ccurl_reactor *reactor, int max_wait_ms, long long min_period_ns) {
    (void)min_period_ns;  // no batching on this path
    int running = 0;
    curl_multi_perform(reactor->multi, &running);
    curl_multi_poll(reactor->multi, NULL, 0, max_wait_ms < 0 ? 5000 : max_wait_ms, NULL);
    curl_multi_perform(reactor->multi, &running);
    // curl_multi_poll does not say whether it was woken; commands are checked every turn.
    return CCURL_TURN_WOKEN;
}

#endif
