/* test_remote_spawn.c — children on other nodes (tr_spawn_opts.node,
 * tr_child_spec.node): start notices, forwarding through the stub, the
 * parent's ordered stop reaching across nodes, a child's failure reaching
 * its parent, a lost connection on either side (the stub ends
 * noconnection, the child is killed on its node: no orphan), refusals,
 * supervisors, and a chain of children across sixteen nodes stopping
 * deepest first. Nodes share this process (inproc), so one atomic counter
 * orders events on different nodes. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "nodeutil.h"

static atomic_uint order; /* terminate order across every node */

/* ------------------------------------------------------------ behaviours */

/* rs.child: args {report pid, id}. Answers requests with their payload,
 * sends plain messages back to their sender, "tell" {pid}: sends its own
 * pid there, "fail": fails, "stop": stops. Its terminate reports "bye"
 * {id, order} to the report pid. */
typedef struct child_args {
    tr_pid report;
    uint32_t id;
    int32_t init_rc; /* what init returns */
} child_args;

static int child_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    if (n != sizeof(child_args)) return TR_EINVAL;
    memcpy(st, args, n);
    return ((child_args *)st)->init_rc;
}

static int child_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is_request(m))
        return tr_reply(ctx, m, tr_atom_from("echo"), tr_msg_data(m), tr_msg_size(m));
    if (tr_msg_is(m, tr_atom_from("fail"))) return tr_fail(ctx, "asked to fail");
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_stop(ctx);
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("tell"))) {
        tr_pid to, me = tr_self(ctx);
        memcpy(&to, tr_msg_data(m), sizeof to);
        return tr_send(ctx, to, tr_atom_from("hello"), &me, sizeof me);
    }
    if (!tr_pid_is_nil(tr_msg_sender(m)))
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("back"), tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static void child_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    const child_args *a = st;
    uint32_t bye[3] = {a->id, atomic_fetch_add(&order, 1), (uint32_t)why->kind};
    tr_send(ctx, a->report, tr_atom_from("bye"), bye, sizeof bye);
}

static const tr_behaviour child_b = {"rs.child", sizeof(child_args), child_init, child_handle,
                                     child_terminate};

/* rs.chain: args {report pid, level, levels}: spawns the next level on
 * node "n<level+1>", reports "up" {level} once started, "bye" when it
 * ends. */
typedef struct chain_args {
    tr_pid report;
    uint32_t level, levels;
} chain_args;

static int chain_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    if (n != sizeof(chain_args)) return TR_EINVAL;
    chain_args *a = st;
    memcpy(a, args, n);
    if (a->level + 1 < a->levels) {
        chain_args next = {a->report, a->level + 1, a->levels};
        char node[16];
        snprintf(node, sizeof node, "n%u", a->level + 1);
        int rc = tr_spawn(ctx, tr_behaviour_find("rs.chain"),
                          &(tr_spawn_opts){.args = &next, .args_size = sizeof next, .node = node},
                          NULL);
        if (rc != TR_OK) return rc;
    }
    return tr_send(ctx, a->report, tr_atom_from("up"), &a->level, sizeof a->level);
}

static int chain_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static void chain_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)why;
    const chain_args *a = st;
    uint32_t bye[3] = {a->level, atomic_fetch_add(&order, 1), (uint32_t)why->kind};
    tr_send(ctx, a->report, tr_atom_from("bye"), bye, sizeof bye);
}

static const tr_behaviour chain_b = {"rs.chain", sizeof(chain_args), chain_init, chain_handle,
                                     chain_terminate};

/* rs.parent (local only): traps exits; "spawn" {spawn_req} spawns an
 * rs.child on that node (its start notice to the report pid) and reports
 * "spawned" {rc, pid}; children's exits are reported as "exit" {kind} +
 * text. */
typedef struct spawn_req {
    char node[16], reg[16]; /* reg "": none */
    child_args ca;
} spawn_req;

static int parent_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    memcpy(st, args, n);
    tr_trap_exits(ctx, true);
    return 0;
}

