/* test_stress.c — a randomized, seeded, replayable stress test (issue 14.5).
 *
 * What runs. Epochs of about a second each (TROUPE_STRESS_EPOCH_MS) until
 * TROUPE_STRESS_SECONDS have passed (default 3 s, 5 s under a sanitizer).
 * Each epoch builds a system (1-4 workers, random batch, time slice and
 * blocking threads) and lets a random tree loose on it. Top-level "anchor"
 * actors (trapping exits and never failing: a failure there would end the
 * run) and their descendants — plain workers, and supervisors of all four
 * strategies, nested, with random restart types, intensities, backoffs,
 * significant children and bounded mailboxes of every policy — do one
 * random thing on every tick of a periodic timer: send, call (with a
 * timeout or without), answer now, later, twice or never, drop a request,
 * spawn (with deadlines, registered names, start notices, a place among
 * the siblings), spawn a supervisor, ask one to start, terminate, restart
 * or delete a child or to list or count them, monitor, demonitor, link,
 * unlink, send an exit signal, arm a timer, cancel one (or try another
 * actor's), stop a child, offload a job, send by name, stop or fail.
 * Outside threads do the same through the non-actor API: sends, timed
 * sends to blocking mailboxes, call_sync, every *_sync supervisor
 * request, inbox monitors, top-level spawns, supervisors and stops,
 * inspection. Then the epoch drains (nothing new starts; every pending
 * call and every due "tr.down" must arrive), the system is stopped, and
 * the books are checked after tr_system_run returns.
 *
 * Invariants. The behaviours report into a bookkeeping layer (atomics, a
 * record per actor incarnation, per message, per call, per monitor) and
 * check as they go; the test thread checks again once the system ended:
 *  - callbacks: init before anything else, never two at once for one
 *    actor, none after terminate, terminate exactly once for every actor
 *    whose init succeeded (none for the others), and only after every
 *    child (through supervisors too) has ended; a child still running when
 *    its parent ended must have been abandoned by it (kill mode);
 *  - exits: terminate's reason is the one the actor asked for, and the
 *    one its watchers' "tr.down", its trapping parent's "tr.exit" and its
 *    start notice report; a supervisor never runs two incarnations of one
 *    child at once;
 *  - messages: every accepted message is handled exactly once or is a
 *    dead letter exactly once (seen by a dead-letter subscriber), a
 *    refused one never arrives, one sender's messages to one receiver
 *    arrive in order, to the actor they were addressed to, intact; a
 *    cancelled timer never fires; an offloaded job's result reaches only
 *    its requester and its cleanup runs exactly once;
 *  - calls: every call is answered exactly once while its caller lives
 *    (a reply to that very request, a timeout never early and never for
 *    TR_INFINITY, or "tr.down"); supervisor answers carry documented codes;
 *  - monitors: every monitor fires exactly once, for its target, after
 *    that target's terminate, unless demonitored (then never);
 *  - documented error codes on the way (tr_reply on a non-request,
 *    another actor's timer, demonitor of an unknown ref, link to self, a
 *    stop_child of a stranger, a periodic timer's cancel);
 *  - the end: nothing runs after tr_system_run returns, and the books
 *    balance exactly then: sent == handled + dead letters (system.h).
 * Every problem is recorded (no assertion off the test thread) and
 * reported with the seed; the first ones are printed.
 *
 * Modes. A "strict" epoch has no kill at all (infinite shutdown times, no
 * brutal shutdown, no untrappable exit signal): then nothing may ever end
 * "killed", every parent outlives its whole subtree, and everything above
 * is checked exactly. A "kill" epoch adds kills, brutal and short
 * shutdown times (so children are abandoned, and their subtrees outlive
 * their parents, as actor.h allows); the ordering checks become "a child
 * that outlived its parent was abandoned", and actors of abandoned
 * subtrees may finish after tr_system_run returns (the books must then
 * balance once they have).
 *
 * Replay. One seed (TROUPE_STRESS_SEED, decimal or 0x-hex; else from the
 * clock) is printed first; each epoch's seed derives from it, and from an
 * epoch's seed come the system's options, the mode and a PRNG per actor
 * (seeded by its parent's PRNG) and per outside thread. On failure the
 * epoch's seed is printed with the command that runs that epoch alone.
 * Replay is as faithful as threads allow: the same configuration, tree
 * roots and first decisions, but actors see messages in the order the
 * scheduler gives them, so runs diverge after the first interleaving.
 *
 * Environment: TROUPE_STRESS_SEED, TROUPE_STRESS_SECONDS (total),
 * TROUPE_STRESS_EPOCH_MS (one epoch's busy phase), TROUPE_STRESS_EPOCHS
 * (at most this many), TROUPE_STRESS_VERBOSE=1 (one line per epoch, and
 * the runtime's warnings). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

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

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64: one word of state, so a child's PRNG is one draw of its
 * parent's */
static uint64_t rnd(rng *r) { return mix64(r->s += 0x9e3779b97f4a7c15ull); }

static uint32_t below(rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rnd(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

static bool chance(rng *r, uint32_t per_mille) { return below(r, 1000) < per_mille; }

/* ========================================================= violations */

static _Atomic uint64_t n_violations;
static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;
#define MAX_NOTES 24
static char notes[MAX_NOTES][400];
static unsigned n_notes;
static _Atomic unsigned cur_epoch;

/* Any thread: records a broken invariant (never asserts: cmocka may only
 * fail on the test thread). */
__attribute__((format(printf, 1, 2))) static void violation(const char *fmt, ...)
{
    atomic_fetch_add(&n_violations, 1);
    char line[400];
    int n = snprintf(line, sizeof line, "epoch %u: ", atomic_load(&cur_epoch));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&notes_mu);
    if (n_notes < MAX_NOTES) memcpy(notes[n_notes++], line, sizeof line);
    pthread_mutex_unlock(&notes_mu);
}

static bool verbose;
static _Atomic uint64_t n_warnings;

/* The runtime's log: an error line is a violation (out of memory, a
 * stray message, a root failure); warnings (restarts, kills) are counted. */
static void log_sink(void *user, tr_log_level level, const char *line)
{
    (void)user;
    /* a supervisor giving up (intensity, auto_shutdown) logs an error, and
     * that is expected here */
    if (level >= TR_LOG_ERROR && !strstr(line, "; stopping all children and shutting down"))
        violation("runtime logged an error: %s", line);
    else
        atomic_fetch_add(&n_warnings, 1);
    if (verbose && level >= TR_LOG_WARN)
        fprintf(stderr, "  [%s] %s\n", tr_log_level_name(level), line);
}

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

static books *bk;

static rec *R(uint32_t i) { return &bk->recs[i]; }

/* 1-based; 0 when the table is full. */
static uint32_t take(_Atomic uint32_t *n, uint32_t cap)
{
    uint32_t i = atomic_fetch_add(n, 1) + 1;
    return i < cap ? i : 0;
}

static uint32_t used(_Atomic uint32_t *n, uint32_t cap)
{
    uint32_t v = atomic_load(n) + 1;
    return v < cap ? v : cap;
}

static uint32_t rec_new(uint8_t kind, uint32_t parent)
{
    uint32_t i = take(&bk->nrecs, bk->recs_cap);
    if (!i) {
        atomic_fetch_add(&bk->rec_overflow, 1);
        return 0;
    }
    R(i)->kind = kind;
    R(i)->parent = parent;
    return i;
}

/* Puts record i on its parent's list of children (lock-free push). */
static void rec_link(uint32_t i)
{
    if (!R(i)->parent) return;
    rec *p = R(R(i)->parent);
    uint32_t head = atomic_load(&p->first_child);
    do
        atomic_store(&R(i)->next_sib, head);
    while (!atomic_compare_exchange_weak(&p->first_child, &head, i));
}

static bool room_for_records(void) { return atomic_load(&bk->nrecs) < bk->recs_cap / 4 * 3; }

static uint32_t slot_new(void) { return take(&bk->nslots, bk->slots_cap); }

static uint32_t mark_new(void) { return take(&bk->nmarks, bk->marks_cap); }

static uint8_t mark(uint32_t id, uint8_t bits) { return atomic_fetch_or(&bk->marks[id], bits); }

static void dir_add(tr_pid pid, uint32_t r, uint8_t kind, uint8_t protect, uint8_t strategy)
{
    pthread_mutex_lock(&bk->dir_mu);
    bk->dir[bk->dir_next] = (dent){pid, r, kind, protect, strategy};
    bk->dir_next = (bk->dir_next + 1) % DIR_N;
    if (bk->dir_n < DIR_N) bk->dir_n++;
    pthread_mutex_unlock(&bk->dir_mu);
}

/* A random entry of one of `kinds` (a few tries), false if none found. */
static bool dir_pick(rng *r, uint8_t kinds, dent *out)
{
    bool found = false;
    pthread_mutex_lock(&bk->dir_mu);
    for (int t = 0; t < 8 && bk->dir_n && !found; t++) {
        dent *d = &bk->dir[below(r, bk->dir_n)];
        if (d->kind & kinds) {
            *out = *d;
            found = true;
        }
    }
    pthread_mutex_unlock(&bk->dir_mu);
    return found;
}

static void tring_add(uint64_t id, uint32_t owner)
{
    pthread_mutex_lock(&bk->dir_mu);
    bk->tring[bk->tring_n++ % TRING].id = id;
    bk->tring[(bk->tring_n - 1) % TRING].owner = owner;
    pthread_mutex_unlock(&bk->dir_mu);
}

static bool tring_pick(rng *r, uint32_t not_owner, uint64_t *id)
{
    bool found = false;
    pthread_mutex_lock(&bk->dir_mu);
    uint32_t n = bk->tring_n < TRING ? bk->tring_n : TRING;
    if (n) {
        uint32_t i = below(r, n);
        if (bk->tring[i].owner != not_owner) {
            *id = bk->tring[i].id;
            found = true;
        }
    }
    pthread_mutex_unlock(&bk->dir_mu);
    return found;
}

static uint32_t call_new(uint32_t caller, uint8_t op, dent callee, int64_t t0, int64_t timeout)
{
    uint32_t i = take(&bk->ncalls, bk->calls_cap);
    if (!i) return 0;
    callrec *c = &bk->calls[i];
    c->op = op;
    c->callee_kind = callee.kind;
    c->callee = callee.rec;
    c->infinite = timeout < 0;
    c->caller = caller;
    c->t0_ms = t0;
    c->timeout_ms = timeout;
    return i;
}

static void call_pending(uint32_t i)
{
    atomic_fetch_add(&bk->pending_calls, 1);
    atomic_store(&bk->calls[i].st, C_PENDING);
}

/* The one answer of call i: false (and a violation) if it had one. */
static bool call_answered(uint32_t i, uint8_t how)
{
    uint8_t want = C_PENDING;
    if (!atomic_compare_exchange_strong(&bk->calls[i].st, &want, how)) {
        violation("call %u (%s) answered again (state %u)", i, op_names[bk->calls[i].op], want);
        return false;
    }
    atomic_fetch_sub(&bk->pending_calls, 1);
    return true;
}

static uint32_t mon_new(uint32_t watcher, uint32_t target)
{
    uint32_t i = take(&bk->nmons, bk->mons_cap);
    if (!i) return 0;
    bk->mons[i].watcher = watcher;
    bk->mons[i].target = target;
    return i;
}

static bool mon_to(uint32_t i, uint8_t from, uint8_t to)
{
    return atomic_compare_exchange_strong(&bk->mons[i].st, &from, to);
}

static uint32_t expect_new(uint8_t kind, uint32_t owner, uint32_t about)
{
    uint32_t i = take(&bk->nxs, bk->xs_cap);
    if (!i) return 0;
    bk->xs[i].kind = kind;
    bk->xs[i].owner = owner;
    bk->xs[i].about = about;
    atomic_store(&bk->xs[i].st, X_PENDING);
    return i;
}

/* The owed message came (once), or its owner ended first. */
static void expect_met(uint32_t i, uint8_t how)
{
    uint8_t want = X_PENDING;
    if (i && !atomic_compare_exchange_strong(&bk->xs[i].st, &want, how) && how == X_DONE)
        violation("record %u got a second %s about record %u", bk->xs[i].owner,
                  bk->xs[i].kind == XK_EXIT ? "tr.exit" : "tr.started", bk->xs[i].about);
}

/* ---------------------------------------------------- message payloads */

static tr_atom A_TICK, A_M, A_U, A_T, A_O, A_Q, A_REP, A_POKE, A_SUP_ANSWER, A_SUP_CHILDREN,
    A_SUP_COUNTS;

/* A tracked message ("m", "t", "o"): its id in the marks, its sender and
 * receiver records and the sender's sequence number; then maybe filler
 * bytes (a pattern of the id) that make it larger than a message's inline
 * room. */
typedef struct umsg {
    uint32_t id, from, to, pad;
    uint64_t seq;
} umsg;

#define UMSG_MAX (sizeof(umsg) + 160)

static size_t umsg_fill(rng *r, umsg h, unsigned char *buf)
{
    size_t extra = chance(r, 100) ? below(r, 160) : 0;
    memcpy(buf, &h, sizeof h);
    for (size_t i = 0; i < extra; i++)
        buf[sizeof h + i] = (unsigned char)(h.id * 31u + i);
    return sizeof h + extra;
}

static bool umsg_read(const void *data, size_t n, umsg *h)
{
    if (n < sizeof *h || n > UMSG_MAX) return false;
    memcpy(h, data, sizeof *h);
    const unsigned char *p = (const unsigned char *)data + sizeof *h;
    for (size_t i = 0; i < n - sizeof *h; i++)
        if (p[i] != (unsigned char)(h->id * 31u + i)) return false;
    return h->id != 0 && h->id < bk->marks_cap;
}

/* Receiver-side order check: the last sequence number seen per sender
 * (a small direct-mapped table: forgetting is safe, never a false alarm). */
#define NFIFO 16
typedef struct fifo {
    uint32_t from[NFIFO];
    uint64_t seq[NFIFO];
} fifo;

/* A tracked message reached `self` (a record): marks it handled once and
 * checks it is intact, in order and for this receiver. */
static void got_tracked(const tr_msg *m, uint32_t self, fifo *f, bool ordered)
{
    umsg h;
    if (!umsg_read(tr_msg_data(m), tr_msg_size(m), &h)) {
        violation("a \"%s\" message arrived corrupt (%zu bytes)", tr_atom_name(tr_msg_type(m)),
                  tr_msg_size(m));
        return;
    }
    uint8_t old = mark(h.id, M_HANDLED);
    if (old & (M_HANDLED | M_DEAD))
        violation("message %u (%s) delivered again (marks %#x)", h.id, tr_atom_name(tr_msg_type(m)),
                  old);
    if (h.to && h.to != self)
        violation("message %u for record %u reached record %u", h.id, h.to, self);
    if (ordered && f && h.from) {
        unsigned i = h.from % NFIFO;
        if (f->from[i] == h.from && h.seq <= f->seq[i])
            violation("messages from record %u arrived out of order (%" PRIu64 " after %" PRIu64
                      ")",
                      h.from, h.seq, f->seq[i]);
        f->from[i] = h.from;
        f->seq[i] = h.seq;
    }
}

/* The request payload of a call: its record, and whether it may wait
 * forever (then the callee must answer, sooner or later). */
typedef struct qmsg {
    uint32_t call;
    uint32_t infinite;
} qmsg;

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

typedef struct wstate {
    uint32_t rec, parent, depth, flags, slot;
    rng r;
    bool trap;
    bool intent; /* it asked for its own end: ... */
    uint8_t intent_kind;
    uint64_t seq; /* its sends, for the receivers' order check */
    tr_timer tick;
    uint64_t nticks;
    struct {
        uint64_t ref;
        uint32_t id;
    } calls[NCALL], mons[NMON];
    struct {
        tr_request req;
        uint32_t id;
    } defs[NDEF];
    struct {
        tr_pid pid;
        uint32_t rec; /* 0 for a supervisor */
        uint32_t x;   /* the tr.exit or tr.started owed, 0: none */
    } kids[NKID], starts[NSTART];
    tr_pid links[NLINK];
    struct {
        tr_timer t;
        uint32_t id;
    } timers[NTIMER];
    fifo f;
} wstate;

/* --------------------------------------------------- callback framing */

static void cb_enter(uint32_t r)
{
    atomic_fetch_add(&bk->in_cbs, 1);
    if (atomic_load(&bk->ended) && bk->strict)
        violation("record %u: a callback runs after tr_system_run returned", r);
    if (atomic_fetch_add(&R(r)->in_cb, 1) != 0) violation("record %u: two callbacks at once", r);
    if (atomic_load(&R(r)->phase) == PH_ENDED) violation("record %u: a callback after its end", r);
}

static void cb_exit(uint32_t r)
{
    atomic_fetch_sub(&R(r)->in_cb, 1);
    atomic_fetch_sub(&bk->in_cbs, 1);
}

/* Whether the calling actor's parent has abandoned it: every acting call
 * answers TR_ESTOPPED then (core.h, tri_ctx); a cancel of timer {0}
 * changes nothing otherwise (TR_ENOENT). */
static bool abandoned(tr_ctx *ctx) { return tr_timer_cancel(ctx, (tr_timer){0}) == TR_ESTOPPED; }

/* count_children against what the test built: a static supervisor's
 * specs are c0..c3 (from build_spec; its supervisors are never deleted
 * nor temporary) and d0..d3 (workers, from start_child). */
static void check_counts(uint32_t sup, const tr_child_counts *k)
{
    if (R(sup)->strategy == TR_SIMPLE_ONE_FOR_ONE) {
        if (k->specs != 1 || k->supervisors || k->active > k->workers)
            violation("count_children (simple): specs %u active %u supervisors %u workers %u",
                      k->specs, k->active, k->supervisors, k->workers);
        return;
    }
    uint32_t sups = (uint32_t)__builtin_popcount(R(sup)->supmask);
    if (k->supervisors != sups || k->workers + k->supervisors != k->specs || k->active > k->specs)
        violation("count_children: specs %u active %u supervisors %u (built %u) workers %u",
                  k->specs, k->active, k->supervisors, sups, k->workers);
}

static void check_which(uint32_t sup, const tr_child_info *info, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (info[i].id[sizeof info[i].id - 1] != '\0') {
            violation("which_children: an id without its end");
            return;
        }
        if (R(sup)->strategy == TR_SIMPLE_ONE_FOR_ONE) {
            if (info[i].type != TR_WORKER) violation("which_children (simple): a supervisor");
            continue;
        }
        bool is_sup = info[i].id[0] == 'c' && (R(sup)->supmask >> (info[i].id[1] - '0') & 1);
        if ((info[i].type == TR_SUPERVISOR) != is_sup)
            violation("which_children: child %s has type %d", info[i].id, (int)info[i].type);
    }
}

