/* test_supervisor.c — OTP's supervisor semantics, point by point. Workers
 * record "start <path>" from init and "stop <path> <reason>" from
 * terminate on the probe, so each test asserts the exact sequence. Time
 * comes from a manual clock: intensity windows, backoff and shutdown
 * timeouts move only when a test advances it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* ------------------------------------------------------------- worker */

enum {
    W_OK = 0,
    W_FAIL_INIT = 1,
    W_IGNORE = 2,
    W_FAIL_IF_FLAG = 3,
    W_FAIL_BUDGET = 4,
    W_HOLD_INIT = 5,      /* init says "hold <path>", then waits for hold_init */
    W_IGNORE_IF_FLAG = 6, /* init ignores while ignore_starts is set */
};
static _Atomic int fail_starts; /* W_FAIL_IF_FLAG workers fail init while set */
static _Atomic int fail_budget; /* W_FAIL_BUDGET workers fail init this many more times */
static _Atomic int ignore_starts; /* W_IGNORE_IF_FLAG workers ignore while set */
/* W_HOLD_INIT workers hold their worker thread in init until this is set:
 * a child caught starting. Teardown sets it, so a failing test never
 * leaves a worker held (nor the system's destruction waiting on it). */
static _Atomic int hold_init;
static _Atomic int release_stuck;

typedef struct wargs {
    int mode;
} wargs;

static void record(tr_ctx *ctx, const char *what, const char *suffix)
{
    char line[300];
    int n = snprintf(line, sizeof line, "%s ", what);
    size_t p = tr_path(ctx, line + n, sizeof line - (size_t)n);
    snprintf(line + n + p, sizeof line - (size_t)n - p, "%s", suffix);
    t_report(ctx, "ev", line);
}

static int worker_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs;
    wargs w = {W_OK};
    if (size >= sizeof w) memcpy(&w, args, sizeof w);
    if (w.mode == W_FAIL_INIT || (w.mode == W_FAIL_IF_FLAG && atomic_load(&fail_starts)) ||
        (w.mode == W_FAIL_BUDGET && atomic_fetch_sub(&fail_budget, 1) > 0))
        return tr_fail(ctx, "cannot start");
    if (w.mode == W_HOLD_INIT) {
        record(ctx, "hold", "");
        while (!atomic_load(&hold_init)) sched_yield();
    }
    if (w.mode == W_IGNORE || (w.mode == W_IGNORE_IF_FLAG && atomic_load(&ignore_starts))) {
        record(ctx, "ignored", "");
        return TR_INIT_IGNORE;
    }
    char extra[32] = "";
    if (size > sizeof w) snprintf(extra, sizeof extra, " +%zu", size - sizeof w);
    record(ctx, "start", extra);
    return 0;
}

static int worker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "crash") == 0) return tr_fail(ctx, "crash");
    if (strcmp(t, "normal") == 0) tr_stop(ctx);
    if (strcmp(t, "shutdown") == 0) tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, NULL);
    return 0;
}

static void worker_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    char suffix[128];
    snprintf(suffix, sizeof suffix, " %s%s%s", tr_exit_kind_name(why->kind), why->text ? ": " : "",
             why->text ? why->text : "");
    record(ctx, "stop", suffix);
}

static const tr_behaviour worker_b = {"worker", 0, worker_init, worker_handle, worker_terminate};

static const wargs A_OK = {W_OK}, A_FAIL = {W_FAIL_INIT}, A_IGNORE = {W_IGNORE},
                   A_FLAKY = {W_FAIL_IF_FLAG}, A_ONCE = {W_FAIL_BUDGET}, A_HOLD = {W_HOLD_INIT},
                   A_LAZY = {W_IGNORE_IF_FLAG};

#define WORKER(ID, RESTART, ARGS)                                                              \
    {.id = ID, .behaviour = &worker_b, .args = &ARGS, .args_size = sizeof ARGS,                 \
     .restart = RESTART}

/* ------------------------------------------------------------ fixture */

typedef struct sup_env {
    t_env e;
    tr_clock *clock;
} sup_env;

static int setup(void **state)
{
    sup_env *se = calloc(1, sizeof *se);
    if (!se || tr_clock_manual_new(&se->clock) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = se->clock};
    if (tr_system_new(&o, &se->e.sys) != TR_OK) return -1;
    if (tr_inbox_new(se->e.sys, &se->e.probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(se->e.probe);
    atomic_store(&fail_starts, 0);
    atomic_store(&ignore_starts, 0);
    atomic_store(&hold_init, 0);
    atomic_store(&release_stuck, 0);
    tr_log_set_level(TR_LOG_NONE);
    *state = se;
    return 0;
}

static int teardown(void **state)
{
    /* a test that failed while holding a worker lets it go first */
    atomic_store(&hold_init, 1);
    atomic_store(&release_stuck, 1);
    tr_log_set_handler(NULL, NULL);
    sup_env *se = *state;
    tr_clock *c = se->clock;
    t_env *e = malloc(sizeof *e);
    *e = se->e;
    free(se);
    *state = e;
    t_teardown(state);
    tr_clock_destroy(&c);
    tr_log_set_level(TR_LOG_WARN);
    return 0;
}

static t_env *env(void **state) { return &((sup_env *)*state)->e; }

/* Asserts that the next probe events are exactly these, in this order. */
static void expect(t_env *e, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tr_msg *m = t_expect(e, "ev");
        if (strcmp(tr_msg_data(m), lines[i]) != 0)
            fail_msg("event %zu: got \"%s\", want \"%s\"", i, (const char *)tr_msg_data(m), lines[i]);
    }
}
#define EXPECT(e, ...)                                                                         \
    do {                                                                                       \
        static const char *const lines_[] = {__VA_ARGS__};                                     \
        expect(e, lines_, sizeof lines_ / sizeof *lines_);                                     \
    } while (0)

/* The report `res` and the events `evs` (in their order), the report
 * anywhere among them: an actor that reports its tr_supervisor_spawn once
 * the call returns races the supervisor, which may already be starting
 * children on another worker. */
static void expect_res_among(t_env *e, const char *res, const char *const *evs, size_t n)
{
    size_t next = 0;
    bool got_res = false;
    while (next < n || !got_res) {
        const tr_msg *m = t_recv(e);
        const char *type = tr_atom_name(tr_msg_type(m));
        if (!got_res && strcmp(type, "res") == 0) {
            assert_string_equal(tr_msg_data(m), res);
            got_res = true;
        } else if (next < n && strcmp(type, "ev") == 0) {
            assert_string_equal(tr_msg_data(m), evs[next++]);
        } else {
            fail_msg("unexpected %s \"%s\"", type, (const char *)tr_msg_data(m));
        }
    }
}
#define EXPECT_RES_AMONG(e, res, ...)                                                          \
    do {                                                                                       \
        static const char *const evs_[] = {__VA_ARGS__};                                       \
        expect_res_among(e, res, evs_, sizeof evs_ / sizeof *evs_);                            \
    } while (0)

/* Asserts that no event is pending: a count_children round trip to `sup`
 * comes back before any. */
static void expect_quiet(t_env *e, tr_pid sup)
{
    tr_child_counts k;
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
}

static tr_pid start(t_env *e, const tr_sup_spec *spec, const char *name)
{
    tr_pid pid;
    char why[256];
    int rc = tr_supervisor_start(e->sys, spec, name, T_WAIT_MS, &pid, why, sizeof why);
    if (rc) fail_msg("supervisor start: %s (%s)", tr_strerror(rc), why);
    return pid;
}

static tr_pid child_pid(t_env *e, tr_pid sup, const char *id)
{
    tr_child_info info[16];
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 16, &n, T_WAIT_MS), TR_OK);
    for (size_t i = 0; i < n && i < 16; i++)
        if (strcmp(info[i].id, id) == 0) return info[i].pid;
    return TR_PID_NIL;
}

/* Waits until the supervisor has taken in that child's end (its pid shows
 * nil): what a test must know before it moves the clock for a backoff. */
static void await_down(t_env *e, tr_pid sup, const char *id)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!tr_pid_is_nil(child_pid(e, sup, id)) && t_now_ms() < end) sched_yield();
    assert_true(tr_pid_is_nil(child_pid(e, sup, id)));
}

/* Waits until count_children says (specs, active), or the deadline: for
 * facts about the supervisor's view after a child's own last word. */
static void await_counts(t_env *e, tr_pid sup, uint32_t specs, uint32_t active)
{
    tr_child_counts k = {0, 0, 0, 0};
    int64_t end = t_now_ms() + T_WAIT_MS;
    do {
        assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
        if (k.specs == specs && k.active == active) return;
        sched_yield();
    } while (t_now_ms() < end);
    assert_int_equal(k.specs, specs);
    assert_int_equal(k.active, active);
}

static void send_to(t_env *e, tr_pid sup, const char *id, const char *what)
{
    tr_pid p = child_pid(e, sup, id);
    assert_false(tr_pid_is_nil(p));
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from(what), NULL, 0), TR_OK);
}

/* ------------------------------------------------- 1. start in order */

static void test_1_start_in_order_and_ignore(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK),
                                  WORKER("lazy", TR_PERMANENT, A_IGNORE),
                                  WORKER("tmp", TR_TEMPORARY, A_IGNORE),
                                  WORKER("b", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 4};
    tr_pid sup = start(e, &spec, "sup");
    /* tr_supervisor_start returned: every init has run, in order */
    EXPECT(e, "start /root/sup/a", "ignored /root/sup/lazy", "ignored /root/sup/tmp",
           "start /root/sup/b");
    tr_child_info info[8];
    size_t n;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 8, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 3); /* the ignoring temporary child's spec is dropped */
    assert_string_equal(info[0].id, "a");
    assert_false(tr_pid_is_nil(info[0].pid));
    assert_string_equal(info[1].id, "lazy"); /* kept, not running */
    assert_true(tr_pid_is_nil(info[1].pid));
    assert_string_equal(info[2].id, "b");
    tr_child_counts k;
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
    assert_int_equal(k.specs, 3);
    assert_int_equal(k.active, 2);
    assert_int_equal(k.workers, 3);
}

/* ------------------------------------- 2. a child fails during start */

static void test_2_start_failure_stops_started_in_reverse(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK),
                                  WORKER("bad", TR_PERMANENT, A_FAIL),
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 4};
    tr_pid pid;
    char why[256];
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &pid, why, sizeof why),
                     TR_EFAILED);
    assert_string_equal(why, "failed to start child bad: failure: cannot start");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "stop /root/sup/b shutdown",
           "stop /root/sup/a shutdown");
    assert_true(tr_pid_is_nil(pid));
}

/* ---------------------------------- 3. shutdown: reverse, one by one */

static void test_3_shutdown_reverse_order(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK),
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/c");
    /* a restart puts b back in its spec place, not at the end */
    send_to(e, sup, "b", "crash");
    EXPECT(e, "stop /root/sup/b failure: crash", "start /root/sup/b");
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/c shutdown", "stop /root/sup/b shutdown", "stop /root/sup/a shutdown");
}

static int stuck_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs, (void)m;
    record(ctx, "stuck", "");
    while (!atomic_load(&release_stuck)) sched_yield();
    return 0;
}

static const tr_behaviour stuck_b = {"stuck", 0, worker_init, stuck_handle, worker_terminate};

static _Atomic int kill_logged;

static void capture_kill(void *user, tr_log_level level, const char *line)
{
    (void)user, (void)level;
    if (strstr(line, "did not stop within")) atomic_store(&kill_logged, 1);
}

/* A child that does not stop within its shutdown time is killed; brutal
 * kill kills at once. */
static void test_3_shutdown_timeout_and_brutal_kill(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    atomic_store(&release_stuck, 0);
    tr_child_spec kids[] = {WORKER("brutal", TR_PERMANENT, A_OK),
                            {.id = "slow", .behaviour = &stuck_b, .restart = TR_PERMANENT,
                             .shutdown_ms = 200},
                            WORKER("last", TR_PERMANENT, A_OK)};
    kids[0].shutdown_ms = TR_SHUTDOWN_BRUTAL;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/brutal", "start /root/sup/slow", "start /root/sup/last");
    send_to(e, sup, "slow", "hold");
    EXPECT(e, "stuck /root/sup/slow");
    atomic_store(&kill_logged, 0);
    tr_log_set_handler(capture_kill, NULL);
    tr_log_set_level(TR_LOG_WARN);
    tr_system_stop(e->sys);
    EXPECT(e, "stop /root/sup/last shutdown");
    /* slow does not react; once its 200 ms (manual clock) are over, the
     * kill is on its way: then let it go, and it dies killed */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!atomic_load(&kill_logged) && t_now_ms() < end) {
        tr_clock_advance(se->clock, 100);
        sched_yield();
    }
    assert_true(atomic_load(&kill_logged));
    /* slow is killed as far as the supervisor knows: it goes on while slow
     * is still stuck, and the whole tree ends without it */
    EXPECT(e, "stop /root/sup/brutal killed");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    atomic_store(&release_stuck, 1); /* slow's own terminate is muted */
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_NONE);
}

/* slowpoke: its terminate takes until the (manual) clock has moved by the
 * number of ms given as its dynamic args */
