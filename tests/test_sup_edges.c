/* test_sup_edges.c — documented edges of the supervisor folder that the
 * other files do not reach: YAML tags in a config's args (!!int, !!float,
 * !!bool, !!null, !!str behind an anchor) and their refusals, an args key
 * too long, config files too large or unreadable, troupe.ticker's refusal
 * of each bad argument, and the spec check's rules for a child's node. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* The built-in behaviours are what the configs name. */
static int group_setup(void **state)
{
    (void)state;
    return tr_builtins_register() == TR_OK ? 0 : -1;
}

static int quiet(void **state)
{
    (void)state;
    tr_log_set_level(TR_LOG_NONE); /* ticker refusals are logged */
    return 0;
}

static int loud(void **state)
{
    (void)state;
    tr_log_set_level(TR_LOG_WARN);
    return 0;
}

/* A tree of one troupe.echo worker "a" with `args` (a YAML flow value). */
static tr_config *parse_args(const char *args)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "tree:\n  supervisor: root\n  children:\n    - name: a\n"
             "      behaviour: troupe.echo\n      args: %s\n",
             args);
    tr_config *cfg = NULL;
    int rc = tr_config_parse("t.yaml", yaml, strlen(yaml), TR_CONFIG_NO_FILES, &cfg);
    assert_non_null(cfg);
    assert_int_equal(rc == TR_OK, tr_config_error_count(cfg) == 0);
    return cfg;
}

static const tr_child_spec *child_a(const tr_config *cfg)
{
    const tr_sup_spec *tree = tr_config_tree(cfg);
    assert_non_null(tree);
    assert_int_equal(tree->nchildren, 1);
    return &tree->children[0];
}

/* The one error of `args`, which must contain `msg`. */
static void expect_args_error(const char *args, const char *msg)
{
    tr_config *cfg = parse_args(args);
    assert_int_equal(tr_config_error_count(cfg), 1);
    const tr_config_error *e = tr_config_error_get(cfg, 0);
    if (!strstr(e->message, msg)) fail_msg("args %s: got \"%s\", want \"%s\"", args, e->message, msg);
    assert_null(tr_config_tree(cfg));
    tr_config_destroy(&cfg);
}

/* An explicit tag decides the type, whatever the text looks like. */
static void test_yaml_tags(void **state)
{
    (void)state;
    tr_config *cfg = parse_args("{i: !!int \"42\", f: !!float \"1.5\", fi: !!float 3, "
                                "t: !!bool \"true\", nl: !!null \"\", s: &x !!str 12, "
                                "plain: 12}");
    const tr_child_spec *c = child_a(cfg);
    int64_t i;
    double f;
    bool b;
    const char *s;
    size_t len;
    tr_args_value v;
    assert_int_equal(tr_args_int(c->args, c->args_size, "i", &i), TR_OK);
    assert_int_equal(i, 42);
    assert_int_equal(tr_args_float(c->args, c->args_size, "f", &f), TR_OK);
    assert_true(f == 1.5);
    assert_int_equal(tr_args_get(c->args, c->args_size, "fi", &v), TR_OK);
    assert_int_equal(v.type, TR_ARGS_FLOAT);
    assert_int_equal(tr_args_bool(c->args, c->args_size, "t", &b), TR_OK);
    assert_true(b);
    assert_int_equal(tr_args_get(c->args, c->args_size, "nl", &v), TR_OK);
    assert_int_equal(v.type, TR_ARGS_NULL);
    /* an anchor before the tag: still an explicit !!str */
    assert_int_equal(tr_args_str(c->args, c->args_size, "s", &s, &len), TR_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(s, "12", 2);
    assert_int_equal(tr_args_int(c->args, c->args_size, "plain", &i), TR_OK);
    assert_int_equal(i, 12);
    tr_config_destroy(&cfg);

    expect_args_error("{i: !!int 1.5}", "args: !!int '1.5' is not an int64");
    expect_args_error("{f: !!float abc}", "args: !!float 'abc' is not a float");
    expect_args_error("{b: !!bool yes}", "args: !!bool 'yes' is not true or false");
}

static void test_args_key_too_long(void **state)
{
    (void)state;
    char args[400];
    char key[TR_ARGS_MAX_KEY + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(args, sizeof args, "{%s: 1}", key);
    expect_args_error(args, "args: a key must be at most 254 bytes without NUL");
}

/* A file above TR_CONFIG_MAX_SIZE and one that cannot be read (a
 * folder) are errors of the config, with the file's name. */
static void test_config_files_refused(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], big[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/troupe-sup-edges-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(big, sizeof big, "%s/big.yaml", dir);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)TR_CONFIG_MAX_SIZE + 1), 0); /* sparse: zeros */
    close(fd);

    tr_config *cfg = NULL;
    assert_int_equal(tr_config_load(big, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "the file is larger than"));
    assert_string_equal(tr_config_file(cfg), big);
    tr_config_destroy(&cfg);

    assert_int_equal(tr_config_load(dir, 0, &cfg), TR_EINVAL);
    assert_int_equal(tr_config_error_count(cfg), 1);
    const char *msg = tr_config_error_get(cfg, 0)->message;
    if (!strstr(msg, "cannot read") && !strstr(msg, "cannot open")) fail_msg("got \"%s\"", msg);
    tr_config_destroy(&cfg);
    assert_null(tr_config_file(NULL));

    unlink(big);
    rmdir(dir);
}

