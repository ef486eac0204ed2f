/* test_walk.c — the whole live tree (tr_system_walk) in tree order with
 * each actor's path, behaviour, status and children; the operator's
 * counters in tr_actor_info (peak mailbox, child failures, the last
 * failure); a visitor that stops; an actor stuck in a callback left out
 * at the deadline. */
#include <stdio.h>
#include <stdlib.h>

#include "nodeutil.h"

static t_gate hold_gate;

/* worker: "hold" spins on hold_gate (its worker is held), then reports
 * "held"; "boom" fails it; "walk" calls tr_system_walk from a worker */
static int visit_nothing(void *user, const tr_walk_entry *e)
{
    (void)user, (void)e;
    return 0;
}

static int worker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("hold"))) {
        t_report(ctx, "holding", "");
        t_gate_wait(&hold_gate);
        return t_report(ctx, "held", "");
    }
    if (tr_msg_is(m, tr_atom_from("boom"))) return tr_fail(ctx, "boom");
    if (tr_msg_is(m, tr_atom_from("walk")))
        return t_report_int(ctx, "walk_rc", tr_system_walk(tr_ctx_system(ctx), visit_nothing, NULL,
                                                           1000));
    return 0;
}

static const tr_behaviour worker_b = {"worker", 0, NULL, worker_handle, NULL};

/* What a walk saw, one line per actor: "<depth> <path> <behaviour>
 * <status> <children>". */
#define SEEN_MAX 32
typedef struct seen {
    int n, stop_at;
    char line[SEEN_MAX][400];
    tr_actor_info info[SEEN_MAX];
} seen;

static int collect(void *user, const tr_walk_entry *e)
{
    seen *s = user;
    if (s->n < SEEN_MAX) {
        snprintf(s->line[s->n], sizeof s->line[0], "%u %s %s %s %u", e->depth, e->info->path,
                 e->info->behaviour, tr_actor_status_name(e->info->status), e->nchildren);
        s->info[s->n] = *e->info;
    }
    s->n++;
    if (e->nchildren != e->info->children) return -1; /* told twice: must agree */
    return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static int find(const seen *s, const char *path)
{
    for (int i = 0; i < s->n && i < SEEN_MAX; i++)
        if (strcmp(s->info[i].path, path) == 0) return i;
    return -1;
}

static const tr_child_spec leaf_kids[] = {{.id = "leaf", .behaviour = &worker_b}};
static const tr_sup_spec inner_spec = {.strategy = TR_ONE_FOR_ONE, .children = leaf_kids,
                                       .nchildren = 1};
static const tr_child_spec app_kids[] = {
    {.id = "w1", .behaviour = &worker_b, .register_as = "w1"},
    {.id = "w2", .behaviour = &worker_b},
    {.id = "inner", .supervisor = &inner_spec},
};

static tr_pid start_app(t_env *e)
{
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 5000,
                        .children = app_kids, .nchildren = 3};
    tr_pid sup;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "app", T_WAIT_MS, &sup, NULL, 0), TR_OK);
    return sup;
}

static void walk_in_tree_order(void **state)
{
    t_env *e = *state;
    tr_pid app = start_app(e), solo;
    assert_int_equal(tr_system_spawn(e->sys, &worker_b, &(tr_spawn_opts){.name = "solo"}, &solo),
                     TR_OK);
    seen s = {0};
    assert_int_equal(tr_system_walk(e->sys, collect, &s, T_WAIT_MS), TR_OK);
    assert_int_equal(s.n, 7);
    assert_string_equal(s.line[0], "0 /root root waiting 2");
    assert_string_equal(s.line[1], "1 /root/app supervisor waiting 3");
    assert_string_equal(s.line[2], "2 /root/app/w1 worker waiting 0");
    assert_string_equal(s.line[3], "2 /root/app/w2 worker waiting 0");
    assert_string_equal(s.line[4], "2 /root/app/inner supervisor waiting 1");
    assert_string_equal(s.line[5], "3 /root/app/inner/leaf worker waiting 0");
    assert_string_equal(s.line[6], "1 /root/solo worker waiting 0");
    assert_true(tr_pid_eq(s.info[1].pid, app));
    assert_true(tr_pid_eq(s.info[6].pid, solo));
    assert_true(tr_pid_eq(s.info[2].parent, app));
    /* a visitor that stops the walk */
    seen t = {.stop_at = 2};
    assert_int_equal(tr_system_walk(e->sys, collect, &t, T_WAIT_MS), 42);
    assert_int_equal(t.n, 2);
}

