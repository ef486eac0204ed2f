/* book.c — per-peer bookkeeping for "noconnection"; see book.h.
 *
 * Four sets, each an open-addressing table keyed by (local pid, remote pid,
 * ref), so that noting and forgetting cost O(1) whatever their size (a
 * connection supervisor may watch 100k remote actors):
 *   monitors  our watcher -> their target, by monitor ref
 *   links     our actor <-> theirs (ref 0)
 *   calls     our caller -> their callee, by call ref (with its deadline:
 *             expired ones are swept when the table grows, as callees do);
 *             a call by name ("name@node") -> nil
 *   watchers  their watcher -> our target, by monitor ref
 *   children  our stub -> its child's node (a remote child: remote_child.h),
 *             from its SPAWN_REQ until its CHILD_EXIT */
#include <stdlib.h>
#include <string.h>

#include "book.h"

#include "../actors/remote_child.h"

typedef struct entry {
    tr_pid local, remote;
    uint64_t ref;
    int64_t deadline_ns; /* calls only; INT64_MAX: none */
    uint8_t state;       /* 0 empty, 1 used, 2 deleted */
} entry;

typedef struct set {
    entry *e;
    uint32_t cap, used, live, sweep_at;
} set;

struct tri_book {
    set monitors, links, calls, watchers, children;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint32_t slot_of(tr_pid l, tr_pid r, uint64_t ref, uint32_t cap)
{
    uint64_t h = mix(mix(mix(mix(mix(0, l.node), l.slot), l.serial), r.serial), ref);
    h = mix(h, (uint64_t)r.node << 32 | r.slot);
    return (uint32_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static bool same(const entry *e, tr_pid l, tr_pid r, uint64_t ref)
{
    return e->ref == ref && tr_pid_eq(e->local, l) && tr_pid_eq(e->remote, r);
}

static bool rebuild(set *s, uint32_t cap, int64_t now)
{
    entry *n = calloc(cap, sizeof *n);
    if (!n) return false;
    uint32_t live = 0;
    for (uint32_t i = 0; i < s->cap; i++) {
        entry *e = &s->e[i];
        if (e->state != 1 || e->deadline_ns <= now) continue;
        uint32_t j = slot_of(e->local, e->remote, e->ref, cap);
        while (n[j].state) j = (j + 1) & (cap - 1);
        n[j] = *e;
        live++;
    }
    free(s->e);
    s->e = n;
    s->cap = cap;
    s->used = s->live = live;
    return true;
}

static entry *find(set *s, tr_pid l, tr_pid r, uint64_t ref)
{
    if (!s->cap) return NULL;
    for (uint32_t i = slot_of(l, r, ref, s->cap);; i = (i + 1) & (s->cap - 1)) {
        entry *e = &s->e[i];
        if (e->state == 0) return NULL;
        if (e->state == 1 && same(e, l, r, ref)) return e;
    }
}

static void add(set *s, tr_pid l, tr_pid r, uint64_t ref, int64_t deadline, int64_t now)
{
    if (find(s, l, r, ref)) return; /* links are a set: noting twice is once */
    if ((s->used + 1) * 2 > s->cap) {
        uint32_t cap = s->cap ? s->cap : 16;
        while ((s->live + 1) * 2 > cap) cap *= 2;
        /* the expired go in the rebuild; sweep when the table has doubled */
        if (s->live + 1 > s->sweep_at) s->sweep_at = 2 * (s->live + 1) > 64 ? 2 * (s->live + 1) : 64;
        else now = INT64_MIN;
        if (!rebuild(s, cap, now)) return; /* out of memory: this one goes unnoted */
    }
    uint32_t i = slot_of(l, r, ref, s->cap);
    while (s->e[i].state == 1) i = (i + 1) & (s->cap - 1);
    if (s->e[i].state == 0) s->used++;
    s->e[i] = (entry){l, r, ref, deadline, 1};
    s->live++;
}

static void del(set *s, tr_pid l, tr_pid r, uint64_t ref)
{
    entry *e = find(s, l, r, ref);
    if (!e) return;
    e->state = 2;
    s->live--;
}

tri_book *tri_book_new(void) { return calloc(1, sizeof(tri_book)); }

void tri_book_free(tri_book *b)
{
    if (!b) return;
    free(b->monitors.e);
    free(b->links.e);
    free(b->calls.e);
    free(b->watchers.e);
    free(b->children.e);
    free(b);
}

tri_book_counts tri_book_count(const tri_book *b)
{
    return (tri_book_counts){b->monitors.live, b->links.live, b->calls.live, b->watchers.live,
                             b->children.live};
}

void tri_book_outbound(tri_book *b, tr_pid to, const tr_msg *m, int64_t now_ns)
{
    switch (m->kind) {
    case TRI_MSG_MONITOR:
    case TRI_MSG_DEMONITOR: {
        struct tri_watch w;
        memcpy(&w, m->data, sizeof w);
        if (m->kind == TRI_MSG_MONITOR) add(&b->monitors, w.watcher, to, w.ref, INT64_MAX, now_ns);
        else del(&b->monitors, w.watcher, to, w.ref);
        return;
    }
    case TRI_MSG_LINK:
    case TRI_MSG_UNLINK: {
        tr_pid self;
        memcpy(&self, m->data, sizeof self);
        if (m->kind == TRI_MSG_LINK) add(&b->links, self, to, 0, INT64_MAX, now_ns);
        else del(&b->links, self, to, 0);
        return;
    }
    case TRI_MSG_EXIT_SIGNAL: {
        struct tri_exit_signal s;
        memcpy(&s, m->data, sizeof s);
        if (s.over_link) del(&b->links, s.from, to, 0); /* our end of the link is gone */
        return;
    }
    case TRI_MSG_USER:
        if (m->call == TRI_CALL_REQUEST) /* a named one: `to` is the node's {id, 0, 0} */
            add(&b->calls, m->sender, to.serial ? to : TR_PID_NIL, tri_msg_ref(m),
                tri_msg_deadline(m), now_ns);
        else if (m->call == TRI_CALL_MONITOR) /* our target's "down": their watch is done */
            del(&b->watchers, m->sender, to, tri_msg_ref(m));
        return;
    case TRI_MSG_SPAWN_REQ:
        add(&b->children, m->sender, (tr_pid){to.node, 0, 0}, 0, INT64_MAX, now_ns);
        return;
    default:
        return;
    }
}

void tri_book_inbound(tri_book *b, tr_pid to, const tr_msg *m)
{
    switch (m->kind) {
    case TRI_MSG_MONITOR:
    case TRI_MSG_DEMONITOR: {
        struct tri_watch w;
        memcpy(&w, m->data, sizeof w);
        if (m->kind == TRI_MSG_MONITOR) add(&b->watchers, to, w.watcher, w.ref, INT64_MAX, 0);
        else del(&b->watchers, to, w.watcher, w.ref);
        return;
    }
    case TRI_MSG_LINK:
    case TRI_MSG_UNLINK: {
        tr_pid other;
        memcpy(&other, m->data, sizeof other);
        if (m->kind == TRI_MSG_LINK) add(&b->links, to, other, 0, INT64_MAX, 0);
        else del(&b->links, to, other, 0);
        return;
    }
    case TRI_MSG_EXIT_SIGNAL: {
        struct tri_exit_signal s;
        memcpy(&s, m->data, sizeof s);
        if (s.over_link) del(&b->links, to, s.from, 0); /* their end is gone */
        return;
    }
    case TRI_MSG_USER:
        if (m->call == TRI_CALL_REPLY) {
            del(&b->calls, to, m->sender, tri_msg_ref(m));
            /* a call by name was noted without a callee (none known then) */
            del(&b->calls, to, TR_PID_NIL, tri_msg_ref(m));
        }
        else if (m->call == TRI_CALL_MONITOR) del(&b->monitors, to, m->sender, tri_msg_ref(m));
        return;
    case TRI_MSG_CHILD_EXIT: /* sender: the child's node (io.c) */
        del(&b->children, to, m->sender, 0);
        return;
    default:
        return;
    }
}

static void deliver(tr_system *sys, tr_pid to, tr_msg *m)
{
    if (m) tri_deliver_remote(sys, to, m);
}

void tri_book_lost(tri_book *b, tr_system *sys)
{
    for (uint32_t i = 0; i < b->monitors.cap; i++) {
        entry *e = &b->monitors.e[i];
        if (e->state == 1)
            deliver(sys, e->local, tri_exit_msg(tr_down_atom(), TRI_CALL_MONITOR, e->ref, e->remote,
                                                TR_EXIT_NOCONNECTION, NULL));
    }
    for (uint32_t i = 0; i < b->links.cap; i++) {
        entry *e = &b->links.e[i];
        if (e->state != 1) continue;
        struct tri_exit_signal s = {e->remote, TR_EXIT_NOCONNECTION, 0, 1};
        tr_msg *m = tri_msg_alloc(TRI_MSG_EXIT_SIGNAL, (tr_atom){0}, sizeof s + 1);
        if (!m) continue;
        memcpy(m->data, &s, sizeof s);
        ((char *)m->data)[sizeof s] = '\0';
        m->sender = e->remote;
        deliver(sys, e->local, m);
    }
    for (uint32_t i = 0; i < b->calls.cap; i++) {
        entry *e = &b->calls.e[i];
        if (e->state == 1)
            deliver(sys, e->local, tri_exit_msg(tr_down_atom(), TRI_CALL_REPLY, e->ref, e->remote,
                                                TR_EXIT_NOCONNECTION, NULL));
    }
    for (uint32_t i = 0; i < b->watchers.cap; i++) {
        entry *e = &b->watchers.e[i];
        if (e->state != 1) continue;
        struct tri_watch w = {e->remote, e->ref};
        tr_msg *m = tri_msg_alloc(TRI_MSG_DEMONITOR, (tr_atom){0}, sizeof w);
        if (!m) continue;
        memcpy(m->data, &w, sizeof w);
        deliver(sys, e->local, m);
    }
    for (uint32_t i = 0; i < b->children.cap; i++) {
        entry *e = &b->children.e[i];
        if (e->state == 1)
            deliver(sys, e->local,
                    tri_child_exit_msg(TR_PID_NIL, TR_EXIT_NOCONNECTION,
                                       "the connection to the child's node was lost"));
    }
    set *sets[] = {&b->monitors, &b->links, &b->calls, &b->watchers, &b->children};
    for (size_t k = 0; k < 5; k++) {
        free(sets[k]->e);
        *sets[k] = (set){0};
    }
}
