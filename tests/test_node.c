/* test_node.c — nodes in one process over inproc: location transparency
 * (send, call, monitor, link, names, a pid passed on through a third node),
 * the full mesh from one seed, and what a lost node means (noconnection for
 * monitors, links and pending calls; node events). Everything waits on
 * messages or node events, with deadlines. */
#include <stdio.h>
#include <stdlib.h>

#include "nodeutil.h"

/* echo: answers requests with their payload, plain messages back to their
 * sender; "report" messages go to the pid inside them (a payload pid) */
static int echo_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is_request(m))
        return tr_reply(ctx, m, tr_atom_from("echo"), tr_msg_data(m), tr_msg_size(m));
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "asked to");
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("fail"))) return tr_fail(ctx, "asked to fail");
    if (tr_msg_is(m, tr_atom_from("tell"))) { /* payload: a pid to tell our pid to */
        tr_pid to;
        memcpy(&to, tr_msg_data(m), sizeof to);
        tr_pid me = tr_self(ctx);
        return tr_send(ctx, to, tr_atom_from("hello"), &me, sizeof me);
    }
    if (!tr_pid_is_nil(tr_msg_sender(m)))
        return tr_send(ctx, tr_msg_sender(m), tr_atom_from("back"), tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static const tr_behaviour echo_b = {"echo", 0, NULL, echo_handle, NULL};

/* watcher: "watch" {pid} monitors it, "link" {pid} links to it (trapping
 * exits); reports downs and exits to the pid given at spawn */
typedef struct watcher {
    tr_pid report;   /* must stay first */
    tr_ref name_call; /* the call_name under way */
} watcher;

static int watcher_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    if (n != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(st, args, n);
    tr_trap_exits(ctx, true);
    return 0;
}

static int watcher_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tr_pid report = *(tr_pid *)st;
    tr_pid who;
    if (tr_msg_is(m, tr_atom_from("watch"))) {
        memcpy(&who, tr_msg_data(m), sizeof who);
        int rc = tr_monitor(ctx, who, NULL);
        return tr_send(ctx, report, tr_atom_from("watching"), &rc, sizeof rc);
    }
    if (tr_msg_is(m, tr_atom_from("link"))) {
        memcpy(&who, tr_msg_data(m), sizeof who);
        int rc = tr_link(ctx, who);
        return tr_send(ctx, report, tr_atom_from("linked"), &rc, sizeof rc);
    }
    if (tr_msg_is(m, tr_atom_from("call"))) {
        memcpy(&who, tr_msg_data(m), sizeof who);
        return tr_call(ctx, who, tr_atom_from("q"), "x", 1, TR_INFINITY, NULL);
    }
    if (tr_msg_is(m, tr_atom_from("call_name"))) { /* payload: "name@node" */
        int rc = tr_call_named(ctx, tr_msg_data(m), tr_inspect_atom(), NULL, 0, T_WAIT_MS,
                               &((watcher *)st)->name_call);
        return rc ? tr_send(ctx, report, tr_atom_from("call_failed"), &rc, sizeof rc) : 0;
    }
    if (tr_msg_ref(m).id && tr_msg_ref(m).id == ((watcher *)st)->name_call.id) {
        /* the answer to call_name: who answered */
        tr_pid from = tr_msg_sender(m);
        uint32_t down = tr_msg_is(m, tr_down_atom());
        char buf[sizeof from + sizeof down];
        memcpy(buf, &from, sizeof from);
        memcpy(buf + sizeof from, &down, sizeof down);
        return tr_send(ctx, report, tr_atom_from("answered"), buf, sizeof buf);
    }
    if (tr_msg_is(m, tr_atom_from("make_fail"))) { /* after our monitor and link, in order */
        memcpy(&who, tr_msg_data(m), sizeof who);
        return tr_send(ctx, who, tr_atom_from("fail"), NULL, 0);
    }
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) == TR_OK) {
        uint32_t k[2] = {(uint32_t)why.kind, tr_msg_is(m, tr_down_atom())};
        return tr_send(ctx, report, tr_atom_from(tr_msg_is_request(m) ? "?" : "saw"), k, sizeof k);
    }
    return 0;
}

static const tr_behaviour watcher_b = {"watcher", sizeof(watcher), watcher_init, watcher_handle, NULL};

/* Two nodes: a send, a call, a name, both ways; the pids are the same
 * values on both sides. */
