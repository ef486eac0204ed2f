/* test_lifecycle.c — structured lifetime, failure propagation, reports.
 *
 * Actors here are built from a static tree spec: each node spawns its
 * children in init, reports "ready" with its path, and reports "term" with
 * its path and exit reason from terminate, so the probe sees the exact
 * order in which the runtime ends them. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* the kill grace of troupe/actor.h ("100 ms after a kill") */
#define TRI_TEST_KILL_GRACE_MS 100

enum { F_TRAP = 1, F_FAIL_INIT = 2, F_IGNORE_INIT = 4 };

typedef struct spec {
    const char *name;
    unsigned flags;
    const struct spec *kids[4];
} spec;

typedef struct node_state {
    const spec *sp;
} node_state;

static void report_path(tr_ctx *ctx, const char *type, const char *suffix)
{
    char line[512];
    size_t n = tr_path(ctx, line, sizeof line);
    snprintf(line + n, sizeof line - n, "%s", suffix);
    t_report(ctx, type, line);
}

static const tr_behaviour node_b;

static int node_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    node_state *s = vs;
    if (!T_CHECK(ctx, size == sizeof(const spec *))) return TR_EINVAL;
    memcpy(&s->sp, args, sizeof s->sp);
    if (s->sp->flags & F_FAIL_INIT) return TR_EINVAL;
    if (s->sp->flags & F_IGNORE_INIT) return TR_INIT_IGNORE;
    for (int i = 0; i < 4 && s->sp->kids[i]; i++) {
        const spec *k = s->sp->kids[i];
        tr_spawn_opts o = {.name = k->name, .args = &k, .args_size = sizeof k,
                           .flags = (k->flags & F_TRAP) ? TR_SPAWN_TRAP_EXITS : 0};
        int rc = tr_spawn(ctx, &node_b, &o, NULL);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
    }
    report_path(ctx, "ready", "");
    return 0;
}

static int node_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "fail") == 0) return tr_fail(ctx, "boom");
    if (strcmp(t, "error") == 0) return TR_EINVAL;
    if (strcmp(t, "stop") == 0) {
        tr_stop(ctx);
        return 0;
    }
    if (strcmp(t, "tr.exit") == 0) {
        tr_pid who;
        tr_exit why;
        int rc = tr_exit_decode(m, &who, &why);
        if (!T_CHECK(ctx, rc == TR_OK) || !T_CHECK(ctx, tr_pid_eq(who, tr_msg_sender(m))))
            return 0;
        char line[256];
        snprintf(line, sizeof line, "%s%s%s", tr_exit_kind_name(why.kind), why.text ? ": " : "",
                 why.text ? why.text : "");
        return t_report(ctx, "trapped", line);
    }
    return 0;
}

static void node_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    char suffix[300];
    snprintf(suffix, sizeof suffix, " %s%s%s", tr_exit_kind_name(why->kind), why->text ? ": " : "",
             why->text ? why->text : "");
    report_path(ctx, "term", suffix);
}

static const tr_behaviour node_b = {"node", sizeof(node_state), node_init, node_handle,
                                    node_terminate};

static tr_pid spawn_spec(t_env *e, const spec *sp)
{
    tr_pid pid;
    tr_spawn_opts o = {.name = sp->name, .args = &sp, .args_size = sizeof sp,
                       .flags = (sp->flags & F_TRAP) ? TR_SPAWN_TRAP_EXITS : 0};
    assert_int_equal(tr_system_spawn(e->sys, &node_b, &o, &pid), TR_OK);
    return pid;
}

/* Waits for `n` "ready" reports; returns the pid of the one whose path is
 * `want` (nil if none). */
static tr_pid await_ready(t_env *e, int n, const char *want)
{
    tr_pid found = TR_PID_NIL;
    for (int i = 0; i < n; i++) {
        const tr_msg *m = t_expect(e, "ready");
        if (want && strcmp(tr_msg_data(m), want) == 0) found = tr_msg_sender(m);
    }
    return found;
}

static void expect_line(t_env *e, const char *type, const char *line)
{
    const tr_msg *m = t_expect(e, type);
    assert_string_equal((const char *)tr_msg_data(m), line);
}

/* ---------------------------------------------------------------- tests */

static const spec g0 = {"g0", 0, {0}}, g1 = {"g1", 0, {0}};
static const spec c0 = {"c0", 0, {&g0, &g1}}, c1 = {"c1", 0, {&g0, &g1}};
static const spec t0 = {"t0", 0, {&c0, &c1}}, t1 = {"t1", 0, {&c0, &c1}};

/* A three-level tree ends children first, youngest first, one by one. */
static void test_terminate_order_three_levels(void **state)
{
    t_env *e = *state;
    spawn_spec(e, &t0);
    spawn_spec(e, &t1);
    await_ready(e, 14, NULL);
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    static const char *order[] = {
        "/root/t1/c1/g1", "/root/t1/c1/g0", "/root/t1/c1", "/root/t1/c0/g1", "/root/t1/c0/g0",
        "/root/t1/c0",    "/root/t1",       "/root/t0/c1/g1", "/root/t0/c1/g0", "/root/t0/c1",
        "/root/t0/c0/g1", "/root/t0/c0/g0", "/root/t0/c0", "/root/t0",
    };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s shutdown", order[i]);
        expect_line(e, "term", want);
    }
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st); /* the root has ended: all counted */
    assert_int_equal(st.actors_live, 0);
    assert_int_equal(st.actors_spawned, 14);
}