/* An answer (reply, timeout, down) to a call of this actor, or a "tr.down"
 * of one of its monitors. */
static int find_ref(const uint64_t *refs, size_t stride, size_t n, uint64_t ref)
{
    for (size_t i = 0; i < n; i++)
        if (*(const uint64_t *)((const char *)refs + i * stride) == ref) return (int)i;
    return -1;
}

#define FIND(tab, key) find_ref(&(tab)[0].ref, sizeof(tab)[0], sizeof(tab) / sizeof(tab)[0], key)

static int free_slot(const uint64_t *refs, size_t stride, size_t n)
{
    return find_ref(refs, stride, n, 0);
}

#define FREE(tab) free_slot(&(tab)[0].ref, sizeof(tab)[0], sizeof(tab) / sizeof(tab)[0])

/* ------------------------------------------------------------- sends */

static void send_tracked(tr_ctx *ctx, wstate *s, dent to)
{
    if (to.kind == D_SUP) { /* a supervisor drops what it does not know: untracked */
        tr_send(ctx, to.pid, A_U, NULL, 0);
        return;
    }
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, to.rec, 0, ++s->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    int rc;
    if (chance(&s->r, 100)) { /* the zero-copy path */
        tr_msg *m = NULL;
        rc = tr_msg_new(A_M, n, &m);
        if (rc == TR_OK) {
            memcpy(tr_msg_buffer(m), buf, n);
            rc = tr_send_msg(ctx, to.pid, &m);
            if (m) violation("tr_send_msg left the message with the caller");
        }
    } else {
        rc = tr_send(ctx, to.pid, A_M, buf, n);
    }
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_EFULL && rc != TR_ESTOPPED)
        violation("tr_send: %s", tr_strerror(rc));
    atomic_fetch_add(&bk->n_sends, 1);
}

static void op_send(tr_ctx *ctx, wstate *s, int burst)
{
    dent to;
    if (chance(&s->r, 100)) {
        to = (dent){tr_self(ctx), s->rec, D_WORKER, 0, 0};
    } else if (!dir_pick(&s->r, D_WORKER | D_INBOX | (chance(&s->r, 100) ? D_SUP : 0), &to)) {
        return;
    }
    for (int i = 0; i < burst; i++)
        send_tracked(ctx, s, to);
}

static void op_send_named(tr_ctx *ctx, wstate *s)
{
    char name[16];
    snprintf(name, sizeof name, "r%u", below(&s->r, 16));
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, 0, 0, ++s->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    int rc = tr_send_named(ctx, name, A_M, buf, n);
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_ENOENT && rc != TR_EFULL && rc != TR_ESTOPPED)
        violation("tr_send_named: %s", tr_strerror(rc));
}

/* ------------------------------------------------------------- calls */

