/* sysmon.c — the scheduler's watchman, after Go's sysmon.
 *
 * A C callback cannot be preempted, so everything that bounds how long a
 * runnable actor waits is decided between callbacks. One thread per system
 * looks at the workers every TRI_SYSMON_TICK_NS while any of them is busy,
 * reading counters they bump anyway (turns begun, callbacks begun), so the
 * workers' hot path reads no clock:
 *
 *  - Time slice. A turn that has lasted a slice while other work waits is
 *    asked to end at its next message (`preempt`); the actor goes to the
 *    back of the worker's ring. A turn's length is thus bounded by the
 *    slice plus one callback, not by `batch` messages of any length.
 *  - Stranded work. An actor waiting in the LIFO slot or ring of a worker
 *    whose current callback has run a slice is moved to the global queue,
 *    where an idle worker (woken) or a busy one (preempted) takes it. This
 *    is what bounds the wait behind one long callback; it also lets idle
 *    workers sleep until woken instead of polling.
 *  - Long callbacks. A callback running longer than `long_cb_ns` (default
 *    100 ms) is logged once, with the actor's path, while it runs: code that
 *    blocks belongs in tr_offload or in an OS-process child.
 *
 * When every worker is parked, sysmon sleeps too, until wake_one (sched.c)
 * signals that work has arrived. */
#include <stdio.h>
#include <sys/prctl.h>

#include "lifecycle.h"

/* Half the slice: a turn is preempted between one and one and a half
 * slices after it began, plus the callback in progress. */
#define TRI_SYSMON_TICK_DIV 2

/* Ticks between looks while only the guest runs turns (TRI_MON_SLOW): a
 * long guest callback is handed over within about 5 ms. */
#define TRI_MON_SLOW_TICKS 10

static void watch_worker(tri_sched *s, tri_worker *w, int64_t now, bool others_wait)
{
    bool in_turn = atomic_load_explicit(&w->in_turn, memory_order_relaxed);
    uint64_t turns = atomic_load_explicit(&w->turns, memory_order_relaxed);
    uint64_t cbs = atomic_load_explicit(&w->callbacks, memory_order_relaxed);
    if (turns != w->mon_turns) {
        w->mon_turns = turns;
        w->mon_turn_since = now;
    }
    if (cbs != w->mon_callbacks) {
        w->mon_callbacks = cbs;
        w->mon_cb_since = now;
        w->mon_warned = w->mon_stuck_told = false;
    }
    if (!in_turn) return;
    int64_t turn_len = now - w->mon_turn_since, cb_len = now - w->mon_cb_since;
    if (turn_len >= s->slice_ns && others_wait &&
        !atomic_load_explicit(&w->preempt, memory_order_relaxed))
        atomic_store_explicit(&w->preempt, true, memory_order_relaxed);
    if (cb_len >= s->slice_ns && tri_sched_has_local(w)) tri_sched_rescue(w);
    if (cb_len >= s->slice_ns && w == &s->workers[s->n] && !w->mon_stuck_told) {
        w->mon_stuck_told = true; /* the guest: its own job waits on this callback */
        s->guest_stuck(s->guest_arg);
    }
    if (s->long_cb_ns > 0 && cb_len >= s->long_cb_ns && !w->mon_warned) {
        w->mon_warned = true;
        tri_actor *a = atomic_load_explicit(&w->current, memory_order_relaxed);
        uint64_t serial = a ? atomic_load_explicit(&a->live_serial, memory_order_acquire) : 0;
        char path[512];
        /* Another worker runs that actor: its path is read only while it
         * still runs that callback, with its retirement held off. */
        if (serial && tri_log_enabled(TR_LOG_WARN) &&
            tri_running_path(w, a, serial, cbs, path, sizeof path)) {
            char where[32];
            if (w == &s->workers[s->n]) snprintf(where, sizeof where, "the node's I/O thread");
            else snprintf(where, sizeof where, "worker %u", w->id);
            tri_log(TR_LOG_WARN,
                    "actor %s: a callback has been running for %lld ms on %s; code that "
                    "blocks belongs in tr_offload or an OS-process child",
                    path, (long long)(cb_len / 1000000), where);
        }
    }
}

