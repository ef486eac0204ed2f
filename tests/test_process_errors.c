/* test_process_errors.c — process children (troupe/process.h) on the
 * paths test_process.c and test_proc_edges.c do not reach: a stop asked
 * before the program has even started (exec failing or not), a crash by
 * another signal while stopping, output still held open by a grandchild
 * when the program ends, and node children that report ready with a
 * forged message, with a root that has ended, whose root ends normally
 * or fails, or that lose their connection while their process runs on. The child program is
 * tests/cover_child.c ($COVER_CHILD). The probe and a log collector get
 * what happened; the test thread asserts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "logcap.h"
#include "testutil.h"

static const char *cover_child(void)
{
    const char *p = getenv("COVER_CHILD");
    return p ? p : "./cover_child";
}

/* ---------------------------------------------------------- the log */

#define HOLD_MARK "cover-hold-proc-thread"

/* A line with HOLD_MARK (a child's output, logged by the proc thread)
 * holds that thread here until the test opens the gate: what it was
 * asked meanwhile waits. */
static t_gate hold_gate;

static void log_sink(void *user, tr_log_level level, const char *line)
{
    (void)user, (void)level;
    t_log_keep(line);
    if (strstr(line, HOLD_MARK)) t_gate_wait(&hold_gate);
}

static int setup(void **state)
{
    t_log_clear();
    t_gate_init(&hold_gate);
    tr_log_set_handler(log_sink, NULL);
    tr_log_set_level(TR_LOG_INFO);
    return t_setup(state);
}

static int teardown(void **state)
{
    int rc = t_teardown(state); /* opens hold_gate first */
    tr_log_set_level(TR_LOG_WARN);
    tr_log_set_handler(NULL, NULL);
    t_log_clear();
    return rc;
}

/* ------------------------------------------------------- the spawner */

typedef struct spawn_req {
    tr_process_kind kind;
    char program[256];
    char args[3][64];
    int nargs;
    char node_name[64];
    int64_t shutdown_ms;
} spawn_req;

typedef struct spawned {
    int32_t rc;
    tr_pid pid;
} spawned;

typedef struct exit_rep {
    tr_pid who;
    int32_t kind;
    char text[480];
} exit_rep;

/* A behaviour registered here only: another process's node has none. */
static int local_only_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const tr_behaviour local_only_b = {"pe.local_only", 0, NULL, local_only_handle, NULL};

/* spawner: traps exits. "spawn" {spawn_req} starts a process child whose
 * start notice goes to the probe, reports "spawned" {spawned}; "stopkid"
 * {pid} stops a child, reports "asked" {rc}; "rspawn" {node name} spawns
 * pe.local_only on that node (notice to the probe), reports "rspawned"
 * {spawned}; a child's exit is reported as "exit" {exit_rep}. */
static int spawner_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)st, (void)args, (void)n;
    tr_trap_exits(ctx, true);
    return 0;
}

static int spawner_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("spawn"))) {
        spawn_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        const char *args[3] = {r.args[0], r.args[1], r.args[2]};
        tr_process_spec spec = {.program = r.program, .args = args, .nargs = (size_t)r.nargs,
                                .kind = r.kind, .node_name = r.node_name};
        spawned out = {0, TR_PID_NIL};
        out.rc = tr_spawn_process(ctx, &spec,
                                  &(tr_spawn_opts){.name = "p", .started_to = t_probe,
                                                   .shutdown_ms = r.shutdown_ms},
                                  &out.pid);
        return t_report_val(ctx, "spawned", &out, sizeof out);
    }
    if (tr_msg_is(m, tr_atom_from("stopkid"))) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        return t_report_int(ctx, "asked", tr_stop_child(ctx, c));
    }
    if (tr_msg_is(m, tr_atom_from("rspawn"))) {
        spawned out = {0, TR_PID_NIL};
        out.rc = tr_spawn(ctx, &local_only_b,
                          &(tr_spawn_opts){.node = tr_msg_data(m), .started_to = t_probe}, &out.pid);
        return t_report_val(ctx, "rspawned", &out, sizeof out);
    }
    exit_rep x;
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, &x.who, &why) == TR_OK) {
        x.kind = (int32_t)why.kind;
        snprintf(x.text, sizeof x.text, "%s", why.text ? why.text : "");
        return t_report_val(ctx, "exit", &x, sizeof x);
    }
    return 0;
}

