/* test_timer.c — timers and the manual clock: nothing here sleeps; time
 * moves only when the test advances it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* Holds the stuck actor's worker until set; teardown sets it, so that a
 * failing test never leaves a worker held. */
static _Atomic int release_stuck;

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
    atomic_store(&release_stuck, 0);
    *state = ce;
    return 0;
}

static int teardown_clock(void **state)
{
    atomic_store(&release_stuck, 1);
    tr_log_set_handler(NULL, NULL);
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

/* Behaviours report results; only the test thread asserts. */
typedef struct armed_t {
    int64_t rc;
    tr_timer h;
} armed_t;

static int timer_user_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "arm") == 0) {
        arm_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        armed_t a = {0, {0}};
        a.rc = r.period ? tr_send_every(ctx, r.to, r.period, tr_atom_from("tick"), &r.value,
                                        sizeof r.value, &a.h)
                        : tr_send_after(ctx, r.to, r.delay, tr_atom_from("tick"), &r.value,
                                        sizeof r.value, &a.h);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("armed"), &a, sizeof a);
    }
    if (strcmp(t, "cancel") == 0) {
        tr_timer h;
        memcpy(&h, tr_msg_data(m), sizeof h);
        int64_t rc = tr_timer_cancel(ctx, h);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("cancelled"), &rc, sizeof rc);
    }
    if (strcmp(t, "stop") == 0) tr_stop(ctx);
    if (strcmp(t, "sync") == 0) return tr_send(ctx, tr_msg_sender(m), tr_atom_from("synced"), NULL, 0);
    if (strcmp(t, "now") == 0) {
        int64_t now = tr_now_ms(ctx);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("now"), &now, sizeof now);
    }
    if (strcmp(t, "bad") == 0) { /* every refused arm */
        tr_pid remote = {tr_system_node(tr_ctx_system(ctx)) + 1, 1, 1};
        static const char one[1];
        tr_atom k = tr_atom_from("tick");
        tr_pid me = tr_self(ctx);
        tr_timer h = {77};
        int64_t rc[11] = {
            tr_send_after(ctx, me, -1, k, NULL, 0, &h),
            (int64_t)h.id, /* cleared on error */
            tr_send_after(ctx, TR_PID_NIL, 1, k, NULL, 0, NULL),
            tr_send_after(ctx, me, 1, (tr_atom){0}, NULL, 0, NULL),
            tr_send_after(ctx, me, 1, k, NULL, 4, NULL),
            tr_send_after(ctx, me, 1, k, one, (size_t)TR_MSG_MAX + 1, NULL),
            tr_send_after(ctx, remote, 1, k, NULL, 0, NULL),
            tr_send_every(ctx, me, 0, k, NULL, 0, NULL),
            tr_send_every(ctx, me, -5, k, NULL, 0, NULL),
            tr_send_every(ctx, remote, 5, k, NULL, 0, NULL),
            tr_timer_cancel(ctx, (tr_timer){0}),
        };
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("bad"), rc, sizeof rc);
    }
    if (strcmp(t, "many") == 0) { /* 100,000 timers armed, then all cancelled */
        enum { N = 100000 };
        tr_timer *hs = malloc(N * sizeof *hs);
        uint64_t out[2] = {0, 0}; /* cancelled, failed arms */
        if (!hs) return TR_ENOMEM;
        for (int i = 0; i < N; i++)
            out[1] += tr_send_after(ctx, t_probe, 1000 + i, tr_atom_from("tick"), &i, sizeof i,
                                    &hs[i]) != TR_OK;
        for (int i = N - 1; i >= 0; i -= 2) out[0] += tr_timer_cancel(ctx, hs[i]) == TR_OK;
        for (int i = N - 2; i >= 0; i -= 2) out[0] += tr_timer_cancel(ctx, hs[i]) == TR_OK;
        free(hs);
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("many"), out, sizeof out);
    }
    return 0;
}

static const tr_behaviour timer_user_b = {"timer_user", 0, NULL, timer_user_handle, NULL};

static tr_timer arm(t_env *e, tr_pid user, tr_pid to, int64_t delay, int64_t period, uint64_t v)
{
    arm_req r = {to, delay, period, v};
    assert_int_equal(tr_inbox_send(e->probe, user, tr_atom_from("arm"), &r, sizeof r), TR_OK);
    armed_t a;
    memcpy(&a, tr_msg_data(t_expect(e, "armed")), sizeof a);
    assert_int_equal(a.rc, TR_OK);
    assert_true(a.h.id != 0);
    return a.h;
}

