/* ring — a token passed H times around a ring of R actors.
 * Usage: ring [H [R]]   (default H = 10,000,000 hops, R = 1,000 actors)
 * Timed: from the driver's token(H) to actor 0 until an actor receives
 * token(0) and tells the driver. n = H. */
#include "bench_common.h"

static tr_atom A_NEXT, A_TOKEN, A_FIN;

typedef struct node_state {
    tr_pid next;   /* successor, set by the `next` message */
    tr_pid driver; /* from the spawn args */
} node_state;

static int node_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    if (size != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(&((node_state *)state)->driver, args, size);
    return 0;
}

/* `next(pid)` sets the successor (untimed set-up, as the peers do: a pid
 * exists only once its actor is spawned); token(k) goes on as token(k-1),
 * and token(0) ends the run. */
static int node_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    node_state *s = state;
    if (tr_msg_is(m, A_TOKEN)) {
        uint64_t k = bench_u64(m);
        if (k == 0) return tr_send(ctx, s->driver, A_FIN, &k, sizeof k);
        k--;
        return tr_send(ctx, s->next, A_TOKEN, &k, sizeof k);
    }
    if (tr_msg_is(m, A_NEXT) && tr_msg_size(m) == sizeof(tr_pid)) {
        memcpy(&s->next, tr_msg_data(m), sizeof(tr_pid));
        return 0;
    }
    return tr_fail(ctx, "ring node: unexpected message");
}

static const tr_behaviour node_beh = {
    .name = "ring", .state_size = sizeof(node_state), .init = node_init, .handle = node_handle};

int main(int argc, char **argv)
{
    int64_t hops = bench_arg(argc, argv, 1, 10000000);
    int64_t r = bench_arg(argc, argv, 2, 1000);
    A_NEXT = bench_atom("next");
    A_TOKEN = bench_atom("token");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    tr_pid *nodes = malloc((size_t)r * sizeof *nodes);
    if (!nodes) bench_fail("out of memory");
    for (int64_t i = 0; i < r; i++) nodes[i] = bench_spawn(&b, &node_beh, &b.driver, sizeof b.driver);
    /* Each `next` reaches its actor before any token can: the driver sends
     * them all before the token starts, and the token's path follows. */
    for (int64_t i = 0; i < r; i++)
        bench_send(&b, nodes[i], A_NEXT, &nodes[(i + 1) % r], sizeof(tr_pid));

    double t0 = bench_now();
    uint64_t k = (uint64_t)hops;
    bench_send(&b, nodes[0], A_TOKEN, &k, sizeof k);
    uint64_t last = bench_u64(bench_recv(&b, A_FIN));
    double t1 = bench_now();

    if (last != 0) bench_fail("ring: token not completed");
    bench_report_rate("ring", hops, t1 - t0, "hops/s");
    bench_end(&b); /* stops the ring's actors (untimed) */
    free(nodes);
    return 0;
}
