/*
 * cmd/metrics.c - the metrics endpoint's HTTP server (cmd/metrics.h): a plain
 * blocking thread, one connection at a time, each bounded by a 2 s receive and
 * send timeout so a slow or silent client cannot hold it. It understands
 * "GET /metrics" (and "GET /"); anything else gets 404 or 400 and the connection
 * is closed after every answer (Connection: close).
 * Fault model: client bytes are untrusted: a request is read into a fixed 4 KiB
 * buffer and never parsed past it; errors on one connection close it and the
 * thread goes on.
 */
#include "cmd/metrics.h"
#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP "metrics"

struct rb_metrics_server {
    struct rb_broker *b;
    int listen_fd;
    int stop_efd;
    pthread_t thread;
};

static int parse_listener(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *p = strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
    if (!p)
        return -EINVAL;
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) >= hostlen)
        return -EINVAL;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    char *end;
    errno = 0;
    long v = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || v < 0 || v > 65535 || (*end && strcmp(end, "/") != 0))
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static int bind_listener(const char *host, uint16_t port, uint16_t *bound)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    int r = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
    if (r)
        return -EADDRNOTAVAIL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        goto out_free;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
        r = -errno;
        goto out_close;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return fd;
out_close:
    close(fd);
out_free:
    freeaddrinfo(ai);
    return r;
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void serve_one(struct rb_metrics_server *ms, int fd)
{
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[4096];
    size_t have = 0;
    while (have < sizeof(req) - 1) {
        ssize_t n = recv(fd, req + have, sizeof(req) - 1 - have, 0);
        if (n <= 0)
            return;
        have += (size_t)n;
        req[have] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[have] = 0;
    bool get = strncmp(req, "GET ", 4) == 0, head = strncmp(req, "HEAD ", 5) == 0;
    if (!get && !head) {
        reply(fd, "400 Bad Request", "text/plain", "bad request\n", 12);
        return;
    }
    const char *path = req + (get ? 4 : 5);
    size_t plen = strcspn(path, " ?\r\n");
    if (!((plen == 8 && strncmp(path, "/metrics", 8) == 0) || (plen == 1 && path[0] == '/'))) {
        reply(fd, "404 Not Found", "text/plain", "not found: try /metrics\n", 24);
        return;
    }
    struct rb_mbuf out = {0};
    rb_metrics_render(ms->b, &out);
    if (out.oom)
        reply(fd, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
    else
        reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", head ? "" : out.p,
              head ? 0 : out.len);
    rb_mbuf_free(&out);
}

static void *server_main(void *arg)
{
    struct rb_metrics_server *ms = arg;
    pthread_setname_np(pthread_self(), "rb-metrics");
    for (;;) {
        struct pollfd pfd[2] = {{.fd = ms->listen_fd, .events = POLLIN},
                                {.fd = ms->stop_efd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            RB_ERROR(COMP, "poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents)
            break;
        if (!(pfd[0].revents & POLLIN))
            continue;
        int fd = accept4(ms->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                usleep(100 * 1000); /* at the fd limit: do not spin */
            continue;
        }
        serve_one(ms, fd);
        close(fd);
    }
    return NULL;
}

int rb_metrics_server_start(struct rb_metrics_server **out, struct rb_broker *b,
                            const char *listener, uint16_t *port, char *err, size_t errlen)
{
    char host[256];
    uint16_t want;
    if (parse_listener(listener, host, sizeof(host), &want)) {
        snprintf(err, errlen, "metrics.listener: '%s' is not http://host:port", listener);
        return -EINVAL;
    }
    struct rb_metrics_server *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return -ENOMEM;
    ms->b = b;
    int r = bind_listener(host, want, port);
    if (r < 0) {
        snprintf(err, errlen, "metrics.listener: cannot listen on %s: %s", listener, strerror(-r));
        goto out_free;
    }
    ms->listen_fd = r;
    ms->stop_efd = eventfd(0, EFD_CLOEXEC);
    if (ms->stop_efd < 0) {
        r = -errno;
        snprintf(err, errlen, "metrics: eventfd: %s", strerror(-r));
        goto out_close;
    }
    r = -pthread_create(&ms->thread, NULL, server_main, ms);
    if (r) {
        snprintf(err, errlen, "metrics: thread: %s", strerror(-r));
        goto out_close_efd;
    }
    *out = ms;
    return 0;
out_close_efd:
    close(ms->stop_efd);
out_close:
    close(ms->listen_fd);
out_free:
    free(ms);
    return r;
}

void rb_metrics_server_stop(struct rb_metrics_server *ms)
{
    if (!ms)
        return;
    uint64_t one = 1;
    if (write(ms->stop_efd, &one, sizeof(one)) != sizeof(one))
        RB_WARN(COMP, "cannot signal the metrics thread: %s", strerror(errno));
    pthread_join(ms->thread, NULL);
    close(ms->stop_efd);
    close(ms->listen_fd);
    free(ms);
}
