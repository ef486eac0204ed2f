/* testutil.c — per-test system, gates and leak check; see testutil.h. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
/* For t_blocked_senders only: the one internal counter a test reads. */
#include "../actors/core.h"

tr_pid t_probe;

/* ------------------------------------------------------------------ gates */

#define T_GATES_MAX 64

static pthread_mutex_t gates_mu = PTHREAD_MUTEX_INITIALIZER;
static t_gate *gates[T_GATES_MAX];
static size_t ngates;

void t_gate_init(t_gate *g)
{
    atomic_store(&g->open, 0);
    atomic_store(&g->waiting, 0);
    pthread_mutex_lock(&gates_mu);
    bool known = false;
    for (size_t i = 0; i < ngates && !known; i++) known = gates[i] == g;
    if (!known && ngates < T_GATES_MAX) gates[ngates++] = g;
    pthread_mutex_unlock(&gates_mu);
    if (!known && ngates >= T_GATES_MAX) fail_msg("testutil: more than %d gates", T_GATES_MAX);
}

void t_gate_open(t_gate *g) { atomic_store(&g->open, 1); }

void t_gate_wait(t_gate *g)
{
    atomic_fetch_add(&g->waiting, 1);
    while (!atomic_load(&g->open)) sched_yield();
    atomic_fetch_sub(&g->waiting, 1);
}

void t_gates_open_all(void)
{
    pthread_mutex_lock(&gates_mu);
    for (size_t i = 0; i < ngates; i++) atomic_store(&gates[i]->open, 1);
    ngates = 0;
    pthread_mutex_unlock(&gates_mu);
}

/* --------------------------------------------------------------- checks */

int t_report_fail(tr_system *sys, const char *file, int line, const char *text)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%d: %s", file, line, text);
    if (sys) tr_system_send(sys, t_probe, tr_atom_from(T_FAIL_TYPE), buf, strlen(buf) + 1);
    return TR_EFAILED;
}

/* --------------------------------------------------------------- setups */

int t_setup_opts(void **state, const tr_system_opts *opts)
{
    t_env *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->clock = opts ? opts->clock : NULL;
    if (tr_system_new(opts, &e->sys) != TR_OK) return -1;
    if (tr_inbox_new(e->sys, &e->probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(e->probe);
    *state = e;
    return 0;
}

int t_setup_workers(void **state, unsigned workers)
{
    tr_system_opts o = {.workers = workers};
    return t_setup_opts(state, &o);
}

int t_setup(void **state) { return t_setup_workers(state, 2); }

int t_setup_clock(void **state)
{
    tr_clock *c;
    if (tr_clock_manual_new(&c) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = c};
    return t_setup_opts(state, &o);
}

/* Every test ends by releasing the workers it may hold, then proving that
 * no actor and no pooled block is left. */
int t_teardown(void **state)
{
    t_env *e = *state;
    t_gates_open_all();
    tr_inbox_destroy(&e->probe);
    tr_system_destroy(&e->sys);
    assert_null(e->sys);
    tr_clock_destroy(&e->clock);
    free(e);
    int64_t left = tr_pool_outstanding();
    if (left != 0) print_error("leak: %lld pooled blocks outstanding\n", (long long)left);
    assert_int_equal(left, 0);
    return 0;
}

/* -------------------------------------------------------------- peeking */

int t_blocked_senders(tr_system *sys) { return atomic_load(&sys->blocked); }

int t_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
