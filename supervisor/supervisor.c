/* supervisor.c — the supervisor actor.
 *
 * Everything a supervisor does that takes more than one message (starting
 * its children in order, a one_for_all or rest_for_one restart, a dynamic
 * request that waits for a child) is a small state machine driven by the
 * "tr.started" and "tr.exit" messages of its children. While such a step
 * is under way, events that belong to no step (another child ending on its
 * own, a new request) wait in a FIFO and are handled after it, in arrival
 * order: OTP gets the same effect by blocking inside the step.
 *
 * Children are spawned with `before` set so that the runtime's child order
 * is always the spec order; stopping the supervisor then stops them in
 * reverse spec order through the runtime's own structured stop, one at a
 * time with each one's shutdown time (all at once for simple_one_for_one).
 *
 * Restart intensity keeps the times of the restarts inside the period in a
 * ring, dropping those that fell out of it: O(1) amortised per restart,
 * whatever the number of restarts so far (OTP 25 walks a list). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actors/hooks.h"
#include "sup_impl.h"

enum child_status { C_STOPPED, C_STARTING, C_RUNNING, C_STOPPING, C_WAITING };
enum reply_kind { R_NONE, R_START, R_RESTART, R_TERMINATE };
enum phase { PH_STARTING, PH_RUNNING, PH_ENDING };

typedef struct deferred {
    struct deferred *next;
    tr_msg *msg;     /* a copy */
    tr_request req;  /* when it is a request */
} deferred;

typedef struct sup {
    tri_sup_conf conf;   /* children in spec order (dynamic: in start order) */
    tri_child *tmpl;     /* simple_one_for_one: the template */
    uint64_t dyn_seq;    /* names of dynamic children */
    int phase;
    size_t start_i;      /* PH_STARTING: the child being started */
    /* restart times inside the period: a ring */
    int64_t *hist;
    size_t hist_cap, hist_head, hist_len;
    /* a restart plan: stop these (in order), then start those */
    bool plan;
    tri_child **plan_stop, **plan_start;
    size_t plan_nstop, plan_nstart, plan_i, plan_j;
    int64_t plan_delay_ms;
    deferred *dq_head, *dq_tail;
    uint32_t rng;
    /* running children by pid serial: open addressing, linear probing,
     * so that a pool of many dynamic children costs O(1) per event */
    struct pid_entry *pids;
    size_t pids_cap, pids_used;
} sup;

static tri_sup_atoms atoms;
static pthread_once_t atoms_once = PTHREAD_ONCE_INIT;

static void intern_atoms(void)
{
    atoms.start = tr_atom_from("tr.sup.start");
    atoms.start_dyn = tr_atom_from("tr.sup.start_dyn");
    atoms.terminate = tr_atom_from("tr.sup.terminate");
    atoms.restart = tr_atom_from("tr.sup.restart");
    atoms.del = tr_atom_from("tr.sup.delete");
    atoms.which = tr_atom_from("tr.sup.which");
    atoms.count = tr_atom_from("tr.sup.count");
    atoms.getspec = tr_atom_from("tr.sup.getspec");
    atoms.childspec = tr_atom_from("tr.sup.childspec");
    atoms.answer = tr_atom_from("tr.sup");
    atoms.children = tr_atom_from("tr.sup.children");
    atoms.counts = tr_atom_from("tr.sup.counts");
    atoms.backoff = tr_atom_from("tr.sup.backoff");
    atoms.plan = tr_atom_from("tr.sup.plan");
    atoms.ended = tr_atom_from("tr.sup.ended");
}

const tri_sup_atoms *tri_sup_atoms_get(void)
{
    pthread_once(&atoms_once, intern_atoms);
    return &atoms;
}

/* ---------------------------------------------------------- children */

struct pid_entry {
    uint64_t serial; /* 0: empty; UINT64_MAX: deleted */
    tri_child *c;
};