/* Each bad argument of troupe.ticker fails its init with the argument's
 * name in the reason (and the tree does not start; the system's root,
 * whose top-level child failed, ends: a system per case). */
static void test_ticker_each_bad_arg(void **state)
{
    (void)state;
    static const struct {
        const char *args, *why;
    } cases[] = {
        {"{interval: 1ms, to: \"a@b\"}", "args.to: expected a name of 1 to 255 bytes without '@'"},
        {"{interval: 1ms, to: x, type: \"\"}", "args.type: expected a message type"},
        {"{interval: 1ms, to: x, count: 0}", "args.count: expected an integer above 0"},
        {"{interval: 1ms, to: x, payload: 5}", "args.payload: expected a string"},
        {"{interval: 0s, to: x}", "args.interval: expected a duration above 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "tree:\n  supervisor: bad%zu\n  children:\n"
                 "    - {name: tick, behaviour: troupe.ticker, args: %s}\n",
                 i, cases[i].args);
        tr_config *cfg = NULL;
        assert_int_equal(tr_config_parse("t.yaml", yaml, strlen(yaml), TR_CONFIG_NO_FILES, &cfg),
                         TR_OK);
        tr_system *sys;
        assert_int_equal(tr_system_new(&(tr_system_opts){.workers = 1}, &sys), TR_OK);
        tr_pid sup;
        char why[256] = "";
        assert_int_equal(tr_config_start(cfg, sys, T_WAIT_MS, &sup, why, sizeof why), TR_EFAILED);
        if (!strstr(why, cases[i].why)) fail_msg("%s: got \"%s\"", cases[i].args, why);
        tr_config_destroy(&cfg);
        tr_system_destroy(&sys);
    }
}

/* A child's node: 1 to 255 bytes, and never for a child supervisor. */
static void test_spec_child_node(void **state)
{
    (void)state;
    tr_child_spec w = {.id = "w", .behaviour = tr_behaviour_find("troupe.echo"), .node = ""};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = &w, .nchildren = 1};
    char why[256];
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "child 'w': node must be 1 to 255 bytes"));
    w.node = "n1";
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_OK);

    tr_sup_spec inner = {.strategy = TR_ONE_FOR_ONE};
    tr_child_spec s = {.id = "s", .supervisor = &inner, .node = "n1"};
    spec.children = &s;
    assert_int_equal(tr_sup_spec_check(&spec, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "child 's': a child supervisor cannot run on another node"));
}

/* The names of args types, and typed reads of the wrong type. */
static void test_args_types_and_paths(void **state)
{
    (void)state;
    static const char *names[] = {"null", "bool", "int", "float", "string", "map", "list"};
    for (int t = TR_ARGS_NULL; t <= TR_ARGS_LIST; t++)
        assert_string_equal(tr_args_type_name((tr_args_type)t), names[t - TR_ARGS_NULL]);
    assert_string_equal(tr_args_type_name((tr_args_type)99), "unknown");

    tr_config *cfg = parse_args("{i: 0, s: x, l: [1, 2]}");
    const tr_child_spec *c = child_a(cfg);
    tr_args_value v;
    double f;
    int64_t ms = -1;
    assert_int_equal(tr_args_float(c->args, c->args_size, "s", &f), TR_EINVAL);
    assert_int_equal(tr_args_get(c->args, c->args_size, "i[0]", &v), TR_EINVAL);
    assert_int_equal(tr_args_get(c->args, c->args_size, "l[1]", &v), TR_OK);
    assert_int_equal(v.i, 2);
    assert_int_equal(tr_args_get(c->args, c->args_size, "l[2]", &v), TR_ENOENT);
    /* a bare 0 is a duration: no unit needed for none */
    assert_int_equal(tr_args_get(c->args, c->args_size, "i", &v), TR_OK);
    assert_int_equal(tr_args_value_duration(&v, &ms), TR_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(tr_args_duration(c->args, c->args_size, "s", &ms), TR_EINVAL);
    tr_config_destroy(&cfg);
}

/* A worker's keys: a boolean spelled FALSE, a key that is not a name, a
 * value with a NUL byte. */
static tr_config *parse_worker(const char *extra)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "tree:\n  supervisor: root\n  auto_shutdown: any_significant\n  children:\n"
             "    - name: a\n      behaviour: troupe.echo\n      restart: transient\n%s",
             extra);
    tr_config *cfg = NULL;
    tr_config_parse("t.yaml", yaml, strlen(yaml), TR_CONFIG_NO_FILES, &cfg);
    assert_non_null(cfg);
    return cfg;
}

