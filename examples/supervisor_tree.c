/* supervisor_tree.c — a nested supervisor tree: start order, a crash and
 * its restart, which_children, and the ordered shutdown.
 *
 *   app (one_for_one)
 *   ├── cache                  a worker
 *   └── pipeline (rest_for_one)
 *       ├── reader
 *       ├── parser             crashes once: parser and writer restart
 *       └── writer
 *
 * Every worker tells main's inbox when it starts ("up") and when it ends
 * ("down", with its reason), so main can check the order of both. The
 * program exits 0 only if every check holds. */
#include <troupe.h>
#include <stdio.h>
#include <string.h>

static tr_atom UP, DOWN, CRASH;
static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "supervisor_tree: check failed: " __VA_ARGS__);                        \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A worker's state: where to report (its child spec's args, copied). */
typedef struct worker {
    tr_pid report;
} worker;

/* Sends "<event> <path> [<reason>]" to main's inbox. */
static void report(tr_ctx *ctx, worker *w, tr_atom event, const char *reason)
{
    char path[128], line[192];
    tr_path(ctx, path, sizeof path);
    int n = snprintf(line, sizeof line, "%s%s%s", path, reason ? " " : "", reason ? reason : "");
    tr_send(ctx, w->report, event, line, (size_t)n);
}

static int worker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    worker *w = state;
    if (size != sizeof w->report) return TR_EINVAL;
    memcpy(&w->report, args, size);
    report(ctx, w, UP, NULL);
    return 0;
}

static int worker_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    if (tr_msg_is(msg, CRASH)) return tr_fail(ctx, "asked to crash");
    return 0;
}

/* Runs for every end, a failure's included: the last word of each worker. */
static void worker_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    report(ctx, state, DOWN, tr_exit_kind_name(why->kind));
}

static const tr_behaviour worker_b = {.name = "worker", .state_size = sizeof(worker),
                                      .init = worker_init, .handle = worker_handle,
                                      .terminate = worker_terminate};

/* Receives the next report and checks it is "<type> <text>". */
static void expect(tr_inbox *me, tr_atom type, const char *text)
{
    const tr_msg *m;
    int rc = tr_inbox_recv(me, &m, 2000);
    CHECK(rc == TR_OK, "no %s %s: %s", tr_atom_name(type), text, tr_strerror(rc));
    if (rc != TR_OK) return;
    int same = tr_msg_is(m, type) && tr_msg_size(m) == strlen(text) &&
               memcmp(tr_msg_data(m), text, strlen(text)) == 0;
    CHECK(same, "want %s %s, got %s %.*s", tr_atom_name(type), text, tr_atom_name(tr_msg_type(m)),
          (int)tr_msg_size(m), (const char *)tr_msg_data(m));
    if (same) printf("%-4s %s\n", tr_atom_name(type), text);
}

/* which_children of `sup`, printed; *found gets the pid of child `id`. */
static void children(tr_system *sys, tr_pid sup, const char *id, tr_pid *found, uint64_t *restarts)
{
    tr_child_info kids[4];
    size_t n = 0;
    int rc = tr_sup_which_children_sync(sys, sup, kids, 4, &n, 1000);
    CHECK(rc == TR_OK, "which_children: %s", tr_strerror(rc));
    for (size_t i = 0; rc == TR_OK && i < n && i < 4; i++) {
        char pid[TR_PID_STRLEN];
        printf("  child %-8s %-10s %s restarts=%llu\n", kids[i].id,
               tr_child_type_name(kids[i].type), tr_pid_format(kids[i].pid, pid, sizeof pid),
               (unsigned long long)kids[i].restarts);
        if (strcmp(kids[i].id, id) == 0) {
            *found = kids[i].pid;
            if (restarts) *restarts = kids[i].restarts;
        }
    }
}

static void run(tr_system *sys, tr_inbox *me)
{
    tr_pid to = tr_inbox_pid(me); /* each worker's args: a copy of this pid */
    tr_child_spec stages[] = {
        {.id = "reader", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
        {.id = "parser", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
        {.id = "writer", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
    };
    tr_sup_spec pipeline = {.strategy = TR_REST_FOR_ONE, .intensity = 3, .period_ms = 5000,
                            .children = stages, .nchildren = 3};
    tr_child_spec top[] = {
        {.id = "cache", .behaviour = &worker_b, .args = &to, .args_size = sizeof to},
        {.id = "pipeline", .supervisor = &pipeline}, /* deep-copied: may live on the stack */
    };
    tr_sup_spec app = {.strategy = TR_ONE_FOR_ONE, .children = top, .nchildren = 2};
    tr_pid sup, pipe = TR_PID_NIL, parser = TR_PID_NIL, again = TR_PID_NIL;
    char why[256] = "";
    /* Returns once every child, nested ones included, has started. */
    int rc = tr_supervisor_start(sys, &app, "app", 2000, &sup, why, sizeof why);
    CHECK(rc == TR_OK, "start: %s %s", tr_strerror(rc), why);
    if (rc != TR_OK) return;
    expect(me, UP, "/root/app/cache"); /* spec order, depth first */
    expect(me, UP, "/root/app/pipeline/reader");
    expect(me, UP, "/root/app/pipeline/parser");
    expect(me, UP, "/root/app/pipeline/writer");

    children(sys, sup, "pipeline", &pipe, NULL);
    children(sys, pipe, "parser", &parser, NULL);
    CHECK(!tr_pid_is_nil(parser), "no parser among the pipeline's children");

    /* rest_for_one: the parser and those started after it (the writer)
     * are stopped and started again; the reader and the cache go on. The
     * supervisor logs the restart as a warning. */
    tr_system_send(sys, parser, CRASH, NULL, 0);
    expect(me, DOWN, "/root/app/pipeline/parser failure");
    expect(me, DOWN, "/root/app/pipeline/writer shutdown");
    expect(me, UP, "/root/app/pipeline/parser");
    expect(me, UP, "/root/app/pipeline/writer");
    uint64_t restarts = 0;
    children(sys, pipe, "parser", &again, &restarts);
    CHECK(restarts == 1 && !tr_pid_eq(again, parser), "parser: restarts=%llu, pid %s",
          (unsigned long long)restarts, tr_pid_eq(again, parser) ? "unchanged" : "new");

    /* The ordered shutdown: the reverse of the start order, each subtree
     * before its parent ends. */
    tr_system_stop(sys);
    expect(me, DOWN, "/root/app/pipeline/writer shutdown");
    expect(me, DOWN, "/root/app/pipeline/parser shutdown");
    expect(me, DOWN, "/root/app/pipeline/reader shutdown");
    expect(me, DOWN, "/root/app/cache shutdown");
}

int main(void)
{
    UP = tr_atom_from("up");
    DOWN = tr_atom_from("down");
    CRASH = tr_atom_from("crash");
    tr_system *sys;
    tr_inbox *me;
    if (tr_system_new(NULL, &sys) != TR_OK) return 1;
    if (tr_inbox_new(sys, &me) != TR_OK) {
        tr_system_destroy(&sys);
        return 1;
    }
    run(sys, me);
    tr_system_stop(sys); /* (already asked, unless a check failed early) */
    int end = tr_system_wait(sys, 5000);
    CHECK(end == TR_OK, "the tree ended %s\n%s", tr_strerror(end), tr_system_report(sys));
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    printf("supervisor_tree: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
