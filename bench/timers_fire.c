/* timers_fire — many one-shot timers firing at a high rate, and arming
 * while they fire (issue 13: the timer service fell behind at 500k/s).
 * Usage: timers_fire [N]   (default 1,000,000)
 * ARMER arms N one-shot timers to receiver A, timer i due 3000 + 2000*i/N
 * ms after it is armed (so they fire over about 2 s, starting 3 s on); when
 * A gets its first tick, it asks ARMER to arm N more the same way, to
 * receiver B, while A's keep firing. Each tick carries its deadline
 * (CLOCK_MONOTONIC ns at arming + the delay); the receiver records how late
 * it handled it. Prints three lines:
 *   bench=timers_arm_idle  arming the first N (nothing fires meanwhile)
 *   bench=timers_arm       arming the second N while the first N fire
 *   bench=timers_fire      the first N fired: seconds from the first
 *                          deadline to the last tick handled, rate in
 *                          timers/s, and their lateness p50_us= p99_us=
 *                          max_us= (handled - deadline)
 * B's timers are not waited for (the system is destroyed, cancelling them).
 * Check: A receives exactly N ticks, none early.
 * Erlang counterpart: peers_scale.erl (same lines, peer=erlang). */
#include "bench_common.h"

#define AHEAD_MS 3000
#define SPREAD_MS 2000

static tr_atom A_ARM, A_TICK, A_ARMED, A_FIRED;
static int64_t N;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ARMER: arm(to) arms N timers to `to`, reports the seconds it took. */
typedef struct armer_state {
    tr_pid driver;
} armer_state;

static int armer_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    return bench_init_copy(state, sizeof(armer_state), args, size);
}

static int armer_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    armer_state *s = state;
    if (!tr_msg_is(m, A_ARM)) return tr_fail(ctx, "armer: unexpected");
    tr_pid to;
    memcpy(&to, tr_msg_data(m), sizeof to);
    double t0 = bench_now();
    for (int64_t i = 0; i < N; i++) {
        int64_t delay = AHEAD_MS + SPREAD_MS * i / N;
        int64_t deadline = mono_ns() + delay * 1000000;
        int rc = tr_send_after(ctx, to, delay, A_TICK, &deadline, sizeof deadline, NULL);
        if (rc) return rc;
    }
    double secs = bench_now() - t0;
    return tr_send(ctx, s->driver, A_ARMED, &secs, sizeof secs);
}

static const tr_behaviour armer_beh = {.name = "armer",
                                       .state_size = sizeof(armer_state),
                                       .init = armer_init,
                                       .handle = armer_handle};

/* RECEIVER: records the lateness of every tick; the first one asks the
 * armer (if any) for the next batch; the N-th reports. */
typedef struct recv_args {
    tr_pid driver, armer_next, next_to;
} recv_args;

typedef struct fired {
    double secs;
    int64_t *late;
} fired;

typedef struct recv_state {
    recv_args a;
    int64_t *late;
    int64_t k, first_deadline;
} recv_state;

static int recv_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    recv_state *s = state;
    if (size != sizeof s->a) return TR_EINVAL;
    memcpy(&s->a, args, size);
    s->late = malloc((size_t)N * sizeof *s->late);
    return s->late ? 0 : TR_ENOMEM;
}

static void recv_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    (void)ctx, (void)why;
    free(((recv_state *)state)->late);
}

static int recv_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    recv_state *s = state;
    if (!tr_msg_is(m, A_TICK) || s->k >= N) return tr_fail(ctx, "receiver: unexpected");
    int64_t now = mono_ns(), deadline;
    memcpy(&deadline, tr_msg_data(m), sizeof deadline);
    if (s->k == 0) {
        s->first_deadline = deadline;
        if (!tr_pid_is_nil(s->a.armer_next)) {
            int rc = tr_send(ctx, s->a.armer_next, A_ARM, &s->a.next_to, sizeof s->a.next_to);
            if (rc) return rc;
        }
    }
    s->late[s->k++] = now - deadline;
    if (s->k < N) return 0;
    fired f = {(double)(now - s->first_deadline) / 1e9, s->late};
    s->late = NULL; /* the driver's now: it sorts and frees it */
    return tr_send(ctx, s->a.driver, A_FIRED, &f, sizeof f);
}

static const tr_behaviour recv_beh = {.name = "receiver",
                                      .state_size = sizeof(recv_state),
                                      .init = recv_init,
                                      .handle = recv_handle,
                                      .terminate = recv_terminate};

/* The next message to the driver, whatever its type. */
static const tr_msg *bench_recv_any(bench *b)
{
    const tr_msg *m;
    int rc;
    while ((rc = tr_inbox_recv(b->in, &m, BENCH_RECV_SLICE_MS)) == TR_ETIMEDOUT)
        if (tr_system_wait(b->sys, 0) != TR_ETIMEDOUT)
            bench_fail("the actor system ended:\n%s", tr_system_report(b->sys));
    if (rc != TR_OK) bench_fail("driver receive: %s", tr_strerror(rc));
    return m;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double recv_secs(bench *b, tr_atom type)
{
    double secs;
    memcpy(&secs, tr_msg_data(bench_recv(b, type)), sizeof secs);
    return secs;
}

int main(int argc, char **argv)
{
    N = bench_arg(argc, argv, 1, 1000000);
    A_ARM = bench_atom("arm");
    A_TICK = bench_atom("tick");
    A_ARMED = bench_atom("armed");
    A_FIRED = bench_atom("fired");
    bench b = bench_start();
    armer_state as = {b.driver};
    tr_pid armer = bench_spawn(&b, &armer_beh, &as, sizeof as);
    recv_args rb = {b.driver, TR_PID_NIL, TR_PID_NIL};
    tr_pid recv_b = bench_spawn(&b, &recv_beh, &rb, sizeof rb);
    recv_args ra = {b.driver, armer, recv_b};
    tr_pid recv_a = bench_spawn(&b, &recv_beh, &ra, sizeof ra);

    bench_send(&b, armer, A_ARM, &recv_a, sizeof recv_a);
    double idle = recv_secs(&b, A_ARMED);
    bench_report_rate("timers_arm_idle", N, idle, "timers/s");
    /* arming the second batch may outlast the first's firing: either order */
    double busy = 0;
    fired f = {0, NULL};
    for (int got = 0; got < 2; got++) {
        const tr_msg *m = bench_recv_any(&b);
        if (tr_msg_is(m, A_ARMED) && busy == 0) memcpy(&busy, tr_msg_data(m), sizeof busy);
        else if (tr_msg_is(m, A_FIRED) && !f.late) memcpy(&f, tr_msg_data(m), sizeof f);
        else bench_fail("driver got '%s'", tr_atom_name(tr_msg_type(m)));
    }
    bench_report_rate("timers_arm", N, busy, "timers/s");
    double span = f.secs;
    int64_t *late = f.late;
    qsort(late, (size_t)N, sizeof *late, cmp_i64);
    if (late[0] < 0) bench_fail("a timer fired %lld ns early", (long long)-late[0]);
    printf("peer=troupe bench=timers_fire n=%" PRId64 " seconds=%.6f rate=%.1f unit=timers/s"
           " p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
           N, span, (double)N / span, (double)late[N / 2] / 1e3,
           (double)late[N - N / 100 - 1] / 1e3, (double)late[N - 1] / 1e3);
    fflush(stdout);
    free(late);
    bench_end(&b);
    return 0;
}