static void op_call(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->calls);
    dent to;
    if (k < 0 || !dir_pick(&s->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    int64_t timeout = chance(&s->r, 100) ? 0 : (int64_t)below(&s->r, 40) + 1;
    /* forever only where an answer is certain: workers answer such
     * requests (or end, and the runtime answers "tr.down") */
    if (to.kind == D_WORKER && chance(&s->r, 300)) timeout = TR_INFINITY;
    uint32_t id = call_new(s->rec, OP_CALL, to, tr_now_ms(ctx), timeout);
    if (!id) return;
    qmsg q = {id, timeout < 0};
    tr_ref ref;
    int rc = tr_call(ctx, to.pid, A_Q, &q, sizeof q, timeout, &ref);
    if (rc == TR_OK) {
        if (ref.id == 0) violation("tr_call gave reference 0");
        call_pending(id);
        s->calls[k].ref = ref.id;
        s->calls[k].id = id;
        atomic_fetch_add(&bk->n_calls, 1);
    } else if (rc != TR_EFULL && rc != TR_ESTOPPED) {
        violation("tr_call: %s", tr_strerror(rc));
    }
}

static void send_reply(tr_ctx *ctx, const tr_msg *req, uint32_t id)
{
    int rc = tr_reply(ctx, req, A_REP, &id, sizeof id);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_reply: %s", tr_strerror(rc));
}

/* An answer for one of our calls: exactly once, and the right one. */
static void got_answer(tr_ctx *ctx, wstate *s, int k, const tr_msg *m)
{
    uint32_t id = s->calls[k].id;
    s->calls[k].ref = 0;
    callrec *c = &bk->calls[id];
    if (!call_answered(id, C_DONE)) return;
    tr_atom t = tr_msg_type(m);
    if (tr_atom_eq(t, tr_timeout_atom())) {
        if (c->infinite)
            violation("call %u without a timeout timed out", id);
        else if (tr_now_ms(ctx) < c->t0_ms + c->timeout_ms)
            violation("call %u timed out early (%" PRId64 " ms of %" PRId64 ")", id,
                      tr_now_ms(ctx) - c->t0_ms, c->timeout_ms);
        return;
    }
    if (tr_atom_eq(t, tr_down_atom())) {
        tr_exit why;
        if (tr_exit_info(m, NULL, &why) != TR_OK) violation("call %u: undecodable tr.down", id);
        return;
    }
    switch (c->op) {
    case OP_CALL:
        if (tr_atom_eq(t, A_REP)) {
            uint32_t got = 0;
            if (tr_msg_size(m) == sizeof got) memcpy(&got, tr_msg_data(m), sizeof got);
            if (got != id) violation("call %u answered with the reply to call %u", id, got);
        } else if (!(tr_atom_eq(t, A_SUP_ANSWER) && c->callee_kind == D_SUP)) {
            violation("call %u answered by a \"%s\"", id, tr_atom_name(t));
        }
        return;
    case OP_WHICH: {
        tr_child_info info[16];
        size_t n = 0;
        if (tr_sup_children_decode(m, info, 16, &n) != TR_OK) {
            violation("which_children answered by a \"%s\"", tr_atom_name(t));
            return;
        }
        check_which(c->callee, info, n < 16 ? n : 16);
        return;
    }
    case OP_COUNT: {
        tr_child_counts k2;
        if (tr_sup_counts_decode(m, &k2) != TR_OK) {
            violation("count_children answered by a \"%s\"", tr_atom_name(t));
            return;
        }
        check_counts(c->callee, &k2);
        return;
    }
    default: {
        int rc;
        tr_pid pid;
        if (tr_sup_result(m, &rc, &pid) != TR_OK) {
            violation("%s_child answered by a \"%s\"", op_names[c->op], tr_atom_name(t));
            return;
        }
        bool ok;
        switch (c->op) {
        case OP_START:
            ok = rc == TR_OK || rc == TR_EEXIST || rc == TR_EPRESENT || rc == TR_EFAILED ||
                 rc == TR_ESTOPPED || rc == TR_EBUSY;
            break;
        case OP_TERMINATE:
            ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED;
            break;
        case OP_RESTART:
            ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_EFAILED ||
                 rc == TR_ESTOPPED;
            break;
        default: ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED; break;
        }
        if (!ok) violation("%s_child answered %s", op_names[c->op], tr_strerror(rc));
        if (rc == TR_EEXIST && tr_pid_is_nil(pid)) violation("start_child: EEXIST without its pid");
        return;
    }
    }
}

/* A request to us: answer now, later, twice or not at all; drop it; or
 * end while holding it. Requests that may wait forever are always answered
 * (now or later). Returns the handler's result. */
static int got_request(tr_ctx *ctx, wstate *s, const tr_msg *m)
{
    qmsg q;
    if (tr_msg_size(m) != sizeof q) {
        violation("a request of %zu bytes", tr_msg_size(m));
        return 0;
    }
    memcpy(&q, tr_msg_data(m), sizeof q);
    if (chance(&s->r, 30)) { /* a request is not an answer: no tr_reply_to on its own ref */
        int rc =
            tr_request_drop(ctx, (tr_request){tr_msg_sender(m), {tr_msg_ref(m).id + (1u << 30)}});
        if (rc != TR_ENOENT && rc != TR_ESTOPPED)
            violation("tr_request_drop of no request: %s", tr_strerror(rc));
    }
    /* never ignored nor dropped when the caller waits forever, nor by an
     * actor that must not end */
    bool calm = atomic_load(&bk->draining) || (s->flags & (WF_MEEK | WF_ANCHOR));
    uint32_t r = below(&s->r, 100);
    int d = -1;
    for (int i = 0; i < NDEF && d < 0; i++)
        if (s->defs[i].req.ref.id == 0) d = i;
    if (r < 20 && d >= 0) { /* later */
        s->defs[d].req = tr_msg_request(m);
        s->defs[d].id = q.call;
        if (s->defs[d].req.ref.id == 0) violation("tr_msg_request of a request gave no token");
        return 0;
    }
    if (calm || r < 70 || (q.infinite && r < 90)) {
        send_reply(ctx, m, q.call);
        return 0;
    }
    if (r < 76) { /* twice: the caller keeps the first */
        send_reply(ctx, m, q.call);
        send_reply(ctx, m, q.call);
        return 0;
    }
    if (r < 82) { /* declined: the caller gets its own timeout */
        int rc = tr_request_drop(ctx, tr_msg_request(m));
        if (rc != TR_OK && rc != TR_ESTOPPED)
            violation("tr_request_drop (current): %s", tr_strerror(rc));
        return 0;
    }
    if (r < 90) return 0; /* ignored: a timeout, or "tr.down" when we end */
    /* ends holding it: the runtime answers "tr.down" */
    s->intent = true;
    s->intent_kind = TR_EXIT_FAILURE;
    atomic_fetch_add(&bk->n_crashes, 1);
    return tr_fail(ctx, "failed holding request %u", q.call);
}

static void answer_deferred(tr_ctx *ctx, wstate *s, bool all)
{
    for (int i = 0; i < NDEF; i++) {
        if (s->defs[i].req.ref.id == 0 || (!all && chance(&s->r, 500))) continue;
        uint32_t id = s->defs[i].id;
        int rc;
        if (!all && !bk->calls[id].infinite && chance(&s->r, 100)) {
            rc = tr_request_drop(ctx, s->defs[i].req);
            /* swept already if its caller's deadline has passed */
            if (rc != TR_OK && rc != TR_ENOENT && rc != TR_ESTOPPED)
                violation("tr_request_drop: %s", tr_strerror(rc));
        } else {
            rc = tr_reply_to(ctx, s->defs[i].req, A_REP, &id, sizeof id);
            if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_reply_to: %s", tr_strerror(rc));
        }
        s->defs[i].req = (tr_request){TR_PID_NIL, {0}};
    }
}

/* ---------------------------------------------------------- monitors */

static void op_monitor(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->mons);
    dent to;
    if (k < 0 || !dir_pick(&s->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    uint32_t id = mon_new(s->rec, to.kind == D_WORKER ? to.rec : 0);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE); /* before: a dead target answers at once */
    tr_ref ref;
    int rc = tr_monitor(ctx, to.pid, &ref);
    if (rc != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        if (rc != TR_ESTOPPED) violation("tr_monitor: %s", tr_strerror(rc));
        return;
    }
    s->mons[k].ref = ref.id;
    s->mons[k].id = id;
    atomic_fetch_add(&bk->n_mons, 1);
}

static void op_demonitor(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NMON);
    if (s->mons[k].ref == 0) {
        /* one we never had: TR_ENOENT */
        int rc = tr_demonitor(ctx, (tr_ref){(uint64_t)1 << 62 | below(&s->r, 1000)});
        if (rc != TR_ENOENT && rc != TR_ESTOPPED)
            violation("tr_demonitor of no monitor: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_demonitor(ctx, (tr_ref){s->mons[k].ref});
    if (rc == TR_ESTOPPED) return;
    if (rc != TR_OK) {
        violation("tr_demonitor of a live monitor: %s", tr_strerror(rc));
        return;
    }
    if (!mon_to(s->mons[k].id, MO_ACTIVE, MO_DEMONITORED))
        violation("monitor %u demonitored in state %u", s->mons[k].id,
                  atomic_load(&bk->mons[s->mons[k].id].st));
    s->mons[k].ref = 0;
}

/* Monitors a child of its own, stops it, waits (a little) until it has
 * ended, so that its "tr.down" is on its way or queued, and demonitors:
 * that "tr.down" must not reach the handler. */
static void op_demonitor_race(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->mons), kk = (int)below(&s->r, NKID);
    uint32_t c = s->kids[kk].rec;
    if (k < 0 || !c || tr_pid_is_nil(s->kids[kk].pid) || atomic_load(&R(c)->phase) != PH_LIVE)
        return;
    uint32_t id = mon_new(s->rec, c);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE);
    tr_ref ref;
    if (tr_monitor(ctx, s->kids[kk].pid, &ref) != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        return;
    }
    s->mons[k].ref = ref.id;
    s->mons[k].id = id;
    if (tr_stop_child(ctx, s->kids[kk].pid) != TR_OK) return;
    /* another worker runs it meanwhile (with one worker this just waits) */
    int64_t until = t_now_ms() + 5;
    while (atomic_load(&R(c)->phase) != PH_ENDED && t_now_ms() < until)
        sched_yield();
    for (int i = 0; i < 50; i++)
        sched_yield();
    int rc = tr_demonitor(ctx, ref);
    if (rc == TR_ESTOPPED) return;
    if (rc != TR_OK) {
        violation("tr_demonitor of a live monitor: %s", tr_strerror(rc));
        return;
    }
    if (!mon_to(id, MO_ACTIVE, MO_DEMONITORED))
        violation("monitor %u demonitored in state %u", id, atomic_load(&bk->mons[id].st));
    s->mons[k].ref = 0;
}

static void got_down(wstate *s, int k, const tr_msg *m)
{
    uint32_t id = s->mons[k].id;
    s->mons[k].ref = 0;
    tr_pid who;
    tr_exit why;
    if (tr_exit_info(m, &who, &why) != TR_OK) {
        violation("monitor %u: undecodable tr.down", id);
        return;
    }
    if (!mon_to(id, MO_ACTIVE, MO_FIRED)) {
        violation("monitor %u fired in state %u", id, atomic_load(&bk->mons[id].st));
        return;
    }
    uint32_t t = bk->mons[id].target;
    if (!t) return; /* not a worker */
    if (atomic_load(&R(t)->phase) != PH_ENDED)
        violation("monitor %u fired before record %u ended (%s)", id, t,
                  tr_exit_kind_name(why.kind));
    else if (why.kind != TR_EXIT_NOPROC && why.kind != atomic_load(&R(t)->exit_kind) &&
             (bk->strict || why.kind != TR_EXIT_KILLED))
        violation("monitor %u: tr.down says %s, record %u ended %s", id,
                  tr_exit_kind_name(why.kind), t,
                  tr_exit_kind_name((tr_exit_kind)atomic_load(&R(t)->exit_kind)));
    (void)s;
}

/* ------------------------------------------------------------- links */

static void op_link(tr_ctx *ctx, wstate *s)
{
    dent to;
    if (!dir_pick(&s->r, D_WORKER | D_SUP, &to)) return;
    if (tr_pid_eq(to.pid, tr_self(ctx))) {
        int rc = tr_link(ctx, to.pid);
        if (rc != TR_EINVAL && rc != TR_ESTOPPED)
            violation("tr_link to itself: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_link(ctx, to.pid);
    if (rc == TR_OK && chance(&s->r, 200)) rc = tr_link(ctx, to.pid); /* idempotent */
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_link: %s", tr_strerror(rc));
    if (rc == TR_OK) s->links[below(&s->r, NLINK)] = to.pid;
}

static void op_unlink(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NLINK);
    if (tr_pid_is_nil(s->links[k])) return;
    int rc = tr_unlink(ctx, s->links[k]);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_unlink: %s", tr_strerror(rc));
    s->links[k] = TR_PID_NIL;
}

static void op_exit(tr_ctx *ctx, wstate *s)
{
    dent to;
    /* Not to its parent: a trapping parent cannot tell such a signal from
     * its child's end (a supervisor would restart a child still running,
     * as OTP's does). */
    if (!dir_pick(&s->r, D_WORKER | D_SUP, &to) || to.rec == s->parent) return;
    static const tr_exit_kind kinds[] = {TR_EXIT_NORMAL, TR_EXIT_SHUTDOWN, TR_EXIT_FAILURE,
                                         TR_EXIT_TIMEOUT, TR_EXIT_KILLED};
    tr_exit_kind k = kinds[below(&s->r, bk->strict || to.protect ? 4 : 5)];
    int rc = tr_send_exit(ctx, to.pid, k, chance(&s->r, 500) ? "stress" : NULL);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_send_exit: %s", tr_strerror(rc));
    atomic_fetch_add(&bk->n_exits, 1);
}

/* ------------------------------------------------------------ timers */

static void op_timer(tr_ctx *ctx, wstate *s)
{
    dent to;
    if (chance(&s->r, 300))
        to = (dent){tr_self(ctx), s->rec, D_WORKER, 0, 0};
    else if (!dir_pick(&s->r, D_WORKER | D_INBOX, &to))
        return;
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, to.rec, 0, 0};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    mark(id, M_ARMED); /* before: a 0 ms timer may fire at once */
    tr_timer t;
    int rc = tr_send_after(ctx, to.pid, below(&s->r, 30), A_T, buf, n, &t);
    if (rc != TR_OK) {
        mark(id, M_REFUSED);
        if (rc != TR_ESTOPPED) violation("tr_send_after: %s", tr_strerror(rc));
        return;
    }
    int k = (int)below(&s->r, NTIMER);
    s->timers[k].t = t;
    s->timers[k].id = id;
    tring_add(t.id, s->rec);
}

static void op_cancel(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NTIMER);
    if (s->timers[k].t.id == 0) return;
    int rc = tr_timer_cancel(ctx, s->timers[k].t);
    if (rc == TR_OK)
        mark(s->timers[k].id, M_CANCELLED);
    else if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_timer_cancel: %s", tr_strerror(rc));
    s->timers[k].t.id = 0;
}

/* Another actor's timer is not ours to cancel. */
static void op_foreign_cancel(tr_ctx *ctx, wstate *s)
{
    uint64_t id;
    if (!tring_pick(&s->r, s->rec, &id)) return;
    int rc = tr_timer_cancel(ctx, (tr_timer){id});
    if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("cancelling another actor's timer: %s", tr_strerror(rc));
}

/* A periodic timer is pending until cancelled. */
static void rearm_tick(tr_ctx *ctx, wstate *s)
{
    if (s->tick.id) {
        int rc = tr_timer_cancel(ctx, s->tick);
        if (rc != TR_OK && rc != TR_ESTOPPED)
            violation("cancelling its own periodic timer: %s", tr_strerror(rc));
    }
    s->tick.id = 0;
    int rc = tr_send_every(ctx, tr_self(ctx), 1 + below(&s->r, SANITIZED ? 30 : 15), A_TICK, NULL,
                           0, &s->tick);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_send_every: %s", tr_strerror(rc));
}

/* ------------------------------------------------------------ offload */

typedef struct job_arg {
    uint32_t id, rec;
} job_arg;

static tr_msg *job_run(void *arg)
{
    job_arg *j = arg;
    tr_msg *m = NULL;
    umsg h = {j->id, 0, j->rec, 0, 0};
    if (tr_msg_new(A_O, sizeof h, &m) != TR_OK) return NULL;
    memcpy(tr_msg_buffer(m), &h, sizeof h);
    return m;
}

static void job_cleanup(void *arg)
{
    atomic_fetch_add(&bk->cleanups, 1);
    free(arg);
}

static void op_offload(tr_ctx *ctx, wstate *s)
{
    uint32_t id = mark_new();
    job_arg *j = malloc(sizeof *j);
    if (!id || !j) {
        free(j);
        return;
    }
    *j = (job_arg){id, s->rec};
    mark(id, M_ARMED | M_JOB);
    int rc = tr_offload(ctx, (tr_job){job_run, job_cleanup, j});
    if (rc == TR_OK) {
        atomic_fetch_add(&bk->offloads, 1);
    } else {
        mark(id, M_REFUSED);
        free(j);
        if (rc != TR_ESTOPPED) violation("tr_offload: %s", tr_strerror(rc));
    }
}

/* -------------------------------------------------------------- spawn */

extern const tr_behaviour worker_b;

