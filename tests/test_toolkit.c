/* test_toolkit.c — names, subtree deadlines, bounded mailboxes and their
 * four policies, dead letters and their reasons, blocking offload and
 * introspection.
 *
 * Behaviours never assert: they report to the probe. A behaviour that
 * plays a busy actor holds its worker on a t_gate, which teardown opens
 * should the test fail. Time-dependent behaviour (deadlines) runs on the
 * manual clock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* --------------------------------------------------------- test actors */

/* echo: "ping" answers "pong"; "stop" stops; "spawn2" spawns two children
 * "a" and "b"; "hold" reports "holding" and holds its worker until
 * hold_gate opens; "n" {int} reports "got" {int}; "info" reports its own
 * tr_info ("info"); counts what it handles; reports its end ("term":
 * "<path> <kind>"). */
static t_gate hold_gate;
static _Atomic uint64_t handled;

static const tr_behaviour echo_b;

static int echo_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    atomic_fetch_add(&handled, 1);
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "ping") == 0) return tr_send(ctx, tr_msg_sender(m), tr_atom_from("pong"), NULL, 0);
    if (strcmp(t, "n") == 0) return tr_send(ctx, t_probe, tr_atom_from("got"), tr_msg_data(m), tr_msg_size(m));
    if (strcmp(t, "stop") == 0) tr_stop(ctx);
    if (strcmp(t, "hold") == 0) {
        int rc = t_report(ctx, "holding", "");
        t_gate_wait(&hold_gate);
        return rc;
    }
    if (strcmp(t, "info") == 0) {
        tr_actor_info info;
        int rc = tr_info(ctx, &info);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return t_report_val(ctx, "info", &info, sizeof info);
    }
    if (strcmp(t, "spawn2") == 0) {
        tr_spawn_opts a = {.name = "a"}, b = {.name = "b"};
        int ra = tr_spawn(ctx, &echo_b, &a, NULL), rb = tr_spawn(ctx, &echo_b, &b, NULL);
        if (!T_CHECK(ctx, ra == TR_OK && rb == TR_OK)) return TR_EFAILED;
        return t_report(ctx, "spawned", "");
    }
    return 0;
}

static void echo_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    char line[300];
    size_t n = tr_path(ctx, line, sizeof line);
    snprintf(line + n, sizeof line - n, " %s", tr_exit_kind_name(why->kind));
    t_report(ctx, "term", line);
}

static const tr_behaviour echo_b = {"echo", 0, NULL, echo_handle, echo_terminate};

static tr_pid echo(t_env *e, const tr_spawn_opts *o)
{
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &echo_b, o, &p), TR_OK);
    return p;
}

static void send0(t_env *e, tr_pid to, const char *type)
{
    assert_int_equal(tr_inbox_send(e->probe, to, tr_atom_from(type), NULL, 0), TR_OK);
}

/* Holds `p` (an echo) in a callback, on a freshly closed hold_gate:
 * "holding" proves it. */
static void hold(t_env *e, tr_pid p)
{
    t_gate_init(&hold_gate);
    send0(e, p, "hold");
    t_expect(e, "holding");
}

static tr_system_stats stats(t_env *e)
{
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    return st;
}

/* Reads the next "tr.dead_letter" of the probe (a subscriber). */
static tr_dead_letter expect_dead_letter(t_env *e)
{
    tr_dead_letter d;
    assert_int_equal(tr_dead_letter_decode(t_expect(e, "tr.dead_letter"), &d), TR_OK);
    return d;
}

/* ------------------------------------------------------------ registry */

/* A name stands for its actor while it lives: lookups and sends by name
 * reach it; a taken name is refused; several names for one actor; names
 * are released with their actor, free to take again. */
static void test_registry(void **state)
{
    t_env *e = *state;
    tr_pid a = echo(e, &(tr_spawn_opts){.name = "a"}), b = echo(e, NULL), got;
    assert_int_equal(tr_register(e->sys, "kv", a), TR_OK);
    assert_int_equal(tr_register(e->sys, "kv.alias", a), TR_OK); /* a second name */
    assert_int_equal(tr_register(e->sys, "kv", b), TR_EEXIST);
    assert_int_equal(tr_register(e->sys, "kv", a), TR_EEXIST); /* even for itself */
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_OK);
    assert_true(tr_pid_eq(got, a));
    assert_int_equal(tr_whereis(e->sys, "kv.alias", &got), TR_OK);
    assert_true(tr_pid_eq(got, a));
    assert_int_equal(tr_whereis(e->sys, "nope", &got), TR_ENOENT);
    assert_true(tr_pid_is_nil(got));

    /* a send by name reaches the actor: here it makes it stop */
    int v = 7;
    assert_int_equal(tr_system_send_named(e->sys, "kv", tr_atom_from("n"), &v, sizeof v), TR_OK);
    assert_int_equal(t_expect_int(e, "got"), 7);
    assert_int_equal(tr_system_send_named(e->sys, "kv.alias", tr_atom_from("stop"), NULL, 0), TR_OK);
    t_expect_str(e, "term", "/root/a normal");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    /* released with its actor: gone, and free to take */
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_ENOENT);
    assert_int_equal(tr_whereis(e->sys, "kv.alias", &got), TR_ENOENT);
    assert_int_equal(tr_system_send_named(e->sys, "kv", tr_atom_from("x"), NULL, 0), TR_ENOENT);
    assert_int_equal(tr_unregister(e->sys, "kv.alias"), TR_ENOENT);
    assert_int_equal(tr_register(e->sys, "kv", b), TR_OK);
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_OK);
    assert_true(tr_pid_eq(got, b));
    assert_int_equal(tr_unregister(e->sys, "kv"), TR_OK);
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_ENOENT);
    assert_int_equal(tr_unregister(e->sys, "kv"), TR_ENOENT);
    assert_int_equal(tr_register(e->sys, "dead", a), TR_ENOENT);
    /* register_as: named before init, released with the actor */
    tr_pid c = echo(e, &(tr_spawn_opts){.name = "c", .register_as = "kv"});
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_OK);
    assert_true(tr_pid_eq(got, c));
    tr_pid d;
    assert_int_equal(tr_system_spawn(e->sys, &echo_b, &(tr_spawn_opts){.register_as = "kv"}, &d),
                     TR_EEXIST);
    assert_true(tr_pid_is_nil(d));
    assert_int_equal(stats(e).actors_spawned, 3); /* the refused one was not */
    assert_int_equal(tr_system_stop_child(e->sys, c), TR_OK);
    t_expect_str(e, "term", "/root/c shutdown");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_ENOENT);
}

