/* worker.c — the stress test's actor: one behaviour for anchors, plain
 * workers and supervisors' children, which on each tick of its periodic
 * timer does one random thing (send, call, answer, spawn, supervise,
 * monitor, link, signal, arm or cancel a timer, offload, stop, fail) and
 * reports all it sees to the ledger, checking as it goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"
#include "testutil.h"

typedef struct wstate {
    uint32_t rec, parent, depth, flags, slot;
    rng r;
    bool trap;
    bool intent; /* it asked for its own end, of kind intent_kind */
    uint8_t intent_kind;
    uint64_t seq; /* its sends, for the receivers' order check */
    tr_timer tick;
    uint64_t nticks;
    struct {
        uint64_t ref;
        uint32_t id;
    } calls[NCALL], mons[NMON];
    struct {
        tr_request req;
        uint32_t id;
    } defs[NDEF];
    struct {
        tr_pid pid;
        uint32_t rec; /* 0 for a supervisor */
        uint32_t x;   /* the tr.exit or tr.started owed, 0: none */
    } kids[NKID], starts[NSTART];
    tr_pid links[NLINK];
    struct {
        tr_timer t;
        uint32_t id;
    } timers[NTIMER];
    fifo f;
} wstate;

/* --------------------------------------------------- callback framing */

static void cb_enter(uint32_t r)
{
    atomic_fetch_add(&bk->in_cbs, 1);
    if (atomic_load(&bk->ended) && bk->strict)
        violation("record %u: a callback runs after tr_system_run returned", r);
    if (atomic_fetch_add(&R(r)->in_cb, 1) != 0) violation("record %u: two callbacks at once", r);
    if (atomic_load(&R(r)->phase) == PH_ENDED) violation("record %u: a callback after its end", r);
}

static void cb_exit(uint32_t r)
{
    atomic_fetch_sub(&R(r)->in_cb, 1);
    atomic_fetch_sub(&bk->in_cbs, 1);
}

/* Whether the calling actor's parent has abandoned it: nothing it does
 * takes effect then, and every call that acts answers TR_ESTOPPED; a
 * cancel of timer {0} changes nothing otherwise (TR_ENOENT). */
static bool abandoned(tr_ctx *ctx) { return tr_timer_cancel(ctx, (tr_timer){0}) == TR_ESTOPPED; }

/* ------------------------------------------------------------- sends */

static void send_tracked(tr_ctx *ctx, wstate *s, dent to)
{
    if (to.kind == D_SUP) { /* a supervisor drops what it does not know: untracked */
        tr_send(ctx, to.pid, A_U, NULL, 0);
        return;
    }
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, to.rec, 0, ++s->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    int rc;
    if (chance(&s->r, 100)) { /* the zero-copy path */
        tr_msg *m = NULL;
        rc = tr_msg_new(A_M, n, &m);
        if (rc == TR_OK) {
            memcpy(tr_msg_buffer(m), buf, n);
            rc = tr_send_msg(ctx, to.pid, &m);
            if (m) violation("tr_send_msg left the message with the caller");
        }
    } else {
        rc = tr_send(ctx, to.pid, A_M, buf, n);
    }
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_EFULL && rc != TR_ESTOPPED)
        violation("tr_send: %s", tr_strerror(rc));
    atomic_fetch_add(&bk->n_sends, 1);
}

static void op_send(tr_ctx *ctx, wstate *s, int burst)
{
    dent to;
    if (chance(&s->r, 100)) {
        to = (dent){tr_self(ctx), s->rec, D_WORKER, 0, 0};
    } else if (!dir_pick(&s->r, D_WORKER | D_INBOX | (chance(&s->r, 100) ? D_SUP : 0), &to)) {
        return;
    }
    for (int i = 0; i < burst; i++)
        send_tracked(ctx, s, to);
}

static void op_send_named(tr_ctx *ctx, wstate *s)
{
    char name[16];
    snprintf(name, sizeof name, "r%u", below(&s->r, 16));
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, 0, 0, ++s->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    int rc = tr_send_named(ctx, name, A_M, buf, n);
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_ENOENT && rc != TR_EFULL && rc != TR_ESTOPPED)
        violation("tr_send_named: %s", tr_strerror(rc));
}

/* ------------------------------------------------------------- calls */

