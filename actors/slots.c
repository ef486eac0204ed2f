/* slots.c — the actor table: chunked, type-stable slots and free lists.
 *
 * Free lists are Treiber stacks of slot indices with an ABA tag in the
 * upper 32 bits of the head word. Reading `free_next` of a slot that another
 * thread popped meanwhile is harmless (slots are never unmapped) and the tag
 * makes the CAS fail. Actor and inbox slots never mix: a slot's kind is fixed
 * for the life of the system, so a sender holding a stale pointer always
 * finds the kind of mailbox it expects. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pool.h"

int tri_slots_init(tri_slots *s)
{
    for (unsigned i = 0; i < TRI_MAX_CHUNKS; i++) atomic_init(&s->chunks[i], NULL);
    atomic_init(&s->nchunks, 0);
    atomic_init(&s->free_head[0], 0);
    atomic_init(&s->free_head[1], 0);
    return pthread_mutex_init(&s->grow_mu, NULL) ? -1 : 0;
}

static void push_free(tr_system *sys, tri_actor *a)
{
    _Atomic uint64_t *head = &sys->slots.free_head[a->kind];
    uint64_t old = atomic_load_explicit(head, memory_order_relaxed);
    uint64_t next;
    do {
        __atomic_store_n(&a->free_next, (uint32_t)old, __ATOMIC_RELAXED);
        next = ((old >> 32) + 1) << 32 | (uint64_t)(a->index + 1);
    } while (!atomic_compare_exchange_weak_explicit(head, &old, next, memory_order_release,
                                                    memory_order_relaxed));
}

static tri_actor *pop_free(tr_system *sys, int kind)
{
    _Atomic uint64_t *head = &sys->slots.free_head[kind];
    uint64_t old = atomic_load_explicit(head, memory_order_acquire);
    for (;;) {
        uint32_t top = (uint32_t)old;
        if (top == 0) return NULL;
        tri_actor *a = tri_slot_lookup(sys, top - 1);
        /* May be stale if another thread popped it meanwhile; then the tag
         * has changed and the CAS below fails. */
        uint32_t next_index = __atomic_load_n(&a->free_next, __ATOMIC_RELAXED);
        uint64_t next = ((old >> 32) + 1) << 32 | next_index;
        if (atomic_compare_exchange_weak_explicit(head, &old, next, memory_order_acquire,
                                                  memory_order_acquire))
            return a;
    }
}

/* Adds one chunk; its slots (all of `kind`) go on the free list but the
 * first, which is returned. */
static tri_actor *grow(tr_system *sys, int kind)
{
    tri_slots *s = &sys->slots;
    pthread_mutex_lock(&s->grow_mu);
    uint32_t c = atomic_load_explicit(&s->nchunks, memory_order_relaxed);
    if (c >= TRI_MAX_CHUNKS) {
        pthread_mutex_unlock(&s->grow_mu);
        return NULL;
    }
    tri_actor *chunk = aligned_alloc(TRI_CACHE_LINE, TRI_CHUNK * sizeof(tri_actor));
    if (!chunk) {
        pthread_mutex_unlock(&s->grow_mu);
        return NULL;
    }
    memset(chunk, 0, TRI_CHUNK * sizeof(tri_actor));
    for (uint32_t i = 0; i < TRI_CHUNK; i++) {
        tri_actor *a = &chunk[i];
        tri_mailbox_init(&a->mb);
        atomic_init(&a->serial, 0);
        atomic_init(&a->live_serial, 0);
        atomic_init(&a->signal, 0);
        a->sys = sys;
        a->index = (c << TRI_CHUNK_BITS) | i;
        a->kind = (uint8_t)kind;
    }
    atomic_store_explicit(&s->chunks[c], chunk, memory_order_release);
    atomic_store_explicit(&s->nchunks, c + 1, memory_order_release);
    pthread_mutex_unlock(&s->grow_mu);
    /* Push in reverse so that low indices come out first. */
    for (uint32_t i = TRI_CHUNK - 1; i >= 1; i--) push_free(sys, &chunk[i]);
    return &chunk[0];
}

tri_actor *tri_slot_alloc(tr_system *sys, int kind)
{
    tri_actor *a = pop_free(sys, kind);
    if (!a) a = grow(sys, kind);
    return a;
}

void tri_slot_release(tr_system *sys, tri_actor *a)
{
    a->state = TRI_ST_FREE;
    /* the identity ends here: stale pids now miss at the sender */
    atomic_store_explicit(&a->serial, 0, memory_order_release);
    push_free(sys, a);
}

/* Frees every chunk. Messages still queued become dead letters. Called
 * when no other thread touches the system any more. */
void tri_slots_fini(tr_system *sys)
{
    tri_slots *s = &sys->slots;
    uint32_t n = atomic_load_explicit(&s->nchunks, memory_order_relaxed);
    for (uint32_t c = 0; c < n; c++) {
        tri_actor *chunk = atomic_load_explicit(&s->chunks[c], memory_order_relaxed);
        for (uint32_t i = 0; i < TRI_CHUNK; i++) {
            tri_mailbox *mb = &chunk[i].mb;
            tri_node *spent, *n2;
            while ((n2 = tri_mailbox_pop(mb, &spent)) != NULL) {
                if (spent) tri_msg_free(tri_msg_of(spent));
                tr_msg *m = tri_msg_of(n2);
                if (m->kind == TRI_MSG_USER)
                    atomic_fetch_add_explicit(&sys->dead_letters, 1, memory_order_relaxed);
            }
            if (spent) tri_msg_free(tri_msg_of(spent));
            if (mb->tail != &mb->stub) tri_msg_free(tri_msg_of(mb->tail));
            mb->tail = &mb->stub;
            if (chunk[i].kind == TRI_SLOT_INBOX) tri_inbox_slot_free(&chunk[i]);
        }
        free(chunk);
        atomic_store_explicit(&s->chunks[c], NULL, memory_order_relaxed);
    }
    pthread_mutex_destroy(&s->grow_mu);
}