static void test_two_nodes_send_call_name(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid e1;
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b,
                                     &(tr_spawn_opts){.register_as = "echo"}, &e1),
                     TR_OK);
    /* a call from node 0's thread to node 1's actor */
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(c.sys[0], e1, tr_atom_from("q"), "ping", 5, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_msg_data(reply), "ping");
    assert_true(tr_pid_eq(tr_msg_sender(reply), e1));
    tr_msg_destroy(&reply);
    /* a send from an inbox on node 0: the echo answers its sender */
    assert_int_equal(tr_inbox_send(c.in[0], e1, tr_atom_from("x"), "abc", 4), TR_OK);
    const tr_msg *m = expect_in(c.in[0], "back");
    assert_string_equal(tr_msg_data(m), "abc");
    /* a name on the other node */
    assert_int_equal(tr_inbox_send(c.in[0], TR_PID_NIL, tr_atom_from("x"), NULL, 0), TR_EINVAL);
    tr_pid probe0 = tr_inbox_pid(c.in[0]);
    assert_int_equal(tr_system_send_named(c.sys[0], "echo@n1", tr_atom_from("tell"), &probe0,
                                          sizeof probe0),
                     TR_OK);
    m = expect_in(c.in[0], "hello");
    tr_pid told;
    memcpy(&told, tr_msg_data(m), sizeof told);
    assert_true(tr_pid_eq(told, e1));
    /* room in the queue to node 1 (tr_inbox_notify_room): it is empty, so
     * "tr.room" comes at once, naming node 1; refusals */
    assert_int_equal(tr_inbox_notify_room(c.in[0], e1), TR_OK);
    m = expect_in(c.in[0], "tr.room");
    uint32_t id;
    assert_int_equal(tr_msg_size(m), sizeof id);
    memcpy(&id, tr_msg_data(m), sizeof id);
    assert_int_equal(id, e1.node);
    assert_int_equal(tr_inbox_notify_room(c.in[0], probe0), TR_EINVAL); /* this node's */
    assert_int_equal(tr_inbox_notify_room(NULL, e1), TR_EINVAL);
    assert_int_equal(tr_node_notify_room(NULL, e1), TR_ENOTACTOR);
    assert_int_equal(tr_inbox_notify_room(c.in[0], TR_PID_NIL), TR_EINVAL);
    tr_pid nowhere = {e1.node ^ 0x5a5a5a5a, 1, 1};
    assert_int_equal(tr_inbox_notify_room(c.in[0], nowhere), TR_ENOROUTE);
    cluster_free(&c);
}

/* Names across nodes: calls by name (from a thread and from an actor),
 * whereis on another node, and names that do not exist there. */
static void test_names_across_nodes(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid e1, found;
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b, &(tr_spawn_opts){.register_as = "echo"}, &e1),
                     TR_OK);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_named_sync(c.sys[0], "echo@n1", tr_atom_from("q"), "hi", 3, T_WAIT_MS,
                                        &reply),
                     TR_OK);
    assert_string_equal(tr_msg_data(reply), "hi");
    assert_true(tr_pid_eq(tr_msg_sender(reply), e1));
    tr_msg_destroy(&reply);
    assert_int_equal(tr_call_named_sync(c.sys[0], "nobody@n1", tr_atom_from("q"), NULL, 0, T_WAIT_MS,
                                        &reply),
                     TR_ENOENT);
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(reply, &who, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOPROC);
    tr_msg_destroy(&reply);
    /* whereis: there, here by the node's own name, nowhere */
    assert_int_equal(tr_system_whereis(c.sys[0], "echo@n1", T_WAIT_MS, &found), TR_OK);
    assert_true(tr_pid_eq(found, e1));
    assert_int_equal(tr_whereis(c.sys[1], "echo@n1", &found), TR_OK);
    assert_true(tr_pid_eq(found, e1));
    assert_int_equal(tr_whereis(c.sys[0], "echo@n1", &found), TR_ENOENT); /* never waits */
    assert_int_equal(tr_system_whereis(c.sys[0], "nobody@n1", T_WAIT_MS, &found), TR_ENOENT);
    assert_int_equal(tr_system_whereis(c.sys[0], "echo@", T_WAIT_MS, &found), TR_EINVAL);
    assert_int_equal(tr_call_named_sync(c.sys[0], "echo", tr_atom_from("q"), NULL, 0, T_WAIT_MS,
                                        &reply),
                     TR_ENOENT); /* no such name here */
    /* from an actor: the answer's sender is the pid, a down means none */
    tr_pid probe0 = tr_inbox_pid(c.in[0]), w;
    assert_int_equal(tr_system_spawn(c.sys[0], &watcher_b,
                                     &(tr_spawn_opts){.args = &probe0, .args_size = sizeof probe0},
                                     &w),
                     TR_OK);
    const char *names[] = {"echo@n1", "nobody@n1"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("call_name"), names[i],
                                        strlen(names[i]) + 1),
                         TR_OK);
        const char *a = tr_msg_data(expect_in(c.in[0], "answered"));
        memcpy(&found, a, sizeof found);
        uint32_t down;
        memcpy(&down, a + sizeof found, sizeof down);
        assert_int_equal(down, (uint32_t)i);
        if (i == 0) assert_true(tr_pid_eq(found, e1));
    }
    /* the other node lost: a call by name is answered down, not lost */
    tr_node_stop(&c.node[1]);
    assert_int_equal(tr_call_named_sync(c.sys[0], "echo@n1", tr_atom_from("q"), NULL, 0, T_WAIT_MS,
                                        &reply),
                     TR_ENOENT);
    tr_msg_destroy(&reply);
    cluster_free(&c);
}

