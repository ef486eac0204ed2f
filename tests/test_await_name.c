/* test_await_name.c — one-shot waits for a name (tr_await_name,
 * tr_system_await_name): at once when registered, woken by the
 * registration (tr_register or a spawn's register_as), timed out by the
 * timer, exactly one notice per wait, and a supervised child's next
 * incarnation found by its spec's name. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* svc: answers "ping" with "pong" to the probe (its pid as payload), and
 * fails on "boom" */
static int svc_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("ping"))) {
        tr_pid me = tr_self(ctx);
        return t_report_val(ctx, "pong", &me, sizeof me);
    }
    if (tr_msg_is(m, tr_atom_from("boom"))) return tr_fail(ctx, "boom");
    return 0;
}

static const tr_behaviour svc_b = {"svc", 0, NULL, svc_handle, NULL};

/* late: registers itself under the name in its args when its timer
 * fires (a registration that comes while others wait) */
typedef struct late {
    char name[64];
} late;

static int late_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    late *l = st;
    if (n >= sizeof l->name) return TR_EINVAL;
    memcpy(l->name, args, n);
    return tr_send_after(ctx, tr_self(ctx), 30, tr_atom_from("now"), NULL, 0, NULL);
}

static int late_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    late *l = st;
    if (tr_msg_is(m, tr_atom_from("now"))) {
        int rc = tr_register(tr_ctx_system(ctx), l->name, tr_self(ctx));
        return t_report_int(ctx, "registered", rc);
    }
    return svc_handle(ctx, st, m);
}

static const tr_behaviour late_b = {"late", sizeof(late), late_init, late_handle, NULL};

/* waiter: awaits the name in its args (timeout in the first 8 bytes),
 * reports its ref ("waiting"), then every notice as {rc, pid, ref}; on a
 * notice with a pid it pings that pid at once (nothing may be lost to an
 * actor whose init has not run yet). */
typedef struct notice_report {
    int32_t rc;
    uint32_t pad;
    tr_pid pid;
    uint64_t ref;
    char name[32];
} notice_report;

static int waiter_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)st;
    int64_t timeout;
    if (n <= sizeof timeout) return TR_EINVAL;
    memcpy(&timeout, args, sizeof timeout);
    tr_ref ref;
    int rc = tr_await_name(ctx, (const char *)args + sizeof timeout, timeout, &ref);
    if (rc != TR_OK) return rc;
    return t_report_u64(ctx, "waiting", ref.id);
}

static int waiter_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("again"))) { /* payload: a name */
        tr_ref ref;
        int rc = tr_await_name(ctx, tr_msg_data(m), TR_INFINITY, &ref);
        if (!T_CHECK(ctx, rc == TR_OK)) return 0;
        return t_report_u64(ctx, "waiting", ref.id);
    }
    if (tr_msg_is(m, tr_atom_from("outside"))) { /* the outside form from a worker */
        tr_pid pid;
        return t_report_int(ctx, "outside_rc", tr_system_await_name(tr_ctx_system(ctx), "x", 0, &pid));
    }
    if (!tr_msg_is(m, tr_name_atom())) return 0;
    notice_report r = {0};
    tr_ref ref;
    const char *name;
    r.rc = tr_name_decode(m, &ref, &r.pid, &name);
    r.ref = ref.id;
    if (!T_CHECK(ctx, tr_msg_ref(m).id == ref.id)) return 0;
    if (!T_CHECK(ctx, tr_pid_eq(tr_msg_sender(m), r.pid))) return 0;
    snprintf(r.name, sizeof r.name, "%s", name);
    /* the notice first: the pong, from another actor, may come before
     * anything we send after the ping */
    int rc = t_report_val(ctx, "notice", &r, sizeof r);
    if (r.rc == TR_OK) tr_send(ctx, r.pid, tr_atom_from("ping"), NULL, 0);
    return rc;
}

static const tr_behaviour waiter_b = {"waiter", 0, waiter_init, waiter_handle, NULL};

static tr_pid spawn_waiter(t_env *e, const char *name, int64_t timeout, uint64_t *ref)
{
    char args[sizeof timeout + 64];
    memcpy(args, &timeout, sizeof timeout);
    size_t nl = strlen(name) + 1;
    memcpy(args + sizeof timeout, name, nl);
    tr_pid pid;
    assert_int_equal(tr_system_spawn(e->sys, &waiter_b,
                                     &(tr_spawn_opts){.args = args, .args_size = sizeof timeout + nl},
                                     &pid),
                     TR_OK);
    *ref = t_expect_u64(e, "waiting");
    return pid;
}