/* Many names: the table grows (dropping names of ended actors) and every
 * live name still resolves. */
static void test_registry_many_names(void **state)
{
    t_env *e = *state;
    tr_pid a = echo(e, NULL), b = echo(e, &(tr_spawn_opts){.name = "b"});
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "b.%d", i);
        assert_int_equal(tr_register(e->sys, name, b), TR_OK);
    }
    send0(e, b, "stop");
    t_expect_str(e, "term", "/root/b normal");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    for (int i = 0; i < 300; i++) { /* grows past its first sizes */
        snprintf(name, sizeof name, "a.%d", i);
        assert_int_equal(tr_register(e->sys, name, a), TR_OK);
    }
    tr_pid got;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "a.%d", i);
        assert_int_equal(tr_whereis(e->sys, name, &got), TR_OK);
        assert_true(tr_pid_eq(got, a));
        snprintf(name, sizeof name, "b.%d", i);
        assert_int_equal(tr_whereis(e->sys, name, &got), TR_ENOENT);
    }
}

/* ------------------------------------------------------------ deadline */

/* The whole subtree ends at its deadline, children first, its root with
 * reason timeout: a failure for an untrapping parent (here the root). Not
 * a millisecond early. */
static void test_subtree_deadline(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    tr_pid j = echo(e, &(tr_spawn_opts){.name = "job", .deadline_ms = 30});
    send0(e, j, "spawn2");
    t_expect(e, "spawned");
    assert_int_equal(tr_clock_advance(e->clock, 29), TR_OK);
    tr_actor_info info; /* a round trip: still there, with its children */
    assert_int_equal(tr_system_inspect(e->sys, j, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 2);
    t_expect_none(e);
    assert_int_equal(tr_clock_advance(e->clock, 1), TR_OK);
    t_expect_str(e, "term", "/root/job/b shutdown");
    t_expect_str(e, "term", "/root/job/a shutdown");
    t_expect_str(e, "term", "/root/job timeout");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/job: timeout\n/root: child /root/job exited: timeout\n");
    tr_log_set_level(TR_LOG_WARN);
}

/* trapper: reports each child exit as "exit" "<kind>"; "spawn" {deadline}
 * spawns an echo child "kid" with that deadline. */
static int trapper_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("spawn"))) {
        int64_t d;
        memcpy(&d, tr_msg_data(m), sizeof d);
        int rc = tr_spawn(ctx, &echo_b, &(tr_spawn_opts){.name = "kid", .deadline_ms = d}, NULL);
        return t_report_int(ctx, "spawned", rc);
    }
    tr_exit why;
    if (tr_exit_decode(m, NULL, &why) == TR_OK) return t_report(ctx, "exit", tr_exit_kind_name(why.kind));
    return 0;
}

static const tr_behaviour trapper_b = {"trapper", 0, NULL, trapper_handle, NULL};

/* A trapping parent gets its child's timeout as a message and lives on. */
static void test_deadline_trapped(void **state)
{
    t_env *e = *state;
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &trapper_b,
                                     &(tr_spawn_opts){.name = "p", .flags = TR_SPAWN_TRAP_EXITS}, &p),
                     TR_OK);
    int64_t d = 1000;
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from("spawn"), &d, sizeof d), TR_OK);
    assert_int_equal(t_expect_int(e, "spawned"), TR_OK);
    assert_int_equal(tr_clock_advance(e->clock, 1000), TR_OK);
    t_expect_str(e, "term", "/root/p/kid timeout");
    t_expect_str(e, "exit", "timeout");
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, p, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 0);
    assert_int_equal(tr_system_wait(e->sys, 0), TR_ETIMEDOUT); /* the tree runs on */
}

/* ---------------------------------------------------- bounded mailboxes */

#define PRODUCERS 4
#define PER 1000
#define CAP 100

typedef struct prod_arg {
    tr_system *sys;
    tr_pid to;
    _Atomic int ok, full, other;
} prod_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (int i = 0; i < PER; i++) {
        int rc = tr_system_send(a->sys, a->to, tr_atom_from("x"), &i, sizeof i);
        if (rc == TR_OK) atomic_fetch_add(&a->ok, 1);
        else if (rc == TR_EFULL) atomic_fetch_add(&a->full, 1);
        else atomic_fetch_add(&a->other, 1);
    }
    return NULL;
}

/* Holds the actor busy, floods it from 4 threads at once, releases it,
 * and checks what got in, what was handled and what was dropped. */
static void flood(t_env *e, tr_full_policy policy, int *ok, int *full, uint64_t *got,
                  uint64_t *dropped)
{
    t_gate_init(&hold_gate);
    tr_pid p = echo(e, &(tr_spawn_opts){.capacity = CAP, .on_full = policy});
    hold(e, p);
    prod_arg a = {.sys = e->sys, .to = p};
    pthread_t th[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) assert_int_equal(pthread_create(&th[i], NULL, producer, &a), 0);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(th[i], NULL);
    atomic_store(&handled, 0);
    t_gate_open(&hold_gate);
    /* Whatever the policy, CAP messages get handled; wait for those, then
     * a ping (there is room now) whose pong proves no more came after. */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (atomic_load(&handled) < CAP && t_now_ms() < end) sched_yield();
    send0(e, p, "ping");
    t_expect(e, "pong");
    assert_int_equal(atomic_load(&a.other), 0);
    *ok = atomic_load(&a.ok);
    *full = atomic_load(&a.full);
    *got = atomic_load(&handled) - 1; /* minus the ping */
    *dropped = stats(e).dropped;
}

