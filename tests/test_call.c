/* test_call.c — request/reply: one answer per call, whatever races. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* ------------------------------------------------------------- actors */

/* Server: "add" answers k+1 at once; "hold" keeps the request to answer
 * on "release"; "fail" fails while holding what it holds. */
typedef struct server {
    tr_request held[64];
    int nheld;
} server;

static int server_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    server *s = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "add") == 0) {
        uint64_t k = t_u64(m) + 1;
        return tr_reply(ctx, m, tr_atom_from("sum"), &k, sizeof k);
    }
    if (strcmp(t, "hold") == 0) {
        assert_true(tr_msg_is_request(m));
        s->held[s->nheld++] = tr_msg_request(m);
        return t_report(ctx, "holding", "");
    }
    if (strcmp(t, "release") == 0) {
        for (int i = 0; i < s->nheld; i++) {
            uint64_t v = 42;
            assert_int_equal(tr_reply_to(ctx, s->held[i], tr_atom_from("late"), &v, sizeof v),
                             TR_OK);
        }
        s->nheld = 0;
        return t_report(ctx, "released", "");
    }
    if (strcmp(t, "fail") == 0) return tr_fail(ctx, "server broke");
    if (strcmp(t, "sync_call") == 0) { /* tr_call_sync is not for actors */
        tr_msg *r = NULL;
        int64_t rc = tr_call_sync(tr_ctx_system(ctx), tr_self(ctx), tr_atom_from("add"), NULL, 0,
                                  10, &r);
        assert_null(r);
        return tr_send(ctx, t_probe, tr_atom_from("sync_rc"), &rc, sizeof rc);
    }
    return 0;
}

static const tr_behaviour server_b = {"server", sizeof(server), NULL, server_handle, NULL};

/* Client: "go" {to, type, timeout, count} makes `count` calls; every
 * answer is reported to the probe as "answer" {ref, type name}. */
typedef struct go_req {
    tr_pid to;
    char type[16];
    int64_t timeout;
    uint32_t count;
    uint64_t arg;
} go_req;

typedef struct answer {
    uint64_t ref;
    char type[24];
    uint64_t value;
    uint32_t exit_kind;
} answer;

static int client_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (strcmp(tr_atom_name(tr_msg_type(m)), "go") == 0) {
        go_req g;
        memcpy(&g, tr_msg_data(m), sizeof g);
        for (uint32_t i = 0; i < g.count; i++) {
            tr_ref ref;
            int rc = tr_call(ctx, g.to, tr_atom_from(g.type), &g.arg, sizeof g.arg, g.timeout, &ref);
            assert_int_equal(rc, TR_OK);
            assert_true(ref.id != 0);
        }
        return t_report(ctx, "called", "");
    }
    answer a = {tr_msg_ref(m).id, {0}, 0, 0};
    snprintf(a.type, sizeof a.type, "%s", tr_atom_name(tr_msg_type(m)));
    if (tr_msg_size(m) == sizeof(uint64_t)) a.value = t_u64(m);
    tr_pid who;
    tr_exit why;
    if (tr_exit_info(m, &who, &why) == TR_OK) a.exit_kind = why.kind;
    return tr_send(ctx, t_probe, tr_atom_from("answer"), &a, sizeof a);
}

static const tr_behaviour client_b = {"client", 0, NULL, client_handle, NULL};

/* Guard: traps its children's exits, so a failing server below it does
 * not take the whole tree (and the client) down. */
static int guard_init(tr_ctx *ctx, void *vs, const void *args, size_t n)
{
    (void)vs, (void)args, (void)n;
    tr_pid s;
    assert_int_equal(tr_spawn(ctx, &server_b, NULL, &s), TR_OK);
    return tr_send(ctx, t_probe, tr_atom_from("guarded"), &s, sizeof s);
}

static int guard_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)ctx, (void)vs, (void)m;
    return 0;
}

static const tr_behaviour guard_b = {"guard", 0, guard_init, guard_handle, NULL};

static void go(t_env *e, tr_pid client, tr_pid to, const char *type, int64_t timeout,
               uint32_t count)
{
    go_req g = {to, {0}, timeout, count, 7};
    snprintf(g.type, sizeof g.type, "%s", type);
    tr_inbox_send(e->probe, client, tr_atom_from("go"), &g, sizeof g);
    t_expect(e, "called");
}

static answer next_answer(t_env *e)
{
    answer a;
    memcpy(&a, tr_msg_data(t_expect(e, "answer")), sizeof a);
    return a;
}

static void spawn2(t_env *e, tr_pid *server, tr_pid *client)
{
    assert_int_equal(tr_system_spawn(e->sys, &server_b, NULL, server), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &client_b, NULL, client), TR_OK);
}

/* -------------------------------------------------------------- tests */