static const tr_behaviour spawner_b = {"pe.spawner", 0, spawner_init, spawner_handle, NULL};

/* -------------------------------------------------- probe bookkeeping */

/* What the probe got, kept until asked for: start notices, exits and
 * replies come in orders the tests do not fix. */
typedef struct rec {
    char type[32];
    tr_pid who;
    int32_t a; /* rc, start status or exit kind */
    char text[480];
} rec;

#define PENDING_MAX 64
static rec pending[PENDING_MAX];
static size_t npending;

static rec to_rec(const tr_msg *m)
{
    rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.type, sizeof r.type, "%s", tr_atom_name(tr_msg_type(m)));
    r.who = TR_PID_NIL;
    tr_start_status st;
    tr_exit why;
    if (tr_started_decode(m, &r.who, &st, &why) == TR_OK) {
        r.a = (int32_t)st;
        snprintf(r.text, sizeof r.text, "%s", why.text ? why.text : "");
    } else if (strcmp(r.type, "exit") == 0 && tr_msg_size(m) == sizeof(exit_rep)) {
        exit_rep x;
        memcpy(&x, tr_msg_data(m), sizeof x);
        r.who = x.who;
        r.a = x.kind;
        snprintf(r.text, sizeof r.text, "%s", x.text);
    } else if (tr_msg_size(m) == sizeof(spawned)) {
        spawned s;
        memcpy(&s, tr_msg_data(m), sizeof s);
        r.who = s.pid;
        r.a = s.rc;
    } else if (tr_msg_size(m) == sizeof(int)) {
        r.a = t_int(m);
    }
    return r;
}

/* The first probe message of `type` (about `who`, unless nil), taken from
 * those kept or waited for. */
static rec take(t_env *e, const char *type, tr_pid who)
{
    for (;;) {
        for (size_t i = 0; i < npending; i++)
            if (strcmp(pending[i].type, type) == 0 &&
                (tr_pid_is_nil(who) || tr_pid_eq(pending[i].who, who))) {
                rec r = pending[i];
                memmove(&pending[i], &pending[i + 1], (npending - i - 1) * sizeof *pending);
                npending--;
                return r;
            }
        rec r = to_rec(t_recv(e));
        if (npending == PENDING_MAX) fail_msg("too many probe messages kept");
        pending[npending++] = r;
    }
}

static tr_pid start_spawner(t_env *e)
{
    npending = 0;
    tr_pid s;
    assert_int_equal(tr_system_spawn(e->sys, &spawner_b, NULL, &s), TR_OK);
    return s;
}

/* Asks the spawner for a process child (with shutdown time `shutdown_ms`
 * when not TR_SHUTDOWN_DEFAULT); returns its pid. */
static tr_pid spawn_timed(t_env *e, tr_pid spawner, tr_process_kind kind, const char *program,
                          const char *a0, const char *a1, const char *a2, const char *node_name,
                          int64_t shutdown_ms)
{
    spawn_req r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.shutdown_ms = shutdown_ms;
    snprintf(r.program, sizeof r.program, "%s", program);
    const char *a[3] = {a0, a1, a2};
    for (int i = 0; i < 3 && a[i]; i++) snprintf(r.args[r.nargs++], sizeof r.args[0], "%s", a[i]);
    snprintf(r.node_name, sizeof r.node_name, "%s", node_name ? node_name : "");
    assert_int_equal(tr_inbox_send(e->probe, spawner, tr_atom_from("spawn"), &r, sizeof r), TR_OK);
    rec s = take(e, "spawned", TR_PID_NIL);
    assert_int_equal(s.a, TR_OK);
    assert_false(tr_pid_is_nil(s.who));
    return s.who;
}

