/* test_examples.c — the example services (examples/kv, examples/cluster,
 * with the plugin examples/plugin/example_kv.c) run as their comments
 * say: `troupe run` on the copies meson puts next to the plugin
 * (TROUPE_EXAMPLES_BUILD), calls from this test's own node, SIGTERM, and
 * the shutdown order in their logs. Waits are on log lines, node events
 * and exits, each with a deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "procutil.h"
#include "testutil.h"

static char config[512];
static char my_ep[128];

static const char *example(const char *name)
{
    const char *dir = getenv("TROUPE_EXAMPLES_BUILD");
    if (!dir) fail_msg("TROUPE_EXAMPLES_BUILD is not set (run the test through meson)");
    snprintf(config, sizeof config, "%s/%s", dir, name);
    return config;
}

static int teardown(void **state)
{
    (void)state;
    pr_reap_all();
    if (my_ep[0]) unlink(my_ep + 6);
    return 0;
}

static void want(const char *text, const char *needle)
{
    if (!strstr(text, needle)) fail_msg("'%s' not in:\n%s", needle, text);
}

static void want_order(const char *text, const char *first, const char *then)
{
    const char *a = strstr(text, first), *b = a ? strstr(a, then) : NULL;
    if (!b) fail_msg("'%s' then '%s' not in:\n%s", first, then, text);
}

/* This test as a node that joins `peer` and waits for `n` nodes. */
static tr_system *join(const char *peer, size_t n)
{
    tr_system *sys;
    assert_int_equal(tr_system_new(&(tr_system_opts){.workers = 1}, &sys), TR_OK);
    snprintf(my_ep, sizeof my_ep, "ipc:///tmp/troupe-examples-test-%ld.sock", (long)getpid());
    const char *listen[] = {my_ep};
    tr_node_peer p = {.endpoint = peer};
    tr_node *node;
    assert_int_equal(tr_node_start(sys,
                                   &(tr_node_opts){.name = "examples-test", .listen = listen,
                                                   .nlisten = 1, .peers = &p, .npeers = 1},
                                   &node),
                     TR_OK);
    assert_int_equal(tr_node_wait_peers(node, n, T_WAIT_MS), TR_OK);
    return sys;
}

/* Calls `name` and checks the answer's type and payload. */
static void call(tr_system *sys, const char *name, const char *type, const char *payload,
                 const char *want_type, const char *want_payload)
{
    tr_msg *r = NULL;
    int rc = tr_call_named_sync(sys, name, tr_atom_from(type), payload, strlen(payload),
                                T_WAIT_MS, &r);
    if (rc != TR_OK) {
        if (r) tr_msg_destroy(&r);
        fail_msg("%s %s(%s): %s", name, type, payload, tr_strerror(rc));
    }
    assert_string_equal(tr_atom_name(tr_msg_type(r)), want_type);
    assert_int_equal(tr_msg_size(r), strlen(want_payload));
    assert_memory_equal(tr_msg_data(r), want_payload, strlen(want_payload));
    tr_msg_destroy(&r);
}

static void test_kv_service(void **state)
{
    (void)state;
    pr_proc *kv = pr_troupe_spawn((const char *[]){"run", example("kv-service.yaml"), NULL});
    pr_wait_text(kv, false, "tree 'kv-service' started", 0);
    want(kv->ebuf, "/root/kv-service/store: example.kv started");

    tr_system *sys = join("ipc:///tmp/troupe-example-kv.sock", 1);
    call(sys, "kv@kv", "kv.put", "colour=blue", "kv.ok", "colour");
    call(sys, "kv@kv", "kv.put", "size=large", "kv.ok", "size");
    call(sys, "kv@kv", "kv.get", "colour", "kv.value", "blue");
    call(sys, "kv@kv", "kv.get", "weight", "kv.missing", "");
    call(sys, "kv@kv", "kv.put", "no-equals-sign", "kv.malformed", "");
    call(sys, "kv@kv", "kv.size", "", "kv.size", "2");
    tr_system_destroy(&sys);

    pr_proc *t;
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", "ipc:///tmp/troupe-example-kv.sock", NULL}, &t), 0);
    want(t->obuf, "\n  /root/kv-service/store worker behaviour=example.kv <");
    want(t->obuf, "\n  /root/kv-service/snapshots worker behaviour=troupe.ticker <");
    pr_free(t);

    size_t from = kv->en;
    assert_int_equal(pr_stop(kv, SIGTERM), 0);
    /* reverse start order: the ticker, then the store */
    want_order(kv->ebuf + from, "/root/kv-service/snapshots: troupe.ticker terminated (shutdown)",
               "/root/kv-service/store: example.kv stopped (shutdown)");
    pr_free(kv);
}

static void test_cluster(void **state)
{
    (void)state;
    pr_proc *back = pr_troupe_spawn((const char *[]){"run", example("back.yaml"), NULL});
    pr_wait_text(back, false, "tree 'back' started", 0);
    pr_proc *front = pr_troupe_spawn((const char *[]){"run", example("front.yaml"), NULL});
    pr_wait_text(front, false, "tree 'replicated-kv' started", 0);
    /* the replica runs in back's process, the primary in front's */
    pr_wait_text(back, false, "/replica: example.kv started", 0);
    want(front->ebuf, "/root/replicated-kv/primary: example.kv started, replica kv-replica@back");

    tr_system *sys = join("ipc:///tmp/troupe-example-front.sock", 2); /* front, and back */
    call(sys, "kv@front", "kv.put", "colour=blue", "kv.ok", "colour");
    /* answered once the replica had it: it is there */
    call(sys, "kv-replica@back", "kv.get", "colour", "kv.value", "blue");
    call(sys, "kv-replica@back", "kv.size", "", "kv.size", "1");
    tr_system_destroy(&sys);

    pr_proc *t;
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", "ipc:///tmp/troupe-example-front.sock", NULL}, &t),
        0);
    want(t->obuf, "\n  /root/replicated-kv/replica worker behaviour=example.kv <");
    want(t->obuf, " node=back\n");
    pr_free(t);

    /* front first: its tree stops in reverse start order, the primary
     * here, then the replica on back, stopped by its supervisor (not
     * lost with the connection) before front's node goes */
    size_t bfrom = back->en;
    size_t ffrom = front->en;
    assert_int_equal(pr_stop(front, SIGTERM), 0);
    want(front->ebuf + ffrom, "/root/replicated-kv/primary: example.kv stopped (shutdown)");
    assert_int_equal(pr_stop(back, SIGTERM), 0);
    want_order(back->ebuf + bfrom, "/replica: example.kv stopped (shutdown)",
               "node front is down");
    pr_free(front);
    pr_free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kv_service, teardown),
        cmocka_unit_test_teardown(test_cluster, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
