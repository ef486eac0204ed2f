/* test_config.c — the config loader (troupe/config.h): every error with
 * its file, line and column; all errors of a file reported; YAML syntax
 * errors; the node section; trees loaded from YAML running (three levels,
 * restarts) and equal to the same trees built in C; built-in behaviours;
 * plugins (the test's own, built by meson; paths come from the
 * environment). Workers report to the probe inbox; the test thread
 * asserts. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* ------------------------------------------------------------ worker */

/* "test.worker": reports "start <path>" and "stop <path>", fails on
 * "crash", forwards "tick" messages to the probe, answers requests
 * "pong" with its args' "tag". Registered by main(), as a program that
 * embeds troupe registers its behaviours. */
static void record(tr_ctx *ctx, const char *what)
{
    char line[300];
    int n = snprintf(line, sizeof line, "%s ", what);
    tr_path(ctx, line + n, sizeof line - (size_t)n);
    t_report(ctx, "ev", line);
}

typedef struct wstate {
    char tag[32];
} wstate;

static int worker_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    wstate *s = vs;
    const char *tag = "";
    bool fail = false;
    if (tr_args_check(args, size, NULL, 0) != TR_OK) return tr_fail(ctx, "bad args");
    tr_args_str(args, size, "tag", &tag, NULL);
    tr_args_bool(args, size, "fail_init", &fail);
    if (fail) return tr_fail(ctx, "asked to fail");
    snprintf(s->tag, sizeof s->tag, "%s", tag);
    record(ctx, "start");
    return 0;
}

static int worker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    wstate *s = vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (tr_msg_is_request(m))
        return tr_reply(ctx, m, tr_atom_from("pong"), s->tag, strlen(s->tag) + 1);
    if (strcmp(t, "crash") == 0) return tr_fail(ctx, "crash");
    if (strcmp(t, "tick") == 0)
        return tr_send(ctx, t_probe, tr_atom_from("tick"), tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static void worker_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs, (void)why;
    record(ctx, "stop");
}

static const tr_behaviour worker_b = {"test.worker", sizeof(wstate), worker_init, worker_handle,
                                      worker_terminate};

/* ------------------------------------------------------------ helpers */

static int setup(void **state)
{
    tr_log_set_level(TR_LOG_NONE); /* restarts are logged at warn */
    return t_setup(state);
}

static int teardown(void **state)
{
    int rc = t_teardown(state);
    tr_log_set_level(TR_LOG_WARN);
    return rc;
}

static tr_config *parse_flags(const char *yaml, unsigned flags)
{
    tr_config *cfg = NULL;
    int rc = tr_config_parse("t.yaml", yaml, strlen(yaml), flags, &cfg);
    assert_non_null(cfg);
    assert_true(rc == TR_OK || rc == TR_EINVAL);
    assert_int_equal(rc == TR_OK, tr_config_error_count(cfg) == 0);
    return cfg;
}

static tr_config *parse(const char *yaml) { return parse_flags(yaml, TR_CONFIG_NO_FILES); }

static void print_errors(const tr_config *cfg)
{
    for (size_t i = 0; i < tr_config_error_count(cfg); i++)
        print_error("  %s\n", tr_config_error_get(cfg, i)->text);
}

/* Asserts that `yaml` has an error at line:col whose message contains
 * `msg`, and that its text is "t.yaml:line:col: error: <message>". */
static void expect_error(const char *yaml, unsigned line, unsigned col, const char *msg)
{
    tr_config *cfg = parse(yaml);
    const tr_config_error *found = NULL;
    for (size_t i = 0; i < tr_config_error_count(cfg) && !found; i++) {
        const tr_config_error *e = tr_config_error_get(cfg, i);
        if (e->line == line && e->column == col && strstr(e->message, msg)) found = e;
    }
    if (!found) {
        print_error("wanted t.yaml:%u:%u: ...%s...\nin:\n%s\ngot:\n", line, col, msg, yaml);
        print_errors(cfg);
    }
    assert_non_null(found);
    char text[1200];
    snprintf(text, sizeof text, "t.yaml:%u:%u: error: %s", line, col, found->message);
    assert_string_equal(found->text, text);
    assert_string_equal(found->file, "t.yaml");
    assert_null(tr_config_tree(cfg)); /* nothing is handed out with errors */
    tr_config_destroy(&cfg);
}

/* ------------------------------------------------------------ errors */

enum { BASE_WORKER, BASE_ROOT, BASE_NODE, BASE_NONE };

