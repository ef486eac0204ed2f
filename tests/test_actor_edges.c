/* test_actor_edges.c — documented edges of the actor core that the other
 * files do not reach: a message to the root is a dead letter, a call by a
 * NULL name is TR_EINVAL (from an actor and from outside), "name@node"
 * outside a node is TR_ENOROUTE, and the log level name of an unknown
 * level. The probe is the only place results are asserted. */
#include <time.h>

#include "testutil.h"

/* edge: "to_parent" sends "hi" to its parent (the root, for a top-level
 * actor) and reports its pid as "parent"; "call_null" reports the result
 * of tr_call_named with a NULL name as "call_null" {rc, ref id}. */
static int edge_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("to_parent"))) {
        tr_pid parent = tr_parent(ctx);
        int rc = tr_send(ctx, parent, tr_atom_from("hi"), "x", 1);
        if (!T_CHECK(ctx, rc == TR_OK)) return 0;
        return t_report_val(ctx, "parent", &parent, sizeof parent);
    }
    if (tr_msg_is(m, tr_atom_from("call_null"))) {
        tr_ref ref = {.id = 77};
        int rc = tr_call_named(ctx, NULL, tr_atom_from("q"), NULL, 0, T_WAIT_MS, &ref);
        int64_t v[2] = {rc, (int64_t)ref.id};
        return t_report_val(ctx, "call_null", v, sizeof v);
    }
    return 0;
}

static const tr_behaviour edge_b = {"edge", 0, NULL, edge_handle, NULL};

static tr_pid spawn_edge(t_env *e)
{
    tr_pid pid;
    assert_int_equal(tr_system_spawn(e->sys, &edge_b, NULL, &pid), TR_OK);
    return pid;
}

/* The root takes no messages: what reaches it is a dead letter, with the
 * root as its receiver. */
static void test_message_to_root_is_dead(void **state)
{
    t_env *e = *state;
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    tr_pid a = spawn_edge(e);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("to_parent"), NULL, 0), TR_OK);
    bool got_parent = false, got_dead = false;
    tr_pid parent = TR_PID_NIL;
    tr_dead_letter d = {0};
    while (!got_parent || !got_dead) { /* the two may come in either order */
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("parent"))) {
            parent = t_pidv(m);
            got_parent = true;
        } else {
            assert_int_equal(tr_dead_letter_decode(m, &d), TR_OK);
            got_dead = true;
        }
    }
    assert_true(tr_pid_eq(d.to, parent));
    assert_true(tr_pid_eq(d.from, a));
    assert_string_equal(tr_atom_name(d.type), "hi");
    assert_int_equal(d.size, 1);
}

/* A NULL name: TR_EINVAL, and no ref, from an actor and from outside. */
static void test_call_named_null(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_edge(e);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("call_null"), NULL, 0), TR_OK);
    const int64_t *v = tr_msg_data(t_expect(e, "call_null"));
    assert_int_equal(v[0], TR_EINVAL);
    assert_int_equal(v[1], 0);
    tr_msg *reply = (tr_msg *)&reply;
    assert_int_equal(tr_call_named_sync(e->sys, NULL, tr_atom_from("q"), NULL, 0, T_WAIT_MS, &reply),
                     TR_EINVAL);
    assert_null(reply);
}

/* "name@node" in a system that is not a node: no route, said at once. */
static void test_named_at_node_without_transport(void **state)
{
    t_env *e = *state;
    assert_int_equal(tr_system_send_named(e->sys, "svc@elsewhere", tr_atom_from("q"), NULL, 0),
                     TR_ENOROUTE);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_named_sync(e->sys, "svc@elsewhere", tr_atom_from("q"), NULL, 0,
                                        T_WAIT_MS, &reply),
                     TR_ENOROUTE);
    assert_null(reply);
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.dead_letters, 0); /* refused, not sent */
}

