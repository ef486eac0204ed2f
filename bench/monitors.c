/* monitors — one actor monitoring many (a registry, a pool manager, a
 * connection supervisor): issue 13, where removal was O(n) per monitor.
 * Usage: monitors [N]   (default 100,000)
 * Prints two lines:
 *   bench=monitors    N targets monitored by one WATCHER, then all stopped:
 *                     timed from WATCHER's first `stop` sent until it has
 *                     handled all N "tr.down" (unit downs/s);
 *   bench=demonitors  N fresh targets monitored, then all N monitors
 *                     removed with tr_demonitor: timed over the N calls
 *                     (unit demonitors/s).
 * Spawning and monitoring are not timed, nor is the targets' side of
 * tr_monitor: a monitor is a signal the target records in its own turn,
 * so before the clock starts every target answers a "sync" sent behind
 * its MONITOR (without this the timed part also held the N targets
 * recording their monitors, a cost of the monitoring, not of the downs or
 * demonitors, and one that grew with N: heap growth for the targets'
 * monitor tables). Checks: exactly N downs, each
 * for a live monitor; after each phase tr_info shows 0 monitors; no
 * "tr.down" arrives for a removed monitor although its target then ends.
 * Erlang counterpart: peers_scale.erl (same lines, peer=erlang). */
#include "bench_common.h"

static tr_atom A_STOP, A_SYNC, A_SYNCED, A_GO_DOWNS, A_GO_DEMON, A_DONE, A_DRAINED;

static int target_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (tr_msg_is(m, A_STOP)) tr_stop(ctx);
    else if (tr_msg_is(m, A_SYNC)) return tr_send(ctx, tr_msg_sender(m), A_SYNCED, NULL, 0);
    return 0;
}

static const tr_behaviour target_beh = {.name = "target", .handle = target_handle};

typedef struct watcher_args {
    tr_pid driver;
    const tr_pid *targets;
    uint64_t n;
} watcher_args;

typedef struct watcher_state {
    watcher_args a;
    tr_ref *refs;
    uint64_t downs, stray, synced;
    double t0;
    int phase; /* 1: counting downs; 2: demonitored, downs are strays */
    tr_atom next; /* the phase to time once every target is synced */
} watcher_state;

static int watcher_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    watcher_state *s = state;
    if (size != sizeof s->a) return TR_EINVAL;
    memcpy(&s->a, args, size);
    s->refs = malloc(s->a.n * sizeof *s->refs);
    return s->refs ? 0 : TR_ENOMEM;
}

static void watcher_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    (void)ctx, (void)why;
    free(((watcher_state *)state)->refs);
}

/* Monitors every target, then asks each for a "sync" answer: the
 * answers come once every target has recorded its monitor (both go the
 * same way, in order), and only then does `next` start. */
static int monitor_all(tr_ctx *ctx, watcher_state *s, tr_atom next)
{
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_monitor(ctx, s->a.targets[i], &s->refs[i]);
        if (rc) return rc;
    }
    tr_actor_info info;
    tr_info(ctx, &info);
    if (info.monitors != s->a.n) return tr_fail(ctx, "monitors: %u, want %llu", info.monitors,
                                                 (unsigned long long)s->a.n);
    s->next = next;
    s->synced = 0;
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_send(ctx, s->a.targets[i], A_SYNC, NULL, 0);
        if (rc) return rc;
    }
    return 0;
}

static int report(tr_ctx *ctx, watcher_state *s, double secs)
{
    tr_actor_info info;
    tr_info(ctx, &info);
    if (info.monitors != 0) return tr_fail(ctx, "%u monitors left", info.monitors);
    return tr_send(ctx, s->a.driver, A_DONE, &secs, sizeof secs);
}

/* The timed part of the downs phase: the first `stop` sent to the last
 * "tr.down" handled (in watcher_handle). */
static int start_downs(tr_ctx *ctx, watcher_state *s)
{
    s->phase = 1;
    s->t0 = bench_now();
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_send(ctx, s->a.targets[i], A_STOP, NULL, 0);
        if (rc) return rc;
    }
    return 0;
}

