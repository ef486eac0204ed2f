/* test_call.c — request/reply: one answer per call, whatever races. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* ------------------------------------------------------------- actors */

/* Behaviours never assert (a cmocka failure on a worker thread is
 * undefined): they report what they saw and the test thread asserts. */

/* Server: "add" answers k+1 at once; "hold" keeps the request to answer
 * on "release"; "fail" fails while holding what it holds; "twice"
 * answers twice; "stop_self" stops; "plain" (not a request) tries to
 * answer it anyway. */
typedef struct server {
    tr_request held[64];
    int nheld;
} server;

/* What "plain" found out about a message that is not a request. */
typedef struct plain_report {
    int64_t reply_rc, reply_null_rc, reply_to_rc, drop_rc, bad_type_rc;
    uint64_t is_request, request_ref, msg_ref;
} plain_report;

static int server_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    server *s = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "add") == 0) {
        uint64_t k = t_u64(m) + 1;
        return tr_reply(ctx, m, tr_atom_from("sum"), &k, sizeof k);
    }
    if (strcmp(t, "twice") == 0) {
        uint64_t one = 1, two = 2;
        int rc = tr_reply(ctx, m, tr_atom_from("first"), &one, sizeof one);
        if (rc == TR_OK) rc = tr_reply(ctx, m, tr_atom_from("second"), &two, sizeof two);
        return rc;
    }
    if (strcmp(t, "hold") == 0) {
        if (!tr_msg_is_request(m) || s->nheld == 64)
            return t_report(ctx, "holding", "not a request");
        s->held[s->nheld++] = tr_msg_request(m);
        return t_report(ctx, "holding", "");
    }
    if (strcmp(t, "release") == 0) {
        int64_t bad = 0;
        for (int i = 0; i < s->nheld; i++) {
            uint64_t v = 42;
            bad += tr_reply_to(ctx, s->held[i], tr_atom_from("late"), &v, sizeof v) != TR_OK;
        }
        s->nheld = 0;
        return tr_send(ctx, t_probe, tr_atom_from("released"), &bad, sizeof bad);
    }
    if (strcmp(t, "plain") == 0) {
        uint64_t v = 1;
        tr_request none = tr_msg_request(m);
        plain_report r = {
            .reply_rc = tr_reply(ctx, m, tr_atom_from("sum"), &v, sizeof v),
            .reply_null_rc = tr_reply(ctx, NULL, tr_atom_from("sum"), &v, sizeof v),
            .reply_to_rc = tr_reply_to(ctx, none, tr_atom_from("sum"), &v, sizeof v),
            .drop_rc = tr_request_drop(ctx, none),
            .bad_type_rc = 0,
            .is_request = tr_msg_is_request(m),
            .request_ref = none.ref.id | none.caller.serial,
            .msg_ref = tr_msg_ref(m).id,
        };
        return tr_send(ctx, t_probe, tr_atom_from("plain"), &r, sizeof r);
    }
    if (strcmp(t, "bad_reply") == 0) { /* a request answered with bad arguments */
        int64_t rc[2] = {tr_reply(ctx, m, (tr_atom){0}, NULL, 0),
                         tr_reply(ctx, m, tr_atom_from("sum"), NULL, 8)};
        tr_send(ctx, t_probe, tr_atom_from("bad_reply"), rc, sizeof rc);
        return tr_reply(ctx, m, tr_atom_from("sum"), NULL, 0); /* then a good one */
    }
    if (strcmp(t, "stop_self") == 0) tr_stop(ctx);
    if (strcmp(t, "fail") == 0) return tr_fail(ctx, "server broke");
    if (strcmp(t, "sync_call") == 0) { /* tr_call_sync is not for actors */
        tr_msg *r = (tr_msg *)1;
        int64_t rc[2] = {tr_call_sync(tr_ctx_system(ctx), tr_self(ctx), tr_atom_from("add"), NULL,
                                      0, 10, &r),
                         r == NULL};
        return tr_send(ctx, t_probe, tr_atom_from("sync_rc"), rc, sizeof rc);
    }
    return 0;
}

static const tr_behaviour server_b = {"server", sizeof(server), NULL, server_handle, NULL};

