/* test_books.c — the system's counters keep exact books: a refused send is
 * not "sent"; once tr_system_run (or wait) returns, every accepted message
 * has been handled or counted as a dead letter. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "testutil.h"

static int sink_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)ctx, (void)vs, (void)m;
    return 0;
}

static const tr_behaviour sink_b = {.name = "sink", .handle = sink_handle};

static void assert_books_balance(tr_system *sys, uint64_t in_inboxes)
{
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(sys, &st), TR_OK);
    if (st.messages_sent != st.messages_handled + st.dead_letters + in_inboxes)
        print_error("sent %llu, handled %llu, dead %llu, in inboxes %llu\n",
                    (unsigned long long)st.messages_sent, (unsigned long long)st.messages_handled,
                    (unsigned long long)st.dead_letters, (unsigned long long)in_inboxes);
    assert_int_equal(st.messages_sent, st.messages_handled + st.dead_letters + in_inboxes);
}

/* A bounded mailbox with TR_FULL_FAIL, flooded from this thread: every
 * TR_EFULL is a send that did not happen, and is not counted as sent. */
static void test_refused_sends_are_not_sent(void **state)
{
    t_env *e = *state;
    tr_pid s;
    tr_spawn_opts o = {.capacity = 16, .on_full = TR_FULL_FAIL};
    assert_int_equal(tr_system_spawn(e->sys, &sink_b, &o, &s), TR_OK);
    tr_system_stats before, after;
    assert_int_equal(tr_system_get_stats(e->sys, &before), TR_OK);
    uint64_t accepted = 0, refused = 0;
    for (int i = 0; i < 200000; i++) {
        int rc = tr_system_send(e->sys, s, tr_atom_from("x"), &i, sizeof i);
        if (rc == TR_OK) accepted++;
        else if (rc == TR_EFULL) refused++;
        else fail_msg("unexpected %s", tr_strerror(rc));
    }
    assert_true(refused > 0);
    assert_int_equal(tr_system_get_stats(e->sys, &after), TR_OK);
    assert_int_equal(after.messages_sent - before.messages_sent, accepted);
    /* TR_ETIMEDOUT from the blocking policy is not sent either */
    tr_pid b;
    tr_spawn_opts ob = {.capacity = 1, .on_full = TR_FULL_BLOCK};
    assert_int_equal(tr_system_spawn(e->sys, &sink_b, &ob, &b), TR_OK);
    uint64_t sent_ok = 0, timed_out = 0;
    for (int i = 0; i < 2000 && timed_out == 0; i++) {
        int rc = tr_system_send_timed(e->sys, b, tr_atom_from("y"), NULL, 0, 0);
        if (rc == TR_OK) sent_ok++;
        else if (rc == TR_ETIMEDOUT) timed_out++;
    }
    tr_system_stats end;
    assert_int_equal(tr_system_get_stats(e->sys, &end), TR_OK);
    assert_int_equal(end.messages_sent - after.messages_sent, sent_ok);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_run(e->sys), TR_OK);
    assert_books_balance(e->sys, 0);
}

/* holder: its first message holds it (spinning) until released, so that
 * a backlog builds up behind it; then it stops, leaving that backlog */
static _Atomic int released;

static int holder_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("hold"))) {
        while (!atomic_load(&released)) sched_yield();
        tr_stop(ctx);
    }
    return 0;
}

static const tr_behaviour holder_b = {.name = "holder", .handle = holder_handle};

/* Two actors with 200,000 messages each queued behind a held one stop:
 * the moment run returns (the root closes when they are gone), sent ==
 * handled + dead letters, exactly. It used to reach that figure 10-200 ms
 * later, as the workers drained the ended actors' mailboxes. */
static void test_books_balance_when_run_returns(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        tr_system *sys;
        tr_system_opts o = {.workers = 2, .long_callback_ms = -1}; /* holders hold on purpose */
        assert_int_equal(tr_system_new(&o, &sys), TR_OK);
        atomic_store(&released, 0);
        tr_pid h[2];
        for (int k = 0; k < 2; k++) {
            assert_int_equal(tr_system_spawn(sys, &holder_b, NULL, &h[k]), TR_OK);
            assert_int_equal(tr_system_send(sys, h[k], tr_atom_from("hold"), NULL, 0), TR_OK);
        }
        for (int i = 0; i < 200000; i++)
            for (int k = 0; k < 2; k++)
                assert_int_equal(tr_system_send(sys, h[k], tr_atom_from("f"), &i, sizeof i), TR_OK);
        atomic_store(&released, 1);
        assert_int_equal(tr_system_run(sys), TR_OK);
        assert_books_balance(sys, 0);
        tr_system_stats st;
        assert_int_equal(tr_system_get_stats(sys, &st), TR_OK);
        assert_int_equal(st.messages_sent, 400002);
        assert_int_equal(st.messages_handled, 2);
        assert_int_equal(st.dead_letters, 400000);
        tr_system_destroy(&sys);
    }
}

