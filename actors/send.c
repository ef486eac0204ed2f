/* send.c — getting a message into a mailbox: bounded mailboxes, dead
 * letters and their subscriber. */
#include <string.h>

#include "core.h"
#include "pool.h"
#include "troupe/error.h"

static tr_atom dead_letter_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.dead_letter");
}

struct dl_head {
    tr_pid to, from;
    tr_atom type;
    uint32_t size;
    uint32_t reason;
    uint32_t pad;
};

const char *tr_dead_reason_name(tr_dead_reason r)
{
    switch (r) {
    case TR_DEAD_NO_ACTOR: return "no actor";
    case TR_DEAD_STOPPING: return "stopping";
    case TR_DEAD_MAILBOX_FULL: return "mailbox full";
    case TR_DEAD_NODE_DOWN: return "node down";
    case TR_DEAD_NO_ROUTE: return "no route";
    case TR_DEAD_TOO_BIG: return "too big";
    case TR_DEAD_PEER_FULL: return "peer queue full";
    case TR_DEAD_ABANDONED: return "abandoned";
    }
    return "unknown";
}

/* Forwards a copy to the subscriber, if any (never a dead letter of a
 * dead letter: that could loop). */
static void forward_dead_letter(tr_system *sys, const tr_msg *m, tr_pid to,
                                tr_dead_reason reason)
{
    if (!atomic_load_explicit(&sys->dl_on, memory_order_acquire) ||
        m->type.id == dead_letter_atom().id)
        return;
    pthread_mutex_lock(&sys->dl_mu);
    tr_pid sub = sys->dl_to;
    pthread_mutex_unlock(&sys->dl_mu);
    if (tr_pid_is_nil(sub)) return;
    struct dl_head h = {to, m->sender, m->type, m->size, (uint32_t)reason, 0};
    tr_msg *c = tri_msg_alloc(TRI_MSG_USER, dead_letter_atom(), sizeof h + m->size);
    if (!c) return;
    memcpy(c->data, &h, sizeof h);
    if (m->size) memcpy((char *)c->data + sizeof h, m->data, m->size);
    tri_deliver(sys, sub, c);
}

void tri_dead_letter_to(tr_system *sys, tr_msg *m, tr_pid to, tr_dead_reason reason)
{
    /* What a dead receiver would have answered: "down" for a monitor or a
     * request, an exit signal for a link; noproc for an actor that is not
     * there, noconnection for one whose node is not reachable. */
    tr_exit_kind why = reason == TR_DEAD_NODE_DOWN || reason == TR_DEAD_NO_ROUTE ||
                               reason == TR_DEAD_PEER_FULL || reason == TR_DEAD_TOO_BIG
                           ? TR_EXIT_NOCONNECTION
                           : TR_EXIT_NOPROC;
    if (m->kind != TRI_MSG_USER) { /* the runtime's own: not a letter */
        tri_signal_dead(sys, m, to, why); /* but a monitor or link is answered */
        return;
    }
    tri_count(sys, TRI_N_DEAD);
    if (m->call == TRI_CALL_REQUEST) tri_request_dead(sys, m, to, why); /* "tr.down" at once */
    forward_dead_letter(sys, m, to, reason);
    if (tri_log_enabled(TR_LOG_DEBUG))
        tri_log(TR_LOG_DEBUG, "dead letter (%s): %s (%u bytes) to <%u.%u.%llu>",
                tr_dead_reason_name(reason), tr_atom_name(m->type), m->size, to.node, to.slot,
                (unsigned long long)to.serial);
}

void tri_dead_letter(tr_system *sys, tr_msg *m, uint32_t slot)
{
    tri_dead_letter_to(sys, m, (tr_pid){sys->node, slot, m->dest_serial}, TR_DEAD_NO_ACTOR);
}

tr_err tr_system_dead_letters_to(tr_system *sys, tr_pid subscriber)
{
    if (!sys) return TR_EINVAL;
    pthread_mutex_lock(&sys->dl_mu);
    sys->dl_to = subscriber;
    atomic_store_explicit(&sys->dl_on, !tr_pid_is_nil(subscriber), memory_order_release);
    pthread_mutex_unlock(&sys->dl_mu);
    return TR_OK;
}

