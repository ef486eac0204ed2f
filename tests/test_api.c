/* test_api.c — every public entry point refuses what its header says it
 * refuses: NULL pointers and out-of-range arguments (TR_EINVAL and the
 * other documented codes), and a tr_ctx that is not the caller's own in
 * its callback (TR_ENOTACTOR): NULL, kept from a callback and used later
 * or from another thread, or another actor's used in a callback. An actor
 * whose parent abandoned it gets TR_ESTOPPED from every call that acts,
 * and its sends become dead letters ("abandoned").
 *
 * The walks are tables: one row per call, with the code it must return,
 * so a check dropped from any entry point fails the row that names it.
 * (troupe/node.h is not in this list: the transport's node.c is not built
 * into the library yet.) */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int noop_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)ctx, (void)vs, (void)m;
    return 0;
}

static const tr_behaviour idle_b = {"idle", 0, NULL, noop_handle, NULL};

static const tr_child_spec idle_child = {.id = "w", .behaviour = &idle_b};
static const tr_sup_spec one_idle = {.strategy = TR_ONE_FOR_ONE, .children = &idle_child,
                                     .nchildren = 1};

static _Atomic int jobs_run, jobs_cleaned;

static tr_msg *job_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&jobs_run, 1);
    return NULL;
}

static void job_cleanup(void *arg)
{
    (void)arg;
    atomic_fetch_add(&jobs_cleaned, 1);
}

/* -------------------------------------------------- the ctx-call walk */

/* Every call that takes a tr_ctx, with arguments that would be valid for
 * a live actor, so that only the ctx can make it refuse. Calls returning
 * no code are made too (W_VOID: they must have no effect, which the tests
 * check on the actor); calls returning a value report TR_ENOTACTOR when
 * the value is the documented "not an actor" one, TR_OK otherwise. */
enum {
    W_SPAWN, W_SEND, W_SEND_MSG, W_SEND_NAMED, W_FAIL, W_STOP_CHILD, W_CALL, W_REPLY,
    W_REPLY_TO, W_REQUEST_DROP, W_MONITOR, W_DEMONITOR, W_LINK, W_UNLINK, W_SEND_EXIT,
    W_SEND_AFTER, W_SEND_EVERY, W_TIMER_CANCEL, W_OFFLOAD, W_INFO, W_SUP_SPAWN, W_SUP_START,
    W_SUP_TERMINATE, W_SUP_RESTART, W_SUP_DELETE, W_SUP_WHICH, W_SUP_COUNT, W_SELF, W_PARENT,
    W_SYSTEM, W_PATH, W_NOW, W_OUTS, W_N
};

static const char *const walk_names[W_N] = {
    "tr_spawn", "tr_send", "tr_send_msg", "tr_send_named", "tr_fail", "tr_stop_child",
    "tr_call", "tr_reply", "tr_reply_to", "tr_request_drop", "tr_monitor", "tr_demonitor",
    "tr_link", "tr_unlink", "tr_send_exit", "tr_send_after", "tr_send_every",
    "tr_timer_cancel", "tr_offload", "tr_info", "tr_supervisor_spawn", "tr_sup_start_child",
    "tr_sup_terminate_child", "tr_sup_restart_child", "tr_sup_delete_child",
    "tr_sup_which_children", "tr_sup_count_children", "tr_self", "tr_parent",
    "tr_ctx_system", "tr_path", "tr_now_ms", "(out-parameters cleared)",
};

typedef struct walk {
    int rc[W_N];
} walk;

#define WALK_NAME "api.target"

/* `target` is a live actor registered as WALK_NAME; `request` a request
 * message (or NULL). Safe on any thread: what it calls must refuse. */
static void walk_ctx(tr_ctx *ctx, tr_pid target, const tr_msg *request, walk *w)
{
    tr_atom t = tr_atom_from("api.walk");
    tr_pid pid = {1, 1, 1};
    tr_ref ref = {77};
    tr_timer tm = {77};
    int *rc = w->rc;
    bool outs = true; /* out-parameters are cleared on refusal */

    rc[W_SPAWN] = tr_spawn(ctx, &idle_b, NULL, &pid);
    outs = outs && tr_pid_is_nil(pid);
    rc[W_SEND] = tr_send(ctx, target, t, "x", 2);
    tr_msg *m = NULL;
    if (tr_msg_new(t, 2, &m) == TR_OK) memcpy(tr_msg_buffer(m), "y", 2);
    rc[W_SEND_MSG] = tr_send_msg(ctx, target, &m);
    outs = outs && m == NULL; /* taken (freed) in every case */
    rc[W_SEND_NAMED] = tr_send_named(ctx, WALK_NAME, t, "z", 2);
    rc[W_FAIL] = tr_fail(ctx, "from the walk");
    rc[W_STOP_CHILD] = tr_stop_child(ctx, target);
    rc[W_CALL] = tr_call(ctx, target, t, NULL, 0, 1000, &ref);
    outs = outs && ref.id == 0;
    rc[W_REPLY] = request ? tr_reply(ctx, request, t, NULL, 0) : TR_ENOTACTOR;
    rc[W_REPLY_TO] = tr_reply_to(ctx, (tr_request){target, {1}}, t, NULL, 0);
    rc[W_REQUEST_DROP] = tr_request_drop(ctx, (tr_request){target, {1}});
    ref.id = 77;
    rc[W_MONITOR] = tr_monitor(ctx, target, &ref);
    outs = outs && ref.id == 0;
    rc[W_DEMONITOR] = tr_demonitor(ctx, (tr_ref){1});
    rc[W_LINK] = tr_link(ctx, target);
    rc[W_UNLINK] = tr_unlink(ctx, target);
    rc[W_SEND_EXIT] = tr_send_exit(ctx, target, TR_EXIT_KILLED, "from the walk");
    rc[W_SEND_AFTER] = tr_send_after(ctx, target, 0, t, NULL, 0, &tm);
    outs = outs && tm.id == 0;
    tm.id = 77;
    rc[W_SEND_EVERY] = tr_send_every(ctx, target, 10, t, NULL, 0, &tm);
    outs = outs && tm.id == 0;
    rc[W_TIMER_CANCEL] = tr_timer_cancel(ctx, (tr_timer){1});
    rc[W_OFFLOAD] = tr_offload(ctx, (tr_job){job_run, job_cleanup, NULL});
    tr_actor_info info;
    memset(&info, 0xab, sizeof info);
    rc[W_INFO] = tr_info(ctx, &info);
    if (rc[W_INFO] != TR_OK) outs = outs && tr_pid_is_nil(info.pid) && info.path[0] == '\0';
    pid = (tr_pid){1, 1, 1};
    rc[W_SUP_SPAWN] = tr_supervisor_spawn(ctx, &one_idle, NULL, &pid);
    outs = outs && tr_pid_is_nil(pid);
    rc[W_SUP_START] = tr_sup_start_child(ctx, target, &idle_child, &ref);
    rc[W_SUP_TERMINATE] = tr_sup_terminate_child(ctx, target, "w", TR_PID_NIL, &ref);
    rc[W_SUP_RESTART] = tr_sup_restart_child(ctx, target, "w", &ref);
    rc[W_SUP_DELETE] = tr_sup_delete_child(ctx, target, "w", &ref);
    rc[W_SUP_WHICH] = tr_sup_which_children(ctx, target, &ref);
    rc[W_SUP_COUNT] = tr_sup_count_children(ctx, target, &ref);
    rc[W_SELF] = tr_pid_is_nil(tr_self(ctx)) ? TR_ENOTACTOR : TR_OK;
    rc[W_PARENT] = tr_pid_is_nil(tr_parent(ctx)) ? TR_ENOTACTOR : TR_OK;
    rc[W_SYSTEM] = tr_ctx_system(ctx) ? TR_OK : TR_ENOTACTOR;
    char path[64];
    memset(path, 'Z', sizeof path);
    size_t plen = tr_path(ctx, path, sizeof path);
    rc[W_PATH] = plen == 0 && path[0] == '\0' ? TR_ENOTACTOR : TR_OK;
    rc[W_NOW] = tr_now_ms(ctx) == TR_ENOTACTOR ? TR_ENOTACTOR : TR_OK;
    /* the calls that return nothing: none may take effect */
    tr_stop(ctx);
    tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "from the walk");
    tr_stop_children_together(ctx, true);
    tr_defer_started(ctx);
    tr_notify_started(ctx);
    tr_trap_exits(ctx, true);
    rc[W_OUTS] = outs ? TR_OK : TR_EINVAL;
}

