/* test_sched.c — the scheduler's promises under load: work that enters
 * from outside (a foreign thread's request, a timer) is served while every
 * worker is busy with actors that always have work; a runnable actor does
 * not wait for a busy actor's whole batch (time slice); a callback that
 * runs long is reported with the actor's path.
 *
 * Waits are measured in hog callbacks, not in wall time: a global counter
 * of hog messages handled is read when the work is sent and when it is
 * served. The promise is "at most about one callback per worker", against
 * a regression's "whole batches" (64 callbacks and more), every time. The
 * count does not grow when the OS deschedules a worker mid-callback, and
 * the median (see waits) not when it starves the timer or sysmon thread
 * now and then: the wall-clock bounds on the worst wait this replaces
 * failed on a loaded machine and under coverage.
 * Hogs spin on the clock for their cost: they burn CPU like real work;
 * nothing here sleeps to synchronise. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* Hog callbacks a served message waits (median): generous against the
 * expected 1-4, far below a batch (64). */
#define BOUND_CALLBACKS 12

/* Hog messages handled so far, by all hogs. */
static _Atomic uint64_t hog_done;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void spin_ns(int64_t ns)
{
    int64_t end = mono_ns() + ns;
    while (mono_ns() < end) {
    }
}

/* hog: each message costs `cost` ns of CPU and queues the next one; with
 * a `watch` pid it also sends that actor its clock every 8th message. */
typedef struct hog {
    int64_t cost;
    tr_pid watch;
    uint64_t n;
} hog;

/* What a hog stamps: its clock and the hog count when it sent. */
typedef struct stamp {
    int64_t ns;
    uint64_t done;
} stamp;

typedef struct hog_args {
    int64_t cost;
    tr_pid watch;
} hog_args;

static int hog_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    hog *h = st;
    hog_args a;
    if (n != sizeof a) return TR_EINVAL;
    memcpy(&a, args, n);
    h->cost = a.cost;
    h->watch = a.watch;
    return tr_send(ctx, tr_self(ctx), tr_atom_from("chew"), NULL, 0);
}

static int hog_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    hog *h = st;
    if (!tr_msg_is(m, tr_atom_from("chew"))) return 0;
    spin_ns(h->cost);
    atomic_fetch_add(&hog_done, 1);
    if (!tr_pid_is_nil(h->watch) && ++h->n % 8 == 0) {
        stamp st = {mono_ns(), atomic_load(&hog_done)};
        int rc = tr_send(ctx, h->watch, tr_atom_from("stamp"), &st, sizeof st);
        if (rc != TR_OK) return rc;
    }
    return tr_send(ctx, tr_self(ctx), tr_atom_from("chew"), NULL, 0);
}

static const tr_behaviour hog_b = {"hog", sizeof(hog), hog_init, hog_handle, NULL};

static tr_pid spawn_hog(t_env *e, int64_t cost, tr_pid watch)
{
    hog_args a = {cost, watch};
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &hog_b,
                                     &(tr_spawn_opts){.args = &a, .args_size = sizeof a}, &p),
                     TR_OK);
    return p;
}

/* A wait: in hog callbacks, and in wall time (reported on failure only). */
typedef struct waited {
    uint64_t callbacks;
    int64_t ns;
} waited;

static waited waited_since(stamp st)
{
    return (waited){atomic_load(&hog_done) - st.done, mono_ns() - st.ns};
}

/* echo: answers a request (a stamp) with how long it waited; reports how
 * long each "stamp" message waited */
static int echo_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    stamp sent;
    if (tr_msg_size(m) != sizeof sent) return 0;
    memcpy(&sent, tr_msg_data(m), sizeof sent);
    waited w = waited_since(sent);
    if (tr_msg_is_request(m)) return tr_reply(ctx, m, tr_atom_from("echo"), &w, sizeof w);
    if (tr_msg_is(m, tr_atom_from("stamp")))
        return tr_send(ctx, t_probe, tr_atom_from("delay"), &w, sizeof w);
    return 0;
}