static size_t pid_slot(uint64_t serial, size_t cap)
{
    return (size_t)((serial * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static bool pids_grow(sup *s)
{
    size_t cap = s->pids_cap ? s->pids_cap * 2 : 16;
    struct pid_entry *t = calloc(cap, sizeof *t);
    if (!t) return false;
    size_t used = 0;
    for (size_t i = 0; i < s->pids_cap; i++) {
        struct pid_entry e = s->pids[i];
        if (e.serial == 0 || e.serial == UINT64_MAX) continue;
        size_t j = pid_slot(e.serial, cap);
        while (t[j].serial) j = (j + 1) & (cap - 1);
        t[j] = e;
        used++;
    }
    free(s->pids);
    s->pids = t;
    s->pids_cap = cap;
    s->pids_used = used;
    return true;
}

static struct pid_entry *pids_find(sup *s, uint64_t serial)
{
    if (!s->pids_cap) return NULL;
    for (size_t j = pid_slot(serial, s->pids_cap);; j = (j + 1) & (s->pids_cap - 1)) {
        if (s->pids[j].serial == serial) return &s->pids[j];
        if (s->pids[j].serial == 0) return NULL;
    }
}

/* Every change of a child's pid goes through here, keeping the index. */
static void set_pid(sup *s, tri_child *c, tr_pid pid)
{
    if (!tr_pid_is_nil(c->pid)) {
        struct pid_entry *e = pids_find(s, c->pid.serial);
        if (e) e->serial = UINT64_MAX, e->c = NULL;
    }
    c->pid = pid;
    if (tr_pid_is_nil(pid)) return;
    if ((s->pids_used + 1) * 2 > s->pids_cap && !pids_grow(s)) return; /* lookups then scan */
    size_t j = pid_slot(pid.serial, s->pids_cap);
    while (s->pids[j].serial && s->pids[j].serial != UINT64_MAX) j = (j + 1) & (s->pids_cap - 1);
    if (s->pids[j].serial == 0) s->pids_used++;
    s->pids[j] = (struct pid_entry){pid.serial, c};
}

static tri_child *by_pid(sup *s, tr_pid pid, size_t *at)
{
    struct pid_entry *e = pids_find(s, pid.serial);
    tri_child *c = e ? e->c : NULL;
    if (!c || !tr_pid_eq(c->pid, pid)) { /* not indexed (out of memory): scan */
        c = NULL;
        for (size_t i = 0; i < s->conf.n && !c; i++)
            if (!tr_pid_is_nil(s->conf.children[i]->pid) && tr_pid_eq(s->conf.children[i]->pid, pid))
                c = s->conf.children[i];
    }
    if (c && at) *at = c->pos;
    return c;
}

static tri_child *by_id(sup *s, const char *id, size_t *at)
{
    for (size_t i = 0; i < s->conf.n; i++)
        if (strcmp(s->conf.children[i]->id, id) == 0) {
            if (at) *at = i;
            return s->conf.children[i];
        }
    return NULL;
}

static size_t index_of(sup *s, tri_child *c)
{
    return c->pos < s->conf.n && s->conf.children[c->pos] == c ? c->pos : s->conf.n;
}

static bool add_child(sup *s, tri_child *c)
{
    if (s->conf.n == s->conf.cap) {
        size_t cap = s->conf.cap ? s->conf.cap * 2 : 8;
        tri_child **a = realloc(s->conf.children, cap * sizeof *a);
        if (!a) return false;
        s->conf.children = a;
        s->conf.cap = cap;
    }
    c->pos = s->conf.n;
    s->conf.children[s->conf.n++] = c;
    return true;
}

static void forget_in_plan(sup *s, tri_child *c);

/* Removes a child's spec; a plan under way forgets it first, so that no
 * step can reach the freed child. */
static void delete_child(sup *s, tri_child *c)
{
    forget_in_plan(s, c);
    size_t i = index_of(s, c);
    if (i == s->conf.n) return;
    set_pid(s, c, TR_PID_NIL);
    tri_child **a = s->conf.children;
    if (s->conf.strategy == TR_SIMPLE_ONE_FOR_ONE) { /* no order to keep: O(1) */
        a[i] = a[--s->conf.n];
        a[i]->pos = i;
    } else { /* spec order matters */
        memmove(&a[i], &a[i + 1], (s->conf.n - i - 1) * sizeof *a);
        s->conf.n--;
        for (size_t k = i; k < s->conf.n; k++) a[k]->pos = k;
    }
    tri_child_free(c);
}

static bool dynamic(sup *s) { return s->conf.strategy == TR_SIMPLE_ONE_FOR_ONE; }

static void answer(tr_ctx *ctx, tr_request req, int rc, tr_pid pid)
{
    if (tr_pid_is_nil(req.caller)) return;
    struct tri_sup_answer a = {rc, 0, pid};
    tr_reply_to(ctx, req, atoms.answer, &a, sizeof a);
}

static void answer_child(tr_ctx *ctx, tri_child *c, int rc)
{
    tr_request req = c->reply;
    c->reply = (tr_request){TR_PID_NIL, {0}};
    answer(ctx, req, rc, c->pid);
}

/* Makes `req` wait for `c`'s next event; a child has room for one. */
static bool wait_on(tri_child *c, tr_request req, int kind)
{
    if (!tr_pid_is_nil(c->reply.caller)) return false;
    c->reply = req;
    c->reply_kind = kind;
    return true;
}

/* Spawns `c` so that it sits in spec order among the running children. */
static int spawn_child(tr_ctx *ctx, sup *s, tri_child *c)
{
    tr_pid before = TR_PID_NIL, pid;
    if (!dynamic(s)) /* dynamic children stop together: their order is moot */
        for (size_t i = index_of(s, c) + 1; i < s->conf.n; i++)
            if (!tr_pid_is_nil(s->conf.children[i]->pid)) {
                before = s->conf.children[i]->pid;
                break;
            }
    tr_spawn_opts o = {.name = c->id,
                       .args = c->args,
                       .args_size = c->args_size,
                       .flags = c->type == TR_SUPERVISOR ? TR_SPAWN_TRAP_EXITS : 0,
                       .shutdown_ms = c->shutdown_ms,
                       .started_to = tr_self(ctx),
                       .before = before,
                       .capacity = c->capacity,
                       .on_full = (tr_full_policy)c->on_full,
                       .register_as = c->register_as,
                       .node = c->node};
    int rc = tr_spawn(ctx, c->beh, &o, &pid);
    c->status = rc == TR_OK ? C_STARTING : C_STOPPED;
    set_pid(s, c, rc == TR_OK ? pid : TR_PID_NIL);
    return rc;
}

static void stop_child(tr_ctx *ctx, tri_child *c)
{
    c->status = C_STOPPING;
    tr_stop_child(ctx, c->pid);
}

/* ---------------------------------------------------------- intensity */

/* Records a restart now; false when that makes more than `intensity`
 * within the period. */
static bool note_restart(tr_ctx *ctx, sup *s)
{
    int64_t now = tr_now_ms(ctx);
    while (s->hist_len && now - s->hist[s->hist_head] >= s->conf.period_ms) {
        s->hist_head = (s->hist_head + 1) % s->hist_cap;
        s->hist_len--;
    }
    if (s->hist_len + 1 > s->conf.intensity) return false;
    if (s->hist_len == s->hist_cap) { /* grow, unrolling the ring */
        size_t cap = s->hist_cap ? s->hist_cap * 2 : 8;
        int64_t *h = malloc(cap * sizeof *h);
        if (!h) return true; /* cannot count: err on the side of running */
        for (size_t i = 0; i < s->hist_len; i++) h[i] = s->hist[(s->hist_head + i) % s->hist_cap];
        free(s->hist);
        s->hist = h;
        s->hist_cap = cap;
        s->hist_head = 0;
    }
    s->hist[(s->hist_head + s->hist_len) % s->hist_cap] = now;
    s->hist_len++;
    return true;
}

/* Ends the supervisor with reason shutdown, as OTP's does, and `why` as
 * the exit's text: its parent, its watchers and the failure report say
 * why it gave up. */
static void give_up(tr_ctx *ctx, sup *s, const char *why)
{
    char path[256];
    tr_path(ctx, path, sizeof path);
    tr_log(TR_LOG_ERROR, "supervisor %s: %s; stopping all children and shutting down", path, why);
    s->phase = PH_ENDING;
    tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, why);
}

/* ------------------------------------------------------------ backoff */

static int64_t backoff_delay(tr_ctx *ctx, sup *s, tri_child *c)
{
    if (c->backoff.min_ms == 0) return 0;
    int64_t now = tr_now_ms(ctx);
    if (c->last_restart_ms && c->backoff.reset_ms && now - c->last_restart_ms >= c->backoff.reset_ms)
        c->delay_ms = c->backoff.min_ms;
    int64_t d = c->delay_ms;
    if (c->backoff.jitter > 0) {
        s->rng ^= s->rng << 13, s->rng ^= s->rng >> 17, s->rng ^= s->rng << 5;
        d += (int64_t)((double)d * c->backoff.jitter * (double)(s->rng % 1000) / 1000.0);
    }
    c->delay_ms = c->delay_ms * 2 > c->backoff.max_ms ? c->backoff.max_ms : c->delay_ms * 2;
    c->last_restart_ms = now;
    return d;
}

/* --------------------------------------------------------------- steps */

static void run_deferred(tr_ctx *ctx, sup *s);
static void child_ended(tr_ctx *ctx, sup *s, tri_child *c, tr_exit_kind kind, const char *text);

static bool busy(sup *s) { return s->phase != PH_RUNNING || s->plan; }

/* Starts children from start_i on, during the supervisor's own start. */
static void startup_step(tr_ctx *ctx, sup *s)
{
    while (s->start_i < s->conf.n) {
        tri_child *c = s->conf.children[s->start_i];
        int rc = spawn_child(ctx, s, c);
        if (rc == TR_OK) return; /* wait for its "tr.started" */
        tr_fail(ctx, "failed to start child %s: %s", c->id, tr_strerror(rc));
        s->phase = PH_ENDING;
        return;
    }
    s->phase = PH_RUNNING;
    tr_notify_started(ctx);
    run_deferred(ctx, s);
}

static void plan_clear(sup *s)
{
    s->plan = false;
    free(s->plan_stop);
    free(s->plan_start);
    s->plan_stop = s->plan_start = NULL;
    s->plan_nstop = s->plan_nstart = s->plan_i = s->plan_j = 0;
}

static void plan_done(tr_ctx *ctx, sup *s)
{
    plan_clear(s);
    run_deferred(ctx, s);
}

static void plan_spawn_failed(tr_ctx *ctx, sup *s, tri_child *c, int rc);

/* Drives a restart plan from the children's states, so that it never
 * waits for an exit that already happened and never starts a child whose
 * previous incarnation is still stopping: stops plan_stop[] one at a time
 * (reverse order), then starts plan_start[] one at a time (spec order),
 * each step waiting for its child's message. */
static void plan_step(tr_ctx *ctx, sup *s)
{
    while (s->plan_i < s->plan_nstop) {
        tri_child *c = s->plan_stop[s->plan_i];
        if (c->status == C_STOPPING) return; /* its exit calls us again */
        if (c->status == C_RUNNING || c->status == C_STARTING) {
            stop_child(ctx, c);
            return;
        }
        s->plan_i++; /* stopped, or gone on its own meanwhile */
    }
    if (s->plan_delay_ms > 0) {
        int64_t d = s->plan_delay_ms;
        s->plan_delay_ms = 0;
        tr_send_after(ctx, tr_self(ctx), d, atoms.plan, NULL, 0, NULL);
        return;
    }
    while (s->plan_j < s->plan_nstart) {
        tri_child *c = s->plan_start[s->plan_j];
        if (c->status == C_STOPPING || c->status == C_STARTING) return;
        if (c->status == C_RUNNING || c->planned) { /* started, or ignored */
            s->plan_j++;
            continue;
        }
        c->planned = true;
        int rc = spawn_child(ctx, s, c);
        if (rc == TR_OK) return;
        plan_spawn_failed(ctx, s, c, rc);
        return;
    }
    plan_done(ctx, s);
}

/* Whether the plan under way will stop or start `c` itself. */
static bool in_plan(sup *s, tri_child *c)
{
    if (!s->plan) return false;
    for (size_t i = s->plan_i; i < s->plan_nstop; i++)
        if (s->plan_stop[i] == c) return true;
    for (size_t j = s->plan_j; j < s->plan_nstart; j++)
        if (s->plan_start[j] == c) return true;
    return false;
}

/* A restart under one_for_all / rest_for_one: `from` is the first child
 * of the set (0 for one_for_all), `failed` the child that ended; `step`:
 * take its first step now. */
static void start_plan(tr_ctx *ctx, sup *s, size_t from, tri_child *failed, bool step)
{
    size_t n = s->conf.n - from;
    s->plan_stop = malloc((n ? n : 1) * sizeof *s->plan_stop);
    s->plan_start = malloc((n ? n : 1) * sizeof *s->plan_start);
    if (!s->plan_stop || !s->plan_start) {
        free(s->plan_stop);
        free(s->plan_start);
        s->plan_stop = s->plan_start = NULL;
        give_up(ctx, s, "out of memory planning a restart");
        return;
    }
    s->plan = true;
    s->plan_nstop = s->plan_nstart = s->plan_i = s->plan_j = 0;
    for (size_t i = 0; i < s->conf.n; i++) s->conf.children[i]->planned = false;
    for (size_t i = s->conf.n; i-- > from;) { /* stop: reverse order */
        tri_child *c = s->conf.children[i];
        if (c != failed && (c->status == C_RUNNING || c->status == C_STARTING))
            s->plan_stop[s->plan_nstop++] = c;
    }
    for (size_t i = from; i < s->conf.n; i++) { /* start: spec order */
        tri_child *c = s->conf.children[i];
        if (c->restart != TR_TEMPORARY) s->plan_start[s->plan_nstart++] = c;
    }
    s->plan_delay_ms = backoff_delay(ctx, s, failed);
    if (step) plan_step(ctx, s);
}

/* Restarts one child (one_for_one, simple_one_for_one), after its backoff. */
static void restart_one(tr_ctx *ctx, sup *s, tri_child *c)
{
    int64_t d = backoff_delay(ctx, s, c);
    if (d > 0) {
        c->status = C_WAITING;
        size_t n = strlen(c->id);
        tr_send_after(ctx, tr_self(ctx), d, atoms.backoff, c->id, n + 1, NULL);
        return;
    }
    int rc = spawn_child(ctx, s, c);
    if (rc != TR_OK) child_ended(ctx, s, c, TR_EXIT_FAILURE, tr_strerror(rc));
}

/* ------------------------------------------------------------- events */

static void log_restart(tr_ctx *ctx, tri_child *c, tr_exit_kind kind, const char *text)
{
    if (tr_log_get_level() > TR_LOG_WARN) return; /* skip formatting the path */
    char path[256];
    tr_path(ctx, path, sizeof path);
    tr_log(TR_LOG_WARN, "supervisor %s: restarting child %s (it ended: %s%s%s; restart %llu)", path,
           c->id, tr_exit_kind_name(kind), text ? ": " : "", text ? text : "",
           (unsigned long long)c->restarts);
}

static bool significant_left(sup *s)
{
    for (size_t i = 0; i < s->conf.n; i++) {
        tri_child *c = s->conf.children[i];
        if (c->significant && c->status != C_STOPPED) return true;
    }
    return false;
}

/* More than `intensity` restarts in `period`: the supervisor gives up,
 * saying so and naming the last child's end. */
static void intensity_reached(tr_ctx *ctx, sup *s, tri_child *c, tr_exit_kind kind,
                              const char *text)
{
    char why[512];
    snprintf(why, sizeof why,
             "reached max restart intensity (more than %u restarts in %lld ms); the last: child "
             "%s %s%s%s",
             s->conf.intensity, (long long)s->conf.period_ms, c->id,
             kind == TR_EXIT_FAILURE ? "failed" : tr_exit_kind_name(kind), text ? ": " : "",
             text ? text : "");
    give_up(ctx, s, why);
}

/* A plan's child could not even be spawned (its registered name is taken,
 * or memory ran out). As a start that failed (on_started), it counts as a
 * restart and is tried again, one_for_all from the first child; the next
 * step waits for a message to ourselves, so that a lasting cause costs a
 * restart each time round and ends at the intensity limit rather than
 * leaving the child stopped for good (or spinning here). */
static void plan_spawn_failed(tr_ctx *ctx, sup *s, tri_child *c, int rc)
{
    const char *why = tr_strerror(rc);
    if (!note_restart(ctx, s)) {
        intensity_reached(ctx, s, c, TR_EXIT_FAILURE, why);
        return;
    }
    c->restarts++;
    tri_count_restart(ctx);
    log_restart(ctx, c, TR_EXIT_FAILURE, why);
    if (s->conf.strategy == TR_ONE_FOR_ALL) {
        plan_clear(s);
        start_plan(ctx, s, 0, c, false); /* stepped by the message below */
    } else {
        c->planned = false;
    }
    if (s->plan && tr_send(ctx, tr_self(ctx), atoms.plan, NULL, 0) != TR_OK)
        give_up(ctx, s, "cannot retry a restart");
}

/* A child ended by itself (or failed a restart): OTP's restart rules. */
static void child_ended(tr_ctx *ctx, sup *s, tri_child *c, tr_exit_kind kind, const char *text)
{
    set_pid(s, c, TR_PID_NIL);
    c->status = C_STOPPED;
    bool restart = c->restart == TR_PERMANENT ||
                   (c->restart == TR_TRANSIENT && kind != TR_EXIT_NORMAL && kind != TR_EXIT_SHUTDOWN);
    if (!restart) {
        bool sig = c->significant;
        if (c->restart == TR_TEMPORARY || dynamic(s)) delete_child(s, c);
        if (sig && ((s->conf.auto_shutdown == TR_AUTO_SHUTDOWN_ANY) ||
                    (s->conf.auto_shutdown == TR_AUTO_SHUTDOWN_ALL && !significant_left(s))))
            give_up(ctx, s, "a significant child ended (auto_shutdown)");
        return;
    }
    if (!note_restart(ctx, s)) {
        intensity_reached(ctx, s, c, kind, text);
        return;
    }
    c->restarts++;
    tri_count_restart(ctx);
    log_restart(ctx, c, kind, text);
    switch (s->conf.strategy) {
    case TR_ONE_FOR_ALL:
        start_plan(ctx, s, 0, c, true);
        break;
    case TR_REST_FOR_ONE:
        start_plan(ctx, s, index_of(s, c), c, true);
        break;
    default:
        restart_one(ctx, s, c);
        break;
    }
}

static void on_started(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    tr_pid who;
    tr_start_status st;
    tr_exit why;
    if (tr_started_decode(m, &who, &st, &why) != TR_OK) return;
    tri_child *c = by_pid(s, who, NULL);
    if (!c || c->status != C_STARTING) return; /* stale: stopped meanwhile */
    if (st == TR_START_OK) {
        c->status = C_RUNNING;
        if (!tr_pid_is_nil(c->reply.caller)) answer_child(ctx, c, TR_OK);
    } else {
        set_pid(s, c, TR_PID_NIL);
        c->status = C_STOPPED;
        if (s->phase == PH_STARTING) {
            s->phase = PH_ENDING;
            if (st == TR_START_FAILED) {
                tr_fail(ctx, "failed to start child %s: %s%s%s", c->id, tr_exit_kind_name(why.kind),
                        why.text ? ": " : "", why.text ? why.text : "");
                return;
            }
            s->phase = PH_STARTING; /* ignored: keep the spec, go on */
            if (c->restart == TR_TEMPORARY) {
                delete_child(s, c);
                s->start_i--;
            }
        } else if (!tr_pid_is_nil(c->reply.caller)) { /* start_child / restart_child */
            tr_request req = c->reply;
            c->reply = (tr_request){TR_PID_NIL, {0}};
            if (st == TR_START_IGNORED) {
                answer(ctx, req, TR_OK, TR_PID_NIL);
                if (c->restart == TR_TEMPORARY || dynamic(s)) delete_child(s, c);
            } else {
                answer(ctx, req, TR_EFAILED, TR_PID_NIL);
                /* OTP discards a spec whose start_child failed (a failed
                 * restart_child keeps it) */
                if (c->reply_kind == R_START) delete_child(s, c);
            }
        } else if (st == TR_START_FAILED && s->plan) {
            /* A plan's start that failed counts as a restart, and is tried
             * again as OTP does: one_for_all stops the children this plan
             * already restarted (reverse order) and starts over from the
             * first; rest_for_one goes on from the child that failed (those
             * after it were not started yet). */
            if (!note_restart(ctx, s)) {
                intensity_reached(ctx, s, c, why.kind, why.text);
                return;
            }
            c->restarts++;
            tri_count_restart(ctx);
            log_restart(ctx, c, why.kind, why.text);
            if (s->conf.strategy == TR_ONE_FOR_ALL) {
                plan_clear(s);
                start_plan(ctx, s, 0, c, true);
                return;
            }
            c->planned = false;
        } else if (st == TR_START_FAILED) {
            /* an automatic restart that failed: it counts, and is retried */
            child_ended(ctx, s, c, why.kind, why.text);
            return;
        } else if (c->restart == TR_TEMPORARY || dynamic(s)) {
            delete_child(s, c);
        }
    }
    if (s->phase == PH_STARTING) {
        s->start_i++;
        startup_step(ctx, s);
    } else if (s->plan) {
        plan_step(ctx, s);
    }
}

static void forget_in_plan(sup *s, tri_child *c)
{
    if (!s->plan) return;
    for (size_t i = 0; i < s->plan_nstop; i++)
        if (s->plan_stop[i] == c) {
            memmove(&s->plan_stop[i], &s->plan_stop[i + 1],
                    (s->plan_nstop - i - 1) * sizeof *s->plan_stop);
            s->plan_nstop--;
            if (s->plan_i > i) s->plan_i--;
            break;
        }
    for (size_t j = 0; j < s->plan_nstart; j++)
        if (s->plan_start[j] == c) {
            memmove(&s->plan_start[j], &s->plan_start[j + 1],
                    (s->plan_nstart - j - 1) * sizeof *s->plan_start);
            s->plan_nstart--;
            if (s->plan_j > j) s->plan_j--;
            break;
        }
}

static void defer_ended(sup *s, tri_child *c, tr_exit_kind kind, const char *text);

static void on_child_exit(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) != TR_OK) return;
    tri_child *c = by_pid(s, who, NULL);
    if (!c) return; /* already dealt with (a failed start) */
    if (c->status == C_STOPPING) { /* we asked for this */
        set_pid(s, c, TR_PID_NIL);
        c->status = C_STOPPED;
        /* a terminate_child is done; a start/restart_child overtaken by a
         * restart plan did not get its child */
        if (!tr_pid_is_nil(c->reply.caller))
            answer_child(ctx, c, c->reply_kind == R_TERMINATE ? TR_OK : TR_ESTOPPED);
        if (c->restart == TR_TEMPORARY || dynamic(s)) {
            forget_in_plan(s, c); /* never restarted */
            delete_child(s, c);
        }
        if (s->plan) plan_step(ctx, s);
        return;
    }
    /* It ended on its own. Whatever is under way, it is gone now: a plan
     * must not wait for it. What to do about it waits for the step. */
    set_pid(s, c, TR_PID_NIL);
    c->status = C_STOPPED;
    if (in_plan(s, c)) { /* the plan restarts it (or not, if temporary) */
        if (c->restart == TR_TEMPORARY) {
            forget_in_plan(s, c);
            delete_child(s, c);
        }
        plan_step(ctx, s);
        return;
    }
    if (busy(s)) {
        defer_ended(s, c, why.kind, why.text);
        return;
    }
    child_ended(ctx, s, c, why.kind, why.text);
}

