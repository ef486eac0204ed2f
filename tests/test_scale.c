/* test_scale.c — issue 13: monitors, links and timers by the ten thousand,
 * counted exactly; the timing wheel against a brute-force model; the two
 * timer fixes (an interval with an empty payload; a 0 ms timer into a full
 * mailbox). Behaviours report to the probe; only the test thread asserts. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../actors/peer_set.h"
#include "../actors/timer_wheel.h"
#include "../actors/timers_debug.h"
#include "testutil.h"

#define N_PEERS 12000

/* ------------------------------------------------------------ lookups */

/* (key, index) pairs sorted by key: which of the n a ref or a serial is. */
typedef struct keyed {
    uint64_t key;
    uint32_t index;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    uint64_t x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return (x > y) - (x < y);
}

static long find_keyed(const keyed *v, uint32_t n, uint64_t key)
{
    keyed k = {key, 0};
    const keyed *p = bsearch(&k, v, n, sizeof *v, cmp_keyed);
    return p ? (long)p->index : -1;
}

typedef struct many {
    const tr_pid *pids;
    uint32_t n;
} many;

/* ----------------------------------------------------------- targets */

static int target_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("stop"))) tr_stop(ctx);
    if (tr_msg_is(m, tr_atom_from("fail"))) return tr_fail(ctx, "told to");
    return 0;
}

static const tr_behaviour target_b = {"target", 0, NULL, target_handle, NULL};

static void spawn_targets(t_env *e, tr_pid *pids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(tr_system_spawn(e->sys, &target_b, NULL, &pids[i]), TR_OK);
}

static tr_actor_info inspect(t_env *e, tr_pid pid)
{
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, pid, &info, T_WAIT_MS), TR_OK);
    return info;
}

/* ---------------------------------------------------------- monitors */

typedef struct watch_report {
    uint64_t count, dups, unknown, mismatched, left;
} watch_report;

typedef struct watcher {
    many t;
    keyed *by_ref;
    uint8_t *seen;
    tr_ref *refs;
    watch_report r;
    uint64_t stray;
    int phase; /* 1: downs expected */
} watcher;

static uint32_t monitors_now(tr_ctx *ctx)
{
    tr_actor_info info;
    tr_info(ctx, &info);
    return info.monitors;
}

static void watcher_report(tr_ctx *ctx, watcher *s, const char *as)
{
    s->r.left = monitors_now(ctx);
    tr_send(ctx, t_probe, tr_atom_from(as), &s->r, sizeof s->r);
}

static int watcher_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    watcher *s = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "watch") == 0) {
        memcpy(&s->t, tr_msg_data(m), sizeof s->t);
        s->by_ref = malloc(s->t.n * sizeof *s->by_ref);
        s->seen = calloc(s->t.n, 1);
        s->refs = malloc(s->t.n * sizeof *s->refs);
        if (!s->by_ref || !s->seen || !s->refs) return TR_ENOMEM;
        for (uint32_t i = 0; i < s->t.n; i++) {
            int rc = tr_monitor(ctx, s->t.pids[i], &s->refs[i]);
            if (rc) return rc;
            s->by_ref[i] = (keyed){s->refs[i].id, i};
        }
        qsort(s->by_ref, s->t.n, sizeof *s->by_ref, cmp_keyed);
        s->r = (watch_report){0};
        watcher_report(ctx, s, "watching");
        return 0;
    }
    if (strcmp(t, "stopall") == 0) {
        s->phase = 1;
        for (uint32_t i = 0; i < s->t.n; i++) tr_send(ctx, s->t.pids[i], tr_atom_from("stop"), NULL, 0);
        return 0;
    }
    if (strcmp(t, "demon") == 0) { /* odd ones, then even ones, then all again */
        s->r = (watch_report){0};
        for (uint32_t pass = 0; pass < 2; pass++)
            for (uint32_t i = 1 - pass; i < s->t.n; i += 2)
                s->r.count += tr_demonitor(ctx, s->refs[i]) == TR_OK;
        for (uint32_t i = 0; i < s->t.n; i++) s->r.dups += tr_demonitor(ctx, s->refs[i]) == TR_ENOENT;
        watcher_report(ctx, s, "demoned");
        return 0;
    }
    if (strcmp(t, "report") == 0)
        return tr_send(ctx, t_probe, tr_atom_from("strays"), &s->stray, sizeof s->stray);
    if (tr_msg_is(m, tr_down_atom())) {
        if (s->phase != 1) {
            s->stray++;
            return 0;
        }
        long i = find_keyed(s->by_ref, s->t.n, tr_msg_ref(m).id);
        tr_pid who;
        tr_exit why;
        if (i < 0) s->r.unknown++;
        else if (s->seen[i]) s->r.dups++;
        else {
            s->seen[i] = 1;
            if (tr_exit_decode(m, &who, &why) != TR_OK || !tr_pid_eq(who, s->t.pids[i]) ||
                why.kind != TR_EXIT_NORMAL)
                s->r.mismatched++;
        }
        if (++s->r.count == s->t.n) watcher_report(ctx, s, "downs");
        return 0;
    }
    return 0;
}

