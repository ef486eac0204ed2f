/* remote — two OS processes over tcp on 127.0.0.1 (docs/benchmarks.md, 9).
 *
 * Usage: remote pingpong|throughput [N] [curve]
 *   bench=remote_pingpong[_curve]    N sequential ping/pong round trips
 *                                    (default 100,000)
 *   bench=remote_throughput[_curve]  N one-way 64-byte messages, then a
 *                                    count (default 1,000,000)
 * The process forks before any troupe state exists: the child is the
 * server node ("srv", one server actor registered as "server"), the parent
 * the client node ("cli", whose client actor learns the server's pid from a
 * first exchange by name, then talks to the pid). Node set-up and that
 * first exchange are untimed. With "curve" both nodes have key pairs and
 * allowlist each other (CURVE on the tcp link).
 *
 * Flow control: a sender whose queue to the peer is full gets TR_EFULL
 * (troupe never blocks an actor); the client then asks to be told when
 * the queue has room (tr_node_notify_room) and goes on when "tr.room"
 * comes, as any actor should. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../transport/keys.h"
#include "bench_common.h"

static tr_atom A_HELLO, A_PID, A_PING, A_PONG, A_DATA, A_COUNT, A_GO, A_DONE, A_MORE, A_STOP;

static void atoms(void)
{
    A_HELLO = bench_atom("r.hello");
    A_PID = bench_atom("r.pid");
    A_PING = bench_atom("r.ping");
    A_PONG = bench_atom("r.pong");
    A_DATA = bench_atom("r.data");
    A_COUNT = bench_atom("r.count");
    A_GO = bench_atom("r.go");
    A_DONE = bench_atom("r.done");
    A_MORE = bench_atom("r.more");
    A_STOP = bench_atom("r.stop");
}

/* ------------------------------------------------------------- server */

typedef struct server {
    uint64_t count;
    tr_pid driver;
} server;

static int server_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    return bench_init_copy(&((server *)st)->driver, sizeof(tr_pid), args, n);
}

static int server_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    server *s = st;
    tr_atom t = tr_msg_type(m);
    if (t.id == A_DATA.id) {
        s->count += tr_msg_size(m) == 64;
        return 0;
    }
    if (t.id == A_PING.id) return tr_send(ctx, tr_msg_sender(m), A_PONG, tr_msg_data(m), tr_msg_size(m));
    if (t.id == A_COUNT.id) return tr_send(ctx, tr_msg_sender(m), A_COUNT, &s->count, sizeof s->count);
    if (t.id == A_HELLO.id) return tr_send(ctx, tr_msg_sender(m), A_PID, NULL, 0);
    if (t.id == A_STOP.id) return tr_send(ctx, s->driver, A_STOP, NULL, 0);
    return 0;
}

static const tr_behaviour server_b = {"server", sizeof(server), server_init, server_handle, NULL};

/* ------------------------------------------------------------- client */

typedef struct client {
    tr_pid driver, srv;
    int64_t n, k;
    bool pingpong;
} client;

typedef struct client_args {
    tr_pid driver;
    int64_t n;
    bool pingpong;
} client_args;

static int client_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    client *c = st;
    client_args a;
    if (n != sizeof a) return TR_EINVAL;
    memcpy(&a, args, n);
    c->driver = a.driver;
    c->n = a.n;
    c->pingpong = a.pingpong;
    /* learn the server's pid by name; from then on, pids only */
    return tr_send_named(ctx, "server@srv", A_HELLO, NULL, 0);
}

/* Throughput: as many as the peer's queue takes, then on once it has room */
static int pump(tr_ctx *ctx, client *c)
{
    static const char payload[64] = "0123456789abcdef0123456789abcdef0123456789abcdef012345678901234";
    while (c->k < c->n) {
        int rc = tr_send(ctx, c->srv, A_DATA, payload, sizeof payload);
        if (rc == TR_EFULL) return tr_node_notify_room(ctx, c->srv);
        if (rc) return rc;
        if (++c->k % 4096 == 0) return tr_send(ctx, tr_self(ctx), A_MORE, NULL, 0); /* fair turns */
    }
    /* the queue may be full for the last request too: then at the next room */
    int rc = tr_send(ctx, c->srv, A_COUNT, NULL, 0);
    return rc == TR_EFULL ? tr_node_notify_room(ctx, c->srv) : rc;
}

static int client_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    client *c = st;
    tr_atom t = tr_msg_type(m);
    if (t.id == A_PID.id) {
        c->srv = tr_msg_sender(m);
        return tr_send(ctx, c->driver, A_PID, &c->srv, sizeof c->srv);
    }
    if (t.id == A_GO.id) {
        c->k = 0;
        if (!c->pingpong) return pump(ctx, c);
        return tr_send(ctx, c->srv, A_PING, &c->k, sizeof c->k);
    }
    if (t.id == A_MORE.id || t.id == tr_room_atom().id) return pump(ctx, c);
    if (t.id == A_PONG.id) {
        int64_t got;
        memcpy(&got, tr_msg_data(m), sizeof got);
        if (got != c->k) return tr_fail(ctx, "pong %lld for ping %lld", (long long)got, (long long)c->k);
        if (++c->k == c->n) return tr_send(ctx, c->driver, A_DONE, &c->k, sizeof c->k);
        return tr_send(ctx, c->srv, A_PING, &c->k, sizeof c->k);
    }
    if (t.id == A_COUNT.id) return tr_send(ctx, c->driver, A_DONE, tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static const tr_behaviour client_b = {"client", sizeof(client), client_init, client_handle, NULL};

/* --------------------------------------------------------------- keys */

static char keydir[64];

static void make_keys(void)
{
    snprintf(keydir, sizeof keydir, "/tmp/troupe-bench-keys-XXXXXX");
    if (!mkdtemp(keydir)) bench_fail("mkdtemp");
    const char *names[] = {"srv", "cli"};
    for (int i = 0; i < 2; i++) {
        tri_keypair kp;
        tri_key_error err;
        if (tri_keypair_new(&kp) != TR_OK || tri_keys_write(keydir, names[i], &kp, &err) != TR_OK)
            bench_fail("keys: %s", err.text);
        tri_keypair_wipe(&kp);
    }
}

static void remove_keys(void)
{
    const char *files[] = {"srv.key", "srv.pub", "cli.key", "cli.pub"};
    char p[128];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", keydir, files[i]);
        unlink(p);
    }
    rmdir(keydir);
}