/* Client: "go" {to, type, timeout, count} makes `count` calls (reported
 * as "called" with how many failed); "go_stop" first sends `to` a
 * "stop_self", then calls it; every answer is reported to the probe as
 * "answer" {ref, type name, value, exit kind, what tr_reply said to it};
 * "sync" answers "synced" (nothing was reported before it). */
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
    int32_t reply_rc; /* tr_reply to an answer: never a request */
} answer;

static int client_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "go") == 0 || strcmp(t, "go_stop") == 0) {
        go_req g;
        memcpy(&g, tr_msg_data(m), sizeof g);
        uint64_t failed = 0;
        if (t[2] == '_') failed += tr_send(ctx, g.to, tr_atom_from("stop_self"), NULL, 0) != TR_OK;
        for (uint32_t i = 0; i < g.count; i++) {
            tr_ref ref = {0};
            int rc = tr_call(ctx, g.to, tr_atom_from(g.type), &g.arg, sizeof g.arg, g.timeout, &ref);
            failed += rc != TR_OK || ref.id == 0;
        }
        return tr_send(ctx, t_probe, tr_atom_from("called"), &failed, sizeof failed);
    }
    if (strcmp(t, "sync") == 0) return t_report(ctx, "synced", "");
    answer a = {tr_msg_ref(m).id, {0}, 0, 0, 0};
    snprintf(a.type, sizeof a.type, "%s", t);
    if (tr_msg_size(m) == sizeof(uint64_t)) a.value = t_u64(m);
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) == TR_OK) a.exit_kind = why.kind;
    a.reply_rc = tr_reply(ctx, m, tr_atom_from("back"), NULL, 0);
    return tr_send(ctx, t_probe, tr_atom_from("answer"), &a, sizeof a);
}

static const tr_behaviour client_b = {"client", 0, NULL, client_handle, NULL};

/* Guard: traps its children's exits, so a failing server below it does
 * not take the whole tree (and the client) down. */
static int guard_init(tr_ctx *ctx, void *vs, const void *args, size_t n)
{
    (void)vs, (void)args, (void)n;
    tr_pid s = TR_PID_NIL;
    int rc = tr_spawn(ctx, &server_b, NULL, &s);
    if (rc != TR_OK) return rc; /* the test sees no "guarded" */
    return tr_send(ctx, t_probe, tr_atom_from("guarded"), &s, sizeof s);
}

static int guard_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)ctx, (void)vs, (void)m;
    return 0;
}

static const tr_behaviour guard_b = {"guard", 0, guard_init, guard_handle, NULL};

static void go_as(t_env *e, const char *how, tr_pid client, tr_pid to, const char *type,
                  int64_t timeout, uint32_t count)
{
    go_req g = {to, {0}, timeout, count, 7};
    snprintf(g.type, sizeof g.type, "%s", type);
    assert_int_equal(tr_inbox_send(e->probe, client, tr_atom_from(how), &g, sizeof g), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "called")), 0); /* no call failed */
}

static void go(t_env *e, tr_pid client, tr_pid to, const char *type, int64_t timeout,
               uint32_t count)
{
    go_as(e, "go", client, to, type, timeout, count);
}

/* go with "hold" requests: the client's "called" and the server's
 * "holding" for each come from two actors, in either order. */
static void go_hold(t_env *e, tr_pid client, tr_pid to, int64_t timeout, uint32_t count)
{
    go_req g = {to, {0}, timeout, count, 7};
    snprintf(g.type, sizeof g.type, "hold");
    assert_int_equal(tr_inbox_send(e->probe, client, tr_atom_from("go"), &g, sizeof g), TR_OK);
    bool called = false;
    for (uint32_t held = 0; !called || held < count;) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("called")) && !called) {
            assert_int_equal(t_u64(m), 0); /* no call failed */
            called = true;
        } else if (tr_msg_is(m, tr_atom_from("holding")) && held < count) {
            assert_string_equal(tr_msg_data(m), "");
            held++;
        } else {
            fail_msg("unexpected \"%s\"", tr_atom_name(tr_msg_type(m)));
        }
    }
}

static answer next_answer(t_env *e)
{
    answer a;
    memcpy(&a, tr_msg_data(t_expect(e, "answer")), sizeof a);
    assert_int_equal(a.reply_rc, TR_EINVAL); /* an answer is not a request */
    return a;
}