static const spec w1 = {"w1", 0, {0}}, w2 = {"w2", 0, {0}}, w3 = {"w3", 0, {0}};
static const spec workers = {"workers", 0, {&w1, &w2, &w3}};
static const spec sup = {"sup", 0, {&workers}};

/* A failure no one traps climbs to the root and ends run with a report
 * naming every actor on the way, deepest first. */
static void test_failure_reaches_root_with_report(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &sup);
    tr_pid w3pid = await_ready(e, 5, "/root/sup/workers/w3");
    assert_false(tr_pid_is_nil(w3pid));
    assert_int_equal(tr_inbox_send(e->probe, w3pid, tr_atom_from("fail"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_run(e->sys), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/sup/workers/w3: boom\n"
                        "/root/sup/workers: child /root/sup/workers/w3 failed\n"
                        "/root/sup: child /root/sup/workers failed\n"
                        "/root: child /root/sup failed\n");
    /* w3 ends first (its failure), then its parent stops the others in
     * reverse order before ending itself. */
    expect_line(e, "term", "/root/sup/workers/w3 failure: boom");
    expect_line(e, "term", "/root/sup/workers/w2 shutdown");
    expect_line(e, "term", "/root/sup/workers/w1 shutdown");
    expect_line(e, "term", "/root/sup/workers failure: child /root/sup/workers/w3 failed");
    expect_line(e, "term", "/root/sup failure: child /root/sup/workers failed");
    assert_int_equal(tr_system_run(e->sys), TR_ESTATE);
    tr_log_set_level(TR_LOG_WARN);
}

static const spec trapper = {"trapper", F_TRAP, {&w1}};

/* A trapping parent gets the child's exit as a message and lives on. */
static void test_trapped_failure_is_a_message(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &trapper);
    tr_pid w = await_ready(e, 2, "/root/trapper/w1");
    tr_inbox_send(e->probe, w, tr_atom_from("fail"), NULL, 0);
    expect_line(e, "term", "/root/trapper/w1 failure: boom");
    expect_line(e, "trapped", "failure: boom");
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    expect_line(e, "term", "/root/trapper shutdown");
    assert_string_equal(tr_system_report(e->sys), "");
    tr_log_set_level(TR_LOG_WARN);
}

/* A handler's error code is a failure whose reason names it. */
static void test_handler_error_code_fails(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &trapper);
    tr_pid w = await_ready(e, 2, "/root/trapper/w1");
    tr_inbox_send(e->probe, w, tr_atom_from("error"), NULL, 0);
    expect_line(e, "term", "/root/trapper/w1 failure: handle returned -2 (invalid argument)");
    expect_line(e, "trapped", "failure: handle returned -2 (invalid argument)");
    tr_log_set_level(TR_LOG_WARN);
}

static const spec bad_init = {"bad", F_FAIL_INIT, {0}};
static const spec ignoring = {"lazy", F_IGNORE_INIT, {0}};
static const spec init_parent = {"p", F_TRAP, {&bad_init, &ignoring}};

/* A failed or ignoring init gets no terminate; the parent hears of both. */
static void test_init_failure_and_ignore(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    spawn_spec(e, &init_parent);
    await_ready(e, 1, NULL);
    const char *a = tr_msg_data(t_expect(e, "trapped"));
    char first[128];
    snprintf(first, sizeof first, "%s", a);
    const char *b = tr_msg_data(t_expect(e, "trapped"));
    /* the two children end concurrently: accept either order */
    const char *fail = "failure: init returned -2 (invalid argument)";
    assert_true((strcmp(first, fail) == 0 && strcmp(b, "normal") == 0) ||
                (strcmp(first, "normal") == 0 && strcmp(b, fail) == 0));
    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    expect_line(e, "term", "/root/p shutdown"); /* and no "term" from bad or lazy */
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    tr_log_set_level(TR_LOG_WARN);
}

/* An actor that stops itself ends normally; when the root's last child is
 * gone after run was entered, run returns TR_OK (a nursery closing). */
