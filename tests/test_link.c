/* test_link.c — monitors, links, trap-exit and exit signals. Agents live
 * under a trapping guard so that their failures stop at the guard. */
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
    if (tr_exit_info(m, &s.who, &why) == TR_OK) {
        s.kind = why.kind;
        snprintf(s.text, sizeof s.text, "%s", why.text ? why.text : "");
    }
    s.ref = tr_msg_ref(m).id;
    tr_send(ctx, t_probe, tr_atom_from(as), &s, sizeof s);
}

static int agent_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    cmd_arg c;
    memset(&c, 0, sizeof c);
    if (tr_msg_size(m) == sizeof c) memcpy(&c, tr_msg_data(m), sizeof c);
    int64_t rc = 0;
    if (strcmp(t, "monitor") == 0) {
        tr_ref r;
        rc = tr_monitor(ctx, c.pid, &r);
        assert_int_equal(rc, TR_OK);
        return tr_send(ctx, t_probe, tr_atom_from("ref"), &r.id, sizeof r.id);
    }
    if (strcmp(t, "demonitor") == 0) rc = tr_demonitor(ctx, (tr_ref){c.ref});
    else if (strcmp(t, "link") == 0) rc = tr_link(ctx, c.pid);
    else if (strcmp(t, "unlink") == 0) rc = tr_unlink(ctx, c.pid);
    else if (strcmp(t, "trap") == 0) tr_trap_exits(ctx, c.kind != 0);
    else if (strcmp(t, "exit") == 0) rc = tr_send_exit(ctx, c.pid, (tr_exit_kind)c.kind, c.text);
    else if (strcmp(t, "fail") == 0) return tr_fail(ctx, "boom");
    else if (strcmp(t, "stop") == 0) tr_stop(ctx);
    else {
        report_seen(ctx, "seen", m); /* tr.down, tr.exit */
        return 0;
    }
    return tr_send(ctx, t_probe, tr_atom_from("done"), &rc, sizeof rc);
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

/* Guard: spawns agents on "spawn" and answers with their pids. */
static int guard_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (strcmp(tr_atom_name(tr_msg_type(m)), "spawn") == 0) {
        tr_pid p;
        assert_int_equal(tr_spawn(ctx, &agent_b, NULL, &p), TR_OK);
        return tr_send(ctx, t_probe, tr_atom_from("agent"), &p, sizeof p);
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
    assert_int_equal(tr_system_spawn(le->e.sys, &guard_b, &o, &le->guard), TR_OK);
    tr_log_set_level(TR_LOG_NONE);
    *state = le;
    return 0;
}

static int teardown(void **state)
{
    link_env *le = *state;
    t_env *e = malloc(sizeof *e);
    *e = le->e;
    free(le);
    *state = e;
    tr_log_set_level(TR_LOG_WARN);
    return t_teardown(state);
}

static tr_pid agent(link_env *le)
{
    tr_inbox_send(le->e.probe, le->guard, tr_atom_from("spawn"), NULL, 0);
    tr_pid p;
    memcpy(&p, tr_msg_data(t_expect(&le->e, "agent")), sizeof p);
    return p;
}

static int64_t cmd(link_env *le, tr_pid to, const char *what, tr_pid pid, uint64_t ref,
                   uint32_t kind)
{
    cmd_arg c = {pid, ref, kind, "bye"};
    tr_inbox_send(le->e.probe, to, tr_atom_from(what), &c, sizeof c);
    const tr_msg *m = t_recv(&le->e);
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "ref") == 0) return (int64_t)t_u64(m);
    assert_string_equal(t, "done");
    return (int64_t)t_u64(m);
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
    uint64_t ref = (uint64_t)cmd(le, w, "monitor", t, 0, 0);
    tr_inbox_send(le->e.probe, t, tr_atom_from("fail"), NULL, 0);
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
    cmd(le, t, "stop", t, 0, 0);
    expect_term(le, "normal");
    uint64_t ref = (uint64_t)cmd(le, w, "monitor", t, 0, 0);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.down");
    assert_int_equal(s.ref, ref);
    assert_int_equal(s.kind, TR_EXIT_NOPROC);
}

