/* test_call_then.c — calls with continuations (tr_call_then and friends)
 * and the zero-copy tr_call_msg: the continuation runs exactly once, in
 * the caller's turn, with the reply, the timeout or the callee's "down";
 * never after the caller ended; never alongside handle. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* ------------------------------------------------------------- server */

/* "add": replies k+1 ("sum"); "hold": keeps the request; "release":
 * answers what it holds; "quit": stops without answering; "addr": replies the payload's
 * address and size (to see tr_call_msg move a block, not copy it). */
typedef struct server {
    tr_request held[16];
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
        if (s->nheld < 16) s->held[s->nheld++] = tr_msg_request(m);
        return t_report(ctx, "holding", "");
    }
    if (strcmp(t, "release") == 0) {
        int bad = 0;
        for (int i = 0; i < s->nheld; i++) {
            uint64_t v = 99;
            bad += tr_reply_to(ctx, s->held[i], tr_atom_from("late"), &v, sizeof v) != TR_OK;
        }
        s->nheld = 0;
        return t_report_int(ctx, "released", bad);
    }
    if (strcmp(t, "quit") == 0) { /* ends with the request unanswered */
        tr_stop(ctx);
        return 0;
    }
    if (strcmp(t, "addr") == 0) {
        uint64_t v[2] = {(uint64_t)(uintptr_t)tr_msg_data(m), tr_msg_size(m)};
        return tr_reply(ctx, m, tr_atom_from("addr"), v, sizeof v);
    }
    return 0;
}

static const tr_behaviour server_beh = {
    .name = "server", .state_size = sizeof(server), .handle = server_handle};

/* ------------------------------------------------------------- client */

/* What a continuation saw, reported to the probe as "answer". */
typedef struct answer {
    int status;
    int exit_kind; /* for "tr.down": tr_exit_decode's kind */
    uint64_t cookie;
    uint64_t value; /* the reply's u64, if it has one */
    char type[24];
} answer;

typedef struct client {
    tr_pid server;
    int many_left;
    uint64_t many_sum;
    uint64_t runs[64]; /* continuation runs per cookie (0..63) */
    int in_handle;     /* set while handle runs: a continuation must not see it */
} client;

static answer describe(int status, const tr_msg *m, void *cookie)
{
    answer a = {.status = status, .cookie = (uint64_t)(uintptr_t)cookie};
    snprintf(a.type, sizeof a.type, "%s", tr_atom_name(tr_msg_type(m)));
    if (tr_msg_size(m) >= sizeof a.value) memcpy(&a.value, tr_msg_data(m), sizeof a.value);
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) == TR_OK) a.exit_kind = (int)why.kind;
    return a;
}

static int on_answer(tr_ctx *ctx, void *vs, int status, const tr_msg *m, void *cookie)
{
    client *c = vs;
    uint64_t k = (uint64_t)(uintptr_t)cookie;
    if (!T_CHECK(ctx, k < 64 && c->in_handle == 0)) return TR_EFAILED;
    c->runs[k]++;
    answer a = describe(status, m, cookie);
    return t_report_val(ctx, "answer", &a, sizeof a);
}

static int on_many(tr_ctx *ctx, void *vs, int status, const tr_msg *m, void *cookie)
{
    client *c = vs;
    if (!T_CHECK(ctx, status == TR_OK)) return TR_EFAILED;
    /* each answer is k+1 for cookie k */
    if (!T_CHECK(ctx, t_u64(m) == (uint64_t)(uintptr_t)cookie + 1)) return TR_EFAILED;
    c->many_sum += t_u64(m);
    if (--c->many_left == 0) return t_report_u64(ctx, "many", c->many_sum);
    return 0;
}

/* The second link of a chain: a call made from inside a continuation. */
static int on_chain2(tr_ctx *ctx, void *vs, int status, const tr_msg *m, void *cookie)
{
    (void)vs;
    (void)cookie;
    if (!T_CHECK(ctx, status == TR_OK)) return TR_EFAILED;
    return t_report_u64(ctx, "chain", t_u64(m));
}

static int on_chain1(tr_ctx *ctx, void *vs, int status, const tr_msg *m, void *cookie)
{
    client *c = vs;
    (void)cookie;
    if (!T_CHECK(ctx, status == TR_OK)) return TR_EFAILED;
    uint64_t k = t_u64(m);
    return tr_call_then(ctx, c->server, tr_atom_from("add"), &k, sizeof k, 5000, on_chain2, NULL);
}

static int on_fail(tr_ctx *ctx, void *vs, int status, const tr_msg *m, void *cookie)
{
    (void)vs;
    (void)status;
    (void)m;
    (void)cookie;
    return tr_fail(ctx, "continuation failed on purpose");
}

