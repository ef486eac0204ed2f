/* test_node_guest.c — a node's I/O thread runs the actors it wakes
 * (transport/io_thread.c): round trips across nodes keep their order and
 * count, and a callback that runs long on the I/O thread does not stall
 * the node: its standby takes the sockets over, so that other actors of
 * that node still hear from, and answer, the other nodes. Everything waits
 * on messages, with deadlines; the long callback lasts until the test
 * releases it, so nothing depends on timing. */
#include <stdatomic.h>
#include <stdio.h>

#include "logcap.h"
#include "nodeutil.h"

static _Atomic bool release_hog;

/* hog: "spin" tells the sender "spinning", then runs until released (at
 * most 20 s: a broken test must still end), then tells it "done". Any
 * other message is echoed back with "n" bumped. */
static int hog_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    tr_pid from = tr_msg_sender(m);
    if (tr_msg_is(m, tr_atom_from("spin"))) {
        int rc = tr_send(ctx, from, tr_atom_from("spinning"), NULL, 0);
        if (rc) return rc;
        int64_t until = t_now_ms() + 20000;
        while (!atomic_load(&release_hog) && t_now_ms() < until) {
        }
        return tr_send(ctx, from, tr_atom_from("done"), NULL, 0);
    }
    if (tr_msg_is_request(m))
        return tr_reply(ctx, m, tr_atom_from("echo"), tr_msg_data(m), tr_msg_size(m));
    uint32_t k;
    if (tr_msg_size(m) != sizeof k) return TR_EINVAL;
    memcpy(&k, tr_msg_data(m), sizeof k);
    k++;
    return tr_send(ctx, from, tr_atom_from("n"), &k, sizeof k);
}

static const tr_behaviour hog_b = {"hog", 0, NULL, hog_handle, NULL};

/* Messages from an inbox of node 0 to an actor of node 1 and back, one at
 * a time: each answer is the one asked for, in order. */
static void test_round_trips(void **state)
{
    (void)state;
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid echo;
    assert_int_equal(tr_system_spawn(c.sys[1], &hog_b, NULL, &echo), TR_OK);
    for (uint32_t i = 0; i < 2000; i++) {
        assert_int_equal(tr_inbox_send(c.in[0], echo, tr_atom_from("n"), &i, sizeof i), TR_OK);
        const tr_msg *m = expect_in(c.in[0], "n");
        uint32_t k;
        memcpy(&k, tr_msg_data(m), sizeof k);
        assert_int_equal(k, i + 1);
    }
    cluster_free(&c);
}

/* A callback on node 1 that does not return until released. The message
 * that starts it comes from node 0, so node 1's I/O thread runs it; while
 * it runs, node 1 still sends (its "spinning"), receives and answers (a
 * call to another of its actors). */
static void test_long_callback_does_not_stall_the_node(void **state)
{
    (void)state;
    atomic_store(&release_hog, false);
    tr_log_set_handler(t_log_sink, NULL);
    t_log_clear();
    cluster c = cluster_new();
    cluster_mesh(&c, 2);
    tr_pid hog, echo;
    assert_int_equal(tr_system_spawn(c.sys[1], &hog_b, NULL, &hog), TR_OK);
    assert_int_equal(tr_system_spawn(c.sys[1], &hog_b, NULL, &echo), TR_OK);
    /* both running and idle (their inits done on node 1's worker): what
     * node 0 sends them now runs on node 1's I/O thread */
    for (int i = 0; i < 2; i++) {
        tr_msg *reply = NULL;
        assert_int_equal(tr_call_sync(c.sys[0], i ? echo : hog, tr_atom_from("q"), "a", 2,
                                      T_WAIT_MS, &reply),
                         TR_OK);
        tr_msg_destroy(&reply);
    }
    assert_int_equal(tr_inbox_send(c.in[0], hog, tr_atom_from("spin"), NULL, 0), TR_OK);
    expect_in(c.in[0], "spinning");
    for (int i = 0; i < 3; i++) {
        tr_msg *reply = NULL;
        assert_int_equal(tr_call_sync(c.sys[0], echo, tr_atom_from("q"), "hi", 3, T_WAIT_MS, &reply),
                         TR_OK);
        assert_string_equal(tr_msg_data(reply), "hi");
        tr_msg_destroy(&reply);
    }
    /* still spinning: nothing else came */
    const tr_msg *m = NULL;
    assert_int_equal(tr_inbox_recv(c.in[0], &m, 0), TR_ETIMEDOUT);
    tr_node_stats st;
    assert_int_equal(tr_node_get_stats(c.node[1], &st), TR_OK);
    if (getenv("TEST_LOG")) fprintf(stderr, "takeovers: %llu\n", (unsigned long long)st.io_takeovers);
    assert_true(st.io_takeovers >= 1);
    /* sysmon names the thread the long callback holds */
    assert_true(t_log_wait("a callback has been running", "on the node's I/O thread", T_WAIT_MS,
                           NULL, 0));
    atomic_store(&release_hog, true);
    expect_in(c.in[0], "done");
    /* and the I/O thread has its sockets back: a round trip still works */
    uint32_t i = 41;
    assert_int_equal(tr_inbox_send(c.in[0], echo, tr_atom_from("n"), &i, sizeof i), TR_OK);
    m = expect_in(c.in[0], "n");
    memcpy(&i, tr_msg_data(m), sizeof i);
    assert_int_equal(i, 42);
    cluster_free(&c);
    tr_log_set_handler(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_long_callback_does_not_stall_the_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
