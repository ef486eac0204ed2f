/* test_pool.c — the block pool on its own (an internal module): blocks
 * cross threads and come back to be reused, whatever the pattern. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "testutil.h"
#include "../actors/pool.h"

#define ITEMS 200000
#define RING 1024

/* A bounded hand-off from one thread to another (mutex and condvars: the
 * test is about the pool, not about speed). */
typedef struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *slots[RING];
    unsigned head, tail;
} handoff;

static void put(handoff *h, void *p)
{
    pthread_mutex_lock(&h->mu);
    while (h->tail - h->head == RING) pthread_cond_wait(&h->cv, &h->mu);
    h->slots[h->tail++ % RING] = p;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void *take(handoff *h)
{
    pthread_mutex_lock(&h->mu);
    while (h->tail == h->head) pthread_cond_wait(&h->cv, &h->mu);
    void *p = h->slots[h->head++ % RING];
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return p;
}

/* The consumer frees what it is handed, and between those frees also
 * allocates and frees a block of its own: a thread that frees more than it
 * allocates, but allocates too (a worker handling messages and spawning). */
static void *consumer(void *arg)
{
    handoff *h = arg;
    void *own = NULL;
    for (int i = 0; i < ITEMS; i++) {
        tri_pool_free(take(h), 64);
        tri_pool_free(own, 64);
        own = tri_pool_alloc(64);
    }
    tri_pool_free(own, 64);
    return NULL;
}

static void test_surplus_flows_back(void **state)
{
    (void)state;
    handoff h = {.head = 0, .tail = 0};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    int64_t before = tri_pool_carved(), out0 = tri_pool_outstanding();
    pthread_t th;
    pthread_create(&th, NULL, consumer, &h);
    for (int i = 0; i < ITEMS; i++) {
        void *p = tri_pool_alloc(64);
        assert_non_null(p);
        put(&h, p);
    }
    pthread_join(th, NULL);
    int64_t grown = tri_pool_carved() - before;
    /* Every block came back for reuse: what was carved is bounded by what
     * was in flight (the ring) plus a few batches per thread, not by the
     * 200,000 items that passed. */
    assert_true(grown < 8 * 1024);
    assert_int_equal(tri_pool_outstanding(), out0);
    pthread_mutex_destroy(&h.mu);
    pthread_cond_destroy(&h.cv);
}

/* Alloc and free of every size class and of large blocks, in one thread. */
static void test_sizes(void **state)
{
    (void)state;
    int64_t out0 = tri_pool_outstanding();
    static const size_t sizes[] = {1, 64, 65, 128, 200, 256, 500, 1024, 1025, 70000};
    void *p[sizeof sizes / sizeof *sizes];
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        p[i] = tri_pool_alloc(sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], 0xab, sizes[i]); /* ASan checks the block is that big */
    }
    assert_int_equal(tri_pool_outstanding(), out0 + 10);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) tri_pool_free(p[i], sizes[i]);
    assert_int_equal(tri_pool_outstanding(), out0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_surplus_flows_back),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
