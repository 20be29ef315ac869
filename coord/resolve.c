/*
 * coord/resolve.c - the coordination thread's cache of resolved broker
 * addresses (see coord/resolve.h): getaddrinfo lookups, the refresh schedule,
 * and one warning per interval for a name that does not resolve.
 */
#include "coord/resolve.h"

#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define COMP "resolve"

int rb_resolve_lookup(const char *host, uint16_t port, struct rb_sockaddr *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int r = getaddrinfo(host[0] ? host : "localhost", NULL, &hints, &res);
    if (r)
        return r == EAI_NONAME || r == EAI_NODATA ? -ENOENT : r == EAI_AGAIN ? -EAGAIN : -EIO;
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *ai = res; ai && !pick; ai = ai->ai_next) /* IPv4 first */
        if (ai->ai_family == AF_INET)
            pick = ai;
    for (const struct addrinfo *ai = res; ai && !pick; ai = ai->ai_next)
        if (ai->ai_family == AF_INET6)
            pick = ai;
    memset(out, 0, sizeof(*out));
    if (!pick) {
        freeaddrinfo(res);
        return -ENOENT;
    }
    if (pick->ai_family == AF_INET) {
        memcpy(&out->u.in4, pick->ai_addr, sizeof(out->u.in4));
        out->u.in4.sin_port = htons(port);
        out->len = sizeof(out->u.in4);
    } else {
        memcpy(&out->u.in6, pick->ai_addr, sizeof(out->u.in6));
        out->u.in6.sin6_port = htons(port);
        out->len = sizeof(out->u.in6);
    }
    freeaddrinfo(res);
    return 0;
}

void rb_sockaddr_str(const struct rb_sockaddr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (!a || !a->len)
        snprintf(buf, cap, "-");
    else if (a->u.sa.sa_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%u", inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof(ip)),
                 ntohs(a->u.in6.sin6_port));
    else
        snprintf(buf, cap, "%s:%u", inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof(ip)),
                 ntohs(a->u.in4.sin_port));
}

void rb_resolver_init(struct rb_resolver *r, rb_lookup_fn lookup, int64_t interval_ms)
{
    memset(r, 0, sizeof(*r));
    r->lookup = lookup ? lookup : rb_resolve_lookup;
    r->interval_ms = interval_ms;
}

void rb_resolver_free(struct rb_resolver *r)
{
    free(r->e);
    r->e = NULL;
    r->n = 0;
}

static bool same_addr(const struct rb_sockaddr *a, const struct rb_sockaddr *b)
{
    return a->len == b->len && (!a->len || memcmp(&a->u, &b->u, a->len) == 0);
}

static int find(const struct rb_resolve_entry *e, int n, const char *host, uint16_t port)
{
    for (int i = 0; i < n; i++)
        if (e[i].port == port && strcmp(e[i].host, host) == 0)
            return i;
    return -1;
}

/* Look e up now; true when its address changed. */
static bool lookup(struct rb_resolver *r, struct rb_resolve_entry *e, int64_t now_ms)
{
    struct rb_sockaddr a;
    r->lookups++;
    int err = r->lookup(e->host, e->port, &a);
    e->at_ms = now_ms;
    if (err) {
        /* Keep the last good address: a DNS hiccup should not stop replication. */
        if (err != e->err || now_ms - e->warned_ms >= r->interval_ms) {
            RB_WARN(COMP, "broker host %s does not resolve (%s)%s: trying again within %lld s",
                    e->host,
                    err == -ENOENT   ? "no such name"
                    : err == -EAGAIN ? "a temporary failure"
                                     : "lookup error",
                    e->addr.len ? ", keeping its last address" : "",
                    (long long)(r->interval_ms / 1000));
            e->warned_ms = now_ms;
            r->warnings++;
        }
        e->err = err;
        return false;
    }
    bool changed = !same_addr(&a, &e->addr);
    if (changed || e->err) {
        char s[80];
        rb_sockaddr_str(&a, s, sizeof(s));
        RB_INFO(COMP, "broker host %s:%u resolves to %s", e->host, e->port, s);
    }
    e->err = 0;
    e->warned_ms = INT64_MIN / 2;
    e->addr = a;
    return changed;
}

bool rb_resolver_sync(struct rb_resolver *r, const struct rb_kzk_broker *b, int n, int64_t now_ms,
                      int64_t max_age_ms)
{
    struct rb_resolve_entry *ne = calloc((size_t)RB_MAX(n, 1), sizeof(*ne));
    RB_ASSERT(ne);
    bool changed = false;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (find(ne, k, b[i].host, b[i].port) >= 0)
            continue; /* two brokers advertising the same pair: one entry */
        int old = find(r->e, r->n, b[i].host, b[i].port);
        struct rb_resolve_entry *e = &ne[k++];
        if (old >= 0) {
            *e = r->e[old];
            /* never resolved: a name that appears in DNS late (a k8s pod that is
             * not ready yet) is tried every RB_RESOLVE_AGAIN_MS, logged less */
            int64_t age = e->addr.len ? max_age_ms : RB_MIN(max_age_ms, RB_RESOLVE_AGAIN_MS);
            if (now_ms - e->at_ms >= age)
                changed |= lookup(r, e, now_ms);
            continue;
        }
        snprintf(e->host, sizeof(e->host), "%s", b[i].host);
        e->port = b[i].port;
        e->warned_ms = INT64_MIN / 2;
        (void)lookup(r, e, now_ms);
        changed = true; /* a new pair: its snapshot entry is new */
    }
    changed |= k != r->n; /* pairs went */
    free(r->e);
    r->e = ne;
    r->n = k;
    return changed;
}

const struct rb_sockaddr *rb_resolver_addr(const struct rb_resolver *r, const char *host,
                                           uint16_t port)
{
    int i = find(r->e, r->n, host, port);
    return i >= 0 && r->e[i].addr.len ? &r->e[i].addr : NULL;
}
