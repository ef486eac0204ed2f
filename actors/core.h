/* core.h — the core's internal types and the functions its files share.
 *
 * Ownership rules a reader cannot see in the types:
 *  - A tri_actor is a slot in its system's table. Slots are allocated in
 *    chunks and never freed before the system is, so a pointer to one stays
 *    dereferenceable even after its actor ended; `serial` says which actor
 *    (if any) lives there now.
 *  - The mailbox belongs to the slot, not to one actor: it goes on across
 *    incarnations, and whoever consumes it drops messages whose dest_serial
 *    is not the current serial as dead letters.
 *  - Fields under "incarnation" are written by the spawner before the INIT
 *    message is pushed (which publishes them), then only by the actor's own
 *    turns; except `parent_flags` and `stop_timer`, which belong to the
 *    parent, and the tree links, which the parent (or the root) maintains.
 *  - A child's slot is released by its parent when the parent handles the
 *    child's EXIT message, so the parent can still read the child's exit
 *    reason and path then. */
#ifndef TRI_CORE_H
#define TRI_CORE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mailbox.h"
#include "msg_impl.h"
#include "peer_set.h"
#include "platform.h"
#include "troupe.h"

typedef struct tri_actor tri_actor;
typedef struct tri_worker tri_worker;
typedef struct tri_inbox_state tri_inbox_state;
typedef struct tri_timers tri_timers;
typedef struct tri_registry tri_registry;
typedef struct tri_offload tri_offload;
struct tri_transport_ref;

enum tri_slot_kind { TRI_SLOT_ACTOR = 0, TRI_SLOT_INBOX = 1 };

enum tri_actor_state {
    TRI_ST_FREE = 0,
    TRI_ST_STARTING, /* spawned, init not run yet */
    TRI_ST_RUNNING,
    TRI_ST_STOPPING, /* stopping its children, then terminate */
    TRI_ST_DEAD,     /* ended; the parent has not released the slot yet */
};

/* tri_actor.flags (the actor's own) */
enum {
    TRI_F_TRAP_EXITS = 1u << 0,
    TRI_F_INIT_OK = 1u << 1,  /* init returned 0: terminate is owed */
    TRI_F_IGNORED = 1u << 2,  /* init returned TR_INIT_IGNORE */
    TRI_F_IS_ROOT = 1u << 3,
    TRI_F_STOP_SELF = 1u << 4, /* tr_stop called in this callback */
    TRI_F_FAIL_SELF = 1u << 5, /* tr_fail called in this callback */
    TRI_F_KILL_SENT = 1u << 6, /* killing: every child gets a kill */
    TRI_F_TIMERS = 1u << 7,    /* has owned timers at some point */
    TRI_F_REPLIED = 1u << 8,   /* the current request was answered */
    TRI_F_DEFER_STARTED = 1u << 9,  /* tr_defer_started was called */
    TRI_F_STARTED_SENT = 1u << 10,  /* "tr.started" went out (or none due) */
    TRI_F_PARALLEL_STOP = 1u << 11, /* stop all children at once */
    TRI_F_NOTIFY_ASKED = 1u << 12,  /* tr_notify_started called inside init */
    TRI_F_ENDING = 1u << 13,        /* in terminate or after: the reason is final */
    TRI_F_ALL_ASKED = 1u << 14,     /* every child was asked to stop */
    TRI_F_ALL_KILLED = 1u << 15,    /* every child was sent a kill */
    TRI_F_KILL_GRACE = 1u << 16,    /* a kill's grace timer is armed (lifecycle.c) */
};

#define TRI_CAPACITY_MAX ((1u << 30) - 1)
static inline uint32_t tri_bound_cap(uint32_t b) { return b & TRI_CAPACITY_MAX; }
static inline uint32_t tri_bound_policy(uint32_t b) { return b >> 30; }

/* tri_actor.parent_flags (written by the parent only) */
enum {
    TRI_PF_STOP_REQUESTED = 1u << 0,
    TRI_PF_KILL_REQUESTED = 1u << 1,
};

/* A failure report keeps its first TRI_RECORDS_HEAD lines (the deepest
 * failures) and its last TRI_RECORDS_TAIL, and counts the lines between. */
#define TRI_RECORDS_HEAD 32
#define TRI_RECORDS_TAIL 32

/* One failed actor's line in the root's report: "<path>: <reason>". */
typedef struct tri_record {
    struct tri_record *next;
    char line[];
} tri_record;

