/* ledger.c — the stress test's books: one record per actor incarnation,
 * per tracked message, per call, per monitor, per owed message; the
 * directory of pids to pick from; the checks that read them, as things
 * happen and once the system has ended. Written from every thread: atomics
 * for what changes, plain fields written before a record is handed on. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

/* ========================================================= violations */

_Atomic uint64_t n_violations;
static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;
#define MAX_NOTES 24
static char notes[MAX_NOTES][400];
static unsigned n_notes;
_Atomic unsigned cur_epoch;

/* Any thread: records a broken invariant (never asserts: cmocka may only
 * fail on the test thread). */
__attribute__((format(printf, 1, 2))) void violation(const char *fmt, ...)
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

void print_violations(void)
{
    pthread_mutex_lock(&notes_mu);
    printf("stress: %" PRIu64 " violation(s); the first %u:\n", atomic_load(&n_violations),
           n_notes);
    for (unsigned i = 0; i < n_notes; i++)
        printf("  %s\n", notes[i]);
    pthread_mutex_unlock(&notes_mu);
}

bool verbose;
_Atomic uint64_t n_warnings;

/* The runtime's log: an error line is a violation (out of memory, a
 * stray message, a root failure); warnings (restarts, kills) are counted. */
void log_sink(void *user, tr_log_level level, const char *line)
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

books *bk;

/* 1-based; 0 when the table is full. */
static uint32_t take(_Atomic uint32_t *n, uint32_t cap)
{
    uint32_t i = atomic_fetch_add(n, 1) + 1;
    return i < cap ? i : 0;
}

uint32_t used(_Atomic uint32_t *n, uint32_t cap)
{
    uint32_t v = atomic_load(n) + 1;
    return v < cap ? v : cap;
}

uint32_t rec_new(uint8_t kind, uint32_t parent)
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
void rec_link(uint32_t i)
{
    if (!R(i)->parent) return;
    rec *p = R(R(i)->parent);
    uint32_t head = atomic_load(&p->first_child);
    do
        atomic_store(&R(i)->next_sib, head);
    while (!atomic_compare_exchange_weak(&p->first_child, &head, i));
}

bool room_for_records(void) { return atomic_load(&bk->nrecs) < bk->recs_cap / 4 * 3; }

uint32_t slot_new(void) { return take(&bk->nslots, bk->slots_cap); }

uint32_t mark_new(void) { return take(&bk->nmarks, bk->marks_cap); }

void dir_add(tr_pid pid, uint32_t r, uint8_t kind, uint8_t protect, uint8_t strategy)
{
    pthread_mutex_lock(&bk->dir_mu);
    bk->dir[bk->dir_next] = (dent){pid, r, kind, protect, strategy};
    bk->dir_next = (bk->dir_next + 1) % DIR_N;
    if (bk->dir_n < DIR_N) bk->dir_n++;
    pthread_mutex_unlock(&bk->dir_mu);
}

/* A random entry of one of `kinds` (a few tries), false if none found. */
bool dir_pick(rng *r, uint8_t kinds, dent *out)
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

void tring_add(uint64_t id, uint32_t owner)
{
    pthread_mutex_lock(&bk->dir_mu);
    bk->tring[bk->tring_n++ % TRING].id = id;
    bk->tring[(bk->tring_n - 1) % TRING].owner = owner;
    pthread_mutex_unlock(&bk->dir_mu);
}

bool tring_pick(rng *r, uint32_t not_owner, uint64_t *id)
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

uint32_t call_new(uint32_t caller, uint8_t op, dent callee, int64_t t0, int64_t timeout)
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

void call_pending(uint32_t i)
{
    atomic_fetch_add(&bk->pending_calls, 1);
    atomic_store(&bk->calls[i].st, C_PENDING);
}

/* The one answer of call i: false (and a violation) if it had one. */
bool call_answered(uint32_t i, uint8_t how)
{
    uint8_t want = C_PENDING;
    if (!atomic_compare_exchange_strong(&bk->calls[i].st, &want, how)) {
        violation("call %u (%s) answered again (state %u)", i, op_names[bk->calls[i].op], want);
        return false;
    }
    atomic_fetch_sub(&bk->pending_calls, 1);
    return true;
}

uint32_t mon_new(uint32_t watcher, uint32_t target)
{
    uint32_t i = take(&bk->nmons, bk->mons_cap);
    if (!i) return 0;
    bk->mons[i].watcher = watcher;
    bk->mons[i].target = target;
    return i;
}

bool mon_to(uint32_t i, uint8_t from, uint8_t to)
{
    return atomic_compare_exchange_strong(&bk->mons[i].st, &from, to);
}

uint32_t expect_new(uint8_t kind, uint32_t owner, uint32_t about)
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
void expect_met(uint32_t i, uint8_t how)
{
    uint8_t want = X_PENDING;
    if (i && !atomic_compare_exchange_strong(&bk->xs[i].st, &want, how) && how == X_DONE)
        violation("record %u got a second %s about record %u", bk->xs[i].owner,
                  bk->xs[i].kind == XK_EXIT ? "tr.exit" : "tr.started", bk->xs[i].about);
}

void mon_fired(uint32_t id, const tr_msg *m)
{
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) != TR_OK) {
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
}

/* ---------------------------------------------------- message payloads */

tr_atom A_TICK, A_M, A_U, A_T, A_O, A_Q, A_REP, A_POKE, A_SUP_ANSWER, A_SUP_CHILDREN, A_SUP_COUNTS;

void intern_atoms(void)
{
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
}

size_t umsg_fill(rng *r, umsg h, unsigned char *buf)
{
    size_t extra = chance(r, 100) ? below(r, 160) : 0;
    memcpy(buf, &h, sizeof h);
    for (size_t i = 0; i < extra; i++)
        buf[sizeof h + i] = (unsigned char)(h.id * 31u + i);
    return sizeof h + extra;
}

bool umsg_read(const void *data, size_t n, umsg *h)
{
    if (n < sizeof *h || n > UMSG_MAX) return false;
    memcpy(h, data, sizeof *h);
    const unsigned char *p = (const unsigned char *)data + sizeof *h;
    for (size_t i = 0; i < n - sizeof *h; i++)
        if (p[i] != (unsigned char)(h->id * 31u + i)) return false;
    return h->id != 0 && h->id < bk->marks_cap;
}

/* A tracked message reached `self` (a record): marks it handled once and
 * checks it is intact, in order and for this receiver. */
void got_tracked(const tr_msg *m, uint32_t self, fifo *f, bool ordered)
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

/* --------------------------------------------------- supervisor answers */

/* count_children against what the test built: a static supervisor's
 * specs are c0..c3 (from build_spec; its supervisors are never deleted
 * nor temporary) and d0..d3 (workers, from start_child). */
void check_counts(uint32_t sup, const tr_child_counts *k)
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

void check_which(uint32_t sup, const tr_child_info *info, size_t n)
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

/* ------------------------------------------------------- end of epoch */

/* Monitors whose target has ended and whose watcher still waits. */
uint32_t due_downs(void)
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
uint32_t due_expects(void)
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

/* Whether every tracked message met its fate; with `report`, says how
 * not (else only answers). */
bool marks_balance(bool report)
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

bool books_balance(tr_system_stats *st)
{
    tr_system_get_stats(bk->sys, st);
    return st->messages_sent == st->messages_handled + st->dead_letters;
}

void final_checks(void)
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

books *books_new(uint64_t seed, unsigned idx)
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

void books_free(books *b)
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
