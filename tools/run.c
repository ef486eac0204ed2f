/* run.c — `troupe run FILE`: runs a config's tree until a signal.
 *
 * Threads: the main thread runs the system (tr_system_run) and returns
 * when the root ends; a dump thread waits on a self-pipe and prints the
 * live tree when asked. Signal handlers only do async-signal-safe things:
 * SIGINT/SIGTERM call tr_system_stop (documented async-signal-safe),
 * SIGQUIT/SIGUSR1 write one byte to the pipe (non-blocking: when dumps
 * pile up, extra requests are dropped, not waited for). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "publish.h"
#include "troupe.h"

#define START_TIMEOUT_MS   60000
#define INSPECT_TIMEOUT_MS 2000

enum { EXIT_STOPPED = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_START = 3, EXIT_FAILED = 4 };

static const char help[] =
    "usage: troupe run [-h] FILE\n"
    "\n"
    "Runs the supervision tree of the config FILE (see troupe/config.h): starts\n"
    "the runtime with the options of its node section (workers, log_level, ...),\n"
    "loads its plugins, starts the tree (waiting up to 60 s for every child's\n"
    "init) and runs it until:\n"
    "  SIGINT, SIGTERM     the tree is stopped in order: reverse start order, each\n"
    "                      child within its shutdown time, then exit 0\n"
    "  a failure reaches   the failure report (every failed actor, deepest first)\n"
    "  the root            is printed on stderr, then exit 4\n"
    "SIGQUIT or SIGUSR1 prints the live tree on stderr (each child's pid, status,\n"
    "mailbox depth, messages handled and restarts) and the tree goes on.\n"
    "\n"
    "A node section with a name makes the system a network node (troupe/node.h):\n"
    "it binds its endpoints and connects to its peers before the tree starts; a\n"
    "tree with children on other nodes (node: KEY) waits up to 60 s for those\n"
    "nodes to be up before it starts (exit 3 if one is not).\n"
    "Its tree can then be looked at from elsewhere with `troupe tree ENDPOINT`:\n"
    "the root supervisor is registered as \"troupe.tree\", and an actor registered\n"
    "as \"troupe.tree.specs\" (the system root's child after the tree, stopped\n"
    "before it) tells each child's behaviour and node.\n"
    "Started as a node child of another node (TROUPE_PARENT_PID and the rest set,\n"
    "troupe/process.h), it reports ready to that parent once the tree has started.\n"
    "\n"
    "options:\n"
    "  -h, --help   this text\n"
    "\n"
    "exit status:\n"
    "  0  stopped by SIGINT/SIGTERM (or the tree ended normally by itself)\n"
    "  1  the config has errors: nothing was started\n"
    "  2  usage error\n"
    "  3  the runtime or the tree could not start\n"
    "  4  a failure reached the root while running (report on stderr)\n";

/* The system the handlers stop. A handler may run on any thread, also
 * while the main thread tears down: it counts itself in g_in_handler
 * (lock-free atomics are async-signal-safe), and teardown clears g_sys
 * then waits for the count to drop before it frees the system. */
static _Atomic(tr_system *) g_sys;
static atomic_int g_in_handler;
static volatile sig_atomic_t g_stop_asked;
static int g_pipe[2] = {-1, -1};

static void on_stop(int sig)
{
    (void)sig;
    int e = errno;
    atomic_fetch_add(&g_in_handler, 1);
    g_stop_asked = 1;
    tr_system *sys = atomic_load(&g_sys);
    if (sys) tr_system_stop(sys);
    atomic_fetch_sub(&g_in_handler, 1);
    errno = e;
}

static void on_dump(int sig)
{
    (void)sig;
    int e = errno;
    char c = 'd';
    ssize_t r = write(g_pipe[1], &c, 1);
    (void)r;
    errno = e;
}

/* ---------------------------------------------------------------- dump */

