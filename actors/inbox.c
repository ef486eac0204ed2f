/* inbox.c — a mailbox with a pid, consumed by a non-actor thread.
 *
 * An inbox slot uses the same mailbox and empty-edge protocol as an actor;
 * "scheduling" it means waking its owner's condition variable. After
 * tr_inbox_destroy the slot is closed: the sender who makes its mailbox
 * non-empty becomes its consumer for that moment and drops what it finds
 * as dead letters (the edge protocol guarantees that only one does). Inbox
 * slots are reused only as inboxes, and their mutex serialises reopening
 * with such a drain. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct tri_inbox_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic bool signaled; /* a sender made the mailbox non-empty (set under mu) */
    bool closed;
};

/* A receiver that finds its inbox empty watches it this long before it
 * sleeps: an answer is often only microseconds away (a call, a driver's
 * next step), and being woken from a condition variable costs far more. */
#define TRI_INBOX_SPIN_NS 20000

struct tr_inbox {
    tr_system *sys;
    tri_actor *slot;
    tr_pid pid;
    bool marked; /* we set the empty bit and await a signal */
    /* monitors this inbox holds: their refs (a "tr.down" of any other ref
     * is stale and dropped, which makes tr_inbox_demonitor final) */
    uint64_t next_ref;
    struct inbox_mon {
        uint64_t ref;
        tr_pid target;
    } *mons;
    size_t nmons, capmons;
};

/* Consumer only: pops everything, dropping it, and marks the mailbox empty. */
static void drain(tr_system *sys, tri_actor *a)
{
    for (;;) {
        tri_node *spent;
        tri_node *n = tri_mailbox_pop(&a->mb, &spent);
        if (spent) tri_msg_free(tri_msg_of(spent));
        if (n) {
            tri_dead_letter(sys, tri_msg_of(n), a->index);
            continue;
        }
        if (tri_mailbox_park(&a->mb)) continue;
        if (tri_mailbox_mark_empty(&a->mb)) return;
    }
}