static const struct error_case {
    int base;
    const char *yaml;
    unsigned line, col;
    const char *msg;
} cases[] = {
    /* a worker's keys (base: tree root > worker 'a', extra lines from line 6) */
    {BASE_WORKER, "      restrat: permanent\n", 6, 7,
     "unknown key 'restrat' in worker 'a' (did you mean 'restart'?)"},
    {BASE_WORKER, "      colour: blue\n", 6, 7,
     "unknown key 'colour' in worker 'a' (expected one of: name, behaviour, args, mailbox, "
     "process, restart, shutdown, significant, register, backoff, node)"},
    {BASE_WORKER, "      restart: always\n", 6, 16,
     "restart: expected one of permanent, transient, temporary, got 'always'"},
    {BASE_WORKER, "      restart: [a]\n", 6, 16,
     "restart: expected one of permanent, transient, temporary, got a list"},
    {BASE_WORKER, "      restart:\n", 6, 15,
     "restart: expected one of permanent, transient, temporary, got nothing (null)"},
    {BASE_WORKER, "      shutdown: 5\n", 6, 17,
     "shutdown: expected a duration above 0 (such as 250ms, 5s or 1m), brutal_kill or "
     "infinity, got '5'"},
    {BASE_WORKER, "      shutdown: 0s\n", 6, 17, "shutdown: expected a duration above 0"},
    {BASE_WORKER, "      shutdown: 1500us\n", 6, 17,
     "shutdown: expected whole milliseconds, got '1500us'"},
    {BASE_WORKER, "      significant: yes\n", 6, 20,
     "significant: expected true or false, got 'yes'"},
    {BASE_WORKER, "      significant: true\n", 6, 20,
     "significant: a permanent child cannot be significant (its end would never be final): "
     "make it transient or temporary"},
    {BASE_WORKER, "      restart: transient\n      significant: true\n", 7, 20,
     "significant: supervisor 'root' has auto_shutdown never, so its children's ends are never "
     "significant"},
    {BASE_WORKER, "      register: a@b\n", 6, 17,
     "register: expected a name of 1 to 255 bytes without '@', got 'a@b'"},
    {BASE_WORKER, "      mailbox: {capacity: 0}\n", 6, 27,
     "capacity: expected an integer from 1 to 1073741823, got '0'"},
    {BASE_WORKER, "      mailbox: {on_full: drop_oldest}\n", 6, 26,
     "on_full applies to a bounded mailbox: set mailbox.capacity too"},
    {BASE_WORKER, "      mailbox: {capacity: 5, on_full: sometimes}\n", 6, 39,
     "on_full: expected one of fail, drop_newest, drop_oldest, block, got 'sometimes'"},
    {BASE_WORKER, "      mailbox: 5\n", 6, 16, "mailbox: expected a map, got '5'"},
    {BASE_WORKER, "      backoff: {max: 1s}\n", 6, 16,
     "backoff: 'min' (the first restart delay) is required"},
    {BASE_WORKER, "      backoff: {min: 1s, max: 1s, jitter: 2}\n", 6, 43,
     "jitter: expected a number from 0 to 1, got '2'"},
    {BASE_WORKER, "      backoff: {min: 2s, max: 1s}\n", 6, 31,
     "backoff: max (1000 ms) must be at least min (2000 ms)"},
    {BASE_WORKER, "      node: \"a b\"\n", 6, 13,
     "node: expected a node name of 1 to 255 printable bytes, got 'a b'"},
    {BASE_WORKER, "      behaviour: troupe.echo\n", 6, 7,
     "duplicate key 'behaviour' in worker 'a' (first at line 5, column 7)"},
    {BASE_WORKER, "      strategy: one_for_one\n", 6, 7,
     "'strategy' applies to supervisors (children with 'supervisor'), not to worker 'a'"},
    {BASE_WORKER, "      args: {a: !foo x}\n", 6, 17, "args: unsupported tag '!foo'"},
    {BASE_WORKER, "      args: {big: 99999999999999999999}\n", 6, 19,
     "args: '99999999999999999999' is out of the int64 range"},
    {BASE_WORKER, "      args: {k: 1, k: 2}\n", 6, 20,
     "args: duplicate key 'k' (first at line 6, column 14)"},
    {BASE_WORKER, "      args: {[1]: x}\n", 6, 14, "args: expected a key (a string), got a list"},
    /* supervisors (base: the root, extra lines from line 3) */
    {BASE_ROOT, "  strategy: one_for_two\n", 3, 13,
     "strategy: expected one of one_for_one, one_for_all, rest_for_one, simple_one_for_one, "
     "got 'one_for_two'"},
    {BASE_ROOT, "  intensity: 4294967296\n", 3, 14,
     "intensity: expected an integer from 0 to 4294967295, got '4294967296'"},
    {BASE_ROOT, "  intensity: many\n", 3, 14,
     "intensity: expected an integer from 0 to 4294967295, got 'many'"},
    {BASE_ROOT, "  period: 0s\n", 3, 11, "period: expected a duration above 0"},
    {BASE_ROOT, "  period: infinity\n", 3, 11,
     "period: expected a duration above 0 (such as 250ms, 5s or 1m), got 'infinity'"},
    {BASE_ROOT, "  auto_shutdown: sometimes\n", 3, 18,
     "auto_shutdown: expected one of never, any_significant, all_significant, got 'sometimes'"},
    {BASE_ROOT, "  restart: permanent\n", 3, 3,
     "'restart' does not apply to the root supervisor (supervisor 'root' is nobody's child)"},
    {BASE_ROOT, "  behaviour: x\n", 3, 3,
     "'behaviour' applies to workers; the tree's root must be a supervisor (supervisor 'root')"},
    {BASE_ROOT, "  strategy: simple_one_for_one\n", 3, 3,
     "children: a simple_one_for_one supervisor has exactly one child spec (the template of the "
     "children it starts), got 0"},
    {BASE_ROOT,
     "  strategy: simple_one_for_one\n  auto_shutdown: any_significant\n  children:\n"
     "    - {name: t, behaviour: troupe.echo, restart: temporary}\n",
     4, 18, "auto_shutdown: a simple_one_for_one supervisor cannot auto-shutdown"},
    {BASE_ROOT,
     "  strategy: simple_one_for_one\n  children:\n"
     "    - {name: t, behaviour: troupe.echo, register: n}\n",
     5, 51,
     "register: the template of simple_one_for_one supervisor 'root' cannot register a name"},
    {BASE_ROOT,
     "  strategy: simple_one_for_one\n  children:\n"
     "    - {name: t, behaviour: troupe.echo}\n    - {name: u, behaviour: troupe.echo}\n",
     5, 5, "exactly one child spec (the template of the children it starts), got 2"},
    {BASE_ROOT, "  children:\n    - {supervisor: s, node: kv@b}\n", 4, 29,
     "a child supervisor cannot run on another node"},
    {BASE_ROOT, "  children:\n    - 5\n", 4, 7,
     "children: expected a child (a map with 'name' or 'supervisor'), got '5'"},
    {BASE_ROOT, "  children:\n    - {name: a, supervisor: b}\n", 4, 7,
     "a child is either a worker ('name' and 'behaviour') or a supervisor ('supervisor' and "
     "'children'), not both"},
    {BASE_ROOT, "  children:\n    - {behaviour: troupe.echo}\n", 4, 7,
     "a child needs 'name' and 'behaviour' (a worker) or 'supervisor' (a supervisor)"},
    {BASE_ROOT, "  children:\n    - {name: a}\n", 4, 7,
     "worker 'a' needs a 'behaviour' (the registered name of its callbacks) or a 'process' (a "
     "program to run)"},
    /* process children (troupe/process.h) */
    {BASE_ROOT, "  children:\n    - name: a\n      process: {args: [x]}\n", 5, 16,
     "process: 'program' (the path of the program to run) is required"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, kind: node}\n", 5, 16,
     "process: kind node needs 'node' (the node name the child takes)"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, kind: nodes}\n", 5, 35,
     "kind: expected one of plain, node, got 'nodes'"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, start_timeout: 1s}\n", 5,
     44, "start_timeout: applies to a process of kind node"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, node: n}\n", 5, 35,
     "node: names the node of a process of kind node (set kind: node)"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, env: {A=B: c}}\n", 5, 35,
     "env: 'A=B' is not a variable name (non-empty, without '=')"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x, colour: 1}\n", 5, 29,
     "unknown key 'colour' in process"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x}\n      behaviour: b\n", 6,
     18, "behaviour: worker 'a' runs a process (its 'process'), not a behaviour"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: {program: x}\n      args: [1]\n", 6, 13,
     "args: a process child's arguments go in process.args"},
    {BASE_ROOT, "  children:\n    - name: a\n      process: 5\n", 5, 16,
     "process: expected a map, got '5'"},
    {BASE_ROOT, "  children:\n    - {name: a/b, behaviour: troupe.echo}\n", 4, 14,
     "name: expected a child id of 1 to 255 bytes without '/', got 'a/b'"},
    {BASE_ROOT, "  children:\n    - {name: a, behaviour: kv_store}\n", 4, 28,
     "unknown behaviour 'kv_store' (not built in, not registered by this program, and in none "
     "of this config's plugins)"},
    {BASE_ROOT,
     "  children:\n    - {name: a, behaviour: troupe.echo}\n"
     "    - {name: a, behaviour: troupe.echo}\n",
     5, 14, "duplicate child id 'a' in supervisor 'root' (first at line 4, column 14)"},
    {BASE_ROOT, "  children: {a: 1}\n", 3, 13, "children: expected a list, got a map"},
    {BASE_ROOT, "  children:\n    - supervisor: s\n      behaviour: x\n", 5, 7,
     "'behaviour' applies to workers (children with 'name'), not to supervisor 's'"},
    {BASE_ROOT,
     "  children:\n    - {name: a, behaviour: troupe.echo, register: n}\n"
     "    - supervisor: s\n      children:\n"
     "        - {name: b, behaviour: troupe.echo, register: n}\n",
     7, 55, "register: the name 'n' is already registered by child 'a' (line 4, column 51)"},
    /* the top level */
    {BASE_NONE, "tre:\n  supervisor: x\n", 1, 1,
     "unknown key 'tre' in the config (did you mean 'tree'?)"},
    {BASE_NONE, "node: {}\n", 1, 1,
     "the config has no 'tree' (the root supervisor and its children)"},
    {BASE_NONE, "tree:\n  name: a\n  behaviour: troupe.echo\n", 2, 3,
     "tree: expected 'supervisor: <name>' (the root supervisor's name): the root of the tree "
     "must be a supervisor, not a worker"},
    {BASE_NONE, "tree: [a]\n", 1, 7, "tree: expected a map, got a list"},
    {BASE_NONE, "- a\n", 1, 1,
     "expected a map with 'tree' (and optionally 'node' and 'plugins'), got a list"},
    {BASE_NONE, "", 1, 1, "the config is empty: expected a map with 'tree'"},
    {BASE_NONE, "# only a comment\n", 1, 1, "the config is empty"},
    {BASE_NONE, "plugins: [{a: 1}]\ntree: {supervisor: r}\n", 1, 11,
     "plugins: expected the path of a shared object, got a map"},
    {BASE_NONE, "tree: {supervisor: r}\n---\ntree: {supervisor: r}\n", 3, 1,
     "a second YAML document: a config file holds one"},
    /* the node section (extra lines from line 2) */
    {BASE_NODE, "  workers: 0\n", 2, 12,
     "workers: expected an integer from 1 to 256 or auto, got '0'"},
    {BASE_NODE, "  log_level: loud\n", 2, 14,
     "log_level: expected one of debug, info, warn, error, none, got 'loud'"},
    {BASE_NODE, "  batch: 100000\n", 2, 10,
     "batch: expected an integer from 1 to 65536, got '100000'"},
    {BASE_NODE, "  blocking_threads: 2000\n", 2, 21,
     "blocking_threads: expected an integer from 1 to 1024, got '2000'"},
    {BASE_NODE, "  time_slice: 50us\n", 2, 15,
     "time_slice: expected a duration from 100us to 1s (such as 250ms, 5s or 1m), got '50us'"},
    {BASE_NODE, "  long_callback: 0s\n", 2, 18,
     "long_callback: expected a duration above 0 (such as 250ms, 5s or 1m) or infinity, got "
     "'0s'"},
    {BASE_NODE, "  listen: [tcp://127.0.0.1:7000]\n", 2, 3,
     "'listen' needs the node's 'name' (without a name, node only sets the runtime's options)"},
    {BASE_NODE, "  name: n\n  listen: [http://x]\n", 3, 12,
     "listen: expected an endpoint tcp://host:port, ipc://path or inproc://name, got "
     "'http://x'"},
    {BASE_NODE, "  name: n\n  listen: tcp://127.0.0.1:70000\n", 3, 11,
     "listen: expected an endpoint"},
    {BASE_NODE, "  name: n\n  listen: tcp://*:7000\n", 3, 11,
     "listen: 'tcp://*:7000' is not a loopback address: it needs keys (node.keys) or insecure: "
     "true"},
    {BASE_NODE, "  name: n\n  peers: [tcp://127.0.0.1:*]\n", 3, 11,
     "peers: expected an endpoint tcp://host:port"},
    {BASE_NODE, "  name: n\n  peers: [{endpoint: tcp://127.0.0.1:7001, key: short}]\n", 3, 49,
     "key: expected a .pub key file or a 40-character Z85 public key, got 'short'"},
    {BASE_NODE, "  name: n\n  peers: [{key: a.pub}]\n", 3, 11, "a peer needs an 'endpoint'"},
    {BASE_NODE, "  name: n\n  heartbeat: {interval: 5s, timeout: 5s}\n", 3, 38,
     "heartbeat: timeout (5000 ms) must be above interval (5000 ms)"},
    {BASE_NODE, "  name: n\n  heartbeat: {interval: 10s}\n", 3, 25,
     "heartbeat: timeout (5000 ms) must be above interval (10000 ms)"},
    {BASE_NODE, "  name: n\n  max_message: 65MiB\n", 3, 16,
     "max_message: expected a size from 1B to 64MiB (such as 64KiB or 1MiB), got '65MiB'"},
    {BASE_NODE, "  name: n\n  queue: {messages: 0}\n", 3, 21,
     "messages: expected an integer from 1 to 8388608, got '0'"},
    {BASE_NODE, "  name: n\n  queue: {messages: 8388609}\n", 3, 21,
     "messages: expected an integer from 1 to 8388608, got '8388609'"},
    {BASE_NODE, "  name: n\n  queue: {bytes: 513GiB}\n", 3, 18,
     "bytes: expected a size from 1B to 512GiB (such as 64KiB or 1MiB), got '513GiB'"},
    {BASE_NODE, "  name: n\n  keys: {allow: [a.pub]}\n", 3, 9,
     "keys: 'secret' (this node's secret key file) is required"},
    {BASE_NODE, "  name: n\n  insecure: maybe\n", 3, 13,
     "insecure: expected true or false, got 'maybe'"},
    {BASE_NODE, "  name: \"\"\n", 2, 9,
     "name: expected a node name of 1 to 255 printable bytes, got ''"},
    {BASE_NODE, "  nme: n\n", 2, 3, "unknown key 'nme' in node (did you mean 'name'?)"},
    {BASE_NODE, "  name: n\n", 2, 3,
     "node: 'listen' is required with a name (the other nodes reach this node there, its "
     "answers included; tcp://127.0.0.1:* will do on one host)"},
};