static int slowpoke_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    int64_t *ms = vs;
    if (size != sizeof *ms) return TR_EINVAL;
    memcpy(ms, args, sizeof *ms);
    record(ctx, "start", "");
    return 0;
}

static void slowpoke_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    int64_t *ms = vs, until = tr_now_ms(ctx) + *ms;
    (void)why;
    record(ctx, "stopping", "");
    while (tr_now_ms(ctx) < until && !atomic_load(&release_stuck)) sched_yield();
    record(ctx, "stopped", "");
}

static const tr_behaviour slowpoke_b = {"slowpoke", sizeof(int64_t), slowpoke_init, worker_handle,
                                        slowpoke_terminate};

/* OTP: children that take 1 s, 1 s and 5 s to stop under a 2 s shutdown:
 * at 2 s the slow one is killed and the supervisor ends then, not at 5 s;
 * the slow one ends killed, not shutdown. (A C callback cannot be
 * preempted: the runtime stops waiting for it, and disposes of it when it
 * returns.) Four workers, so that the three terminates and the supervisor
 * all have one; the clock moves only between steps. */
static void expect_down(t_env *e, tr_pid who, tr_exit_kind kind)
{
    const tr_msg *m = t_expect(e, "tr.down");
    tr_pid w;
    tr_exit why;
    assert_int_equal(tr_exit_decode(m, &w, &why), TR_OK);
    assert_true(tr_pid_eq(w, who));
    assert_int_equal(why.kind, kind);
}

/* Waits until `pid` has taken in a monitor on it: a monitor request still
 * queued when its target ends (here: busy in a terminate that the test
 * draws out) is answered noproc, not with the target's reason. */
static void await_watched(t_env *e, tr_pid pid)
{
    tr_actor_info info = {.watchers = 0};
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (t_now_ms() < end) {
        assert_int_equal(tr_system_inspect(e->sys, pid, &info, T_WAIT_MS), TR_OK);
        if (info.watchers == 1) break;
        sched_yield();
    }
    assert_int_equal(info.watchers, 1);
}

static void test_shutdown_time_does_not_wait_for_callbacks(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    const tr_child_spec tmpl[] = {{.id = "p", .behaviour = &slowpoke_b, .restart = TR_TEMPORARY,
                                   .shutdown_ms = 2000}};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    tr_pid kids[3];
    int64_t take[3] = {1000, 1000, 5000};
    for (int i = 0; i < 3; i++) {
        tr_child_spec dyn = {.args = &take[i], .args_size = sizeof take[i]};
        assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &kids[i]), TR_OK);
    }
    EXPECT(e, "start /root/pool/p-1", "start /root/pool/p-2", "start /root/pool/p-3");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tr_inbox_monitor(e->probe, kids[i], NULL), TR_OK);
        await_watched(e, kids[i]);
    }
    assert_int_equal(tr_inbox_monitor(e->probe, sup, NULL), TR_OK);
    await_watched(e, sup);
    tr_system_stop_child(e->sys, sup);
    /* all three stop together (simple_one_for_one), in some order */
    for (int i = 0; i < 3; i++)
        assert_true(strncmp(tr_msg_data(t_expect(e, "ev")), "stopping ", 9) == 0);
    assert_int_equal(tr_clock_advance(se->clock, 1000), TR_OK);
    for (int downs = 0; downs < 2;) { /* p-1 and p-2 are done: shutdown */
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("ev"))) {
            assert_true(strncmp(tr_msg_data(m), "stopped /root/pool/p-", 21) == 0);
            continue;
        }
        tr_pid who;
        tr_exit why;
        assert_int_equal(tr_exit_decode(m, &who, &why), TR_OK);
        assert_true(tr_pid_eq(who, kids[0]) || tr_pid_eq(who, kids[1]));
        assert_int_equal(why.kind, TR_EXIT_SHUTDOWN);
        downs++;
    }
    /* at 2 s p-3 is still stopping: killed for the supervisor, which ends */
    assert_int_equal(tr_clock_advance(se->clock, 1000), TR_OK);
    expect_down(e, sup, TR_EXIT_SHUTDOWN);
    /* at 5 s p-3's terminate returns; it ends killed (its report muted) */
    assert_int_equal(tr_clock_advance(se->clock, 3000), TR_OK);
    expect_down(e, kids[2], TR_EXIT_KILLED);
}

static int setup4(void **state)
{
    if (setup(state) != 0) return -1;
    sup_env *se = *state; /* the same, with four workers */
    tr_inbox_destroy(&se->e.probe);
    tr_system_destroy(&se->e.sys);
    tr_system_opts o = {.workers = 4, .clock = se->clock};
    if (tr_system_new(&o, &se->e.sys) != TR_OK) return -1;
    if (tr_inbox_new(se->e.sys, &se->e.probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(se->e.probe);
    return 0;
}

/* ----------------------------------------------------- 4. restart types */

static void test_4_restart_types(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("perm", TR_PERMANENT, A_OK),
                                  WORKER("trans", TR_TRANSIENT, A_OK),
                                  WORKER("temp", TR_TEMPORARY, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/perm", "start /root/sup/trans", "start /root/sup/temp");
    send_to(e, sup, "perm", "normal"); /* permanent: even a normal end */
    EXPECT(e, "stop /root/sup/perm normal", "start /root/sup/perm");
    send_to(e, sup, "trans", "crash"); /* transient: abnormal end */
    EXPECT(e, "stop /root/sup/trans failure: crash", "start /root/sup/trans");
    send_to(e, sup, "trans", "shutdown"); /* transient: shutdown is not */
    EXPECT(e, "stop /root/sup/trans shutdown");
    await_down(e, sup, "trans");
    expect_quiet(e, sup);
    assert_true(tr_pid_is_nil(child_pid(e, sup, "trans"))); /* spec kept */
    send_to(e, sup, "temp", "crash"); /* temporary: never, and the spec goes */
    EXPECT(e, "stop /root/sup/temp failure: crash");
    await_counts(e, sup, 2, 1);
    expect_quiet(e, sup);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, sup, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.restarts, 2); /* not-restarted exits do not count */
}

/* ------------------------------------------------------- 5. strategies */

static const tr_child_spec abc_perm[] = {WORKER("a", TR_PERMANENT, A_OK),
                                         WORKER("b", TR_PERMANENT, A_OK),
                                         WORKER("c", TR_PERMANENT, A_OK)};

static void test_5_one_for_one(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = abc_perm, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/c");
    send_to(e, sup, "b", "crash");
    EXPECT(e, "stop /root/sup/b failure: crash", "start /root/sup/b");
    expect_quiet(e, sup);
}

static void test_5_one_for_all(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK),
                                  WORKER("t", TR_TEMPORARY, A_OK),
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .children = kids, .nchildren = 4};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/t", "start /root/sup/c");
    send_to(e, sup, "b", "crash");
    /* the others stop in reverse order; all restart in order, except the
     * temporary one, which a sibling's restart does not bring back */
    EXPECT(e, "stop /root/sup/b failure: crash", "stop /root/sup/c shutdown",
           "stop /root/sup/t shutdown", "stop /root/sup/a shutdown", "start /root/sup/a",
           "start /root/sup/b", "start /root/sup/c");
    await_counts(e, sup, 3, 3);
    expect_quiet(e, sup);
}

static void test_5_rest_for_one(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK),
                                  WORKER("c", TR_PERMANENT, A_OK),
                                  WORKER("d", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_REST_FOR_ONE, .children = kids, .nchildren = 4};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/c", "start /root/sup/d");
    send_to(e, sup, "b", "crash");
    EXPECT(e, "stop /root/sup/b failure: crash", "stop /root/sup/d shutdown",
           "stop /root/sup/c shutdown", "start /root/sup/b", "start /root/sup/c",
           "start /root/sup/d");
    expect_quiet(e, sup);
}

static void test_5_simple_one_for_one(void **state)
{
    t_env *e = env(state);
    const tr_child_spec tmpl[] = {WORKER("w", TR_TRANSIENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    expect_quiet(e, sup); /* no child at first */
    tr_pid kids[3];
    for (int i = 0; i < 3; i++) {
        uint64_t extra = (uint64_t)i;
        tr_child_spec dyn = {.args = &extra, .args_size = sizeof extra};
        assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &kids[i]), TR_OK);
    }
    EXPECT(e, "start /root/pool/w-1 +8", "start /root/pool/w-2 +8", "start /root/pool/w-3 +8");
    /* crash: restarted with the same args; normal end: gone */
    tr_inbox_send(e->probe, kids[1], tr_atom_from("crash"), NULL, 0);
    EXPECT(e, "stop /root/pool/w-2 failure: crash", "start /root/pool/w-2 +8");
    tr_inbox_send(e->probe, kids[0], tr_atom_from("normal"), NULL, 0);
    EXPECT(e, "stop /root/pool/w-1 normal");
    /* terminate by pid */
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, NULL, kids[2], T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/pool/w-3 shutdown");
    /* OTP: a pid that has ended is ok (gone either way); an id is not how
     * a simple_one_for_one names its children; a live non-child is not
     * found */
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, NULL, kids[2], T_WAIT_MS), TR_OK);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "w-2", TR_PID_NIL, T_WAIT_MS),
                     TR_EINVAL);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, NULL, sup, T_WAIT_MS), TR_ENOENT);
    await_counts(e, sup, 1, 1); /* the template, and w-2 */
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "w-2", T_WAIT_MS, NULL), TR_EINVAL);
}

/* Dynamic children stop together when their supervisor stops. */
static void test_3_dynamic_children_stop_together(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    atomic_store(&release_stuck, 0);
    tr_child_spec tmpl[] = {{.id = "s", .behaviour = &stuck_b, .restart = TR_TEMPORARY,
                             .shutdown_ms = 100}};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    tr_pid a, b;
    tr_child_spec dyn = {0};
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &a), TR_OK);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &b), TR_OK);
    EXPECT(e, "start /root/pool/s-1", "start /root/pool/s-2");
    (void)a;
    /* the youngest is held: one by one, it would be asked first and s-1
     * would wait for it */
    assert_int_equal(tr_inbox_send(e->probe, b, tr_atom_from("hold"), NULL, 0), TR_OK);
    EXPECT(e, "stuck /root/pool/s-2");
    assert_int_equal(tr_system_stop_child(e->sys, sup), TR_OK);
    /* s-1 is not held back by s-2: both were asked at once */
    EXPECT(e, "stop /root/pool/s-1 shutdown");
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/pool/s-2 shutdown");
}

/* ---------------------------------------------------------- 6. intensity */

static const tr_child_spec one_worker[] = {WORKER("w", TR_PERMANENT, A_OK)};

static void test_6_intensity_window(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 2, .period_ms = 1000,
                        .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    /* two restarts in the window are fine; spread out, any number is */
    for (int i = 0; i < 6; i++) {
        send_to(e, sup, "w", "crash");
        EXPECT(e, "stop /root/sup/w failure: crash", "start /root/sup/w");
        if (i % 2 == 1) tr_clock_advance(se->clock, 1000);
    }
    /* three within one window: the supervisor gives up */
    for (int i = 0; i < 2; i++) {
        send_to(e, sup, "w", "crash");
        EXPECT(e, "stop /root/sup/w failure: crash", "start /root/sup/w");
    }
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash");
    /* it ended with reason shutdown, which (untrapped at the root) fails
     * the root: escalation to the top */
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/sup: shutdown: reached max restart intensity (more than 2 restarts "
                        "in 1000 ms); the last: child w failed: crash\n"
                        "/root: child /root/sup exited: shutdown\n");
}

/* A supervisor that gives up is restarted by its own supervisor. */
static void test_6_escalation_three_levels(void **state)
{
    t_env *e = env(state);
    tr_sup_spec inner = {.strategy = TR_ONE_FOR_ONE, .intensity = 0, .period_ms = 1000,
                         .children = one_worker, .nchildren = 1};
    const tr_child_spec mid_kids[] = {{.id = "inner", .supervisor = &inner, .restart = TR_PERMANENT},
                                      WORKER("x", TR_PERMANENT, A_OK)};
    tr_sup_spec mid = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                       .children = mid_kids, .nchildren = 2};
    const tr_child_spec top_kids[] = {{.id = "mid", .supervisor = &mid, .restart = TR_PERMANENT}};
    tr_sup_spec top = {.strategy = TR_ONE_FOR_ONE, .children = top_kids, .nchildren = 1};
    tr_pid sup = start(e, &top, "top");
    EXPECT(e, "start /root/top/mid/inner/w", "start /root/top/mid/x");
    tr_pid mid_pid = child_pid(e, sup, "mid");
    tr_pid inner_pid = child_pid(e, mid_pid, "inner");
    send_to(e, inner_pid, "w", "crash");
    /* inner allows no restart: it shuts down; mid restarts it */
    EXPECT(e, "stop /root/top/mid/inner/w failure: crash", "start /root/top/mid/inner/w");
    tr_pid inner2 = child_pid(e, mid_pid, "inner");
    assert_false(tr_pid_eq(inner2, inner_pid));
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, mid_pid, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.restarts, 1);
}

