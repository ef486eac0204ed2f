/* hog_latency — how long work entering from outside waits while every
 * worker is busy (docs/benchmarks.md, "hog_latency").
 *
 * Usage: hog_latency H W [ROUNDS]   (defaults 2, 200, 200)
 * Two workers; H "hog" actors, each with an endless backlog of messages
 * costing W us of busy CPU apiece (each handler spins W us, then sends
 * itself the next one). Then:
 *  - bench=hog_latency_h<H>_w<W>: the main thread (a plain thread with a
 *    tr_inbox) sends a request to an idle responder actor once every
 *    millisecond, ROUNDS times, and times each round trip;
 *  - bench=hog_timer_h<H>_w<W>: an actor's 1 ms interval timer under the
 *    same load; each tick's lateness is how much longer than the period
 *    it came after the tick before (0 when on time): the "worst gap"
 *    between ticks, which is what a heartbeat or a watchdog feels.
 * Each line: n=ROUNDS seconds=<wall> rate=<n/s> unit=roundtrips/s|ticks/s
 * p50_us= p99_us= max_us= (round trip, or lateness). */
#include "bench_common.h"

static tr_atom A_CHEW, A_PING, A_PONG, A_TICK, A_LATE;
static int64_t W_NS, ROUNDS;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* hog: burns W of CPU per message and queues itself the next one */
static int hog_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st, (void)m;
    int64_t end = mono_ns() + W_NS;
    while (mono_ns() < end) {
    }
    return tr_send(ctx, tr_self(ctx), A_CHEW, NULL, 0);
}

static const tr_behaviour hog_b = {.name = "hog", .handle = hog_handle};

/* responder: answers every ping at once */
static int responder_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (!tr_msg_is(m, A_PING)) return 0;
    return tr_send(ctx, tr_msg_sender(m), A_PONG, tr_msg_data(m), tr_msg_size(m));
}

static const tr_behaviour responder_b = {.name = "responder", .handle = responder_handle};

/* ticker: a 1 ms interval timer; records each tick's lateness */
typedef struct ticker {
    tr_pid driver;
    int64_t last, k;
    int64_t *late;
} ticker;

static int ticker_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    ticker *s = st;
    if (n != sizeof s->driver) return TR_EINVAL;
    memcpy(&s->driver, args, n);
    s->late = calloc((size_t)ROUNDS, sizeof *s->late);
    if (!s->late) return TR_ENOMEM;
    s->last = mono_ns();
    return tr_send_every(ctx, tr_self(ctx), 1, A_TICK, NULL, 0, NULL);
}

static int ticker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    ticker *s = st;
    if (!tr_msg_is(m, A_TICK) || s->k >= ROUNDS) return 0;
    int64_t now = mono_ns(), late = now - s->last - 1000000;
    s->last = now;
    s->late[s->k++] = late > 0 ? late : 0;
    if (s->k < ROUNDS) return 0;
    tr_stop(ctx);
    return tr_send(ctx, s->driver, A_LATE, s->late, (size_t)ROUNDS * sizeof *s->late);
}

static void ticker_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)ctx, (void)why;
    free(((ticker *)st)->late);
}

static const tr_behaviour ticker_b = {"ticker", sizeof(ticker), ticker_init, ticker_handle,
                                      ticker_terminate};

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void print_line(const char *bench_name, int64_t n, double secs, const char *unit,
                       int64_t *v)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    int64_t p50 = v[n / 2], p99 = v[(n * 99 + 99) / 100 - 1], max = v[n - 1];
    printf("peer=troupe bench=%s n=%" PRId64 " seconds=%.6f rate=%.1f unit=%s p50_us=%.1f "
           "p99_us=%.1f max_us=%.1f\n",
           bench_name, n, secs, (double)n / secs, unit, (double)p50 / 1e3, (double)p99 / 1e3,
           (double)max / 1e3);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int64_t hogs = bench_arg(argc, argv, 1, 2), w_us = bench_arg(argc, argv, 2, 200);
    ROUNDS = bench_arg(argc, argv, 3, 200);
    W_NS = w_us * 1000;
    A_CHEW = bench_atom("hog.chew");
    A_PING = bench_atom("hog.ping");
    A_PONG = bench_atom("hog.pong");
    A_TICK = bench_atom("hog.tick");
    A_LATE = bench_atom("hog.late");
    bench b = bench_start();
    tr_pid responder;
    int rc = tr_system_spawn(b.sys, &responder_b, NULL, &responder);
    if (rc != TR_OK) bench_fail("spawn responder: %s", tr_strerror(rc));
    for (int64_t i = 0; i < hogs; i++) {
        tr_pid hog;
        rc = tr_system_spawn(b.sys, &hog_b, NULL, &hog);
        if (rc == TR_OK) rc = tr_system_send(b.sys, hog, A_CHEW, NULL, 0);
        if (rc != TR_OK) bench_fail("start hog: %s", tr_strerror(rc));
    }
    /* let the hogs take both workers before measuring */
    struct timespec settle = {0, 20000000};
    nanosleep(&settle, NULL);

    char name[64];
    int64_t *rtt = calloc((size_t)ROUNDS, sizeof *rtt);
    if (!rtt) bench_fail("out of memory");
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double t0 = bench_now();
    for (int64_t k = 0; k < ROUNDS; k++) {
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) next.tv_sec++, next.tv_nsec -= 1000000000;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        int64_t s = mono_ns();
        rc = tr_inbox_send(b.in, responder, A_PING, &k, sizeof k);
        if (rc != TR_OK) bench_fail("ping: %s", tr_strerror(rc));
        const tr_msg *m = bench_recv(&b, A_PONG);
        int64_t got;
        memcpy(&got, tr_msg_data(m), sizeof got);
        if (got != k) bench_fail("pong %" PRId64 " for ping %" PRId64, got, k);
        rtt[k] = mono_ns() - s;
    }
    snprintf(name, sizeof name, "hog_latency_h%" PRId64 "_w%" PRId64, hogs, w_us);
    print_line(name, ROUNDS, bench_now() - t0, "roundtrips/s", rtt);
    free(rtt);

    t0 = bench_now();
    rc = tr_system_spawn(b.sys, &ticker_b,
                         &(tr_spawn_opts){.args = &b.driver, .args_size = sizeof b.driver}, NULL);
    if (rc != TR_OK) bench_fail("spawn ticker: %s", tr_strerror(rc));
    const tr_msg *m = bench_recv(&b, A_LATE);
    if (tr_msg_size(m) != (size_t)ROUNDS * sizeof(int64_t)) bench_fail("bad lateness report");
    int64_t *late = malloc(tr_msg_size(m));
    if (!late) bench_fail("out of memory");
    memcpy(late, tr_msg_data(m), tr_msg_size(m));
    snprintf(name, sizeof name, "hog_timer_h%" PRId64 "_w%" PRId64, hogs, w_us);
    print_line(name, ROUNDS, bench_now() - t0, "ticks/s", late);
    free(late);
    bench_end(&b);
    return 0;
}
