/*
 * tests/unit/test_peer.c - net/peer.c on a real shard (io_uring) against a
 * loopback server thread: a request frame goes out whole and its response frame
 * comes back whole; a second request reuses the connection; a refused connect, a
 * peer that closes, one that never answers (the request's timeout) and one that
 * answers a frame over the limit each report their error once; closing for stop
 * with a request in flight leaves nothing pending; an IPv6 address (::1) works
 * like an IPv4 one.
 */
#include "core/endian.h"
#include "core/rb.h"
#include "core/shard.h"
#include "core/timer.h"
#include "net/peer.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum server_mode { S_ECHO = 0, S_CLOSE, S_SILENT, S_HUGE };

static struct rb_runtime rt;
static struct rb_peer *peer;
static uint16_t port;
static int lfd = -1;
static enum server_mode mode;
static int64_t timeout_ms;
static int want_requests; /* requests to send in a row */
static int sent;
static atomic_int answers, accepts;
static int last_err;
static char last_body[64];
static atomic_bool server_stop;
static bool use_v6; /* the server on ::1, the peer given an AF_INET6 address */

/* ---- the server thread (blocking sockets) ---- */

static bool read_full(int fd, uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static void *server(void *arg)
{
    (void)arg;
    while (!atomic_load(&server_stop)) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            break;
        atomic_fetch_add(&accepts, 1);
        uint8_t hdr[4], body[256];
        while (read_full(c, hdr, 4)) {
            uint32_t n = rb_get_be32(hdr);
            if (n > sizeof(body) || !read_full(c, body, n))
                break;
            if (mode == S_CLOSE)
                break;
            if (mode == S_SILENT) {
                sleep(1);
                break;
            }
            uint8_t out[64];
            /* echo: [size][the request's first 4 bytes]["pong"] */
            uint32_t len = 8;
            rb_put_be32(out, mode == S_HUGE ? 1u << 30 : len);
            memcpy(out + 4, body, 4);
            memcpy(out + 8, "pong", 4);
            if (write(c, out, 12) != 12)
                break;
        }
        close(c);
    }
    return NULL;
}

/* ---- the shard side ---- */

static void send_one(void)
{
    uint8_t frame[12];
    rb_put_be32(frame, 8);
    rb_put_be32(frame + 4, (uint32_t)(1000 + sent));
    memcpy(frame + 8, "ping", 4);
    sent++;
    int r = rb_peer_send(peer, frame, sizeof(frame), 1 << 20, timeout_ms);
    cr_assert_eq(r, 0, "rb_peer_send: %d", r);
}

static void on_resp(struct rb_peer *p, int err, const uint8_t *body, uint32_t len, void *arg)
{
    (void)p;
    (void)arg;
    last_err = err;
    memset(last_body, 0, sizeof(last_body));
    if (!err)
        memcpy(last_body, body, RB_MIN(len, sizeof(last_body) - 1));
    if (!err && sent < want_requests) {
        cr_assert(!rb_peer_busy(peer));
        send_one();
        return;
    }
    atomic_fetch_add(&answers, 1);
}

static struct rb_sockaddr v4(const char *ip, uint16_t p)
{
    struct rb_sockaddr a;
    memset(&a, 0, sizeof(a));
    a.u.in4.sin_family = AF_INET;
    a.u.in4.sin_port = htons(p);
    cr_assert_eq(inet_pton(AF_INET, ip, &a.u.in4.sin_addr), 1);
    a.len = sizeof(a.u.in4);
    return a;
}

static int shard_start(struct rb_shard *s)
{
    peer = rb_peer_new(s, 7, on_resp, NULL);
    cr_assert_not_null(peer);
    struct rb_sockaddr a = v4("127.0.0.1", port);
    if (use_v6) {
        memset(&a, 0, sizeof(a));
        a.u.in6.sin6_family = AF_INET6;
        a.u.in6.sin6_port = htons(port);
        a.u.in6.sin6_addr = in6addr_loopback;
        a.len = sizeof(a.u.in6);
    }
    cr_assert_eq(rb_peer_set_addr(peer, &a), 0);
    send_one();
    return 0;
}

static void shard_stop(struct rb_shard *s)
{
    (void)s;
    rb_peer_close(peer);
}

static bool shard_stop_done(struct rb_shard *s)
{
    (void)s;
    return rb_peer_quiet(peer);
}

static void shard_finish(struct rb_shard *s)
{
    (void)s;
    rb_peer_free(peer);
    peer = NULL;
}

static pthread_t srv;

