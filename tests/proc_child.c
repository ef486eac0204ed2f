/* proc_child.c — the program test_process.c runs as a process child.
 *
 *   proc_child lines CODE LINE...   prints "pid <its pid>" and each LINE on
 *                                   stdout, "to stderr"
 *                                   on stderr, "partial" with no newline,
 *                                   then exits with status CODE
 *   proc_child segv                 dies of SIGSEGV (no core)
 *   proc_child segv_once FILE       the first run (FILE absent) creates FILE
 *                                   and dies of SIGSEGV; later runs print
 *                                   "second run" and wait
 *   proc_child ignore_term          ignores SIGTERM, prints "ignoring", waits
 *   proc_child wait                 prints "waiting" and waits (SIGTERM ends it)
 *   proc_child supervise PROGRAM    runs a troupe system supervising PROGRAM
 *                                   ("PROGRAM wait") and prints "grandchild
 *                                   <pid>" on stdout once it runs; then waits
 *                                   (the test kills it with SIGKILL)
 *   proc_child node                 a troupe node child (see node_main)
 * Waiting is pause(): no timer, the process sleeps until a signal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "troupe.h"

static void die_of_segv(void)
{
    /* the default action, whatever a sanitizer installed; no core file */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(99);
}

static void say(const char *line)
{
    printf("%s\n", line);
    fflush(stdout);
}

static int wait_forever(void)
{
    for (;;) pause();
    return 0;
}

static int supervise(const char *program)
{
    tr_system *sys;
    if (tr_system_new(&(tr_system_opts){.workers = 1}, &sys) != TR_OK) return 3;
    const char *args[] = {"wait"};
    tr_process_spec ps = {.program = program, .args = args, .nargs = 1};
    tr_child_spec kid = {.id = "grandchild", .process = &ps};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = &kid, .nchildren = 1};
    tr_pid sup, child[1];
    char why[256];
    if (tr_supervisor_start(sys, &spec, "sup", 10000, &sup, why, sizeof why) != TR_OK) {
        fprintf(stderr, "supervise: %s\n", why);
        return 4;
    }
    tr_child_info info;
    size_t n = 0;
    tr_process_info pi;
    if (tr_sup_which_children_sync(sys, sup, &info, 1, &n, 10000) != TR_OK || n != 1 ||
        tr_process_info_sync(sys, info.pid, &pi, 10000) != TR_OK)
        return 5;
    (void)child;
    printf("grandchild %d\n", (int)pi.os_pid);
    fflush(stdout);
    return wait_forever();
}

int proc_child_node(void); /* below */

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "lines") && argc >= 3) {
        printf("pid %d\n", (int)getpid());
        for (int i = 3; i < argc; i++) say(argv[i]);
        fprintf(stderr, "to stderr\n");
        printf("partial");
        fflush(stdout);
        return atoi(argv[2]);
    }
    if (!strcmp(mode, "segv")) die_of_segv();
    if (!strcmp(mode, "segv_once") && argc >= 3) {
        if (access(argv[2], F_OK) != 0) {
            FILE *f = fopen(argv[2], "w");
            if (f) fclose(f);
            die_of_segv();
        }
        say("second run");
        return wait_forever();
    }
    if (!strcmp(mode, "ignore_term")) {
        signal(SIGTERM, SIG_IGN);
        say("ignoring");
        return wait_forever();
    }
    if (!strcmp(mode, "wait")) {
        say("waiting");
        return wait_forever();
    }
    if (!strcmp(mode, "supervise") && argc >= 3) return supervise(argv[2]);
    if (!strcmp(mode, "node")) return proc_child_node();
    return 2;
}

int proc_child_node(void) { return 2; }
