/* test_process.c — OS-process children (troupe/process.h): start, output
 * logging, exit status mapping, SIGTERM/SIGKILL stops, exec failure,
 * supervision, reaping, and no orphan after kill -9 of the parent process.
 * The child program is tests/proc_child.c ($PROC_CHILD). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logcap.h"
#include "testutil.h"

static const char *child_prog(void)
{
    const char *p = getenv("PROC_CHILD");
    return p ? p : "./proc_child";
}

/* The log is captured (logcap.h) for the tests to wait on lines. */

static int setup(void **state)
{
    t_log_clear();
    tr_log_set_handler(t_log_sink, NULL);
    tr_log_set_level(TR_LOG_INFO);
    return t_setup(state);
}

/* The same with a manual clock (e->clock): a test whose child must reach
 * a point before a start timeout runs out moves the clock itself. */
static int setup_clock(void **state)
{
    t_log_clear();
    tr_log_set_handler(t_log_sink, NULL);
    tr_log_set_level(TR_LOG_INFO);
    return t_setup_clock(state);
}

static int teardown(void **state)
{
    int rc = t_teardown(state);
    tr_log_set_level(TR_LOG_WARN);
    tr_log_set_handler(NULL, NULL);
    t_log_clear();
    return rc;
}

/* --------------------------------------------------- waiting for pids */

/* Whether OS process `pid` has ended (and, with `reaped`, is gone from
 * the process table: no zombie), within ms. */
/* Whether /proc says `pid` is a zombie (ended, not reaped yet). */
static bool is_zombie(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static bool pid_gone(pid_t pid, bool reaped, int64_t ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)ms);
        close(fd);
        if (rc != 1) return false;
    } else if (errno == ENOSYS) { /* valgrind: no pidfds; /proc then */
        int64_t end = t_now_ms() + ms;
        while (kill(pid, 0) == 0 && !is_zombie(pid)) {
            if (t_now_ms() > end) return false;
            usleep(1000);
        }
    } else if (errno != ESRCH) {
        return false;
    }
    if (!reaped) return true;
    /* ended: reaped at once by its owner (the proc thread, or init) */
    int64_t end = t_now_ms() + ms;
    while (kill(pid, 0) == 0) {
        if (t_now_ms() > end) return false;
        usleep(1000); /* polling a condition, with a deadline */
    }
    return errno == ESRCH;
}

/* --------------------------------------------------------- the host */

/* A parent actor: spawns one process child (trapping its exit) and
 * reports its start notice and exit to the probe; "stop" stops it. */
typedef struct host_args {
    const tr_process_spec *spec;
    int64_t shutdown_ms;
} host_args;

typedef struct host {
    tr_pid child;
} host;

typedef struct report {
    int status; /* tr_start_status, or -1 for an exit */
    int kind;
    char text[400];
} report;

static int host_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    host *h = st;
    host_args ha;
    memcpy(&ha, args, size);
    tr_trap_exits(ctx, true);
    tr_spawn_opts o = {.name = "proc", .shutdown_ms = ha.shutdown_ms, .started_to = tr_self(ctx)};
    int rc = tr_spawn_process(ctx, ha.spec, &o, &h->child);
    t_report_int(ctx, "spawn_rc", rc);
    t_report_val(ctx, "child", &h->child, sizeof h->child);
    return 0;
}

static int host_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    host *h = st;
    report r = {0};
    tr_pid who;
    tr_start_status status;
    tr_exit why;
    if (tr_started_decode(m, &who, &status, &why) == TR_OK) {
        r.status = (int)status;
        r.kind = (int)why.kind;
        snprintf(r.text, sizeof r.text, "%s", why.text ? why.text : "");
        t_report_val(ctx, "started", &r, sizeof r);
    } else if (tr_msg_type(m).id == tr_exit_atom().id && tr_exit_decode(m, &who, &why) == TR_OK) {
        r.status = -1;
        r.kind = (int)why.kind;
        snprintf(r.text, sizeof r.text, "%s", why.text ? why.text : "");
        t_report_val(ctx, "exit", &r, sizeof r);
    } else if (!strcmp(tr_atom_name(tr_msg_type(m)), "stop")) {
        t_report_int(ctx, "stopping", tr_stop_child(ctx, h->child));
    }
    return 0;
}