static void test_bounded_flood_fail(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_FAIL, &ok, &full, &got, &dropped);
    assert_int_equal(ok, CAP);
    assert_int_equal(full, PRODUCERS * PER - CAP);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, 0);
    t_env *e = *state;
    /* refused sends are not sent and no dead letters */
    tr_system_stats st = stats(e);
    assert_int_equal(st.dead_letters, 0);
    assert_int_equal(st.messages_sent, 1 + 1 + CAP + 2); /* hold, holding, CAP, ping, pong */
}

static void test_bounded_flood_drop_newest(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_DROP_NEWEST, &ok, &full, &got, &dropped);
    assert_int_equal(ok, PRODUCERS * PER);
    assert_int_equal(full, 0);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, PRODUCERS * PER - CAP);
    t_env *e = *state;
    assert_int_equal(t_wait_dead_letters(e->sys, dropped), dropped);
}

static void test_bounded_flood_drop_oldest(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_DROP_OLDEST, &ok, &full, &got, &dropped);
    assert_int_equal(ok, PRODUCERS * PER);
    assert_int_equal(full, 0);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, PRODUCERS * PER - CAP);
    t_env *e = *state;
    assert_int_equal(t_wait_dead_letters(e->sys, dropped), dropped);
}

/* One sender, ten numbered messages into a held actor of capacity 4:
 * which ones each policy keeps, and which it drops (as dead letters of
 * reason "mailbox full", in order). */
enum { SEQ_N = 10, SEQ_CAP = 4 };

static tr_pid seq_flood(t_env *e, tr_full_policy policy, int *rc)
{
    t_gate_init(&hold_gate);
    tr_pid p = echo(e, &(tr_spawn_opts){.capacity = SEQ_CAP, .on_full = policy});
    hold(e, p);
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    for (int i = 0; i < SEQ_N; i++)
        rc[i] = tr_system_send(e->sys, p, tr_atom_from("n"), &i, sizeof i);
    return p;
}

/* Expects "got" for from..to-1 in order, then nothing more (a ping's pong
 * shows everything queued before it was handled). */
static void expect_got(t_env *e, tr_pid p, int from, int to)
{
    for (int i = from; i < to; i++) assert_int_equal(t_expect_int(e, "got"), i);
    send0(e, p, "ping");
    t_expect(e, "pong");
    t_expect_none(e);
}

static void expect_full_dead_letters(t_env *e, tr_pid p, int from, int to)
{
    for (int i = from; i < to; i++) {
        tr_dead_letter d = expect_dead_letter(e);
        assert_int_equal(d.reason, TR_DEAD_MAILBOX_FULL);
        assert_true(tr_pid_eq(d.to, p));
        assert_true(tr_pid_is_nil(d.from));
        assert_string_equal(tr_atom_name(d.type), "n");
        assert_int_equal(d.size, sizeof i);
        int v;
        memcpy(&v, d.data, sizeof v);
        assert_int_equal(v, i);
    }
}

static const tr_behaviour pusher_b;

/* fail: the first four go in, the rest are refused (not sent, not dead
 * letters, not dropped); an actor's send is refused too, but a timer's
 * message never is: it is dropped (timer.h). */
static void test_bounded_fail_refuses_the_newest(void **state)
{
    t_env *e = *state;
    int rc[SEQ_N];
    tr_pid p = seq_flood(e, TR_FULL_FAIL, rc);
    for (int i = 0; i < SEQ_N; i++) assert_int_equal(rc[i], i < SEQ_CAP ? TR_OK : TR_EFULL);
    tr_pid pusher;
    assert_int_equal(tr_system_spawn(e->sys, &pusher_b, NULL, &pusher), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, pusher, tr_atom_from("push"), &p, sizeof p), TR_OK);
    assert_int_equal(t_expect_int(e, "pushed"), TR_EFULL);
    assert_int_equal(tr_inbox_send(e->probe, pusher, tr_atom_from("later"), &p, sizeof p), TR_OK);
    tr_dead_letter d = expect_dead_letter(e); /* dropped as it fired, before the report */
    assert_int_equal(d.reason, TR_DEAD_MAILBOX_FULL);
    assert_true(tr_pid_eq(d.from, pusher));
    assert_int_equal(t_expect_int(e, "pushed"), TR_OK);
    t_gate_open(&hold_gate);
    expect_got(e, p, 0, SEQ_CAP);
    tr_system_stats st = stats(e);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.dead_letters, 1);
}

/* drop newest: the first four are kept, the six after are dropped as they
 * arrive. */
static void test_bounded_drop_newest_keeps_the_first(void **state)
{
    t_env *e = *state;
    int rc[SEQ_N];
    tr_pid p = seq_flood(e, TR_FULL_DROP_NEWEST, rc);
    for (int i = 0; i < SEQ_N; i++) assert_int_equal(rc[i], TR_OK);
    expect_full_dead_letters(e, p, SEQ_CAP, SEQ_N); /* at once, while it holds */
    t_gate_open(&hold_gate);
    expect_got(e, p, 0, SEQ_CAP);
    tr_system_stats st = stats(e);
    assert_int_equal(st.dropped, SEQ_N - SEQ_CAP);
    assert_int_equal(st.dead_letters, SEQ_N - SEQ_CAP);
}

/* drop oldest: the last four are kept; the six oldest are dropped, oldest
 * first, when the actor comes to them. */
static void test_bounded_drop_oldest_keeps_the_last(void **state)
{
    t_env *e = *state;
    int rc[SEQ_N];
    tr_pid p = seq_flood(e, TR_FULL_DROP_OLDEST, rc);
    for (int i = 0; i < SEQ_N; i++) assert_int_equal(rc[i], TR_OK);
    t_gate_open(&hold_gate);
    /* the drops (dead letters, sent by the actor's turn) come before what
     * it handles after them: one sending thread, one order */
    expect_full_dead_letters(e, p, 0, SEQ_N - SEQ_CAP);
    expect_got(e, p, SEQ_N - SEQ_CAP, SEQ_N);
    tr_system_stats st = stats(e);
    assert_int_equal(st.dropped, SEQ_N - SEQ_CAP);
    assert_int_equal(st.dead_letters, SEQ_N - SEQ_CAP);
}

