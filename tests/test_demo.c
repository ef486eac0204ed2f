/* test_demo.c — `troupe demo` as a user runs it (subprocesses): a run to
 * its end with its summary and shutdown order, --forever stopped by
 * SIGTERM (looked at with `troupe tree` meanwhile), options refused, and a
 * run that cannot complete. Waits are on output lines and exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "procutil.h"
#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/troupe-demo-t-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pr_reap_all();
    char p[128];
    snprintf(p, sizeof p, "%s/demo.sock", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

static void want(const char *text, const char *needle)
{
    if (!strstr(text, needle)) fail_msg("'%s' not in:\n%s", needle, text);
}

/* The tree stops in reverse start order, across both nodes. */
static void want_shutdown_order(const char *out)
{
    const char *at = strstr(out, "stopping shop-front's tree in reverse start order");
    if (!at) fail_msg("no shutdown in:\n%s", out);
    const char *order[] = {"stopped front on shop-front (shutdown)",
                           "stopped cashier-4 on shop-back (shutdown)",
                           "stopped cashier-3 on shop-back (shutdown)",
                           "stopped cashier-2 on shop-front (shutdown)",
                           "stopped cashier-1 on shop-front (shutdown)",
                           "stopped inventory on shop-back (shutdown)",
                           "0 of the actors it placed on shop-back are left there",
                           "clean shutdown"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        const char *hit = strstr(at, order[i]);
        if (!hit) fail_msg("'%s' missing or out of order in:\n%s", order[i], out);
        at = hit + 1;
    }
}

/* Every order answered, and in exactly one count. */
static void want_all_answered(const char *out, unsigned long orders)
{
    char line[128];
    snprintf(line, sizeof line, "all %lu orders answered in ", orders);
    want(out, line);
    unsigned long long sold, units, sold_out, busy, lost;
    const char *s = strstr(out, "troupe demo: ");
    while (s && sscanf(s, "troupe demo: %llu sold (%llu units), %llu sold out, %llu turned away "
                          "busy, %llu lost",
                       &sold, &units, &sold_out, &busy, &lost) != 5)
        s = strstr(s + 1, "troupe demo: ");
    if (!s) fail_msg("no summary in:\n%s", out);
    assert_int_equal(sold + sold_out + busy + lost, orders);
}

static void test_demo_runs_to_its_end(void **state)
{
    (void)state;
    pr_proc *p;
    assert_int_equal(pr_troupe_run((const char *[]){"demo", "--orders", "400", NULL}, &p), 0);
    want(p->obuf, "    inventory  worker     on shop-back\n");
    want(p->obuf, "      cashier-3 worker     on shop-back\n");
    want(p->obuf, "troupe demo: 400 orders, about one in 250 poisoned\n");
    want_all_answered(p->obuf, 400);
    want(p->obuf, "the cashiers' supervisor restarted ");
    want(p->obuf, "across the nodes: ");
    want_shutdown_order(p->obuf);
    assert_string_equal(p->ebuf, "");
    pr_free(p);
}

static void test_demo_forever_until_sigterm(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/demo.sock", dir);
    pr_proc *p = pr_troupe_spawn((const char *[]){"demo", "--forever", "--listen", ep, NULL});
    pr_wait_text(p, true, "sending orders until Ctrl-C or SIGTERM", 0);

    /* while it runs, its tree is there to look at, over both nodes */
    pr_proc *t = pr_troupe_expect((const char *[]){"tree", ep, NULL}, 0);
    want(t->obuf, "\n/root/shop supervisor strategy=rest_for_one <");
    want(t->obuf, "\n    /root/shop/cashiers/cashier-3 worker behaviour=demo.cashier <");
    want(t->obuf, "\n  /root/shop/front worker behaviour=demo.front <");
    want(t->obuf, " node=shop-back\n");
    pr_free(t);

    size_t from = p->on;
    pr_pump(p, 0);
    assert_int_equal(pr_stop(p, SIGTERM), 0);
    want(p->obuf + from, "troupe demo: interrupted after ");
    unsigned long sent = 0;
    const char *s = strstr(p->obuf, "interrupted after ");
    assert_int_equal(sscanf(s, "interrupted after %lu orders", &sent), 1);
    assert_true(sent > 0);
    want_all_answered(p->obuf, sent);
    want_shutdown_order(p->obuf);
    pr_free(p);
}

static void test_demo_refusals(void **state)
{
    (void)state;
    struct {
        const char *args[5];
        const char *says;
    } bad[] = {
        {{"demo", "--orders", "0", NULL}, "--orders wants a number from 1 to 1000000, got '0'"},
        {{"demo", "--orders", "12x", NULL}, "--orders wants a number from 1 to 1000000, got '12x'"},
        {{"demo", "--orders", "1000001", NULL}, "--orders wants a number from 1 to 1000000"},
        {{"demo", "--orders", NULL}, "--orders wants a number from 1 to 1000000, got ''"},
        {{"demo", "--poison", "-1", NULL}, "--poison wants 0 or a number up to 1000000, got '-1'"},
        {{"demo", "--forever", "--orders", "5", NULL}, "--orders and --forever exclude each other"},
        {{"demo", "--listen", "inproc://x", NULL}, "--listen wants ipc://PATH or tcp://HOST:PORT"},
        {{"demo", "--fast", NULL}, "unknown option '--fast'"},
    };
    enum { NBAD = sizeof bad / sizeof *bad };
    pr_proc *ps[NBAD]; /* all at once: each is a process start */
    for (size_t i = 0; i < NBAD; i++)
        ps[i] = pr_troupe_spawn(bad[i].args);
    for (size_t i = 0; i < NBAD; i++) {
        assert_int_equal(pr_finish(ps[i]), 2);
        want(ps[i]->ebuf, bad[i].says);
        assert_string_equal(ps[i]->obuf, "");
        pr_free(ps[i]);
    }

    pr_proc *p;
    assert_int_equal(pr_troupe_run((const char *[]){"demo", "--help", NULL}, &p), 0);
    want(p->obuf, "usage: troupe demo");
    pr_free(p);
    assert_int_equal(pr_troupe_run((const char *[]){"demo", "--config", NULL}, &p), 0);
    want(p->obuf, "      node: shop-back ");
    pr_free(p);

    /* valid options the demo cannot complete with: 1, and exactly why */
    assert_int_equal(pr_troupe_run((const char *[]){"demo", "--poison", "1", NULL}, &p), 1);
    want(p->ebuf, "troupe demo: the cashiers' supervisor ended before the orders were done: "
                  "shutdown: reached max restart intensity");
    want(p->ebuf, "try a larger --poison");
    /* the tree still stops (what of it the shop's own restart had up
     * then), its children on shop-back with it */
    want(p->obuf, "stopping shop-front's tree in reverse start order");
    want(p->obuf, "stopped inventory on shop-back (shutdown)\n");
    want(p->obuf, "0 of the actors it placed on shop-back are left there\n");
    want(p->obuf, "troupe demo: failed (see above)\n");
    pr_free(p);
    assert_int_equal(pr_troupe_run((const char *[]){"demo", "--listen",
                                                    "ipc:///nonexistent-dir/x.sock", NULL},
                                   &p),
                     1);
    want(p->ebuf, "troupe demo: cannot start node shop-front listening on "
                  "ipc:///nonexistent-dir/x.sock");
    pr_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_demo_runs_to_its_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_forever_until_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