static void run(enum server_mode m, bool listening, int requests, int64_t tmo)
{
    mode = m;
    want_requests = requests;
    timeout_ms = tmo;
    sent = 0;
    atomic_store(&answers, 0);
    atomic_store(&accepts, 0);
    atomic_store(&server_stop, false);
    lfd = socket(use_v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(lfd, 0);
    if (use_v6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
        cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t al = sizeof(a);
        cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
        port = ntohs(a.sin6_port);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t al = sizeof(a);
        cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
        port = ntohs(a.sin_port);
    }
    if (listening) {
        cr_assert_eq(listen(lfd, 4), 0);
        cr_assert_eq(pthread_create(&srv, NULL, server, NULL), 0);
    } /* else bound but not listening: connect is refused */
    cr_assert_eq(rb_runtime_init(&rt, 1, 64), 0);
    rt.t[0]->hooks = (struct rb_shard_hooks){.start = shard_start,
                                             .stop = shard_stop,
                                             .stop_done = shard_stop_done,
                                             .finish = shard_finish};
    cr_assert_eq(rb_runtime_start(&rt), 0);
    int64_t end = rb_mono_ms() + 5000;
    while (atomic_load(&answers) == 0 && rb_mono_ms() < end)
        usleep(1000);
    cr_assert_eq(atomic_load(&answers), 1, "no answer within 5 s");
    rb_runtime_request_stop(&rt);
    rb_runtime_join(&rt);
    rb_runtime_free(&rt);
    atomic_store(&server_stop, true);
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    if (listening)
        pthread_join(srv, NULL);
    cr_assert_eq(atomic_load(&answers), 1, "answered more than once");
}

Test(peer, request_and_response_whole_and_the_connection_reused)
{
    run(S_ECHO, true, 3, 5000);
    cr_assert_eq(last_err, 0);
    cr_assert_eq(rb_get_be32((const uint8_t *)last_body), 1002u, "not the last request's answer");
    cr_assert_eq(memcmp(last_body + 4, "pong", 4), 0);
    cr_assert_eq(atomic_load(&accepts), 1, "a connection per request");
}

Test(peer, refused_connect_is_reported)
{
    run(S_ECHO, false, 1, 5000);
    cr_assert_eq(last_err, -ECONNREFUSED, "err %d", last_err);
}

Test(peer, peer_closing_is_reported)
{
    run(S_CLOSE, true, 1, 5000);
    cr_assert(last_err == -ECONNRESET || last_err == -EPIPE, "err %d", last_err);
}

Test(peer, silence_ends_at_the_timeout)
{
    run(S_SILENT, true, 1, 200);
    cr_assert_eq(last_err, -ETIMEDOUT, "err %d", last_err);
}

Test(peer, a_frame_over_the_limit_is_refused)
{
    run(S_HUGE, true, 1, 5000);
    cr_assert_eq(last_err, -EMSGSIZE, "err %d", last_err);
}

Test(peer, over_ipv6)
{
    use_v6 = true;
    run(S_ECHO, true, 2, 5000);
    use_v6 = false;
    cr_assert_eq(last_err, 0, "err %d", last_err);
    cr_assert_eq(rb_get_be32((const uint8_t *)last_body), 1001u, "not the second request's answer");
    cr_assert_eq(memcmp(last_body + 4, "pong", 4), 0);
    cr_assert_eq(atomic_load(&accepts), 1, "one connection for both requests");
}

Test(peer, resolved_addresses_only)
{
    struct rb_shard s;
    memset(&s, 0, sizeof(s));
    struct rb_peer *p = rb_peer_new(&s, 1, on_resp, NULL);
    struct rb_sockaddr none;
    memset(&none, 0, sizeof(none)); /* the coordinator could not resolve the name */
    cr_assert_eq(rb_peer_set_addr(p, &none), -EINVAL);
    cr_assert_eq(rb_peer_send(p, (const uint8_t *)"x", 1, 16, 100), -EINVAL);
    struct rb_sockaddr a = v4("10.1.2.3", 9092);
    cr_assert_eq(rb_peer_set_addr(p, &a), 0);
    struct rb_sockaddr a6;
    memset(&a6, 0, sizeof(a6));
    a6.u.in6.sin6_family = AF_INET6;
    a6.u.in6.sin6_port = htons(9092);
    a6.u.in6.sin6_addr = in6addr_loopback;
    a6.len = sizeof(a6.u.in6);
    cr_assert_eq(rb_peer_set_addr(p, &a6), 0);
    a6.len = sizeof(a6.u.in4); /* a family and a length that disagree */
    cr_assert_eq(rb_peer_set_addr(p, &a6), -EINVAL);
    cr_assert(rb_peer_quiet(p));
    rb_peer_free(p);
}
