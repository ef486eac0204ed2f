/* test_toolkit.c — names, subtree deadlines, bounded mailboxes, dead-letter
 * subscription, blocking offload and introspection. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* --------------------------------------------------------- test actors */

/* Echo: answers "ping" with "pong"; "stop" stops; "spawn2" spawns two
 * children; "hold" holds the worker until `release` (test scaffolding that
 * plays a busy actor); counts what it handles; reports its end. */
static _Atomic int release;
static _Atomic uint64_t handled;

static const tr_behaviour echo_b;

static int echo_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    atomic_fetch_add(&handled, 1);
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "ping") == 0) return tr_send(ctx, tr_msg_sender(m), tr_atom_from("pong"), NULL, 0);
    if (strcmp(t, "stop") == 0) tr_stop(ctx);
    if (strcmp(t, "hold") == 0) {
        t_report(ctx, "holding", "");
        while (!atomic_load(&release)) sched_yield();
    }
    if (strcmp(t, "spawn2") == 0) {
        tr_spawn_opts a = {.name = "a"}, b = {.name = "b"};
        tr_spawn(ctx, &echo_b, &a, NULL);
        tr_spawn(ctx, &echo_b, &b, NULL);
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

/* ------------------------------------------------------------ registry */

static void test_registry(void **state)
{
    t_env *e = *state;
    tr_pid a = echo(e, NULL), b = echo(e, NULL), got;
    assert_int_equal(tr_register(e->sys, "kv", a), TR_OK);
    assert_int_equal(tr_register(e->sys, "kv", b), TR_EEXIST);
    assert_int_equal(tr_register(e->sys, "", b), TR_EINVAL);
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_OK);
    assert_true(tr_pid_eq(got, a));
    assert_int_equal(tr_whereis(e->sys, "nope", &got), TR_ENOENT);
    tr_inbox_send(e->probe, a, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(tr_system_send_named(e->sys, "kv", tr_atom_from("x"), NULL, 0), TR_OK);
    t_expect(e, "term");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
    /* released with its actor: gone, and free to take */
    assert_int_equal(tr_whereis(e->sys, "kv", &got), TR_ENOENT);
    assert_int_equal(tr_system_send_named(e->sys, "kv", tr_atom_from("x"), NULL, 0), TR_ENOENT);
    assert_int_equal(tr_register(e->sys, "kv", b), TR_OK);
    assert_int_equal(tr_unregister(e->sys, "kv"), TR_OK);
    assert_int_equal(tr_unregister(e->sys, "kv"), TR_ENOENT);
    assert_int_equal(tr_register(e->sys, "dead", a), TR_ENOENT);
}

/* ------------------------------------------------------------ deadline */

static void test_subtree_deadline(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    tr_spawn_opts o = {.name = "job", .deadline_ms = 30};
    tr_pid j = echo(e, &o);
    tr_inbox_send(e->probe, j, tr_atom_from("spawn2"), NULL, 0);
    t_expect(e, "spawned");
    /* real clock: 30 ms; the subtree ends children first */
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "term")), "/root/job/b shutdown");
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "term")), "/root/job/a shutdown");
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "term")), "/root/job timeout");
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/job: timeout\n/root: child /root/job exited: timeout\n");
    tr_log_set_level(TR_LOG_WARN);
}

/* ---------------------------------------------------- bounded mailboxes */

#define PRODUCERS 4
#define PER 1000
#define CAP 100

typedef struct prod_arg {
    tr_system *sys;
    tr_pid to;
    _Atomic int *ok, *full;
} prod_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (int i = 0; i < PER; i++) {
        int rc = tr_system_send(a->sys, a->to, tr_atom_from("n"), &i, sizeof i);
        if (rc == TR_OK) atomic_fetch_add(a->ok, 1);
        else if (rc == TR_EFULL) atomic_fetch_add(a->full, 1);
        else abort();
    }
    return NULL;
}

