/*
 * coord/group.h - the classic consumer group coordinator's state machine (Kafka's
 * "classic" rebalance protocol) and the committed offsets of each group, for the
 * groups of one shard. No I/O and no threads: the network layer (net/h_groups.c)
 * feeds it decoded requests, persists commits, and parks requests in it.
 *
 * Group states (Kafka's): Empty -> PreparingRebalance -> CompletingRebalance ->
 * Stable -> PreparingRebalance ...; Dead only for a deleted group (the machine is
 * drawn, and its transitions asserted, in coord/group.c).
 *   - Join: a new dynamic member at v4+ first gets MEMBER_ID_REQUIRED with a member
 *     id and is "pending" until it joins again with it (or its session timeout).
 *     A join parks the request (struct rb_gwait) until the join phase completes:
 *     every member rejoined and no pending member, or the rebalance timeout (the
 *     largest of the members'), or, for a group that was Empty, the initial delay
 *     (group.initial.rebalance.delay.ms, extended per new member, bounded by the
 *     rebalance timeout). Members that did not rejoin are removed; the generation
 *     increases; the protocol is the one all members support with the most first
 *     preferences; the old leader stays leader if still there.
 *   - Sync: followers park until the leader's SyncGroup brings the assignments.
 *   - Session timeouts expire members (not while they are parked in join/sync).
 *   - Static members (group.instance.id): a rejoin with an empty member id takes
 *     over the instance's member (the old id is fenced: FENCED_INSTANCE_ID). In a
 *     Stable group with unchanged protocols it gets the current generation
 *     without a rebalance; the leader only from JoinGroup v9 (skip_assignment:
 *     it gets the members but must not assign again), older leaders rebalance.
 * Invariants: a parked wait is answered exactly once (its done callback), either
 * from inside the call that parked it or later from a timer or another request;
 * a member has at most one join wait and one sync wait.
 * Offsets: per group, (topic, partition) -> offset, leader epoch, metadata, commit
 * time; only changed after the commit is durable (the caller's job).
 * Expiry (offsets.retention.minutes, Kafka's classic rules): an Empty group's
 * offsets expire once the retention has passed since the group became Empty
 * (state_ts; since the commit for a group without a protocol type or state time:
 * standalone commits, groups loaded from offsets only); a Stable consumer group's
 * offsets of topics no member subscribes to expire by commit time; others never.
 * Persistence (Kafka's GroupMetadata records): mgr->persist is called when the
 * leader's assignment makes the group Stable, when a join phase leaves it Empty,
 * when a static member is replaced in a Stable group, and (tombstone) when a group
 * that has a record is dropped (rb_group_gc). rb_group_load_meta restores a group
 * from such a record (members get a fresh session timeout).
 * Fault model: every input is untrusted (Kafka error codes, never asserts);
 * allocation failure aborts (RB_ASSERT), as elsewhere in the broker.
 */
#ifndef RB_COORD_GROUP_H
#define RB_COORD_GROUP_H

#include "core/kerr.h"
#include "core/list.h"
#include "core/timer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rb_gstate {
    RB_GS_EMPTY = 0,
    RB_GS_PREPARING,  /* PreparingRebalance */
    RB_GS_COMPLETING, /* CompletingRebalance */
    RB_GS_STABLE,
    RB_GS_DEAD,
};
const char *rb_gstate_name(enum rb_gstate s);

struct rb_group;
struct rb_gmember;

/* A request parked in a group. Before done() runs, the group fills err and, when
 * known, g, m and member_id (valid only during the callback). */
struct rb_gwait {
    void (*done)(struct rb_gwait *w);
    int16_t err;
    struct rb_group *g;
    struct rb_gmember *m;
    const char *member_id;
    bool skip_assignment; /* JoinGroup v9+: the leader keeps the current assignment */
};

struct rb_gmember {
    struct rb_gmember *next;
    struct rb_group *group;
    char *id;
    char *instance_id; /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    int n_protocols;
    char **proto_names;
    uint8_t **proto_meta;
    int32_t *proto_meta_len;
    uint8_t *assignment;
    int32_t assignment_len;
    struct rb_gwait *join_wait;
    struct rb_gwait *sync_wait;
    struct rb_timer session_timer;
    bool is_new; /* joined in the current join phase for the first time */
};

