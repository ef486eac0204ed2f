/* walk.c — tr_system_walk: the whole live tree (or a subtree, maybe on
 * another node), as its actors describe themselves.
 *
 * No thread but an actor's own may read its tree links, so the walker
 * asks: a "tr.walk" request to the root, answered by the runtime in the
 * root's turn (inspect.c) with its tr_actor_info and its children's pids;
 * then the same request to every child at once, level by level, all from
 * one inbox. A node's ref is its index + 1 in the walker's table, and a
 * node's children get consecutive indices, so the depth-first visit at
 * the end needs no lookup. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct wnode {
    tr_actor_info info;
    tr_pid pid;
    tr_pid *kids;
    uint32_t nkids;
    uint32_t first; /* index of its first child's node */
    unsigned depth;
    uint8_t state; /* W_ASKED, W_ANSWERED, W_GONE */
} wnode;

enum { W_ASKED, W_ANSWERED, W_GONE };

typedef struct walker {
    tr_system *sys;
    tr_inbox *in;
    wnode *nodes;
    uint32_t n, cap;
    int64_t deadline_ns; /* INT64_MAX: none */
} walker;

/* Adds a node for `pid` and asks it; false when out of memory. An actor
 * that is gone answers "tr.down" (the request's dead letter). */
static bool ask(walker *w, tr_pid pid, unsigned depth)
{
    if (w->n == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 64;
        wnode *p = realloc(w->nodes, cap * sizeof *p);
        if (!p) return false;
        w->nodes = p;
        w->cap = cap;
    }
    tr_msg *m = tri_msg_alloc_request((uint64_t)w->n + 1, w->deadline_ns, tri_walk_atom(), 0);
    if (!m) return false;
    wnode *x = &w->nodes[w->n++];
    memset(x, 0, sizeof *x);
    x->pid = pid;
    x->depth = depth;
    x->state = W_ASKED;
    m->sender = tr_inbox_pid(w->in);
    m->exempt = 1; /* the runtime's question: a full mailbox takes it */
    tri_deliver(w->sys, pid, m);
    return true;
}

/* Takes an answer; returns how many new requests it sent, or -1 when out
 * of memory. */
static int take(walker *w, const tr_msg *m)
{
    uint64_t ref = m->call == TRI_CALL_REPLY ? tri_msg_ref(m) : 0;
    if (ref == 0 || ref > w->n || w->nodes[ref - 1].state != W_ASKED) return 0; /* not ours */
    uint32_t i = (uint32_t)(ref - 1);
    if (m->type.id != tri_walk_info_atom().id) { /* "tr.down": ended, or stopping */
        w->nodes[i].state = W_GONE;
        return 0;
    }
    uint32_t k;
    if (m->size < sizeof(tr_actor_info) + sizeof k) return 0;
    const char *p = m->data;
    memcpy(&k, p + sizeof(tr_actor_info), sizeof k);
    if (m->size != sizeof(tr_actor_info) + sizeof k + (size_t)k * sizeof(tr_pid)) return 0;
    tr_pid *kids = k ? malloc((size_t)k * sizeof *kids) : NULL;
    if (k && !kids) return -1;
    if (k) memcpy(kids, p + sizeof(tr_actor_info) + sizeof k, (size_t)k * sizeof *kids);
    wnode *x = &w->nodes[i];
    memcpy(&x->info, p, sizeof x->info);
    x->state = W_ANSWERED;
    x->kids = kids;
    x->nkids = k;
    x->first = w->n;
    unsigned depth = x->depth + 1;
    for (uint32_t c = 0; c < k; c++) /* `x` may move: realloc */
        if (!ask(w, kids[c], depth)) return -1;
    return (int)k;
}

/* Visits the answered nodes depth first from the root, each before its
 * children, children oldest first. */
static int visit_all(walker *w, tr_walk_fn visit, void *user)
{
    uint32_t *stack = malloc((size_t)w->n * sizeof *stack);
    if (!stack) return TR_ENOMEM;
    uint32_t top = 0;
    stack[top++] = 0;
    int rc = TR_OK;
    while (top && rc == TR_OK) {
        wnode *x = &w->nodes[stack[--top]];
        if (x->state != W_ANSWERED) continue;
        tr_walk_entry e = {&x->info, x->depth, x->kids, x->nkids};
        rc = visit(user, &e);
        for (uint32_t c = x->nkids; c-- > 0;) stack[top++] = x->first + c; /* oldest on top */
    }
    free(stack);
    return rc;
}

static int walk(tr_system *sys, tr_pid top, tr_walk_fn visit, void *user, int64_t timeout_ms,
                int gone_rc);

tr_err tr_system_walk(tr_system *sys, tr_walk_fn visit, void *user, int64_t timeout_ms)
{
    if (!sys) return TR_EINVAL;
    return walk(sys, sys->root_pid, visit, user, timeout_ms, TR_ESTOPPED);
}

tr_err tr_system_walk_from(tr_system *sys, tr_pid top, tr_walk_fn visit, void *user,
                        int64_t timeout_ms)
{
    if (!sys || tr_pid_is_nil(top)) return TR_EINVAL;
    return walk(sys, top, visit, user, timeout_ms, TR_ENOENT);
}

static int walk(tr_system *sys, tr_pid top, tr_walk_fn visit, void *user, int64_t timeout_ms,
                int gone_rc)
{
    if (!visit) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR; /* it would block a worker */
    walker w = {.sys = sys,
                .deadline_ns = timeout_ms < 0 ? INT64_MAX
                                              : tri_now_ns(sys) + timeout_ms * 1000000};
    int rc = tr_inbox_new(sys, &w.in);
    if (rc != TR_OK) return rc;
    int64_t until = timeout_ms < 0 ? 0 : tri_mono_ns() + timeout_ms * 1000000;
    size_t pending = 0;
    if (ask(&w, top, 0)) pending = 1;
    else rc = TR_ENOMEM;
    while (pending && rc == TR_OK) {
        int64_t wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = until - tri_mono_ns();
            wait_ms = left > 0 ? (left + 999999) / 1000000 : 0;
        }
        const tr_msg *m;
        rc = tr_inbox_recv(w.in, &m, wait_ms);
        if (rc != TR_OK) break; /* TR_ETIMEDOUT: visit what came */
        uint32_t before = w.n;
        bool ours = m->call == TRI_CALL_REPLY && tri_msg_ref(m) > 0 &&
                    tri_msg_ref(m) <= before && w.nodes[tri_msg_ref(m) - 1].state == W_ASKED;
        int more = take(&w, m);
        if (more < 0) rc = TR_ENOMEM;
        else if (ours) pending += (size_t)more - 1;
    }
    if (rc == TR_OK || rc == TR_ETIMEDOUT) {
        if (w.n == 0 || w.nodes[0].state != W_ANSWERED) {
            if (rc == TR_OK) rc = gone_rc; /* the top is gone */
        } else {
            int vrc = visit_all(&w, visit, user);
            if (vrc != TR_OK) rc = vrc;
        }
    }
    /* late answers to the inbox become dead letters */
    tr_inbox_destroy(&w.in);
    for (uint32_t i = 0; i < w.n; i++) free(w.nodes[i].kids);
    free(w.nodes);
    return rc;
}