static int parent_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tr_pid report = *(tr_pid *)st;
    if (tr_msg_is(m, tr_atom_from("spawn"))) {
        spawn_req rq;
        memcpy(&rq, tr_msg_data(m), sizeof rq);
        struct {
            int32_t rc;
            tr_pid pid;
        } out = {0};
        out.rc = tr_spawn(ctx, &child_b,
                          &(tr_spawn_opts){.args = &rq.ca,
                                           .args_size = sizeof rq.ca,
                                           .node = rq.node,
                                           .register_as = rq.reg[0] ? rq.reg : NULL,
                                           .started_to = report},
                          &out.pid);
        return tr_send(ctx, report, tr_atom_from("spawned"), &out, sizeof out);
    }
    tr_pid who;
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, &who, &why) == TR_OK) {
        char buf[600];
        uint32_t k = (uint32_t)why.kind;
        memcpy(buf, &k, sizeof k);
        snprintf(buf + sizeof k, sizeof buf - sizeof k, "%s", why.text ? why.text : "");
        return tr_send(ctx, report, tr_atom_from("exit"), buf, sizeof k + strlen(buf + sizeof k) + 1);
    }
    return 0;
}

static const tr_behaviour parent_b = {"rs.parent", sizeof(tr_pid), parent_init, parent_handle, NULL};

/* ------------------------------------------------------------- helpers */

static tr_start_status expect_started(tr_inbox *in, tr_pid who, tr_exit *why)
{
    tr_pid got;
    tr_start_status st;
    assert_int_equal(tr_started_decode(expect_in(in, "tr.started"), &got, &st, why), TR_OK);
    assert_true(tr_pid_eq(got, who));
    return st;
}

static const uint32_t *expect_bye(tr_inbox *in, uint32_t id)
{
    const uint32_t *b = tr_msg_data(expect_in(in, "bye"));
    assert_int_equal(b[0], id);
    return b;
}

static tr_pid child_pid_of(cluster *c, tr_pid stub)
{
    tr_pid me = tr_inbox_pid(c->in[0]), r;
    assert_int_equal(tr_inbox_send(c->in[0], stub, tr_atom_from("tell"), &me, sizeof me), TR_OK);
    memcpy(&r, tr_msg_data(expect_in(c->in[0], "hello")), sizeof r);
    return r;
}

/* A child spawned on `node` by node 0's trapping parent; its start
 * notice is awaited (and its status returned in *st). */
static tr_pid spawn_under(cluster *c, tr_pid parent, const char *node, const char *reg,
                          child_args ca, tr_start_status *st, tr_exit *why)
{
    spawn_req rq = {.ca = ca};
    snprintf(rq.node, sizeof rq.node, "%s", node);
    snprintf(rq.reg, sizeof rq.reg, "%s", reg ? reg : "");
    assert_int_equal(tr_inbox_send(c->in[0], parent, tr_atom_from("spawn"), &rq, sizeof rq), TR_OK);
    const struct {
        int32_t rc;
        tr_pid pid;
    } *sp = tr_msg_data(expect_in(c->in[0], "spawned"));
    assert_int_equal(sp->rc, TR_OK);
    tr_pid stub = sp->pid;
    *st = expect_started(c->in[0], stub, why);
    return stub;
}

static tr_pid start_parent(cluster *c)
{
    tr_pid report = tr_inbox_pid(c->in[0]), parent;
    assert_int_equal(tr_system_spawn(c->sys[0], &parent_b,
                                     &(tr_spawn_opts){.args = &report, .args_size = sizeof report},
                                     &parent),
                     TR_OK);
    return parent;
}

static tr_pid spawn_child(cluster *c, int from, const char *node, uint32_t id)
{
    child_args ca = {tr_inbox_pid(c->in[from]), id, 0};
    tr_pid stub;
    assert_int_equal(tr_system_spawn(c->sys[from], &child_b,
                                     &(tr_spawn_opts){.args = &ca,
                                                      .args_size = sizeof ca,
                                                      .node = node,
                                                      .started_to = tr_inbox_pid(c->in[from])},
                                     &stub),
                     TR_OK);
    return stub;
}

