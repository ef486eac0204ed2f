/* test_inbox_monitor.c — non-actor threads as first-class callers: an
 * inbox monitors local and remote actors (a "tr.down" with the reason's
 * text, noproc, noconnection), and tr_supervisor_start_to hands a
 * supervisor's end to an inbox instead of failing the root. */
#include <stdio.h>
#include <stdlib.h>

#include "nodeutil.h"

/* "fail" fails it with a reason, "stop" stops it with one, "boom" fails
 * it with no more to say. */
static int victim_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("fail"))) return tr_fail(ctx, "asked to fail: %d", 42);
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "asked to stop");
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("boom"))) return tr_fail(ctx, "boom");
    return 0;
}

static const tr_behaviour victim_b = {"victim", 0, NULL, victim_handle, NULL};

static int bad_init(tr_ctx *ctx, void *st, const void *a, size_t n)
{
    (void)st, (void)a, (void)n;
    return tr_fail(ctx, "cannot start");
}

static const tr_behaviour bad_b = {"bad", 0, bad_init, victim_handle, NULL};

/* Receives the next message of `in`, which must be a "tr.down" or
 * "tr.exit" (`type`) about `who` (nil: anyone) of `kind`. Returns it. */
static const tr_msg *expect_end(tr_inbox *in, const char *type, tr_pid who, tr_exit_kind kind,
                                tr_exit *reason)
{
    const tr_msg *m = expect_in(in, type);
    tr_pid from;
    assert_int_equal(tr_exit_decode(m, &from, reason), TR_OK);
    if (!tr_pid_is_nil(who)) assert_true(tr_pid_eq(from, who));
    assert_string_equal(tr_exit_kind_name(reason->kind), tr_exit_kind_name(kind));
    return m;
}

/* ------------------------------------------------------------ local */

static void monitor_carries_reason(void **state)
{
    t_env *e = *state;
    tr_pid a;
    tr_ref ref;
    assert_int_equal(tr_system_spawn(e->sys, &victim_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_monitor(e->probe, a, &ref), TR_OK);
    assert_true(ref.id != 0);
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("fail"), NULL, 0), TR_OK);
    tr_exit why;
    const tr_msg *m = expect_end(e->probe, "tr.down", a, TR_EXIT_FAILURE, &why);
    assert_int_equal(tr_msg_ref(m).id, ref.id);
    assert_non_null(why.text);
    assert_non_null(strstr(why.text, "asked to fail: 42"));
    /* the root failed (nobody trapped it): that is the actor's business */
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
}

static void monitor_stop_and_noproc(void **state)
{
    t_env *e = *state;
    tr_pid a;
    tr_ref r1, r2;
    assert_int_equal(tr_system_spawn(e->sys, &victim_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_monitor(e->probe, a, &r1), TR_OK);
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("stop"), NULL, 0), TR_OK);
    tr_exit why;
    const tr_msg *m = expect_end(e->probe, "tr.down", a, TR_EXIT_SHUTDOWN, &why);
    assert_int_equal(tr_msg_ref(m).id, r1.id);
    assert_string_equal(why.text, "asked to stop");
    /* ended: a new monitor is answered at once */
    assert_int_equal(tr_inbox_monitor(e->probe, a, &r2), TR_OK);
    assert_true(r2.id != r1.id);
    m = expect_end(e->probe, "tr.down", a, TR_EXIT_NOPROC, &why);
    assert_int_equal(tr_msg_ref(m).id, r2.id);
    assert_int_equal(tr_inbox_demonitor(e->probe, r2), TR_ENOENT); /* it fired */
}

/* ----------------------------------------------------------- remote */

/* host: traps its children's exits (so a victim's failure stays on its
 * node) and answers a "spawn" request with a new victim's pid */
static int host_init(tr_ctx *ctx, void *st, const void *a, size_t n)
{
    (void)st, (void)a, (void)n;
    tr_trap_exits(ctx, true);
    return 0;
}

static int host_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (!tr_msg_is(m, tr_atom_from("spawn"))) return 0; /* a trapped exit */
    tr_pid pid;
    int rc = tr_spawn(ctx, &victim_b, NULL, &pid);
    if (rc != TR_OK) return rc;
    return tr_reply(ctx, m, tr_atom_from("spawned"), &pid, sizeof pid);
}

static const tr_behaviour host_b = {"host", 0, host_init, host_handle, NULL};

static tr_pid spawn_on(tr_system *sys, tr_pid host)
{
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(sys, host, tr_atom_from("spawn"), NULL, 0, T_WAIT_MS, &reply),
                     TR_OK);
    tr_pid pid = t_pidv(reply);
    tr_msg_destroy(&reply);
    return pid;
}