tr_err tr_dead_letter_decode(const tr_msg *msg, tr_dead_letter *out)
{
    struct dl_head h;
    if (!msg || !out || msg->type.id != dead_letter_atom().id || msg->size < sizeof h)
        return TR_EINVAL;
    memcpy(&h, msg->data, sizeof h);
    if (h.size != msg->size - sizeof h) return TR_EINVAL;
    out->to = h.to;
    out->from = h.from;
    out->type = h.type;
    out->size = h.size;
    out->reason = (tr_dead_reason)h.reason;
    out->data = h.size ? (const char *)msg->data + sizeof h : NULL;
    return TR_OK;
}

void tri_push(tr_system *sys, tri_actor *a, tr_msg *m)
{
    if (tri_mailbox_push(&a->mb, &m->node)) tri_schedule(sys, a);
}

/* ------------------------------------------------------ bounded mailboxes */

static void drop(tr_system *sys, tr_msg *m, uint32_t slot)
{
    atomic_fetch_add_explicit(&sys->dropped, 1, memory_order_relaxed);
    tri_dead_letter_to(sys, m, (tr_pid){sys->node, slot, m->dest_serial}, TR_DEAD_MAILBOX_FULL);
    tri_msg_free(m);
}

/* Waits until the mailbox of `a` has room or the deadline passes. */
static bool wait_room(tr_system *sys, tri_actor *a, uint32_t cap, int64_t timeout_ms)
{
    if (timeout_ms > 1000000000000) timeout_ms = -1; /* decades: as good as forever */
    int64_t end = timeout_ms < 0 ? 0 : tri_mono_ns() + timeout_ms * 1000000;
    pthread_mutex_lock(&sys->block_mu);
    atomic_fetch_add(&sys->blocked, 1);
    bool room = true;
    while (atomic_load(&a->mb_count) >= cap) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&sys->block_cv, &sys->block_mu);
            continue;
        }
        int64_t left = end - tri_mono_ns();
        if (left <= 0) {
            room = false;
            break;
        }
        struct timespec ts = tri_timespec_after(CLOCK_MONOTONIC, (left + 999999) / 1000000);
        pthread_cond_timedwait(&sys->block_cv, &sys->block_mu, &ts);
    }
    atomic_fetch_sub(&sys->blocked, 1);
    pthread_mutex_unlock(&sys->block_mu);
    return room;
}

/* Counts a message accepted for delivery (pushed, or dropped as a dead
 * letter): a refused send is not "sent". */