static void test_normal_stop_closes_nursery(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_spec(e, &w1), b = spawn_spec(e, &w2);
    await_ready(e, 2, NULL);
    tr_inbox_send(e->probe, a, tr_atom_from("stop"), NULL, 0);
    expect_line(e, "term", "/root/w1 normal");
    tr_inbox_send(e->probe, b, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(tr_system_run(e->sys), TR_OK);
    expect_line(e, "term", "/root/w2 normal");
}

/* tr_system_stop_child stops one top-level actor and nothing else. */
static void test_stop_one_child_from_outside(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_spec(e, &c0);
    spawn_spec(e, &w1);
    await_ready(e, 4, NULL);
    assert_int_equal(tr_system_stop_child(e->sys, a), TR_OK);
    expect_line(e, "term", "/root/c0/g1 shutdown");
    expect_line(e, "term", "/root/c0/g0 shutdown");
    expect_line(e, "term", "/root/c0 shutdown");
    assert_int_equal(t_wait_live(e->sys, 1), 1);
}

/* tr_system_stop from a real signal handler (it is async-signal-safe):
 * the tree ends in order and run returns TR_OK. */
static tr_system *signal_sys;

static void on_sigusr1(int sig)
{
    (void)sig;
    tr_system_stop(signal_sys);
}

static void test_stop_from_signal_handler(void **state)
{
    t_env *e = *state;
    spawn_spec(e, &c0);
    await_ready(e, 3, NULL);
    signal_sys = e->sys;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(tr_system_run(e->sys), TR_OK);
    sigaction(SIGUSR1, &old, NULL);
    expect_line(e, "term", "/root/c0/g1 shutdown");
    expect_line(e, "term", "/root/c0/g0 shutdown");
    expect_line(e, "term", "/root/c0 shutdown");
}

/* link: a chain. Each link spawns the next until `depth` links exist; the
 * bottom one reports "bottom" with its path and fails on "boom". */
typedef struct chain_args {
    uint32_t left;
} chain_args;

static const tr_behaviour link_b;

static int link_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs;
    chain_args a;
    if (size != sizeof a) return TR_EINVAL;
    memcpy(&a, args, sizeof a);
    if (a.left == 0) {
        char path[1024];
        tr_path(ctx, path, sizeof path);
        tr_pid self = tr_self(ctx);
        int rc = tr_send(ctx, t_probe, tr_atom_from("bottom"), &self, sizeof self);
        return rc ? rc : t_report(ctx, "bottom.path", path);
    }
    a.left--;
    return tr_spawn(ctx, &link_b, &(tr_spawn_opts){.args = &a, .args_size = sizeof a}, NULL);
}

static int link_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("boom"))) return tr_fail(ctx, "boom at the bottom");
    return 0;
}

static const tr_behaviour link_b = {"link", 0, link_init, link_handle, NULL};

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* A failure at the bottom of a 20,000-deep chain: paths deeper than 32
 * levels are cut and the cut marked, and the report keeps the first and
 * last 32 lines with one line counting the rest, instead of 20,001 lines
 * (a megabytes-long report that took seconds to build at 100,000). */
static void test_deep_chain_report_is_bounded(void **state)
{
    t_env *e = *state;
    enum { DEPTH = 20000 };
    chain_args a = {DEPTH};
    assert_int_equal(tr_system_spawn(e->sys, &link_b,
                                     &(tr_spawn_opts){.name = "top", .args = &a, .args_size = sizeof a},
                                     NULL),
                     TR_OK);
    const tr_msg *m = t_expect(e, "bottom");
    tr_pid bottom;
    memcpy(&bottom, tr_msg_data(m), sizeof bottom);
    m = t_expect(e, "bottom.path");
    const char *path = tr_msg_data(m);
    assert_true(strncmp(path, "/root/.../link-", 15) == 0);
    size_t levels = 0;
    for (const char *p = path; *p; p++) levels += *p == '/';
    assert_int_equal(levels, 2 + 24); /* root, the mark, the last 24 */
    tr_log_set_level(TR_LOG_NONE);        /* 20,000 escalations: not for the test log */
    assert_int_equal(tr_system_send(e->sys, bottom, tr_atom_from("boom"), NULL, 0), TR_OK);
    assert_int_equal(tr_system_run(e->sys), TR_EFAILED);
    tr_log_set_level(TR_LOG_WARN);
    const char *r = tr_system_report(e->sys);
    assert_int_equal(count_lines(r), 32 + 1 + 32);
    assert_true(strncmp(r, "/root/.../link-", 15) == 0);
    assert_non_null(strstr(r, ": boom at the bottom\n"));
    char omitted[128];
    snprintf(omitted, sizeof omitted, "\n... %d more failed actors on the way, not listed\n",
             DEPTH + 2 - 64);
    assert_non_null(strstr(r, omitted));
    assert_non_null(strstr(r, "\n/root: child /root/top failed\n"));
    assert_non_null(strstr(r, "\n/root/top: child /root/top/link-"));
}


/* ------------------------------------------------- configurable kids */

/* kid: what its init does is its mode; its terminate reports "term"
 * "<path> <kind>[: text]", after waiting on term_gate in K_HOLD_TERM. Its
 * handler: "stop" stops it; "reason" {kind} stops it with that kind and
 * the text "why <kind>"; "fail2" fails twice in one callback; "go" calls
 * tr_notify_started twice; "spawn" {kid_req} spawns a kid (reports
 * "spawned" {pid} or "spawn.rc" {rc}); "stopkid" {pid} asks a child to
 * stop (reports "stopkid" {rc}); "together" stops its children together
 * when it stops; child exits are reported as "exit" "<kind>[: text]". */
enum { K_OK = 0, K_IGNORE, K_FAIL, K_DEFER, K_DEFER_IN_INIT, K_HOLD_TERM };

typedef struct kid_req {
    char name[32];
    int mode;
    int64_t shutdown_ms;
    tr_pid before;
    bool started_to_probe;
} kid_req;

static t_gate term_gate;
static const tr_behaviour kid_b;