/* The next thing the client reports is "synced": no answer came before. */
static void expect_no_answer(t_env *e, tr_pid client)
{
    assert_int_equal(tr_inbox_send(e->probe, client, tr_atom_from("sync"), NULL, 0), TR_OK);
    t_expect(e, "synced");
}

static void spawn2(t_env *e, tr_pid *server, tr_pid *client)
{
    assert_int_equal(tr_system_spawn(e->sys, &server_b, NULL, server), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &client_b, NULL, client), TR_OK);
}

/* A system on a manual clock, for everything about call timeouts. */
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
    int rc = t_teardown(state);
    tr_clock_destroy(&c);
    return rc;
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

/* A call's timeout answers at its time, never before (manual clock); the
 * callee's reply after it is dropped: the caller sees one answer. */
static void test_timeout_then_late_reply_dropped(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go_hold(e, c, s, 20, 1);
    assert_int_equal(tr_clock_advance(ce->clock, 19), TR_OK);
    expect_no_answer(e, c);
    assert_int_equal(tr_clock_advance(ce->clock, 1), TR_OK);
    answer a = next_answer(e);
    assert_string_equal(a.type, "tr.timeout");
    assert_int_equal(a.ref, 1);
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("release"), NULL, 0), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "released")), 0);
    /* the late reply went to c first; prove c had nothing to report: a
     * fresh call's answer is the next thing the probe sees */
    go(e, c, s, "add", TR_INFINITY, 1);
    a = next_answer(e);
    assert_string_equal(a.type, "sum");
    assert_int_equal(a.ref, 2);
}

/* A reply in time cancels the timeout: moving the clock past it brings no
 * second answer. */
static void test_reply_in_time_cancels_timeout(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go(e, c, s, "add", 50, 1);
    answer a = next_answer(e);
    assert_string_equal(a.type, "sum");
    assert_int_equal(tr_clock_advance(ce->clock, 100), TR_OK);
    expect_no_answer(e, c);
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

/* Answering twice sends twice; the caller keeps the first. */
static void test_second_reply_dropped(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    tr_system_stats before, after;
    assert_int_equal(tr_system_get_stats(e->sys, &before), TR_OK);
    go(e, c, s, "twice", TR_INFINITY, 1);
    answer a = next_answer(e);
    assert_string_equal(a.type, "first");
    assert_int_equal(a.value, 1);
    go(e, c, s, "add", TR_INFINITY, 1); /* the next answer is the next call's */
    a = next_answer(e);
    assert_string_equal(a.type, "sum");
    assert_int_equal(a.ref, 2);
    assert_int_equal(tr_system_get_stats(e->sys, &after), TR_OK);
    /* go x2, two calls, three replies, two answers, two "called" */
    assert_int_equal(after.messages_sent - before.messages_sent, 11);
}

/* tr_reply, tr_reply_to and tr_request_drop refuse what is not a request
 * (TR_EINVAL), and a message that is not one has no token nor ref. */
static void test_not_a_request(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("plain"), NULL, 0), TR_OK);
    plain_report r;
    memcpy(&r, tr_msg_data(t_expect(e, "plain")), sizeof r);
    assert_int_equal(r.reply_rc, TR_EINVAL);
    assert_int_equal(r.reply_null_rc, TR_EINVAL);
    assert_int_equal(r.reply_to_rc, TR_EINVAL);
    assert_int_equal(r.drop_rc, TR_EINVAL);
    assert_int_equal(r.is_request, 0);
    assert_int_equal(r.request_ref, 0);
    assert_int_equal(r.msg_ref, 0);
    /* the probe got nothing else: no reply went anywhere */
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    /* a request answered with a type {0} or NULL data is refused too, and
     * can still be answered properly */
    go(e, c, s, "bad_reply", TR_INFINITY, 1);
    int64_t rc[2];
    memcpy(rc, tr_msg_data(t_expect(e, "bad_reply")), sizeof rc);
    assert_int_equal(rc[0], TR_EINVAL);
    assert_int_equal(rc[1], TR_EINVAL);
    answer a = next_answer(e);
    assert_string_equal(a.type, "sum");
    assert_int_equal(a.ref, 1);
}

