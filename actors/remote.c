/* remote.c — the core's side of the transport seam (transport.h): handing
 * messages for other nodes to the transport, and taking theirs in. */
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct tri_transport_ref {
    const tri_transport_ops *ops;
    void *t;
    char *name;
};

int tri_transport_attach(tr_system *sys, const tri_transport_ops *ops, void *t, const char *name)
{
    struct tri_transport_ref *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name ? name : ""))) {
        free(r);
        return TR_ENOMEM;
    }
    r->ops = ops;
    r->t = t;
    struct tri_transport_ref *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&sys->transport, &none, r, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(r->name);
        free(r);
        return TR_ESTATE;
    }
    return TR_OK;
}

const char *tri_node_name(const tr_system *sys)
{
    struct tri_transport_ref *r =
        atomic_load_explicit((_Atomic(struct tri_transport_ref *) *)&sys->transport,
                             memory_order_acquire);
    return r ? r->name : NULL;
}

int tri_remote_send(tr_system *sys, tr_pid to, tr_msg *m)
{
    struct tri_transport_ref *r = atomic_load_explicit(&sys->transport, memory_order_acquire);
    if (!r) {
        tri_msg_free(m);
        return TR_ENOROUTE; /* not a node: no pid of another node is reachable */
    }
    return r->ops->send(r->t, to, m);
}

int tri_remote_send_named(tr_system *sys, const char *node, const char *name, tr_msg *m)
{
    struct tri_transport_ref *r = atomic_load_explicit(&sys->transport, memory_order_acquire);
    if (!r) {
        tri_msg_free(m);
        return TR_ENOROUTE;
    }
    return r->ops->send_named(r->t, node, name, m);
}

void tri_deliver_remote(tr_system *sys, tr_pid to, tr_msg *m)
{
    m->dest_serial = to.serial;
    if (m->kind == TRI_MSG_USER) {
        tri_deliver_nowait(sys, to, m);
        return;
    }
    tri_actor *a = tri_slot_lookup(sys, to.slot);
    if (!a || a->kind != TRI_SLOT_ACTOR ||
        atomic_load_explicit(&a->serial, memory_order_acquire) != to.serial) {
        tri_signal_dead(sys, m, to, TR_EXIT_NOPROC);
        tri_msg_free(m);
        return;
    }
    tri_push(sys, a, m);
}

void tri_deliver_named(tr_system *sys, const char *name, tr_msg *m)
{
    tr_pid to;
    if (tr_whereis(sys, name, &to) != TR_OK) {
        tri_count(sys, TRI_N_SENT);
        /* answered (a request: "tr.down") by nobody: a nil pid */
        tri_dead_letter_to(sys, m, TR_PID_NIL, TR_DEAD_NO_ACTOR);
        tri_msg_free(m);
        return;
    }
    tri_deliver_remote(sys, to, m);
}

int tri_transport_node_id(tr_system *sys, const char *name, uint32_t *id)
{
    struct tri_transport_ref *r = atomic_load_explicit(&sys->transport, memory_order_acquire);
    if (!r) return TR_ENOROUTE;
    return r->ops->node_id(r->t, name, id);
}

void tri_transport_stop(tr_system *sys)
{
    struct tri_transport_ref *r = atomic_load_explicit(&sys->transport, memory_order_acquire);
    if (r && r->ops->stop) r->ops->stop(r->t);
}

void *tri_transport_ctx(tr_system *sys, const tri_transport_ops *ops)
{
    struct tri_transport_ref *r = atomic_load_explicit(&sys->transport, memory_order_acquire);
    return r && r->ops == ops ? r->t : NULL;
}

void tri_transport_destroy(tr_system *sys)
{
    struct tri_transport_ref *r = atomic_exchange_explicit(&sys->transport, NULL,
                                                           memory_order_acq_rel);
    if (!r) return;
    if (r->ops->destroy) r->ops->destroy(r->t);
    free(r->name);
    free(r);
}