static void op_call(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->calls);
    dent to;
    if (k < 0 || !dir_pick(&s->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    int64_t timeout = chance(&s->r, 100) ? 0 : (int64_t)below(&s->r, 40) + 1;
    /* forever only where an answer is certain: workers answer such
     * requests (or end, and the runtime answers "tr.down") */
    if (to.kind == D_WORKER && chance(&s->r, 300)) timeout = TR_INFINITY;
    uint32_t id = call_new(s->rec, OP_CALL, to, tr_now_ms(ctx), timeout);
    if (!id) return;
    qmsg q = {id, timeout < 0};
    tr_ref ref;
    int rc = tr_call(ctx, to.pid, A_Q, &q, sizeof q, timeout, &ref);
    if (rc == TR_OK) {
        if (ref.id == 0) violation("tr_call gave reference 0");
        call_pending(id);
        s->calls[k].ref = ref.id;
        s->calls[k].id = id;
        atomic_fetch_add(&bk->n_calls, 1);
    } else if (rc != TR_EFULL && rc != TR_ESTOPPED) {
        violation("tr_call: %s", tr_strerror(rc));
    }
}

static void send_reply(tr_ctx *ctx, const tr_msg *req, uint32_t id)
{
    int rc = tr_reply(ctx, req, A_REP, &id, sizeof id);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_reply: %s", tr_strerror(rc));
}

/* An answer for one of our calls: exactly once, and the right one. */
static void got_answer(tr_ctx *ctx, wstate *s, int k, const tr_msg *m)
{
    uint32_t id = s->calls[k].id;
    s->calls[k].ref = 0;
    callrec *c = &bk->calls[id];
    if (!call_answered(id, C_DONE)) return;
    tr_atom t = tr_msg_type(m);
    if (tr_atom_eq(t, tr_timeout_atom())) {
        if (c->infinite)
            violation("call %u without a timeout timed out", id);
        else if (tr_now_ms(ctx) < c->t0_ms + c->timeout_ms)
            violation("call %u timed out early (%" PRId64 " ms of %" PRId64 ")", id,
                      tr_now_ms(ctx) - c->t0_ms, c->timeout_ms);
        return;
    }
    if (tr_atom_eq(t, tr_down_atom())) {
        tr_exit why;
        if (tr_exit_decode(m, NULL, &why) != TR_OK) violation("call %u: undecodable tr.down", id);
        return;
    }
    switch (c->op) {
    case OP_CALL:
        if (tr_atom_eq(t, A_REP)) {
            uint32_t got = 0;
            if (tr_msg_size(m) == sizeof got) memcpy(&got, tr_msg_data(m), sizeof got);
            if (got != id) violation("call %u answered with the reply to call %u", id, got);
        } else if (!(tr_atom_eq(t, A_SUP_ANSWER) && c->callee_kind == D_SUP)) {
            violation("call %u answered by a \"%s\"", id, tr_atom_name(t));
        }
        return;
    case OP_WHICH: {
        tr_child_info info[16];
        size_t n = 0;
        if (tr_sup_children_decode(m, info, 16, &n) != TR_OK) {
            violation("which_children answered by a \"%s\"", tr_atom_name(t));
            return;
        }
        check_which(c->callee, info, n < 16 ? n : 16);
        return;
    }
    case OP_COUNT: {
        tr_child_counts k2;
        if (tr_sup_counts_decode(m, &k2) != TR_OK) {
            violation("count_children answered by a \"%s\"", tr_atom_name(t));
            return;
        }
        check_counts(c->callee, &k2);
        return;
    }
    default: {
        int rc;
        tr_pid pid;
        if (tr_sup_result_decode(m, &rc, &pid) != TR_OK) {
            violation("%s_child answered by a \"%s\"", op_names[c->op], tr_atom_name(t));
            return;
        }
        bool ok;
        switch (c->op) {
        case OP_START:
            ok = rc == TR_OK || rc == TR_EEXIST || rc == TR_EPRESENT || rc == TR_EFAILED ||
                 rc == TR_ESTOPPED || rc == TR_EBUSY;
            break;
        case OP_TERMINATE:
            ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED;
            break;
        case OP_RESTART: /* EEXIST: its registered name is taken (supervisor.h) */
            ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_EFAILED ||
                 rc == TR_ESTOPPED || rc == TR_EEXIST;
            break;
        default: ok = rc == TR_OK || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED; break;
        }
        if (!ok) violation("%s_child answered %s", op_names[c->op], tr_strerror(rc));
        if (c->op == OP_START && rc == TR_EEXIST && tr_pid_is_nil(pid))
            violation("start_child: EEXIST without its pid"); /* its spec registers no name */
        return;
    }
    }
}

/* A request to us: answer now, later, twice or not at all; drop it; or
 * end while holding it (the runtime then answers "tr.down"). One whose
 * caller waits forever is never ignored nor dropped. Returns the
 * handler's result. */
static int got_request(tr_ctx *ctx, wstate *s, const tr_msg *m)
{
    qmsg q;
    if (tr_msg_size(m) != sizeof q) {
        violation("a request of %zu bytes", tr_msg_size(m));
        return 0;
    }
    memcpy(&q, tr_msg_data(m), sizeof q);
    if (chance(&s->r, 30)) { /* a request it never got is not its to drop */
        int rc =
            tr_request_drop(ctx, (tr_request){tr_msg_sender(m), {tr_msg_ref(m).id + (1u << 30)}});
        if (rc != TR_ENOENT && rc != TR_ESTOPPED)
            violation("tr_request_drop of no request: %s", tr_strerror(rc));
    }
    /* never ignored nor dropped when the caller waits forever, nor by an
     * actor that must not end */
    bool calm = atomic_load(&bk->draining) || (s->flags & (WF_MEEK | WF_ANCHOR));
    uint32_t r = below(&s->r, 100);
    int d = -1;
    for (int i = 0; i < NDEF && d < 0; i++)
        if (s->defs[i].req.ref.id == 0) d = i;
    if (r < 20 && d >= 0) { /* later */
        s->defs[d].req = tr_msg_request(m);
        s->defs[d].id = q.call;
        if (s->defs[d].req.ref.id == 0) violation("tr_msg_request of a request gave no token");
        return 0;
    }
    if (calm || r < 70 || (q.infinite && r < 90)) {
        send_reply(ctx, m, q.call);
        return 0;
    }
    if (r < 76) { /* twice: the caller keeps the first */
        send_reply(ctx, m, q.call);
        send_reply(ctx, m, q.call);
        return 0;
    }
    if (r < 82) { /* declined: the caller gets its own timeout */
        int rc = tr_request_drop(ctx, tr_msg_request(m));
        if (rc != TR_OK && rc != TR_ESTOPPED)
            violation("tr_request_drop (current): %s", tr_strerror(rc));
        return 0;
    }
    if (r < 90) return 0; /* ignored: a timeout, or "tr.down" when we end */
    /* ends holding it: the runtime answers "tr.down" */
    s->intent = true;
    s->intent_kind = TR_EXIT_FAILURE;
    atomic_fetch_add(&bk->n_crashes, 1);
    return tr_fail(ctx, "failed holding request %u", q.call);
}

static void answer_deferred(tr_ctx *ctx, wstate *s, bool all)
{
    for (int i = 0; i < NDEF; i++) {
        if (s->defs[i].req.ref.id == 0 || (!all && chance(&s->r, 500))) continue;
        uint32_t id = s->defs[i].id;
        int rc;
        if (!all && !bk->calls[id].infinite && chance(&s->r, 100)) {
            rc = tr_request_drop(ctx, s->defs[i].req);
            /* swept already if its caller's deadline has passed */
            if (rc != TR_OK && rc != TR_ENOENT && rc != TR_ESTOPPED)
                violation("tr_request_drop: %s", tr_strerror(rc));
        } else {
            rc = tr_reply_to(ctx, s->defs[i].req, A_REP, &id, sizeof id);
            if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_reply_to: %s", tr_strerror(rc));
        }
        s->defs[i].req = (tr_request){TR_PID_NIL, {0}};
    }
}

/* ---------------------------------------------------------- monitors */

static void op_monitor(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->mons);
    dent to;
    if (k < 0 || !dir_pick(&s->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    uint32_t id = mon_new(s->rec, to.kind == D_WORKER ? to.rec : 0);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE); /* before: a dead target answers at once */
    tr_ref ref;
    int rc = tr_monitor(ctx, to.pid, &ref);
    if (rc != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        if (rc != TR_ESTOPPED) violation("tr_monitor: %s", tr_strerror(rc));
        return;
    }
    s->mons[k].ref = ref.id;
    s->mons[k].id = id;
    atomic_fetch_add(&bk->n_mons, 1);
}

static void op_demonitor(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NMON);
    if (s->mons[k].ref == 0) {
        /* one we never had: TR_ENOENT */
        int rc = tr_demonitor(ctx, (tr_ref){(uint64_t)1 << 62 | below(&s->r, 1000)});
        if (rc != TR_ENOENT && rc != TR_ESTOPPED)
            violation("tr_demonitor of no monitor: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_demonitor(ctx, (tr_ref){s->mons[k].ref});
    if (rc == TR_ESTOPPED) return;
    if (rc != TR_OK) {
        violation("tr_demonitor of a live monitor: %s", tr_strerror(rc));
        return;
    }
    if (!mon_to(s->mons[k].id, MO_ACTIVE, MO_DEMONITORED))
        violation("monitor %u demonitored in state %u", s->mons[k].id,
                  atomic_load(&bk->mons[s->mons[k].id].st));
    s->mons[k].ref = 0;
}

/* Monitors a child of its own, stops it, waits (a little) until it has
 * ended, so that its "tr.down" is on its way or queued, and demonitors:
 * that "tr.down" must not reach the handler. */
static void op_demonitor_race(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->mons), kk = (int)below(&s->r, NKID);
    uint32_t c = s->kids[kk].rec;
    if (k < 0 || !c || tr_pid_is_nil(s->kids[kk].pid) || atomic_load(&R(c)->phase) != PH_LIVE)
        return;
    uint32_t id = mon_new(s->rec, c);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE);
    tr_ref ref;
    if (tr_monitor(ctx, s->kids[kk].pid, &ref) != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        return;
    }
    s->mons[k].ref = ref.id;
    s->mons[k].id = id;
    if (tr_stop_child(ctx, s->kids[kk].pid) != TR_OK) return;
    /* another worker runs it meanwhile (with one worker this just waits) */
    int64_t until = t_now_ms() + 5;
    while (atomic_load(&R(c)->phase) != PH_ENDED && t_now_ms() < until)
        sched_yield();
    for (int i = 0; i < 50; i++)
        sched_yield();
    int rc = tr_demonitor(ctx, ref);
    if (rc == TR_ESTOPPED) return;
    if (rc != TR_OK) {
        violation("tr_demonitor of a live monitor: %s", tr_strerror(rc));
        return;
    }
    if (!mon_to(id, MO_ACTIVE, MO_DEMONITORED))
        violation("monitor %u demonitored in state %u", id, atomic_load(&bk->mons[id].st));
    s->mons[k].ref = 0;
}

