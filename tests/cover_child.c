/* cover_child.c — the program test_process_errors.c runs as a process
 * child, for the edges proc_child.c does not play.
 *
 *   cover_child term_abort      prints "abort-on-term ready" and waits; on
 *                               SIGTERM it dies of SIGABRT (no core): a
 *                               crash while its actor is stopping
 *   cover_child node hold       a troupe node child that connects to its
 *                               parent but reports ready only when its
 *                               actor "cover.top" is sent "go"; then, on
 *                               "drop", it stops its node (its connection
 *                               with it) and waits: SIGTERM kills it. On
 *                               "stop" that root actor ends normally, on
 *                               "fail" it fails
 *   cover_child node dead_root  a troupe node child that reports ready with
 *                               the pid of an actor that has ended already,
 *                               then waits (SIGTERM kills it)
 * Waiting is pause() or a receive with a deadline: no timer, no polling.
 * Exit statuses: 2 bad arguments, 3 a troupe call failed, 6 no "go" or
 * "drop" within 10 s. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "troupe.h"

#define WAIT_MS 10000

/* SIGTERM is taken with sigwait, not a handler: a sanitizer's runtime
 * defers handlers and may not let one raise another signal. */
static int term_abort(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &term, NULL) != 0) return 3;
    printf("abort-on-term ready\n");
    fflush(stdout);
    int sig;
    while (sigwait(&term, &sig) != 0) {
    }
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
    return 99;
}

static int wait_forever(void)
{
    for (;;) pause();
    return 0;
}

/* top: args {the main thread's inbox}; "stop" stops it (normally), "fail"
 * fails it ("asked to fail"), every other message is forwarded there (its
 * type and payload). */
static int top_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    if (n != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(st, args, n);
    return 0;
}

static int top_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    if (tr_msg_is(m, tr_atom_from("stop"))) { /* the tree ends normally */
        tr_stop(ctx);
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("fail"))) return tr_fail(ctx, "asked to fail");
    return tr_send(ctx, *(const tr_pid *)st, tr_msg_type(m), tr_msg_data(m), tr_msg_size(m));
}

static const tr_behaviour top_b = {"cover.top", sizeof(tr_pid), top_init, top_handle, NULL};

/* gone: ends as soon as it has started */
static int gone_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx, (void)st, (void)args, (void)n;
    return TR_INIT_IGNORE;
}

static int gone_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const tr_behaviour gone_b = {"cover.gone", 0, gone_init, gone_handle, NULL};

/* Waits for a message of `type` in `in`. */
static int expect(tr_inbox *in, const char *type)
{
    const tr_msg *m;
    int rc = tr_inbox_recv(in, &m, WAIT_MS);
    if (rc != TR_OK) return rc;
    return strcmp(tr_atom_name(tr_msg_type(m)), type) == 0 ? TR_OK : TR_EINVAL;
}

static int node_main(const char *mode)
{
    const char *name = getenv(TR_ENV_NODE_NAME), *parent = getenv(TR_ENV_PARENT_ENDPOINT);
    if (!name || !parent) return 2;
    tr_system *sys;
    if (tr_system_new(&(tr_system_opts){.workers = 1}, &sys) != TR_OK) return 3;
    const char *listen[] = {"tcp://127.0.0.1:*"}; /* loopback: no keys needed, no file left */
    tr_node *n;
    if (tr_node_start(sys, &(tr_node_opts){.name = name, .listen = listen, .nlisten = 1}, &n) != TR_OK)
        return 3;
    tr_inbox *in;
    if (tr_inbox_new(sys, &in) != TR_OK) return 3;
    tr_pid me = tr_inbox_pid(in), top;
    if (tr_system_spawn(sys, &top_b,
                        &(tr_spawn_opts){.name = "top", .args = &me, .args_size = sizeof me,
                                         .register_as = "cover.top"},
                        &top) != TR_OK)
        return 3;
    if (strcmp(mode, "hold") == 0) {
        /* the parent can reach "cover.top" once we are connected */
        if (tr_node_connect(n, &(tr_node_peer){.endpoint = parent}) != TR_OK) return 3;
        if (expect(in, "go") != TR_OK) return 6;
        if (tr_node_report_ready(sys, top, WAIT_MS) != TR_OK) return 3;
        if (expect(in, "drop") != TR_OK) return 6;
        tr_node_stop(&n);
        return wait_forever();
    }
    if (strcmp(mode, "dead_root") == 0) {
        tr_pid gone;
        tr_ref ref;
        if (tr_system_spawn(sys, &gone_b, NULL, &gone) != TR_OK) return 3;
        /* ended for sure: its "tr.down" has come (or it had ended already) */
        if (tr_inbox_monitor(in, gone, &ref) != TR_OK || expect(in, "tr.down") != TR_OK) return 3;
        if (tr_node_report_ready(sys, gone, WAIT_MS) != TR_OK) return 3;
        return wait_forever();
    }
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (strcmp(argv[1], "term_abort") == 0) return term_abort();
    if (strcmp(argv[1], "node") == 0 && argc == 3) return node_main(argv[2]);
    return 2;
}
