/* system.c — creating, running, stopping and destroying a system. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lifecycle.h"
#include "pool.h"
#include "proc_os.h"

/* Node ids: a random 32-bit number per system (per node incarnation), so
 * that a pid names its actor in every process of a cluster, also inside
 * payloads (the transport checks uniqueness across nodes at its handshake;
 * here, among this process's systems). */
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *ids;
static size_t nids, capids;

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) { /* no entropy: time and address */
        uint64_t t = (uint64_t)tri_mono_ns() ^ (uint64_t)(uintptr_t)&v;
        v = (uint32_t)(t * 0x9e3779b97f4a7c15ull >> 32);
    }
    return v;
}

static uint32_t take_node_id(void)
{
    pthread_mutex_lock(&ids_mu);
    uint32_t id;
    bool taken;
    do {
        id = random_u32();
        taken = id == 0;
        for (size_t i = 0; i < nids && !taken; i++) taken = ids[i] == id;
    } while (taken);
    if (nids == capids) {
        size_t cap = capids ? capids * 2 : 8;
        uint32_t *n = realloc(ids, cap * sizeof *n);
        if (n) ids = n, capids = cap;
    }
    if (nids < capids) ids[nids++] = id;
    pthread_mutex_unlock(&ids_mu);
    return id;
}

bool tri_node_id_local(uint32_t id)
{
    pthread_mutex_lock(&ids_mu);
    bool found = false;
    for (size_t i = 0; i < nids && !found; i++) found = ids[i] == id;
    pthread_mutex_unlock(&ids_mu);
    return found;
}

static void give_node_id(uint32_t id)
{
    pthread_mutex_lock(&ids_mu);
    for (size_t i = 0; i < nids; i++)
        if (ids[i] == id) {
            ids[i] = ids[--nids];
            break;
        }
    if (nids == 0) { /* the last system: leave nothing behind for valgrind */
        free(ids);
        ids = NULL;
        capids = 0;
    }
    pthread_mutex_unlock(&ids_mu);
}

/* The system's own locks and memory, once nothing else is left. */
static void free_system(tr_system *sys)
{
    pthread_cond_destroy(&sys->end_cv);
    pthread_mutex_destroy(&sys->end_mu);
    pthread_mutex_destroy(&sys->root_mu);
    pthread_mutex_destroy(&sys->block_mu);
    pthread_cond_destroy(&sys->block_cv);
    pthread_mutex_destroy(&sys->dl_mu);
    free(sys);
}

static int make_root(tr_system *sys)
{
    tri_actor *a = tri_slot_alloc(sys, TRI_SLOT_ACTOR);
    tr_msg *init = tri_msg_alloc(TRI_MSG_INIT, (tr_atom){0}, 0);
    if (!a || !init) {
        tri_msg_free(init);
        return TR_ENOMEM;
    }
    a->state = TRI_ST_STARTING;
    a->flags = TRI_F_IS_ROOT;
    a->shutdown_ms = TR_SHUTDOWN_INFINITY;
    a->beh = &tri_root_behaviour;
    uint64_t serial = atomic_fetch_add_explicit(&sys->next_serial, 1, memory_order_relaxed);
    atomic_store_explicit(&a->live_serial, serial, memory_order_relaxed);
    atomic_store_explicit(&a->serial, serial, memory_order_release);
    sys->root = a;
    sys->root_pid = tri_pid_of(a);
    init->dest_serial = serial;
    tri_push(sys, a, init);
    return TR_OK;
}

