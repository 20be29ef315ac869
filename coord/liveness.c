/*
 * coord/liveness.c - fast detection of dead brokers (rules: coord/liveness.h):
 * the refusal counting per registration incarnation, the version- and
 * data-guarded removal of a dead broker's registration (and /controller), and
 * the probes themselves, run by the coordination thread's timer
 * (rb_cl_live_probe, coord/cluster.c arms it). A probe is a non-blocking connect
 * checked without waiting (poll with timeout 0), now or at the next tick: the
 * coordination thread never blocks on a probe.
 */
#include "coord/cluster_int.h"
#include "coord/coord.h"
#include "coord/liveness.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP "cluster"

uint64_t rb_live_hash(const char *data, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; data && i < len; i++) {
        h ^= (uint8_t)data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void peer_close(struct rb_live_peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

void rb_live_sync(struct rb_liveness *lv, const struct rb_kzk_broker *b, int n, int32_t self)
{
    struct rb_live_peer *np = calloc((size_t)RB_MAX(n, 1), sizeof(*np));
    RB_ASSERT(np);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (b[i].id == self)
            continue;
        struct rb_live_peer *old = NULL;
        for (int j = 0; j < lv->n && !old; j++)
            if (lv->p[j].id == b[i].id)
                old = &lv->p[j];
        if (old && old->reg_version == b[i].reg_version && old->reg_hash == b[i].reg_hash) {
            np[k++] = *old;
            old->fd = -1; /* moved */
            continue;
        }
        if (old)
            peer_close(old);
        np[k++] = (struct rb_live_peer){
            .id = b[i].id, .reg_version = b[i].reg_version, .reg_hash = b[i].reg_hash, .fd = -1};
    }
    for (int j = 0; j < lv->n; j++)
        peer_close(&lv->p[j]);
    free(lv->p);
    lv->p = np;
    lv->n = lv->cap = k;
}

bool rb_live_note(struct rb_live_peer *p, enum rb_probe r)
{
    switch (r) {
    case RB_PROBE_UP:
        p->seen_up = true;
        p->refusals = 0;
        return false;
    case RB_PROBE_REFUSED:
        if (!p->seen_up)
            return false; /* still starting: its listener is not open yet */
        p->refusals++;
        return p->refusals >= RB_LIVE_REFUSALS;
    case RB_PROBE_UNKNOWN:
        break;
    }
    p->refusals = 0;
    return false;
}

int rb_live_remove(struct rb_quorum *q, int32_t id, int64_t version, uint64_t hash)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", id);
    char *data = NULL;
    size_t len = 0;
    int64_t v = -1;
    int r = rb_quorum_get(q, path, false, &data, &len, &v);
    bool same = r == 0 && v == version && rb_live_hash(data, len) == hash;
    free(data);
    if (r)
        return r == -ENOENT ? 0 : r;
    if (!same)
        return -ESTALE; /* registered again: a new incarnation */
    char *cd = NULL;
    int64_t cv = -1;
    int32_t cid = -1;
    r = rb_quorum_get(q, "/controller", false, &cd, NULL, &cv);
    bool ctl = r == 0 && rb_kzk_parse_controller(cd, &cid) == 0 && cid == id;
    free(cd);
    if (r && r != -ENOENT)
        return r;
    struct rb_qop ops[2];
    int n = 0;
    if (ctl)
        ops[n++] = (struct rb_qop){.type = RB_QOP_DELETE, .path = "/controller", .version = cv};
    ops[n++] = (struct rb_qop){.type = RB_QOP_DELETE, .path = path, .version = v};
    int failed = -1;
    r = rb_quorum_multi(q, ops, n, &failed);
    if (r == -ENOENT && failed == n - 1)
        return 0;                      /* gone meanwhile: another broker's probes removed it */
    return r == -ENOENT ? -ESTALE : r; /* /controller changed meanwhile */
}

void rb_live_free(struct rb_liveness *lv)
{
    for (int j = 0; j < lv->n; j++)
        peer_close(&lv->p[j]);
    free(lv->p);
    lv->p = NULL;
    lv->n = lv->cap = 0;
}

/* ---- the probes ---- */

/* A connect that finished (or not): its outcome, without waiting. */
static enum rb_probe probe_check(int fd, bool *done)
{
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    *done = poll(&pf, 1, 0) == 1;
    if (!*done)
        return RB_PROBE_UNKNOWN;
    int e = 0;
    socklen_t el = sizeof(e);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el))
        return RB_PROBE_UNKNOWN;
    return e == 0 ? RB_PROBE_UP : e == ECONNREFUSED ? RB_PROBE_REFUSED : RB_PROBE_UNKNOWN;
}

