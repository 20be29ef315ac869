/*
 * net/listen.c - a shard's listening side: the listening socket, accepting, the
 * receive buffers, the idle sweep and the shard's network start/stop hooks.
 *
 * Each shard has its own SO_REUSEPORT listening socket with a multishot accept;
 * the kernel spreads new connections over the shards. rb_net_prebind binds the
 * port before the shards start (so a taken port fails the start, and port 0 gets
 * one number for all shards). The shards' sockets share the port through
 * SO_REUSEPORT, which would let a second broker of the same user bind it too and
 * steal half the connections: a fixed port is first bound by a probe socket
 * without SO_REUSEPORT, which fails with EADDRINUSE while anyone listens there,
 * and the message names the listener (from /proc). SO_REUSEADDR lets a broker
 * restarted at once after a kill -9 bind over the old connections in TIME_WAIT.
 * A new connection is admitted against the connection
 * limits here, then handed to net/conn.c (rb_conn_new).
 * At the fd limit (EMFILE/ENFILE) the accept backs off: the multishot accept is
 * off for ACCEPT_PAUSE_MS (new connections wait in the listen backlog) and one
 * message per ACCEPT_LOG_MS says how many accepts failed meanwhile.
 * The provided-buffer ring (group RB_NET_BGID) feeds every connection's multishot
 * recv; net/conn.c copies each buffer out at once and returns it
 * (rb_net_buf_return), so a waiting request never holds ring buffers.
 */
#include "net/conn_int.h"
#include "net/replica_fetch.h"
#include "net/net.h"
#include "net/fanout.h"
#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP "network"

static void on_accept(struct rb_io *io, int res, unsigned flags);

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        memset(in, 0, sizeof(*in));
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(*in);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ports[8];
    snprintf(ports, sizeof(ports), "%u", port);
    int r = getaddrinfo(host, ports, &hints, &res);
    if (r || !res)
        return -EADDRNOTAVAIL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int open_listener(const struct rb_broker_config *bc, uint16_t port, bool do_listen,
                         uint16_t *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r = resolve(bc->listener_host, port, &ss, &len);
    if (r)
        return r;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (do_listen && listen(fd, 1024) < 0)) {
        r = -errno;
        close(fd);
        return r;
    }
    if (bound) {
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        getsockname(fd, (struct sockaddr *)&got, &gl);
        *bound = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    }
    return fd;
}

/* The socket inode of a TCP listener on port in /proc/net/tcp or tcp6 (0: none). */
static unsigned long listener_inode(const char *table, uint16_t port)
{
    FILE *f = fopen(table, "r");
    char line[512];
    unsigned long inode = 0;
    if (!f)
        return 0;
    while (!inode && fgets(line, sizeof(line), f)) {
        char local[128];
        unsigned st, lport;
        unsigned long ino;
        if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &ino) != 3)
            continue;
        char *colon = strrchr(local, ':');
        if (colon && sscanf(colon + 1, "%x", &lport) == 1 && lport == port && st == 0x0A)
            inode = ino;
    }
    fclose(f);
    return inode;
}

/* "pid N (comm)" of the process holding socket inode, or "" when not found. */
static void socket_owner(unsigned long inode, char *out, size_t cap)
{
    char want[64], path[300], link[64];
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    out[0] = '\0';
    DIR *proc = opendir("/proc");
    struct dirent *pe;
    while (proc && !out[0] && (pe = readdir(proc))) {
        if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
        DIR *fds = opendir(path);
        struct dirent *fe;
        while (fds && !out[0] && (fe = readdir(fds))) {
            snprintf(path, sizeof(path), "/proc/%s/fd/%s", pe->d_name, fe->d_name);
            ssize_t n = readlink(path, link, sizeof(link) - 1);
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (strcmp(link, want))
                continue;
            char comm[64] = "?";
            snprintf(path, sizeof(path), "/proc/%s/comm", pe->d_name);
            FILE *cf = fopen(path, "r");
            if (cf && fgets(comm, sizeof(comm), cf))
                comm[strcspn(comm, "\n")] = '\0';
            if (cf)
                fclose(cf);
            snprintf(out, cap, "pid %s (%s)", pe->d_name, comm);
        }
        if (fds)
            closedir(fds);
    }
    if (proc)
        closedir(proc);
}