static int kid_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    int *mode = vs;
    if (!T_CHECK(ctx, size == sizeof *mode)) return TR_EINVAL;
    memcpy(mode, args, sizeof *mode);
    switch (*mode) {
    case K_IGNORE: return TR_INIT_IGNORE;
    case K_FAIL: return tr_fail(ctx, "boom %d", 42);
    case K_DEFER: tr_defer_started(ctx); break;
    case K_DEFER_IN_INIT:
        tr_defer_started(ctx);
        tr_notify_started(ctx); /* sent when init returns */
        break;
    }
    return 0;
}

static void report_exit(tr_ctx *ctx, const char *type, const char *prefix, const tr_exit *why)
{
    char line[400];
    snprintf(line, sizeof line, "%s%s%s%s", prefix, tr_exit_kind_name(why->kind),
             why->text ? ": " : "", why->text ? why->text : "");
    t_report(ctx, type, line);
}

static int kid_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "stop") == 0) {
        tr_stop(ctx);
    } else if (strcmp(t, "reason") == 0) {
        int k;
        memcpy(&k, tr_msg_data(m), sizeof k);
        char text[32];
        snprintf(text, sizeof text, "why %s", tr_exit_kind_name((tr_exit_kind)k));
        tr_stop_reason(ctx, (tr_exit_kind)k, text);
    } else if (strcmp(t, "fail2") == 0) {
        tr_fail(ctx, "first");
        tr_fail(ctx, "second");
        return 0; /* fails all the same */
    } else if (strcmp(t, "go") == 0) {
        tr_notify_started(ctx);
        tr_notify_started(ctx);
        return t_report(ctx, "went", "");
    } else if (strcmp(t, "spawn") == 0) {
        kid_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        tr_spawn_opts o = {.name = r.name, .args = &r.mode, .args_size = sizeof r.mode,
                           .shutdown_ms = r.shutdown_ms, .before = r.before,
                           .started_to = r.started_to_probe ? t_probe : TR_PID_NIL};
        tr_pid pid;
        int rc = tr_spawn(ctx, &kid_b, &o, &pid);
        if (rc != TR_OK) return t_report_int(ctx, "spawn.rc", rc);
        return t_report_val(ctx, "spawned", &pid, sizeof pid);
    } else if (strcmp(t, "stopkid") == 0) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        return t_report_int(ctx, "stopkid", tr_stop_child(ctx, c));
    } else if (strcmp(t, "failhold") == 0) { /* holds, then fails */
        t_report(ctx, "holding", "");
        t_gate_wait(&term_gate);
        return tr_fail(ctx, "late failure");
    } else if (strcmp(t, "together") == 0) {
        tr_stop_children_together(ctx, true);
    } else if (tr_msg_is(m, tr_exit_atom())) {
        tr_exit why;
        if (!T_CHECK(ctx, tr_exit_decode(m, NULL, &why) == TR_OK)) return 0;
        report_exit(ctx, "exit", "", &why);
    }
    return 0;
}

static void kid_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    int *mode = vs;
    char path[256];
    size_t n = tr_path(ctx, path, sizeof path - 1);
    path[n] = ' ';
    path[n + 1] = '\0';
    if (*mode == K_HOLD_TERM) {
        report_exit(ctx, "term.begin", path, why);
        t_gate_wait(&term_gate);
    }
    report_exit(ctx, "term", path, why);
}

static const tr_behaviour kid_b = {"kid", sizeof(int), kid_init, kid_handle, kid_terminate};

static tr_pid spawn_kid(t_env *e, const char *name, int mode, unsigned flags, bool started)
{
    tr_pid pid;
    tr_spawn_opts o = {.name = name, .args = &mode, .args_size = sizeof mode, .flags = flags,
                       .started_to = started ? t_probe : TR_PID_NIL};
    assert_int_equal(tr_system_spawn(e->sys, &kid_b, &o, &pid), TR_OK);
    return pid;
}

/* Asks `parent` (a kid) to spawn a kid child; returns its pid. */
static tr_pid child_kid(t_env *e, tr_pid parent, const char *name, int mode, int64_t shutdown_ms,
                        tr_pid before)
{
    kid_req r = {.mode = mode, .shutdown_ms = shutdown_ms, .before = before};
    snprintf(r.name, sizeof r.name, "%s", name);
    assert_int_equal(tr_inbox_send(e->probe, parent, tr_atom_from("spawn"), &r, sizeof r), TR_OK);
    return t_expect_pid(e, "spawned");
}

static void send_to(t_env *e, tr_pid to, const char *type, const void *data, size_t size)
{
    assert_int_equal(tr_inbox_send(e->probe, to, tr_atom_from(type), data, size), TR_OK);
}

/* Reads a "tr.started" from the probe. */
static tr_start_status expect_started(t_env *e, tr_pid who, tr_exit *why, char *text, size_t ts)
{
    const tr_msg *m = t_expect(e, "tr.started");
    assert_true(tr_msg_is(m, tr_started_atom()));
    tr_pid w;
    tr_start_status st;
    tr_exit r;
    assert_int_equal(tr_started_decode(m, &w, &st, &r), TR_OK);
    assert_true(tr_pid_eq(w, who));
    assert_true(tr_pid_eq(tr_msg_sender(m), who));
    if (why) *why = r;
    if (text) snprintf(text, ts, "%s", r.text ? r.text : "");
    return st;
}

