/* turn.c — one actor's turn on a worker: take up to `batch` messages from
 * its mailbox and dispatch each, then either go idle or queue up again. */
#include <string.h>

#include "core.h"
#include "lifecycle.h"
#include "process.h"
#include "remote_child.h"

/* The worker's ring, for an actor that used up its turn (sched.c). */
void tri_requeue(tri_worker *w, tri_actor *a);

/* Returns whether the message was delivered (not a dead letter): counted
 * whether the handler or the runtime consumes it (a late reply, a stale
 * "down", an inspection), so that every accepted message is either
 * handled or a dead letter. */
static bool handle_user(tri_actor *a, tr_msg *m)
{
    if (a->state != TRI_ST_RUNNING) { /* stopping: no more user messages */
        tri_dead_letter_to(a->sys, m, tri_pid_of(a), TR_DEAD_STOPPING);
        return false;
    }
    if (m->call == TRI_CALL_REPLY && !tri_call_accept(a, m)) return true; /* lost its race, or
                                                                         * its continuation ran */
    if (m->call == TRI_CALL_MONITOR && !tri_link_accept_down(a, m)) return true; /* demonitored */
    if (m->call == TRI_CALL_REQUEST && tri_inspect_answer(a, m)) return true; /* the runtime's */
    a->u.msgs_in++;
    if (m->call == TRI_CALL_REQUEST) tri_request_begin(a, m);
    int rc = a->beh->handle((tr_ctx *)a, a->state_mem, m);
    if (m->call == TRI_CALL_REQUEST) tri_request_end(a, m);
    tri_after_callback(a, rc, "handle");
    return true;
}

/* Hands a message the runtime made (a trapped exit, a call timeout) to
 * the handler at once, as if it had just been popped; frees it after. */
void tri_handle_now(tri_actor *a, tr_msg *m)
{
    a->u.msgs_in++;
    int rc = a->beh->handle((tr_ctx *)a, a->state_mem, m);
    tri_msg_free(m);
    tri_after_callback(a, rc, "handle");
}

/* Stop and kill requests are read from the slot rather than queued, so they
 * overtake messages already waiting. Each is stamped with the incarnation
 * it was meant for: a stale request never touches a newer actor. */
static void check_signals(tri_actor *a, uint64_t serial)
{
    uint64_t sig = atomic_load_explicit(&a->signal, memory_order_acquire);
    if (TRI_LIKELY(sig >> TRI_SIG_SHIFT != serial)) return; /* none, or a stale one */
    if (sig & TRI_SIG_KILL) {
        if (a->state < TRI_ST_STOPPING || a->exit_kind != TR_EXIT_KILLED)
            tri_begin_stop(a, TR_EXIT_KILLED, NULL);
    } else if (a->state < TRI_ST_STOPPING) {
        tri_begin_stop(a, TR_EXIT_SHUTDOWN, NULL);
    }
}

/* Dispatches one message; returns whether it was a user message delivered
 * to a live actor (tri_run_turn counts them). After this returns the actor
 * may have ended and its slot may already belong to a new actor: the
 * caller must not read any incarnation field. */
static bool handle_one(tri_actor *a, tr_msg *m)
{
    uint64_t serial = atomic_load_explicit(&a->live_serial, memory_order_acquire);
    if (m->dest_serial != serial) {
        tri_dead_letter(a->sys, m, a->index);
        return false;
    }
    if (m->kind != TRI_MSG_INIT) {
        check_signals(a, serial);
        if (atomic_load_explicit(&a->live_serial, memory_order_relaxed) != serial) {
            tri_dead_letter(a->sys, m, a->index); /* the signal ended it */
            return false;
        }
    }
    switch (m->kind) {
    case TRI_MSG_USER:
        return handle_user(a, m);
    case TRI_MSG_INIT:
        tri_run_init(a, m, serial);
        break;
    case TRI_MSG_SIGNAL:
        break; /* check_signals did the work */
    case TRI_MSG_DEADLINE:
        if (a->state < TRI_ST_STOPPING) tri_begin_stop(a, TR_EXIT_TIMEOUT, NULL);
        break;
    case TRI_MSG_EXIT: {
        tri_actor *child;
        memcpy(&child, m->data, sizeof child);
        tri_child_exited(a, child);
        break;
    }
    case TRI_MSG_CALL_TIMEOUT: {
        uint64_t ref;
        memcpy(&ref, m->data, sizeof ref);
        tri_call_timeout(a, ref);
        break;
    }
    case TRI_MSG_KILL_CHILD: {
        struct tri_kill_child k;
        memcpy(&k, m->data, sizeof k);
        /* Serials are never reused: a match means the slot still holds
         * that child, and only we (its parent) can release it; unless we
         * abandoned it already (a kill's grace passed first): then it is
         * no longer ours, and may be releasing its slot itself. Only we
         * abandon it, so that bit is ours to trust. */
        uint64_t sig = atomic_load_explicit(&k.child->signal, memory_order_acquire);
        bool gone = sig >> TRI_SIG_SHIFT == k.serial && (sig & TRI_SIG_ABANDON);
        if (!gone && atomic_load_explicit(&k.child->serial, memory_order_acquire) == k.serial) {
            k.child->stop_timer = 0; /* it fired */
            if (tri_log_enabled(TR_LOG_WARN)) {
                char path[256];
                tri_actor_path(k.child, path, sizeof path);
                tri_log(TR_LOG_WARN, "actor %s did not stop within %d ms: killing it", path,
                        (int)k.child->shutdown_ms);
            }
            /* killed now, for the parent: it does not wait on */
            tri_abandon_child(a, k.child);
        }
        break;
    }
    case TRI_MSG_KILL_GRACE:
        tri_kill_grace(a);
        break;
    default:
        if (!tri_link_handle_sys(a, m) && !tri_root_handle_sys(a, m) &&
            !tri_remote_child_handle_sys(a, m) && !tri_process_handle_sys(a, m) &&
            !tri_registry_handle_sys(a, m))
            tri_log(TR_LOG_ERROR, "stray runtime message %d", m->kind);
        break;
    }
    return false;
}