/* Rarely used per-actor data, allocated on first need. */
/* A call this actor made and awaits (caller side). */
typedef struct tri_call {
    uint64_t ref;   /* 0: empty slot; UINT64_MAX: deleted */
    uint64_t timer; /* its timeout timer, 0: none */
    tr_call_fn fn;  /* its continuation (tr_call_then), NULL: to handle */
    void *cookie;   /* fn's; the caller's to free */
} tri_call;

/* A request this actor received and has not answered (callee side), in an
 * open-addressing table keyed by (caller, ref): call.c. */
typedef struct tri_request {
    tr_pid caller; /* nil: empty; serial UINT64_MAX: deleted */
    uint64_t ref;
    int64_t deadline_ns; /* the caller stops waiting then: forgotten after */
} tri_request;

typedef struct tri_actor_ext {
    /* handles of the timers it armed, some maybe fired or cancelled since
     * (timer.c sweeps them); the owner's thread only */
    uint64_t *timers;
    uint32_t timers_n, timers_cap;
    tri_peer_set monitors; /* monitors this actor holds (watcher side), by ref */
    tri_peer_set watchers; /* monitors on this actor (target side), by (pid, ref) */
    tri_peer_set links;    /* by pid (ref 0) */
    uint64_t next_ref; /* refs of calls and monitors */
    tri_call *calls; /* open addressing, power-of-two capacity */
    uint32_t calls_cap, calls_used;
    const tr_msg *current; /* the request being handled, if any */
    tri_request *requests; /* unanswered requests (table) */
    uint32_t requests_cap, requests_used, requests_live, requests_prune_at;
    tr_pid started_to;   /* where "tr.started" goes; nil: nowhere */
    /* Set at spawn, never changed: the actor's end goes here as a
     * "tr.exit" instead of to its parent's strategy (the parent takes it
     * as trapped): tri_spawn_reporting. Nil: none. */
    tr_pid exit_to;
    uint8_t stop_kind;   /* the reason tr_stop_reason asked for */
    uint64_t restarts;   /* a supervisor's restarts (introspection) */
    /* introspection (inspect.c): the deepest its mailbox was seen (bounded
     * mailboxes: at every pop; others: when inspected), children that
     * ended abnormally, the last of them ("<path>: <kind>[: <text>]",
     * malloc'd) and when (tri_now_ns) */
    uint64_t peak_mailbox;
    uint64_t child_failures;
    char *last_failure;
    int64_t last_failure_ns;
    char *exit_text;     /* failure reason */
    tri_record *records; /* failures in this subtree, deepest first */
    tri_record *records_tail;
    uint32_t nrecords;        /* in the list (bounded: lifecycle.c) */
    uint64_t records_omitted; /* dropped from the middle of the list */
    /* An actor that stands for something outside this system (a child on
     * another node, an OS process) ends only once that has: a stopping
     * actor with no children left asks settle, which starts ending the
     * outside thing (once, and again with kill true when the actor is
     * being killed) and returns true once it is gone; until then the
     * actor waits, and whoever learns of the end calls tri_continue_stop.
     * Set by the behaviour's init; the parent's shutdown timer and kill
     * grace still bound the wait. */
    bool (*settle)(tri_actor *a, bool kill);
} tri_actor_ext;

/* A slot is three cache lines. Line 0 is for senders: the mailbox head
 * they exchange (at its end), the identity serial they check, the bounded
 * count; the actor itself never writes it while running. Lines 1-2 are the
 * actor's: the consumer end of the mailbox, its liveness, its tree. Were
 * the two sides on one line, every message would move that line between
 * the sender's and the receiver's cores twice (measured: 97% of a send's
 * time was that exchange). Tree links are slot refs (index + 1) to fit. */
