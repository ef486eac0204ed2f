/* test_proc_edges.c — documented edges of process children (troupe/
 * process.h) that test_process.c does not reach: a node child whose
 * parent node listens on no endpoint it could use, a node child that ends
 * before it reports ready, and a request to a process actor, which is
 * dropped (never answered, not even "tr.down" when the actor ends). The
 * probe collects reports; the test thread asserts. */
#include <stdio.h>

#include "testutil.h"

/* spawner: traps exits. "spawn" {spawn_req} starts a process child named
 * "p" whose start notice goes to the probe, reports "spawned" {rc};
 * "call" {pid} calls that pid without a timeout and reports "called" {rc}
 * (any answer is reported as "answer"); "stopkid" {pid} stops that child; "ping" → "pong"; a
 * child's exit is reported as "exit" "<kind>[: text]". */
typedef struct spawn_req {
    tr_process_kind kind;
    char program[64];
    char arg[32];
} spawn_req;

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
        const char *args[] = {r.arg};
        tr_process_spec spec = {.program = r.program, .args = args, .nargs = r.arg[0] ? 1 : 0,
                                .kind = r.kind, .node_name = "child-node"};
        tr_pid pid;
        int rc = tr_spawn_process(ctx, &spec, &(tr_spawn_opts){.name = "p", .started_to = t_probe},
                                  &pid);
        return t_report_int(ctx, "spawned", rc);
    }
    if (tr_msg_is(m, tr_atom_from("call"))) {
        tr_pid to;
        memcpy(&to, tr_msg_data(m), sizeof to);
        int rc = tr_call(ctx, to, tr_atom_from("q"), NULL, 0, TR_INFINITY, NULL);
        return t_report_int(ctx, "called", rc);
    }
    if (tr_msg_is(m, tr_atom_from("stopkid"))) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        T_CHECK(ctx, tr_stop_child(ctx, c) == TR_OK);
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("ping"))) return t_report(ctx, "pong", "");
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, NULL, &why) == TR_OK) {
        char text[600];
        snprintf(text, sizeof text, "%s%s%s", tr_exit_kind_name(why.kind), why.text ? ": " : "",
                 why.text ? why.text : "");
        return t_report(ctx, "exit", text);
    }
    if (tr_msg_ref(m).id) return t_report(ctx, "answer", tr_atom_name(tr_msg_type(m)));
    return 0;
}

static const tr_behaviour spawner_b = {"spawner", 0, spawner_init, spawner_handle, NULL};

/* Makes e->sys a node listening on `ep` (insecure is not needed: inproc,
 * or tcp on loopback). */
static void make_node(t_env *e, const char *ep)
{
    const char *listen[] = {ep};
    tr_node *n;
    tr_node_opts o = {.name = "parent-node", .listen = listen, .nlisten = 1};
    assert_int_equal(tr_node_start(e->sys, &o, &n), TR_OK);
}

/* Spawns a process child through a new spawner; returns the spawner. The
 * spawner's "spawned" and the child's start notice may come in either
 * order: the notice's status and reason text are returned. */
static tr_pid spawn_child(t_env *e, tr_process_kind kind, const char *program, const char *arg,
                          tr_start_status *st, char *text, size_t ts, tr_pid *child)
{
    tr_pid s;
    assert_int_equal(tr_system_spawn(e->sys, &spawner_b, NULL, &s), TR_OK);
    spawn_req r = {.kind = kind};
    snprintf(r.program, sizeof r.program, "%s", program);
    snprintf(r.arg, sizeof r.arg, "%s", arg ? arg : "");
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("spawn"), &r, sizeof r), TR_OK);
    bool spawned = false, started = false;
    while (!spawned || !started) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("spawned"))) {
            assert_int_equal(t_int(m), TR_OK);
            spawned = true;
            continue;
        }
        tr_exit why;
        assert_int_equal(tr_started_decode(m, child, st, &why), TR_OK);
        snprintf(text, ts, "%s", why.text ? why.text : "");
        started = true;
    }
    return s;
}

/* A node child needs an ipc:// or loopback tcp:// endpoint of its parent
 * node to connect back to: inproc alone fails its start, saying so. */
static void test_node_child_needs_an_endpoint(void **state)
{
    t_env *e = *state;
    make_node(e, "inproc://test-proc-edges-a");
    tr_start_status st;
    char text[600];
    tr_pid child;
    spawn_child(e, TR_PROCESS_NODE, "true", NULL, &st, text, sizeof text, &child);
    assert_int_equal(st, TR_START_FAILED);
    if (!strstr(text, "listens on no ipc:// or loopback tcp:// endpoint"))
        fail_msg("start failed with \"%s\"", text);
    const tr_msg *m = t_expect(e, "exit");
    assert_non_null(strstr(tr_msg_data(m), "listens on no ipc://"));
}

/* A node child that ends before it reported ready fails its start, with
 * how it ended. */
static void test_node_child_ends_before_ready(void **state)
{
    t_env *e = *state;
    make_node(e, "tcp://127.0.0.1:*");
    tr_start_status st;
    char text[600];
    tr_pid child;
    spawn_child(e, TR_PROCESS_NODE, "true", NULL, &st, text, sizeof text, &child);
    assert_int_equal(st, TR_START_FAILED);
    if (!strstr(text, "true") || !strstr(text, "before it reported ready"))
        fail_msg("start failed with \"%s\"", text);
    t_expect(e, "exit");
}

/* A request to a process actor is dropped: no answer, and none either
 * when the actor ends ("tr.down" would be an answer). */
static void test_request_to_process_dropped(void **state)
{
    t_env *e = *state;
    tr_start_status st;
    char text[600];
    tr_pid child;
    tr_pid s = spawn_child(e, TR_PROCESS_PLAIN, "sleep", "30", &st, text, sizeof text, &child);
    assert_int_equal(st, TR_START_OK);
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("call"), &child, sizeof child), TR_OK);
    assert_int_equal(t_expect_int(e, "called"), TR_OK);
    /* a round trip through the process actor, asked after the call was
     * queued there: it has handled the call (a stop could otherwise
     * overtake the queued request, which is then answered "tr.down") */
    tr_process_info info;
    assert_int_equal(tr_process_info_sync(e->sys, child, &info, T_WAIT_MS), TR_OK);
    assert_true(info.os_pid > 0);
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("stopkid"), &child, sizeof child),
                     TR_OK);
    const tr_msg *m = t_recv(e);
    if (!tr_msg_is(m, tr_atom_from("exit")))
        fail_msg("got %s (%s) before the exit", tr_atom_name(tr_msg_type(m)),
                 (const char *)tr_msg_data(m));
    assert_string_equal((const char *)tr_msg_data(m), "shutdown");
    /* the process actor's end came before this: an answer would too */
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("ping"), NULL, 0), TR_OK);
    t_expect(e, "pong");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_node_child_needs_an_endpoint, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_node_child_ends_before_ready, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_request_to_process_dropped, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