/* block: a foreign sender to a full mailbox waits, really, until there is
 * room; an actor sender is refused (actors never block); a timed send
 * gives up. Order is kept. */
typedef struct block_arg {
    tr_system *sys;
    tr_pid to;
    _Atomic int rc, done;
} block_arg;

static void *blocked_sender(void *p)
{
    block_arg *a = p;
    int v = 2;
    atomic_store(&a->rc, tr_system_send(a->sys, a->to, tr_atom_from("n"), &v, sizeof v));
    atomic_store(&a->done, 1);
    return NULL;
}

/* pusher: "push" {pid} sends "n" 99 to it and reports the code; "later"
 * {pid} sends it "n" 98 with tr_send_after (delay 0) and reports the code. */
static int pusher_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    tr_pid to;
    memcpy(&to, tr_msg_data(m), sizeof to);
    int v = tr_msg_is(m, tr_atom_from("later")) ? 98 : 99;
    if (v == 98)
        return t_report_int(ctx, "pushed",
                            tr_send_after(ctx, to, 0, tr_atom_from("n"), &v, sizeof v, NULL));
    return t_report_int(ctx, "pushed", tr_send(ctx, to, tr_atom_from("n"), &v, sizeof v));
}

static const tr_behaviour pusher_b = {"pusher", 0, NULL, pusher_handle, NULL};

static void test_bounded_block(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid p = echo(e, &(tr_spawn_opts){.capacity = 2, .on_full = TR_FULL_BLOCK});
    hold(e, p);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("n"), &i, sizeof i), TR_OK);
    /* full: a timed send gives up (at once with 0, after its time with 20) */
    int v = -1;
    assert_int_equal(tr_system_send_timed(e->sys, p, tr_atom_from("n"), &v, sizeof v, 0), TR_ETIMEDOUT);
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_system_send_timed(e->sys, p, tr_atom_from("n"), &v, sizeof v, 20), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 >= 19);
    /* an actor is refused at once */
    tr_pid pusher;
    assert_int_equal(tr_system_spawn(e->sys, &pusher_b, NULL, &pusher), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, pusher, tr_atom_from("push"), &p, sizeof p), TR_OK);
    assert_int_equal(t_expect_int(e, "pushed"), TR_EFULL);
    /* a thread blocks: it is seen waiting before the actor is released */
    /* static: should the test fail before the join, the thread still
     * writes here after this frame is gone */
    static block_arg a;
    a.sys = e->sys;
    a.to = p;
    atomic_store(&a.rc, 1);
    atomic_store(&a.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocked_sender, &a), 0);
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (t_blocked_senders(e->sys) == 0 && t_now_ms() < end) sched_yield();
    assert_int_equal(t_blocked_senders(e->sys), 1);
    assert_int_equal(atomic_load(&a.done), 0);
    t_gate_open(&hold_gate); /* room appears; the blocked send goes through */
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&a.rc), TR_OK);
    assert_int_equal(t_blocked_senders(e->sys), 0);
    expect_got(e, p, 0, 3);
    tr_system_stats st = stats(e);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.dead_letters, 0);
}

/* ------------------------------------------------------- dead letters */

/* To an ended actor: reason "no actor", with its sender, type and bytes;
 * the subscription stops with a nil pid (still counted). */
static void test_dead_letter_no_actor(void **state)
{
    t_env *e = *state;
    tr_pid p = echo(e, &(tr_spawn_opts){.name = "p"});
    send0(e, p, "stop");
    t_expect_str(e, "term", "/root/p normal");
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    uint32_t v = 0xabcd;
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from("lost"), &v, sizeof v), TR_OK);
    tr_dead_letter d = expect_dead_letter(e);
    assert_true(tr_pid_eq(d.to, p));
    assert_true(tr_pid_eq(d.from, t_probe));
    assert_string_equal(tr_atom_name(d.type), "lost");
    assert_int_equal(d.reason, TR_DEAD_NO_ACTOR);
    assert_int_equal(d.size, sizeof v);
    assert_memory_equal(d.data, &v, sizeof v);
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("lost0"), NULL, 0), TR_OK);
    d = expect_dead_letter(e);
    assert_int_equal(d.size, 0);
    assert_null(d.data);
    assert_true(tr_pid_is_nil(d.from));
    assert_int_equal(tr_system_dead_letters_to(e->sys, TR_PID_NIL), TR_OK);
    uint64_t before = stats(e).dead_letters;
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from("lost"), &v, sizeof v), TR_OK);
    assert_int_equal(t_wait_dead_letters(e->sys, before + 1), before + 1);
    t_expect_none(e);
}

/* A subscriber that is gone: its copies are dead letters too (counted),
 * never copied again (no loop). */
static void test_dead_letter_subscriber_gone(void **state)
{
    t_env *e = *state;
    tr_inbox *sub;
    assert_int_equal(tr_inbox_new(e->sys, &sub), TR_OK);
    tr_pid gone = tr_inbox_pid(sub);
    tr_inbox_destroy(&sub);
    assert_int_equal(tr_system_dead_letters_to(e->sys, gone), TR_OK);
    assert_int_equal(tr_system_send(e->sys, gone, tr_atom_from("lost"), NULL, 0), TR_OK);
    /* the letter and its copy to the (gone) subscriber, and no more */
    assert_int_equal(t_wait_dead_letters(e->sys, 2), 2);
    tr_system_stats st = stats(e);
    assert_int_equal(st.dead_letters, 2);
    assert_int_equal(st.messages_sent, 2);
}

/* parent: "kid" spawns a held echo child (it holds at once: "hold" is
 * sent to it first); "stop" reports "stopping" and stops; its terminate
 * reports "parent.term". */
