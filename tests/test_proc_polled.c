/* test_proc_polled.c — process children where pidfd_open is missing
 * (troupe/process.h, actors/proc_os.c: old kernels, valgrind): each child
 * is then reaped by polling waitid(P_PID) for its own pid and signalled
 * with kill(). Before anything else, main installs a seccomp filter that
 * makes pidfd_open fail with ENOSYS for this whole process (threads made
 * later inherit it; it cannot be undone, hence a file of its own), then
 * EPERM; run with the argument "epoll", epoll_ctl fails instead once the
 * proc thread runs. Where seccomp is not available the tests are skipped
 * (the default run's first two then use pidfds, and still hold). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"

static bool filtered; /* the filters this file needs are in place */

/* Adds a seccomp filter under which syscall `nr` fails with `err` and
 * every other call is allowed. Filters stack and cannot be removed: the
 * latest one's answer wins. (The architecture is not checked: only one
 * call's number is compared, and a foreign-ABI call that happened to
 * share it would merely fail.) Applied to every thread of the process,
 * and inherited by threads made later. */
static bool block_syscall(long nr, int err)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
    /* every thread at once (TSYNC): the proc thread is made by a worker */
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0;
}

static bool block_pidfd_open(int err)
{
    if (!block_syscall(SYS_pidfd_open, err)) return false;
    errno = 0;
    return syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == err;
}

/* spawner: traps exits. "spawn" {nargs + 3 args of 64} starts a process
 * child (start notice to the probe) and reports "spawned" {pid};
 * "stopkid" {pid} stops it; a child's exit is reported as "exit" {kind}
 * then "why" {text}. */
typedef struct spawn_req {
    int nargs;
    char args[3][64]; /* the program, then its arguments */
} spawn_req;

static int spawner_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)st, (void)args, (void)n;
    tr_trap_exits(ctx, true);
    return 0;
}

static int spawner_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("spawn"))) {
        spawn_req r;
        memcpy(&r, tr_msg_data(m), sizeof r);
        const char *args[2] = {r.args[1], r.args[2]};
        tr_process_spec spec = {.program = r.args[0], .args = args, .nargs = (size_t)r.nargs - 1};
        tr_pid pid = TR_PID_NIL;
        int rc = tr_spawn_process(ctx, &spec, &(tr_spawn_opts){.started_to = t_probe}, &pid);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return t_report_val(ctx, "spawned", &pid, sizeof pid);
    }
    if (tr_msg_is(m, tr_atom_from("stopkid"))) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        T_CHECK(ctx, tr_stop_child(ctx, c) == TR_OK);
        return 0;
    }
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, NULL, &why) == TR_OK) {
        t_report_int(ctx, "exit", (int)why.kind);
        return t_report(ctx, "why", why.text ? why.text : "");
    }
    return 0;
}

static const tr_behaviour spawner_b = {"pp.spawner", 0, spawner_init, spawner_handle, NULL};

/* Starts `argv` (up to 3 words) under a new spawner; returns the child
 * after its start notice said it runs. */
static tr_pid start(t_env *e, tr_pid *spawner, const char *a0, const char *a1, const char *a2)
{
    assert_int_equal(tr_system_spawn(e->sys, &spawner_b, NULL, spawner), TR_OK);
    spawn_req r;
    memset(&r, 0, sizeof r);
    const char *a[3] = {a0, a1, a2};
    for (int i = 0; i < 3 && a[i]; i++) snprintf(r.args[r.nargs++], sizeof r.args[0], "%s", a[i]);
    assert_int_equal(tr_inbox_send(e->probe, *spawner, tr_atom_from("spawn"), &r, sizeof r), TR_OK);
    tr_pid child = TR_PID_NIL, who;
    bool started = false;
    while (tr_pid_is_nil(child) || !started) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("spawned"))) {
            child = t_pidv(m);
            continue;
        }
        tr_start_status st;
        assert_int_equal(tr_started_decode(m, &who, &st, NULL), TR_OK);
        assert_int_equal(st, TR_START_OK);
        started = true;
    }
    assert_true(tr_pid_eq(who, child));
    return child;
}

/* pidfd_open is refused here, as the filter says (else the file tests
 * the pidfd path again). */
static void test_pidfd_open_refused(void **state)
{
    (void)state;
    if (!filtered) {
        print_message("seccomp unavailable: the children below use pidfds\n");
        skip();
    }
    errno = 0;
    assert_true(syscall(SYS_pidfd_open, getpid(), 0) < 0);
    assert_int_equal(errno, ENOSYS);
}

/* Spawns `program` (no arguments) and returns its start notice's status,
 * with its reason in why (the spawner's exit report is consumed). */
