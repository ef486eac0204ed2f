/* test_cover_actors.c — documented edges of actors/ the rest of the suite
 * does not reach: waiters of other names sharing a table bucket with the
 * name registered, a wait whose timeout fired while the name came, a
 * "tr.name" decoder given something else, packers past TR_MSG_MAX and
 * past a 32-bit blob length, a server whose table names an empty type,
 * and an abandoned actor that sends owned messages and then fails. The
 * probe collects reports; the test thread asserts. */
#include <pthread.h>
#include <stdio.h>

#include "logcap.h"
#include "testutil.h"

/* The log is captured (logcap.h) for the tests to wait on lines. */

/* ------------------------------------------------- waiting for names */

static t_gate await_gate;

typedef struct await_req {
    char name[64];
    int64_t timeout_ms;
} await_req;

typedef struct named_rep {
    int32_t status;
    tr_pid pid;
    char name[64];
} named_rep;

/* awaiter: "await" {await_req} waits for that name, reports "awaiting"
 * {rc}; "hold" reports "holding" and holds its worker until await_gate
 * opens; "decode" reports "decoded" {tr_name_decode's result on that very
 * message}; a "tr.name" notice is reported as "named" {named_rep}. */
static int awaiter_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("await"))) {
        await_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        return t_report_int(ctx, "awaiting", tr_await_name(ctx, r.name, r.timeout_ms, NULL));
    }
    if (tr_msg_is(m, tr_atom_from("hold"))) {
        int rc = t_report(ctx, "holding", "");
        t_gate_wait(&await_gate);
        return rc;
    }
    if (tr_msg_is(m, tr_atom_from("decode")))
        return t_report_int(ctx, "decoded", tr_name_decode(m, NULL, NULL, NULL));
    if (tr_msg_is(m, tr_name_atom())) {
        named_rep n = {0};
        const char *name = "";
        n.status = tr_name_decode(m, NULL, &n.pid, &name);
        snprintf(n.name, sizeof n.name, "%s", name);
        return t_report_val(ctx, "named", &n, sizeof n);
    }
    return 0;
}

static const tr_behaviour awaiter_b = {"ca.awaiter", 0, NULL, awaiter_handle, NULL};

static tr_pid new_awaiter(t_env *e)
{
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &awaiter_b, NULL, &p), TR_OK);
    return p;
}

static void await(t_env *e, tr_pid who, const char *name, int64_t timeout_ms)
{
    await_req r = {{0}, timeout_ms};
    snprintf(r.name, sizeof r.name, "%s", name);
    assert_int_equal(tr_inbox_send(e->probe, who, tr_atom_from("await"), &r, sizeof r), TR_OK);
    assert_int_equal(t_expect_int(e, "awaiting"), TR_OK);
}

static named_rep expect_named(t_env *e)
{
    const tr_msg *m = t_expect(e, "named");
    named_rep n;
    assert_int_equal(tr_msg_size(m), sizeof n);
    memcpy(&n, tr_msg_data(m), sizeof n);
    return n;
}

/* The registry's waiter table has 256 buckets by FNV-1a of the name: a
 * name of `prefix`<n> that lands in the same bucket as `other` (found by
 * search; should the table change, the test still holds, with names that
 * merely differ). */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void same_bucket_name(const char *other, const char *prefix, char *out, size_t n)
{
    for (unsigned i = 0;; i++) {
        snprintf(out, n, "%s%u", prefix, i);
        if (fnv1a(out) % 256 == fnv1a(other) % 256 && strcmp(out, other) != 0) return;
    }
}

/* Waiters of several names in one bucket: registering one name tells
 * exactly its own waiters (all of them), and the others still get theirs
 * when their name comes. */
static void test_await_names_sharing_a_bucket(void **state)
{
    t_env *e = *state;
    const char *a = "ca.name.a";
    char b[64];
    same_bucket_name(a, "ca.name.b", b, sizeof b);
    tr_pid w1 = new_awaiter(e), w2 = new_awaiter(e), w3 = new_awaiter(e);
    tr_pid target = new_awaiter(e);
    await(e, w1, a, -1);
    await(e, w2, b, -1); /* the bucket holds w1's wait: kept (alive) */
    await(e, w3, a, -1);
    assert_int_equal(tr_register(e->sys, a, target), TR_OK);
    for (int i = 0; i < 2; i++) {
        named_rep n = expect_named(e);
        assert_int_equal(n.status, TR_OK);
        assert_true(tr_pid_eq(n.pid, target));
        assert_string_equal(n.name, a);
    }
    /* w2 was not told: a round trip through it proves nothing is queued */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, w2, &info, T_WAIT_MS), TR_OK);
    t_expect_none(e);
    assert_int_equal(tr_register(e->sys, b, target), TR_OK);
    named_rep n = expect_named(e);
    assert_int_equal(n.status, TR_OK);
    assert_string_equal(n.name, b);
}