/* Round trip through `p` (an inspection): what it had to send before
 * answering has reached the probe. */
static void sync_with(t_env *e, tr_pid p)
{
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, p, &info, T_WAIT_MS), TR_OK);
}

/* Receives `n` probe messages in any order (they come from different
 * actors): each must match one of `want` (type, and text or, when text is
 * NULL, an int payload). */
typedef struct t_want {
    const char *type, *text;
    int value;
} t_want;

static void expect_any_order(t_env *e, const t_want *want, int n)
{
    bool used[8] = {false};
    assert_true(n <= 8);
    for (int i = 0; i < n; i++) {
        const tr_msg *m = t_recv(e);
        const char *type = tr_atom_name(tr_msg_type(m));
        int hit = -1;
        for (int j = 0; j < n && hit < 0; j++) {
            if (used[j] || strcmp(want[j].type, type) != 0) continue;
            if (want[j].text ? strcmp(tr_msg_data(m), want[j].text) == 0
                             : tr_msg_size(m) == sizeof(int) && t_int(m) == want[j].value)
                hit = j;
        }
        if (hit < 0) fail_msg("unexpected \"%s\" %s", type,
                              want[0].text && tr_msg_size(m) ? (const char *)tr_msg_data(m) : "");
        used[hit] = true;
    }
}

/* Polls `p` until it has `n` children (its children's exits are handled
 * in its own turns, after their last reports). */
static void await_children(t_env *e, tr_pid p, uint32_t n)
{
    tr_actor_info info;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do {
        assert_int_equal(tr_system_inspect(e->sys, p, &info, T_WAIT_MS), TR_OK);
    } while (info.children != n && t_now_ms() < end);
    assert_int_equal(info.children, n);
}

/* Asks `boss` to spawn a kid with started_to = the probe: its "spawned"
 * and the kid's "tr.started" come in either order. Returns the pid. */
static tr_pid spawn_started(t_env *e, tr_pid boss, const char *name, int mode,
                            tr_start_status *status, tr_exit *why, char *text, size_t ts)
{
    kid_req r = {.mode = mode, .started_to_probe = true};
    snprintf(r.name, sizeof r.name, "%s", name);
    send_to(e, boss, "spawn", &r, sizeof r);
    tr_pid pid = TR_PID_NIL, who = TR_PID_NIL;
    bool got_started = false;
    while (tr_pid_is_nil(pid) || !got_started) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("spawned"))) {
            assert_true(tr_pid_is_nil(pid));
            pid = t_pidv(m);
            continue;
        }
        assert_string_equal(tr_atom_name(tr_msg_type(m)), "tr.started");
        assert_false(got_started);
        got_started = true;
        assert_int_equal(tr_started_decode(m, &who, status, why), TR_OK);
        snprintf(text, ts, "%s", why->text ? why->text : "");
    }
    assert_true(tr_pid_eq(who, pid));
    return pid;
}

/* One "tr.started" per spawn: ok, ignored, failed with its reason;
 * deferred ones when tr_notify_started is called (once), or when init
 * returns if it was called inside init, or failed if the actor ends
 * first. */
static void test_started_notices(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    assert_string_equal(tr_atom_name(tr_started_atom()), "tr.started");
    tr_exit why;
    char text[64];
    tr_pid ok = spawn_kid(e, "ok", K_OK, 0, true);
    assert_int_equal(expect_started(e, ok, &why, text, sizeof text), TR_START_OK);
    assert_null(why.text);
    tr_pid ign = spawn_kid(e, "ign", K_IGNORE, 0, true);
    assert_int_equal(expect_started(e, ign, NULL, NULL, 0), TR_START_IGNORED);
    /* under a trapping parent: a failure must not stop the whole tree */
    tr_pid boss = spawn_kid(e, "boss", K_OK, TR_SPAWN_TRAP_EXITS, false);
    tr_start_status st;
    spawn_started(e, boss, "bad", K_FAIL, &st, &why, text, sizeof text);
    assert_int_equal(st, TR_START_FAILED);
    assert_int_equal(why.kind, TR_EXIT_FAILURE);
    assert_string_equal(text, "boom 42");
    t_expect_str(e, "exit", "failure: boom 42");
    /* no "term" came from the ignored or the failed one: their init did
     * not succeed */
    sync_with(e, ok);
    t_expect_none(e);

    tr_pid def = spawn_kid(e, "def", K_DEFER, 0, true);
    sync_with(e, def); /* init has run: no notice yet */
    t_expect_none(e);
    send_to(e, def, "go", NULL, 0);
    assert_int_equal(expect_started(e, def, NULL, NULL, 0), TR_START_OK);
    t_expect(e, "went"); /* and only one notice for two calls */
    send_to(e, def, "go", NULL, 0);
    t_expect(e, "went");

    tr_pid early = spawn_kid(e, "early", K_DEFER_IN_INIT, 0, true);
    assert_int_equal(expect_started(e, early, NULL, NULL, 0), TR_START_OK);

    kid_req rq = {.name = "quit", .mode = K_DEFER, .started_to_probe = true};
    send_to(e, boss, "spawn", &rq, sizeof rq);
    tr_pid quit = t_expect_pid(e, "spawned"); /* deferred: no notice yet */
    sync_with(e, quit);
    t_expect_none(e);
    int k = TR_EXIT_SHUTDOWN;
    send_to(e, quit, "reason", &k, sizeof k);
    t_expect_str(e, "term", "/root/boss/quit shutdown: why shutdown");
    assert_int_equal(expect_started(e, quit, &why, text, sizeof text), TR_START_FAILED);
    assert_int_equal(why.kind, TR_EXIT_SHUTDOWN);
    assert_string_equal(text, "why shutdown");
    t_expect_str(e, "exit", "shutdown: why shutdown");

    /* without started_to, nothing */
    tr_pid none = spawn_kid(e, "none", K_OK, 0, false);
    sync_with(e, none);
    t_expect_none(e);
    tr_log_set_level(TR_LOG_WARN);
}

