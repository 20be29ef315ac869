/*
 * coord/quorum_etcd_watch.c - the etcd backend's thread (coord/quorum_etcd.c has
 * the design): one curl multi loop that keeps
 *   - the watch stream: POST /v3/watch over the whole prefix from start_rev, read
 *     line by line; every event is matched against the table of armed one-shot
 *     watches; a broken stream is reopened on the next endpoint from the revision
 *     after the last event seen, so no event is lost or seen twice;
 *   - the lease: POST /v3/lease/keepalive every TTL/3 to the stream's endpoint;
 *     an answer without a TTL says the lease is gone (EXPIRED); a failure moves the
 *     stream and the keepalive to the next endpoint (a hung member is left even
 *     when its TCP connection stays up);
 *   - the session events: DISCONNECTED when the stream or a keepalive fails,
 *     CONNECTED when both work again, EXPIRED once (then the table is emptied and
 *     nothing else is reported).
 * Events are delivered on this thread without any lock held.
 *
 * Arming without a gap: a watch enters the table before the read that arms it
 * (armed_rev -1) and records the revisions of matching events that arrive
 * meanwhile; when the read returns at revision R, a recorded event above R fires
 * the watch at once (through e->fire, on this thread), later ones above R fire it
 * when they come. Every R is at least start_rev - 1, so the stream has them all.
 */
#include "coord/quorum_etcd_int.h"
#include "core/logging.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wloop {
    struct rb_etcd *e;
    int ep; /* the stream's and the keepalive's endpoint */
    CURL *w, *k;
    struct rb_etcd_buf wbuf, kbuf;
    char *wbody, *kbody;
    bool w_active, k_active;
    int64_t w_due_ms, k_due_ms;
    int64_t last_rev; /* the highest event revision seen */
    bool ka_ok;       /* the last keepalive worked */
    bool connected;   /* as last reported */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(struct rb_etcd *e, enum rb_qevent ev, const char *path)
{
    if (e->on_event)
        e->on_event(e->ctx, ev, path);
}

static void report_state(struct wloop *l)
{
    struct rb_etcd *e = l->e;
    pthread_mutex_lock(&e->wlock);
    bool up = e->stream_created && l->ka_ok;
    pthread_mutex_unlock(&e->wlock);
    if (up != l->connected && !atomic_load(&e->expired)) {
        l->connected = up;
        RB_INFO(RB_ETCD_COMP, "%s %s", up ? "connected to" : "disconnected from", e->eps[l->ep]);
        emit(e, up ? RB_QEV_CONNECTED : RB_QEV_DISCONNECTED, NULL);
    }
}

static void free_list(struct rb_etcd_watch *list)
{
    while (list) {
        struct rb_etcd_watch *n = list->next;
        free(list);
        list = n;
    }
}

/* Fire and free a list of watches, one event per (path, kind). */
static void deliver(struct rb_etcd *e, struct rb_etcd_watch *list)
{
    for (struct rb_etcd_watch *w = list; w; w = w->next) {
        bool dup = false;
        for (struct rb_etcd_watch *v = list; v != w && !dup; v = v->next)
            dup = v->kind == w->kind && strcmp(v->path, w->path) == 0;
        if (!dup && !atomic_load(&e->expired))
            emit(e, w->kind == RB_ETCD_W_NODE ? RB_QEV_NODE : RB_QEV_CHILDREN, w->path);
    }
    free_list(list);
}

static bool is_parent(const char *parent, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    if (n == 0)
        return strcmp(parent, "/") == 0;
    return strlen(parent) == n && memcmp(parent, path, n) == 0;
}

/* One event of the stream. all: fire every armed watch (events were lost). */
static void on_change(struct rb_etcd *e, const char *path, bool del, int64_t mod_rev,
                      int64_t create_rev, bool all)
{
    struct rb_etcd_watch *fired = NULL, **tail = &fired;
    pthread_mutex_lock(&e->wlock);
    for (struct rb_etcd_watch **pw = &e->watches; *pw;) {
        struct rb_etcd_watch *w = *pw;
        bool match = all;
        if (!all && w->kind == RB_ETCD_W_NODE)
            match = strcmp(w->path, path) == 0;
        else if (!all)
            match = (del && strcmp(w->path, path) == 0) ||
                    (is_parent(w->path, path) && (del || create_rev == mod_rev));
        if (match && w->armed_rev < 0 && mod_rev > w->seen_rev)
            w->seen_rev = mod_rev;
        if (!match || w->armed_rev < 0 || (!all && mod_rev <= w->armed_rev)) {
            pw = &w->next;
            continue;
        }
        *pw = w->next;
        w->next = NULL;
        *tail = w;
        tail = &w->next;
    }
    pthread_mutex_unlock(&e->wlock);
    deliver(e, fired);
}

