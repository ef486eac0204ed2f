/* test_link.c — monitors, links, trap-exit and exit signals. Agents live
 * under a trapping guard so that their failures stop at the guard. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

typedef struct seen {
    char type[16];
    tr_pid who;
    uint32_t kind;
    uint64_t ref;
    char text[160];
} seen;

typedef struct cmd_arg {
    tr_pid pid;
    uint64_t ref;
    uint32_t kind;
    char text[32];
} cmd_arg;

static void report_seen(tr_ctx *ctx, const char *as, const tr_msg *m)
{
    seen s;
    memset(&s, 0, sizeof s);
    snprintf(s.type, sizeof s.type, "%s", tr_atom_name(tr_msg_type(m)));
    tr_exit why;
    if (tr_exit_decode(m, &s.who, &why) == TR_OK) {
        s.kind = why.kind;
        snprintf(s.text, sizeof s.text, "%s", why.text ? why.text : "");
    }
    s.ref = tr_msg_ref(m).id;
    tr_send(ctx, t_probe, tr_atom_from(as), &s, sizeof s);
}

/* What an agent answers every command with: the call's result and, for
 * "monitor", the reference. Asserted on the test thread only. */
typedef struct done_t {
    int64_t rc;
    uint64_t ref;
} done_t;

typedef struct counts_t {
    uint32_t links, monitors, watchers;
} counts_t;

/* "hold_demonitor" holds the agent's worker until this is set (teardown
 * sets it too, so that a failing test never leaves a worker held). */
static _Atomic int release_hold;

static int agent_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    cmd_arg c;
    memset(&c, 0, sizeof c);
    if (tr_msg_size(m) == sizeof c) memcpy(&c, tr_msg_data(m), sizeof c);
    done_t d = {0, 0};
    if (strcmp(t, "monitor") == 0) {
        tr_ref r = {0};
        d.rc = tr_monitor(ctx, c.pid, &r);
        d.ref = r.id;
    } else if (strcmp(t, "demonitor") == 0) {
        d.rc = tr_demonitor(ctx, (tr_ref){c.ref});
    } else if (strcmp(t, "hold_demonitor") == 0) {
        /* demonitors while a "tr.down" for it may already be queued behind
         * this message: the test decides when */
        t_report(ctx, "holding", "");
        while (!atomic_load(&release_hold)) sched_yield();
        d.rc = tr_demonitor(ctx, (tr_ref){c.ref});
    } else if (strcmp(t, "link") == 0) {
        d.rc = tr_link(ctx, c.pid);
    } else if (strcmp(t, "unlink") == 0) {
        d.rc = tr_unlink(ctx, c.pid);
    } else if (strcmp(t, "trap") == 0) {
        tr_trap_exits(ctx, c.kind != 0);
    } else if (strcmp(t, "exit") == 0) {
        d.rc = tr_send_exit(ctx, c.pid, (tr_exit_kind)c.kind, c.text);
    } else if (strcmp(t, "fail") == 0) {
        return tr_fail(ctx, "boom");
    } else if (strcmp(t, "stop") == 0) {
        tr_stop(ctx);
    } else if (strcmp(t, "shutdown") == 0) {
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "bye");
    } else if (strcmp(t, "info") == 0) {
        tr_actor_info info;
        d.rc = tr_info(ctx, &info);
        counts_t k = {info.links, info.monitors, info.watchers};
        return tr_send(ctx, t_probe, tr_atom_from("counts"), &k, sizeof k);
    } else {
        report_seen(ctx, "seen", m); /* tr.down, tr.exit */
        return 0;
    }
    return tr_send(ctx, t_probe, tr_atom_from("done"), &d, sizeof d);
}

static void agent_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    char line[200];
    snprintf(line, sizeof line, "%s%s%s", tr_exit_kind_name(why->kind), why->text ? ": " : "",
             why->text ? why->text : "");
    t_report(ctx, "term", line);
}

static const tr_behaviour agent_b = {"agent", 0, NULL, agent_handle, agent_terminate};

typedef struct spawned {
    int64_t rc;
    tr_pid pid;
} spawned;

