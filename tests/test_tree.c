/* test_tree.c — `troupe tree ENDPOINT` against running nodes: two `troupe
 * run` processes (a tree with a child on the other node), and this test's
 * own node (a program that publishes its tree by hand, and one that
 * publishes none). Waits are on output lines and exits, with deadlines. */
#include <dirent.h>
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
    snprintf(dir, sizeof dir, "/tmp/troupe-tree-t-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pr_reap_all();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d) closedir(d);
    rmdir(dir);
    return 0;
}

static const char *write_file(const char *name, const char *text)
{
    static char paths[8][300];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 300, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* "ipc://<dir>/<name>.sock" */
static const char *endpoint(const char *name)
{
    static char eps[4][300];
    static int next;
    char *ep = eps[next++ % 4];
    snprintf(ep, 300, "ipc://%s/%s.sock", dir, name);
    return ep;
}

static void want(const char *text, const char *needle)
{
    if (!strstr(text, needle)) fail_msg("'%s' not in:\n%s", needle, text);
}

/* ------------------------------------------------------------ two nodes */

static void test_tree_of_two_nodes(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "node: {name: back, listen: %s, log_level: info, workers: 1}\n"
             "tree: {supervisor: back}\n",
             endpoint("b"));
    const char *b_cfg = write_file("b.yaml", text);
    snprintf(text, sizeof text,
             "node: {name: front, listen: %s, peers: [%s], log_level: info, workers: 1}\n"
             "tree:\n"
             "  supervisor: svc\n"
             "  strategy: rest_for_one\n"
             "  children:\n"
             "    - {name: echo, behaviour: troupe.echo, register: echo}\n"
             "    - {name: far, behaviour: troupe.echo, node: back}\n"
             "    - supervisor: pool\n"
             "      strategy: simple_one_for_one\n"
             "      children: [{name: w, behaviour: troupe.echo, restart: temporary}]\n"
             "    - supervisor: inner\n"
             "      children:\n"
             "        - {name: tick, behaviour: troupe.ticker, args: {interval: 1h, to: echo}}\n",
             endpoint("a"), endpoint("b"));
    const char *a_cfg = write_file("a.yaml", text);

    /* front first: its tree waits for the node its child runs on */
    pr_proc *a = pr_troupe_spawn((const char *[]){"run", a_cfg, NULL});
    pr_wait_text(a, false, "listens on", 0);
    pr_proc *b = pr_troupe_spawn((const char *[]){"run", b_cfg, NULL});
    pr_wait_text(a, false, "tree 'svc' started", 0);

    pr_proc *t;
    assert_int_equal(pr_troupe_run((const char *[]){"tree", endpoint("a"), NULL}, &t), 0);
    char line[512];
    snprintf(line, sizeof line, "node front at %s\n", endpoint("a"));
    want(t->obuf, line);
    want(t->obuf, "\n/root/svc supervisor strategy=rest_for_one <");
    want(t->obuf, "\n  /root/svc/echo worker behaviour=troupe.echo <");
    want(t->obuf, "\n  /root/svc/far worker behaviour=troupe.echo <");
    want(t->obuf, "restarts=0 node=back\n");
    want(t->obuf, "\n  /root/svc/pool supervisor strategy=simple_one_for_one <");
    want(t->obuf, "\n    /root/svc/inner/tick worker behaviour=troupe.ticker <");
    want(t->obuf, " waiting mailbox=0 in=");
    assert_string_equal(t->ebuf, "");
    /* depth first, in start order: one line per actor */
    const char *order[] = {"/root/svc ", "/root/svc/echo ", "/root/svc/far ", "/root/svc/pool ",
                           "/root/svc/inner ", "/root/svc/inner/tick "};
    const char *at = t->obuf;
    for (size_t i = 0; i < 6; i++) {
        const char *hit = strstr(at, order[i]);
        if (!hit) fail_msg("'%s' missing or out of order in:\n%s", order[i], t->obuf);
        at = hit + 1;
    }
    pr_free(t);

    assert_int_equal(pr_troupe_run((const char *[]){"tree", "--json", endpoint("a"), NULL}, &t),
                     0);
    snprintf(line, sizeof line, "{\"node\": \"front\", \"endpoint\": \"%s\", \"tree\":",
             endpoint("a"));
    want(t->obuf, line);
    want(t->obuf, "{\"id\": \"svc\", \"path\": \"/root/svc\", \"type\": \"supervisor\", "
                  "\"strategy\": \"rest_for_one\", \"pid\": \"<");
    want(t->obuf, "{\"id\": \"far\", \"path\": \"/root/svc/far\", \"type\": \"worker\", "
                  "\"behaviour\": \"troupe.echo\", \"pid\": \"<");
    want(t->obuf, "\"restarts\": 0, \"node\": \"back\", \"children\": []}");
    want(t->obuf, "\"running\": true, \"status\": \"waiting\", \"mailbox\": 0, \"messages_in\": ");
    assert_int_equal(t->obuf[t->on - 2], '}');
    pr_free(t);

    assert_int_equal(pr_troupe_run((const char *[]){"tree", "--dot", endpoint("a"), NULL}, &t),
                     0);
    want(t->obuf, "digraph troupe {\n  label=\"front\";\n");
    want(t->obuf, "  n0 [shape=box, label=\"svc\\nrest_for_one\\nwaiting mailbox=0 restarts=0\"];\n"
                  "  n0 -> n1;\n");
    want(t->obuf, "n2 [shape=ellipse, style=dashed, label=\"far\\ntroupe.echo\\nwaiting mailbox=0 "
                  "restarts=0\\non back\"];\n");
    want(t->obuf, "  n4 -> n5;\n");
    assert_string_equal(t->obuf + t->on - 2, "}\n");
    pr_free(t);

    /* the other node's own tree (an empty one) */
    assert_int_equal(pr_troupe_run((const char *[]){"tree", endpoint("b"), NULL}, &t), 0);
    want(t->obuf, "\n/root/back supervisor strategy=one_for_one <");
    pr_free(t);

    /* the visits left no trace but a node up and down in the log */
    assert_int_equal(pr_stop(a, SIGTERM), 0);
    want(a->ebuf, "node troupe-tree-");
    want(a->ebuf, "is down (bye)");
    assert_int_equal(pr_stop(b, SIGTERM), 0);
    pr_free(a);
    pr_free(b);
}