static tr_pid spawn(t_env *e, tr_pid spawner, tr_process_kind kind, const char *program,
                    const char *a0, const char *a1, const char *a2, const char *node_name)
{
    return spawn_timed(e, spawner, kind, program, a0, a1, a2, node_name, TR_SHUTDOWN_DEFAULT);
}

static void stop_kid(t_env *e, tr_pid spawner, tr_pid kid)
{
    assert_int_equal(tr_inbox_send(e->probe, spawner, tr_atom_from("stopkid"), &kid, sizeof kid),
                     TR_OK);
    assert_int_equal(take(e, "asked", TR_PID_NIL).a, TR_OK);
}

/* Polls (with a deadline) until `pid` has begun to stop: a stopping
 * actor handles no more requests, so an inspection of it is answered
 * "down" (TR_ENOENT) while it is still there, waiting for its program. */
static void wait_stopping(t_env *e, tr_pid pid)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    tr_actor_info info;
    do {
        int rc = tr_system_inspect(e->sys, pid, &info, T_WAIT_MS);
        if (rc == TR_ENOENT) return;
        assert_int_equal(rc, TR_OK);
        sched_yield();
    } while (t_now_ms() < end);
    fail_msg("the actor did not begin to stop");
}

/* ------------------------------------------------------------- tests */

/* A stop asked for while the program is still being started waits for
 * the start's outcome, then takes its own reason: a program that cannot
 * be executed is then no failure, and one that runs is sent SIGTERM at
 * once. The proc thread is held (in the log sink, on a child's output
 * line) while both children are asked to stop, so that the stops come
 * first. */
static void test_stop_before_start(void **state)
{
    t_env *e = *state;
    tr_pid sp = start_spawner(e);
    tr_pid holder = spawn(e, sp, TR_PROCESS_PLAIN, "echo", HOLD_MARK, NULL, NULL, NULL);
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (atomic_load(&hold_gate.waiting) == 0 && t_now_ms() < end) sched_yield();
    assert_int_equal(atomic_load(&hold_gate.waiting), 1);

    /* no shutdown time: however long the hold takes (valgrind), the stop
     * is not turned into a kill */
    tr_pid bad = spawn_timed(e, sp, TR_PROCESS_PLAIN, "/nonexistent/cover-program", NULL, NULL,
                             NULL, NULL, TR_SHUTDOWN_INFINITY);
    tr_pid good = spawn_timed(e, sp, TR_PROCESS_PLAIN, "sleep", "30", NULL, NULL, NULL,
                              TR_SHUTDOWN_INFINITY);
    stop_kid(e, sp, bad);
    stop_kid(e, sp, good);
    wait_stopping(e, bad);
    wait_stopping(e, good);
    /* neither has ended: each waits for its program's start (no exit) */
    tr_process_info info;
    assert_int_equal(take(e, "tr.started", holder).a, TR_START_OK);
    t_expect_none(e);

    t_gate_open(&hold_gate);
    rec x = take(e, "exit", bad);
    if (x.a != TR_EXIT_SHUTDOWN) /* not "cannot execute" */
        fail_msg("the unexecutable child ended %s: %s", tr_exit_kind_name(x.a), x.text);
    x = take(e, "exit", good);
    if (x.a != TR_EXIT_SHUTDOWN)
        fail_msg("the running child ended %s: %s", tr_exit_kind_name(x.a), x.text);
    /* each ended before it started: its notice says so, with its reason */
    rec st = take(e, "tr.started", bad);
    assert_int_equal(st.a, TR_START_FAILED);
    st = take(e, "tr.started", good);
    assert_int_equal(st.a, TR_START_FAILED);
    assert_int_equal(take(e, "exit", holder).a, TR_EXIT_NORMAL);
    assert_int_equal(tr_process_info_sync(e->sys, good, &info, 100), TR_ENOENT);
}