static const char *status_name(tr_actor_status s)
{
    switch (s) {
    case TR_STATUS_RUNNING: return "running";
    case TR_STATUS_WAITING: return "waiting";
    case TR_STATUS_STOPPING: return "stopping";
    }
    return "?";
}

static void dump_actor(FILE *out, tr_system *sys, tr_pid pid, const char *what, int depth,
                       uint64_t restarts)
{
    char p[TR_PID_STRLEN];
    tr_actor_info info;
    fprintf(out, "%*s", depth * 2, "");
    if (tr_system_inspect(sys, pid, &info, INSPECT_TIMEOUT_MS) != TR_OK) {
        fprintf(out, "%s %s (gone)\n", what, tr_pid_format(pid, p, sizeof p));
        return;
    }
    fprintf(out, "%s %s %s %s mailbox=%llu in=%llu out=%llu restarts=%llu\n", info.path, what,
            tr_pid_format(pid, p, sizeof p), status_name(info.status),
            (unsigned long long)info.mailbox, (unsigned long long)info.messages_in,
            (unsigned long long)info.messages_out, (unsigned long long)restarts);
}

static void dump_children(FILE *out, tr_system *sys, tr_pid sup, int depth)
{
    size_t n = 0;
    if (tr_sup_which_children_sync(sys, sup, NULL, 0, &n, INSPECT_TIMEOUT_MS) != TR_OK) return;
    tr_child_info *kids = n ? calloc(n, sizeof *kids) : NULL;
    if (n && !kids) return;
    size_t got = 0;
    if (tr_sup_which_children_sync(sys, sup, kids, n, &got, INSPECT_TIMEOUT_MS) == TR_OK) {
        if (got > n) got = n;
        for (size_t i = 0; i < got; i++) {
            const char *what = kids[i].type == TR_SUPERVISOR ? "supervisor" : "worker";
            if (tr_pid_is_nil(kids[i].pid)) {
                fprintf(out, "%*s%s %s (not running) restarts=%llu\n", (depth + 1) * 2, "",
                        kids[i].id, what, (unsigned long long)kids[i].restarts);
                continue;
            }
            dump_actor(out, sys, kids[i].pid, what, depth + 1, kids[i].restarts);
            if (kids[i].type == TR_SUPERVISOR) dump_children(out, sys, kids[i].pid, depth + 1);
        }
    }
    free(kids);
}

typedef struct dump_ctx {
    tr_system *sys;
    tr_pid root;
    const char *file;
} dump_ctx;

/* Builds the whole dump in memory, then writes it at once: log lines of
 * running actors do not land in the middle of it. */
static void dump_tree(const dump_ctx *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) return;
    fprintf(out, "troupe run: live tree of %s\n", d->file);
    dump_actor(out, d->sys, d->root, "supervisor", 0, 0);
    dump_children(out, d->sys, d->root, 0);
    fprintf(out, "troupe run: end of tree\n");
    fclose(out);
    fputs(text, stderr);
    fflush(stderr);
    free(text);
}

static void *dump_thread(void *arg)
{
    const dump_ctx *d = arg;
    for (;;) {
        char c;
        ssize_t r = read(g_pipe[0], &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || c == 'q') break;
        dump_tree(d);
    }
    return NULL;
}

/* ---------------------------------------------------------------- peers */

/* Adds the nodes of `spec`'s remote children to names[] (distinct). */
static void remote_nodes(const tr_sup_spec *spec, const char **names, size_t max, size_t *n,
                         int depth)
{
    if (depth > 64) return;
    for (size_t i = 0; i < spec->nchildren; i++) {
        const tr_child_spec *c = &spec->children[i];
        if (c->supervisor) remote_nodes(c->supervisor, names, max, n, depth + 1);
        if (!c->node) continue;
        bool seen = false;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = !strcmp(names[k], c->node);
        if (!seen && *n < max) names[(*n)++] = c->node;
    }
}

/* A remote child is started on a node that must be up then (else it
 * fails at once, noconnection): the tree waits for every node its
 * children run on, as a node's boot waits for its mandatory peers
 * (Erlang's sync_nodes_mandatory). Woken by node events; a stop signal
 * is looked at every 100 ms. */