static void test_every_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct error_case *c = &cases[i];
        char yaml[2048];
        switch (c->base) {
        case BASE_WORKER:
            snprintf(yaml, sizeof yaml,
                     "tree:\n  supervisor: root\n  children:\n    - name: a\n"
                     "      behaviour: troupe.echo\n%s",
                     c->yaml);
            break;
        case BASE_ROOT:
            snprintf(yaml, sizeof yaml, "tree:\n  supervisor: root\n%s", c->yaml);
            break;
        case BASE_NODE:
            snprintf(yaml, sizeof yaml, "node:\n%stree:\n  supervisor: root\n", c->yaml);
            break;
        default: snprintf(yaml, sizeof yaml, "%s", c->yaml);
        }
        expect_error(yaml, c->line, c->col, c->msg);
    }
}

/* One file, many mistakes: every one reported, in file order. */
static void test_all_errors_reported(void **state)
{
    (void)state;
    static const char yaml[] = "node:\n"                              /* 1 */
                               "  workers: 500\n"                     /* 2 */
                               "  log_level: verbose\n"               /* 3 */
                               "tree:\n"                              /* 4 */
                               "  supervisor: root\n"                 /* 5 */
                               "  strategy: one_for_two\n"            /* 6 */
                               "  intensity: -1\n"                    /* 7 */
                               "  children:\n"                        /* 8 */
                               "    - name: a\n"                      /* 9 */
                               "      behaviour: nowhere\n"           /* 10 */
                               "      restrat: permanent\n"           /* 11 */
                               "    - name: a\n"                      /* 12 */
                               "      behaviour: troupe.echo\n"       /* 13 */
                               "      shutdown: soon\n"               /* 14 */
                               "    - supervisor: s\n"                /* 15 */
                               "      children:\n"                    /* 16 */
                               "        - name: b\n"                  /* 17 */
                               "          behaviour: troupe.echo\n"   /* 18 */
                               "          mailbox: {capacity: -5}\n"; /* 19 */
    tr_config *cfg = parse(yaml);
    static const unsigned want[][2] = {{2, 12}, {3, 14},  {6, 13},  {7, 14}, {10, 18},
                                       {11, 7}, {12, 13}, {14, 17}, {19, 31}};
    size_t n = sizeof want / sizeof want[0];
    if (tr_config_error_count(cfg) != n) print_errors(cfg);
    assert_int_equal(tr_config_error_count(cfg), n);
    for (size_t i = 0; i < n; i++) {
        const tr_config_error *e = tr_config_error_get(cfg, i);
        assert_int_equal(e->line, want[i][0]);
        assert_int_equal(e->column, want[i][1]);
    }
    assert_null(tr_config_error_get(cfg, n));
    assert_null(tr_config_tree(cfg));
    assert_null(tr_config_node(cfg));
    tr_config_destroy(&cfg);
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    /* positions as libyaml reports them, 1-based */
    expect_error("tree:\n  supervisor: x\n   bad: [\n", 3, 7,
                 "YAML syntax: mapping values are not allowed in this context");
    expect_error("tree: {supervisor: x\n", 2, 1,
                 "YAML syntax: did not find expected ',' or '}' (while parsing a flow mapping at "
                 "line 1, column 7)");
    expect_error("tree:\n\tsupervisor: x\n", 2, 1,
                 "YAML syntax: found character that cannot start any token");
    expect_error("tree: *nowhere\n", 1, 7, "YAML syntax: found undefined alias");
    expect_error("a: 1\ntree: [\n", 3, 1, "YAML syntax: did not find expected node content");
    /* bytes that are not UTF-8: the reader's offset, turned into a position */
    expect_error("tree:\n  supervisor: \xff\n", 2, 15, "YAML: invalid leading UTF-8 octet");
    /* a syntax error in a second document is still reported */
    expect_error("tree: {supervisor: r}\n---\n- [\n", 4, 1, "YAML syntax:");
}