static const tr_behaviour echo_b = {.name = "echo", .handle = echo_handle};

/* ticker: a chain of 1 ms timers, each armed as the previous one is
 * handled; reports how long each took from arming to handling (its 1 ms
 * included) */
static int ticker_arm(tr_ctx *ctx)
{
    stamp st = {mono_ns(), atomic_load(&hog_done)};
    return tr_send_after(ctx, tr_self(ctx), 1, tr_atom_from("tick"), &st, sizeof st, NULL);
}

static int ticker_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)st, (void)args, (void)n;
    return ticker_arm(ctx);
}

static int ticker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    stamp armed;
    memcpy(&armed, tr_msg_data(m), sizeof armed);
    waited w = waited_since(armed);
    int rc = tr_send(ctx, t_probe, tr_atom_from("gap"), &w, sizeof w);
    return rc ? rc : ticker_arm(ctx);
}

static const tr_behaviour ticker_b = {"ticker", 0, ticker_init, ticker_handle, NULL};

/* Waits seen by one test. The promise is about every wait, but a loaded
 * machine can starve the timer or sysmon thread of a CPU now and then, and
 * the hogs run on meanwhile: single waits then reach tens of callbacks.
 * A regression makes every wait long (whole batches), so the median is
 * what is bounded; the worst is printed when the median fails. */
typedef struct waits {
    waited w[32];
    int n;
} waits;

static int cmp_waited(const void *a, const void *b)
{
    uint64_t x = ((const waited *)a)->callbacks, y = ((const waited *)b)->callbacks;
    return (x > y) - (x < y);
}

/* Under valgrind the scheduler's timing means nothing: the tests still
 * run, for memcheck, but their bounds are not asserted. */

static void assert_bounded(const char *what, waits *ws, uint64_t bound)
{
    qsort(ws->w, (size_t)ws->n, sizeof *ws->w, cmp_waited);
    waited median = ws->w[ws->n / 2], worst = ws->w[ws->n - 1];
    if (t_under_valgrind()) {
        print_message("%s: median %llu hog callbacks (not checked under valgrind)\n", what,
                      (unsigned long long)median.callbacks);
        return;
    }
    if (median.callbacks > bound)
        print_error("%s: waited a median %llu hog callbacks (%lld us), at worst %llu (%lld us)\n",
                    what, (unsigned long long)median.callbacks, (long long)median.ns / 1000,
                    (unsigned long long)worst.callbacks, (long long)worst.ns / 1000);
    assert_true(median.callbacks <= bound);
}

/* Both workers saturated by hogs whose messages cost 2 ms each: a request
 * from this (foreign) thread and a 1 ms timer are still served after about
 * one callback per worker, every time. Before the scheduler took outside
 * work in ahead of the workers' backlogs, both waited for most of a second
 * (hundreds of callbacks). */
static void test_outside_work_not_starved(void **state)
{
    t_env *e = *state;
    tr_pid echo;
    assert_int_equal(tr_system_spawn(e->sys, &echo_b, NULL, &echo), TR_OK);
    for (int i = 0; i < 4; i++) spawn_hog(e, 2000000, TR_PID_NIL);
    waits ws = {.n = 0};
    for (int k = 0; k < 21; k++) {
        stamp st = {mono_ns(), atomic_load(&hog_done)};
        tr_msg *reply = NULL;
        assert_int_equal(tr_call_sync(e->sys, echo, tr_atom_from("q"), &st, sizeof st, T_WAIT_MS,
                                      &reply),
                         TR_OK);
        waited w;
        assert_int_equal(tr_msg_size(reply), sizeof w);
        memcpy(&w, tr_msg_data(reply), sizeof w);
        tr_msg_destroy(&reply);
        ws.w[ws.n++] = w;
    }
    assert_bounded("a foreign request", &ws, BOUND_CALLBACKS);

    assert_int_equal(tr_system_spawn(e->sys, &ticker_b, NULL, NULL), TR_OK);
    ws.n = 0;
    for (int k = 0; k < 31; k++) {
        waited w;
        memcpy(&w, tr_msg_data(t_expect(e, "gap")), sizeof w);
        ws.w[ws.n++] = w;
    }
    assert_bounded("a 1 ms timer", &ws, BOUND_CALLBACKS);
}