static notice_report expect_notice(t_env *e)
{
    const tr_msg *m = t_expect(e, "notice");
    notice_report r;
    assert_int_equal(tr_msg_size(m), sizeof r);
    memcpy(&r, tr_msg_data(m), sizeof r);
    return r;
}

/* ------------------------------------------------------ from an actor */

static void actor_woken_by_spawn(void **state)
{
    t_env *e = *state;
    uint64_t ref;
    spawn_waiter(e, "svc", TR_INFINITY, &ref);
    t_expect_none(e); /* nothing yet */
    tr_pid svc;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "svc"}, &svc),
                     TR_OK);
    notice_report r = expect_notice(e);
    assert_int_equal(r.rc, TR_OK);
    assert_true(tr_pid_eq(r.pid, svc));
    assert_int_equal(r.ref, ref);
    assert_string_equal(r.name, "svc");
    /* the ping sent at once reached the new actor */
    assert_true(tr_pid_eq(t_expect_pid(e, "pong"), svc));
}

static void actor_told_at_once(void **state)
{
    t_env *e = *state;
    tr_pid svc;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "svc"}, &svc),
                     TR_OK);
    uint64_t ref;
    spawn_waiter(e, "svc", 0, &ref); /* timeout 0: it is there, so no timeout */
    notice_report r = expect_notice(e);
    assert_int_equal(r.rc, TR_OK);
    assert_true(tr_pid_eq(r.pid, svc));
    assert_int_equal(r.ref, ref);
    assert_true(tr_pid_eq(t_expect_pid(e, "pong"), svc));
    t_expect_none(e);
}

/* A waiter that ended while it waited (no timeout) is dropped when the
 * next wait for that name comes: the next waiter is told once, and the
 * registry keeps nothing of the dead one (teardown checks). */
static void ended_waiter_dropped(void **state)
{
    t_env *e = *state;
    uint64_t ref;
    tr_pid gone = spawn_waiter(e, "later", TR_INFINITY, &ref);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, gone, &mon), TR_OK);
    assert_int_equal(tr_system_stop_child(e->sys, gone), TR_OK);
    t_expect(e, "tr.down");
    uint64_t ref2;
    spawn_waiter(e, "later", TR_INFINITY, &ref2);
    tr_pid svc;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "later"}, &svc),
                     TR_OK);
    notice_report r = expect_notice(e);
    assert_int_equal(r.rc, TR_OK);
    assert_int_equal(r.ref, ref2);
    assert_true(tr_pid_eq(r.pid, svc));
    assert_true(tr_pid_eq(t_expect_pid(e, "pong"), svc));
    t_expect_none(e);
    /* and one still waiting when the system goes: freed with it */
    spawn_waiter(e, "never", TR_INFINITY, &ref);
}

static void actor_times_out_once(void **state)
{
    t_env *e = *state;
    uint64_t ref;
    tr_pid w = spawn_waiter(e, "later", 100, &ref);
    t_expect_none(e);
    assert_int_equal(tr_clock_advance(e->clock, 99), TR_OK);
    t_expect_none(e);
    assert_int_equal(tr_clock_advance(e->clock, 1), TR_OK);
    notice_report r = expect_notice(e);
    assert_int_equal(r.rc, TR_ETIMEDOUT);
    assert_true(tr_pid_is_nil(r.pid));
    assert_int_equal(r.ref, ref);
    assert_string_equal(r.name, "later");
    /* registered after: no second notice for that wait */
    tr_pid svc;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "later"}, &svc),
                     TR_OK);
    /* a new wait of the same actor is told at once: a round trip that
     * proves nothing else was on its way */
    assert_int_equal(tr_system_send(e->sys, w, tr_atom_from("again"), "later", 6), TR_OK);
    uint64_t ref2 = t_expect_u64(e, "waiting");
    r = expect_notice(e);
    assert_int_equal(r.rc, TR_OK);
    assert_int_equal(r.ref, ref2);
    assert_true(tr_pid_eq(t_expect_pid(e, "pong"), svc));
    t_expect_none(e);
}

