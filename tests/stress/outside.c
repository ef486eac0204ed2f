/* outside.c — the stress test's non-actor threads: each drives the
 * system through the API for threads (sends, timed sends, call_sync, the
 * *_sync supervisor requests, inbox monitors, top-level spawns and stops,
 * inspection) from its own inbox; and the dead-letter subscriber, which
 * tells the ledger what became a dead letter, and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"
#include "testutil.h"

static void outside_got(outside *o, const tr_msg *m)
{
    tr_atom t = tr_msg_type(m);
    if (tr_msg_is_request(m)) {
        qmsg q;
        if (!tr_atom_eq(t, A_Q) || tr_msg_size(m) != sizeof q) return; /* e.g. an inspection */
        memcpy(&q, tr_msg_data(m), sizeof q);
        int rc = tr_inbox_reply(o->in, m, A_REP, &q.call, sizeof q.call);
        if (rc != TR_OK) violation("tr_inbox_reply: %s", tr_strerror(rc));
    } else if (tr_atom_eq(t, A_M)) {
        got_tracked(m, o->rec, &o->f, true);
    } else if (tr_atom_eq(t, A_T)) {
        got_tracked(m, o->rec, NULL, false);
    } else if (tr_atom_eq(t, tr_down_atom())) {
        int k = FIND(o->mons, tr_msg_ref(m).id);
        if (k < 0) {
            violation("an inbox got a tr.down for no monitor of its own");
            return;
        }
        uint32_t id = o->mons[k].id;
        o->mons[k].ref = 0;
        mon_fired(id, m);
    } else if (!tr_atom_eq(t, A_U)) {
        violation("an inbox got an unexpected \"%s\"", tr_atom_name(t));
    }
}

static void outside_drain(outside *o, int64_t wait_ms)
{
    const tr_msg *m;
    while (tr_inbox_recv(o->in, &m, wait_ms) == TR_OK) {
        outside_got(o, m);
        wait_ms = 0;
    }
}

static void outside_send(outside *o)
{
    dent to;
    if (!dir_pick(&o->r, D_WORKER | D_INBOX, &to)) return;
    uint32_t id = mark_new();
    if (!id) return;
    umsg h = {id, o->rec, to.rec, 0, ++o->seq};
    unsigned char buf[UMSG_MAX];
    size_t n = umsg_fill(&o->r, h, buf);
    int rc;
    uint32_t how = below(&o->r, 5);
    if (how == 0) {
        rc = tr_inbox_send(o->in, to.pid, A_M, buf, n);
    } else if (how == 1) {
        tr_msg *m = NULL;
        rc = tr_msg_new(A_M, n, &m);
        if (rc == TR_OK) {
            memcpy(tr_msg_buffer(m), buf, n);
            rc = tr_system_send_msg(bk->sys, to.pid, &m);
        }
    } else if (how == 2) {
        /* a blocking mailbox makes us wait this long at most */
        rc = tr_system_send_timed(bk->sys, to.pid, A_M, buf, n, below(&o->r, 4));
    } else {
        rc = tr_system_send(bk->sys, to.pid, A_M, buf, n);
    }
    mark(id, rc == TR_OK ? M_ACCEPTED : M_REFUSED);
    if (rc != TR_OK && rc != TR_EFULL && rc != TR_ETIMEDOUT)
        violation("a send from outside: %s", tr_strerror(rc));
}

static void outside_call(outside *o)
{
    dent to;
    if (!dir_pick(&o->r, D_WORKER | D_SUP | D_INBOX, &to)) return;
    int64_t timeout = 1 + below(&o->r, 30);
    uint32_t id = call_new(o->rec, OP_CALL, to, tr_system_now_ms(bk->sys), timeout);
    if (!id) return;
    call_pending(id);
    qmsg q = {id, 0};
    tr_msg *reply = NULL;
    int rc = tr_call_sync(bk->sys, to.pid, A_Q, &q, sizeof q, timeout, &reply);
    call_answered(id, C_DONE);
    if (rc == TR_OK) {
        uint32_t got = 0;
        if (tr_msg_is(reply, A_REP) && tr_msg_size(reply) == sizeof got)
            memcpy(&got, tr_msg_data(reply), sizeof got);
        else if (tr_msg_is(reply, A_SUP_ANSWER) && to.kind == D_SUP)
            got = id;
        if (got != id)
            violation("call_sync %u answered by %s for %u", id, tr_atom_name(tr_msg_type(reply)),
                      got);
    } else if (rc == TR_ENOENT) {
        if (!reply || !tr_msg_is(reply, tr_down_atom()))
            violation("call_sync: TR_ENOENT without its tr.down");
    } else if (rc != TR_ETIMEDOUT && rc != TR_EFULL) {
        violation("tr_call_sync: %s", tr_strerror(rc));
    }
    tr_msg_destroy(&reply);
}