/* tr_stop_reason: the kind and text travel to the parent's "tr.exit" and
 * to terminate (not for normal); tr_fail's first reason wins. */
static void test_stop_reason_and_fail(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    tr_pid boss = spawn_kid(e, "boss", K_OK, TR_SPAWN_TRAP_EXITS, false);
    static const struct {
        int kind;
        const char *term, *exit;
    } rows[] = {
        {TR_EXIT_NORMAL, "/root/boss/k normal", "normal"},
        {TR_EXIT_SHUTDOWN, "/root/boss/k shutdown: why shutdown", "shutdown: why shutdown"},
        {TR_EXIT_FAILURE, "/root/boss/k failure: why failure", "failure: why failure"},
        {TR_EXIT_TIMEOUT, "/root/boss/k timeout: why timeout", "timeout: why timeout"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        tr_pid k = child_kid(e, boss, "k", K_OK, 0, TR_PID_NIL);
        send_to(e, k, "reason", &rows[i].kind, sizeof rows[i].kind);
        t_expect_str(e, "term", rows[i].term);
        t_expect_str(e, "exit", rows[i].exit);
    }
    tr_pid k = child_kid(e, boss, "k", K_OK, 0, TR_PID_NIL);
    send_to(e, k, "fail2", NULL, 0);
    t_expect_str(e, "term", "/root/boss/k failure: first");
    t_expect_str(e, "exit", "failure: first");
    /* tr_stop_reason's text dropped by a later tr_stop (a normal end has
     * none) */
    tr_log_set_level(TR_LOG_WARN);
}

/* tr_stop_child: the child stops with reason shutdown and the caller,
 * not trapping, lives on; a stranger's pid is TR_ENOENT. */
static void test_stop_child_from_an_actor(void **state)
{
    t_env *e = *state;
    tr_pid boss = spawn_kid(e, "boss", K_OK, 0, false);
    tr_pid k = child_kid(e, boss, "k", K_OK, 0, TR_PID_NIL);
    send_to(e, boss, "stopkid", &k, sizeof k);
    expect_any_order(e, (t_want[]){{"stopkid", NULL, TR_OK}, {"term", "/root/boss/k shutdown", 0}},
                     2);
    await_children(e, boss, 0);
    send_to(e, boss, "stopkid", &k, sizeof k); /* gone now */
    assert_int_equal(t_expect_int(e, "stopkid"), TR_ENOENT);
    tr_pid other = spawn_kid(e, "other", K_OK, 0, false);
    send_to(e, boss, "stopkid", &other, sizeof other);
    assert_int_equal(t_expect_int(e, "stopkid"), TR_ENOENT);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, boss, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.children, 0);
    assert_int_equal(tr_system_wait(e->sys, 0), TR_ETIMEDOUT); /* nothing failed */
}

/* `before` places a child in the start order, so it stops after the
 * sibling it was placed before. */
static void test_spawn_before(void **state)
{
    t_env *e = *state;
    tr_pid boss = spawn_kid(e, "boss", K_OK, 0, false);
    tr_pid a = child_kid(e, boss, "a", K_OK, 0, TR_PID_NIL);
    child_kid(e, boss, "b", K_OK, 0, TR_PID_NIL);
    child_kid(e, boss, "c", K_OK, 0, a); /* start order: c a b */
    child_kid(e, boss, "d", K_OK, 0, TR_PID_NIL); /* c a b d */
    send_to(e, boss, "stop", NULL, 0);
    t_expect_str(e, "term", "/root/boss/d shutdown");
    t_expect_str(e, "term", "/root/boss/b shutdown");
    t_expect_str(e, "term", "/root/boss/a shutdown");
    t_expect_str(e, "term", "/root/boss/c shutdown");
    t_expect_str(e, "term", "/root/boss normal");
}

static int setup_clock_quiet(void **state)
{
    tr_clock *c;
    if (tr_clock_manual_new(&c) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = c, .long_callback_ms = -1};
    return t_setup_opts(state, &o);
}

