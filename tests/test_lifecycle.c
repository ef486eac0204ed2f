/* test_lifecycle.c — structured lifetime, failure propagation, reports.
 *
 * Actors here are built from a static tree spec: each node spawns its
 * children in init, reports "ready" with its path, and reports "term" with
 * its path and exit reason from terminate, so the probe sees the exact
 * order in which the runtime ends them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

enum { F_TRAP = 1, F_FAIL_INIT = 2, F_IGNORE_INIT = 4 };

typedef struct spec {
    const char *name;
    unsigned flags;
    const struct spec *kids[4];
} spec;

typedef struct node_state {
    const spec *sp;
} node_state;

static void report_path(tr_ctx *ctx, const char *type, const char *suffix)
{
    char line[512];
    size_t n = tr_path(ctx, line, sizeof line);
    snprintf(line + n, sizeof line - n, "%s", suffix);
    t_report(ctx, type, line);
}

static const tr_behaviour node_b;

static int node_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    node_state *s = vs;
    assert_int_equal(size, sizeof(const spec *));
    memcpy(&s->sp, args, sizeof s->sp);
    if (s->sp->flags & F_FAIL_INIT) return TR_EINVAL;
    if (s->sp->flags & F_IGNORE_INIT) return TR_INIT_IGNORE;
    for (int i = 0; i < 4 && s->sp->kids[i]; i++) {
        const spec *k = s->sp->kids[i];
        tr_spawn_opts o = {.name = k->name, .args = &k, .args_size = sizeof k,
                           .flags = (k->flags & F_TRAP) ? TR_SPAWN_TRAP_EXITS : 0};
        assert_int_equal(tr_spawn(ctx, &node_b, &o, NULL), TR_OK);
    }
    report_path(ctx, "ready", "");
    return 0;
}

static int node_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "fail") == 0) return tr_fail(ctx, "boom");
    if (strcmp(t, "error") == 0) return TR_EINVAL;
    if (strcmp(t, "stop") == 0) {
        tr_stop(ctx);
        return 0;
    }
    if (strcmp(t, "tr.exit") == 0) {
        tr_pid who;
        tr_exit why;
        assert_int_equal(tr_exit_info(m, &who, &why), TR_OK);
        assert_true(tr_pid_eq(who, tr_msg_sender(m)));
        char line[256];
        snprintf(line, sizeof line, "%s%s%s", tr_exit_kind_name(why.kind), why.text ? ": " : "",
                 why.text ? why.text : "");
        return t_report(ctx, "trapped", line);
    }
    return 0;
}

static void node_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    char suffix[300];
    snprintf(suffix, sizeof suffix, " %s%s%s", tr_exit_kind_name(why->kind), why->text ? ": " : "",
             why->text ? why->text : "");
    report_path(ctx, "term", suffix);
}

static const tr_behaviour node_b = {"node", sizeof(node_state), node_init, node_handle,
                                    node_terminate};

static tr_pid spawn_spec(t_env *e, const spec *sp)
{
    tr_pid pid;
    tr_spawn_opts o = {.name = sp->name, .args = &sp, .args_size = sizeof sp,
                       .flags = (sp->flags & F_TRAP) ? TR_SPAWN_TRAP_EXITS : 0};
    assert_int_equal(tr_system_spawn(e->sys, &node_b, &o, &pid), TR_OK);
    return pid;
}

/* Waits for `n` "ready" reports; returns the pid of the one whose path is
 * `want` (nil if none). */
static tr_pid await_ready(t_env *e, int n, const char *want)
{
    tr_pid found = TR_PID_NIL;
    for (int i = 0; i < n; i++) {
        const tr_msg *m = t_expect(e, "ready");
        if (want && strcmp(tr_msg_data(m), want) == 0) found = tr_msg_sender(m);
    }
    return found;
}

static void expect_line(t_env *e, const char *type, const char *line)
{
    const tr_msg *m = t_expect(e, type);
    assert_string_equal((const char *)tr_msg_data(m), line);
}

/* ---------------------------------------------------------------- tests */

static const spec g0 = {"g0", 0, {0}}, g1 = {"g1", 0, {0}};
static const spec c0 = {"c0", 0, {&g0, &g1}}, c1 = {"c1", 0, {&g0, &g1}};
static const spec t0 = {"t0", 0, {&c0, &c1}}, t1 = {"t1", 0, {&c0, &c1}};