/* ----------------------------------------------------------- requests */

static void req_start(tr_ctx *ctx, sup *s, const tr_msg *m, tr_request req, bool dyn_args)
{
    tri_child *c = NULL;
    if (dynamic(s)) {
        /* the template, with the request's args appended */
        const void *extra = tr_msg_data(m);
        size_t extra_n = tr_msg_size(m);
        tri_child *spec = NULL;
        if (!dyn_args) {
            tri_rd r = {tr_msg_data(m), tr_msg_size(m), 0, false};
            spec = tri_decode_child(&r);
            if (!spec) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
            extra = spec->args;
            extra_n = spec->args_size;
        }
        c = calloc(1, sizeof *c);
        char id[300];
        snprintf(id, sizeof id, "%s-%llu", s->tmpl->id, (unsigned long long)++s->dyn_seq);
        if (c) {
            *c = *s->tmpl;
            c->register_as = NULL; /* refused on a template: one name, many children */
            c->id = strdup(id);
            c->args_size = s->tmpl->args_size + extra_n;
            c->args = malloc(c->args_size + 1);
            c->reply = (tr_request){TR_PID_NIL, {0}};
        }
        if (!c || !c->id || !c->args) {
            if (c) free(c->id), free(c->args), free(c);
            tri_child_free(spec);
            return answer(ctx, req, TR_ENOMEM, TR_PID_NIL);
        }
        memcpy(c->args, s->tmpl->args, s->tmpl->args_size);
        if (extra_n) memcpy((char *)c->args + s->tmpl->args_size, extra, extra_n);
        tri_child_free(spec);
    } else {
        if (dyn_args) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
        tri_rd r = {tr_msg_data(m), tr_msg_size(m), 0, false};
        c = tri_decode_child(&r);
        if (!c) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
        if (c->significant && s->conf.auto_shutdown == TR_AUTO_SHUTDOWN_NEVER) {
            tri_child_free(c); /* OTP rejects it: nothing would act on it */
            return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
        }
        tri_child *old = by_id(s, c->id, NULL);
        if (old) {
            /* running means having a pid: a child waiting out its
             * backoff is not (OTP: already_present while restarting) */
            int rc = tr_pid_is_nil(old->pid) ? TR_EPRESENT : TR_EEXIST;
            tr_pid pid = old->pid;
            tri_child_free(c);
            return answer(ctx, req, rc, pid);
        }
    }
    if (!add_child(s, c)) {
        tri_child_free(c);
        return answer(ctx, req, TR_ENOMEM, TR_PID_NIL);
    }
    int rc = spawn_child(ctx, s, c);
    if (rc != TR_OK) {
        delete_child(s, c);
        return answer(ctx, req, rc, TR_PID_NIL);
    }
    wait_on(c, req, R_START); /* answered on its "tr.started" */
}

