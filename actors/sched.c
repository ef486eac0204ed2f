/* sched.c — worker threads running actors M:N with work stealing.
 *
 * Per worker: a LIFO slot holding the actor woken last (so that a receiver
 * runs right after its sender, on the same core, with a warm cache: what
 * makes ping-pong cheap), and a 256-entry ring that the owner pushes at the
 * tail and everybody takes from the head with a CAS. Actors scheduled from
 * outside any worker, and ring overflow, go to one global queue.
 *
 * A worker with nothing to do spins for a while, stealing, before it parks;
 * whoever schedules work wakes a parked worker only if none is spinning.
 * The LIFO slot is stolen only from a worker whose current turn has lasted
 * long (TRI_LIFO_STEAL_NS): a producer flooding a consumer inside one long
 * handler must not keep the consumer from running on the other core, but a
 * quick ping-pong must not be split across cores either.
 *
 * Work that enters from outside the workers (a timer, a foreign thread's
 * send, a blocking-pool result, the transport) goes to the global queue.
 * If every worker is busy at that moment, they are all asked to end their
 * turns at the next message (`preempt`) and look at the global queue
 * first: such work waits for at most one callback, never for the backlog
 * of the actors the workers happen to run. Time slices, and work stuck
 * behind a long callback, are sysmon's (sysmon.c).
 *
 * An actor is in at most one queue at a time and so runs on one worker at a
 * time: it is scheduled only on its mailbox's empty-to-non-empty edge, and
 * re-queued only by the worker running it. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define TRI_SPIN_ROUNDS 2000
#define TRI_LIFO_MAX_STREAK 64
#define TRI_GLOBAL_EVERY 61
#define TRI_LIFO_STEAL_NS 50000

_Thread_local tri_worker *tri_current_worker;

/* ---------------------------------------------------------- global queue */

/* Asks every worker to end its turn at the next message (a worker between
 * turns takes the flag into its next choice). */
static void preempt_all(tri_sched *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        tri_worker *w = &s->workers[i];
        if (!atomic_load_explicit(&w->preempt, memory_order_relaxed))
            atomic_store_explicit(&w->preempt, true, memory_order_relaxed);
    }
}

/* The global queue is two FIFOs under one mutex: work injected from
 * outside the workers (TRI_GQ_INJECT: timers, foreign sends, the
 * transport), which a preempted worker comes for, and work spilled by the
 * workers themselves (TRI_GQ_SPILL: ring overflow, actors rescued from
 * behind a long callback). Injected work goes first, but every fourth pop
 * prefers the spill, so neither starves the other. Returns whether that
 * FIFO was empty before. */
/* Appends the chain first..last (linked by run_next, n actors) to FIFO q
 * under one lock. */
static bool global_push_chain(tri_sched *s, tri_actor *first, tri_actor *last, size_t n, int q)
{
    last->run_next = 0;
    pthread_mutex_lock(&s->gq_mu);
    bool was_empty = s->gq_tail[q] == NULL;
    if (s->gq_tail[q]) s->gq_tail[q]->run_next = tri_ref(first);
    else s->gq_head[q] = first;
    s->gq_tail[q] = last;
    atomic_fetch_add_explicit(&s->gq_len, n, memory_order_seq_cst);
    pthread_mutex_unlock(&s->gq_mu);
    return was_empty;
}

static bool global_push(tri_sched *s, tri_actor *a, int q) { return global_push_chain(s, a, a, 1, q); }

static tri_actor *pop_locked(tri_sched *s)
{
    int q = (++s->gq_pops & 3) == 0 ? TRI_GQ_SPILL : TRI_GQ_INJECT;
    if (!s->gq_head[q]) q ^= 1;
    tri_actor *a = s->gq_head[q];
    if (a) {
        s->gq_head[q] = tri_at(a->sys, a->run_next);
        if (!s->gq_head[q]) s->gq_tail[q] = NULL;
        atomic_fetch_sub_explicit(&s->gq_len, 1, memory_order_relaxed);
    }
    return a;
}

static void ring_push(tri_sched *s, tri_worker *w, tri_actor *a);
static tri_actor *ring_take(tri_worker *w);