/* Checks every row against `want` (one code for all rows, or per row). */
static void check_walk(const walk *w, const int *want_rows, int want_all, const char *how)
{
    int bad = 0;
    for (int i = 0; i < W_N; i++) {
        int want = want_rows ? want_rows[i] : (i == W_OUTS ? TR_OK : want_all);
        if (w->rc[i] != want) {
            print_error("%s: %s returned %d (%s), want %d (%s)\n", how, walk_names[i], w->rc[i],
                        tr_strerror(w->rc[i]), want, tr_strerror(want));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* ----------------------------------------------- actors for the walks */

static t_gate hold_gate;
/* The victim's ctx, kept past its callback; written by the victim before
 * it reports "holding", read by the test thread and the walker after. */
static tr_ctx *_Atomic kept_ctx;

/* victim: "hold" keeps its ctx, reports "holding" and holds its worker
 * until hold_gate opens; "ping" answers "pong"; a request is answered. */
static int victim_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is_request(m)) return tr_reply(ctx, m, tr_atom_from("api.answer"), NULL, 0);
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "hold") == 0) {
        atomic_store(&kept_ctx, ctx);
        int rc = t_report(ctx, "holding", "");
        t_gate_wait(&hold_gate);
        return rc;
    }
    if (strcmp(t, "ping") == 0) return tr_send(ctx, tr_msg_sender(m), tr_atom_from("pong"), NULL, 0);
    return 0;
}

static void victim_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    t_report(ctx, "victim.term", tr_exit_kind_name(why->kind));
}

static const tr_behaviour victim_b = {"victim", 0, NULL, victim_handle, victim_terminate};

/* walker: "walk" {pid target} walks with the kept ctx (a stranger's, in
 * this callback), then with NULL, and reports both walks. */
static int walker_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (!tr_msg_is(m, tr_atom_from("walk"))) return 0;
    tr_pid target;
    if (!T_CHECK(ctx, tr_msg_size(m) == sizeof target)) return 0;
    memcpy(&target, tr_msg_data(m), sizeof target);
    walk w[2];
    walk_ctx(atomic_load(&kept_ctx), target, NULL, &w[0]);
    walk_ctx(NULL, target, NULL, &w[1]);
    return t_report_val(ctx, "walked", w, sizeof w);
}

static const tr_behaviour walker_b = {"walker", 0, NULL, walker_handle, NULL};

static tr_system_stats stats(t_env *e)
{
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(e->sys, &st), TR_OK);
    return st;
}

/* The victim is alive and unchanged: it answers a ping, it is not
 * stopping, and nothing reached the probe meanwhile. */
static void expect_victim_untouched(t_env *e, tr_pid victim)
{
    assert_int_equal(tr_inbox_send(e->probe, victim, tr_atom_from("ping"), NULL, 0), TR_OK);
    t_expect(e, "pong");
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, victim, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.links, 0);
    assert_int_equal(info.monitors, 0);
    assert_int_equal(info.watchers, 0);
    assert_int_equal(info.children, 0);
    assert_int_equal(info.requests, 0);
    t_expect_none(e);
}

/* A ctx is valid only on its worker, during its callback: the victim's ctx
 * is refused from the test thread while the victim holds its callback,
 * from another actor's callback on the other worker meanwhile, from the
 * test thread after the callback returned, and NULL everywhere. Nothing
 * any refused call would have done happened: no message, no spawn, no
 * timer, no job, no link or monitor, and the victim lives on. */
static void test_foreign_and_stale_ctx_refused(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE); /* the held callback is long */
    atomic_store(&jobs_run, 0);
    atomic_store(&jobs_cleaned, 0);
    t_gate_init(&hold_gate);
    tr_pid victim, walker;
    tr_spawn_opts vo = {.name = "victim", .register_as = WALK_NAME};
    assert_int_equal(tr_system_spawn(e->sys, &victim_b, &vo, &victim), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &walker_b, NULL, &walker), TR_OK);
    tr_system_stats before = stats(e);

    /* the victim holds its callback (one worker): its ctx is live there */
    assert_int_equal(tr_inbox_send(e->probe, victim, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    tr_ctx *kept = atomic_load(&kept_ctx);
    assert_non_null(kept);
    walk w;
    walk_ctx(kept, victim, NULL, &w); /* from the test thread, meanwhile */
    check_walk(&w, NULL, TR_ENOTACTOR, "live ctx from the test thread");
    /* from the walker's callback, on the other worker, meanwhile */
    assert_int_equal(tr_inbox_send(e->probe, walker, tr_atom_from("walk"), &victim, sizeof victim),
                     TR_OK);
    const tr_msg *m = t_expect(e, "walked");
    walk ww[2];
    assert_int_equal(tr_msg_size(m), sizeof ww);
    memcpy(ww, tr_msg_data(m), sizeof ww);
    check_walk(&ww[0], NULL, TR_ENOTACTOR, "live ctx from another actor's callback");
    check_walk(&ww[1], NULL, TR_ENOTACTOR, "NULL ctx in an actor's callback");
    t_gate_open(&hold_gate);

    /* after the callback returned (its ping proves it), from here */
    expect_victim_untouched(e, victim);
    walk_ctx(kept, victim, NULL, &w);
    check_walk(&w, NULL, TR_ENOTACTOR, "stale ctx from the test thread");
    walk_ctx(NULL, victim, NULL, &w);
    check_walk(&w, NULL, TR_ENOTACTOR, "NULL ctx from the test thread");
    expect_victim_untouched(e, victim);

    /* the books: only the test's own messages and their answers moved
     * (hold, holding, walk, walked, 2 x (ping, pong, inspect, info)) */
    tr_system_stats after = stats(e);
    assert_int_equal(after.actors_spawned, before.actors_spawned);
    assert_int_equal(after.actors_live, 2);
    assert_int_equal(after.messages_sent - before.messages_sent, 4 + 2 * 4);
    assert_int_equal(after.dead_letters, before.dead_letters);

    /* no job was queued: destroying the system would have run or cleaned
     * it up */
    tr_inbox_destroy(&e->probe);
    tr_system_destroy(&e->sys);
    assert_int_equal(atomic_load(&jobs_run), 0);
    assert_int_equal(atomic_load(&jobs_cleaned), 0);
    tr_log_set_level(TR_LOG_WARN);
}

/* ------------------------------------------------- the abandoned actor */

static t_gate stuck_gate;

/* stuck: "hold" reports "holding", holds its worker until stuck_gate
 * opens (its parent abandons it meanwhile), then walks with its own ctx
 * and reports the walk through tr_system_send (its own sends no longer
 * take effect). */
static int stuck_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (!tr_msg_is(m, tr_atom_from("hold"))) return 0;
    int rc = t_report(ctx, "holding", "");
    t_gate_wait(&stuck_gate);
    walk w;
    walk_ctx(ctx, tr_parent(ctx), NULL, &w);
    tr_system *sys = tr_ctx_system(ctx);
    if (sys) tr_system_send(sys, t_probe, tr_atom_from("walked"), &w, sizeof w);
    else t_report_fail(NULL, __FILE__, __LINE__, "no system for an abandoned ctx");
    return rc;
}

static const tr_behaviour stuck_b = {"stuck", 0, NULL, stuck_handle, NULL};

/* nursery (trapping): "spawn" spawns a stuck child with a 50 ms shutdown
 * and reports its pid; "stop" {pid} asks it to stop; reports each child
 * exit's kind as "exit". */