/* ------------------------------------------------------------ CURVE */

/* A tcp node with keys answers only the keys on its allowlist; the tool
 * takes the name its key is bound to. */
static void test_tree_with_curve(void **state)
{
    (void)state;
    const char *names[] = {"secure", "tool", "other"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pr_troupe_run((const char *[]){"keygen", "-d", dir, names[i], NULL}, NULL),
                         0);
    char text[1024], key[300], pub[300], other[300];
    snprintf(text, sizeof text,
             "node:\n"
             "  name: secure\n"
             "  listen: tcp://127.0.0.1:*\n"
             "  keys: {secret: secure.key, allow: tool.pub}\n"
             "  log_level: info\n"
             "tree: {supervisor: s, children: [{name: e, behaviour: troupe.echo}]}\n");
    pr_proc *n = pr_troupe_spawn((const char *[]){"run", write_file("s.yaml", text), NULL});
    pr_wait_text(n, false, "tree 's' started", 0);
    char ep[64] = "";
    const char *at = strstr(n->ebuf, "listens on tcp://");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "listens on %63s", ep), 1);
    snprintf(key, sizeof key, "%s/tool.key", dir);
    snprintf(other, sizeof other, "%s/other.key", dir);
    snprintf(pub, sizeof pub, "%s/secure.pub", dir);

    pr_proc *t;
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", "--key", key, "--peer-key", pub, ep, NULL}, &t), 0);
    want(t->obuf, "\n  /root/s/e worker behaviour=troupe.echo <");
    pr_free(t);
    pr_wait_text(n, false, "node tool is up", 0);

    /* a key not on its allowlist, and no key at all: refused, 3 (both
     * at once: each waits out its timeout) */
    pr_proc *wrong = pr_troupe_spawn((const char *[]){"tree", "--key", other, "--peer-key", pub,
                                                      "--timeout", "300", ep, NULL});
    pr_proc *none = pr_troupe_spawn((const char *[]){"tree", "--timeout", "300", ep, NULL});
    assert_int_equal(pr_finish(wrong), 3);
    want(wrong->ebuf, "no node answered at ");
    assert_int_equal(pr_finish(none), 3);
    pr_free(wrong);
    pr_free(none);

    assert_int_equal(pr_stop(n, SIGTERM), 0);
    want(n->ebuf, "refused CURVE key");
    pr_free(n);
}

/* ------------------------------------------------------------ this node */

static int publish_setup(tr_system **sys, const char *ep)
{
    if (tr_system_new(&(tr_system_opts){.workers = 1}, sys) != TR_OK) return -1;
    const char *listen[] = {ep};
    tr_node *n;
    return tr_node_start(*sys, &(tr_node_opts){.name = "embedded", .listen = listen, .nlisten = 1},
                         &n);
}

/* A program embedding troupe shows its tree by registering its root
 * supervisor as "troupe.tree": without the specs actor the behaviours
 * are unknown ("?"), the rest is there. */