static void test_limits(void **state)
{
    (void)state;
    /* too many errors: listed up to a bound, then one line says so */
    char *yaml = malloc(64 * 1024);
    size_t o = (size_t)sprintf(yaml, "tree:\n  supervisor: r\n");
    for (int i = 0; i < 300; i++)
        o += (size_t)sprintf(yaml + o, "  bad%d: 1\n", i);
    tr_config *cfg = parse(yaml);
    size_t n = tr_config_error_count(cfg);
    assert_int_equal(n, 201);
    assert_non_null(strstr(tr_config_error_get(cfg, n - 1)->text, "too many errors"));
    assert_int_equal(tr_config_error_get(cfg, n - 1)->line, 0);
    tr_config_destroy(&cfg);
    /* an alias bomb: small text, a huge walk, refused quickly */
    o = (size_t)sprintf(yaml, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        o += (size_t)sprintf(yaml + o,
                             "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                             i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    sprintf(yaml + o,
            "tree:\n  supervisor: r\n  children:\n    - name: w\n      behaviour: troupe.echo\n"
            "      args: *a8\n");
    /* the error below says the walk stopped at its bound (a clock would
     * say nothing more, and would fail on a slow machine) */
    cfg = parse_flags(yaml, TR_CONFIG_NO_FILES);
    bool said = false;
    for (size_t i = 0; i < tr_config_error_count(cfg); i++)
        said |= strstr(tr_config_error_get(cfg, i)->message, "more than 100000 nodes") != NULL;
    assert_true(said);
    tr_config_destroy(&cfg);
    /* a cycle through an alias ends at the nesting bound */
    cfg = parse("tree:\n  supervisor: r\n  children:\n    - &c\n      supervisor: s\n"
                "      children: [*c]\n");
    assert_true(tr_config_error_count(cfg) > 0);
    tr_config_destroy(&cfg);
    /* supervisors nested too deep */
    o = (size_t)sprintf(yaml, "tree: ");
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(yaml + o, "{supervisor: s%d, children: [", i);
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(yaml + o, "]}");
    sprintf(yaml + o, "\n");
    expect_error(yaml, 1, (unsigned)(strstr(yaml, "{supervisor: s32,") - yaml) + 1,
                 "supervisor 's32': supervisors nested deeper than 32 levels");
    /* args nested too deep */
    o = (size_t)sprintf(yaml, "tree:\n  supervisor: r\n  children:\n    - name: w\n"
                              "      behaviour: troupe.echo\n      args: ");
    for (int i = 0; i < 70; i++)
        yaml[o++] = '[';
    for (int i = 0; i < 70; i++)
        yaml[o++] = ']';
    yaml[o] = '\0';
    expect_error(yaml, 6, 13 + 63, "args: nested deeper than 64 levels");
    free(yaml);
    /* too big a text */
    assert_int_equal(tr_config_parse("big.yaml", "", TR_CONFIG_MAX_SIZE + 1u, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_get(cfg, 0)->line, 0);
    assert_string_equal(tr_config_error_get(cfg, 0)->text,
                        "big.yaml: error: the file is larger than 16777216 bytes");
    tr_config_destroy(&cfg);
}

static void test_files(void **state)
{
    (void)state;
    tr_config *cfg;
    /* an unreadable file: an error without a position */
    assert_int_equal(tr_config_load("/nonexistent/x.yaml", 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_string_equal(tr_config_error_get(cfg, 0)->text,
                        "/nonexistent/x.yaml: error: cannot open: No such file or directory");
    tr_config_destroy(&cfg);
    tr_config_destroy(&cfg); /* NULL is fine */
    tr_config_destroy(NULL);
    assert_int_equal(tr_config_load(NULL, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_parse("x", "", 0, 0, NULL), TR_EINVAL);

    /* key files: relative to the config's directory; a secret readable by
     * others is refused; NO_FILES skips the look */
    char dir[] = "/tmp/troupe-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    const char *files[] = {"node.key", "peer.pub", "config.yaml"};
    static const char yaml[] = "node:\n"
                               "  name: n1\n"
                               "  listen: [tcp://0.0.0.0:7101, inproc://n1]\n"
                               "  keys: {secret: node.key, allow: [peer.pub, .]}\n"
                               "  peers: [tcp://127.0.0.1:7102, {endpoint: ipc:///tmp/p, key: "
                               "peer.pub}]\n"
                               "tree: {supervisor: r}\n";
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(i == 2 ? yaml : "key\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/node.key", dir);
    chmod(path, 0644);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    assert_int_equal(tr_config_load(path, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_int_equal(tr_config_error_get(cfg, 0)->line, 4);
    assert_int_equal(tr_config_error_get(cfg, 0)->column, 18);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message,
                           "is readable by group or others: a secret key must not be (chmod 600)"));
    tr_config_destroy(&cfg);
    snprintf(path, sizeof path, "%s/node.key", dir);
    chmod(path, 0600);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    assert_int_equal(tr_config_load(path, 0, &cfg), TR_OK);
    const tr_node_opts *node = tr_config_node(cfg);
    assert_non_null(node);
    assert_string_equal(node->name, "n1");
    assert_int_equal(node->nlisten, 2);
    assert_string_equal(node->listen[0], "tcp://0.0.0.0:7101");
    char want[300];
    snprintf(want, sizeof want, "%s/node.key", dir);
    assert_string_equal(node->secret_key_file, want);
    assert_int_equal(node->nallow, 2);
    snprintf(want, sizeof want, "%s/peer.pub", dir);
    assert_string_equal(node->allow[0], want);
    assert_int_equal(node->npeers, 2);
    assert_null(node->peers[0].public_key);
    assert_string_equal(node->peers[1].endpoint, "ipc:///tmp/p");
    assert_string_equal(node->peers[1].public_key, want);
    tr_config_error where;
    assert_int_equal(tr_config_locate(cfg, "node.listen[1]", &where), TR_OK);
    assert_int_equal(where.line, 3);
    assert_int_equal(where.column, 32);
    tr_config_destroy(&cfg);
    /* missing files */
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (i < 2) unlink(path);
    }
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    assert_int_equal(tr_config_load(path, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_count(cfg), 3); /* secret, allow[0], peers[1].key */
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "secret: cannot read"));
    tr_config_destroy(&cfg);
    assert_int_equal(tr_config_load(path, TR_CONFIG_NO_FILES, &cfg), TR_OK);
    tr_config_destroy(&cfg);
    unlink(path);
    rmdir(dir);
}

static void test_node_and_system_options(void **state)
{
    (void)state;
    tr_config *cfg = parse("node:\n"
                           "  workers: 3\n"
                           "  blocking_threads: 8\n"
                           "  batch: 32\n"
                           "  time_slice: 500us\n"
                           "  long_callback: infinity\n"
                           "  log_level: debug\n"
                           "tree: {supervisor: r}\n");
    assert_int_equal(tr_config_error_count(cfg), 0);
    const tr_system_opts *o = tr_config_system_opts(cfg);
    assert_int_equal(o->workers, 3);
    assert_int_equal(o->blocking_threads, 8);
    assert_int_equal(o->batch, 32);
    assert_int_equal(o->time_slice_us, 500);
    assert_true(o->long_callback_ms < 0);
    assert_int_equal(tr_config_log_level(cfg), TR_LOG_DEBUG);
    assert_null(tr_config_node(cfg)); /* no name: not a network node */
    assert_string_equal(tr_config_tree_name(cfg), "r");
    assert_int_equal(tr_config_tree(cfg)->nchildren, 0);
    tr_config_destroy(&cfg);

    cfg = parse("node:\n"
                "  name: api-1@host\n"
                "  workers: auto\n"
                "  insecure: true\n"
                "  listen: tcp://*:7101\n"
                "  heartbeat: {interval: 200ms, timeout: 1s}\n"
                "  max_message: 1MiB\n"
                "  queue: {messages: 5000, bytes: 8MiB}\n"
                "  peers:\n"
                "    - {endpoint: tcp://127.0.0.1:7102, key: "
                "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"}\n"
                "tree: {supervisor: r}\n");
    if (tr_config_error_count(cfg)) print_errors(cfg);
    assert_int_equal(tr_config_error_count(cfg), 0);
    const tr_node_opts *n = tr_config_node(cfg);
    assert_non_null(n);
    assert_string_equal(n->name, "api-1@host");
    assert_true(n->insecure);
    assert_int_equal(n->nlisten, 1);
    assert_int_equal(n->heartbeat_ms, 200);
    assert_int_equal(n->heartbeat_timeout_ms, 1000);
    assert_int_equal(n->max_message, 1u << 20);
    assert_int_equal(n->queue_messages, 5000);
    assert_int_equal(n->queue_bytes, 8u << 20);
    assert_string_equal(n->peers[0].public_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    assert_int_equal(tr_config_system_opts(cfg)->workers, 0);
    assert_int_equal(tr_config_log_level(cfg), TR_LOG_WARN);
    tr_config_error where;
    assert_int_equal(tr_config_locate(cfg, "node", &where), TR_OK);
    assert_int_equal(where.line, 1);
    assert_int_equal(where.column, 1);
    assert_int_equal(tr_config_locate(cfg, "node.nothing", &where), TR_ENOENT);
    char buf[128];
    assert_string_equal(
        tr_config_format_error(&where, "nodes are not supported yet", buf, sizeof buf),
        "t.yaml:1:1: error: nodes are not supported yet");
    tr_config_destroy(&cfg);
}

/* ------------------------------------------------------------ trees */

/* The children of `sup` and below, as text: "id type restart running
 * restarts" per child, nested in braces. */
static void describe_tree(tr_system *sys, tr_pid sup, char *out, size_t size)
{
    tr_child_info kids[16];
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(sys, sup, kids, 16, &n, T_WAIT_MS), TR_OK);
    assert_true(n <= 16);
    size_t o = strlen(out);
    for (size_t i = 0; i < n && o < size; i++) {
        o +=
            (size_t)snprintf(out + o, size - o, "%s %s %d %s %llu;", kids[i].id,
                             kids[i].type == TR_SUPERVISOR ? "sup" : "worker", (int)kids[i].restart,
                             tr_pid_is_nil(kids[i].pid) ? "stopped" : "running",
                             (unsigned long long)kids[i].restarts);
        if (kids[i].type == TR_SUPERVISOR && !tr_pid_is_nil(kids[i].pid)) {
            strncat(out, "{", size - o - 1);
            describe_tree(sys, kids[i].pid, out, size);
            strncat(out, "}", size - strlen(out) - 1);
            o = strlen(out);
        }
    }
}

static tr_pid child_pid(tr_system *sys, tr_pid sup, const char *id)
{
    tr_child_info kids[16];
    size_t n = 0;
    assert_int_equal(tr_sup_which_children_sync(sys, sup, kids, 16, &n, T_WAIT_MS), TR_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(kids[i].id, id) == 0) return kids[i].pid;
    fail_msg("no child %s", id);
    return TR_PID_NIL;
}

static void expect_event(t_env *e, const char *text)
{
    const tr_msg *m = t_expect(e, "ev");
    if (strcmp(tr_msg_data(m), text) != 0)
        print_error("want '%s', got '%s'\n", text, (const char *)tr_msg_data(m));
    assert_string_equal(tr_msg_data(m), text);
}

static const char three_levels[] =
    "tree:\n"
    "  supervisor: top\n"
    "  strategy: one_for_all\n"
    "  intensity: 3\n"
    "  period: 1s\n"
    "  children:\n"
    "    - name: w1\n"
    "      behaviour: test.worker\n"
    "      args: {tag: one, n: 1}\n"
    "    - supervisor: mid\n"
    "      strategy: rest_for_one\n"
    "      intensity: 2\n"
    "      period: 10s\n"
    "      children:\n"
    "        - name: w2\n"
    "          behaviour: test.worker\n"
    "          restart: transient\n"
    "          shutdown: brutal_kill\n"
    "        - supervisor: leaf\n"
    "          children:\n"
    "            - {name: w3, behaviour: test.worker, restart: temporary}\n"
    "            - name: w4\n"
    "              behaviour: test.worker\n"
    "              mailbox: {capacity: 10, on_full: drop_oldest}\n"
    "              backoff: {min: 1ms, max: 2ms}\n";

/* A config's tree running: order of starts, which_children at every
 * level, a child's restart, the order of stops. */
static void test_three_level_tree(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse(three_levels);
    assert_int_equal(tr_config_error_count(cfg), 0);
    tr_pid top;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &top, why, sizeof why), TR_OK);
    tr_config_destroy(&cfg); /* the running tree keeps its own copies */
    expect_event(e, "start /root/top/w1");
    expect_event(e, "start /root/top/mid/w2");
    expect_event(e, "start /root/top/mid/leaf/w3");
    expect_event(e, "start /root/top/mid/leaf/w4");
    char text[1024] = "";
    describe_tree(e->sys, top, text, sizeof text);
    assert_string_equal(text,
                        "w1 worker 0 running 0;mid sup 0 running 0;{w2 worker 1 running 0;"
                        "leaf sup 0 running 0;{w3 worker 2 running 0;w4 worker 0 running 0;}}");
    tr_pid mid = child_pid(e->sys, top, "mid"), leaf = child_pid(e->sys, mid, "leaf");
    tr_pid w4 = child_pid(e->sys, leaf, "w4");
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, w4, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.capacity, 10);
    /* w4 fails: its one_for_one supervisor restarts it alone */
    assert_int_equal(tr_system_send(e->sys, w4, tr_atom_from("crash"), NULL, 0), TR_OK);
    expect_event(e, "stop /root/top/mid/leaf/w4");
    expect_event(e, "start /root/top/mid/leaf/w4");
    text[0] = '\0';
    describe_tree(e->sys, leaf, text, sizeof text);
    assert_string_equal(text, "w3 worker 2 running 0;w4 worker 0 running 1;");
    assert_false(tr_pid_eq(child_pid(e->sys, leaf, "w4"), w4));
    /* stop: reverse start order, depth first */
    tr_pid stopped = top;
    assert_int_equal(tr_system_stop_child(e->sys, stopped), TR_OK);
    expect_event(e, "stop /root/top/mid/leaf/w4");
    expect_event(e, "stop /root/top/mid/leaf/w3");
    expect_event(e, "stop /root/top/mid/w2");
    expect_event(e, "stop /root/top/w1");
}