static bool any_busy(tri_sched *s)
{
    for (unsigned i = 0, n = tri_sched_nvis(s); i < n; i++)
        if (atomic_load_explicit(&s->workers[i].in_turn, memory_order_relaxed)) return true;
    return false;
}

/* Whether the guest (if any) is in a turn or began one since sysmon last
 * looked at it. seq_cst: pairs with guest_begin (sched.c). */
static bool guest_active(tri_sched *s)
{
    if (tri_sched_nvis(s) == s->n) return false;
    tri_worker *g = &s->workers[s->n];
    if (atomic_load_explicit(&g->in_turn, memory_order_seq_cst)) return true;
    uint64_t turns = atomic_load_explicit(&g->turns, memory_order_relaxed);
    if (turns == g->mon_turns) return false;
    g->mon_turns = turns; /* as watch_worker notes it */
    g->mon_turn_since = tri_mono_ns();
    return true;
}

static void *sysmon_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-sysmon");
    tr_system *sys = arg;
    tri_sched *s = &sys->sched;
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); /* ticks on time, not 50 us late */
    int64_t tick = s->slice_ns / TRI_SYSMON_TICK_DIV;
    pthread_mutex_lock(&s->park_mu);
    while (!atomic_load_explicit(&s->quit, memory_order_acquire)) {
        if (atomic_load_explicit(&s->nparked, memory_order_relaxed) == (int)s->n &&
            !tri_sched_any_work(sys)) {
            /* everybody sleeps: so do we, until wake_one (or the guest,
             * sched.c guest_begin) signals work; but not while a guest
             * runs turns, or ran some since the last tick */
            atomic_store_explicit(&s->mon_idle, TRI_MON_ASLEEP, memory_order_seq_cst);
            if (!guest_active(s)) {
                pthread_cond_wait(&s->mon_cv, &s->park_mu);
                atomic_store_explicit(&s->mon_idle, TRI_MON_TICKING, memory_order_relaxed);
                continue;
            }
            /* Only the guest is busy. What waits on its callbacks is its
             * own job (the node's sockets), which its standby takes over
             * once told; telling it within a few ticks rather than one
             * spares a ping-pong between nodes a wake-up of this thread
             * every few round trips (+10-15% round trips/s measured). */
            atomic_store_explicit(&s->mon_idle, TRI_MON_SLOW, memory_order_relaxed);
        }
        pthread_mutex_unlock(&s->park_mu);
        if (any_busy(s)) {
            int64_t now = tri_mono_ns();
            bool others_wait = tri_sched_any_work(sys);
            for (unsigned i = 0, n = tri_sched_nvis(s); i < n; i++)
                watch_worker(s, &s->workers[i], now, others_wait);
        }
        pthread_mutex_lock(&s->park_mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        bool slow = atomic_load_explicit(&s->mon_idle, memory_order_relaxed) == TRI_MON_SLOW;
        int64_t ns = ts.tv_nsec + (slow ? tick * TRI_MON_SLOW_TICKS : tick);
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        if (!atomic_load_explicit(&s->quit, memory_order_acquire))
            pthread_cond_timedwait(&s->mon_cv, &s->park_mu, &ts);
        atomic_store_explicit(&s->mon_idle, TRI_MON_TICKING, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->park_mu);
    return NULL;
}

int tri_sysmon_start(tr_system *sys)
{
    tri_sched *s = &sys->sched;
    if (s->slice_ns <= 0) s->slice_ns = TRI_SLICE_NS_DEFAULT;
    for (unsigned i = 0; i <= s->n; i++) { /* the guest's slot too */
        tri_worker *w = &s->workers[i];
        w->mon_turns = w->mon_callbacks = 0;
        w->mon_turn_since = w->mon_cb_since = tri_mono_ns();
        w->mon_warned = false;
    }
    if (pthread_create(&s->mon_thread, NULL, sysmon_main, sys)) return TR_EAGAIN;
    s->mon_started = true;
    return TR_OK;
}