/* Start a probe of a; *fd is left open while it is pending. */
static enum rb_probe probe_start(const struct rb_sockaddr *a, int *fd, bool *pending)
{
    *pending = false;
    int s = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return RB_PROBE_UNKNOWN;
    enum rb_probe r;
    if (connect(s, &a->u.sa, a->len) == 0) {
        r = RB_PROBE_UP;
    } else if (errno == EINPROGRESS) {
        bool done;
        r = probe_check(s, &done); /* loopback answers at once */
        if (!done) {
            *fd = s;
            *pending = true;
            return r;
        }
    } else {
        r = errno == ECONNREFUSED ? RB_PROBE_REFUSED : RB_PROBE_UNKNOWN;
    }
    close(s);
    return r;
}

static bool declare_dead(struct rb_cluster *cl, struct rb_live_peer *p, const char *addr)
{
    RB_WARN(COMP,
            "broker %d refused %d connects to its listener %s in a row: it is dead, removing "
            "its registration now (not at session expiry)",
            p->id, p->refusals, addr);
    int r = rb_live_remove(cl->q, p->id, p->reg_version, p->reg_hash);
    if (r == 0)
        return true;
    if (r == -ESTALE)
        RB_INFO(COMP, "broker %d's registration or /controller changed meanwhile: left alone",
                p->id);
    else
        RB_WARN(COMP, "removing broker %d's registration: %s", p->id, rb_quorum_strerror(r));
    rb_cl_quorum_error(cl, r);
    return false;
}

bool rb_cl_live_probe(struct rb_cluster *cl)
{
    rb_live_sync(&cl->live, cl->brokers, cl->n_brokers, cl->self);
    bool removed = false;
    for (int i = 0; i < cl->live.n; i++) {
        struct rb_live_peer *p = &cl->live.p[i];
        const struct rb_kzk_broker *b = NULL;
        for (int j = 0; j < cl->n_brokers && !b; j++)
            if (cl->brokers[j].id == p->id)
                b = &cl->brokers[j];
        const struct rb_sockaddr *a = b ? rb_resolver_addr(&cl->res, b->host, b->port) : NULL;
        bool dead = false, pending = false, done;
        if (p->fd >= 0) { /* the last tick's, still pending then */
            dead = rb_live_note(p, probe_check(p->fd, &done));
            peer_close(p);
        }
        if (!dead && a && a->len) {
            enum rb_probe r = probe_start(a, &p->fd, &pending);
            if (!pending)
                dead = rb_live_note(p, r);
        }
        if (dead) {
            char addr[80] = "-";
            if (a)
                rb_sockaddr_str(a, addr, sizeof(addr));
            removed |= declare_dead(cl, p, addr);
        }
    }
    return removed;
}

void rb_cl_live_round(struct rb_shard *cs, struct rb_cluster *cl)
{
    if (!cl->q || cl->session_lost || !rb_cl_live_probe(cl))
        return;
    cl->brokers_dirty = cl->controller_dirty = true; /* re-read what was removed */
    rb_cl_sync(cs, cl);
}

/* ---- hints from the shards ---- */

static void hint_on_coord(struct rb_shard *cs, void *arg)
{
    struct rb_coord *c = cs->coord;
    (void)arg;
    if (!c || !c->cl || atomic_load(&cs->rt->stopping) ||
        c->bc->broker_liveness_probe_interval_ms <= 0)
        return;
    struct rb_cluster *cl = c->cl;
    int64_t now = rb_mono_ms();
    if (now < cl->hint_next_ms)
        return; /* a round ran a moment ago; the timer's next one comes soon */
    cl->hint_next_ms = now + RB_LIVE_HINT_GAP_MS;
    rb_cl_live_round(cs, cl);
    /* the second look that decides comes soon too, not a whole interval later */
    rb_timer_arm(&cs->timers, &cl->probe_timer, now + RB_LIVE_HINT_GAP_MS);
}

void rb_coord_liveness_hint(struct rb_shard *s, int32_t broker_id)
{
    int cid = s->rt->n_shards;
    struct rb_coord *c = s->rt->t[cid]->coord;
    if (!c || !c->cl || atomic_load(&s->rt->stopping))
        return;
    rb_post(s, cid, hint_on_coord, (void *)(intptr_t)broker_id);
}
