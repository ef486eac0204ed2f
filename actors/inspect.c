/* inspect.c — answering "tr.inspect" (and the walk's "tr.walk") from
 * inside the actor's own turn, and the counters it reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "hooks.h"

tr_atom tr_inspect_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.inspect");
}

tr_atom tr_info_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.info");
}

static tr_atom info_atom(void) { return tr_info_atom(); }

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

tr_err tr_info(tr_ctx *ctx, tr_actor_info *out)
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
    const tr_behaviour *beh = a->beh;
    snprintf(out->behaviour, sizeof out->behaviour, "%s", beh && beh->name ? beh->name : "");
    /* an unbounded mailbox keeps no count: what we see now is all we know */
    if (out->mailbox && tri_ext(a) && out->mailbox > a->ext->peak_mailbox)
        a->ext->peak_mailbox = out->mailbox;
    if (a->ext) {
        out->links = tri_peers_count(&a->ext->links);
        out->monitors = tri_peers_count(&a->ext->monitors);
        out->watchers = tri_peers_count(&a->ext->watchers);
        out->restarts = a->ext->restarts;
        out->requests = a->ext->requests_live;
        out->peak_mailbox = a->ext->peak_mailbox;
        out->child_failures = a->ext->child_failures;
        if (a->ext->last_failure) {
            snprintf(out->last_failure, sizeof out->last_failure, "%s", a->ext->last_failure);
            out->last_failure_ms = a->ext->last_failure_ns / 1000000;
            if (out->last_failure_ms == 0) out->last_failure_ms = 1; /* 0 means none */
        }
    }
    return TR_OK;
}

void tri_note_child_failure(tri_actor *a, tr_pid who, const char *cpath, tr_exit_kind kind,
                            const char *text)
{
    tri_actor_ext *x = tri_ext(a);
    if (!x) return;
    x->child_failures++;
    char pid[TR_PID_STRLEN], line[1024];
    if (!cpath || !*cpath) { /* an abandoned child: its path is not read */
        tr_pid_format(who, pid, sizeof pid);
        cpath = pid;
    }
    snprintf(line, sizeof line, "%s: %s%s%s", cpath, tr_exit_kind_name(kind), text ? ": " : "",
             text ? text : "");
    char *copy = strdup(line);
    if (!copy) return; /* the count stays right; the text is the old one */
    free(x->last_failure);
    x->last_failure = copy;
    x->last_failure_ns = tri_now_ns(a->sys);
}

const char *tr_actor_status_name(tr_actor_status status)
{
    switch (status) {
    case TR_STATUS_RUNNING: return "running";
    case TR_STATUS_WAITING: return "waiting";
    case TR_STATUS_STOPPING: return "stopping";
    }
    return "unknown";
}

tr_atom tri_walk_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.walk");
}

tr_atom tri_walk_info_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.walk.info");
}

/* The walk's answer: tr_info, then the children (the actor's own links,
 * read in its own turn). */
static void walk_answer(tri_actor *a, const tr_msg *m)
{
    tr_actor_info info;
    tr_info((tr_ctx *)a, &info);
    uint32_t n = a->nchildren;
    size_t size = sizeof info + sizeof n + (size_t)n * sizeof(tr_pid);
    char *buf = malloc(size);
    if (!buf) return; /* the walker's deadline covers it */
    memcpy(buf, &info, sizeof info);
    uint32_t k = 0;
    for (tri_actor *c = tri_at(a->sys, a->first_child); c && k < n;
         c = tri_at(a->sys, c->next_sib)) {
        tr_pid pid = tri_pid_of(c);
        memcpy(buf + sizeof info + sizeof n + (size_t)k++ * sizeof pid, &pid, sizeof pid);
    }
    memcpy(buf + sizeof info, &k, sizeof k);
    tr_reply((tr_ctx *)a, m, tri_walk_info_atom(), buf,
             sizeof info + sizeof k + (size_t)k * sizeof(tr_pid));
    free(buf);
}

/* Called for a request of type "tr.inspect": the runtime answers. */
bool tri_inspect_answer(tri_actor *a, const tr_msg *m)
{
    if (m->type.id == tri_walk_atom().id) {
        walk_answer(a, m);
        return true;
    }
    if (m->type.id != tr_inspect_atom().id) return false;
    tr_actor_info info;
    tr_info((tr_ctx *)a, &info);
    tr_reply((tr_ctx *)a, m, info_atom(), &info, sizeof info);
    return true;
}

tr_err tr_actor_info_decode(const tr_msg *answer, tr_actor_info *out)
{
    if (!answer || !out || answer->type.id != info_atom().id || answer->size != sizeof *out)
        return TR_EINVAL;
    memcpy(out, answer->data, sizeof *out);
    return TR_OK;
}

tr_err tr_system_inspect(tr_system *sys, tr_pid pid, tr_actor_info *out, int64_t timeout_ms)
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