static int wait_nodes(tr_system *sys, tr_node *node, const tr_sup_spec *tree, const char *file)
{
    const char *names[64];
    size_t n = 0;
    remote_nodes(tree, names, 64, &n, 0);
    if (!n) return TR_OK;
    tr_inbox *in;
    int rc = tr_inbox_new(sys, &in);
    if (rc == TR_OK) rc = tr_inbox_monitor_node(in, NULL, NULL);
    int64_t waited = 0;
    bool said = false;
    while (rc == TR_OK && !g_stop_asked) {
        size_t up = 0;
        uint32_t id;
        for (size_t i = 0; i < n; i++)
            up += tr_node_id(node, names[i], &id) == TR_OK;
        if (up == n) break;
        if (waited >= START_TIMEOUT_MS) {
            rc = TR_ETIMEDOUT;
            break;
        }
        if (!said && waited >= 1000) {
            char list[512] = "";
            for (size_t i = 0, len = 0; i < n && len < sizeof list; i++)
                if (tr_node_id(node, names[i], &id) != TR_OK)
                    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                            len ? ", " : "", names[i]);
            tr_log(TR_LOG_WARN, "troupe run: %s: waiting for node(s) %s, where the tree's "
                   "children run", file, list);
            said = true;
        }
        const tr_msg *m;
        if (tr_inbox_recv(in, &m, 100) == TR_ETIMEDOUT) waited += 100;
    }
    if (rc == TR_ETIMEDOUT) {
        for (size_t i = 0; i < n; i++) {
            uint32_t id;
            if (tr_node_id(node, names[i], &id) != TR_OK)
                fprintf(stderr, "troupe run: %s: node '%s' is not up after %d s\n", file,
                        names[i], START_TIMEOUT_MS / 1000);
        }
    }
    tr_inbox_destroy(&in);
    return rc;
}

/* ---------------------------------------------------------------- run */

