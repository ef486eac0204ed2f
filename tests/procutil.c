/* procutil.c — subprocesses for the tools' tests (procutil.h). */
#include "procutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

/* Live (spawned, not freed) processes, for pr_reap_all. */
#define PR_MAX 32
static pr_proc *live[PR_MAX];

const char *pr_troupe(void)
{
    const char *p = getenv("TROUPE_EXE");
    if (!p) fail_msg("TROUPE_EXE is not set (run the test through meson)");
    return p;
}

pr_proc *pr_spawn(const char *exe, const char *const *args)
{
    pr_proc *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->status = -1;
    int o[2], e[2];
    assert_int_equal(pipe2(o, O_CLOEXEC), 0);
    assert_int_equal(pipe2(e, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, e[1], 2);
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)exe;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    int rc = posix_spawn(&p->pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(o[1]);
    close(e[1]);
    p->out = o[0];
    p->err = e[0];
    if (rc != 0) {
        close(o[0]), close(e[0]);
        free(p);
        fail_msg("cannot spawn %s: %s", exe, strerror(rc));
    }
    for (int i = 0; i < PR_MAX; i++)
        if (!live[i]) {
            live[i] = p;
            break;
        }
    return p;
}

pr_proc *pr_troupe_spawn(const char *const *args) { return pr_spawn(pr_troupe(), args); }

void pr_pump(pr_proc *p, int ms)
{
    struct pollfd fds[2] = {{p->out, POLLIN, 0}, {p->err, POLLIN, 0}};
    if (p->out < 0 && p->err < 0) return;
    if (poll(fds, 2, ms) <= 0) return;
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char *buf = i ? p->ebuf : p->obuf;
        size_t *len = i ? &p->en : &p->on;
        if (*len + 1 >= PR_BUF) *len = 0; /* a runaway output: keep its tail */
        ssize_t r = read(fds[i].fd, buf + *len, PR_BUF - 1 - *len);
        if (r > 0) {
            *len += (size_t)r;
            buf[*len] = '\0';
        } else if (r == 0 || errno != EINTR) {
            close(fds[i].fd);
            if (i)
                p->err = -1;
            else
                p->out = -1;
        }
    }
}

void pr_wait_text(pr_proc *p, bool out, const char *needle, size_t from)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    const char *buf = out ? p->obuf : p->ebuf;
    while (!strstr(buf + from, needle)) {
        int fd = out ? p->out : p->err;
        if (t_now_ms() > end || fd < 0) {
            print_error("waiting for '%s' on %s; stdout:\n%s\nstderr:\n%s\n", needle,
                        out ? "stdout" : "stderr", p->obuf, p->ebuf);
            fail();
        }
        pr_pump(p, 50);
    }
}

static void forget(pr_proc *p)
{
    for (int i = 0; i < PR_MAX; i++)
        if (live[i] == p) live[i] = NULL;
}

static void reap(pr_proc *p, bool kill_it)
{
    if (p->pid <= 0) return;
    if (kill_it) kill(p->pid, SIGKILL);
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {
    }
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    p->pid = 0;
}

int pr_finish(pr_proc *p)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    while ((p->out >= 0 || p->err >= 0) && t_now_ms() < end)
        pr_pump(p, 50);
    if (p->out >= 0 || p->err >= 0) {
        reap(p, true);
        fail_msg("the process did not end; stdout:\n%s\nstderr:\n%s", p->obuf, p->ebuf);
    }
    /* both pipes at EOF: it has exited (or closed them; then the wait is
     * bounded by the kill below) */
    int64_t left = end - t_now_ms();
    while (p->pid > 0 && left > 0) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            p->pid = 0;
            break;
        }
        poll(NULL, 0, 10); /* polling a reap, not synchronising with it */
        left = end - t_now_ms();
    }
    if (p->pid > 0) {
        reap(p, true);
        fail_msg("the process closed its output but did not exit");
    }
    return p->status;
}

int pr_stop(pr_proc *p, int sig)
{
    if (p->pid > 0) kill(p->pid, sig);
    return pr_finish(p);
}

void pr_free(pr_proc *p)
{
    if (!p) return;
    reap(p, true);
    if (p->out >= 0) close(p->out);
    if (p->err >= 0) close(p->err);
    forget(p);
    free(p);
}

int pr_troupe_run(const char *const *args, pr_proc **out)
{
    pr_proc *p = pr_troupe_spawn(args);
    int st = pr_finish(p);
    if (out)
        *out = p;
    else
        pr_free(p);
    return st;
}

pr_proc *pr_troupe_expect(const char *const *args, int want)
{
    pr_proc *p = pr_troupe_spawn(args);
    int st = pr_finish(p);
    if (st != want) {
        print_error("troupe %s: exit %d, expected %d; stdout:\n%s\nstderr:\n%s\n", args[0], st,
                    want, p->obuf, p->ebuf);
        pr_free(p);
        fail();
    }
    return p;
}

void pr_reap_all(void)
{
    for (int i = 0; i < PR_MAX; i++)
        if (live[i]) pr_free(live[i]);
}