/* A manual clock serves at most 64 systems at once (actors/timer.c, not
 * yet said in troupe/timer.h): the 65th tr_system_new on it is refused
 * with TR_EINVAL and undoes what it had set up (the sanitizer and valgrind
 * runs check nothing leaks); once one of the 64 is gone, there is room. */
#define CLOCK_USERS_MAX 64

static void test_manual_clock_users_limit(void **state)
{
    (void)state;
    tr_clock *clock;
    assert_int_equal(tr_clock_manual_new(&clock), TR_OK);
    static tr_system *sys[CLOCK_USERS_MAX + 1];
    tr_system_opts o = {.workers = 1, .clock = clock};
    for (int i = 0; i < CLOCK_USERS_MAX; i++) assert_int_equal(tr_system_new(&o, &sys[i]), TR_OK);
    tr_system *extra = (tr_system *)&extra;
    assert_int_equal(tr_system_new(&o, &extra), TR_EINVAL);
    assert_null(extra);
    tr_system_destroy(&sys[0]);
    assert_int_equal(tr_system_new(&o, &sys[0]), TR_OK);
    for (int i = 0; i < CLOCK_USERS_MAX; i++) tr_system_destroy(&sys[i]);
    tr_clock_destroy(&clock);
}

/* "Never early", on the real clock: a 1 ms timer armed again and again
 * never fires before 1 ms has passed since it was armed (measured with
 * CLOCK_MONOTONIC, the clock the timers read). Only a lower bound is
 * asserted: a loaded machine makes timers late, never early. */
#define EARLY_ROUNDS 100

typedef struct early_state {
    int64_t armed_ns, least_ns;
    int rounds, early;
} early_state;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int early_arm(tr_ctx *ctx, early_state *s)
{
    s->armed_ns = mono_ns();
    return tr_send_after(ctx, tr_self(ctx), 1, tr_atom_from("fire"), NULL, 0, NULL);
}

static int early_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    early_state *s = st;
    if (tr_msg_is(m, tr_atom_from("go"))) {
        s->least_ns = INT64_MAX;
        return early_arm(ctx, s);
    }
    if (tr_msg_is(m, tr_atom_from("fire"))) {
        int64_t waited = mono_ns() - s->armed_ns;
        if (waited < s->least_ns) s->least_ns = waited;
        s->early += waited < 1000000;
        if (++s->rounds < EARLY_ROUNDS) return early_arm(ctx, s);
        int64_t v[2] = {s->early, s->least_ns};
        return t_report_val(ctx, "early", v, sizeof v);
    }
    return 0;
}

static const tr_behaviour early_b = {"early", sizeof(early_state), NULL, early_handle, NULL};

static void test_timer_never_early_real_clock(void **state)
{
    t_env *e = *state;
    tr_pid a;
    assert_int_equal(tr_system_spawn(e->sys, &early_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("go"), NULL, 0), TR_OK);
    const int64_t *v = tr_msg_data(t_expect(e, "early"));
    if (v[0]) fail_msg("%lld of %d timers fired early (the earliest after %lld ns)", (long long)v[0],
                       EARLY_ROUNDS, (long long)v[1]);
}

/* pp: answers a request at once ("pong"); "call" {pid} calls that pid
 * ("ping") and reports "replied" when the answer comes; "stop" stops. */
static int pp_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is_request(m)) return tr_reply(ctx, m, tr_atom_from("pong"), NULL, 0);
    if (tr_msg_is(m, tr_atom_from("call"))) {
        tr_pid to;
        memcpy(&to, tr_msg_data(m), sizeof to);
        return tr_call(ctx, to, tr_atom_from("ping"), NULL, 0, T_WAIT_MS, NULL);
    }
    if (tr_msg_is(m, tr_atom_from("pong"))) return t_report(ctx, "replied", "");
    if (tr_msg_is(m, tr_atom_from("stop"))) tr_stop(ctx);
    return 0;
}