/* Is a fixed port free for us alone? 0, or -EADDRINUSE with err naming the listener. */
static int probe_exclusive(const struct rb_broker_config *bc, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (bc->listener_port == 0 || resolve(bc->listener_host, bc->listener_port, &ss, &len))
        return 0; /* port 0, or an address the real bind reports */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int one = 1, r = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE) {
        char who[128] = "";
        unsigned long ino = listener_inode("/proc/net/tcp", bc->listener_port);
        if (!ino)
            ino = listener_inode("/proc/net/tcp6", bc->listener_port);
        if (ino)
            socket_owner(ino, who, sizeof(who));
        snprintf(err, errlen,
                 "cannot bind listener %s:%u: the port is in use by another process%s%s (%s); "
                 "stop it or choose another port in listeners",
                 bc->listener_host, bc->listener_port, who[0] ? ": " : "", who,
                 strerror(EADDRINUSE));
        r = -EADDRINUSE;
    }
    close(fd);
    return r;
}

static int prebound_fd = -1;

int rb_net_prebind(struct rb_broker *b, char *err, size_t errlen)
{
    uint16_t port = 0;
    int fd = probe_exclusive(b->bc, err, errlen);
    if (fd)
        return fd;
    fd = open_listener(b->bc, b->bc->listener_port, false, &port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot bind listener %s:%u: %s", b->bc->listener_host,
                 b->bc->listener_port, strerror(-fd));
        return fd;
    }
    prebound_fd = fd; /* bound, not listening: holds the port until the shards listen */
    b->bound_port = port;
    return 0;
}

/* Accept back-off: at the fd limit a re-armed multishot accept fails again at
 * once, so the shard would spin (and log) as fast as the ring turns. Keep it off
 * for ACCEPT_PAUSE_MS and log once per ACCEPT_LOG_MS with the count meanwhile. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_MS   10000

static void arm_accept(struct rb_net *n)
{
    struct io_uring_sqe *sqe = rb_sqe(n->shard);
    io_uring_prep_multishot_accept(sqe, n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    rb_sqe_set_io(sqe, &n->accept_io);
    n->accept_armed = true;
}

static int setup_buf_ring(struct rb_net *n)
{
    size_t ring_bytes = n->nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)mem, .ring_entries = n->nbufs, .bgid = RB_NET_BGID};
    int r = rb_ring_register_buf_ring(n->shard, &reg);
    if (r) {
        munmap(mem, ring_bytes);
        return r;
    }
    n->br = mem;
    io_uring_buf_ring_init(n->br);
    /* Address space only: pages are touched as data arrives, so socket.recv.buffers x
     * socket.recv.buffer.bytes at their maxima (512 GiB) reserve nothing. */
    size_t bytes = (size_t)n->nbufs * n->buf_bytes;
    void *bufs = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
    if (bufs == MAP_FAILED)
        return -ENOMEM;
    n->bufs = bufs;
    int mask = io_uring_buf_ring_mask(n->nbufs);
    for (uint32_t i = 0; i < n->nbufs; i++)
        io_uring_buf_ring_add(n->br, n->bufs + (size_t)i * n->buf_bytes, n->buf_bytes,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(n->br, (int)n->nbufs);
    return 0;
}

void rb_net_buf_return(struct rb_net *n, unsigned bid)
{
    io_uring_buf_ring_add(n->br, n->bufs + (size_t)bid * n->buf_bytes, n->buf_bytes,
                          (unsigned short)bid, io_uring_buf_ring_mask(n->nbufs), 0);
    io_uring_buf_ring_advance(n->br, 1);
}

#define RA_IDLE_MS 5000 /* quiet this long: the read-ahead slots are given back */

/* connections.max.idle.ms: how often the sweep looks (a tenth of the limit,
 * 100 ms to 5 s), so a connection is closed within ~10% after its limit and a
 * quiet one's read-ahead goes within two RA_IDLE_MS. */
static int64_t sweep_period_ms(int64_t idle_ms)
{
    return idle_ms < 0 ? RA_IDLE_MS
                       : RB_MAX((int64_t)100, RB_MIN(idle_ms / 10, (int64_t)RA_IDLE_MS));
}