struct tri_actor {
    /* ---- line 0: written by senders (and the parent, rarely) ---- */
    _Atomic uint64_t serial;  /* identity: from spawn until the slot is released */
    tr_system *sys;           /* immutable */
    _Atomic uint32_t mb_count; /* bounded mailboxes: user messages queued */
    _Atomic uint32_t bound;    /* capacity | policy << 30; 0: unbounded */
    uint32_t index;            /* immutable: slot number */
    uint32_t free_next;        /* free list link: index + 1, 0 = end */
    int32_t shutdown_ms;       /* set at spawn */
    uint8_t kind;              /* immutable: enum tri_slot_kind */
    uint8_t parent_flags;      /* TRI_PF_*, the parent's */
    uint16_t pad0;
    uint64_t stop_timer;       /* the parent's timer killing this child */
    _Atomic uintptr_t hold;    /* TRI_HOLD_*: a spawn not yet done (spawn.c) */
    tri_mailbox mb;            /* mb.head ends line 0; mb.tail starts line 1 */
    /* ---- lines 1-2: the actor's own ---- */
    _Atomic uint64_t live_serial; /* == serial while alive, 0 once ended */
    _Atomic uint64_t signal;      /* serial << 4 | TRI_SIG_*: see below */
    const tr_behaviour *beh;
    void *state_mem;
    tri_actor *parent;
    char *name;                   /* explicit name, or NULL: immutable while alive */
    tri_actor_ext *ext;           /* the actor's own until its EXIT is handled */
    union {
        tri_inbox_state *inbox;   /* TRI_SLOT_INBOX: immutable */
        uint64_t msgs_in;         /* TRI_SLOT_ACTOR: messages handled */
    } u;
    uint64_t msgs_out;            /* messages this actor sent */
    uint32_t first_child, last_child; /* refs; its own */
    uint32_t prev_sib, next_sib;      /* refs; its parent's */
    uint32_t run_next;                /* ref: link in the global run queue */
    uint32_t nchildren;
    uint8_t state;                /* enum tri_actor_state */
    uint8_t exit_kind;            /* tr_exit_kind once stopping */
    uint16_t named;               /* 1: it may hold names (registry.c);
                                   * __atomic only: tr_register sets it
                                   * from any thread */
    uint32_t flags;               /* TRI_F_* */
} __attribute__((aligned(TRI_CACHE_LINE)));

_Static_assert(sizeof(struct tri_actor) == 3 * TRI_CACHE_LINE, "slot: three cache lines");

/* The signal word: requests from the parent, stamped with the incarnation
 * they are for, and the one decision that needs both sides. STOP and KILL
 * are the parent's requests. At a child's shutdown deadline the parent
 * sets ABANDON (a CAS) to stop waiting for a child stuck in a callback;
 * the child, ending, sets FINISHED (a CAS) before it sends its EXIT.
 * Whoever sets theirs first decides: ABANDON, and the parent has counted
 * the child killed and gone on, so the child releases its own slot and
 * sends no EXIT; FINISHED, and the parent waits for the EXIT as usual. */
enum { TRI_SIG_STOP = 1, TRI_SIG_KILL = 2, TRI_SIG_ABANDON = 4, TRI_SIG_FINISHED = 8 };
#define TRI_SIG_SHIFT 4
#define TRI_KILL_GRACE_MS 100 /* a killed child stuck longer is abandoned */

/* Whether `a`'s parent has abandoned it (its deadline passed while a
 * callback ran): nothing it does from now takes effect. */
static inline bool tri_abandoned(const tri_actor *a)
{
    uint64_t sig = atomic_load_explicit((_Atomic uint64_t *)&a->signal, memory_order_acquire);
    return (sig & TRI_SIG_ABANDON) &&
           sig >> TRI_SIG_SHIFT ==
               atomic_load_explicit((_Atomic uint64_t *)&a->live_serial, memory_order_relaxed);
}

/* The hold word: between pushing an actor's INIT and finishing its
 * setup (registering its name, linking it to its parent, arming its
 * deadline) the spawner holds the actor, so that no worker runs it while
 * the spawner still writes its fields, and no message sent by name in
 * that window runs before init. INIT goes in first, so it stays first.
 * A worker that pops a held INIT puts it back (tri_mailbox_unpop), marks
 * the hold WAITING and ends the turn without marking the mailbox empty;
 * the spawner, done, clears the hold and schedules the actor when it
 * holds the mailbox's schedule token (its INIT push found the mailbox
 * empty) or finds WAITING. */
enum { TRI_HOLD_NONE = 0, TRI_HOLD_SPAWNING = 1, TRI_HOLD_WAITING = 2 };

/* Whether `a`'s parent asked it to stop (a request it times: at the
 * child's shutdown time it sends a kill), rather than `a` stopping by
 * itself. */
static inline bool tri_stop_requested(const tri_actor *a)
{
    uint64_t sig = atomic_load_explicit((_Atomic uint64_t *)&a->signal, memory_order_acquire);
    return (sig & (TRI_SIG_STOP | TRI_SIG_KILL)) &&
           sig >> TRI_SIG_SHIFT ==
               atomic_load_explicit((_Atomic uint64_t *)&a->live_serial, memory_order_relaxed);
}

/* The slot table: chunks of TRI_CHUNK slots, and two free lists. */
#define TRI_CHUNK_BITS 10
#define TRI_CHUNK (1u << TRI_CHUNK_BITS)
#define TRI_MAX_CHUNKS 16384 /* 16M slots */

