/* test_server.c — the server layer (troupe/server.h): dispatch by type to
 * call and cast handlers with typed state, answers as the return path,
 * deferred answers, unexpected messages under each policy, init and
 * terminate, and a server as a supervised, registered child. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

typedef struct counter {
    int64_t total;
    tr_request held;
    bool holding;
    char *scratch; /* allocated in init, freed in terminate (ASan checks) */
} counter;

static tr_atom A_TOTAL, A_WHERE;

TR_SERVER_INIT(ctr_init, counter)
{
    if (args_size == sizeof(int64_t)) memcpy(&state->total, args, sizeof state->total);
    if (state->total == -1) return TR_INIT_IGNORE;
    if (state->total == -2) return tr_fail(ctx, "init refused");
    state->scratch = malloc(32);
    return state->scratch ? 0 : TR_ENOMEM;
}

TR_SERVER_TERMINATE(ctr_end, counter)
{
    free(state->scratch);
    t_report_int(ctx, "ctr.end", (int)reason->kind);
}

/* call "ctr.add" (i64): adds, answers the total, packed */
TR_SERVER_CALL(ctr_add, counter)
{
    int64_t k;
    if (tr_unpack_msg(msg, "i64", &k) != TR_OK) return tr_fail(ctx, "bad ctr.add");
    state->total += k;
    return tr_answer_pack(answer, A_TOTAL, "i64", state->total);
}

/* call "ctr.get": answers the total straight from the state */
TR_SERVER_CALL(ctr_get, counter)
{
    return tr_answer_set(answer, A_TOTAL, &state->total, sizeof state->total);
}

/* call "ctr.ack": answers nothing itself: the default "tr.ok" */
TR_SERVER_CALL(ctr_ack, counter) { return 0; }

/* call "ctr.wait": answered later, on cast "ctr.release" */
TR_SERVER_CALL(ctr_wait, counter)
{
    state->held = tr_server_defer(answer);
    state->holding = true;
    return t_report(ctx, "ctr.holding", "");
}

/* call "ctr.unexpected": how many unexpected messages so far */
TR_SERVER_CALL(ctr_unexpected, counter)
{
    uint64_t n = tr_server_unexpected_count(state);
    return tr_answer_pack(answer, A_TOTAL, "u64", n);
}

/* call "ctr.where": the path, to see it run under a supervisor */
TR_SERVER_CALL(ctr_where, counter)
{
    char path[128];
    size_t n = tr_path(ctx, path, sizeof path);
    return tr_answer_pack(answer, A_WHERE, "str", n < sizeof path ? path : "");
}

/* call "ctr.crash": fails the server */
TR_SERVER_CALL(ctr_crash, counter) { return tr_fail(ctx, "crash requested"); }

/* call "ctr.relay" (pid): asks that counter for its total and answers it
 * later, from a typed continuation: a deferred answer, a call made by a
 * server */
TR_SERVER_THEN(ctr_relayed, counter)
{
    if (status != TR_OK) return tr_fail(ctx, "relay: %s", tr_strerror(status));
    int64_t theirs;
    if (tr_unpack_msg(answer, "i64", &theirs) != TR_OK) return tr_fail(ctx, "relay: bad total");
    state->holding = false;
    int64_t sum = theirs + state->total; /* our own state, typed */
    (void)cookie;
    return tr_server_reply(ctx, state->held, A_TOTAL, &sum, sizeof sum);
}

TR_SERVER_CALL(ctr_relay, counter)
{
    tr_pid other;
    if (tr_unpack_msg(msg, "pid", &other) != TR_OK) return tr_fail(ctx, "bad relay");
    state->held = tr_server_defer(answer);
    state->holding = true;
    int64_t zero = 0;
    return tr_call_then(ctx, other, tr_atom_from("ctr.add"), &zero, sizeof zero, 5000,
                        ctr_relayed, NULL);
}

/* cast "ctr.add" (same type as the call): adds, answers nothing */
TR_SERVER_CAST(ctr_add_cast, counter)
{
    int64_t k;
    if (tr_unpack_msg(msg, "i64", &k) != TR_OK) return tr_fail(ctx, "bad cast");
    state->total += k;
    return 0;
}

TR_SERVER_CAST(ctr_release, counter)
{
    if (!state->holding) return 0;
    state->holding = false;
    return tr_server_reply(ctx, state->held, A_TOTAL, &state->total, sizeof state->total);
}

