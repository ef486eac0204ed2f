/* test_config_cli.c — `troupe check` and `troupe run` as a user runs
 * them: subprocesses (the built troupe comes from TROUPE_EXE, set by
 * meson), their exit codes, their output, signals. Waits are on output
 * lines and process exits, each with a deadline. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

typedef struct proc {
    pid_t pid;
    int out, err; /* read ends; -1 once at EOF */
    char obuf[65536], ebuf[65536];
    size_t on, en;
} proc;

static const char *troupe_exe(void)
{
    const char *p = getenv("TROUPE_EXE");
    if (!p) fail_msg("TROUPE_EXE is not set (run the test through meson)");
    return p;
}

/* The child under way, killed by teardown if a failed assertion left it
 * running (a `troupe run` waits for a signal that would never come). */
static pid_t live_child;

static proc *spawn(const char *const *args)
{
    proc *p = calloc(1, sizeof *p);
    int o[2], e[2];
    assert_int_equal(pipe(o), 0);
    assert_int_equal(pipe(e), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, e[1], 2);
    posix_spawn_file_actions_addclose(&fa, o[0]);
    posix_spawn_file_actions_addclose(&fa, e[0]);
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)troupe_exe();
    for (; args[n - 1] && n < 15; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    assert_int_equal(posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ), 0);
    live_child = p->pid;
    posix_spawn_file_actions_destroy(&fa);
    close(o[1]);
    close(e[1]);
    p->out = o[0];
    p->err = e[0];
    return p;
}

/* Reads whatever is available on both pipes, waiting up to `ms`. */
static void pump(proc *p, int ms)
{
    struct pollfd fds[2] = {{p->out, POLLIN, 0}, {p->err, POLLIN, 0}};
    if (p->out < 0 && p->err < 0) return;
    if (poll(fds, 2, ms) <= 0) return;
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char *buf = i ? p->ebuf : p->obuf;
        size_t *len = i ? &p->en : &p->on;
        ssize_t r = read(fds[i].fd, buf + *len, sizeof p->obuf - 1 - *len);
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

/* Waits until stderr contains `needle` (after offset `from`). */
static void wait_err(proc *p, const char *needle, size_t from)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!strstr(p->ebuf + from, needle)) {
        if (t_now_ms() > end || (p->err < 0 && p->out < 0)) {
            print_error("waiting for '%s' in:\n%s\n", needle, p->ebuf);
            fail();
        }
        pump(p, 50);
    }
}

/* Reads to EOF and reaps; returns the exit status (128 + signal). */
static int finish(proc *p)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    while ((p->out >= 0 || p->err >= 0) && t_now_ms() < end)
        pump(p, 50);
    if (p->out >= 0 || p->err >= 0) {
        kill(p->pid, SIGKILL);
        fail_msg("troupe did not exit; stderr:\n%s", p->ebuf);
    }
    int st;
    assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
    live_child = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_to_end(const char *const *args, proc **out)
{
    proc *p = spawn(args);
    int st = finish(p);
    *out = p;
    return st;
}

/* ------------------------------------------------------------ fixture */

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/troupe-cli-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (live_child > 0) {
        kill(live_child, SIGKILL);
        waitpid(live_child, NULL, 0);
        live_child = 0;
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d) closedir(d);
    rmdir(dir);
    return 0;
}

