/* timers_fire — many one-shot timers firing at a high rate, and arming
 * while they fire (issue 13: the timer service fell behind at 500k/s).
 * Usage: timers_fire [N [R]]   (default 1,000,000 timers, 1 receiver)
 * ARMER arms N one-shot timers, timer i to receiver i mod R and due
 * 3000 + 2000*i/N ms after it is armed (so they fire over about 2 s,
 * starting 3 s on). When timer 0 arrives, its receiver asks ARMER to arm N
 * more the same way, to one more receiver, while the first N keep firing.
 * Each tick carries its index and deadline (CLOCK_MONOTONIC ns at arming +
 * the delay); its receiver records how late it handled it. Three lines:
 *   bench=timers_arm_idle  arming the first N (nothing fires meanwhile)
 *   bench=timers_arm       arming the second N while the first N fire
 *   bench=timers_fire      the first N: seconds from the first deadline to
 *                          the last tick handled, rate in timers/s, and
 *                          their lateness p50_us= p99_us= max_us= (handled
 *                          minus deadline); receivers=R
 * With R > 1 most firings wake a receiver that was idle, so they go
 * through the scheduler's queue for outside threads.
 * The second batch is not waited for (destroying the system cancels it).
 * Check: every one of the first N arrives exactly once, none early.
 * Erlang counterpart: peers_scale.erl (same lines, peer=erlang). */
#include "bench_common.h"

#define AHEAD_MS 3000
#define SPREAD_MS 2000

static tr_atom A_ARM, A_TICK, A_ARMED, A_DONE;
static int64_t N, R;

/* Shared by the actors and the driver: a benchmark's shortcut. Each slot
 * of `late` is written by one receiver, read by the driver after every
 * receiver said "done" (the messages order the accesses). */
static int64_t *late;
static int64_t first_deadline;

/* A tick's payload: its deadline (ns after `base`) << 24 | its index, in
 * 8 bytes like any small message (a bigger one costs a bigger block). */
#define INDEX_BITS 24
static int64_t base;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ARMER: arm(receivers, count) arms N timers spread over them. */
typedef struct arm_req {
    const tr_pid *to;
    int64_t nto;
    tr_pid report_to;
} arm_req;

static int armer_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is(m, A_ARM)) return tr_fail(ctx, "armer: unexpected");
    arm_req r;
    memcpy(&r, tr_msg_data(m), sizeof r);
    double t0 = bench_now();
    for (int64_t i = 0; i < N; i++) {
        int64_t delay = AHEAD_MS + SPREAD_MS * i / N;
        int64_t deadline = mono_ns() + delay * 1000000;
        if (i == 0 && !first_deadline) first_deadline = deadline; /* the first batch's */
        uint64_t t = (uint64_t)(deadline - base) << INDEX_BITS | (uint64_t)i;
        int rc = tr_send_after(ctx, r.to[i % r.nto], delay, A_TICK, &t, sizeof t, NULL);
        if (rc) return rc;
    }
    double secs = bench_now() - t0;
    return tr_send(ctx, r.report_to, A_ARMED, &secs, sizeof secs);
}

static const tr_behaviour armer_beh = {.name = "armer", .handle = armer_handle};

/* RECEIVER: records each tick's lateness; timer 0's receiver asks the
 * armer for the second batch; each reports when it has its share. */
typedef struct recv_args {
    tr_pid driver, armer;
    const tr_pid *next_to; /* the second batch's receiver */
    int64_t share;
} recv_args;

typedef struct recv_state {
    recv_args a;
    int64_t k;
} recv_state;

static int recv_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(state, sizeof(recv_args), args, size);
}

static int recv_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    recv_state *s = state;
    uint64_t t;
    if (!tr_msg_is(m, A_TICK) || tr_msg_size(m) != sizeof t) return tr_fail(ctx, "unexpected");
    int64_t now = mono_ns();
    memcpy(&t, tr_msg_data(m), sizeof t);
    int64_t index = (int64_t)(t & ((1u << INDEX_BITS) - 1));
    int64_t deadline = base + (int64_t)(t >> INDEX_BITS);
    if (index >= N || late[index] != INT64_MIN)
        return tr_fail(ctx, "tick %lld twice", (long long)index);
    late[index] = now - deadline;
    if (index == 0) { /* the first batch starts firing: arm the second */
        arm_req r = {s->a.next_to, 1, s->a.driver};
        int rc = tr_send(ctx, s->a.armer, A_ARM, &r, sizeof r);
        if (rc) return rc;
    }
    if (++s->k < s->a.share) return 0;
    return tr_send(ctx, s->a.driver, A_DONE, &now, sizeof now);
}

