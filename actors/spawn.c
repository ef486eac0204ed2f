/* spawn.c — creating actors, and the small ctx accessors. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "pool.h"
#include "remote_child.h"
#include "transport.h"

/* Fills a fresh slot for a new incarnation. The INIT message, pushed last,
 * publishes every field written here to whichever worker runs the actor. */
static void setup(tri_actor *a, tri_actor *parent, const tr_behaviour *beh,
                  const tr_spawn_opts *o, void *state_mem, char *name)
{
    a->state = TRI_ST_STARTING;
    a->flags = (o->flags & TR_SPAWN_TRAP_EXITS) ? TRI_F_TRAP_EXITS : 0; /* clears ENDING */
    if (tr_pid_is_nil(o->started_to)) a->flags |= TRI_F_STARTED_SENT; /* none due */
    a->parent_flags = 0;
    a->exit_kind = TR_EXIT_NORMAL;
    a->nchildren = 0;
    a->shutdown_ms = o->shutdown_ms == TR_SHUTDOWN_DEFAULT ? 5000
                   : o->shutdown_ms > INT32_MAX ? INT32_MAX
                   : (int32_t)o->shutdown_ms;
    __atomic_store_n(&a->beh, beh, __ATOMIC_RELAXED); /* read by paths: lifecycle.c */
    a->state_mem = state_mem;
    /* atomic: tr_stop_child may read it from a stranger's turn (a stale
     * pid), racing only with this write */
    __atomic_store_n(&a->parent, parent, __ATOMIC_RELAXED);
    a->first_child = a->last_child = a->prev_sib = a->next_sib = 0;
    __atomic_store_n(&a->name, name, __ATOMIC_RELAXED);
    a->ext = NULL;
    a->stop_timer = 0;
    a->u.msgs_in = 0;
    a->msgs_out = 0;
    atomic_store_explicit(&a->bound,
                          o->capacity ? o->capacity | (uint32_t)o->on_full << 30 : 0,
                          memory_order_relaxed);
}

/* Ends the spawner's hold (core.h): schedules the actor when the spawner
 * holds the mailbox's token (`token`: its INIT push found it empty) or a
 * worker met INIT meanwhile and handed the token back. The exchange
 * publishes every field the spawner wrote to that worker's successor. */
static void release_hold(tr_system *sys, tri_actor *a, bool token)
{
    uintptr_t was = atomic_exchange_explicit(&a->hold, TRI_HOLD_NONE, memory_order_acq_rel);
    if (token || was == TRI_HOLD_WAITING) tri_schedule(sys, a);
}

static bool valid_name(const char *name)
{
    size_t n = strnlen(name, 256);
    return n > 0 && n <= 255 && !strchr(name, '/');
}

static int spawn(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
                 const tr_spawn_opts *opts, tr_pid exit_to, tr_pid *out);

int tri_spawn(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
              const tr_spawn_opts *opts, tr_pid *out)
{
    return spawn(sys, parent, beh, opts, TR_PID_NIL, out);
}

int tri_spawn_reporting(tr_system *sys, const tr_behaviour *beh, const tr_spawn_opts *opts,
                        tr_pid exit_to, tr_pid *out)
{
    if (out) *out = TR_PID_NIL;
    if (!sys || tr_pid_is_nil(exit_to) || (opts && opts->node)) return TR_EINVAL;
    return spawn(sys, NULL, beh, opts, exit_to, out);
}