static int parent_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "kid") == 0) {
        tr_pid kid;
        int rc = tr_spawn(ctx, &echo_b, &(tr_spawn_opts){.name = "kid"}, &kid);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return tr_send(ctx, kid, tr_atom_from("hold"), NULL, 0);
    }
    if (strcmp(t, "stop") == 0) {
        tr_stop(ctx);
        return t_report(ctx, "stopping", "");
    }
    return t_report(ctx, "parent.got", t);
}

static const tr_behaviour parent_b = {"parent", 0, NULL, parent_handle, NULL};

/* An actor that is stopping (waiting for a child stuck in a callback)
 * takes no more messages: each is a dead letter of reason "stopping",
 * counted, and a request to it is answered "down" at once. */
static void test_dead_letter_stopping(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &parent_b, &(tr_spawn_opts){.name = "p"}, &p), TR_OK);
    send0(e, p, "kid");
    t_expect(e, "holding");
    send0(e, p, "stop");
    t_expect(e, "stopping");
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    uint64_t d0 = stats(e).dead_letters;
    int v = 5;
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from("late"), &v, sizeof v), TR_OK);
    tr_dead_letter d = expect_dead_letter(e);
    assert_int_equal(d.reason, TR_DEAD_STOPPING);
    assert_string_equal(tr_dead_reason_name(d.reason), "stopping");
    assert_true(tr_pid_eq(d.to, p));
    assert_true(tr_pid_eq(d.from, t_probe));
    assert_string_equal(tr_atom_name(d.type), "late");
    assert_int_equal(d.size, sizeof v);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(e->sys, p, tr_atom_from("late.call"), NULL, 0, T_WAIT_MS, &reply),
                     TR_ENOENT);
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(reply, &who, &why), TR_OK);
    assert_true(tr_pid_eq(who, p));
    tr_msg_destroy(&reply);
    d = expect_dead_letter(e);
    assert_int_equal(d.reason, TR_DEAD_STOPPING);
    assert_string_equal(tr_atom_name(d.type), "late.call");
    assert_int_equal(stats(e).dead_letters, d0 + 2);
    t_gate_open(&hold_gate);
    t_expect_str(e, "term", "/root/p/kid shutdown");
    assert_int_equal(tr_system_dead_letters_to(e->sys, TR_PID_NIL), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    t_expect_none(e); /* the parent never saw a late message */
}

/* ------------------------------------------------------------ offload */

static t_gate job_gate[3];
static _Atomic int cleanups, job_events;

typedef struct job_arg {
    tr_system *sys;
    uint32_t value;
    int gate; /* -1: none */
} job_arg;

/* Reports "started" {value, event number} from the blocking thread, waits
 * on its gate, and returns "result" {value * 2, event number at its end}. */
static tr_msg *job_run(void *p)
{
    job_arg *a = p;
    uint32_t st[2] = {a->value, (uint32_t)atomic_fetch_add(&job_events, 1)};
    tr_system_send(a->sys, t_probe, tr_atom_from("started"), st, sizeof st);
    if (a->gate >= 0) t_gate_wait(&job_gate[a->gate]); /* plays blocking work */
    tr_msg *m;
    if (tr_msg_new(tr_atom_from("result"), sizeof st, &m) != TR_OK) return NULL;
    uint32_t r[2] = {a->value * 2, (uint32_t)atomic_fetch_add(&job_events, 1)};
    memcpy(tr_msg_buffer(m), r, sizeof r);
    return m;
}

static void job_cleanup(void *p)
{
    free(p);
    atomic_fetch_add(&cleanups, 1);
}

/* offloader: "job" {job_arg} offloads and reports "queued" {rc}; a
 * "result" goes on to the probe. */
static int offloader_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "job") == 0) {
        job_arg *a = malloc(sizeof *a);
        if (!T_CHECK(ctx, a != NULL)) return TR_ENOMEM;
        memcpy(a, tr_msg_data(m), sizeof *a);
        a->sys = tr_ctx_system(ctx);
        int rc = tr_offload(ctx, (tr_job){job_run, job_cleanup, a});
        if (rc != TR_OK) free(a);
        return t_report_int(ctx, "queued", rc);
    }
    if (strcmp(t, "result") == 0)
        return tr_send(ctx, t_probe, tr_atom_from("result"), tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static const tr_behaviour offloader_b = {"offloader", 0, NULL, offloader_handle, NULL};

static int setup_blocking(void **state, unsigned n)
{
    for (int i = 0; i < 3; i++) t_gate_init(&job_gate[i]);
    atomic_store(&cleanups, 0);
    atomic_store(&job_events, 0);
    tr_system_opts o = {.workers = 2, .blocking_threads = n};
    return t_setup_opts(state, &o);
}

static int setup_two_blocking(void **state) { return setup_blocking(state, 2); }
static int setup_one_blocking(void **state) { return setup_blocking(state, 1); }

/* Sends a job; the offloader's "queued" may come after the job's own
 * "started" (another thread): those are kept in `log` (values, in order). */
typedef struct job_log {
    uint32_t value[8], event[8];
    int n;
} job_log;

static void note_started(job_log *log, const tr_msg *m)
{
    uint32_t st[2];
    assert_int_equal(tr_msg_size(m), sizeof st);
    memcpy(st, tr_msg_data(m), sizeof st);
    assert_true(log->n < 8);
    log->value[log->n] = st[0];
    log->event[log->n++] = st[1];
}

static void send_job(t_env *e, tr_pid to, uint32_t v, int gate, job_log *log)
{
    job_arg a = {NULL, v, gate};
    assert_int_equal(tr_inbox_send(e->probe, to, tr_atom_from("job"), &a, sizeof a), TR_OK);
    for (;;) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("started"))) {
            note_started(log, m);
            continue;
        }
        assert_string_equal(tr_atom_name(tr_msg_type(m)), "queued");
        assert_int_equal(t_int(m), TR_OK);
        return;
    }
}

/* Waits until `log` has `n` starts. */
static void await_started(t_env *e, job_log *log, int n)
{
    while (log->n < n) note_started(log, t_expect(e, "started"));
}