/* ---------------------------------------------------------------- tests */

/* The child starts on the other node; what is sent to the stub reaches it
 * in order, from its first message on (sent before it had started); calls
 * are answered by the child itself. */
static void test_starts_and_answers(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid stub = spawn_child(&c, 0, "n1", 1);
    assert_int_equal(stub.node, tr_system_node(c.sys[0])); /* the stub is here */
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(tr_inbox_send(c.in[0], stub, tr_atom_from("n"), &i, sizeof i), TR_OK);
    assert_int_equal(expect_started(c.in[0], stub, NULL), TR_START_OK);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(*(const uint32_t *)tr_msg_data(expect_in(c.in[0], "back")), i);
    tr_pid r = child_pid_of(&c, stub);
    assert_int_equal(r.node, tr_system_node(c.sys[1])); /* the child is there */
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(c.sys[0], stub, tr_atom_from("q"), "ping", 5, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_msg_data(reply), "ping");
    assert_true(tr_pid_eq(tr_msg_sender(reply), r));
    tr_msg_destroy(&reply);
    cluster_free(&c);
}

/* Stopping the stub stops the child there first: its terminate's "bye"
 * comes before the stub's own end. Nothing stays behind on node 1. */
static void test_stop_reaches_the_child(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_system_stats before;
    assert_int_equal(tr_system_get_stats(c.sys[1], &before), TR_OK);
    tr_pid stub = spawn_child(&c, 0, "n1", 7);
    assert_int_equal(expect_started(c.in[0], stub, NULL), TR_START_OK);
    assert_int_equal(tr_inbox_monitor(c.in[0], stub, NULL), TR_OK);
    assert_int_equal(tr_system_stop_child(c.sys[0], stub), TR_OK);
    assert_int_equal(expect_bye(c.in[0], 7)[2], TR_EXIT_SHUTDOWN);
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(expect_in(c.in[0], "tr.down"), &who, &why), TR_OK);
    assert_true(tr_pid_eq(who, stub));
    assert_int_equal(why.kind, TR_EXIT_SHUTDOWN);
    /* the child and its host are gone from node 1 */
    tr_system_stats after;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do assert_int_equal(tr_system_get_stats(c.sys[1], &after), TR_OK);
    while (after.actors_live != before.actors_live && t_now_ms() < end);
    assert_int_equal(after.actors_live, before.actors_live);
    cluster_free(&c);
}

/* A child's failure reaches its parent as a local child's would, saying
 * on which node; its own end ("stop") is a normal exit. */
static void test_exit_reaches_the_parent(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid parent = start_parent(&c);
    for (int i = 0; i < 2; i++) {
        tr_start_status st;
        child_args ca = {tr_inbox_pid(c.in[0]), (uint32_t)i, 0};
        tr_pid stub = spawn_under(&c, parent, "n1", NULL, ca, &st, NULL);
        assert_int_equal(st, TR_START_OK);
        assert_int_equal(tr_inbox_send(c.in[0], stub, tr_atom_from(i ? "stop" : "fail"), NULL, 0),
                         TR_OK);
        expect_bye(c.in[0], (uint32_t)i);
        const char *e = tr_msg_data(expect_in(c.in[0], "exit"));
        uint32_t kind;
        memcpy(&kind, e, sizeof kind);
        if (i == 0) {
            assert_int_equal(kind, TR_EXIT_FAILURE);
            assert_string_equal(e + sizeof kind, "on node n1: asked to fail");
        } else {
            assert_int_equal(kind, TR_EXIT_NORMAL);
        }
    }
    cluster_free(&c);
}

/* The connection between the nodes is lost: the parent's side sees its
 * child end with noconnection, and the child's node kills the child. */