static int nursery_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    if (strcmp(t, "spawn") == 0) {
        tr_pid c;
        tr_spawn_opts o = {.name = "stuck", .shutdown_ms = 50};
        int rc = tr_spawn(ctx, &stuck_b, &o, &c);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return t_report_val(ctx, "child", &c, sizeof c);
    }
    if (strcmp(t, "stop") == 0) {
        tr_pid c;
        memcpy(&c, tr_msg_data(m), sizeof c);
        return t_report_int(ctx, "asked", tr_stop_child(ctx, c));
    }
    if (tr_msg_is(m, tr_exit_atom())) {
        tr_exit why;
        int rc = tr_exit_decode(m, NULL, &why);
        return t_report_int(ctx, "exit", rc == TR_OK ? (int)why.kind : rc);
    }
    return 0;
}

static const tr_behaviour nursery_b = {"nursery", 0, NULL, nursery_handle, NULL};

static int setup_clock_quiet(void **state)
{
    tr_clock *c;
    if (tr_clock_manual_new(&c) != TR_OK) return -1;
    tr_system_opts o = {.workers = 2, .clock = c, .long_callback_ms = -1};
    return t_setup_opts(state, &o);
}

/* A child stuck in a callback past its shutdown time is abandoned: its
 * parent counts it killed at once. When its callback goes on, every call
 * that acts answers TR_ESTOPPED; its sends (tr_send, tr_send_msg,
 * tr_send_named) are accepted and become dead letters of reason
 * "abandoned"; reading calls (tr_self, tr_path, tr_info, ...) still work. */