static void read2(const tr_msg *m, uint32_t *v)
{
    assert_int_equal(tr_msg_size(m), 2 * sizeof *v);
    memcpy(v, tr_msg_data(m), 2 * sizeof *v);
}

/* Two blocking threads, three jobs: two run, the third waits (no third
 * thread is started for it) and runs only once one of the two has
 * finished; every result comes back to the requester. */
static void test_offload_result_and_limit(void **state)
{
    t_env *e = *state;
    tr_pid o;
    assert_int_equal(tr_system_spawn(e->sys, &offloader_b, NULL, &o), TR_OK);
    int threads0 = t_threads();
    job_log log = {.n = 0};
    send_job(e, o, 1, 0, &log);
    send_job(e, o, 2, 1, &log);
    await_started(e, &log, 2);
    assert_true((log.value[0] == 1 && log.value[1] == 2) || (log.value[0] == 2 && log.value[1] == 1));
    uint32_t st[2], r[2], first_end = 0;
    send_job(e, o, 3, -1, &log); /* queued: both threads are busy */
    assert_int_equal(log.n, 2);
    if (threads0 > 0) assert_int_equal(t_threads(), threads0 + 2); /* no third thread */
    t_gate_open(&job_gate[0]);
    int results = 0, started3 = 0;
    uint32_t start3 = 0;
    while (results < 2 || !started3) { /* job 1's result, job 3 starts and ends */
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("started"))) {
            read2(m, st);
            assert_int_equal(st[0], 3);
            start3 = st[1];
            started3 = 1;
            continue;
        }
        assert_string_equal(tr_atom_name(tr_msg_type(m)), "result");
        read2(m, r);
        assert_true(r[0] == 2 || r[0] == 6);
        if (r[0] == 2) first_end = r[1];
        results++;
    }
    /* the events are numbered in the order they happened: job 3 started
     * after job 1 had finished */
    assert_true(first_end > 0);
    assert_true(start3 > first_end);
    t_gate_open(&job_gate[1]);
    read2(t_expect(e, "result"), r);
    assert_int_equal(r[0], 4);
    int64_t end = t_now_ms() + T_WAIT_MS; /* cleanup runs before the result is sent */
    while (atomic_load(&cleanups) < 3 && t_now_ms() < end) sched_yield();
    assert_int_equal(atomic_load(&cleanups), 3);
    t_expect_none(e);
}

/* One blocking thread: jobs run one at a time, in the order queued. */
static void test_offload_fifo(void **state)
{
    t_env *e = *state;
    tr_pid o;
    assert_int_equal(tr_system_spawn(e->sys, &offloader_b, NULL, &o), TR_OK);
    job_log log = {.n = 0};
    send_job(e, o, 10, 0, &log);
    await_started(e, &log, 1);
    assert_int_equal(log.value[0], 10);
    uint32_t st[2], r[2];
    for (uint32_t v = 11; v <= 14; v++) send_job(e, o, v, -1, &log);
    assert_int_equal(log.n, 1); /* the one thread is busy */
    t_gate_open(&job_gate[0]);
    uint32_t next_start = 11, next_result = 10;
    while (next_result <= 14) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("started"))) {
            read2(m, st);
            assert_int_equal(st[0], next_start++);
        } else {
            assert_string_equal(tr_atom_name(tr_msg_type(m)), "result");
            read2(m, r);
            assert_int_equal(r[0], 2 * next_result++);
        }
    }
    assert_int_equal(next_start, 15);
}

/* The requester ends before its job does: the result is freed, not sent
 * on (a dead letter; the teardown proves nothing leaked), cleanup ran. */
static void test_offload_requester_gone(void **state)
{
    t_env *e = *state;
    tr_pid o;
    assert_int_equal(tr_system_spawn(e->sys, &offloader_b, NULL, &o), TR_OK);
    job_log log = {.n = 0};
    send_job(e, o, 21, 0, &log);
    await_started(e, &log, 1);
    assert_int_equal(tr_system_stop_child(e->sys, o), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    t_gate_open(&job_gate[0]);
    tr_dead_letter d = expect_dead_letter(e);
    assert_true(tr_pid_eq(d.to, o));
    assert_int_equal(d.reason, TR_DEAD_NO_ACTOR);
    assert_string_equal(tr_atom_name(d.type), "result");
    assert_int_equal(atomic_load(&cleanups), 1); /* before the result was sent */
    t_expect_none(e);
}

/* ------------------------------------------------------------ inspect */

/* watcher: "watch" {pid} monitors and links it; a request is kept
 * unanswered. */
static int watcher_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("watch"))) {
        tr_pid p;
        memcpy(&p, tr_msg_data(m), sizeof p);
        int rc = tr_monitor(ctx, p, NULL);
        if (rc == TR_OK) rc = tr_link(ctx, p);
        return t_report_int(ctx, "watching", rc);
    }
    return 0; /* requests stay unanswered */
}

static const tr_behaviour watcher_b = {"watcher", 0, NULL, watcher_handle, NULL};

static void inspect_ok(t_env *e, tr_pid p, tr_actor_info *info)
{
    memset(info, 0xee, sizeof *info);
    assert_int_equal(tr_system_inspect(e->sys, p, info, T_WAIT_MS), TR_OK);
}

