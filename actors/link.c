/* link.c — monitors, links and exit signals.
 *
 * Both ends of a monitor or link keep their own set (in the actor's ext),
 * each changed only in its own actor's turns; the ends talk through runtime
 * signals (MONITOR, DEMONITOR, LINK, UNLINK, EXIT_SIGNAL) queued like any
 * message, which keeps them ordered with the messages between the same two
 * actors, as Erlang orders its signals. A signal that reaches no live actor
 * is answered as the dead would: a MONITOR by "tr.down" noproc, a LINK by an
 * exit signal noproc. The watcher drops a "tr.down" whose monitor it has
 * removed, which is what makes tr_demonitor final. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "remote_child.h"

/* ------------------------------------------------------------- sets
 *
 * Each end keeps a hash set (peer_set.h): the watcher its monitors by ref,
 * the target its watchers by (watcher, ref), both ends their links by pid;
 * every add and removal is O(1), so n monitors or links cost O(n). */

#define MONITORS TRI_PEERS_BY_REF
#define WATCHERS TRI_PEERS_BY_PID_REF
#define LINKS TRI_PEERS_BY_PID_REF

static bool link_has(tri_actor_ext *x, tr_pid pid)
{
    return tri_peers_find(&x->links, LINKS, pid, 0) != NULL;
}

static bool link_remove(tri_actor_ext *x, tr_pid pid)
{
    return tri_peers_remove(&x->links, LINKS, pid, 0, NULL);
}

uint64_t tri_next_ref(tri_actor *a)
{
    tri_actor_ext *x = tri_ext(a);
    return x ? ++x->next_ref : 0;
}

/* ----------------------------------------------------------- signals */


/* Sends a runtime signal to `to`; if no actor lives there, answers for it
 * at once (tri_signal_dead). Takes nothing from the caller. */
static int send_signal(tr_system *sys, tr_pid to, uint8_t kind, const void *payload, size_t size)
{
    if (tr_pid_is_nil(to)) return TR_EINVAL;
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, size);
    if (!m) return TR_ENOMEM;
    memcpy(m->data, payload, size);
    m->dest_serial = to.serial;
    if (to.node != sys->node) return tri_remote_send(sys, to, m);
    tri_actor *a = tri_slot_lookup(sys, to.slot);
    if (!a || a->kind != TRI_SLOT_ACTOR ||
        atomic_load_explicit(&a->serial, memory_order_acquire) != to.serial) {
        tri_signal_dead(sys, m, to, TR_EXIT_NOPROC);
        tri_msg_free(m);
        return TR_OK;
    }
    tri_push(sys, a, m);
    return TR_OK;
}

static int send_exit_signal(tr_system *sys, tr_pid to, tr_pid from, tr_exit_kind kind,
                            const char *text, bool untrappable, bool over_link)
{
    size_t tl = text ? strlen(text) : 0;
    char buf[sizeof(struct tri_exit_signal) + 512];
    if (tl > 511) tl = 511;
    struct tri_exit_signal s = {from, (uint8_t)kind, untrappable, over_link};
    memcpy(buf, &s, sizeof s);
    memcpy(buf + sizeof s, text ? text : "", tl);
    buf[sizeof s + tl] = '\0';
    return send_signal(sys, to, TRI_MSG_EXIT_SIGNAL, buf, sizeof s + tl + 1);
}

void tri_signal_dead(tr_system *sys, const tr_msg *m, tr_pid gone, tr_exit_kind why)
{
    if (m->kind == TRI_MSG_MONITOR) {
        struct tri_watch w;
        memcpy(&w, m->data, sizeof w);
        tr_msg *down = tri_exit_msg(tr_down_atom(), TRI_CALL_MONITOR, w.ref, gone, why, NULL);
        if (down) tri_deliver(sys, w.watcher, down);
    } else if (m->kind == TRI_MSG_LINK) {
        tr_pid linker;
        memcpy(&linker, m->data, sizeof linker);
        send_exit_signal(sys, linker, gone, why, NULL, false, true);
    } else if (m->kind == TRI_MSG_SPAWN_REQ) {
        tri_spawn_req_dead(sys, m, why);
    }
}