static int64_t cancel(t_env *e, tr_pid user, tr_timer h)
{
    assert_int_equal(tr_inbox_send(e->probe, user, tr_atom_from("cancel"), &h, sizeof h), TR_OK);
    int64_t rc;
    memcpy(&rc, tr_msg_data(t_expect(e, "cancelled")), sizeof rc);
    return rc;
}

/* The next probe message must be the "synced" answer: proves that nothing
 * else (no tick) was delivered before it. */
static void expect_nothing_before_sync(t_env *e, tr_pid user)
{
    assert_int_equal(tr_inbox_send(e->probe, user, tr_atom_from("sync"), NULL, 0), TR_OK);
    t_expect(e, "synced");
}

static void test_send_after_fires_on_time(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    arm(e, u, t_probe, 100, 0, 7);
    assert_int_equal(tr_clock_advance(ce->clock, 99), TR_OK);
    expect_nothing_before_sync(e, u);
    assert_int_equal(tr_clock_advance(ce->clock, 1), TR_OK);
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
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    tr_timer h = arm(e, u, t_probe, 0, 10, 1);
    for (int i = 0; i < 5; i++) {
        tr_clock_advance(ce->clock, 10);
        t_expect(e, "tick");
    }
    /* a jump over many periods fires once, not once per period */
    assert_int_equal(tr_clock_advance(ce->clock, 1000), TR_OK);
    t_expect(e, "tick");
    expect_nothing_before_sync(e, u);
    assert_int_equal(cancel(e, u, h), TR_OK);
    assert_int_equal(cancel(e, u, h), TR_ENOENT);
    assert_int_equal(tr_clock_advance(ce->clock, 100), TR_OK);
    expect_nothing_before_sync(e, u);
}

static void test_cancel_one_shot(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    tr_timer fired = arm(e, u, t_probe, 5, 0, 1);
    tr_timer pending = arm(e, u, t_probe, 50, 0, 2);
    assert_int_equal(tr_clock_advance(ce->clock, 5), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "tick")), 1);
    assert_int_equal(cancel(e, u, fired), TR_ENOENT); /* already fired */
    assert_int_equal(cancel(e, u, pending), TR_OK);
    assert_int_equal(cancel(e, u, (tr_timer){0}), TR_ENOENT);
    assert_int_equal(tr_clock_advance(ce->clock, 100), TR_OK);
    expect_nothing_before_sync(e, u);
}

/* A timer dies with the actor that set it, even one aimed at another. */
static void test_timer_dies_with_owner(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u, other;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &other), TR_OK);
    arm(e, u, t_probe, 10, 0, 1);
    arm(e, u, t_probe, 0, 10, 2);
    assert_int_equal(tr_inbox_send(e->probe, u, tr_atom_from("stop"), NULL, 0), TR_OK);
    /* make sure u has ended before time moves */
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    assert_int_equal(tr_clock_advance(ce->clock, 50), TR_OK);
    expect_nothing_before_sync(e, other);
}

/* A timer aimed at an actor that ended is a dead letter, not a message to
 * whatever reuses the slot. */
static void test_timer_to_ended_actor_is_dead_letter(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u, target;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &target), TR_OK);
    arm(e, u, target, 10, 0, 1);
    assert_int_equal(tr_inbox_send(e->probe, target, tr_atom_from("stop"), NULL, 0), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    tr_system_stats before;
    tr_system_get_stats(e->sys, &before);
    assert_int_equal(tr_clock_advance(ce->clock, 10), TR_OK);
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
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, u, tr_atom_from("many"), NULL, 0), TR_OK);
    uint64_t out[2];
    memcpy(out, tr_msg_data(t_expect(e, "many")), sizeof out);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[0], 100000);
    assert_int_equal(tr_clock_advance(ce->clock, 200000), TR_OK);
    expect_nothing_before_sync(e, u);
}

/* Only the actor that armed a timer can cancel it: another's tr_timer_cancel
 * is TR_ENOENT and the timer fires as set; its owner can still cancel. */
static void test_cancel_is_the_owners_only(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid owner, other;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &owner), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &other), TR_OK);
    tr_timer once = arm(e, owner, t_probe, 10, 0, 1);
    tr_timer every = arm(e, owner, t_probe, 0, 10, 2);
    assert_int_equal(cancel(e, other, once), TR_ENOENT);
    assert_int_equal(cancel(e, other, every), TR_ENOENT);
    assert_int_equal(tr_clock_advance(ce->clock, 10), TR_OK);
    uint64_t got = t_u64(t_expect(e, "tick")) + t_u64(t_expect(e, "tick"));
    assert_int_equal(got, 3); /* both fired */
    assert_int_equal(cancel(e, other, every), TR_ENOENT);
    assert_int_equal(cancel(e, owner, every), TR_OK);
    assert_int_equal(tr_clock_advance(ce->clock, 50), TR_OK);
    expect_nothing_before_sync(e, owner);
}

