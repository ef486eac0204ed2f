/* call — N sequential request/reply round trips with the runtime's call
 * machinery (tr_call / tr_reply), no timeout (no timer is armed).
 * Usage: call [N]   (default 1,000,000)
 * Timed: from the driver's `start` to CLIENT until the driver has `fin`.
 * Check: the sum of the replies is N(N+3)/2 (each reply is k+1). */
#include <stddef.h>

#include "bench_common.h"

static tr_atom A_START, A_REQ, A_REPLY, A_FIN;

/* SERVER: answers every req(k) with k+1. */
static int server_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is(m, A_REQ) || !tr_msg_is_request(m)) return tr_fail(ctx, "server: unexpected");
    uint64_t k = bench_u64(m) + 1;
    return tr_reply(ctx, m, A_REPLY, &k, sizeof k);
}

static const tr_behaviour server_beh = {.name = "server", .handle = server_handle};

typedef struct client_state {
    tr_pid server, driver;
    uint64_t n, k, sum;
    tr_ref pending;
} client_state;

static int client_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(state, offsetof(client_state, k), args, size);
}

static int call_next(tr_ctx *ctx, client_state *s)
{
    s->k++;
    return tr_call(ctx, s->server, A_REQ, &s->k, sizeof s->k, TR_INFINITY, &s->pending);
}

/* CLIENT: `start` makes call 1; each reply adds up and makes the next,
 * strictly one at a time, until the N-th, then fin(sum) to the driver. */
static int client_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    client_state *s = state;
    if (tr_msg_is(m, A_START)) return call_next(ctx, s);
    if (!tr_msg_is(m, A_REPLY) || tr_msg_ref(m).id != s->pending.id)
        return tr_fail(ctx, "client: unexpected '%s'", tr_atom_name(tr_msg_type(m)));
    s->sum += bench_u64(m);
    if (s->k < s->n) return call_next(ctx, s);
    tr_stop(ctx);
    return tr_send(ctx, s->driver, A_FIN, &s->sum, sizeof s->sum);
}

static const tr_behaviour client_beh = {.name = "client",
                                        .state_size = sizeof(client_state),
                                        .init = client_init,
                                        .handle = client_handle};

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 1000000);
    A_START = bench_atom("start");
    A_REQ = bench_atom("req");
    A_REPLY = bench_atom("reply");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    tr_pid server = bench_spawn(&b, &server_beh, NULL, 0);
    client_state args = {.server = server, .driver = b.driver, .n = (uint64_t)n};
    tr_pid client = bench_spawn(&b, &client_beh, &args, offsetof(client_state, k));

    double t0 = bench_now();
    bench_send(&b, client, A_START, NULL, 0);
    uint64_t sum = bench_u64(bench_recv(&b, A_FIN));
    double t1 = bench_now();

    uint64_t want = (uint64_t)n * ((uint64_t)n + 3) / 2;
    if (sum != want) bench_fail("call: sum %" PRIu64 ", expected %" PRIu64, sum, want);
    bench_report_rate("call", n, t1 - t0, "calls/s");
    bench_end(&b);
    return 0;
}
