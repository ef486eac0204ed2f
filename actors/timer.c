/* timer.c — the system's timer thread: a binary min-heap of deadlines.
 *
 * A timer is a message waiting for its time: when it is due, the thread
 * pushes it into the target's mailbox like any send, stamped with the
 * target's incarnation, so a timer aimed at an actor that has ended becomes
 * a dead letter, never a message to the slot's next actor. Every timer has
 * an owner (the actor that set it) and sits in the owner's list, so that it
 * dies with the owner. Handles are ids found through a chained hash: cancel
 * is O(log n) and a stale handle is harmless. Heap, hash and owner lists are
 * all under one mutex, held only for O(log n) steps.
 *
 * The thread sleeps in ppoll(2) on an eventfd until the earliest deadline;
 * the eventfd is also how tr_system_stop, which must be async-signal-safe,
 * and a manual clock's advance reach it. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core.h"
#include "pool.h"

typedef struct tri_timer {
    int64_t deadline_ns;
    int64_t period_ns; /* 0: one-shot */
    uint64_t id;
    size_t pos; /* index in the heap */
    struct tri_timer *hnext;
    struct tri_timer *oprev, *onext; /* the owner's list */
    tri_actor *owner;
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
    _Atomic int64_t processed_ns; /* manual clocks: time fully handled */
    int64_t sleep_until; /* when the thread will look again (INT64_MAX: never) */
};

/* ---------------------------------------------------------------- clock */

#define MAX_CLOCK_USERS 64

struct tr_clock {
    _Atomic int64_t now_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a user's timer thread caught up */
    tr_system *users[MAX_CLOCK_USERS];
    unsigned nusers;
};

int tr_clock_manual_new(tr_clock **out)
{
    tr_clock *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return TR_ENOMEM;
    atomic_init(&c->now_ns, 0);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return TR_OK;
}

int64_t tr_clock_now_ms(const tr_clock *c)
{
    return atomic_load((_Atomic int64_t *)&c->now_ns) / 1000000;
}

int tr_clock_advance(tr_clock *c, int64_t ms)
{
    if (!c || ms < 0) return TR_EINVAL;
    pthread_mutex_lock(&c->mu);
    int64_t target = atomic_fetch_add(&c->now_ns, ms * 1000000) + ms * 1000000;
    for (unsigned i = 0; i < c->nusers; i++) tri_timers_poke(c->users[i]);
    for (unsigned i = 0; i < c->nusers; i++)
        while (atomic_load(&c->users[i]->timers->processed_ns) < target)
            pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return TR_OK;
}

void tr_clock_destroy(tr_clock **pc)
{
    if (!pc || !*pc) return;
    pthread_mutex_destroy(&(*pc)->mu);
    pthread_cond_destroy(&(*pc)->cv);
    free(*pc);
    *pc = NULL;
}

int64_t tri_now_ns(const tr_system *sys)
{
    if (sys->clock) return atomic_load_explicit(&sys->clock->now_ns, memory_order_acquire);
    return tri_mono_ns();
}

int64_t tr_now_ms(const tr_ctx *ctx) { return tri_now_ns(((const tri_actor *)ctx)->sys) / 1000000; }
int64_t tr_system_now_ms(const tr_system *sys) { return tri_now_ns(sys) / 1000000; }

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
    return &t->buckets[(id * 0x9e3779b97f4a7c15ull) >> 32 & (t->nbuckets - 1)];
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

static tri_timer *hash_find(tri_timers *t, uint64_t id)
{
    tri_timer *e = *hash_slot(t, id);
    while (e && e->id != id) e = e->hnext;
    return e;
}

/* Takes a timer out of heap, hash and owner list (under t->mu). */
static void detach(tri_timers *t, tri_timer *e)
{
    for (tri_timer **s = hash_slot(t, e->id); *s; s = &(*s)->hnext)
        if (*s == e) {
            *s = e->hnext;
            break;
        }
    heap_remove(t, e->pos);
    if (e->owner) {
        if (e->oprev) e->oprev->onext = e->onext;
        else e->owner->ext->timers = e->onext;
        if (e->onext) e->onext->oprev = e->oprev;
    }
}

static void free_timer(tri_timer *e)
{
    tri_msg_free(e->msg);
    tri_pool_free(e, sizeof *e);
}

/* -------------------------------------------------------------- thread */

void tri_timers_poke(tr_system *sys)
{
    uint64_t one = 1;
    ssize_t r = write(sys->timers->efd, &one, sizeof one);
    (void)r; /* a full counter already means "wake up" */
}

/* Pushes a due message, or counts it dead at once if its target is gone. */
static void fire(tr_system *sys, tri_actor *to, tr_msg *m)
{
    if (!to || atomic_load_explicit(&to->serial, memory_order_acquire) != m->dest_serial) {
        tri_dead_letter(sys, m, to ? to->index : 0);
        tri_msg_free(m);
        return;
    }
    if (m->kind == TRI_MSG_USER) { /* as a send: bounded mailboxes apply */
        tri_deliver_nowait(sys, (tr_pid){sys->node, to->index, m->dest_serial}, m);
        return;
    }
    tri_push(sys, to, m);
}