/* The same tree built in C: the same specs (args bytes included) and the
 * same running tree. */
static void test_c_and_yaml_trees_equal(void **state)
{
    t_env *e = *state;
    void *args;
    size_t args_size;
    tr_args_builder *b;
    assert_int_equal(tr_args_builder_new(&b), TR_OK);
    tr_args_put_str(b, "tag", "one");
    tr_args_put_int(b, "n", 1);
    assert_int_equal(tr_args_finish(b, &args, &args_size), TR_OK);
    tr_args_builder_destroy(&b);
    const tr_behaviour *w = tr_behaviour_find("test.worker");
    tr_child_spec leaf_kids[] = {
        {.id = "w3", .behaviour = w, .restart = TR_TEMPORARY},
        {.id = "w4",
         .behaviour = w,
         .capacity = 10,
         .on_full = TR_FULL_DROP_OLDEST,
         .backoff = {.min_ms = 1, .max_ms = 2}},
    };
    tr_sup_spec leaf = {TR_ONE_FOR_ONE, 1, 5000, TR_AUTO_SHUTDOWN_NEVER, leaf_kids, 2};
    tr_child_spec mid_kids[] = {
        {.id = "w2", .behaviour = w, .restart = TR_TRANSIENT, .shutdown_ms = TR_SHUTDOWN_BRUTAL},
        {.id = "leaf", .supervisor = &leaf},
    };
    tr_sup_spec mid = {TR_REST_FOR_ONE, 2, 10000, TR_AUTO_SHUTDOWN_NEVER, mid_kids, 2};
    tr_child_spec top_kids[] = {
        {.id = "w1", .behaviour = w, .args = args, .args_size = args_size},
        {.id = "mid", .supervisor = &mid},
    };
    tr_sup_spec top = {TR_ONE_FOR_ALL, 3, 1000, TR_AUTO_SHUTDOWN_NEVER, top_kids, 2};

    tr_config *cfg = parse(three_levels);
    const tr_sup_spec *y = tr_config_tree(cfg);
    assert_non_null(y);
    /* the specs, field by field (tr_child_spec's padding aside) */
    const tr_sup_spec *cs[] = {&top, &mid, &leaf};
    const tr_sup_spec *ys[] = {y, y->children[1].supervisor,
                               y->children[1].supervisor->children[1].supervisor};
    for (int l = 0; l < 3; l++) {
        assert_int_equal(cs[l]->strategy, ys[l]->strategy);
        assert_int_equal(cs[l]->intensity, ys[l]->intensity);
        assert_int_equal(cs[l]->period_ms, ys[l]->period_ms);
        assert_int_equal(cs[l]->auto_shutdown, ys[l]->auto_shutdown);
        assert_int_equal(cs[l]->nchildren, ys[l]->nchildren);
        for (size_t i = 0; i < cs[l]->nchildren; i++) {
            const tr_child_spec *c = &cs[l]->children[i], *d = &ys[l]->children[i];
            assert_string_equal(c->id, d->id);
            assert_ptr_equal(c->behaviour, d->behaviour);
            assert_int_equal(!c->supervisor, !d->supervisor);
            assert_int_equal(c->args_size, d->args_size);
            if (c->args_size) assert_memory_equal(c->args, d->args, c->args_size);
            assert_int_equal(c->restart, d->restart);
            assert_int_equal(c->shutdown_ms, d->shutdown_ms);
            assert_int_equal(c->significant, d->significant);
            assert_memory_equal(&c->backoff, &d->backoff, sizeof c->backoff);
            assert_int_equal(!c->register_as, !d->register_as);
            assert_int_equal(c->capacity, d->capacity);
            assert_int_equal(c->on_full, d->on_full);
        }
    }
    /* both running, side by side */
    tr_pid cp, yp;
    char why[256];
    assert_int_equal(tr_supervisor_start(e->sys, &top, "top-c", T_WAIT_MS, &cp, why, sizeof why),
                     TR_OK);
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &yp, why, sizeof why), TR_OK);
    for (int i = 0; i < 8; i++)
        t_expect(e, "ev");
    char ct[1024] = "", yt[1024] = "";
    describe_tree(e->sys, cp, ct, sizeof ct);
    describe_tree(e->sys, yp, yt, sizeof yt);
    assert_string_equal(ct, yt);
    /* and they answer alike: w1 got the same args */
    tr_msg *r1, *r2;
    assert_int_equal(tr_call_sync(e->sys, child_pid(e->sys, cp, "w1"), tr_atom_from("ping"), NULL,
                                  0, T_WAIT_MS, &r1),
                     TR_OK);
    assert_int_equal(tr_call_sync(e->sys, child_pid(e->sys, yp, "w1"), tr_atom_from("ping"), NULL,
                                  0, T_WAIT_MS, &r2),
                     TR_OK);
    assert_string_equal(tr_msg_data(r1), "one");
    assert_string_equal(tr_msg_data(r2), "one");
    tr_msg_destroy(&r1);
    tr_msg_destroy(&r2);
    free(args);
    tr_config_destroy(&cfg);
}