/* A restart whose start fails counts and is retried, until it escalates. */
static void test_6_failing_restart_escalates(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("f", TR_PERMANENT, A_FLAKY)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 3, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/f");
    atomic_store(&fail_starts, 1);
    send_to(e, sup, "f", "crash");
    EXPECT(e, "stop /root/sup/f failure: crash");
    /* 1 restart + 2 failed retries fit in 3; the next one does not */
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys), "/root/sup: shutdown"));
}

/* ------------------------------------------------------ 7. auto_shutdown */

static void test_7_auto_shutdown_any(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("sig", TR_TRANSIENT, A_OK)};
    kids[1].significant = true;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .auto_shutdown = TR_AUTO_SHUTDOWN_ANY,
                        .children = kids, .nchildren = 2};
    const tr_child_spec top_kids[] = {{.id = "s", .supervisor = &spec, .restart = TR_TRANSIENT}};
    tr_sup_spec top = {.strategy = TR_ONE_FOR_ONE, .children = top_kids, .nchildren = 1};
    tr_pid t = start(e, &top, "top");
    EXPECT(e, "start /root/top/s/a", "start /root/top/s/sig");
    send_to(e, child_pid(e, t, "s"), "sig", "normal");
    /* it ended on its own: the supervisor shuts down (and, transient with
     * reason shutdown, is not restarted by top) */
    EXPECT(e, "stop /root/top/s/sig normal", "stop /root/top/s/a shutdown");
    await_down(e, t, "s");
    expect_quiet(e, t); /* and not restarted */
    assert_true(tr_pid_is_nil(child_pid(e, t, "s")));
}

static void test_7_auto_shutdown_all_and_not_when_caused(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {WORKER("x", TR_TEMPORARY, A_OK), WORKER("y", TR_TEMPORARY, A_OK),
                            WORKER("keep", TR_PERMANENT, A_OK)};
    kids[0].significant = kids[1].significant = true;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .auto_shutdown = TR_AUTO_SHUTDOWN_ALL,
                        .children = kids, .nchildren = 3};
    const tr_child_spec top_kids[] = {{.id = "s", .supervisor = &spec, .restart = TR_TRANSIENT}};
    tr_sup_spec top = {.strategy = TR_ONE_FOR_ONE, .children = top_kids, .nchildren = 1};
    tr_pid t = start(e, &top, "top");
    tr_pid s = child_pid(e, t, "s");
    EXPECT(e, "start /root/top/s/x", "start /root/top/s/y", "start /root/top/s/keep");
    /* an exit the supervisor caused does not count */
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, s, "x", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/top/s/x shutdown");
    expect_quiet(e, s);
    tr_inbox_send(e->probe, child_pid(e, s, "y"), tr_atom_from("crash"), NULL, 0);
    EXPECT(e, "stop /root/top/s/y failure: crash", "stop /root/top/s/keep shutdown");
    expect_quiet(e, t);
}

/* ------------------------------------------------------ 8. dynamic API */

static void test_8_dynamic_api(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a");
    tr_child_spec b = WORKER("b", TR_PERMANENT, A_OK);
    tr_pid pb, again;
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &b, T_WAIT_MS, &pb), TR_OK);
    EXPECT(e, "start /root/sup/b");
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &b, T_WAIT_MS, &again), TR_EEXIST);
    assert_true(tr_pid_eq(again, pb)); /* already_started, with its pid */
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "b", T_WAIT_MS, NULL), TR_EBUSY);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "b", T_WAIT_MS), TR_EBUSY);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "b", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/b shutdown");
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &b, T_WAIT_MS, &again), TR_EPRESENT);
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "b", T_WAIT_MS, &again), TR_OK);
    EXPECT(e, "start /root/sup/b");
    assert_false(tr_pid_eq(again, pb));
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "b", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/b shutdown");
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "b", T_WAIT_MS), TR_OK);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "b", T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "b", T_WAIT_MS, NULL), TR_ENOENT);
    /* a temporary child's spec goes when it is terminated */
    tr_child_spec t = WORKER("t", TR_TEMPORARY, A_OK);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &t, T_WAIT_MS, NULL), TR_OK);
    EXPECT(e, "start /root/sup/t");
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "t", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/t shutdown");
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "t", T_WAIT_MS, NULL), TR_ENOENT);
    /* a failing start_child answers an error and keeps no spec */
    tr_child_spec bad = WORKER("bad", TR_PERMANENT, A_FAIL);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &bad, T_WAIT_MS, NULL), TR_EFAILED);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "bad", T_WAIT_MS), TR_ENOENT);
    /* a bad spec is refused before it is sent */
    tr_child_spec sig = WORKER("s", TR_PERMANENT, A_OK);
    sig.significant = true;
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &sig, T_WAIT_MS, NULL), TR_EINVAL);
    tr_child_info info[4];
    size_t n;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 4, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(info[0].id, "a");
}

static void test_spec_check(void **state)
{
    (void)state;
    char why[200];
    tr_child_spec dup[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("a", TR_PERMANENT, A_OK)};
    tr_sup_spec s = {.children = dup, .nchildren = 2};
    assert_int_equal(tr_sup_spec_check(&s, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "child 'a': duplicate id");
    tr_sup_spec s1 = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = dup, .nchildren = 2};
    assert_int_equal(tr_sup_spec_check(&s1, why, sizeof why), TR_EINVAL);
    tr_child_spec slash[] = {WORKER("a/b", TR_PERMANENT, A_OK)};
    tr_sup_spec s2 = {.children = slash, .nchildren = 1};
    assert_int_equal(tr_sup_spec_check(&s2, why, sizeof why), TR_EINVAL);
    tr_sup_spec ok = {.children = abc_perm, .nchildren = 3};
    assert_int_equal(tr_sup_spec_check(&ok, why, sizeof why), TR_OK);
}

/* --------------------------------------------------------- backoff */

static void test_backoff(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("w", TR_PERMANENT, A_OK)};
    kids[0].backoff = (tr_backoff){.min_ms = 100, .max_ms = 300, .reset_ms = 1000};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 100, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    static const int64_t delays[] = {100, 200, 300, 300};
    for (int i = 0; i < 4; i++) {
        send_to(e, sup, "w", "crash");
        EXPECT(e, "stop /root/sup/w failure: crash");
        await_down(e, sup, "w");
        tr_clock_advance(se->clock, delays[i] - 1);
        expect_quiet(e, sup); /* not yet */
        tr_clock_advance(se->clock, 1);
        EXPECT(e, "start /root/sup/w");
    }
    /* reset_ms is counted from the last restart decision (the crash above,
     * 300 ms ago): 999 ms after it the delay is still the maximum ... */
    assert_int_equal(tr_clock_advance(se->clock, 699), TR_OK);
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash");
    await_down(e, sup, "w");
    assert_int_equal(tr_clock_advance(se->clock, 299), TR_OK);
    expect_quiet(e, sup);
    assert_int_equal(tr_clock_advance(se->clock, 1), TR_OK);
    EXPECT(e, "start /root/sup/w");
    /* ... and after a quiet reset_ms it is back to the minimum */
    assert_int_equal(tr_clock_advance(se->clock, 1000), TR_OK);
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash");
    await_down(e, sup, "w");
    tr_clock_advance(se->clock, 100);
    EXPECT(e, "start /root/sup/w");
}

/* ------------------------------------- regressions from the review */

/* Two children of a one_for_all supervisor fail close together: the one
 * that ends while the restart is stopping the others is simply counted as
 * stopped, and everything comes back (it used to wait for that exit
 * forever). */
static void test_one_for_all_double_crash(void **state)
{
    t_env *e = env(state);
    atomic_store(&release_stuck, 0);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK),
                                  {.id = "b", .behaviour = &stuck_b, .restart = TR_PERMANENT},
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/c");
    send_to(e, sup, "b", "hold");
    EXPECT(e, "stuck /root/sup/b");
    tr_pid a = child_pid(e, sup, "a");
    send_to(e, sup, "c", "crash"); /* the restart now waits for b to stop */
    EXPECT(e, "stop /root/sup/c failure: crash");
    tr_inbox_send(e->probe, a, tr_atom_from("crash"), NULL, 0);
    EXPECT(e, "stop /root/sup/a failure: crash");
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/sup/b shutdown", "start /root/sup/a", "start /root/sup/b",
           "start /root/sup/c");
    await_counts(e, sup, 3, 3);
    expect_quiet(e, sup);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "a", T_WAIT_MS), TR_EBUSY);
}

/* A child that answers ignore during a one_for_all restart is left
 * stopped, once (it used to be spawned again and again). */
static void test_ignore_during_restart(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK),
                                  WORKER("lazy", TR_PERMANENT, A_IGNORE)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "ignored /root/sup/lazy");
    for (int i = 0; i < 2; i++) {
        send_to(e, sup, "a", "crash");
        /* each restart starts both again, in order; lazy ignores once */
        EXPECT(e, "stop /root/sup/a failure: crash", "start /root/sup/a",
               "ignored /root/sup/lazy");
    }
    await_down(e, sup, "lazy"); /* its last ignoring start is taken in */
    expect_quiet(e, sup);
    assert_true(tr_pid_is_nil(child_pid(e, sup, "lazy")));
}

typedef struct term_arg {
    tr_system *sys;
    tr_pid sup;
    int rc;
    _Atomic int done;
} term_arg;

static void *terminate_b(void *p)
{
    term_arg *a = p;
    a->rc = tr_sup_terminate_child_sync(a->sys, a->sup, "b", TR_PID_NIL, T_WAIT_MS);
    atomic_store(&a->done, 1);
    return NULL;
}

typedef struct start_arg {
    tr_system *sys;
    tr_pid sup;
    int rc;
    _Atomic int done;
} start_arg;

static void *start_b(void *p)
{
    start_arg *a = p;
    tr_child_spec b = WORKER("b", TR_PERMANENT, A_OK);
    a->rc = tr_sup_start_child_sync(a->sys, a->sup, &b, T_WAIT_MS, NULL);
    atomic_store(&a->done, 1);
    return NULL;
}

/* Two requests about one child: the first waits for the child, the second
 * is refused at once (it used to replace the first, which then never got
 * an answer). Which one is first does not matter. */
static void test_second_request_busy(void **state)
{
    t_env *e = env(state);
    atomic_store(&release_stuck, 0);
    const tr_child_spec kids[] = {{.id = "b", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/b");
    send_to(e, sup, "b", "hold");
    EXPECT(e, "stuck /root/sup/b");
    term_arg a[2] = {{e->sys, sup, -1, 0}, {e->sys, sup, -1, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, terminate_b, &a[i]);
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!atomic_load(&a[0].done) && !atomic_load(&a[1].done) && t_now_ms() < end)
        sched_yield(); /* b is held: only a refusal can come back now */
    int first = atomic_load(&a[0].done) ? 0 : 1;
    bool refused = atomic_load(&a[first].done) && a[first].rc == TR_EBUSY;
    atomic_store(&release_stuck, 1); /* never leave the worker held */
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_true(refused);
    assert_int_equal(a[1 - first].rc, TR_OK);
    EXPECT(e, "stop /root/sup/b shutdown");
}

/* A failed restart_child keeps the spec, as OTP does. */
static void test_failed_restart_child_keeps_spec(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("f", TR_PERMANENT, A_FLAKY)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/f");
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "f", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/f shutdown");
    atomic_store(&fail_starts, 1);
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "f", T_WAIT_MS, NULL), TR_EFAILED);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "f", T_WAIT_MS), TR_OK);
}

/* After a one_for_all restart has finished, terminating a temporary child
 * added later must not touch the finished plan (this crashed). */
static void test_terminate_temporary_after_restart(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("p1", TR_PERMANENT, A_OK), WORKER("p2", TR_PERMANENT, A_OK),
                                  WORKER("t", TR_TEMPORARY, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/p1", "start /root/sup/p2", "start /root/sup/t");
    send_to(e, sup, "p1", "crash");
    EXPECT(e, "stop /root/sup/p1 failure: crash", "stop /root/sup/t shutdown",
           "stop /root/sup/p2 shutdown", "start /root/sup/p1", "start /root/sup/p2");
    await_counts(e, sup, 2, 2);
    tr_child_spec x = WORKER("x", TR_TEMPORARY, A_OK);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &x, T_WAIT_MS, NULL), TR_OK);
    EXPECT(e, "start /root/sup/x");
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "x", TR_PID_NIL, T_WAIT_MS), TR_OK);
    EXPECT(e, "stop /root/sup/x shutdown");
    await_counts(e, sup, 2, 2);
}

/* A start_child that arrives during a restart waits for it and then
 * succeeds (its deferred copy was refused as if it came from afar). */
static void test_start_child_during_restart(void **state)
{
    t_env *e = env(state);
    atomic_store(&release_stuck, 0);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK),
                                  {.id = "slow", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/slow");
    send_to(e, sup, "slow", "hold");
    EXPECT(e, "stuck /root/sup/slow");
    send_to(e, sup, "a", "crash"); /* the restart now waits for slow to stop */
    EXPECT(e, "stop /root/sup/a failure: crash");
    await_down(e, sup, "a"); /* the restart is under way */
    pthread_t th;
    start_arg sa = {e->sys, sup, -1, 0};
    pthread_create(&th, NULL, start_b, &sa); /* most likely waits behind the restart */
    atomic_store(&release_stuck, 1);
    pthread_join(th, NULL);
    assert_int_equal(sa.rc, TR_OK);
    /* the restart's events in order, b's start somewhere among them */
    static const char *const want[] = {"stop /root/sup/slow shutdown", "start /root/sup/a",
                                       "start /root/sup/slow"};
    size_t next = 0;
    bool b_started = false;
    for (int i = 0; i < 4; i++) {
        const char *got = tr_msg_data(t_expect(e, "ev"));
        if (strcmp(got, "start /root/sup/b") == 0) b_started = true;
        else assert_string_equal(got, want[next++]);
    }
    assert_true(b_started);
}