static const tr_behaviour host_beh = {
    .name = "host", .state_size = sizeof(host), .init = host_init, .handle = host_handle};

/* Starts a host; *child (may be NULL) gets its process actor's pid. */
static tr_pid start_host(t_env *e, const tr_process_spec *spec, int64_t shutdown_ms, tr_pid *child)
{
    host_args ha = {spec, shutdown_ms};
    tr_pid h;
    tr_spawn_opts o = {.name = "host", .args = &ha, .args_size = sizeof ha};
    assert_int_equal(tr_system_spawn(e->sys, &host_beh, &o, &h), TR_OK);
    assert_int_equal(t_expect_int(e, "spawn_rc"), TR_OK);
    tr_pid c = t_expect_pid(e, "child");
    if (child) *child = c;
    return h;
}

/* The OS pid of a running process actor. */
static pid_t os_pid_of(t_env *e, tr_pid actor)
{
    tr_process_info pi;
    assert_int_equal(tr_process_info_sync(e->sys, actor, &pi, T_WAIT_MS), TR_OK);
    assert_true(pi.os_pid > 0);
    return (pid_t)pi.os_pid;
}

static report report_of(const tr_msg *m)
{
    report r;
    assert_int_equal(tr_msg_size(m), sizeof r);
    memcpy(&r, tr_msg_data(m), sizeof r);
    return r;
}

static report expect_report(t_env *e, const char *type)
{
    return report_of(t_expect(e, type));
}

/* Moves the manual clock on by `ms` until a report of `type` comes, each
 * step waiting briefly for it: a timer armed in answer to an earlier one
 * (a kill time after a start timeout) is armed on a worker, after
 * tr_clock_advance has returned. */
static report advance_until(t_env *e, int64_t ms, const char *type)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    for (;;) {
        assert_int_equal(tr_clock_advance(e->clock, ms), TR_OK);
        const tr_msg *m = NULL;
        if (tr_inbox_recv(e->probe, &m, 20) == TR_OK) {
            assert_string_equal(tr_atom_name(tr_msg_type(m)), type);
            return report_of(m);
        }
        assert_true(t_now_ms() < end);
    }
}

/* ------------------------------------------------------------ tests */

/* Output reaches the log line by line, with the child's path, before its
 * end is told; status 3 is a failure saying so; the child is reaped. */
static void test_output_and_status(void **state)
{
    t_env *e = *state;
    const char *args[] = {"3", "hello", "world"};
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"lines", args[0],
                          args[1], args[2]}, .nargs = 4};
    start_host(e, &ps, 5000, NULL);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_OK);
    r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_FAILURE);
    assert_string_equal(r.text, "exited with status 3");
    /* logged before the end was told: no waiting */
    assert_true(t_log_has("/root/host/proc: hello", NULL));
    assert_true(t_log_has("/root/host/proc: world", NULL));
    assert_true(t_log_has("/root/host/proc (stderr): to stderr", NULL));
    assert_true(t_log_has("/root/host/proc: partial", NULL));
    char line[256];
    assert_true(t_log_wait("/root/host/proc: pid ", NULL, 0, line, sizeof line));
    pid_t pid = (pid_t)atoi(strstr(line, "pid ") + 4);
    assert_true(pid > 0);
    /* reaped by the runtime before its end was told: not ours to wait for */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(kill(pid, 0), -1);
}

static void test_exit_zero_is_normal(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"lines", "0"},
                          .nargs = 2};
    start_host(e, &ps, 5000, NULL);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    report r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_NORMAL);
}

/* A program found in PATH (no '/'), and the environment given to it. */
static void test_path_and_env(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = "sh",
                          .args = (const char *const[]){"-c", "echo \"v=$TR_TEST_V\"; pwd"},
                          .nargs = 2,
                          .env = (const char *const[]){"TR_TEST_V=forty two"},
                          .nenv = 1,
                          .cwd = "/"};
    start_host(e, &ps, 5000, NULL);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    assert_int_equal(expect_report(e, "exit").kind, TR_EXIT_NORMAL);
    assert_true(t_log_has("/root/host/proc: v=forty two", NULL));
    assert_true(t_log_has("/root/host/proc: /", NULL));
}