static tr_full_policy random_policy(rng *r, uint32_t *cap)
{
    if (!chance(r, 200)) {
        *cap = 0;
        return TR_FULL_FAIL;
    }
    *cap = 2 + below(r, 30);
    return (tr_full_policy)below(r, 4);
}

/* A shutdown time: infinite in strict epochs (nothing is ever killed);
 * in kill epochs brutal, short (the child is abandoned when it runs late)
 * or infinite. */
static int64_t random_shutdown(rng *r)
{
    if (bk->strict) return TR_SHUTDOWN_INFINITY;
    uint32_t k = below(r, 10);
    return k < 3 ? TR_SHUTDOWN_BRUTAL : k < 7 ? 1 + (int64_t)below(r, 20) : TR_SHUTDOWN_INFINITY;
}

static bool may_spawn(const wstate *s)
{
    return !atomic_load(&bk->draining) && s->depth < 7 && room_for_records() &&
           (uint32_t)atomic_load(&bk->live_workers) < bk->max_live;
}

static void op_spawn(tr_ctx *ctx, wstate *s)
{
    if (!may_spawn(s)) return;
    uint32_t r = rec_new(K_WORKER, s->rec);
    if (!r) return;
    wargs a = {.rec = r, .parent = s->rec, .depth = s->depth + 1, .seed = rnd(&s->r)};
    if (chance(&s->r, 300)) a.flags |= WF_TRAP;
    tr_spawn_opts o = {.args = &a, .args_size = sizeof a, .shutdown_ms = random_shutdown(&s->r)};
    o.on_full = random_policy(&s->r, &o.capacity);
    a.capacity = o.capacity;
    a.policy = (uint8_t)o.on_full;
    R(r)->capacity = o.capacity;
    R(r)->policy = (uint8_t)o.on_full;
    if (a.flags & WF_TRAP) o.flags |= TR_SPAWN_TRAP_EXITS;
    if (chance(&s->r, 30)) o.deadline_ms = 1 + below(&s->r, 200);
    char name[16];
    if (chance(&s->r, 40)) {
        snprintf(name, sizeof name, "r%u", below(&s->r, 16));
        o.register_as = name;
    }
    int sk = -1;
    for (int i = 0; i < NSTART && chance(&s->r, 500); i++)
        if (tr_pid_is_nil(s->starts[i].pid)) {
            sk = i;
            o.started_to = tr_self(ctx);
            break;
        }
    int kk = (int)below(&s->r, NKID);
    if (chance(&s->r, 200) && !tr_pid_is_nil(s->kids[kk].pid)) o.before = s->kids[kk].pid;
    /* an always-trapping parent is owed each child's exit: such a child
     * needs a slot of its own here, to be told apart when it comes */
    bool owed = (s->flags & (WF_TRAP | WF_ANCHOR)) != 0;
    if (owed) {
        kk = -1;
        for (int i = 0; i < NKID && kk < 0; i++)
            if (tr_pid_is_nil(s->kids[i].pid) || !s->kids[i].x) kk = i;
        if (kk < 0) {
            R(r)->kind = K_FREE;
            return;
        }
    }
    tr_pid pid;
    int rc = tr_spawn(ctx, &worker_b, &o, &pid);
    if (rc != TR_OK) {
        R(r)->kind = K_FREE; /* never used */
        if (rc != TR_EEXIST && rc != TR_ESTOPPED) violation("tr_spawn: %s", tr_strerror(rc));
        return;
    }
    if (s->kids[kk].x) expect_met(s->kids[kk].x, X_GONE); /* a supervisor's, or forgotten */
    s->kids[kk].pid = pid;
    s->kids[kk].rec = r;
    s->kids[kk].x = owed ? expect_new(XK_EXIT, s->rec, r) : 0;
    if (sk >= 0) {
        s->starts[sk].pid = pid;
        s->starts[sk].rec = r;
        s->starts[sk].x = expect_new(XK_STARTED, s->rec, r);
    }
    atomic_fetch_add(&bk->n_spawned, 1);
}

/* A child spec's worker args, for supervisor `sup` (its record). */
static wargs child_args(rng *r, uint32_t sup, uint32_t depth, bool meek)
{
    wargs a = {.parent = sup, .slot = slot_new(), .depth = depth, .seed = rnd(r)};
    if (meek) a.flags |= WF_MEEK;
    if (chance(r, 200)) a.flags |= WF_TRAP;
    return a;
}

#define SPEC_MAX 4

/* Storage for one supervisor spec being built (its nested one too). */
typedef struct spec_buf {
    tr_sup_spec spec;
    tr_child_spec kids[SPEC_MAX];
    wargs args[SPEC_MAX];
    char ids[SPEC_MAX][8];
    struct spec_buf *nested;
} spec_buf;

/* Builds a random spec for a supervisor whose record is `sup` (at depth
 * `depth`); `meek`: a top-level one, whose children must never stop it. */
static void build_spec(rng *r, spec_buf *b, uint32_t sup, uint32_t depth, bool meek,
                       spec_buf *nested_room)
{
    memset(b, 0, sizeof *b);
    tr_sup_spec *sp = &b->spec;
    sp->strategy = (tr_strategy)below(r, 4);
    R(sup)->strategy = (uint8_t)sp->strategy;
    if (meek) {
        sp->intensity = 1000000; /* never gives up: that would fail the root */
        sp->period_ms = 1;
    } else {
        sp->intensity = below(r, 6);
        sp->period_ms = 10 + below(r, 500);
        if (sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 150))
            sp->auto_shutdown = (tr_auto_shutdown)(1 + below(r, 2));
    }
    size_t n = sp->strategy == TR_SIMPLE_ONE_FOR_ONE ? 1 : 1 + below(r, SPEC_MAX);
    for (size_t i = 0; i < n; i++) {
        tr_child_spec *c = &b->kids[i];
        snprintf(b->ids[i], sizeof b->ids[i], "c%zu", i);
        c->id = b->ids[i];
        c->restart = (tr_restart)below(r, 3);
        c->shutdown_ms = random_shutdown(r);
        if (chance(r, 250)) {
            c->backoff.min_ms = 1 + below(r, 3);
            c->backoff.max_ms = c->backoff.min_ms + below(r, 20);
            c->backoff.reset_ms = 50;
            c->backoff.jitter = below(r, 100) / 100.0;
        }
        c->on_full = random_policy(r, &c->capacity);
        if (!meek && sp->auto_shutdown != TR_AUTO_SHUTDOWN_NEVER && c->restart != TR_PERMANENT &&
            chance(r, 500))
            c->significant = true;
        if (!meek && nested_room && !b->nested && depth < 5 &&
            sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 150)) {
            uint32_t nr = rec_new(K_SUP, sup);
            if (nr) {
                rec_link(nr);
                build_spec(r, nested_room, nr, depth + 1, false, NULL);
                b->nested = nested_room;
                c->supervisor = &nested_room->spec;
                c->shutdown_ms = bk->strict ? TR_SHUTDOWN_INFINITY : c->shutdown_ms;
                c->restart = chance(r, 500) ? TR_PERMANENT : TR_TRANSIENT; /* its spec stays */
                c->capacity = 0; /* its own messages to itself must not be refused */
                c->significant = c->significant && c->restart != TR_PERMANENT;
                R(sup)->supmask |= (uint8_t)(1u << i);
                continue;
            }
        }
        b->args[i] = child_args(r, sup, depth + 1, meek);
        b->args[i].capacity = c->capacity;
        b->args[i].policy = (uint8_t)c->on_full;
        if (sp->strategy == TR_SIMPLE_ONE_FOR_ONE) b->args[i].slot = 0; /* no ids to keep apart */
        c->behaviour = &worker_b;
        c->args = &b->args[i];
        c->args_size = sizeof b->args[i];
        if (!meek && sp->strategy != TR_SIMPLE_ONE_FOR_ONE && chance(r, 50)) {
            static const char *const names[] = {"r0", "r1", "r2", "r3"};
            c->register_as = names[below(r, 4)];
        }
    }
    sp->children = b->kids;
    sp->nchildren = n;
}

static void op_spawn_sup(tr_ctx *ctx, wstate *s)
{
    if (!may_spawn(s) || s->depth > 4) return;
    uint32_t r = rec_new(K_SUP, s->rec);
    if (!r) return;
    rec_link(r);
    spec_buf b, nested;
    build_spec(&s->r, &b, r, s->depth + 1, false, &nested);
    char why[256];
    int rc = tr_sup_spec_check(&b.spec, why, sizeof why);
    if (rc != TR_OK) {
        violation("a spec the test thinks valid was refused: %s", why);
        return;
    }
    tr_spawn_opts o = {.shutdown_ms = bk->strict ? TR_SHUTDOWN_INFINITY : random_shutdown(&s->r)};
    tr_pid pid;
    rc = tr_supervisor_spawn(ctx, &b.spec, &o, &pid);
    if (rc != TR_OK) {
        if (rc != TR_ESTOPPED) violation("tr_supervisor_spawn: %s", tr_strerror(rc));
        return;
    }
    dir_add(pid, r, D_SUP, 0, (uint8_t)b.spec.strategy);
    int kk = (int)below(&s->r, NKID);
    for (int i = 0; i < NKID && s->kids[kk].x; i++)
        kk = (kk + 1) % NKID;
    if (s->kids[kk].x) return; /* every slot owes an exit: not remembered */
    s->kids[kk].pid = pid;
    s->kids[kk].rec = 0;
    atomic_fetch_add(&bk->n_sups, 1);
}

/* A dynamic request to a random supervisor. */
static void op_sup_request(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->calls);
    dent d;
    if (k < 0 || !dir_pick(&s->r, D_SUP, &d)) return;
    bool simple = d.strategy == TR_SIMPLE_ONE_FOR_ONE;
    uint8_t op = (uint8_t)(OP_WHICH + below(&s->r, 6));
    if (simple && (op == OP_RESTART || op == OP_DELETE)) op = OP_COUNT; /* EINVAL by design */
    if (op == OP_START && (atomic_load(&bk->draining) || !room_for_records() ||
                           (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live))
        op = OP_WHICH;
    uint32_t id = call_new(s->rec, op, d, tr_now_ms(ctx), TR_INFINITY);
    if (!id) return;
    char cid[8];
    snprintf(cid, sizeof cid, "%c%u", chance(&s->r, 500) ? 'c' : 'd', below(&s->r, 4));
    if (op == OP_DELETE && cid[0] == 'c' && (R(d.rec)->supmask >> (cid[1] - '0') & 1))
        cid[0] = 'd'; /* the counts rely on it */
    tr_ref ref;
    int rc;
    switch (op) {
    case OP_WHICH: rc = tr_sup_which_children(ctx, d.pid, &ref); break;
    case OP_COUNT: rc = tr_sup_count_children(ctx, d.pid, &ref); break;
    case OP_START: {
        wargs a = child_args(&s->r, d.rec, s->depth + 2, d.protect);
        tr_child_spec c = {.id = cid,
                           .behaviour = &worker_b,
                           .args = &a,
                           .args_size = sizeof a,
                           .restart = (tr_restart)below(&s->r, 3),
                           .shutdown_ms = random_shutdown(&s->r)};
        uint64_t extra = rnd(&s->r);
        if (simple) c = (tr_child_spec){.args = &extra, .args_size = sizeof extra};
        rc = tr_sup_start_child(ctx, d.pid, &c, &ref);
        break;
    }
    case OP_TERMINATE: {
        dent w;
        tr_pid victim = simple && dir_pick(&s->r, D_WORKER, &w) ? w.pid : TR_PID_NIL;
        if (simple && tr_pid_is_nil(victim)) victim = tr_self(ctx);
        rc = tr_sup_terminate_child(ctx, d.pid, simple ? NULL : cid, victim, &ref);
        break;
    }
    case OP_RESTART: rc = tr_sup_restart_child(ctx, d.pid, cid, &ref); break;
    default: rc = tr_sup_delete_child(ctx, d.pid, cid, &ref); break;
    }
    if (rc == TR_OK) {
        call_pending(id);
        s->calls[k].ref = ref.id;
        s->calls[k].id = id;
        atomic_fetch_add(&bk->n_suprq, 1);
    } else if (rc != TR_ESTOPPED && rc != TR_EFULL) {
        violation("tr_sup_%s_child: %s", op_names[op], tr_strerror(rc));
    }
}

static void op_stop_child(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NKID);
    if (tr_pid_is_nil(s->kids[k].pid)) {
        /* a stranger is not ours to stop */
        dent d;
        if (dir_pick(&s->r, D_WORKER, &d) && R(d.rec)->parent != s->rec) {
            int rc = tr_stop_child(ctx, d.pid);
            if (rc != TR_ENOENT && rc != TR_ESTOPPED)
                violation("tr_stop_child of a stranger: %s", tr_strerror(rc));
        }
        return;
    }
    int rc = tr_stop_child(ctx, s->kids[k].pid);
    if (rc != TR_OK && rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_stop_child: %s", tr_strerror(rc));
}

