/* test_log_ctx.c — log lines with context: a line logged inside an
 * actor's callback (by the program or by the runtime) carries the actor's
 * path and pid; tr_log_ctx puts the path in the line for line-only sinks;
 * the default sink writes it once; a sink that logs does not deadlock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#define CAP 16
static struct {
    pthread_mutex_t mu;
    int n;
    tr_log_level level[CAP];
    char line[CAP][256];
    char path[CAP][256]; /* "" when none */
    tr_pid pid[CAP];
    int nested; /* lines the nesting sink tried to log */
} cap = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void cap_reset(void)
{
    pthread_mutex_lock(&cap.mu);
    cap.n = 0;
    cap.nested = 0;
    pthread_mutex_unlock(&cap.mu);
}

static void record_sink(void *user, const tr_log_record *r)
{
    (void)user;
    pthread_mutex_lock(&cap.mu);
    if (cap.n < CAP) {
        cap.level[cap.n] = r->level;
        snprintf(cap.line[cap.n], sizeof cap.line[0], "%s", r->line);
        snprintf(cap.path[cap.n], sizeof cap.path[0], "%s", r->path ? r->path : "");
        cap.pid[cap.n] = r->pid;
        cap.n++;
    }
    pthread_mutex_unlock(&cap.mu);
}

static void line_sink(void *user, tr_log_level level, const char *line)
{
    (void)user;
    pthread_mutex_lock(&cap.mu);
    if (cap.n < CAP) {
        cap.level[cap.n] = level;
        snprintf(cap.line[cap.n], sizeof cap.line[0], "%s", line);
        cap.path[cap.n][0] = '\0';
        cap.n++;
    }
    pthread_mutex_unlock(&cap.mu);
}

/* Finds a captured line containing `needle`; its index or -1. */
static int cap_find(const char *needle)
{
    pthread_mutex_lock(&cap.mu);
    int at = -1;
    for (int i = 0; i < cap.n && at < 0; i++)
        if (strstr(cap.line[i], needle)) at = i;
    pthread_mutex_unlock(&cap.mu);
    return at;
}

/* The captured line containing `needle`, which must be there. */
static const char *cap_line(const char *needle)
{
    int i = cap_find(needle);
    if (i < 0) fail_msg("no captured line has \"%s\"", needle);
    return cap.line[i];
}

static int restore(void **state)
{
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    return t_teardown(state);
}

/* logger: "log" logs its payload with tr_log, "ctx" with tr_log_ctx,
 * "ctx_null" with tr_log_ctx(NULL); "dead" sends to the pid in its
 * payload (no actor: a dead letter the runtime logs at debug). Each
 * then reports "done". */
static int logger_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    (void)st;
    const char *text = tr_msg_data(m);
    if (tr_msg_is(m, tr_atom_from("log"))) tr_log(TR_LOG_WARN, "%s", text);
    else if (tr_msg_is(m, tr_atom_from("ctx"))) tr_log_ctx(ctx, TR_LOG_WARN, "%s", text);
    else if (tr_msg_is(m, tr_atom_from("ctx_null"))) tr_log_ctx(NULL, TR_LOG_WARN, "%s", text);
    else if (tr_msg_is(m, tr_atom_from("dead"))) {
        tr_pid to;
        memcpy(&to, tr_msg_data(m), sizeof to);
        tr_send(ctx, to, tr_atom_from("into.the.void"), NULL, 0);
    } else {
        return 0;
    }
    return t_report(ctx, "done", "");
}

static const tr_behaviour logger_b = {"logger", 0, NULL, logger_handle, NULL};

static tr_pid spawn_logger(t_env *e, const char *name)
{
    tr_pid pid;
    assert_int_equal(tr_system_spawn(e->sys, &logger_b, &(tr_spawn_opts){.name = name}, &pid),
                     TR_OK);
    return pid;
}

static void ask(t_env *e, tr_pid to, const char *what, const char *text)
{
    assert_int_equal(tr_system_send(e->sys, to, tr_atom_from(what), text, strlen(text) + 1), TR_OK);
    t_expect(e, "done"); /* logged before it reported */
}

