// A fake TGI-style OpenAI chat server in C that streams as fast as one core can write.
//
// The overhead benchmark asks how many tokens a client can ingest on one core. The Python fake
// server (fake_tgi_server.py) tops out near 120k tokens/s on this 2-core machine, below what
// LoadBench can read, so against it the benchmark measures the server, not the client. This server
// writes the same bytes as fake_tgi_server.py's unpaced path (HTTP/1.1 keep-alive, chunked
// transfer, one `data:{chat.completion.chunk}` event per write, the optional usage chunk,
// `data:[DONE]`), round-robin over every open stream like a batching LLM server emitting one token
// per stream per step. A stream whose socket is full waits for EPOLLOUT, so a slow client gets its
// events batched in the socket buffer, as it would from a real server.
//
//   cc -O2 -o firehose_server firehose_server.c
//   firehose_server [--port N] [--events-per-write N] [--eventstream]   (prints "LISTENING <port>")
//
// Only POST /v1/chat/completions with "stream": true is served (max_tokens tokens, default 16);
// anything else gets 404. No timing schedule, no faults, no log: use fake_tgi_server.py for those.
//
// --eventstream serves SageMaker's InvokeEndpointWithResponseStream instead
// (POST /endpoints/<name>/invocations-response-stream, signature not checked: this is a load
// source): the same SSE events, each the payload of one AWS event-stream PayloadPart message
// (prelude CRC, `:event-type` PayloadPart, `:content-type` application/octet-stream,
// `:message-type` event, message CRC) in its own HTTP chunk, under
// `Content-Type: application/vnd.amazon.eventstream`. A request's sixteen token frames are built
// once when it starts (only the last token's differs), so framing costs the server a copy.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *WORDS[] = {" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog",
                              " and", " sings", " of", " summer", " days", " in", " gentle", " rhyme"};
enum { NWORDS = 16, INCAP = 1 << 16 };

typedef struct {
    char *data;
    size_t len, cap, off;
} Buf;

static void buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) { perror("realloc"); exit(2); }
    b->cap = cap;
}

static void buf_append(Buf *b, const char *p, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

// Appends one SSE event `data:<json>\n\n` framed as an HTTP chunk.
static void append_event(Buf *b, const char *json, size_t n) {
    char size[32];
    int k = snprintf(size, sizeof size, "%zx\r\n", n + 7);
    buf_append(b, size, (size_t)k);
    buf_append(b, "data:", 5);
    buf_append(b, json, n);
    buf_append(b, "\n\n\r\n", 4);
}

typedef struct Conn {
    int fd;
    char in[INCAP];
    size_t inlen;
    Buf out;
    int streaming;        // a response is being streamed
    int blocked;          // the socket was full; wait for EPOLLOUT
    long remaining, seq, tokens;
    int usage;
    long prompt_tokens;
    char rid[128];
    char head[512];       // the chunk JSON before the content string
    size_t headlen;
    Buf frames;           // --eventstream: each word's token message, HTTP chunk and all
    size_t frame_off[NWORDS + 1];
    struct Conn *next_active, *prev_active;
    int in_active;
} Conn;

static int epfd;
static Conn *active_head;
static int events_per_write = 1;
static int eventstream;

// CRC-32 (the zlib polynomial), the checksum event-stream frames carry over their prelude and
// over the whole message.
static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

// Appends one string header (type 7): name length u8, name, 7, value length u16, value.
static size_t put_header(unsigned char *p, const char *name, const char *value) {
    size_t n = strlen(name), v = strlen(value), k = 0;
    p[k++] = (unsigned char)n;
    memcpy(p + k, name, n); k += n;
    p[k++] = 7;
    p[k++] = (unsigned char)(v >> 8); p[k++] = (unsigned char)v;
    memcpy(p + k, value, v); k += v;
    return k;
}

// Appends the SSE event `data:<json>\n\n` as one PayloadPart message in one HTTP chunk.
static void append_frame(Buf *b, const char *json, size_t n) {
    unsigned char headers[128];
    size_t hl = put_header(headers, ":event-type", "PayloadPart");
    hl += put_header(headers + hl, ":content-type", "application/octet-stream");
    hl += put_header(headers + hl, ":message-type", "event");
    size_t payload = n + 7, total = 12 + hl + payload + 4;
    char size[32];
    int k = snprintf(size, sizeof size, "%zx\r\n", total);
    buf_append(b, size, (size_t)k);
    buf_reserve(b, total + 2);
    unsigned char *m = (unsigned char *)b->data + b->len;
    put_be32(m, (uint32_t)total);
    put_be32(m + 4, (uint32_t)hl);
    put_be32(m + 8, crc32(m, 8));
    memcpy(m + 12, headers, hl);
    memcpy(m + 12 + hl, "data:", 5);
    memcpy(m + 12 + hl + 5, json, n);
    memcpy(m + 12 + hl + 5 + n, "\n\n", 2);
    put_be32(m + total - 4, crc32(m, total - 4));
    memcpy(m + total, "\r\n", 2);
    b->len += total + 2;
}

// One event in the stream's framing: an SSE event in an HTTP chunk, or that in a PayloadPart.
static void append_message(Buf *b, const char *json, size_t n) {
    if (eventstream) append_frame(b, json, n); else append_event(b, json, n);
}

static void active_add(Conn *c) {
    if (c->in_active) return;
    c->in_active = 1;
    c->prev_active = NULL;
    c->next_active = active_head;
    if (active_head) active_head->prev_active = c;
    active_head = c;
}

static void active_remove(Conn *c) {
    if (!c->in_active) return;
    c->in_active = 0;
    if (c->prev_active) c->prev_active->next_active = c->next_active; else active_head = c->next_active;
    if (c->next_active) c->next_active->prev_active = c->prev_active;
}

static void conn_close(Conn *c) {
    active_remove(c);
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out.data);
    free(c->frames.data);
    free(c);
}

