/* test_pool.c — the block pool on its own (an internal module): blocks
 * cross threads and come back to be reused, whatever the pattern; and the
 * pools give their memory back once no other thread holds a cache and no
 * block is outstanding (what makes a valgrind run of a program clean). */
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

/* A thread that allocates and frees, so that it holds a cache, then waits
 * until told to exit. */
typedef struct holder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready, go;
} holder;

static void *hold_cache(void *arg)
{
    holder *h = arg;
    void *p[TRI_POOL_BATCH / 2];
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) p[i] = tri_pool_alloc(64);
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) tri_pool_free(p[i], 64);
    pthread_mutex_lock(&h->mu);
    h->ready = true;
    pthread_cond_broadcast(&h->cv);
    while (!h->go) pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void *alloc_and_free(void *arg)
{
    (void)arg;
    void *p = tri_pool_alloc(200);
    tri_pool_free(p, 200);
    return NULL;
}

/* Runs first, before the main thread has touched the pools: the last
 * thread holding a cache releases the pools when it exits. */
static void test_last_thread_exit_releases(void **state)
{
    (void)state;
    assert_false(tri_pool_tls.registered);
    int64_t releases = tri_pool_releases();
    pthread_t th;
    pthread_create(&th, NULL, alloc_and_free, NULL);
    pthread_join(th, NULL);
    assert_int_equal(tri_pool_releases(), releases + 1);
    assert_int_equal(tri_pool_chunks(), 0);
    assert_int_equal(tri_pool_outstanding(), 0);
}

static void test_release_when_idle(void **state)
{
    (void)state;
    void *p = tri_pool_alloc(64), *q = tri_pool_alloc(1000);
    assert_non_null(p);
    assert_non_null(q);
    assert_true(tri_pool_chunks() >= 2);
    /* Not while a block is outstanding. */
    assert_false(tri_pool_release());
    tri_pool_free(p, 64);
    assert_false(tri_pool_release());
    tri_pool_free(q, 1000);
    int64_t releases = tri_pool_releases();
    assert_true(tri_pool_release());
    assert_int_equal(tri_pool_releases(), releases + 1);
    assert_int_equal(tri_pool_chunks(), 0);
    /* Nothing left to free: a second call does nothing. */
    assert_false(tri_pool_release());
    /* The pools work again afterwards, from fresh chunks. */
    p = tri_pool_alloc(64);
    assert_non_null(p);
    memset(p, 0xcd, 64);
    assert_int_equal(tri_pool_chunks(), 1);
    tri_pool_free(p, 64);
    assert_int_equal(tri_pool_outstanding(), 0);
    assert_true(tri_pool_release());
}

/* Another thread's cache may hold blocks of any chunk: no release while it
 * lives, and its exit alone does not release while this thread holds a
 * cache too. */
static void test_no_release_while_another_thread_caches(void **state)
{
    (void)state;
    holder h = {.ready = false, .go = false};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    void *mine = tri_pool_alloc(64); /* this thread holds a cache too */
    tri_pool_free(mine, 64);
    pthread_t th;
    pthread_create(&th, NULL, hold_cache, &h);
    pthread_mutex_lock(&h.mu);
    while (!h.ready) pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    size_t chunks = tri_pool_chunks();
    assert_true(chunks > 0);
    assert_false(tri_pool_release());
    assert_int_equal(tri_pool_chunks(), chunks);
    pthread_mutex_lock(&h.mu);
    h.go = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(th, NULL);
    assert_int_equal(tri_pool_chunks(), chunks);
    assert_true(tri_pool_release());
    assert_int_equal(tri_pool_chunks(), 0);
    pthread_mutex_destroy(&h.mu);
    pthread_cond_destroy(&h.cv);
}

/* tr_system_destroy of the last system gives the pools' memory back: its
 * workers, timer and blocking threads are joined, and the test thread
 * (which sent and received) is the only one left holding a cache. */
static void test_system_destroy_releases(void **state)
{
    (void)state;
    tr_system *sys;
    tr_system_opts o = {.workers = 2};
    assert_int_equal(tr_system_new(&o, &sys), TR_OK);
    tr_inbox *in;
    assert_int_equal(tr_inbox_new(sys, &in), TR_OK);
    tr_atom a = tr_atom_from("pool.test");
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tr_inbox_send(in, tr_inbox_pid(in), a, &i, sizeof i), TR_OK);
        const tr_msg *m;
        assert_int_equal(tr_inbox_recv(in, &m, 10000), TR_OK);
        assert_true(tr_msg_is(m, a));
    }
    assert_true(tri_pool_chunks() > 0);
    int64_t releases = tri_pool_releases();
    tr_inbox_destroy(&in);
    tr_system_destroy(&sys);
    assert_int_equal(tri_pool_releases(), releases + 1);
    assert_int_equal(tri_pool_chunks(), 0);
    assert_int_equal(tr_pool_outstanding(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_thread_exit_releases), /* first: see there */
        cmocka_unit_test(test_surplus_flows_back),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_release_when_idle),
        cmocka_unit_test(test_no_release_while_another_thread_caches),
        cmocka_unit_test(test_system_destroy_releases),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