static void on_events(struct wloop *l, json_t *events)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        json_t *kv = json_object_get(ev, "kv");
        json_t *type = json_object_get(ev, "type");
        bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
        int64_t mod_rev = rb_etcd_int(kv, "mod_revision");
        if (mod_rev > l->last_rev)
            l->last_rev = mod_rev;
        char *key;
        size_t klen;
        if (rb_etcd_unb64(json_string_value(json_object_get(kv, "key")), &key, &klen))
            continue;
        char path[RB_ETCD_KEY_MAX];
        if (rb_etcd_path_of(l->e, key, klen, path, sizeof(path)))
            on_change(l->e, path, del, mod_rev, rb_etcd_int(kv, "create_revision"), false);
        free(key);
    }
}

static void on_stream_line(struct wloop *l, const char *line, size_t len)
{
    struct rb_etcd *e = l->e;
    json_t *j = json_loadb(line, len, 0, NULL);
    json_t *res = json_object_get(j, "result");
    if (!res) {
        RB_WARN(RB_ETCD_COMP, "%s/v3/watch: %.200s", e->eps[l->ep], line);
        json_decref(j);
        return;
    }
    if (json_is_true(json_object_get(res, "created"))) {
        pthread_mutex_lock(&e->wlock);
        e->stream_created = true;
        pthread_cond_broadcast(&e->wcond);
        pthread_mutex_unlock(&e->wlock);
        report_state(l);
    }
    int64_t compact = rb_etcd_int(res, "compact_revision");
    if (json_is_true(json_object_get(res, "canceled")) && compact > 0) {
        /* events were compacted away: every armed watch may have missed its event */
        RB_WARN(RB_ETCD_COMP, "watch from %lld compacted at %lld: firing every watch",
                (long long)l->last_rev + 1, (long long)compact);
        on_change(e, "", false, 0, 0, true);
        l->last_rev = compact - 1;
    }
    on_events(l, json_object_get(res, "events"));
    json_decref(j);
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct wloop *l = arg;
    size_t n = rb_etcd_buf_write(ptr, size, nmemb, &l->wbuf);
    if (n == 0)
        return 0;
    char *start = l->wbuf.p, *nl;
    while ((nl = memchr(start, '\n', l->wbuf.len - (size_t)(start - l->wbuf.p)))) {
        if (nl > start)
            on_stream_line(l, start, (size_t)(nl - start));
        start = nl + 1;
    }
    size_t rest = l->wbuf.len - (size_t)(start - l->wbuf.p);
    memmove(l->wbuf.p, start, rest);
    l->wbuf.len = rest;
    l->wbuf.p[rest] = 0;
    return n;
}