static const tr_behaviour recv_beh = {.name = "receiver",
                                      .state_size = sizeof(recv_state),
                                      .init = recv_init,
                                      .handle = recv_handle};

static int idle_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)ctx, (void)state, (void)m;
    return 0;
}

static const tr_behaviour idle_beh = {.name = "idle", .handle = idle_handle};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The next message to the driver, whatever its type. */
static const tr_msg *recv_any(bench *b)
{
    const tr_msg *m;
    int rc;
    while ((rc = tr_inbox_recv(b->in, &m, BENCH_RECV_SLICE_MS)) == TR_ETIMEDOUT)
        if (tr_system_wait(b->sys, 0) != TR_ETIMEDOUT)
            bench_fail("the actor system ended:\n%s", tr_system_report(b->sys));
    if (rc != TR_OK) bench_fail("driver receive: %s", tr_strerror(rc));
    return m;
}

int main(int argc, char **argv)
{
    N = bench_arg(argc, argv, 1, 1000000);
    R = bench_arg(argc, argv, 2, 1);
    if (R > N) R = N;
    if (N >= 1 << INDEX_BITS) bench_fail("N must be below %d", 1 << INDEX_BITS);
    base = mono_ns();
    A_ARM = bench_atom("arm");
    A_TICK = bench_atom("tick");
    A_ARMED = bench_atom("armed");
    A_DONE = bench_atom("done");
    late = malloc((size_t)N * sizeof *late);
    tr_pid *recv = malloc((size_t)R * sizeof *recv);
    if (!late || !recv) bench_fail("out of memory");
    for (int64_t i = 0; i < N; i++) late[i] = INT64_MIN;
    bench b = bench_start();
    tr_pid armer = bench_spawn(&b, &armer_beh, NULL, 0);
    tr_pid second = bench_spawn(&b, &idle_beh, NULL, 0);
    for (int64_t r = 0; r < R; r++) {
        recv_args ra = {b.driver, armer, &second, N / R + (r < N % R)};
        recv[r] = bench_spawn(&b, &recv_beh, &ra, sizeof ra);
    }

    arm_req first = {recv, R, b.driver};
    bench_send(&b, armer, A_ARM, &first, sizeof first);
    double idle;
    memcpy(&idle, tr_msg_data(bench_recv(&b, A_ARMED)), sizeof idle);
    bench_report_rate("timers_arm_idle", N, idle, "timers/s");
    /* arming the second batch may outlast the first's firing: any order */
    double busy = -1;
    int64_t last = 0, done = 0;
    while (busy < 0 || done < R) {
        const tr_msg *m = recv_any(&b);
        if (tr_msg_is(m, A_ARMED) && busy < 0) {
            memcpy(&busy, tr_msg_data(m), sizeof busy);
        } else if (tr_msg_is(m, A_DONE) && done < R) {
            int64_t t;
            memcpy(&t, tr_msg_data(m), sizeof t);
            if (t > last) last = t;
            done++;
        } else {
            bench_fail("driver got '%s'", tr_atom_name(tr_msg_type(m)));
        }
    }
    bench_report_rate("timers_arm", N, busy, "timers/s");
    double span = (double)(last - first_deadline) / 1e9;
    qsort(late, (size_t)N, sizeof *late, cmp_i64);
    if (late[0] < 0) bench_fail("a timer fired %lld ns early", (long long)-late[0]);
    printf("peer=troupe bench=timers_fire n=%" PRId64 " seconds=%.6f rate=%.1f unit=timers/s"
           " p50_us=%.1f p99_us=%.1f max_us=%.1f receivers=%" PRId64 "\n",
           N, span, (double)N / span, (double)late[N / 2] / 1e3,
           (double)late[N - N / 100 - 1] / 1e3, (double)late[N - 1] / 1e3, R);
    fflush(stdout);
    bench_end(&b);
    free(late);
    free(recv);
    return 0;
}