static void got_down(wstate *s, int k, const tr_msg *m)
{
    uint32_t id = s->mons[k].id;
    s->mons[k].ref = 0;
    mon_fired(id, m);
}

/* ------------------------------------------------------------- links */

static void op_link(tr_ctx *ctx, wstate *s)
{
    dent to;
    if (!dir_pick(&s->r, D_WORKER | D_SUP, &to)) return;
    if (tr_pid_eq(to.pid, tr_self(ctx))) {
        int rc = tr_link(ctx, to.pid);
        if (rc != TR_EINVAL && rc != TR_ESTOPPED)
            violation("tr_link to itself: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_link(ctx, to.pid);
    if (rc == TR_OK && chance(&s->r, 200)) rc = tr_link(ctx, to.pid); /* idempotent */
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_link: %s", tr_strerror(rc));
    if (rc == TR_OK) s->links[below(&s->r, NLINK)] = to.pid;
}

static void op_unlink(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NLINK);
    if (tr_pid_is_nil(s->links[k])) return;
    int rc = tr_unlink(ctx, s->links[k]);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_unlink: %s", tr_strerror(rc));
    s->links[k] = TR_PID_NIL;
}

static void op_exit(tr_ctx *ctx, wstate *s)
{
    dent to;
    /* Not to its parent: a trapping parent cannot tell such a signal from
     * its child's end (a supervisor would restart a child still running,
     * as OTP's does). */
    if (!dir_pick(&s->r, D_WORKER | D_SUP, &to) || to.rec == s->parent) return;
    static const tr_exit_kind kinds[] = {TR_EXIT_NORMAL, TR_EXIT_SHUTDOWN, TR_EXIT_FAILURE,
                                         TR_EXIT_TIMEOUT, TR_EXIT_KILLED};
    tr_exit_kind k = kinds[below(&s->r, bk->strict || to.protect ? 4 : 5)];
    int rc = tr_send_exit(ctx, to.pid, k, chance(&s->r, 500) ? "stress" : NULL);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_send_exit: %s", tr_strerror(rc));
    atomic_fetch_add(&bk->n_exits, 1);
}

/* ------------------------------------------------------------ timers */

static void op_timer(tr_ctx *ctx, wstate *s)
{
    dent to;
    if (chance(&s->r, 300))
        to = (dent){tr_self(ctx), s->rec, D_WORKER, 0, 0};
    else if (!dir_pick(&s->r, D_WORKER | D_INBOX, &to))
        return;
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, s->rec, to.rec, 0, 0};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&s->r, h, buf);
    mark(id, M_ARMED); /* before: a 0 ms timer may fire at once */
    tr_timer t;
    int rc = tr_send_after(ctx, to.pid, below(&s->r, 30), A_T, buf, n, &t);
    if (rc != TR_OK) {
        mark(id, M_REFUSED);
        if (rc != TR_ESTOPPED) violation("tr_send_after: %s", tr_strerror(rc));
        return;
    }
    int k = (int)below(&s->r, NTIMER);
    s->timers[k].t = t;
    s->timers[k].id = id;
    tring_add(t.id, s->rec);
}