static int setup_clock_four(void **state)
{
    tr_clock *c;
    if (tr_clock_manual_new(&c) != TR_OK) return -1;
    tr_system_opts o = {.workers = 4, .clock = c, .long_callback_ms = -1};
    return t_setup_opts(state, &o);
}

/* A child whose terminate takes longer than its shutdown time (5000 ms by
 * default) is killed at that time as far as its parent is concerned:
 * not a millisecond before. */
static void test_shutdown_time_then_killed(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    t_gate_init(&term_gate);
    tr_pid boss = spawn_kid(e, "boss", K_OK, TR_SPAWN_TRAP_EXITS, false);
    tr_pid k = child_kid(e, boss, "slow", K_HOLD_TERM, TR_SHUTDOWN_DEFAULT, TR_PID_NIL);
    send_to(e, boss, "stopkid", &k, sizeof k);
    expect_any_order(e,
                     (t_want[]){{"stopkid", NULL, TR_OK}, {"term.begin", "/root/boss/slow shutdown", 0}},
                     2);
    assert_int_equal(tr_clock_advance(e->clock, 4999), TR_OK);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, boss, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 1); /* still waiting for it */
    t_expect_none(e);
    assert_int_equal(tr_clock_advance(e->clock, 1), TR_OK);
    t_expect_str(e, "exit", "killed");
    assert_int_equal(tr_system_inspect(e->sys, boss, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 0);
    t_gate_open(&term_gate); /* its terminate's report now is a dead letter */
    tr_log_set_level(TR_LOG_WARN);
}

/* TR_SHUTDOWN_INFINITY: waited for, however long it takes. */
static void test_shutdown_infinity_waits(void **state)
{
    t_env *e = *state;
    t_gate_init(&term_gate);
    tr_pid boss = spawn_kid(e, "boss", K_OK, TR_SPAWN_TRAP_EXITS, false);
    tr_pid k = child_kid(e, boss, "slow", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    send_to(e, boss, "stopkid", &k, sizeof k);
    expect_any_order(e,
                     (t_want[]){{"stopkid", NULL, TR_OK}, {"term.begin", "/root/boss/slow shutdown", 0}},
                     2);
    assert_int_equal(tr_clock_advance(e->clock, 1000000000), TR_OK);
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, boss, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 1);
    t_expect_none(e);
    t_gate_open(&term_gate);
    t_expect_str(e, "term", "/root/boss/slow shutdown");
    t_expect_str(e, "exit", "shutdown");
}

/* TR_SHUTDOWN_BRUTAL: stopped by force at once; terminate still runs,
 * and says killed. */
static void test_shutdown_brutal(void **state)
{
    t_env *e = *state;
    tr_pid boss = spawn_kid(e, "boss", K_OK, TR_SPAWN_TRAP_EXITS, false);
    tr_pid k = child_kid(e, boss, "b", K_OK, TR_SHUTDOWN_BRUTAL, TR_PID_NIL);
    send_to(e, boss, "stopkid", &k, sizeof k);
    expect_any_order(e, (t_want[]){{"stopkid", NULL, TR_OK}, {"term", "/root/boss/b killed", 0}}, 2);
    t_expect_str(e, "exit", "killed");
}

/* tr_stop_children_together: all children are asked at once (all three
 * are in terminate together); by default one at a time, youngest first. */
