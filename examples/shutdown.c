/* shutdown.c — signal-driven shutdown: SIGINT (Ctrl-C) or SIGTERM stops
 * the whole tree in order and the program exits 0.
 *
 * tr_system_stop is async-signal-safe, so the handler calls it and
 * nothing else; main sits in tr_system_run, which returns once the tree
 * has shut down in reverse start order (each child's terminate has run).
 * Everything else, printing included, happens in main after that.
 *
 *   service (one_for_one): db, cache, web     started in this order,
 *                                             stopped web, cache, db
 *
 * Each worker's terminate tells main's inbox it stopped; main prints the
 * order and exits 1 if it is not the reverse of the start order.
 * examples/shutdown.sh runs it under a test with each signal. */
#include <troupe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static tr_system *sys;
static volatile sig_atomic_t got_signal;
static tr_atom STOPPED;

static void on_signal(int sig)
{
    got_signal = sig;
    tr_system_stop(sys); /* returns at once; the tree stops on its own threads */
}

static int worker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    if (size != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(state, args, size); /* main's inbox */
    return 0;
}

static int worker_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)ctx, (void)state, (void)msg; /* a real service would work here */
    return 0;
}

/* Called as the tree stops: close files, flush, say goodbye. */
static void worker_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    char path[128];
    size_t n = tr_path(ctx, path, sizeof path);
    if (why->kind == TR_EXIT_SHUTDOWN) tr_send(ctx, *(tr_pid *)state, STOPPED, path, n);
}

static const tr_behaviour worker_b = {.name = "worker", .state_size = sizeof(tr_pid),
                                      .init = worker_init, .handle = worker_handle,
                                      .terminate = worker_terminate};

int main(void)
{
    STOPPED = tr_atom_from("stopped");
    tr_inbox *me;
    if (tr_system_new(NULL, &sys) != TR_OK) return 1;
    if (tr_inbox_new(sys, &me) != TR_OK) {
        tr_system_destroy(&sys);
        return 1;
    }
    tr_pid to = tr_inbox_pid(me), sup;
    tr_child_spec kids[] = {
        {.id = "db", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
        {.id = "cache", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
        {.id = "web", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
    };
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 3};
    char why[256] = "";
    int failures = 0;
    int rc = tr_supervisor_start(sys, &spec, "service", 2000, &sup, why, sizeof why);
    if (rc != TR_OK) {
        fprintf(stderr, "shutdown: cannot start: %s %s\n", tr_strerror(rc), why);
        failures++;
        tr_system_stop(sys);
    } else {
        /* Installed once there is a system to stop; SA_RESTART keeps the
         * program's own blocking calls from failing with EINTR. */
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        printf("shutdown: ready, send SIGINT or SIGTERM\n");
        fflush(stdout);
    }

    rc = tr_system_run(sys); /* until the tree has stopped: TR_OK, or TR_EFAILED */
    if (rc != TR_OK) {
        fprintf(stderr, "shutdown: %s\n%s", tr_strerror(rc), tr_system_report(sys));
        failures++;
    }
    if (got_signal)
        printf("shutdown: got %s\n", got_signal == SIGINT ? "SIGINT" : "SIGTERM");
    static const char *const order[] = {"/root/service/web", "/root/service/cache",
                                        "/root/service/db"};
    for (int i = 0; i < 3 && !failures; i++) {
        const tr_msg *m;
        rc = tr_inbox_recv(me, &m, 1000); /* already there: sent before the tree ended */
        size_t n = rc == TR_OK ? tr_msg_size(m) : 0;
        int same = n == strlen(order[i]) && memcmp(tr_msg_data(m), order[i], n) == 0;
        printf("stopped %.*s%s\n", (int)n, n ? (const char *)tr_msg_data(m) : "",
               same ? "" : " (WRONG)");
        failures += !same;
    }
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    printf("shutdown: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