typedef struct tri_slots {
    _Atomic(tri_actor *) chunks[TRI_MAX_CHUNKS];
    _Atomic uint32_t nchunks;
    pthread_mutex_t grow_mu;
    _Atomic uint64_t free_head[2]; /* per kind: tag << 32 | (index + 1) */
} tri_slots;

/* The scheduler's per-worker state. */
#define TRI_RING 256
struct tri_worker {
    _Atomic uint32_t head; /* next to take: owner and thieves (CAS) */
    _Atomic uint32_t tail; /* next free: owner only */
    _Atomic(tri_actor *) ring[TRI_RING];
    _Atomic(tri_actor *) lifo; /* the actor woken last: runs next */
    _Atomic uint64_t turns;    /* turns begun; thieves and sysmon spot long turns */
    _Atomic bool in_turn;
    /* The actor whose turn runs here (NULL between turns): a tr_ctx is
     * valid only on its worker during its turn, and sysmon names it. */
    _Atomic(tri_actor *) current;
    _Atomic uint64_t callbacks; /* messages dispatched; sysmon spots long callbacks */
    /* Set by sysmon (the turn used its time slice) or by whoever queued
     * work from outside while every worker was busy: end the turn at the
     * next message and look at the global queue first. Owner clears it. */
    _Atomic bool preempt;
    /* counters kept per worker so that hot paths share no cache line;
     * written by the owner only (relaxed load + store), summed by stats */
    _Atomic uint64_t n_sent, n_spawned, n_ended, n_dead, n_handled;
    /* activations this worker began (scheduled an actor whose mailbox went
     * non-empty) and ended (a turn left the mailbox empty): the system is
     * quiet when all begun equal all ended (tri_sched_quiet) */
    _Atomic uint64_t n_begun, n_done;
    /* retiring an actor's slot (its name freed, the slot released): sysmon
     * waits for it before it reads a path (lifecycle.c, tri_retire_begin) */
    _Atomic bool retiring;
    uint32_t turn_sends; /* sends in the current turn: see tri_sent_in_turn */
    tr_system *sys;
    unsigned id;
    uint32_t tick, lifo_streak;
    uint32_t rng;
    pthread_t thread;
    pthread_cond_t park_cv; /* under sched park_mu */
    bool parked, wake;
    /* thief's view of each victim: last turn count seen and when */
    uint64_t *seen_turns;
    int64_t *seen_at;
    /* sysmon's view of this worker (sysmon thread only) */
    uint64_t mon_turns, mon_callbacks;
    int64_t mon_turn_since, mon_cb_since;
    bool mon_warned, mon_stuck_told;
} __attribute__((aligned(TRI_CACHE_LINE)));

enum { TRI_GQ_INJECT = 0, TRI_GQ_SPILL = 1 };

/* What sysmon is doing (tri_sched.mon_idle). */
enum tri_mon_state {
    TRI_MON_TICKING = 0, /* looks every tick: nobody need signal it */
    TRI_MON_ASLEEP = 1,  /* everything idle: new work (wake_one) and the
                          * guest's first turn (guest_begin) signal it */
    TRI_MON_SLOW = 2,    /* only the guest runs turns: it looks every
                          * TRI_MON_SLOW_TICKS ticks; new work for the
                          * workers signals it, the guest's turns do not */
};

typedef struct tri_sched {
    /* n worker threads, then one slot for a guest (tri_sched_guest_attach) */
    tri_worker *workers;
    unsigned n;
    /* the slots others look at (stealing, quiescence, stats, sysmon): n, or
     * n + 1 once a guest is attached */
    _Atomic unsigned nvis;
    unsigned batch;
    pthread_mutex_t gq_mu; /* global queue: outside schedules, spills */
    tri_actor *gq_head[2], *gq_tail[2]; /* [TRI_GQ_INJECT], [TRI_GQ_SPILL] */
    uint32_t gq_pops;
    _Atomic size_t gq_len;
    _Atomic uint64_t n_begun_foreign; /* activations begun off the workers */
    pthread_mutex_t park_mu;
    _Atomic int nparked;
    _Atomic int nspinning;
    _Atomic bool quit;
    /* sysmon (sysmon.c): time slices, stranded work, long callbacks */
    pthread_t mon_thread;
    pthread_cond_t mon_cv; /* under park_mu */
    bool mon_started;
    /* sysmon's state (enum tri_mon_state), written under park_mu: who must
     * signal mon_cv when work comes */
    _Atomic int mon_idle;
    /* the guest's (tri_sched_guest_attach): called by sysmon when one of
     * its callbacks has run a slice, so that its own job can move */
    void (*guest_stuck)(void *arg);
    void *guest_arg;
    int64_t slice_ns;      /* a turn longer than this is preempted */
    int64_t long_cb_ns;    /* a callback longer than this is logged; 0: never */
} tri_sched;