static void op_cancel(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NTIMER);
    if (s->timers[k].t.id == 0) return;
    int rc = tr_timer_cancel(ctx, s->timers[k].t);
    if (rc == TR_OK)
        mark(s->timers[k].id, M_CANCELLED);
    else if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_timer_cancel: %s", tr_strerror(rc));
    s->timers[k].t.id = 0;
}

/* Another actor's timer is not ours to cancel. */
static void op_foreign_cancel(tr_ctx *ctx, wstate *s)
{
    uint64_t id;
    if (!tring_pick(&s->r, s->rec, &id)) return;
    int rc = tr_timer_cancel(ctx, (tr_timer){id});
    if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("cancelling another actor's timer: %s", tr_strerror(rc));
}

/* A periodic timer is pending until cancelled. */
static void rearm_tick(tr_ctx *ctx, wstate *s)
{
    if (s->tick.id) {
        int rc = tr_timer_cancel(ctx, s->tick);
        if (rc != TR_OK && rc != TR_ESTOPPED)
            violation("cancelling its own periodic timer: %s", tr_strerror(rc));
    }
    s->tick.id = 0;
    int rc = tr_send_every(ctx, tr_self(ctx), 1 + below(&s->r, SANITIZED ? 30 : 15), A_TICK, NULL,
                           0, &s->tick);
    if (rc != TR_OK && rc != TR_ESTOPPED) violation("tr_send_every: %s", tr_strerror(rc));
}

/* ------------------------------------------------------------ offload */

typedef struct job_arg {
    uint32_t id, rec;
} job_arg;

static tr_msg *job_run(void *arg)
{
    job_arg *j = arg;
    tr_msg *m = NULL;
    umsg h = {j->id, 0, j->rec, 0, 0};
    if (tr_msg_new(A_O, sizeof h, &m) != TR_OK) return NULL;
    memcpy(tr_msg_buffer(m), &h, sizeof h);
    return m;
}

static void job_cleanup(void *arg)
{
    atomic_fetch_add(&bk->cleanups, 1);
    free(arg);
}

static void op_offload(tr_ctx *ctx, wstate *s)
{
    uint32_t id = mark_new();
    job_arg *j = malloc(sizeof *j);
    if (!id || !j) {
        free(j);
        return;
    }
    *j = (job_arg){id, s->rec};
    mark(id, M_ARMED | M_JOB);
    int rc = tr_offload(ctx, (tr_job){job_run, job_cleanup, j});
    if (rc == TR_OK) {
        atomic_fetch_add(&bk->offloads, 1);
    } else {
        mark(id, M_REFUSED);
        free(j);
        if (rc != TR_ESTOPPED) violation("tr_offload: %s", tr_strerror(rc));
    }
}

/* -------------------------------------------------------------- spawn */

static bool may_spawn(const wstate *s)
{
    return !atomic_load(&bk->draining) && s->depth < 7 && room_for_records() &&
           (uint32_t)atomic_load(&bk->live_workers) < bk->max_live;
}

static void op_spawn(tr_ctx *ctx, wstate *s)
{
    if (!may_spawn(s)) return;
    uint32_t r = rec_new(K_WORKER, s->rec);
    if (!r) return;
    wargs a = {.rec = r, .parent = s->rec, .depth = s->depth + 1, .seed = rnd(&s->r)};
    if (chance(&s->r, 300)) a.flags |= WF_TRAP;
    tr_spawn_opts o = {.args = &a, .args_size = sizeof a, .shutdown_ms = random_shutdown(&s->r)};
    o.on_full = random_policy(&s->r, &o.capacity);
    a.capacity = o.capacity;
    a.policy = (uint8_t)o.on_full;
    R(r)->capacity = o.capacity;
    R(r)->policy = (uint8_t)o.on_full;
    if (a.flags & WF_TRAP) o.flags |= TR_SPAWN_TRAP_EXITS;
    if (chance(&s->r, 30)) o.deadline_ms = 1 + below(&s->r, 200);
    char name[16];
    if (chance(&s->r, 40)) {
        snprintf(name, sizeof name, "r%u", below(&s->r, 16));
        o.register_as = name;
    }
    int sk = -1;
    for (int i = 0; i < NSTART && chance(&s->r, 500); i++)
        if (tr_pid_is_nil(s->starts[i].pid)) {
            sk = i;
            o.started_to = tr_self(ctx);
            break;
        }
    int kk = (int)below(&s->r, NKID);
    if (chance(&s->r, 200) && !tr_pid_is_nil(s->kids[kk].pid)) o.before = s->kids[kk].pid;
    /* an always-trapping parent is owed each child's exit: such a child
     * needs a slot of its own here, to be told apart when it comes */
    bool owed = (s->flags & (WF_TRAP | WF_ANCHOR)) != 0;
    if (owed) {
        kk = -1;
        for (int i = 0; i < NKID && kk < 0; i++)
            if (tr_pid_is_nil(s->kids[i].pid) || !s->kids[i].x) kk = i;
        if (kk < 0) {
            R(r)->kind = K_FREE;
            return;
        }
    }
    tr_pid pid;
    int rc = tr_spawn(ctx, &worker_b, &o, &pid);
    if (rc != TR_OK) {
        R(r)->kind = K_FREE; /* never used */
        if (rc != TR_EEXIST && rc != TR_ESTOPPED) violation("tr_spawn: %s", tr_strerror(rc));
        return;
    }
    if (s->kids[kk].x) expect_met(s->kids[kk].x, X_GONE); /* a supervisor's, or forgotten */
    s->kids[kk].pid = pid;
    s->kids[kk].rec = r;
    s->kids[kk].x = owed ? expect_new(XK_EXIT, s->rec, r) : 0;
    if (sk >= 0) {
        s->starts[sk].pid = pid;
        s->starts[sk].rec = r;
        s->starts[sk].x = expect_new(XK_STARTED, s->rec, r);
    }
    atomic_fetch_add(&bk->n_spawned, 1);
}

