/* idle_memory — resident memory per idle actor.
 * Usage: idle_memory [N]   (default 1,000,000)
 * RSS0, then (timed) N actors spawned in batches of 10,000: each batch gets
 * a `ping` per actor and the driver waits for all its `pong`s, so every
 * actor has run and sits idle with an empty mailbox, and in-flight messages
 * stay bounded. Then RSS1; bytes_per_actor = (RSS1 - RSS0) / N. The driver
 * keeps all N pids in an array grown as it goes, so that array is counted,
 * as the peers' pid lists/vectors are. */
#include "bench_common.h"

#define BATCH 10000

static tr_atom A_PING, A_PONG;

/* IDLE: answers `ping` with `pong`, otherwise waits. */
static int idle_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is(m, A_PING)) return tr_fail(ctx, "idle: unexpected message");
    return tr_send(ctx, tr_msg_sender(m), A_PONG, NULL, 0);
}

static const tr_behaviour idle_beh = {.name = "idle", .handle = idle_handle};

/* VmRSS of this process in bytes, -1 if unreadable. */
static int64_t vm_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int64_t kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 1000000);
    A_PING = bench_atom("ping");
    A_PONG = bench_atom("pong");
    bench b = bench_start();
    /* Reserved, not touched: its pages are faulted in (and counted) as the
     * pids are stored, like a reserved std::vector in the CAF version. */
    tr_pid *pids = malloc((size_t)n * sizeof *pids);
    if (!pids) bench_fail("out of memory");

    int64_t rss0 = vm_rss_bytes();
    double t0 = bench_now();
    int64_t pongs = 0;
    for (int64_t base = 0; base < n; base += BATCH) {
        int64_t end = base + BATCH < n ? base + BATCH : n;
        for (int64_t i = base; i < end; i++) {
            pids[i] = bench_spawn(&b, &idle_beh, NULL, 0);
            bench_send(&b, pids[i], A_PING, NULL, 0);
        }
        for (int64_t i = base; i < end; i++) {
            bench_recv(&b, A_PONG);
            pongs++;
        }
    }
    double t1 = bench_now();
    int64_t rss1 = vm_rss_bytes();

    if (pongs != n || rss0 < 0 || rss1 < 0)
        bench_fail("idle_memory: %" PRId64 " of %" PRId64 " answered, or VmRSS unreadable", pongs, n);
    bench_report_mem("idle_memory", n, t1 - t0, (rss1 - rss0) / n);
    bench_end(&b); /* stops every actor (untimed) */
    free(pids);
    return 0;
}
