/* test_timer.c — timers and the manual clock: nothing here sleeps; time
 * moves only when the test advances it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

typedef struct clock_env {
    t_env e;
    tr_clock *clock;
} clock_env;

static int setup_clock(void **state)
{
    clock_env *ce = calloc(1, sizeof *ce);
    if (!ce || tr_clock_manual_new(&ce->clock) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = ce->clock};
    if (tr_system_new(&o, &ce->e.sys) != TR_OK) return -1;
    if (tr_inbox_new(ce->e.sys, &ce->e.probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(ce->e.probe);
    *state = ce;
    return 0;
}

static int teardown_clock(void **state)
{
    clock_env *ce = *state;
    tr_clock *c = ce->clock;
    t_env *e = malloc(sizeof *e);
    *e = ce->e;
    free(ce);
    *state = e;
    t_teardown(state); /* destroys the system, checks for leaks */
    tr_clock_destroy(&c);
    assert_null(c);
    return 0;
}

/* An actor that arms timers on request and reports what happened. */
typedef struct arm_req {
    tr_pid to;
    int64_t delay, period;
    uint64_t value;
} arm_req;

static int timer_user_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "arm") == 0) {
        arm_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        tr_timer h;
        int rc = r.period ? tr_send_every(ctx, r.to, r.period, tr_atom_from("tick"), &r.value,
                                          sizeof r.value, &h)
                          : tr_send_after(ctx, r.to, r.delay, tr_atom_from("tick"), &r.value,
                                          sizeof r.value, &h);
        assert_int_equal(rc, TR_OK);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("armed"), &h, sizeof h);
    }
    if (strcmp(t, "cancel") == 0) {
        tr_timer h;
        memcpy(&h, tr_msg_data(m), sizeof h);
        int64_t rc = tr_timer_cancel(ctx, h);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("cancelled"), &rc, sizeof rc);
    }
    if (strcmp(t, "stop") == 0) tr_stop(ctx);
    if (strcmp(t, "sync") == 0) return tr_send(ctx, tr_msg_sender(m), tr_atom_from("synced"), NULL, 0);
    if (strcmp(t, "many") == 0) { /* 100,000 timers armed, then all cancelled */
        enum { N = 100000 };
        tr_timer *hs = malloc(N * sizeof *hs);
        for (int i = 0; i < N; i++)
            assert_int_equal(tr_send_after(ctx, t_probe, 1000 + i, tr_atom_from("tick"), &i,
                                           sizeof i, &hs[i]),
                             TR_OK);
        uint64_t cancelled = 0;
        for (int i = N - 1; i >= 0; i -= 2) cancelled += tr_timer_cancel(ctx, hs[i]) == TR_OK;
        for (int i = N - 2; i >= 0; i -= 2) cancelled += tr_timer_cancel(ctx, hs[i]) == TR_OK;
        free(hs);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("many"), &cancelled, sizeof cancelled);
    }
    return 0;
}

static const tr_behaviour timer_user_b = {"timer_user", 0, NULL, timer_user_handle, NULL};

static tr_timer arm(t_env *e, tr_pid user, tr_pid to, int64_t delay, int64_t period, uint64_t v)
{
    arm_req r = {to, delay, period, v};
    tr_inbox_send(e->probe, user, tr_atom_from("arm"), &r, sizeof r);
    tr_timer h;
    memcpy(&h, tr_msg_data(t_expect(e, "armed")), sizeof h);
    assert_true(h.id != 0);
    return h;
}

static int64_t cancel(t_env *e, tr_pid user, tr_timer h)
{
    tr_inbox_send(e->probe, user, tr_atom_from("cancel"), &h, sizeof h);
    int64_t rc;
    memcpy(&rc, tr_msg_data(t_expect(e, "cancelled")), sizeof rc);
    return rc;
}

/* The next probe message must be the "synced" answer: proves that nothing
 * else (no tick) was delivered before it. */
static void expect_nothing_before_sync(t_env *e, tr_pid user)
{
    tr_inbox_send(e->probe, user, tr_atom_from("sync"), NULL, 0);
    t_expect(e, "synced");
}

static void test_send_after_fires_on_time(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    arm(e, u, t_probe, 100, 0, 7);
    tr_clock_advance(ce->clock, 99);
    expect_nothing_before_sync(e, u);
    tr_clock_advance(ce->clock, 1);
    const tr_msg *m = t_expect(e, "tick");
    assert_int_equal(t_u64(m), 7);
    assert_true(tr_pid_eq(tr_msg_sender(m), u));
    assert_int_equal(tr_clock_now_ms(ce->clock), 100);
    assert_int_equal(tr_system_now_ms(e->sys), 100);
}

static void test_send_every_and_cancel(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    tr_timer h = arm(e, u, t_probe, 0, 10, 1);
    for (int i = 0; i < 5; i++) {
        tr_clock_advance(ce->clock, 10);
        t_expect(e, "tick");
    }
    /* a jump over many periods fires once, not once per period */
    tr_clock_advance(ce->clock, 1000);
    t_expect(e, "tick");
    expect_nothing_before_sync(e, u);
    assert_int_equal(cancel(e, u, h), TR_OK);
    assert_int_equal(cancel(e, u, h), TR_ENOENT);
    tr_clock_advance(ce->clock, 100);
    expect_nothing_before_sync(e, u);
}