/* A wait whose timeout has fired (its message queued behind a busy
 * callback) when the name is registered ends once, with the name: the
 * late timeout finds no waiter and is dropped. tr_name_decode refuses a
 * message that is not a "tr.name" notice. */
static void test_await_timeout_after_the_name(void **state)
{
    t_env *e = *state;
    t_gate_init(&await_gate);
    tr_pid w = new_awaiter(e), target = new_awaiter(e);
    await(e, w, "ca.late", 10);
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    assert_int_equal(tr_clock_advance(e->clock, 10), TR_OK); /* fired: queued behind "hold" */
    assert_int_equal(tr_register(e->sys, "ca.late", target), TR_OK);
    t_gate_open(&await_gate);
    named_rep n = expect_named(e);
    assert_int_equal(n.status, TR_OK);
    assert_true(tr_pid_eq(n.pid, target));
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, w, &info, T_WAIT_MS), TR_OK);
    t_expect_none(e); /* no second notice: no timeout */

    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("decode"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "decoded"), TR_EINVAL);
    assert_int_equal(tr_name_decode(NULL, NULL, NULL, NULL), TR_EINVAL);
}

/* ------------------------------------------------------------- packing */

/* A blob larger than TR_MSG_MAX, or than a 32-bit length can say, fails
 * the packer with TR_ETOOBIG (sticky), measuring or not; the data is not
 * read. */
static void test_pack_too_big(void **state)
{
    (void)state;
    static const uint8_t few[4] = {1, 2, 3, 4};
    tr_packer p;
    tr_packer_init(&p, NULL, 0);
    tr_pack_u8(&p, 7);
    assert_int_equal(tr_packer_error(&p), TR_OK);
    tr_pack_bytes(&p, few, (size_t)TR_MSG_MAX + 1);
    assert_int_equal(tr_packer_error(&p), TR_ETOOBIG);
    tr_pack_u8(&p, 7);
    assert_int_equal(tr_packer_error(&p), TR_ETOOBIG);

    uint8_t buf[64];
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_bytes(&p, few, (size_t)UINT32_MAX + 1);
    assert_int_equal(tr_packer_error(&p), TR_ETOOBIG);
}

/* ------------------------------------------------------------- servers */

TR_SERVER_CALL(ca_get, int)
{
    (void)ctx, (void)state, (void)msg, (void)answer;
    return 0;
}

/* a table row naming no type ("") cannot be resolved to an atom */
TR_SERVER_DEFINE(ca_bad_server, int, .calls = TR_SERVER_CALLS({"ca.get", ca_get}, {"", ca_get}));

/* A server whose table names an empty type fails its start (TR_EINVAL
 * from its init). */
static void test_server_empty_type(void **state)
{
    t_env *e = *state;
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &ca_bad_server, &(tr_spawn_opts){.started_to = t_probe},
                                     &p),
                     TR_OK);
    tr_pid who;
    tr_start_status st;
    tr_exit why;
    assert_int_equal(tr_started_decode(t_expect(e, "tr.started"), &who, &st, &why), TR_OK);
    assert_true(tr_pid_eq(who, p));
    assert_int_equal(st, TR_START_FAILED);
    assert_int_equal(why.kind, TR_EXIT_FAILURE);
}

/* ------------------------------------------------- the abandoned actor */

static t_gate stuck_gate;

/* stuck: "hold" reports "holding" and holds its worker until stuck_gate
 * opens (its parent abandons it meanwhile); then sends two owned
 * messages, one to no one, one to the probe, reports both results
 * through tr_system_send as "sends" {int[2]}, and fails. */
static int stuck_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (!tr_msg_is(m, tr_atom_from("hold"))) return 0;
    t_report(ctx, "holding", "");
    t_gate_wait(&stuck_gate);
    int rc[2];
    tr_msg *out = NULL;
    tr_msg_new(tr_atom_from("ca.lost"), 0, &out);
    rc[0] = tr_send_msg(ctx, TR_PID_NIL, &out);
    tr_msg_new(tr_atom_from("ca.lost"), 0, &out);
    rc[1] = tr_send_msg(ctx, t_probe, &out);
    tr_system *sys = tr_ctx_system(ctx);
    if (sys) tr_system_send(sys, t_probe, tr_atom_from("sends"), rc, sizeof rc);
    return TR_EINVAL; /* a failure nobody waits for any more */
}