static void test_reply_carries_ref(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go(e, c, s, "add", TR_INFINITY, 3);
    for (uint64_t i = 1; i <= 3; i++) {
        answer a = next_answer(e);
        assert_int_equal(a.ref, i); /* refs are fresh and answers in order */
        assert_string_equal(a.type, "sum");
        assert_int_equal(a.value, 8);
    }
}

/* Timeout first: the late reply is dropped, the caller sees one answer. */
static void test_timeout_then_late_reply_dropped(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go(e, c, s, "hold", 20, 1);
    t_expect(e, "holding");
    answer a = next_answer(e); /* real clock: 20 ms */
    assert_string_equal(a.type, "tr.timeout");
    assert_int_equal(a.ref, 1);
    tr_inbox_send(e->probe, s, tr_atom_from("release"), NULL, 0);
    t_expect(e, "released");
    /* the late reply went to c first; prove c had nothing to report: a
     * fresh call's answer is the next thing the probe sees */
    go(e, c, s, "add", TR_INFINITY, 1);
    a = next_answer(e);
    assert_string_equal(a.type, "sum");
    assert_int_equal(a.ref, 2);
}

/* Replies racing their timeouts (0 ms): every call gets exactly one answer. */
static void test_reply_racing_timeout_gives_one_answer(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    enum { N = 2000 };
    go(e, c, s, "add", 0, N);
    static uint8_t seen[N + 1];
    memset(seen, 0, sizeof seen);
    int replies = 0, timeouts = 0;
    for (int i = 0; i < N; i++) {
        answer a = next_answer(e);
        assert_true(a.ref >= 1 && a.ref <= N);
        assert_int_equal(seen[a.ref], 0);
        seen[a.ref] = 1;
        if (strcmp(a.type, "sum") == 0) replies++;
        else if (strcmp(a.type, "tr.timeout") == 0) timeouts++;
        else fail_msg("unexpected answer %s", a.type);
    }
    assert_int_equal(replies + timeouts, N);
    /* nothing more: no second answer for any call */
    go(e, c, s, "add", TR_INFINITY, 1);
    answer last = next_answer(e);
    assert_int_equal(last.ref, N + 1);
}

/* The callee fails while holding requests: "down" at once, with its reason,
 * though the calls have no timeout. */
static void test_callee_down_answers_at_once(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    tr_pid s, c;
    tr_spawn_opts trap = {.flags = TR_SPAWN_TRAP_EXITS};
    assert_int_equal(tr_system_spawn(e->sys, &guard_b, &trap, NULL), TR_OK);
    memcpy(&s, tr_msg_data(t_expect(e, "guarded")), sizeof s);
    assert_int_equal(tr_system_spawn(e->sys, &client_b, NULL, &c), TR_OK);
    go(e, c, s, "hold", TR_INFINITY, 2);
    t_expect(e, "holding");
    t_expect(e, "holding");
    tr_inbox_send(e->probe, s, tr_atom_from("fail"), NULL, 0);
    for (int i = 0; i < 2; i++) {
        answer a = next_answer(e);
        assert_string_equal(a.type, "tr.down");
        assert_int_equal(a.exit_kind, TR_EXIT_FAILURE);
    }
    tr_log_set_level(TR_LOG_WARN);
}

/* A call to an actor that has ended is answered "down" (noproc). */
static void test_call_to_dead_actor(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    assert_int_equal(tr_system_stop_child(e->sys, s), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    go(e, c, s, "add", TR_INFINITY, 1);
    answer a = next_answer(e);
    assert_string_equal(a.type, "tr.down");
    assert_int_equal(a.exit_kind, TR_EXIT_NOPROC);
}

static void test_call_sync(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    uint64_t k = 41;
    tr_msg *r = NULL;
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("add"), &k, sizeof k, T_WAIT_MS, &r),
                     TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "sum");
    assert_int_equal(t_u64(r), 42);
    assert_true(tr_pid_eq(tr_msg_sender(r), s));
    tr_msg_destroy(&r);
    /* no answer within 30 ms */
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("hold"), NULL, 0, 30, &r), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 >= 29);
    assert_null(r);
    t_expect(e, "holding");
    /* from inside an actor it refuses rather than block a worker */
    tr_inbox_send(e->probe, s, tr_atom_from("sync_call"), NULL, 0);
    assert_int_equal((int64_t)t_u64(t_expect(e, "sync_rc")), TR_ENOTACTOR);
    /* a dead callee */
    tr_system_stop_child(e->sys, c);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    assert_int_equal(tr_call_sync(e->sys, c, tr_atom_from("add"), NULL, 0, T_WAIT_MS, &r), TR_ENOENT);
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "tr.down");
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_info(r, &who, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOPROC);
    assert_true(tr_pid_eq(who, c));
    tr_msg_destroy(&r);
}