/* A monitor and a link across nodes fire with the remote actor's reason. */
static void test_remote_monitor_and_link(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid probe0 = tr_inbox_pid(c.in[0]), w, e;
    assert_int_equal(tr_system_spawn(c.sys[0], &watcher_b,
                                     &(tr_spawn_opts){.args = &probe0, .args_size = sizeof probe0},
                                     &w),
                     TR_OK);
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b, NULL, &e), TR_OK);
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("watch"), &e, sizeof e), TR_OK);
    assert_int_equal(*(const int *)tr_msg_data(expect_in(c.in[0], "watching")), TR_OK);
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("link"), &e, sizeof e), TR_OK);
    assert_int_equal(*(const int *)tr_msg_data(expect_in(c.in[0], "linked")), TR_OK);
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("make_fail"), &e, sizeof e), TR_OK);
    /* the link's exit and the monitor's down, both failure, in either order */
    int downs = 0, exits = 0;
    for (int i = 0; i < 2; i++) {
        const uint32_t *k = tr_msg_data(expect_in(c.in[0], "saw"));
        assert_int_equal(k[0], TR_EXIT_FAILURE);
        if (k[1]) downs++;
        else exits++;
    }
    assert_int_equal(downs, 1);
    assert_int_equal(exits, 1);
    /* monitoring an actor of the other node that is gone: noproc at once */
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("watch"), &e, sizeof e), TR_OK);
    assert_int_equal(*(const int *)tr_msg_data(expect_in(c.in[0], "watching")), TR_OK);
    const uint32_t *k = tr_msg_data(expect_in(c.in[0], "saw"));
    assert_int_equal(k[0], TR_EXIT_NOPROC);
    cluster_free(&c);
}

/* A node that goes away: node events, monitors and links fire
 * noconnection, a pending call is answered "tr.down" at once. */
static void test_node_down(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    assert_int_equal(tr_inbox_monitor_node(c.in[0], NULL, NULL), TR_OK);
    tr_pid probe0 = tr_inbox_pid(c.in[0]), w, e, hold;
    assert_int_equal(tr_system_spawn(c.sys[0], &watcher_b,
                                     &(tr_spawn_opts){.args = &probe0, .args_size = sizeof probe0},
                                     &w),
                     TR_OK);
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b, NULL, &e), TR_OK);
    /* a callee on node 1 that never answers */
    assert_int_equal(tr_system_spawn(c.sys[1], &watcher_b,
                                     &(tr_spawn_opts){.args = &probe0, .args_size = sizeof probe0},
                                     &hold),
                     TR_OK);
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("watch"), &e, sizeof e), TR_OK);
    expect_in(c.in[0], "watching");
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("link"), &e, sizeof e), TR_OK);
    expect_in(c.in[0], "linked");
    assert_int_equal(tr_system_send(c.sys[0], w, tr_atom_from("call"), &hold, sizeof hold), TR_OK);
    /* the call reached node 1 (its record crossed the connection) */
    tr_node_stats st;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do tr_node_get_stats(c.node[1], &st);
    while (st.messages_in < 3 && t_now_ms() < end);
    /* the connection goes first (its actors still live): a lost node, not
     * actors that ended */
    tr_node_stop(&c.node[1]);
    stop_node(&c, 1);
    tr_node_event ev;
    bool down_event = false;
    int downs = 0, exits = 0; /* the monitor's and the call's "tr.down"; the link's exit */
    while (!down_event || downs + exits < 3) {
        const tr_msg *m;
        assert_int_equal(tr_inbox_recv(c.in[0], &m, T_WAIT_MS), TR_OK);
        if (tr_node_event_decode(m, &ev) == TR_OK) {
            assert_false(ev.up);
            assert_string_equal(ev.name, "n1");
            down_event = true;
            continue;
        }
        assert_true(tr_msg_is(m, tr_atom_from("saw")));
        const uint32_t *k = tr_msg_data(m);
        assert_int_equal(k[0], TR_EXIT_NOCONNECTION);
        if (k[1]) downs++;
        else exits++;
    }
    assert_int_equal(downs, 2);
    assert_int_equal(exits, 1);
    cluster_free(&c);
}

