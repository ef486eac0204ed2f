/* io_thread.c — who runs a node's I/O passes (io.c): the I/O thread, and a
 * standby for when the I/O thread is busy in an actor's callback.
 *
 * The I/O thread is the scheduler's guest (core.h): a message read from
 * another node makes its actor runnable on this thread, which runs the
 * actor's turn right after the pass, and the reply that turn sends goes
 * out in the next pass, from here. A round trip thus wakes no thread
 * between the socket and the actor, which is what a ping-pong across
 * nodes pays for most (docs/architecture.md, "The I/O thread runs turns").
 *
 * A callback can run long, and the node's sockets must not wait for it.
 * The sockets belong to whoever holds io_mu, and the I/O thread lets go of
 * it while it runs turns. If one of its callbacks runs a time slice,
 * sysmon tells us (node_stuck) and the standby thread takes io_mu and runs
 * the passes, handing the actors it wakes to the workers as any thread
 * would. When the I/O thread is back, it raises `reclaim` and wakes the
 * standby's poll; the standby lets go after its pass. A ZeroMQ socket may
 * change threads with a full barrier between, which the mutex is. */
#include <unistd.h>

#include "../actors/core.h"
#include "node_impl.h"

#define GUEST_TURNS 64 /* actor turns between two passes */

/* Takes io_mu back after the guest's turns: at once if the standby did
 * not take over, else after asking it to let go. */
static void reclaim(tr_node *n)
{
    if (pthread_mutex_trylock(&n->io_mu) == 0) return;
    atomic_store_explicit(&n->reclaim, true, memory_order_seq_cst);
    uint64_t one = 1;
    ssize_t r = write(n->efd, &one, sizeof one); /* it may sleep in its poll */
    (void)r;
    pthread_mutex_lock(&n->io_mu);
    atomic_store_explicit(&n->reclaim, false, memory_order_relaxed);
}

static void *io_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-io");
    tr_node *n = arg;
    tri_worker *g = n->guest;
    tri_current_worker = g; /* what the passes wake lands on the guest */
    pthread_mutex_lock(&n->io_mu);
    while (tri_node_io_pass(n, g)) {
        if (!g || !tri_sched_guest_has_work(g)) continue;
        pthread_mutex_unlock(&n->io_mu);
        tri_sched_guest_run(g, GUEST_TURNS);
        reclaim(n);
    }
    tri_node_io_end(n);
    pthread_mutex_unlock(&n->io_mu);
    if (g) tri_sched_rescue(g); /* anything left goes to the workers */
    tri_current_worker = NULL;
    return NULL;
}

/* Sysmon's thread: a guest callback has run a time slice. */
static void node_stuck(void *arg)
{
    tr_node *n = arg;
    pthread_mutex_lock(&n->standby_mu);
    n->standby_go = true;
    pthread_cond_signal(&n->standby_cv);
    pthread_mutex_unlock(&n->standby_mu);
}

static void *standby_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-standby");
    tr_node *n = arg;
    pthread_mutex_lock(&n->standby_mu);
    for (;;) {
        while (!n->standby_go && !atomic_load_explicit(&n->stopping, memory_order_acquire))
            pthread_cond_wait(&n->standby_cv, &n->standby_mu);
        if (atomic_load_explicit(&n->stopping, memory_order_acquire)) break;
        n->standby_go = false;
        pthread_mutex_unlock(&n->standby_mu);
        pthread_mutex_lock(&n->io_mu);
        atomic_fetch_add_explicit(&n->takeovers, 1, memory_order_relaxed);
        while (!atomic_load_explicit(&n->reclaim, memory_order_seq_cst) &&
               tri_node_io_pass(n, NULL)) {
        }
        pthread_mutex_unlock(&n->io_mu);
        pthread_mutex_lock(&n->standby_mu);
    }
    pthread_mutex_unlock(&n->standby_mu);
    return NULL;
}

int tri_node_threads_start(tr_node *n)
{
    tri_node_io_init(n);
    n->guest = tri_sched_guest_attach(n->sys, node_stuck, n);
    if (pthread_create(&n->standby, NULL, standby_main, n) != 0) return TR_EAGAIN;
    n->standby_started = true;
    if (pthread_create(&n->io, NULL, io_main, n) != 0) return TR_EAGAIN;
    n->io_started = true;
    return TR_OK;
}

void tri_node_threads_join(tr_node *n)
{
    /* stopping is set: both see it at their next look */
    uint64_t one = 1;
    ssize_t r = write(n->efd, &one, sizeof one);
    (void)r;
    if (n->standby_started) {
        pthread_mutex_lock(&n->standby_mu);
        pthread_cond_signal(&n->standby_cv);
        pthread_mutex_unlock(&n->standby_mu);
        pthread_join(n->standby, NULL);
        n->standby_started = false;
    }
    if (n->io_started) {
        pthread_join(n->io, NULL);
        n->io_started = false;
    }
    /* neither thread ran (or the I/O thread could not start): the
     * goodbyes are still owed */
    pthread_mutex_lock(&n->io_mu);
    tri_node_io_end(n);
    pthread_mutex_unlock(&n->io_mu);
}