static void test_worker_keys(void **state)
{
    (void)state;
    tr_config *cfg = parse_worker("      significant: FALSE\n");
    assert_int_equal(tr_config_error_count(cfg), 0);
    assert_false(child_a(cfg)->significant);
    tr_config_destroy(&cfg);
    cfg = parse_worker("      significant: True\n");
    assert_int_equal(tr_config_error_count(cfg), 0);
    assert_true(child_a(cfg)->significant);
    tr_config_destroy(&cfg);

    cfg = parse_worker("      [1]: x\n");
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "expected a key name in worker 'a'"));
    tr_config_destroy(&cfg);

    cfg = parse_worker("      register: \"a\\0b\"\n");
    assert_int_equal(tr_config_error_count(cfg), 1);
    assert_non_null(strstr(tr_config_error_get(cfg, 0)->message, "got text with a NUL byte"));
    tr_config_destroy(&cfg);
}

/* ---- a supervisor spawned by an actor ---------------------------------- */

static t_gate hold_gate;

/* slow: a worker whose terminate reports "term.begin", holds on
 * hold_gate, then reports "term" with its reason. */
static int slow_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static void slow_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)st;
    t_report(ctx, "term.begin", tr_exit_kind_name(why->kind));
    t_gate_wait(&hold_gate);
    t_report(ctx, "term", tr_exit_kind_name(why->kind));
}

static const tr_behaviour slow_b = {"slow", 0, NULL, slow_handle, slow_terminate};

/* owner: "sup" spawns a supervisor of one slow worker with default spawn
 * options and reports its pid as "sup"; "stopkid" {pid} stops that child;
 * a child's exit is reported as "exit" "<kind>". Traps exits. */
static int owner_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)st, (void)args, (void)n;
    tr_trap_exits(ctx, true);
    return 0;
}

static int owner_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    if (tr_msg_is(m, tr_atom_from("sup"))) {
        static const tr_child_spec kids[] = {{.id = "slow", .behaviour = &slow_b,
                                              .restart = TR_PERMANENT,
                                              .shutdown_ms = TR_SHUTDOWN_INFINITY}};
        tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
        tr_pid sup = TR_PID_NIL;
        int rc = tr_supervisor_spawn(ctx, &spec, &(tr_spawn_opts){.name = "sup"}, &sup);
        if (!T_CHECK(ctx, rc == TR_OK)) return 0;
        return t_report_val(ctx, "sup", &sup, sizeof sup);
    }
    if (tr_msg_is(m, tr_atom_from("stopkid"))) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        T_CHECK(ctx, tr_stop_child(ctx, c) == TR_OK);
        return 0;
    }
    tr_exit why;
    if (tr_msg_is(m, tr_exit_atom()) && tr_exit_decode(m, NULL, &why) == TR_OK)
        return t_report(ctx, "exit", tr_exit_kind_name(why.kind));
    return 0;
}

static const tr_behaviour owner_b = {"owner", 0, owner_init, owner_handle, NULL};

/* tr_supervisor_spawn without a shutdown time gives the supervisor an
 * infinite one (OTP's default for a supervisor child): its parent waits
 * however long its children take to stop, where a worker's default 5 s
 * would have it killed. */
static void test_spawned_supervisor_waited_for(void **state)
{
    t_env *e = *state;
    t_gate_init(&hold_gate);
    tr_pid owner;
    assert_int_equal(tr_system_spawn(e->sys, &owner_b, NULL, &owner), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, owner, tr_atom_from("sup"), NULL, 0), TR_OK);
    tr_pid sup = t_expect_pid(e, "sup");
    assert_int_equal(tr_inbox_send(e->probe, owner, tr_atom_from("stopkid"), &sup, sizeof sup),
                     TR_OK);
    t_expect_str(e, "term.begin", "shutdown");
    assert_int_equal(tr_clock_advance(e->clock, 60000), TR_OK); /* far past 5 s */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, owner, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 1); /* still waiting for it */
    t_expect_none(e);
    t_gate_open(&hold_gate);
    t_expect_str(e, "term", "shutdown");
    t_expect_str(e, "exit", "shutdown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_tags),
        cmocka_unit_test(test_args_key_too_long),
        cmocka_unit_test(test_config_files_refused),
        cmocka_unit_test_setup_teardown(test_ticker_each_bad_arg, quiet, loud),
        cmocka_unit_test(test_spec_child_node),
        cmocka_unit_test(test_args_types_and_paths),
        cmocka_unit_test(test_worker_keys),
        cmocka_unit_test_setup_teardown(test_spawned_supervisor_waited_for, t_setup_clock,
                                        t_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