static void test_stop_children_together(void **state)
{
    t_env *e = *state;
    t_gate_init(&term_gate);
    tr_pid boss = spawn_kid(e, "boss", K_OK, 0, false);
    child_kid(e, boss, "a", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    child_kid(e, boss, "b", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    child_kid(e, boss, "c", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    send_to(e, boss, "together", NULL, 0);
    send_to(e, boss, "stop", NULL, 0);
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 3; i++) { /* all three begin before any may end */
        const char *line = tr_msg_data(t_expect(e, "term.begin"));
        assert_true(strlen(line) > 11);
        int which = line[11] - 'a'; /* "/root/boss/<x> shutdown" */
        assert_true(which >= 0 && which < 3);
        assert_false(seen[which]);
        seen[which] = true;
    }
    t_gate_open(&term_gate);
    for (int i = 0; i < 3; i++) t_expect(e, "term");
    t_expect_str(e, "term", "/root/boss normal");
}

static void test_stop_children_one_by_one(void **state)
{
    t_env *e = *state;
    t_gate_init(&term_gate);
    tr_pid boss = spawn_kid(e, "boss", K_OK, 0, false);
    tr_pid a = child_kid(e, boss, "a", K_OK, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    child_kid(e, boss, "b", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    send_to(e, boss, "stop", NULL, 0);
    t_expect_str(e, "term.begin", "/root/boss/b shutdown");
    /* a is not asked while b stops: it still answers (a pending stop
     * request would be taken before the inspection) */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, a, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.status, TR_STATUS_WAITING);
    t_expect_none(e);
    t_gate_open(&term_gate);
    t_expect_str(e, "term", "/root/boss/b shutdown");
    t_expect_str(e, "term", "/root/boss/a shutdown");
    t_expect_str(e, "term", "/root/boss normal");
}

/* Log lines captured by a sink (thread-safe: any troupe thread logs). */
static pthread_mutex_t logs_mu = PTHREAD_MUTEX_INITIALIZER;
static char logs[16][300];
static int nlogs;

static void log_sink(void *user, tr_log_level level, const char *line)
{
    (void)user;
    pthread_mutex_lock(&logs_mu);
    if (nlogs < 16) snprintf(logs[nlogs++], sizeof logs[0], "%s %s", tr_log_level_name(level), line);
    pthread_mutex_unlock(&logs_mu);
}

static bool logged(const char *want)
{
    pthread_mutex_lock(&logs_mu);
    bool found = false;
    for (int i = 0; i < nlogs && !found; i++) found = strcmp(logs[i], want) == 0;
    pthread_mutex_unlock(&logs_mu);
    return found;
}

static int log_teardown(void **state)
{
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    return t_teardown(state);
}

/* A child that fails while its parent is being stopped anyway: nobody
 * above acts on the failure (the parent ends with shutdown), but it does
 * not vanish: the parent logs it, "failed during shutdown". */
static void test_failure_during_shutdown_is_logged(void **state)
{
    t_env *e = *state;
    pthread_mutex_lock(&logs_mu);
    nlogs = 0;
    pthread_mutex_unlock(&logs_mu);
    tr_log_set_handler(log_sink, NULL);
    t_gate_init(&term_gate);
    tr_pid p = spawn_kid(e, "p", K_OK, 0, false);
    tr_pid c = child_kid(e, p, "c", K_OK, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    send_to(e, c, "failhold", NULL, 0);
    t_expect(e, "holding");
    assert_int_equal(tr_system_stop_child(e->sys, p), TR_OK);
    /* p is stopping once it answers no inspection (a request to a stopping
     * actor is answered "down") */
    tr_actor_info info;
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (tr_system_inspect(e->sys, p, &info, T_WAIT_MS) == TR_OK && t_now_ms() < end) sched_yield();
    assert_int_equal(tr_system_inspect(e->sys, p, &info, T_WAIT_MS), TR_ENOENT);
    t_gate_open(&term_gate);
    t_expect_str(e, "term", "/root/p/c failure: late failure");
    t_expect_str(e, "term", "/root/p shutdown");
    assert_int_equal(t_wait_live(e->sys, 0), 0);
    if (!logged("warn failed during shutdown: /root/p/c: late failure"))
        for (int i = 0; i < nlogs; i++) print_error("logged: %s\n", logs[i]);
    assert_true(logged("warn failed during shutdown: /root/p/c: late failure"));
    assert_int_equal(tr_system_wait(e->sys, 0), TR_ETIMEDOUT); /* the root did not fail */
}

/* A child whose parent's shutdown time for it runs out while it waits
 * for its own child stuck in terminate is abandoned (counted ended,
 * killed) and killed: it kills its children in turn, and 100 ms later
 * abandons the one still stuck, which is disposed of once its callback
 * returns. */
static void test_killed_while_stopping_abandons_stuck_child(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE);
    t_gate_init(&term_gate);
    tr_pid g = spawn_kid(e, "g", K_OK, TR_SPAWN_TRAP_EXITS, false);
    tr_pid b = child_kid(e, g, "b", K_OK, 1000, TR_PID_NIL);
    child_kid(e, b, "s", K_HOLD_TERM, TR_SHUTDOWN_INFINITY, TR_PID_NIL);
    send_to(e, g, "stopkid", &b, sizeof b);
    expect_any_order(e,
                     (t_want[]){{"stopkid", NULL, TR_OK}, {"term.begin", "/root/g/b/s shutdown", 0}},
                     2);
    assert_int_equal(tr_clock_advance(e->clock, 1000), TR_OK);
    t_expect_str(e, "exit", "killed"); /* g counts b killed and goes on */
    /* b, abandoned (counted ended; what it reports now is a dead letter),
     * kills s when it handles the kill; its grace starts then: advance
     * until it has passed and s, still stuck, is abandoned (counted ended
     * too) */
    tr_system_stats st;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do {
        assert_int_equal(tr_clock_advance(e->clock, TRI_TEST_KILL_GRACE_MS), TR_OK);
        sched_yield();
        tr_system_get_stats(e->sys, &st);
    } while (st.actors_live > 1 && t_now_ms() < end);
    assert_int_equal(st.actors_live, 1); /* g */
    t_expect_none(e);
    t_gate_open(&term_gate); /* s's terminate returns: it is disposed of */
    tr_log_set_level(TR_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terminate_order_three_levels, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_failure_reaches_root_with_report, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_trapped_failure_is_a_message, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_code_fails, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_init_failure_and_ignore, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_normal_stop_closes_nursery, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_one_child_from_outside, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_from_signal_handler, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_deep_chain_report_is_bounded, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_started_notices, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_reason_and_fail, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_child_from_an_actor, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_before, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_time_then_killed, setup_clock_quiet,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_infinity_waits, setup_clock_quiet,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_brutal, t_setup_clock, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_children_together, setup_clock_four, t_teardown),
        cmocka_unit_test_setup_teardown(test_stop_children_one_by_one, setup_clock_quiet,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_failure_during_shutdown_is_logged, setup_clock_quiet,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_stopping_abandons_stuck_child,
                                        setup_clock_quiet, t_teardown),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