/* Guard: spawns agents on "spawn" and reports the result. */
static int guard_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (strcmp(tr_atom_name(tr_msg_type(m)), "spawn") == 0) {
        spawned s = {0, TR_PID_NIL};
        s.rc = tr_spawn(ctx, &agent_b, NULL, &s.pid);
        return tr_send(ctx, t_probe, tr_atom_from("agent"), &s, sizeof s);
    }
    return 0; /* children's exits: trapped and ignored */
}

static const tr_behaviour guard_b = {"guard", 0, NULL, guard_handle, NULL};

typedef struct link_env {
    t_env e;
    tr_pid guard;
} link_env;

static int setup(void **state)
{
    if (t_setup(state)) return -1;
    t_env *e = *state;
    link_env *le = calloc(1, sizeof *le);
    le->e = *e;
    free(e);
    tr_spawn_opts o = {.name = "guard", .flags = TR_SPAWN_TRAP_EXITS};
    if (tr_system_spawn(le->e.sys, &guard_b, &o, &le->guard) != TR_OK) return -1;
    atomic_store(&release_hold, 0);
    tr_log_set_level(TR_LOG_NONE);
    *state = le;
    return 0;
}

static int teardown(void **state)
{
    atomic_store(&release_hold, 1); /* a failed test may hold a worker */
    link_env *le = *state;
    t_env *e = malloc(sizeof *e);
    *e = le->e;
    free(le);
    *state = e;
    int rc = t_teardown(state);
    tr_log_set_level(TR_LOG_WARN);
    return rc;
}

static tr_pid agent(link_env *le)
{
    assert_int_equal(tr_inbox_send(le->e.probe, le->guard, tr_atom_from("spawn"), NULL, 0), TR_OK);
    spawned s;
    memcpy(&s, tr_msg_data(t_expect(&le->e, "agent")), sizeof s);
    assert_int_equal(s.rc, TR_OK);
    return s.pid;
}

static void send_cmd(link_env *le, tr_pid to, const char *what, tr_pid pid, uint64_t ref,
                     uint32_t kind)
{
    cmd_arg c = {pid, ref, kind, "bye"};
    assert_int_equal(tr_inbox_send(le->e.probe, to, tr_atom_from(what), &c, sizeof c), TR_OK);
}

static done_t expect_done(link_env *le)
{
    done_t d;
    memcpy(&d, tr_msg_data(t_expect(&le->e, "done")), sizeof d);
    return d;
}

/* Runs a command and returns its result code. */
static int64_t cmd(link_env *le, tr_pid to, const char *what, tr_pid pid, uint64_t ref,
                   uint32_t kind)
{
    send_cmd(le, to, what, pid, ref, kind);
    return expect_done(le).rc;
}

/* Monitors `target` from `watcher`; returns the reference. */
static uint64_t monitor(link_env *le, tr_pid watcher, tr_pid target)
{
    send_cmd(le, watcher, "monitor", target, 0, 0);
    done_t d = expect_done(le);
    assert_int_equal(d.rc, TR_OK);
    assert_true(d.ref != 0);
    return d.ref;
}

static counts_t counts(link_env *le, tr_pid a)
{
    send_cmd(le, a, "info", TR_PID_NIL, 0, 0);
    counts_t k;
    memcpy(&k, tr_msg_data(t_expect(&le->e, "counts")), sizeof k);
    return k;
}

static seen expect_seen(link_env *le)
{
    seen s;
    memcpy(&s, tr_msg_data(t_expect(&le->e, "seen")), sizeof s);
    return s;
}

static void expect_term(link_env *le, const char *line)
{
    assert_string_equal((const char *)tr_msg_data(t_expect(&le->e, "term")), line);
}

/* The probe's next message is the answer to a no-op: nothing came before. */
static void expect_quiet(link_env *le, tr_pid a)
{
    assert_int_equal(cmd(le, a, "unlink", le->guard, 0, 0), TR_OK);
}

/* ------------------------------------------------------------- tests */