static int client_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    client *c = vs;
    (void)ctx;
    if (size != sizeof c->server) return TR_EINVAL;
    memcpy(&c->server, args, sizeof c->server);
    return 0;
}

static int client_dispatch(tr_ctx *ctx, client *c, const tr_msg *m)
{
    const char *t = tr_atom_name(tr_msg_type(m));
    tr_atom add = tr_atom_from("add");
    uint64_t k = 41;
    if (strcmp(t, "sum") == 0) /* tr_call_msg's answer, the classic way */
        return t_report_u64(ctx, "sum", t_u64(m));
    if (tr_msg_ref(m).id != 0) return t_report(ctx, "leak", t); /* an answer reached handle */
    if (strcmp(t, "c.add") == 0)
        return tr_call_then(ctx, c->server, add, &k, sizeof k, 5000, on_answer, (void *)1);
    if (strcmp(t, "c.hold") == 0) { /* payload: the timeout */
        int64_t ms;
        memcpy(&ms, tr_msg_data(m), sizeof ms);
        return tr_call_then(ctx, c->server, tr_atom_from("hold"), NULL, 0, ms, on_answer,
                            (void *)2);
    }
    if (strcmp(t, "c.quit") == 0) /* the server ends while holding our call */
        return tr_call_then(ctx, c->server, tr_atom_from("quit"), NULL, 0, 5000, on_answer,
                            (void *)3);
    if (strcmp(t, "c.pid") == 0) { /* payload: a pid to call */
        tr_pid to;
        memcpy(&to, tr_msg_data(m), sizeof to);
        return tr_call_then(ctx, to, add, &k, sizeof k, 5000, on_answer, (void *)4);
    }
    if (strcmp(t, "c.named") == 0) /* payload: a name */
        return tr_call_named_then(ctx, tr_msg_data(m), add, &k, sizeof k, 5000, on_answer,
                                  (void *)5);
    if (strcmp(t, "c.many") == 0) {
        c->many_left = 60;
        c->many_sum = 0;
        for (uint64_t i = 0; i < 60; i++) {
            int rc = tr_call_then(ctx, c->server, add, &i, sizeof i, 5000, on_many,
                                  (void *)(uintptr_t)i);
            if (rc) return rc;
        }
        return 0;
    }
    if (strcmp(t, "c.chain") == 0)
        return tr_call_then(ctx, c->server, add, &k, sizeof k, 5000, on_chain1, NULL);
    if (strcmp(t, "c.msg") == 0) { /* a large payload, moved into the request */
        tr_msg *req;
        int rc = tr_msg_new(tr_atom_from("addr"), 5000, &req);
        if (rc) return rc;
        memset(tr_msg_buffer(req), 7, 5000);
        uint64_t at = (uint64_t)(uintptr_t)tr_msg_buffer(req);
        rc = t_report_u64(ctx, "buffer", at);
        if (rc == TR_OK) rc = tr_call_msg_then(ctx, c->server, &req, 5000, on_answer, (void *)6);
        if (rc == TR_OK && req != NULL) rc = t_report(ctx, "leak", "tr_call_msg kept *msg");
        return rc;
    }
    if (strcmp(t, "c.msg_small") == 0) { /* an inline payload, plain tr_call_msg */
        tr_msg *req;
        int rc = tr_msg_new(add, sizeof k, &req);
        if (rc) return rc;
        memcpy(tr_msg_buffer(req), &k, sizeof k);
        tr_ref ref;
        return tr_call_msg(ctx, c->server, &req, 5000, &ref);
    }
    if (strcmp(t, "c.failcont") == 0)
        return tr_call_then(ctx, c->server, add, &k, sizeof k, 5000, on_fail, NULL);
    if (strcmp(t, "c.leave") == 0) { /* a pending continuation, then stop */
        int rc = tr_call_then(ctx, c->server, tr_atom_from("hold"), NULL, 0, TR_INFINITY,
                              on_answer, (void *)9);
        tr_stop(ctx);
        return rc;
    }
    if (strcmp(t, "c.errors") == 0) {
        int r[5];
        tr_msg *none = NULL;
        r[0] = tr_call_then(ctx, c->server, add, &k, sizeof k, 5000, NULL, NULL);
        r[1] = tr_call_named_then(ctx, NULL, add, NULL, 0, 5000, on_answer, NULL);
        r[2] = tr_call_msg(ctx, c->server, &none, 5000, NULL);
        r[3] = tr_call_msg_then(ctx, c->server, NULL, 5000, on_answer, NULL);
        r[4] = tr_call_then(ctx, TR_PID_NIL, add, NULL, 0, 5000, on_answer, NULL);
        return t_report_val(ctx, "errors", r, sizeof r);
    }
    return 0;
}