static void test_segv_reason(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"segv"},
                          .nargs = 1};
    start_host(e, &ps, 5000, NULL);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    report r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_FAILURE);
    assert_string_equal(r.text, "killed by SIGSEGV");
}

/* A program that cannot be executed: a start failure with errno's text. */
static void test_exec_failure(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = "/nonexistent/troupe-proc"};
    start_host(e, &ps, 5000, NULL);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_FAILED);
    assert_string_equal(r.text, "cannot execute /nonexistent/troupe-proc: No such file or directory");
    r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_FAILURE);
    /* not in PATH either */
    tr_process_spec ps2 = {.program = "troupe-no-such-program-here"};
    start_host(e, &ps2, 5000, NULL);
    r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_FAILED);
    assert_string_equal(r.text,
                        "cannot execute troupe-no-such-program-here: No such file or directory");
    expect_report(e, "exit");
}

/* Stopping: SIGTERM, the process ends, the child's exit is the stop's. */
static void test_stop_sigterm(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"wait"},
                          .nargs = 1};
    tr_pid child;
    tr_pid h = start_host(e, &ps, 5000, &child);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    assert_true(t_log_wait("/root/host/proc: waiting", NULL, T_WAIT_MS, NULL, 0));
    pid_t pid = os_pid_of(e, child);
    int64_t t0 = t_now_ms();
    tr_system_send(e->sys, h, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(t_expect_int(e, "stopping"), TR_OK);
    report r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_SHUTDOWN);
    assert_true(t_now_ms() - t0 < 4000); /* well before its 5 s shutdown time */
    /* it ended after its process was reaped: gone already */
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* A process that ignores SIGTERM is killed at its shutdown time; brutal
 * kills at once. */
static void test_ignore_term_killed(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"ignore_term"},
                          .nargs = 1};
    tr_pid child;
    tr_pid h = start_host(e, &ps, 300, &child);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    assert_true(t_log_wait("/root/host/proc: ignoring", NULL, T_WAIT_MS, NULL, 0));
    pid_t pid = os_pid_of(e, child);
    int64_t t0 = t_now_ms();
    tr_system_send(e->sys, h, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(t_expect_int(e, "stopping"), TR_OK);
    report r = expect_report(e, "exit");
    int64_t took = t_now_ms() - t0;
    assert_int_equal(r.kind, TR_EXIT_KILLED);
    assert_true(took >= 290); /* it outlived the SIGTERM: killed at 300 ms */
    assert_true(pid_gone(pid, true, T_WAIT_MS));
}

static void test_brutal_kill(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"ignore_term"},
                          .nargs = 1};
    tr_pid child;
    tr_pid h = start_host(e, &ps, TR_SHUTDOWN_BRUTAL, &child);
    assert_int_equal(expect_report(e, "started").status, TR_START_OK);
    assert_true(t_log_wait("/root/host/proc: ignoring", NULL, T_WAIT_MS, NULL, 0));
    pid_t pid = os_pid_of(e, child);
    int64_t t0 = t_now_ms();
    tr_system_send(e->sys, h, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(t_expect_int(e, "stopping"), TR_OK);
    report r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_KILLED);
    assert_true(pid_gone(pid, true, T_WAIT_MS));
    assert_true(t_now_ms() - t0 < 4000); /* no shutdown time waited (5 s by default) */
}

/* Under a supervisor: a child dying of SIGSEGV is restarted, and the
 * restart counted; the old process is gone. */