static tr_node *start_node(tr_system *sys, const char *name, const char *other, bool curve,
                           const char *peer_ep)
{
    char secret[128], allow[128];
    snprintf(secret, sizeof secret, "%s/%s.key", keydir, name);
    snprintf(allow, sizeof allow, "%s/%s.pub", keydir, other);
    const char *listen[] = {"tcp://127.0.0.1:*"}, *allowv[] = {allow};
    tr_node_peer peer = {peer_ep, curve ? allow : NULL};
    tr_node_opts o = {.name = name, .listen = listen, .nlisten = 1,
                      .peers = peer_ep ? &peer : NULL, .npeers = peer_ep ? 1 : 0,
                      .secret_key_file = curve ? secret : NULL,
                      .allow = curve ? allowv : NULL, .nallow = curve ? 1 : 0};
    tr_node *n;
    int rc = tr_node_start(sys, &o, &n);
    if (rc != TR_OK) bench_fail("node %s: %s", name, tr_strerror(rc));
    return n;
}

/* ---------------------------------------------------------------- main */

static int run_server(int to_parent, bool curve)
{
    bench b = bench_start();
    tr_node *n = start_node(b.sys, "srv", "cli", curve, NULL);
    int rc = tr_system_spawn(b.sys, &server_b,
                             &(tr_spawn_opts){.register_as = "server", .args = &b.driver,
                                              .args_size = sizeof b.driver},
                             NULL);
    if (rc != TR_OK) bench_fail("spawn server: %s", tr_strerror(rc));
    const char *ep = tr_node_endpoint(n, 0);
    if (write(to_parent, ep, strlen(ep) + 1) < 0) bench_fail("pipe");
    close(to_parent);
    bench_recv(&b, A_STOP); /* the client is done */
    bench_end(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "pingpong") != 0 && strcmp(argv[1], "throughput") != 0)) {
        fprintf(stderr, "usage: remote pingpong|throughput [N] [curve]\n");
        return 2;
    }
    bool pingpong = strcmp(argv[1], "pingpong") == 0;
    int64_t n = bench_arg(argc, argv, 2, pingpong ? 100000 : 1000000);
    bool curve = argc > 3 && strcmp(argv[3], "curve") == 0;
    atoms();
    if (curve) make_keys();
    int fds[2];
    if (pipe(fds) != 0) bench_fail("pipe");
    pid_t child = fork();
    if (child < 0) bench_fail("fork");
    if (child == 0) {
        close(fds[0]);
        _exit(run_server(fds[1], curve));
    }
    close(fds[1]);
    char ep[256];
    ssize_t got = 0, r;
    while ((r = read(fds[0], ep + got, sizeof ep - (size_t)got)) > 0) got += r;
    close(fds[0]);
    if (got <= 0) bench_fail("no endpoint from the server");

    bench b = bench_start();
    tr_node *node = start_node(b.sys, "cli", "srv", curve, ep);
    if (tr_node_wait_peers(node, 1, 30000) != TR_OK) bench_fail("the server node did not come up");
    client_args a = {b.driver, n, pingpong};
    tr_pid c;
    int rc = tr_system_spawn(b.sys, &client_b, &(tr_spawn_opts){.args = &a, .args_size = sizeof a}, &c);
    if (rc != TR_OK) bench_fail("spawn client: %s", tr_strerror(rc));
    tr_pid srv;
    memcpy(&srv, tr_msg_data(bench_recv(&b, A_PID)), sizeof srv);
    double t0 = bench_now();
    tr_system_send(b.sys, c, A_GO, NULL, 0);
    const tr_msg *m = bench_recv(&b, A_DONE);
    double secs = bench_now() - t0;
    int64_t done;
    memcpy(&done, tr_msg_data(m), sizeof done);
    if (done != n) bench_fail("%lld of %lld", (long long)done, (long long)n);
    printf("peer=troupe bench=remote_%s%s n=%" PRId64 " seconds=%.6f rate=%.1f unit=%s\n",
           pingpong ? "pingpong" : "throughput", curve ? "_curve" : "", n, secs, (double)n / secs,
           pingpong ? "roundtrips/s" : "msgs/s");
    fflush(stdout);
    tr_system_send(b.sys, srv, A_STOP, NULL, 0);
    int status = 0;
    waitpid(child, &status, 0);
    bench_end(&b);
    if (curve) remove_keys();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