static void op_spawn_sup(tr_ctx *ctx, wstate *s)
{
    if (!may_spawn(s) || s->depth > 4) return;
    uint32_t r = rec_new(K_SUP, s->rec);
    if (!r) return;
    rec_link(r);
    spec_buf b, nested;
    build_spec(&s->r, &b, r, s->depth + 1, false, &nested);
    char why[256];
    int rc = tr_sup_spec_check(&b.spec, why, sizeof why);
    if (rc != TR_OK) {
        violation("a spec the test thinks valid was refused: %s", why);
        return;
    }
    tr_spawn_opts o = {.shutdown_ms = bk->strict ? TR_SHUTDOWN_INFINITY : random_shutdown(&s->r)};
    tr_pid pid;
    rc = tr_supervisor_spawn(ctx, &b.spec, &o, &pid);
    if (rc != TR_OK) {
        if (rc != TR_ESTOPPED) violation("tr_supervisor_spawn: %s", tr_strerror(rc));
        return;
    }
    dir_add(pid, r, D_SUP, 0, (uint8_t)b.spec.strategy);
    int kk = (int)below(&s->r, NKID);
    for (int i = 0; i < NKID && s->kids[kk].x; i++)
        kk = (kk + 1) % NKID;
    if (s->kids[kk].x) return; /* every slot owes an exit: not remembered */
    s->kids[kk].pid = pid;
    s->kids[kk].rec = 0;
    atomic_fetch_add(&bk->n_sups, 1);
}