/* caller: makes calls with bad arguments and reports each result */
static int caller_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    tr_pid to;
    memcpy(&to, tr_msg_data(m), sizeof to);
    tr_pid remote = {tr_system_node(tr_ctx_system(ctx)) + 1, 1, 1};
    static const char big[1];
    tr_atom q = tr_atom_from("q");
    tr_ref ref = {99};
    int64_t rc[8];
    rc[0] = tr_call(ctx, TR_PID_NIL, q, NULL, 0, 10, &ref);
    rc[1] = ref.id; /* cleared on error */
    rc[2] = tr_call(ctx, to, (tr_atom){0}, NULL, 0, 10, NULL);
    rc[3] = tr_call(ctx, to, q, NULL, 1, 10, NULL);
    rc[4] = tr_call(ctx, to, q, NULL, 0, -2, NULL);
    rc[5] = tr_call(ctx, to, q, big, (size_t)TR_MSG_MAX + 1, 10, NULL);
    rc[6] = tr_call(ctx, remote, q, NULL, 0, 10, NULL);
    rc[7] = tr_call(ctx, to, q, NULL, 0, TR_INFINITY, NULL); /* fine: no ref wanted */
    return tr_send(ctx, t_probe, tr_atom_from("call_rcs"), rc, sizeof rc);
}

static const tr_behaviour caller_b = {"caller", 0, NULL, caller_handle, NULL};

/* tr_call's error codes; a refused call sends nothing and answers nothing. */
static void test_call_errors(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid s, caller;
    assert_int_equal(tr_system_spawn(e->sys, &server_b, NULL, &s), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &caller_b, NULL, &caller), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, caller, tr_atom_from("go"), &s, sizeof s), TR_OK);
    int64_t rc[8];
    memcpy(rc, tr_msg_data(t_expect(e, "call_rcs")), sizeof rc);
    assert_int_equal(rc[0], TR_EINVAL);
    assert_int_equal(rc[1], 0);
    assert_int_equal(rc[2], TR_EINVAL);
    assert_int_equal(rc[3], TR_EINVAL);
    assert_int_equal(rc[4], TR_EINVAL);
    assert_int_equal(rc[5], TR_ETOOBIG);
    assert_int_equal(rc[6], TR_ENOROUTE);
    assert_int_equal(rc[7], TR_OK);
    /* no timer of a refused call fires: nothing reaches the caller */
    assert_int_equal(tr_clock_advance(ce->clock, 100), TR_OK);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    /* and from a non-actor thread */
    tr_msg *r = (tr_msg *)1;
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("q"), NULL, 0, 10, NULL), TR_EINVAL);
    assert_int_equal(tr_call_sync(NULL, s, tr_atom_from("q"), NULL, 0, 10, &r), TR_EINVAL);
    assert_null(r);
    assert_int_equal(tr_call_sync(e->sys, TR_PID_NIL, tr_atom_from("q"), NULL, 0, 10, &r),
                     TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, s, (tr_atom){0}, NULL, 0, 10, &r), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("q"), NULL, 1, 10, &r), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("q"), NULL, 0, -2, &r), TR_EINVAL);
    static const char one[1];
    assert_int_equal(
        tr_call_sync(e->sys, s, tr_atom_from("q"), one, (size_t)TR_MSG_MAX + 1, 10, &r),
        TR_ETOOBIG);
    tr_pid remote = {tr_system_node(e->sys) + 1, 1, 1};
    assert_int_equal(tr_call_sync(e->sys, remote, tr_atom_from("q"), NULL, 0, 10, &r), TR_ENOROUTE);
    assert_null(r);
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
    go_hold(e, c, s, TR_INFINITY, 2);
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("fail"), NULL, 0), TR_OK);
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
    /* no answer in time (the callee holds it: this cannot race) */
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("hold"), NULL, 0, 30, &r), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 >= 29);
    assert_null(r);
    assert_string_equal(tr_msg_data(t_expect(e, "holding")), "");
    /* from inside an actor it refuses rather than block a worker */
    assert_int_equal(tr_inbox_send(e->probe, s, tr_atom_from("sync_call"), NULL, 0), TR_OK);
    int64_t rc[2];
    memcpy(rc, tr_msg_data(t_expect(e, "sync_rc")), sizeof rc);
    assert_int_equal(rc[0], TR_ENOTACTOR);
    assert_int_equal(rc[1], 1); /* *reply was cleared */
    /* a dead callee */
    assert_int_equal(tr_system_stop_child(e->sys, c), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    assert_int_equal(tr_call_sync(e->sys, c, tr_atom_from("add"), NULL, 0, T_WAIT_MS, &r), TR_ENOENT);
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "tr.down");
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(r, &who, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOPROC);
    assert_true(tr_pid_eq(who, c));
    tr_msg_destroy(&r);
}