/* What tr_system_inspect and tr_info tell, field by field. */
static void test_inspect(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid p = echo(e, &(tr_spawn_opts){.name = "watched", .capacity = 8});
    send0(e, p, "ping");
    t_expect(e, "pong");
    send0(e, p, "spawn2");
    t_expect(e, "spawned");
    tr_actor_info info;
    inspect_ok(e, p, &info);
    assert_true(tr_pid_eq(info.pid, p));
    assert_false(tr_pid_is_nil(info.parent)); /* the root */
    assert_false(tr_pid_eq(info.parent, p));
    assert_string_equal(info.path, "/root/watched");
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.mailbox, 0);
    assert_int_equal(info.messages_in, 2); /* the inspection is not counted */
    assert_int_equal(info.messages_out, 2); /* pong, spawned */
    assert_int_equal(info.children, 2);
    assert_int_equal(info.capacity, 8);
    assert_int_equal(info.links, 0);
    assert_int_equal(info.monitors, 0);
    assert_int_equal(info.watchers, 0);
    assert_int_equal(info.requests, 0);
    assert_int_equal(info.restarts, 0);

    /* links, monitors on both sides, unanswered requests */
    tr_pid w;
    assert_int_equal(tr_system_spawn(e->sys, &watcher_b, NULL, &w), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("watch"), &p, sizeof p), TR_OK);
    assert_int_equal(t_expect_int(e, "watching"), TR_OK);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(e->sys, w, tr_atom_from("q"), NULL, 0, 0, &reply), TR_ETIMEDOUT);
    inspect_ok(e, w, &info); /* after the request: it holds it */
    assert_int_equal(info.links, 1);
    assert_int_equal(info.monitors, 1);
    assert_int_equal(info.watchers, 0);
    assert_int_equal(info.requests, 1);
    assert_int_equal(info.messages_in, 2);
    inspect_ok(e, p, &info); /* the link and monitor signals came first */
    assert_int_equal(info.links, 1);
    assert_int_equal(info.watchers, 1);
    assert_int_equal(info.monitors, 0);

    /* a held actor tells, from inside, what waits in its mailbox */
    tr_pid q = echo(e, &(tr_spawn_opts){.name = "q"});
    hold(e, q);
    for (int i = 0; i < 3; i++) send0(e, q, "x");
    send0(e, q, "info");
    assert_int_equal(tr_system_inspect(e->sys, q, &info, 0), TR_ETIMEDOUT); /* busy */
    t_gate_open(&hold_gate);
    const tr_msg *m = t_expect(e, "info");
    assert_int_equal(tr_msg_size(m), sizeof info);
    memcpy(&info, tr_msg_data(m), sizeof info);
    /* behind "info" waits the inspection that timed out */
    assert_int_equal(info.status, TR_STATUS_RUNNING);
    assert_int_equal(info.mailbox, 1);
    assert_int_equal(info.messages_in, 5); /* hold, 3 x, info */
    assert_string_equal(info.path, "/root/q");
    inspect_ok(e, q, &info);
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.mailbox, 0);
    assert_int_equal(info.messages_in, 5); /* inspections are not counted */
    hold(e, q); /* now "info" waits behind one message and before two */
    send0(e, q, "x");
    send0(e, q, "info");
    send0(e, q, "x");
    send0(e, q, "x");
    t_gate_open(&hold_gate);
    m = t_expect(e, "info");
    memcpy(&info, tr_msg_data(m), sizeof info);
    assert_int_equal(info.status, TR_STATUS_RUNNING);
    assert_int_equal(info.mailbox, 2);
    assert_int_equal(info.messages_in, 8);

    send0(e, q, "stop");
    t_expect_str(e, "term", "/root/q normal");
    assert_int_equal(t_wait_live(e->sys, 4), 4);
    assert_int_equal(tr_system_inspect(e->sys, q, &info, T_WAIT_MS), TR_ENOENT);
}

/* terminate sees itself stopping. */
static void stopping_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs, (void)why;
    tr_actor_info info;
    int rc = tr_info(ctx, &info);
    if (T_CHECK(ctx, rc == TR_OK)) t_report_int(ctx, "status", (int)info.status);
}

static const tr_behaviour stopping_b = {"stopping", 0, NULL, echo_handle, stopping_terminate};

static void test_inspect_stopping(void **state)
{
    t_env *e = *state;
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &stopping_b, NULL, &p), TR_OK);
    send0(e, p, "stop");
    assert_int_equal(t_expect_int(e, "status"), TR_STATUS_STOPPING);
}

/* An actor inspects another with tr_call and decodes the answer. */
static int asker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("ask"))) {
        tr_pid p;
        memcpy(&p, tr_msg_data(m), sizeof p);
        return tr_call(ctx, p, tr_inspect_atom(), NULL, 0, TR_INFINITY, NULL);
    }
    tr_actor_info info;
    int rc = tr_actor_info_decode(m, &info);
    if (!T_CHECK(ctx, rc == TR_OK)) return 0;
    return t_report(ctx, "asked", info.path);
}

static const tr_behaviour asker_b = {"asker", 0, NULL, asker_handle, NULL};

static void test_inspect_from_an_actor(void **state)
{
    t_env *e = *state;
    atomic_store(&handled, 0);
    assert_string_equal(tr_atom_name(tr_inspect_atom()), "tr.inspect");
    tr_pid p = echo(e, &(tr_spawn_opts){.name = "target"}), a;
    assert_int_equal(tr_system_spawn(e->sys, &asker_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("ask"), &p, sizeof p), TR_OK);
    t_expect_str(e, "asked", "/root/target");
    assert_int_equal(atomic_load(&handled), 0); /* echo's handler never saw it */
}

/* ------------------------------------------- regressions from review */

static int failing_end_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "watch") == 0) { /* "watch" {pid}: monitor it */
        tr_pid p;
        memcpy(&p, tr_msg_data(m), sizeof p);
        return tr_monitor(ctx, p, NULL);
    }
    if (strcmp(t, "tr.down") == 0) return t_report(ctx, "down", "");
    if (strcmp(t, "die") == 0) return tr_fail(ctx, "the original reason, long enough to matter");
    return 0;
}

static void failing_end_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs, (void)why;
    tr_fail(ctx, "too late: ignored"); /* the reason is final in terminate */
}

static const tr_behaviour failing_end_b = {"failing_end", 0, NULL, failing_end_handle,
                                           failing_end_terminate};

static int trap_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (strcmp(tr_atom_name(tr_msg_type(m)), "spawn") == 0) {
        tr_pid p;
        int rc = tr_spawn(ctx, &failing_end_b, NULL, &p);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return tr_send(ctx, t_probe, tr_atom_from("spawned"), &p, sizeof p);
    }
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) == TR_OK) return t_report(ctx, "exit", why.text ? why.text : "");
    return 0;
}