/* A dynamic request to a random supervisor. */
static void op_sup_request(tr_ctx *ctx, wstate *s)
{
    int k = FREE(s->calls);
    dent d;
    if (k < 0 || !dir_pick(&s->r, D_SUP, &d)) return;
    bool simple = d.strategy == TR_SIMPLE_ONE_FOR_ONE;
    uint8_t op = (uint8_t)(OP_WHICH + below(&s->r, 6));
    if (simple && (op == OP_RESTART || op == OP_DELETE)) op = OP_COUNT; /* EINVAL by design */
    if (op == OP_START && (atomic_load(&bk->draining) || !room_for_records() ||
                           (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live))
        op = OP_WHICH;
    uint32_t id = call_new(s->rec, op, d, tr_now_ms(ctx), TR_INFINITY);
    if (!id) return;
    char cid[8];
    snprintf(cid, sizeof cid, "%c%u", chance(&s->r, 500) ? 'c' : 'd', below(&s->r, 4));
    if (op == OP_DELETE && cid[0] == 'c' && (R(d.rec)->supmask >> (cid[1] - '0') & 1))
        cid[0] = 'd'; /* the counts rely on it */
    tr_ref ref;
    int rc;
    switch (op) {
    case OP_WHICH: rc = tr_sup_which_children(ctx, d.pid, &ref); break;
    case OP_COUNT: rc = tr_sup_count_children(ctx, d.pid, &ref); break;
    case OP_START: {
        wargs a = child_args(&s->r, d.rec, s->depth + 2, d.protect);
        tr_child_spec c = {.id = cid,
                           .behaviour = &worker_b,
                           .args = &a,
                           .args_size = sizeof a,
                           .restart = (tr_restart)below(&s->r, 3),
                           .shutdown_ms = random_shutdown(&s->r)};
        uint64_t extra = rnd(&s->r);
        if (simple) c = (tr_child_spec){.args = &extra, .args_size = sizeof extra};
        rc = tr_sup_start_child(ctx, d.pid, &c, &ref);
        break;
    }
    case OP_TERMINATE: {
        dent w;
        tr_pid victim = simple && dir_pick(&s->r, D_WORKER, &w) ? w.pid : TR_PID_NIL;
        if (simple && tr_pid_is_nil(victim)) victim = tr_self(ctx);
        rc = tr_sup_terminate_child(ctx, d.pid, simple ? NULL : cid, victim, &ref);
        break;
    }
    case OP_RESTART: rc = tr_sup_restart_child(ctx, d.pid, cid, &ref); break;
    default: rc = tr_sup_delete_child(ctx, d.pid, cid, &ref); break;
    }
    if (rc == TR_OK) {
        call_pending(id);
        s->calls[k].ref = ref.id;
        s->calls[k].id = id;
        atomic_fetch_add(&bk->n_suprq, 1);
    } else if (rc != TR_ESTOPPED && rc != TR_EFULL) {
        violation("tr_sup_%s_child: %s", op_names[op], tr_strerror(rc));
    }
}

static void op_stop_child(tr_ctx *ctx, wstate *s)
{
    int k = (int)below(&s->r, NKID);
    if (tr_pid_is_nil(s->kids[k].pid)) {
        /* a stranger is not ours to stop */
        dent d;
        if (dir_pick(&s->r, D_WORKER, &d) && R(d.rec)->parent != s->rec) {
            int rc = tr_stop_child(ctx, d.pid);
            if (rc != TR_ENOENT && rc != TR_ESTOPPED)
                violation("tr_stop_child of a stranger: %s", tr_strerror(rc));
        }
        return;
    }
    int rc = tr_stop_child(ctx, s->kids[k].pid);
    if (rc != TR_OK && rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_stop_child: %s", tr_strerror(rc));
}

/* Ends itself, one of five ways; returns the handler's result. */
static int op_end(tr_ctx *ctx, wstate *s)
{
    atomic_fetch_add(&bk->n_crashes, 1);
    s->intent = true;
    switch (below(&s->r, 5)) {
    case 0:
        s->intent_kind = TR_EXIT_NORMAL;
        tr_stop(ctx);
        return 0;
    case 1:
        s->intent_kind = TR_EXIT_SHUTDOWN;
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "bye");
        return 0;
    case 2:
        s->intent_kind = TR_EXIT_TIMEOUT;
        tr_stop_reason(ctx, TR_EXIT_TIMEOUT, "late");
        return 0;
    case 3: s->intent_kind = TR_EXIT_FAILURE; return tr_fail(ctx, "crash %u", s->rec);
    default: s->intent_kind = TR_EXIT_FAILURE; return -1;
    }
}

/* Documented answers of calls made wrongly. */
static void op_contracts(tr_ctx *ctx, wstate *s, const tr_msg *not_a_request)
{
    if (not_a_request) {
        int rc = tr_reply(ctx, not_a_request, A_REP, NULL, 0);
        if (rc != TR_EINVAL && rc != TR_ESTOPPED)
            violation("tr_reply to a non-request: %s", tr_strerror(rc));
    }
    tr_request fake = {tr_self(ctx), {(uint64_t)1 << 62}};
    int rc = tr_request_drop(ctx, fake);
    if (rc != TR_ENOENT && rc != TR_ESTOPPED)
        violation("tr_request_drop of nothing: %s", tr_strerror(rc));
    (void)s;
}

/* Long work (a kill epoch's shutdown times are shorter): a callback that
 * runs past its actor's shutdown time gets it abandoned while it runs,
 * and what it does after must not take effect. */
static void busy(rng *r)
{
    int64_t until = t_now_ms() + 1 + below(r, 5);
    while (t_now_ms() < until) {
    }
}

/* One random thing; returns the handler's result. */
static int op_random(tr_ctx *ctx, wstate *s, const tr_msg *m)
{
    if (atomic_load(&bk->draining)) return 0;
    bool crowded = (uint32_t)atomic_load(&bk->live_workers) * 10 > bk->max_live * 7;
    bool mortal = !(s->flags & (WF_ANCHOR | WF_MEEK));
    uint32_t x = below(&s->r, 1000);
    if (x < 200)
        op_send(ctx, s, 1);
    else if (x < 230)
        op_send(ctx, s, 2 + (int)below(&s->r, 20));
    else if (x < 340)
        op_call(ctx, s);
    else if (x < 420)
        op_spawn(ctx, s);
    else if (x < 445)
        op_spawn_sup(ctx, s);
    else if (x < 495)
        op_sup_request(ctx, s);
    else if (x < 555)
        op_monitor(ctx, s);
    else if (x < 575)
        op_demonitor(ctx, s);
    else if (x < 585)
        op_demonitor_race(ctx, s);
    else if (x < 610)
        op_link(ctx, s);
    else if (x < 625)
        op_unlink(ctx, s);
    else if (x < 645)
        op_exit(ctx, s);
    else if (x < 685)
        op_timer(ctx, s);
    else if (x < 705)
        op_cancel(ctx, s);
    else if (x < 715)
        op_foreign_cancel(ctx, s);
    else if (x < 740)
        op_stop_child(ctx, s);
    else if (x < 780)
        answer_deferred(ctx, s, false);
    else if (x < 790) {
        if (mortal && !(s->flags & WF_TRAP)) {
            s->trap = !s->trap;
            tr_trap_exits(ctx, s->trap);
        }
    } else if (x < 805)
        op_send_named(ctx, s);
    else if (x < 815)
        op_offload(ctx, s);
    else if (x < 825)
        rearm_tick(ctx, s);
    else if (x < 835)
        op_contracts(ctx, s, m);
    else if (x < 845)
        tr_stop_children_together(ctx, chance(&s->r, 500));
    else if (x < 855 && !bk->strict) {
        busy(&s->r);
        op_send(ctx, s, 1);
        op_timer(ctx, s);
    } else if (mortal && (crowded ? x < 910 : x < 870))
        return op_end(ctx, s);
    return 0;
}

/* ------------------------------------------------------------ callbacks */

static int w_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    wstate *s = st;
    wargs a;
    if (size < sizeof a) {
        violation("init with %zu bytes of args", size);
        return TR_INIT_IGNORE;
    }
    memcpy(&a, args, sizeof a);
    if (size == sizeof a + sizeof(uint64_t)) { /* simple_one_for_one: appended args */
        uint64_t extra;
        memcpy(&extra, (const char *)args + sizeof a, sizeof extra);
        a.seed ^= mix64(extra);
    } else if (size != sizeof a) {
        violation("init with %zu bytes of args", size);
    }
    uint32_t r = a.rec;
    if (!r) {
        r = rec_new(K_WORKER, a.parent);
        if (!r) return TR_INIT_IGNORE; /* out of records: runs untracked (counted) */
        R(r)->slot = a.slot;
        R(r)->capacity = a.capacity;
        R(r)->policy = a.policy;
    }
    R(r)->protect = (a.flags & WF_ANCHOR) != 0;
    rec_link(r);
    cb_enter(r);
    uint8_t ph = PH_NONE;
    if (!atomic_compare_exchange_strong(&R(r)->phase, &ph, PH_INIT))
        violation("record %u: init again (phase %u)", r, ph);
    s->rec = r;
    s->parent = a.parent;
    s->depth = a.depth;
    s->flags = a.flags;
    s->slot = a.slot;
    if (a.slot) {
        uint32_t inc = atomic_fetch_add(&bk->slots[a.slot].incarnations, 1);
        a.seed ^= mix64(inc + 1);
        int32_t live = atomic_fetch_add(&bk->slots[a.slot].live, 1);
        if (live != 0 && bk->strict)
            violation("record %u: another incarnation of its child spec still runs", r);
    }
    s->r.s = a.seed;
    /* Decided first, so that a failing init leaves nothing behind. */
    uint32_t fate = (a.flags & (WF_MEEK | WF_ANCHOR)) ? 1000 : below(&s->r, 1000);
    if (fate < 50) {
        atomic_store(&R(r)->exit_kind, fate < 35 ? TR_EXIT_FAILURE : TR_EXIT_NORMAL);
        atomic_store(&R(r)->start, fate < 35 ? START_FAILED : START_IGNORED);
        if (a.slot) atomic_fetch_sub(&bk->slots[a.slot].live, 1);
        atomic_store(&R(r)->phase, PH_ENDED);
        cb_exit(r);
        if (fate < 20) return tr_fail(ctx, "init failed");
        if (fate < 35) return -1;
        return TR_INIT_IGNORE;
    }
    atomic_store(&R(r)->start, START_OK);
    atomic_fetch_add(&bk->live_workers, 1);
    atomic_store(&R(r)->phase, PH_LIVE);
    s->trap = (a.flags & (WF_TRAP | WF_ANCHOR)) != 0;
    if (s->trap) tr_trap_exits(ctx, true);
    if (chance(&s->r, 200)) tr_stop_children_together(ctx, true);
    dir_add(tr_self(ctx), r, D_WORKER, R(r)->protect, 0);
    rearm_tick(ctx, s);
    if (a.flags & WF_ANCHOR) {
        for (int i = 0; i < 3; i++)
            op_spawn(ctx, s);
        op_spawn_sup(ctx, s);
    }
    cb_exit(r);
    return 0;
}