/* A pool of 2,000 dynamic children: half terminated by pid in a shuffled
 * order, then all stopped with the supervisor (exercises the pid index and
 * the O(1) removal of dynamic children). */
static void test_large_dynamic_pool(void **state)
{
    t_env *e = env(state);
    enum { N = 2000 };
    static const tr_behaviour quiet_b = {"quiet", 0, NULL, worker_handle, NULL};
    const tr_child_spec tmpl[] = {{.id = "q", .behaviour = &quiet_b, .restart = TR_TEMPORARY}};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    static tr_pid kids[N];
    tr_child_spec dyn = {0};
    for (int i = 0; i < N; i++)
        assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &kids[i]), TR_OK);
    for (int i = 0; i < N; i += 2) {
        int k = (i * 7919) % N & ~1; /* even indices, shuffled */
        assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, NULL, kids[k], T_WAIT_MS), TR_OK);
    }
    await_counts(e, sup, 1, N / 2);
    tr_child_counts k;
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
    assert_int_equal(k.workers, N / 2);
    /* one of the survivors crashes: temporary, so it is just gone */
    tr_inbox_send(e->probe, kids[1], tr_atom_from("crash"), NULL, 0);
    await_counts(e, sup, 1, N / 2 - 1);
    tr_system_stop_child(e->sys, sup);
    assert_int_equal(t_wait_live(e->sys, 0), 0);
}

/* -------------------------------------- restarts whose start fails (OTP) */

/* one_for_all: a restart in which a later child fails to start stops the
 * children it already restarted (reverse order) and starts over from the
 * first; every try counts against the intensity, so a child that never
 * starts again makes the supervisor give up (escalation). */
static void test_one_for_all_failed_restart_starts_over(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK),
                                  WORKER("f", TR_PERMANENT, A_FLAKY)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 2, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b", "start /root/sup/f");
    atomic_store(&fail_starts, 1);
    send_to(e, sup, "a", "crash");
    /* restart 1: b and f stopped, a and b started, f fails to start;
     * try 2 (restart 2): a and b stopped again, started again, f fails;
     * try 3 exceeds 2 restarts in the period: the supervisor gives up */
    EXPECT(e, "stop /root/sup/a failure: crash", "stop /root/sup/f shutdown",
           "stop /root/sup/b shutdown", "start /root/sup/a", "start /root/sup/b",
           "stop /root/sup/b shutdown", "stop /root/sup/a shutdown", "start /root/sup/a",
           "start /root/sup/b", "stop /root/sup/b shutdown", "stop /root/sup/a shutdown");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys),
                           "/root/sup: shutdown: reached max restart intensity (more than 2 "
                           "restarts in 1000 ms); the last: child f failed: cannot start"));
}

/* ... and once the child starts again, the retry completes from the first */
static void test_one_for_all_failed_restart_recovers(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("f", TR_PERMANENT, A_ONCE),
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 5, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    atomic_store(&fail_budget, 0);
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/f", "start /root/sup/c");
    atomic_store(&fail_budget, 1); /* f's next start fails, the one after works */
    send_to(e, sup, "c", "crash");
    EXPECT(e, "stop /root/sup/c failure: crash", "stop /root/sup/f shutdown",
           "stop /root/sup/a shutdown", "start /root/sup/a", "stop /root/sup/a shutdown",
           "start /root/sup/a", "start /root/sup/f", "start /root/sup/c");
    expect_quiet(e, sup);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, sup, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.restarts, 2); /* the crash, and the failed start */
}

/* rest_for_one: a restart whose child keeps failing to start counts and
 * escalates too (it is retried from the child that failed). */
static void test_rest_for_one_failing_restart_escalates(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("f", TR_PERMANENT, A_FLAKY),
                                  WORKER("c", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_REST_FOR_ONE, .intensity = 3, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/f", "start /root/sup/c");
    atomic_store(&fail_starts, 1);
    send_to(e, sup, "f", "crash");
    EXPECT(e, "stop /root/sup/f failure: crash", "stop /root/sup/c shutdown",
           "stop /root/sup/a shutdown");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys), "the last: child f failed: cannot start"));
}

/* terminate_child names a child by id; a pid (with no id) is not found on
 * a supervisor that is not simple_one_for_one, and the child runs on. */
static void test_terminate_by_pid_needs_simple(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a");
    tr_pid a = child_pid(e, sup, "a");
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, NULL, a, T_WAIT_MS), TR_ENOENT);
    expect_quiet(e, sup);
    assert_true(tr_pid_eq(child_pid(e, sup, "a"), a));
}

/* A significant child under auto_shutdown never is refused, by the spec
 * check and by start_child (OTP rejects the spec). */
static void test_significant_needs_auto_shutdown(void **state)
{
    t_env *e = env(state);
    char why[200];
    tr_child_spec kids[] = {WORKER("s", TR_TRANSIENT, A_OK)};
    kids[0].significant = true;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "child 's': significant under a supervisor whose auto_shutdown is never");
    tr_pid pid;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &pid, NULL, 0), TR_EINVAL);
    spec.nchildren = 0;
    tr_pid sup = start(e, &spec, "sup");
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &kids[0], T_WAIT_MS, NULL), TR_EINVAL);
    expect_quiet(e, sup);
    spec.auto_shutdown = TR_AUTO_SHUTDOWN_ANY;
    spec.nchildren = 1;
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_OK);
}

/* asker: on "ask", asks its own supervisor (its parent) which_children and
 * count_children as an actor does, and reports what it decoded. */
static int asker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("ask"))) {
        int rc = tr_sup_which_children(ctx, tr_parent(ctx), NULL);
        return rc ? rc : tr_sup_count_children(ctx, tr_parent(ctx), NULL);
    }
    char line[700];
    tr_child_info kids[4];
    size_t n = 0;
    tr_child_counts k;
    if (tr_sup_children_decode(m, kids, 4, &n) == TR_OK) {
        snprintf(line, sizeof line, "children %zu %s %s %d", n, kids[0].id, n > 1 ? kids[1].id : "",
                 (int)kids[1].type);
        return t_report(ctx, "ev", line);
    }
    if (tr_sup_counts_decode(m, &k) == TR_OK) {
        snprintf(line, sizeof line, "counts %u %u %u %u", k.specs, k.active, k.supervisors,
                 k.workers);
        return t_report(ctx, "ev", line);
    }
    return 0;
}

static const tr_behaviour asker_b = {"asker", 0, NULL, asker_handle, NULL};

/* An actor lists its supervisor's children and counts them by messages,
 * not only through the _sync forms; decoders refuse other messages. */
static void test_which_and_count_from_an_actor(void **state)
{
    t_env *e = env(state);
    static const tr_sup_spec inner = {.strategy = TR_ONE_FOR_ONE};
    const tr_child_spec kids[] = {{.id = "asker", .behaviour = &asker_b, .restart = TR_PERMANENT},
                                  {.id = "inner", .supervisor = &inner, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    send_to(e, sup, "asker", "ask");
    EXPECT(e, "children 2 asker inner 1", "counts 2 2 1 1");
    tr_child_counts k;
    size_t n;
    assert_int_equal(tr_sup_counts_decode(NULL, &k), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(NULL, NULL, 0, &n), TR_EINVAL);
}

/* A child spec's registered name (OTP's {local, Name}) is taken before its
 * init runs and follows the child across restarts; a clash fails the
 * start like any init failure. */
static void test_registered_child_name(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
    kids[0].register_as = "the.a";
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a");
    tr_pid first, named;
    first = child_pid(e, sup, "a");
    assert_int_equal(tr_whereis(e->sys, "the.a", &named), TR_OK);
    assert_true(tr_pid_eq(named, first));
    send_to(e, sup, "a", "crash");
    EXPECT(e, "stop /root/sup/a failure: crash", "start /root/sup/a");
    tr_pid second = child_pid(e, sup, "a");
    assert_false(tr_pid_eq(second, first));
    assert_int_equal(tr_whereis(e->sys, "the.a", &named), TR_OK);
    assert_true(tr_pid_eq(named, second)); /* the new incarnation */
    /* a second child wanting the same name cannot start */
    tr_child_spec b = WORKER("b", TR_PERMANENT, A_OK);
    b.register_as = "the.a";
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &b, T_WAIT_MS, NULL), TR_EEXIST);
    b.register_as = "bad@name";
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &b, T_WAIT_MS, NULL), TR_EINVAL);
    expect_quiet(e, sup);
}

/* ------------------------------------------------- backoff, in detail */

/* How long after its end a one_for_one child is spawned again, on the
 * manual clock: the child has ended and its backoff timer is armed; moves
 * the clock 1 ms at a time from `from` - 1 until count_children shows it
 * active (its round trip comes after the timer's message, which
 * tr_clock_advance put in the supervisor's mailbox first). */
static int64_t restart_delay(sup_env *se, tr_pid sup, int64_t from, int64_t limit)
{
    t_env *e = &se->e;
    int64_t elapsed = from - 1;
    assert_int_equal(tr_clock_advance(se->clock, elapsed), TR_OK);
    for (;;) {
        tr_child_counts k;
        assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
        if (k.active == 1) return elapsed;
        if (elapsed >= limit) fail_msg("no restart within %lld ms", (long long)limit);
        assert_int_equal(tr_clock_advance(se->clock, 1), TR_OK);
        elapsed++;
    }
}

/* Jitter adds up to jitter*100 % to each delay at random: with min ==
 * max == 100 and jitter 1, every delay is in [100, 200) and they differ
 * (without jitter every one is exactly 100: test_backoff). */
static void test_backoff_jitter_varies_delays(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("w", TR_PERMANENT, A_OK)};
    kids[0].backoff = (tr_backoff){.min_ms = 100, .max_ms = 100, .jitter = 1.0};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 100, .period_ms = 1000000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    enum { N = 6 };
    int64_t d[N];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        send_to(e, sup, "w", "crash");
        EXPECT(e, "stop /root/sup/w failure: crash");
        await_down(e, sup, "w");
        d[i] = restart_delay(se, sup, 100, 250);
        EXPECT(e, "start /root/sup/w");
        if (d[i] < 100 || d[i] >= 200) fail_msg("restart %d after %lld ms", i, (long long)d[i]);
        bool seen = false;
        for (int j = 0; j < i; j++) seen |= d[j] == d[i];
        distinct += !seen;
    }
    if (distinct < 2)
        fail_msg("jitter: every delay was %lld ms", (long long)d[0]);
}

/* A one_for_all restart waits for the failed child's backoff once the
 * others are stopped, then starts them all. */
static void test_backoff_one_for_all(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK)};
    kids[1].backoff = (tr_backoff){.min_ms = 50, .max_ms = 50};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b");
    send_to(e, sup, "b", "crash");
    EXPECT(e, "stop /root/sup/b failure: crash", "stop /root/sup/a shutdown");
    await_down(e, sup, "a"); /* a's exit taken in: the delay is armed */
    assert_int_equal(tr_clock_advance(se->clock, 49), TR_OK);
    expect_quiet(e, sup);
    assert_int_equal(tr_clock_advance(se->clock, 1), TR_OK);
    EXPECT(e, "start /root/sup/a", "start /root/sup/b");
    await_counts(e, sup, 2, 2);
}

/* terminate_child on a child waiting out its backoff: it stays stopped
 * (the backoff's timer finds it so), until restart_child. */
static void test_terminate_child_waiting_for_backoff(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("w", TR_PERMANENT, A_OK)};
    kids[0].backoff = (tr_backoff){.min_ms = 100, .max_ms = 100};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash");
    await_down(e, sup, "w");
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "w", TR_PID_NIL, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_clock_advance(se->clock, 100), TR_OK);
    expect_quiet(e, sup);
    await_counts(e, sup, 1, 0);
    tr_pid p;
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "w", T_WAIT_MS, &p), TR_OK);
    EXPECT(e, "start /root/sup/w");
    assert_true(tr_pid_eq(child_pid(e, sup, "w"), p));
}

static const tr_behaviour idle_b = {"idle", 0, NULL, worker_handle, NULL};

/* A name squatter: an actor registered under `name`. */
static void squat(t_env *e, const char *name)
{
    tr_spawn_opts o = {.name = "squatter", .register_as = name};
    assert_int_equal(tr_system_spawn(e->sys, &idle_b, &o, NULL), TR_OK);
}

/* A restart that cannot even spawn the child (its registered name was
 * taken meanwhile) is a failed restart: it counts against the intensity
 * and is retried, until the supervisor gives up. */
