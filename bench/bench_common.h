/* bench_common.h — what every troupe benchmark program shares: the system
 * and driver set-up, timing, result lines, failing, and small payload
 * helpers. The workloads themselves are specified in docs/benchmarks.md
 * (and bench/peers/README.md); each program mirrors the Erlang and CAF
 * versions in bench/peers/ so the numbers compare like for like.
 *
 * The driver is the main thread with a tr_inbox: the equivalent of CAF's
 * scoped_actor (a non-scheduler thread that only sleeps while it waits). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "troupe.h"

/* Same as the peers: 2 scheduler threads, matching the reference VM. */
#define BENCH_WORKERS 2u
/* How long the driver waits for one message before giving up. Generous:
 * run.sh's `timeout` is the real limit; this only turns a lost message
 * into a clean failure instead of a hang. */
#define BENCH_RECV_TIMEOUT_MS 600000
/* The driver waits in slices of this, checking in between that the system
 * still runs: no benchmark traps exits, so a failing actor ends the whole
 * tree, and the driver should say so at once rather than time out. */
#define BENCH_RECV_SLICE_MS 1000

typedef struct bench {
    tr_system *sys;
    tr_inbox *in;  /* the driver's mailbox */
    tr_pid driver; /* its pid, handed to actors in their spawn args */
} bench;

/* Prints why to stderr and exits 1; stdout stays silent, as run.sh expects
 * no result line from a failed check. */
static inline _Noreturn void bench_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline _Noreturn void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("troupe: CHECK FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    /* _Exit: worker threads may still be running; skip atexit work. */
    _Exit(1);
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* argv[i] as an integer, or `def` when absent; rejects junk and n < 1. */
static inline int64_t bench_arg(int argc, char **argv, int i, int64_t def)
{
    if (argc <= i) return def;
    char *end;
    long long v = strtoll(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || v < 1) {
        fprintf(stderr, "bad argument '%s': want a positive integer\n", argv[i]);
        exit(2);
    }
    return v;
}

static inline tr_atom bench_atom(const char *name)
{
    tr_atom a = tr_atom_from(name);
    if (a.id == 0) bench_fail("cannot intern atom %s", name);
    return a;
}

static inline bench bench_start(void)
{
    bench b = {0};
    /* long callbacks are some workloads' point (a producer sends N in one): no warnings */
    tr_system_opts opts = {.workers = BENCH_WORKERS, .long_callback_ms = -1};
    int rc = tr_system_new(&opts, &b.sys);
    if (rc != TR_OK) bench_fail("tr_system_new: %s", tr_strerror(rc));
    tr_system_stats st;
    tr_system_get_stats(b.sys, &st);
    if (st.workers != BENCH_WORKERS) bench_fail("worker count not applied");
    rc = tr_inbox_new(b.sys, &b.in);
    if (rc != TR_OK) bench_fail("tr_inbox_new: %s", tr_strerror(rc));
    b.driver = tr_inbox_pid(b.in);
    return b;
}

/* Untimed. Destroying the system stops every actor still alive. */
static inline void bench_end(bench *b)
{
    tr_inbox_destroy(&b->in);
    tr_system_destroy(&b->sys);
}

/* The driver's blocking receive: the next message, which must be `type`.
 * Whenever a slice passes without one, it checks that the system still
 * runs, and calls `alive(arg)` (if given) for checks of the workload's own
 * (which end the run with bench_fail). */
static inline const tr_msg *bench_recv_checked(bench *b, tr_atom type, void (*alive)(bench *, void *),
                                               void *arg)
{
    const tr_msg *m;
    int rc;
    int64_t waited = 0;
    while ((rc = tr_inbox_recv(b->in, &m, BENCH_RECV_SLICE_MS)) == TR_ETIMEDOUT) {
        if (tr_system_wait(b->sys, 0) != TR_ETIMEDOUT)
            bench_fail("the actor system ended:\n%s", tr_system_report(b->sys));
        if (alive) alive(b, arg);
        waited += BENCH_RECV_SLICE_MS;
        if (waited >= BENCH_RECV_TIMEOUT_MS) break;
    }
    if (rc != TR_OK) bench_fail("driver receive: %s", tr_strerror(rc));
    if (!tr_msg_is(m, type))
        bench_fail("driver got '%s', expected '%s'", tr_atom_name(tr_msg_type(m)),
                   tr_atom_name(type));
    return m;
}

static inline const tr_msg *bench_recv(bench *b, tr_atom type)
{
    return bench_recv_checked(b, type, NULL, NULL);
}

static inline void bench_send(bench *b, tr_pid to, tr_atom type, const void *data, size_t size)
{
    int rc = tr_inbox_send(b->in, to, type, data, size);
    if (rc != TR_OK) bench_fail("driver send: %s", tr_strerror(rc));
}

static inline tr_pid bench_spawn(bench *b, const tr_behaviour *beh, const void *args,
                                 size_t args_size)
{
    tr_spawn_opts opts = {.args = args, .args_size = args_size};
    tr_pid pid;
    int rc = tr_system_spawn(b->sys, beh, &opts, &pid);
    if (rc != TR_OK) bench_fail("spawn %s: %s", beh->name, tr_strerror(rc));
    return pid;
}

/* A message's payload as the one uint64_t most workloads carry. */
static inline uint64_t bench_u64(const tr_msg *m)
{
    uint64_t v = 0;
    if (tr_msg_size(m) == sizeof v) memcpy(&v, tr_msg_data(m), sizeof v);
    return v;
}

/* Copies spawn args into the actor's state, checking the size: the usual
 * init of these benchmarks, whose state starts as a copy of the args. */
static inline int bench_init_copy(void *state, size_t state_size, const void *args,
                                  size_t args_size)
{
    if (args_size != state_size) return TR_EINVAL;
    memcpy(state, args, args_size);
    return 0;
}

static inline void bench_report_rate(const char *name, int64_t n, double secs, const char *unit)
{
    printf("peer=troupe bench=%s n=%" PRId64 " seconds=%.6f rate=%.1f unit=%s\n", name, n, secs,
           (double)n / secs, unit);
    fflush(stdout);
}

static inline void bench_report_mem(const char *name, int64_t n, double secs,
                                    int64_t bytes_per_actor)
{
    printf("peer=troupe bench=%s n=%" PRId64 " seconds=%.6f bytes_per_actor=%" PRId64
           " unit=bytes\n",
           name, n, secs, bytes_per_actor);
    fflush(stdout);
}

#endif