/* Every refused arm: TR_EINVAL (negative delay or period, nil pid, type
 * {0}, size without data), TR_ETOOBIG, TR_ENOROUTE; none arms anything. */
static void test_arm_errors(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, u, tr_atom_from("bad"), NULL, 0), TR_OK);
    int64_t rc[11];
    memcpy(rc, tr_msg_data(t_expect(e, "bad")), sizeof rc);
    static const int64_t want[11] = {TR_EINVAL, 0, TR_EINVAL, TR_EINVAL, TR_EINVAL, TR_ETOOBIG,
                                     TR_ENOROUTE, TR_EINVAL, TR_EINVAL, TR_ENOROUTE, TR_ENOENT};
    for (int i = 0; i < 11; i++)
        if (rc[i] != want[i])
            fail_msg("case %d: %lld, want %lld", i, (long long)rc[i], (long long)want[i]);
    assert_int_equal(tr_clock_advance(ce->clock, 1000), TR_OK);
    expect_nothing_before_sync(e, u); /* none of them fires */
}

/* The manual clock: tr_clock_advance refuses a negative step and what is
 * not a clock; time is the clock's, in actors too; a 0 ms timer is due at
 * once. */
static void test_manual_clock(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    assert_int_equal(tr_clock_advance(ce->clock, -1), TR_EINVAL);
    assert_int_equal(tr_clock_advance(NULL, 1), TR_EINVAL);
    assert_int_equal(tr_clock_now_ms(ce->clock), 0);
    assert_int_equal(tr_clock_advance(ce->clock, 1234), TR_OK);
    assert_int_equal(tr_clock_now_ms(ce->clock), 1234);
    assert_int_equal(tr_system_now_ms(e->sys), 1234);
    tr_pid u;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, u, tr_atom_from("now"), NULL, 0), TR_OK);
    int64_t now;
    memcpy(&now, tr_msg_data(t_expect(e, "now")), sizeof now);
    assert_int_equal(now, 1234);
    /* a 0 ms timer is due now: it fires with no advance (maybe before the
     * arming actor's own report) */
    arm_req r = {t_probe, 0, 0, 5};
    assert_int_equal(tr_inbox_send(e->probe, u, tr_atom_from("arm"), &r, sizeof r), TR_OK);
    int ticks = 0, armed = 0;
    for (int i = 0; i < 2; i++) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("tick"))) ticks += t_u64(m) == 5;
        else if (tr_msg_is(m, tr_atom_from("armed"))) armed++;
    }
    assert_int_equal(ticks, 1);
    assert_int_equal(armed, 1);
    assert_int_equal(tr_clock_now_ms(ce->clock), 1234);
    tr_clock_destroy(NULL); /* accepted */
}

/* An interval timer fires at each multiple of its period, never a tick
 * before, from the time it was armed. */
static void test_interval_never_early(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid u;
    assert_int_equal(tr_system_spawn(e->sys, &timer_user_b, NULL, &u), TR_OK);
    assert_int_equal(tr_clock_advance(ce->clock, 3), TR_OK); /* armed at 3 */
    tr_timer h = arm(e, u, t_probe, 0, 25, 9);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tr_clock_advance(ce->clock, 24), TR_OK);
        expect_nothing_before_sync(e, u);
        assert_int_equal(tr_clock_advance(ce->clock, 1), TR_OK);
        assert_int_equal(t_u64(t_expect(e, "tick")), 9);
    }
    assert_int_equal(cancel(e, u, h), TR_OK);
}

/* --------------------------------------------- shutdown time, then kill */

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
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("go"), NULL, 0), TR_OK);
    t_expect(e, "stuck");
    assert_int_equal(tr_system_stop_child(e->sys, s), TR_OK);
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
    assert_int_equal(tr_exit_decode(m, NULL, &why), TR_OK);
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
        cmocka_unit_test_setup_teardown(test_cancel_is_the_owners_only, setup_clock,
                                        teardown_clock),
        cmocka_unit_test_setup_teardown(test_arm_errors, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_manual_clock, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_interval_never_early, setup_clock, teardown_clock),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