static void test_monitor_fires_with_reason(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le);
    uint64_t ref = monitor(le, w, t);
    assert_int_equal(tr_inbox_send(le->e.probe, t, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.down");
    assert_int_equal(s.ref, ref);
    assert_true(tr_pid_eq(s.who, t));
    assert_int_equal(s.kind, TR_EXIT_FAILURE);
    assert_string_equal(s.text, "boom");
}

static void test_monitor_dead_pid_fires_at_once(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le);
    assert_int_equal(cmd(le, t, "stop", t, 0, 0), TR_OK);
    expect_term(le, "normal");
    uint64_t ref = monitor(le, w, t);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.down");
    assert_int_equal(s.ref, ref);
    assert_true(tr_pid_eq(s.who, t));
    assert_int_equal(s.kind, TR_EXIT_NOPROC);
}

/* Monitoring twice gives two monitors, each with its own reference and
 * its own "tr.down"; removing one leaves the other. */
static void test_monitor_twice_is_two_monitors(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le);
    uint64_t r1 = monitor(le, w, t), r2 = monitor(le, w, t), r3 = monitor(le, w, t);
    assert_true(r1 != r2 && r2 != r3 && r1 != r3);
    assert_int_equal(counts(le, t).watchers, 3);
    assert_int_equal(counts(le, w).monitors, 3);
    assert_int_equal(cmd(le, w, "demonitor", t, r2, 0), TR_OK);
    assert_int_equal(counts(le, w).monitors, 2);
    assert_int_equal(counts(le, t).watchers, 2);
    assert_int_equal(cmd(le, t, "stop", t, 0, 0), TR_OK);
    expect_term(le, "normal");
    seen a = expect_seen(le), b = expect_seen(le);
    assert_string_equal(a.type, "tr.down");
    assert_string_equal(b.type, "tr.down");
    assert_true((a.ref == r1 && b.ref == r3) || (a.ref == r3 && b.ref == r1));
    expect_quiet(le, w);
    assert_int_equal(counts(le, w).monitors, 0); /* a "tr.down" ends its monitor */
}

static void test_demonitor_is_final(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le), other = agent(le);
    uint64_t ref = monitor(le, w, t);
    /* another actor cannot remove it, nor can a made-up or zero ref */
    assert_int_equal(cmd(le, other, "demonitor", t, ref, 0), TR_ENOENT);
    assert_int_equal(cmd(le, w, "demonitor", t, ref + 1000, 0), TR_ENOENT);
    assert_int_equal(cmd(le, w, "demonitor", t, 0, 0), TR_ENOENT);
    assert_int_equal(counts(le, t).watchers, 1);
    assert_int_equal(cmd(le, w, "demonitor", t, ref, 0), TR_OK);
    assert_int_equal(cmd(le, w, "demonitor", t, ref, 0), TR_ENOENT);
    assert_int_equal(counts(le, t).watchers, 0); /* the target forgot it too */
    assert_int_equal(cmd(le, t, "stop", t, 0, 0), TR_OK);
    expect_term(le, "normal");
    expect_quiet(le, w);
}

/* tr_demonitor is final even for a "tr.down" already in the watcher's
 * mailbox: the watcher is held in a callback while the target ends, and
 * demonitors only once the down is known to be queued (a trapping actor
 * linked to the target hears of its end after its watchers do). */
static void test_demonitor_with_down_already_queued(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le), obs = agent(le);
    assert_int_equal(cmd(le, obs, "trap", obs, 0, 1), TR_OK);
    assert_int_equal(cmd(le, obs, "link", t, 0, 0), TR_OK);
    uint64_t ref = monitor(le, w, t);
    send_cmd(le, w, "hold_demonitor", t, ref, 0);
    t_expect(&le->e, "holding");
    assert_int_equal(cmd(le, t, "stop", t, 0, 0), TR_OK);
    expect_term(le, "normal");
    seen s = expect_seen(le); /* obs: t's end went past w's mailbox first */
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, t));
    atomic_store(&release_hold, 1);
    assert_int_equal(expect_done(le).rc, TR_OK); /* the monitor was still live */
    expect_quiet(le, w); /* and its queued "tr.down" never reached the handler */
}

/* An actor that ends withdraws the monitors it holds: its targets forget
 * them (nothing would read their "tr.down"). */
static void test_watcher_end_withdraws_its_monitors(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le);
    monitor(le, w, t);
    monitor(le, w, t);
    assert_int_equal(counts(le, t).watchers, 2);
    assert_int_equal(cmd(le, w, "stop", w, 0, 0), TR_OK);
    expect_term(le, "normal");
    int64_t end = t_now_ms() + T_WAIT_MS; /* w's withdrawal follows its terminate */
    while (counts(le, t).watchers != 0 && t_now_ms() < end) sched_yield();
    assert_int_equal(counts(le, t).watchers, 0);
}