struct rb_gpending {          /* a member id handed out with MEMBER_ID_REQUIRED */
    struct rb_list_node link; /* on group->pending */
    struct rb_group *group;
    char *id;
    struct rb_timer timer;
};

struct rb_goffset {
    struct rb_goffset *next;
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_ts;
};

struct rb_group {
    struct rb_group *next;
    int64_t state_ts;  /* wall ms of the last state change (Kafka's currentStateTimestamp) */
    bool persisted;    /* a group metadata record of this group is in the log */
    uint32_t exp_pass; /* last expiry pass that visited the group (the caller's) */
    struct rb_group_mgr *mgr;
    char *id;
    int32_t coord_partition;
    enum rb_gstate state;
    int32_t generation;
    char *protocol_type; /* NULL until the first member joins */
    char *protocol;      /* selected protocol (NULL when none) */
    char *leader;        /* leader member id (NULL when none) */
    struct rb_gmember *members;
    int n_members;
    struct rb_list_node pending; /* rb_gpending.link, newest last */
    struct rb_timer join_timer;
    int64_t join_start_ms;
    bool initial_delay; /* join phase of a group that was Empty: wait the full delay */
    bool new_in_delay;  /* a member joined since the initial delay was (re)armed */
    struct rb_goffset *offsets;
    int n_offsets;
};

struct rb_group_mgr {
    struct rb_timers *timers;
    const int64_t *now_ms; /* the owner's monotonic clock */
    int32_t initial_delay_ms;
    int32_t min_session_ms, max_session_ms; /* group.{min,max}.session.timeout.ms */
    int32_t max_size;                       /* group.max.size */
    /* The largest group metadata record the group's __consumer_offsets partition
     * takes (its max.message.bytes): a join or an assignment that would make the
     * record larger is refused (rb_group_record_bytes). */
    int64_t max_record_bytes;
    int32_t n_partitions; /* of __consumer_offsets */
    struct rb_group *groups;
    int n_groups;
    uint64_t member_seq;
    int64_t (*wall_ms)(void); /* wall clock (state_ts); rb_wall_ms unless a test sets it */
    /* Write g's group metadata record (tombstone: its deletion); NULL: none. Not
     * called while loading is set (records being read back). */
    void (*persist)(struct rb_group_mgr *mgr, struct rb_group *g, bool tombstone);
    bool loading;
};

void rb_group_mgr_init(struct rb_group_mgr *mgr, struct rb_timers *timers, const int64_t *now_ms,
                       int32_t initial_delay_ms, int32_t n_partitions);
/* Answer every parked wait with err and free everything (shutdown, tests). */
void rb_group_mgr_free(struct rb_group_mgr *mgr, int16_t err);
/* Forget the groups of one __consumer_offsets partition (this broker stopped
 * leading it): their parked waits are answered with err (NOT_COORDINATOR: the
 * clients find the new coordinator), nothing is persisted; the partition's new
 * leader loads them from its log. Returns the number of groups dropped. */
int rb_group_mgr_unload(struct rb_group_mgr *mgr, int32_t partition, int16_t err);

/* Kafka's placement: abs(java String.hashCode(id)) % n (Utils.abs: INT_MIN -> 0). */
int32_t rb_group_partition_for(const char *id, size_t len, int32_t n_partitions);
/* java.lang.String.hashCode of a UTF-8 string (UTF-16 code units). */
int32_t rb_java_string_hash(const char *s, size_t len);

struct rb_group *rb_group_find(struct rb_group_mgr *mgr, const char *id);
struct rb_group *rb_group_get_or_create(struct rb_group_mgr *mgr, const char *id);
/* Remove and free a group (answers its parked waits with UNKNOWN_MEMBER_ID). */
void rb_group_remove(struct rb_group_mgr *mgr, struct rb_group *g);
/* Free an Empty group without offsets or pending members (Kafka drops those). */
void rb_group_gc(struct rb_group_mgr *mgr, struct rb_group *g);
/* DeleteGroups: an Empty group turns Dead while its tombstones are appended (joins
 * and commits get COORDINATOR_NOT_AVAILABLE and retry); then rb_group_remove, or,
 * when the append failed, rb_group_delete_abort makes it Empty again. */
void rb_group_delete_begin(struct rb_group *g);
void rb_group_delete_abort(struct rb_group *g);