static void test_demonitor_is_final(void **state)
{
    link_env *le = *state;
    tr_pid w = agent(le), t = agent(le);
    uint64_t ref = (uint64_t)cmd(le, w, "monitor", t, 0, 0);
    assert_int_equal(cmd(le, w, "demonitor", t, ref, 0), TR_OK);
    assert_int_equal(cmd(le, w, "demonitor", t, ref, 0), TR_ENOENT);
    cmd(le, t, "stop", t, 0, 0);
    expect_term(le, "normal");
    expect_quiet(le, w);
}

/* A failure crosses a link: the non-trapping partner ends too. */
static void test_link_propagates_failure(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    assert_int_equal(cmd(le, a, "link", b, 0, 0), TR_OK);
    tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0);
    expect_term(le, "failure: boom");
    const char *t = tr_msg_data(t_expect(&le->e, "term"));
    char want[128];
    char pid[TR_PID_STRLEN];
    snprintf(want, sizeof want, "failure: linked actor %s failure: boom",
             tr_pid_format(b, pid, sizeof pid));
    assert_string_equal(t, want);
}

static void test_trapping_link_gets_message(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    cmd(le, a, "trap", a, 0, 1);
    cmd(le, a, "link", b, 0, 0);
    tr_inbox_send(le->e.probe, b, tr_atom_from("fail"), NULL, 0);
    expect_term(le, "failure: boom");
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, b));
    assert_int_equal(s.kind, TR_EXIT_FAILURE);
    assert_string_equal(s.text, "boom");
}

/* A normal end does not cross a link; an unlinked failure does not either. */
static void test_normal_exit_and_unlink(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le), c = agent(le);
    cmd(le, a, "link", b, 0, 0);
    cmd(le, a, "link", c, 0, 0);
    cmd(le, b, "stop", b, 0, 0);
    expect_term(le, "normal");
    cmd(le, a, "unlink", c, 0, 0);
    tr_inbox_send(le->e.probe, c, tr_atom_from("fail"), NULL, 0);
    expect_term(le, "failure: boom");
    expect_quiet(le, a); /* a is alive and heard nothing */
}

static void test_link_to_dead_is_noproc(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le);
    cmd(le, b, "stop", b, 0, 0);
    expect_term(le, "normal");
    cmd(le, a, "trap", a, 0, 1);
    cmd(le, a, "link", b, 0, 0);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_int_equal(s.kind, TR_EXIT_NOPROC);
}

static void test_exit_signals(void **state)
{
    link_env *le = *state;
    tr_pid a = agent(le), b = agent(le), c = agent(le);
    /* shutdown to a non-trapping actor ends it */
    cmd(le, a, "exit", b, 0, TR_EXIT_SHUTDOWN);
    expect_term(le, "shutdown");
    /* normal to a non-trapping actor is ignored */
    cmd(le, a, "exit", c, 0, TR_EXIT_NORMAL);
    expect_quiet(le, c);
    /* a trapping actor gets it as a message ... */
    cmd(le, c, "trap", c, 0, 1);
    cmd(le, a, "exit", c, 0, TR_EXIT_FAILURE);
    seen s = expect_seen(le);
    assert_string_equal(s.type, "tr.exit");
    assert_true(tr_pid_eq(s.who, a));
    assert_string_equal(s.text, "bye");
    /* ... but kill cannot be trapped */
    cmd(le, a, "exit", c, 0, TR_EXIT_KILLED);
    expect_term(le, "killed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_monitor_fires_with_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_dead_pid_fires_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demonitor_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_propagates_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trapping_link_gets_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normal_exit_and_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_to_dead_is_noproc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_signals, setup, teardown),
    };
    return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