/* Holds the actor busy, floods it from 4 threads, releases it, and checks
 * what got in, what was handled and what was dropped. */
static void flood(t_env *e, tr_full_policy policy, int *ok, int *full, uint64_t *got,
                  uint64_t *dropped)
{
    atomic_store(&release, 0);
    tr_spawn_opts o = {.capacity = CAP, .on_full = policy};
    tr_pid p = echo(e, &o);
    tr_inbox_send(e->probe, p, tr_atom_from("hold"), NULL, 0);
    t_expect(e, "holding");
    _Atomic int aok = 0, afull = 0;
    prod_arg a = {e->sys, p, &aok, &afull};
    pthread_t th[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) pthread_create(&th[i], NULL, producer, &a);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(th[i], NULL);
    atomic_store(&handled, 0);
    atomic_store(&release, 1);
    /* Whatever the policy, CAP messages get handled; wait for those, then
     * a ping (there is room now) whose pong proves no more came after. */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (atomic_load(&handled) < CAP && t_now_ms() < end) sched_yield();
    assert_int_equal(tr_inbox_send(e->probe, p, tr_atom_from("ping"), NULL, 0), TR_OK);
    t_expect(e, "pong");
    *ok = atomic_load(&aok);
    *full = atomic_load(&afull);
    *got = atomic_load(&handled) - 1; /* minus the ping */
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    *dropped = st.dropped;
}

static void test_bounded_fail(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_FAIL, &ok, &full, &got, &dropped);
    assert_int_equal(ok, CAP);
    assert_int_equal(full, PRODUCERS * PER - CAP);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, 0);
}

static void test_bounded_drop_newest(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_DROP_NEWEST, &ok, &full, &got, &dropped);
    assert_int_equal(ok, PRODUCERS * PER);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, PRODUCERS * PER - CAP);
    t_env *e = *state;
    assert_int_equal(t_wait_dead_letters(e->sys, dropped), dropped);
}

static void test_bounded_drop_oldest(void **state)
{
    int ok, full;
    uint64_t got, dropped;
    flood(*state, TR_FULL_DROP_OLDEST, &ok, &full, &got, &dropped);
    assert_int_equal(ok, PRODUCERS * PER);
    assert_int_equal(got, CAP);
    assert_int_equal(dropped, PRODUCERS * PER - CAP);
}

typedef struct block_arg {
    tr_system *sys;
    tr_pid to;
    int rc;
} block_arg;

static void *blocked_sender(void *p)
{
    block_arg *a = p;
    a->rc = tr_system_send(a->sys, a->to, tr_atom_from("n"), NULL, 0); /* waits for room */
    return NULL;
}

static void test_bounded_block(void **state)
{
    t_env *e = *state;
    atomic_store(&release, 0);
    tr_spawn_opts o = {.capacity = 2, .on_full = TR_FULL_BLOCK};
    tr_pid p = echo(e, &o);
    tr_inbox_send(e->probe, p, tr_atom_from("hold"), NULL, 0);
    t_expect(e, "holding");
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("n"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("n"), NULL, 0), TR_OK);
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_system_send_timed(e->sys, p, tr_atom_from("n"), NULL, 0, 20), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 >= 19);
    block_arg a = {e->sys, p, -1};
    pthread_t th;
    pthread_create(&th, NULL, blocked_sender, &a);
    atomic_store(&release, 1); /* room appears; the blocked send goes through */
    pthread_join(th, NULL);
    assert_int_equal(a.rc, TR_OK);
}

/* ------------------------------------------------------- dead letters */