static inline void count_sent(tr_system *sys)
{
    tri_worker *w = tri_current_worker;
    if (w && w->sys == sys) {
        atomic_store_explicit(&w->n_sent,
                              atomic_load_explicit(&w->n_sent, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        tri_sent_in_turn(w);
    } else {
        atomic_fetch_add_explicit(&sys->sent, 1, memory_order_relaxed);
    }
}

/* Admits `m` into a bounded mailbox, or drops/rejects it. Returns TR_OK
 * when the message was taken care of (pushed or dropped), else an error
 * with `m` freed. The count covers the slot's queue, whichever incarnation
 * a message is for, so it is exact whatever races with a respawn. */
static int push_bounded(tr_system *sys, tri_actor *a, tr_msg *m, uint32_t bound, uint32_t slot,
                        int64_t timeout_ms)
{
    uint32_t cap = tri_bound_cap(bound), policy = tri_bound_policy(bound);
    for (;;) {
        uint32_t n = atomic_fetch_add_explicit(&a->mb_count, 1, memory_order_acq_rel);
        if (n < cap || policy == TR_FULL_DROP_OLDEST) break; /* oldest: the consumer drops */
        atomic_fetch_sub_explicit(&a->mb_count, 1, memory_order_acq_rel);
        if (policy == TR_FULL_DROP_NEWEST || timeout_ms == TRI_NO_WAIT) {
            /* the timer thread never blocks and never fails: it drops */
            count_sent(sys);
            drop(sys, m, slot);
            return TR_OK;
        }
        bool foreign = !tri_current_worker;
        if (policy == TR_FULL_FAIL || !foreign) {
            tri_msg_free(m);
            return TR_EFULL;
        }
        if (!wait_room(sys, a, cap, timeout_ms)) {
            tri_msg_free(m);
            return TR_ETIMEDOUT;
        }
    }
    m->counted = 1;
    count_sent(sys);
    tri_push(sys, a, m);
    return TR_OK;
}

/* Consumer side, for every user message popped: uncounts it, wakes blocked
 * senders, and says whether a drop-oldest mailbox must drop it. */
void tri_msg_popped(tri_actor *a, tr_msg *m, bool *dropit)
{
    *dropit = false;
    if (!m->counted) return;
    uint32_t n = atomic_fetch_sub_explicit(&a->mb_count, 1, memory_order_seq_cst);
    uint32_t bound = atomic_load_explicit(&a->bound, memory_order_relaxed);
    /* n was the depth: its peak, for introspection (the actor's own ext,
     * while it lives) */
    if (m->dest_serial == atomic_load_explicit(&a->live_serial, memory_order_relaxed) &&
        TRI_UNLIKELY(!a->ext || n > a->ext->peak_mailbox) && tri_ext(a) &&
        n > a->ext->peak_mailbox)
        a->ext->peak_mailbox = n;
    if (tri_bound_policy(bound) == TR_FULL_DROP_OLDEST && n > tri_bound_cap(bound) &&
        m->dest_serial == atomic_load_explicit(&a->live_serial, memory_order_relaxed))
        *dropit = true; /* more than capacity queued: this, the oldest, goes */
    tr_system *sys = a->sys;
    /* seq_cst, paired with the sender's increment of `blocked` before it
     * re-checks the count: either it sees our decrement or we see it */
    if (atomic_load_explicit(&sys->blocked, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&sys->block_mu);
        pthread_cond_broadcast(&sys->block_cv);
        pthread_mutex_unlock(&sys->block_mu);
    }
}

void tri_count_drop(tr_system *sys) { atomic_fetch_add_explicit(&sys->dropped, 1, memory_order_relaxed); }

/* ------------------------------------------------------------- delivery */

static int deliver(tr_system *sys, tr_pid to, tr_msg *m, int64_t timeout_ms)
{
    if (TRI_UNLIKELY(to.serial == 0)) {
        tri_msg_free(m);
        return TR_EINVAL;
    }
    if (TRI_UNLIKELY(to.node != sys->node)) {
        m->dest_serial = to.serial;
        int rc = tri_remote_send(sys, to, m);
        if (rc == TR_OK) count_sent(sys);
        return rc;
    }
    tri_actor *a = tri_slot_lookup(sys, to.slot);
    m->dest_serial = to.serial;
    /* Fast path for an actor known to be gone; one that ends after this
     * check gets the message dropped by its mailbox's consumer instead. */
    if (TRI_UNLIKELY(!a || atomic_load_explicit(&a->serial, memory_order_acquire) != to.serial)) {
        count_sent(sys);
        tri_dead_letter(sys, m, to.slot);
        tri_msg_free(m);
        return TR_OK;
    }
    uint32_t bound = atomic_load_explicit(&a->bound, memory_order_relaxed);
    /* Replies, "down"s and start notices are answers someone is waiting
     * for: a full mailbox must not turn them into a wait forever. An
     * inspection is the runtime's, and a full mailbox is when one looks. */
    if (TRI_UNLIKELY(bound != 0) && m->kind == TRI_MSG_USER && a->kind == TRI_SLOT_ACTOR &&
        m->call != TRI_CALL_REPLY && m->call != TRI_CALL_MONITOR && !m->exempt &&
        !(m->call == TRI_CALL_REQUEST && m->type.id == tr_inspect_atom().id))
        return push_bounded(sys, a, m, bound, to.slot, timeout_ms);
    count_sent(sys);
    tri_push(sys, a, m);
    return TR_OK;
}

/* Takes ownership of m in every case. */
int tri_deliver(tr_system *sys, tr_pid to, tr_msg *m) { return deliver(sys, to, m, -1); }

int tri_deliver_timed(tr_system *sys, tr_pid to, tr_msg *m, int64_t timeout_ms)
{
    return deliver(sys, to, m, timeout_ms < 0 ? -1 : timeout_ms);
}

int tri_deliver_nowait(tr_system *sys, tr_pid to, tr_msg *m)
{
    return deliver(sys, to, m, TRI_NO_WAIT);
}

int tri_send_sys(tr_system *sys, tri_actor *to, uint64_t serial, uint8_t kind,
                 const void *payload, size_t size)
{
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, payload, size);
    m->dest_serial = serial;
    tri_push(sys, to, m);
    return TR_OK;
}

static int send_copy(tr_system *sys, tr_pid from, tr_pid to, tr_atom type, const void *data,
                     size_t size, int64_t timeout_ms)
{
    if (type.id == 0 || (size && !data)) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->sender = from;
    return deliver(sys, to, m, timeout_ms);
}

static int send_owned(tr_system *sys, tr_pid from, tr_pid to, tr_msg **msg)
{
    if (!msg || !*msg) return TR_EINVAL;
    tr_msg *m = *msg;
    *msg = NULL;
    if (m->kind != TRI_MSG_USER || m->type.id == 0) {
        tri_msg_free(m);
        return TR_EINVAL;
    }
    m->sender = from;
    return tri_deliver(sys, to, m);
}

/* A send from an actor its parent has abandoned: accepted, and at once a
 * dead letter of reason "abandoned" (nothing it does after its deadline
 * takes effect), forwarded to a subscriber like any other. `m` (taken)
 * is NULL when nobody subscribes: then only the count is kept. */
static int muted_send(tri_actor *a, tr_pid to, tr_msg *m)
{
    tr_system *sys = a->sys;
    count_sent(sys);
    if (!m) {
        tri_count(sys, TRI_N_DEAD);
        return TR_OK;
    }
    m->sender = tri_pid_of(a);
    m->dest_serial = to.serial;
    tri_dead_letter_to(sys, m, to, TR_DEAD_ABANDONED); /* counts it */
    tri_msg_free(m);
    return TR_OK;
}

static bool dl_subscribed(tr_system *sys)
{
    return atomic_load_explicit(&sys->dl_on, memory_order_acquire);
}

/* tr_send (and, from registry.c, tr_send_named) from a ctx that is not
 * the running actor's: refused unless it is an abandoned actor's. */
int tri_muted_send(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size)
{
    tri_actor *a = tri_ctx_any(ctx);
    if (!a) return TR_ENOTACTOR;
    if (type.id == 0 || (size && !data) || tr_pid_is_nil(to)) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = dl_subscribed(a->sys) ? tri_msg_alloc(TRI_MSG_USER, type, size) : NULL;
    if (m && size) memcpy(m->data, data, size);
    return muted_send(a, to, m);
}

tr_err tr_send(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size)
{
    tri_actor *a = tri_ctx(ctx);
    if (TRI_UNLIKELY(!a)) return tri_muted_send(ctx, to, type, data, size);
    int rc = send_copy(a->sys, tri_pid_of(a), to, type, data, size, -1);
    if (rc == TR_OK) a->msgs_out++; /* a refused send was not sent */
    return rc;
}

tr_err tr_send_msg(tr_ctx *ctx, tr_pid to, tr_msg **msg)
{
    tri_actor *a = tri_ctx(ctx);
    if (TRI_UNLIKELY(!a)) {
        a = tri_ctx_any(ctx);
        if (!a) {
            if (msg) tr_msg_destroy(msg);
            return TR_ENOTACTOR;
        }
        if (!msg || !*msg) return TR_EINVAL;
        tr_msg *m = *msg;
        *msg = NULL;
        if (m->kind != TRI_MSG_USER || m->type.id == 0 || tr_pid_is_nil(to)) {
            tri_msg_free(m);
            return TR_EINVAL;
        }
        if (!dl_subscribed(a->sys)) {
            tri_msg_free(m);
            m = NULL;
        }
        return muted_send(a, to, m);
    }
    int rc = send_owned(a->sys, tri_pid_of(a), to, msg);
    if (rc == TR_OK) a->msgs_out++;
    return rc;
}

tr_err tr_system_send(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size)
{
    if (!sys) return TR_EINVAL;
    return send_copy(sys, TR_PID_NIL, to, type, data, size, -1);
}

tr_err tr_system_send_timed(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size,
                         int64_t timeout_ms)
{
    if (!sys) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR;
    return send_copy(sys, TR_PID_NIL, to, type, data, size, timeout_ms < 0 ? -1 : timeout_ms);
}

tr_err tr_system_send_msg(tr_system *sys, tr_pid to, tr_msg **msg)
{
    if (!sys) {
        if (msg) tr_msg_destroy(msg);
        return TR_EINVAL;
    }
    return send_owned(sys, TR_PID_NIL, to, msg);
}

/* For inbox.c: a send whose sender is an inbox. */
int tri_send_from(tr_system *sys, tr_pid from, tr_pid to, tr_atom type, const void *data,
                  size_t size)
{
    return send_copy(sys, from, to, type, data, size, -1);
}