static void watcher_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)ctx, (void)why;
    watcher *s = vs;
    free(s->by_ref);
    free(s->seen);
    free(s->refs);
}

static const tr_behaviour watcher_b = {"watcher", sizeof(watcher), NULL, watcher_handle,
                                       watcher_terminate};

static watch_report expect_report(t_env *e, const char *type)
{
    watch_report r;
    const tr_msg *m = t_expect(e, type);
    assert_int_equal(tr_msg_size(m), sizeof r);
    memcpy(&r, tr_msg_data(m), sizeof r);
    return r;
}

static tr_pid watch(t_env *e, tr_pid *pids, uint32_t n)
{
    tr_pid w;
    assert_int_equal(tr_system_spawn(e->sys, &watcher_b, NULL, &w), TR_OK);
    many arg = {pids, n};
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("watch"), &arg, sizeof arg), TR_OK);
    watch_report r = expect_report(e, "watching");
    assert_int_equal(r.left, n);
    return w;
}

/* One actor monitors 12,000; they all stop: exactly one "tr.down" each,
 * with the right ref, pid and reason, and no monitor left on either side. */
static void test_many_monitors_fire(void **state)
{
    t_env *e = *state;
    tr_pid *pids = malloc(N_PEERS * sizeof *pids);
    spawn_targets(e, pids, N_PEERS);
    tr_pid w = watch(e, pids, N_PEERS);
    assert_int_equal(inspect(e, pids[0]).watchers, 1);
    assert_int_equal(inspect(e, pids[N_PEERS - 1]).watchers, 1);
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("stopall"), NULL, 0), TR_OK);
    watch_report r = expect_report(e, "downs");
    assert_int_equal(r.count, N_PEERS);
    assert_int_equal(r.dups, 0);
    assert_int_equal(r.unknown, 0);
    assert_int_equal(r.mismatched, 0);
    assert_int_equal(r.left, 0);
    assert_int_equal(inspect(e, w).monitors, 0);
    free(pids);
}

/* 12,000 monitors removed in an interleaved order: each once, none twice,
 * the targets' side emptied too, and no "tr.down" once they all end. */
static void test_many_demonitors(void **state)
{
    t_env *e = *state;
    tr_pid *pids = malloc(N_PEERS * sizeof *pids);
    spawn_targets(e, pids, N_PEERS);
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    uint64_t live = st.actors_live - N_PEERS;
    tr_pid w = watch(e, pids, N_PEERS);
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("demon"), NULL, 0), TR_OK);
    watch_report r = expect_report(e, "demoned");
    assert_int_equal(r.count, N_PEERS);
    assert_int_equal(r.dups, N_PEERS); /* the second round: TR_ENOENT each */
    assert_int_equal(r.left, 0);
    assert_int_equal(inspect(e, pids[0]).watchers, 0);
    assert_int_equal(inspect(e, pids[N_PEERS / 2]).watchers, 0);
    for (uint32_t i = 0; i < N_PEERS; i++)
        assert_int_equal(tr_inbox_send(e->probe, pids[i], tr_atom_from("stop"), NULL, 0), TR_OK);
    assert_int_equal(t_wait_live(e->sys, live + 1), live + 1);
    assert_int_equal(tr_inbox_send(e->probe, w, tr_atom_from("report"), NULL, 0), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "strays")), 0);
    free(pids);
}

/* Two watchers of one target whose refs are equal (each actor numbers its
 * own): the target tells them apart by (watcher, ref). */