/* A three-level tree ends children first, youngest first, one by one. */
static void test_terminate_order_three_levels(void **state)
{
    t_env *e = *state;
    spawn_spec(e, &t0);
    spawn_spec(e, &t1);
    await_ready(e, 14, NULL);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    static const char *order[] = {
        "/root/t1/c1/g1", "/root/t1/c1/g0", "/root/t1/c1", "/root/t1/c0/g1", "/root/t1/c0/g0",
        "/root/t1/c0",    "/root/t1",       "/root/t0/c1/g1", "/root/t0/c1/g0", "/root/t0/c1",
        "/root/t0/c0/g1", "/root/t0/c0/g0", "/root/t0/c0", "/root/t0",
    };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s shutdown", order[i]);
        expect_line(e, "term", want);
    }
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st); /* the root has ended: all counted */
    assert_int_equal(st.actors_live, 0);
    assert_int_equal(st.actors_spawned, 14);
}

static const spec w1 = {"w1", 0, {0}}, w2 = {"w2", 0, {0}}, w3 = {"w3", 0, {0}};
static const spec workers = {"workers", 0, {&w1, &w2, &w3}};
static const spec sup = {"sup", 0, {&workers}};

/* A failure no one traps climbs to the root and ends run with a report
 * naming every actor on the way, deepest first. */
static void test_failure_reaches_root_with_report(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &sup);
    tr_pid w3pid = await_ready(e, 5, "/root/sup/workers/w3");
    assert_false(tr_pid_is_nil(w3pid));
    assert_int_equal(tr_inbox_send(e->probe, w3pid, tr_atom_from("fail"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_run(e->sys), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/sup/workers/w3: boom\n"
                        "/root/sup/workers: child /root/sup/workers/w3 failed\n"
                        "/root/sup: child /root/sup/workers failed\n"
                        "/root: child /root/sup failed\n");
    /* w3 ends first (its failure), then its parent stops the others in
     * reverse order before ending itself. */
    expect_line(e, "term", "/root/sup/workers/w3 failure: boom");
    expect_line(e, "term", "/root/sup/workers/w2 shutdown");
    expect_line(e, "term", "/root/sup/workers/w1 shutdown");
    expect_line(e, "term", "/root/sup/workers failure: child /root/sup/workers/w3 failed");
    expect_line(e, "term", "/root/sup failure: child /root/sup/workers failed");
    assert_int_equal(tr_system_run(e->sys), TR_ESTATE);
    tr_log_set_level(TR_LOG_WARN);
}

static const spec trapper = {"trapper", F_TRAP, {&w1}};

/* A trapping parent gets the child's exit as a message and lives on. */
static void test_trapped_failure_is_a_message(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &trapper);
    tr_pid w = await_ready(e, 2, "/root/trapper/w1");
    tr_inbox_send(e->probe, w, tr_atom_from("fail"), NULL, 0);
    expect_line(e, "term", "/root/trapper/w1 failure: boom");
    expect_line(e, "trapped", "failure: boom");
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    expect_line(e, "term", "/root/trapper shutdown");
    assert_string_equal(tr_system_report(e->sys), "");
    tr_log_set_level(TR_LOG_WARN);
}

/* A handler's error code is a failure whose reason names it. */
static void test_handler_error_code_fails(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &trapper);
    tr_pid w = await_ready(e, 2, "/root/trapper/w1");
    tr_inbox_send(e->probe, w, tr_atom_from("error"), NULL, 0);
    expect_line(e, "term", "/root/trapper/w1 failure: handle returned -2 (invalid argument)");
    expect_line(e, "trapped", "failure: handle returned -2 (invalid argument)");
    tr_log_set_level(TR_LOG_WARN);
}

static const spec bad_init = {"bad", F_FAIL_INIT, {0}};
static const spec ignoring = {"lazy", F_IGNORE_INIT, {0}};
static const spec init_parent = {"p", F_TRAP, {&bad_init, &ignoring}};

/* A failed or ignoring init gets no terminate; the parent hears of both. */
static void test_init_failure_and_ignore(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &init_parent);
    await_ready(e, 1, NULL);
    const char *a = tr_msg_data(t_expect(e, "trapped"));
    char first[128];
    snprintf(first, sizeof first, "%s", a);
    const char *b = tr_msg_data(t_expect(e, "trapped"));
    /* the two children end concurrently: accept either order */
    const char *fail = "failure: init returned -2 (invalid argument)";
    assert_true((strcmp(first, fail) == 0 && strcmp(b, "normal") == 0) ||
                (strcmp(first, "normal") == 0 && strcmp(b, fail) == 0));
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    expect_line(e, "term", "/root/p shutdown"); /* and no "term" from bad or lazy */
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    tr_log_set_level(TR_LOG_WARN);
}

/* An actor that stops itself ends normally; when the root's last child is
 * gone after run was entered, run returns TR_OK (a nursery closing). */