static void test_cancel_one_shot(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    tr_timer fired = arm(e, u, t_probe, 5, 0, 1);
    tr_timer pending = arm(e, u, t_probe, 50, 0, 2);
    tr_clock_advance(ce->clock, 5);
    assert_int_equal(t_u64(t_expect(e, "tick")), 1);
    assert_int_equal(cancel(e, u, fired), TR_ENOENT); /* already fired */
    assert_int_equal(cancel(e, u, pending), TR_OK);
    assert_int_equal(cancel(e, u, (tr_timer){0}), TR_ENOENT);
    tr_clock_advance(ce->clock, 100);
    expect_nothing_before_sync(e, u);
}

/* A timer dies with the actor that set it, even one aimed at another. */
static void test_timer_dies_with_owner(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u, other;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    tr_system_spawn(e->sys, &timer_user_b, NULL, &other);
    arm(e, u, t_probe, 10, 0, 1);
    arm(e, u, t_probe, 0, 10, 2);
    tr_inbox_send(e->probe, u, tr_atom_from("stop"), NULL, 0);
    /* make sure u has ended before time moves */
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    tr_clock_advance(ce->clock, 50);
    expect_nothing_before_sync(e, other);
}

/* A timer aimed at an actor that ended is a dead letter, not a message to
 * whatever reuses the slot. */
static void test_timer_to_ended_actor_is_dead_letter(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u, target;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    tr_system_spawn(e->sys, &timer_user_b, NULL, &target);
    arm(e, u, target, 10, 0, 1);
    tr_inbox_send(e->probe, target, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    tr_system_stats before;
    tr_system_get_stats(e->sys, &before);
    tr_clock_advance(ce->clock, 10);
    tr_system_stats after;
    tr_system_get_stats(e->sys, &after);
    assert_int_equal(after.dead_letters, before.dead_letters + 1);
}

/* 100,000 timers armed and cancelled in any order: all cancel, none fires,
 * nothing leaks (teardown). */
static void test_hundred_thousand_timers(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    tr_system_spawn(e->sys, &timer_user_b, NULL, &u);
    tr_inbox_send(e->probe, u, tr_atom_from("many"), NULL, 0);
    assert_int_equal(t_u64(t_expect(e, "many")), 100000);
    tr_clock_advance(ce->clock, 200000);
    expect_nothing_before_sync(e, u);
}

/* --------------------------------------------- shutdown time, then kill */

static _Atomic int release_stuck;

static int stuck_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs, (void)m;
    t_report(ctx, "stuck", "");
    /* test scaffolding: hold this worker until the test has seen the kill
     * timer fire, to play an actor too busy to stop in time */
    while (!atomic_load(&release_stuck)) sched_yield();
    return 0;
}

static void stuck_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    t_report(ctx, "term", tr_exit_kind_name(why->kind));
}

static const tr_behaviour stuck_b = {"stuck", 0, NULL, stuck_handle, stuck_terminate};

static _Atomic int kill_logged;

static void capture_kill(void *user, tr_log_level level, const char *line)
{
    (void)user, (void)level;
    if (strstr(line, "did not stop within 100 ms")) atomic_store(&kill_logged, 1);
}

/* A child stuck in a callback past its shutdown time is killed at that
 * time, as far as its parent is concerned: the parent counts it ended and
 * goes on, and the child is disposed of when its callback returns (its
 * watchers then see it killed; what it does meanwhile takes no effect). */
static void test_shutdown_timeout_then_kill(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    atomic_store(&release_stuck, 0);
    atomic_store(&kill_logged, 0);
    tr_log_set_handler(capture_kill, NULL);
    tr_pid s;
    tr_spawn_opts o = {.name = "stuck", .shutdown_ms = 100};
    assert_int_equal(tr_system_spawn(e->sys, &stuck_b, &o, &s), TR_OK);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, s, &mon), TR_OK);
    tr_inbox_send(e->probe, s, tr_atom_from("go"), NULL, 0);
    t_expect(e, "stuck");
    tr_system_stop_child(e->sys, s);
    /* the root asked it to stop and armed its kill timer; wait for the
     * root to get that far, then let the shutdown time pass */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!atomic_load(&kill_logged) && t_now_ms() < end) {
        tr_clock_advance(ce->clock, 100);
        sched_yield();
    }
    assert_true(atomic_load(&kill_logged));
    /* still stuck, but no longer the root's: counted ended */
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    atomic_store(&release_stuck, 1);
    const tr_msg *m = t_expect(e, "tr.down"); /* terminate's report was muted */
    tr_exit why;
    assert_int_equal(tr_exit_info(m, NULL, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_KILLED);
    assert_int_equal(tr_msg_ref(m).id, mon.id);
    tr_log_set_handler(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_after_fires_on_time, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_send_every_and_cancel, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_cancel_one_shot, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_timer_dies_with_owner, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_timer_to_ended_actor_is_dead_letter, setup_clock,
                                        teardown_clock),
        cmocka_unit_test_setup_teardown(test_hundred_thousand_timers, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_shutdown_timeout_then_kill, setup_clock,
                                        teardown_clock),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