static int w_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    wstate *s = st;
    if (!s->rec) {
        violation("handle before init (or without a record)");
        return 0;
    }
    uint32_t r = s->rec;
    cb_enter(r);
    if (atomic_load(&R(r)->phase) != PH_LIVE)
        violation("record %u: handle in phase %u", r, atomic_load(&R(r)->phase));
    int rc = 0;
    tr_atom t = tr_msg_type(m);
    uint64_t ref = tr_msg_ref(m).id;
    if (tr_msg_is_request(m)) {
        if (tr_atom_eq(t, A_Q))
            rc = got_request(ctx, s, m);
        else
            violation("a request of type \"%s\"", tr_atom_name(t));
    } else if (ref) {
        int k = FIND(s->calls, ref);
        if (k >= 0) {
            got_answer(ctx, s, k, m);
        } else if (tr_atom_eq(t, tr_down_atom()) && (k = FIND(s->mons, ref)) >= 0) {
            got_down(s, k, m);
        } else {
            violation("record %u: a \"%s\" for no call or monitor of its own (ref %" PRIu64 ")", r,
                      tr_atom_name(t), ref);
        }
    } else if (tr_atom_eq(t, A_TICK)) {
        s->nticks++;
        if (atomic_load(&bk->draining))
            answer_deferred(ctx, s, true);
        else
            rc = op_random(ctx, s, NULL);
    } else if (tr_atom_eq(t, A_M)) {
        got_tracked(m, r, &s->f, true);
        if (chance(&s->r, 30))
            op_contracts(ctx, s, m);
        else if (chance(&s->r, 50))
            rc = op_random(ctx, s, m);
    } else if (tr_atom_eq(t, A_T) || tr_atom_eq(t, A_O)) {
        got_tracked(m, r, NULL, false);
    } else if (tr_atom_eq(t, A_POKE)) {
        rc = op_random(ctx, s, m);
    } else if (tr_atom_eq(t, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        if (tr_exit_decode(m, &who, &why) != TR_OK) violation("an undecodable tr.exit");
        if (!s->trap) violation("record %u: a tr.exit without trapping", r);
        if (bk->strict && why.kind == TR_EXIT_KILLED)
            violation("a kill in a strict epoch (tr.exit)");
        for (int i = 0; i < NKID; i++) {
            if (!tr_pid_eq(s->kids[i].pid, who)) continue;
            uint32_t c = s->kids[i].rec;
            if (why.kind == TR_EXIT_NOPROC) { /* a link made after its end: not its exit */
                if (c && atomic_load(&R(c)->phase) != PH_ENDED)
                    violation("tr.exit noproc of record %u before its end", c);
                break;
            }
            s->kids[i].pid = TR_PID_NIL;
            expect_met(s->kids[i].x, X_DONE);
            s->kids[i].x = 0;
            if (!c) break;
            if (atomic_load(&R(c)->phase) != PH_ENDED) {
                if (bk->strict || why.kind != TR_EXIT_KILLED) /* abandoned: counted killed */
                    violation("tr.exit of record %u before its end", c);
            } else if (why.kind != atomic_load(&R(c)->exit_kind) &&
                       (bk->strict || why.kind != TR_EXIT_KILLED)) {
                violation("tr.exit says %s, record %u ended %s", tr_exit_kind_name(why.kind), c,
                          tr_exit_kind_name((tr_exit_kind)atomic_load(&R(c)->exit_kind)));
            }
            break;
        }
        for (int i = 0; i < NLINK; i++)
            if (tr_pid_eq(s->links[i], who)) s->links[i] = TR_PID_NIL;
    } else if (tr_atom_eq(t, tr_started_atom())) {
        tr_pid who;
        tr_start_status st2;
        tr_exit why;
        if (tr_started_decode(m, &who, &st2, &why) != TR_OK) violation("an undecodable tr.started");
        int k = -1;
        for (int i = 0; i < NSTART; i++)
            if (tr_pid_eq(s->starts[i].pid, who)) k = i;
        if (k < 0) {
            violation("record %u: a tr.started for no spawn of its own", r);
        } else {
            uint32_t c = s->starts[k].rec;
            s->starts[k].pid = TR_PID_NIL;
            expect_met(s->starts[k].x, X_DONE);
            s->starts[k].x = 0;
            uint8_t want = atomic_load(&R(c)->start);
            if ((st2 == TR_START_OK) != (want == START_OK) ||
                (st2 == TR_START_IGNORED) != (want == START_IGNORED))
                violation("record %u: tr.started says %d, its init said %u", c, (int)st2, want);
        }
    } else if (tr_atom_eq(t, A_U)) {
        /* untracked */
    } else {
        violation("record %u: an unexpected \"%s\"", r, tr_atom_name(t));
    }
    cb_exit(r);
    return rc;
}