/* cast "ctr.watch" (pid): monitors it; its "tr.down" is a cast too */
TR_SERVER_CAST(ctr_watch, counter)
{
    tr_pid who;
    if (tr_unpack_msg(msg, "pid", &who) != TR_OK) return tr_fail(ctx, "bad watch");
    tr_ref ref;
    return tr_monitor(ctx, who, &ref);
}

TR_SERVER_CAST(ctr_down, counter)
{
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(msg, &who, &why) != TR_OK) return tr_fail(ctx, "bad down");
    return t_report_int(ctx, "ctr.down", (int)why.kind);
}

#define CTR_CALLS                                                                              \
    TR_SERVER_CALLS({"ctr.add", ctr_add}, {"ctr.get", ctr_get}, {"ctr.ack", ctr_ack},         \
                    {"ctr.wait", ctr_wait}, {"ctr.unexpected", ctr_unexpected},                \
                    {"ctr.where", ctr_where}, {"ctr.crash", ctr_crash},                        \
                    {"ctr.relay", ctr_relay})
#define CTR_CASTS                                                                              \
    TR_SERVER_CASTS({"ctr.add", ctr_add_cast}, {"ctr.release", ctr_release},                   \
                    {"ctr.watch", ctr_watch}, {"tr.down", ctr_down})

TR_SERVER_DEFINE(ctr, counter, .init = ctr_init, .terminate = ctr_end, .calls = CTR_CALLS,
                 .casts = CTR_CASTS);

/* The same server, strict about unexpected messages. */
TR_SERVER_DEFINE(ctr_strict, counter, .init = ctr_init, .terminate = ctr_end,
                 .calls = CTR_CALLS, .casts = CTR_CASTS, .unexpected = TR_SERVER_FAIL);

/* The same, with a catch-all that reports what it got (and answers a
 * request itself). */
TR_SERVER_CAST(ctr_other, counter)
{
    if (tr_msg_is_request(msg)) tr_reply(ctx, msg, tr_atom_from("other.ans"), NULL, 0);
    return t_report(ctx, "ctr.other", tr_atom_name(tr_msg_type(msg)));
}

TR_SERVER_DEFINE(ctr_catchall, counter, .init = ctr_init, .terminate = ctr_end,
                 .calls = CTR_CALLS, .casts = CTR_CASTS, .other = ctr_other);

/* A table listing one type twice: init fails. */
TR_SERVER_DEFINE(ctr_dup, counter, .calls = TR_SERVER_CALLS({"x.a", ctr_ack}, {"x.a", ctr_get}));

/* ------------------------------------------------------------ helpers */

static tr_pid spawn(t_env *e, const tr_behaviour *b, int64_t start)
{
    tr_pid p;
    tr_spawn_opts o = {.args = &start, .args_size = sizeof start};
    assert_int_equal(tr_system_spawn(e->sys, b, &o, &p), TR_OK);
    return p;
}

/* A call from the test thread; returns the reply (owned by the caller). */
static tr_msg *call(t_env *e, tr_pid to, const char *type, const void *data, size_t size,
                    int want_rc)
{
    tr_msg *reply = NULL;
    int rc = tr_call_sync(e->sys, to, tr_atom_from(type), data, size, 5000, &reply);
    assert_int_equal(rc, want_rc);
    return reply;
}

static int64_t call_i64(t_env *e, tr_pid to, const char *type, int64_t arg)
{
    tr_msg *r = call(e, to, type, &arg, sizeof arg, TR_OK);
    assert_true(tr_msg_is(r, A_TOTAL));
    int64_t v;
    assert_int_equal(tr_unpack_msg(r, "i64", &v), TR_OK);
    tr_msg_destroy(&r);
    return v;
}

static int setup(void **state)
{
    A_TOTAL = tr_atom_from("ctr.total");
    A_WHERE = tr_atom_from("ctr.where.ans");
    return t_setup(state);
}

/* -------------------------------------------------------------- tests */

static void test_calls_and_casts(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr, 10);
    assert_int_equal(call_i64(e, c, "ctr.add", 5), 15); /* init args, packed answer */
    int64_t k = 100;
    /* the same type as a one-way message goes to the cast handler */
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("ctr.add"), &k, sizeof k), TR_OK);
    tr_msg *r = call(e, c, "ctr.get", NULL, 0, TR_OK); /* answer_set from the state */
    assert_true(tr_msg_is(r, A_TOTAL));
    assert_int_equal(tr_msg_size(r), sizeof(int64_t));
    int64_t v;
    memcpy(&v, tr_msg_data(r), sizeof v);
    assert_int_equal(v, 115);
    tr_msg_destroy(&r);
    /* a handler that sets no answer: "tr.ok", empty */
    r = call(e, c, "ctr.ack", NULL, 0, TR_OK);
    assert_true(tr_msg_is(r, tr_server_ok_atom()));
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "tr.ok");
    assert_int_equal(tr_msg_size(r), 0);
    tr_msg_destroy(&r);
    /* behaviour name from TR_SERVER_DEFINE */
    assert_string_equal(ctr.name, "ctr");
}

