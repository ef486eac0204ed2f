/* testutil.h — what every troupe test file shares: a system per test, a
 * probe inbox that behaviours report to, waiting with deadlines, gates for
 * behaviours that hold a worker, and the teardown check that nothing
 * leaked.
 *
 * Two rules the helpers exist to keep:
 *  - No assertion on a worker thread (a cmocka failure there longjmps out
 *    of a thread cmocka does not own: undefined behaviour). Behaviours send
 *    what they saw to the probe (t_report*, T_CHECK) and the test thread
 *    asserts; a "t.fail" report fails the test when t_recv meets it.
 *  - A failing test releases every worker it holds: a behaviour that plays
 *    a busy actor spins on a t_gate, and t_teardown opens every gate, so
 *    one failure does not leave the file hanging until meson's timeout. */
#ifndef TROUPE_TESTUTIL_H
#define TROUPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sched.h>

#include <cmocka.h>

#include "troupe.h"

/* Generous: a deadline only matters when a test is about to fail. */
#define T_WAIT_MS 10000

typedef struct t_env {
    tr_system *sys;
    tr_inbox *probe;
    tr_clock *clock; /* the system's manual clock (t_setup_clock), or NULL */
} t_env;

/* The probe's pid, for behaviours to report to (set by t_setup). */
extern tr_pid t_probe;

static inline int64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether valgrind runs this test (its preload library is in LD_PRELOAD):
 * threads then take turns on one lock and time means little, so bounds
 * on time or on memory that valgrind itself adds are not asserted. */
static inline bool t_under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* The type of a failed worker-side check (T_CHECK): t_recv fails on it. */
#define T_FAIL_TYPE "t.fail"

/* Receives the next probe message, failing the test on timeout or when a
 * behaviour reported a failed check. */
static inline const tr_msg *t_recv(t_env *e)
{
    const tr_msg *m = NULL;
    int rc = tr_inbox_recv(e->probe, &m, T_WAIT_MS);
    if (rc != TR_OK) fail_msg("no probe message within %d ms (%s)", T_WAIT_MS, tr_strerror(rc));
    if (strcmp(tr_atom_name(tr_msg_type(m)), T_FAIL_TYPE) == 0)
        fail_msg("a behaviour's check failed: %s", (const char *)tr_msg_data(m));
    return m;
}

/* Receives the next probe message and checks its type. */
static inline const tr_msg *t_expect(t_env *e, const char *type)
{
    const tr_msg *m = t_recv(e);
    assert_string_equal(tr_atom_name(tr_msg_type(m)), type);
    return m;
}

/* Asserts that no probe message is waiting now (nothing is waited for:
 * use it after a round trip that proves what had to arrive has). */
static inline void t_expect_none(t_env *e)
{
    const tr_msg *m = NULL;
    int rc = tr_inbox_recv(e->probe, &m, 0);
    if (rc == TR_OK)
        fail_msg("unexpected probe message \"%s\"", tr_atom_name(tr_msg_type(m)));
    assert_int_equal(rc, TR_ETIMEDOUT);
}

static inline uint64_t t_u64(const tr_msg *m)
{
    uint64_t v = 0;
    assert_true(tr_msg_size(m) >= sizeof v);
    memcpy(&v, tr_msg_data(m), sizeof v);
    return v;
}

static inline int t_int(const tr_msg *m)
{
    int v = 0;
    assert_int_equal(tr_msg_size(m), sizeof v);
    memcpy(&v, tr_msg_data(m), sizeof v);
    return v;
}

static inline tr_pid t_pidv(const tr_msg *m)
{
    tr_pid v = TR_PID_NIL;
    assert_int_equal(tr_msg_size(m), sizeof v);
    memcpy(&v, tr_msg_data(m), sizeof v);
    return v;
}

/* t_expect and the payload read as one value, or checked as a string. */
static inline int t_expect_int(t_env *e, const char *type) { return t_int(t_expect(e, type)); }
static inline uint64_t t_expect_u64(t_env *e, const char *type) { return t_u64(t_expect(e, type)); }
static inline tr_pid t_expect_pid(t_env *e, const char *type) { return t_pidv(t_expect(e, type)); }
static inline void t_expect_str(t_env *e, const char *type, const char *want)
{
    const tr_msg *m = t_expect(e, type);
    assert_true(tr_msg_size(m) > 0);
    assert_string_equal((const char *)tr_msg_data(m), want);
}