/* Fires everything due at `now`. Under t->mu; pushing into a mailbox
 * never blocks, so holding the mutex is fine. */
static void run_due(tr_system *sys, tri_timers *t, int64_t now)
{
    while (t->n && t->heap[0]->deadline_ns <= now) {
        tri_timer *e = t->heap[0];
        if (e->period_ns == 0) {
            detach(t, e);
            tr_msg *m = e->msg;
            tri_actor *to = e->to;
            e->msg = NULL;
            free_timer(e);
            fire(sys, to, m);
            continue;
        }
        /* An interval sends a copy and stays; after a jump of the clock it
         * fires once, then resumes its rhythm from now. */
        tr_msg *copy = tri_msg_alloc(e->msg->kind, e->msg->type, e->msg->size);
        if (copy) {
            if (e->msg->size) memcpy(copy->data, e->msg->data, e->msg->size);
            copy->dest_serial = e->msg->dest_serial;
            copy->sender = e->msg->sender;
            fire(sys, e->to, copy);
        } else {
            tri_log(TR_LOG_ERROR, "out of memory firing an interval timer; tick skipped");
        }
        e->deadline_ns += e->period_ns;
        if (e->deadline_ns <= now) e->deadline_ns = now + e->period_ns;
        sift_down(t, 0);
    }
}

static void *timer_main(void *arg)
{
    tr_system *sys = arg;
    tri_timers *t = sys->timers;
    /* The default 50 us of slack would add that much to every timer. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    pthread_mutex_lock(&t->mu);
    while (!t->quit) {
        int64_t now = tri_now_ns(sys);
        run_due(sys, t, now);
        if (atomic_load(&sys->stop_requested) && !t->stop_sent) {
            t->stop_sent = true;
            tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_ROOT_STOP, NULL, 0);
        }
        struct timespec ts, *timeout = NULL;
        t->sleep_until = INT64_MAX;
        if (t->n && !sys->clock) {
            int64_t d = t->heap[0]->deadline_ns - now;
            ts.tv_sec = d / 1000000000;
            ts.tv_nsec = d % 1000000000;
            timeout = &ts;
            t->sleep_until = t->heap[0]->deadline_ns;
        }
        pthread_mutex_unlock(&t->mu);
        if (sys->clock) { /* tell tr_clock_advance we are done with `now` */
            pthread_mutex_lock(&sys->clock->mu);
            atomic_store(&t->processed_ns, now);
            pthread_cond_broadcast(&sys->clock->cv);
            pthread_mutex_unlock(&sys->clock->mu);
        }
        struct pollfd p = {t->efd, POLLIN, 0};
        if (ppoll(&p, 1, timeout, NULL) > 0) {
            uint64_t v;
            ssize_t r = read(t->efd, &v, sizeof v);
            (void)r;
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int tri_timers_start(tr_system *sys, tr_clock *clock)
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
    atomic_init(&t->processed_ns, INT64_MIN);
    t->sleep_until = INT64_MAX;
    t->next_id = 1;
    sys->timers = t;
    sys->clock = clock;
    if (clock) {
        pthread_mutex_lock(&clock->mu);
        bool room = clock->nusers < MAX_CLOCK_USERS;
        if (room) clock->users[clock->nusers++] = sys;
        pthread_mutex_unlock(&clock->mu);
        if (!room) {
            pthread_mutex_destroy(&t->mu);
            close(t->efd);
            free(t->buckets);
            free(t);
            sys->timers = NULL;
            return TR_EINVAL;
        }
    }
    if (pthread_create(&t->thread, NULL, timer_main, sys)) {
        t->quit = true; /* tells tri_timers_stop there is no thread to join */
        tri_timers_stop(sys);
        return TR_EAGAIN;
    }
    return TR_OK;
}

/* Joins the thread and frees every pending timer with its message. */
void tri_timers_stop(tr_system *sys)
{
    tri_timers *t = sys->timers;
    if (!t) return;
    if (sys->clock) {
        tr_clock *c = sys->clock;
        pthread_mutex_lock(&c->mu);
        for (unsigned i = 0; i < c->nusers; i++)
            if (c->users[i] == sys) {
                c->users[i] = c->users[--c->nusers];
                break;
            }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&t->mu);
    bool started = !t->quit;
    t->quit = true;
    pthread_mutex_unlock(&t->mu);
    if (started) {
        tri_timers_poke(sys);
        pthread_join(t->thread, NULL);
    }
    for (size_t i = 0; i < t->n; i++) free_timer(t->heap[i]);
    free(t->heap);
    free(t->buckets);
    close(t->efd);
    pthread_mutex_destroy(&t->mu);
    free(t);
    sys->timers = NULL;
}

/* Longer delays are taken as this (about 31 years): far enough never to
 * fire, small enough that deadlines in nanoseconds cannot overflow. */
#define TRI_MAX_DELAY_MS ((int64_t)1000000000000)

