/* process — OS-process children (troupe/process.h): start-to-ready and
 * restart times, next to an in-process restart in the same program.
 * Usage: process [N]   (default 200)
 *
 * The child program is this program itself ("process child"): it prints
 * "up <pid>" and waits in pause(). Its stdout line reaches the log (INFO,
 * "<path>: up <pid>"); a log handler turns that line into an `up` message
 * to the driver, so "ready" means the program runs and has said so, not
 * only that execve returned.
 *
 *   process_start    a simple_one_for_one supervisor with a process
 *                    template (temporary): timed from start_child to the
 *                    child's `up`; each child is terminated (untimed).
 *   process_restart  a one_for_one supervisor with one permanent process
 *                    child: timed from kill -9 of its OS process to the
 *                    `up` of the restarted one (reap, exit reason,
 *                    restart, fork+exec, first line).
 *   process_spawn_baseline  no runtime: posix_spawn of the same program by
 *                    the driver, timed to its "up" on a pipe (the floor).
 *   restart_inprocess  the same supervisor shape with an actor worker that
 *                    fails on `crash` and says `up` from its init, as
 *                    bench/restart.c: timed from `crash` to `up`.
 * Checks: every `up` names a new OS pid (a new actor for the in-process
 * one), and the supervisor counts N restarts. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

static tr_atom A_UP, A_CRASH;
static tr_pid g_driver;
static tr_system *g_sys;

/* The log handler: "<path>: up <pid>" lines become `up` messages. */
static void on_log(void *user, tr_log_level level, const char *line)
{
    (void)user, (void)level;
    const char *p = strstr(line, ": up ");
    if (!p) return;
    int32_t pid = (int32_t)atoi(p + 5);
    tr_system_send(g_sys, g_driver, A_UP, &pid, sizeof pid);
}

static int32_t recv_up(bench *b)
{
    const tr_msg *m = bench_recv(b, A_UP);
    int32_t pid;
    if (tr_msg_size(m) != sizeof pid) bench_fail("process: bad up");
    memcpy(&pid, tr_msg_data(m), sizeof pid);
    return pid;
}

/* --------------------------------------------------- in-process worker */

static int worker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)state, (void)args, (void)size;
    int32_t none = 0;
    return tr_send(ctx, g_driver, A_UP, &none, sizeof none);
}

static int worker_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (tr_msg_is(m, A_CRASH)) return tr_fail(ctx, "crash");
    return 0;
}

static const tr_behaviour worker_beh = {.name = "worker", .init = worker_init,
                                        .handle = worker_handle};

/* --------------------------------------------------------------- runs */

static char self_path[4096];

static void run_start(bench *b, int64_t n)
{
    tr_process_spec ps = {.program = self_path, .args = (const char *const[]){"child"}, .nargs = 1};
    tr_child_spec tmpl = {.id = "p", .process = &ps, .restart = TR_TEMPORARY, .shutdown_ms = 5000};
    tr_sup_spec spec = {.strategy = TR_SIMPLE_ONE_FOR_ONE, .intensity = 1, .period_ms = 1000,
                        .children = &tmpl, .nchildren = 1};
    tr_pid sup;
    char why[256] = "";
    int rc = tr_supervisor_start(b->sys, &spec, "starts", BENCH_RECV_TIMEOUT_MS, &sup, why,
                                 sizeof why);
    if (rc != TR_OK) bench_fail("process: supervisor: %s (%s)", tr_strerror(rc), why);
    double timed = 0;
    int32_t last = 0;
    for (int64_t i = 0; i < n; i++) {
        tr_pid child;
        double t0 = bench_now();
        rc = tr_sup_start_child_sync(b->sys, sup, &(tr_child_spec){0}, BENCH_RECV_TIMEOUT_MS,
                                     &child);
        if (rc != TR_OK) bench_fail("process: start_child: %s", tr_strerror(rc));
        int32_t pid = recv_up(b);
        timed += bench_now() - t0;
        if (pid <= 0 || pid == last) bench_fail("process: up from pid %d", (int)pid);
        last = pid;
        rc = tr_sup_terminate_child_sync(b->sys, sup, NULL, child, BENCH_RECV_TIMEOUT_MS);
        if (rc != TR_OK) bench_fail("process: terminate_child: %s", tr_strerror(rc));
    }
    bench_report_rate("process_start", n, timed, "starts/s");
    tr_system_stop_child(b->sys, sup);
}

