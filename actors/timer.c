/* timer.c — the system's timer thread: a binary min-heap of deadlines.
 *
 * A timer is a message waiting for its time: when it is due, the thread
 * pushes it into the target's mailbox like any send (stamped with the
 * target's incarnation, so a timer of an actor that has ended becomes a
 * dead letter, never a message to the slot's next actor). Handles are ids
 * looked up through a small chained hash, so cancel is O(log n) and a stale
 * handle is harmless. The thread sleeps in poll(2) on an eventfd until the
 * earliest deadline; the eventfd is also how tr_system_stop, which must be
 * async-signal-safe, reaches it. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core.h"

typedef struct tri_timer {
    int64_t deadline_ns;
    uint64_t id;
    size_t pos; /* index in the heap */
    struct tri_timer *hnext;
    tri_actor *to;
    tr_msg *msg;
} tri_timer;

struct tri_timers {
    pthread_t thread;
    int efd;
    pthread_mutex_t mu;
    tri_timer **heap;
    size_t n, cap;
    tri_timer **buckets;
    size_t nbuckets;
    uint64_t next_id;
    bool quit;
    bool stop_sent;
};

/* ---------------------------------------------------------------- heap */

static void heap_set(tri_timers *t, size_t i, tri_timer *e)
{
    t->heap[i] = e;
    e->pos = i;
}

static void sift_up(tri_timers *t, size_t i)
{
    tri_timer *e = t->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (t->heap[p]->deadline_ns <= e->deadline_ns) break;
        heap_set(t, i, t->heap[p]);
        i = p;
    }
    heap_set(t, i, e);
}

static void sift_down(tri_timers *t, size_t i)
{
    tri_timer *e = t->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        int64_t best = e->deadline_ns;
        if (l < t->n && t->heap[l]->deadline_ns < best) {
            m = l;
            best = t->heap[l]->deadline_ns;
        }
        if (l + 1 < t->n && t->heap[l + 1]->deadline_ns < best) m = l + 1;
        if (m == i) break;
        heap_set(t, i, t->heap[m]);
        i = m;
    }
    heap_set(t, i, e);
}

static void heap_remove(tri_timers *t, size_t i)
{
    t->n--;
    if (i == t->n) return;
    heap_set(t, i, t->heap[t->n]);
    sift_down(t, i);
    sift_up(t, t->heap[i]->pos);
}

/* ---------------------------------------------------------------- hash */

static tri_timer **hash_slot(tri_timers *t, uint64_t id)
{
    return &t->buckets[(id * 0x9e3779b97f4a7c15ull) >> 40 & (t->nbuckets - 1)];
}

static bool hash_grow(tri_timers *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 256;
    tri_timer **b = calloc(nb, sizeof *b);
    if (!b) return false;
    tri_timer **old = t->buckets;
    size_t on = t->nbuckets;
    t->buckets = b;
    t->nbuckets = nb;
    for (size_t i = 0; i < on; i++)
        for (tri_timer *e = old[i], *n; e; e = n) {
            n = e->hnext;
            tri_timer **s = hash_slot(t, e->id);
            e->hnext = *s;
            *s = e;
        }
    free(old);
    return true;
}

static void hash_remove(tri_timers *t, tri_timer *e)
{
    for (tri_timer **s = hash_slot(t, e->id); *s; s = &(*s)->hnext)
        if (*s == e) {
            *s = e->hnext;
            return;
        }
}

/* -------------------------------------------------------------- thread */

void tri_timers_poke(tr_system *sys)
{
    uint64_t one = 1;
    ssize_t r = write(sys->timers->efd, &one, sizeof one);
    (void)r; /* a full counter already means "wake up" */
}