static void test_normal_stop_closes_nursery(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_spec(e, &w1), b = spawn_spec(e, &w2);
    await_ready(e, 2, NULL);
    tr_inbox_send(e->probe, a, tr_atom_from("stop"), NULL, 0);
    expect_line(e, "term", "/root/w1 normal");
    tr_inbox_send(e->probe, b, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(tr_system_run(e->sys), TR_OK);
    expect_line(e, "term", "/root/w2 normal");
}

/* tr_system_stop_child stops one top-level actor and nothing else. */
static void test_stop_one_child_from_outside(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_spec(e, &c0);
    spawn_spec(e, &w1);
    await_ready(e, 4, NULL);
    assert_int_equal(tr_system_stop_child(e->sys, a), TR_OK);
    expect_line(e, "term", "/root/c0/g1 shutdown");
    expect_line(e, "term", "/root/c0/g0 shutdown");
    expect_line(e, "term", "/root/c0 shutdown");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
}

/* tr_system_stop from a real signal handler (it is async-signal-safe):
 * the tree ends in order and run returns TR_OK. */
static tr_system *signal_sys;

static void on_sigusr1(int sig)
{
    (void)sig;
    tr_system_stop(signal_sys);
}

static void test_stop_from_signal_handler(void **state)
{
    t_env *e = *state;
    spawn_spec(e, &c0);
    await_ready(e, 3, NULL);
    signal_sys = e->sys;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(tr_system_run(e->sys), TR_OK);
    sigaction(SIGUSR1, &old, NULL);
    expect_line(e, "term", "/root/c0/g1 shutdown");
    expect_line(e, "term", "/root/c0/g0 shutdown");
    expect_line(e, "term", "/root/c0 shutdown");
}

/* link: a chain. Each link spawns the next until `depth` links exist; the
 * bottom one reports "bottom" with its path and fails on "boom". */
typedef struct chain_args {
    uint32_t left;
} chain_args;

static const tr_behaviour link_b;

static int link_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs;
    chain_args a;
    if (size != sizeof a) return TR_EINVAL;
    memcpy(&a, args, sizeof a);
    if (a.left == 0) {
        char path[1024];
        tr_path(ctx, path, sizeof path);
        tr_pid self = tr_self(ctx);
        int rc = tr_send(ctx, t_probe, tr_atom_from("bottom"), &self, sizeof self);
        return rc ? rc : t_report(ctx, "bottom.path", path);
    }
    a.left--;
    return tr_spawn(ctx, &link_b, &(tr_spawn_opts){.args = &a, .args_size = sizeof a}, NULL);
}

static int link_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("boom"))) return tr_fail(ctx, "boom at the bottom");
    return 0;
}

static const tr_behaviour link_b = {"link", 0, link_init, link_handle, NULL};

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* A failure at the bottom of a 20,000-deep chain: paths deeper than 32
 * levels are cut and the cut marked, and the report keeps the first and
 * last 32 lines with one line counting the rest, instead of 20,001 lines
 * (a megabytes-long report that took seconds to build at 100,000). */
static void test_deep_chain_report_is_bounded(void **state)
{
    t_env *e = *state;
    enum { DEPTH = 20000 };
    chain_args a = {DEPTH};
    assert_int_equal(tr_system_spawn(e->sys, &link_b,
                                     &(tr_spawn_opts){.name = "top", .args = &a, .args_size = sizeof a},
                                     NULL),
                     TR_OK);
    const tr_msg *m = t_expect(e, "bottom");
    tr_pid bottom;
    memcpy(&bottom, tr_msg_data(m), sizeof bottom);
    m = t_expect(e, "bottom.path");
    const char *path = tr_msg_data(m);
    assert_true(strncmp(path, "/root/.../link-", 15) == 0);
    size_t levels = 0;
    for (const char *p = path; *p; p++) levels += *p == '/';
    assert_int_equal(levels, 2 + 24); /* root, the mark, the last 24 */
    tr_log_set_level(TR_LOG_NONE);        /* 20,000 escalations: not for the test log */
    assert_int_equal(tr_system_send(e->sys, bottom, tr_atom_from("boom"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_run(e->sys), TR_EFAILED);
    tr_log_set_level(TR_LOG_WARN);
    const char *r = tr_system_report(e->sys);
    assert_int_equal(count_lines(r), 32 + 1 + 32);
    assert_true(strncmp(r, "/root/.../link-", 15) == 0);
    assert_non_null(strstr(r, ": boom at the bottom\n"));
    char omitted[128];
    snprintf(omitted, sizeof omitted, "\n... %d more failed actors on the way, not listed\n",
             DEPTH + 2 - 64);
    assert_non_null(strstr(r, omitted));
    assert_non_null(strstr(r, "\n/root: child /root/top failed\n"));
    assert_non_null(strstr(r, "\n/root/top: child /root/top/link-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terminate_order_three_levels, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_failure_reaches_root_with_report, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_trapped_failure_is_a_message, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_code_fails, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_init_failure_and_ignore, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_normal_stop_closes_nursery, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_one_child_from_outside, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_from_signal_handler, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_deep_chain_report_is_bounded, t_setup, t_teardown),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