static void test_backoff_restart_that_cannot_spawn(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
    kids[0].register_as = "the.a";
    kids[0].backoff = (tr_backoff){.min_ms = 10, .max_ms = 10};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 2, .period_ms = 100000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a");
    send_to(e, sup, "a", "crash");
    EXPECT(e, "stop /root/sup/a failure: crash");
    await_down(e, sup, "a");
    squat(e, "the.a");
    assert_int_equal(tr_clock_advance(se->clock, 10), TR_OK); /* restart 2: cannot spawn */
    expect_quiet(e, sup);
    assert_int_equal(tr_clock_advance(se->clock, 10), TR_OK); /* restart 3: too many */
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys),
                           "/root/sup: shutdown: reached max restart intensity (more than 2 "
                           "restarts in 100000 ms); the last: child a failed: cannot spawn"));
}

/* A child that cannot be spawned during the supervisor's start fails the
 * start, naming the child and why. */
static void test_start_child_cannot_spawn(void **state)
{
    t_env *e = env(state);
    squat(e, "taken");
    tr_child_spec kids[] = {WORKER("ok", TR_PERMANENT, A_OK), WORKER("a", TR_PERMANENT, A_OK)};
    kids[1].register_as = "taken";
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 2};
    tr_pid pid;
    char why[256];
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &pid, why, sizeof why),
                     TR_EFAILED);
    char want[256];
    snprintf(want, sizeof want, "failed to start child a: %s", tr_strerror(TR_EEXIST));
    assert_string_equal(why, want);
    EXPECT(e, "start /root/sup/ok", "stop /root/sup/ok shutdown");
}

/* A restart plan that cannot spawn one child (its registered name taken)
 * counts a failed restart and tries again, as OTP's try_again_restart does,
 * until the intensity limit ends the supervisor; the children after it are
 * not started meanwhile. */
static void test_plan_child_that_cannot_spawn(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("b", TR_PERMANENT, A_OK)};
    kids[0].register_as = "the.a";
    kids[1].backoff = (tr_backoff){.min_ms = 10, .max_ms = 10};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/b");
    send_to(e, sup, "b", "crash");
    EXPECT(e, "stop /root/sup/b failure: crash", "stop /root/sup/a shutdown");
    await_down(e, sup, "a");
    squat(e, "the.a");
    assert_int_equal(tr_clock_advance(se->clock, 10), TR_OK);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys),
                           "/root/sup: shutdown: reached max restart intensity (more than 10 "
                           "restarts in 1000 ms); the last: child a failed: already exists\n"));
    const tr_msg *m; /* b was not started again */
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
}

/* ------------------------------------------------- intensity, in detail */

/* Every restart counts, a permanent child's normal end included; the
 * report names how the last one ended. */
static void test_intensity_counts_normal_ends(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 1, .period_ms = 1000,
                        .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    send_to(e, sup, "w", "normal");
    EXPECT(e, "stop /root/sup/w normal", "start /root/sup/w");
    send_to(e, sup, "w", "shutdown");
    EXPECT(e, "stop /root/sup/w shutdown");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys),
                           "(more than 1 restarts in 1000 ms); the last: child w shutdown\n"));
}

/* period_ms == 0 gives OTP's defaults, 1 restart in 5000 ms, whatever
 * intensity says. */
static void test_intensity_defaults(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 10, .children = one_worker,
                        .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash", "start /root/sup/w");
    assert_int_equal(tr_clock_advance(se->clock, 5000), TR_OK); /* the first falls out */
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash", "start /root/sup/w");
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys), "(more than 1 restarts in 5000 ms)"));
}

/* ------------------------------------------- ignore, start and restart */

/* start_child of a child whose init ignores: TR_OK with no pid (OTP's
 * {ok, undefined}); a permanent one's spec stays, a temporary one's goes;
 * terminating a child that is not running is TR_OK. */
static void test_start_child_that_ignores(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    tr_child_spec lazy = WORKER("lazy", TR_PERMANENT, A_IGNORE);
    tr_pid p = sup;
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &lazy, T_WAIT_MS, &p), TR_OK);
    assert_true(tr_pid_is_nil(p));
    EXPECT(e, "ignored /root/sup/lazy");
    await_counts(e, sup, 2, 1);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &lazy, T_WAIT_MS, NULL), TR_EPRESENT);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "lazy", TR_PID_NIL, T_WAIT_MS),
                     TR_OK);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "lazy", T_WAIT_MS), TR_OK);
    tr_child_spec tmp = WORKER("tmp", TR_TEMPORARY, A_IGNORE);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &tmp, T_WAIT_MS, &p), TR_OK);
    assert_true(tr_pid_is_nil(p));
    EXPECT(e, "ignored /root/sup/tmp");
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "tmp", T_WAIT_MS, NULL), TR_ENOENT);
    await_counts(e, sup, 1, 1);
    /* a dynamic child that ignores is not kept either */
    const tr_child_spec tmpl[] = {WORKER("i", TR_PERMANENT, A_IGNORE)};
    tr_sup_spec pool = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid ps = start(e, &pool, "pool");
    tr_child_spec dyn = {0};
    p = ps;
    assert_int_equal(tr_sup_start_child_sync(e->sys, ps, &dyn, T_WAIT_MS, &p), TR_OK);
    assert_true(tr_pid_is_nil(p));
    EXPECT(e, "ignored /root/pool/i-1");
    await_counts(e, ps, 1, 0);
}

/* A dynamic child restarted after a crash whose init then ignores is
 * dropped (it has no spec of its own to keep). */
static void test_dynamic_restart_ignored(void **state)
{
    t_env *e = env(state);
    const tr_child_spec tmpl[] = {WORKER("w", TR_PERMANENT, A_LAZY)};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                        .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    tr_child_spec dyn = {0};
    tr_pid kid;
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, &kid), TR_OK);
    EXPECT(e, "start /root/pool/w-1");
    atomic_store(&ignore_starts, 1);
    assert_int_equal(tr_inbox_send(e->probe, kid, tr_atom_from("crash"), NULL, 0), TR_OK);
    EXPECT(e, "stop /root/pool/w-1 failure: crash", "ignored /root/pool/w-1");
    await_counts(e, sup, 1, 0);
    size_t n = 9;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, NULL, 0, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 0);
}

/* A simple_one_for_one start_child given a whole spec uses only its args
 * (appended to the template's); its id and behaviour are ignored. */
static void test_simple_start_child_with_full_spec(void **state)
{
    t_env *e = env(state);
    const tr_child_spec tmpl[] = {WORKER("w", TR_TEMPORARY, A_OK)};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid sup = start(e, &spec, "pool");
    tr_child_spec full = {.id = "other", .behaviour = &idle_b, .args = "abc", .args_size = 3,
                          .restart = TR_PERMANENT};
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &full, T_WAIT_MS, NULL), TR_OK);
    EXPECT(e, "start /root/pool/w-1 +3");
}

/* ------------------------------------------- events while a plan runs */

/* rest_for_one: a child before the one being restarted ends while the
 * restart waits (for a child slow to stop): its end waits for the plan,
 * then gets its own restart, from it on. */
static void test_rest_for_one_end_during_plan_waits(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("f", TR_PERMANENT, A_OK),
                                  {.id = "s", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_REST_FOR_ONE, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/f", "start /root/sup/s");
    send_to(e, sup, "s", "hold");
    EXPECT(e, "stuck /root/sup/s");
    send_to(e, sup, "f", "crash"); /* the plan waits for s */
    EXPECT(e, "stop /root/sup/f failure: crash");
    await_down(e, sup, "f");
    send_to(e, sup, "a", "crash"); /* not in the plan: its end waits */
    EXPECT(e, "stop /root/sup/a failure: crash");
    await_down(e, sup, "a");
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/sup/s shutdown", "start /root/sup/f", "start /root/sup/s",
           /* then a's own restart: those after it stop, all start again */
           "stop /root/sup/s shutdown", "stop /root/sup/f shutdown", "start /root/sup/a",
           "start /root/sup/f", "start /root/sup/s");
    await_counts(e, sup, 3, 3);
    expect_quiet(e, sup);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, sup, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.restarts, 2);
}

/* A temporary child the plan was about to stop ends on its own: it is
 * gone (never restarted), and the plan goes on without it. */
static void test_temporary_ends_during_plan(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("t", TR_TEMPORARY, A_OK),
                                  {.id = "s", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/t", "start /root/sup/s");
    send_to(e, sup, "s", "hold");
    EXPECT(e, "stuck /root/sup/s");
    tr_pid t = child_pid(e, sup, "t");
    send_to(e, sup, "a", "crash"); /* the plan stops s first: it waits */
    EXPECT(e, "stop /root/sup/a failure: crash");
    await_down(e, sup, "a");
    assert_int_equal(tr_inbox_send(e->probe, t, tr_atom_from("crash"), NULL, 0), TR_OK);
    EXPECT(e, "stop /root/sup/t failure: crash");
    await_counts(e, sup, 2, 1); /* t's spec is gone; s is still stopping */
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/sup/s shutdown", "start /root/sup/a", "start /root/sup/s");
    await_counts(e, sup, 2, 2);
    expect_quiet(e, sup);
}

/* ------------------------------------------------------- TR_ESTOPPED */

typedef struct req_arg {
    tr_system *sys;
    tr_pid sup;
    bool restart; /* restart_child "x", else start_child of a holding "x" */
    int rc;
} req_arg;

static void *req_thread(void *p)
{
    req_arg *a = p;
    tr_child_spec x = WORKER("x", TR_PERMANENT, A_HOLD);
    a->rc = a->restart ? tr_sup_restart_child_sync(a->sys, a->sup, "x", T_WAIT_MS, NULL)
                       : tr_sup_start_child_sync(a->sys, a->sup, &x, T_WAIT_MS, NULL);
    return NULL;
}

/* start_child and restart_child answer TR_ESTOPPED when a restart of the
 * new child's siblings stopped it before it was reported started (its
 * init was still running); the plan then starts it with the others. */
static void test_start_overtaken_by_restart_is_estopped(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a");
    for (int round = 0; round < 2; round++) {
        atomic_store(&hold_init, 0);
        req_arg ra = {e->sys, sup, round == 1, -1};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, req_thread, &ra), 0);
        EXPECT(e, "hold /root/sup/x"); /* x's init runs: it is starting */
        send_to(e, sup, "a", "crash");
        EXPECT(e, "stop /root/sup/a failure: crash");
        await_down(e, sup, "a"); /* the restart has asked x to stop */
        atomic_store(&hold_init, 1);
        pthread_join(th, NULL);
        assert_int_equal(ra.rc, TR_ESTOPPED);
        EXPECT(e, "start /root/sup/x", "stop /root/sup/x shutdown", "start /root/sup/a",
               "hold /root/sup/x", "start /root/sup/x");
        await_counts(e, sup, 2, 2);
        if (round == 0) {
            assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "x", TR_PID_NIL, T_WAIT_MS),
                             TR_OK);
            EXPECT(e, "stop /root/sup/x shutdown");
        }
    }
}

/* ------------------------------------------- a supervisor under an actor */

/* boss: starts a supervisor as its own child (tr_supervisor_spawn) and
 * drives it with the asynchronous requests, reporting each answer as
 * "res <rc> <pid or nil>". */
typedef struct boss {
    tr_pid sup;
} boss;

static const tr_child_spec boss_kids[] = {WORKER("a", TR_PERMANENT, A_OK)};
static const tr_sup_spec boss_spec = {.strategy = TR_ONE_FOR_ONE, .children = boss_kids,
                                      .nchildren = 1};

static void boss_say(tr_ctx *ctx, const char *fmt, long v, const char *w)
{
    char line[200];
    snprintf(line, sizeof line, fmt, v, w);
    t_report(ctx, "res", line);
}

static int boss_init(tr_ctx *ctx, void *vs, const void *args, size_t n)
{
    boss *b = vs;
    tr_sup_spec bad = boss_spec;
    bad.strategy = (tr_strategy)9;
    tr_pid p = tr_self(ctx);
    int rc = tr_supervisor_spawn(ctx, &bad, NULL, &p);
    boss_say(ctx, "bad spec %ld %s", rc, tr_pid_is_nil(p) ? "nil" : "pid");
    const tr_sup_spec *spec = &boss_spec; /* or the one whose address is the args */
    if (n == sizeof spec) memcpy(&spec, args, sizeof spec);
    tr_spawn_opts o = {.name = "sup", .started_to = tr_self(ctx)};
    rc = tr_supervisor_spawn(ctx, spec, &o, &b->sup);
    boss_say(ctx, "spawn %ld %s", rc, tr_pid_is_nil(b->sup) ? "nil" : "pid");
    return 0;
}