static void test_colliding_refs(void **state)
{
    t_env *e = *state;
    tr_pid target;
    spawn_targets(e, &target, 1);
    tr_pid w1 = watch(e, &target, 1), w2 = watch(e, &target, 1);
    assert_int_equal(inspect(e, target).watchers, 2);
    assert_int_equal(tr_inbox_send(e->probe, w1, tr_atom_from("demon"), NULL, 0), TR_OK);
    assert_int_equal(expect_report(e, "demoned").count, 1);
    assert_int_equal(inspect(e, target).watchers, 1);
    assert_int_equal(tr_inbox_send(e->probe, w2, tr_atom_from("stopall"), NULL, 0), TR_OK);
    watch_report r = expect_report(e, "downs");
    assert_int_equal(r.count, 1);
    assert_int_equal(r.mismatched + r.unknown + r.dups, 0);
    assert_int_equal(tr_inbox_send(e->probe, w1, tr_atom_from("report"), NULL, 0), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "strays")), 0);
}

/* ------------------------------------------------------------- links */

/* Spawns the targets under itself and traps their exits, so that their
 * failures stop here. */
static int guard_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (!tr_msg_is(m, tr_atom_from("spawn"))) return 0;
    many arg;
    memcpy(&arg, tr_msg_data(m), sizeof arg);
    for (uint32_t i = 0; i < arg.n; i++) {
        int rc = tr_spawn(ctx, &target_b, NULL, (tr_pid *)&arg.pids[i]);
        if (rc) return rc;
    }
    return tr_send(ctx, t_probe, tr_atom_from("spawned"), NULL, 0);
}

static const tr_behaviour guard_b = {"guard", 0, NULL, guard_handle, NULL};

typedef struct link_report {
    uint64_t exits, wrong, links;
} link_report;

typedef struct linker {
    many t;
    keyed *by_serial;
    link_report r;
} linker;

static void linker_report(tr_ctx *ctx, linker *s, const char *as)
{
    tr_actor_info info;
    tr_info(ctx, &info);
    s->r.links = info.links;
    tr_send(ctx, t_probe, tr_atom_from(as), &s->r, sizeof s->r);
}

static int linker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    linker *s = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "link") == 0) {
        memcpy(&s->t, tr_msg_data(m), sizeof s->t);
        s->by_serial = malloc(s->t.n * sizeof *s->by_serial);
        if (!s->by_serial) return TR_ENOMEM;
        for (uint32_t i = 0; i < s->t.n; i++) {
            int rc = tr_link(ctx, s->t.pids[i]);
            if (!rc) rc = tr_link(ctx, s->t.pids[i]); /* idempotent */
            if (rc) return rc;
            s->by_serial[i] = (keyed){s->t.pids[i].serial, i};
        }
        qsort(s->by_serial, s->t.n, sizeof *s->by_serial, cmp_keyed);
        linker_report(ctx, s, "linked");
        return 0;
    }
    if (strcmp(t, "unlink_even") == 0) {
        for (uint32_t i = 0; i < s->t.n; i += 2) tr_unlink(ctx, s->t.pids[i]);
        linker_report(ctx, s, "unlinked");
        return 0;
    }
    if (strcmp(t, "fail_all") == 0) {
        for (uint32_t i = 0; i < s->t.n; i++) tr_send(ctx, s->t.pids[i], tr_atom_from("fail"), NULL, 0);
        return 0;
    }
    if (strcmp(t, "report") == 0) {
        linker_report(ctx, s, "final");
        return 0;
    }
    if (tr_msg_is(m, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        long i = -1;
        if (tr_exit_decode(m, &who, &why) == TR_OK) i = find_keyed(s->by_serial, s->t.n, who.serial);
        if (i < 0 || i % 2 == 0 || why.kind != TR_EXIT_FAILURE) s->r.wrong++;
        if (++s->r.exits == s->t.n / 2) linker_report(ctx, s, "exits");
        return 0;
    }
    return 0;
}

static void linker_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)ctx, (void)why;
    free(((linker *)vs)->by_serial);
}

static const tr_behaviour linker_b = {"linker", sizeof(linker), NULL, linker_handle,
                                      linker_terminate};

static link_report expect_links(t_env *e, const char *type)
{
    link_report r;
    const tr_msg *m = t_expect(e, type);
    assert_int_equal(tr_msg_size(m), sizeof r);
    memcpy(&r, tr_msg_data(m), sizeof r);
    return r;
}

/* One trapping actor links with 12,000, unlinks every other one, and they
 * all fail: exactly one "tr.exit" from each still linked, none from the
 * others, and link counts exact on both sides. */