/* Close the connections with nothing received or sent for idle_ms and no request
 * in progress (a parked long poll is not idle), as Kafka's selector does. A
 * connection whose peer does not read its finished responses is idle too (its
 * head response is done and no byte moved): it holds memory and descriptors.
 * One quiet for RA_IDLE_MS gives back its read-ahead slots (their descriptors
 * would keep deleted segments on the disk) and buffers. */
static void idle_sweep(struct rb_timer *t)
{
    struct rb_net *n = RB_CONTAINER_OF(t, struct rb_net, idle_timer);
    struct rb_shard *s = n->shard;
    if (atomic_load(&s->rt->stopping))
        return;
    for (struct rb_conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        bool working = c->q_head && c->q_head->state != RB_REQ_DONE;
        if (c->state != RB_CONN_OPEN || working || c->busy)
            continue;
        if (n->idle_ms >= 0 && s->now_ms - c->last_active_ms >= n->idle_ms)
            rb_conn_close(c, "idle longer than connections.max.idle.ms");
        else if (s->now_ms - c->last_active_ms >= RA_IDLE_MS)
            rb_ahead_idle(c);
    }
    (void)rb_timer_arm(&s->timers, t, rb_deadline_after(s->now_ms, sweep_period_ms(n->idle_ms)));
}

static void idle_start(struct rb_net *n)
{
    const char *v = rb_config_get(n->b->config, "connections.max.idle.ms");
    int64_t ms = 600000; /* Kafka's default */
    if (v && rb_parse_i64(v, -1, INT64_MAX, &ms) != 0)
        ms = 600000;
    n->idle_ms = ms;
    (void)rb_timer_arm(&n->shard->timers, &n->idle_timer,
                       rb_deadline_after(n->shard->now_ms, sweep_period_ms(ms)));
}

static int listen_on_shard(struct rb_net *n)
{
    uint16_t nb = 1;
    while (nb < n->b->bc->recv_buffers && nb < 32768)
        nb <<= 1;
    n->nbufs = nb;
    n->buf_bytes = (uint32_t)n->b->bc->recv_buffer_bytes;
    int r = setup_buf_ring(n);
    if (r) {
        RB_ERROR(COMP, "shard %d: cannot register the receive buffer ring: %s", n->shard->id,
                 strerror(-r));
        return r;
    }
    int fd = open_listener(n->b->bc, n->b->bound_port, true, NULL);
    if (fd < 0) {
        RB_ERROR(COMP, "shard %d: cannot listen on port %u: %s", n->shard->id, n->b->bound_port,
                 strerror(-fd));
        return fd;
    }
    n->listen_fd = fd;
    n->accept_io.cb = on_accept;
    idle_start(n);
    arm_accept(n);
    return 0;
}

void rb_net_close_prebound(void);
void rb_net_close_prebound(void)
{
    if (prebound_fd >= 0)
        close(prebound_fd);
    prebound_fd = -1;
}

static void accept_resume(struct rb_timer *t)
{
    struct rb_net *n = RB_CONTAINER_OF(t, struct rb_net, accept_timer);
    n->accept_paused = false;
    if (!n->accept_armed && !atomic_load(&n->shard->rt->stopping))
        arm_accept(n);
}

static bool accept_fd_limit(int res)
{
    return res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
}

/* Count one event of r; true when its message is due (the first, then one per
 * ACCEPT_LOG_MS): log r->count, the events since the last message, then reset it. */
static bool ratelog_due(struct rb_ratelog *r, int64_t now_ms)
{
    r->count++;
    if (r->logged_ms && now_ms - r->logged_ms < ACCEPT_LOG_MS)
        return false;
    r->logged_ms = now_ms;
    return true;
}

/* The accept failed for lack of descriptors or memory: stop accepting for a while
 * (cancel the multishot if it is still armed), log at most once per interval. */