/* Takes one actor from the global queue for `w` (NULL for a thread that is
 * not a worker) and, for a worker, up to a fair share more into its own
 * ring, under the same lock: one actor waking 100k others pushed them all
 * through here one lock at a time, and the lock convoyed. */
static tri_actor *global_pop_for(tri_sched *s, tri_worker *w)
{
    size_t len = atomic_load_explicit(&s->gq_len, memory_order_relaxed);
    if (len == 0) return NULL;
    size_t extra = 0;
    if (w) {
        uint32_t used = atomic_load_explicit(&w->tail, memory_order_relaxed) -
                        atomic_load_explicit(&w->head, memory_order_relaxed);
        size_t room = used < TRI_RING / 2 ? TRI_RING / 2 - used : 0;
        extra = len / s->n;
        if (extra > 32) extra = 32;
        if (extra > room) extra = room;
    }
    tri_actor *batch[32];
    size_t nb = 0;
    pthread_mutex_lock(&s->gq_mu);
    tri_actor *a = pop_locked(s);
    while (a && nb < extra) {
        tri_actor *b = pop_locked(s);
        if (!b) break;
        batch[nb++] = b;
    }
    pthread_mutex_unlock(&s->gq_mu);
    for (size_t i = 0; i < nb; i++) ring_push(s, w, batch[i]);
    return a;
}

static tri_actor *global_pop(tri_sched *s) { return global_pop_for(s, NULL); }

/* ------------------------------------------------------------ local ring */

static void ring_push(tri_sched *s, tri_worker *w, tri_actor *a)
{
    uint32_t t = atomic_load_explicit(&w->tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&w->head, memory_order_acquire);
    if (t - h >= TRI_RING) {
        /* Full: the older half goes to the global queue with `a`, in one
         * batch under one lock (as Tokio spills), not one at a time. */
        tri_actor *first = NULL, *last = NULL;
        size_t n = 0;
        for (tri_actor *x; n < TRI_RING / 2 && (x = ring_take(w)) != NULL; n++) {
            if (last) last->run_next = tri_ref(x);
            else first = x;
            last = x;
        }
        if (last) last->run_next = tri_ref(a);
        else first = a;
        global_push_chain(s, first, a, n + 1, TRI_GQ_SPILL);
        return;
    }
    atomic_store_explicit(&w->ring[t & (TRI_RING - 1)], a, memory_order_relaxed);
    atomic_store_explicit(&w->tail, t + 1, memory_order_release);
}