static const tr_behaviour stuck_b = {"ca.stuck", 0, NULL, stuck_handle, NULL};

/* nursery (trapping): "spawn" spawns a stuck child with a 50 ms shutdown
 * and reports "child" {pid}; "stop" {pid} asks it to stop; each child
 * exit is reported as "exit" {kind}. */
static int nursery_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("spawn"))) {
        tr_pid c;
        int rc = tr_spawn(ctx, &stuck_b, &(tr_spawn_opts){.name = "stuck", .shutdown_ms = 50}, &c);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return t_report_val(ctx, "child", &c, sizeof c);
    }
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        T_CHECK(ctx, tr_stop_child(ctx, c) == TR_OK);
        return 0;
    }
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, NULL, &why) == TR_OK)
        return t_report_int(ctx, "exit", (int)why.kind);
    return 0;
}

static const tr_behaviour nursery_b = {"ca.nursery", 0, NULL, nursery_handle, NULL};

/* An abandoned actor's owned sends: one to the nil pid is refused
 * (TR_EINVAL), one to a pid is accepted and becomes a dead letter (no
 * subscriber: dropped, counted). Its failure afterwards reaches no parent
 * but is logged. */
static void test_abandoned_sends_and_fails(void **state)
{
    t_env *e = *state;
    t_log_clear();
    tr_log_set_handler(t_log_sink, NULL);
    tr_log_set_level(TR_LOG_WARN);
    t_gate_init(&stuck_gate);
    tr_pid nursery;
    assert_int_equal(tr_system_spawn(e->sys, &nursery_b,
                                     &(tr_spawn_opts){.flags = TR_SPAWN_TRAP_EXITS}, &nursery),
                     TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, nursery, tr_atom_from("spawn"), NULL, 0), TR_OK);
    tr_pid child = t_expect_pid(e, "child");
    assert_int_equal(tr_inbox_send(e->probe, child, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    assert_int_equal(tr_inbox_send(e->probe, nursery, tr_atom_from("stop"), &child, sizeof child),
                     TR_OK);
    tr_actor_info info; /* a round trip: the stop is asked, its timer armed */
    assert_int_equal(tr_system_inspect(e->sys, nursery, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_clock_advance(e->clock, 50), TR_OK);
    assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_KILLED); /* abandoned */

    tr_system_stats before;
    assert_int_equal(tr_system_get_stats(e->sys, &before), TR_OK);
    t_gate_open(&stuck_gate);
    const tr_msg *m = t_expect(e, "sends");
    int rc[2];
    assert_int_equal(tr_msg_size(m), sizeof rc);
    memcpy(rc, tr_msg_data(m), sizeof rc);
    assert_int_equal(rc[0], TR_EINVAL);
    assert_int_equal(rc[1], TR_OK);
    /* its failure is still told, though no parent hears of it */
    assert_true(t_log_wait("stuck failed: handle returned", "invalid argument", T_WAIT_MS, NULL, 0));
    assert_int_equal(t_wait_dead_letters(e->sys, before.dead_letters + 1),
                     before.dead_letters + 1);
    assert_int_equal(t_wait_live(e->sys, 1), 1); /* the nursery alone */
    t_expect_none(e); /* "ca.lost" never came */
    tr_log_set_handler(NULL, NULL);
    t_log_clear();
}

static int setup_clock_quiet(void **state)
{
    tr_clock *c;
    if (tr_clock_manual_new(&c) != TR_OK) return -1;
    tr_log_set_level(TR_LOG_ERROR); /* "did not stop in time" */
    tr_system_opts o = {.workers = 2, .clock = c, .long_callback_ms = -1};
    return t_setup_opts(state, &o);
}

static int teardown_quiet(void **state)
{
    int rc = t_teardown(state);
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    t_log_clear();
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_await_names_sharing_a_bucket, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_await_timeout_after_the_name, setup_clock_quiet,
                                        teardown_quiet),
        cmocka_unit_test(test_pack_too_big),
        cmocka_unit_test_setup_teardown(test_server_empty_type, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_sends_and_fails, setup_clock_quiet,
                                        teardown_quiet),
    };
    return cmocka_run_group_tests_name("cover_actors", tests, NULL, NULL);
}