static void test_tree_of_an_embedding_program(void **state)
{
    (void)state;
    tr_system *sys;
    assert_int_equal(publish_setup(&sys, endpoint("e")), TR_OK);
    assert_int_equal(tr_builtins_register(), TR_OK);
    tr_child_spec kids[] = {{.id = "echo", .behaviour = &tr_echo_behaviour}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 1, .period_ms = 1000,
                        .children = kids, .nchildren = 1};
    tr_pid root;
    char why[256];
    assert_int_equal(tr_supervisor_start(sys, &spec, "app", T_WAIT_MS, &root, why, sizeof why),
                     TR_OK);

    /* no tree published yet: 3, and why */
    pr_proc *t;
    assert_int_equal(pr_troupe_run((const char *[]){"tree", endpoint("e"), NULL}, &t), 3);
    want(t->ebuf, "troupe tree: node embedded at ");
    want(t->ebuf, "publishes no tree (no \"troupe.tree\" registered");
    assert_string_equal(t->obuf, "");
    pr_free(t);

    assert_int_equal(tr_register(sys, "troupe.tree", root), TR_OK);
    assert_int_equal(pr_troupe_run((const char *[]){"tree", endpoint("e"), NULL}, &t), 0);
    want(t->obuf, "\n/root/app supervisor strategy=? <");
    want(t->obuf, "\n  /root/app/echo worker behaviour=? <");
    want(t->obuf, " node=embedded\n");
    pr_free(t);

    tr_system_stop(sys);
    assert_int_equal(tr_system_wait(sys, T_WAIT_MS), TR_OK);
    tr_system_destroy(&sys);
}

/* ------------------------------------------------------------ refusals */

static void test_tree_refusals(void **state)
{
    (void)state;
    pr_proc *t;
    /* usage errors: 1, and what is wrong */
    struct {
        const char *args[6];
        const char *says;
    } usage[] = {
        {{"tree", NULL}, "no ENDPOINT given"},
        {{"tree", "--bogus", "ipc:///x", NULL}, "unknown option '--bogus'"},
        {{"tree", "inproc://x", NULL}, "reachable only inside its own process"},
        {{"tree", "udp://x:1", NULL}, "ENDPOINT wants ipc://PATH or tcp://HOST:PORT"},
        {{"tree", "--json", "--dot", "ipc:///x", NULL}, "--json and --dot exclude each other"},
        {{"tree", "--timeout", "0", "ipc:///x", NULL}, "--timeout wants milliseconds"},
        {{"tree", "--timeout", "5x", "ipc:///x", NULL}, "--timeout wants milliseconds"},
        {{"tree", "--key", NULL}, "--key wants a value"},
        {{"tree", "--peer-key", "k.pub", "tcp://127.0.0.1:1", NULL}, "go together"},
        {{"tree", "ipc:///a", "ipc:///b", NULL}, "one ENDPOINT only"},
    };
    enum { NUSAGE = sizeof usage / sizeof *usage };
    pr_proc *ps[NUSAGE]; /* all at once: each is a process start */
    for (size_t i = 0; i < NUSAGE; i++)
        ps[i] = pr_troupe_spawn(usage[i].args);
    for (size_t i = 0; i < NUSAGE; i++) {
        assert_int_equal(pr_finish(ps[i]), 1);
        want(ps[i]->ebuf, usage[i].says);
        pr_free(ps[i]);
    }
    /* --help: 0, with the exit codes */
    assert_int_equal(pr_troupe_run((const char *[]){"tree", "--help", NULL}, &t), 0);
    want(t->obuf, "usage: troupe tree");
    want(t->obuf, "  3  the node cannot be reached");
    pr_free(t);
    assert_int_equal(pr_troupe_run((const char *[]){"help", NULL}, &t), 0);
    want(t->obuf, "  tree ENDPOINT ");
    pr_free(t);
    /* the conventional spellings: -h, --help, --version, -V */
    assert_int_equal(pr_troupe_run((const char *[]){"-h", NULL}, &t), 0);
    want(t->obuf, "exit status:");
    pr_free(t);
    assert_int_equal(pr_troupe_run((const char *[]){"--help", NULL}, &t), 0);
    want(t->obuf, "usage: troupe <command>");
    pr_free(t);
    for (int i = 0; i < 2; i++) {
        const char *flag = i ? "-V" : "--version";
        assert_int_equal(pr_troupe_run((const char *[]){flag, NULL}, &t), 0);
        char v[64];
        snprintf(v, sizeof v, "troupe %s\n", tr_version());
        assert_string_equal(t->obuf, v);
        pr_free(t);
    }
    assert_int_equal(pr_troupe_run((const char *[]){"--nope", NULL}, &t), 2);
    want(t->ebuf, "unknown command '--nope'");
    pr_free(t);

    /* nobody there: 3 after the timeout */
    int64_t t0 = t_now_ms();
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", "--timeout", "300", endpoint("nobody"), NULL}, &t),
        3);
    assert_true(t_now_ms() - t0 < T_WAIT_MS);
    want(t->ebuf, "no node answered at ");
    want(t->ebuf, "within 300 ms");
    pr_free(t);
    assert_int_equal(
        pr_troupe_run((const char *[]){"tree", "--timeout", "300", "tcp://127.0.0.1:1", NULL}, &t),
        3);
    pr_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_of_two_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_with_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_of_an_embedding_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