/* The deferred call is answered from a later cast; meanwhile the server
 * goes on serving. From an actor-less caller, so a thread waits. */
typedef struct waiter_arg {
    t_env *e;
    tr_pid server;
    int rc;
    int64_t value;
} waiter_arg;

static void *waiter(void *p)
{
    waiter_arg *w = p;
    tr_msg *r = NULL;
    w->rc = tr_call_sync(w->e->sys, w->server, tr_atom_from("ctr.wait"), NULL, 0, 5000, &r);
    if (w->rc == TR_OK && tr_msg_size(r) == sizeof w->value)
        memcpy(&w->value, tr_msg_data(r), sizeof w->value);
    tr_msg_destroy(&r);
    return NULL;
}

static void test_deferred_answer(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr, 1);
    waiter_arg w = {e, c, -99, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waiter, &w), 0);
    t_expect(e, "ctr.holding");
    /* the server goes on serving while the request waits */
    assert_int_equal(call_i64(e, c, "ctr.add", 41), 42);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("ctr.release"), NULL, 0), TR_OK);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, TR_OK);
    assert_int_equal(w.value, 42);
}

static void test_deferred_then_server_ends(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr, 1);
    waiter_arg w = {e, c, -99, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waiter, &w), 0);
    t_expect(e, "ctr.holding");
    /* the server ends holding it: the waiter hears "tr.down" at once */
    assert_int_equal(tr_system_stop_child(e->sys, c), TR_OK);
    assert_int_equal(t_expect_int(e, "ctr.end"), TR_EXIT_SHUTDOWN);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, TR_ENOENT);
}

static void test_continuation_gets_typed_state(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn(e, &ctr, 100);
    tr_pid b = spawn(e, &ctr, 23);
    uint8_t buf[TR_PACK_PID_SIZE];
    size_t len;
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "pid", b), TR_OK);
    tr_msg *r = call(e, a, "ctr.relay", buf, len, TR_OK);
    int64_t v;
    assert_int_equal(tr_msg_size(r), sizeof v);
    memcpy(&v, tr_msg_data(r), sizeof v);
    assert_int_equal(v, 123);
    tr_msg_destroy(&r);
}

static void test_unexpected_logged_and_counted(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr, 0);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("nobody.knows"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("ctr.wait"), NULL, 0), TR_OK);
    /* an unexpected request is declined: its caller times out */
    tr_msg *r = NULL;
    assert_int_equal(
        tr_call_sync(e->sys, c, tr_atom_from("ctr.release"), NULL, 0, 50, &r), TR_ETIMEDOUT);
    assert_null(r);
    r = call(e, c, "ctr.unexpected", NULL, 0, TR_OK);
    uint64_t n;
    assert_int_equal(tr_unpack_msg(r, "u64", &n), TR_OK);
    assert_int_equal(n, 3); /* a cast-only type as a call, and the reverse, count too */
    tr_msg_destroy(&r);
    /* the server goes on */
    assert_int_equal(call_i64(e, c, "ctr.add", 2), 2);
}

static void test_unexpected_fails_when_strict(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr_strict, 0);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, c, &mon), TR_OK);
    assert_int_equal(call_i64(e, c, "ctr.add", 2), 2);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("nobody.knows"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "ctr.end"), TR_EXIT_FAILURE);
    const tr_msg *d = t_expect(e, "tr.down");
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(d, &who, &why), TR_OK);
    assert_non_null(why.text);
    assert_non_null(strstr(why.text, "unexpected message nobody.knows"));
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
}

static void test_other_catches_all(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr_catchall, 0);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("nobody.knows"), NULL, 0), TR_OK);
    t_expect_str(e, "ctr.other", "nobody.knows");
    tr_msg *r = call(e, c, "what.is.this", NULL, 0, TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "other.ans");
    tr_msg_destroy(&r);
    t_expect_str(e, "ctr.other", "what.is.this");
    r = call(e, c, "ctr.unexpected", NULL, 0, TR_OK);
    uint64_t n;
    assert_int_equal(tr_unpack_msg(r, "u64", &n), TR_OK);
    assert_int_equal(n, 0);
    tr_msg_destroy(&r);
}