/* Asks `target` to tell `watcher` (an actor or an inbox) of its end with
 * a "tr.down" carrying `ref`; answered at once if it has already ended. */
int tri_monitor_send(tr_system *sys, tr_pid watcher, tr_pid target, uint64_t ref, bool demonitor)
{
    struct tri_watch w = {watcher, ref};
    return send_signal(sys, target, demonitor ? TRI_MSG_DEMONITOR : TRI_MSG_MONITOR, &w, sizeof w);
}

/* -------------------------------------------------------- public API */

tr_err tr_monitor(tr_ctx *ctx, tr_pid target, tr_ref *out)
{
    if (out) out->id = 0;
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (tr_pid_is_nil(target)) return TR_EINVAL;
    uint64_t ref = tri_next_ref(a);
    if (!ref || !tri_peers_add(&a->ext->monitors, MONITORS, target, ref)) return TR_ENOMEM;
    struct tri_watch w = {tri_pid_of(a), ref};
    int rc = send_signal(a->sys, target, TRI_MSG_MONITOR, &w, sizeof w);
    if (rc != TR_OK) {
        tri_peers_remove(&a->ext->monitors, MONITORS, target, ref, NULL);
        return rc;
    }
    if (out) out->id = ref;
    return TR_OK;
}

tr_err tr_demonitor(tr_ctx *ctx, tr_ref ref)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    tri_peer gone;
    if (!a->ext || ref.id == 0 ||
        !tri_peers_remove(&a->ext->monitors, MONITORS, TR_PID_NIL, ref.id, &gone))
        return TR_ENOENT;
    struct tri_watch w = {tri_pid_of(a), ref.id};
    send_signal(a->sys, gone.pid, TRI_MSG_DEMONITOR, &w, sizeof w);
    return TR_OK;
}

tr_err tr_link(tr_ctx *ctx, tr_pid other)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    tr_pid self = tri_pid_of(a);
    if (tr_pid_is_nil(other) || tr_pid_eq(other, self)) return TR_EINVAL;
    tri_actor_ext *x = tri_ext(a);
    if (!x) return TR_ENOMEM;
    if (link_has(x, other)) return TR_OK;
    if (!tri_peers_add(&x->links, LINKS, other, 0)) return TR_ENOMEM;
    int rc = send_signal(a->sys, other, TRI_MSG_LINK, &self, sizeof self);
    if (rc != TR_OK) link_remove(x, other); /* not linked after all (no route) */
    return rc;
}

tr_err tr_unlink(tr_ctx *ctx, tr_pid other)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (!a->ext || !link_remove(a->ext, other)) return TR_OK;
    tr_pid self = tri_pid_of(a);
    return send_signal(a->sys, other, TRI_MSG_UNLINK, &self, sizeof self);
}

void tr_trap_exits(tr_ctx *ctx, bool on)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return;
    if (on) a->flags |= TRI_F_TRAP_EXITS;
    else a->flags &= (uint32_t)~TRI_F_TRAP_EXITS;
}

tr_err tr_send_exit(tr_ctx *ctx, tr_pid target, tr_exit_kind kind, const char *text)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (kind > TR_EXIT_TIMEOUT) return TR_EINVAL;
    return send_exit_signal(a->sys, target, tri_pid_of(a), kind, text, kind == TR_EXIT_KILLED,
                            false);
}

/* -------------------------------------------------- the receiving end */