static const char *id_of(const tr_msg *m, size_t skip)
{
    const char *p = (const char *)tr_msg_data(m) + skip;
    size_t n = tr_msg_size(m) - skip;
    return n && p[n - 1] == '\0' ? p : NULL;
}

static void req_terminate(tr_ctx *ctx, sup *s, const tr_msg *m, tr_request req)
{
    struct tri_sup_target t;
    if (tr_msg_size(m) < sizeof t) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
    memcpy(&t, tr_msg_data(m), sizeof t);
    const char *id = id_of(m, sizeof t);
    bool by_id_given = id && *id;
    tri_child *c;
    if (dynamic(s)) {
        /* OTP: a simple_one_for_one supervisor's children have no ids
         * ({error, simple_one_for_one}); a pid that is no child is
         * not_found while it lives, and ok once it has ended (it is gone
         * either way). */
        if (by_id_given) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
        c = tr_pid_is_nil(t.pid) ? NULL : by_pid(s, t.pid, NULL);
        if (!c) {
            bool gone = !tr_pid_is_nil(t.pid) && t.pid.node == tr_self(ctx).node &&
                        !tri_pid_alive(tr_ctx_system(ctx), t.pid);
            return answer(ctx, req, gone ? TR_OK : TR_ENOENT, TR_PID_NIL);
        }
    } else {
        /* OTP: other strategies name children by id only; a pid is
         * not_found, and the child keeps running */
        c = by_id_given ? by_id(s, id, NULL) : NULL;
    }
    if (!c) return answer(ctx, req, TR_ENOENT, TR_PID_NIL);
    if (c->status == C_WAITING) c->status = C_STOPPED; /* its backoff timer finds it stopped */
    if (c->status == C_STOPPED) {
        if (c->restart == TR_TEMPORARY) delete_child(s, c);
        return answer(ctx, req, TR_OK, TR_PID_NIL);
    }
    if (!wait_on(c, req, R_TERMINATE)) return answer(ctx, req, TR_EBUSY, c->pid);
    if (c->status != C_STOPPING) stop_child(ctx, c); /* answered on its exit */
}