static void test_casts_include_runtime_notices(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn(e, &ctr, 0);
    tr_pid other = spawn(e, &ctr, 0);
    uint8_t buf[TR_PACK_PID_SIZE];
    size_t len;
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "pid", other), TR_OK);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("ctr.watch"), buf, len), TR_OK);
    assert_int_equal(call_i64(e, c, "ctr.add", 0), 0); /* c has sent its monitor */
    /* and `other` has taken it (queued before this call): a stop request
     * overtakes queued messages, and a monitor arriving after the end
     * would say noproc */
    assert_int_equal(call_i64(e, other, "ctr.add", 0), 0);
    assert_int_equal(tr_system_stop_child(e->sys, other), TR_OK);
    /* "ctr.end" (other's terminate) and "ctr.down" (c's cast) */
    int got = 0;
    for (int i = 0; i < 2; i++) {
        const tr_msg *m = t_recv(e);
        const char *t = tr_atom_name(tr_msg_type(m));
        if (strcmp(t, "ctr.down") == 0) {
            assert_int_equal(t_int(m), TR_EXIT_SHUTDOWN);
            got |= 1;
        } else {
            assert_string_equal(t, "ctr.end");
            got |= 2;
        }
    }
    assert_int_equal(got, 3);
}

static void test_init_paths(void **state)
{
    t_env *e = *state;
    /* ignored: no terminate, state freed (ASan) */
    tr_pid p = spawn(e, &ctr, -1);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, p, &mon), TR_OK);
    t_expect(e, "tr.down");
    /* a bad table fails init: the system reports it */
    tr_pid d;
    assert_int_equal(tr_system_spawn(e->sys, &ctr_dup, NULL, &d), TR_OK);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_non_null(strstr(tr_system_report(e->sys), "bad handler table"));
    t_expect_none(e);
}

static void test_supervised_and_registered(void **state)
{
    t_env *e = *state;
    assert_int_equal(tr_behaviour_register("test.ctr", &ctr), TR_OK);
    assert_ptr_equal(tr_behaviour_find("test.ctr"), &ctr);
    int64_t start = 7;
    tr_child_spec kids[] = {{.id = "counter",
                             .behaviour = &ctr,
                             .args = &start,
                             .args_size = sizeof start,
                             .register_as = "counter"}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE,
                        .intensity = 5,
                        .period_ms = 10000,
                        .children = kids,
                        .nchildren = 1};
    tr_pid sup;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &sup, NULL, 0), TR_OK);
    tr_msg *r = NULL;
    assert_int_equal(tr_call_named_sync(e->sys, "counter", tr_atom_from("ctr.where"), NULL, 0,
                                        5000, &r),
                     TR_OK);
    const char *path;
    assert_int_equal(tr_unpack_msg(r, "str", &path), TR_OK);
    assert_non_null(strstr(path, "/counter"));
    tr_msg_destroy(&r);
    /* a crash: the supervisor restarts it, fresh state from its args */
    int64_t one = 1;
    assert_int_equal(tr_call_named_sync(e->sys, "counter", tr_atom_from("ctr.add"), &one,
                                        sizeof one, 5000, &r),
                     TR_OK);
    tr_msg_destroy(&r);
    assert_int_equal(tr_call_named_sync(e->sys, "counter", tr_atom_from("ctr.crash"), NULL, 0,
                                        5000, &r),
                     TR_ENOENT);
    tr_msg_destroy(&r);
    assert_int_equal(t_expect_int(e, "ctr.end"), TR_EXIT_FAILURE);
    int64_t v = -1;
    for (int64_t end = t_now_ms() + T_WAIT_MS; t_now_ms() < end;) {
        int rc = tr_call_named_sync(e->sys, "counter", tr_atom_from("ctr.add"), &one, sizeof one,
                                    5000, &r);
        if (rc == TR_OK) {
            assert_int_equal(tr_unpack_msg(r, "i64", &v), TR_OK);
            tr_msg_destroy(&r);
            break;
        }
        tr_msg_destroy(&r);
        sched_yield(); /* between the end and the restart the name is free */
    }
    assert_int_equal(v, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calls_and_casts, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_answer, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_then_server_ends, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_continuation_gets_typed_state, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_logged_and_counted, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_fails_when_strict, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_other_catches_all, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_casts_include_runtime_notices, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_init_paths, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_supervised_and_registered, setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
