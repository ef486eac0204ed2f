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
};

#define TRI_CAPACITY_MAX ((1u << 30) - 1)
static inline uint32_t tri_bound_cap(uint32_t b) { return b & TRI_CAPACITY_MAX; }
static inline uint32_t tri_bound_policy(uint32_t b) { return b >> 30; }

/* tri_actor.parent_flags (written by the parent only) */
enum {
    TRI_PF_STOP_REQUESTED = 1u << 0,
    TRI_PF_KILL_REQUESTED = 1u << 1,
};

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
} tri_call;

/* A request this actor received and has not answered (callee side). */
typedef struct tri_request {
    struct tri_request *next;
    tr_pid caller;
    uint64_t ref;
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
    tri_request *requests;
    tr_pid started_to;   /* where "tr.started" goes; nil: nowhere */
    uint8_t stop_kind;   /* the reason tr_stop_reason asked for */
    uint64_t restarts;   /* a supervisor's restarts (introspection) */
    char *exit_text;     /* failure reason */
    tri_record *records; /* failures in this subtree, deepest first */
    tri_record *records_tail;
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
    uint64_t pad1;
    tri_mailbox mb;            /* mb.head ends line 0; mb.tail starts line 1 */
    /* ---- lines 1-2: the actor's own ---- */
    _Atomic uint64_t live_serial; /* == serial while alive, 0 once ended */
    _Atomic uint64_t signal;      /* stop/kill request: serial << 2 | TRI_SIG_* */
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
    uint16_t flags;               /* TRI_F_* */
} __attribute__((aligned(TRI_CACHE_LINE)));

_Static_assert(sizeof(struct tri_actor) == 3 * TRI_CACHE_LINE, "slot: three cache lines");

/* signal bits */
enum { TRI_SIG_STOP = 1, TRI_SIG_KILL = 2 };

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
    _Atomic uint64_t turns;    /* turns begun; thieves spot long turns */
    _Atomic bool in_turn;
    /* counters kept per worker so that hot paths share no cache line;
     * written by the owner only (relaxed load + store), summed by stats */
    _Atomic uint64_t n_sent, n_spawned, n_ended, n_dead;
    uint32_t turn_sends; /* sends in the current turn: see tri_sent_in_turn */
    tr_system *sys;
    unsigned id;
    uint32_t tick, lifo_streak;
    int64_t park_ms; /* next park's re-check delay (sched.c) */
    uint32_t rng;
    pthread_t thread;
    pthread_cond_t park_cv; /* under sched park_mu */
    bool parked, wake;
    /* thief's view of each victim: last turn count seen and when */
    uint64_t *seen_turns;
    int64_t *seen_at;
} __attribute__((aligned(TRI_CACHE_LINE)));

typedef struct tri_sched {
    tri_worker *workers;
    unsigned n;
    unsigned batch;
    pthread_mutex_t gq_mu; /* global queue: outside schedules, overflow */
    tri_actor *gq_head, *gq_tail;
    _Atomic size_t gq_len;
    pthread_mutex_t park_mu;
    _Atomic int nparked;
    _Atomic int nspinning;
    _Atomic bool quit;
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
    _Atomic uint64_t actors_ended, actors_spawned, dead_letters, sent, dropped;
    _Atomic uint32_t inboxes_live;
};

/* The thread-local identity of the calling thread, if it is a worker. */
extern _Thread_local tri_worker *tri_current_worker;

enum tri_counter { TRI_N_SENT, TRI_N_SPAWNED, TRI_N_ENDED, TRI_N_DEAD };

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
          : c == TRI_N_ENDED ? &w->n_ended : &w->n_dead;
        atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    p = c == TRI_N_SENT ? &sys->sent
      : c == TRI_N_SPAWNED ? &sys->actors_spawned
      : c == TRI_N_ENDED ? &sys->actors_ended : &sys->dead_letters;
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

/* actor.c */
void tri_run_turn(tri_worker *w, tri_actor *a);
int tri_deliver(tr_system *sys, tr_pid to, tr_msg *m);
/* tri_deliver for the timer thread: a full bounded mailbox drops the
 * message (counted) instead of failing or blocking. */
#define TRI_NO_WAIT (-2)
int tri_deliver_nowait(tr_system *sys, tr_pid to, tr_msg *m);
void tri_push(tr_system *sys, tri_actor *a, tr_msg *m);
int tri_spawn(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
              const tr_spawn_opts *opts, tr_pid *out);
int tri_send_sys(tr_system *sys, tri_actor *to, uint64_t serial, uint8_t kind,
                 const void *payload, size_t size);
void tri_dead_letter(tr_system *sys, tr_msg *m, uint32_t slot);
void tri_handle_now(tri_actor *a, tr_msg *m);
void tri_msg_popped(tri_actor *a, tr_msg *m, bool *drop);
void tri_count_drop(tr_system *sys);
int tri_send_from(tr_system *sys, tr_pid from, tr_pid to, tr_atom type,
                  const void *data, size_t size);
void tri_request_stop(tri_actor *parent, tri_actor *child);
void tri_record_add(tri_actor *a, const char *line);
size_t tri_actor_path(const tri_actor *a, char *buf, size_t size);
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

/* call.c */
bool tri_call_accept(tri_actor *a, const tr_msg *reply);
void tri_call_timeout(tri_actor *a, uint64_t ref);
void tri_request_begin(tri_actor *a, const tr_msg *m);
void tri_request_end(tri_actor *a, const tr_msg *m);
void tri_request_dead(tr_system *sys, const tr_msg *m, uint32_t slot);
void tri_calls_end(tri_actor *a, const tr_exit *reason);

/* lifecycle.c: the "tr.started" notice (status: tr_start_status) */
void tri_send_started(tri_actor *a, tr_start_status status);

/* link.c */
struct tri_exit_signal {
    tr_pid from;
    uint8_t kind;        /* tr_exit_kind */
    uint8_t untrappable; /* tr_send_exit(.., TR_EXIT_KILLED) */
    uint8_t over_link;   /* sent because `from` ended, not by tr_send_exit */
};
bool tri_link_handle_sys(tri_actor *a, tr_msg *m);
bool tri_link_accept_down(tri_actor *a, const tr_msg *m);
void tri_links_end(tri_actor *a, const tr_exit *reason);
void tri_signal_dead(tr_system *sys, const tr_msg *m, uint32_t slot);
uint64_t tri_next_ref(tri_actor *a);

/* lifecycle.c */
tr_msg *tri_exit_msg(tr_atom type, uint8_t role, uint64_t ref, tr_pid who, tr_exit_kind kind,
                     const char *text);

/* registry.c */
int tri_registry_init(tr_system *sys);
void tri_registry_fini(tr_system *sys);

/* inspect.c */
bool tri_inspect_answer(tri_actor *a, const tr_msg *m);

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