static int spawn(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
                 const tr_spawn_opts *opts, tr_pid exit_to, tr_pid *out)
{
    static const tr_spawn_opts defaults = {0};
    const tr_spawn_opts *o = opts ? opts : &defaults;
    if (out) *out = TR_PID_NIL;
    if (o->node) { /* on another node: a stub here stands for it */
        const char *me = tri_node_name(sys);
        if (!*o->node) return TR_EINVAL;
        if (!me || strcmp(me, o->node) != 0) return tri_spawn_remote(sys, parent, beh, o, out);
    }
    if (!beh || !beh->handle || (o->args_size && !o->args)) return TR_EINVAL;
    if (o->name && !valid_name(o->name)) return TR_EINVAL;
    if (o->shutdown_ms < TR_SHUTDOWN_INFINITY) return TR_EINVAL;
    if (o->args_size > TR_MSG_MAX) return TR_ETOOBIG;
    if (o->deadline_ms < 0 || o->capacity > TRI_CAPACITY_MAX || (unsigned)o->on_full > TR_FULL_BLOCK)
        return TR_EINVAL;
    if (parent && parent->state != TRI_ST_RUNNING) return TR_ESTOPPED;
    if (o->register_as && !tri_registry_valid_name(o->register_as)) return TR_EINVAL;

    void *state_mem = NULL;
    char *name = NULL;
    tr_msg *init = tri_msg_alloc(TRI_MSG_INIT, (tr_atom){0}, o->args_size);
    if (beh->state_size) {
        state_mem = tri_pool_alloc(beh->state_size);
        if (state_mem) memset(state_mem, 0, beh->state_size);
    }
    if (o->name) name = tri_name_dup(o->name);
    bool need_ext = !tr_pid_is_nil(o->started_to) || !tr_pid_is_nil(exit_to);
    tri_actor_ext *ext = need_ext ? calloc(1, sizeof *ext) : NULL;
    tri_actor *a = NULL;
    if (!init || (beh->state_size && !state_mem) || (o->name && !name) || (need_ext && !ext) ||
        !(a = tri_slot_alloc(sys, TRI_SLOT_ACTOR))) {
        tri_msg_free(init);
        tri_pool_free(state_mem, beh->state_size);
        tri_name_free(name);
        free(ext);
        return TR_ENOMEM;
    }
    if (ext) {
        ext->started_to = o->started_to;
        ext->exit_to = exit_to;
    }
    if (o->args_size) memcpy(init->data, o->args, o->args_size);
    setup(a, parent ? parent : sys->root, beh, o, state_mem, name);
    a->ext = ext;
    uint64_t serial = atomic_fetch_add_explicit(&sys->next_serial, 1, memory_order_relaxed);
    atomic_store_explicit(&a->live_serial, serial, memory_order_relaxed);
    atomic_store_explicit(&a->serial, serial, memory_order_release);
    init->dest_serial = serial;
    if (parent) init->sender = tri_pid_of(parent);
    tr_pid pid = tri_pid_of(a);
    /* INIT first, held (core.h, the hold word): whatever reaches the actor
     * from here on (a send by name, its deadline) queues behind INIT, and
     * no worker runs it until release_hold. The push publishes the fields
     * written so far to a worker still draining an earlier incarnation's
     * letters; release_hold's schedule publishes the rest. */
    atomic_store_explicit(&a->hold, TRI_HOLD_SPAWNING, memory_order_relaxed);
    bool token = tri_mailbox_push(&a->mb, &init->node);
    /* Named before its parent learns of it: a clash undoes the spawn, and
     * nothing else has seen the pid. */
    struct tri_name_waiter *woken = NULL; /* told once the hold is released */
    int rc = TR_OK;
    if (o->register_as) rc = tri_register_quiet(sys, o->register_as, pid, &woken);
    if (rc == TR_OK && parent) {
        tri_link_child_before(parent, a, o->before);
    } else if (rc == TR_OK && tri_root_adopt(sys, a) != TR_OK) {
        tri_registry_unwake(sys, woken); /* the root is closing */
        rc = TR_ESTOPPED;
    }
    if (rc != TR_OK) {
        /* Undo: INIT, and anything sent by name meanwhile, become stale
         * letters of an ended incarnation, drained by a worker. */
        atomic_store_explicit(&a->live_serial, 0, memory_order_relaxed);
        atomic_store_explicit(&a->serial, 0, memory_order_release);
        __atomic_store_n(&a->name, NULL, __ATOMIC_RELAXED);
        a->ext = NULL;
        release_hold(sys, a, token);
        tri_slot_release(sys, a);
        tri_pool_free(state_mem, beh->state_size);
        tri_name_free(name);
        free(ext);
        return rc;
    }
    tri_count(sys, TRI_N_SPAWNED);
    /* After the link/adopt, so the EXIT of an actor whose deadline passes
     * at once cannot overtake its ADOPT. */
    if (o->deadline_ms > 0 &&
        !tri_timer_after(sys, o->deadline_ms, a, serial, TRI_MSG_DEADLINE, NULL, 0))
        tri_log(TR_LOG_ERROR, "out of memory arming a deadline; the actor runs without it");
    release_hold(sys, a, token);
    /* A waiter told of the name may send at once: behind INIT anyway. */
    if (woken) tri_registry_wake(sys, woken, pid);
    if (out) *out = pid;
    return TR_OK;
}

tr_err tr_spawn(tr_ctx *ctx, const tr_behaviour *beh, const tr_spawn_opts *opts, tr_pid *out)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) {
        if (out) *out = TR_PID_NIL;
        return tri_ctx_err(ctx);
    }
    return tri_spawn(a->sys, a, beh, opts, out);
}

tr_err tr_system_spawn(tr_system *sys, const tr_behaviour *beh, const tr_spawn_opts *opts,
                    tr_pid *out)
{
    if (!sys) {
        if (out) *out = TR_PID_NIL;
        return TR_EINVAL;
    }
    return tri_spawn(sys, NULL, beh, opts, out);
}

tr_pid tr_self(const tr_ctx *ctx)
{
    const tri_actor *a = tri_ctx_any(ctx);
    return a ? tri_pid_of(a) : TR_PID_NIL;
}

tr_pid tr_parent(const tr_ctx *ctx)
{
    const tri_actor *a = tri_ctx_any(ctx);
    return a && a->parent ? tri_pid_of(a->parent) : TR_PID_NIL;
}

tr_system *tr_ctx_system(const tr_ctx *ctx)
{
    const tri_actor *a = tri_ctx_any(ctx);
    return a ? a->sys : NULL;
}