/* Every record under `r`, through supervisors, has ended (strict). */
static void check_subtree_ended(uint32_t r, uint32_t top, int depth)
{
    for (uint32_t c = atomic_load(&R(r)->first_child); c; c = atomic_load(&R(c)->next_sib)) {
        if (R(c)->kind == K_SUP) {
            if (depth < 16) check_subtree_ended(c, top, depth + 1);
        } else if (atomic_load(&R(c)->phase) != PH_ENDED) {
            violation("record %u terminated before its descendant %u ended (phase %u)", top, c,
                      atomic_load(&R(c)->phase));
        }
    }
}

static void w_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    wstate *s = st;
    uint32_t r = s->rec;
    if (!r) {
        violation("terminate without init");
        return;
    }
    cb_enter(r);
    if (atomic_fetch_add(&R(r)->terms, 1) != 0) violation("record %u: terminate again", r);
    if (atomic_load(&R(r)->phase) != PH_LIVE)
        violation("record %u: terminate in phase %u", r, atomic_load(&R(r)->phase));
    if (bk->strict && why->kind == TR_EXIT_KILLED)
        violation("a kill in a strict epoch (terminate)");
    if (s->intent && why->kind != s->intent_kind && (bk->strict || why->kind != TR_EXIT_KILLED))
        violation("record %u asked to end %s and terminate says %s", r,
                  tr_exit_kind_name((tr_exit_kind)s->intent_kind), tr_exit_kind_name(why->kind));
    if (!s->intent && bk->strict && why->kind != TR_EXIT_SHUTDOWN && why->kind != TR_EXIT_FAILURE &&
        why->kind != TR_EXIT_TIMEOUT)
        violation("record %u ended %s without asking", r, tr_exit_kind_name(why->kind));
    if ((why->kind == TR_EXIT_NORMAL) != (why->text == NULL) && why->kind == TR_EXIT_NORMAL)
        violation("a normal end with a text: %s", why->text);
    /* Its children first. */
    if (bk->strict) {
        check_subtree_ended(r, r, 0);
    } else {
        for (uint32_t c = atomic_load(&R(r)->first_child); c; c = atomic_load(&R(c)->next_sib))
            if (R(c)->kind == K_WORKER && atomic_load(&R(c)->phase) != PH_ENDED)
                atomic_store(&R(c)->outlived, 1); /* must have been abandoned */
    }
    /* A last word (terminate may send): from an abandoned actor it must
     * still be accepted and become a dead letter. */
    if (chance(&s->r, 200)) {
        if (!bk->strict && chance(&s->r, 300)) busy(&s->r);
        op_send(ctx, s, 1);
    }
    /* What it awaited dies with it. */
    for (int i = 0; i < NCALL; i++)
        if (s->calls[i].ref) call_answered(s->calls[i].id, C_GONE);
    for (int i = 0; i < NKID; i++)
        expect_met(s->kids[i].x, X_GONE);
    for (int i = 0; i < NSTART; i++)
        expect_met(s->starts[i].x, X_GONE);
    for (int i = 0; i < NMON; i++)
        if (s->mons[i].ref && !mon_to(s->mons[i].id, MO_ACTIVE, MO_GONE))
            violation("monitor %u still held in state %u", s->mons[i].id,
                      atomic_load(&bk->mons[s->mons[i].id].st));
    /* Outliving its parent is for the abandoned only: read the facts
     * first, then ask (the parent abandons before it goes on). */
    bool outlived = atomic_load(&R(r)->outlived) || (R(s->parent)->kind == K_WORKER &&
                                                     atomic_load(&R(s->parent)->phase) == PH_ENDED);
    bool aband = abandoned(ctx);
    if (aband) atomic_fetch_add(&bk->n_abandoned, 1);
    if (bk->strict && aband) violation("record %u abandoned in a strict epoch", r);
    if (outlived && !aband) violation("record %u outlived its parent without being abandoned", r);
    atomic_store(&R(r)->exit_kind, aband ? TR_EXIT_KILLED : why->kind);
    if (s->slot) atomic_fetch_sub(&bk->slots[s->slot].live, 1);
    atomic_fetch_sub(&bk->live_workers, 1);
    atomic_store(&R(r)->phase, PH_ENDED);
    cb_exit(r);
}

const tr_behaviour worker_b = {"w", sizeof(wstate), w_init, w_handle, w_terminate};