static void test_abandoned_ctx(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_NONE); /* "did not stop in time" */
    atomic_store(&jobs_run, 0);
    atomic_store(&jobs_cleaned, 0);
    t_gate_init(&stuck_gate);
    tr_pid nursery;
    tr_spawn_opts no = {.name = "nursery", .flags = TR_SPAWN_TRAP_EXITS,
                        .register_as = WALK_NAME};
    assert_int_equal(tr_system_spawn(e->sys, &nursery_b, &no, &nursery), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, nursery, tr_atom_from("spawn"), NULL, 0), TR_OK);
    tr_pid child = t_expect_pid(e, "child");
    assert_int_equal(tr_inbox_send(e->probe, child, tr_atom_from("hold"), NULL, 0), TR_OK);
    t_expect(e, "holding");
    assert_int_equal(tr_inbox_send(e->probe, nursery, tr_atom_from("stop"), &child, sizeof child),
                     TR_OK);
    assert_int_equal(t_expect_int(e, "asked"), TR_OK);
    assert_int_equal(tr_clock_advance(e->clock, 49), TR_OK);
    /* not yet: a round trip through the nursery proves no exit came */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, nursery, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 1);
    t_expect_none(e);
    assert_int_equal(tr_clock_advance(e->clock, 1), TR_OK);
    assert_int_equal(t_expect_int(e, "exit"), TR_EXIT_KILLED); /* abandoned */
    assert_int_equal(tr_system_inspect(e->sys, nursery, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 0);

    assert_int_equal(tr_system_dead_letters_to(e->sys, t_probe), TR_OK);
    tr_system_stats before = stats(e);
    t_gate_open(&stuck_gate);
    int abandoned = 0;
    const tr_msg *m;
    for (;;) {
        m = t_recv(e);
        if (!tr_msg_is(m, tr_atom_from("tr.dead_letter"))) break;
        tr_dead_letter d;
        assert_int_equal(tr_dead_letter_decode(m, &d), TR_OK);
        assert_int_equal(d.reason, TR_DEAD_ABANDONED);
        assert_string_equal(tr_dead_reason_name(d.reason), "abandoned");
        assert_true(tr_pid_eq(d.from, child));
        assert_string_equal(tr_atom_name(d.type), "api.walk");
        assert_int_equal(d.size, 2);
        abandoned++;
    }
    assert_string_equal(tr_atom_name(tr_msg_type(m)), "walked");
    walk w;
    assert_int_equal(tr_msg_size(m), sizeof w);
    memcpy(&w, tr_msg_data(m), sizeof w);
    int want[W_N];
    for (int i = 0; i < W_N; i++) want[i] = TR_ESTOPPED;
    want[W_SEND] = want[W_SEND_MSG] = want[W_SEND_NAMED] = TR_OK; /* dead letters */
    want[W_REPLY] = TR_ENOTACTOR; /* (no request in this walk) */
    want[W_INFO] = want[W_SELF] = want[W_PARENT] = want[W_SYSTEM] = want[W_PATH] =
        want[W_NOW] = want[W_OUTS] = TR_OK; /* reading, not acting */
    check_walk(&w, want, 0, "abandoned actor's own ctx");
    assert_int_equal(abandoned, 3);
    tr_system_stats after = stats(e);
    assert_int_equal(after.dead_letters - before.dead_letters, 3);
    assert_int_equal(after.actors_spawned, before.actors_spawned);
    assert_int_equal(tr_system_dead_letters_to(e->sys, TR_PID_NIL), TR_OK);

    /* its parent lives on, unharmed by the refused calls */
    assert_int_equal(tr_system_inspect(e->sys, nursery, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.status, TR_STATUS_WAITING);
    assert_int_equal(info.links, 0);
    assert_int_equal(info.watchers, 0);
    tr_inbox_destroy(&e->probe);
    tr_system_destroy(&e->sys);
    assert_int_equal(atomic_load(&jobs_run), 0);
    tr_log_set_level(TR_LOG_WARN);
}

/* --------------------------------------- invalid arguments, own ctx */

/* One row per documented refusal of a ctx call, made from inside a live
 * actor's init with its own ctx; the rows' names say what each provokes. */
#define OWN_CASES(X)                                                                          \
    X(spawn_null_behaviour, TR_EINVAL, tr_spawn(ctx, NULL, NULL, &pid))                       \
    X(spawn_no_handle, TR_EINVAL, tr_spawn(ctx, &no_handle, NULL, &pid))                      \
    X(spawn_name_slash, TR_EINVAL, tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.name = "a/b"}, &pid)) \
    X(spawn_name_empty, TR_EINVAL, tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.name = ""}, &pid)) \
    X(spawn_args_null, TR_EINVAL,                                                             \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.args_size = 3}, &pid))                         \
    X(spawn_args_too_big, TR_ETOOBIG,                                                         \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.args = "x", .args_size = TR_MSG_MAX + 1u}, &pid)) \
    X(spawn_shutdown, TR_EINVAL,                                                              \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.shutdown_ms = -3}, &pid))                      \
    X(spawn_deadline, TR_EINVAL,                                                              \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.deadline_ms = -1}, &pid))                      \
    X(spawn_capacity, TR_EINVAL,                                                              \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.capacity = 1u << 30}, &pid))                   \
    X(spawn_policy, TR_EINVAL,                                                                \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.capacity = 1, .on_full = (tr_full_policy)4}, &pid)) \
    X(spawn_register_at, TR_EINVAL,                                                           \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.register_as = "a@b"}, &pid))                   \
    X(spawn_register_taken, TR_EEXIST,                                                        \
      tr_spawn(ctx, &idle_b, &(tr_spawn_opts){.register_as = "api.own"}, &pid))               \
    X(send_nil, TR_EINVAL, tr_send(ctx, TR_PID_NIL, t, "x", 1))                               \
    X(send_type0, TR_EINVAL, tr_send(ctx, self, (tr_atom){0}, "x", 1))                        \
    X(send_no_data, TR_EINVAL, tr_send(ctx, self, t, NULL, 4))                                \
    X(send_too_big, TR_ETOOBIG, tr_send(ctx, self, t, "x", TR_MSG_MAX + 1u))                  \
    X(send_far, TR_ENOROUTE, tr_send(ctx, far, t, "x", 1))                                    \
    X(send_msg_null, TR_EINVAL, tr_send_msg(ctx, self, NULL))                                 \
    X(send_msg_null_msg, TR_EINVAL, tr_send_msg(ctx, self, &nomsg))                           \
    X(send_named_null, TR_EINVAL, tr_send_named(ctx, NULL, t, NULL, 0))                       \
    X(send_named_none, TR_ENOENT, tr_send_named(ctx, "api.nobody", t, NULL, 0))               \
    X(send_named_no_name, TR_EINVAL, tr_send_named(ctx, "@node", t, NULL, 0))                 \
    X(send_named_no_node, TR_EINVAL, tr_send_named(ctx, "name@", t, NULL, 0))                 \
    X(send_named_type0, TR_EINVAL, tr_send_named(ctx, "api.own", (tr_atom){0}, NULL, 0))      \
    X(stop_child_nil, TR_ENOENT, tr_stop_child(ctx, TR_PID_NIL))                              \
    X(stop_child_self, TR_ENOENT, tr_stop_child(ctx, self))                                   \
    X(stop_child_stranger, TR_ENOENT, tr_stop_child(ctx, t_probe))                            \
    X(stop_child_far, TR_ENOENT, tr_stop_child(ctx, far))                                     \
    X(call_nil, TR_EINVAL, tr_call(ctx, TR_PID_NIL, t, NULL, 0, 10, &ref))                    \
    X(call_type0, TR_EINVAL, tr_call(ctx, t_probe, (tr_atom){0}, NULL, 0, 10, &ref))          \
    X(call_no_data, TR_EINVAL, tr_call(ctx, t_probe, t, NULL, 1, 10, &ref))                   \
    X(call_timeout, TR_EINVAL, tr_call(ctx, t_probe, t, NULL, 0, -2, &ref))                   \
    X(call_too_big, TR_ETOOBIG, tr_call(ctx, t_probe, t, "x", TR_MSG_MAX + 1u, 10, &ref))     \
    X(call_far, TR_ENOROUTE, (ref.id = 99, tr_call(ctx, far, t, NULL, 0, 10, &ref)))          \
    X(call_ref_cleared, 0, (int)ref.id)                                                       \
    X(reply_null, TR_EINVAL, tr_reply(ctx, NULL, t, NULL, 0))                                 \
    X(reply_not_request, TR_EINVAL, tr_reply(ctx, plain, t, NULL, 0))                         \
    X(reply_to_zero, TR_EINVAL, tr_reply_to(ctx, (tr_request){TR_PID_NIL, {0}}, t, NULL, 0))  \
    X(reply_to_no_ref, TR_EINVAL, tr_reply_to(ctx, (tr_request){t_probe, {0}}, t, NULL, 0))   \
    X(reply_to_type0, TR_EINVAL, tr_reply_to(ctx, (tr_request){t_probe, {5}}, (tr_atom){0}, NULL, 0)) \
    X(request_drop_zero, TR_EINVAL, tr_request_drop(ctx, (tr_request){TR_PID_NIL, {0}}))      \
    X(request_drop_unknown, TR_ENOENT, tr_request_drop(ctx, (tr_request){t_probe, {12345}}))  \
    X(msg_request_plain, 0, (int)tr_msg_request(plain).ref.id)                                \
    X(msg_is_request_plain, 0, (int)tr_msg_is_request(plain))                                 \
    X(msg_ref_plain, 0, (int)tr_msg_ref(plain).id)                                            \
    X(monitor_nil, TR_EINVAL, tr_monitor(ctx, TR_PID_NIL, &ref))                              \
    X(monitor_far, TR_ENOROUTE, (ref.id = 99, tr_monitor(ctx, far, &ref)))                    \
    X(monitor_ref_cleared, 0, (int)ref.id)                                                    \
    X(demonitor_zero, TR_ENOENT, tr_demonitor(ctx, (tr_ref){0}))                              \
    X(demonitor_unknown, TR_ENOENT, tr_demonitor(ctx, (tr_ref){12345}))                       \
    X(link_nil, TR_EINVAL, tr_link(ctx, TR_PID_NIL))                                          \
    X(link_self, TR_EINVAL, tr_link(ctx, self))                                               \
    X(link_far, TR_ENOROUTE, tr_link(ctx, far))                                               \
    X(unlink_not_linked, TR_OK, tr_unlink(ctx, t_probe))                                      \
    X(send_exit_nil, TR_EINVAL, tr_send_exit(ctx, TR_PID_NIL, TR_EXIT_SHUTDOWN, NULL))        \
    X(send_exit_kind, TR_EINVAL, tr_send_exit(ctx, t_probe, (tr_exit_kind)99, NULL))          \
    X(send_exit_far, TR_ENOROUTE, tr_send_exit(ctx, far, TR_EXIT_SHUTDOWN, NULL))             \
    X(send_after_negative, TR_EINVAL, tr_send_after(ctx, self, -1, t, NULL, 0, &tm))          \
    X(send_after_nil, TR_EINVAL, tr_send_after(ctx, TR_PID_NIL, 1, t, NULL, 0, &tm))          \
    X(send_after_type0, TR_EINVAL, tr_send_after(ctx, self, 1, (tr_atom){0}, NULL, 0, &tm))   \
    X(send_after_no_data, TR_EINVAL, tr_send_after(ctx, self, 1, t, NULL, 2, &tm))            \
    X(send_after_too_big, TR_ETOOBIG, tr_send_after(ctx, self, 1, t, "x", TR_MSG_MAX + 1u, &tm)) \
    X(send_after_far, TR_ENOROUTE, (tm.id = 99, tr_send_after(ctx, far, 1, t, NULL, 0, &tm)))  \
    X(timer_cleared, 0, (int)tm.id)                                                           \
    X(send_every_zero, TR_EINVAL, tr_send_every(ctx, self, 0, t, NULL, 0, &tm))               \
    X(send_every_negative, TR_EINVAL, tr_send_every(ctx, self, -5, t, NULL, 0, &tm))          \
    X(timer_cancel_zero, TR_ENOENT, tr_timer_cancel(ctx, (tr_timer){0}))                      \
    X(timer_cancel_unknown, TR_ENOENT, tr_timer_cancel(ctx, (tr_timer){987654321}))           \
    X(offload_no_run, TR_EINVAL, tr_offload(ctx, (tr_job){NULL, job_cleanup, NULL}))          \
    X(info_null, TR_EINVAL, tr_info(ctx, NULL))                                               \
    X(path_null_buf, (int)strlen("/root/own"), (int)tr_path(ctx, NULL, 10))                   \
    X(sup_spawn_null_spec, TR_EINVAL, tr_supervisor_spawn(ctx, NULL, NULL, &pid))             \
    X(sup_spawn_bad_spec, TR_EINVAL, tr_supervisor_spawn(ctx, &bad_spec, NULL, &pid))         \
    X(sup_start_null_spec, TR_EINVAL, tr_sup_start_child(ctx, t_probe, NULL, &ref))           \
    X(sup_start_bad_spec, TR_EINVAL, tr_sup_start_child(ctx, t_probe, &bad_child, &ref))      \
    X(sup_start_nil, TR_EINVAL, tr_sup_start_child(ctx, TR_PID_NIL, &idle_child, &ref))       \
    X(sup_terminate_nil, TR_EINVAL, tr_sup_terminate_child(ctx, TR_PID_NIL, "w", TR_PID_NIL, &ref)) \
    X(sup_restart_nil, TR_EINVAL, tr_sup_restart_child(ctx, TR_PID_NIL, "w", &ref))           \
    X(sup_delete_nil, TR_EINVAL, tr_sup_delete_child(ctx, TR_PID_NIL, "w", &ref))             \
    X(sup_which_nil, TR_EINVAL, tr_sup_which_children(ctx, TR_PID_NIL, &ref))                 \
    X(sup_count_nil, TR_EINVAL, tr_sup_count_children(ctx, TR_PID_NIL, &ref))                 \
    X(sup_which_far, TR_ENOROUTE, tr_sup_which_children(ctx, far, &ref))                      \
    X(call_sync_from_worker, TR_ENOTACTOR,                                                    \
      tr_call_sync(tr_ctx_system(ctx), self, t, NULL, 0, 10, &reply))                         \
    X(send_timed_from_worker, TR_ENOTACTOR,                                                   \
      tr_system_send_timed(tr_ctx_system(ctx), self, t, NULL, 0, 10))                         \
    X(inspect_from_worker, TR_ENOTACTOR,                                                      \
      tr_system_inspect(tr_ctx_system(ctx), self, &info, 10))                                 \
    X(wait_from_worker, TR_ENOTACTOR, tr_system_wait(tr_ctx_system(ctx), 10))                 \
    X(sup_which_sync_from_worker, TR_ENOTACTOR,                                               \
      tr_sup_which_children_sync(tr_ctx_system(ctx), self, NULL, 0, &n, 10))                  \
    X(sup_count_sync_from_worker, TR_ENOTACTOR,                                               \
      tr_sup_count_children_sync(tr_ctx_system(ctx), self, &counts, 10))                      \
    X(inbox_recv_from_worker, TR_ENOTACTOR, tr_inbox_recv(probe_inbox, &got, 10))

