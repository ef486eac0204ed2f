/* node_peer — the other OS process of test_node_proc: one node with the
 * actors of node_actors.h registered as "echo", "sink" and "ctl".
 *
 *   node_peer NAME LISTEN [-p ENDPOINT[,KEY]]... [-s SECRET_KEY_FILE]
 *             [-a ALLOW]... [-i] [-h HEARTBEAT_MS] [-t HEARTBEAT_TIMEOUT_MS]
 *             [-q QUEUE_MESSAGES] [-b QUEUE_BYTES]
 *
 * -p is a seed peer (KEY: its public key, 40 Z85 characters or a .pub
 * file), -s and -a the node's CURVE key and allowlist, -i insecure.
 *
 * stdout, one line each, flushed: "ready <endpoint>" once the actors are
 * registered (before the seeds are dialled), then "up <name> <id>" and
 * "down <name> <id> <reason>" for every node event. A "stop" message to
 * ctl ends the process with status 0 (under ASan, a leak makes it
 * nonzero). The test forks and execs it, and kills it when done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_actors.h"

#define MAX_LIST 8

static void usage(void)
{
    fprintf(stderr, "usage: node_peer NAME LISTEN [-p EP[,KEY]]... [-s KEY] [-a ALLOW]... [-i] "
                    "[-h MS] [-t MS] [-q N] [-b N]\n");
    exit(2);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "node_peer: %s: %s\n", what, tr_strerror(rc));
    exit(1);
}

int main(int argc, char **argv)
{
    tr_node_peer peers[MAX_LIST];
    const char *allow[MAX_LIST];
    tr_node_opts o = {0};
    size_t npeers = 0;
    int opt;
    while ((opt = getopt(argc, argv, "p:s:a:ih:t:q:b:")) != -1) {
        switch (opt) {
        case 'p': {
            if (npeers == MAX_LIST) usage();
            char *comma = strchr(optarg, ',');
            if (comma) *comma = '\0';
            peers[npeers++] = (tr_node_peer){optarg, comma ? comma + 1 : NULL};
            break;
        }
        case 's': o.secret_key_file = optarg; break;
        case 'a':
            if (o.nallow == MAX_LIST) usage();
            allow[o.nallow++] = optarg;
            break;
        case 'i': o.insecure = true; break;
        case 'h': o.heartbeat_ms = atoll(optarg); break;
        case 't': o.heartbeat_timeout_ms = atoll(optarg); break;
        case 'q': o.queue_messages = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'b': o.queue_bytes = strtoull(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (argc - optind != 2) usage();
    const char *listen[] = {argv[optind + 1]};
    o.name = argv[optind];
    o.listen = listen;
    o.nlisten = 1;
    o.allow = allow;
    tr_log_set_level(getenv("TLOG") ? TR_LOG_DEBUG : TR_LOG_WARN);

    tr_system *sys;
    tr_node *node;
    tr_inbox *in;
    int rc;
    if ((rc = tr_system_new(&(tr_system_opts){.workers = 2}, &sys)) != TR_OK) die("system", rc);
    if ((rc = tr_node_start(sys, &o, &node)) != TR_OK) die("node", rc);
    if ((rc = tr_inbox_new(sys, &in)) != TR_OK) die("inbox", rc);
    /* events from the first connection on: subscribe, then dial */
    if ((rc = tr_inbox_monitor_node(in, NULL, NULL)) != TR_OK) die("monitor nodes", rc);
    tr_pid main_pid = tr_inbox_pid(in);
    if ((rc = tr_system_spawn(sys, &na_echo_b, &(tr_spawn_opts){.register_as = "echo"}, NULL)) ||
        (rc = tr_system_spawn(sys, &na_sink_b, &(tr_spawn_opts){.register_as = "sink"}, NULL)) ||
        (rc = tr_system_spawn(sys, &na_ctl_b,
                              &(tr_spawn_opts){.register_as = "ctl", .args = &main_pid,
                                               .args_size = sizeof main_pid},
                              NULL)))
        die("spawn", rc);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %s\n", tr_node_endpoint(node, 0));
    for (size_t i = 0; i < npeers; i++)
        if ((rc = tr_node_connect(node, &peers[i])) != TR_OK) die("connect", rc);

    for (;;) {
        const tr_msg *m;
        if (tr_inbox_recv(in, &m, -1) != TR_OK) continue;
        tr_node_event ev;
        if (tr_node_event_decode(m, &ev) == TR_OK) {
            if (ev.up) printf("up %s %u\n", ev.name, ev.node);
            else printf("down %s %u %s\n", ev.name, ev.node, ev.reason);
        } else if (tr_msg_is(m, tr_atom_from("stop"))) {
            break;
        }
    }
    tr_inbox_destroy(&in);
    tr_system_destroy(&sys);
    return 0;
}
