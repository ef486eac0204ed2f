/* procutil.h — the troupe command (and other programs) as subprocesses,
 * for the tools' and examples' tests.
 *
 * A pr_proc is a spawned program (posix_spawn: fork + exec) with its
 * stdout and stderr on pipes, read as they come. Every wait has a
 * deadline (T_WAIT_MS): on output lines, on EOF, on the exit. Every
 * process spawned is remembered until reaped; pr_reap_all (call it from
 * each test's teardown) kills and reaps those a failed assertion left
 * behind, so no path leaves a child running. Only the test thread. */
#ifndef TROUPE_TEST_PROCUTIL_H
#define TROUPE_TEST_PROCUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PR_BUF 65536

typedef struct pr_proc {
    pid_t pid;     /* 0 once reaped */
    int out, err;  /* read ends; -1 once at EOF */
    char obuf[PR_BUF], ebuf[PR_BUF];
    size_t on, en;
    int status;    /* exit status, 128 + signal; -1 until reaped */
} pr_proc;

/* The troupe command under test (TROUPE_EXE, set by meson). */
const char *pr_troupe(void);

/* Spawns `exe` with args (NULL-terminated, without argv[0]); stdin is
 * /dev/null. Fails the test if it cannot. */
pr_proc *pr_spawn(const char *exe, const char *const *args);

/* pr_troupe() with args. */
pr_proc *pr_troupe_spawn(const char *const *args);

/* Reads what is available on both pipes, waiting up to ms. */
void pr_pump(pr_proc *p, int ms);

/* Waits until stdout (out=true) or stderr contains `needle` after byte
 * `from`; fails the test (showing both outputs) at the deadline or EOF. */
void pr_wait_text(pr_proc *p, bool out, const char *needle, size_t from);

/* Reads to EOF and reaps; returns the exit status (128 + signal). Kills
 * the process and fails the test past the deadline. */
int pr_finish(pr_proc *p);

/* Sends `sig`, then pr_finish. */
int pr_stop(pr_proc *p, int sig);

/* Runs troupe with args to its end: its exit status; *out (may be NULL)
 * keeps the process for its output (free it), else it is freed. */
int pr_troupe_run(const char *const *args, pr_proc **out);

/* Runs troupe with args to its end and fails the test, showing its
 * output, unless it exits with `want`. Returns the process (free it). */
pr_proc *pr_troupe_expect(const char *const *args, int want);

/* Frees a finished process (kills and reaps one still running). */
void pr_free(pr_proc *p);

/* Kills (SIGKILL) and reaps every process not reaped yet, and frees
 * them. For teardown. */
void pr_reap_all(void);

#endif