static void test_many_links(void **state)
{
    t_env *e = *state;
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    uint64_t live = st.actors_live;
    tr_pid guard, lk;
    tr_spawn_opts trap = {.flags = TR_SPAWN_TRAP_EXITS};
    assert_int_equal(tr_system_spawn(e->sys, &guard_b, &trap, &guard), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &linker_b, &trap, &lk), TR_OK);
    tr_pid *pids = malloc(N_PEERS * sizeof *pids);
    many arg = {pids, N_PEERS};
    assert_int_equal(tr_inbox_send(e->probe, guard, tr_atom_from("spawn"), &arg, sizeof arg),
                     TR_OK);
    t_expect(e, "spawned");
    assert_int_equal(tr_inbox_send(e->probe, lk, tr_atom_from("link"), &arg, sizeof arg), TR_OK);
    assert_int_equal(expect_links(e, "linked").links, N_PEERS);
    assert_int_equal(inspect(e, pids[0]).links, 1);
    assert_int_equal(inspect(e, pids[1]).links, 1);
    assert_int_equal(tr_inbox_send(e->probe, lk, tr_atom_from("unlink_even"), NULL, 0), TR_OK);
    assert_int_equal(expect_links(e, "unlinked").links, N_PEERS / 2);
    assert_int_equal(inspect(e, pids[0]).links, 0);
    assert_int_equal(inspect(e, pids[1]).links, 1);
    tr_log_set_level(TR_LOG_NONE); /* 12,000 failures */
    assert_int_equal(tr_inbox_send(e->probe, lk, tr_atom_from("fail_all"), NULL, 0), TR_OK);
    link_report r = expect_links(e, "exits");
    assert_int_equal(r.exits, N_PEERS / 2);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(r.links, 0);
    assert_int_equal(t_wait_live(e->sys, live + 2), live + 2); /* guard and linker */
    /* and the guard has handled every exit (else it would at teardown,
     * stopping, and log each failure as one "during shutdown") */
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (inspect(e, guard).children != 0 && t_now_ms() < end) sched_yield();
    assert_int_equal(inspect(e, guard).children, 0);
    tr_log_set_level(TR_LOG_WARN);
    assert_int_equal(tr_inbox_send(e->probe, lk, tr_atom_from("report"), NULL, 0), TR_OK);
    r = expect_links(e, "final");
    assert_int_equal(r.exits, N_PEERS / 2);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(r.links, 0);
    free(pids);
}

/* ------------------------------------------------------------ timers */

typedef struct clock_env {
    t_env e;
    tr_clock *clock;
} clock_env;

static int setup_clock(void **state)
{
    clock_env *ce = calloc(1, sizeof *ce);
    if (!ce || tr_clock_manual_new(&ce->clock) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = ce->clock};
    if (tr_system_new(&o, &ce->e.sys) != TR_OK) return -1;
    if (tr_inbox_new(ce->e.sys, &ce->e.probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(ce->e.probe);
    *state = ce;
    return 0;
}

static int teardown_clock(void **state)
{
    clock_env *ce = *state;
    tr_clock *c = ce->clock;
    t_env *e = malloc(sizeof *e);
    *e = ce->e;
    free(ce);
    *state = e;
    t_teardown(state);
    tr_clock_destroy(&c);
    return 0;
}

/* The delays of the many-timers test: every level of the wheel, some far
 * beyond the test's horizon, as a function of i (the test and the actor
 * both compute them). */
#define N_TIMERS 20000
#define FAR_MS 2000000000 /* 23 days: armed, never reached */

static int64_t delay_of(uint32_t i)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    switch (i % 5) {
    case 0: return (int64_t)(x % 64) + 1;
    case 1: return (int64_t)(x % 5000) + 1;
    case 2: return (int64_t)(x % 300000) + 1;
    case 3: return (int64_t)(x % 70000000) + 1; /* up to level 4 */
    default: return i % 10 == 4 ? FAR_MS : (int64_t)(x % 4096) + 1;
    }
}

static bool cancelled_one(uint32_t i) { return i % 7 == 3; }

/* Arms the N_TIMERS (to the probe, payload: the deadline in ms) and
 * cancels some at once; answers "sync" with "synced" (nothing it armed can
 * overtake that). Stops on "stop" (its pending timers die with it). */
static int armer_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "arm") == 0) {
        uint64_t ok = 0, cancelled = 0;
        int64_t now = tr_now_ms(ctx);
        for (uint32_t i = 0; i < N_TIMERS; i++) {
            int64_t deadline = now + delay_of(i);
            tr_timer h;
            ok += tr_send_after(ctx, t_probe, delay_of(i), tr_atom_from("tick"), &deadline,
                                sizeof deadline, &h) == TR_OK;
            if (cancelled_one(i)) cancelled += tr_timer_cancel(ctx, h) == TR_OK;
        }
        uint64_t r[2] = {ok, cancelled};
        return tr_send(ctx, t_probe, tr_atom_from("armed"), r, sizeof r);
    }
    if (strcmp(t, "every0") == 0) { /* an interval with no payload at all */
        tr_timer h;
        int rc = tr_send_every(ctx, t_probe, 10, tr_atom_from("tick0"), NULL, 0, &h);
        if (rc) return rc;
        return tr_send(ctx, t_probe, tr_atom_from("armed"), &h, sizeof h);
    }
    if (strcmp(t, "cancel") == 0) {
        tr_timer h;
        memcpy(&h, tr_msg_data(m), sizeof h);
        int64_t rc = tr_timer_cancel(ctx, h);
        return tr_send(ctx, t_probe, tr_atom_from("cancelled"), &rc, sizeof rc);
    }
    if (strcmp(t, "sync") == 0) return tr_send(ctx, t_probe, tr_atom_from("synced"), NULL, 0);
    if (strcmp(t, "stop") == 0) tr_stop(ctx);
    return 0;
}