static void test_dead_letter_subscriber(void **state)
{
    t_env *e = *state;
    tr_pid p = echo(e, NULL);
    tr_inbox_send(e->probe, p, tr_atom_from("stop"), NULL, 0);
    t_expect(e, "term");
    tr_system_dead_letters_to(e->sys, t_probe);
    uint32_t v = 0xabcd;
    tr_inbox_send(e->probe, p, tr_atom_from("lost"), &v, sizeof v);
    const tr_msg *m = t_expect(e, "tr.dead_letter");
    tr_dead_letter d;
    assert_int_equal(tr_dead_letter_info(m, &d), TR_OK);
    assert_true(tr_pid_eq(d.to, p));
    assert_true(tr_pid_eq(d.from, t_probe));
    assert_string_equal(tr_atom_name(d.type), "lost");
    assert_int_equal(d.size, sizeof v);
    assert_memory_equal(d.data, &v, sizeof v);
    tr_system_dead_letters_to(e->sys, TR_PID_NIL);
    tr_inbox_send(e->probe, p, tr_atom_from("lost"), &v, sizeof v);
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
}

/* ------------------------------------------------------------ offload */

static sem_t job_gate;
static _Atomic int cleanups;

typedef struct job_arg {
    tr_system *sys;
    uint64_t value;
    bool gated;
} job_arg;

static tr_msg *job_run(void *p)
{
    job_arg *a = p;
    tr_system_send(a->sys, t_probe, tr_atom_from("started"), &a->value, sizeof a->value);
    if (a->gated) sem_wait(&job_gate); /* plays blocking work */
    tr_msg *m;
    if (tr_msg_new(tr_atom_from("result"), sizeof a->value, &m) != TR_OK) return NULL;
    uint64_t r = a->value * 2;
    memcpy(tr_msg_buffer(m), &r, sizeof r);
    return m;
}

static void job_cleanup(void *p)
{
    free(p);
    atomic_fetch_add(&cleanups, 1);
}