static int client_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    client *c = vs;
    c->in_handle = 1;
    int rc = client_dispatch(ctx, c, m);
    c->in_handle = 0;
    return rc;
}

static void client_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    (void)why;
    t_report(ctx, "client.end", "");
}

static const tr_behaviour client_beh = {.name = "client",
                                        .state_size = sizeof(client),
                                        .init = client_init,
                                        .handle = client_handle,
                                        .terminate = client_terminate};

/* ------------------------------------------------------------- helpers */

static tr_pid spawn_server(t_env *e)
{
    tr_pid s;
    assert_int_equal(tr_system_spawn(e->sys, &server_beh, NULL, &s), TR_OK);
    return s;
}

static tr_pid spawn_client(t_env *e, tr_pid server)
{
    tr_pid c;
    tr_spawn_opts o = {.args = &server, .args_size = sizeof server};
    assert_int_equal(tr_system_spawn(e->sys, &client_beh, &o, &c), TR_OK);
    return c;
}

static void cmd(t_env *e, tr_pid to, const char *type, const void *data, size_t size)
{
    assert_int_equal(tr_system_send(e->sys, to, tr_atom_from(type), data, size), TR_OK);
}

static answer expect_answer(t_env *e)
{
    const tr_msg *m = t_expect(e, "answer");
    answer a;
    assert_int_equal(tr_msg_size(m), sizeof a);
    memcpy(&a, tr_msg_data(m), sizeof a);
    return a;
}

/* --------------------------------------------------------------- tests */

static void test_reply_runs_continuation(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    cmd(e, c, "c.add", NULL, 0);
    answer a = expect_answer(e);
    assert_int_equal(a.status, TR_OK);
    assert_string_equal(a.type, "sum");
    assert_int_equal(a.value, 42);
    assert_int_equal(a.cookie, 1);
    /* a chain: the continuation calls again; its continuation answers */
    cmd(e, c, "c.chain", NULL, 0);
    assert_int_equal(t_expect_u64(e, "chain"), 43);
    t_expect_none(e); /* nothing reached handle ("leak") */
}

static void test_many_pending_each_once(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    cmd(e, c, "c.many", NULL, 0);
    /* 60 calls pending at once (the table grows): sum of (i + 1) */
    assert_int_equal(t_expect_u64(e, "many"), 60 * 61 / 2);
    cmd(e, c, "c.many", NULL, 0); /* again, over the recycled table */
    assert_int_equal(t_expect_u64(e, "many"), 60 * 61 / 2);
    t_expect_none(e);
}

static void test_timeout_then_late_reply_dropped(void **state)
{
    t_env *e = *state;
    tr_pid s = spawn_server(e);
    tr_pid c = spawn_client(e, s);
    int64_t ms = 20;
    cmd(e, c, "c.hold", &ms, sizeof ms);
    t_expect(e, "holding");
    answer a = expect_answer(e);
    assert_int_equal(a.status, TR_ETIMEDOUT);
    assert_string_equal(a.type, "tr.timeout");
    assert_int_equal(a.cookie, 2);
    /* the late reply is dropped: no second run, nothing in handle */
    cmd(e, s, "release", NULL, 0);
    assert_int_equal(t_expect_int(e, "released"), 0);
    cmd(e, c, "c.add", NULL, 0); /* a round trip through the client */
    a = expect_answer(e);
    assert_int_equal(a.cookie, 1);
    t_expect_none(e);
}

static void test_down_noproc(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    /* a pid of this node that names no live actor */
    tr_pid dead = tr_inbox_pid(e->probe);
    dead.serial += 1000000;
    cmd(e, c, "c.pid", &dead, sizeof dead);
    answer a = expect_answer(e);
    assert_int_equal(a.status, TR_ENOENT);
    assert_string_equal(a.type, "tr.down");
    assert_int_equal(a.cookie, 4);
    assert_int_equal(a.exit_kind, TR_EXIT_NOPROC);
    t_expect_none(e);
}

static void test_named(void **state)
{
    t_env *e = *state;
    tr_pid s = spawn_server(e);
    tr_pid c = spawn_client(e, s);
    assert_int_equal(tr_register(e->sys, "adder", s), TR_OK);
    cmd(e, c, "c.named", "adder", 6);
    answer a = expect_answer(e);
    assert_int_equal(a.status, TR_OK);
    assert_int_equal(a.value, 42);
    assert_int_equal(a.cookie, 5);
    /* no such name: not an error, a "down" (noproc) in a later turn */
    cmd(e, c, "c.named", "nobody", 7);
    a = expect_answer(e);
    assert_int_equal(a.status, TR_ENOENT);
    assert_string_equal(a.type, "tr.down");
    assert_int_equal(a.exit_kind, TR_EXIT_NOPROC);
    assert_int_equal(a.cookie, 5);
    t_expect_none(e);
}