static void accept_pause(struct rb_net *n, int res)
{
    struct rb_shard *s = n->shard;
    if (ratelog_due(&n->accept_log, s->now_ms)) {
        RB_WARN(COMP,
                "shard %d: accept: %s: not accepting for %d ms at a time (%llu failed accepts "
                "since the last message)",
                s->id, strerror(-res), ACCEPT_PAUSE_MS, (unsigned long long)n->accept_log.count);
        n->accept_log.count = 0;
    }
    if (n->accept_paused)
        return;
    if (n->accept_armed) {
        struct io_uring_sqe *sqe = rb_sqe(s);
        io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)&n->accept_io, 0);
        rb_sqe_set_io(sqe, NULL);
    }
    n->accept_paused = true;
    if (rb_timer_arm(&s->timers, &n->accept_timer, s->now_ms + ACCEPT_PAUSE_MS))
        n->accept_paused = false; /* no timer (out of memory): retry on the next CQE */
}

/* A new connection on fd: admitted against the connection limits (else closed at
 * once, as Kafka closes one over max.connections.per.ip), then net/conn.c's. */
static void accept_conn(struct rb_net *n, int fd)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        ss.ss_family = AF_UNSPEC;
    int32_t slot;
    const char *over = rb_conn_admit(n->b, &ss, &slot);
    if (over) {
        if (ratelog_due(&n->refused_log, n->shard->now_ms)) {
            RB_WARN(COMP,
                    "shard %d: closing a new connection over %s (%llu since the last message)",
                    n->shard->id, over, (unsigned long long)n->refused_log.count);
            n->refused_log.count = 0;
        }
        close(fd);
        return;
    }
    rb_conn_new(n, fd, slot, &ss);
}

static void on_accept(struct rb_io *io, int res, unsigned flags)
{
    struct rb_net *n = RB_CONTAINER_OF(io, struct rb_net, accept_io);
    if (!(flags & IORING_CQE_F_MORE))
        n->accept_armed = false;
    if (res < 0) {
        if (accept_fd_limit(res))
            accept_pause(n, res);
        else if (res != -ECANCELED && res != -EINVAL)
            RB_WARN(COMP, "shard %d: accept: %s", n->shard->id, strerror(-res));
    } else if (atomic_load(&n->shard->rt->stopping)) {
        close(res);
    } else {
        accept_conn(n, res);
    }
    if (!n->accept_armed && !n->accept_paused && !atomic_load(&n->shard->rt->stopping))
        arm_accept(n);
}

/* ---- shard hooks ---- */

int rb_net_shard_start(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    n->shard = s;
    n->ra_cap = rb_part_fd_hold_cap(s->rt ? s->rt->n_shards : 1);
    /* before anything can fail: rb_net_shard_stop cancels them */
    rb_timer_init(&n->accept_timer, accept_resume);
    rb_timer_init(&n->idle_timer, idle_sweep);
    return listen_on_shard(n);
}

void rb_net_shard_turn(struct rb_shard *s)
{
    rb_net_partitions_turn(s->net);
    rb_net_conn_turn(s->net);
    rb_net_lo_turn(s->net);
    rb_part_fd_trim(rb_part_of(s));
}

void rb_net_shard_stop(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    rb_timer_cancel(&s->timers, &n->accept_timer);
    rb_timer_cancel(&s->timers, &n->idle_timer);
    n->accept_paused = false;
    if (n->listen_fd >= 0) {
        if (n->accept_armed) {
            struct io_uring_sqe *sqe = rb_sqe(s);
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)&n->accept_io, 0);
            rb_sqe_set_io(sqe, NULL);
        }
        shutdown(n->listen_fd, SHUT_RDWR);
    }
    for (struct rb_conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        rb_conn_close(c, "broker shutting down");
    }
    rb_rfetch_stop(n);
}

bool rb_net_shard_stop_done(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    /* Keep turning until in-flight flushes are back, so acknowledged data is durable
     * and no write is outstanding when the logs close. */
    rb_net_partitions_turn(n);
    return n->conns == NULL && !n->accept_armed && rb_part_idle(rb_part_of(s)) &&
           rb_rfetch_quiet(n) && rb_net_partitions_quiet(n) && rb_net_lo_idle(n);
}

void rb_net_shard_finish(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    rb_rfetch_free(n);
    rb_net_partitions_finish(n);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->br)
        rb_ring_unregister_buf_ring(s, RB_NET_BGID);
    if (n->bufs)
        munmap(n->bufs, (size_t)n->nbufs * n->buf_bytes);
    n->bufs = NULL;
}