/* Offloader: "job" {value, gated} offloads; a "result" goes to the probe. */
static int offloader_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "job") == 0) {
        job_arg *a = malloc(sizeof *a);
        memcpy(a, tr_msg_data(m), sizeof *a);
        a->sys = tr_ctx_system(ctx);
        return tr_offload(ctx, (tr_job){job_run, job_cleanup, a});
    }
    if (strcmp(t, "result") == 0)
        return tr_send(ctx, t_probe, tr_atom_from("result"), tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static const tr_behaviour offloader_b = {"offloader", 0, NULL, offloader_handle, NULL};

static int setup_two_blocking(void **state)
{
    t_env *e = calloc(1, sizeof *e);
    tr_system_opts o = {.workers = 2, .blocking_threads = 2};
    if (!e || tr_system_new(&o, &e->sys) != TR_OK) return -1;
    if (tr_inbox_new(e->sys, &e->probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(e->probe);
    sem_init(&job_gate, 0, 0);
    atomic_store(&cleanups, 0);
    *state = e;
    return 0;
}

static void send_job(t_env *e, tr_pid to, uint64_t v, bool gated)
{
    job_arg a = {NULL, v, gated};
    tr_inbox_send(e->probe, to, tr_atom_from("job"), &a, sizeof a);
}

static void test_offload_result_and_limit(void **state)
{
    t_env *e = *state;
    tr_pid o;
    tr_system_spawn(e->sys, &offloader_b, NULL, &o);
    for (uint64_t i = 1; i <= 3; i++) send_job(e, o, i, true);
    t_expect(e, "started");
    t_expect(e, "started");
    /* two threads, both busy: the third job waits for one of them */
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 50), TR_ETIMEDOUT);
    sem_post(&job_gate);
    int results = 0, started = 0;
    for (int i = 0; i < 2; i++) {
        m = t_recv(e);
        if (strcmp(tr_atom_name(tr_msg_type(m)), "result") == 0) results++;
        else started++;
    }
    assert_int_equal(started, 1);
    sem_post(&job_gate);
    sem_post(&job_gate);
    while (results < 3) {
        assert_string_equal(tr_atom_name(tr_msg_type(t_recv(e))), "result");
        results++;
    }
}

/* The requester ends before its job does: the result is freed, not sent
 * (the teardown proves nothing leaked), and cleanup ran. */
static void test_offload_requester_gone(void **state)
{
    t_env *e = *state;
    tr_pid o;
    tr_system_spawn(e->sys, &offloader_b, NULL, &o);
    send_job(e, o, 21, true);
    t_expect(e, "started");
    tr_system_stop_child(e->sys, o);
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    tr_system_stats before;
    tr_system_get_stats(e->sys, &before);
    sem_post(&job_gate);
    assert_int_equal(t_wait_dead_letters(e->sys, before.dead_letters + 1), before.dead_letters + 1);
    assert_int_equal(atomic_load(&cleanups), 1);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
}

/* ------------------------------------------------------------ inspect */

static void test_inspect(void **state)
{
    t_env *e = *state;
    tr_spawn_opts o = {.name = "watched", .capacity = 8};
    tr_pid p = echo(e, &o);
    tr_inbox_send(e->probe, p, tr_atom_from("ping"), NULL, 0);
    t_expect(e, "pong");
    tr_inbox_send(e->probe, p, tr_atom_from("spawn2"), NULL, 0);
    t_expect(e, "spawned");
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, p, &info, T_WAIT_MS), TR_OK);
    assert_true(tr_pid_eq(info.pid, p));
    assert_string_equal(info.path, "/root/watched");
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.mailbox, 0);
    assert_int_equal(info.messages_in, 2);
    assert_int_equal(info.messages_out, 2); /* pong, spawned */
    assert_int_equal(info.children, 2);
    assert_int_equal(info.capacity, 8);
    /* a held actor with queued messages */
    atomic_store(&release, 0);
    tr_pid q = echo(e, NULL);
    tr_inbox_send(e->probe, q, tr_atom_from("hold"), NULL, 0);
    t_expect(e, "holding");
    for (int i = 0; i < 3; i++) tr_inbox_send(e->probe, q, tr_atom_from("x"), NULL, 0);
    pthread_t th;
    atomic_store(&release, 1);
    (void)th;
    assert_int_equal(tr_system_inspect(e->sys, q, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.mailbox, 0); /* the 3 were handled before the request */
    assert_int_equal(info.messages_in, 4);
    tr_inbox_send(e->probe, q, tr_atom_from("stop"), NULL, 0);
    t_expect(e, "term");
    assert_int_equal(t_wait_live(e->sys, 3), 3);
    assert_int_equal(tr_system_inspect(e->sys, q, &info, T_WAIT_MS), TR_ENOENT);
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
        assert_int_equal(tr_spawn(ctx, &failing_end_b, NULL, &p), TR_OK);
        return tr_send(ctx, t_probe, tr_atom_from("spawned"), &p, sizeof p);
    }
    tr_pid who;
    tr_exit why;
    if (tr_exit_info(m, &who, &why) == TR_OK) return t_report(ctx, "exit", why.text ? why.text : "");
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
        assert_int_equal(tr_send_after(ctx, t_probe, huge, tr_atom_from("never"), NULL, 0, NULL),
                         TR_OK);
        assert_int_equal(tr_send_every(ctx, t_probe, huge, tr_atom_from("never"), NULL, 0, NULL),
                         TR_OK);
        assert_int_equal(tr_call(ctx, tr_msg_sender(m), tr_atom_from("q"), NULL, 0, huge, NULL),
                         TR_OK);
        return t_report(ctx, "armed", "");
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
    t_expect(e, "armed");
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
        cmocka_unit_test_setup_teardown(test_subtree_deadline, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_fail, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_drop_newest, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_drop_oldest, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_block, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_subscriber, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_offload_result_and_limit, setup_two_blocking,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_offload_requester_gone, setup_two_blocking,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_inspect, t_setup, t_teardown),
    };
    return cmocka_run_group_tests_name("toolkit", tests, NULL, NULL);
}
