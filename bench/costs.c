/* costs — what a timer and a call cost next to a plain send, measured in
 * one run (not a peer workload; for the README and the issue notes).
 * Usage: costs [N]   (default 1,000,000)
 * Prints one `peer=troupe bench=cost_<what> n=N seconds=S rate=R unit=ns/op`
 * line per item, where rate is nanoseconds per operation:
 *   cost_send          one tr_send to an idle actor, sender side
 *   cost_timer         tr_send_after + tr_timer_cancel, far in the future
 *   cost_timer_fire    N/10 timers armed at once for 1 ms, fired by the timer
 *                      thread and handled (the 1 ms wait not counted)
 *   cost_roundtrip     a plain send/reply round trip (pingpong)
 *   cost_call          a tr_call/tr_reply round trip */
#include "bench_common.h"

static tr_atom A_GO, A_X, A_DONE, A_TICK, A_PING, A_PONG, A_REQ, A_REP;
static int64_t N;

static int sink_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const tr_behaviour sink_b = {.name = "sink", .handle = sink_handle};

typedef struct driver_args {
    tr_pid driver, peer;
} driver_args;

typedef struct meas {
    driver_args a;
    int64_t k;
    double t0;
    tr_ref ref;
} meas;

static int meas_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    return bench_init_copy(st, sizeof(driver_args), args, n);
}

static int report(tr_ctx *ctx, meas *s, double secs)
{
    return tr_send(ctx, s->a.driver, A_DONE, &secs, sizeof secs);
}

/* send: N sends in one handler */
static int sender_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    meas *s = st;
    (void)m;
    double t0 = bench_now();
    for (int64_t i = 0; i < N; i++) {
        int rc = tr_send(ctx, s->a.peer, A_X, &i, sizeof i);
        if (rc) return rc;
    }
    return report(ctx, s, bench_now() - t0);
}

/* timer: N arm + cancel pairs in one handler */
static int timers_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    meas *s = st;
    (void)m;
    double t0 = bench_now();
    for (int64_t i = 0; i < N; i++) {
        tr_timer t;
        int rc = tr_send_after(ctx, tr_self(ctx), 3600000, A_TICK, NULL, 0, &t);
        if (rc || tr_timer_cancel(ctx, t) != TR_OK) return tr_fail(ctx, "timer");
    }
    return report(ctx, s, bench_now() - t0);
}

/* timer fire: N/10 timers due at the same time, fired and handled */
static int fire_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    meas *s = st;
    if (tr_msg_is(m, A_GO)) {
        s->t0 = bench_now();
        for (int64_t i = 0; i < N / 10; i++) {
            int rc = tr_send_after(ctx, tr_self(ctx), 1, A_TICK, NULL, 0, NULL);
            if (rc) return rc;
        }
        return 0;
    }
    if (++s->k == N / 10) return report(ctx, s, bench_now() - s->t0 - 0.001);
    return 0;
}

static int echo_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is_request(m)) return tr_reply(ctx, m, A_REP, NULL, 0);
    return tr_send(ctx, tr_msg_sender(m), A_PONG, NULL, 0);
}

static const tr_behaviour echo_b = {.name = "echo", .handle = echo_handle};

static int pinger_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    meas *s = st;
    if (tr_msg_is(m, A_GO)) s->t0 = bench_now();
    else if (++s->k == N) return report(ctx, s, bench_now() - s->t0);
    return tr_send(ctx, s->a.peer, A_PING, NULL, 0);
}

static int caller_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    meas *s = st;
    if (tr_msg_is(m, A_GO)) s->t0 = bench_now();
    else if (++s->k == N) return report(ctx, s, bench_now() - s->t0);
    return tr_call(ctx, s->a.peer, A_REQ, NULL, 0, TR_INFINITY, &s->ref);
}

#define MEAS(NAME, HANDLE)                                                                     \
    static const tr_behaviour NAME = {                                                         \
        .name = #NAME, .state_size = sizeof(meas), .init = meas_init, .handle = HANDLE}
MEAS(sender_b, sender_handle);
MEAS(timers_b, timers_handle);
MEAS(fire_b, fire_handle);
MEAS(pinger_b, pinger_handle);
MEAS(caller_b, caller_handle);

static void run(bench *b, const char *name, const tr_behaviour *meas_b, const tr_behaviour *peer_b,
                int64_t n)
{
    driver_args a = {b->driver, bench_spawn(b, peer_b, NULL, 0)};
    tr_pid p = bench_spawn(b, meas_b, &a, sizeof a);
    bench_send(b, p, A_GO, NULL, 0);
    double secs;
    memcpy(&secs, tr_msg_data(bench_recv(b, A_DONE)), sizeof secs);
    printf("peer=troupe bench=%s n=%" PRId64 " seconds=%.6f rate=%.1f unit=ns/op\n", name, n, secs,
           secs * 1e9 / (double)n);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    N = bench_arg(argc, argv, 1, 1000000);
    A_GO = bench_atom("go");
    A_X = bench_atom("x");
    A_DONE = bench_atom("done");
    A_TICK = bench_atom("tick");
    A_PING = bench_atom("ping");
    A_PONG = bench_atom("pong");
    A_REQ = bench_atom("req");
    A_REP = bench_atom("rep");
    bench b = bench_start();
    run(&b, "cost_send", &sender_b, &sink_b, N);
    run(&b, "cost_timer", &timers_b, &sink_b, N);
    run(&b, "cost_timer_fire", &fire_b, &sink_b, N / 10);
    run(&b, "cost_roundtrip", &pinger_b, &echo_b, N);
    run(&b, "cost_call", &caller_b, &echo_b, N);
    bench_end(&b);
    return 0;
}
