/* mailbox.h — an intrusive lock-free MPSC queue with an "empty" edge.
 *
 * The Vyukov queue as the Pony runtime uses it: producers swap themselves in
 * at `head` with one atomic exchange; the single consumer walks from `tail`.
 * The low bit of `head` means "empty and not scheduled": the consumer sets it
 * (mark_empty) only when it has drained the queue, and the producer whose
 * exchange clears it learns that it made the queue non-empty, so it, and only
 * it, schedules the owner. No other synchronisation between senders and the
 * scheduler is needed.
 *
 * As in Pony, the node last popped stays in the queue as its tail until the
 * next pop, so a popped message is valid until the next pop. When the
 * consumer runs dry it re-inserts the embedded stub (tri_mailbox_park), so an
 * idle queue holds no message at all. */
#ifndef TRI_MAILBOX_H
#define TRI_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tri_node {
    _Atomic(struct tri_node *) next;
} tri_node;

typedef struct tri_mailbox {
    _Atomic(uintptr_t) head; /* producers' end; bit 0: empty & unscheduled */
    tri_node *tail;          /* consumer only */
    tri_node stub;
    bool stub_queued; /* consumer only: the stub is linked after tail */
} tri_mailbox;

/* Starts empty and unscheduled. Not thread-safe: before any producer. */
static inline void tri_mailbox_init(tri_mailbox *mb)
{
    atomic_init(&mb->stub.next, NULL);
    mb->tail = &mb->stub;
    mb->stub_queued = false;
    atomic_init(&mb->head, (uintptr_t)&mb->stub | 1);
}

/* Any thread. Returns true when the queue was empty and unscheduled: the
 * caller must then schedule the owner. */
static inline bool tri_mailbox_push(tri_mailbox *mb, tri_node *node)
{
    atomic_store_explicit(&node->next, NULL, memory_order_relaxed);
    uintptr_t prev = atomic_exchange_explicit(&mb->head, (uintptr_t)node,
                                              memory_order_acq_rel);
    tri_node *p = (tri_node *)(prev & ~(uintptr_t)1);
    atomic_store_explicit(&p->next, node, memory_order_release);
    return (prev & 1) != 0;
}

/* Consumer only. The next node, or NULL when none is visible yet; `*spent`
 * receives the node popped before (now the consumer's to free) or NULL. */
static inline tri_node *tri_mailbox_pop(tri_mailbox *mb, tri_node **spent)
{
    *spent = NULL;
    for (;;) {
        tri_node *tail = mb->tail;
        tri_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
        if (!next) return NULL;
        mb->tail = next;
        if (tail != &mb->stub) *spent = tail; /* at most once: see below */
        if (next != &mb->stub) return next;
        /* Passed the stub, which carries nothing; the next round starts
         * from the stub, so it cannot overwrite *spent. */
        mb->stub_queued = false;
    }
}

/* Consumer only, when pop returned NULL. Links the stub behind the last
 * message so that the next pop releases that message; returns true when it
 * did (pop again), false when the stub is already the tail or queued. */
static inline bool tri_mailbox_park(tri_mailbox *mb)
{
    if (mb->tail == &mb->stub || mb->stub_queued) return false;
    mb->stub_queued = true;
    tri_mailbox_push(mb, &mb->stub); /* cannot report "was empty": we own it */
    return true;
}

/* Consumer only, right after a pop that returned a node, with the `spent`
 * that pop gave (not freed): puts that node back, so that the next pop
 * returns it again. Pop leaves the chain untouched, only moving `tail`
 * (possibly across the stub), so stepping back is restoring `tail` and
 * whether the stub lies ahead. */
static inline void tri_mailbox_unpop(tri_mailbox *mb, tri_node *spent)
{
    if (!spent) { /* the stub was the tail, and points at the node */
        mb->tail = &mb->stub;
        mb->stub_queued = false;
        return;
    }
    mb->tail = spent;
    if (atomic_load_explicit(&spent->next, memory_order_relaxed) == &mb->stub)
        mb->stub_queued = true;
}

/* Consumer only, when pop returned NULL and park returned false. Sets the
 * empty bit if no producer has come in since; returns false when one has
 * (the caller must go on popping, as nobody else will schedule it). */
static inline bool tri_mailbox_mark_empty(tri_mailbox *mb)
{
    uintptr_t expect = (uintptr_t)mb->tail;
    return atomic_compare_exchange_strong_explicit(
        &mb->head, &expect, expect | 1, memory_order_acq_rel,
        memory_order_relaxed);
}

#endif
