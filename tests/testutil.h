/* testutil.h — what every troupe test file shares: a system per test, a
 * probe inbox that behaviours report to, waiting with deadlines, and the
 * teardown check that nothing leaked. */
#ifndef TROUPE_TESTUTIL_H
#define TROUPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
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
} t_env;

/* The probe's pid, for behaviours to report to (set by t_setup). */
extern tr_pid t_probe;

static inline int64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Receives the next probe message, failing the test on timeout. */
static inline const tr_msg *t_recv(t_env *e)
{
    const tr_msg *m = NULL;
    int rc = tr_inbox_recv(e->probe, &m, T_WAIT_MS);
    assert_int_equal(rc, TR_OK);
    return m;
}

/* Receives the next probe message and checks its type. */
static inline const tr_msg *t_expect(t_env *e, const char *type)
{
    const tr_msg *m = t_recv(e);
    assert_string_equal(tr_atom_name(tr_msg_type(m)), type);
    return m;
}

static inline uint64_t t_u64(const tr_msg *m)
{
    uint64_t v = 0;
    assert_true(tr_msg_size(m) >= sizeof v);
    memcpy(&v, tr_msg_data(m), sizeof v);
    return v;
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

/* Sends a string as the payload (with its NUL). */
static inline int t_report(tr_ctx *ctx, const char *type, const char *text)
{
    return tr_send(ctx, t_probe, tr_atom_from(type), text, strlen(text) + 1);
}

int t_setup(void **state);
int t_teardown(void **state);
int t_setup_workers(void **state, unsigned workers);

#endif