static const tr_behaviour armer_b = {"armer", 0, NULL, armer_handle, NULL};

static void sync_with(t_env *e, tr_pid a)
{
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("sync"), NULL, 0), TR_OK);
    t_expect(e, "synced");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 20,000 timers over every level of the wheel, advanced in steps that
 * cross slot and level boundaries: after each advance exactly those due by
 * then have fired, in deadline order, none early, none twice. */
static void test_many_timers_exact(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    int64_t *due = malloc(N_TIMERS * sizeof *due);
    uint32_t ndue = 0;
    for (uint32_t i = 0; i < N_TIMERS; i++)
        if (!cancelled_one(i)) due[ndue++] = delay_of(i); /* the clock is at 0 */
    qsort(due, ndue, sizeof *due, cmp_i64);
    tr_pid a;
    assert_int_equal(tr_system_spawn(e->sys, &armer_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("arm"), NULL, 0), TR_OK);
    const tr_msg *m = t_expect(e, "armed");
    uint64_t r[2];
    memcpy(r, tr_msg_data(m), sizeof r);
    assert_int_equal(r[0], N_TIMERS);
    assert_int_equal(r[1], (N_TIMERS + 3) / 7);
    static const int64_t steps[] = {1, 1, 62, 1, 1, 63, 64, 65, 4000, 95, 1, 4096, 60000,
                                    200000, 262144, 1, 30000000, 39000000, 5000000};
    uint32_t next = 0;
    int64_t now = 0;
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        int64_t prev = now;
        now += steps[s];
        assert_int_equal(tr_clock_advance(ce->clock, steps[s]), TR_OK);
        int64_t last = prev;
        for (; next < ndue && due[next] <= now; next++) {
            m = t_expect(e, "tick");
            int64_t d;
            memcpy(&d, tr_msg_data(m), sizeof d);
            assert_true(d > prev && d <= now); /* due in this step, not early */
            assert_true(d >= last);            /* in deadline order */
            last = d;
        }
        sync_with(e, a); /* and nothing more */
    }
    assert_int_equal(now, 74530595);
    assert_true(next < ndue && due[next] == FAR_MS); /* only the far ones are left */
    /* they die with their owner: stop it, jump past them, nothing comes */
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("stop"), NULL, 0), TR_OK);
    assert_int_equal(t_wait_live(e->sys, st.actors_live - 1), st.actors_live - 1);
    assert_int_equal(tr_clock_advance(ce->clock, 2 * (int64_t)FAR_MS), TR_OK);
    tr_pid b;
    assert_int_equal(tr_system_spawn(e->sys, &armer_b, NULL, &b), TR_OK);
    sync_with(e, b);
    free(due);
}

/* Fix (a): an interval with an empty payload fires with an empty payload
 * (the copy no longer hands memcpy a NULL source: UBSan caught it). */