/* Polls a counter until it reaches `want` or the deadline passes; for the
 * few facts no message announces (dead letters counted by a consumer). */
static inline uint64_t t_wait_dead_letters(tr_system *sys, uint64_t want)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    tr_system_stats st;
    do {
        tr_system_get_stats(sys, &st);
        if (st.dead_letters >= want) break;
        sched_yield();
    } while (t_now_ms() < end);
    return st.dead_letters;
}

/* Polls until exactly `want` actors are live or the deadline passes: an
 * actor's terminate reports before its end is counted. */
static inline uint64_t t_wait_live(tr_system *sys, uint64_t want)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    tr_system_stats st;
    do {
        tr_system_get_stats(sys, &st);
        if (st.actors_live == want) break;
        sched_yield();
    } while (t_now_ms() < end);
    return st.actors_live;
}

/* --------------------------------------------- reporting from behaviours */

/* Sends a string as the payload (with its NUL). */
static inline int t_report(tr_ctx *ctx, const char *type, const char *text)
{
    return tr_send(ctx, t_probe, tr_atom_from(type), text, strlen(text) + 1);
}

/* Sends `size` bytes of a value (an int, a pid, a struct) as the payload:
 * what a behaviour saw, for the test thread to assert on. */
static inline int t_report_val(tr_ctx *ctx, const char *type, const void *v, size_t size)
{
    return tr_send(ctx, t_probe, tr_atom_from(type), v, size);
}

static inline int t_report_int(tr_ctx *ctx, const char *type, int v)
{
    return t_report_val(ctx, type, &v, sizeof v);
}

static inline int t_report_u64(tr_ctx *ctx, const char *type, uint64_t v)
{
    return t_report_val(ctx, type, &v, sizeof v);
}

/* Reports a failed check as "t.fail" ("file:line: text"), from any thread
 * (it goes through tr_system_send, so it also works for an actor whose own
 * sends no longer take effect). Returns TR_EFAILED. */
int t_report_fail(tr_system *sys, const char *file, int line, const char *text);

/* The worker-side assertion: evaluates to whether `cond` holds; when it
 * does not, reports it to the probe, where t_recv fails the test. Use it
 * as `if (!T_CHECK(ctx, x == 1)) return TR_EFAILED;` when going on makes
 * no sense. */
#define T_CHECK(ctx, cond)                                                                    \
    ((cond) ? true : (t_report_fail(tr_ctx_system(ctx), __FILE__, __LINE__, #cond), false))

/* ------------------------------------------------------------------ gates */

/* A gate a behaviour spins on to hold its worker (a busy actor, one stuck
 * in a callback); the test opens it. Gates are registered while closed:
 * t_teardown opens all of them before it destroys the system, so a test
 * that failed while a worker was held still ends (and the next test of the
 * file runs). Static storage: a gate must outlive the callbacks spinning
 * on it. */
typedef struct t_gate {
    _Atomic int open;
    _Atomic int waiting; /* callbacks spinning on it now */
} t_gate;

/* Closes `g` and registers it for teardown. Test thread. */
void t_gate_init(t_gate *g);
/* Opens `g`: spinning callbacks return. Any thread. */
void t_gate_open(t_gate *g);
/* Spins (yielding) until `g` is opened; for behaviours. Returns at once
 * when it is open already. */
void t_gate_wait(t_gate *g);
/* Opens every registered gate and forgets them (t_teardown calls it). */
void t_gates_open_all(void);

/* --------------------------------------------------------------- setups */

int t_setup(void **state);
int t_teardown(void **state);
int t_setup_workers(void **state, unsigned workers);
/* A 2-worker system on a fresh manual clock (e->clock): time moves only
 * when the test calls tr_clock_advance. */
int t_setup_clock(void **state);
/* A system built from `opts` (its clock, if any, becomes e->clock and is
 * destroyed by t_teardown). */
int t_setup_opts(void **state, const tr_system_opts *opts);

/* -------------------------------------------------------------- peeking */

/* Senders of `sys` now waiting for room in a full TR_FULL_BLOCK mailbox
 * (an internal counter: the one fact that proves a sender is blocked). */
int t_blocked_senders(tr_system *sys);

/* Threads of this process now (from /proc), or -1 if unknown. */
int t_threads(void);

#endif