static void req_restart(tr_ctx *ctx, sup *s, const tr_msg *m, tr_request req)
{
    const char *id = id_of(m, 0);
    if (dynamic(s)) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
    tri_child *c = id ? by_id(s, id, NULL) : NULL;
    if (!c) return answer(ctx, req, TR_ENOENT, TR_PID_NIL);
    if (c->status != C_STOPPED) return answer(ctx, req, TR_EBUSY, c->pid);
    if (!tr_pid_is_nil(c->reply.caller)) return answer(ctx, req, TR_EBUSY, TR_PID_NIL);
    int rc = spawn_child(ctx, s, c);
    if (rc != TR_OK) return answer(ctx, req, rc, TR_PID_NIL);
    wait_on(c, req, R_RESTART);
}

static void req_delete(tr_ctx *ctx, sup *s, const tr_msg *m, tr_request req)
{
    const char *id = id_of(m, 0);
    if (dynamic(s)) return answer(ctx, req, TR_EINVAL, TR_PID_NIL);
    tri_child *c = id ? by_id(s, id, NULL) : NULL;
    if (!c) return answer(ctx, req, TR_ENOENT, TR_PID_NIL);
    if (c->status != C_STOPPED) return answer(ctx, req, TR_EBUSY, c->pid);
    delete_child(s, c);
    answer(ctx, req, TR_OK, TR_PID_NIL);
}