/* Many waits racing their timeouts against one registration: each ends
 * exactly once, one way or the other. */
#define RACERS 40
static void actor_each_wait_ends_once(void **state)
{
    t_env *e = *state;
    for (int i = 0; i < RACERS; i++) {
        int64_t timeout = i % 8; /* 0 .. 7 ms */
        char args[sizeof timeout + 5];
        memcpy(args, &timeout, sizeof timeout);
        memcpy(args + sizeof timeout, "race", 5);
        assert_int_equal(tr_system_spawn(e->sys, &waiter_b,
                                         &(tr_spawn_opts){.args = args, .args_size = sizeof args},
                                         NULL),
                         TR_OK);
    }
    tr_pid svc;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "race"}, &svc),
                     TR_OK);
    int ok = 0, timed_out = 0, pongs = 0, waiting = 0;
    while (ok + timed_out < RACERS || pongs < ok || waiting < RACERS) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("pong"))) {
            pongs++;
            continue;
        }
        if (tr_msg_is(m, tr_atom_from("waiting"))) {
            waiting++;
            continue;
        }
        notice_report r;
        assert_string_equal(tr_atom_name(tr_msg_type(m)), "notice");
        memcpy(&r, tr_msg_data(m), sizeof r);
        if (r.rc == TR_OK) ok++;
        else timed_out++;
    }
    t_expect_none(e);
    assert_int_equal(ok + timed_out, RACERS);
}

static void actor_errors(void **state)
{
    t_env *e = *state;
    tr_ref ref = {7};
    assert_int_equal(tr_await_name(NULL, "x", 0, &ref), TR_ENOTACTOR);
    assert_int_equal(ref.id, 0);
    /* an invalid name fails the waiter's init */
    tr_pid w;
    char args[8 + 8] = {0};
    memcpy(args + 8, "a@b", 4); /* another node's */
    assert_int_equal(tr_system_spawn(e->sys, &waiter_b,
                                     &(tr_spawn_opts){.args = args, .args_size = sizeof args,
                                                      .started_to = tr_inbox_pid(e->probe)},
                                     &w),
                     TR_OK);
    const tr_msg *m = t_expect(e, "tr.started");
    tr_start_status st;
    assert_int_equal(tr_started_decode(m, NULL, &st, NULL), TR_OK);
    assert_int_equal(st, TR_START_FAILED);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
}

/* --------------------------------------------------- from outside */

static void outside_at_once_and_errors(void **state)
{
    t_env *e = *state;
    tr_pid svc, got;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "svc"}, &svc),
                     TR_OK);
    assert_int_equal(tr_system_await_name(e->sys, "svc", 0, &got), TR_OK);
    assert_true(tr_pid_eq(got, svc));
    assert_int_equal(tr_system_await_name(e->sys, "nobody", 0, &got), TR_ETIMEDOUT);
    assert_true(tr_pid_is_nil(got));
    assert_int_equal(tr_system_await_name(e->sys, "", 0, &got), TR_EINVAL);
    assert_int_equal(tr_system_await_name(e->sys, "svc@elsewhere", 0, &got), TR_EINVAL);
    assert_int_equal(tr_system_await_name(e->sys, NULL, 0, &got), TR_EINVAL);
    assert_int_equal(tr_system_await_name(NULL, "svc", 0, &got), TR_EINVAL);
    assert_int_equal(tr_system_await_name(e->sys, "svc", 0, NULL), TR_EINVAL);
    /* from a worker: refused, it would block one */
    uint64_t ref;
    tr_pid w = spawn_waiter(e, "svc", 0, &ref);
    expect_notice(e);
    t_expect_pid(e, "pong");
    assert_int_equal(tr_system_send(e->sys, w, tr_atom_from("outside"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "outside_rc"), TR_ENOTACTOR);
}

static void outside_woken(void **state)
{
    t_env *e = *state;
    tr_pid l, got;
    assert_int_equal(tr_system_spawn(e->sys, &late_b,
                                     &(tr_spawn_opts){.args = "late", .args_size = 5}, &l),
                     TR_OK);
    assert_int_equal(tr_system_await_name(e->sys, "late", T_WAIT_MS, &got), TR_OK);
    assert_true(tr_pid_eq(got, l));
    assert_int_equal(t_expect_int(e, "registered"), TR_OK);
}