enum {
#define X(name, want, expr) OWN_##name,
    OWN_CASES(X)
#undef X
    OWN_N
};

static const struct {
    const char *name;
    int want;
} own_rows[OWN_N] = {
#define X(name, want, expr) {#name, want},
    OWN_CASES(X)
#undef X
};

static tr_inbox *probe_inbox; /* for the row that tries it from a worker */

static const tr_behaviour no_handle = {"nohandle", 0, NULL, NULL, NULL};
static const tr_child_spec bad_child = {.id = "a/b", .behaviour = &idle_b};
static const tr_sup_spec bad_spec = {.strategy = (tr_strategy)9};

/* own: makes every refusal of OWN_CASES from init and reports the codes;
 * a request it receives later (the first message: "plain" is not one) is
 * then used for the one check that needs a real request. */
static int own_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs, (void)args, (void)size;
    int rc[OWN_N];
    tr_atom t = tr_atom_from("api.own");
    tr_pid self = tr_self(ctx), pid = TR_PID_NIL;
    tr_pid far = {self.node + 1, self.slot, self.serial};
    tr_ref ref = {0};
    tr_timer tm = {0};
    tr_msg *nomsg = NULL, *reply = NULL;
    tr_actor_info info;
    tr_child_counts counts;
    size_t n = 0;
    const tr_msg *got = NULL;
    /* a plain (non-request) message, as a handler would be given one; its
     * payload is where a request keeps its reference, so a check that
     * looked at the reference instead of the kind would be fooled */
    tr_msg *plain_m = NULL;
    if (tr_msg_new(t, sizeof(uint64_t), &plain_m) != TR_OK) return TR_ENOMEM;
    uint64_t fake_ref = 0x1122334455667788u;
    memcpy(tr_msg_buffer(plain_m), &fake_ref, sizeof fake_ref);
    const tr_msg *plain = plain_m;
    int i = 0;
#define X(name, want, expr) rc[i++] = (int)(expr);
    OWN_CASES(X)
#undef X
    tr_msg_destroy(&plain_m);
    (void)reply;
    return t_report_val(ctx, "own", rc, sizeof rc);
}

static const tr_behaviour own_b = {"own", 0, own_init, noop_handle, NULL};

static void test_own_ctx_invalid_arguments(void **state)
{
    t_env *e = *state;
    probe_inbox = e->probe;
    tr_pid own;
    /* registered as "api.own" itself: spawn_register_taken provokes EEXIST */
    tr_spawn_opts o = {.name = "own", .register_as = "api.own"};
    assert_int_equal(tr_system_spawn(e->sys, &own_b, &o, &own), TR_OK);
    const tr_msg *m = t_expect(e, "own");
    int rc[OWN_N];
    assert_int_equal(tr_msg_size(m), sizeof rc);
    memcpy(rc, tr_msg_data(m), sizeof rc);
    int bad = 0;
    for (int i = 0; i < OWN_N; i++)
        if (rc[i] != own_rows[i].want) {
            print_error("%s: got %d (%s), want %d (%s)\n", own_rows[i].name, rc[i],
                        tr_strerror(rc[i]), own_rows[i].want, tr_strerror(own_rows[i].want));
            bad++;
        }
    assert_int_equal(bad, 0);
    /* nothing the refused calls would have made exists: no child, no
     * timer message, no link or monitor, and only the report was sent
     * (the refused send_exit, link and monitor to the probe made none) */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(e->sys, own, &info, T_WAIT_MS), TR_OK);
    assert_int_equal(info.children, 0);
    assert_int_equal(info.links, 0);
    assert_int_equal(info.monitors, 0);
    assert_int_equal(info.messages_out, 1);
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_spawned, 1);
    assert_int_equal(st.dead_letters, 0);
    t_expect_none(e);
}

/* tr_reply and tr_inbox_reply refuse a message that is not a request,
 * and answer one that is. */
static int replier_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is_request(m)) {
        int rc[3];
        rc[0] = tr_reply(ctx, m, (tr_atom){0}, NULL, 0);        /* EINVAL: no type */
        rc[1] = tr_reply(ctx, m, tr_atom_from("x"), NULL, 3);   /* EINVAL: no data */
        rc[2] = tr_reply(ctx, m, tr_atom_from("api.ok"), NULL, 0);
        return t_report_val(ctx, "replied", rc, sizeof rc);
    }
    return t_report_int(ctx, "plain", tr_reply(ctx, m, tr_atom_from("api.no"), NULL, 0));
}

static const tr_behaviour replier_b = {"replier", 0, NULL, replier_handle, NULL};

static void test_reply_needs_a_request(void **state)
{
    t_env *e = *state;
    tr_pid r;
    assert_int_equal(tr_system_spawn(e->sys, &replier_b, NULL, &r), TR_OK);
    /* its payload lies where a request keeps its reference */
    uint64_t fake_ref = 0x1122334455667788u;
    assert_int_equal(tr_inbox_send(e->probe, r, tr_atom_from("api.plain"), &fake_ref, sizeof fake_ref),
                     TR_OK);
    assert_int_equal(t_expect_int(e, "plain"), TR_EINVAL);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(e->sys, r, tr_atom_from("api.req"), NULL, 0, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(reply)), "api.ok");
    tr_msg_destroy(&reply);
    const tr_msg *m = t_expect(e, "replied");
    int rc[3];
    memcpy(rc, tr_msg_data(m), sizeof rc);
    assert_int_equal(rc[0], TR_EINVAL);
    assert_int_equal(rc[1], TR_EINVAL);
    assert_int_equal(rc[2], TR_OK);
    t_expect_none(e); /* the refused "plain" reply sent nothing */

    /* an inbox likewise: a plain message in the probe is no request */
    assert_int_equal(tr_inbox_send(e->probe, t_probe, tr_atom_from("api.plain"), &fake_ref,
                                   sizeof fake_ref),
                     TR_OK);
    m = t_expect(e, "api.plain");
    assert_int_equal(tr_inbox_reply(e->probe, m, tr_atom_from("x"), NULL, 0), TR_EINVAL);
    assert_int_equal(tr_inbox_reply(e->probe, NULL, tr_atom_from("x"), NULL, 0), TR_EINVAL);
    assert_int_equal(tr_inbox_reply(NULL, m, tr_atom_from("x"), NULL, 0), TR_EINVAL);
    t_expect_none(e);
}


/* ------------------------------------- promises of a few ctx calls */

/* prom: "arm" arms a timer that never fires in a test and reports its
 * handle; "cancel" {tr_timer} reports tr_timer_cancel's code; "link2"
 * {pid} links twice and reports both codes and its link count; "unlink"
 * {pid} unlinks and reports its link count. */