static void test_remote_child_needs_a_node(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse("tree:\n"
                           "  supervisor: r\n"
                           "  children:\n"
                           "    - name: far\n"
                           "      behaviour: troupe.echo\n"
                           "      node: kv@host2\n");
    assert_int_equal(tr_config_error_count(cfg), 0); /* accepted in the config */
    const tr_sup_spec *t = tr_config_tree(cfg);
    assert_string_equal(tr_config_child_node(cfg, &t->children[0]), "kv@host2");
    tr_child_spec other = {0};
    assert_null(tr_config_child_node(cfg, &other));
    tr_pid pid;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &pid, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "t.yaml:6:13: error: child 'far' runs on node 'kv@host2', but this "
                             "system is not a node (add a node: section with a name)");
    assert_string_equal(t->children[0].node, "kv@host2"); /* the spec carries it */
    assert_true(tr_pid_is_nil(pid));
    tr_config_destroy(&cfg);
    /* a config with errors does not start */
    cfg = parse("tree: {supervisor: r, strategy: x}\n");
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &pid, why, sizeof why), TR_EINVAL);
    assert_string_equal(why, "t.yaml: the config has errors");
    tr_config_destroy(&cfg);
}

/* A simple_one_for_one template's args from YAML, start_child's args
 * (built in C) appended: later keys win. */