struct rb_gjoin {
    const char *group_id, *member_id, *instance_id; /* instance_id NULL: dynamic */
    const char *client_id, *client_host, *protocol_type;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    int n_protocols;
    const char *const *proto_names;
    const uint8_t *const *proto_meta;
    const int32_t *proto_meta_len;
    bool require_known_member_id;  /* JoinGroup v4+ */
    bool supports_skip_assignment; /* JoinGroup v9+ */
};
/* Join; w->done runs now (error, MEMBER_ID_REQUIRED, current generation) or when
 * the join phase completes. */
void rb_group_join(struct rb_group_mgr *mgr, const struct rb_gjoin *in, struct rb_gwait *w);

struct rb_gsync {
    const char *group_id, *member_id, *instance_id;
    const char *protocol_type, *protocol_name; /* NULL: not sent (before v5) */
    int32_t generation;
    int n_assign;
    const char *const *assign_member;
    const uint8_t *const *assign;
    const int32_t *assign_len;
};
/* Sync; w->done runs now or when the leader's assignment arrives (then w->m's
 * assignment is the member's). */
void rb_group_sync(struct rb_group_mgr *mgr, const struct rb_gsync *in, struct rb_gwait *w);

int16_t rb_group_heartbeat(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                           const char *member_id, const char *instance_id);
/* One member leaving (member_id "" with an instance_id: by instance). */
int16_t rb_group_leave(struct rb_group_mgr *mgr, const char *group_id, const char *member_id,
                       const char *instance_id);
/* May this commit go ahead? On success *out is the group (created for a simple,
 * generation < 0 commit to an unknown group). */
int16_t rb_group_commit_check(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                              const char *member_id, const char *instance_id,
                              struct rb_group **out);
/* Can the group be deleted (Empty or Dead)? */
int16_t rb_group_delete_check(struct rb_group_mgr *mgr, const char *group_id);
/* Is topic in any member's consumer subscription (for OffsetDelete)? */
bool rb_group_subscribed(const struct rb_group *g, const char *topic);

struct rb_goffset *rb_group_offset_get(struct rb_group *g, const char *topic, int32_t partition);
void rb_group_offset_put(struct rb_group *g, const char *topic, int32_t partition, int64_t offset,
                         int32_t leader_epoch, const char *metadata, int64_t commit_ts);
bool rb_group_offset_del(struct rb_group *g, const char *topic, int32_t partition);

/* Expire g's offsets per Kafka's rules at wall time now (see above): fn (may be
 * NULL) sees each expired offset, which is then removed. Returns how many. The
 * caller then calls rb_group_gc (an Empty group left without offsets is dropped). */
int rb_group_expire_offsets(struct rb_group *g, int64_t now, int64_t retention_ms,
                            void (*fn)(void *arg, struct rb_group *g, const struct rb_goffset *o),
                            void *arg);

/* A group metadata record (Kafka's GroupMetadataValue), decoded. Strings are
 * NUL-terminated; protocol, leader and instance_id may be NULL. */
struct rb_gmeta_member {
    const char *id, *instance_id, *client_id, *client_host;
    int32_t rebalance_timeout_ms, session_timeout_ms;
    const uint8_t *subscription, *assignment;
    int32_t subscription_len, assignment_len;
};
struct rb_gmeta {
    const char *protocol_type; /* "" : none */
    int32_t generation;
    const char *protocol, *leader;
    int64_t state_ts; /* -1: unknown (value versions 0-1) */
    int n_members;
    struct rb_gmeta_member *members;
};
/* Restore group id from a record (Empty without members, else Stable); replaces
 * the group's membership. meta NULL: a tombstone (membership cleared, the group
 * dropped unless it has offsets). */
void rb_group_load_meta(struct rb_group_mgr *mgr, const char *id, const struct rb_gmeta *meta);

/* The size of g's group metadata value as rb_gmeta_write encodes it (version 3),
 * with the member in's metadata (its largest protocol's: the selection is not made
 * yet) in place of the metadata of member in->member_id, or added when in names no
 * member; in NULL: the group as it is. Assignments count as they are now. */
int64_t rb_group_record_bytes(const struct rb_group *g, const struct rb_gjoin *in);

struct rb_gmember *rb_group_member(struct rb_group *g, const char *member_id);
/* The metadata of m for the group's selected protocol (NULL, 0 when none). */
const uint8_t *rb_group_member_meta(const struct rb_group *g, const struct rb_gmember *m,
                                    int32_t *len);

#endif