/* Every error code of the monitor and link calls. */
static void test_monitor_and_link_errors(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le);
    tr_pid remote = {tr_system_node(le->e.sys) + 1, 1, 1};
    assert_int_equal(cmd(le, a, "monitor", TR_PID_NIL, 0, 0), TR_EINVAL);
    assert_int_equal(cmd(le, a, "monitor", remote, 0, 0), TR_ENOROUTE);
    assert_int_equal(cmd(le, a, "link", TR_PID_NIL, 0, 0), TR_EINVAL);
    assert_int_equal(cmd(le, a, "link", a, 0, 0), TR_EINVAL);
    assert_int_equal(cmd(le, a, "link", remote, 0, 0), TR_ENOROUTE);
    assert_int_equal(cmd(le, a, "exit", TR_PID_NIL, 0, TR_EXIT_SHUTDOWN), TR_EINVAL);
    assert_int_equal(cmd(le, a, "exit", remote, 0, TR_EXIT_SHUTDOWN), TR_ENOROUTE);
    assert_int_equal(cmd(le, a, "exit", le->guard, 0, TR_EXIT_NOPROC), TR_EINVAL);
    assert_int_equal(cmd(le, a, "exit", le->guard, 0, 99), TR_EINVAL);
    assert_int_equal(cmd(le, a, "unlink", le->guard, 0, 0), TR_OK); /* not linked: fine */
    assert_int_equal(cmd(le, a, "unlink", remote, 0, 0), TR_OK);
    counts_t k = counts(le, a); /* refused calls left nothing behind */
    assert_int_equal(k.links, 0);
    assert_int_equal(k.monitors, 0);
    expect_quiet(le, a);
}

/* A failure crosses a link: the non-trapping partner ends too. */
static void test_link_propagates_failure(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    const char *t = tr_msg_data(t_expect(&le->e, "term"));
    char want[128];
    char pid[TR_PID_STRLEN];
    snprintf(want, sizeof want, "failure: linked actor %s failure: boom",
             tr_pid_format(b, pid, sizeof pid));
    assert_string_equal(t, want);
}

/* Other reasons cross a link with their own kind (here shutdown). */
static void test_link_propagates_shutdown(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, b, "link", a, 0, 0), TR_OK);
    assert_int_equal(cmd(le, b, "shutdown", b, 0, 0), TR_OK);
    expect_term(le, "shutdown: bye");
    const char *t = tr_msg_data(t_expect(&le->e, "term"));
    char want[128];
    char pid[TR_PID_STRLEN];
    snprintf(want, sizeof want, "shutdown: linked actor %s shutdown: bye",
             tr_pid_format(b, pid, sizeof pid));
    assert_string_equal(t, want);
}

/* tr_link is idempotent: linking twice is one link (one entry at each
 * end), which one tr_unlink removes; linking again makes a link anew. */
static void test_link_twice_is_one_link(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, a, "trap", a, 0, 1), TR_OK);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(cmd(le, b, "link", a, 0, 0), TR_OK); /* from the other end too */
    assert_int_equal(counts(le, a).links, 1);
    assert_int_equal(counts(le, b).links, 1);
    assert_int_equal(cmd(le, a, "unlink", b, 0, 0), TR_OK);
    assert_int_equal(counts(le, a).links, 0);
    assert_int_equal(counts(le, b).links, 0);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(counts(le, b).links, 1);
    assert_int_equal(tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    seen s = expect_seen(le); /* exactly one exit signal */
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, b));
    expect_quiet(le, a);
    assert_int_equal(counts(le, a).links, 0); /* the signal ended the link */
}

static void test_trapping_link_gets_message(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, a, "trap", a, 0, 1), TR_OK);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, b));
    assert_int_equal(s.kind, TR_EXIT_FAILURE);
    assert_string_equal(s.text, "boom");
    expect_quiet(le, a); /* and it lives on */
}