static void test_lost_connection_kills_the_child(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid stub = spawn_child(&c, 0, "n1", 3);
    assert_int_equal(expect_started(c.in[0], stub, NULL), TR_START_OK);
    tr_pid r = child_pid_of(&c, stub);
    assert_int_equal(tr_inbox_monitor(c.in[0], stub, NULL), TR_OK);
    assert_int_equal(tr_inbox_monitor(c.in[1], r, NULL), TR_OK);
    tr_msg *reply = NULL; /* answered after the monitor was taken in (order) */
    assert_int_equal(tr_call_sync(c.sys[1], r, tr_atom_from("q"), NULL, 0, T_WAIT_MS, &reply), TR_OK);
    tr_msg_destroy(&reply);
    tr_node_stop(&c.node[1]); /* node 1's systems live on, unconnected */
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(expect_in(c.in[0], "tr.down"), &who, &why), TR_OK);
    assert_true(tr_pid_eq(who, stub));
    assert_int_equal(why.kind, TR_EXIT_NOCONNECTION);
    /* on node 1 the child ends, killed (its terminate still runs) */
    const tr_msg *m;
    bool down = false;
    while (!down) {
        assert_int_equal(tr_inbox_recv(c.in[1], &m, T_WAIT_MS), TR_OK);
        if (tr_msg_is(m, tr_atom_from("bye"))) continue; /* to node 0: undeliverable */
        assert_int_equal(tr_exit_decode(m, &who, &why), TR_OK);
        assert_true(tr_pid_eq(who, r));
        assert_int_equal(why.kind, TR_EXIT_KILLED);
        down = true;
    }
    cluster_free(&c);
}

/* Starts that cannot happen: no such node (noconnection at once), a
 * register_as clash there, an init that fails there, one that asks to be
 * ignored; an unregistered behaviour or no node at all are refused at the
 * call. */
static void test_refused_starts(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid in0 = tr_inbox_pid(c.in[0]), stub, parent = start_parent(&c);
    tr_exit why;
    tr_start_status st;
    child_args ca = {in0, 1, 0};
    spawn_under(&c, parent, "n9", NULL, ca, &st, &why);
    assert_int_equal(st, TR_START_FAILED);
    assert_int_equal(why.kind, TR_EXIT_NOCONNECTION);
    assert_string_equal(why.text, "node n9 is not connected");
    assert_int_equal(*(const uint32_t *)tr_msg_data(expect_in(c.in[0], "exit")), TR_EXIT_NOCONNECTION);
    /* a name taken there */
    ca.id = 2;
    spawn_under(&c, parent, "n1", "taken", ca, &st, NULL);
    assert_int_equal(st, TR_START_OK);
    spawn_under(&c, parent, "n1", "taken", ca, &st, &why);
    assert_int_equal(st, TR_START_FAILED);
    assert_int_equal(why.kind, TR_EXIT_FAILURE);
    assert_non_null(strstr(why.text, "cannot start \"rs.child\" on node n1"));
    expect_in(c.in[0], "exit");
    /* init fails there, or asks to be ignored */
    ca.init_rc = TR_EINVAL;
    spawn_under(&c, parent, "n1", NULL, ca, &st, &why);
    assert_int_equal(st, TR_START_FAILED);
    assert_non_null(strstr(why.text, "init returned"));
    expect_in(c.in[0], "exit");
    ca.init_rc = TR_INIT_IGNORE;
    spawn_under(&c, parent, "n1", NULL, ca, &st, NULL);
    assert_int_equal(st, TR_START_IGNORED);
    assert_int_equal(*(const uint32_t *)tr_msg_data(expect_in(c.in[0], "exit")), TR_EXIT_NORMAL);
    /* refused at the call */
    tr_spawn_opts o = {.args = &ca, .args_size = sizeof ca, .node = "n1"};
    static const tr_behaviour unregistered = {"nobody", 0, NULL, child_handle, NULL};
    assert_int_equal(tr_system_spawn(c.sys[0], &unregistered, &o, &stub), TR_EINVAL);
    tr_system *plain;
    assert_int_equal(tr_system_new(&(tr_system_opts){.workers = 1}, &plain), TR_OK);
    assert_int_equal(tr_system_spawn(plain, &child_b, &o, &stub), TR_ENOROUTE);
    tr_system_destroy(&plain);
    cluster_free(&c);
}