static int prom_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    const char *t = tr_atom_name(tr_msg_type(m));
    tr_actor_info info;
    if (strcmp(t, "arm") == 0) {
        tr_timer tm = {0};
        int rc = tr_send_after(ctx, tr_self(ctx), 1000000000, tr_atom_from("never"), NULL, 0, &tm);
        if (!T_CHECK(ctx, rc == TR_OK)) return rc;
        return t_report_val(ctx, "armed", &tm, sizeof tm);
    }
    if (strcmp(t, "cancel") == 0) {
        tr_timer tm;
        memcpy(&tm, tr_msg_data(m), sizeof tm);
        return t_report_int(ctx, "cancelled", tr_timer_cancel(ctx, tm));
    }
    tr_pid other;
    if (tr_msg_size(m) != sizeof other) return 0;
    memcpy(&other, tr_msg_data(m), sizeof other);
    if (strcmp(t, "link2") == 0) {
        int rc[3];
        rc[0] = tr_link(ctx, other);
        rc[1] = tr_link(ctx, other); /* idempotent */
        rc[2] = tr_info(ctx, &info) == TR_OK ? (int)info.links : -1;
        return t_report_val(ctx, "linked", rc, sizeof rc);
    }
    if (strcmp(t, "unlink") == 0) {
        int rc = tr_unlink(ctx, other);
        int links = tr_info(ctx, &info) == TR_OK ? (int)info.links : -1;
        return t_report_int(ctx, "unlinked", rc == TR_OK ? links : rc);
    }
    return 0;
}

static const tr_behaviour prom_b = {"prom", 0, NULL, prom_handle, NULL};

/* A timer can be cancelled only by its owner (TR_ENOENT for another
 * actor, and it stays armed); tr_link twice is one link, gone after one
 * tr_unlink. */
static void test_ctx_promises(void **state)
{
    t_env *e = *state;
    tr_pid a, b;
    assert_int_equal(tr_system_spawn(e->sys, &prom_b, NULL, &a), TR_OK);
    assert_int_equal(tr_system_spawn(e->sys, &prom_b, NULL, &b), TR_OK);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("arm"), NULL, 0), TR_OK);
    const tr_msg *m = t_expect(e, "armed");
    tr_timer tm;
    assert_int_equal(tr_msg_size(m), sizeof tm);
    memcpy(&tm, tr_msg_data(m), sizeof tm);
    assert_int_not_equal(tm.id, 0);
    assert_int_equal(tr_inbox_send(e->probe, b, tr_atom_from("cancel"), &tm, sizeof tm), TR_OK);
    assert_int_equal(t_expect_int(e, "cancelled"), TR_ENOENT); /* not b's */
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("cancel"), &tm, sizeof tm), TR_OK);
    assert_int_equal(t_expect_int(e, "cancelled"), TR_OK); /* still pending: a's */
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("cancel"), &tm, sizeof tm), TR_OK);
    assert_int_equal(t_expect_int(e, "cancelled"), TR_ENOENT); /* cancelled already */

    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("link2"), &b, sizeof b), TR_OK);
    m = t_expect(e, "linked");
    int rc[3];
    memcpy(rc, tr_msg_data(m), sizeof rc);
    assert_int_equal(rc[0], TR_OK);
    assert_int_equal(rc[1], TR_OK);
    assert_int_equal(rc[2], 1);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("unlink"), &b, sizeof b), TR_OK);
    assert_int_equal(t_expect_int(e, "unlinked"), 0);
    assert_int_equal(tr_inbox_send(e->probe, a, tr_atom_from("unlink"), &b, sizeof b), TR_OK);
    assert_int_equal(t_expect_int(e, "unlinked"), 0); /* not linked: not an error */
}

/* ------------------------------------------- no ctx: NULL and ranges */

