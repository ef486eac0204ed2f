/* test_spawn_hold.c — a spawned actor runs init before anything sent to
 * it, however early the sender learns its pid.
 *
 * A name given at spawn (register_as) is registered before tr_spawn
 * returns, and a thread spinning on tr_whereis can send to the new pid
 * while the spawner is still finishing the actor's setup. That message
 * must queue behind INIT (core.h, the hold word): handled after init, not
 * turned into a dead letter and not handled by an actor whose init has not
 * run. Each round below has a sender already spinning on the name when the
 * spawn begins, so the early send happens in some rounds: before the
 * hold, every run of this test lost a message that way. */
#include <pthread.h>
#include <stdio.h>

#include "testutil.h"

enum { ROUNDS = 2000 };

typedef struct target {
    int index;
    bool ready; /* init ran */
} target;

static int target_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    (void)ctx;
    target *t = st;
    memcpy(&t->index, args, size);
    t->ready = true;
    return 0;
}

static int target_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    target *t = st;
    if (!strcmp(tr_atom_name(tr_msg_type(m)), "ping"))
        t_report_int(ctx, "pong", t->ready ? t->index : -1);
    return 0;
}

static const tr_behaviour target_beh = {
    .name = "target", .state_size = sizeof(target), .init = target_init, .handle = target_handle};

typedef struct race {
    tr_system *sys;
    _Atomic int waiting_for; /* the round whose name the sender spins on */
    int rounds;
    int sent;
    int send_errors;
} race;

static void name_of(char *buf, size_t n, int i) { snprintf(buf, n, "hold.t%d", i); }

static void *sender(void *arg)
{
    race *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        char name[32];
        name_of(name, sizeof name, i);
        atomic_store(&r->waiting_for, i);
        tr_pid p;
        while (tr_whereis(r->sys, name, &p) != TR_OK)
            if (t_under_valgrind()) sched_yield();
        if (tr_system_send(r->sys, p, tr_atom_from("ping"), NULL, 0) == TR_OK) r->sent++;
        else r->send_errors++;
    }
    return NULL;
}

/* Every early send is handled, after init, by the actor it was for. */
static void test_send_by_name_during_spawn(void **state)
{
    t_env *e = *state;
    race r = {.sys = e->sys, .rounds = t_under_valgrind() ? 100 : ROUNDS};
    atomic_init(&r.waiting_for, -1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender, &r), 0);
    for (int i = 0; i < r.rounds; i++) {
        while (atomic_load(&r.waiting_for) < i) sched_yield(); /* the sender spins on it */
        char name[32];
        name_of(name, sizeof name, i);
        tr_spawn_opts o = {.register_as = name, .args = &i, .args_size = sizeof i};
        assert_int_equal(tr_system_spawn(e->sys, &target_beh, &o, NULL), TR_OK);
    }
    pthread_join(th, NULL);
    assert_int_equal(r.send_errors, 0);
    assert_int_equal(r.sent, r.rounds);
    bool *seen = calloc((size_t)r.rounds, sizeof *seen);
    assert_non_null(seen);
    for (int i = 0; i < r.rounds; i++) {
        int who = t_expect_int(e, "pong");
        assert_true(who >= 0 && who < r.rounds); /* -1: handled before init */
        assert_false(seen[who]);
        seen[who] = true;
    }
    free(seen);
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    assert_int_equal(st.dead_letters, 0);
}

/* A spawn whose name is taken is undone: no actor, nothing leaked, and
 * the slot serves the next spawn, whose init runs first as always. */
static void test_name_clash_undoes_spawn(void **state)
{
    t_env *e = *state;
    int i = 7;
    tr_spawn_opts o = {.register_as = "hold.dup", .args = &i, .args_size = sizeof i};
    tr_pid first;
    assert_int_equal(tr_system_spawn(e->sys, &target_beh, &o, &first), TR_OK);
    for (int k = 0; k < 50; k++) {
        tr_pid p;
        assert_int_equal(tr_system_spawn(e->sys, &target_beh, &o, &p), TR_EEXIST);
        assert_true(tr_pid_is_nil(p));
    }
    int j = 8;
    tr_spawn_opts o2 = {.register_as = "hold.other", .args = &j, .args_size = sizeof j};
    tr_pid second;
    assert_int_equal(tr_system_spawn(e->sys, &target_beh, &o2, &second), TR_OK);
    assert_int_equal(tr_system_send(e->sys, second, tr_atom_from("ping"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "pong"), 8);
    assert_int_equal(tr_system_send(e->sys, first, tr_atom_from("ping"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "pong"), 7);
    assert_int_equal(t_wait_live(e->sys, 2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_by_name_during_spawn, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_name_clash_undoes_spawn, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