static int boss_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    boss *b = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    const char *id = tr_msg_size(m) ? tr_msg_data(m) : "";
    tr_ref ref = {0};
    int rc = 0;
    if (tr_msg_is(m, tr_started_atom())) {
        tr_pid who;
        tr_start_status st;
        tr_exit why;
        rc = tr_started_decode(m, &who, &st, &why);
        boss_say(ctx, "started %ld %s", rc ? rc : (long)st,
                 tr_pid_eq(who, b->sup) ? "sup" : "other");
        return 0;
    }
    if (strcmp(t, "tr.sup.counts") == 0) {
        tr_child_counts k;
        rc = tr_sup_counts_decode(m, &k);
        boss_say(ctx, "counted %ld %s", rc ? rc : (long)k.specs, "");
        return 0;
    }
    if (strcmp(t, "sup") == 0)
        return tr_send(ctx, t_probe, tr_atom_from("sup"), &b->sup, sizeof b->sup);
    if (strcmp(t, "stop_sup") == 0) {
        boss_say(ctx, "stop_sup %ld %s", tr_stop_child(ctx, b->sup), "");
        return 0;
    }
    if (strcmp(t, "start_count") == 0) { /* the count is answered after the start is taken in */
        tr_child_spec c = WORKER(id, TR_PERMANENT, A_OK);
        rc = tr_sup_start_child(ctx, b->sup, &c, &ref);
        if (rc == TR_OK) rc = tr_sup_count_children(ctx, b->sup, NULL);
        if (rc != TR_OK) boss_say(ctx, "call failed %ld %s", rc, "");
        return 0;
    }
    if (strcmp(t, "tr.sup") == 0) {
        int result = 1;
        tr_pid pid = tr_self(ctx);
        rc = tr_sup_result_decode(m, &result, &pid);
        boss_say(ctx, rc ? "undecodable %ld %s" : "res %ld %s", rc ? rc : result,
                 tr_pid_is_nil(pid) ? "nil" : "pid");
        return 0;
    }
    if (strcmp(t, "start") == 0) {
        tr_child_spec c = WORKER(id, TR_PERMANENT, A_OK);
        rc = tr_sup_start_child(ctx, b->sup, &c, &ref);
    } else if (strcmp(t, "start_bad") == 0) {
        tr_child_spec c = WORKER(id, TR_PERMANENT, A_OK);
        c.restart = (tr_restart)7;
        rc = tr_sup_start_child(ctx, b->sup, &c, &ref);
        boss_say(ctx, "refused %ld %s", rc, ref.id ? "ref" : "noref");
        rc = tr_sup_start_child(ctx, b->sup, NULL, &ref);
        boss_say(ctx, "refused %ld %s", rc, ref.id ? "ref" : "noref");
        return 0;
    } else if (strcmp(t, "terminate") == 0) {
        rc = tr_sup_terminate_child(ctx, b->sup, id, TR_PID_NIL, &ref);
    } else if (strcmp(t, "restart") == 0) {
        rc = tr_sup_restart_child(ctx, b->sup, id, &ref);
    } else if (strcmp(t, "delete") == 0) {
        rc = tr_sup_delete_child(ctx, b->sup, id, &ref);
    } else if (strcmp(t, "not_an_answer") == 0) {
        rc = tr_sup_result_decode(m, NULL, NULL);
        boss_say(ctx, "decode %ld %s", rc, "");
        return 0;
    } else {
        return 0;
    }
    if (rc != TR_OK || ref.id == 0) boss_say(ctx, "call failed %ld %s", rc, "");
    return 0;
}

static const tr_behaviour boss_b = {"boss", sizeof(boss), boss_init, boss_handle, NULL};

/* Has the boss do `op` on child `id`; the child's own event (if any)
 * comes first, then the boss's report of the answer. */
static void boss_do(t_env *e, tr_pid boss, const char *op, const char *id, const char *event,
                    const char *want)
{
    assert_int_equal(tr_inbox_send(e->probe, boss, tr_atom_from(op), id, strlen(id) + 1), TR_OK);
    if (event) expect(e, &event, 1);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), want);
}

/* An actor starts a supervisor (tr_supervisor_spawn: refused for a bad
 * spec; its start reported to started_to) and sends it every dynamic
 * request as a message, decoding the answers with tr_sup_result_decode. */
static void test_supervisor_driven_by_an_actor(void **state)
{
    t_env *e = env(state);
    tr_pid bp;
    assert_int_equal(tr_system_spawn(e->sys, &boss_b, &(tr_spawn_opts){.name = "boss"}, &bp),
                     TR_OK);
    char line[64];
    snprintf(line, sizeof line, "bad spec %d nil", TR_EINVAL);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), line);
    EXPECT_RES_AMONG(e, "spawn 0 pid", "start /root/boss/sup/a");
    assert_string_equal(tr_msg_data(t_expect(e, "res")), "started 0 sup");
    boss_do(e, bp, "start", "b", "start /root/boss/sup/b", "res 0 pid");
    snprintf(line, sizeof line, "res %d pid", TR_EEXIST);
    boss_do(e, bp, "start", "b", NULL, line);
    snprintf(line, sizeof line, "res %d pid", TR_EBUSY);
    boss_do(e, bp, "restart", "b", NULL, line);
    boss_do(e, bp, "delete", "b", NULL, line);
    boss_do(e, bp, "terminate", "b", "stop /root/boss/sup/b shutdown", "res 0 nil");
    snprintf(line, sizeof line, "res %d nil", TR_EPRESENT);
    boss_do(e, bp, "start", "b", NULL, line);
    boss_do(e, bp, "restart", "b", "start /root/boss/sup/b", "res 0 pid");
    boss_do(e, bp, "terminate", "b", "stop /root/boss/sup/b shutdown", "res 0 nil");
    boss_do(e, bp, "delete", "b", NULL, "res 0 nil");
    snprintf(line, sizeof line, "res %d nil", TR_ENOENT);
    boss_do(e, bp, "delete", "b", NULL, line);
    boss_do(e, bp, "terminate", "nope", NULL, line);
    boss_do(e, bp, "restart", "nope", NULL, line);
    /* a bad spec or none is refused before anything is sent */
    assert_int_equal(tr_inbox_send(e->probe, bp, tr_atom_from("start_bad"), "c", 2), TR_OK);
    snprintf(line, sizeof line, "refused %d noref", TR_EINVAL);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), line);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), line);
    snprintf(line, sizeof line, "decode %d ", TR_EINVAL);
    boss_do(e, bp, "not_an_answer", "", NULL, line);
    /* tr_supervisor_spawn needs an actor's ctx */
    tr_pid p;
    assert_int_equal(tr_supervisor_spawn(NULL, &boss_spec, NULL, &p), TR_ENOTACTOR);
    assert_true(tr_pid_is_nil(p));
}

/* Requests waiting behind a restart when the supervisor is stopped are
 * answered TR_ESTOPPED (none is left without an answer). */
static void test_deferred_requests_answered_when_stopped(void **state)
{
    t_env *e = env(state);
    static const tr_child_spec kids[] = {
        WORKER("a", TR_PERMANENT, A_OK),
        {.id = "s", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    static const tr_sup_spec spec = {.strategy = TR_ONE_FOR_ALL, .intensity = 10,
                                     .period_ms = 1000, .children = kids, .nchildren = 2};
    const tr_sup_spec *sp = &spec;
    tr_pid bp, sup;
    tr_spawn_opts o = {.name = "boss", .args = &sp, .args_size = sizeof sp};
    assert_int_equal(tr_system_spawn(e->sys, &boss_b, &o, &bp), TR_OK);
    t_expect(e, "res"); /* the bad spec */
    EXPECT_RES_AMONG(e, "spawn 0 pid", "start /root/boss/sup/a", "start /root/boss/sup/s");
    assert_string_equal(tr_msg_data(t_expect(e, "res")), "started 0 sup");
    assert_int_equal(tr_inbox_send(e->probe, bp, tr_atom_from("sup"), NULL, 0), TR_OK);
    memcpy(&sup, tr_msg_data(t_expect(e, "sup")), sizeof sup);
    send_to(e, sup, "s", "hold");
    EXPECT(e, "stuck /root/boss/sup/s");
    send_to(e, sup, "a", "crash"); /* the restart waits for s */
    EXPECT(e, "stop /root/boss/sup/a failure: crash");
    await_down(e, sup, "a");
    assert_int_equal(tr_inbox_send(e->probe, bp, tr_atom_from("start_count"), "b", 2), TR_OK);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), "counted 2 "); /* b waits */
    assert_int_equal(tr_inbox_send(e->probe, bp, tr_atom_from("stop_sup"), NULL, 0), TR_OK);
    /* asked (before s is let go, or the restart would go on first) */
    assert_string_equal(tr_msg_data(t_expect(e, "res")), "stop_sup 0 ");
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/boss/sup/s shutdown");
    char line[64];
    snprintf(line, sizeof line, "res %d nil", TR_ESTOPPED);
    assert_string_equal(tr_msg_data(t_expect(e, "res")), line);
}

/* ------------------------------------------------------- count_children */

/* OTP's count_children: specs, those with a live pid, and supervisors and
 * workers among all specs, running or not. */
static void test_count_children_kinds(void **state)
{
    t_env *e = env(state);
    static const tr_sup_spec empty = {.strategy = TR_ONE_FOR_ONE};
    const tr_child_spec kids[] = {WORKER("w1", TR_PERMANENT, A_OK),
                                  {.id = "s1", .supervisor = &empty, .restart = TR_PERMANENT},
                                  WORKER("lazy", TR_PERMANENT, A_IGNORE),
                                  {.id = "s2", .supervisor = &empty, .restart = TR_TRANSIENT},
                                  WORKER("w2", TR_TRANSIENT, A_OK)};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                        .children = kids, .nchildren = 5};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w1", "ignored /root/sup/lazy", "start /root/sup/w2");
    tr_child_counts k;
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
    assert_int_equal(k.specs, 5);
    assert_int_equal(k.active, 4);
    assert_int_equal(k.supervisors, 2);
    assert_int_equal(k.workers, 3);
    /* a stopped supervisor still counts as one */
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "s2", TR_PID_NIL, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_OK);
    assert_int_equal(k.specs, 5);
    assert_int_equal(k.active, 3);
    assert_int_equal(k.supervisors, 2);
    assert_int_equal(k.workers, 3);
    /* which_children: types, restart types, restart counts, in spec order */
    send_to(e, sup, "w2", "crash");
    EXPECT(e, "stop /root/sup/w2 failure: crash", "start /root/sup/w2");
    send_to(e, sup, "w2", "crash");
    EXPECT(e, "stop /root/sup/w2 failure: crash", "start /root/sup/w2");
    tr_child_info info[5];
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 5, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 5);
    static const char *const ids[] = {"w1", "s1", "lazy", "s2", "w2"};
    static const tr_child_type types[] = {TR_WORKER, TR_SUPERVISOR, TR_WORKER, TR_SUPERVISOR,
                                          TR_WORKER};
    static const tr_restart restarts[] = {TR_PERMANENT, TR_PERMANENT, TR_PERMANENT, TR_TRANSIENT,
                                          TR_TRANSIENT};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(info[i].id, ids[i]);
        assert_int_equal(info[i].type, types[i]);
        assert_int_equal(info[i].restart, restarts[i]);
        assert_int_equal(info[i].restarts, i == 4 ? 2 : 0);
        assert_int_equal(tr_pid_is_nil(info[i].pid), i == 2 || i == 3);
    }
    /* fewer entries than children: n still says how many there are */
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 2, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 5);
    assert_string_equal(info[1].id, "s1");
}

/* -------------------------------------------- failed during shutdown */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char shutdown_line[512];

static void capture_shutdown_failure(void *user, tr_log_level level, const char *line)
{
    (void)user;
    if (level != TR_LOG_WARN || !strstr(line, "failed during shutdown")) return;
    pthread_mutex_lock(&log_mu);
    snprintf(shutdown_line, sizeof shutdown_line, "%s", line);
    pthread_mutex_unlock(&log_mu);
}

/* A child that fails while its supervisor is being shut down (and stops
 * its children) cannot be restarted and fails nobody above; it is logged,
 * "failed during shutdown", with its path and reason, not lost. */
static void test_failure_during_shutdown_is_logged(void **state)
{
    t_env *e = env(state);
    const tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK),
                                  {.id = "s", .behaviour = &stuck_b, .restart = TR_PERMANENT}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/s");
    tr_pid a = child_pid(e, sup, "a");
    send_to(e, sup, "s", "hold");
    EXPECT(e, "stuck /root/sup/s");
    shutdown_line[0] = '\0';
    tr_log_set_handler(capture_shutdown_failure, NULL);
    tr_log_set_level(TR_LOG_WARN);
    assert_int_equal(tr_system_stop_child(e->sys, sup), TR_OK);
    /* the supervisor is stopping (waiting for s) once it no longer answers
     * an inspection: a stopping actor takes no more messages */
    tr_actor_info info;
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (tr_system_inspect(e->sys, sup, &info, T_WAIT_MS) == TR_OK && t_now_ms() < end)
        sched_yield();
    assert_int_equal(tr_system_inspect(e->sys, sup, &info, T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("crash"), NULL, 0), TR_OK);
    EXPECT(e, "stop /root/sup/a failure: crash");
    atomic_store(&release_stuck, 1);
    EXPECT(e, "stop /root/sup/s shutdown");
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_NONE);
    pthread_mutex_lock(&log_mu);
    char got[512];
    snprintf(got, sizeof got, "%s", shutdown_line);
    pthread_mutex_unlock(&log_mu);
    assert_string_equal(got, "failed during shutdown: /root/sup/a: crash");
    /* and the system itself is fine: the supervisor ended as asked */
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
}