static void failures_and_restarts_counted(void **state)
{
    t_env *e = *state;
    tr_pid app = start_app(e), w1;
    assert_int_equal(tr_whereis(e->sys, "w1", &w1), TR_OK);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, w1, &mon), TR_OK);
    int64_t before = tr_system_now_ms(e->sys);
    assert_int_equal(tr_system_send(e->sys, w1, tr_atom_from("boom"), NULL, 0), TR_OK);
    t_expect(e, "tr.down");
    tr_pid again; /* restarted: the name is back */
    assert_int_equal(tr_system_await_name(e->sys, "w1", T_WAIT_MS, &again), TR_OK);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, app, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.restarts, 1);
    assert_int_equal(info.child_failures, 1);
    assert_string_equal(info.last_failure, "/root/app/w1: failure: boom");
    assert_true(info.last_failure_ms >= before);
    assert_string_equal(info.behaviour, "supervisor");
    /* the same through a walk; the root saw nothing fail */
    seen s = {0};
    assert_int_equal(tr_system_walk(e->sys, collect, &s, T_WAIT_MS), TR_OK);
    int i = find(&s, "/root/app");
    assert_true(i >= 0);
    assert_int_equal(s.info[i].child_failures, 1);
    assert_string_equal(s.info[i].last_failure, "/root/app/w1: failure: boom");
    assert_int_equal(s.info[0].child_failures, 0);
    assert_string_equal(s.info[0].last_failure, "");
    assert_int_equal(s.info[0].last_failure_ms, 0);
}

#define BACKLOG 10
static void peak_of_a_bounded_mailbox(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid w;
    assert_int_equal(tr_system_spawn(e->sys, &worker_b, &(tr_spawn_opts){.capacity = 16}, &w),
                     TR_OK);
    assert_int_equal(tr_system_send(e->sys, w, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    for (int i = 0; i < BACKLOG; i++)
        assert_int_equal(tr_system_send(e->sys, w, tr_atom_from("tick"), NULL, 0), TR_OK);
    t_gate_open(&hold_gate);
    t_expect(e, "held");
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, w, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.peak_mailbox, BACKLOG);
    assert_int_equal(info.messages_in, 1 + BACKLOG);
    assert_int_equal(info.mailbox, 0);
    assert_int_equal(info.capacity, 16);
}

/* An actor stuck in a callback cannot answer: at the deadline the walk
 * visits the others and says it timed out. */
static void stuck_actor_left_out(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid stuck, ok;
    assert_int_equal(tr_system_spawn(e->sys, &worker_b, &(tr_spawn_opts){.name = "stuck"}, &stuck),
                     TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &worker_b, &(tr_spawn_opts){.name = "ok"}, &ok),
                     TR_OK);
    assert_int_equal(tr_system_send(e->sys, stuck, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    seen s = {0};
    assert_int_equal(tr_system_walk(e->sys, collect, &s, 1000), TR_ETIMEDOUT);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.info[0].path, "/root");
    assert_string_equal(s.info[1].path, "/root/ok");
    t_gate_open(&hold_gate);
    t_expect(e, "held");
}

static void walk_errors(void **state)
{
    t_env *e = *state;
    seen s = {0};
    assert_int_equal(tr_system_walk(NULL, collect, &s, 10), TR_EINVAL);
    assert_int_equal(tr_system_walk(e->sys, NULL, &s, 10), TR_EINVAL);
    tr_pid w;
    assert_int_equal(tr_system_spawn(e->sys, &worker_b, NULL, &w), TR_OK);
    assert_int_equal(tr_system_send(e->sys, w, tr_atom_from("walk"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "walk_rc"), TR_ENOTACTOR);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_system_walk(e->sys, collect, &s, T_WAIT_MS), TR_ESTOPPED);
    assert_int_equal(s.n, 0);
    assert_string_equal(tr_actor_status_name(TR_STATUS_RUNNING), "running");
    assert_string_equal(tr_actor_status_name(TR_STATUS_STOPPING), "stopping");
    assert_string_equal(tr_actor_status_name((tr_actor_status)99), "unknown");
}

/* A subtree, here and on another node. */
static void walk_from_subtree_and_remote(void **state)
{
    t_env *e = *state;
    tr_pid app = start_app(e);
    seen s = {0};
    assert_int_equal(tr_system_walk_from(e->sys, app, collect, &s, T_WAIT_MS), TR_OK);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.line[0], "0 /root/app supervisor waiting 3");
    assert_string_equal(s.line[4], "2 /root/app/inner/leaf worker waiting 0");
    assert_int_equal(tr_system_walk_from(e->sys, TR_PID_NIL, collect, &s, T_WAIT_MS), TR_EINVAL);
    tr_pid gone = {tr_system_node(e->sys), 1u << 20, 5};
    seen g = {0};
    assert_int_equal(tr_system_walk_from(e->sys, gone, collect, &g, T_WAIT_MS), TR_ENOENT);
    assert_int_equal(g.n, 0);

    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 5, .period_ms = 5000,
                        .children = app_kids, .nchildren = 3};
    tr_pid far;
    assert_int_equal(tr_supervisor_start(c.sys[1], &spec, "far", T_WAIT_MS, &far, NULL, 0), TR_OK);
    seen r = {0};
    assert_int_equal(tr_system_walk_from(c.sys[0], far, collect, &r, T_WAIT_MS), TR_OK);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.line[0], "0 /root/far supervisor waiting 3");
    assert_string_equal(r.line[3], "1 /root/far/inner supervisor waiting 1");
    assert_int_equal(r.info[1].pid.node, far.node); /* the other node's pids */
    cluster_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(walk_in_tree_order, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(failures_and_restarts_counted, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(peak_of_a_bounded_mailbox, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(stuck_actor_left_out, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(walk_errors, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(walk_from_subtree_and_remote, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