uint64_t tri_timer_start(tr_system *sys, tri_actor *owner, int64_t delay_ms, int64_t period_ms,
                         tri_actor *to, tr_msg *m)
{
    tri_timers *t = sys->timers;
    if (delay_ms > TRI_MAX_DELAY_MS) delay_ms = TRI_MAX_DELAY_MS;
    if (period_ms > TRI_MAX_DELAY_MS) period_ms = TRI_MAX_DELAY_MS;
    tri_timer *e = tri_pool_alloc(sizeof *e);
    if (!e) {
        tri_msg_free(m);
        return 0;
    }
    e->deadline_ns = tri_now_ns(sys) + delay_ms * 1000000;
    e->period_ns = period_ms * 1000000;
    e->owner = owner;
    e->to = to;
    e->msg = m;
    e->oprev = NULL;
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tri_timer **h = realloc(t->heap, cap * sizeof *h);
        if (!h) {
            pthread_mutex_unlock(&t->mu);
            free_timer(e);
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
    if (owner) {
        e->onext = owner->ext->timers;
        if (owner->ext->timers) owner->ext->timers->oprev = e;
        owner->ext->timers = e;
    } else {
        e->onext = NULL;
    }
    heap_set(t, t->n++, e);
    sift_up(t, e->pos);
    /* Wake the thread only if it would otherwise look too late: arming
     * and cancelling a far timer again and again costs no system call. */
    bool poke = e->deadline_ns < t->sleep_until;
    if (poke) t->sleep_until = e->deadline_ns;
    uint64_t id = e->id;
    pthread_mutex_unlock(&t->mu);
    if (poke) tri_timers_poke(sys);
    return id;
}

uint64_t tri_timer_after(tr_system *sys, int64_t delay_ms, tri_actor *to, uint64_t serial,
                         uint8_t kind, const void *payload, size_t size)
{
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, size);
    if (!m) return 0;
    if (size) memcpy(m->data, payload, size);
    m->dest_serial = serial;
    /* `to` is the caller itself here (or a child still being set up) */
    if (!tri_ext(to)) {
        tri_msg_free(m);
        return 0;
    }
    to->flags |= TRI_F_TIMERS;
    return tri_timer_start(sys, to, delay_ms, 0, to, m);
}

bool tri_timer_cancel(tr_system *sys, tri_actor *owner, uint64_t id)
{
    tri_timers *t = sys->timers;
    pthread_mutex_lock(&t->mu);
    tri_timer *e = hash_find(t, id);
    if (e && owner && e->owner != owner) e = NULL;
    if (e) detach(t, e);
    pthread_mutex_unlock(&t->mu);
    if (!e) return false;
    free_timer(e);
    return true;
}

void tri_timers_drop_owner(tr_system *sys, tri_actor *owner)
{
    tri_timers *t = sys->timers;
    pthread_mutex_lock(&t->mu);
    tri_timer *list = owner->ext ? owner->ext->timers : NULL;
    for (tri_timer *e = list; e; e = e->onext) {
        for (tri_timer **s = hash_slot(t, e->id); *s; s = &(*s)->hnext)
            if (*s == e) {
                *s = e->hnext;
                break;
            }
        heap_remove(t, e->pos);
    }
    if (owner->ext) owner->ext->timers = NULL;
    pthread_mutex_unlock(&t->mu);
    for (tri_timer *e = list, *n; e; e = n) {
        n = e->onext;
        free_timer(e);
    }
}

/* ------------------------------------------------------------ public */

static int start_public(tr_ctx *ctx, tr_pid to, int64_t delay_ms, int64_t period_ms, tr_atom type,
                        const void *data, size_t size, tr_timer *out)
{
    tri_actor *a = (tri_actor *)ctx;
    tr_system *sys = a->sys;
    if (out) out->id = 0;
    if (delay_ms < 0 || period_ms < 0 || type.id == 0 || (size && !data) ||
        tr_pid_is_nil(to))
        return TR_EINVAL;
    if (delay_ms == 0 && period_ms == 0 && !sys->clock) /* due now: no timer needed */
        return tr_send(ctx, to, type, data, size);
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    if (to.node != sys->node) return TR_ENOROUTE;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->dest_serial = to.serial;
    m->sender = tri_pid_of(a);
    if (!tri_ext(a)) {
        tri_msg_free(m);
        return TR_ENOMEM;
    }
    a->flags |= TRI_F_TIMERS;
    uint64_t id = tri_timer_start(sys, a, delay_ms, period_ms, tri_slot_lookup(sys, to.slot), m);
    if (!id) return TR_ENOMEM;
    if (out) out->id = id;
    return TR_OK;
}

int tr_send_after(tr_ctx *ctx, tr_pid to, int64_t delay_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out)
{
    return start_public(ctx, to, delay_ms, 0, type, data, size, out);
}

int tr_send_every(tr_ctx *ctx, tr_pid to, int64_t period_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out)
{
    if (period_ms <= 0) return TR_EINVAL;
    return start_public(ctx, to, period_ms, period_ms, type, data, size, out);
}

int tr_timer_cancel(tr_ctx *ctx, tr_timer timer)
{
    tri_actor *a = (tri_actor *)ctx;
    if (timer.id == 0) return TR_ENOENT;
    return tri_timer_cancel(a->sys, a, timer.id) ? TR_OK : TR_ENOENT;
}