static void test_supervisor_restarts_segv(void **state)
{
    t_env *e = *state;
    char marker[64];
    snprintf(marker, sizeof marker, "/tmp/troupe-segv-once-%d", (int)getpid());
    unlink(marker);
    tr_process_spec ps = {.program = child_prog(),
                          .args = (const char *const[]){"segv_once", marker},
                          .nargs = 2};
    tr_child_spec kid = {.id = "crashy", .process = &ps};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 3, .period_ms = 5000,
                        .children = &kid, .nchildren = 1};
    tr_pid sup;
    char why[256] = "";
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "sup", T_WAIT_MS, &sup, why, sizeof why),
                     TR_OK);
    assert_true(t_log_wait("/root/sup/crashy: second run", NULL, T_WAIT_MS, NULL, 0));
    assert_true(t_log_has("crashy", "killed by SIGSEGV"));
    tr_child_info info;
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, &info, 1, &n, T_WAIT_MS), TR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(info.restarts, 1);
    assert_false(tr_pid_is_nil(info.pid));
    tr_process_info pi;
    assert_int_equal(tr_process_info_sync(e->sys, info.pid, &pi, T_WAIT_MS), TR_OK);
    assert_true(pi.os_pid > 0);
    assert_int_equal(pi.kind, TR_PROCESS_PLAIN);
    assert_int_equal(kill(pi.os_pid, 0), 0);
    /* terminate_child stops it: its process goes with it */
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "crashy", TR_PID_NIL, T_WAIT_MS),
                     TR_OK);
    assert_true(pid_gone(pi.os_pid, true, T_WAIT_MS));
    unlink(marker);
}

/* A simple_one_for_one template: start_child's args are more arguments. */
static void test_dynamic_args(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"lines", "0"},
                          .nargs = 2};
    tr_child_spec tmpl = {.id = "p", .process = &ps, .restart = TR_TEMPORARY};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .children = &tmpl, .nchildren = 1};
    tr_pid sup, child;
    assert_int_equal(tr_supervisor_start(e->sys, &spec, "dyn", T_WAIT_MS, &sup, NULL, 0), TR_OK);
    static const char extra[] = "first\0second"; /* the last NUL optional */
    tr_child_spec more = {.args = extra, .args_size = sizeof extra - 1};
    assert_int_equal(tr_sup_start_child_sync(e->sys, sup, &more, T_WAIT_MS, &child), TR_OK);
    assert_true(t_log_wait("/root/dyn/p-1: second", NULL, T_WAIT_MS, NULL, 0));
    assert_true(t_log_has("/root/dyn/p-1: first", NULL));
}

/* kill -9 of the parent process: its process child does not outlive it
 * (PR_SET_PDEATHSIG). The parent is proc_child supervise, the grandchild
 * proc_child wait. */
static void test_kill9_no_orphan(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t parent = fork();
    assert_true(parent >= 0);
    if (parent == 0) {
        dup2(p[1], 1);
        execl(child_prog(), child_prog(), "supervise", child_prog(), (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    assert_non_null(in);
    char line[128] = "";
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, T_WAIT_MS), 1);
    assert_non_null(fgets(line, sizeof line, in));
    int gc = 0;
    assert_int_equal(sscanf(line, "grandchild %d", &gc), 1);
    assert_true(gc > 0);
    assert_int_equal(kill(gc, 0), 0);
    assert_int_equal(kill(parent, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(parent, &status, 0), parent);
    assert_true(WIFSIGNALED(status));
    /* the grandchild dies with it (reaped by whoever adopts it) */
    assert_true(pid_gone(gc, false, T_WAIT_MS));
    fclose(in);
}

/* ------------------------------------------------------ node children */

static char parent_name[64], kid_name[64];

/* Makes the test's system a node listening on its own ipc socket. */
static void make_node(t_env *e)
{
    char ep[128];
    snprintf(parent_name, sizeof parent_name, "parent-%d", (int)getpid());
    snprintf(kid_name, sizeof kid_name, "kid-%d", (int)getpid());
    snprintf(ep, sizeof ep, "ipc:///tmp/troupe-proc-parent-%d.sock", (int)getpid());
    const char *listen[] = {ep};
    tr_node *n;
    tr_node_opts no = {.name = parent_name, .listen = listen, .nlisten = 1};
    assert_int_equal(tr_node_start(e->sys, &no, &n), TR_OK);
}

/* A troupe-node child: started once it reported ready; its actor answers
 * a call from this side by name@node; its crash is the child's exit. */
static void test_node_child(void **state)
{
    t_env *e = *state;
    make_node(e);
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"node"},
                          .nargs = 1, .kind = TR_PROCESS_NODE, .node_name = kid_name};
    tr_pid child;
    start_host(e, &ps, 5000, &child);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_OK);
    tr_process_info pi;
    assert_int_equal(tr_process_info_sync(e->sys, child, &pi, T_WAIT_MS), TR_OK);
    assert_int_equal(pi.kind, TR_PROCESS_NODE);
    uint32_t kid_id;
    assert_int_equal(tr_node_id(tr_node_of(e->sys), kid_name, &kid_id), TR_OK);
    assert_int_equal(pi.child_root.node, kid_id);
    /* a call from this side to the child's actor, by name@node */
    char name[128];
    snprintf(name, sizeof name, "echo@%s", kid_name);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_named_sync(e->sys, name, tr_atom_from("ping"), NULL, 0, T_WAIT_MS,
                                        &reply),
                     TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(reply)), "pong");
    int32_t their_pid;
    memcpy(&their_pid, tr_msg_data(reply), sizeof their_pid);
    assert_int_equal(their_pid, pi.os_pid); /* it runs in the child process */
    tr_msg_destroy(&reply);
    /* its crash (reaching its root) is the child's exit */
    tr_call_named_sync(e->sys, name, tr_atom_from("crash"), NULL, 0, T_WAIT_MS, &reply);
    tr_msg_destroy(&reply);
    r = expect_report(e, "exit");
    assert_int_equal(r.kind, TR_EXIT_FAILURE);
    /* what ends it first: the root's failure over the link ("node K:
     * ...") or the process's own exit that follows it; on a slow machine
     * (valgrind) either may come first */
    char want[128];
    snprintf(want, sizeof want, "node %s: ", kid_name);
    if (strncmp(r.text, want, strlen(want)) != 0 && strncmp(r.text, "exited with status", 18) != 0)
        fail_msg("exit reason \"%s\"", r.text);
    assert_true(pid_gone(pi.os_pid, true, T_WAIT_MS));
}