static void record_has_context(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_logger(e, "app");
    cap_reset();
    tr_log_set_record_handler(record_sink, NULL);
    ask(e, a, "log", "hello from a callback");
    ask(e, a, "ctx", "explicitly");
    tr_log(TR_LOG_WARN, "from the test thread");
    tr_log(TR_LOG_INFO, "below the threshold");
    tr_log_set_handler(NULL, NULL);

    int i = cap_find("hello from a callback");
    assert_true(i >= 0);
    assert_string_equal(cap.line[i], "hello from a callback"); /* the text alone */
    assert_string_equal(cap.path[i], "/root/app");
    assert_true(tr_pid_eq(cap.pid[i], a));
    assert_int_equal(cap.level[i], TR_LOG_WARN);
    i = cap_find("explicitly");
    assert_true(i >= 0);
    assert_string_equal(cap.line[i], "explicitly");
    assert_string_equal(cap.path[i], "/root/app");
    i = cap_find("from the test thread");
    assert_true(i >= 0);
    assert_string_equal(cap.path[i], ""); /* no context */
    assert_true(tr_pid_is_nil(cap.pid[i]));
    assert_int_equal(cap_find("below the threshold"), -1);
}

static void line_sink_gets_path_from_log_ctx(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_logger(e, "app");
    cap_reset();
    tr_log_set_handler(line_sink, NULL);
    ask(e, a, "ctx", "with a path");
    ask(e, a, "log", "as before");
    ask(e, a, "ctx_null", "no ctx");
    tr_log_ctx(NULL, TR_LOG_ERROR, "outside");
    tr_log_set_handler(NULL, NULL);
    assert_string_equal(cap_line("with a path"), "/root/app: with a path");
    assert_string_equal(cap_line("as before"), "as before"); /* unchanged */
    assert_string_equal(cap_line("no ctx"), "no ctx");
    assert_string_equal(cap_line("outside"), "outside");
}

/* The runtime's own lines logged in an actor's turn carry it too: the
 * dead letter of a send to no actor, logged at debug. */
static void runtime_lines_have_context(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_logger(e, "sender");
    /* a pid no actor ever had: dead at once, in the sender's own turn (an
     * actor that has just ended may still hold its slot, and its mailbox's
     * consumer would drop the message later, elsewhere) */
    tr_pid gone = {tr_system_node(e->sys), 1u << 20, 99};
    cap_reset();
    tr_log_set_record_handler(record_sink, NULL);
    tr_log_set_level(TR_LOG_DEBUG);
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("dead"), &gone, sizeof gone), TR_OK);
    t_expect(e, "done");
    tr_log_set_level(TR_LOG_WARN);
    tr_log_set_handler(NULL, NULL);
    int i = cap_find("into.the.void");
    assert_true(i >= 0);
    assert_int_equal(cap.level[i], TR_LOG_DEBUG);
    assert_string_equal(cap.path[i], "/root/sender");
    assert_true(tr_pid_eq(cap.pid[i], a));
}

/* A sink that logs (or sends to an ended actor at debug level) loses
 * that line instead of deadlocking on itself. */
static void nesting_sink(void *user, const tr_log_record *r)
{
    tr_system *sys = user;
    record_sink(NULL, r);
    pthread_mutex_lock(&cap.mu);
    cap.nested++;
    pthread_mutex_unlock(&cap.mu);
    tr_log(TR_LOG_ERROR, "from inside the sink");
    tr_system_send(sys, (tr_pid){tr_system_node(sys), 1u << 20, 99}, tr_atom_from("x"), NULL, 0);
}

static void sink_that_logs(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_logger(e, "app");
    cap_reset();
    tr_log_set_level(TR_LOG_DEBUG);
    tr_log_set_record_handler(nesting_sink, e->sys);
    ask(e, a, "log", "outer");
    tr_log(TR_LOG_WARN, "outer too");
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    assert_true(cap_find("outer") >= 0);
    assert_true(cap_find("outer too") >= 0);
    assert_int_equal(cap_find("from inside the sink"), -1);
}

/* The default sink: "troupe <level>: <path>: <text>", the path once. */
static void default_sink_format(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_logger(e, "app");
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    ask(e, a, "log", "plain text");
    ask(e, a, "ctx", "named /root/app already");
    tr_log(TR_LOG_WARN, "outside any actor");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = "";
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "troupe warn: /root/app: plain text\n"));
    assert_non_null(strstr(buf, "troupe warn: named /root/app already\n"));
    assert_non_null(strstr(buf, "troupe warn: outside any actor\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(record_has_context, t_setup, restore),
        cmocka_unit_test_setup_teardown(line_sink_gets_path_from_log_ctx, t_setup, restore),
        cmocka_unit_test_setup_teardown(runtime_lines_have_context, t_setup, restore),
        cmocka_unit_test_setup_teardown(sink_that_logs, t_setup, restore),
        cmocka_unit_test_setup_teardown(default_sink_format, t_setup, restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