/* The worker's counters, once per turn rather than per message: bumping
 * them for each message measurably slowed a consumer that keeps pace
 * with its producer (counting). */
static inline void turn_done(tri_worker *w, uint64_t handled)
{
    if (handled)
        atomic_store_explicit(&w->n_handled,
                              atomic_load_explicit(&w->n_handled, memory_order_relaxed) + handled,
                              memory_order_relaxed);
}

void tri_run_turn(tri_worker *w, tri_actor *a)
{
    unsigned budget = w->sys->sched.batch;
    uint64_t handled = 0;
    bool raced = false;
    for (;;) {
        tri_node *spent;
        tri_node *n = tri_mailbox_pop(&a->mb, &spent);
        if (!n) {
            if (spent) tri_msg_free(tri_msg_of(spent));
            if (tri_mailbox_park(&a->mb)) continue;
            if (tri_mailbox_mark_empty(&a->mb)) {
                turn_done(w, handled);
                atomic_store_explicit(&w->n_done,
                                      atomic_load_explicit(&w->n_done, memory_order_relaxed) + 1,
                                      memory_order_release);
                return;
            }
            /* A sender is between its exchange and its link. Look once
             * more, then let other actors run rather than spin on it. */
            if (raced) {
                turn_done(w, handled);
                tri_requeue(w, a);
                return;
            }
            raced = true;
            continue;
        }
        tr_msg *m = tri_msg_of(n);
        if (TRI_UNLIKELY(m->kind == TRI_MSG_INIT) &&
            atomic_load_explicit(&a->hold, memory_order_acquire) == TRI_HOLD_SPAWNING) {
            /* Its spawner is not done with it (core.h, the hold word):
             * INIT goes back before the spawner may hear of it, and the
             * spawner schedules the actor again. Released meanwhile: the
             * next pop returns INIT again, to run now. */
            tri_mailbox_unpop(&a->mb, spent);
            uintptr_t h = TRI_HOLD_SPAWNING;
            if (!atomic_compare_exchange_strong_explicit(&a->hold, &h, TRI_HOLD_WAITING,
                                                         memory_order_acq_rel,
                                                         memory_order_acquire))
                continue;
            turn_done(w, handled); /* `a` is the spawner's again: not touched */
            atomic_store_explicit(&w->n_done,
                                  atomic_load_explicit(&w->n_done, memory_order_relaxed) + 1,
                                  memory_order_release);
            return;
        }
        if (spent) tri_msg_free(tri_msg_of(spent));
        if (m->counted) { /* a bounded mailbox's message */
            bool dropit;
            tri_msg_popped(a, m, &dropit);
            if (dropit) {
                tri_count_drop(w->sys);
                tri_dead_letter_to(w->sys, m, tri_pid_of(a), TR_DEAD_MAILBOX_FULL);
                continue;
            }
        }
        /* sysmon tells a long callback by this counter standing still */
        atomic_store_explicit(&w->callbacks,
                              atomic_load_explicit(&w->callbacks, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        handled += handle_one(a, m);
        /* The turn ends after `batch` messages, or earlier when sysmon says
         * its slice is used up or work from outside waits (sched.c). */
        if (--budget == 0 || atomic_load_explicit(&w->preempt, memory_order_relaxed)) {
            turn_done(w, handled);
            tri_requeue(w, a);
            return;
        }
    }
}