static const char *write_config(const char *name, const char *text)
{
    static char paths[8][300];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 300, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ------------------------------------------------------------ check */

static void test_check_exit_codes(void **state)
{
    (void)state;
    proc *p;
    /* every example config is valid */
    const char *examples = getenv("TROUPE_EXAMPLES");
    assert_non_null(examples);
    DIR *d = opendir(examples);
    assert_non_null(d);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", examples, de->d_name);
        int st = run_to_end((const char *[]){"check", path, NULL}, &p);
        if (st != 0) print_error("%s\n", p->ebuf);
        assert_int_equal(st, 0);
        char ok[600];
        snprintf(ok, sizeof ok, "%s: ok\n", path);
        assert_string_equal(p->obuf, ok);
        free(p);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 1);

    /* a file with errors: 1, every error located on stderr */
    const char *good = write_config("good.yaml", "tree: {supervisor: g}\n");
    const char *bad = write_config("bad.yaml", "tree:\n  supervisor: b\n  strategy: best\n"
                                               "  children: [{name: x, behaviour: nope}]\n");
    assert_int_equal(run_to_end((const char *[]){"check", good, bad, NULL}, &p), 1);
    char want[1024];
    snprintf(want, sizeof want, "%s: ok\n", good);
    assert_string_equal(p->obuf, want);
    snprintf(want, sizeof want,
             "%s:3:13: error: strategy: expected one of one_for_one, one_for_all, rest_for_one, "
             "simple_one_for_one, got 'best'\n"
             "%s:4:35: error: unknown behaviour 'nope' (not built in, not registered by this "
             "program, and in none of this config's plugins)\n",
             bad, bad);
    assert_string_equal(p->ebuf, want);
    free(p);
    assert_int_equal(run_to_end((const char *[]){"check", "/nonexistent.yaml", NULL}, &p), 1);
    assert_string_equal(p->ebuf,
                        "/nonexistent.yaml: error: cannot open: No such file or directory\n");
    free(p);
    /* usage errors: 2 */
    assert_int_equal(run_to_end((const char *[]){"check", NULL}, &p), 2);
    assert_non_null(strstr(p->ebuf, "no file given"));
    free(p);
    assert_int_equal(run_to_end((const char *[]){"check", "--strict", good, NULL}, &p), 2);
    assert_non_null(strstr(p->ebuf, "unknown option '--strict'"));
    free(p);
    /* help: 0, and it says plugins are loaded */
    assert_int_equal(run_to_end((const char *[]){"check", "--help", NULL}, &p), 0);
    assert_non_null(strstr(p->obuf, "Plugins listed in a file ARE loaded"));
    assert_non_null(strstr(p->obuf, "exit status:"));
    free(p);
}

/* ------------------------------------------------------------ run */

/* The tree starts in order, prints itself on SIGUSR1 and SIGQUIT, and
 * SIGTERM stops it in reverse start order: exit 0. */
static void test_run_signals(void **state)
{
    (void)state;
    const char *cfg = write_config("run.yaml", "node:\n"
                                               "  workers: 2\n"
                                               "  log_level: info\n"
                                               "tree:\n"
                                               "  supervisor: app\n"
                                               "  children:\n"
                                               "    - {name: first, behaviour: troupe.echo}\n"
                                               "    - supervisor: inner\n"
                                               "      children:\n"
                                               "        - {name: second, behaviour: troupe.echo}\n"
                                               "        - {name: third, behaviour: troupe.echo, "
                                               "shutdown: 1s}\n"
                                               "    - {name: fourth, behaviour: troupe.echo}\n");
    proc *p = spawn((const char *[]){"run", cfg, NULL});
    wait_err(p, "tree 'app' started", 0);
    const char *starts[] = {
        "/root/app/first: troupe.echo started", "/root/app/inner/second: troupe.echo started",
        "/root/app/inner/third: troupe.echo started", "/root/app/fourth: troupe.echo started"};
    const char *at = p->ebuf;
    for (int i = 0; i < 4; i++) {
        const char *s = strstr(at, starts[i]);
        if (!s) print_error("no '%s' in order in:\n%s\n", starts[i], p->ebuf);
        assert_non_null(s);
        at = s;
    }
    for (int sig = 0; sig < 2; sig++) {
        size_t mark = p->en;
        kill(p->pid, sig ? SIGQUIT : SIGUSR1);
        wait_err(p, "troupe run: end of tree", mark);
        const char *dump = strstr(p->ebuf + mark, "troupe run: live tree of");
        assert_non_null(dump);
        assert_non_null(strstr(dump, "\n/root/app supervisor <"));
        assert_non_null(strstr(dump, "\n  /root/app/first worker <"));
        assert_non_null(strstr(dump, "\n  /root/app/inner supervisor <"));
        assert_non_null(strstr(dump, "\n    /root/app/inner/third worker <"));
        assert_non_null(strstr(dump, " restarts=0\n"));
    }
    size_t mark = p->en;
    kill(p->pid, SIGTERM);
    assert_int_equal(finish(p), 0);
    const char *stops[] = {"/root/app/fourth: troupe.echo terminated (shutdown)",
                           "/root/app/inner/third: troupe.echo terminated (shutdown)",
                           "/root/app/inner/second: troupe.echo terminated (shutdown)",
                           "/root/app/first: troupe.echo terminated (shutdown)"};
    at = p->ebuf + mark;
    for (int i = 0; i < 4; i++) {
        const char *s = strstr(at, stops[i]);
        if (!s) print_error("no '%s' in order in:\n%s\n", stops[i], p->ebuf + mark);
        assert_non_null(s);
        at = s;
    }
    free(p);

    /* SIGINT stops it the same way */
    p = spawn((const char *[]){"run", cfg, NULL});
    wait_err(p, "tree 'app' started", 0);
    kill(p->pid, SIGINT);
    assert_int_equal(finish(p), 0);
    assert_non_null(strstr(p->ebuf, "/root/app/first: troupe.echo terminated (shutdown)"));
    free(p);
}