tr_err tr_system_new(const tr_system_opts *opts, tr_system **out)
{
    static const tr_system_opts defaults = {0};
    const tr_system_opts *o = opts ? opts : &defaults;
    if (!out) return TR_EINVAL;
    *out = NULL;
    if (o->time_slice_us && (o->time_slice_us < 100 || o->time_slice_us > 1000000))
        return TR_EINVAL;
    unsigned workers = o->workers;
    if (workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (unsigned)n : 1;
        if (workers > 256) workers = 256;
    }
    if (workers > 256 || o->blocking_threads > 1024) return TR_EINVAL;
    tr_system *sys = aligned_alloc(TRI_CACHE_LINE, (sizeof *sys + TRI_CACHE_LINE - 1) &
                                                       ~(size_t)(TRI_CACHE_LINE - 1));
    if (!sys) return TR_ENOMEM;
    memset(sys, 0, sizeof *sys);
    sys->node = take_node_id();
    atomic_init(&sys->next_serial, 1);
    pthread_mutex_init(&sys->root_mu, NULL);
    pthread_mutex_init(&sys->block_mu, NULL);
    pthread_cond_init(&sys->block_cv, NULL);
    pthread_mutex_init(&sys->dl_mu, NULL);
    pthread_mutex_init(&sys->end_mu, NULL);
    pthread_cond_init(&sys->end_cv, NULL);
    int rc = TR_ENOMEM;
    if (tri_slots_init(&sys->slots) != 0) goto fail_slots;
    if ((rc = tri_registry_init(sys)) != TR_OK) goto fail_registry;
    if ((rc = tri_offload_init(sys, o->blocking_threads ? o->blocking_threads : 4)) != TR_OK)
        goto fail_offload;
    if ((rc = tri_timers_start(sys, o->clock)) != TR_OK) goto fail_timers;
    sys->sched.slice_ns = o->time_slice_us ? (int64_t)o->time_slice_us * 1000 : TRI_SLICE_NS_DEFAULT;
    sys->sched.long_cb_ns = o->long_callback_ms < 0    ? 0
                          : o->long_callback_ms == 0 ? TRI_LONG_CB_NS_DEFAULT
                          : o->long_callback_ms > INT64_MAX / 1000000 ? INT64_MAX
                          : o->long_callback_ms * 1000000;
    if ((rc = tri_sched_start(sys, workers, o->batch ? o->batch : 64)) != TR_OK) goto fail_sched;
    if ((rc = make_root(sys)) != TR_OK) goto fail_root;
    *out = sys;
    return TR_OK;
fail_root:
    tri_sched_stop(sys);
fail_sched:
    tri_timers_stop(sys);
fail_timers:
    tri_offload_fini(sys);
fail_offload:
    tri_registry_fini(sys);
fail_registry:
    tri_slots_fini(sys);
fail_slots:
    give_node_id(sys->node);
    free_system(sys);
    return rc;
}

/* Waits for the root's end, then for the workers to finish what the end
 * left queued (messages to ended actors becoming dead letters), so that
 * the statistics are final when run or wait returns. */
static int wait_end(tr_system *sys, int64_t timeout_ms)
{
    pthread_mutex_lock(&sys->end_mu);
    if (timeout_ms < 0) {
        while (!sys->ended) pthread_cond_wait(&sys->end_cv, &sys->end_mu);
    } else {
        struct timespec ts = tri_timespec_after(CLOCK_REALTIME, timeout_ms);
        while (!sys->ended)
            if (pthread_cond_timedwait(&sys->end_cv, &sys->end_mu, &ts) != 0) break;
    }
    int rc = sys->ended ? sys->result : TR_ETIMEDOUT;
    pthread_mutex_unlock(&sys->end_mu);
    if (rc != TR_ETIMEDOUT) {
        /* Every actor has ended: nothing can begin a new activation but a
         * send racing with the end, so this settles within a few turns.
         * Not while an abandoned actor is stuck in a callback: that may
         * take forever, and the tree has ended without it. */
        for (unsigned i = 0; !tri_sched_quiet(sys) &&
                             atomic_load_explicit(&sys->abandoned_live, memory_order_acquire) == 0;
             i++) {
            if (i < 1000) sched_yield();
            else usleep(100);
        }
    }
    return rc;
}

tr_err tr_system_run(tr_system *sys)
{
    if (!sys) return TR_EINVAL;
    if (atomic_exchange(&sys->run_called, true)) return TR_ESTATE;
    tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_ROOT_RUN, NULL, 0);
    return wait_end(sys, -1);
}

tr_err tr_system_wait(tr_system *sys, int64_t timeout_ms)
{
    if (!sys) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR;
    return wait_end(sys, timeout_ms);
}