/* held: "hold" holds it until release_stuck; other messages as a worker's */
static int held_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (!tr_msg_is(m, tr_atom_from("hold"))) return worker_handle(ctx, vs, m);
    record(ctx, "stuck", "");
    while (!atomic_load(&release_stuck)) sched_yield();
    return 0;
}

static const tr_behaviour held_b = {"held", 0, worker_init, held_handle, worker_terminate};

/* ---------------------------------------------------- logs, mailboxes */

static char logged[8][400];
static int nlogged;

static void capture_sup_log(void *user, tr_log_level level, const char *line)
{
    (void)user;
    if (!strstr(line, "supervisor ")) return;
    pthread_mutex_lock(&log_mu);
    if (nlogged < 8)
        snprintf(logged[nlogged++], sizeof logged[0], "%s %s", tr_log_level_name(level), line);
    pthread_mutex_unlock(&log_mu);
}

/* Every restart is logged (warn) with the supervisor's path, the child,
 * how it ended and the restart's number; giving up is logged (error) with
 * why. */
static void test_restarts_and_giving_up_are_logged(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 1, .period_ms = 1000,
                        .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    nlogged = 0;
    tr_log_set_handler(capture_sup_log, NULL);
    tr_log_set_level(TR_LOG_WARN);
    send_to(e, sup, "w", "crash");
    EXPECT(e, "stop /root/sup/w failure: crash", "start /root/sup/w");
    send_to(e, sup, "w", "normal");
    EXPECT(e, "stop /root/sup/w normal");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_NONE);
    pthread_mutex_lock(&log_mu);
    int n = nlogged;
    pthread_mutex_unlock(&log_mu);
    assert_int_equal(n, 2);
    assert_string_equal(logged[0], "warn supervisor /root/sup: restarting child w (it ended: "
                                   "failure: crash; restart 1)");
    assert_string_equal(logged[1], "error supervisor /root/sup: reached max restart intensity "
                                   "(more than 1 restarts in 1000 ms); the last: child w normal; "
                                   "stopping all children and shutting down");
}

/* A child spec's mailbox bound and policy are the child's, in every
 * incarnation. */
static void test_child_mailbox_bound(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {{.id = "h", .behaviour = &held_b, .restart = TR_PERMANENT,
                             .capacity = 1, .on_full = TR_FULL_FAIL}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/h");
    for (int round = 0; round < 2; round++) {
        tr_pid h = child_pid(e, sup, "h");
        tr_actor_info info;
        assert_int_equal(tr_system_inspect(e->sys, h, &info, T_WAIT_MS), TR_OK);
        assert_int_equal(info.capacity, 1);
        atomic_store(&release_stuck, 0);
        assert_int_equal(tr_inbox_send(e->probe, h, tr_atom_from("hold"), NULL, 0), TR_OK);
        EXPECT(e, "stuck /root/sup/h");
        assert_int_equal(tr_inbox_send(e->probe, h, tr_atom_from("x"), NULL, 0), TR_OK);
        assert_int_equal(tr_inbox_send(e->probe, h, tr_atom_from("crash"), NULL, 0), TR_EFULL);
        atomic_store(&release_stuck, 1);
        if (round == 0) { /* and again after a restart */
            int rc; /* room again once h has taken "x" */
            int64_t end = t_now_ms() + T_WAIT_MS;
            while ((rc = tr_inbox_send(e->probe, h, tr_atom_from("crash"), NULL, 0)) == TR_EFULL &&
                   t_now_ms() < end)
                sched_yield();
            assert_int_equal(rc, TR_OK);
            EXPECT(e, "stop /root/sup/h failure: crash", "start /root/sup/h");
        }
    }
}

/* ------------------------------------------------------- spec checks */

static const tr_behaviour nohandle_b = {"nohandle", 0, NULL, NULL, NULL};

/* Every rule of tr_sup_spec_check, each with the message naming the
 * child (or the supervisor) at fault. */
static void test_spec_check_every_rule(void **state)
{
    (void)state;
    static const tr_sup_spec bad_nested = {.strategy = (tr_strategy)4};
    char long_id[300];
    memset(long_id, 'x', 256);
    long_id[256] = '\0';
    char long_name[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    typedef struct {
        tr_child_spec c;
        const char *why;
    } child_case;
    const child_case cc[] = {
        {{.id = NULL, .behaviour = &worker_b},
         "child '(no id)': id must be 1 to 255 bytes without '/'"},
        {{.id = "", .behaviour = &worker_b}, "child '': id must be 1 to 255 bytes without '/'"},
        {{.id = long_id, .behaviour = &worker_b}, NULL},
        {{.id = "a/b", .behaviour = &worker_b},
         "child 'a/b': id must be 1 to 255 bytes without '/'"},
        {{.id = "c"}, "child 'c': set exactly one of behaviour, supervisor and process"},
        {{.id = "c", .behaviour = &worker_b, .supervisor = &bad_nested},
         "child 'c': set exactly one of behaviour, supervisor and process"},
        {{.id = "c", .behaviour = &nohandle_b}, "child 'c': behaviour has no handle callback"},
        {{.id = "c", .behaviour = &worker_b, .args_size = 4}, "child 'c': args_size without args"},
        {{.id = "c", .behaviour = &worker_b, .restart = (tr_restart)3},
         "child 'c': bad restart type"},
        {{.id = "c", .behaviour = &worker_b, .shutdown_ms = -3}, "child 'c': bad shutdown time"},
        {{.id = "c", .behaviour = &worker_b, .significant = true},
         "child 'c': a significant child cannot be permanent"},
        {{.id = "c", .behaviour = &worker_b, .register_as = ""},
         "child 'c': register_as must be 1 to 255 bytes without '@'"},
        {{.id = "c", .behaviour = &worker_b, .register_as = "a@b"},
         "child 'c': register_as must be 1 to 255 bytes without '@'"},
        {{.id = "c", .behaviour = &worker_b, .register_as = long_name},
         "child 'c': register_as must be 1 to 255 bytes without '@'"},
        {{.id = "c", .behaviour = &worker_b, .capacity = 1u << 30},
         "child 'c': bad mailbox capacity or policy"},
        {{.id = "c", .behaviour = &worker_b, .on_full = (tr_full_policy)4},
         "child 'c': bad mailbox capacity or policy"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.min_ms = -1}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.max_ms = -1}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.reset_ms = -1}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.jitter = -0.1}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.jitter = 1.5}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .behaviour = &worker_b, .backoff = {.min_ms = 10, .max_ms = 5}},
         "child 'c': bad backoff (0 <= min <= max, 0 <= jitter <= 1)"},
        {{.id = "c", .supervisor = &bad_nested}, "supervisor: unknown strategy"},
    };
    char why[300];
    for (size_t i = 0; i < sizeof cc / sizeof *cc; i++) {
        tr_sup_spec s = {.strategy = TR_ONE_FOR_ONE, .children = &cc[i].c, .nchildren = 1};
        why[0] = 'z';
        if (tr_sup_spec_check(&s, why, sizeof why) != TR_EINVAL) fail_msg("case %zu accepted", i);
        if (cc[i].why && strcmp(why, cc[i].why) != 0)
            fail_msg("case %zu: \"%s\", want \"%s\"", i, why, cc[i].why);
        if (!cc[i].why && strstr(why, "id must be 1 to 255 bytes") == NULL)
            fail_msg("case %zu: \"%s\"", i, why);
    }
    /* the limits themselves are fine: 255 bytes, the backoff's edges */
    long_id[255] = '\0';
    long_name[255] = '\0';
    tr_child_spec edge[] = {{.id = long_id, .behaviour = &worker_b, .register_as = long_name,
                             .shutdown_ms = TR_SHUTDOWN_INFINITY,
                             .capacity = (1u << 30) - 1, .on_full = TR_FULL_BLOCK,
                             .backoff = {.min_ms = 5, .max_ms = 5, .jitter = 1.0}}};
    tr_sup_spec ok = {.strategy = TR_ONE_FOR_ONE, .children = edge, .nchildren = 1};
    assert_int_equal(tr_sup_spec_check(&ok, why, sizeof why), TR_OK);
    assert_string_equal(why, "");
    /* the supervisor's own fields */
    const tr_child_spec one[] = {WORKER("a", TR_PERMANENT, A_OK)};
    tr_child_spec named[] = {WORKER("a", TR_PERMANENT, A_OK)};
    named[0].register_as = "n";
    typedef struct {
        tr_sup_spec s;
        const char *why;
    } sup_case;
    const sup_case sc[] = {
        {{.strategy = (tr_strategy)4}, "supervisor: unknown strategy"},
        {{.auto_shutdown = (tr_auto_shutdown)3}, "supervisor: unknown auto_shutdown"},
        {{.period_ms = -1}, "supervisor: period_ms must be >= 0"},
        {{.nchildren = 1}, "supervisor: nchildren without children"},
        {{.strategy = TR_SIMPLE_ONE_FOR_ONE},
         "supervisor: simple_one_for_one needs exactly one child spec"},
        {{.strategy = TR_SIMPLE_ONE_FOR_ONE, .auto_shutdown = TR_AUTO_SHUTDOWN_ANY,
          .children = one, .nchildren = 1},
         "supervisor: simple_one_for_one cannot auto-shutdown"},
        {{.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = named, .nchildren = 1},
         "child 'a': a simple_one_for_one template cannot register a name (its children would "
         "share it)"},
    };
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++) {
        if (tr_sup_spec_check(&sc[i].s, why, sizeof why) != TR_EINVAL)
            fail_msg("supervisor case %zu accepted", i);
        if (strcmp(why, sc[i].why) != 0)
            fail_msg("supervisor case %zu: \"%s\", want \"%s\"", i, why, sc[i].why);
    }
    assert_int_equal(tr_sup_spec_check(NULL, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "supervisor: no spec");
    assert_int_equal(tr_sup_spec_check(NULL, NULL, 0), TR_EINVAL); /* why is optional */
    /* the nested spec's fault is reported as the nested child's */
    const tr_child_spec dup[] = {WORKER("d", TR_PERMANENT, A_OK), WORKER("d", TR_PERMANENT, A_OK)};
    tr_sup_spec inner = {.strategy = TR_ONE_FOR_ONE, .children = dup, .nchildren = 2};
    const tr_child_spec outer_kids[] = {{.id = "inner", .supervisor = &inner}};
    tr_sup_spec outer = {.strategy = TR_ONE_FOR_ONE, .children = outer_kids, .nchildren = 1};
    assert_int_equal(tr_sup_spec_check(&outer, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "child 'd': duplicate id");
    /* a short buffer is cut, still terminated */
    char tiny[8];
    assert_int_equal(tr_sup_spec_check(&outer, tiny, sizeof tiny), TR_EINVAL);
    assert_string_equal(tiny, "child '");
}

/* ------------------------------------- the synchronous API's errors */

static _Atomic int64_t from_worker_rc = 1;

static int sync_from_worker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    tr_pid sup;
    memcpy(&sup, tr_msg_data(m), sizeof sup);
    tr_child_counts k;
    int64_t rc = tr_sup_count_children_sync(tr_ctx_system(ctx), sup, &k, T_WAIT_MS);
    atomic_store(&from_worker_rc, rc);
    return t_report(ctx, "ev", "asked");
}


static const tr_behaviour sync_from_worker_b = {"syncer", 0, NULL, sync_from_worker_handle, NULL};

/* The _sync forms: TR_EINVAL for missing out-parameters, TR_ETIMEDOUT
 * when no answer comes in time, TR_ENOENT once the supervisor is gone,
 * TR_ENOTACTOR from a worker thread; the decoders refuse what is not
 * their answer. */