static void monitor_remote(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid host;
    tr_ref ra, rb;
    assert_int_equal(tr_system_spawn(c.sys[1], &host_b, NULL, &host), TR_OK);
    tr_pid a = spawn_on(c.sys[1], host), b = spawn_on(c.sys[1], host);
    /* node 0's inbox watches node 1's actors */
    assert_int_equal(tr_inbox_monitor(c.in[0], a, &ra), TR_OK);
    assert_int_equal(tr_inbox_monitor(c.in[0], b, &rb), TR_OK);
    /* signals and messages from one sender keep their order: the monitor
     * is in place before "fail" arrives */
    assert_int_equal(tr_inbox_send(c.in[0], a, tr_atom_from("fail"), NULL, 0), TR_OK);
    tr_exit why;
    const tr_msg *m = expect_end(c.in[0], "tr.down", a, TR_EXIT_FAILURE, &why);
    assert_int_equal(tr_msg_ref(m).id, ra.id);
    assert_non_null(why.text);
    assert_non_null(strstr(why.text, "asked to fail: 42"));
    /* the connection goes first (b still lives): a lost node */
    tr_node_stop(&c.node[1]);
    stop_node(&c, 1);
    m = expect_end(c.in[0], "tr.down", b, TR_EXIT_NOCONNECTION, &why);
    assert_int_equal(tr_msg_ref(m).id, rb.id);
    cluster_free(&c);
}

/* ------------------------------------------- a supervisor's end, to an inbox */

static const tr_child_spec boomer_spec = {
    .id = "boomer", .behaviour = &victim_b, .restart = TR_PERMANENT, .register_as = "boomer"};

static void sup_gives_up_to_inbox(void **state)
{
    t_env *e = *state;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 0, .period_ms = 5000,
                        .children = &boomer_spec, .nchildren = 1};
    tr_pid sup;
    char why[128];
    assert_int_equal(tr_supervisor_start_to(e->sys, &spec, "top", T_WAIT_MS,
                                            tr_inbox_pid(e->probe), &sup, why, sizeof why),
                     TR_OK);
    assert_false(tr_pid_is_nil(sup));
    /* the root is in run mode: it ends once empty, and says how */
    assert_int_equal(tr_system_send_named(e->sys, "boomer", tr_atom_from("boom"), NULL, 0),
                     TR_OK);
    tr_exit reason;
    expect_end(e->probe, "tr.exit", sup, TR_EXIT_SHUTDOWN, &reason);
    assert_non_null(reason.text); /* why it gave up */
    /* nothing failed the root: it ends normally once asked */
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    t_expect_none(e);
}

static void sup_stopped_reports_shutdown(void **state)
{
    t_env *e = *state;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = &boomer_spec, .nchildren = 1};
    tr_pid sup;
    assert_int_equal(tr_supervisor_start_to(e->sys, &spec, "top", T_WAIT_MS,
                                            tr_inbox_pid(e->probe), &sup, NULL, 0),
                     TR_OK);
    assert_int_equal(tr_system_stop_child(e->sys, sup), TR_OK);
    tr_exit reason;
    expect_end(e->probe, "tr.exit", sup, TR_EXIT_SHUTDOWN, &reason);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    t_expect_none(e);
}

static void sup_failed_start_reports(void **state)
{
    t_env *e = *state;
    tr_child_spec bad = {.id = "bad", .behaviour = &bad_b};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = &bad, .nchildren = 1};
    tr_pid sup;
    char why[128];
    assert_int_equal(tr_supervisor_start_to(e->sys, &spec, "top", T_WAIT_MS,
                                            tr_inbox_pid(e->probe), &sup, why, sizeof why),
                     TR_EFAILED);
    assert_true(tr_pid_is_nil(sup));
    assert_non_null(strstr(why, "cannot start"));
    tr_exit reason;
    expect_end(e->probe, "tr.exit", TR_PID_NIL, TR_EXIT_FAILURE, &reason);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
}

static void sup_start_to_errors(void **state)
{
    t_env *e = *state;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = &boomer_spec, .nchildren = 1};
    tr_pid sup = {1, 1, 1};
    assert_int_equal(tr_supervisor_start_to(e->sys, &spec, "top", T_WAIT_MS, TR_PID_NIL, &sup,
                                            NULL, 0),
                     TR_EINVAL);
    assert_true(tr_pid_is_nil(sup));
    assert_int_equal(tr_supervisor_start_to(NULL, &spec, "top", T_WAIT_MS,
                                            tr_inbox_pid(e->probe), &sup, NULL, 0),
                     TR_EINVAL);
    assert_int_equal(tr_supervisor_start_to(e->sys, &spec, "top", T_WAIT_MS,
                                            tr_inbox_pid(e->probe), NULL, NULL, 0),
                     TR_EINVAL);
    t_expect_none(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(monitor_carries_reason, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(monitor_stop_and_noproc, t_setup, t_teardown),
        cmocka_unit_test(monitor_remote),
        cmocka_unit_test_setup_teardown(sup_gives_up_to_inbox, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(sup_stopped_reports_shutdown, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(sup_failed_start_reports, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(sup_start_to_errors, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
