/* pingpong — N sequential round trips between two actors.
 * Usage: pingpong [N]   (default 1,000,000)
 * Timed: from the driver's `start` to PING until the driver has `fin`. */
#include "bench_common.h"

static tr_atom A_START, A_PING, A_PONG, A_FIN;

/* PONG: answers every ping(k) with pong(k) to its sender. */
static int pong_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is(m, A_PING)) return tr_fail(ctx, "pong: unexpected message");
    uint64_t k = bench_u64(m);
    return tr_send(ctx, tr_msg_sender(m), A_PONG, &k, sizeof k);
}

static const tr_behaviour pong_beh = {.name = "pong", .handle = pong_handle};

typedef struct ping_state {
    tr_pid pong, driver;
    uint64_t n;
} ping_state;

static int ping_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(state, sizeof(ping_state), args, size);
}

/* PING: `start` sends ping(1); pong(k) sends ping(k+1), or fin(N) at k == N. */
static int ping_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    ping_state *s = state;
    uint64_t k = 0;
    if (tr_msg_is(m, A_PONG)) {
        k = bench_u64(m);
        if (k == s->n) {
            tr_stop(ctx);
            return tr_send(ctx, s->driver, A_FIN, &k, sizeof k);
        }
    } else if (!tr_msg_is(m, A_START)) {
        return tr_fail(ctx, "ping: unexpected message");
    }
    k++;
    return tr_send(ctx, s->pong, A_PING, &k, sizeof k);
}

static const tr_behaviour ping_beh = {
    .name = "ping", .state_size = sizeof(ping_state), .init = ping_init, .handle = ping_handle};

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 1000000);
    A_START = bench_atom("start");
    A_PING = bench_atom("ping");
    A_PONG = bench_atom("pong");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    ping_state args = {.pong = bench_spawn(&b, &pong_beh, NULL, 0), .driver = b.driver,
                       .n = (uint64_t)n};
    tr_pid ping = bench_spawn(&b, &ping_beh, &args, sizeof args);

    double t0 = bench_now();
    bench_send(&b, ping, A_START, NULL, 0);
    uint64_t got = bench_u64(bench_recv(&b, A_FIN));
    double t1 = bench_now();

    if (got != (uint64_t)n) bench_fail("pingpong: fin(%" PRIu64 "), expected %" PRId64, got, n);
    bench_report_rate("pingpong", n, t1 - t0, "roundtrips/s");
    bench_end(&b);
    return 0;
}
