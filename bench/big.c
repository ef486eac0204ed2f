/* big — many-to-many: W actors ping pseudo-random others, P pings each.
 * Usage: big [W [P]]   (default W = 1,000 actors, P = 1,000 pings each)
 * Timed: from the driver's `start` to all W until it has W `fin`s.
 * n = 2*W*P (pings + pongs). Target choice as in every peer (README):
 * seed_i = low32((i+1) * 2654435761) (1 if 0), xorshift32, t = x mod W,
 * t == i gives (t+1) mod W. */
#include "bench_common.h"

static tr_atom A_START, A_PING, A_PONG, A_FIN;

typedef struct big_args {
    const tr_pid *peers; /* all W pids: filled before `start`, then read-only */
    uint64_t w, p, idx;
    tr_pid driver;
} big_args;

typedef struct big_state {
    big_args a;
    uint32_t rng;
    uint64_t pongs;
} big_state;

static uint32_t xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static int big_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    big_state *s = state;
    if (bench_init_copy(&s->a, sizeof s->a, args, size) != 0) return TR_EINVAL;
    s->rng = (uint32_t)((s->a.idx + 1) * UINT64_C(2654435761));
    if (s->rng == 0) s->rng = 1;
    return 0;
}

static int send_ping(tr_ctx *ctx, big_state *s)
{
    s->rng = xorshift32(s->rng);
    uint64_t t = s->rng % (uint32_t)s->a.w;
    if (t == s->a.idx) t = (t + 1) % s->a.w;
    return tr_send(ctx, s->a.peers[t], A_PING, NULL, 0);
}

/* ping: answer pong. start / pong: next ping, except on the P-th pong,
 * which tells the driver (and the actor goes on answering pings). */
static int big_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    big_state *s = state;
    if (tr_msg_is(m, A_PING)) return tr_send(ctx, tr_msg_sender(m), A_PONG, NULL, 0);
    if (tr_msg_is(m, A_PONG)) {
        if (++s->pongs == s->a.p) return tr_send(ctx, s->a.driver, A_FIN, &s->a.idx, sizeof s->a.idx);
        return send_ping(ctx, s);
    }
    if (tr_msg_is(m, A_START)) return send_ping(ctx, s);
    return tr_fail(ctx, "big: unexpected message");
}

static const tr_behaviour big_beh = {
    .name = "big", .state_size = sizeof(big_state), .init = big_init, .handle = big_handle};

int main(int argc, char **argv)
{
    int64_t w = bench_arg(argc, argv, 1, 1000);
    int64_t p = bench_arg(argc, argv, 2, 1000);
    if (w < 2) bench_fail("big: W must be at least 2 (pings go to another actor)");
    A_START = bench_atom("start");
    A_PING = bench_atom("ping");
    A_PONG = bench_atom("pong");
    A_FIN = bench_atom("fin");
    bench b = bench_start();
    tr_pid *peers = malloc((size_t)w * sizeof *peers);
    if (!peers) bench_fail("out of memory");
    big_args a = {.peers = peers, .w = (uint64_t)w, .p = (uint64_t)p, .driver = b.driver};
    for (a.idx = 0; a.idx < (uint64_t)w; a.idx++) peers[a.idx] = bench_spawn(&b, &big_beh, &a, sizeof a);

    unsigned char *seen = calloc((size_t)w, 1);
    if (!seen) bench_fail("out of memory");

    double t0 = bench_now();
    for (int64_t i = 0; i < w; i++) bench_send(&b, peers[i], A_START, NULL, 0);
    /* Each actor must report exactly once: checked as the fins come in
     * (a message lasts only until the next receive); one byte store each. */
    for (int64_t i = 0; i < w; i++) {
        uint64_t idx = bench_u64(bench_recv(&b, A_FIN));
        if (idx >= (uint64_t)w || seen[idx]++) bench_fail("big: bad or repeated fin(%" PRIu64 ")", idx);
    }
    double t1 = bench_now();

    free(seen);
    bench_report_rate("big", 2 * w * p, t1 - t0, "msgs/s");
    /* Stop the actors (untimed) before freeing the table they read. */
    bench_end(&b);
    free(peers);
    return 0;
}
