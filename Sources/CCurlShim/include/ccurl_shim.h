#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

// Typed entry points for the parts of libcurl that Swift cannot call:
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadics,
// and CURL_GLOBAL_ALL is a macro expression. Everything else in libcurl is
// imported as is through this header.

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The shape of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t nmemb, void *userdata);

/// curl_global_init(CURL_GLOBAL_ALL).
CURLcode ccurl_global_init_all(void);

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccurl_easy_setopt_writefunction(CURL *handle, ccurl_data_callback callback);
CURLcode ccurl_easy_setopt_headerfunction(CURL *handle, ccurl_data_callback callback);

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/// Reads the next message from curl_multi_info_read. Returns 1 and fills
/// `easy` and `result` when it was a CURLMSG_DONE message, 0 when the queue is
/// empty. Other message kinds (none exist today) are skipped. Saves Swift from
/// reaching into the anonymous union of CURLMsg.
int ccurl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result);

/// Names the calling thread (shown by top -H, gdb, perf), for the event-loop
/// thread. pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc lacks.
void ccurl_name_current_thread(const char *name);

/// What drives one multi handle on its event-loop thread. On Linux: epoll over the sockets
/// libcurl names (CURLMOPT_SOCKETFUNCTION), curl_multi_socket_action for the ready ones,
/// libcurl's timer (CURLMOPT_TIMERFUNCTION) as epoll_wait's timeout, and an eventfd that other
/// threads write to wake the loop. Elsewhere: curl_multi_perform and curl_multi_poll.
typedef struct ccurl_reactor ccurl_reactor;

/// Creates a reactor for `multi` and installs its callbacks. NULL on failure (errno says why).
/// Destroy it only after curl_multi_cleanup, which may still report sockets to it.
ccurl_reactor *ccurl_reactor_create(CURLM *multi);
void ccurl_reactor_destroy(ccurl_reactor *reactor);

/// Wakes the loop thread out of ccurl_reactor_turn. Safe from any thread.
void ccurl_reactor_wakeup(ccurl_reactor *reactor);

enum {
    /// ccurl_reactor_wakeup was called since the last turn (or may have been).
    CCURL_TURN_WOKEN = 1,
    /// The turn first held off reading to batch (see `min_period_ns`).
    CCURL_TURN_HELD = 2,
    /// No socket was ready and nobody woke the loop: a timer or the wait ran out.
    CCURL_TURN_IDLE = 4,
};

/// One turn of the loop, on the loop thread only: waits until a socket is ready, libcurl's
/// timer is due, the reactor is woken, or `max_wait_ms` passes (-1: no limit besides libcurl's
/// timer), then lets libcurl service what is ready (which runs the transfers' callbacks).
///
/// `min_period_ns` > 0 batches reads: the turn starts reading no sooner than that long after the
/// previous turn's sockets became ready, so each read collects what arrived meanwhile. A wake-up
/// cuts the hold short and libcurl's timer caps it, so commands and new requests are not
/// delayed (their responses are read in the batches). 0 reads as soon as a socket is ready.
/// Returns CCURL_TURN_* flags.
int ccurl_reactor_turn(ccurl_reactor *reactor, int max_wait_ms, long long min_period_ns);

/// Starts (1) or stops (0) adding up the time turns spend servicing ready sockets.
void ccurl_reactor_measure_busy(ccurl_reactor *reactor, int on);

/// Nanoseconds spent servicing ready sockets since measuring started (monotonic clock, wall time).
long long ccurl_reactor_busy_ns(const ccurl_reactor *reactor);

#ifdef __cplusplus
}
#endif

#endif