/* One worker, two hogs (2 ms a message) and an actor the first hog wakes
 * every 8th message: the woken actor waits for a time slice and a callback
 * or two, not for the hogs' whole batches (64 messages each: at least 64
 * callbacks). */
static void test_time_slice_bounds_wait(void **state)
{
    t_env *e = *state;
    tr_pid echo;
    assert_int_equal(tr_system_spawn(e->sys, &echo_b, NULL, &echo), TR_OK);
    spawn_hog(e, 2000000, echo);
    spawn_hog(e, 2000000, TR_PID_NIL);
    waits ws = {.n = 0};
    for (int k = 0; k < 13; k++) {
        waited w;
        memcpy(&w, tr_msg_data(t_expect(e, "delay")), sizeof w);
        ws.w[ws.n++] = w;
    }
    assert_bounded("a woken actor", &ws, BOUND_CALLBACKS);
}

/* ------------------------------------------------------- long callbacks */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static char log_line[1024];
static _Atomic bool release_slow;

static void capture(void *user, tr_log_level level, const char *line)
{
    (void)user;
    if (level != TR_LOG_WARN || !strstr(line, "has been running")) return;
    pthread_mutex_lock(&log_mu);
    snprintf(log_line, sizeof log_line, "%s", line);
    pthread_cond_broadcast(&log_cv);
    pthread_mutex_unlock(&log_mu);
}

static int slow_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    while (!atomic_load(&release_slow)) spin_ns(100000); /* until the test saw the warning */
    return t_report(ctx, "released", "");
}

static const tr_behaviour slow_b = {.name = "slow", .handle = slow_handle};

static void test_long_callback_is_reported(void **state)
{
    (void)state;
    t_env e = {0};
    tr_system_opts o = {.workers = 2, .long_callback_ms = 20};
    assert_int_equal(tr_system_new(&o, &e.sys), TR_OK);
    assert_int_equal(tr_inbox_new(e.sys, &e.probe), TR_OK);
    t_probe = tr_inbox_pid(e.probe);
    log_line[0] = '\0';
    atomic_store(&release_slow, false);
    tr_log_set_handler(capture, NULL);
    tr_pid slow;
    assert_int_equal(tr_system_spawn(e.sys, &slow_b, &(tr_spawn_opts){.name = "sluggard"}, &slow),
                     TR_OK);
    assert_int_equal(tr_system_send(e.sys, slow, tr_atom_from("go"), NULL, 0), TR_OK);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += T_WAIT_MS / 1000;
    pthread_mutex_lock(&log_mu);
    while (!log_line[0])
        if (pthread_cond_timedwait(&log_cv, &log_mu, &ts) != 0) break;
    char seen[1024];
    snprintf(seen, sizeof seen, "%s", log_line);
    pthread_mutex_unlock(&log_mu);
    atomic_store(&release_slow, true);
    t_expect(&e, "released");
    tr_log_set_handler(NULL, NULL);
    assert_non_null(strstr(seen, "/root/sluggard"));
    tr_inbox_destroy(&e.probe);
    tr_system_destroy(&e.sys);
    assert_int_equal(tr_pool_outstanding(), 0);
}

static int setup1(void **state) { return t_setup_workers(state, 1); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outside_work_not_starved, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_time_slice_bounds_wait, setup1, t_teardown),
        cmocka_unit_test(test_long_callback_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