/* Functions that need no system. */
static void test_plain_functions(void **state)
{
    (void)state;
    char buf[8] = "ZZZZ";
    assert_null(tr_pid_format((tr_pid){1, 2, 3}, NULL, 10));
    assert_ptr_equal(tr_pid_format((tr_pid){1, 2, 3}, buf, 0), buf);
    assert_int_equal(buf[0], 'Z');

    assert_int_equal(tr_msg_new(tr_atom_from("api.x"), 1, NULL), TR_EINVAL);
    assert_null(tr_msg_buffer(NULL));
    assert_int_equal(tr_msg_type(NULL).id, 0);
    assert_null(tr_msg_data(NULL));
    assert_int_equal(tr_msg_size(NULL), 0);
    assert_true(tr_pid_is_nil(tr_msg_sender(NULL)));
    tr_msg_destroy(NULL);
    assert_false(tr_msg_is_request(NULL));
    assert_int_equal(tr_msg_ref(NULL).id, 0);
    tr_request rq = tr_msg_request(NULL);
    assert_true(tr_pid_is_nil(rq.caller));
    assert_int_equal(rq.ref.id, 0);

    /* decoders: NULL, and a message of another type */
    tr_msg *other;
    assert_int_equal(tr_msg_new(tr_atom_from("api.other"), 64, &other), TR_OK);
    memset(tr_msg_buffer(other), 0, 64);
    tr_pid who;
    tr_exit why;
    tr_start_status ss;
    tr_dead_letter dl;
    tr_actor_info info;
    int rc;
    tr_child_info ci[2];
    tr_child_counts cc;
    size_t n = 99;
    assert_int_equal(tr_exit_decode(NULL, &who, &why), TR_EINVAL);
    assert_int_equal(tr_exit_decode(other, &who, &why), TR_EINVAL);
    assert_int_equal(tr_started_decode(NULL, &who, &ss, &why), TR_EINVAL);
    assert_int_equal(tr_started_decode(other, &who, &ss, &why), TR_EINVAL);
    assert_int_equal(tr_dead_letter_decode(NULL, &dl), TR_EINVAL);
    assert_int_equal(tr_actor_info_decode(other, NULL), TR_EINVAL);
    assert_int_equal(tr_sup_counts_decode(other, NULL), TR_EINVAL);
    assert_int_equal(tr_dead_letter_decode(other, &dl), TR_EINVAL);
    assert_int_equal(tr_actor_info_decode(NULL, &info), TR_EINVAL);
    assert_int_equal(tr_actor_info_decode(other, &info), TR_EINVAL);
    assert_int_equal(tr_sup_result_decode(NULL, &rc, &who), TR_EINVAL);
    assert_int_equal(tr_sup_result_decode(other, &rc, &who), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(NULL, ci, 2, &n), TR_EINVAL);
    assert_int_equal(tr_sup_children_decode(other, ci, 2, &n), TR_EINVAL);
    assert_int_equal(tr_sup_counts_decode(NULL, &cc), TR_EINVAL);
    assert_int_equal(tr_sup_counts_decode(other, &cc), TR_EINVAL);
    assert_int_equal(n, 99); /* untouched by a refusal */
    tr_msg_destroy(&other);
    /* a message of the right type with a malformed payload */
    tr_msg *fake;
    assert_int_equal(tr_msg_new(tr_exit_atom(), 3, &fake), TR_OK);
    memcpy(tr_msg_buffer(fake), "ab", 3);
    assert_int_equal(tr_exit_decode(fake, &who, &why), TR_EINVAL);
    tr_msg_destroy(&fake);
    assert_int_equal(tr_msg_new(tr_started_atom(), 2, &fake), TR_OK);
    assert_int_equal(tr_started_decode(fake, &who, &ss, &why), TR_EINVAL);
    tr_msg_destroy(&fake);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.dead_letter"), 4, &fake), TR_OK);
    assert_int_equal(tr_dead_letter_decode(fake, &dl), TR_EINVAL);
    tr_msg_destroy(&fake);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.info"), 4, &fake), TR_OK);
    assert_int_equal(tr_actor_info_decode(fake, &info), TR_EINVAL);
    tr_msg_destroy(&fake);

    /* names of values out of their enums */
    assert_string_equal(tr_exit_kind_name((tr_exit_kind)77), "unknown");
    assert_string_equal(tr_dead_reason_name((tr_dead_reason)77), "unknown");
    assert_string_equal(tr_strerror(-77), "unknown error");
    static const char *const kinds[] = {"normal", "shutdown", "killed", "failure",
                                        "timeout", "noproc", "noconnection"};
    for (int k = 0; k <= TR_EXIT_NOCONNECTION; k++)
        assert_string_equal(tr_exit_kind_name((tr_exit_kind)k), kinds[k]);
    static const char *const reasons[] = {"no actor", "stopping", "mailbox full", "node down",
                                          "no route", "too big", "peer queue full", "abandoned"};
    for (int r = 0; r <= TR_DEAD_ABANDONED; r++)
        assert_string_equal(tr_dead_reason_name((tr_dead_reason)r), reasons[r]);
    tr_log(TR_LOG_ERROR, NULL); /* a NULL format logs nothing, and does not crash */

    /* clocks */
    assert_int_equal(tr_clock_manual_new(NULL), TR_EINVAL);
    assert_int_equal(tr_clock_advance(NULL, 1), TR_EINVAL);
    assert_int_equal(tr_clock_now_ms(NULL), TR_EINVAL);
    tr_clock *c;
    assert_int_equal(tr_clock_manual_new(&c), TR_OK);
    assert_int_equal(tr_clock_now_ms(c), 0);
    assert_int_equal(tr_clock_advance(c, -1), TR_EINVAL);
    assert_int_equal(tr_clock_now_ms(c), 0);
    assert_int_equal(tr_clock_advance(c, 5), TR_OK);
    assert_int_equal(tr_clock_now_ms(c), 5);
    tr_clock_destroy(&c);
    assert_null(c);
    tr_clock_destroy(&c);
    tr_clock_destroy(NULL);

    /* the behaviour table */
    static const tr_behaviour api_b = {"api", 0, NULL, noop_handle, NULL};
    static const tr_behaviour api_b2 = {"api2", 0, NULL, noop_handle, NULL};
    char long_name[257];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    assert_int_equal(tr_behaviour_register(NULL, &api_b), TR_EINVAL);
    assert_int_equal(tr_behaviour_register("", &api_b), TR_EINVAL);
    assert_int_equal(tr_behaviour_register("has space", &api_b), TR_EINVAL);
    assert_int_equal(tr_behaviour_register("tab\t", &api_b), TR_EINVAL);
    assert_int_equal(tr_behaviour_register(long_name, &api_b), TR_EINVAL);
    assert_int_equal(tr_behaviour_register("api.b", NULL), TR_EINVAL);
    assert_int_equal(tr_behaviour_register("api.b", &no_handle), TR_EINVAL);
    assert_null(tr_behaviour_find("api.b"));
    long_name[255] = '\0'; /* 255 bytes: the longest */
    assert_int_equal(tr_behaviour_register(long_name, &api_b), TR_OK);
    assert_ptr_equal(tr_behaviour_find(long_name), &api_b);
    assert_int_equal(tr_behaviour_register("api.b", &api_b), TR_OK);
    assert_int_equal(tr_behaviour_register("api.b", &api_b), TR_OK); /* again: no-op */
    assert_int_equal(tr_behaviour_register("api.b", &api_b2), TR_EEXIST);
    assert_ptr_equal(tr_behaviour_find("api.b"), &api_b);
    assert_string_equal(tr_behaviour_name_of(&api_b), long_name); /* the first */
    assert_null(tr_behaviour_find(NULL));
    assert_null(tr_behaviour_find("api.none"));
    assert_null(tr_behaviour_name_of(NULL));
    assert_null(tr_behaviour_name_of(&api_b2));

    /* supervisor specs */
    char text[128] = "Z";
    assert_int_equal(tr_sup_spec_check(NULL, text, sizeof text), TR_EINVAL);
    assert_true(text[0] != '\0' && text[0] != 'Z');
    assert_int_equal(tr_sup_spec_check(&bad_spec, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_sup_spec_check(&one_idle, text, sizeof text), TR_OK);
    assert_string_equal(text, "");
    tr_sup_spec no_children = {.strategy = TR_ONE_FOR_ONE, .nchildren = 2};
    assert_int_equal(tr_sup_spec_check(&no_children, NULL, 0), TR_EINVAL);

    /* system options */
    tr_system *sys = (tr_system *)1;
    assert_int_equal(tr_system_new(NULL, NULL), TR_EINVAL);
    tr_system_opts bad[] = {
        {.workers = 257},
        {.blocking_threads = 1025},
        {.time_slice_us = 99},
        {.time_slice_us = 1000001},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sys = (tr_system *)1;
        assert_int_equal(tr_system_new(&bad[i], &sys), TR_EINVAL);
        assert_null(sys);
    }
    assert_int_equal(tr_pool_outstanding(), 0);
}

/* Every system-level call with a NULL system, NULL out-pointers and
 * out-of-range arguments, from a non-actor thread. */
static void test_null_system_and_arguments(void **state)
{
    t_env *e = *state;
    tr_atom t = tr_atom_from("api.x");
    tr_pid pid = {1, 1, 1}, live;
    tr_msg *m;
    assert_int_equal(tr_system_spawn(e->sys, &idle_b, NULL, &live), TR_OK);
    tr_pid far = {live.node + 1, live.slot, live.serial};

    assert_int_equal(tr_system_spawn(NULL, &idle_b, NULL, &pid), TR_EINVAL);
    assert_true(tr_pid_is_nil(pid));
    assert_int_equal(tr_system_send(NULL, live, t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_system_send(e->sys, live, t, NULL, 3), TR_EINVAL);
    assert_int_equal(tr_system_send_timed(NULL, live, t, NULL, 0, 1), TR_EINVAL);
    assert_int_equal(tr_system_send_timed(e->sys, TR_PID_NIL, t, NULL, 0, 1), TR_EINVAL);
    assert_int_equal(tr_system_send_timed(e->sys, far, t, NULL, 0, 1), TR_ENOROUTE);
    assert_int_equal(tr_msg_new(t, 8, &m), TR_OK);
    assert_int_equal(tr_system_send_msg(NULL, live, &m), TR_EINVAL);
    assert_null(m); /* taken and freed */
    assert_int_equal(tr_system_send_msg(e->sys, live, NULL), TR_EINVAL);
    assert_int_equal(tr_system_dead_letters_to(NULL, t_probe), TR_EINVAL);
    assert_int_equal(tr_system_stop_child(NULL, live), TR_EINVAL);
    assert_int_equal(tr_system_stop_child(e->sys, TR_PID_NIL), TR_EINVAL);
    assert_int_equal(tr_system_run(NULL), TR_EINVAL);
    assert_int_equal(tr_system_stop(NULL), TR_EINVAL);
    assert_int_equal(tr_system_wait(NULL, 0), TR_EINVAL);
    assert_string_equal(tr_system_report(NULL), "");
    tr_system_stats st;
    assert_int_equal(tr_system_get_stats(NULL, &st), TR_EINVAL);
    assert_int_equal(tr_system_get_stats(e->sys, NULL), TR_EINVAL);
    assert_int_equal(tr_system_node(NULL), 0);
    assert_int_not_equal(tr_system_node(e->sys), 0);
    tr_system_destroy(NULL);
    tr_system *none = NULL;
    tr_system_destroy(&none);
    assert_int_equal(tr_system_now_ms(NULL), TR_EINVAL);

    /* inboxes */
    tr_inbox *in = (tr_inbox *)1;
    assert_int_equal(tr_inbox_new(NULL, &in), TR_EINVAL);
    assert_null(in);
    assert_int_equal(tr_inbox_new(e->sys, NULL), TR_EINVAL);
    assert_true(tr_pid_is_nil(tr_inbox_pid(NULL)));
    assert_int_equal(tr_inbox_send(NULL, live, t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_inbox_send(e->probe, live, t, NULL, 5), TR_EINVAL);
    tr_ref ref = {9};
    assert_int_equal(tr_inbox_monitor(NULL, live, &ref), TR_EINVAL);
    assert_int_equal(ref.id, 0);
    assert_int_equal(tr_inbox_monitor(e->probe, TR_PID_NIL, &ref), TR_EINVAL);
    assert_int_equal(tr_inbox_monitor(e->probe, far, &ref), TR_ENOROUTE);
    assert_int_equal(ref.id, 0);
    assert_int_equal(tr_inbox_demonitor(NULL, (tr_ref){1}), TR_EINVAL);
    assert_int_equal(tr_inbox_demonitor(e->probe, (tr_ref){0}), TR_ENOENT);
    assert_int_equal(tr_inbox_demonitor(e->probe, (tr_ref){4242}), TR_ENOENT);
    const tr_msg *got = (const tr_msg *)1;
    assert_int_equal(tr_inbox_recv(NULL, &got, 0), TR_EINVAL);
    assert_null(got);
    assert_int_equal(tr_inbox_recv(e->probe, NULL, 0), TR_EINVAL);
    tr_inbox_destroy(NULL);

    /* call_sync */
    tr_msg *reply = (tr_msg *)1;
    assert_int_equal(tr_call_sync(NULL, live, t, NULL, 0, 10, &reply), TR_EINVAL);
    assert_null(reply);
    assert_int_equal(tr_call_sync(e->sys, live, t, NULL, 0, 10, NULL), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, TR_PID_NIL, t, NULL, 0, 10, &reply), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, live, (tr_atom){0}, NULL, 0, 10, &reply), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, live, t, NULL, 4, 10, &reply), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, live, t, NULL, 0, -2, &reply), TR_EINVAL);
    assert_int_equal(tr_call_sync(e->sys, live, t, "x", TR_MSG_MAX + 1u, 10, &reply), TR_ETOOBIG);
    assert_int_equal(tr_call_sync(e->sys, far, t, NULL, 0, 10, &reply), TR_ENOROUTE);
    assert_null(reply);

    /* registry */
    char long_name[TR_NAME_MAX + 2];
    memset(long_name, 'n', TR_NAME_MAX + 1);
    long_name[TR_NAME_MAX + 1] = '\0';
    assert_int_equal(tr_register(NULL, "api.n", live), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, NULL, live), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "", live), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, long_name, live), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "a@b", live), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "api.n", TR_PID_NIL), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "api.n", far), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "api.n", t_probe), TR_ENOENT); /* an inbox */
    assert_int_equal(tr_register(e->sys, "api.n", (tr_pid){live.node, live.slot, live.serial + 1000}),
                     TR_ENOENT);
    long_name[TR_NAME_MAX] = '\0'; /* the longest name */
    assert_int_equal(tr_register(e->sys, long_name, live), TR_OK);
    assert_int_equal(tr_unregister(e->sys, long_name), TR_OK);
    assert_int_equal(tr_unregister(NULL, "api.n"), TR_EINVAL);
    assert_int_equal(tr_unregister(e->sys, NULL), TR_EINVAL);
    assert_int_equal(tr_unregister(e->sys, "api.n"), TR_ENOENT);
    pid = (tr_pid){1, 1, 1};
    assert_int_equal(tr_whereis(NULL, "api.n", &pid), TR_EINVAL);
    assert_true(tr_pid_is_nil(pid));
    assert_int_equal(tr_whereis(e->sys, NULL, &pid), TR_EINVAL);
    assert_int_equal(tr_whereis(e->sys, "api.n", NULL), TR_EINVAL);
    assert_int_equal(tr_whereis(e->sys, "api.n", &pid), TR_ENOENT);
    assert_int_equal(tr_system_send_named(NULL, "api.n", t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_system_send_named(e->sys, NULL, t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_system_send_named(e->sys, "api.n", t, NULL, 0), TR_ENOENT);
    assert_int_equal(tr_system_send_named(e->sys, "@node", t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_system_send_named(e->sys, "name@", t, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_register(e->sys, "api.n", live), TR_OK);
    assert_int_equal(tr_system_send_named(e->sys, "api.n", (tr_atom){0}, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_system_send_named(e->sys, "api.n", t, NULL, 2), TR_EINVAL);
    assert_int_equal(tr_system_send_named(e->sys, "api.n", t, "x", TR_MSG_MAX + 1u), TR_ETOOBIG);

    /* inspection */
    tr_actor_info info;
    assert_int_equal(tr_system_inspect(NULL, live, &info, 10), TR_EINVAL);
    assert_int_equal(tr_system_inspect(e->sys, live, NULL, 10), TR_EINVAL);
    assert_int_equal(tr_system_inspect(e->sys, TR_PID_NIL, &info, 10), TR_EINVAL);
    assert_int_equal(tr_info(NULL, NULL), TR_EINVAL);

    /* supervisors from outside */
    char why[128];
    tr_pid sup = {1, 1, 1};
    assert_int_equal(tr_supervisor_start(NULL, &one_idle, "s", 10, &sup, why, sizeof why),
                     TR_EINVAL);
    assert_true(tr_pid_is_nil(sup));
    assert_int_equal(tr_supervisor_start(e->sys, &one_idle, "s", 10, NULL, why, sizeof why),
                     TR_EINVAL);
    assert_int_equal(tr_supervisor_start(e->sys, NULL, "s", 10, &sup, why, sizeof why), TR_EINVAL);
    assert_true(why[0] != '\0'); /* says why */
    assert_int_equal(tr_supervisor_start(e->sys, &bad_spec, "s", 10, &sup, NULL, 0), TR_EINVAL);
    assert_int_equal(tr_supervisor_start(e->sys, &one_idle, "a/b", 10, &sup, NULL, 0), TR_EINVAL);
    tr_child_counts cc;
    tr_child_info ci;
    size_t n;
    assert_int_equal(tr_sup_start_child_sync(NULL, live, &idle_child, 10, &pid), TR_EINVAL);
    assert_int_equal(tr_sup_start_child_sync(e->sys, live, NULL, 10, &pid), TR_EINVAL);
    assert_int_equal(tr_sup_start_child_sync(e->sys, live, &bad_child, 10, &pid), TR_EINVAL);
    assert_int_equal(tr_sup_start_child_sync(e->sys, TR_PID_NIL, &idle_child, 10, &pid), TR_EINVAL);
    assert_int_equal(tr_sup_terminate_child_sync(NULL, live, "w", TR_PID_NIL, 10), TR_EINVAL);
    assert_int_equal(tr_sup_terminate_child_sync(e->sys, TR_PID_NIL, "w", TR_PID_NIL, 10),
                     TR_EINVAL);
    assert_int_equal(tr_sup_restart_child_sync(NULL, live, "w", 10, &pid), TR_EINVAL);
    assert_int_equal(tr_sup_delete_child_sync(NULL, live, "w", 10), TR_EINVAL);
    assert_int_equal(tr_sup_which_children_sync(NULL, live, &ci, 1, &n, 10), TR_EINVAL);
    assert_int_equal(tr_sup_which_children_sync(e->sys, live, &ci, 1, NULL, 10), TR_EINVAL);
    assert_int_equal(tr_sup_which_children_sync(e->sys, live, NULL, 1, &n, 10), TR_EINVAL);
    assert_int_equal(tr_sup_count_children_sync(NULL, live, &cc, 10), TR_EINVAL);
    assert_int_equal(tr_sup_count_children_sync(e->sys, live, NULL, 10), TR_EINVAL);
    /* a pid that is not there: TR_ENOENT (the supervisor is gone) */
    tr_pid gone = {live.node, live.slot, live.serial + 1000};
    assert_int_equal(tr_sup_count_children_sync(e->sys, gone, &cc, T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_sup_which_children_sync(e->sys, gone, &ci, 1, &n, T_WAIT_MS), TR_ENOENT);
    assert_int_equal(tr_sup_delete_child_sync(e->sys, gone, "w", T_WAIT_MS), TR_ENOENT);

    /* none of this spawned or sent anything but the two dead letters to
     * `gone`'s three requests (answered "down") */
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_spawned, 1);
    assert_int_equal(st.dead_letters, 3);
    t_expect_none(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_functions),
        cmocka_unit_test_setup_teardown(test_null_system_and_arguments, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_own_ctx_invalid_arguments, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_reply_needs_a_request, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_ctx_promises, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_stale_ctx_refused, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_ctx, setup_clock_quiet, t_teardown),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