static void test_interval_empty_payload(void **state)
{
    clock_env *ce = *state;
    t_env *e = &ce->e;
    tr_pid a;
    assert_int_equal(tr_system_spawn(e->sys, &armer_b, NULL, &a), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("every0"), NULL, 0), TR_OK);
    tr_timer h;
    memcpy(&h, tr_msg_data(t_expect(e, "armed")), sizeof h);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tr_clock_advance(ce->clock, 10), TR_OK);
        const tr_msg *m = t_expect(e, "tick0");
        assert_int_equal(tr_msg_size(m), 0);
        assert_true(tr_pid_eq(tr_msg_sender(m), a));
    }
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("cancel"), &h, sizeof h), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "cancelled")), TR_OK);
    assert_int_equal(tr_clock_advance(ce->clock, 50), TR_OK);
    sync_with(e, a);
}

/* Fix (b): a timer's message into a full TR_FULL_FAIL mailbox is dropped
 * as a counted dead letter whatever the delay, and tr_send_after says
 * TR_OK for 0 ms as for 1 ms. */
static _Atomic int release_holder;

static int holder_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (!tr_msg_is(m, tr_atom_from("hold"))) return t_report(ctx, "handled", tr_atom_name(tr_msg_type(m)));
    t_report(ctx, "holding", "");
    /* test scaffolding: keep the mailbox full until the test saw the drops */
    while (!atomic_load(&release_holder)) sched_yield();
    return 0;
}

static const tr_behaviour holder_b = {"holder", 0, NULL, holder_handle, NULL};

/* A failing test must not leave the holder spinning on its worker (the
 * system's destruction would wait for it). */
static int teardown_release(void **state)
{
    atomic_store(&release_holder, 1);
    return t_teardown(state);
}

static int after_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    struct {
        tr_pid to;
        int64_t delay;
    } r;
    memcpy(&r, tr_msg_data(m), sizeof r);
    int64_t rc = tr_send_after(ctx, r.to, r.delay, tr_atom_from("late"), &r.delay, sizeof r.delay,
                               NULL);
    return tr_send(ctx, t_probe, tr_atom_from("sent"), &rc, sizeof rc);
}

static const tr_behaviour after_b = {"after", 0, NULL, after_handle, NULL};

static void test_send_after_into_full_mailbox(void **state)
{
    t_env *e = *state;
    atomic_store(&release_holder, 0);
    tr_pid holder, sender;
    tr_spawn_opts bounded = {.capacity = 1, .on_full = TR_FULL_FAIL};
    assert_int_equal(tr_system_spawn(e->sys, &holder_b, &bounded, &holder), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &after_b, NULL, &sender), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, holder, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    assert_int_equal(tr_inbox_send(e->probe, holder, tr_atom_from("fill"), NULL, 0), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, holder, tr_atom_from("over"), NULL, 0), TR_EFULL);
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    for (int64_t delay = 0; delay <= 1; delay++) {
        struct {
            tr_pid to;
            int64_t delay;
        } r = {holder, delay};
        assert_int_equal(tr_inbox_send(e->probe, sender, tr_atom_from("send"), &r, sizeof r),
                         TR_OK);
        assert_int_equal(t_u64(t_expect(e, "sent")), TR_OK);
    }
    /* both dropped: counted, and dead letters */
    int64_t end = t_now_ms() + T_WAIT_MS;
    tr_system_stats now;
    do {
        assert_int_equal(tr_system_get_stats(e->sys, &now), TR_OK);
        /* a drop is counted before its dead letter is */
        if (now.dropped >= st.dropped + 2 && now.dead_letters >= st.dead_letters + 2) break;
        sched_yield();
    } while (t_now_ms() < end);
    assert_int_equal(now.dropped, st.dropped + 2);
    assert_true(now.dead_letters >= st.dead_letters + 2);
    atomic_store(&release_holder, 1);
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "handled")), "fill");
    /* room again: the timer's message gets in */
    struct {
        tr_pid to;
        int64_t delay;
    } r = {holder, 0};
    assert_int_equal(tr_inbox_send(e->probe, sender, tr_atom_from("send"), &r, sizeof r), TR_OK);
    assert_int_equal(t_u64(t_expect(e, "sent")), TR_OK);
    assert_string_equal((const char *)tr_msg_data(t_expect(e, "handled")), "late");
}

/* Arming and cancelling without end holds no memory: 200k far timers
 * armed and cancelled at once, in rounds, leave the node table no bigger
 * than one round needs (a table that kept cancelled nodes would hold them
 * all), and every message freed (teardown). Each round ends with a 1 ms
 * timer: once it has fired, the timer thread has taken every node of the
 * round, so the bound does not depend on how the threads were scheduled. */