static void test_call_msg_moves_large_payload(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    cmd(e, c, "c.msg", NULL, 0);
    uint64_t at = t_expect_u64(e, "buffer");
    const tr_msg *m = t_expect(e, "answer");
    answer a;
    memcpy(&a, tr_msg_data(m), sizeof a);
    assert_int_equal(a.status, TR_OK);
    assert_string_equal(a.type, "addr");
    assert_int_equal(a.cookie, 6);
    /* the server saw the very buffer the client filled: moved, not copied */
    assert_int_equal(a.value, at);
    cmd(e, c, "c.msg_small", NULL, 0);
    assert_int_equal(t_expect_u64(e, "sum"), 42);
    t_expect_none(e);
}

static void test_errors_and_ownership(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    cmd(e, c, "c.errors", NULL, 0);
    const tr_msg *m = t_expect(e, "errors");
    int r[5];
    memcpy(r, tr_msg_data(m), sizeof r);
    for (int i = 0; i < 5; i++) assert_int_equal(r[i], TR_EINVAL);
    /* from outside an actor */
    assert_int_equal(tr_call_then(NULL, c, tr_atom_from("add"), NULL, 0, 10, on_answer, NULL),
                     TR_ENOTACTOR);
    tr_msg *msg;
    assert_int_equal(tr_msg_new(tr_atom_from("add"), 8, &msg), TR_OK);
    assert_int_equal(tr_call_msg(NULL, c, &msg, 10, NULL), TR_ENOTACTOR);
    assert_null(msg); /* taken and freed even so (teardown checks the pools) */
    t_expect_none(e);
}

static void test_continuation_failure_fails_caller(void **state)
{
    t_env *e = *state;
    tr_pid c = spawn_client(e, spawn_server(e));
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, c, &mon), TR_OK);
    cmd(e, c, "c.failcont", NULL, 0);
    t_expect(e, "client.end");
    const tr_msg *d = t_expect(e, "tr.down");
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(d, &who, &why), TR_OK);
    assert_true(tr_pid_eq(who, c));
    assert_int_equal(why.kind, TR_EXIT_FAILURE);
    assert_non_null(why.text);
    assert_non_null(strstr(why.text, "continuation failed on purpose"));
}

static void test_no_run_after_caller_ended(void **state)
{
    t_env *e = *state;
    tr_pid s = spawn_server(e);
    tr_pid c = spawn_client(e, s);
    tr_ref mon;
    assert_int_equal(tr_inbox_monitor(e->probe, c, &mon), TR_OK);
    cmd(e, c, "c.leave", NULL, 0);
    /* from two actors and the runtime: in any order */
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        const char *t = tr_atom_name(tr_msg_type(t_recv(e)));
        seen |= strcmp(t, "holding") == 0 ? 1 : strcmp(t, "client.end") == 0 ? 2
                                             : strcmp(t, "tr.down") == 0    ? 4
                                                                            : 8;
    }
    assert_int_equal(seen, 7);
    /* the server answers the ended caller now: its continuation is gone */
    cmd(e, s, "release", NULL, 0);
    assert_int_equal(t_expect_int(e, "released"), 0);
    /* and the server's "hold" of a now-dead caller costs nothing more: a
     * round trip through the server proves the reply was handled */
    tr_msg *reply = NULL;
    uint64_t k = 1;
    assert_int_equal(tr_call_sync(e->sys, s, tr_atom_from("add"), &k, sizeof k, 5000, &reply),
                     TR_OK);
    tr_msg_destroy(&reply);
    t_expect_none(e);
}

static void test_down_when_callee_ends(void **state)
{
    t_env *e = *state;
    tr_pid s = spawn_server(e);
    tr_pid c = spawn_client(e, s);
    cmd(e, c, "c.quit", NULL, 0);
    answer a = expect_answer(e);
    assert_int_equal(a.status, TR_ENOENT);
    assert_string_equal(a.type, "tr.down");
    assert_int_equal(a.exit_kind, TR_EXIT_NORMAL);
    assert_int_equal(a.cookie, 3);
    t_expect_none(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_runs_continuation, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_many_pending_each_once, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_late_reply_dropped, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_down_noproc, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_down_when_callee_ends, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_named, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_call_msg_moves_large_payload, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_ownership, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_continuation_failure_fails_caller, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_no_run_after_caller_ended, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