/* A message for a node that is being redialled waits in the queue to it
 * (it may come back); when this node stops meanwhile, the message becomes
 * a dead letter with reason "node down": nothing queued is lost silently. */
static void test_queued_while_redialling(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid e1;
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b, NULL, &e1), TR_OK);
    assert_int_equal(tr_inbox_monitor_node(c.in[0], NULL, NULL), TR_OK);
    stop_node(&c, 1);
    tr_node_event ev;
    assert_int_equal(tr_node_event_decode(expect_in(c.in[0], "tr.nodedown"), &ev), TR_OK);
    assert_int_equal(tr_system_dead_letters_to(c.sys[0], tr_inbox_pid(c.in[0])), TR_OK);
    /* While node 1 is down a send is a dead letter at once; from the moment
     * node 0 dials it again (after a backoff), a send waits in the queue:
     * the first send that adds no dead letter was queued. */
    uint32_t k = 0;
    bool queued = false;
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!queued && t_now_ms() < end) {
        tr_system_stats before, after;
        assert_int_equal(tr_system_get_stats(c.sys[0], &before), TR_OK);
        assert_int_equal(tr_system_send(c.sys[0], e1, tr_atom_from("q"), &k, sizeof k), TR_OK);
        assert_int_equal(tr_system_get_stats(c.sys[0], &after), TR_OK);
        queued = after.dead_letters == before.dead_letters;
        k++;
    }
    assert_true(queued);
    uint32_t last = k - 1;
    tr_node_stop(&c.node[0]);
    /* every send is told, in order, as node down; the queued one last */
    for (uint32_t i = 0; i <= last; i++) {
        tr_dead_letter d;
        assert_int_equal(tr_dead_letter_decode(expect_in(c.in[0], "tr.dead_letter"), &d), TR_OK);
        assert_int_equal(d.reason, TR_DEAD_NODE_DOWN);
        assert_true(tr_pid_eq(d.to, e1));
        uint32_t got;
        assert_int_equal(d.size, sizeof got);
        memcpy(&got, d.data, sizeof got);
        assert_int_equal(got, i);
    }
    cluster_free(&c);
}

/* Three nodes, each knowing only node 0: they all meet (gossip), and a pid
 * of node 2 passed to node 1 inside a payload reaches node 2's actor. */
static void test_mesh_and_third_party_pid(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 3);
    tr_pid e2, e1;
    assert_int_equal(tr_system_spawn(c.sys[2], &echo_b, NULL, &e2), TR_OK);
    assert_int_equal(tr_system_spawn(c.sys[1], &echo_b, NULL, &e1), TR_OK);
    /* node 0's inbox asks e2 to tell e1 its pid (a payload pid crossing two
     * connections); e1 answers "back" to e2... the probe on node 2 sees it */
    tr_pid probe2 = tr_inbox_pid(c.in[2]);
    assert_int_equal(tr_inbox_send(c.in[0], e2, tr_atom_from("tell"), &probe2, sizeof probe2), TR_OK);
    const tr_msg *m = expect_in(c.in[2], "hello");
    tr_pid got;
    memcpy(&got, tr_msg_data(m), sizeof got);
    assert_true(tr_pid_eq(got, e2));
    /* node 1 sends to node 2's pid learnt from a payload */
    assert_int_equal(tr_inbox_send(c.in[1], got, tr_atom_from("x"), "via", 4), TR_OK);
    m = expect_in(c.in[1], "back");
    assert_string_equal(tr_msg_data(m), "via");
    cluster_free(&c);
}

/* Sixteen nodes, each given node 0 as its only seed: the full mesh forms
 * (every node sees fifteen others) and the loss of one is seen by all. */
