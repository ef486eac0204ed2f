/* counting — one producer floods one counter with N `inc` messages.
 * Usage: counting [N]   (default 10,000,000)
 * Timed: from the driver's `start` to PRODUCER until the driver has the
 * total, which PRODUCER forwards from COUNTER. No flow control: the
 * counter's mailbox may grow as deep as the producer gets ahead. */
#include "bench_common.h"

static tr_atom A_START, A_INC, A_TOTAL, A_FIN;

/* COUNTER: +1 per `inc`; answers `total` with its count. */
static int counter_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    uint64_t *count = state;
    if (tr_msg_is(m, A_INC)) {
        ++*count;
        return 0;
    }
    if (!tr_msg_is(m, A_TOTAL)) return tr_fail(ctx, "counter: unexpected message");
    tr_stop(ctx);
    return tr_send(ctx, tr_msg_sender(m), A_TOTAL, count, sizeof *count);
}

static const tr_behaviour counter_beh = {
    .name = "counter", .state_size = sizeof(uint64_t), .handle = counter_handle};

typedef struct producer_state {
    tr_pid counter, driver;
    uint64_t n;
} producer_state;

static int producer_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(state, sizeof(producer_state), args, size);
}

/* PRODUCER: on `start`, N `inc` back-to-back then `total`; forwards the
 * counter's total to the driver as fin(total). */
static int producer_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    producer_state *s = state;
    if (tr_msg_is(m, A_START)) {
        for (uint64_t i = 0; i < s->n; i++) {
            int rc = tr_send(ctx, s->counter, A_INC, NULL, 0);
            if (rc != TR_OK) return rc;
        }
        return tr_send(ctx, s->counter, A_TOTAL, NULL, 0);
    }
    if (!tr_msg_is(m, A_TOTAL)) return tr_fail(ctx, "producer: unexpected message");
    uint64_t total = bench_u64(m);
    tr_stop(ctx);
    return tr_send(ctx, s->driver, A_FIN, &total, sizeof total);
}

static const tr_behaviour producer_beh = {.name = "producer",
                                          .state_size = sizeof(producer_state),
                                          .init = producer_init,
                                          .handle = producer_handle};

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 10000000);
    A_START = bench_atom("start");
    A_INC = bench_atom("inc");
    A_TOTAL = bench_atom("total");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    producer_state args = {.counter = bench_spawn(&b, &counter_beh, NULL, 0),
                           .driver = b.driver,
                           .n = (uint64_t)n};
    tr_pid producer = bench_spawn(&b, &producer_beh, &args, sizeof args);

    double t0 = bench_now();
    bench_send(&b, producer, A_START, NULL, 0);
    uint64_t total = bench_u64(bench_recv(&b, A_FIN));
    double t1 = bench_now();

    if (total != (uint64_t)n)
        bench_fail("counting: total %" PRIu64 ", expected %" PRId64, total, n);
    bench_report_rate("counting", n, t1 - t0, "msgs/s");
    bench_end(&b);
    return 0;
}