static void watch(Conn *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

// Writes what is buffered; returns -1 when the connection broke, 0 when the socket is full, 1 when done.
static int flush_out(Conn *c) {
    while (c->out.off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out.off, c->out.len - c->out.off);
        if (n > 0) { c->out.off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->blocked) { c->blocked = 1; watch(c, EPOLLIN | EPOLLOUT); }
            return 0;
        }
        return -1;
    }
    c->out.len = c->out.off = 0;
    if (c->blocked) { c->blocked = 0; watch(c, EPOLLIN); }
    return 1;
}

static long json_long(const char *body, const char *key, long fallback) {
    const char *p = strstr(body, key);
    if (!p) return fallback;
    p = strchr(p + strlen(key), ':');
    return p ? strtol(p + 1, NULL, 10) : fallback;
}

static void copy_header(const char *head, const char *name, char *out, size_t cap) {
    out[0] = 0;
    const char *p = strcasestr(head, name);
    if (!p) return;
    p += strlen(name);
    while (*p == ' ') p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

// Starts the response to the complete request at c->in (head and body); returns bytes consumed,
// 0 when the request is not complete yet.
static size_t start_request(Conn *c) {
    c->in[c->inlen] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) return 0;
    size_t headlen = (size_t)(end - c->in) + 4;
    char length[32];
    copy_header(c->in, "\ncontent-length:", length, sizeof length);
    size_t bodylen = (size_t)strtoul(length, NULL, 10);
    if (bodylen > INCAP) bodylen = INCAP;  // never completes: the connection is closed when its buffer fills
    if (c->inlen < headlen + bodylen) return 0;
    char saved = c->in[headlen + bodylen];
    c->in[headlen + bodylen] = 0;
    const char *body = c->in + headlen;
    int chat;
    if (eventstream) {
        const char *eol = strstr(c->in, "\r\n");
        const char *route = strstr(c->in, "/invocations-response-stream ");
        chat = strncmp(c->in, "POST /endpoints/", 16) == 0 && route && route < eol;
    } else {
        chat = strncmp(c->in, "POST /v1/chat/completions ", 26) == 0 && strstr(body, "\"stream\"") != NULL;
    }
    if (!chat) {
        static const char notfound[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                                       "Content-Length: 21\r\n\r\n{\"error\":\"not found\"}";
        buf_append(&c->out, notfound, sizeof notfound - 1);
    } else {
        char *rid = c->rid;
        copy_header(c->in, eventstream ? "\nx-amzn-sagemaker-inference-id:" : "\nx-request-id:", rid, sizeof c->rid);
        if (!rid[0]) snprintf(rid, sizeof c->rid, "srv-%d", c->fd);
        c->tokens = c->remaining = json_long(body, "\"max_tokens\"", 16);
        if (c->remaining <= 0) c->tokens = c->remaining = 16;
        c->usage = strstr(body, "\"include_usage\":true") || strstr(body, "\"include_usage\": true");
        c->prompt_tokens = 16;
        c->seq = 0;
        c->headlen = (size_t)snprintf(c->head, sizeof c->head,
                                      "{\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":%ld,"
                                      "\"model\":\"fake/tgi-model\",\"system_fingerprint\":\"fake\",\"choices\":[{\"index\":0,"
                                      "\"delta\":{\"role\":\"assistant\",\"content\":",
                                      rid, (long)time(NULL));
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n";
        static const char ok_eventstream[] = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
                                             "X-Amzn-SageMaker-Content-Type: text/event-stream\r\n"
                                             "x-Amzn-Invoked-Production-Variant: AllTraffic\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n";
        if (eventstream) {
            buf_append(&c->out, ok_eventstream, sizeof ok_eventstream - 1);
            c->frames.len = 0;
            for (int w = 0; w < NWORDS; w++) {
                char json[768];
                int n = snprintf(json, sizeof json, "%.*s\"%s\"},\"logprobs\":null,\"finish_reason\":null}]}",
                                 (int)c->headlen, c->head, WORDS[w]);
                c->frame_off[w] = c->frames.len;
                append_frame(&c->frames, json, (size_t)n);
            }
            c->frame_off[NWORDS] = c->frames.len;
        } else {
            buf_append(&c->out, ok, sizeof ok - 1);
        }
        c->streaming = 1;
        active_add(c);
    }
    c->in[headlen + bodylen] = saved;
    return headlen + bodylen;
}

// Appends the next token event (and the tail after the last one) to c->out.
static void next_event(Conn *c) {
    char json[768];
    int last = c->remaining == 1;
    int n;
    if (eventstream && !last) {
        size_t w = (size_t)(c->seq % NWORDS);
        buf_append(&c->out, c->frames.data + c->frame_off[w], c->frame_off[w + 1] - c->frame_off[w]);
    } else {
        n = snprintf(json, sizeof json, "%.*s\"%s\"},\"logprobs\":null,\"finish_reason\":%s}]}", (int)c->headlen,
                     c->head, WORDS[c->seq % NWORDS], last ? "\"length\"" : "null");
        append_message(&c->out, json, (size_t)n);
    }
    c->seq++;
    c->remaining--;
    if (!last) return;
    if (c->usage) {
        n = snprintf(json, sizeof json,
                     "{\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":%ld,\"model\":\"fake/tgi-model\","
                     "\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}",
                     c->rid, (long)time(NULL), c->prompt_tokens, c->tokens, c->prompt_tokens + c->tokens);
        append_message(&c->out, json, (size_t)n);
    }
    append_message(&c->out, "[DONE]", 6);
    buf_append(&c->out, "0\r\n\r\n", 5);
    c->streaming = 0;
}

static void read_requests(Conn *c) {
    for (;;) {
        if (c->inlen >= INCAP - 1) { conn_close(c); return; }
        ssize_t n = read(c->fd, c->in + c->inlen, INCAP - 1 - c->inlen);
        if (n > 0) { c->inlen += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        conn_close(c);  // EOF or error
        return;
    }
    while (!c->streaming) {
        size_t used = start_request(c);
        if (!used) break;
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
    }
    if (flush_out(c) < 0) conn_close(c);
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--events-per-write") && i + 1 < argc) events_per_write = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--eventstream")) eventstream = 1;
        else { fprintf(stderr, "usage: %s [--port N] [--events-per-write N] [--eventstream]\n", argv[0]); return 2; }
    }
    crc_init();
    if (events_per_write < 1) events_per_write = 1;
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 1024)) { perror("bind/listen"); return 2; }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("LISTENING %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    struct epoll_event events[256];
    for (;;) {
        // A stream that can take a write: poll without sleeping; otherwise (none open, or every
        // one waiting for its socket to drain) sleep until a socket wakes us.
        int writable = 0;
        for (Conn *c = active_head; c && !writable; c = c->next_active) writable = !c->blocked;
        int ready = epoll_wait(epfd, events, 256, writable ? 0 : -1);
        for (int i = 0; i < ready; i++) {
            Conn *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    Conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (events[i].events & EPOLLOUT) {
                int r = flush_out(c);
                if (r < 0) { conn_close(c); continue; }
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_requests(c);
        }
        // One step: every stream that can take a write gets its next event(s).
        for (Conn *c = active_head, *next; c; c = next) {
            next = c->next_active;
            if (c->blocked) continue;
            for (int k = 0; k < events_per_write && c->streaming; k++) next_event(c);
            if (!c->streaming) active_remove(c);
            if (flush_out(c) < 0) { conn_close(c); continue; }
            if (!c->streaming && !c->blocked && c->inlen) read_requests(c);  // a pipelined request
        }
    }
}