static void outside_times_out(void **state)
{
    t_env *e = *state;
    tr_pid got;
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_system_await_name(e->sys, "never", 20, &got), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 >= 19);
    assert_true(tr_pid_is_nil(got));
}

/* ------------------------------------------- a supervised child's name */

static const tr_child_spec kv_spec = {
    .id = "kv", .behaviour = &svc_b, .restart = TR_PERMANENT, .register_as = "kv"};

static void next_incarnation(void **state)
{
    t_env *e = *state;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 3, .period_ms = 5000,
                        .children = &kv_spec, .nchildren = 1};
    tr_pid sup, first, second;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &sup, NULL, 0), TR_OK);
    assert_int_equal(tr_system_await_name(e->sys, "kv", 0, &first), TR_OK);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, first, &mon), TR_OK);
    assert_int_equal(tr_system_send(e->sys, first, tr_atom_from("boom"), NULL, 0), TR_OK);
    t_expect(e, "tr.down");
    /* whether the restart has happened yet or not, the wait finds it */
    assert_int_equal(tr_system_await_name(e->sys, "kv", T_WAIT_MS, &second), TR_OK);
    assert_false(tr_pid_eq(first, second));
    assert_int_equal(tr_system_send(e->sys, second, tr_atom_from("ping"), NULL, 0), TR_OK);
    assert_true(tr_pid_eq(t_expect_pid(e, "pong"), second));
}

/* An actor's names are gone before its watchers hear of its end: with
 * enough names that the table grows, and an actor with two. */
#define NAMED 200
static void names_gone_before_down(void **state)
{
    t_env *e = *state;
    static tr_pid pids[NAMED];
    char name[32];
    for (int i = 0; i < NAMED; i++) {
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = name},
                                         &pids[i]),
                         TR_OK);
        assert_int_equal(tr_inbox_monitor(e->probe, pids[i], NULL), TR_OK);
    }
    assert_int_equal(tr_register(e->sys, "also0", pids[0]), TR_OK); /* a second name */
    assert_int_equal(tr_register(e->sys, "gone", pids[1]), TR_OK);
    assert_int_equal(tr_unregister(e->sys, "gone"), TR_OK);
    for (int i = 0; i < NAMED; i++) assert_int_equal(tr_system_stop_child(e->sys, pids[i]), TR_OK);
    for (int k = 0; k < NAMED; k++) {
        tr_pid who, now;
        tr_exit why;
        assert_int_equal(tr_exit_decode(t_expect(e, "tr.down"), &who, &why), TR_OK);
        int i = 0;
        while (i < NAMED && !tr_pid_eq(pids[i], who)) i++;
        assert_true(i < NAMED);
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(tr_whereis(e->sys, name, &now), TR_ENOENT);
        if (i == 0) assert_int_equal(tr_whereis(e->sys, "also0", &now), TR_ENOENT);
    }
    /* free again */
    tr_pid again;
    assert_int_equal(tr_system_spawn(e->sys, &svc_b, &(tr_spawn_opts){.register_as = "n7"}, &again),
                     TR_OK);
    assert_int_equal(tr_register(e->sys, "also0", again), TR_OK);
    tr_pid now;
    assert_int_equal(tr_whereis(e->sys, "also0", &now), TR_OK);
    assert_true(tr_pid_eq(now, again));
}

/* ---------------------------------------------------- get_childspec */

/* asker: on "ask" {sup pid, id} asks the supervisor for that child's spec
 * and reports what came back: {rc, type, capacity} then the id and the
 * registered name as strings */
static int asker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("ask"))) {
        tr_pid sup;
        memcpy(&sup, tr_msg_data(m), sizeof sup);
        return tr_sup_get_childspec(ctx, sup, (const char *)tr_msg_data(m) + sizeof sup, NULL);
    }
    tr_child_spec c;
    tr_child_type type = TR_WORKER;
    int rc = tr_sup_childspec_decode(m, &c, &type);
    int v[3] = {rc, (int)type, rc == TR_OK ? (int)c.capacity : -1};
    t_report_val(ctx, "spec", v, sizeof v);
    if (rc == TR_OK) {
        t_report(ctx, "spec_id", c.id);
        t_report(ctx, "spec_reg", c.register_as ? c.register_as : "(none)");
    }
    return 0;
}

static const tr_behaviour asker_b = {"asker", 0, NULL, asker_handle, NULL};