static void set_handlers(void (*stop)(int), void (*dump)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = dump;
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

static int run(tr_config *cfg, const char *file)
{
    tr_log_set_level(tr_config_log_level(cfg));
    tr_system *sys;
    int rc = tr_system_new(tr_config_system_opts(cfg), &sys);
    if (rc != TR_OK) {
        fprintf(stderr, "troupe run: %s: cannot start the runtime: %s\n", file, tr_strerror(rc));
        return EXIT_START;
    }

    const tr_node_opts *node = tr_config_node(cfg);
    tr_node *n = NULL; /* stopped by tr_system_destroy */
    if (node) {
        if ((rc = tr_node_start(sys, node, &n)) != TR_OK) {
            fprintf(stderr, "troupe run: %s: cannot start node '%s': %s (see the log above)\n",
                    file, node->name, tr_strerror(rc));
            tr_system_destroy(&sys);
            return EXIT_START;
        }
        for (size_t i = 0; tr_node_endpoint(n, i); i++)
            tr_log(TR_LOG_INFO, "troupe run: node %s listens on %s", node->name,
                   tr_node_endpoint(n, i));
    }

    if (pipe2(g_pipe, O_CLOEXEC) != 0 || fcntl(g_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
        fprintf(stderr, "troupe run: pipe: %s\n", strerror(errno));
        tr_system_destroy(&sys);
        return EXIT_START;
    }
    atomic_store(&g_sys, sys);
    set_handlers(on_stop, on_dump);

    char why[1024] = "";
    dump_ctx d = {sys, TR_PID_NIL, file};
    int waited = n ? wait_nodes(sys, n, tr_config_tree(cfg), file) : TR_OK;
    if (waited != TR_OK || g_stop_asked)
        rc = waited != TR_OK ? waited : TR_ESTOPPED;
    else
        rc = tr_config_start(cfg, sys, START_TIMEOUT_MS, &d.root, why, sizeof why);
    int status = EXIT_STOPPED;
    /* started as a node child (troupe/process.h): tell the parent */
    if (rc == TR_OK && getenv(TR_ENV_PARENT_PID) &&
        (rc = tr_node_report_ready(sys, d.root, START_TIMEOUT_MS)) != TR_OK) {
        snprintf(why, sizeof why, "cannot report ready to node %s: %s",
                 getenv(TR_ENV_PARENT_NODE) ? getenv(TR_ENV_PARENT_NODE) : "?", tr_strerror(rc));
        rc = TR_EFAILED;
        tr_system_stop(sys);
        tr_system_wait(sys, -1);
    }
    if (rc == TR_OK) {
        tr_log(TR_LOG_INFO, "troupe run: %s: tree '%s' started", file, tr_config_tree_name(cfg));
        char pwhy[300];
        if (troupe_publish_tree(sys, tr_config_tree(cfg), d.root, pwhy, sizeof pwhy) != TR_OK)
            tr_log(TR_LOG_WARN, "troupe run: %s: %s (troupe tree cannot show it)", file, pwhy);
        pthread_t dumper;
        bool dumping = pthread_create(&dumper, NULL, dump_thread, &d) == 0;
        rc = tr_system_run(sys);
        if (dumping) {
            char q = 'q';
            while (write(g_pipe[1], &q, 1) < 0 && errno == EINTR) {
            }
            pthread_join(dumper, NULL);
        }
        if (rc == TR_EFAILED) {
            fprintf(stderr, "troupe run: %s: a failure reached the root:\n%s", file,
                    tr_system_report(sys));
            status = EXIT_FAILED;
        }
    } else if (g_stop_asked) {
        /* a signal stopped the system while the tree was starting (or
         * waiting for its nodes): the start's failure is that stop, which
         * went in order */
        tr_system_stop(sys);
        tr_system_wait(sys, -1);
    } else if (waited != TR_OK) {
        if (waited != TR_ETIMEDOUT) /* a timeout named its missing nodes above */
            fprintf(stderr, "troupe run: %s: cannot wait for the tree's nodes: %s\n", file,
                    tr_strerror(waited));
        status = EXIT_START;
    } else {
        /* a located refusal ("file:line:col: error: ...") stands alone */
        if (strncmp(why, file, strlen(file)) == 0)
            fprintf(stderr, "%s\n", why);
        else
            fprintf(stderr, "troupe run: %s: the tree could not start: %s\n", file,
                    why[0] ? why : tr_strerror(rc));
        status = rc == TR_EINVAL ? EXIT_CONFIG : EXIT_START;
    }

    /* no handler may touch the system once it is freed; a late dump
     * request is ignored, a late stop request ends the process as usual */
    set_handlers(SIG_DFL, SIG_IGN);
    atomic_store(&g_sys, NULL);
    while (atomic_load(&g_in_handler)) sched_yield();
    tr_system_destroy(&sys);
    close(g_pipe[0]);
    close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
    return status;
}

int troupe_run(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return EXIT_STOPPED;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "troupe run: unknown option '%s'\n\n%s", argv[i], help);
            return EXIT_USAGE;
        }
        if (file) {
            fprintf(stderr, "troupe run: one config file only\n\n%s", help);
            return EXIT_USAGE;
        }
        file = argv[i];
    }
    if (!file) {
        fprintf(stderr, "troupe run: no config file given\n\n%s", help);
        return EXIT_USAGE;
    }
    tr_config *cfg;
    int rc = tr_config_load(file, 0, &cfg);
    if (rc == TR_ENOMEM) {
        fprintf(stderr, "troupe run: %s: out of memory\n", file);
        return EXIT_CONFIG;
    }
    for (size_t e = 0; e < tr_config_error_count(cfg); e++)
        fprintf(stderr, "%s\n", tr_config_error_get(cfg, e)->text);
    int status = rc == TR_OK ? run(cfg, file) : EXIT_CONFIG;
    tr_config_destroy(&cfg);
    return status;
}