static void *timer_main(void *arg)
{
    tr_system *sys = arg;
    tri_timers *t = sys->timers;
    pthread_mutex_lock(&t->mu);
    while (!t->quit) {
        int64_t now = tri_mono_ns();
        while (t->n && t->heap[0]->deadline_ns <= now) {
            tri_timer *e = t->heap[0];
            heap_remove(t, 0);
            hash_remove(t, e);
            tri_push(sys, e->to, e->msg);
            free(e);
        }
        if (atomic_load(&sys->stop_requested) && !t->stop_sent) {
            t->stop_sent = true;
            tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_ROOT_STOP, NULL, 0);
        }
        int timeout = -1;
        if (t->n) {
            int64_t ms = (t->heap[0]->deadline_ns - now + 999999) / 1000000;
            timeout = ms > 60000 ? 60000 : (int)ms;
        }
        pthread_mutex_unlock(&t->mu);
        struct pollfd p = {t->efd, POLLIN, 0};
        if (poll(&p, 1, timeout) > 0) {
            uint64_t v;
            ssize_t r = read(t->efd, &v, sizeof v);
            (void)r;
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int tri_timers_start(tr_system *sys)
{
    tri_timers *t = calloc(1, sizeof *t);
    if (!t) return TR_ENOMEM;
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->efd < 0 || !hash_grow(t)) {
        if (t->efd >= 0) close(t->efd);
        free(t);
        return TR_ENOMEM;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->next_id = 1;
    sys->timers = t;
    if (pthread_create(&t->thread, NULL, timer_main, sys)) {
        pthread_mutex_destroy(&t->mu);
        close(t->efd);
        free(t->buckets);
        free(t);
        sys->timers = NULL;
        return TR_EAGAIN;
    }
    return TR_OK;
}

/* Joins the thread and frees every pending timer with its message. */
void tri_timers_stop(tr_system *sys)
{
    tri_timers *t = sys->timers;
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->quit = true;
    pthread_mutex_unlock(&t->mu);
    tri_timers_poke(sys);
    pthread_join(t->thread, NULL);
    for (size_t i = 0; i < t->n; i++) {
        tri_msg_free(t->heap[i]->msg);
        free(t->heap[i]);
    }
    free(t->heap);
    free(t->buckets);
    close(t->efd);
    pthread_mutex_destroy(&t->mu);
    free(t);
    sys->timers = NULL;
}

uint64_t tri_timer_after(tr_system *sys, int64_t delay_ms, tri_actor *to, uint64_t serial,
                         uint8_t kind, const void *payload, size_t size)
{
    tri_timers *t = sys->timers;
    tri_timer *e = malloc(sizeof *e);
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, size);
    if (!e || !m) {
        free(e);
        tri_msg_free(m);
        return 0;
    }
    if (size) memcpy(m->data, payload, size);
    m->dest_serial = serial;
    e->deadline_ns = tri_mono_ns() + delay_ms * 1000000;
    e->to = to;
    e->msg = m;
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tri_timer **h = realloc(t->heap, cap * sizeof *h);
        if (!h) {
            pthread_mutex_unlock(&t->mu);
            free(e);
            tri_msg_free(m);
            return 0;
        }
        t->heap = h;
        t->cap = cap;
    }
    if (t->n >= t->nbuckets) hash_grow(t); /* on failure chains just get longer */
    e->id = t->next_id++;
    tri_timer **s = hash_slot(t, e->id);
    e->hnext = *s;
    *s = e;
    heap_set(t, t->n++, e);
    sift_up(t, e->pos);
    bool earliest = e->pos == 0;
    uint64_t id = e->id;
    pthread_mutex_unlock(&t->mu);
    if (earliest) tri_timers_poke(sys);
    return id;
}

bool tri_timer_cancel(tr_system *sys, uint64_t id)
{
    tri_timers *t = sys->timers;
    pthread_mutex_lock(&t->mu);
    tri_timer *e = *hash_slot(t, id);
    while (e && e->id != id) e = e->hnext;
    if (e) {
        hash_remove(t, e);
        heap_remove(t, e->pos);
    }
    pthread_mutex_unlock(&t->mu);
    if (!e) return false;
    tri_msg_free(e->msg);
    free(e);
    return true;
}