/* Ends itself, one of five ways; returns the handler's result. */
static int op_end(tr_ctx *ctx, wstate *s)
{
    atomic_fetch_add(&bk->n_crashes, 1);
    s->intent = true;
    switch (below(&s->r, 5)) {
    case 0:
        s->intent_kind = TR_EXIT_NORMAL;
        tr_stop(ctx);
        return 0;
    case 1:
        s->intent_kind = TR_EXIT_SHUTDOWN;
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "bye");
        return 0;
    case 2:
        s->intent_kind = TR_EXIT_TIMEOUT;
        tr_stop_reason(ctx, TR_EXIT_TIMEOUT, "late");
        return 0;
    case 3: s->intent_kind = TR_EXIT_FAILURE; return tr_fail(ctx, "crash %u", s->rec);
    default: s->intent_kind = TR_EXIT_FAILURE; return -1;
    }
}

/* Documented answers of calls made wrongly. */
static void op_contracts(tr_ctx *ctx, wstate *s, const tr_msg *not_a_request)
{
    if (not_a_request) {
        int rc = tr_reply(ctx, not_a_request, A_REP, NULL, 0);
        if (rc != TR_EINVAL && rc != TR_ESTOPPED)
            violation("tr_reply to a non-request: %s", tr_strerror(rc));
    }
    tr_request fake = {tr_self(ctx), {(uint64_t)1 << 62}};
    int rc = tr_request_drop(ctx, fake);
    if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_request_drop of nothing: %s", tr_strerror(rc));
    (void)s;
}

/* Long work (a kill epoch's shutdown times are shorter): a callback that
 * runs past its actor's shutdown time gets it abandoned while it runs,
 * and what it does after must not take effect. */
static void busy(rng *r)
{
    int64_t until = t_now_ms() + 1 + below(r, 5);
    while (t_now_ms() < until) {
    }
}

/* One random thing; returns the handler's result. */
static int op_random(tr_ctx *ctx, wstate *s, const tr_msg *m)
{
    if (atomic_load(&bk->draining)) return 0;
    bool crowded = (uint32_t)atomic_load(&bk->live_workers) * 10 > bk->max_live * 7;
    bool mortal = !(s->flags & (WF_ANCHOR | WF_MEEK));
    uint32_t x = below(&s->r, 1000);
    if (x < 200)
        op_send(ctx, s, 1);
    else if (x < 230)
        op_send(ctx, s, 2 + (int)below(&s->r, 20));
    else if (x < 340)
        op_call(ctx, s);
    else if (x < 420)
        op_spawn(ctx, s);
    else if (x < 445)
        op_spawn_sup(ctx, s);
    else if (x < 495)
        op_sup_request(ctx, s);
    else if (x < 555)
        op_monitor(ctx, s);
    else if (x < 575)
        op_demonitor(ctx, s);
    else if (x < 585)
        op_demonitor_race(ctx, s);
    else if (x < 610)
        op_link(ctx, s);
    else if (x < 625)
        op_unlink(ctx, s);
    else if (x < 645)
        op_exit(ctx, s);
    else if (x < 685)
        op_timer(ctx, s);
    else if (x < 705)
        op_cancel(ctx, s);
    else if (x < 715)
        op_foreign_cancel(ctx, s);
    else if (x < 740)
        op_stop_child(ctx, s);
    else if (x < 780)
        answer_deferred(ctx, s, false);
    else if (x < 790) {
        if (mortal && !(s->flags & WF_TRAP)) {
            s->trap = !s->trap;
            tr_trap_exits(ctx, s->trap);
        }
    } else if (x < 805)
        op_send_named(ctx, s);
    else if (x < 815)
        op_offload(ctx, s);
    else if (x < 825)
        rearm_tick(ctx, s);
    else if (x < 835)
        op_contracts(ctx, s, m);
    else if (x < 845)
        tr_stop_children_together(ctx, chance(&s->r, 500));
    else if (x < 855 && !bk->strict) {
        busy(&s->r);
        op_send(ctx, s, 1);
        op_timer(ctx, s);
    } else if (mortal && (crowded ? x < 910 : x < 870))
        return op_end(ctx, s);
    return 0;
}

/* ------------------------------------------------------------ callbacks */

static int w_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    wstate *s = st;
    wargs a;
    if (size < sizeof a) {
        violation("init with %zu bytes of args", size);
        return TR_INIT_IGNORE;
    }
    memcpy(&a, args, sizeof a);
    if (size == sizeof a + sizeof(uint64_t)) { /* simple_one_for_one: appended args */
        uint64_t extra;
        memcpy(&extra, (const char *)args + sizeof a, sizeof extra);
        a.seed ^= mix64(extra);
    } else if (size != sizeof a) {
        violation("init with %zu bytes of args", size);
    }
    uint32_t r = a.rec;
    if (!r) {
        r = rec_new(K_WORKER, a.parent);
        if (!r) return TR_INIT_IGNORE; /* out of records: runs untracked (counted) */
        R(r)->slot = a.slot;
        R(r)->capacity = a.capacity;
        R(r)->policy = a.policy;
    }
    R(r)->protect = (a.flags & WF_ANCHOR) != 0;
    rec_link(r);
    cb_enter(r);
    uint8_t ph = PH_NONE;
    if (!atomic_compare_exchange_strong(&R(r)->phase, &ph, PH_INIT))
        violation("record %u: init again (phase %u)", r, ph);
    s->rec = r;
    s->parent = a.parent;
    s->depth = a.depth;
    s->flags = a.flags;
    s->slot = a.slot;
    if (a.slot) {
        uint32_t inc = atomic_fetch_add(&bk->slots[a.slot].incarnations, 1);
        a.seed ^= mix64(inc + 1);
        int32_t live = atomic_fetch_add(&bk->slots[a.slot].live, 1);
        if (live != 0 && bk->strict)
            violation("record %u: another incarnation of its child spec still runs", r);
    }
    s->r.s = a.seed;
    /* Decided first, so that a failing init leaves nothing behind. */
    uint32_t fate = (a.flags & (WF_MEEK | WF_ANCHOR)) ? 1000 : below(&s->r, 1000);
    if (fate < 50) {
        atomic_store(&R(r)->exit_kind, fate < 35 ? TR_EXIT_FAILURE : TR_EXIT_NORMAL);
        atomic_store(&R(r)->start, fate < 35 ? START_FAILED : START_IGNORED);
        if (a.slot) atomic_fetch_sub(&bk->slots[a.slot].live, 1);
        atomic_store(&R(r)->phase, PH_ENDED);
        cb_exit(r);
        if (fate < 20) return tr_fail(ctx, "init failed");
        if (fate < 35) return -1;
        return TR_INIT_IGNORE;
    }
    atomic_store(&R(r)->start, START_OK);
    atomic_fetch_add(&bk->live_workers, 1);
    atomic_store(&R(r)->phase, PH_LIVE);
    s->trap = (a.flags & (WF_TRAP | WF_ANCHOR)) != 0;
    if (s->trap) tr_trap_exits(ctx, true);
    if (chance(&s->r, 200)) tr_stop_children_together(ctx, true);
    dir_add(tr_self(ctx), r, D_WORKER, R(r)->protect, 0);
    rearm_tick(ctx, s);
    if (a.flags & WF_ANCHOR) {
        for (int i = 0; i < 3; i++)
            op_spawn(ctx, s);
        op_spawn_sup(ctx, s);
    }
    cb_exit(r);
    return 0;
}

static int w_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    wstate *s = st;
    if (!s->rec) {
        violation("handle before init (or without a record)");
        return 0;
    }
    uint32_t r = s->rec;
    cb_enter(r);
    if (atomic_load(&R(r)->phase) != PH_LIVE)
        violation("record %u: handle in phase %u", r, atomic_load(&R(r)->phase));
    int rc = 0;
    tr_atom t = tr_msg_type(m);
    uint64_t ref = tr_msg_ref(m).id;
    if (tr_msg_is_request(m)) {
        if (tr_atom_eq(t, A_Q))
            rc = got_request(ctx, s, m);
        else
            violation("a request of type \"%s\"", tr_atom_name(t));
    } else if (ref) {
        int k = FIND(s->calls, ref);
        if (k >= 0) {
            got_answer(ctx, s, k, m);
        } else if (tr_atom_eq(t, tr_down_atom()) && (k = FIND(s->mons, ref)) >= 0) {
            got_down(s, k, m);
        } else {
            violation("record %u: a \"%s\" for no call or monitor of its own (ref %" PRIu64 ")", r,
                      tr_atom_name(t), ref);
        }
    } else if (tr_atom_eq(t, A_TICK)) {
        s->nticks++;
        if (atomic_load(&bk->draining))
            answer_deferred(ctx, s, true);
        else
            rc = op_random(ctx, s, NULL);
    } else if (tr_atom_eq(t, A_M)) {
        got_tracked(m, r, &s->f, true);
        if (chance(&s->r, 30))
            op_contracts(ctx, s, m);
        else if (chance(&s->r, 50))
            rc = op_random(ctx, s, m);
    } else if (tr_atom_eq(t, A_T) || tr_atom_eq(t, A_O)) {
        got_tracked(m, r, NULL, false);
    } else if (tr_atom_eq(t, A_POKE)) {
        rc = op_random(ctx, s, m);
    } else if (tr_atom_eq(t, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        if (tr_exit_info(m, &who, &why) != TR_OK) violation("an undecodable tr.exit");
        if (!s->trap) violation("record %u: a tr.exit without trapping", r);
        if (bk->strict && why.kind == TR_EXIT_KILLED)
            violation("a kill in a strict epoch (tr.exit)");
        for (int i = 0; i < NKID; i++) {
            if (!tr_pid_eq(s->kids[i].pid, who)) continue;
            uint32_t c = s->kids[i].rec;
            if (why.kind == TR_EXIT_NOPROC) { /* a link made after its end: not its exit */
                if (c && atomic_load(&R(c)->phase) != PH_ENDED)
                    violation("tr.exit noproc of record %u before its end", c);
                break;
            }
            s->kids[i].pid = TR_PID_NIL;
            expect_met(s->kids[i].x, X_DONE);
            s->kids[i].x = 0;
            if (!c) break;
            if (atomic_load(&R(c)->phase) != PH_ENDED) {
                if (bk->strict || why.kind != TR_EXIT_KILLED) /* abandoned: counted killed */
                    violation("tr.exit of record %u before its end", c);
            } else if (why.kind != atomic_load(&R(c)->exit_kind) &&
                       (bk->strict || why.kind != TR_EXIT_KILLED)) {
                violation("tr.exit says %s, record %u ended %s", tr_exit_kind_name(why.kind), c,
                          tr_exit_kind_name((tr_exit_kind)atomic_load(&R(c)->exit_kind)));
            }
            break;
        }
        for (int i = 0; i < NLINK; i++)
            if (tr_pid_eq(s->links[i], who)) s->links[i] = TR_PID_NIL;
    } else if (tr_atom_eq(t, tr_started_atom())) {
        tr_pid who;
        tr_start_status st2;
        tr_exit why;
        if (tr_started_info(m, &who, &st2, &why) != TR_OK) violation("an undecodable tr.started");
        int k = -1;
        for (int i = 0; i < NSTART; i++)
            if (tr_pid_eq(s->starts[i].pid, who)) k = i;
        if (k < 0) {
            violation("record %u: a tr.started for no spawn of its own", r);
        } else {
            uint32_t c = s->starts[k].rec;
            s->starts[k].pid = TR_PID_NIL;
            expect_met(s->starts[k].x, X_DONE);
            s->starts[k].x = 0;
            uint8_t want = atomic_load(&R(c)->start);
            if ((st2 == TR_START_OK) != (want == START_OK) ||
                (st2 == TR_START_IGNORED) != (want == START_IGNORED))
                violation("record %u: tr.started says %d, its init said %u", c, (int)st2, want);
        }
    } else if (tr_atom_eq(t, A_U)) {
        /* untracked */
    } else {
        violation("record %u: an unexpected \"%s\"", r, tr_atom_name(t));
    }
    cb_exit(r);
    return rc;
}

/* Every record under `r`, through supervisors, has ended (strict). */
static void check_subtree_ended(uint32_t r, uint32_t top, int depth)
{
    for (uint32_t c = atomic_load(&R(r)->first_child); c; c = atomic_load(&R(c)->next_sib)) {
        if (R(c)->kind == K_SUP) {
            if (depth < 16) check_subtree_ended(c, top, depth + 1);
        } else if (atomic_load(&R(c)->phase) != PH_ENDED) {
            violation("record %u terminated before its descendant %u ended (phase %u)", top, c,
                      atomic_load(&R(c)->phase));
        }
    }
}