#define CHURN 40000

static int churn_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs, (void)m;
    uint64_t ok = 0;
    for (int i = 0; i < CHURN; i++) {
        tr_timer h;
        if (tr_send_after(ctx, tr_self(ctx), 3600000, tr_atom_from("x"), &i, sizeof i, &h) ==
                TR_OK &&
            tr_timer_cancel(ctx, h) == TR_OK)
            ok++;
    }
    int rc = tr_send_after(ctx, t_probe, 1, tr_atom_from("round"), NULL, 0, NULL);
    if (!rc) rc = tr_send(ctx, t_probe, tr_atom_from("churned"), &ok, sizeof ok);
    return rc;
}

static const tr_behaviour churn_b = {"churn", 0, NULL, churn_handle, NULL};

static void test_arm_cancel_holds_no_memory(void **state)
{
    t_env *e = *state;
    tr_pid c;
    assert_int_equal(tr_system_spawn(e->sys, &churn_b, NULL, &c), TR_OK);
    for (int round = 0; round < 5; round++) {
        assert_int_equal(tr_inbox_send(e->probe, c, tr_atom_from("go"), NULL, 0), TR_OK);
        int rounds = 0, churned = 0;
        for (int k = 0; k < 2; k++) { /* the round's timer may come first */
            const tr_msg *m = t_recv(e);
            if (tr_msg_is(m, tr_atom_from("round"))) {
                rounds++;
            } else {
                assert_string_equal(tr_atom_name(tr_msg_type(m)), "churned");
                assert_int_equal(t_u64(m), CHURN);
                churned++;
            }
        }
        assert_int_equal(rounds, 1);
        assert_int_equal(churned, 1);
    }
    uint64_t nodes = tri_timers_node_count(e->sys);
    print_message("timer nodes after 5 x %d arm+cancel: %llu\n", CHURN,
                  (unsigned long long)nodes);
    assert_true(nodes <= 64 * 1024);
}

/* ---------------------------------------------- the peer set by itself */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}


/* 100k entries in and out of both kinds of set, against a model: every
 * find, add and remove right, counts exact, through growth and shrinking
 * past the size where tables get their own mapping; refs collide across
 * pids in the (pid, ref) set. */
static void test_peer_set_model(void **state)
{
    (void)state;
    enum { M = 100000 };
    uint8_t *in = calloc(M, 2); /* [i][key] */
    tri_peer_set sets[2] = {{0}, {0}};
    uint32_t count[2] = {0, 0};
    rng_state = 0x2545f4914f6cdd1dull;
    for (int op = 0; op < 6 * M; op++) {
        uint64_t r = rnd();
        int key = (int)(r & 1);
        uint32_t i = (uint32_t)((r >> 8) % M);
        /* by ref: the ref is unique; by (pid, ref): refs repeat every 100 */
        tr_pid pid = {1, i, i + 1};
        uint64_t ref = key == TRI_PEERS_BY_REF ? i + 1 : i % 100 + 1;
        /* grow to ~70k, then down to ~20k */
        bool add = (r >> 40) % 100 < (op < 3 * M ? 70u : 20u);
        tri_peer *f = tri_peers_find(&sets[key], key, pid, ref);
        if ((f != NULL) != (in[2 * i + key] != 0)) fail_msg("find %u/%d wrong", i, key);
        if (f && key == TRI_PEERS_BY_PID_REF && !tr_pid_eq(f->pid, pid)) fail_msg("pid %u", i);
        if (add && !in[2 * i + key]) {
            assert_true(tri_peers_add(&sets[key], key, pid, ref));
            in[2 * i + key] = 1;
            count[key]++;
        } else if (!add) {
            tri_peer out;
            bool had = tri_peers_remove(&sets[key], key, pid, ref, &out);
            if (had != (in[2 * i + key] != 0)) fail_msg("remove %u/%d wrong", i, key);
            if (had && (out.ref != ref || !tr_pid_eq(out.pid, pid))) fail_msg("removed %u", i);
            if (had) count[key]--;
            in[2 * i + key] = 0;
        }
        assert_int_equal(tri_peers_count(&sets[key]), count[key]);
    }
    /* then all but every 64th out: back below the size that gets its own
     * mapping */
    for (uint32_t i = 0; i < M; i++)
        for (int key = 0; key < 2; key++) {
            if (!in[2 * i + key] || i % 64 == 0) continue;
            tr_pid pid = {1, i, i + 1};
            uint64_t ref = key == TRI_PEERS_BY_REF ? i + 1 : i % 100 + 1;
            assert_true(tri_peers_remove(&sets[key], key, pid, ref, NULL));
            in[2 * i + key] = 0;
            count[key]--;
        }
    for (int key = 0; key < 2; key++) {
        assert_true(count[key] <= M / 64);
        assert_true(sets[key].cap <= 16384); /* it did shrink */
        for (uint32_t i = 0; i < M; i += 64) {
            tr_pid pid = {1, i, i + 1};
            uint64_t ref = key == TRI_PEERS_BY_REF ? i + 1 : i % 100 + 1;
            assert_true((tri_peers_find(&sets[key], key, pid, ref) != NULL) == (in[2 * i + key] != 0));
        }
        uint32_t live = 0;
        for (uint32_t k = 0; k < sets[key].cap; k++) live += tri_peers_live(&sets[key].tab[k]);
        assert_int_equal(live, count[key]);
        tri_peers_clear(&sets[key]);
        assert_null(sets[key].tab);
    }
    free(in);
}