/* A supervisor's child on another node: restarted there when it fails. */
static void test_supervised_remote_child(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    child_args ca = {tr_inbox_pid(c.in[0]), 5, 0};
    tr_child_spec kids[] = {{.id = "far", .behaviour = &child_b, .args = &ca, .args_size = sizeof ca,
                             .restart = TR_PERMANENT, .node = "n1"}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 3, .period_ms = 60000,
                        .children = kids, .nchildren = 1};
    tr_pid sup;
    char why[256];
    assert_int_equal(tr_supervisor_start(c.sys[0], &spec, "sup", T_WAIT_MS, &sup, why, sizeof why),
                     TR_OK);
    tr_child_info info[1];
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(c.sys[0], sup, info, 1, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 1);
    tr_pid first = info[0].pid;
    assert_int_equal(child_pid_of(&c, first).node, tr_system_node(c.sys[1]));
    assert_int_equal(tr_inbox_send(c.in[0], first, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_bye(c.in[0], 5);
    tr_pid second = TR_PID_NIL;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do {
        assert_int_equal(tr_sup_which_children_sync(c.sys[0], sup, info, 1, &n, T_WAIT_MS), TR_OK);
        second = info[0].pid;
    } while ((tr_pid_is_nil(second) || tr_pid_eq(second, first)) && t_now_ms() < end);
    assert_false(tr_pid_eq(second, first));
    assert_int_equal(child_pid_of(&c, second).node, tr_system_node(c.sys[1]));
    /* a spec whose remote child could not run anywhere else is refused */
    tr_child_spec bad = kids[0];
    static const tr_behaviour unregistered = {"nobody", 0, NULL, child_handle, NULL};
    bad.behaviour = &unregistered;
    spec.children = &bad;
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "registered by name"));
    cluster_free(&c);
}

/* A chain of children, each on the next of sixteen nodes: stopping its
 * top stops them deepest first, and the top ends last. */
static void test_chain_stops_in_order(void **state)
{
    (void)state;
    enum { LEVELS = 16 };
    cluster c = cluster_new();
    cluster_mesh(&c, LEVELS);
    chain_args top = {tr_inbox_pid(c.in[0]), 0, LEVELS};
    tr_pid pid;
    assert_int_equal(tr_system_spawn(c.sys[0], &chain_b,
                                     &(tr_spawn_opts){.args = &top, .args_size = sizeof top}, &pid),
                     TR_OK);
    bool up[LEVELS] = {false};
    for (int i = 0; i < LEVELS; i++) {
        uint32_t level = *(const uint32_t *)tr_msg_data(expect_in(c.in[0], "up"));
        assert_true(level < LEVELS && !up[level]);
        up[level] = true;
    }
    assert_int_equal(tr_inbox_monitor(c.in[0], pid, NULL), TR_OK);
    assert_int_equal(tr_system_stop_child(c.sys[0], pid), TR_OK);
    uint32_t seq[LEVELS];
    for (int i = 0; i < LEVELS; i++) {
        const uint32_t *b = tr_msg_data(expect_in(c.in[0], "bye"));
        seq[b[0]] = b[1];
    }
    for (int i = 1; i < LEVELS; i++) assert_true(seq[i] < seq[i - 1]); /* deeper ended first */
    expect_in(c.in[0], "tr.down");
    cluster_free(&c);
}

int main(void)
{
    tr_log_set_level(getenv("TLOG") ? TR_LOG_DEBUG : TR_LOG_ERROR);
    assert_int_equal(tr_behaviour_register("rs.child", &child_b), TR_OK);
    assert_int_equal(tr_behaviour_register("rs.chain", &chain_b), TR_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_and_answers),
        cmocka_unit_test(test_stop_reaches_the_child),
        cmocka_unit_test(test_exit_reaches_the_parent),
        cmocka_unit_test(test_lost_connection_kills_the_child),
        cmocka_unit_test(test_refused_starts),
        cmocka_unit_test(test_supervised_remote_child),
        cmocka_unit_test(test_chain_stops_in_order),
    };
    return cmocka_run_group_tests_name("remote_spawn", tests, NULL, NULL);
}