void tri_inbox_wake(tr_system *sys, tri_actor *a)
{
    tri_inbox_state *st = a->u.inbox;
    pthread_mutex_lock(&st->mu);
    if (st->closed) {
        drain(sys, a);
    } else {
        atomic_store_explicit(&st->signaled, true, memory_order_release);
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
}

tr_err tr_inbox_new(tr_system *sys, tr_inbox **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    if (!sys) return TR_EINVAL;
    tr_inbox *in = calloc(1, sizeof *in);
    if (!in) return TR_ENOMEM;
    tri_actor *a = tri_slot_alloc(sys, TRI_SLOT_INBOX);
    if (!a) {
        free(in);
        return TR_ENOMEM;
    }
    if (!a->u.inbox) { /* first use of this slot: its state stays with it */
        tri_inbox_state *st = calloc(1, sizeof *st);
        if (!st) {
            tri_slot_release(sys, a);
            free(in);
            return TR_ENOMEM;
        }
        pthread_mutex_init(&st->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&st->cv, &ca);
        pthread_condattr_destroy(&ca);
        a->u.inbox = st;
    }
    tri_inbox_state *st = a->u.inbox;
    pthread_mutex_lock(&st->mu);
    st->closed = false;
    st->signaled = false;
    uint64_t serial = atomic_fetch_add_explicit(&sys->next_serial, 1, memory_order_relaxed);
    atomic_store_explicit(&a->serial, serial, memory_order_release);
    pthread_mutex_unlock(&st->mu);
    /* The mailbox was left marked empty by whoever drained it last. */
    in->marked = true;
    in->sys = sys;
    in->slot = a;
    in->pid = tri_pid_of(a);
    atomic_fetch_add(&sys->inboxes_live, 1);
    *out = in;
    return TR_OK;
}

tr_pid tr_inbox_pid(const tr_inbox *in) { return in ? in->pid : TR_PID_NIL; }

tr_system *tri_inbox_system(const tr_inbox *in) { return in ? in->sys : NULL; }

/* Removes `ref` from the inbox's monitors, setting *target (if given);
 * false when it was not one. A linear scan: an inbox watches a handful. */
static bool forget_monitor_of(tr_inbox *in, uint64_t ref, tr_pid *target)
{
    for (size_t i = 0; i < in->nmons; i++)
        if (in->mons[i].ref == ref) {
            if (target) *target = in->mons[i].target;
            in->mons[i] = in->mons[--in->nmons];
            return true;
        }
    return false;
}

static bool forget_monitor(tr_inbox *in, uint64_t ref) { return forget_monitor_of(in, ref, NULL); }

tr_err tr_inbox_monitor(tr_inbox *in, tr_pid target, tr_ref *out)
{
    if (out) out->id = 0;
    if (!in || tr_pid_is_nil(target)) return TR_EINVAL;
    if (in->nmons == in->capmons) {
        size_t cap = in->capmons ? in->capmons * 2 : 4;
        struct inbox_mon *m = realloc(in->mons, cap * sizeof *m);
        if (!m) return TR_ENOMEM;
        in->mons = m;
        in->capmons = cap;
    }
    uint64_t ref = ++in->next_ref;
    in->mons[in->nmons++] = (struct inbox_mon){ref, target}; /* before the signal: a dead
                                                               * target answers at once */
    int rc = tri_monitor_send(in->sys, in->pid, target, ref, false);
    if (rc != TR_OK) {
        forget_monitor(in, ref);
        return rc;
    }
    if (out) out->id = ref;
    return TR_OK;
}

tr_err tr_inbox_demonitor(tr_inbox *in, tr_ref ref)
{
    if (!in) return TR_EINVAL;
    tr_pid target;
    if (ref.id == 0 || !forget_monitor_of(in, ref.id, &target)) return TR_ENOENT;
    tri_monitor_send(in->sys, in->pid, target, ref.id, true); /* the target forgets it too */
    return TR_OK;
}

tr_err tr_inbox_send(tr_inbox *in, tr_pid to, tr_atom type, const void *data, size_t size)
{
    if (!in) return TR_EINVAL;
    return tri_send_from(in->sys, in->pid, to, type, data, size);
}

tr_err tr_inbox_reply(tr_inbox *in, const tr_msg *req, tr_atom type, const void *data, size_t size)
{
    if (!in || !req || req->call != TRI_CALL_REQUEST || type.id == 0 || (size && !data))
        return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = tri_msg_alloc_call(TRI_CALL_REPLY, tri_msg_ref(req), type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->sender = in->pid;
    return tri_deliver(in->sys, req->sender, m);
}

tr_err tr_inbox_recv(tr_inbox *in, const tr_msg **msg, int64_t timeout_ms)
{
    if (msg) *msg = NULL;
    if (!in || !msg) return TR_EINVAL;
    if (timeout_ms != 0 && tri_current_worker) return TR_ENOTACTOR; /* would block a worker */
    tri_actor *a = in->slot;
    tri_inbox_state *st = a->u.inbox;
    struct timespec deadline;
    if (timeout_ms > 0) deadline = tri_timespec_after(CLOCK_MONOTONIC, timeout_ms);
    *msg = NULL;
    for (;;) {
        if (!in->marked) {
            tri_node *spent;
            tri_node *n = tri_mailbox_pop(&a->mb, &spent);
            if (spent) tri_msg_free(tri_msg_of(spent));
            if (n) {
                tr_msg *m = tri_msg_of(n);
                if (m->dest_serial != in->pid.serial || m->kind != TRI_MSG_USER) {
                    tri_dead_letter(in->sys, m, a->index);
                    continue;
                }
                if (m->call == TRI_CALL_MONITOR && !forget_monitor(in, tri_msg_ref(m))) {
                    tri_count(in->sys, TRI_N_HANDLED); /* demonitored: consumed here */
                    continue;
                }
                tri_count(in->sys, TRI_N_HANDLED);
                *msg = m;
                return TR_OK;
            }
            if (tri_mailbox_park(&a->mb)) continue;
            if (!tri_mailbox_mark_empty(&a->mb)) continue; /* a sender is mid-push */
            in->marked = true;
        }
        /* Marked empty: the next sender signals us. */
        if (timeout_ms != 0) {
            int64_t until = tri_mono_ns() + TRI_INBOX_SPIN_NS;
            for (unsigned i = 1; !atomic_load_explicit(&st->signaled, memory_order_acquire); i++) {
                tri_cpu_relax();
                if (i % 64 == 0 && tri_mono_ns() > until) break;
            }
        }
        pthread_mutex_lock(&st->mu);
        while (!st->signaled) {
            if (timeout_ms == 0) break;
            if (timeout_ms < 0) pthread_cond_wait(&st->cv, &st->mu);
            else if (pthread_cond_timedwait(&st->cv, &st->mu, &deadline) != 0) break;
        }
        bool got = st->signaled;
        st->signaled = false;
        pthread_mutex_unlock(&st->mu);
        if (!got) return TR_ETIMEDOUT;
        in->marked = false;
    }
}

void tr_inbox_destroy(tr_inbox **pin)
{
    if (!pin || !*pin) return;
    tr_inbox *in = *pin;
    *pin = NULL;
    tri_actor *a = in->slot;
    tri_inbox_state *st = a->u.inbox;
    atomic_store_explicit(&a->serial, 0, memory_order_release);
    pthread_mutex_lock(&st->mu);
    st->closed = true;
    /* Unless the mailbox sits marked empty with no sender since, we are
     * still its consumer: drain it now. */
    if (!in->marked || st->signaled) drain(in->sys, a);
    st->signaled = false;
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_sub(&in->sys->inboxes_live, 1);
    tri_slot_release(in->sys, a);
    free(in->mons);
    free(in);
}

/* At system destruction: frees an inbox slot's lasting state. */
void tri_inbox_slot_free(tri_actor *a)
{
    tri_inbox_state *st = a->u.inbox;
    if (!st) return;
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
    a->u.inbox = NULL;
}