/* Async-signal-safe: an atomic store and a write(2) in tri_timers_poke. The
 * timer thread turns the flag into a ROOT_STOP message. */
tr_err tr_system_stop(tr_system *sys)
{
    if (!sys) return TR_EINVAL;
    atomic_store_explicit(&sys->stop_requested, true, memory_order_seq_cst);
    tri_timers_poke(sys);
    return TR_OK;
}

const char *tr_system_report(tr_system *sys)
{
    if (!sys) return "";
    pthread_mutex_lock(&sys->end_mu);
    const char *r = sys->report ? sys->report : "";
    pthread_mutex_unlock(&sys->end_mu);
    return r;
}

uint32_t tr_system_node(const tr_system *sys) { return sys ? sys->node : 0; }

tr_err tr_system_get_stats(tr_system *sys, tr_system_stats *out)
{
    if (!sys || !out) return TR_EINVAL;
    uint64_t sent = atomic_load(&sys->sent), spawned = atomic_load(&sys->actors_spawned),
             ended = atomic_load(&sys->actors_ended), dead = atomic_load(&sys->dead_letters),
             handled = atomic_load(&sys->handled);
    for (unsigned i = 0, n = tri_sched_nvis(&sys->sched); i < n; i++) {
        tri_worker *w = &sys->sched.workers[i];
        sent += atomic_load_explicit(&w->n_sent, memory_order_relaxed);
        spawned += atomic_load_explicit(&w->n_spawned, memory_order_relaxed);
        ended += atomic_load_explicit(&w->n_ended, memory_order_relaxed);
        dead += atomic_load_explicit(&w->n_dead, memory_order_relaxed);
        handled += atomic_load_explicit(&w->n_handled, memory_order_relaxed);
    }
    out->actors_spawned = spawned;
    out->actors_live = spawned >= ended ? spawned - ended : 0;
    out->dead_letters = dead;
    out->messages_sent = sent;
    out->messages_handled = handled;
    out->dropped = atomic_load(&sys->dropped);
    out->workers = sys->sched.n;
    return TR_OK;
}

void tr_system_destroy(tr_system **psys)
{
    if (!psys || !*psys || tri_current_worker) return;
    tr_system *sys = *psys;
    *psys = NULL;
    if (wait_end(sys, 0) == TR_ETIMEDOUT) {
        tr_system_stop(sys);
        wait_end(sys, -1);
    }
    /* The tree has ended; other nodes are told so, and whatever waits on
     * them (an abandoned remote child's stub) is answered. */
    tri_transport_stop(sys);
    /* An abandoned actor still stuck in a callback holds a worker that
     * cannot be joined before it returns; once it does, it disposes of
     * itself (its kill grace needs the timers), so wait for that here. */
    for (unsigned i = 1; atomic_load_explicit(&sys->abandoned_live, memory_order_acquire); i++) {
        if (i % 5000 == 0)
            tri_log(TR_LOG_WARN, "tr_system_destroy: waiting for %u abandoned actor(s) stuck in a "
                                 "callback",
                    atomic_load(&sys->abandoned_live));
        usleep(1000);
    }
    uint32_t inboxes = atomic_load(&sys->inboxes_live);
    if (inboxes)
        tri_log(TR_LOG_ERROR, "tr_system_destroy: %u inbox(es) still open; destroy them first",
                inboxes);
    tri_proc_release(sys); /* every process child has been reaped: see proc_os.h */
    tri_offload_fini(sys); /* before the workers: results may still be sent */
    tri_timers_stop(sys);
    tri_sched_stop(sys);
    tri_transport_destroy(sys); /* no sender is left */
    tri_root_free(sys->root);
    tri_registry_fini(sys);
    tri_slots_fini(sys);
    free(sys->report);
    give_node_id(sys->node);
    free_system(sys);
    /* Every thread of this system has been joined: if they were the last
     * to hold pool caches, the pools' memory goes back to the C library. */
    tri_pool_release();
}

int64_t tr_pool_outstanding(void) { return tri_pool_outstanding(); }