/* A node child whose root ends normally: the child's exit is normal too
 * (by its root's link or by its process's exit 0, whichever comes first),
 * so a transient or temporary child is not restarted. */
static void test_node_child_ends_normally(void **state)
{
    t_env *e = *state;
    make_node(e);
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"node"},
                          .nargs = 1, .kind = TR_PROCESS_NODE, .node_name = kid_name};
    tr_pid child;
    start_host(e, &ps, 5000, &child);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_OK);
    tr_process_info pi;
    assert_int_equal(tr_process_info_sync(e->sys, child, &pi, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_system_send(e->sys, pi.child_root, tr_atom_from("quit"), NULL, 0), TR_OK);
    r = expect_report(e, "exit");
    if (r.kind != TR_EXIT_NORMAL) fail_msg("exit %s: %s", tr_exit_kind_name(r.kind), r.text);
    assert_true(pid_gone(pi.os_pid, true, T_WAIT_MS));
}

/* A node child needs a node to report to; and one that never reports
 * ready fails its start at its start timeout. */
static void test_node_child_start_failures(void **state)
{
    t_env *e = *state;
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"node"},
                          .nargs = 1, .kind = TR_PROCESS_NODE, .node_name = "kid"};
    start_host(e, &ps, 5000, NULL);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_FAILED);
    assert_string_equal(r.text, "a node child needs its supervising system to be a node");
    expect_report(e, "exit");
    make_node(e);
    tr_process_spec mute = {.program = child_prog(), .args = (const char *const[]){"wait"},
                            .nargs = 1, .kind = TR_PROCESS_NODE, .node_name = kid_name,
                            .start_timeout_ms = 200};
    tr_pid child;
    start_host(e, &mute, 5000, &child);
    char line[256];
    /* its pid from its line; its start timeout runs out only when the
     * (manual) clock is moved on */
    assert_true(t_log_wait("/root/host/proc: waiting ", NULL, T_WAIT_MS, line, sizeof line));
    pid_t pid = (pid_t)atoi(strstr(line, "waiting ") + 8);
    assert_true(pid > 0);
    r = advance_until(e, 200, "started");
    assert_int_equal(r.status, TR_START_FAILED);
    assert_true(strstr(r.text, "did not report ready within 200 ms") != NULL);
    assert_int_equal(expect_report(e, "exit").kind, TR_EXIT_FAILURE);
    assert_true(pid_gone(pid, true, T_WAIT_MS));
}

/* An actor that stops by itself (here: its start timed out) while its
 * process ignores SIGTERM: its own shutdown time sends SIGKILL (no parent
 * times this stop). */