/* ------------------------------------------------- the wheel by itself */

/* Random inserts, removals and expiries against a brute-force model, with
 * deadlines up to 2^44 ticks ahead: every entry comes out exactly once, at
 * the first expiry whose time reaches its tick, in tick order; next() is
 * never later than the earliest deadline. */
static void test_wheel_model(void **state)
{
    (void)state;
    rng_state = 88172645463325252ull;
    enum { E = 1024, OPS = 100000 };
    static tri_wentry ent[E];
    static bool in[E];
    tri_wheel *w = malloc(sizeof *w);
    uint64_t now = 1000003;
    tri_wheel_init(w, now);
    size_t count = 0;
    memset(in, 0, sizeof in);
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rnd();
        uint32_t i = (uint32_t)(r % E);
        switch ((r >> 16) % 4) {
        case 0:
        case 1: /* insert */
            if (in[i]) break;
            {
                unsigned bits = (unsigned)((r >> 24) % 45);
                ent[i].tick = w->elapsed + 1 + (rnd() & ((1ull << bits) - 1));
            }
            tri_wheel_insert(w, &ent[i]);
            in[i] = true;
            count++;
            break;
        case 2: /* remove */
            if (!in[i]) break;
            tri_wheel_remove(w, &ent[i]);
            in[i] = false;
            count--;
            break;
        default: { /* advance */
            uint64_t min = UINT64_MAX;
            for (uint32_t k = 0; k < E; k++)
                if (in[k] && ent[k].tick < min) min = ent[k].tick;
            uint64_t nx = tri_wheel_next(w);
            if (nx > min) fail_msg("next %llu after the earliest %llu", (unsigned long long)nx,
                                   (unsigned long long)min);
            unsigned bits = (unsigned)((r >> 24) % 40);
            now = w->elapsed + (rnd() & ((1ull << bits) - 1));
            if ((r >> 40) % 8 == 0 && min != UINT64_MAX) now = min; /* exactly at one */
            uint64_t last = 0;
            for (tri_wentry *e; (e = tri_wheel_expire(w, now));)
                for (; e; e = e->next) {
                    uint32_t k = (uint32_t)(e - ent);
                    if (!in[k] || e->tick > now || e->tick < last)
                        fail_msg("entry %u: tick %llu at %llu", k, (unsigned long long)e->tick,
                                 (unsigned long long)now);
                    last = e->tick;
                    in[k] = false;
                    count--;
                }
            for (uint32_t k = 0; k < E; k++)
                if (in[k] && ent[k].tick <= now) fail_msg("entry %u missed", k);
            assert_int_equal(w->elapsed, now);
        }
        }
        assert_int_equal(w->count, count);
    }
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_monitors_fire, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_many_demonitors, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_colliding_refs, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_many_links, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_many_timers_exact, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_interval_empty_payload, setup_clock, teardown_clock),
        cmocka_unit_test_setup_teardown(test_send_after_into_full_mailbox, t_setup,
                                        teardown_release),
        cmocka_unit_test_setup_teardown(test_arm_cancel_holds_no_memory, t_setup, t_teardown),
        cmocka_unit_test(test_wheel_model),
        cmocka_unit_test(test_peer_set_model),
    };
    const char *only = getenv("T_ONLY"); /* e.g. T_ONLY='*links*' */
    if (only) cmocka_set_test_filter(only);
    return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