/* Trapping switched off again: the signal ends the actor once more. */
static void test_trap_exits_off_again(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, a, "trap", a, 0, 1), TR_OK);
    assert_int_equal(cmd(le, a, "trap", a, 0, 0), TR_OK);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    assert_true(strncmp(tr_msg_data(t_expect(&le->e, "term")), "failure: linked actor ", 22) == 0);
}

/* A normal end does not cross a link; an unlinked failure does not either. */
static void test_normal_exit_and_unlink(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le), c = agent(le);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    assert_int_equal(cmd(le, a, "link", c, 0, 0), TR_OK);
    assert_int_equal(cmd(le, b, "stop", b, 0, 0), TR_OK);
    expect_term(le, "normal");
    assert_int_equal(cmd(le, a, "unlink", c, 0, 0), TR_OK);
    assert_int_equal(tr_inbox_send(le->e.probe, c, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_term(le, "failure: boom");
    expect_quiet(le, a); /* a is alive and heard nothing */
    /* b's normal end reached a over the link (ignored, but it ends the
     * link); nothing orders it with the probe's commands: wait for it */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (counts(le, a).links != 0 && t_now_ms() < end) sched_yield();
    assert_int_equal(counts(le, a).links, 0);
}

static void test_link_to_dead_is_noproc(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, b, "stop", b, 0, 0), TR_OK);
    expect_term(le, "normal");
    assert_int_equal(cmd(le, a, "trap", a, 0, 1), TR_OK);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, b));
    assert_int_equal(s.kind, TR_EXIT_NOPROC);
    assert_int_equal(counts(le, a).links, 0);
    /* not trapping, the same signal ends the caller (a failure) */
    tr_pid c = agent(le);
    assert_int_equal(cmd(le, c, "link", b, 0, 0), TR_OK);
    char want[128];
    char pid[TR_PID_STRLEN];
    snprintf(want, sizeof want, "failure: linked actor %s noproc",
             tr_pid_format(b, pid, sizeof pid));
    expect_term(le, want);
}

static void test_exit_signals(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le), c = agent(le);
    /* shutdown to a non-trapping actor ends it */
    assert_int_equal(cmd(le, a, "exit", b, 0, TR_EXIT_SHUTDOWN), TR_OK);
    char want[128];
    char pid[TR_PID_STRLEN];
    snprintf(want, sizeof want, "shutdown: exit signal from %s shutdown: bye",
             tr_pid_format(a, pid, sizeof pid));
    expect_term(le, want);
    /* normal to a non-trapping actor is ignored */
    assert_int_equal(cmd(le, a, "exit", c, 0, TR_EXIT_NORMAL), TR_OK);
    expect_quiet(le, c);
    /* a trapping actor gets it as a message, a normal one included ... */
    assert_int_equal(cmd(le, c, "trap", c, 0, 1), TR_OK);
    assert_int_equal(cmd(le, a, "exit", c, 0, TR_EXIT_NORMAL), TR_OK);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_int_equal(s.kind, TR_EXIT_NORMAL);
    assert_int_equal(cmd(le, a, "exit", c, 0, TR_EXIT_FAILURE), TR_OK);
    s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, a));
    assert_int_equal(s.kind, TR_EXIT_FAILURE);
    assert_string_equal(s.text, "bye");
    /* ... but kill cannot be trapped */
    assert_int_equal(cmd(le, a, "exit", c, 0, TR_EXIT_KILLED), TR_OK);
    expect_term(le, "killed");
    /* to an actor that has ended: nothing to do, not an error */
    assert_int_equal(cmd(le, a, "exit", c, 0, TR_EXIT_SHUTDOWN), TR_OK);
    expect_quiet(le, a);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_monitor_fires_with_reason),
        T(test_monitor_dead_pid_fires_at_once),
        T(test_monitor_twice_is_two_monitors),
        T(test_demonitor_is_final),
        T(test_demonitor_with_down_already_queued),
        T(test_watcher_end_withdraws_its_monitors),
        T(test_monitor_and_link_errors),
        T(test_link_propagates_failure),
        T(test_link_propagates_shutdown),
        T(test_link_twice_is_one_link),
        T(test_trapping_link_gets_message),
        T(test_trap_exits_off_again),
        T(test_normal_exit_and_unlink),
        T(test_link_to_dead_is_noproc),
        T(test_exit_signals),
    };
    return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