static void test_own_kill_timer(void **state)
{
    t_env *e = *state;
    make_node(e);
    tr_process_spec ps = {.program = child_prog(), .args = (const char *const[]){"ignore_term"},
                          .nargs = 1, .kind = TR_PROCESS_NODE, .node_name = kid_name,
                          .start_timeout_ms = 300};
    start_host(e, &ps, 300, NULL);
    char line[256];
    assert_true(t_log_wait("/root/host/proc: ignoring ", NULL, T_WAIT_MS, line, sizeof line));
    pid_t pid = (pid_t)atoi(strstr(line, "ignoring ") + 9);
    report r = advance_until(e, 300, "started");
    assert_int_equal(r.status, TR_START_FAILED);
    assert_true(strstr(r.text, "did not report ready within 300 ms") != NULL);
    r = advance_until(e, 300, "exit"); /* SIGTERM ignored: the kill time */
    assert_int_equal(r.kind, TR_EXIT_FAILURE);
    assert_true(pid_gone(pid, true, T_WAIT_MS));
}

static void test_pid_parse(void **state)
{
    (void)state;
    tr_pid p = {123456789u, 42, 987654321012345ull}, q;
    char buf[TR_PID_STRLEN];
    assert_int_equal(tr_pid_parse(tr_pid_format(p, buf, sizeof buf), &q), TR_OK);
    assert_true(tr_pid_eq(p, q));
    assert_int_equal(tr_pid_parse("<1.2.3>x", &q), TR_EINVAL);
    assert_true(tr_pid_is_nil(q));
    assert_int_equal(tr_pid_parse("<4294967296.2.3>", &q), TR_EINVAL);
    assert_int_equal(tr_pid_parse("<1.-2.3>", &q), TR_EINVAL);
    assert_int_equal(tr_pid_parse("1.2.3", &q), TR_EINVAL);
    assert_int_equal(tr_pid_parse("<1.2.3>", &q), TR_OK);
    assert_int_equal(q.serial, 3);
}

/* ------------------------------------------------------------ config */

/* A process child from a config's tree: its args, env and output. */
static void test_config_plain(void **state)
{
    t_env *e = *state;
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "tree:\n"
             "  supervisor: cfg\n"
             "  children:\n"
             "    - name: printer\n"
             "      restart: temporary\n"
             "      process:\n"
             "        program: sh\n"
             "        args: [-c, 'echo \"from config $TR_CFG_V\"; exec %s wait']\n"
             "        env: {TR_CFG_V: 7}\n"
             "      shutdown: 2s\n",
             child_prog());
    tr_config *cfg;
    assert_int_equal(tr_config_parse("p.yaml", yaml, strlen(yaml), 0, &cfg), TR_OK);
    tr_pid sup;
    char why[512] = "";
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &sup, why, sizeof why), TR_OK);
    assert_true(t_log_wait("/root/cfg/printer: from config 7", NULL, T_WAIT_MS, NULL, 0));
    assert_true(t_log_wait("/root/cfg/printer: waiting", NULL, T_WAIT_MS, NULL, 0));
    tr_child_info info;
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(e->sys, sup, &info, 1, &n, T_WAIT_MS), TR_OK);
    pid_t pid = os_pid_of(e, info.pid);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, sup, "printer", TR_PID_NIL, T_WAIT_MS),
                     TR_OK);
    assert_true(pid_gone(pid, true, T_WAIT_MS));
    tr_config_destroy(&cfg);
}

/* `troupe run` started as a node child reports ready by itself; its
 * actors answer calls; stopping the process actor stops it. */