static void req_which(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    size_t n = s->conf.n;
    tr_child_info *out = calloc(n ? n : 1, sizeof *out);
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        tri_child *c = s->conf.children[i];
        snprintf(out[i].id, sizeof out[i].id, "%s", c->id);
        out[i].pid = c->status == C_STOPPED || c->status == C_WAITING ? TR_PID_NIL : c->pid;
        out[i].type = c->type;
        out[i].restart = c->restart;
        out[i].restarts = c->restarts;
    }
    tr_reply(ctx, m, atoms.children, out, n * sizeof *out);
    free(out);
}

static void req_count(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    tr_child_counts k = {0, 0, 0, 0};
    for (size_t i = 0; i < s->conf.n; i++) {
        tri_child *c = s->conf.children[i];
        k.specs++;
        if (c->status == C_STARTING || c->status == C_RUNNING || c->status == C_STOPPING)
            k.active++; /* it has a live pid, as OTP counts */
        if (c->type == TR_SUPERVISOR) k.supervisors++;
        else k.workers++;
    }
    if (dynamic(s)) k.specs = 1; /* OTP: the template */
    tr_reply(ctx, m, atoms.counts, &k, sizeof k);
}

/* OTP's get_childspec: a child's spec by id (a simple_one_for_one
 * supervisor's template, whatever the id). Reads the spec only, so it is
 * answered at once, even while a restart is under way. */