static void stream_open(struct wloop *l)
{
    struct rb_etcd *e = l->e;
    char k0[RB_ETCD_KEY_MAX], k1[RB_ETCD_KEY_MAX];
    snprintf(k0, sizeof(k0), "%s/", e->prefix);
    snprintf(k1, sizeof(k1), "%s0", e->prefix);
    char *b0 = rb_etcd_b64(k0, strlen(k0)), *b1 = rb_etcd_b64(k1, strlen(k1));
    json_t *body =
        json_pack("{s:{s:s,s:s,s:o}}", "create_request", "key", b0 ? b0 : "", "range_end",
                  b1 ? b1 : "", "start_revision", rb_etcd_str64(l->last_rev + 1));
    free(b0);
    free(b1);
    free(l->wbody);
    l->wbody = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char url[512];
    snprintf(url, sizeof(url), "%s/v3/watch", e->eps[l->ep]);
    rb_etcd_buf_reset(&l->wbuf);
    curl_easy_setopt(l->w, CURLOPT_URL, url);
    curl_easy_setopt(l->w, CURLOPT_POSTFIELDS, l->wbody);
    curl_easy_setopt(l->w, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(l->w, CURLOPT_WRITEDATA, l);
    curl_easy_setopt(l->w, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(l->w, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_multi_add_handle(e->multi, l->w);
    l->w_active = true;
}

static void keepalive_send(struct wloop *l)
{
    struct rb_etcd *e = l->e;
    char url[512];
    snprintf(url, sizeof(url), "%s/v3/lease/keepalive", e->eps[l->ep]);
    rb_etcd_buf_reset(&l->kbuf);
    long t = (long)e->ttl_s * 1000 / 3;
    curl_easy_setopt(l->k, CURLOPT_URL, url);
    curl_easy_setopt(l->k, CURLOPT_POSTFIELDS, l->kbody);
    curl_easy_setopt(l->k, CURLOPT_WRITEDATA, &l->kbuf);
    curl_easy_setopt(l->k, CURLOPT_TIMEOUT_MS, t < 500 ? 500L : t);
    curl_easy_setopt(l->k, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_multi_add_handle(e->multi, l->k);
    l->k_active = true;
}

/* The stream's endpoint failed: both move to the next one. */
static void next_endpoint(struct wloop *l)
{
    l->ep = (l->ep + 1) % l->e->n_eps;
    if (l->w_active) {
        curl_multi_remove_handle(l->e->multi, l->w);
        l->w_active = false;
    }
    pthread_mutex_lock(&l->e->wlock);
    l->e->stream_created = false;
    pthread_mutex_unlock(&l->e->wlock);
    l->w_due_ms = now_ms() + 100;
    l->k_due_ms = now_ms();
}

static void keepalive_done(struct wloop *l, CURLcode c)
{
    struct rb_etcd *e = l->e;
    long http = 0;
    curl_easy_getinfo(l->k, CURLINFO_RESPONSE_CODE, &http);
    json_t *j = c == CURLE_OK && l->kbuf.p ? json_loadb(l->kbuf.p, l->kbuf.len, 0, NULL) : NULL;
    json_t *res = json_object_get(j, "result");
    if (c == CURLE_OK && http == 200 && res) {
        if (rb_etcd_int(res, "TTL") <= 0)
            rb_etcd_set_expired(e);
        l->ka_ok = true;
        l->k_due_ms = now_ms() + (int64_t)e->ttl_s * 1000 / 3;
    } else {
        RB_WARN(RB_ETCD_COMP, "%s/v3/lease/keepalive: %s (HTTP %ld) %.200s", e->eps[l->ep],
                curl_easy_strerror(c), http, l->kbuf.p ? l->kbuf.p : "");
        l->ka_ok = false;
        next_endpoint(l);
        l->k_due_ms = now_ms() + 200;
    }
    json_decref(j);
}

static void drain_done(struct wloop *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode c = m->data.result;
        if (m->easy_handle == l->k) {
            curl_multi_remove_handle(l->e->multi, l->k);
            l->k_active = false;
            keepalive_done(l, c);
        } else if (m->easy_handle == l->w) {
            curl_multi_remove_handle(l->e->multi, l->w);
            l->w_active = false;
            if (!atomic_load(&l->e->stop))
                RB_WARN(RB_ETCD_COMP, "%s/v3/watch: stream ended: %s", l->e->eps[l->ep],
                        curl_easy_strerror(c));
            next_endpoint(l);
        }
        report_state(l);
    }
}

static void on_expired(struct wloop *l)
{
    struct rb_etcd *e = l->e;
    if (l->w_active)
        curl_multi_remove_handle(e->multi, l->w);
    if (l->k_active)
        curl_multi_remove_handle(e->multi, l->k);
    l->w_active = l->k_active = false;
    pthread_mutex_lock(&e->wlock);
    struct rb_etcd_watch *list = e->watches, *fire = e->fire;
    e->watches = e->fire = NULL;
    e->expired_sent = true;
    pthread_cond_broadcast(&e->wcond);
    pthread_mutex_unlock(&e->wlock);
    free_list(list); /* they never fire */
    free_list(fire);
    emit(e, RB_QEV_EXPIRED, NULL);
}

static void *thread_main(void *arg)
{
    struct wloop *l = arg;
    struct rb_etcd *e = l->e;
    while (!atomic_load(&e->stop)) {
        if (atomic_load(&e->expired) && !e->expired_sent)
            on_expired(l);
        bool live = !e->expired_sent;
        int64_t now = now_ms();
        if (live && !l->w_active && now >= l->w_due_ms)
            stream_open(l);
        if (live && !l->k_active && now >= l->k_due_ms)
            keepalive_send(l);
        int running;
        curl_multi_perform(e->multi, &running);
        drain_done(l);
        pthread_mutex_lock(&e->wlock);
        struct rb_etcd_watch *fire = e->fire;
        e->fire = NULL;
        pthread_mutex_unlock(&e->wlock);
        deliver(e, fire);
        int64_t wait = 1000;
        if (live && !l->w_active && l->w_due_ms - now < wait)
            wait = l->w_due_ms - now;
        if (live && !l->k_active && l->k_due_ms - now < wait)
            wait = l->k_due_ms - now;
        curl_multi_poll(e->multi, NULL, 0, wait < 1 ? 1 : (int)wait, NULL);
    }
    if (l->w_active)
        curl_multi_remove_handle(e->multi, l->w);
    if (l->k_active)
        curl_multi_remove_handle(e->multi, l->k);
    curl_easy_cleanup(l->w);
    curl_easy_cleanup(l->k);
    free(l->wbuf.p);
    free(l->kbuf.p);
    free(l->wbody);
    free(l->kbody);
    free(l);
    return NULL;
}

int rb_etcd_thread_start(struct rb_etcd *e, int64_t start_rev, int32_t wait_ms)
{
    struct wloop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->e = e;
    l->ep = atomic_load(&e->cur_ep);
    l->last_rev = start_rev - 1;
    l->ka_ok = true;
    l->connected = true;
    l->k_due_ms = now_ms() + (int64_t)e->ttl_s * 1000 / 3;
    l->w = rb_etcd_handle();
    l->k = rb_etcd_handle();
    char body[64];
    snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)e->lease_id);
    l->kbody = strdup(body);
    e->multi = curl_multi_init();
    e->start_rev = start_rev;
    if (!l->w || !l->k || !l->kbody || !e->multi)
        goto out_free;
    if (pthread_create(&e->thread, NULL, thread_main, l))
        goto out_free;
    e->thread_started = true;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += wait_ms / 1000;
    dl.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    int r = 0;
    pthread_mutex_lock(&e->wlock);
    while (!e->stream_created && r == 0)
        r = pthread_cond_timedwait(&e->wcond, &e->wlock, &dl);
    bool ok = e->stream_created;
    pthread_mutex_unlock(&e->wlock);
    return ok ? 0 : -ETIMEDOUT;
out_free:
    if (l->w)
        curl_easy_cleanup(l->w);
    if (l->k)
        curl_easy_cleanup(l->k);
    free(l->kbody);
    free(l);
    return -ENOMEM;
}

void rb_etcd_thread_stop(struct rb_etcd *e)
{
    if (e->thread_started) {
        atomic_store(&e->stop, true);
        curl_multi_wakeup(e->multi);
        pthread_join(e->thread, NULL);
        e->thread_started = false;
    }
    if (e->multi)
        curl_multi_cleanup(e->multi);
    e->multi = NULL;
    free_list(e->watches);
    free_list(e->fire);
    e->watches = e->fire = NULL;
}

struct rb_etcd_watch *rb_etcd_watch_add(struct rb_etcd *e, const char *path,
                                        enum rb_etcd_wkind kind)
{
    size_t n = strlen(path) + 1;
    struct rb_etcd_watch *w = malloc(sizeof(*w) + n);
    if (!w)
        return NULL;
    memcpy(w->path, path, n);
    w->kind = kind;
    w->armed_rev = -1;
    w->seen_rev = -1;
    pthread_mutex_lock(&e->wlock);
    w->next = e->watches;
    e->watches = w;
    pthread_mutex_unlock(&e->wlock);
    return w;
}

static bool unlink_watch(struct rb_etcd *e, struct rb_etcd_watch *w)
{
    for (struct rb_etcd_watch **pw = &e->watches; *pw; pw = &(*pw)->next)
        if (*pw == w) {
            *pw = w->next;
            w->next = NULL;
            return true;
        }
    return false;
}

void rb_etcd_watch_set(struct rb_etcd *e, struct rb_etcd_watch *w, int64_t rev)
{
    pthread_mutex_lock(&e->wlock);
    bool armed = false; /* not freed by an expiry meanwhile */
    for (struct rb_etcd_watch *v = e->watches; v && !armed; v = v->next)
        armed = v == w;
    if (!armed) {
        pthread_mutex_unlock(&e->wlock);
        return;
    }
    if (w->seen_rev > rev && unlink_watch(e, w)) {
        w->next = e->fire;
        e->fire = w;
        pthread_mutex_unlock(&e->wlock);
        curl_multi_wakeup(e->multi);
        return;
    }
    w->armed_rev = rev;
    pthread_mutex_unlock(&e->wlock);
}

void rb_etcd_watch_drop(struct rb_etcd *e, struct rb_etcd_watch *w)
{
    pthread_mutex_lock(&e->wlock);
    bool mine = unlink_watch(e, w);
    pthread_mutex_unlock(&e->wlock);
    if (mine)
        free(w);
}
