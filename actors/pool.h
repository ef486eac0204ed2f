/* pool.h — fixed-size block allocation for messages and actor state.
 *
 * Why: an actor runtime allocates on one thread and frees on another all the
 * time (a message is built by its sender and freed by its receiver), and on
 * this VM first-touching a fresh page costs 12-17 us. So blocks are recycled
 * while the runtime is in use, and every thread keeps its own cache per size
 * class: alloc and free are a few instructions with no atomics. Imbalance
 * (one thread only allocates, another only frees) is settled in whole
 * batches through one global list per class, under a mutex taken once per
 * TRI_POOL_BATCH blocks. Sizes above the largest class go to malloc.
 *
 * Any thread may call these; a thread's cache goes back to the global lists
 * when the thread exits.
 *
 * Memory goes back to the C library (tri_pool_release) once the runtime is
 * idle: when the last thread holding a cache other than the caller is gone
 * and no block is outstanding. tr_system_destroy tries it after joining the
 * system's threads, and so does the last such thread when it exits; in a
 * program whose other threads have ended, valgrind then finds nothing of
 * the pools. Until then every chunk's base pointer stays in a registry, so
 * a leak checker sees the pools as "still reachable", never "possibly
 * lost". */
#ifndef TRI_POOL_H
#define TRI_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Block sizes: 64, 128, 256, 512, 1024 bytes. */
#define TRI_POOL_CLASSES 5
#define TRI_POOL_MAX_BLOCK 1024
#define TRI_POOL_BATCH 128

/* The thread cache, visible here only so that the hot paths below can be
 * inlined into every sender and receiver (out of line they cost a function
 * prologue and epilogue bigger than the work: measured 48 instructions a
 * call, against ~12 inline). Everything else about it is pool.c's. */
typedef struct tri_pool_block {
    struct tri_pool_block *next;       /* within a thread's list or a batch */
    struct tri_pool_block *next_batch; /* only in the first block of a batch */
    uint32_t batch_n;                  /* only there too: the batch's length */
} tri_pool_block;

typedef struct tri_pool_local {
    tri_pool_block *active;
    uint32_t active_n;
    tri_pool_block *spare;
    uint32_t spare_n;
    _Atomic int64_t allocs; /* written by the owner only (relaxed store) */
    _Atomic int64_t frees;
} tri_pool_local;

typedef struct tri_pool_cache {
    tri_pool_local cls[TRI_POOL_CLASSES];
    bool registered;
    struct tri_pool_cache *prev, *next;
} tri_pool_cache;

extern _Thread_local tri_pool_cache tri_pool_tls;

void *tri_pool_alloc_slow(size_t size);
void tri_pool_free_slow(void *block, size_t size);

static inline void tri_pool_count(_Atomic int64_t *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* tri_pool_alloc — a block of at least `size` bytes (not zeroed), or NULL.
 * Alignment: 16 bytes. Inline for the two classes messages use. */
static inline void *tri_pool_alloc(size_t size)
{
    if (__builtin_expect(size <= 128, 1)) {
        tri_pool_local *l = &tri_pool_tls.cls[size > 64];
        tri_pool_block *b = l->active;
        if (__builtin_expect(b != NULL, 1)) { /* non-empty: the thread is registered */
            l->active = b->next;
            l->active_n--;
            tri_pool_count(&l->allocs);
            return b;
        }
    }
    return tri_pool_alloc_slow(size);
}

/* tri_pool_free — returns a block from tri_pool_alloc; `size` must be the
 * size it was allocated with. NULL is ignored. */
static inline void tri_pool_free(void *p, size_t size)
{
    if (__builtin_expect(size <= 128 && p != NULL, 1)) {
        tri_pool_local *l = &tri_pool_tls.cls[size > 64];
        if (__builtin_expect(tri_pool_tls.registered && l->active_n + 1 < TRI_POOL_BATCH, 1)) {
            tri_pool_block *b = p;
            b->next = l->active;
            l->active = b;
            l->active_n++;
            tri_pool_count(&l->frees);
            return;
        }
    }
    tri_pool_free_slow(p, size);
}

/* tri_pool_carved — blocks ever carved from fresh memory, process-wide: a
 * measure of how much the pools hold, used by tests to prove that blocks
 * are recycled rather than hoarded by one thread. */
int64_t tri_pool_carved(void);

/* tri_pool_outstanding — blocks allocated and not yet freed, process-wide,
 * over all threads. Exact only while no thread allocates or frees. */
int64_t tri_pool_outstanding(void);

/* tri_pool_release — frees every chunk of every class if no thread other
 * than the caller holds a cache (every other thread that ever allocated or
 * freed a block has exited) and no block is outstanding; the caller's own
 * cache is emptied. Returns whether chunks were freed. Later allocations
 * carve fresh chunks, so it is always safe to call, from any thread; it
 * only costs a re-touch of the memory when troupe is used again. */
bool tri_pool_release(void);

/* tri_pool_releases — how many times tri_pool_release (or a thread's exit)
 * freed the pools, process-wide; for tests. */
int64_t tri_pool_releases(void);

/* tri_pool_chunks — chunks the pools hold now, over all classes; for tests. */
size_t tri_pool_chunks(void);

#endif