struct tr_system {
    tri_sched sched;
    struct tr_clock *clock; /* NULL: the real monotonic clock */
    tri_slots slots;
    tri_timers *timers;
    tri_registry *registry;
    tri_offload *offload;
    uint32_t node;
    _Atomic uint64_t next_serial;
    tri_actor *root;
    tr_pid root_pid;
    /* foreign spawns under the root: see root.c */
    pthread_mutex_t root_mu;
    bool root_closed;
    uint64_t adopts_sent, adopts_seen;
    bool root_run_mode; /* root's turn only */
    /* ending */
    _Atomic bool stop_requested; /* set by tr_system_stop (signal-safe) */
    _Atomic bool run_called;
    pthread_mutex_t end_mu;
    pthread_cond_t end_cv;
    bool ended;
    int result;
    char *report;
    /* senders blocked on full TR_FULL_BLOCK mailboxes */
    pthread_mutex_t block_mu;
    pthread_cond_t block_cv;
    _Atomic int blocked;
    /* dead-letter subscriber */
    pthread_mutex_t dl_mu;
    tr_pid dl_to;
    _Atomic bool dl_on;
    /* counters */
    _Atomic uint64_t actors_ended, actors_spawned, dead_letters, sent, dropped, handled;
    _Atomic uint32_t inboxes_live;
    _Atomic uint32_t abandoned_live; /* abandoned actors not yet disposed of */
    _Atomic bool path_reading; /* sysmon reads a running actor's path: retirements wait */
    /* counted among the proc thread's users (proc_os.c; under its lock) */
    bool proc_used;
    /* the transport, once the system is a node (remote.c, transport.h) */
    _Atomic(struct tri_transport_ref *) transport;
};

/* The thread-local identity of the calling thread, if it is a worker. */
extern _Thread_local tri_worker *tri_current_worker;

enum tri_counter { TRI_N_SENT, TRI_N_SPAWNED, TRI_N_ENDED, TRI_N_DEAD, TRI_N_HANDLED };

/* sched.c: every TRI_SHARE_EVERY sends within one turn, the actor waiting
 * in this worker's LIFO slot is moved where other workers can take it: a
 * handler that floods a receiver must not keep it off the other cores. */
#define TRI_SHARE_EVERY 64
void tri_share_lifo(tri_worker *w);

static inline void tri_sent_in_turn(tri_worker *w)
{
    if (TRI_UNLIKELY(++w->turn_sends % TRI_SHARE_EVERY == 0)) tri_share_lifo(w);
}

/* Adds 1 to a counter: the calling worker's own, or the system's shared
 * one from other threads. */
