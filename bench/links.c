/* links — one actor linked with many, which then all end (issue 13: links
 * share the monitors' sets, where removal was O(n) per link). Not a peer
 * workload and not in run.sh: a check that links cost O(1) each, to run by
 * hand at several sizes (docs/benchmarks.md, "monitors").
 * Usage: links [N]   (default 100,000)
 * Prints two lines:
 *   bench=links    N targets linked with one HUB that traps exits, then all
 *                  stopped: timed from HUB's first `stop` sent until it has
 *                  handled all N "tr.exit" (unit exits/s);
 *   bench=unlinks  N fresh targets linked, then all N links removed with
 *                  tr_unlink: timed over the N calls (unit unlinks/s).
 * Spawning and linking are not timed, nor is the targets' side of tr_link
 * (a signal each records in its own turn): every target answers a "sync"
 * sent behind its LINK before the clock starts, as in bench/monitors.c.
 * Checks: exactly N exits, each from a target; tr_info shows 0 links after
 * each phase; no exit arrives for a removed link although its target then
 * ends. */
#include "bench_common.h"

static tr_atom A_STOP, A_SYNC, A_SYNCED, A_GO_EXITS, A_GO_UNLINK, A_DONE, A_DRAINED;

static int target_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (tr_msg_is(m, A_STOP)) tr_stop(ctx);
    else if (tr_msg_is(m, A_SYNC)) return tr_send(ctx, tr_msg_sender(m), A_SYNCED, NULL, 0);
    return 0;
}

static const tr_behaviour target_beh = {.name = "target", .handle = target_handle};

typedef struct hub_args {
    tr_pid driver;
    const tr_pid *targets;
    uint64_t n;
} hub_args;

typedef struct hub_state {
    hub_args a;
    uint64_t exits, stray, synced;
    double t0;
    int phase;    /* 1: counting exits; 2: unlinked, exits are strays */
    tr_atom next; /* the phase to time once every target is synced */
} hub_state;

static int hub_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    hub_state *s = state;
    if (size != sizeof s->a) return TR_EINVAL;
    memcpy(&s->a, args, size);
    tr_trap_exits(ctx, true);
    return 0;
}

static int links_left(tr_ctx *ctx, uint32_t want)
{
    tr_actor_info info;
    tr_info(ctx, &info);
    if (info.links != want) return tr_fail(ctx, "links: %u, want %u", info.links, want);
    return 0;
}

/* Links every target, then asks each for a "sync" answer (behind its
 * LINK, so it has recorded the link when it answers). */
static int link_all(tr_ctx *ctx, hub_state *s, tr_atom next)
{
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_link(ctx, s->a.targets[i]);
        if (rc) return rc;
    }
    int rc = links_left(ctx, (uint32_t)s->a.n);
    if (rc) return rc;
    s->next = next;
    s->synced = 0;
    for (uint64_t i = 0; i < s->a.n; i++)
        if ((rc = tr_send(ctx, s->a.targets[i], A_SYNC, NULL, 0))) return rc;
    return 0;
}

static int report(tr_ctx *ctx, hub_state *s, double secs)
{
    int rc = links_left(ctx, 0);
    if (rc) return rc;
    return tr_send(ctx, s->a.driver, A_DONE, &secs, sizeof secs);
}

static int start_exits(tr_ctx *ctx, hub_state *s)
{
    s->phase = 1;
    s->t0 = bench_now();
    for (uint64_t i = 0; i < s->a.n; i++) {
        int rc = tr_send(ctx, s->a.targets[i], A_STOP, NULL, 0);
        if (rc) return rc;
    }
    return 0;
}

static int run_unlinks(tr_ctx *ctx, hub_state *s)
{
    s->phase = 2;
    double t0 = bench_now();
    for (uint64_t i = 0; i < s->a.n; i++)
        if (tr_unlink(ctx, s->a.targets[i]) != TR_OK)
            return tr_fail(ctx, "unlink %llu", (unsigned long long)i);
    double secs = bench_now() - t0;
    for (uint64_t i = 0; i < s->a.n; i++) { /* no exit may reach us now */
        int rc = tr_send(ctx, s->a.targets[i], A_STOP, NULL, 0);
        if (rc) return rc;
    }
    return report(ctx, s, secs);
}

static int hub_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    hub_state *s = state;
    if (tr_msg_is(m, A_GO_EXITS) || tr_msg_is(m, A_GO_UNLINK))
        return link_all(ctx, s, tr_msg_type(m));
    if (tr_msg_is(m, A_SYNCED)) {
        if (++s->synced < s->a.n) return 0;
        return tr_atom_eq(s->next, A_GO_EXITS) ? start_exits(ctx, s) : run_unlinks(ctx, s);
    }
    if (tr_msg_is(m, tr_exit_atom())) {
        if (s->phase != 1) s->stray++;
        else if (++s->exits == s->a.n) return report(ctx, s, bench_now() - s->t0);
        return 0;
    }
    if (tr_msg_is(m, A_DRAINED)) /* the driver saw every target end */
        return tr_send(ctx, s->a.driver, A_DRAINED, &s->stray, sizeof s->stray);
    return tr_fail(ctx, "hub: unexpected '%s'", tr_atom_name(tr_msg_type(m)));
}

static const tr_behaviour hub_beh = {
    .name = "hub", .state_size = sizeof(hub_state), .init = hub_init, .handle = hub_handle};

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
    A_GO_EXITS = bench_atom("go_exits");
    A_GO_UNLINK = bench_atom("go_unlinks");
    A_DONE = bench_atom("done");
    A_DRAINED = bench_atom("drained");
    bench b = bench_start();
    tr_pid *targets = malloc(n * sizeof *targets);
    if (!targets) bench_fail("out of memory");
    tr_system_stats st;
    tr_system_get_stats(b.sys, &st);
    uint64_t base = st.actors_live;

    spawn_targets(&b, targets, n);
    hub_args ha = {b.driver, targets, n};
    tr_pid hub = bench_spawn(&b, &hub_beh, &ha, sizeof ha);
    bench_send(&b, hub, A_GO_EXITS, NULL, 0);
    double secs;
    memcpy(&secs, tr_msg_data(bench_recv(&b, A_DONE)), sizeof secs);
    bench_report_rate("links", (int64_t)n, secs, "exits/s");

    wait_live(&b, base + 1);
    spawn_targets(&b, targets, n);
    bench_send(&b, hub, A_GO_UNLINK, NULL, 0);
    memcpy(&secs, tr_msg_data(bench_recv(&b, A_DONE)), sizeof secs);
    wait_live(&b, base + 1);
    bench_send(&b, hub, A_DRAINED, NULL, 0); /* behind any exit they sent */
    uint64_t stray = bench_u64(bench_recv(&b, A_DRAINED));
    if (stray) bench_fail("%llu exits after unlink", (unsigned long long)stray);
    bench_report_rate("unlinks", (int64_t)n, secs, "unlinks/s");
    bench_end(&b);
    free(targets);
    return 0;
}
