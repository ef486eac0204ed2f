/* pool.c — per-thread block caches over global batch lists; see pool.h.
 *
 * Lock order: caches_mu, then the class mutexes in class order (only
 * tri_pool_release nests them; everything else takes one at a time). */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

typedef tri_pool_block block;

/* The global side of one size class. */
typedef struct global_class {
    pthread_mutex_t mu;
    block *batches; /* full batches of TRI_POOL_BATCH blocks */
    block *carve;   /* the rest of the chunk being carved */
    size_t carve_left;
    /* Every chunk's base pointer, as aligned_alloc returned it: what
     * tri_pool_release frees, and what keeps the blocks "still reachable"
     * for a leak checker (the free lists point only into the middle of
     * chunks, which valgrind reports as "possibly lost"). */
    void **chunks;
    size_t nchunks, chunks_cap;
} global_class;

/* One thread's cache for one size class (tri_pool_local in pool.h).
 * `active` takes frees and serves allocs; `spare` holds one full batch so
 * that a thread oscillating around a batch boundary does not hit the
 * global lock every time. Both lengths are exact: a thread that frees more
 * than it allocates must hand its surplus over however its frees and
 * allocs interleave. */
typedef tri_pool_local local_class;
typedef tri_pool_cache thread_cache;

static global_class globals[TRI_POOL_CLASSES] = {
    {.mu = PTHREAD_MUTEX_INITIALIZER},
    {.mu = PTHREAD_MUTEX_INITIALIZER},
    {.mu = PTHREAD_MUTEX_INITIALIZER},
    {.mu = PTHREAD_MUTEX_INITIALIZER},
    {.mu = PTHREAD_MUTEX_INITIALIZER},
};

/* All live thread caches, for tri_pool_outstanding, plus what exited
 * threads left behind in the counters. */
static pthread_mutex_t caches_mu = PTHREAD_MUTEX_INITIALIZER;
static thread_cache *caches;
static int64_t retired_outstanding;
static _Atomic int64_t large_outstanding;
static _Atomic int64_t carved;
static _Atomic int64_t releases;

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
_Thread_local tri_pool_cache tri_pool_tls;
#define tls tri_pool_tls

static inline size_t class_size(unsigned c) { return (size_t)64 << c; }

static inline int size_class(size_t size)
{
    if (size <= 64) return 0;
    if (size <= 128) return 1;
    if (size <= 256) return 2;
    if (size <= 512) return 3;
    if (size <= 1024) return 4;
    return -1;
}

static void give_back_batch(unsigned c, block *first, uint32_t n)
{
    global_class *g = &globals[c];
    first->batch_n = n;
    pthread_mutex_lock(&g->mu);
    first->next_batch = g->batches;
    g->batches = first;
    pthread_mutex_unlock(&g->mu);
}

static bool release_locked(thread_cache *self);

/* Returns a batch's worth of lists to the globals on thread exit. Partial
 * lists are pushed as (short) batches: batch length is never relied on.
 * The last thread holding a cache to exit releases the pools, as
 * tri_pool_release would. */
static void thread_exit(void *arg)
{
    thread_cache *tc = arg;
    int64_t outstanding = 0;
    for (unsigned c = 0; c < TRI_POOL_CLASSES; c++) {
        local_class *l = &tc->cls[c];
        if (l->active) give_back_batch(c, l->active, l->active_n);
        if (l->spare) give_back_batch(c, l->spare, l->spare_n);
        l->active = l->spare = NULL;
        l->active_n = l->spare_n = 0;
        outstanding += atomic_load_explicit(&l->allocs, memory_order_relaxed) -
                       atomic_load_explicit(&l->frees, memory_order_relaxed);
    }
    pthread_mutex_lock(&caches_mu);
    retired_outstanding += outstanding;
    if (tc->prev) tc->prev->next = tc->next;
    else caches = tc->next;
    if (tc->next) tc->next->prev = tc->prev;
    tc->registered = false;
    release_locked(NULL);
    pthread_mutex_unlock(&caches_mu);
}

static void make_exit_key(void) { pthread_key_create(&exit_key, thread_exit); }

static void register_thread(void)
{
    pthread_once(&exit_key_once, make_exit_key);
    pthread_setspecific(exit_key, &tls);
    pthread_mutex_lock(&caches_mu);
    tls.prev = NULL;
    tls.next = caches;
    if (caches) caches->prev = &tls;
    caches = &tls;
    pthread_mutex_unlock(&caches_mu);
    tls.registered = true;
}

/* Refills an empty active list: from the spare batch, a global batch, or
 * a fresh chunk carved into blocks. */
static bool refill(unsigned c, local_class *l)
{
    if (l->spare) {
        l->active = l->spare;
        l->active_n = l->spare_n;
        l->spare = NULL;
        l->spare_n = 0;
        return true;
    }
    global_class *g = &globals[c];
    size_t bs = class_size(c);
    pthread_mutex_lock(&g->mu);
    block *b = g->batches;
    if (b) {
        g->batches = b->next_batch;
        pthread_mutex_unlock(&g->mu);
        l->active = b;
        l->active_n = b->batch_n;
        return true;
    }
    if (g->carve_left == 0) {
        /* Chunks are freed only by tri_pool_release, when no thread but the
         * releasing one holds a cache: until then blocks are recycled. */
        size_t chunk = bs * TRI_POOL_BATCH * 4;
        if (g->nchunks == g->chunks_cap) {
            size_t cap = g->chunks_cap ? g->chunks_cap * 2 : 16;
            void **grown = realloc(g->chunks, cap * sizeof *grown);
            if (!grown) {
                pthread_mutex_unlock(&g->mu);
                return false;
            }
            g->chunks = grown;
            g->chunks_cap = cap;
        }
        char *mem = aligned_alloc(64, chunk);
        if (!mem) {
            pthread_mutex_unlock(&g->mu);
            return false;
        }
        g->chunks[g->nchunks++] = mem;
        g->carve = (block *)mem;
        g->carve_left = TRI_POOL_BATCH * 4;
    }
    char *start = (char *)g->carve;
    size_t take = g->carve_left < TRI_POOL_BATCH ? g->carve_left : TRI_POOL_BATCH;
    g->carve_left -= take;
    g->carve = g->carve_left ? (block *)(start + take * bs) : NULL;
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add_explicit(&carved, (int64_t)take, memory_order_relaxed);
    for (size_t i = 0; i + 1 < take; i++)
        ((block *)(start + i * bs))->next = (block *)(start + (i + 1) * bs);
    ((block *)(start + (take - 1) * bs))->next = NULL;
    l->active = (block *)start;
    l->active_n = (uint32_t)take;
    return true;
}

