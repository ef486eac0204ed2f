/* stress.h — what the parts of the stress test share (tests/stress/):
 * the ledger's tables and checks (ledger.c), the worker behaviour
 * (worker.c), the outside threads and the dead-letter subscriber
 * (outside.c); tests/test_stress.c drives the epochs. The design and the
 * invariants are described at the top of tests/test_stress.c. */
#ifndef STRESS_H
#define STRESS_H

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "troupe.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Deadlines for what must happen eventually: generous, since they only
 * matter when something is wrong (or the machine is very slow). */
#define DRAIN_MS 30000 /* pending calls answered, due "tr.down"s delivered */
#define END_MS   60000 /* the system ends after tr_system_stop */

/* ============================================================ the PRNG */

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64: one word of state, so a child's PRNG is one draw of its
 * parent's */
static inline uint64_t rnd(rng *r) { return mix64(r->s += 0x9e3779b97f4a7c15ull); }

static inline uint32_t below(rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rnd(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

static inline bool chance(rng *r, uint32_t per_mille) { return below(r, 1000) < per_mille; }

/* ========================================================= violations */

/* violation — records a broken invariant, from any thread (never asserts:
 * cmocka may only fail on the test thread); the first ones are kept. */
__attribute__((format(printf, 1, 2))) void violation(const char *fmt, ...);
/* print_violations — prints how many, and the first ones (test thread). */
void print_violations(void);
/* log_sink — the runtime's log: an error line is a violation, warnings
 * are counted (and shown when verbose). */
void log_sink(void *user, tr_log_level level, const char *line);

extern _Atomic uint64_t n_violations, n_warnings;
extern _Atomic unsigned cur_epoch;
extern bool verbose;

/* ============================================================== books */

enum { K_FREE = 0, K_WORKER, K_SUP, K_INBOX };
enum { PH_NONE = 0, PH_INIT, PH_LIVE, PH_ENDED };
enum { START_OK = 0, START_IGNORED, START_FAILED };

/* One actor incarnation (a worker: its own or its spawner's), one
 * supervisor (for a nested one: all its incarnations), or one outside
 * thread's inbox. Plain fields are written before the record is handed
 * on (by spawn args, the directory or a child list), atomics after. */
typedef struct rec {
    _Atomic uint32_t first_child, next_sib; /* records whose parent this is */
    _Atomic uint8_t phase, in_cb, terms, outlived, exit_kind, start;
    uint8_t kind, protect, strategy, policy;
    uint8_t supmask; /* a supervisor: which of c0..c3 are supervisors */
    uint32_t parent, slot, capacity;
} rec;

/* A supervisor's child spec (one id): how many incarnations run now. */
typedef struct slotrec {
    _Atomic int32_t live;
    _Atomic uint32_t incarnations;
} slotrec;

/* Per message id: what became of it. */
enum {
    M_ACCEPTED = 1,
    M_REFUSED = 2,
    M_HANDLED = 4,
    M_DEAD = 8,
    M_ARMED = 16,     /* a timer's message, or a job's result, may come */
    M_CANCELLED = 32, /* its timer was cancelled: it must not come */
    M_JOB = 64,       /* a job's result: it must come once the job has run */
};

enum { C_FREE = 0, C_PENDING, C_DONE, C_GONE };
enum { OP_CALL = 0, OP_WHICH, OP_COUNT, OP_START, OP_TERMINATE, OP_RESTART, OP_DELETE };
static const char *const op_names[] = {"call",      "which",   "count", "start",
                                       "terminate", "restart", "delete"};

typedef struct callrec {
    _Atomic uint8_t st;
    uint8_t op, callee_kind, infinite;
    uint32_t caller, callee;
    int64_t t0_ms, timeout_ms;
} callrec;

enum { MO_FREE = 0, MO_ACTIVE, MO_FIRED, MO_DEMONITORED, MO_GONE };
typedef struct monrec {
    _Atomic uint8_t st;
    uint32_t watcher, target;
} monrec;

/* A message the runtime owes an actor: a trapping parent the "tr.exit" of
 * each child, a spawner the "tr.started" it asked for. */
enum { X_FREE = 0, X_PENDING, X_DONE, X_GONE };
enum { XK_EXIT = 0, XK_STARTED = 1 };
typedef struct expect {
    _Atomic uint8_t st;
    uint8_t kind;
    uint32_t owner, about;
} expect;

enum { D_WORKER = 1, D_SUP = 2, D_INBOX = 4 };
typedef struct dent {
    tr_pid pid;
    uint32_t rec;
    uint8_t kind, protect, strategy;
} dent;

#define DIR_N 512
#define TRING 64

typedef struct books {
    unsigned epoch;
    uint64_t seed;
    bool strict;
    uint32_t max_live;
    tr_system *sys;
    _Atomic bool draining, ended;
    _Atomic int in_cbs;       /* callbacks running now */
    _Atomic int live_workers; /* workers between init and their end */
    rec *recs;
    uint32_t recs_cap;
    _Atomic uint32_t nrecs;
    _Atomic uint64_t rec_overflow;
    slotrec *slots;
    uint32_t slots_cap;
    _Atomic uint32_t nslots;
    _Atomic uint8_t *marks;
    uint32_t marks_cap;
    _Atomic uint32_t nmarks;
    callrec *calls;
    uint32_t calls_cap;
    _Atomic uint32_t ncalls;
    _Atomic int64_t pending_calls;
    monrec *mons;
    uint32_t mons_cap;
    _Atomic uint32_t nmons;
    expect *xs;
    uint32_t xs_cap;
    _Atomic uint32_t nxs;
    /* pids for actors and threads to pick from, newest over oldest */
    pthread_mutex_t dir_mu;
    dent dir[DIR_N];
    uint32_t dir_n, dir_next;
    struct {
        uint64_t id;
        uint32_t owner;
    } tring[TRING]; /* timers armed lately, for others to try to cancel */
    uint32_t tring_n;
    _Atomic uint64_t offloads, cleanups;
    /* what happened, for the verbose line */
    _Atomic uint64_t n_spawned, n_sups, n_calls, n_sends, n_mons, n_exits, n_crashes, n_suprq,
        n_abandoned;
} books;

extern books *bk; /* the running epoch's */

static inline rec *R(uint32_t i) { return &bk->recs[i]; }

static inline uint8_t mark(uint32_t id, uint8_t bits)
{
    return atomic_fetch_or(&bk->marks[id], bits);
}

/* Table entries are 1-based; 0 means "the table is full" (the caller
 * then skips what it was about to do). */
uint32_t used(_Atomic uint32_t *n, uint32_t cap);
uint32_t rec_new(uint8_t kind, uint32_t parent);
void rec_link(uint32_t i);
bool room_for_records(void);
uint32_t slot_new(void);
uint32_t mark_new(void);
void dir_add(tr_pid pid, uint32_t r, uint8_t kind, uint8_t protect, uint8_t strategy);
bool dir_pick(rng *r, uint8_t kinds, dent *out);
void tring_add(uint64_t id, uint32_t owner);
bool tring_pick(rng *r, uint32_t not_owner, uint64_t *id);
uint32_t call_new(uint32_t caller, uint8_t op, dent callee, int64_t t0, int64_t timeout);
void call_pending(uint32_t i);
bool call_answered(uint32_t i, uint8_t how);
uint32_t mon_new(uint32_t watcher, uint32_t target);
bool mon_to(uint32_t i, uint8_t from, uint8_t to);
/* mon_fired — monitor i's "tr.down" reached its watcher: once, for its
 * target, after the target's end, with the target's reason. */
void mon_fired(uint32_t i, const tr_msg *m);
uint32_t expect_new(uint8_t kind, uint32_t owner, uint32_t about);
void expect_met(uint32_t i, uint8_t how);

/* ---------------------------------------------------- message payloads */

extern tr_atom A_TICK, A_M, A_U, A_T, A_O, A_Q, A_REP, A_POKE, A_SUP_ANSWER, A_SUP_CHILDREN,
    A_SUP_COUNTS;
void intern_atoms(void);

/* A tracked message ("m", "t", "o"): its id in the marks, its sender and
 * receiver records and the sender's sequence number; then maybe filler
 * bytes (a pattern of the id) that make it larger than a message's inline
 * room. */
typedef struct umsg {
    uint32_t id, from, to, pad;
    uint64_t seq;
} umsg;

#define UMSG_MAX (sizeof(umsg) + 160)

size_t umsg_fill(rng *r, umsg h, unsigned char *buf);
bool umsg_read(const void *data, size_t n, umsg *h);

/* Receiver-side order check: the last sequence number seen per sender
 * (a small direct-mapped table: forgetting is safe, never a false alarm). */
#define NFIFO 16
typedef struct fifo {
    uint32_t from[NFIFO];
    uint64_t seq[NFIFO];
} fifo;

/* got_tracked — a tracked message reached `self` (a record): marks it
 * handled once and checks it is intact, in order (`ordered`, with `f`)
 * and for this receiver. */
void got_tracked(const tr_msg *m, uint32_t self, fifo *f, bool ordered);

/* The request payload of a call: its record, and whether it may wait
 * forever (then the callee must answer, sooner or later). */
typedef struct qmsg {
    uint32_t call;
    uint32_t infinite;
} qmsg;

/* check_counts, check_which — a supervisor's answers against what the
 * test built. */
void check_counts(uint32_t sup, const tr_child_counts *k);
void check_which(uint32_t sup, const tr_child_info *info, size_t n);

/* ------------------------------------------------------- end of epoch */

/* due_downs, due_expects — what must still arrive: "tr.down"s whose
 * target has ended, owed "tr.exit"s and "tr.started"s whose cause has
 * happened. */
uint32_t due_downs(void);
uint32_t due_expects(void);
/* marks_balance — whether every tracked message met its fate; with
 * `report`, a violation says how not. */
bool marks_balance(bool report);
/* books_balance — sent == handled + dead letters (*st filled). */
bool books_balance(tr_system_stats *st);
/* final_checks — every record, call, monitor, owed message, child spec
 * and message accounted for (once the system has ended). */
void final_checks(void);
books *books_new(uint64_t seed, unsigned idx);
void books_free(books *b);

/* ========================================================= the worker */

enum {
    WF_ANCHOR = 1, /* top-level: traps, never ends by itself, protected */
    WF_MEEK = 2,   /* init always succeeds and it never ends by itself */
    WF_TRAP = 4,   /* starts trapping exits */
};

typedef struct wargs {
    uint32_t rec;    /* record made by the spawner; 0: the child makes one */
    uint32_t parent; /* parent's record */
    uint32_t slot;   /* a supervisor's child spec, 0: none */
    uint32_t depth;
    uint32_t flags;
    uint32_t capacity;
    uint64_t seed;
    uint8_t policy;
    uint8_t pad[7];
} wargs;

#define NCALL  32
#define NMON   16
#define NDEF   8
#define NKID   12
#define NLINK  6
#define NTIMER 8
#define NSTART 8

/* Free entries of a small table keyed by a `ref` field are 0. */
static inline int find_ref(const uint64_t *refs, size_t stride, size_t n, uint64_t ref)
{
    for (size_t i = 0; i < n; i++)
        if (*(const uint64_t *)((const char *)refs + i * stride) == ref) return (int)i;
    return -1;
}

#define FIND(tab, key) find_ref(&(tab)[0].ref, sizeof(tab)[0], sizeof(tab) / sizeof(tab)[0], key)

static inline int free_slot(const uint64_t *refs, size_t stride, size_t n)
{
    return find_ref(refs, stride, n, 0);
}

#define FREE(tab) free_slot(&(tab)[0].ref, sizeof(tab)[0], sizeof(tab) / sizeof(tab)[0])

extern const tr_behaviour worker_b;

#define SPEC_MAX 4

/* Storage for one supervisor spec being built (its nested one too). */
typedef struct spec_buf {
    tr_sup_spec spec;
    tr_child_spec kids[SPEC_MAX];
    wargs args[SPEC_MAX];
    char ids[SPEC_MAX][8];
    struct spec_buf *nested;
} spec_buf;

/* specs.c: what to start with (random, from the caller's PRNG) */
tr_full_policy random_policy(rng *r, uint32_t *cap);
int64_t random_shutdown(rng *r);
wargs child_args(rng *r, uint32_t sup, uint32_t depth, bool meek);
/* build_spec — a random spec for a supervisor whose record is `sup` at
 * `depth`; `meek`: a top-level one, whose children must never stop it;
 * `nested_room`: storage for one nested supervisor's spec (or NULL). */
void build_spec(rng *r, spec_buf *b, uint32_t sup, uint32_t depth, bool meek,
                spec_buf *nested_room);
/* anchor_opts — spawn options (and args) of a top-level anchor. */
tr_spawn_opts anchor_opts(rng *r, wargs *a, uint32_t rec_idx);

/* ======================================= outside threads, dead letters */

#define NEXTRA 3

typedef struct outside {
    pthread_t th;
    rng r;
    uint32_t rec;
    tr_inbox *in;
    fifo f;
    uint64_t seq;
    struct {
        uint64_t ref;
        uint32_t id;
    } mons[NMON];
    tr_pid extras[NEXTRA];       /* top-level actors and supervisors it started */
    _Atomic(const char *) doing; /* for a report if it gets stuck */
    _Atomic bool done;
} outside;

void *outside_main(void *arg);

typedef struct dl_thread {
    pthread_t th;
    _Atomic bool ready, stop;
    _Atomic uint64_t seen;
} dl_thread;

void *dl_main(void *arg);

#endif
