/*
 * core/defect.h - planted defects for the simulator's self-test (make sim-selftest).
 *
 * RB_DEFECT(NAME) is the constant 0 in every normal build, so a hook such as
 *     if (RB_DEFECT(ACK_BEFORE_SYNC)) ...
 * compiles to nothing. Built with -DRB_SIM_DEFECTS (MODE=simdef), it is true
 * when the simulator switched that one defect on (rb_defect_active), so a
 * single build carries every defect and each run plants at most one. The
 * self-test passes only if every defect is caught by some seed.
 */
#ifndef RB_CORE_DEFECT_H
#define RB_CORE_DEFECT_H

enum rb_defect {
    RB_DEFECT_NONE = 0,
    RB_DEFECT_ACK_BEFORE_SYNC,     /* part/append.c: ack a produce before its fdatasync */
    RB_DEFECT_DROP_FETCH_WAITER,   /* part/read.c: a woken fetch waiter is dropped */
    RB_DEFECT_DEDUP_WINDOW,        /* storage/producer_state.c: newest batch not in the window */
    RB_DEFECT_SKIP_TORN_TRUNCATE,  /* storage/: recovery keeps a torn tail */
    RB_DEFECT_FLUSH_AFTER_ROLL,    /* storage/log_write.c: a flush ending after a roll moves the
                                      new segment's positions (the bug the simulator found) */
    RB_DEFECT_NO_LEADER_LEASE,     /* coord/cluster.c: the leader lease never runs out */
    RB_DEFECT_UNFENCED_CONTROLLER, /* coord/controller.c: writes skip the epoch check */
    RB_DEFECT_HW_ANY_FOLLOWER,     /* part/isr.c: one follower's position, in the ISR or not,
                                      moves the high watermark */
    RB_DEFECT_NO_TRUNCATE,         /* part/epoch.c: a diverged follower keeps its log */
    RB_DEFECT_COUNT
};

extern int rb_defect_active;
extern const char *const rb_defect_names[RB_DEFECT_COUNT];

#ifdef RB_SIM_DEFECTS
#define RB_DEFECT(name) (rb_defect_active == RB_DEFECT_##name)
#else
#define RB_DEFECT(name) 0
#endif

#endif