static void test_troupe_run_node_child(void **state)
{
    t_env *e = *state;
    const char *troupe = getenv("TROUPE_EXE");
    if (!troupe) skip();
    make_node(e);
    char file[128], yaml[512];
    snprintf(file, sizeof file, "/tmp/troupe-proc-run-%d.yaml", (int)getpid());
    snprintf(yaml, sizeof yaml,
             "node:\n"
             "  name: %s\n"
             "  listen: ipc:///tmp/troupe-proc-run-%d.sock\n"
             "tree:\n"
             "  supervisor: top\n"
             "  children:\n"
             "    - {name: e, behaviour: troupe.echo, register: echo}\n",
             kid_name, (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    tr_process_spec ps = {.program = troupe, .args = (const char *const[]){"run", file},
                          .nargs = 2, .kind = TR_PROCESS_NODE, .node_name = kid_name};
    tr_pid child;
    tr_pid h = start_host(e, &ps, 5000, &child);
    report r = expect_report(e, "started");
    assert_int_equal(r.status, TR_START_OK);
    pid_t pid = os_pid_of(e, child);
    char name[128];
    snprintf(name, sizeof name, "echo@%s", kid_name);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_named_sync(e->sys, name, tr_atom_from("hi"), "x", 2, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(reply)), "hi");
    tr_msg_destroy(&reply);
    tr_system_send(e->sys, h, tr_atom_from("stop"), NULL, 0);
    assert_int_equal(t_expect_int(e, "stopping"), TR_OK);
    assert_int_equal(expect_report(e, "exit").kind, TR_EXIT_SHUTDOWN);
    assert_true(pid_gone(pid, true, T_WAIT_MS));
    unlink(file);
}

/* ------------------------------------------------------- API checks */

static int idle_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    (void)st;
    const tr_process_spec *ps = *(const tr_process_spec *const *)args;
    (void)size;
    tr_pid out;
    int rc1 = tr_spawn_process(ctx, ps, &(tr_spawn_opts){.args = "x", .args_size = 1}, &out);
    int rc2 = tr_spawn_process(ctx, ps, &(tr_spawn_opts){.node = "elsewhere"}, &out);
    int rc3 = tr_spawn_process(ctx, &(tr_process_spec){0}, NULL, &out);
    t_report_int(ctx, "rcs", rc1 == TR_EINVAL && rc2 == TR_EINVAL && rc3 == TR_EINVAL);
    return TR_INIT_IGNORE;
}

static int idle_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const tr_behaviour idle_beh = {.name = "idle", .init = idle_init, .handle = idle_handle};

static void test_spec_checks(void **state)
{
    t_env *e = *state;
    char why[200];
    assert_int_equal(tr_process_spec_check(&(tr_process_spec){0}, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "a process needs a program");
    tr_process_spec ok = {.program = "x"};
    assert_int_equal(tr_process_spec_check(&ok, why, sizeof why), TR_OK);
    tr_process_spec badenv = {.program = "x", .env = (const char *const[]){"NOEQUALS"}, .nenv = 1};
    assert_int_equal(tr_process_spec_check(&badenv, why, sizeof why), TR_EINVAL);
    tr_process_spec node = {.program = "x", .kind = TR_PROCESS_NODE};
    assert_int_equal(tr_process_spec_check(&node, why, sizeof why), TR_EINVAL);
    node.node_name = "kid@here";
    assert_int_equal(tr_process_spec_check(&node, why, sizeof why), TR_OK);
    /* in a child spec: exactly one of behaviour, supervisor, process */
    tr_child_spec both = {.id = "c", .behaviour = &idle_beh, .process = &ok};
    tr_sup_spec spec = {.children = &both, .nchildren = 1};
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "child 'c': set exactly one of behaviour, supervisor and process");
    tr_child_spec remote = {.id = "c", .process = &ok, .node = "n"};
    spec.children = &remote;
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    tr_child_spec badkid = {.id = "c", .process = &badenv};
    spec.children = &badkid;
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "child 'c': an env entry must be KEY=VALUE");
    /* tr_spawn_process refuses args and node, and bad specs */
    const tr_process_spec *pp = &ok;
    tr_spawn_opts o = {.args = &pp, .args_size = sizeof pp};
    assert_int_equal(tr_system_spawn(e->sys, &idle_beh, &o, NULL), TR_OK);
    assert_int_equal(t_expect_int(e, "rcs"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spec_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_zero_is_normal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_and_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segv_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_term_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brutal_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_supervisor_restarts_segv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_no_orphan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pid_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child_ends_normally, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_child_start_failures, setup_clock, teardown),
        cmocka_unit_test_setup_teardown(test_own_kill_timer, setup_clock, teardown),
        cmocka_unit_test_setup_teardown(test_config_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_troupe_run_node_child, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