static void req_getspec(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    tr_request req = tr_msg_request(m);
    const char *id = id_of(m, 0);
    tri_child *c = dynamic(s) ? s->tmpl : id ? by_id(s, id, NULL) : NULL;
    if (!c) return answer(ctx, req, TR_ENOENT, TR_PID_NIL);
    struct tri_sup_childspec h = {
        .beh = c->type == TR_SUPERVISOR ? NULL : c->beh,
        .shutdown_ms = c->shutdown_ms,
        .backoff = c->backoff,
        .capacity = c->capacity,
        .id_len = (uint32_t)strlen(c->id),
        /* a child supervisor's and a process child's args are internal
         * encodings of their specs: not returned */
        .args_len = c->type == TR_SUPERVISOR || c->beh == &tr_process_behaviour
                        ? 0
                        : (uint32_t)c->args_size,
        .reg_len = c->register_as ? (uint32_t)strlen(c->register_as) : 0,
        .node_len = c->node ? (uint32_t)strlen(c->node) : 0,
        .type = (uint8_t)c->type,
        .restart = (uint8_t)c->restart,
        .significant = c->significant,
        .on_full = c->on_full,
    };
    size_t n = sizeof h + h.id_len + h.args_len + h.reg_len + h.node_len + 4;
    char *buf = malloc(n), *p = buf;
    if (!buf) return answer(ctx, req, TR_ENOMEM, TR_PID_NIL);
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    const void *parts[4] = {c->id, c->args, c->register_as, c->node};
    uint32_t lens[4] = {h.id_len, h.args_len, h.reg_len, h.node_len};
    for (int i = 0; i < 4; i++) {
        if (lens[i]) memcpy(p, parts[i], lens[i]);
        p[lens[i]] = '\0';
        p += lens[i] + 1;
    }
    tr_reply(ctx, m, atoms.childspec, buf, n);
    free(buf);
}

/* ------------------------------------------------------------ dispatch */

static void sup_handle_ended(tr_ctx *ctx, sup *s, const tr_msg *m)
{
    uint32_t kind;
    memcpy(&kind, tr_msg_data(m), sizeof kind);
    const char *id = (const char *)tr_msg_data(m) + sizeof kind;
    const char *text = id + strlen(id) + 1;
    tri_child *c = by_id(s, id, NULL);
    if (c && c->status == C_STOPPED) child_ended(ctx, s, c, (tr_exit_kind)kind, *text ? text : NULL);
}

static void dispatch(tr_ctx *ctx, sup *s, const tr_msg *m, tr_request req)
{
    uint32_t t = tr_msg_type(m).id;
    if (t == atoms.start.id) req_start(ctx, s, m, req, false);
    else if (t == atoms.start_dyn.id) req_start(ctx, s, m, req, true);
    else if (t == atoms.terminate.id) req_terminate(ctx, s, m, req);
    else if (t == atoms.restart.id) req_restart(ctx, s, m, req);
    else if (t == atoms.del.id) req_delete(ctx, s, m, req);
    else if (t == atoms.ended.id) sup_handle_ended(ctx, s, m);
    else if (!tr_pid_is_nil(req.caller)) answer(ctx, req, TR_EINVAL, TR_PID_NIL);
}

