/* test_examples.c — the example services (examples/kv, examples/cluster,
 * with the plugin examples/plugin/example_kv.c) run as their comments
 * say: `troupe run` on the copies meson puts next to the plugin
 * (TROUPE_EXAMPLES_BUILD; their ipc paths moved, see copy_example), calls from this test's own node, SIGTERM, and
 * the shutdown order in their logs. Waits are on log lines, node events
 * and exits, each with a deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "procutil.h"
#include "testutil.h"

/* The example configs name fixed ipc paths in /tmp: another checkout's
 * suite running at the same time would take them over. Each test runs
 * copies in its own directory, the paths moved there and the plugin
 * linked next to them; nothing else of the files changes. */
static char dir[64];
static char my_ep[128];

static void copy_example(const char *name)
{
    const char *build = getenv("TROUPE_EXAMPLES_BUILD");
    if (!build) fail_msg("TROUPE_EXAMPLES_BUILD is not set (run the test through meson)");
    char from[512], to[512], text[8192];
    snprintf(from, sizeof from, "%s/%s", build, name);
    FILE *f = fopen(from, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    snprintf(to, sizeof to, "%s/%s", dir, name);
    FILE *out = fopen(to, "w");
    assert_non_null(out);
    const char *fixed = "ipc:///tmp/troupe-example-";
    for (const char *p = text, *hit; *p; p = hit + strlen(fixed)) {
        if (!(hit = strstr(p, fixed))) {
            fputs(p, out);
            break;
        }
        fprintf(out, "%.*sipc://%s/troupe-example-", (int)(hit - p), p, dir);
    }
    fclose(out);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/troupe-examples-t-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char link[128], target[512];
    snprintf(link, sizeof link, "%s/example_kv.so", dir);
    snprintf(target, sizeof target, "%s/example_kv.so", getenv("TROUPE_EXAMPLES_BUILD"));
    return symlink(target, link);
}

static int teardown(void **state)
{
    (void)state;
    pr_reap_all();
    const char *files[] = {"example_kv.so", "kv-service.yaml", "front.yaml", "back.yaml",
                           "troupe-example-kv.sock", "troupe-example-front.sock",
                           "troupe-example-back.sock", "me.sock"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

/* The copy of an example, and an endpoint of the copies. */
static const char *example(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    copy_example(name);
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static const char *ep(const char *node)
{
    static char eps[4][256];
    static int next;
    char *e = eps[next++ % 4];
    snprintf(e, 256, "ipc://%s/troupe-example-%s.sock", dir, node);
    return e;
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
    snprintf(my_ep, sizeof my_ep, "ipc://%s/me.sock", dir);
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

    tr_system *sys = join(ep("kv"), 1);
    call(sys, "kv@kv", "kv.put", "colour=blue", "kv.ok", "colour");
    call(sys, "kv@kv", "kv.put", "size=large", "kv.ok", "size");
    call(sys, "kv@kv", "kv.get", "colour", "kv.value", "blue");
    call(sys, "kv@kv", "kv.get", "weight", "kv.missing", "");
    call(sys, "kv@kv", "kv.put", "no-equals-sign", "kv.malformed", "");
    call(sys, "kv@kv", "kv.size", "", "kv.size", "2");
    tr_system_destroy(&sys);

    pr_proc *t;
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", ep("kv"), NULL}, &t), 0);
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

    tr_system *sys = join(ep("front"), 2); /* front, and back */
    call(sys, "kv@front", "kv.put", "colour=blue", "kv.ok", "colour");
    /* answered once the replica had it: it is there */
    call(sys, "kv-replica@back", "kv.get", "colour", "kv.value", "blue");
    call(sys, "kv-replica@back", "kv.size", "", "kv.size", "1");
    tr_system_destroy(&sys);

    pr_proc *t;
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", ep("front"), NULL}, &t),
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
        cmocka_unit_test_setup_teardown(test_kv_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
