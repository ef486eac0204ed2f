/* inspect.c — answering "tr.inspect" from inside the actor's own turn. */
#include <string.h>

#include "core.h"
#include "hooks.h"

tr_atom tr_inspect_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.inspect");
}

static tr_atom info_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.info");
}

/* Only the consumer may walk its queue: nodes after the tail are freed by
 * no one else. The tail itself is the message being handled. */
static uint64_t queued(tri_actor *a)
{
    uint64_t n = 0;
    for (tri_node *p = atomic_load_explicit(&a->mb.tail->next, memory_order_acquire); p;
         p = atomic_load_explicit(&p->next, memory_order_acquire))
        if (p != &a->mb.stub) n++;
    return n;
}

int tr_info(tr_ctx *ctx, tr_actor_info *out)
{
    if (!out) return TR_EINVAL;
    memset(out, 0, sizeof *out);
    tri_actor *a = tri_ctx_any(ctx);
    if (!a) return TR_ENOTACTOR;
    out->pid = tri_pid_of(a);
    out->parent = a->parent ? tri_pid_of(a->parent) : TR_PID_NIL;
    tri_actor_path(a, out->path, sizeof out->path);
    out->mailbox = queued(a);
    out->status = a->state >= TRI_ST_STOPPING ? TR_STATUS_STOPPING
                : out->mailbox ? TR_STATUS_RUNNING : TR_STATUS_WAITING;
    out->capacity = tri_bound_cap(atomic_load_explicit(&a->bound, memory_order_relaxed));
    out->messages_in = a->u.msgs_in;
    out->messages_out = a->msgs_out;
    out->children = a->nchildren;
    if (a->ext) {
        out->links = tri_peers_count(&a->ext->links);
        out->monitors = tri_peers_count(&a->ext->monitors);
        out->watchers = tri_peers_count(&a->ext->watchers);
        out->restarts = a->ext->restarts;
        out->requests = a->ext->requests_live;
    }
    return TR_OK;
}

/* Called for a request of type "tr.inspect": the runtime answers. */
bool tri_inspect_answer(tri_actor *a, const tr_msg *m)
{
    if (m->type.id != tr_inspect_atom().id) return false;
    tr_actor_info info;
    tr_info((tr_ctx *)a, &info);
    tr_reply((tr_ctx *)a, m, info_atom(), &info, sizeof info);
    return true;
}

int tr_actor_info_decode(const tr_msg *answer, tr_actor_info *out)
{
    if (!answer || !out || answer->type.id != info_atom().id || answer->size != sizeof *out)
        return TR_EINVAL;
    memcpy(out, answer->data, sizeof *out);
    return TR_OK;
}

int tr_system_inspect(tr_system *sys, tr_pid pid, tr_actor_info *out, int64_t timeout_ms)
{
    if (!sys || !out) return TR_EINVAL;
    tr_msg *reply = NULL;
    int rc = tr_call_sync(sys, pid, tr_inspect_atom(), NULL, 0, timeout_ms, &reply);
    if (rc == TR_OK) rc = tr_actor_info_decode(reply, out);
    tr_msg_destroy(&reply);
    return rc;
}

void tri_count_restart(tr_ctx *ctx)
{
    tri_actor_ext *x = tri_ext((tri_actor *)ctx);
    if (x) x->restarts++;
}