static inline void tri_count(tr_system *sys, enum tri_counter c)
{
    tri_worker *w = tri_current_worker;
    _Atomic uint64_t *p;
    if (w && w->sys == sys) {
        p = c == TRI_N_SENT ? &w->n_sent
          : c == TRI_N_SPAWNED ? &w->n_spawned
          : c == TRI_N_ENDED ? &w->n_ended
          : c == TRI_N_DEAD ? &w->n_dead : &w->n_handled;
        atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    p = c == TRI_N_SENT ? &sys->sent
      : c == TRI_N_SPAWNED ? &sys->actors_spawned
      : c == TRI_N_ENDED ? &sys->actors_ended
      : c == TRI_N_DEAD ? &sys->dead_letters : &sys->handled;
    atomic_fetch_add_explicit(p, 1, memory_order_relaxed);
}

/* slots.c */
int tri_slots_init(tri_slots *s);
void tri_slots_fini(tr_system *sys);
tri_actor *tri_slot_alloc(tr_system *sys, int kind);
void tri_slot_release(tr_system *sys, tri_actor *a);
/* The slot with that index, or NULL; any thread (inline: every send). */
static inline tri_actor *tri_slot_lookup(tr_system *sys, uint32_t index);

/* sched.c */
int tri_sched_start(tr_system *sys, unsigned workers, unsigned batch);
void tri_sched_stop(tr_system *sys);
void tri_schedule(tr_system *sys, tri_actor *a);
bool tri_sched_quiet(tr_system *sys);
bool tri_sched_any_work(tr_system *sys);
unsigned tri_sched_rescue(tri_worker *w);
bool tri_sched_has_local(tri_worker *w);

static inline unsigned tri_sched_nvis(tri_sched *s)
{
    return atomic_load_explicit(&s->nvis, memory_order_acquire);
}

/* The guest: one thread that is not a worker (a transport's I/O thread)
 * runs, between its own jobs, the actors it makes runnable. With
 * tri_current_worker set to the guest, what it schedules lands in the
 * guest's LIFO slot and ring, which the workers steal from and sysmon
 * watches as they do a worker's: a message from another node is handled
 * on the thread that read it, and the reply goes out from there, with no
 * thread woken in between (docs/architecture.md, "The I/O thread runs
 * turns"). A callback of the guest's that runs a time slice is told to
 * `stuck` (from sysmon's thread, once per callback): the guest's own job
 * stalls meanwhile, so it should hand it to another thread. At most one
 * guest per system, attached for good; NULL if taken. */
tri_worker *tri_sched_guest_attach(tr_system *sys, void (*stuck)(void *arg), void *arg);
/* Runs up to `max` turns of the actors queued on the guest; returns how
 * many ran. Guest thread only, with tri_current_worker == g. */
unsigned tri_sched_guest_run(tri_worker *g, unsigned max);
/* Whether the guest has actors queued. Any thread. */
static inline bool tri_sched_guest_has_work(tri_worker *g) { return tri_sched_has_local(g); }

/* sysmon.c. The time slice: Erlang's is about 1 ms of reductions, Go's
 * sysmon preempts after 10 ms; 1 ms keeps a ping-pong's round trips fast
 * and bounds the wait of a runnable actor behind busy ones (README,
 * "Scheduler"). */
#define TRI_SLICE_NS_DEFAULT 1000000
#define TRI_LONG_CB_NS_DEFAULT 100000000
int tri_sysmon_start(tr_system *sys);

/* The actor a tr_ctx stands for, when the call is legal: on its worker,
 * during its turn. NULL otherwise (a NULL ctx, one kept from an earlier
 * callback, one used from another thread, or not a ctx at all). */
static inline tri_actor *tri_ctx_any(const tr_ctx *ctx)
{
    tri_worker *w = tri_current_worker;
    if (TRI_UNLIKELY(!ctx || !w ||
                     atomic_load_explicit(&w->current, memory_order_relaxed) != (tri_actor *)ctx))
        return NULL;
    return (tri_actor *)ctx;
}

/* tri_ctx_any for calls that act: also NULL once the actor's parent has
 * abandoned it (core.h, the signal word), so nothing it does then takes
 * effect. Reading calls (tr_self, tr_path) use tri_ctx_any. */
static inline tri_actor *tri_ctx(const tr_ctx *ctx)
{
    tri_actor *a = tri_ctx_any(ctx);
    return a && TRI_UNLIKELY(tri_abandoned(a)) ? NULL : a;
}

/* The error for a ctx tri_ctx refused: TR_ESTOPPED for an abandoned
 * actor (it is stopping), TR_ENOTACTOR otherwise. */
static inline int tri_ctx_err(const tr_ctx *ctx) { return tri_ctx_any(ctx) ? TR_ESTOPPED : TR_ENOTACTOR; }

/* actor.c */
void tri_run_turn(tri_worker *w, tri_actor *a);
int tri_deliver(tr_system *sys, tr_pid to, tr_msg *m);
/* registry.c: tri_deliver to a name: "name" here, "name@node" resolved on
 * that node when it arrives (this node's own name: here). Takes `m`.
 * TR_ENOENT: no such name here; TR_EINVAL: a malformed "name@node". */
int tri_deliver_to_name(tr_system *sys, const char *name, tr_msg *m);
/* remote.c: a message (or runtime signal) for a pid of another node, to
 * the transport; takes `m`. TR_ENOROUTE when the system is not a node. */
int tri_remote_send(tr_system *sys, tr_pid to, tr_msg *m);
int tri_remote_send_named(tr_system *sys, const char *node, const char *name, tr_msg *m);
void tri_transport_destroy(tr_system *sys);
void tri_transport_stop(tr_system *sys); /* ops->stop, if the system is a node */

/* tri_deliver for the timer thread: a full bounded mailbox drops the
 * message (counted) instead of failing or blocking. */
#define TRI_NO_WAIT (-2)
int tri_deliver_nowait(tr_system *sys, tr_pid to, tr_msg *m);
/* tri_deliver for a non-actor sender that waits at most timeout_ms
 * (negative: forever) for room in a full TR_FULL_BLOCK mailbox
 * (TR_ETIMEDOUT then, `m` freed). */
int tri_deliver_timed(tr_system *sys, tr_pid to, tr_msg *m, int64_t timeout_ms);
void tri_push(tr_system *sys, tri_actor *a, tr_msg *m);
int tri_spawn(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
              const tr_spawn_opts *opts, tr_pid *out);
/* tri_spawn_reporting (hooks.h) is tri_spawn under the root with the
 * actor's exit going to `exit_to` (tri_actor_ext.exit_to). */
int tri_send_sys(tr_system *sys, tri_actor *to, uint64_t serial, uint8_t kind,
                 const void *payload, size_t size);
void tri_dead_letter(tr_system *sys, tr_msg *m, uint32_t slot);
/* The same for a receiver named by pid (maybe on another node) and a
 * reason; the message stays the caller's to free. */
void tri_dead_letter_to(tr_system *sys, tr_msg *m, tr_pid to, tr_dead_reason reason);
void tri_handle_now(tri_actor *a, tr_msg *m);
void tri_msg_popped(tri_actor *a, tr_msg *m, bool *drop);
void tri_count_drop(tr_system *sys);
int tri_send_from(tr_system *sys, tr_pid from, tr_pid to, tr_atom type,
                  const void *data, size_t size);
int tri_muted_send(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size);
void tri_request_stop(tri_actor *parent, tri_actor *child);
void tri_record_add(tri_actor *a, const char *line);
size_t tri_actor_path(const tri_actor *a, char *buf, size_t size);
char *tri_name_dup(const char *s); /* NULL when out of memory */
void tri_name_free(char *s);
tri_actor_ext *tri_ext(tri_actor *a);

static inline tri_actor *tri_slot_lookup(tr_system *sys, uint32_t index)
{
    uint32_t c = index >> TRI_CHUNK_BITS;
    if (TRI_UNLIKELY(c >= TRI_MAX_CHUNKS)) return NULL;
    tri_actor *chunk = atomic_load_explicit(&sys->slots.chunks[c], memory_order_acquire);
    return chunk ? &chunk[index & (TRI_CHUNK - 1)] : NULL;
}

static inline uint64_t tri_serial(const tri_actor *a)
{
    return atomic_load_explicit((_Atomic uint64_t *)&a->serial, memory_order_relaxed);
}

static inline tr_pid tri_pid_of(const tri_actor *a)
{
    return (tr_pid){a->sys->node, a->index, tri_serial(a)};
}

/* Tree links are slot refs: index + 1, 0 for none. */
static inline tri_actor *tri_at(tr_system *sys, uint32_t ref)
{
    return ref ? tri_slot_lookup(sys, ref - 1) : NULL;
}

static inline uint32_t tri_ref(const tri_actor *a) { return a ? a->index + 1 : 0; }

/* call.c: whether a reply, timeout or "down" is still awaited (the first
 * one ends the call); a call with a continuation has it run here, and the
 * message goes no further (false) */
bool tri_call_accept(tri_actor *a, const tr_msg *reply);
void tri_call_timeout(tri_actor *a, uint64_t ref);
void tri_request_begin(tri_actor *a, const tr_msg *m);
void tri_request_end(tri_actor *a, const tr_msg *m);
void tri_request_dead(tr_system *sys, const tr_msg *m, tr_pid callee, tr_exit_kind why);
void tri_calls_end(tri_actor *a, const tr_exit *reason);

/* lifecycle.c: the "tr.started" notice (status: tr_start_status) */
void tri_send_started(tri_actor *a, tr_start_status status);

/* link.c: the payload of MONITOR and DEMONITOR signals */
struct tri_watch {
    tr_pid watcher;
    uint64_t ref;
};

struct tri_exit_signal {
    tr_pid from;
    uint8_t kind;        /* tr_exit_kind */
    uint8_t untrappable; /* tr_send_exit(.., TR_EXIT_KILLED) */
    uint8_t over_link;   /* sent because `from` ended, not by tr_send_exit */
};
bool tri_link_handle_sys(tri_actor *a, tr_msg *m);
bool tri_link_accept_down(tri_actor *a, const tr_msg *m);
void tri_links_end(tri_actor *a, const tr_exit *reason);
/* Answers for a receiver that is not there (`why`: noproc, or
 * noconnection for another node's): a MONITOR with "tr.down", a LINK with
 * an exit signal. Other runtime messages need no answer. */
void tri_signal_dead(tr_system *sys, const tr_msg *m, tr_pid gone, tr_exit_kind why);
uint64_t tri_next_ref(tri_actor *a);
int tri_monitor_send(tr_system *sys, tr_pid watcher, tr_pid target, uint64_t ref, bool demonitor);

/* lifecycle.c */
tr_msg *tri_exit_msg(tr_atom type, uint8_t role, uint64_t ref, tr_pid who, tr_exit_kind kind,
                     const char *text);

/* registry.c */
int tri_registry_init(tr_system *sys);
bool tri_registry_valid_name(const char *name);
void tri_registry_fini(tr_system *sys);
/* tr_register whose waiters (tr_await_name) are not told yet: *woken gets
 * them, for tri_registry_wake once the actor can take messages (its INIT
 * is queued), or tri_registry_unwake when the spawn is undone. */
struct tri_name_waiter;
int tri_register_quiet(tr_system *sys, const char *name, tr_pid pid,
                       struct tri_name_waiter **woken);
void tri_registry_wake(tr_system *sys, struct tri_name_waiter *woken, tr_pid pid);
void tri_registry_unwake(tr_system *sys, struct tri_name_waiter *woken);
/* Releases the names of `a`, which is ending (its own turn), if it may
 * hold any: before its watchers are told, so that one told of its end
 * never resolves a name to it. */
void tri_registry_release(tri_actor *a);
/* A TRI_MSG_NAME_TIMEOUT: the actor's turn. */
bool tri_registry_handle_sys(tri_actor *a, tr_msg *m);

/* inspect.c */
bool tri_inspect_answer(tri_actor *a, const tr_msg *m);
/* A child of `a` ended abnormally: remembered for introspection. */
void tri_note_child_failure(tri_actor *a, tr_pid who, const char *cpath, tr_exit_kind kind,
                            const char *text);
/* The walk (walk.c): "tr.walk", answered like "tr.inspect" by the runtime
 * with "tr.walk.info": a tr_actor_info, a uint32_t count, then that many
 * child pids (start order). */
tr_atom tri_walk_atom(void);
tr_atom tri_walk_info_atom(void);

/* offload.c */
int tri_offload_init(tr_system *sys, unsigned max_threads);
void tri_offload_fini(tr_system *sys);

/* root.c */
extern const tr_behaviour tri_root_behaviour;
bool tri_root_handle_sys(tri_actor *root, tr_msg *m);
void tri_root_after_exit(tri_actor *root);
bool tri_root_may_finish(tri_actor *root);
void tri_root_finished(tri_actor *root);
void tri_root_closing(tri_actor *root);
int tri_root_adopt(tr_system *sys, tri_actor *child);
void tri_root_free(tri_actor *root);
void tri_continue_stop(tri_actor *a);

/* inbox.c */
void tri_inbox_wake(tr_system *sys, tri_actor *a);
void tri_inbox_slot_free(tri_actor *a);

/* timer.c */
int tri_timers_start(tr_system *sys, struct tr_clock *clock);
void tri_timers_stop(tr_system *sys);
/* Sends the message `m` (dest_serial set) to slot `to` after delay_ms, and
 * then every period_ms if that is > 0. The timer belongs to `owner` (may be
 * NULL) and is dropped when the owner ends. Returns a handle for
 * tri_timer_cancel, or 0 when out of memory (m is then freed). */
uint64_t tri_timer_start(tr_system *sys, tri_actor *owner, int64_t delay_ms, int64_t period_ms,
                         tri_actor *to, tr_msg *m);
/* The same for a runtime message of `kind` to actor `to`, owned by `to`. */
uint64_t tri_timer_after(tr_system *sys, int64_t delay_ms, tri_actor *to,
                         uint64_t serial, uint8_t kind, const void *payload,
                         size_t size);
/* Cancels; with `owner` non-NULL only a timer of that owner. */
bool tri_timer_cancel(tr_system *sys, tri_actor *owner, uint64_t handle);
void tri_timers_drop_owner(tr_system *sys, tri_actor *owner);
int64_t tri_now_ns(const tr_system *sys);
void tri_timers_poke(tr_system *sys); /* async-signal-safe */

/* atom.c: an atom kept in `slot` after the first call (lock-free then) */
tr_atom tri_atom_cached(_Atomic uint32_t *slot, const char *name);

/* log.c */
void tri_log(tr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool tri_log_enabled(tr_log_level level);

#endif