/* A failure that climbs to the root: exit 4 with the report. */
static void test_run_root_failure(void **state)
{
    (void)state;
    const char *cfg = write_config("fail.yaml", "tree:\n"
                                                "  supervisor: doomed\n"
                                                "  intensity: 1\n"
                                                "  period: 1m\n"
                                                "  children:\n"
                                                "    - name: tick\n"
                                                "      behaviour: troupe.ticker\n"
                                                "      args: {interval: 1ms, to: nobody}\n");
    proc *p;
    assert_int_equal(run_to_end((const char *[]){"run", cfg, NULL}, &p), 4);
    char want[600];
    snprintf(want, sizeof want, "troupe run: %s: a failure reached the root:\n", cfg);
    assert_non_null(strstr(p->ebuf, want));
    assert_non_null(strstr(p->ebuf, "/root/doomed: shutdown"));
    assert_non_null(strstr(p->ebuf, "no actor is registered as 'nobody'"));
    free(p);
}

static void test_run_refusals(void **state)
{
    (void)state;
    proc *p;
    /* a network node that cannot bind its endpoint: 3, and why */
    const char *node = write_config("node.yaml", "# a network node\n"
                                                 "node:\n"
                                                 "  name: api-1\n"
                                                 "  listen: [ipc:///nonexistent-dir/x.sock]\n"
                                                 "tree: {supervisor: s}\n");
    assert_int_equal(run_to_end((const char *[]){"run", node, NULL}, &p), 3);
    assert_non_null(strstr(p->ebuf, "cannot bind ipc:///nonexistent-dir/x.sock"));
    assert_non_null(strstr(p->ebuf, "cannot start node 'api-1'"));
    free(p);
    char want[600];
    const char *remote =
        write_config("remote.yaml", "tree:\n"
                                    "  supervisor: s\n"
                                    "  children:\n"
                                    "    - {name: far, behaviour: troupe.echo, node: kv@b}\n");
    assert_int_equal(run_to_end((const char *[]){"run", remote, NULL}, &p), 1);
    snprintf(want, sizeof want,
             "%s:4:49: error: child 'far' runs on node 'kv@b', but this system is not a node "
             "(add a node: section with a name)\n",
             remote);
    assert_string_equal(p->ebuf, want);
    free(p);
    /* a config with errors starts nothing: 1, its errors on stderr */
    const char *bad = write_config("bad.yaml", "tree: {supervisor: s, period: soon}\n");
    assert_int_equal(run_to_end((const char *[]){"run", bad, NULL}, &p), 1);
    assert_non_null(strstr(p->ebuf, "bad.yaml:1:31: error: period: expected a duration above 0"));
    free(p);
    /* a tree whose start fails: 3 */
    const char *nostart =
        write_config("nostart.yaml", "tree:\n  supervisor: s\n  children:\n"
                                     "    - {name: t, behaviour: troupe.ticker, args: {}}\n");
    assert_int_equal(run_to_end((const char *[]){"run", nostart, NULL}, &p), 3);
    assert_non_null(strstr(p->ebuf, "the tree could not start"));
    assert_non_null(strstr(p->ebuf, "args.interval: required"));
    free(p);
    /* usage: 2; help: 0 with the exit codes */
    assert_int_equal(run_to_end((const char *[]){"run", NULL}, &p), 2);
    free(p);
    assert_int_equal(run_to_end((const char *[]){"run", bad, bad, NULL}, &p), 2);
    assert_non_null(strstr(p->ebuf, "one config file only"));
    free(p);
    assert_int_equal(run_to_end((const char *[]){"run", "-x", NULL}, &p), 2);
    free(p);
    assert_int_equal(run_to_end((const char *[]){"run", "--help", NULL}, &p), 0);
    assert_non_null(strstr(p->obuf, "4  a failure reached the root while running"));
    assert_non_null(strstr(p->obuf, "SIGQUIT or SIGUSR1"));
    free(p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_root_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