static bool sup_rc_ok(uint8_t op, int rc)
{
    if (rc == TR_ETIMEDOUT || rc == TR_ENOENT || rc == TR_EBUSY || rc == TR_ESTOPPED) return true;
    switch (op) {
    case OP_START: return rc == TR_OK || rc == TR_EEXIST || rc == TR_EPRESENT || rc == TR_EFAILED;
    case OP_RESTART: return rc == TR_OK || rc == TR_EFAILED || rc == TR_EEXIST; /* name taken */
    default: return rc == TR_OK;
    }
}

static void outside_sup(outside *o)
{
    dent d;
    if (!dir_pick(&o->r, D_SUP, &d)) return;
    bool simple = d.strategy == TR_SIMPLE_ONE_FOR_ONE;
    uint8_t op = (uint8_t)(OP_WHICH + below(&o->r, 6));
    if (simple && (op == OP_RESTART || op == OP_DELETE)) op = OP_WHICH;
    if (op == OP_START &&
        (!room_for_records() || (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live))
        op = OP_COUNT;
    int64_t tmo = 5 + below(&o->r, 100);
    char cid[8];
    snprintf(cid, sizeof cid, "%c%u", chance(&o->r, 500) ? 'c' : 'd', below(&o->r, 4));
    if (op == OP_DELETE && cid[0] == 'c' && (R(d.rec)->supmask >> (cid[1] - '0') & 1)) cid[0] = 'd';
    int rc;
    atomic_store(&o->doing, op_names[op]);
    switch (op) {
    case OP_WHICH: {
        tr_child_info info[16];
        size_t n = 0;
        rc = tr_sup_which_children_sync(bk->sys, d.pid, info, 16, &n, tmo);
        if (rc == TR_OK) check_which(d.rec, info, n < 16 ? n : 16);
        break;
    }
    case OP_COUNT: {
        tr_child_counts k;
        rc = tr_sup_count_children_sync(bk->sys, d.pid, &k, tmo);
        if (rc == TR_OK) check_counts(d.rec, &k);
        break;
    }
    case OP_START: {
        wargs a = child_args(&o->r, d.rec, 3, d.protect);
        uint64_t extra = rnd(&o->r);
        tr_child_spec c = {.id = cid,
                           .behaviour = &worker_b,
                           .args = &a,
                           .args_size = sizeof a,
                           .restart = (tr_restart)below(&o->r, 3),
                           .shutdown_ms = random_shutdown(&o->r)};
        if (simple) c = (tr_child_spec){.args = &extra, .args_size = sizeof extra};
        tr_pid pid;
        rc = tr_sup_start_child_sync(bk->sys, d.pid, &c, tmo, &pid);
        if (rc == TR_EEXIST && tr_pid_is_nil(pid))
            violation("start_child_sync: EEXIST without its pid");
        break;
    }
    case OP_TERMINATE: {
        dent w;
        tr_pid victim = simple && dir_pick(&o->r, D_WORKER, &w) ? w.pid : TR_PID_NIL;
        rc = tr_sup_terminate_child_sync(bk->sys, d.pid, simple ? NULL : cid, victim, tmo);
        if (simple && tr_pid_is_nil(victim) && rc == TR_ENOENT) rc = TR_OK;
        break;
    }
    case OP_RESTART: rc = tr_sup_restart_child_sync(bk->sys, d.pid, cid, tmo, NULL); break;
    default: rc = tr_sup_delete_child_sync(bk->sys, d.pid, cid, tmo); break;
    }
    if (!sup_rc_ok(op, rc)) violation("tr_sup_%s_child_sync: %s", op_names[op], tr_strerror(rc));
}

static void outside_monitor(outside *o)
{
    int k = FREE(o->mons);
    dent to;
    if (k < 0 || !dir_pick(&o->r, D_WORKER | D_SUP, &to)) return;
    uint32_t id = mon_new(o->rec, to.kind == D_WORKER ? to.rec : 0);
    if (!id) return;
    atomic_store(&bk->mons[id].st, MO_ACTIVE);
    tr_ref ref;
    int rc = tr_inbox_monitor(o->in, to.pid, &ref);
    if (rc != TR_OK) {
        atomic_store(&bk->mons[id].st, MO_FREE);
        violation("tr_inbox_monitor: %s", tr_strerror(rc));
        return;
    }
    o->mons[k].ref = ref.id;
    o->mons[k].id = id;
}

static void outside_demonitor(outside *o)
{
    int k = (int)below(&o->r, NMON);
    if (o->mons[k].ref == 0) {
        int rc = tr_inbox_demonitor(o->in, (tr_ref){(uint64_t)1 << 62});
        if (rc != TR_ENOENT) violation("tr_inbox_demonitor of no monitor: %s", tr_strerror(rc));
        return;
    }
    int rc = tr_inbox_demonitor(o->in, (tr_ref){o->mons[k].ref});
    if (rc != TR_OK)
        violation("tr_inbox_demonitor: %s", tr_strerror(rc));
    else if (!mon_to(o->mons[k].id, MO_ACTIVE, MO_DEMONITORED))
        violation("inbox monitor %u demonitored in state %u", o->mons[k].id,
                  atomic_load(&bk->mons[o->mons[k].id].st));
    o->mons[k].ref = 0;
}

/* Top level from outside: an anchor or a supervisor that never gives up
 * (a failure there would end the run), or a stop of one of them. */
static void outside_top(outside *o)
{
    int k = (int)below(&o->r, NEXTRA);
    if (!tr_pid_is_nil(o->extras[k])) {
        atomic_store(&o->doing, "stop_child");
        int rc = tr_system_stop_child(bk->sys, o->extras[k]);
        if (rc != TR_OK) violation("tr_system_stop_child: %s", tr_strerror(rc));
        o->extras[k] = TR_PID_NIL;
        return;
    }
    if (!room_for_records() || (uint32_t)atomic_load(&bk->live_workers) >= bk->max_live) return;
    if (chance(&o->r, 500)) {
        uint32_t r = rec_new(K_WORKER, 0);
        if (!r) return;
        wargs a;
        tr_spawn_opts so = anchor_opts(&o->r, &a, r);
        atomic_store(&o->doing, "system_spawn");
        int rc = tr_system_spawn(bk->sys, &worker_b, &so, &o->extras[k]);
        if (rc != TR_OK) {
            R(r)->kind = K_FREE;
            violation("tr_system_spawn: %s", tr_strerror(rc));
        }
    } else {
        uint32_t r = rec_new(K_SUP, 0);
        if (!r) return;
        R(r)->protect = 1;
        spec_buf b;
        build_spec(&o->r, &b, r, 1, true, NULL);
        char why[256] = "";
        atomic_store(&o->doing, "supervisor_start");
        int rc =
            tr_supervisor_start(bk->sys, &b.spec, NULL, T_WAIT_MS, &o->extras[k], why, sizeof why);
        if (rc != TR_OK)
            violation("tr_supervisor_start: %s (%s)", tr_strerror(rc), why);
        else
            dir_add(o->extras[k], r, D_SUP, 1, (uint8_t)b.spec.strategy);
    }
}

static void outside_inspect(outside *o)
{
    dent d;
    if (!dir_pick(&o->r, D_WORKER | D_SUP, &d)) return;
    tr_actor_info info;
    int rc = tr_system_inspect(bk->sys, d.pid, &info, 5 + below(&o->r, 50));
    if (rc == TR_OK) {
        if (!tr_pid_eq(info.pid, d.pid)) violation("tr_system_inspect answered for another pid");
        if (d.kind == D_WORKER && info.capacity != R(d.rec)->capacity)
            violation("tr_system_inspect: capacity %u, spawned with %u", info.capacity,
                      R(d.rec)->capacity);
    } else if (rc != TR_ENOENT && rc != TR_ETIMEDOUT) {
        violation("tr_system_inspect: %s", tr_strerror(rc));
    }
}

void *outside_main(void *arg)
{
    outside *o = arg;
    if (tr_inbox_new(bk->sys, &o->in) != TR_OK) {
        violation("tr_inbox_new failed");
        atomic_store(&o->done, true);
        return NULL;
    }
    o->rec = rec_new(K_INBOX, 0);
    if (o->rec) dir_add(tr_inbox_pid(o->in), o->rec, D_INBOX, 0, 0);
    while (o->rec && !atomic_load(&bk->draining)) {
        outside_drain(o, 0);
        uint32_t x = below(&o->r, 1000);
        atomic_store(&o->doing, "op");
        if (x < 300) {
            atomic_store(&o->doing, "send");
            outside_send(o);
        } else if (x < 400) {
            atomic_store(&o->doing, "call_sync");
            outside_call(o);
        } else if (x < 520) {
            outside_sup(o);
        } else if (x < 600) {
            outside_monitor(o);
        } else if (x < 640) {
            outside_demonitor(o);
        } else if (x < 700) {
            dent d;
            if (dir_pick(&o->r, D_WORKER, &d)) tr_system_send(bk->sys, d.pid, A_POKE, NULL, 0);
        } else if (x < 730) {
            outside_top(o);
        } else if (x < 770) {
            atomic_store(&o->doing, "inspect");
            outside_inspect(o);
        } else if (x < 790) {
            dent d; /* not a child of the root: ignored */
            if (dir_pick(&o->r, D_WORKER, &d) && R(d.rec)->parent) {
                int rc = tr_system_stop_child(bk->sys, d.pid);
                if (rc != TR_OK)
                    violation("tr_system_stop_child of a non-child: %s", tr_strerror(rc));
            }
        } else {
            tr_system_stats st;
            if (tr_system_get_stats(bk->sys, &st) != TR_OK) violation("tr_system_get_stats");
        }
        atomic_store(&o->doing, "recv");
        outside_drain(o, below(&o->r, 2)); /* paces the thread on its own inbox */
    }
    if (o->in) {
        outside_drain(o, 0);
        for (int i = 0; i < NMON; i++)
            if (o->mons[i].ref && !mon_to(o->mons[i].id, MO_ACTIVE, MO_GONE))
                violation("inbox monitor %u held in state %u", o->mons[i].id,
                          atomic_load(&bk->mons[o->mons[i].id].st));
        tr_inbox_destroy(&o->in); /* what is left becomes dead letters */
    }
    atomic_store(&o->doing, "done");
    atomic_store(&o->done, true);
    return NULL;
}

/* =================================================== the dead letters */

static void dl_got(const tr_msg *m)
{
    tr_dead_letter dl;
    if (tr_dead_letter_decode(m, &dl) != TR_OK) {
        violation("the subscriber got a \"%s\"", tr_atom_name(tr_msg_type(m)));
        return;
    }
    bool is_m = tr_atom_eq(dl.type, A_M), is_t = tr_atom_eq(dl.type, A_T),
         is_o = tr_atom_eq(dl.type, A_O);
    if (!is_m && !is_t && !is_o) return;
    umsg h;
    if (!umsg_read(dl.data, dl.size, &h)) {
        violation("a dead letter \"%s\" arrived corrupt", tr_atom_name(dl.type));
        return;
    }
    uint8_t old = mark(h.id, M_DEAD);
    if (old & (M_HANDLED | M_DEAD))
        violation("message %u (%s) a dead letter after it was %s", h.id, tr_atom_name(dl.type),
                  old & M_HANDLED ? "handled" : "a dead letter");
    /* a job's result is an answer: never dropped by a full mailbox */
    bool ok = dl.reason == TR_DEAD_NO_ACTOR || dl.reason == TR_DEAD_STOPPING ||
              dl.reason == TR_DEAD_ABANDONED || (!is_o && dl.reason == TR_DEAD_MAILBOX_FULL);
    if (!ok) violation("message %u a dead letter for \"%s\"", h.id, tr_dead_reason_name(dl.reason));
    if (is_m && dl.reason == TR_DEAD_MAILBOX_FULL && h.to && R(h.to)->kind == K_WORKER &&
        R(h.to)->policy != TR_FULL_DROP_NEWEST && R(h.to)->policy != TR_FULL_DROP_OLDEST)
        violation("message %u dropped by a mailbox of policy %u", h.id, R(h.to)->policy);
}

void *dl_main(void *arg)
{
    dl_thread *d = arg;
    tr_inbox *in = NULL;
    if (tr_inbox_new(bk->sys, &in) != TR_OK ||
        tr_system_dead_letters_to(bk->sys, tr_inbox_pid(in)) != TR_OK) {
        violation("cannot subscribe to dead letters");
        tr_inbox_destroy(&in);
        atomic_store(&d->ready, true);
        return NULL;
    }
    atomic_store(&d->ready, true);
    const tr_msg *m;
    for (;;) {
        int rc = tr_inbox_recv(in, &m, 2);
        if (rc == TR_OK) {
            dl_got(m);
            atomic_fetch_add(&d->seen, 1);
        } else if (atomic_load(&d->stop)) {
            break;
        }
    }
    while (tr_inbox_recv(in, &m, 0) == TR_OK)
        dl_got(m);
    tr_system_dead_letters_to(bk->sys, TR_PID_NIL);
    tr_inbox_destroy(&in);
    return NULL;
}