static const tr_behaviour trap_b = {"trap", 0, NULL, trap_handle, NULL};

/* terminate calling tr_fail changes nothing: the watcher and the parent
 * get the original reason (this was a use-after-free). */
static void test_fail_in_terminate(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    tr_spawn_opts o = {.flags = TR_SPAWN_TRAP_EXITS};
    tr_pid trap, victim, watcher;
    assert_int_equal(tr_system_spawn(e->sys, &trap_b, &o, &trap), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &failing_end_b, NULL, &watcher), TR_OK);
    tr_inbox_send(e->probe, trap, tr_atom_from("spawn"), NULL, 0);
    memcpy(&victim, tr_msg_data(t_expect(e, "spawned")), sizeof victim);
    tr_inbox_send(e->probe, watcher, tr_atom_from("watch"), &victim, sizeof victim);
    tr_actor_info info;
    do { /* the monitor is in place once the victim counts a watcher */
        assert_int_equal(tr_system_inspect(e->sys, victim, &info, T_WAIT_MS), TR_OK);
    } while (info.watchers == 0);
    tr_inbox_send(e->probe, victim, tr_atom_from("die"), NULL, 0);
    int got = 0;
    for (int i = 0; i < 2; i++) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("exit"))) {
            assert_string_equal((const char *)tr_msg_data(m),
                                "the original reason, long enough to matter");
            got |= 1;
        } else {
            assert_string_equal(tr_atom_name(tr_msg_type(m)), "down");
            got |= 2;
        }
    }
    assert_int_equal(got, 3);
    tr_log_set_level(TR_LOG_WARN);
}

/* Timeouts and delays of centuries mean "never", not "at once". */
static int long_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (strcmp(tr_atom_name(tr_msg_type(m)), "go") == 0) {
        int64_t huge = INT64_MAX / 2;
        int rc[3];
        rc[0] = tr_send_after(ctx, t_probe, huge, tr_atom_from("never"), NULL, 0, NULL);
        rc[1] = tr_send_every(ctx, t_probe, huge, tr_atom_from("never"), NULL, 0, NULL);
        rc[2] = tr_call(ctx, tr_msg_sender(m), tr_atom_from("q"), NULL, 0, huge, NULL);
        return t_report_val(ctx, "armed", rc, sizeof rc);
    }
    return t_report(ctx, "answer", tr_atom_name(tr_msg_type(m)));
}

static const tr_behaviour long_b = {"long", 0, NULL, long_handle, NULL};

static void test_huge_timeouts(void **state)
{
    t_env *e = *state;
    tr_spawn_opts o = {.deadline_ms = INT64_MAX / 2};
    tr_pid p;
    assert_int_equal(tr_system_spawn(e->sys, &long_b, &o, &p), TR_OK);
    tr_inbox_send(e->probe, p, tr_atom_from("go"), NULL, 0);
    /* the call's request comes first: answer it from the inbox (after the
     * next receive it is gone, so keep its token) */
    const tr_msg *m = t_expect(e, "q");
    assert_true(tr_msg_is_request(m));
    assert_int_equal(tr_inbox_reply(e->probe, m, tr_atom_from("reply"), NULL, 0), TR_OK);
    m = t_expect(e, "armed");
    int rc[3];
    assert_int_equal(tr_msg_size(m), sizeof rc);
    memcpy(rc, tr_msg_data(m), sizeof rc);
    for (int i = 0; i < 3; i++) assert_int_equal(rc[i], TR_OK);
    /* no timeout answered the call at once: the reply is its answer */
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "answer")), "reply");
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT); /* nothing "never" */
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_live, 1); /* the deadline did not fire */
}

/* A reply is delivered even to a full drop-newest mailbox. */
static int bounded_caller_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "go") == 0) {
        tr_pid echo_pid;
        memcpy(&echo_pid, tr_msg_data(m), sizeof echo_pid);
        /* fill the mailbox (capacity 1) with a message to itself first */
        tr_send(ctx, tr_self(ctx), tr_atom_from("filler"), NULL, 0);
        return tr_call(ctx, echo_pid, tr_atom_from("ping"), NULL, 0, TR_INFINITY, NULL);
    }
    if (strcmp(t, "filler") == 0) return 0;
    return t_report(ctx, "answer", t);
}

static const tr_behaviour bounded_caller_b = {"bcaller", 0, NULL, bounded_caller_handle, NULL};

static int replier_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    return tr_reply(ctx, m, tr_atom_from("pong"), NULL, 0);
}

static const tr_behaviour replier_b = {"replier", 0, NULL, replier_handle, NULL};

static void test_bounded_mailbox_keeps_replies(void **state)
{
    t_env *e = *state;
    tr_spawn_opts o = {.capacity = 1, .on_full = TR_FULL_DROP_NEWEST};
    tr_pid caller, replier;
    assert_int_equal(tr_system_spawn(e->sys, &replier_b, NULL, &replier), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &bounded_caller_b, &o, &caller), TR_OK);
    tr_inbox_send(e->probe, caller, tr_atom_from("go"), &replier, sizeof replier);
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "answer")), "pong");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fail_in_terminate, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_huge_timeouts, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_mailbox_keeps_replies, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_registry, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_registry_many_names, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_subtree_deadline, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_trapped, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_flood_fail, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_flood_drop_newest, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_flood_drop_oldest, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_fail_refuses_the_newest, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_drop_newest_keeps_the_first, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_drop_oldest_keeps_the_last, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_block, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_no_actor, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_subscriber_gone, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_stopping, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_offload_result_and_limit, setup_two_blocking,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_offload_fifo, setup_one_blocking, t_teardown),
        cmocka_unit_test_setup_teardown(test_offload_requester_gone, setup_two_blocking,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_inspect, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_stopping, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_from_an_actor, t_setup, t_teardown),
    };
    return cmocka_run_group_tests_name("toolkit", tests, NULL, NULL);
}