static const tr_behaviour pp_b = {"pp", 0, NULL, pp_handle, NULL};

static void stop_and_await_down(t_env *e, tr_pid who)
{
    tr_ref ref;
    assert_int_equal(tr_inbox_monitor(e->probe, who, &ref), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, who, tr_atom_from("stop"), NULL, 0), TR_OK);
    const tr_msg *m = t_expect(e, "tr.down");
    assert_int_equal(tr_msg_ref(m).id, ref.id);
}

/* A request answered in its handler is done with: when the callee ends
 * later, nothing more goes to its caller. Seen here as a "tr.down" that
 * would reach the caller, ended by then, as a dead letter, which the
 * callee's end would forward before its own "tr.down" to the probe
 * (requests are answered before watchers are told). */
static void test_answered_request_not_answered_again(void **state)
{
    t_env *e = *state;
    tr_pid caller, callee;
    assert_int_equal(tr_system_spawn(e->sys, &pp_b, NULL, &caller), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &pp_b, NULL, &callee), TR_OK);
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, caller, tr_atom_from("call"), &callee, sizeof callee),
                     TR_OK);
    t_expect(e, "replied");
    /* an actor that answers, but not as a process actor does */
    tr_process_info info;
    assert_int_equal(tr_process_info_sync(e->sys, callee, &info, T_WAIT_MS), TR_ENOENT);
    stop_and_await_down(e, caller);
    stop_and_await_down(e, callee); /* a dead letter first would fail here */
    t_expect_none(e);
}

/* The process behaviour spawned with args that are not a process spec
 * (troupe/process.h says not to): its start fails, saying so. */
static void test_process_behaviour_with_bad_args(void **state)
{
    t_env *e = *state;
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &tr_process_behaviour,
                                     &(tr_spawn_opts){.args = "not a spec", .args_size = 10,
                                                      .started_to = t_probe},
                                     &p),
                     TR_OK);
    tr_pid who;
    tr_start_status st;
    tr_exit why;
    assert_int_equal(tr_started_decode(t_expect(e, "tr.started"), &who, &st, &why), TR_OK);
    assert_true(tr_pid_eq(who, p));
    assert_int_equal(st, TR_START_FAILED);
    assert_non_null(why.text);
    assert_non_null(strstr(why.text, "malformed process spec"));
}

/* tr_unpacker_msg reads a message's payload as tr_unpacker_init does. */
static void test_unpacker_over_a_message(void **state)
{
    (void)state;
    tr_msg *m = NULL;
    assert_int_equal(tr_pack_msg(tr_atom_from("t"), &m, "u32 str", (uint32_t)7, "seven"), TR_OK);
    tr_unpacker u;
    tr_unpacker_msg(&u, m);
    uint32_t n = 0;
    const char *s = NULL;
    tr_unpack_u32(&u, &n);
    size_t len = 0;
    tr_unpack_str(&u, &s, &len);
    assert_int_equal(tr_unpacker_error(&u), TR_OK);
    assert_int_equal(n, 7);
    assert_string_equal(s, "seven");
    assert_int_equal(len, 5);
    tr_msg_destroy(&m);
}

static void test_log_level_names(void **state)
{
    (void)state;
    assert_string_equal(tr_log_level_name(TR_LOG_WARN), "warn");
    assert_string_equal(tr_log_level_name((tr_log_level)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_message_to_root_is_dead, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_call_named_null, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_named_at_node_without_transport, t_setup, t_teardown),
        cmocka_unit_test(test_log_level_names),
        cmocka_unit_test_setup_teardown(test_process_behaviour_with_bad_args, t_setup, t_teardown),
        cmocka_unit_test(test_unpacker_over_a_message),
        cmocka_unit_test(test_manual_clock_users_limit),
        cmocka_unit_test_setup_teardown(test_timer_never_early_real_clock, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_answered_request_not_answered_again, t_setup,
                                        t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