static void w_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    wstate *s = st;
    uint32_t r = s->rec;
    if (!r) {
        violation("terminate without init");
        return;
    }
    cb_enter(r);
    if (atomic_fetch_add(&R(r)->terms, 1) != 0) violation("record %u: terminate again", r);
    if (atomic_load(&R(r)->phase) != PH_LIVE)
        violation("record %u: terminate in phase %u", r, atomic_load(&R(r)->phase));
    if (bk->strict && why->kind == TR_EXIT_KILLED)
        violation("a kill in a strict epoch (terminate)");
    if (s->intent && why->kind != s->intent_kind && (bk->strict || why->kind != TR_EXIT_KILLED))
        violation("record %u asked to end %s and terminate says %s", r,
                  tr_exit_kind_name((tr_exit_kind)s->intent_kind), tr_exit_kind_name(why->kind));
    if (!s->intent && bk->strict && why->kind != TR_EXIT_SHUTDOWN && why->kind != TR_EXIT_FAILURE &&
        why->kind != TR_EXIT_TIMEOUT)
        violation("record %u ended %s without asking", r, tr_exit_kind_name(why->kind));
    if ((why->kind == TR_EXIT_NORMAL) != (why->text == NULL) && why->kind == TR_EXIT_NORMAL)
        violation("a normal end with a text: %s", why->text);
    /* Its children first. */
    if (bk->strict) {
        check_subtree_ended(r, r, 0);
    } else {
        for (uint32_t c = atomic_load(&R(r)->first_child); c; c = atomic_load(&R(c)->next_sib))
            if (R(c)->kind == K_WORKER && atomic_load(&R(c)->phase) != PH_ENDED)
                atomic_store(&R(c)->outlived, 1); /* must have been abandoned */
    }
    /* A last word (terminate may send): from an abandoned actor it must
     * still be accepted and become a dead letter. */
    if (chance(&s->r, 200)) {
        if (!bk->strict && chance(&s->r, 300)) busy(&s->r);
        op_send(ctx, s, 1);
    }
    /* What it awaited dies with it. */
    for (int i = 0; i < NCALL; i++)
        if (s->calls[i].ref) call_answered(s->calls[i].id, C_GONE);
    for (int i = 0; i < NKID; i++)
        expect_met(s->kids[i].x, X_GONE);
    for (int i = 0; i < NSTART; i++)
        expect_met(s->starts[i].x, X_GONE);
    for (int i = 0; i < NMON; i++)
        if (s->mons[i].ref && !mon_to(s->mons[i].id, MO_ACTIVE, MO_GONE))
            violation("monitor %u still held in state %u", s->mons[i].id,
                      atomic_load(&bk->mons[s->mons[i].id].st));
    /* Outliving its parent is for the abandoned only: read the facts
     * first, then ask (the parent abandons before it goes on). */
    bool outlived = atomic_load(&R(r)->outlived) || (R(s->parent)->kind == K_WORKER &&
                                                     atomic_load(&R(s->parent)->phase) == PH_ENDED);
    bool aband = abandoned(ctx);
    if (aband) atomic_fetch_add(&bk->n_abandoned, 1);
    if (bk->strict && aband) violation("record %u abandoned in a strict epoch", r);
    if (outlived && !aband) violation("record %u outlived its parent without being abandoned", r);
    atomic_store(&R(r)->exit_kind, aband ? TR_EXIT_KILLED : why->kind);
    if (s->slot) atomic_fetch_sub(&bk->slots[s->slot].live, 1);
    atomic_fetch_sub(&bk->live_workers, 1);
    atomic_store(&R(r)->phase, PH_ENDED);
    cb_exit(r);
}

const tr_behaviour worker_b = {"w", sizeof(wstate), w_init, w_handle, w_terminate};

/* ==================================================== outside threads */

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

static void outside_got(outside *o, const tr_msg *m)
{
    tr_atom t = tr_msg_type(m);
    if (tr_msg_is_request(m)) {
        qmsg q;
        if (!tr_atom_eq(t, A_Q) || tr_msg_size(m) != sizeof q) return; /* e.g. an inspection */
        memcpy(&q, tr_msg_data(m), sizeof q);
        int rc = tr_inbox_reply(o->in, m, A_REP, &q.call, sizeof q.call);
        if (rc != TR_OK) violation("tr_inbox_reply: %s", tr_strerror(rc));
    } else if (tr_atom_eq(t, A_M)) {
        got_tracked(m, o->rec, &o->f, true);
    } else if (tr_atom_eq(t, A_T)) {
        got_tracked(m, o->rec, NULL, false);
    } else if (tr_atom_eq(t, tr_down_atom())) {
        int k = FIND(o->mons, tr_msg_ref(m).id);
        if (k < 0) {
            violation("an inbox got a tr.down for no monitor of its own");
            return;
        }
        wstate fake = {0};
        fake.mons[0].ref = o->mons[k].ref;
        fake.mons[0].id = o->mons[k].id;
        o->mons[k].ref = 0;
        got_down(&fake, 0, m);
    } else if (!tr_atom_eq(t, A_U)) {
        violation("an inbox got an unexpected \"%s\"", tr_atom_name(t));
    }
}

static void outside_drain(outside *o, int64_t wait_ms)
{
    const tr_msg *m;
    while (tr_inbox_recv(o->in, &m, wait_ms) == TR_OK) {
        outside_got(o, m);
        wait_ms = 0;
    }
}

static void outside_send(outside *o)
{
    dent to;
    if (!dir_pick(&o->r, D_WORKER | D_INBOX, &to)) return;
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, o->rec, to.rec, 0, ++o->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&o->r, h, buf);
    int rc;
    uint32_t how = below(&o->r, 5);
    if (how == 0) {
        rc = tr_inbox_send(o->in, to.pid, A_M, buf, n);
    } else if (how == 1) {
        tr_msg *m = NULL;
        rc = tr_msg_new(A_M, n, &m);
        if (rc == TR_OK) {
            memcpy(tr_msg_buffer(m), buf, n);
            rc = tr_system_send_msg(bk->sys, to.pid, &m);
        }
    } else if (how == 2) {
        /* a blocking mailbox makes us wait this long at most */
        rc = tr_system_send_timed(bk->sys, to.pid, A_M, buf, n, below(&o->r, 4));
    } else {
        rc = tr_system_send(bk->sys, to.pid, A_M, buf, n);
    }
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_EFULL && rc != TR_ETIMEDOUT)
        violation("a send from outside: %s", tr_strerror(rc));
}