/* held: like holder, saying when it holds */
static int held_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("hold"))) {
        t_report(ctx, "holding", "");
        while (!atomic_load(&released)) sched_yield();
    }
    return 0;
}

static const tr_behaviour held_b = {.name = "held", .handle = held_handle};

/* parent: spawns one held child in init and reports its pid; reports
 * every message it handles */
static int parent_init(tr_ctx *ctx, void *vs, const void *args, size_t n)
{
    (void)vs, (void)args, (void)n;
    tr_pid c = TR_PID_NIL;
    int rc = tr_spawn(ctx, &held_b, NULL, &c);
    if (rc != TR_OK) return rc;
    return tr_send(ctx, t_probe, tr_atom_from("child"), &c, sizeof c);
}

static int parent_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    return t_report(ctx, "handled", tr_atom_name(tr_msg_type(m)));
}

static const tr_behaviour parent_b = {"parent", 0, parent_init, parent_handle, NULL};

/* An actor that is stopping (waiting for a child held in a callback) takes
 * no more messages: each one that reaches it is a dead letter, reason
 * "stopping", counted and forwarded to the subscriber, never handled. */
static void test_stopping_actor_takes_dead_letters(void **state)
{
    t_env *e = *state;
    atomic_store(&released, 0);
    tr_pid p, c;
    assert_int_equal(tr_system_spawn(e->sys, &parent_b, NULL, &p), TR_OK);
    memcpy(&c, tr_msg_data(t_expect(e, "child")), sizeof c);
    assert_int_equal(tr_system_send(e->sys, c, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding"); /* else the stop could overtake the "hold" */
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    assert_int_equal(tr_system_stop_child(e->sys, p), TR_OK);
    /* p is stopping once it no longer answers an inspection (each refused
     * one is itself a dead letter: counted below) */
    tr_actor_info info;
    uint64_t inspections = 0;
    int rc;
    int64_t end = t_now_ms() + T_WAIT_MS;
    while ((rc = tr_system_inspect(e->sys, p, &info, T_WAIT_MS)) == TR_OK && t_now_ms() < end)
        sched_yield();
    assert_int_equal(rc, TR_ENOENT);
    tr_system_stats before, after;
    assert_int_equal(tr_system_get_stats(e->sys, &before), TR_OK);
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("late"), "x", 2), TR_OK);
    for (;;) { /* the refused inspection's dead letter, then ours */
        const tr_msg *m = t_expect(e, "tr.dead_letter");
        tr_dead_letter dl;
        assert_int_equal(tr_dead_letter_decode(m, &dl), TR_OK);
        assert_true(tr_pid_eq(dl.to, p));
        assert_int_equal(dl.reason, TR_DEAD_STOPPING);
        if (dl.type.id == tr_inspect_atom().id) {
            inspections++;
            continue;
        }
        assert_string_equal(tr_atom_name(dl.type), "late");
        assert_int_equal(dl.size, 2);
        assert_string_equal(dl.data, "x");
        break;
    }
    assert_int_equal(inspections, 1);
    assert_int_equal(tr_system_get_stats(e->sys, &after), TR_OK);
    assert_int_equal(after.dead_letters - before.dead_letters, 1);
    atomic_store(&released, 1);
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    assert_int_equal(tr_system_dead_letters_to(e->sys, TR_PID_NIL), TR_OK);
    /* p never handled anything: the probe holds no "handled" */
    const tr_msg *m;
    while (tr_inbox_recv(e->probe, &m, 0) == TR_OK)
        assert_false(tr_msg_is(m, tr_atom_from("handled")));
}

/* A failing test must not leave a holder spinning on a worker. */
static int teardown(void **state)
{
    atomic_store(&released, 1);
    return t_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_sends_are_not_sent, t_setup, teardown),
        cmocka_unit_test_setup_teardown(test_books_balance_when_run_returns, t_setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_actor_takes_dead_letters, t_setup, teardown),
    };
    return cmocka_run_group_tests_name("books", tests, NULL, NULL);
}