/* A program that dies of another signal than the SIGTERM it was sent
 * while its actor stops: the stop's reason stands, and the crash is
 * logged as a warning. */
static void test_crash_while_stopping(void **state)
{
    t_env *e = *state;
    tr_pid sp = start_spawner(e);
    tr_pid kid = spawn(e, sp, TR_PROCESS_PLAIN, cover_child(), "term_abort", NULL, NULL, NULL);
    assert_int_equal(take(e, "tr.started", kid).a, TR_START_OK);
    assert_true(t_log_wait("abort-on-term ready", NULL, T_WAIT_MS, NULL, 0)); /* its handler is set */
    stop_kid(e, sp, kid);
    rec x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_SHUTDOWN);
    assert_true(t_log_wait("killed by SIGABRT while stopping", "cover_child", 0, NULL, 0));
}

/* A program whose output is still held open by a grandchild when it ends
 * is told ended at once, its last line (without a newline) logged first. */
static void test_output_held_open(void **state)
{
    t_env *e = *state;
    tr_pid sp = start_spawner(e);
    tr_pid kid = spawn(e, sp, TR_PROCESS_PLAIN, "sh", "-c",
                       "printf cover-partial; sleep 2 & exit 3", NULL, NULL);
    assert_int_equal(take(e, "tr.started", kid).a, TR_START_OK);
    rec x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_FAILURE);
    assert_string_equal(x.text, "exited with status 3");
    assert_true(t_log_wait("/p: cover-partial", NULL, 0, NULL, 0)); /* before the exit */
}

static tr_node *make_node(t_env *e)
{
    const char *listen[] = {"tcp://127.0.0.1:*"};
    tr_node *n;
    tr_node_opts o = {.name = "pe-parent", .listen = listen, .nlisten = 1};
    assert_int_equal(tr_node_start(e->sys, &o, &n), TR_OK);
    return n;
}

/* A node child that connects but has not reported ready: a ready message
 * that does not name an actor of its node is ignored (logged); its real
 * one starts it. Then: a remote child of a behaviour its node does not
 * have is refused, saying so; and when it drops its connection but runs
 * on, it is sent SIGTERM a second later and fails "connection lost". */
static void test_node_child_ready_and_lost(void **state)
{
    t_env *e = *state;
    tr_node *n = make_node(e);
    assert_int_equal(tr_behaviour_register("pe.local_only", &local_only_b), TR_OK);
    tr_pid sp = start_spawner(e);
    tr_pid kid = spawn(e, sp, TR_PROCESS_NODE, cover_child(), "node", "hold", NULL, "pe-hold");
    assert_int_equal(tr_node_wait_peers(n, 1, T_WAIT_MS), TR_OK);

    /* forged: a pid of this node */
    assert_int_equal(tr_system_send(e->sys, kid, tr_atom_from("tr.process.ready"), &t_probe,
                                    sizeof t_probe),
                     TR_OK);
    tr_process_info info;
    assert_int_equal(tr_process_info_sync(e->sys, kid, &info, T_WAIT_MS), TR_OK);
    assert_true(info.os_pid > 0);
    assert_int_equal(info.kind, TR_PROCESS_NODE);
    assert_true(tr_pid_is_nil(info.child_root));
    assert_true(t_log_wait("a ready message not from node pe-hold: ignored", NULL, 0, NULL, 0));
    t_expect_none(e); /* no start notice */

    assert_int_equal(tr_system_send_named(e->sys, "cover.top@pe-hold", tr_atom_from("go"), NULL, 0),
                     TR_OK);
    assert_int_equal(take(e, "tr.started", kid).a, TR_START_OK);
    assert_int_equal(tr_process_info_sync(e->sys, kid, &info, T_WAIT_MS), TR_OK);
    assert_false(tr_pid_is_nil(info.child_root));

    assert_int_equal(tr_inbox_send(e->probe, sp, tr_atom_from("rspawn"), "pe-hold", 8), TR_OK);
    rec rs = take(e, "rspawned", TR_PID_NIL);
    assert_int_equal(rs.a, TR_OK);
    rec st = take(e, "tr.started", rs.who);
    assert_int_equal(st.a, TR_START_FAILED);
    if (!strstr(st.text, "no behaviour named \"pe.local_only\" on node pe-hold"))
        fail_msg("refused with \"%s\"", st.text);
    assert_int_equal(take(e, "exit", rs.who).a, TR_EXIT_FAILURE);

    int64_t t0 = t_now_ms();
    assert_int_equal(tr_system_send_named(e->sys, "cover.top@pe-hold", tr_atom_from("drop"), NULL, 0),
                     TR_OK);
    rec x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_FAILURE);
    assert_string_equal(x.text, "node pe-hold: connection lost");
    assert_true(t_now_ms() - t0 >= 1000); /* the grace came first */
}