/* One supervisor, one permanent child; `kick` makes it fail. */
static void run_restart(bench *b, int64_t n, bool os)
{
    tr_process_spec ps = {.program = self_path, .args = (const char *const[]){"child"}, .nargs = 1};
    tr_child_spec child = {.id = "c", .restart = TR_PERMANENT, .shutdown_ms = 5000};
    if (os) child.process = &ps;
    else child.behaviour = &worker_beh;
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = (uint32_t)(10 * n),
                        .period_ms = 1000, .children = &child, .nchildren = 1};
    tr_pid sup;
    char why[256] = "";
    int rc = tr_supervisor_start(b->sys, &spec, os ? "os" : "inproc", BENCH_RECV_TIMEOUT_MS, &sup,
                                 why, sizeof why);
    if (rc != TR_OK) bench_fail("process: supervisor: %s (%s)", tr_strerror(rc), why);
    int32_t pid = recv_up(b);
    tr_child_info kid;
    size_t nk = 0;
    double t0 = bench_now();
    for (int64_t i = 0; i < n; i++) {
        if (os) {
            if (kill(pid, SIGKILL) != 0) bench_fail("process: kill %d", (int)pid);
        } else {
            rc = tr_sup_which_children_sync(b->sys, sup, &kid, 1, &nk, BENCH_RECV_TIMEOUT_MS);
            if (rc != TR_OK || nk != 1) bench_fail("process: which_children");
            bench_send(b, kid.pid, A_CRASH, NULL, 0);
        }
        int32_t next = recv_up(b);
        if (os && next == pid) bench_fail("process: up again from %d", (int)pid);
        pid = next;
    }
    double t1 = bench_now();
    rc = tr_sup_which_children_sync(b->sys, sup, &kid, 1, &nk, BENCH_RECV_TIMEOUT_MS);
    if (rc != TR_OK || nk != 1 || kid.restarts != (uint64_t)n)
        bench_fail("process: %llu restarts counted, expected %lld",
                   (unsigned long long)kid.restarts, (long long)n);
    /* the in-process cycle includes a which_children round trip to find
     * the worker: it is part of that line's time (small next to a fork) */
    bench_report_rate(os ? "process_restart" : "restart_inprocess", n, t1 - t0, "restarts/s");
    tr_system_stop_child(b->sys, sup);
}

/* The floor: the driver itself runs the same program with posix_spawn and
 * reads its "up" line from a pipe (no runtime involved), then kills and
 * reaps it (untimed). What process_start adds above this is troupe's. */
static void run_baseline(int64_t n)
{
    double timed = 0;
    for (int64_t i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) bench_fail("process: pipe");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        char *args[] = {self_path, "child", NULL};
        pid_t pid;
        double t0 = bench_now();
        if (posix_spawn(&pid, self_path, &fa, NULL, args, environ) != 0)
            bench_fail("process: posix_spawn");
        close(p[1]);
        char buf[64];
        ssize_t got = read(p[0], buf, sizeof buf);
        timed += bench_now() - t0;
        if (got < 3 || strncmp(buf, "up ", 3) != 0) bench_fail("process: baseline child said nothing");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(p[0]);
        posix_spawn_file_actions_destroy(&fa);
    }
    bench_report_rate("process_spawn_baseline", n, timed, "starts/s");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("up %d\n", (int)getpid());
        fflush(stdout);
        for (;;) pause();
    }
    int64_t n = bench_arg(argc, argv, 1, 200);
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0) bench_fail("process: readlink /proc/self/exe");
    self_path[len] = '\0';
    A_UP = bench_atom("up");
    A_CRASH = bench_atom("crash");
    bench b = bench_start();
    g_sys = b.sys;
    g_driver = b.driver;
    tr_log_set_handler(on_log, NULL);
    tr_log_set_level(TR_LOG_INFO); /* the children's lines are INFO */
    run_baseline(n);
    run_start(&b, n);
    run_restart(&b, n, true);
    run_restart(&b, n, false);
    bench_end(&b);
    tr_log_set_handler(NULL, NULL);
    return 0;
}
