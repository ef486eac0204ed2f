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
 *   proc_child ignore_term          ignores SIGTERM, prints "ignoring <its pid>",
 *                                   waits
 *   proc_child wait                 prints "waiting <its pid>" and waits (SIGTERM
 *                                   ends it)
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
        printf("ignoring %d\n", (int)getpid());
        fflush(stdout);
        return wait_forever();
    }
    if (!strcmp(mode, "wait")) {
        printf("waiting %d\n", (int)getpid());
        fflush(stdout);
        return wait_forever();
    }
    if (!strcmp(mode, "supervise") && argc >= 3) return supervise(argv[2]);
    if (!strcmp(mode, "node")) return proc_child_node();
    return 2;
}

/* ------------------------------------------------------------ node */

/* "echo", registered: answers "ping" with "pong" and its OS pid; fails
 * on "crash" (its parent "top", the tree's root, fails with it). */
static int echo_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    const char *type = tr_atom_name(tr_msg_type(m));
    if (!strcmp(type, "ping")) {
        int32_t pid = (int32_t)getpid();
        return tr_reply(ctx, m, tr_atom_from("pong"), &pid, sizeof pid);
    }
    if (!strcmp(type, "crash")) return tr_fail(ctx, "asked to crash");
    return 0;
}

static const tr_behaviour echo_beh = {.name = "echo", .handle = echo_handle};

static int top_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    (void)st, (void)args, (void)size;
    tr_spawn_opts o = {.name = "echo", .register_as = "echo"};
    return tr_spawn(ctx, &echo_beh, &o, NULL);
}

/* "quit": the root ends normally (and with it the node's tree) */
static int top_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (!strcmp(tr_atom_name(tr_msg_type(m)), "quit")) tr_stop(ctx);
    return 0;
}

static const tr_behaviour top_beh = {.name = "top", .init = top_init, .handle = top_handle};

static tr_system *g_sys;

static void on_term(int sig)
{
    (void)sig;
    tr_system_stop(g_sys); /* async-signal-safe */
}

/* A troupe node named $TROUPE_NODE_NAME listening on its own ipc socket,
 * with the tree top/echo, that reports ready to its parent and runs until
 * SIGTERM (exit 0) or a failure reaches its root (exit 4). */
int proc_child_node(void)
{
    const char *name = getenv(TR_ENV_NODE_NAME);
    if (!name) return 2;
    if (tr_system_new(&(tr_system_opts){.workers = 1}, &g_sys) != TR_OK) return 3;
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/troupe-proc-child-%d.sock", (int)getpid());
    const char *listen[] = {ep};
    tr_node *n;
    tr_node_opts no = {.name = name, .listen = listen, .nlisten = 1};
    if (tr_node_start(g_sys, &no, &n) != TR_OK) return 3;
    signal(SIGTERM, on_term);
    tr_pid top;
    if (tr_system_spawn(g_sys, &top_beh, &(tr_spawn_opts){.name = "top"}, &top) != TR_OK) return 3;
    int rc = tr_node_report_ready(g_sys, top, 10000);
    if (rc != TR_OK) {
        fprintf(stderr, "report ready: %s\n", tr_strerror(rc));
        return 5;
    }
    say("ready");
    rc = tr_system_run(g_sys);
    signal(SIGTERM, SIG_DFL);
    tr_system_destroy(&g_sys);
    return rc == TR_EFAILED ? 4 : 0;
}