static void test_sixteen_node_mesh(void **state)
{
    (void)state;
    cluster c = cluster_new();
    for (int i = 0; i < 16; i++) start_node(&c, i, i ? 0 : -1);
    for (int i = 0; i < 16; i++)
        assert_int_equal(tr_node_wait_peers(c.node[i], 15, T_WAIT_MS), TR_OK);
    for (int i = 0; i < 15; i++) assert_int_equal(tr_inbox_monitor_node(c.in[i], "n15", NULL), TR_OK);
    tr_node_stop(&c.node[15]);
    stop_node(&c, 15);
    for (int i = 0; i < 15; i++) {
        tr_node_event ev;
        assert_int_equal(tr_node_event_decode(expect_in(c.in[i], "tr.nodedown"), &ev), TR_OK);
        assert_string_equal(ev.name, "n15");
        assert_int_equal(tr_node_wait_peers(c.node[i], 14, T_WAIT_MS), TR_OK);
    }
    cluster_free(&c);
}

/* ticker: "arm" {pid} times a message to that pid (maybe on another
 * node) once after 2 ms and every 1 ms; "cancel" cancels the interval and
 * tells the same pid "cancelled" with tr_timer_cancel's result. */
typedef struct ticker {
    tr_timer every;
    tr_pid to;
} ticker;

static int ticker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    ticker *t = st;
    if (tr_msg_is(m, tr_atom_from("arm"))) {
        memcpy(&t->to, tr_msg_data(m), sizeof t->to);
        int rc = tr_send_after(ctx, t->to, 2, tr_atom_from("late"), "once", 5, NULL);
        if (rc == TR_OK) rc = tr_send_every(ctx, t->to, 1, tr_atom_from("tick"), NULL, 0, &t->every);
        return tr_send(ctx, t->to, tr_atom_from("armed"), &rc, sizeof rc);
    }
    if (tr_msg_is(m, tr_atom_from("cancel"))) {
        int rc = tr_timer_cancel(ctx, t->every);
        return tr_send(ctx, t->to, tr_atom_from("cancelled"), &rc, sizeof rc);
    }
    return 0;
}

static const tr_behaviour ticker_b = {"ticker", sizeof(ticker), NULL, ticker_handle, NULL};

/* Timers deliver to another node's actors as tr_send does (Erlang's
 * send_after takes a remote pid too): the one-shot and the interval come,
 * with the timer's owner as their sender, until the interval is cancelled. */
static void test_timers_to_another_node(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid tk;
    assert_int_equal(tr_system_spawn(c.sys[0], &ticker_b, NULL, &tk), TR_OK);
    tr_pid far = tr_inbox_pid(c.in[1]);
    assert_int_equal(tr_system_send(c.sys[0], tk, tr_atom_from("arm"), &far, sizeof far), TR_OK);
    /* "armed" goes from the ticker's turn, the timers' messages from the
     * timer thread: a slow turn (valgrind) lets a tick overtake it */
    int ticks = 0, late = 0, armed = 0;
    while (ticks < 5 || !late || !armed) {
        const tr_msg *m = NULL;
        assert_int_equal(tr_inbox_recv(c.in[1], &m, T_WAIT_MS), TR_OK);
        assert_true(tr_pid_eq(tr_msg_sender(m), tk));
        if (tr_msg_is(m, tr_atom_from("armed"))) {
            assert_int_equal(*(const int *)tr_msg_data(m), TR_OK);
            armed++;
        } else if (tr_msg_is(m, tr_atom_from("late"))) {
            assert_string_equal(tr_msg_data(m), "once");
            late++;
        } else {
            assert_true(tr_msg_is(m, tr_atom_from("tick")));
            ticks++;
        }
    }
    assert_int_equal(late, 1);
    assert_int_equal(armed, 1);
    assert_int_equal(tr_system_send(c.sys[0], tk, tr_atom_from("cancel"), NULL, 0), TR_OK);
    for (;;) { /* ticks fired before the cancel may come first */
        const tr_msg *m = NULL;
        assert_int_equal(tr_inbox_recv(c.in[1], &m, T_WAIT_MS), TR_OK);
        bool done = tr_msg_is(m, tr_atom_from("cancelled"));
        if (done) assert_int_equal(*(const int *)tr_msg_data(m), TR_OK);
        else assert_true(tr_msg_is(m, tr_atom_from("tick")));
        if (done) break;
    }
    cluster_free(&c);
}

int main(void)
{
    tr_log_set_level(getenv("TLOG") ? TR_LOG_DEBUG : TR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nodes_send_call_name),
        cmocka_unit_test(test_names_across_nodes),
        cmocka_unit_test(test_remote_monitor_and_link),
        cmocka_unit_test(test_node_down),
        cmocka_unit_test(test_queued_while_redialling),
        cmocka_unit_test(test_mesh_and_third_party_pid),
        cmocka_unit_test(test_sixteen_node_mesh),
        cmocka_unit_test(test_timers_to_another_node),
    };
    return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