static void test_sync_api_errors(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    tr_child_info info[2];
    size_t n = 7;
    tr_child_counts k;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 2, NULL, T_WAIT_MS), TR_EINVAL);
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, NULL, 2, &n, T_WAIT_MS), TR_EINVAL);
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, NULL, T_WAIT_MS), TR_EINVAL);
    tr_pid p = sup;
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, NULL, T_WAIT_MS, &p), TR_EINVAL);
    assert_true(tr_pid_is_nil(p));
    /* from a worker thread: refused rather than block it */
    tr_pid syncer;
    assert_int_equal(tr_system_spawn(e->sys, &sync_from_worker_b, NULL, &syncer), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, syncer, tr_atom_from("go"), &sup, sizeof sup), TR_OK);
    EXPECT(e, "asked");
    assert_int_equal(atomic_load(&from_worker_rc), TR_ENOTACTOR);
    /* a supervisor that cannot answer in time (held in a callback) */
    const tr_child_spec held_kids[] = {{.id = "h", .behaviour = &held_b, .restart = TR_PERMANENT}};
    tr_sup_spec held_spec = {.strategy = TR_ONE_FOR_ONE, .children = held_kids, .nchildren = 1};
    tr_pid outer = start(e, &held_spec, "outer");
    EXPECT(e, "start /root/outer/h");
    tr_pid h = child_pid(e, outer, "h");
    assert_int_equal(tr_inbox_send(e->probe, h, tr_atom_from("hold"), NULL, 0), TR_OK);
    EXPECT(e, "stuck /root/outer/h");
    /* h is an actor, not a supervisor, and it is held: nothing answers */
    assert_int_equal(tr_sup_count_children_sync(e->sys, h, &k, 1), TR_ETIMEDOUT);
    assert_int_equal(tr_sup_which_children_sync(e->sys, h, info, 2, &n, 1), TR_ETIMEDOUT);
    assert_int_equal(tr_sup_restart_child_sync(e->sys, h, "x", 1, NULL), TR_ETIMEDOUT);
    atomic_store(&release_stuck, 1);
    /* once it is gone */
    assert_int_equal(tr_system_stop_child(e->sys, sup), TR_OK);
    EXPECT(e, "stop /root/sup/w shutdown");
    assert_int_equal(tr_system_stop_child(e->sys, outer), TR_OK);
    EXPECT(e, "stop /root/outer/h shutdown");
    assert_int_equal(t_wait_live(e->sys, 1), 1); /* the syncer */
    tr_child_spec c = WORKER("c", TR_PERMANENT, A_OK);
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &c, T_WAIT_MS, NULL), TR_ENOENT);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "w", TR_PID_NIL, T_WAIT_MS),
                     TR_ENOENT);
    assert_int_equal(tr_sup_restart_child_sync(e->sys, sup, "w", T_WAIT_MS, NULL), TR_ENOENT);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, sup, "w", T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, info, 2, &n, T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_sup_count_children_sync(e->sys, sup, &k, T_WAIT_MS), TR_ENOENT);
    /* decoders: not their answer */
    tr_msg *m = NULL;
    assert_int_equal(tr_msg_new(tr_atom_from("tr.sup"), 3, &m), TR_OK);
    memset(tr_msg_buffer(m), 0, 3);
    int rc = 1;
    assert_int_equal(tr_sup_result_decode(m, &rc, NULL), TR_EINVAL); /* wrong size */
    assert_int_equal(rc, 1);
    assert_int_equal(tr_sup_result_decode(NULL, &rc, NULL), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(m, info, 2, &n), TR_EINVAL); /* wrong type */
    assert_int_equal(tr_sup_counts_decode(m, &k), TR_EINVAL);
    tr_msg_destroy(&m);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.sup.counts"), sizeof k + 1, &m), TR_OK);
    memset(tr_msg_buffer(m), 0, sizeof k + 1);
    assert_int_equal(tr_sup_counts_decode(m, &k), TR_EINVAL); /* wrong size */
    assert_int_equal(tr_sup_counts_decode(m, NULL), TR_EINVAL);
    tr_msg_destroy(&m);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.sup.children"), sizeof *info + 1, &m), TR_OK);
    memset(tr_msg_buffer(m), 0, sizeof *info + 1);
    assert_int_equal(tr_sup_children_decode(m, info, 2, &n), TR_EINVAL); /* not whole entries */
    tr_msg_destroy(&m);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.sup.children"), sizeof *info, &m), TR_OK);
    memset(tr_msg_buffer(m), 0, sizeof *info);
    assert_int_equal(tr_sup_children_decode(m, NULL, 1, &n), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(m, NULL, 0, NULL), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(m, NULL, 0, &n), TR_OK); /* only the count */
    assert_int_equal(n, 1);
    tr_msg_destroy(&m);
}

/* Requests the supervisor cannot read are answered TR_EINVAL, and it runs
 * on: an unknown request, a start whose spec does not decode (to either
 * kind of supervisor), dynamic args to a supervisor with specs. */
static void test_malformed_requests(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = one_worker, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    const tr_child_spec tmpl[] = {WORKER("d", TR_TEMPORARY, A_OK)};
    tr_sup_spec dspec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    tr_pid pool = start(e, &dspec, "pool");
    static const char *const types[] = {"tr.sup.nonsense", "tr.sup.start", "tr.sup.start",
                                        "tr.sup.terminate"};
    for (int i = 0; i < 4; i++) {
        tr_pid to = i == 2 ? pool : sup;
        tr_msg *r = NULL;
        assert_int_equal(tr_call_sync(e->sys, to, tr_atom_from(types[i]), "junk", 4, T_WAIT_MS, &r),
                         TR_OK);
        int rc = 0;
        assert_int_equal(tr_sup_result_decode(r, &rc, NULL), TR_OK);
        assert_int_equal(rc, TR_EINVAL);
        tr_msg_destroy(&r);
    }
    /* a start_child without a behaviour or a supervisor means "dynamic
     * args": only a simple_one_for_one supervisor takes it */
    tr_child_spec dyn = {0};
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &dyn, T_WAIT_MS, NULL), TR_EINVAL);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, pool, "d-1", T_WAIT_MS), TR_EINVAL);
    await_counts(e, sup, 1, 1);
    expect_quiet(e, sup);
}

/* tr_supervisor_start's own errors: a missing out-pointer or system, a
 * bad spec (with why), a start that does not finish in time (the
 * supervisor is then stopped: nothing is left behind), a stopping
 * system. */
static void test_supervisor_start_errors(void **state)
{
    t_env *e = env(state);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = one_worker, .nchildren = 1};
    tr_pid pid = {1, 1, 1};
    char why[128] = "old";
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "s", T_WAIT_MS, NULL, why, sizeof why),
                     TR_EINVAL);
    assert_string_equal(why, "");
    assert_int_equal(tr_supervisor_start(NULL, &spec, "s", T_WAIT_MS, &pid, NULL, 0), TR_EINVAL);
    assert_true(tr_pid_is_nil(pid));
    tr_sup_spec bad = {.strategy = TR_ONE_FOR_ONE, .period_ms = -5};
    assert_int_equal(tr_supervisor_start(e->sys, &bad, "s", T_WAIT_MS, &pid, why, sizeof why),
                     TR_EINVAL);
    assert_string_equal(why, "supervisor: period_ms must be >= 0");
    /* a child whose init has not returned when the time is up */
    const tr_child_spec slow[] = {WORKER("x", TR_PERMANENT, A_HOLD)};
    tr_sup_spec slow_spec = {.strategy = TR_ONE_FOR_ONE, .children = slow, .nchildren = 1};
    assert_int_equal(tr_supervisor_start(e->sys, &slow_spec, "s", 0, &pid, why, sizeof why),
                     TR_ETIMEDOUT);
    assert_true(tr_pid_is_nil(pid));
    EXPECT(e, "hold /root/s/x");
    atomic_store(&hold_init, 1);
    EXPECT(e, "start /root/s/x", "stop /root/s/x shutdown"); /* stopped for us */
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "s", T_WAIT_MS, &pid, why, sizeof why),
                     TR_ESTOPPED);
}

/* -------------------------------------------------- significant children */

/* auto_shutdown any: a significant transient child that fails is
 * restarted like any other (it did not end by itself "normally"); when it
 * ends normally, the supervisor shuts down, saying why. */
static void test_significant_restart_then_shutdown(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {WORKER("a", TR_PERMANENT, A_OK), WORKER("sig", TR_TRANSIENT, A_OK)};
    kids[1].significant = true;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 1000,
                        .auto_shutdown = TR_AUTO_SHUTDOWN_ANY, .children = kids, .nchildren = 2};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/a", "start /root/sup/sig");
    assert_int_equal(tr_inbox_monitor(e->probe, sup, NULL), TR_OK);
    send_to(e, sup, "sig", "crash");
    EXPECT(e, "stop /root/sup/sig failure: crash", "start /root/sup/sig");
    await_counts(e, sup, 2, 2);
    send_to(e, sup, "sig", "shutdown"); /* ends by itself: not restarted */
    EXPECT(e, "stop /root/sup/sig shutdown", "stop /root/sup/a shutdown");
    const tr_msg *m = t_expect(e, "tr.down");
    tr_exit why;
    assert_int_equal(tr_exit_decode(m, NULL, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_SHUTDOWN);
    assert_string_equal(why.text, "a significant child ended (auto_shutdown)");
}

/* auto_shutdown all: the supervisor waits for the last significant child
 * (a normal end, here), however the others ended. */
static void test_significant_all_waits_for_the_last(void **state)
{
    t_env *e = env(state);
    tr_child_spec kids[] = {WORKER("x", TR_TRANSIENT, A_OK), WORKER("y", TR_TEMPORARY, A_OK),
                            WORKER("plain", TR_TEMPORARY, A_OK)};
    kids[0].significant = kids[1].significant = true;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .auto_shutdown = TR_AUTO_SHUTDOWN_ALL,
                        .children = kids, .nchildren = 3};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/x", "start /root/sup/y", "start /root/sup/plain");
    assert_int_equal(tr_inbox_monitor(e->probe, sup, NULL), TR_OK);
    send_to(e, sup, "plain", "normal"); /* not significant: nothing */
    EXPECT(e, "stop /root/sup/plain normal");
    await_counts(e, sup, 2, 2);
    send_to(e, sup, "x", "normal"); /* y is left */
    EXPECT(e, "stop /root/sup/x normal");
    await_counts(e, sup, 2, 1);
    send_to(e, sup, "y", "crash"); /* temporary: not restarted; the last */
    EXPECT(e, "stop /root/sup/y failure: crash");
    const tr_msg *m = t_expect(e, "tr.down");
    tr_exit why;
    assert_int_equal(tr_exit_decode(m, NULL, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_SHUTDOWN);
}

/* The backoff doubles from min_ms up to max_ms, to the millisecond: each
 * restart is measured with restart_delay (count_children shows the child
 * active once the supervisor has spawned it, which a round trip orders;
 * the child's own "start" report may come later), so a restart that comes
 * too early cannot hide behind a slow worker. */
static void test_backoff_doubles_exactly(void **state)
{
    sup_env *se = *state;
    t_env *e = &se->e;
    tr_child_spec kids[] = {WORKER("w", TR_PERMANENT, A_OK)};
    kids[0].backoff = (tr_backoff){.min_ms = 10, .max_ms = 70, .reset_ms = 100000};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 100, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid sup = start(e, &spec, "sup");
    EXPECT(e, "start /root/sup/w");
    static const int64_t want[] = {10, 20, 40, 70, 70};
    for (int i = 0; i < 5; i++) {
        send_to(e, sup, "w", "crash");
        EXPECT(e, "stop /root/sup/w failure: crash");
        await_down(e, sup, "w");
        int64_t d = restart_delay(se, sup, 1, 200);
        if (d != want[i])
            fail_msg("restart %d after %lld ms, want %lld", i, (long long)d, (long long)want[i]);
        EXPECT(e, "start /root/sup/w");
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_1_start_in_order_and_ignore),
        T(test_2_start_failure_stops_started_in_reverse),
        T(test_3_shutdown_reverse_order),
        T(test_3_shutdown_timeout_and_brutal_kill),
        cmocka_unit_test_setup_teardown(test_shutdown_time_does_not_wait_for_callbacks, setup4,
                                        teardown),
        T(test_3_dynamic_children_stop_together),
        T(test_4_restart_types),
        T(test_5_one_for_one),
        T(test_5_one_for_all),
        T(test_5_rest_for_one),
        T(test_5_simple_one_for_one),
        T(test_6_intensity_window),
        T(test_6_escalation_three_levels),
        T(test_6_failing_restart_escalates),
        T(test_7_auto_shutdown_any),
        T(test_7_auto_shutdown_all_and_not_when_caused),
        T(test_8_dynamic_api),
        T(test_spec_check),
        T(test_backoff),
        T(test_one_for_all_double_crash),
        T(test_ignore_during_restart),
        T(test_second_request_busy),
        T(test_failed_restart_child_keeps_spec),
        T(test_terminate_temporary_after_restart),
        T(test_start_child_during_restart),
        T(test_large_dynamic_pool),
        T(test_one_for_all_failed_restart_starts_over),
        T(test_one_for_all_failed_restart_recovers),
        T(test_rest_for_one_failing_restart_escalates),
        T(test_terminate_by_pid_needs_simple),
        T(test_significant_needs_auto_shutdown),
        T(test_which_and_count_from_an_actor),
        T(test_registered_child_name),
        T(test_backoff_jitter_varies_delays),
        T(test_backoff_one_for_all),
        T(test_terminate_child_waiting_for_backoff),
        T(test_backoff_restart_that_cannot_spawn),
        T(test_start_child_cannot_spawn),
        T(test_plan_child_that_cannot_spawn),
        T(test_intensity_counts_normal_ends),
        T(test_intensity_defaults),
        T(test_start_child_that_ignores),
        T(test_dynamic_restart_ignored),
        T(test_simple_start_child_with_full_spec),
        T(test_rest_for_one_end_during_plan_waits),
        T(test_temporary_ends_during_plan),
        T(test_start_overtaken_by_restart_is_estopped),
        T(test_supervisor_driven_by_an_actor),
        T(test_deferred_requests_answered_when_stopped),
        T(test_count_children_kinds),
        T(test_failure_during_shutdown_is_logged),
        T(test_restarts_and_giving_up_are_logged),
        T(test_child_mailbox_bound),
        T(test_spec_check_every_rule),
        T(test_sync_api_errors),
        T(test_malformed_requests),
        T(test_supervisor_start_errors),
        T(test_significant_restart_then_shutdown),
        T(test_significant_all_waits_for_the_last),
        T(test_backoff_doubles_exactly),
    };
    return cmocka_run_group_tests_name("supervisor", tests, NULL, NULL);
}
