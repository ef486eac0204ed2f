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
 * call, every due "tr.down", "tr.exit" and "tr.started" and every job's
 * result must arrive), the system is stopped, and the books are checked
 * after tr_system_run returns; tr_system_destroy must then return.
 * Sysmon reports callbacks longer than 1 ms in one epoch of two, and some
 * callbacks run a few ms in kill epochs.
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
 *    dead letter exactly once (seen by a dead-letter subscriber, with a
 *    reason that fits), a refused one never arrives, one sender's messages
 *    to one receiver arrive in order, to the actor they were addressed
 *    to, intact; a cancelled timer never fires; an offloaded job's result
 *    always arrives, only to its requester, and its cleanup runs exactly
 *    once; a trapping parent gets one "tr.exit" per child, a spawner the
 *    one "tr.started" it asked for;
 *  - calls: every call is answered exactly once while its caller lives
 *    (a reply to that very request, a timeout never early and never for
 *    TR_INFINITY, or "tr.down"); supervisor answers carry documented codes;
 *  - monitors: every monitor fires exactly once, for its target, after
 *    that target's terminate, unless demonitored (then never, even when
 *    its "tr.down" is already on its way);
 *  - supervisors: which_children and count_children agree with the specs
 *    the test built (which children are supervisors);
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
 * (at most this many), TROUPE_STRESS_MODE (strict or kill: every epoch
 * of that mode), TROUPE_STRESS_VERBOSE=1 (one line per epoch, and the
 * runtime's warnings).
 *
 * Files: this one runs the epochs; tests/stress/ledger.c keeps the books
 * and checks them, worker.c is the actors' behaviour, outside.c the
 * outside threads and the dead-letter subscriber (stress.h: what they
 * share). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress/stress.h"
#include "testutil.h"

static char force_mode; /* TROUPE_STRESS_MODE: 's'trict, 'k'ill, or 0: either */

/* One epoch's outside threads and the length of its busy phase. */
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

/* A watchdog for a call that must return: reports a hang (with the seed)
 * if `done` is not set within END_MS. */
typedef struct watchdog {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    const char *what;
} watchdog;

static void *watchdog_main(void *arg)
{
    watchdog *d = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += END_MS / 1000;
    pthread_mutex_lock(&d->mu);
    while (!d->done)
        if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0) break;
    bool done = d->done;
    pthread_mutex_unlock(&d->mu);
    if (!done) hang(d->what);
    return NULL;
}

static void watchdog_start(watchdog *d, const char *what)
{
    *d = (watchdog){.what = what};
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    pthread_create(&d->th, NULL, watchdog_main, d);
}

static void watchdog_stop(watchdog *d)
{
    pthread_mutex_lock(&d->mu);
    d->done = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
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
    if (force_mode) b->strict = force_mode == 's';
    b->max_live = (SANITIZED ? 40 : 80) + below(&r, SANITIZED ? 120 : 240);
    static const unsigned batches[] = {0, 1, 3, 16, 64};
    static const uint32_t slices[] = {0, 100, 300, 1000};
    tr_system_opts so = {.workers = 1 + below(&r, 4),
                         .batch = batches[below(&r, 5)],
                         .time_slice_us = slices[below(&r, 4)],
                         .blocking_threads = 1 + below(&r, 4),
                         /* sysmon names long callbacks (their paths) while
                          * trees change: in one epoch of two, at 1 ms */
                         .long_callback_ms = chance(&r, 500) ? 1 : -1};
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
    watchdog wd;
    watchdog_start(&wd, "tr_system_destroy did not return (an abandoned actor never disposed of?)");
    tr_system_destroy(&b->sys);
    watchdog_stop(&wd);
    if (atomic_load(&b->cleanups) != atomic_load(&b->offloads))
        violation("%" PRIu64 " offloaded jobs, %" PRIu64 " cleanups", atomic_load(&b->offloads),
                  atomic_load(&b->cleanups));
    int64_t left = tr_pool_outstanding();
    if (left != 0) violation("%" PRId64 " pooled blocks outstanding after destroy", left);
    free(e);
    bk = NULL;
    books_free(b);
}

static uint64_t base_seed;
static int64_t epoch_ms_used;

static void print_notes(void)
{
    print_violations();
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
    const char *mode = getenv("TROUPE_STRESS_MODE");
    force_mode = mode && (*mode == 's' || *mode == 'k') ? *mode : 0;
    if (epoch_ms < 10) epoch_ms = 10;
    printf("stress: seed=%" PRIu64 " seconds=%g epoch_ms=%" PRId64
           " (replay: TROUPE_STRESS_SEED=%" PRIu64 ")\n",
           base_seed, seconds, epoch_ms, base_seed);
    fflush(stdout);
    intern_atoms();
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