/* Owner and thieves alike: take the oldest entry. */
static tri_actor *ring_take(tri_worker *w)
{
    uint32_t h = atomic_load_explicit(&w->head, memory_order_acquire);
    for (;;) {
        uint32_t t = atomic_load_explicit(&w->tail, memory_order_acquire);
        if (h == t) return NULL;
        tri_actor *a = atomic_load_explicit(&w->ring[h & (TRI_RING - 1)], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&w->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return a;
    }
}

static bool ring_empty(tri_worker *w)
{
    return atomic_load_explicit(&w->head, memory_order_acquire) ==
           atomic_load_explicit(&w->tail, memory_order_acquire);
}

/* --------------------------------------------------------------- waking */

static void wake_one(tri_sched *s)
{
    pthread_mutex_lock(&s->park_mu);
    for (unsigned i = 0; i < s->n; i++) {
        tri_worker *w = &s->workers[i];
        if (w->parked && !w->wake) {
            w->wake = true;
            pthread_cond_signal(&w->park_cv);
            break;
        }
    }
    if (atomic_load_explicit(&s->mon_idle, memory_order_relaxed) != TRI_MON_TICKING)
        pthread_cond_signal(&s->mon_cv); /* work again: watch it */
    pthread_mutex_unlock(&s->park_mu);
}

/* A full barrier between publishing (work, or "I am parked") and reading
 * the other side's state. ThreadSanitizer does not model fences, so under it
 * the barrier is a seq_cst read-modify-write of the variable both sides use,
 * which it does model (and which is just as correct, only slower). */
static inline void full_barrier(tri_sched *s)
{
#if defined(__SANITIZE_THREAD__)
    atomic_fetch_add_explicit(&s->nparked, 0, memory_order_seq_cst);
#else
    (void)s;
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* After making work visible: wake a worker if all the others sleep. The
 * barrier pairs with the one in park(): either the parking worker sees the
 * new work, or we see it parked. */
static inline void notify(tri_sched *s)
{
    full_barrier(s);
    if (atomic_load_explicit(&s->nspinning, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&s->nparked, memory_order_relaxed) > 0)
        wake_one(s);
}

/* After injecting work from outside: as notify, and if nobody is idle to
 * take it, have the busy workers come for it at their next message (once
 * per batch: when the inject FIFO was empty, the flags are already up). */
static inline void notify_inject(tri_sched *s, bool was_empty)
{
    full_barrier(s);
    if (atomic_load_explicit(&s->nspinning, memory_order_relaxed) != 0) return;
    if (atomic_load_explicit(&s->nparked, memory_order_relaxed) > 0) wake_one(s);
    else if (was_empty) preempt_all(s);
}

void tri_schedule(tr_system *sys, tri_actor *a)
{
    if (a->kind == TRI_SLOT_INBOX) {
        tri_inbox_wake(sys, a);
        return;
    }
    tri_sched *s = &sys->sched;
    tri_worker *w = tri_current_worker;
    if (w && w->sys == sys) {
        atomic_store_explicit(&w->n_begun,
                              atomic_load_explicit(&w->n_begun, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        /* The LIFO slot is for this worker: it runs next, here, so nobody
         * else needs waking (a flood is handled by tri_share_lifo). */
        tri_actor *prev = atomic_exchange_explicit(&w->lifo, a, memory_order_acq_rel);
        if (!prev) return;
        ring_push(s, w, prev);
        notify(s);
    } else {
        atomic_fetch_add_explicit(&s->n_begun_foreign, 1, memory_order_relaxed);
        notify_inject(s, global_push(s, a, TRI_GQ_INJECT));
    }
}

void tri_share_lifo(tri_worker *w)
{
    if (!atomic_load_explicit(&w->lifo, memory_order_relaxed)) return;
    tri_actor *a = atomic_exchange_explicit(&w->lifo, NULL, memory_order_acq_rel);
    if (!a) return;
    ring_push(&w->sys->sched, w, a);
    notify(&w->sys->sched);
}

/* --------------------------------------------------------------- finding */

static tri_actor *steal(tri_worker *w)
{
    tri_sched *s = &w->sys->sched;
    unsigned n = tri_sched_nvis(s);
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    unsigned start = w->rng % n;
    for (unsigned k = 0; k < n; k++) {
        unsigned v = (start + k) % n;
        if (v == w->id) continue;
        tri_worker *victim = &s->workers[v];
        tri_actor *a = ring_take(victim);
        if (a) return a;
        if (!atomic_load_explicit(&victim->lifo, memory_order_relaxed)) continue;
        uint64_t turns = atomic_load_explicit(&victim->turns, memory_order_relaxed);
        int64_t now = tri_mono_ns();
        if (turns != w->seen_turns[v]) {
            w->seen_turns[v] = turns;
            w->seen_at[v] = now;
        } else if (atomic_load_explicit(&victim->in_turn, memory_order_relaxed) &&
                   now - w->seen_at[v] > TRI_LIFO_STEAL_NS) {
            a = atomic_exchange_explicit(&victim->lifo, NULL, memory_order_acq_rel);
            if (a) return a;
        }
    }
    return global_pop_for(s, w);
}

static tri_actor *next_local(tri_worker *w)
{
    tri_sched *s = &w->sys->sched;
    if (atomic_load_explicit(&w->preempt, memory_order_relaxed)) {
        /* Asked to come: the global queue first (sysmon or an outside
         * sender found every worker busy). */
        atomic_store_explicit(&w->preempt, false, memory_order_relaxed);
        tri_actor *a = global_pop(s);
        if (a) return a;
    } else if (++w->tick % TRI_GLOBAL_EVERY == 0) {
        tri_actor *a = global_pop(s);
        if (a) return a;
    }
    tri_actor *a = atomic_exchange_explicit(&w->lifo, NULL, memory_order_acq_rel);
    if (a) {
        /* Cap a ping-pong streak so the ring is not starved. */
        if (++w->lifo_streak <= TRI_LIFO_MAX_STREAK || ring_empty(w)) return a;
        ring_push(s, w, a);
    }
    w->lifo_streak = 0;
    a = ring_take(w);
    if (a) return a;
    return global_pop_for(s, w);
}

/* Sysmon: moves what waits in `w`'s LIFO slot and ring to the global
 * queue, where any worker can take it; for a worker stuck in one long
 * callback. Returns how many actors moved. */
unsigned tri_sched_rescue(tri_worker *w)
{
    tri_sched *s = &w->sys->sched;
    unsigned moved = 0;
    tri_actor *a = atomic_exchange_explicit(&w->lifo, NULL, memory_order_acq_rel);
    if (a) global_push(s, a, TRI_GQ_SPILL), moved++;
    while ((a = ring_take(w)) != NULL) global_push(s, a, TRI_GQ_SPILL), moved++;
    if (moved) notify(s);
    return moved;
}

/* Sysmon: whether `w` has work queued that only it would take. */
bool tri_sched_has_local(tri_worker *w)
{
    return !ring_empty(w) || atomic_load_explicit(&w->lifo, memory_order_relaxed);
}

/* Whether any worker could take work now. The guest's LIFO slot is not
 * such work: the guest runs it right after its pass, and only sysmon moves
 * it (to the global queue, waking a worker) when the guest is stuck in a
 * callback. Counting it kept idle workers from parking in a ping-pong
 * between nodes, spinning beside the threads that carry it. */
static bool any_work(tri_sched *s)
{
    if (atomic_load_explicit(&s->gq_len, memory_order_seq_cst) > 0) return true;
    for (unsigned i = 0, n = tri_sched_nvis(s); i < n; i++) {
        tri_worker *w = &s->workers[i];
        if (!ring_empty(w) || (i < s->n && atomic_load_explicit(&w->lifo, memory_order_seq_cst)))
            return true;
    }
    return false;
}

static void park(tri_worker *w)
{
    tri_sched *s = &w->sys->sched;
    pthread_mutex_lock(&s->park_mu);
    w->parked = true;
    atomic_fetch_add_explicit(&s->nparked, 1, memory_order_seq_cst);
    full_barrier(s);
    /* Placing an actor in a worker's own LIFO slot wakes nobody: if that
     * worker's callback then runs long, the actor would wait for it while
     * we sleep. Sysmon moves such stranded work to the global queue, which
     * wakes us; so a parked worker sleeps until woken, costing nothing. */
    while (!any_work(s) && !w->wake && !atomic_load_explicit(&s->quit, memory_order_acquire))
        pthread_cond_wait(&w->park_cv, &s->park_mu);
    w->wake = false;
    w->parked = false;
    atomic_fetch_sub_explicit(&s->nparked, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&s->park_mu);
}

/* One turn of `a` on `w`, seen by thieves and sysmon. */
static void run_one(tri_worker *w, tri_actor *a)
{
    atomic_store_explicit(&w->turns, atomic_load_explicit(&w->turns, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&w->current, a, memory_order_relaxed);
    atomic_store_explicit(&w->in_turn, true, memory_order_relaxed);
    w->turn_sends = 0;
    tri_run_turn(w, a);
    atomic_store_explicit(&w->in_turn, false, memory_order_relaxed);
    atomic_store_explicit(&w->current, NULL, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    tri_worker *w = arg;
    tri_sched *s = &w->sys->sched;
    tri_current_worker = w;
    char name[16]; /* what ps, top and debuggers show */
    snprintf(name, sizeof name, "troupe-w%u", w->id);
    pthread_setname_np(pthread_self(), name);
    while (!atomic_load_explicit(&s->quit, memory_order_acquire)) {
        tri_actor *a = next_local(w);
        if (!a) {
            atomic_fetch_add_explicit(&s->nspinning, 1, memory_order_seq_cst);
            for (unsigned i = 0; i < TRI_SPIN_ROUNDS && !a; i++) {
                a = steal(w);
                if (!a) {
                    if (atomic_load_explicit(&s->quit, memory_order_relaxed)) break;
                    if (i % 64 == 63) sched_yield();
                    else tri_cpu_relax();
                }
            }
            atomic_fetch_sub_explicit(&s->nspinning, 1, memory_order_seq_cst);
            if (!a) {
                park(w);
                continue;
            }
            /* We found work by searching: there may be more, so make sure
             * somebody else keeps looking. */
            notify(s);
        }
        run_one(w, a);
    }
    tri_current_worker = NULL;
    return NULL;
}

bool tri_sched_any_work(tr_system *sys) { return any_work(&sys->sched); }

/* ----------------------------------------------------------------- guest */

tri_worker *tri_sched_guest_attach(tr_system *sys, void (*stuck)(void *arg), void *arg)
{
    tri_sched *s = &sys->sched;
    pthread_mutex_lock(&s->park_mu); /* sysmon reads the hook under it */
    tri_worker *g = NULL;
    if (atomic_load_explicit(&s->nvis, memory_order_relaxed) == s->n) {
        s->guest_stuck = stuck;
        s->guest_arg = arg;
        g = &s->workers[s->n];
        atomic_store_explicit(&s->nvis, s->n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&s->park_mu);
    return g;
}

/* The guest begins turns: if sysmon went to sleep (every worker parked),
 * it must wake to watch them. Pairs with the same fence in sysmon: either
 * sysmon sees the guest in its turn, or the guest sees sysmon asleep.
 * Only on that edge: while the guest keeps running turns, sysmon keeps
 * ticking, slowly (sysmon.c), so a ping-pong pays no wake-up per message. */
static void guest_begin(tri_sched *s, tri_worker *g)
{
    atomic_store_explicit(&g->in_turn, true, memory_order_seq_cst);
    if (atomic_load_explicit(&s->mon_idle, memory_order_seq_cst) != TRI_MON_ASLEEP) return;
    pthread_mutex_lock(&s->park_mu);
    pthread_cond_signal(&s->mon_cv);
    pthread_mutex_unlock(&s->park_mu);
}

unsigned tri_sched_guest_run(tri_worker *g, unsigned max)
{
    unsigned k = 0;
    if (tri_sched_has_local(g)) guest_begin(&g->sys->sched, g);
    while (k < max) {
        /* its own work only: the guest has its own job to go back to,
         * and the global queue has the workers */
        tri_actor *a = atomic_exchange_explicit(&g->lifo, NULL, memory_order_acq_rel);
        if (!a) a = ring_take(g);
        if (!a) break;
        run_one(g, a);
        k++;
        /* An actor that sends a lot (a producer feeding another node)
         * leaves for the workers: on this thread its sends would wait for
         * its turns to end before the pass that carries them out. */
        if (g->turn_sends >= TRI_SHARE_EVERY) tri_share_lifo(g);
    }
    return k;
}

/* Whether every activation begun has ended: no actor is queued or in a
 * turn. Reads the ends before the beginnings: an activation's beginning
 * happens before its end (the actor passes through a queue), so a
 * beginning counted late can only make the sums differ, never hide work
 * (see tri_worker.n_begun). */
bool tri_sched_quiet(tr_system *sys)
{
    tri_sched *s = &sys->sched;
    uint64_t done = 0, begun = 0;
    unsigned n = tri_sched_nvis(s);
    for (unsigned i = 0; i < n; i++)
        done += atomic_load_explicit(&s->workers[i].n_done, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    for (unsigned i = 0; i < n; i++)
        begun += atomic_load_explicit(&s->workers[i].n_begun, memory_order_acquire);
    begun += atomic_load_explicit(&s->n_begun_foreign, memory_order_acquire);
    return begun == done;
}

/* Frees the first `count` worker slots and the array. */
static void free_workers(tri_sched *s, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        pthread_cond_destroy(&s->workers[i].park_cv);
        free(s->workers[i].seen_turns);
        free(s->workers[i].seen_at);
    }
    free(s->workers);
    s->workers = NULL;
}

/* Sets up worker `i` of `s` (its thread is not started here). */
static int worker_init(tri_sched *s, tr_system *sys, unsigned i, unsigned slots)
{
    tri_worker *w = &s->workers[i];
    w->sys = sys;
    w->id = i;
    w->rng = 0x9e3779b9u * (i + 1);
    atomic_init(&w->head, 0);
    atomic_init(&w->tail, 0);
    atomic_init(&w->lifo, NULL);
    atomic_init(&w->turns, 0);
    atomic_init(&w->in_turn, false);
    atomic_init(&w->current, NULL);
    atomic_init(&w->callbacks, 0);
    atomic_init(&w->preempt, false);
    atomic_init(&w->n_begun, 0);
    atomic_init(&w->n_done, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->park_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->seen_turns = calloc(slots, sizeof(uint64_t));
    w->seen_at = calloc(slots, sizeof(int64_t));
    return w->seen_turns && w->seen_at ? TR_OK : TR_ENOMEM;
}

int tri_sched_start(tr_system *sys, unsigned nworkers, unsigned batch)
{
    tri_sched *s = &sys->sched;
    s->n = nworkers;
    atomic_init(&s->nvis, nworkers);
    s->batch = batch;
    atomic_init(&s->n_begun_foreign, 0);
    pthread_condattr_t mca;
    pthread_condattr_init(&mca);
    pthread_condattr_setclock(&mca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->mon_cv, &mca);
    pthread_condattr_destroy(&mca);
    s->gq_head[0] = s->gq_head[1] = s->gq_tail[0] = s->gq_tail[1] = NULL;
    s->gq_pops = 0;
    atomic_init(&s->gq_len, 0);
    atomic_init(&s->nparked, 0);
    atomic_init(&s->nspinning, 0);
    atomic_init(&s->quit, false);
    pthread_mutex_init(&s->gq_mu, NULL);
    pthread_mutex_init(&s->park_mu, NULL);
    /* one slot more than threads: the guest's (tri_sched_guest) */
    unsigned slots = nworkers + 1;
    s->workers = aligned_alloc(TRI_CACHE_LINE, sizeof(tri_worker) * slots);
    if (!s->workers) return TR_ENOMEM;
    memset(s->workers, 0, sizeof(tri_worker) * slots);
    for (unsigned i = 0; i < slots; i++) {
        if (worker_init(s, sys, i, slots) != TR_OK) {
            free_workers(s, i + 1);
            s->n = 0;
            return TR_ENOMEM;
        }
    }
    for (unsigned i = 0; i < nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i])) {
            atomic_store(&s->quit, true);
            for (unsigned j = 0; j < i; j++) {
                pthread_mutex_lock(&s->park_mu);
                s->workers[j].wake = true;
                pthread_cond_signal(&s->workers[j].park_cv);
                pthread_mutex_unlock(&s->park_mu);
                pthread_join(s->workers[j].thread, NULL);
            }
            free_workers(s, slots);
            s->n = 0;
            return TR_EAGAIN;
        }
    }
    if (tri_sysmon_start(sys) != TR_OK) {
        tri_sched_stop(sys);
        return TR_EAGAIN;
    }
    return TR_OK;
}

/* Stops and joins the workers; queued actors are not run any more (their
 * mailboxes are drained by tri_slots_fini). */
void tri_sched_stop(tr_system *sys)
{
    tri_sched *s = &sys->sched;
    atomic_store_explicit(&s->quit, true, memory_order_seq_cst);
    pthread_mutex_lock(&s->park_mu);
    for (unsigned i = 0; i < s->n; i++) pthread_cond_signal(&s->workers[i].park_cv);
    pthread_cond_signal(&s->mon_cv);
    pthread_mutex_unlock(&s->park_mu);
    if (s->mon_started) pthread_join(s->mon_thread, NULL);
    s->mon_started = false;
    pthread_cond_destroy(&s->mon_cv);
    for (unsigned i = 0; i < s->n; i++) pthread_join(s->workers[i].thread, NULL);
    if (s->workers) free_workers(s, s->n + 1);
    pthread_mutex_destroy(&s->gq_mu);
    pthread_mutex_destroy(&s->park_mu);
}

void tri_requeue(tri_worker *w, tri_actor *a)
{
    ring_push(&w->sys->sched, w, a);
    notify(&w->sys->sched);
}