/* A request the callee handled and kept unanswered is answered "down"
 * with the callee's reason when it stops. */
static void test_held_request_answered_down(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    go_hold(e, c, s, TR_INFINITY, 1); /* s holds one ... */
    assert_int_equal(tr_system_stop_child(e->sys, s), TR_OK); /* ... and is stopped */
    answer a = next_answer(e);
    assert_string_equal(a.type, "tr.down");
    assert_int_equal(a.ref, 1);
    assert_int_equal(a.exit_kind, TR_EXIT_SHUTDOWN);
    expect_no_answer(e, c); /* once */
}

/* A request still queued (never handled) when its callee stops is answered
 * "down" too, at once: the client sends "stop_self" and then calls, so the
 * request waits behind the message that ends the callee. Handled, it would
 * have been answered "sum". */
static void test_queued_request_answered_down(void **state)
{
    t_env *e = *state;
    tr_pid s, c;
    spawn2(e, &s, &c);
    tr_system_stats before;
    assert_int_equal(tr_system_get_stats(e->sys, &before), TR_OK);
    go_as(e, "go_stop", c, s, "add", TR_INFINITY, 3);
    for (uint64_t i = 1; i <= 3; i++) {
        answer a = next_answer(e);
        assert_string_equal(a.type, "tr.down");
        assert_int_equal(a.ref, i);
        assert_int_equal(a.exit_kind, TR_EXIT_NOPROC); /* it never saw them */
    }
    expect_no_answer(e, c);
    tr_system_stats after;
    assert_int_equal(tr_system_get_stats(e->sys, &after), TR_OK);
    assert_int_equal(after.dead_letters - before.dead_letters, 3); /* the three requests */
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
 * answers nothing and the caller sees its own timeout (manual clock). */
static void test_request_drop(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid sk, c;
    assert_int_equal(tr_system_spawn(e->sys, &sink_b, NULL, &sk), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &client_b, NULL, &c), TR_OK);
    go(e, c, sk, "q", 200, 2);
    assert_int_equal(tr_inbox_send(e->probe, sk, tr_atom_from("drop"), NULL, 0), TR_OK);
    const tr_msg *m = t_expect(e, "dropped");
    uint64_t out[2];
    memcpy(out, tr_msg_data(m), sizeof out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], -TR_ENOENT); /* dropping twice: not pending */
    assert_int_equal(tr_system_stop_child(e->sys, sk), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    expect_no_answer(e, c); /* no "tr.down" for them */
    assert_int_equal(tr_clock_advance(ce->clock, 200), TR_OK);
    assert_string_equal(next_answer(e).type, "tr.timeout");
    assert_string_equal(next_answer(e).type, "tr.timeout");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, t_setup, t_teardown)
#define TC(f) cmocka_unit_test_setup_teardown(f, setup_clock, teardown_clock)
    const struct CMUnitTest tests[] = {
        T(test_reply_carries_ref),
        TC(test_timeout_then_late_reply_dropped),
        TC(test_reply_in_time_cancels_timeout),
        T(test_reply_racing_timeout_gives_one_answer),
        T(test_second_reply_dropped),
        T(test_not_a_request),
        TC(test_call_errors),
        T(test_callee_down_answers_at_once),
        T(test_call_to_dead_actor),
        T(test_call_sync),
        T(test_held_request_answered_down),
        T(test_queued_request_answered_down),
        cmocka_unit_test(test_unanswered_requests_are_bounded),
        TC(test_request_drop),
    };
    return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
