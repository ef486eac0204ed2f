/* kv — a key-value service: a one_for_one supervisor over a store
 * (registered as "kv") and four clients doing calls with timeouts. One
 * client puts a poison key that crashes the store, which is restarted.
 *
 *   kv                  runs until Ctrl-C or SIGTERM (clients pace 10 ms)
 *   kv --requests N     stops by itself after N requests in all, then
 *                       checks its summary (exit 1 if it does not add up)
 *
 * Every client reports its counts as it ends (normally, or stopped by the
 * signal), and main prints the sum. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

tr_atom KV_PUT, KV_GET, KV_VALUE, KV_MISSING, KV_STATS, KV_NEXT, KV_DONE;

int kv_atoms_init(void)
{
    KV_PUT = tr_atom_from("kv.put");
    KV_GET = tr_atom_from("kv.get");
    KV_VALUE = tr_atom_from("kv.value");
    KV_MISSING = tr_atom_from("kv.missing");
    KV_STATS = tr_atom_from("kv.stats");
    KV_NEXT = tr_atom_from("kv.next");
    KV_DONE = tr_atom_from("kv.done");
    return KV_DONE.id ? TR_OK : TR_ENOMEM; /* the rest succeeded if the last did */
}

static tr_system *sys;

/* tr_system_stop is async-signal-safe: the tree shuts down in order, and
 * each client's terminate reports to main. */
static void on_signal(int sig)
{
    (void)sig;
    tr_system_stop(sys);
}

enum { NCLIENTS = 4 };

/* Starts the tree and sums the clients' reports into t[]: sent, ok,
 * missing, timeouts, downs, store ends seen. */
static int run(tr_inbox *me, uint32_t requests, uint32_t t[6])
{
    kv_client_args args[NCLIENTS];
    tr_child_spec kids[1 + NCLIENTS] = {
        {.id = "store", .behaviour = &kv_store, .register_as = KV_NAME}};
    char ids[NCLIENTS][16];
    for (uint32_t i = 0; i < NCLIENTS; i++) {
        uint32_t share = requests / NCLIENTS + (i < requests % NCLIENTS);
        args[i] = (kv_client_args){i + 1, share, requests ? 0 : 10, tr_inbox_pid(me)};
        snprintf(ids[i], sizeof ids[i], "client%u", i + 1);
        kids[1 + i] = (tr_child_spec){.id = ids[i], .behaviour = &kv_client, .args = &args[i],
                                      .args_size = sizeof args[i], .restart = TR_TRANSIENT};
    }
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 3, .period_ms = 5000,
                        .children = kids, .nchildren = 1 + NCLIENTS};
    char why[256] = "";
    tr_pid sup;
    int rc = tr_supervisor_start(sys, &spec, "kv", 5000, &sup, why, sizeof why);
    if (rc != TR_OK) {
        fprintf(stderr, "kv: cannot start: %s %s\n", tr_strerror(rc), why);
        return rc;
    }
    printf("kv: ready\n");
    fflush(stdout);
    for (int reported = 0; reported < NCLIENTS;) {
        const tr_msg *m;
        uint32_t v[7];
        if ((rc = tr_inbox_recv(me, &m, TR_INFINITY)) != TR_OK) return rc;
        if (!tr_msg_is(m, KV_DONE) ||
            tr_unpack_msg(m, "u32 u32 u32 u32 u32 u32 u32", &v[0], &v[1], &v[2], &v[3], &v[4],
                          &v[5], &v[6]) != TR_OK)
            continue;
        for (int i = 0; i < 6; i++) t[i] += v[i + 1];
        reported++;
    }
    return TR_OK;
}

int main(int argc, char **argv)
{
    uint32_t requests = 0;
    if (argc == 3 && strcmp(argv[1], "--requests") == 0) {
        requests = (uint32_t)strtoul(argv[2], NULL, 10);
    } else if (argc != 1) {
        fprintf(stderr, "usage: kv [--requests N]\n");
        return 2;
    }
    tr_inbox *me = NULL;
    int rc = kv_atoms_init();
    if (rc == TR_OK) rc = tr_system_new(NULL, &sys);
    if (rc == TR_OK) rc = tr_inbox_new(sys, &me);
    if (rc != TR_OK) {
        fprintf(stderr, "kv: %s\n", tr_strerror(rc));
        tr_system_destroy(&sys);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint32_t t[6] = {0};
    rc = run(me, requests, t);
    tr_system_stop(sys);
    int end = tr_system_wait(sys, TR_INFINITY);
    if (end == TR_EFAILED) fprintf(stderr, "kv: the tree failed:\n%s", tr_system_report(sys));
    unsigned restarts = atomic_load(&kv_store_starts) - 1;
    printf("kv: requests=%u ok=%u missing=%u timeouts=%u downs=%u store_restarts=%u "
           "store_ends_seen=%u\n",
           t[0], t[1], t[2], t[3], t[4], restarts, t[5]);
    bool good = rc == TR_OK && end == TR_OK;
    if (requests) /* bounded: every request answered once, the poison worked */
        good = good && t[0] == requests && t[1] + t[2] + t[3] + t[4] == requests &&
               restarts >= 1 && t[4] >= 1;
    if (!good) fprintf(stderr, "kv: the summary does not add up\n");
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    return good ? 0 : 1;
}