/* The demonitors phase: timed over the N calls only. */
static int run_demonitors(tr_ctx *ctx, watcher_state *s)
{
    s->phase = 2;
    double t0 = bench_now();
    for (uint64_t i = 0; i < s->a.n; i++)
        if (tr_demonitor(ctx, s->refs[i]) != TR_OK)
            return tr_fail(ctx, "demonitor %llu", (unsigned long long)i);
    double secs = bench_now() - t0;
    /* now let them end: no down may reach us */
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_send(ctx, s->a.targets[i], A_STOP, NULL, 0);
        if (rc) return rc;
    }
    return report(ctx, s, secs);
}

static int watcher_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    watcher_state *s = state;
    if (tr_msg_is(m, A_GO_DOWNS) || tr_msg_is(m, A_GO_DEMON))
        return monitor_all(ctx, s, tr_msg_type(m));
    if (tr_msg_is(m, A_SYNCED)) {
        if (++s->synced < s->a.n) return 0;
        return tr_atom_eq(s->next, A_GO_DOWNS) ? start_downs(ctx, s) : run_demonitors(ctx, s);
    }
    if (tr_msg_is(m, tr_down_atom())) {
        if (s->phase != 1) s->stray++;
        else if (++s->downs == s->a.n) return report(ctx, s, bench_now() - s->t0);
        return 0;
    }
    if (tr_msg_is(m, A_DRAINED)) /* the driver saw every target end */
        return tr_send(ctx, s->a.driver, A_DRAINED, &s->stray, sizeof s->stray);
    return tr_fail(ctx, "watcher: unexpected '%s'", tr_atom_name(tr_msg_type(m)));
}

static const tr_behaviour watcher_beh = {.name = "watcher",
                                         .state_size = sizeof(watcher_state),
                                         .init = watcher_init,
                                         .handle = watcher_handle,
                                         .terminate = watcher_terminate};

static void spawn_targets(bench *b, tr_pid *targets, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) targets[i] = bench_spawn(b, &target_beh, NULL, 0);
}

/* Waits until only `live` actors are left (the targets have ended). */
static void wait_live(bench *b, uint64_t live)
{
    tr_system_stats st;
    double end = bench_now() + 60;
    do {
        tr_system_get_stats(b->sys, &st);
        if (st.actors_live <= live) return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    } while (bench_now() < end);
    bench_fail("targets did not end: %llu live", (unsigned long long)st.actors_live);
}

int main(int argc, char **argv)
{
    uint64_t n = (uint64_t)bench_arg(argc, argv, 1, 100000);
    A_STOP = bench_atom("stop");
    A_SYNC = bench_atom("sync");
    A_SYNCED = bench_atom("synced");
    A_GO_DOWNS = bench_atom("go_downs");
    A_GO_DEMON = bench_atom("go_demonitors");
    A_DONE = bench_atom("done");
    A_DRAINED = bench_atom("drained");
    bench b = bench_start();
    tr_pid *targets = malloc(n * sizeof *targets);
    if (!targets) bench_fail("out of memory");
    tr_system_stats st;
    tr_system_get_stats(b.sys, &st);
    uint64_t base = st.actors_live;

    spawn_targets(&b, targets, n);
    watcher_args wa = {b.driver, targets, n};
    tr_pid w = bench_spawn(&b, &watcher_beh, &wa, sizeof wa);
    bench_send(&b, w, A_GO_DOWNS, NULL, 0);
    double secs;
    memcpy(&secs, tr_msg_data(bench_recv(&b, A_DONE)), sizeof secs);
    bench_report_rate("monitors", (int64_t)n, secs, "downs/s");

    wait_live(&b, base + 1);
    spawn_targets(&b, targets, n);
    bench_send(&b, w, A_GO_DEMON, NULL, 0);
    memcpy(&secs, tr_msg_data(bench_recv(&b, A_DONE)), sizeof secs);
    wait_live(&b, base + 1);
    bench_send(&b, w, A_DRAINED, NULL, 0); /* behind any down they sent */
    uint64_t stray = bench_u64(bench_recv(&b, A_DRAINED));
    if (stray) bench_fail("%llu downs after demonitor", (unsigned long long)stray);
    bench_report_rate("demonitors", (int64_t)n, secs, "demonitors/s");
    bench_end(&b);
    free(targets);
    return 0;
}
