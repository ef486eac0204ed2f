/* pool.h — fixed-size block allocation for messages and actor state.
 *
 * Why: an actor runtime allocates on one thread and frees on another all the
 * time (a message is built by its sender and freed by its receiver), and on
 * this VM first-touching a fresh page costs 12-17 us. So blocks are recycled,
 * never returned to the OS, and every thread keeps its own cache per size
 * class: alloc and free are a few instructions with no atomics. Imbalance
 * (one thread only allocates, another only frees) is settled in whole
 * batches through one global list per class, under a mutex taken once per
 * TRI_POOL_BATCH blocks. Sizes above the largest class go to malloc.
 *
 * Any thread may call these; a thread's cache goes back to the global lists
 * when the thread exits. */
#ifndef TRI_POOL_H
#define TRI_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Block sizes: 64, 128, 256, 512, 1024 bytes. */
#define TRI_POOL_CLASSES 5
#define TRI_POOL_MAX_BLOCK 1024
#define TRI_POOL_BATCH 128

/* tri_pool_alloc — a block of at least `size` bytes (not zeroed), or NULL.
 * Alignment: 16 bytes. */
void *tri_pool_alloc(size_t size);

/* tri_pool_free — returns a block from tri_pool_alloc; `size` must be the
 * size it was allocated with. NULL is ignored. */
void tri_pool_free(void *block, size_t size);

/* tri_pool_carved — blocks ever carved from fresh memory, process-wide: a
 * measure of how much the pools hold, used by tests to prove that blocks
 * are recycled rather than hoarded by one thread. */
int64_t tri_pool_carved(void);

/* tri_pool_outstanding — blocks allocated and not yet freed, process-wide,
 * over all threads. Exact only while no thread allocates or frees. */
int64_t tri_pool_outstanding(void);

#endif