static void test_simple_one_for_one_args_layers(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse("tree:\n"
                           "  supervisor: pool\n"
                           "  strategy: simple_one_for_one\n"
                           "  children:\n"
                           "    - name: conn\n"
                           "      behaviour: test.worker\n"
                           "      restart: temporary\n"
                           "      args: {tag: template, fail_init: false}\n");
    tr_pid pool;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &pool, why, sizeof why), TR_OK);
    tr_config_destroy(&cfg);
    tr_args_builder *b;
    tr_args_builder_new(&b);
    tr_args_put_str(b, "tag", "dynamic");
    void *args;
    size_t size;
    assert_int_equal(tr_args_finish(b, &args, &size), TR_OK);
    tr_args_builder_destroy(&b);
    tr_child_spec dyn = {.args = args, .args_size = size};
    tr_pid kid;
    assert_int_equal(tr_sup_start_child_sync(e->sys, pool, &dyn, T_WAIT_MS, &kid), TR_OK);
    free(args);
    t_expect(e, "ev");
    tr_msg *r;
    assert_int_equal(tr_call_sync(e->sys, kid, tr_atom_from("ping"), NULL, 0, T_WAIT_MS, &r),
                     TR_OK);
    assert_string_equal(tr_msg_data(r), "dynamic");
    tr_msg_destroy(&r);
}

/* Built-ins: echo answers in kind; a ticker ticks a registered name
 * `count` times then ends normally; a ticker whose name nobody holds
 * fails. */
static void test_builtins(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse("tree:\n"
                           "  supervisor: b\n"
                           "  strategy: rest_for_one\n"
                           "  children:\n"
                           "    - {name: echo, behaviour: troupe.echo, register: echo}\n"
                           "    - {name: sink, behaviour: test.worker, register: sink}\n"
                           "    - name: tick\n"
                           "      behaviour: troupe.ticker\n"
                           "      restart: transient\n"
                           "      args: {interval: 5ms, to: sink, count: 3, payload: hi}\n");
    if (tr_config_error_count(cfg)) print_errors(cfg);
    tr_pid sup;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &sup, why, sizeof why), TR_OK);
    tr_config_destroy(&cfg);
    expect_event(e, "start /root/b/sink");
    tr_pid echo;
    assert_int_equal(tr_whereis(e->sys, "echo", &echo), TR_OK);
    tr_msg *r;
    assert_int_equal(tr_call_sync(e->sys, echo, tr_atom_from("say"), "abc", 3, T_WAIT_MS, &r),
                     TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(r)), "say");
    assert_int_equal(tr_msg_size(r), 3);
    assert_memory_equal(tr_msg_data(r), "abc", 3);
    tr_msg_destroy(&r);
    for (int i = 0; i < 3; i++) {
        const tr_msg *m = t_expect(e, "tick");
        assert_int_equal(tr_msg_size(m), 2);
        assert_memory_equal(tr_msg_data(m), "hi", 2);
    }
    /* after its count the ticker ended normally: transient, not restarted */
    int64_t end = t_now_ms() + T_WAIT_MS;
    tr_child_info kids[3];
    size_t n;
    do {
        assert_int_equal(tr_sup_which_children_sync(e->sys, sup, kids, 3, &n, T_WAIT_MS), TR_OK);
    } while (!tr_pid_is_nil(kids[2].pid) && t_now_ms() < end);
    assert_true(tr_pid_is_nil(kids[2].pid));
    assert_int_equal(kids[2].restarts, 0);
}

