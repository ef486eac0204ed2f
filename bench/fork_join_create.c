/* fork_join_create — spawn N short-lived workers, each acks once and ends.
 * Usage: fork_join_create [N]   (default 1,000,000)
 * Timed: the driver loop (main thread, as CAF and Savina's fjcreate do)
 * that spawns worker i and sends it go(collector, i), interleaved, then the
 * wait for the collector's (acks, sum). */
#include "bench_common.h"

static tr_atom A_GO, A_ACK, A_FIN;

typedef struct go_msg {
    tr_pid collector;
    uint64_t i;
} go_msg;

/* WORKER: on go(collector, i), sends ack(i) to the collector and ends. */
static int worker_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is(m, A_GO) || tr_msg_size(m) != sizeof(go_msg))
        return tr_fail(ctx, "worker: unexpected message");
    go_msg g;
    memcpy(&g, tr_msg_data(m), sizeof g);
    tr_stop(ctx);
    return tr_send(ctx, g.collector, A_ACK, &g.i, sizeof g.i);
}

static const tr_behaviour worker_beh = {.name = "worker", .handle = worker_handle};

typedef struct collector_args {
    tr_pid driver;
    uint64_t n;
} collector_args;

typedef struct collector_state {
    collector_args a;
    uint64_t acks, sum;
} collector_state;

static int collector_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(&((collector_state *)state)->a, sizeof(collector_args), args, size);
}

/* COLLECTOR: counts acks and sums i; after N sends fin(acks, sum). */
static int collector_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    collector_state *s = state;
    if (!tr_msg_is(m, A_ACK)) return tr_fail(ctx, "collector: unexpected message");
    s->acks++;
    s->sum += bench_u64(m);
    if (s->acks < s->a.n) return 0;
    uint64_t fin[2] = {s->acks, s->sum};
    tr_stop(ctx);
    return tr_send(ctx, s->a.driver, A_FIN, fin, sizeof fin);
}

static const tr_behaviour collector_beh = {.name = "collector",
                                           .state_size = sizeof(collector_state),
                                           .init = collector_init,
                                           .handle = collector_handle};

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 1000000);
    A_GO = bench_atom("go");
    A_ACK = bench_atom("ack");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    collector_args ca = {.driver = b.driver, .n = (uint64_t)n};
    go_msg g = {.collector = bench_spawn(&b, &collector_beh, &ca, sizeof ca)};

    double t0 = bench_now();
    for (g.i = 1; g.i <= (uint64_t)n; g.i++) {
        tr_pid w = bench_spawn(&b, &worker_beh, NULL, 0);
        bench_send(&b, w, A_GO, &g, sizeof g);
    }
    const tr_msg *m = bench_recv(&b, A_FIN);
    uint64_t fin[2] = {0, 0};
    if (tr_msg_size(m) == sizeof fin) memcpy(fin, tr_msg_data(m), sizeof fin);
    double t1 = bench_now();

    uint64_t un = (uint64_t)n;
    if (fin[0] != un || fin[1] != un * (un + 1) / 2)
        bench_fail("fork_join_create: acks %" PRIu64 " sum %" PRIu64 ", expected %" PRIu64
                   " and %" PRIu64,
                   fin[0], fin[1], un, un * (un + 1) / 2);
    bench_report_rate("fork_join_create", n, t1 - t0, "actors/s");
    bench_end(&b);
    return 0;
}