static void get_childspec(void **state)
{
    t_env *e = *state;
    static const tr_child_spec inner_kids[] = {{.id = "leaf", .behaviour = &svc_b}};
    static const tr_sup_spec inner = {.strategy = TR_ONE_FOR_ONE, .children = inner_kids,
                                      .nchildren = 1};
    tr_child_spec kids[] = {
        {.id = "kv", .behaviour = &svc_b, .args = "abc", .args_size = 4,
         .restart = TR_TRANSIENT, .register_as = "kv", .capacity = 8,
         .on_full = TR_FULL_DROP_OLDEST, .backoff = {.min_ms = 10, .max_ms = 100}},
        {.id = "inner", .supervisor = &inner, .restart = TR_PERMANENT},
    };
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 2};
    tr_pid sup;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &sup, NULL, 0), TR_OK);

    tr_child_spec c;
    tr_child_type type;
    tr_msg *answer = NULL;
    assert_int_equal(tr_sup_get_childspec_sync(e->sys, sup, "kv", T_WAIT_MS, &c, &type, &answer),
                     TR_OK);
    assert_non_null(answer);
    assert_int_equal(type, TR_WORKER);
    assert_string_equal(c.id, "kv");
    assert_ptr_equal(c.behaviour, &svc_b);
    assert_null(c.supervisor);
    assert_int_equal(c.args_size, 4);
    assert_memory_equal(c.args, "abc", 4);
    assert_int_equal(c.restart, TR_TRANSIENT);
    assert_int_equal(c.shutdown_ms, 5000); /* the default, resolved */
    assert_string_equal(c.register_as, "kv");
    assert_int_equal(c.capacity, 8);
    assert_int_equal(c.on_full, TR_FULL_DROP_OLDEST);
    assert_int_equal(c.backoff.min_ms, 10);
    assert_int_equal(c.backoff.max_ms, 100);
    assert_null(c.node);
    tr_msg_destroy(&answer);

    assert_int_equal(tr_sup_get_childspec_sync(e->sys, sup, "inner", T_WAIT_MS, &c, &type, &answer),
                     TR_OK);
    assert_int_equal(type, TR_SUPERVISOR);
    assert_string_equal(c.id, "inner");
    assert_null(c.behaviour);
    assert_null(c.args);
    assert_null(c.register_as);
    assert_int_equal(c.shutdown_ms, TR_SHUTDOWN_INFINITY);
    tr_msg_destroy(&answer);

    assert_int_equal(tr_sup_get_childspec_sync(e->sys, sup, "nope", T_WAIT_MS, &c, &type, &answer),
                     TR_ENOENT);
    assert_null(answer);
    assert_int_equal(tr_sup_get_childspec_sync(e->sys, sup, "kv", T_WAIT_MS, NULL, &type, &answer),
                     TR_EINVAL);

    /* from an actor */
    tr_pid asker;
    assert_int_equal(tr_system_spawn(e->sys, &asker_b, NULL, &asker), TR_OK);
    char ask[sizeof sup + 8];
    memcpy(ask, &sup, sizeof sup);
    memcpy(ask + sizeof sup, "kv", 3);
    assert_int_equal(tr_system_send(e->sys, asker, tr_atom_from("ask"), ask, sizeof sup + 3), TR_OK);
    const tr_msg *m = t_expect(e, "spec");
    int v[3];
    memcpy(v, tr_msg_data(m), sizeof v);
    assert_int_equal(v[0], TR_OK);
    assert_int_equal(v[1], TR_WORKER);
    assert_int_equal(v[2], 8);
    t_expect_str(e, "spec_id", "kv");
    t_expect_str(e, "spec_reg", "kv");
    memcpy(ask + sizeof sup, "zz", 3);
    assert_int_equal(tr_system_send(e->sys, asker, tr_atom_from("ask"), ask, sizeof sup + 3), TR_OK);
    m = t_expect(e, "spec");
    memcpy(v, tr_msg_data(m), sizeof v);
    assert_int_equal(v[0], TR_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(actor_woken_by_spawn, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(actor_told_at_once, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(actor_times_out_once, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(ended_waiter_dropped, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(actor_each_wait_ends_once, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(actor_errors, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(outside_at_once_and_errors, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(outside_woken, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(outside_times_out, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(next_incarnation, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(get_childspec, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(names_gone_before_down, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