/* Requests still queued when the callee stops are answered "down" too. */
static void test_queued_requests_answered_down(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go(e, c, s, "hold", TR_INFINITY, 1); /* s holds one ... */
    t_expect(e, "holding");
    tr_system_stop_child(e->sys, s); /* ... and is stopped */
    int downs = 0;
    answer a = next_answer(e);
    downs += strcmp(a.type, "tr.down") == 0;
    assert_int_equal(a.exit_kind, TR_EXIT_SHUTDOWN);
    assert_int_equal(downs, 1);
}

/* sink: never answers; "drop" answers nothing but declines every request
 * it holds (tr_request_drop), reporting how many it dropped. */
typedef struct sink {
    tr_request held[8];
    int n;
} sink;

static int sink_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    sink *s = vs;
    if (tr_msg_is_request(m) && s->n < 8) s->held[s->n++] = tr_msg_request(m);
    if (tr_msg_is(m, tr_atom_from("drop"))) {
        uint64_t dropped = 0;
        for (int i = 0; i < s->n; i++) dropped += tr_request_drop(ctx, s->held[i]) == TR_OK;
        uint64_t again = (uint64_t)(s->n ? -tr_request_drop(ctx, s->held[0]) : 0);
        s->n = 0;
        uint64_t out[2] = {dropped, again};
        return tr_send(ctx, t_probe, tr_atom_from("dropped"), out, sizeof out);
    }
    return 0;
}

static const tr_behaviour sink_b = {"sink", sizeof(sink), NULL, sink_handle, NULL};

/* A callee that never answers keeps only the requests somebody still
 * awaits: 20,000 calls with 1 ms timeouts, the clock moving on, leave it
 * holding a bounded number (it held all 20,000, ~50 bytes each, before
 * requests carried their deadline); and when it ends, only the calls
 * still awaited are answered "down". */
static void test_unanswered_requests_are_bounded(void **state)
{
    (void)state;
    tr_clock *clk;
    assert_int_equal(tr_clock_manual_new(&clk), TR_OK);
    t_env e = {0};
    tr_system_opts o = {.workers = 2, .clock = clk};
    assert_int_equal(tr_system_new(&o, &e.sys), TR_OK);
    assert_int_equal(tr_inbox_new(e.sys, &e.probe), TR_OK);
    t_probe = tr_inbox_pid(e.probe);
    tr_pid sk, c;
    assert_int_equal(tr_system_spawn(e.sys, &sink_b, NULL, &sk), TR_OK);
    assert_int_equal(tr_system_spawn(e.sys, &client_b, NULL, &c), TR_OK);
    for (int round = 0; round < 20; round++) {
        go(&e, c, sk, "q", 1, 1000);
        tr_actor_info info;
        assert_int_equal(tr_system_inspect(e.sys, sk, &info, T_WAIT_MS), TR_OK);
        assert_true(info.requests <= 2100); /* at most this round's and the last sweep's */
        assert_int_equal(tr_clock_advance(clk, 2), TR_OK); /* this round's calls time out */
        for (int i = 0; i < 1000; i++) assert_string_equal(next_answer(&e).type, "tr.timeout");
    }
    go(&e, c, sk, "q", TR_INFINITY, 3); /* still awaited: answered down at the end */
    tr_system_stop_child(e.sys, sk);
    for (int i = 0; i < 3; i++) assert_string_equal(next_answer(&e).type, "tr.down");
    tr_system_stop_child(e.sys, c);
    assert_int_equal(t_wait_live(e.sys, 0), 0);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e.probe, &m, 0), TR_ETIMEDOUT); /* no stray answers */
    tr_inbox_destroy(&e.probe);
    tr_system_destroy(&e.sys);
    tr_clock_destroy(&clk);
    assert_int_equal(tr_pool_outstanding(), 0);
}

/* tr_request_drop declines: the request is forgotten, so the callee's end
 * answers nothing and the caller sees its own timeout. */
static void test_request_drop(void **state)
{
    t_env *e = *state;
    tr_pid sk, c;
    assert_int_equal(tr_system_spawn(e->sys, &sink_b, NULL, &sk), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &client_b, NULL, &c), TR_OK);
    go(e, c, sk, "q", 200, 2);
    tr_inbox_send(e->probe, sk, tr_atom_from("drop"), NULL, 0);
    const tr_msg *m = t_expect(e, "dropped");
    uint64_t out[2];
    memcpy(out, tr_msg_data(m), sizeof out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], -TR_ENOENT); /* dropping twice: not pending */
    tr_system_stop_child(e->sys, sk);
    assert_string_equal(next_answer(e).type, "tr.timeout"); /* not "tr.down" */
    assert_string_equal(next_answer(e).type, "tr.timeout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_carries_ref, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_late_reply_dropped, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_reply_racing_timeout_gives_one_answer, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_callee_down_answers_at_once, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_call_to_dead_actor, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_call_sync, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_queued_requests_answered_down, t_setup, t_teardown),
        cmocka_unit_test(test_unanswered_requests_are_bounded),
        cmocka_unit_test_setup_teardown(test_request_drop, t_setup, t_teardown),
    };
    return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