/* A ticker whose name nobody holds fails: its supervisor gives up, and a
 * top-level actor failing, so does the system's root, with the report. */
static void test_ticker_to_nobody(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse("tree:\n"
                           "  supervisor: lonely\n"
                           "  intensity: 0\n"
                           "  children:\n"
                           "    - name: tick\n"
                           "      behaviour: troupe.ticker\n"
                           "      args: {interval: 1ms, to: nobody}\n");
    tr_pid sup;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &sup, why, sizeof why), TR_OK);
    tr_config_destroy(&cfg);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_EFAILED);
    const char *report = tr_system_report(e->sys);
    assert_non_null(strstr(report, "/root/lonely: shutdown"));
    assert_non_null(strstr(report, "no actor is registered as 'nobody'"));
}

/* A ticker's bad args are refused by its init, with the reason. */
static void test_ticker_bad_args(void **state)
{
    t_env *e = *state;
    tr_config *cfg = parse("tree:\n"
                           "  supervisor: bad\n"
                           "  children:\n"
                           "    - {name: tick, behaviour: troupe.ticker, args: {to: x}}\n");
    tr_pid sup;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &sup, why, sizeof why), TR_EFAILED);
    assert_non_null(strstr(why, "troupe.ticker: args.interval: required"));
    tr_config_destroy(&cfg);
}

/* ------------------------------------------------------------ plugins */

static const char *env_path(const char *name)
{
    const char *p = getenv(name);
    if (!p) fail_msg("%s is not set (run the test through meson)", name);
    return p;
}

static void test_plugin_loaded(void **state)
{
    t_env *e = *state;
    char yaml[1024];
    const char *plugin = env_path("TROUPE_PLUGIN_OK");
    /* named twice: opened and initialised once, no error */
    snprintf(yaml, sizeof yaml,
             "plugins: [%s, %s]\n"
             "tree:\n"
             "  supervisor: p\n"
             "  children:\n"
             "    - {name: up, behaviour: test_plugin.upper, args: {prefix: \">\"}}\n",
             plugin, plugin);
    tr_config *cfg = parse_flags(yaml, 0);
    if (tr_config_error_count(cfg)) print_errors(cfg);
    assert_int_equal(tr_config_error_count(cfg), 0);
    assert_non_null(tr_behaviour_find("test_plugin.upper"));
    tr_pid sup;
    char why[256];
    assert_int_equal(tr_config_start(cfg, e->sys, T_WAIT_MS, &sup, why, sizeof why), TR_OK);
    tr_msg *r;
    assert_int_equal(tr_call_sync(e->sys, child_pid(e->sys, sup, "up"), tr_atom_from("x"), "hello",
                                  5, T_WAIT_MS, &r),
                     TR_OK);
    assert_int_equal(tr_msg_size(r), 6);
    assert_memory_equal(tr_msg_data(r), ">HELLO", 6);
    tr_msg_destroy(&r);
    tr_config_destroy(&cfg);
    /* loading it again from another config is fine too */
    cfg = parse_flags(yaml, 0);
    assert_int_equal(tr_config_error_count(cfg), 0);
    tr_config_destroy(&cfg);
}

static void test_plugins_refused(void **state)
{
    (void)state;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "plugins:\n"
             "  - %s\n"
             "  - %s\n"
             "  - /nonexistent/plugin.so\n"
             "  - %s\n"
             "tree: {supervisor: p}\n",
             env_path("TROUPE_PLUGIN_BAD_ABI"), env_path("TROUPE_PLUGIN_INIT_FAILS"), __FILE__);
    tr_config *cfg = parse_flags(yaml, 0);
    if (tr_config_error_count(cfg) != 4) print_errors(cfg);
    assert_int_equal(tr_config_error_count(cfg), 4);
    const tr_config_error *e0 = tr_config_error_get(cfg, 0), *e1 = tr_config_error_get(cfg, 1),
                          *e2 = tr_config_error_get(cfg, 2), *e3 = tr_config_error_get(cfg, 3);
    assert_int_equal(e0->line, 2);
    assert_int_equal(e0->column, 5);
    assert_non_null(strstr(e0->message, "built for plugin ABI 999, but this troupe loads ABI 1: "
                                        "rebuild it against this troupe's headers"));
    assert_int_equal(e1->line, 3);
    assert_non_null(
        strstr(e1->message, "its troupe_plugin_init failed: refused on purpose (abi 1)"));
    assert_int_equal(e2->line, 4);
    assert_non_null(strstr(e2->message, "plugin '/nonexistent/plugin.so': cannot load:"));
    assert_int_equal(e3->line, 5);
    assert_non_null(strstr(e3->message, "cannot load:")); /* not a shared object */
    tr_config_destroy(&cfg);
    /* a failed init is remembered: the same outcome, init not run again */
    snprintf(yaml, sizeof yaml, "plugins: [%s]\ntree: {supervisor: p}\n",
             env_path("TROUPE_PLUGIN_INIT_FAILS"));
    cfg = parse_flags(yaml, 0);
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "refused on purpose"));
    tr_config_destroy(&cfg);
    /* TR_CONFIG_NO_PLUGINS: listed, not opened; the unknown behaviour says so */
    snprintf(yaml, sizeof yaml,
             "plugins: [/nonexistent/plugin.so]\n"
             "tree: {supervisor: p, children: [{name: x, behaviour: not.loaded}]}\n");
    cfg = parse_flags(yaml, TR_CONFIG_NO_PLUGINS);
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "which were not loaded"));
    tr_config_destroy(&cfg);
}

int main(void)
{
    if (tr_behaviour_register("test.worker", &worker_b) != TR_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_node_and_system_options),
        cmocka_unit_test_setup_teardown(test_three_level_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c_and_yaml_trees_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_child_needs_a_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simple_one_for_one_args_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticker_to_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticker_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugin_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugins_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