static tr_start_status start_status(t_env *e, const char *program, char *why, size_t n)
{
    tr_pid sp, who;
    assert_int_equal(tr_system_spawn(e->sys, &spawner_b, NULL, &sp), TR_OK);
    spawn_req r;
    memset(&r, 0, sizeof r);
    r.nargs = 1;
    snprintf(r.args[0], sizeof r.args[0], "%s", program);
    assert_int_equal(tr_inbox_send(e->probe, sp, tr_atom_from("spawn"), &r, sizeof r), TR_OK);
    tr_start_status st = TR_START_OK;
    bool spawned = false, started = false;
    while (!spawned || !started) {
        const tr_msg *m = t_recv(e);
        if (tr_msg_is(m, tr_atom_from("spawned"))) {
            spawned = true;
            continue;
        }
        tr_exit x;
        assert_int_equal(tr_started_decode(m, &who, &st, &x), TR_OK);
        snprintf(why, n, "%s", x.text ? x.text : "");
        started = true;
    }
    if (st != TR_START_OK) {
        assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_FAILURE);
        t_expect(e, "why");
    }
    return st;
}

/* A pidfd_open that fails otherwise than ENOSYS (here EPERM, from one
 * more filter) is a failure to start: the child is killed and reaped,
 * and the reason carries the errno text. */
static void test_pidfd_open_fails(void **state)
{
    t_env *e = *state;
    if (!filtered || !block_pidfd_open(EPERM)) skip();
    char why[512];
    assert_int_equal(start_status(e, "true", why, sizeof why), TR_START_FAILED);
    assert_string_equal(why, "cannot execute true: Operation not permitted");
}

/* epoll_ctl failing (EPERM from a filter added once the proc thread
 * runs): a child whose pidfd cannot be watched is a failure to start
 * (killed and reaped at once) while a child started before still stops
 * as usual; once that thread has ended, the next process child cannot
 * start it again: its start fails, saying so. */
static void test_epoll_ctl_fails(void **state)
{
    t_env *e = *state;
    if (!filtered) skip();
    tr_pid sp;
    tr_pid first = start(e, &sp, "sleep", "30", NULL);
    if (!block_syscall(SYS_epoll_ctl, EPERM)) skip();
    char why[512];
    assert_int_equal(start_status(e, "true", why, sizeof why), TR_START_FAILED);
    assert_string_equal(why, "cannot execute true: Operation not permitted");
    assert_int_equal(tr_inbox_send(e->probe, sp, tr_atom_from("stopkid"), &first, sizeof first),
                     TR_OK);
    assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_SHUTDOWN);
    t_expect(e, "why");

    /* the last system using the proc thread goes: so does the thread */
    t_teardown(state);
    assert_int_equal(t_setup(state), 0);
    e = *state;
    assert_int_equal(start_status(e, "true", why, sizeof why), TR_START_FAILED);
    assert_string_equal(why, "cannot start the thread that runs process children");
}

/* A child that ends by itself is reaped by polling: its status is told. */
static void test_polled_exit_status(void **state)
{
    t_env *e = *state;
    tr_pid sp;
    start(e, &sp, "sh", "-c", "exit 3");
    assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_FAILURE);
    t_expect_str(e, "why", "exited with status 3");
}

/* A child asked to stop is sent SIGTERM with kill(), then reaped by
 * polling: the actor ends "shutdown" once the OS process is gone. */
static void test_polled_stop(void **state)
{
    t_env *e = *state;
    tr_pid sp;
    tr_pid child = start(e, &sp, "sleep", "30", NULL);
    tr_process_info info;
    assert_int_equal(tr_process_info_sync(e->sys, child, &info, T_WAIT_MS), TR_OK);
    assert_true(info.os_pid > 0);
    assert_int_equal(tr_inbox_send(e->probe, sp, tr_atom_from("stopkid"), &child, sizeof child),
                     TR_OK);
    assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_SHUTDOWN);
    t_expect(e, "why");
    /* reaped before its actor ended: no such process, not even a zombie */
    assert_int_equal(kill(info.os_pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* `proc_polled` (the default): pidfd_open answers ENOSYS, then EPERM.
 * `proc_polled epoll`: epoll_ctl fails once the proc thread runs. Each
 * run installs its own filters: they outlive every test of the run. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "epoll") == 0) {
        filtered = block_syscall(-1, 0); /* proves seccomp works here */
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_epoll_ctl_fails, t_setup, t_teardown),
        };
        return cmocka_run_group_tests_name("proc_epoll_fails", tests, NULL, NULL);
    }
    filtered = block_pidfd_open(ENOSYS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pidfd_open_refused),
        cmocka_unit_test_setup_teardown(test_polled_exit_status, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_polled_stop, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_pidfd_open_fails, t_setup, t_teardown),
    };
    return cmocka_run_group_tests_name("proc_polled", tests, NULL, NULL);
}