static void exit_signal(tri_actor *a, const struct tri_exit_signal *s, const char *text)
{
    if (s->over_link) {
        /* unlinked since: the signal no longer applies */
        if (!a->ext || !link_remove(a->ext, s->from)) return;
    }
    if (s->untrappable) {
        tri_begin_stop(a, TR_EXIT_KILLED, NULL);
        return;
    }
    if (a->state != TRI_ST_RUNNING) return;
    if (a->flags & TRI_F_TRAP_EXITS) {
        tr_msg *m = tri_exit_msg(tr_exit_atom(), TRI_CALL_NONE, 0, s->from,
                                 (tr_exit_kind)s->kind, *text ? text : NULL);
        if (m) tri_handle_now(a, m);
        else tri_begin_stop(a, TR_EXIT_FAILURE, "out of memory delivering an exit signal");
        return;
    }
    if (s->kind == TR_EXIT_NORMAL) return;
    char pid[TR_PID_STRLEN], why[700];
    tr_pid_format(s->from, pid, sizeof pid);
    snprintf(why, sizeof why, "%s %s %s%s%s", s->over_link ? "linked actor" : "exit signal from",
             pid, tr_exit_kind_name((tr_exit_kind)s->kind), *text ? ": " : "", text);
    tr_exit_kind kind = (tr_exit_kind)s->kind;
    if (kind == TR_EXIT_NOPROC || kind == TR_EXIT_FAILURE) kind = TR_EXIT_FAILURE;
    tri_begin_stop(a, kind, why);
}

bool tri_link_handle_sys(tri_actor *a, tr_msg *m)
{
    switch (m->kind) {
    case TRI_MSG_MONITOR:
    case TRI_MSG_DEMONITOR: {
        struct tri_watch w;
        memcpy(&w, m->data, sizeof w);
        tri_actor_ext *x = tri_ext(a);
        if (!x) return true;
        if (m->kind == TRI_MSG_MONITOR) {
            if (!tri_peers_add(&x->watchers, WATCHERS, w.watcher, w.ref))
                tri_log(TR_LOG_ERROR, "out of memory recording a monitor; no tr.down will come");
        } else {
            tri_peers_remove(&x->watchers, WATCHERS, w.watcher, w.ref, NULL);
        }
        return true;
    }
    case TRI_MSG_LINK:
    case TRI_MSG_UNLINK: {
        tr_pid other;
        memcpy(&other, m->data, sizeof other);
        tri_actor_ext *x = tri_ext(a);
        if (!x) return true;
        if (m->kind == TRI_MSG_UNLINK) link_remove(x, other);
        else if (!link_has(x, other) && !tri_peers_add(&x->links, LINKS, other, 0))
            tri_log(TR_LOG_ERROR, "out of memory recording a link");
        return true;
    }
    case TRI_MSG_EXIT_SIGNAL: {
        struct tri_exit_signal s;
        memcpy(&s, m->data, sizeof s);
        exit_signal(a, &s, (const char *)m->data + sizeof s);
        return true;
    }
    default:
        return false;
    }
}

bool tri_link_accept_down(tri_actor *a, const tr_msg *m)
{
    return a->ext && tri_peers_remove(&a->ext->monitors, MONITORS, TR_PID_NIL, tri_msg_ref(m), NULL);
}

/* At the end of an actor: "tr.down" to its watchers, exit signals to its
 * links, and its own monitors withdrawn so targets do not keep them. */
void tri_links_end(tri_actor *a, const tr_exit *reason)
{
    tri_actor_ext *x = a->ext;
    tr_system *sys = a->sys;
    tr_pid self = tri_pid_of(a);
    for (uint32_t i = 0; i < x->watchers.cap; i++) {
        const tri_peer *p = &x->watchers.tab[i];
        if (!tri_peers_live(p)) continue;
        tr_msg *m = tri_exit_msg(tr_down_atom(), TRI_CALL_MONITOR, p->ref, self, reason->kind,
                                 reason->text);
        if (m) tri_deliver(sys, p->pid, m);
    }
    for (uint32_t i = 0; i < x->links.cap; i++)
        if (tri_peers_live(&x->links.tab[i]))
            send_exit_signal(sys, x->links.tab[i].pid, self, reason->kind, reason->text, false,
                             true);
    for (uint32_t i = 0; i < x->monitors.cap; i++) {
        const tri_peer *p = &x->monitors.tab[i];
        if (!tri_peers_live(p)) continue;
        struct tri_watch w = {self, p->ref};
        send_signal(sys, p->pid, TRI_MSG_DEMONITOR, &w, sizeof w);
    }
    tri_peers_clear(&x->watchers);
    tri_peers_clear(&x->links);
    tri_peers_clear(&x->monitors);
}