static void outside_call(outside *o)
{
    dent to;
    if (!dir_pick(&o->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    int64_t timeout = 1 + below(&o->r, 30);
    uint32_t id = call_new(o->rec, OP_CALL, to, tr_system_now_ms(bk->sys), timeout);
    if (!id) return;
    call_pending(id);
    qmsg q = {id, 0};
    tr_msg *reply = NULL;
    int rc = tr_call_sync(bk->sys, to.pid, A_Q, &q, sizeof q, timeout, &reply);
    call_answered(id, C_DONE);
    if (rc == TR_OK) {
        uint32_t got = 0;
        if (tr_msg_is(reply, A_REP) && tr_msg_size(reply) == sizeof got)
            memcpy(&got, tr_msg_data(reply), sizeof got);
        else if (tr_msg_is(reply, A_SUP_ANSWER) && to.kind == D_SUP)
            got = id;
        if (got != id)
            violation("call_sync %u answered by %s for %u", id, tr_atom_name(tr_msg_type(reply)),
                      got);
    } else if (rc == TR_ENOENT) {
        if (!reply || !tr_msg_is(reply, tr_down_atom()))
            violation("call_sync: TR_ENOENT without its tr.down");
    } else if (rc != TR_ETIMEDOUT && rc != TR_EFULL) {
        violation("tr_call_sync: %s", tr_strerror(rc));
    }
    tr_msg_destroy(&reply);
}

static bool sup_rc_ok(uint8_t op, int rc)
{
    if (rc == TR_ETIMEDOUT || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED) return true;
    switch (op) {
    case OP_START: return rc == TR_OK || rc == TR_EEXIST || rc == TR_EPRESENT || rc == TR_EFAILED;
    case OP_RESTART: return rc == TR_OK || rc == TR_EFAILED;
    default: return rc == TR_OK;
    }
}

static void outside_sup(outside *o)
{
    dent d;
    if (!dir_pick(&o->r, D_SUP, &d)) return;
    bool simple = d.strategy == TR_SIMPLE_ONE_FOR_ONE;
    uint8_t op = (uint8_t)(OP_WHICH + below(&o->r, 6));
    if (simple && (op == OP_RESTART || op == OP_DELETE)) op = OP_WHICH;
    if (op == OP_START &&
        (!room_for_records() || (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live))
        op = OP_COUNT;
    int64_t tmo = 5 + below(&o->r, 100);
    char cid[8];
    snprintf(cid, sizeof cid, "%c%u", chance(&o->r, 500) ? 'c' : 'd', below(&o->r, 4));
    if (op == OP_DELETE && cid[0] == 'c' && (R(d.rec)->supmask >> (cid[1] - '0') & 1)) cid[0] = 'd';
    int rc;
    atomic_store(&o->doing, op_names[op]);
    switch (op) {
    case OP_WHICH: {
        tr_child_info info[16];
        size_t n = 0;
        rc = tr_sup_which_children_sync(bk->sys, d.pid, info, 16, &n, tmo);
        if (rc == TR_OK) check_which(d.rec, info, n < 16 ? n : 16);
        break;
    }
    case OP_COUNT: {
        tr_child_counts k;
        rc = tr_sup_count_children_sync(bk->sys, d.pid, &k, tmo);
        if (rc == TR_OK) check_counts(d.rec, &k);
        break;
    }
    case OP_START: {
        wargs a = child_args(&o->r, d.rec, 3, d.protect);
        uint64_t extra = rnd(&o->r);
        tr_child_spec c = {.id = cid,
                           .behaviour = &worker_b,
                           .args = &a,
                           .args_size = sizeof a,
                           .restart = (tr_restart)below(&o->r, 3),
                           .shutdown_ms = random_shutdown(&o->r)};
        if (simple) c = (tr_child_spec){.args = &extra, .args_size = sizeof extra};
        tr_pid pid;
        rc = tr_sup_start_child_sync(bk->sys, d.pid, &c, tmo, &pid);
        if (rc == TR_EEXIST && tr_pid_is_nil(pid))
            violation("start_child_sync: EEXIST without its pid");
        break;
    }
    case OP_TERMINATE: {
        dent w;
        tr_pid victim = simple && dir_pick(&o->r, D_WORKER, &w) ? w.pid : TR_PID_NIL;
        rc = tr_sup_terminate_child_sync(bk->sys, d.pid, simple ? NULL : cid, victim, tmo);
        if (simple && tr_pid_is_nil(victim) && rc == TR_ENOENT) rc = TR_OK;
        break;
    }
    case OP_RESTART: rc = tr_sup_restart_child_sync(bk->sys, d.pid, cid, tmo, NULL); break;
    default: rc = tr_sup_delete_child_sync(bk->sys, d.pid, cid, tmo); break;
    }
    if (!sup_rc_ok(op, rc)) violation("tr_sup_%s_child_sync: %s", op_names[op], tr_strerror(rc));
}

static void outside_monitor(outside *o)
{
    int k = FREE(o->mons);
    dent to;
    if (k < 0 || !dir_pick(&o->r, D_WORKER | D_SUP, &to)) return;
    uint32_t id = mon_new(o->rec, to.kind == D_WORKER ? to.rec : 0);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE);
    tr_ref ref;
    int rc = tr_inbox_monitor(o->in, to.pid, &ref);
    if (rc != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        violation("tr_inbox_monitor: %s", tr_strerror(rc));
        return;
    }
    o->mons[k].ref = ref.id;
    o->mons[k].id = id;
}

static void outside_demonitor(outside *o)
{
    int k = (int)below(&o->r, NMON);
    if (o->mons[k].ref == 0) {
        int rc = tr_inbox_demonitor(o->in, (tr_ref){(uint64_t)1 << 62});
        if (rc != TR_ENOENT) violation("tr_inbox_demonitor of no monitor: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_inbox_demonitor(o->in, (tr_ref){o->mons[k].ref});
    if (rc != TR_OK)
        violation("tr_inbox_demonitor: %s", tr_strerror(rc));
    else if (!mon_to(o->mons[k].id, MO_ACTIVE, MO_DEMONITORED))
        violation("inbox monitor %u demonitored in state %u", o->mons[k].id,
                  atomic_load(&bk->mons[o->mons[k].id].st));
    o->mons[k].ref = 0;
}

static tr_spawn_opts anchor_opts(rng *r, wargs *a, uint32_t rec_idx)
{
    *a = (wargs){.rec = rec_idx, .flags = WF_ANCHOR | WF_TRAP, .seed = rnd(r)};
    return (tr_spawn_opts){.args = a,
                           .args_size = sizeof *a,
                           .flags = TR_SPAWN_TRAP_EXITS,
                           .shutdown_ms = random_shutdown(r)};
}

/* Top level from outside: an anchor or a supervisor that never gives up
 * (a failure there would end the run), or a stop of one of them. */
static void outside_top(outside *o)
{
    int k = (int)below(&o->r, NEXTRA);
    if (!tr_pid_is_nil(o->extras[k])) {
        atomic_store(&o->doing, "stop_child");
        int rc = tr_system_stop_child(bk->sys, o->extras[k]);
        if (rc != TR_OK) violation("tr_system_stop_child: %s", tr_strerror(rc));
        o->extras[k] = TR_PID_NIL;
        return;
    }
    if (!room_for_records() || (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live) return;
    if (chance(&o->r, 500)) {
        uint32_t r = rec_new(K_WORKER, 0);
        if (!r) return;
        wargs a;
        tr_spawn_opts so = anchor_opts(&o->r, &a, r);
        atomic_store(&o->doing, "system_spawn");
        int rc = tr_system_spawn(bk->sys, &worker_b, &so, &o->extras[k]);
        if (rc != TR_OK) {
            R(r)->kind = K_FREE;
            violation("tr_system_spawn: %s", tr_strerror(rc));
        }
    } else {
        uint32_t r = rec_new(K_SUP, 0);
        if (!r) return;
        R(r)->protect = 1;
        spec_buf b;
        build_spec(&o->r, &b, r, 1, true, NULL);
        char why[256] = "";
        atomic_store(&o->doing, "supervisor_start");
        int rc =
            tr_supervisor_start(bk->sys, &b.spec, NULL, T_WAIT_MS, &o->extras[k], why, sizeof why);
        if (rc != TR_OK)
            violation("tr_supervisor_start: %s (%s)", tr_strerror(rc), why);
        else
            dir_add(o->extras[k], r, D_SUP, 1, (uint8_t)b.spec.strategy);
    }
}

static void outside_inspect(outside *o)
{
    dent d;
    if (!dir_pick(&o->r, D_WORKER | D_SUP, &d)) return;
    tr_actor_info info;
    int rc = tr_system_inspect(bk->sys, d.pid, &info, 5 + below(&o->r, 50));
    if (rc == TR_OK) {
        if (!tr_pid_eq(info.pid, d.pid)) violation("tr_system_inspect answered for another pid");
        if (d.kind == D_WORKER && info.capacity != R(d.rec)->capacity)
            violation("tr_system_inspect: capacity %u, spawned with %u", info.capacity,
                      R(d.rec)->capacity);
    } else if (rc != TR_ENOENT && rc != TR_ETIMEDOUT) {
        violation("tr_system_inspect: %s", tr_strerror(rc));
    }
}

static void *outside_main(void *arg)
{
    outside *o = arg;
    if (tr_inbox_new(bk->sys, &o->in) != TR_OK) {
        violation("tr_inbox_new failed");
        atomic_store(&o->done, true);
        return NULL;
    }
    o->rec = rec_new(K_INBOX, 0);
    if (o->rec) dir_add(tr_inbox_pid(o->in), o->rec, D_INBOX, 0, 0);
    while (o->rec && !atomic_load(&bk->draining)) {
        outside_drain(o, 0);
        uint32_t x = below(&o->r, 1000);
        atomic_store(&o->doing, "op");
        if (x < 300) {
            atomic_store(&o->doing, "send");
            outside_send(o);
        } else if (x < 400) {
            atomic_store(&o->doing, "call_sync");
            outside_call(o);
        } else if (x < 520) {
            outside_sup(o);
        } else if (x < 600) {
            outside_monitor(o);
        } else if (x < 640) {
            outside_demonitor(o);
        } else if (x < 700) {
            dent d;
            if (dir_pick(&o->r, D_WORKER, &d)) tr_system_send(bk->sys, d.pid, A_POKE, NULL, 0);
        } else if (x < 730) {
            outside_top(o);
        } else if (x < 770) {
            atomic_store(&o->doing, "inspect");
            outside_inspect(o);
        } else if (x < 790) {
            dent d; /* not a child of the root: ignored */
            if (dir_pick(&o->r, D_WORKER, &d) && R(d.rec)->parent) {
                int rc = tr_system_stop_child(bk->sys, d.pid);
                if (rc != TR_OK)
                    violation("tr_system_stop_child of a non-child: %s", tr_strerror(rc));
            }
        } else {
            tr_system_stats st;
            if (tr_system_get_stats(bk->sys, &st) != TR_OK) violation("tr_system_get_stats");
        }
        atomic_store(&o->doing, "recv");
        outside_drain(o, below(&o->r, 2)); /* paces the thread on its own inbox */
    }
    if (o->in) {
        outside_drain(o, 0);
        for (int i = 0; i < NMON; i++)
            if (o->mons[i].ref && !mon_to(o->mons[i].id, MO_ACTIVE, MO_GONE))
                violation("inbox monitor %u held in state %u", o->mons[i].id,
                          atomic_load(&bk->mons[o->mons[i].id].st));
        tr_inbox_destroy(&o->in); /* what is left becomes dead letters */
    }
    atomic_store(&o->doing, "done");
    atomic_store(&o->done, true);
    return NULL;
}

/* =================================================== the dead letters */

typedef struct dl_thread {
    pthread_t th;
    _Atomic bool ready, stop;
    _Atomic uint64_t seen;
} dl_thread;

static void dl_got(const tr_msg *m)
{
    tr_dead_letter dl;
    if (tr_dead_letter_info(m, &dl) != TR_OK) {
        violation("the subscriber got a \"%s\"", tr_atom_name(tr_msg_type(m)));
        return;
    }
    bool is_m = tr_atom_eq(dl.type, A_M), is_t = tr_atom_eq(dl.type, A_T),
         is_o = tr_atom_eq(dl.type, A_O);
    if (!is_m && !is_t && !is_o) return;
    umsg h;
    if (!umsg_read(dl.data, dl.size, &h)) {
        violation("a dead letter \"%s\" arrived corrupt", tr_atom_name(dl.type));
        return;
    }
    uint8_t old = mark(h.id, M_DEAD);
    if (old & (M_HANDLED | M_DEAD))
        violation("message %u (%s) a dead letter after it was %s", h.id, tr_atom_name(dl.type),
                  old & M_HANDLED ? "handled" : "a dead letter");
    /* a job's result is an answer: never dropped by a full mailbox */
    bool ok = dl.reason == TR_DEAD_NO_ACTOR || dl.reason == TR_DEAD_STOPPING ||
              dl.reason == TR_DEAD_ABANDONED || (!is_o && dl.reason == TR_DEAD_MAILBOX_FULL);
    if (!ok) violation("message %u a dead letter for \"%s\"", h.id, tr_dead_reason_name(dl.reason));
    if (is_m && dl.reason == TR_DEAD_MAILBOX_FULL && h.to && R(h.to)->kind == K_WORKER &&
        R(h.to)->policy != TR_FULL_DROP_NEWEST && R(h.to)->policy != TR_FULL_DROP_OLDEST)
        violation("message %u dropped by a mailbox of policy %u", h.id, R(h.to)->policy);
}

static void *dl_main(void *arg)
{
    dl_thread *d = arg;
    tr_inbox *in = NULL;
    if (tr_inbox_new(bk->sys, &in) != TR_OK ||
        tr_system_dead_letters_to(bk->sys, tr_inbox_pid(in)) != TR_OK) {
        violation("cannot subscribe to dead letters");
        tr_inbox_destroy(&in);
        atomic_store(&d->ready, true);
        return NULL;
    }
    atomic_store(&d->ready, true);
    const tr_msg *m;
    for (;;) {
        int rc = tr_inbox_recv(in, &m, 2);
        if (rc == TR_OK) {
            dl_got(m);
            atomic_fetch_add(&d->seen, 1);
        } else if (atomic_load(&d->stop)) {
            break;
        }
    }
    while (tr_inbox_recv(in, &m, 0) == TR_OK)
        dl_got(m);
    tr_system_dead_letters_to(bk->sys, TR_PID_NIL);
    tr_inbox_destroy(&in);
    return NULL;
}

/* ========================================================== the epoch */

typedef struct epoch {
    int64_t busy_ms;
    unsigned nout;
    outside out[3];
} epoch;

static void wait_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Monitors whose target has ended and whose watcher still waits. */
static uint32_t due_downs(void)
{
    uint32_t n = 0, top = used(&bk->nmons, bk->mons_cap);
    for (uint32_t i = 1; i < top; i++) {
        monrec *m = &bk->mons[i];
        if (atomic_load(&m->st) == MO_ACTIVE && m->target &&
            atomic_load(&R(m->target)->phase) == PH_ENDED)
            n++;
    }
    return n;
}

/* Owed messages whose cause has happened: a child that has ended, one
 * whose init has returned. */
static uint32_t due_expects(void)
{
    uint32_t n = 0, top = used(&bk->nxs, bk->xs_cap);
    for (uint32_t i = 1; i < top; i++) {
        expect *x = &bk->xs[i];
        if (atomic_load(&x->st) != X_PENDING) continue;
        uint8_t ph = atomic_load(&R(x->about)->phase);
        if (x->kind == XK_EXIT ? ph == PH_ENDED : ph >= PH_LIVE) n++;
    }
    return n;
}

static void print_notes(void);

/* A hang is reported with the seed, then the process aborts: nothing else
 * could release what is stuck. */
static void hang(const char *what)
{
    violation("%s", what);
    print_notes();
    fflush(stdout);
    abort();
}

/* Ends the busy phase (its length is the point, not a synchronisation),
 * drains, and stops the system. */
static void *controller_main(void *arg)
{
    epoch *e = arg;
    wait_ms(e->busy_ms);
    atomic_store(&bk->draining, true);
    int64_t end = t_now_ms() + DRAIN_MS;
    for (unsigned i = 0; i < e->nout; i++) {
        while (!atomic_load(&e->out[i].done) && t_now_ms() < end)
            sched_yield();
        if (!atomic_load(&e->out[i].done)) {
            char what[160];
            snprintf(what, sizeof what, "outside thread %u stuck in %s for %d s", i,
                     atomic_load(&e->out[i].doing), DRAIN_MS / 1000);
            hang(what);
        }
        pthread_join(e->out[i].th, NULL);
    }
    /* every call answered, every due "tr.down" delivered, every job run */
    while ((atomic_load(&bk->pending_calls) || due_downs() || due_expects() ||
            atomic_load(&bk->cleanups) != atomic_load(&bk->offloads)) &&
           t_now_ms() < end)
        sched_yield();
    if (due_expects()) {
        uint32_t top = used(&bk->nxs, bk->xs_cap);
        for (uint32_t i = 1; i < top; i++) {
            expect *x = &bk->xs[i];
            uint8_t ph = atomic_load(&R(x->about)->phase);
            if (atomic_load(&x->st) == X_PENDING &&
                (x->kind == XK_EXIT ? ph == PH_ENDED : ph >= PH_LIVE)) {
                violation("drain: record %u never got the %s about record %u (phase %u)", x->owner,
                          x->kind == XK_EXIT ? "tr.exit" : "tr.started", x->about, ph);
                break;
            }
        }
    }
    if (atomic_load(&bk->pending_calls) || due_downs()) {
        uint32_t top = used(&bk->ncalls, bk->calls_cap), shown = 0;
        for (uint32_t i = 1; i < top && shown < 4; i++) {
            callrec *c = &bk->calls[i];
            if (atomic_load(&c->st) != C_PENDING) continue;
            shown++;
            violation("drain: call %u (%s, caller record %u phase %u, timeout %" PRId64
                      ") never answered",
                      i, op_names[c->op], c->caller, atomic_load(&R(c->caller)->phase),
                      c->timeout_ms);
        }
        violation("drain: %" PRId64 " calls unanswered, %u due tr.down not delivered after %d s",
                  atomic_load(&bk->pending_calls), due_downs(), DRAIN_MS / 1000);
    }
    tr_system_stop(bk->sys);
    if (tr_system_wait(bk->sys, END_MS) == TR_ETIMEDOUT) {
        char what[160];
        snprintf(what, sizeof what,
                 "the system did not end within %d s of tr_system_stop (%d live)", END_MS / 1000,
                 atomic_load(&bk->live_workers));
        hang(what);
    }
    return NULL;
}

/* Whether every tracked message met its fate; with `report`, says how
 * not (else only answers). */
static bool marks_balance(bool report)
{
    uint32_t top = used(&bk->nmarks, bk->marks_cap);
    uint64_t lost = 0, twice = 0, refused = 0, cancelled = 0, unused = 0, results = 0;
    uint32_t first_lost = 0;
    for (uint32_t i = 1; i < top; i++) {
        uint8_t v = atomic_load(&bk->marks[i]);
        uint8_t fate = v & (M_HANDLED | M_DEAD);
        if (fate == (M_HANDLED | M_DEAD)) twice++;
        if (v & M_REFUSED) {
            if (fate) refused++;
        } else if (v & M_ACCEPTED) {
            if (!fate && !lost++) first_lost = i;
        } else if (v & M_ARMED) {
            if ((v & M_CANCELLED) && fate) cancelled++;
            if ((v & M_JOB) && !fate) results++; /* every job ran (drain) */
        } else {
            unused++;
        }
    }
    if (report) {
        if (lost)
            violation("%" PRIu64 " accepted messages neither handled nor dead letters (first: %u)",
                      lost, first_lost);
        if (twice) violation("%" PRIu64 " messages both handled and dead letters", twice);
        if (refused) violation("%" PRIu64 " refused messages delivered", refused);
        if (cancelled) violation("%" PRIu64 " cancelled timers fired", cancelled);
        if (unused) violation("%" PRIu64 " message ids never used (test bug)", unused);
        if (results) violation("%" PRIu64 " results of jobs that ran never arrived", results);
    }
    return !lost && !twice && !refused && !cancelled && !unused && !results;
}

static bool books_balance(tr_system_stats *st)
{
    tr_system_get_stats(bk->sys, st);
    return st->messages_sent == st->messages_handled + st->dead_letters;
}

static void final_checks(void)
{
    uint32_t top = used(&bk->nrecs, bk->recs_cap);
    uint64_t bad = 0;
    for (uint32_t i = 1; i < top; i++) {
        rec *x = R(i);
        if (x->kind != K_WORKER) continue;
        uint8_t ph = atomic_load(&x->phase), terms = atomic_load(&x->terms);
        uint8_t want = atomic_load(&x->start) == START_OK ? 1 : 0;
        if (ph != PH_ENDED || terms != want || atomic_load(&x->in_cb)) {
            if (!bad++)
                violation("record %u at the end: phase %u, %u terminates (want %u), in callback %u",
                          i, ph, terms, want, atomic_load(&x->in_cb));
        }
    }
    if (bad > 1) violation("%" PRIu64 " records in all ended wrongly", bad);
    uint32_t ctop = used(&bk->ncalls, bk->calls_cap);
    for (uint32_t i = 1; i < ctop; i++)
        if (atomic_load(&bk->calls[i].st) == C_PENDING) {
            violation("call %u (%s) never answered and its caller never ended", i,
                      op_names[bk->calls[i].op]);
            break;
        }
    uint32_t mtop = used(&bk->nmons, bk->mons_cap);
    for (uint32_t i = 1; i < mtop; i++)
        if (atomic_load(&bk->mons[i].st) == MO_ACTIVE) {
            violation("monitor %u still active at the end", i);
            break;
        }
    uint32_t xtop = used(&bk->nxs, bk->xs_cap);
    for (uint32_t i = 1; i < xtop; i++)
        if (atomic_load(&bk->xs[i].st) == X_PENDING) {
            violation("record %u still owed a %s about record %u at the end", bk->xs[i].owner,
                      bk->xs[i].kind == XK_EXIT ? "tr.exit" : "tr.started", bk->xs[i].about);
            break;
        }
    uint32_t stop = used(&bk->nslots, bk->slots_cap);
    for (uint32_t i = 1; i < stop; i++)
        if (atomic_load(&bk->slots[i].live) != 0) {
            violation("child spec %u: %d incarnations at the end", i,
                      atomic_load(&bk->slots[i].live));
            break;
        }
    marks_balance(true);
}

static books *books_new(uint64_t seed, unsigned idx)
{
    books *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->epoch = idx;
    b->seed = seed;
    b->recs_cap = 1u << 17;
    b->slots_cap = 1u << 17;
    b->marks_cap = 1u << 23;
    b->calls_cap = 1u << 20;
    b->mons_cap = 1u << 19;
    b->recs = calloc(b->recs_cap, sizeof *b->recs);
    b->slots = calloc(b->slots_cap, sizeof *b->slots);
    b->marks = calloc(b->marks_cap, sizeof *b->marks);
    b->calls = calloc(b->calls_cap, sizeof *b->calls);
    b->mons = calloc(b->mons_cap, sizeof *b->mons);
    b->xs_cap = 1u << 19;
    b->xs = calloc(b->xs_cap, sizeof *b->xs);
    pthread_mutex_init(&b->dir_mu, NULL);
    if (!b->recs || !b->slots || !b->marks || !b->calls || !b->mons || !b->xs) return NULL;
    return b;
}

static void books_free(books *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->dir_mu);
    free(b->recs);
    free(b->slots);
    free((void *)b->marks);
    free(b->calls);
    free(b->mons);
    free(b->xs);
    free(b);
}

typedef struct totals {
    uint64_t epochs, strict, abandoned, spawned, sups, calls, sends, mons, exits, crashes, suprq,
        sent, dead, warnings, overflow;
} totals;

static totals tot;

static void run_epoch(unsigned idx, uint64_t seed, int64_t busy_ms)
{
    rng r = {seed};
    books *b = books_new(seed, idx);
    if (!b) {
        violation("out of memory for the books");
        return;
    }
    bk = b;
    b->strict = chance(&r, 500);
    b->max_live = (SANITIZED ? 40 : 80) + below(&r, SANITIZED ? 120 : 240);
    static const unsigned batches[] = {0, 1, 3, 16, 64};
    static const uint32_t slices[] = {0, 100, 300, 1000};
    tr_system_opts so = {.workers = 1 + below(&r, 4),
                         .batch = batches[below(&r, 5)],
                         .time_slice_us = slices[below(&r, 4)],
                         .blocking_threads = 1 + below(&r, 4),
                         .long_callback_ms = -1};
    if (verbose)
        printf("stress: epoch %u seed=%" PRIu64
               " %s, %u workers, batch %u, slice %u us, %u live max\n",
               idx, seed, b->strict ? "strict" : "kill", so.workers, so.batch, so.time_slice_us,
               b->max_live);
    int rc = tr_system_new(&so, &b->sys);
    if (rc != TR_OK) {
        violation("tr_system_new: %s", tr_strerror(rc));
        books_free(b);
        bk = NULL;
        return;
    }
    dl_thread dl = {0};
    pthread_create(&dl.th, NULL, dl_main, &dl);
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!atomic_load(&dl.ready) && t_now_ms() < end)
        sched_yield();
    unsigned nanchors = 1 + below(&r, 3);
    for (unsigned i = 0; i < nanchors; i++) {
        uint32_t ar = rec_new(K_WORKER, 0);
        wargs a;
        tr_spawn_opts o = anchor_opts(&r, &a, ar);
        tr_pid pid;
        rc = tr_system_spawn(b->sys, &worker_b, &o, &pid);
        if (rc != TR_OK) violation("spawning an anchor: %s", tr_strerror(rc));
    }
    epoch *e = calloc(1, sizeof *e);
    e->busy_ms = busy_ms;
    e->nout = 1 + below(&r, 3);
    for (unsigned i = 0; i < e->nout; i++) {
        e->out[i].r.s = rnd(&r);
        atomic_store(&e->out[i].doing, "start");
        pthread_create(&e->out[i].th, NULL, outside_main, &e->out[i]);
    }
    pthread_t ctl;
    pthread_create(&ctl, NULL, controller_main, e);
    rc = tr_system_run(b->sys);
    atomic_store(&b->ended, true);
    if (rc != TR_OK)
        violation("tr_system_run: %s; report:\n%s", tr_strerror(rc), tr_system_report(b->sys));
    int running = atomic_load(&b->in_cbs);
    if (b->strict && running)
        violation("%d callbacks still running when tr_system_run returned", running);
    pthread_join(ctl, NULL);
    tr_system_stats st;
    if (b->strict) {
        /* Exact at once: only the subscriber's inbox holds anything. */
        atomic_store(&dl.stop, true);
        pthread_join(dl.th, NULL);
        if (!books_balance(&st))
            violation("books when run returned: sent %" PRIu64 " != handled %" PRIu64
                      " + dead letters %" PRIu64,
                      st.messages_sent, st.messages_handled, st.dead_letters);
    } else {
        /* Abandoned subtrees may still be finishing: all must end, and
         * the books balance once they have. */
        end = t_now_ms() + DRAIN_MS;
        while ((atomic_load(&b->live_workers) || atomic_load(&b->in_cbs) || !books_balance(&st) ||
                !marks_balance(false)) &&
               t_now_ms() < end)
            sched_yield();
        atomic_store(&dl.stop, true);
        pthread_join(dl.th, NULL);
        if (!books_balance(&st))
            violation("books after the abandoned ended: sent %" PRIu64 " != handled %" PRIu64
                      " + dead letters %" PRIu64,
                      st.messages_sent, st.messages_handled, st.dead_letters);
    }
    final_checks();
    tot.epochs++;
    tot.strict += b->strict;
    tot.abandoned += atomic_load(&b->n_abandoned);
    tot.spawned += atomic_load(&b->n_spawned);
    tot.sups += atomic_load(&b->n_sups);
    tot.calls += atomic_load(&b->n_calls);
    tot.sends += atomic_load(&b->n_sends);
    tot.mons += atomic_load(&b->n_mons);
    tot.exits += atomic_load(&b->n_exits);
    tot.crashes += atomic_load(&b->n_crashes);
    tot.suprq += atomic_load(&b->n_suprq);
    tot.sent += st.messages_sent;
    tot.dead += st.dead_letters;
    tot.overflow += atomic_load(&b->rec_overflow);
    tr_system_destroy(&b->sys);
    if (atomic_load(&b->cleanups) != atomic_load(&b->offloads))
        violation("%" PRIu64 " offloaded jobs, %" PRIu64 " cleanups", atomic_load(&b->offloads),
                  atomic_load(&b->cleanups));
    int64_t left = tr_pool_outstanding();
    if (left != 0) violation("%" PRId64 " pooled blocks outstanding after destroy", left);
    free(e);
    bk = NULL;
    books_free(b);
}

/* ============================================================ driving */

static uint64_t base_seed;
static int64_t epoch_ms_used;

static void print_notes(void)
{
    pthread_mutex_lock(&notes_mu);
    printf("stress: %" PRIu64 " violation(s); the first %u:\n", atomic_load(&n_violations),
           n_notes);
    for (unsigned i = 0; i < n_notes; i++)
        printf("  %s\n", notes[i]);
    pthread_mutex_unlock(&notes_mu);
    unsigned e = atomic_load(&cur_epoch);
    uint64_t es = e == 0 ? base_seed : mix64(base_seed + e);
    printf("stress: FAILED with seed=%" PRIu64 " in epoch %u (epoch seed %" PRIu64 ")\n"
           "stress: replay that epoch alone: TROUPE_STRESS_SEED=%" PRIu64
           " TROUPE_STRESS_EPOCHS=1 TROUPE_STRESS_EPOCH_MS=%" PRId64 "\n",
           base_seed, e, es, es, epoch_ms_used);
    fflush(stdout);
}

static double env_num(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtod(v, NULL) : dflt;
}

static void test_stress(void **state)
{
    (void)state;
    const char *sv = getenv("TROUPE_STRESS_SEED");
    if (sv && *sv) {
        base_seed = strtoull(sv, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        base_seed = mix64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    }
    double seconds = env_num("TROUPE_STRESS_SECONDS", SANITIZED ? 5 : 3);
    int64_t epoch_ms = (int64_t)env_num("TROUPE_STRESS_EPOCH_MS", 1000);
    unsigned max_epochs = (unsigned)env_num("TROUPE_STRESS_EPOCHS", 1e9);
    verbose = env_num("TROUPE_STRESS_VERBOSE", 0) != 0;
    if (epoch_ms < 10) epoch_ms = 10;
    printf("stress: seed=%" PRIu64 " seconds=%g epoch_ms=%" PRId64
           " (replay: TROUPE_STRESS_SEED=%" PRIu64 ")\n",
           base_seed, seconds, epoch_ms, base_seed);
    fflush(stdout);
    A_TICK = tr_atom_from("s.tick");
    A_M = tr_atom_from("s.m");
    A_U = tr_atom_from("s.u");
    A_T = tr_atom_from("s.t");
    A_O = tr_atom_from("s.o");
    A_Q = tr_atom_from("s.q");
    A_REP = tr_atom_from("s.rep");
    A_POKE = tr_atom_from("s.poke");
    A_SUP_ANSWER = tr_atom_from("tr.sup");
    A_SUP_CHILDREN = tr_atom_from("tr.sup.children");
    A_SUP_COUNTS = tr_atom_from("tr.sup.counts");
    tr_log_set_handler(log_sink, NULL);
    tr_log_set_level(TR_LOG_WARN);
    int64_t start = t_now_ms(), total_ms = (int64_t)(seconds * 1000);
    for (unsigned e = 0; e < max_epochs; e++) {
        int64_t left = total_ms - (t_now_ms() - start);
        if (left <= 0 || (e > 0 && left < 100)) break;
        epoch_ms_used = left < epoch_ms ? left : epoch_ms;
        atomic_store(&cur_epoch, e);
        run_epoch(e, e == 0 ? base_seed : mix64(base_seed + e), epoch_ms_used);
        if (atomic_load(&n_violations)) break;
    }
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    printf("stress: %" PRIu64 " epochs (%" PRIu64 " strict) in %.1f s: %" PRIu64 " spawns, %" PRIu64
           " supervisors, %" PRIu64 " calls, %" PRIu64 " supervisor requests, %" PRIu64
           " tracked sends, %" PRIu64 " monitors, %" PRIu64 " exit signals, %" PRIu64
           " self-ends, %" PRIu64 " abandoned; %" PRIu64 " messages, %" PRIu64
           " dead letters, %" PRIu64 " runtime warnings%s\n",
           tot.epochs, tot.strict, (t_now_ms() - start) / 1000.0, tot.spawned, tot.sups, tot.calls,
           tot.suprq, tot.sends, tot.mons, tot.exits, tot.crashes, tot.abandoned, tot.sent,
           tot.dead, atomic_load(&n_warnings), tot.overflow ? " (record table overflowed)" : "");
    if (atomic_load(&n_violations)) {
        print_notes();
        fail_msg("stress: invariants broken (seed %" PRIu64 ")", base_seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stress)};
    return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
