/* testutil.c — per-test system and leak check; see testutil.h. */
#include <stdlib.h>

#include "testutil.h"

tr_pid t_probe;

int t_setup_workers(void **state, unsigned workers)
{
    t_env *e = calloc(1, sizeof *e);
    tr_system_opts o = {.workers = workers};
    if (!e || tr_system_new(&o, &e->sys) != TR_OK) return -1;
    if (tr_inbox_new(e->sys, &e->probe) != TR_OK) return -1;
    t_probe = tr_inbox_pid(e->probe);
    *state = e;
    return 0;
}

int t_setup(void **state) { return t_setup_workers(state, 2); }

/* Every test ends by proving that no actor and no pooled block is left. */
int t_teardown(void **state)
{
    t_env *e = *state;
    tr_inbox_destroy(&e->probe);
    tr_system_destroy(&e->sys);
    assert_null(e->sys);
    free(e);
    int64_t left = tr_pool_outstanding();
    if (left != 0) print_error("leak: %lld pooled blocks outstanding\n", (long long)left);
    assert_int_equal(left, 0);
    return 0;
}