void *tri_pool_alloc_slow(size_t size)
{
    int c = size_class(size);
    if (c < 0) {
        void *p = aligned_alloc(16, (size + 15) & ~(size_t)15);
        if (p) atomic_fetch_add_explicit(&large_outstanding, 1, memory_order_relaxed);
        return p;
    }
    if (!tls.registered) register_thread();
    local_class *l = &tls.cls[c];
    if (!l->active && !refill((unsigned)c, l)) return NULL;
    block *b = l->active;
    l->active = b->next;
    l->active_n--;
    atomic_store_explicit(&l->allocs,
                          atomic_load_explicit(&l->allocs, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return b;
}

void tri_pool_free_slow(void *p, size_t size)
{
    if (!p) return;
    int c = size_class(size);
    if (c < 0) {
        free(p);
        atomic_fetch_sub_explicit(&large_outstanding, 1, memory_order_relaxed);
        return;
    }
    if (!tls.registered) register_thread();
    local_class *l = &tls.cls[c];
    block *b = p;
    b->next = l->active;
    l->active = b;
    if (++l->active_n >= TRI_POOL_BATCH) {
        if (l->spare) give_back_batch((unsigned)c, l->spare, l->spare_n);
        l->spare = l->active;
        l->spare_n = l->active_n;
        l->active = NULL;
        l->active_n = 0;
    }
    atomic_store_explicit(&l->frees,
                          atomic_load_explicit(&l->frees, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

int64_t tri_pool_carved(void) { return atomic_load(&carved); }

/* Under caches_mu. */
static int64_t outstanding_locked(void)
{
    int64_t n = retired_outstanding;
    for (thread_cache *tc = caches; tc; tc = tc->next)
        for (unsigned c = 0; c < TRI_POOL_CLASSES; c++)
            n += atomic_load_explicit(&tc->cls[c].allocs, memory_order_relaxed) -
                 atomic_load_explicit(&tc->cls[c].frees, memory_order_relaxed);
    return n + atomic_load_explicit(&large_outstanding, memory_order_relaxed);
}

int64_t tri_pool_outstanding(void)
{
    pthread_mutex_lock(&caches_mu);
    int64_t n = outstanding_locked();
    pthread_mutex_unlock(&caches_mu);
    return n;
}

/* Under caches_mu. `self` is the calling thread's cache if it is
 * registered, else NULL.
 *
 * Why this is safe with no check on the inline paths: a block can be
 * reached only from an outstanding allocation (none), a global list (the
 * class mutexes are held) or a registered thread's cache (there is none but
 * the caller's, which it empties here itself). A thread that is not
 * registered has empty lists, so its next alloc or free takes the slow
 * path, which registers it under caches_mu and refills under the class
 * mutex: after this release it carves fresh chunks. Every thread that held
 * a cache before has exited, and unregistered under caches_mu, so its last
 * writes to any block happen before these frees. */
static bool release_locked(thread_cache *self)
{
    for (thread_cache *tc = caches; tc; tc = tc->next)
        if (tc != self) return false;
    if (outstanding_locked() != 0) return false;
    for (unsigned c = 0; c < TRI_POOL_CLASSES; c++) pthread_mutex_lock(&globals[c].mu);
    size_t freed = 0;
    for (unsigned c = 0; c < TRI_POOL_CLASSES; c++) {
        global_class *g = &globals[c];
        for (size_t i = 0; i < g->nchunks; i++) free(g->chunks[i]);
        freed += g->nchunks;
        free(g->chunks);
        g->chunks = NULL;
        g->nchunks = g->chunks_cap = 0;
        g->batches = NULL;
        g->carve = NULL;
        g->carve_left = 0;
        if (self) {
            local_class *l = &self->cls[c];
            l->active = l->spare = NULL;
            l->active_n = l->spare_n = 0;
        }
    }
    for (unsigned c = TRI_POOL_CLASSES; c-- > 0;) pthread_mutex_unlock(&globals[c].mu);
    if (freed) atomic_fetch_add_explicit(&releases, 1, memory_order_relaxed);
    return freed > 0;
}

bool tri_pool_release(void)
{
    pthread_mutex_lock(&caches_mu);
    bool done = release_locked(tls.registered ? &tls : NULL);
    pthread_mutex_unlock(&caches_mu);
    return done;
}

int64_t tri_pool_releases(void) { return atomic_load(&releases); }

size_t tri_pool_chunks(void)
{
    size_t n = 0;
    for (unsigned c = 0; c < TRI_POOL_CLASSES; c++) {
        pthread_mutex_lock(&globals[c].mu);
        n += globals[c].nchunks;
        pthread_mutex_unlock(&globals[c].mu);
    }
    return n;
}
