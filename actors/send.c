/* send.c — getting a message into a mailbox, and dead letters. */
#include "core.h"
#include "pool.h"
#include "troupe/error.h"

#include <string.h>

void tri_dead_letter(tr_system *sys, tr_msg *m, uint32_t slot)
{
    if (m->kind != TRI_MSG_USER) { /* the runtime's own: not a letter */
        tri_signal_dead(sys, m, slot); /* but a monitor or link is answered */
        return;
    }
    tri_count(sys, TRI_N_DEAD);
    if (m->call == TRI_CALL_REQUEST) tri_request_dead(sys, m, slot); /* "tr.down" at once */
    if (tri_log_enabled(TR_LOG_DEBUG))
        tri_log(TR_LOG_DEBUG, "dead letter: %s (%u bytes) to serial %llu", tr_atom_name(m->type),
                m->size, (unsigned long long)m->dest_serial);
}

void tri_push(tr_system *sys, tri_actor *a, tr_msg *m)
{
    if (tri_mailbox_push(&a->mb, &m->node)) tri_schedule(sys, a);
}

/* Takes ownership of m in every case. */
int tri_deliver(tr_system *sys, tr_pid to, tr_msg *m)
{
    if (TRI_UNLIKELY(to.serial == 0)) {
        tri_msg_free(m);
        return TR_EINVAL;
    }
    if (TRI_UNLIKELY(to.node != sys->node)) {
        tri_msg_free(m);
        return TR_ENOROUTE;
    }
    tri_actor *a = tri_slot_lookup(sys, to.slot);
    m->dest_serial = to.serial;
    tri_count(sys, TRI_N_SENT);
    /* Fast path for an actor known to be gone; one that ends after this
     * check gets the message dropped by its mailbox's consumer instead. */
    if (TRI_UNLIKELY(!a || atomic_load_explicit(&a->serial, memory_order_relaxed) != to.serial)) {
        tri_dead_letter(sys, m, to.slot);
        tri_msg_free(m);
        return TR_OK;
    }
    tri_push(sys, a, m);
    return TR_OK;
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
                     size_t size)
{
    if (type.id == 0 || (size && !data)) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->sender = from;
    return tri_deliver(sys, to, m);
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

int tr_send(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size)
{
    tri_actor *a = (tri_actor *)ctx;
    return send_copy(a->sys, tri_pid_of(a), to, type, data, size);
}

int tr_send_msg(tr_ctx *ctx, tr_pid to, tr_msg **msg)
{
    tri_actor *a = (tri_actor *)ctx;
    return send_owned(a->sys, tri_pid_of(a), to, msg);
}

int tr_system_send(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size)
{
    return send_copy(sys, TR_PID_NIL, to, type, data, size);
}

int tr_system_send_msg(tr_system *sys, tr_pid to, tr_msg **msg)
{
    return send_owned(sys, TR_PID_NIL, to, msg);
}

/* For inbox.c: a send whose sender is an inbox. */
int tri_send_from(tr_system *sys, tr_pid from, tr_pid to, tr_atom type, const void *data,
                  size_t size)
{
    return send_copy(sys, from, to, type, data, size);
}