/* Starts a node child of cover_child's "hold" mode named `name` and has
 * it report ready; returns the process actor. */
static tr_pid ready_node_child(t_env *e, tr_node *n, tr_pid sp, const char *name)
{
    tr_pid kid = spawn(e, sp, TR_PROCESS_NODE, cover_child(), "node", "hold", NULL, name);
    /* polled, with a deadline: that node by name (an earlier child's may
     * still count as a peer) */
    uint32_t id;
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (tr_node_id(n, name, &id) != TR_OK && t_now_ms() < end) sched_yield();
    assert_int_equal(tr_node_id(n, name, &id), TR_OK);
    char top[64];
    snprintf(top, sizeof top, "cover.top@%s", name);
    assert_int_equal(tr_system_send_named(e->sys, top, tr_atom_from("go"), NULL, 0), TR_OK);
    assert_int_equal(take(e, "tr.started", kid).a, TR_START_OK);
    return kid;
}

/* A node child whose root ends while its node stays up ends with it (the
 * end of the child's tree ends the process actor): normally when the root
 * stopped normally, and as a failure "node <name>: <reason>" when it
 * failed; its process is stopped either way. */
static void test_node_child_root_ends(void **state)
{
    t_env *e = *state;
    tr_node *n = make_node(e);
    tr_pid sp = start_spawner(e);
    tr_pid kid = ready_node_child(e, n, sp, "pe-norm");
    assert_int_equal(tr_system_send_named(e->sys, "cover.top@pe-norm", tr_atom_from("stop"), NULL, 0),
                     TR_OK);
    rec x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_NORMAL);

    kid = ready_node_child(e, n, sp, "pe-fail");
    assert_int_equal(tr_system_send_named(e->sys, "cover.top@pe-fail", tr_atom_from("fail"), NULL, 0),
                     TR_OK);
    x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_FAILURE);
    if (!strstr(x.text, "node pe-fail: ") || !strstr(x.text, "asked to fail"))
        fail_msg("failed with \"%s\"", x.text);
}

/* A node child that reports ready with a root that has ended: started,
 * then failed, saying so (its link to the root answers noproc). */
static void test_node_child_dead_root(void **state)
{
    t_env *e = *state;
    make_node(e);
    tr_pid sp = start_spawner(e);
    tr_pid kid = spawn(e, sp, TR_PROCESS_NODE, cover_child(), "node", "dead_root", NULL, "pe-dead");
    assert_int_equal(take(e, "tr.started", kid).a, TR_START_OK);
    rec x = take(e, "exit", kid);
    assert_int_equal(x.a, TR_EXIT_FAILURE);
    assert_string_equal(x.text, "node pe-dead: its root was gone when it reported ready");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_while_stopping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_held_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child_ready_and_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child_root_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child_dead_root, setup, teardown),
    };
    return cmocka_run_group_tests_name("process_errors", tests, NULL, NULL);
}