/* Keeps a copy of an event to handle once the current step is done. */
static void defer(sup *s, const tr_msg *m)
{
    deferred *d = malloc(sizeof *d);
    tr_msg *copy = NULL;
    if (!d || tr_msg_new(tr_msg_type(m), tr_msg_size(m), &copy) != TR_OK) {
        free(d);
        tr_log(TR_LOG_ERROR, "supervisor: out of memory deferring an event; it is lost");
        return;
    }
    if (tr_msg_size(m)) memcpy(tr_msg_buffer(copy), tr_msg_data(m), tr_msg_size(m));
    d->msg = copy;
    d->req = tr_msg_request(m);
    d->next = NULL;
    if (s->dq_tail) s->dq_tail->next = d;
    else s->dq_head = d;
    s->dq_tail = d;
}

/* Queues, as a message to ourselves kept in the FIFO, the decision about
 * a child that ended on its own while a step was under way. */
static void defer_ended(sup *s, tri_child *c, tr_exit_kind kind, const char *text)
{
    size_t il = strlen(c->id), tl = text ? strlen(text) : 0;
    uint32_t k = (uint32_t)kind;
    tr_msg *m = NULL;
    deferred *d = malloc(sizeof *d);
    if (!d || tr_msg_new(atoms.ended, sizeof k + il + 1 + tl + 1, &m) != TR_OK) {
        free(d);
        tr_log(TR_LOG_ERROR, "supervisor: out of memory; child %s ended and stays stopped", c->id);
        return;
    }
    char *p = tr_msg_buffer(m);
    memcpy(p, &k, sizeof k);
    memcpy(p + sizeof k, c->id, il + 1);
    memcpy(p + sizeof k + il + 1, text ? text : "", tl + 1);
    d->msg = m;
    d->req = (tr_request){TR_PID_NIL, {0}};
    d->next = NULL;
    if (s->dq_tail) s->dq_tail->next = d;
    else s->dq_head = d;
    s->dq_tail = d;
}

static void run_deferred(tr_ctx *ctx, sup *s)
{
    while (s->dq_head && !busy(s)) {
        deferred *d = s->dq_head;
        s->dq_head = d->next;
        if (!s->dq_head) s->dq_tail = NULL;
        dispatch(ctx, s, d->msg, d->req);
        tr_msg_destroy(&d->msg);
        free(d);
    }
}

static int sup_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    sup *s = state;
    tr_atom t = tr_msg_type(m);
    if (s->phase == PH_ENDING) {
        if (tr_msg_is_request(m)) answer(ctx, tr_msg_request(m), TR_ESTOPPED, TR_PID_NIL);
        return 0;
    }
    if (t.id == tr_started_atom().id) {
        on_started(ctx, s, m);
        return 0;
    }
    if (t.id == tr_exit_atom().id) {
        on_child_exit(ctx, s, m); /* exits apply at once; decisions may wait */
        return 0;
    }

    if (t.id == atoms.backoff.id) {
        const char *id = id_of(m, 0);
        tri_child *c = id ? by_id(s, id, NULL) : NULL;
        if (c && c->status == C_WAITING && spawn_child(ctx, s, c) != TR_OK)
            child_ended(ctx, s, c, TR_EXIT_FAILURE, "cannot spawn");
        return 0;
    }
    if (t.id == atoms.plan.id) {
        if (s->plan) plan_step(ctx, s);
        return 0;
    }
    /* A spec carries a behaviour's address: meaningful in this process
     * only, so never taken from another node. Checked here, before the
     * request may wait in the FIFO (its copy there has no sender). */
    if (t.id == atoms.start.id && tr_msg_sender(m).node != tr_self(ctx).node) {
        answer(ctx, tr_msg_request(m), TR_EINVAL, TR_PID_NIL);
        return 0;
    }
    if (t.id == atoms.which.id) req_which(ctx, s, m);
    else if (t.id == atoms.count.id) req_count(ctx, s, m);
    else if (t.id == atoms.getspec.id) req_getspec(ctx, s, m);
    else if (busy(s)) defer(s, m);
    else dispatch(ctx, s, m, tr_msg_request(m));
    return 0;
}

/* What init built: freed by terminate, or by init itself when it fails
 * (no terminate follows a failed init). */
static void sup_free(sup *s)
{
    tri_conf_free(&s->conf);
    tri_child_free(s->tmpl);
    free(s->pids);
    free(s->hist);
    free(s->plan_stop);
    free(s->plan_start);
    memset(s, 0, sizeof *s);
}

static int sup_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    sup *s = state;
    tri_sup_atoms_get();
    if (tri_decode_sup(args, size, &s->conf) != 0) return tr_fail(ctx, "bad supervisor spec");
    tr_trap_exits(ctx, true);
    tr_defer_started(ctx);
    s->rng = (uint32_t)tr_self(ctx).serial * 2654435761u | 1;
    if (dynamic(s)) {
        s->tmpl = s->conf.children[0];
        s->conf.n = 0; /* the template is not a child */
        tr_stop_children_together(ctx, true);
    }
    s->phase = PH_STARTING;
    s->start_i = 0;
    startup_step(ctx, s);
    if (s->phase == PH_ENDING) { /* its first child could not even be spawned */
        sup_free(s);
        return TR_EFAILED;
    }
    return 0;
}

static void sup_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    (void)ctx, (void)why;
    sup *s = state;
    for (deferred *d = s->dq_head, *n; d; d = n) {
        n = d->next;
        if (!tr_pid_is_nil(d->req.caller)) answer(ctx, d->req, TR_ESTOPPED, TR_PID_NIL);
        tr_msg_destroy(&d->msg);
        free(d);
    }
    sup_free(s);
}

const tr_behaviour tr_supervisor_behaviour = {"supervisor", sizeof(sup), sup_init, sup_handle,
                                             sup_terminate};
