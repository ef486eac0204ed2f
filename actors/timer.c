/* timer.c — the system's timer service: one thread, a timing wheel, and
 * arming and cancelling that never wait for it.
 *
 * A timer is a message waiting for its time: when it is due, the thread
 * pushes it into the target's mailbox like any send, stamped with the
 * target's incarnation, so a timer aimed at an actor that has ended becomes
 * a dead letter, never a message to the slot's next actor. Every timer has
 * an owner (the actor that set it) and dies with it.
 *
 * Why this shape (issue 13): a binary heap and a hash under one mutex,
 * shared by arming actors and the firing thread, fell behind at 500k timers
 * a second (1M timers over 2 s fired 0.5-0.8 s late) and made arming 6x
 * slower while timers fired, the two sides handing the mutex back and forth.
 * Now:
 *  - Timers live in a table of pooled nodes (chunks of 2 MiB mappings, huge
 *    pages where the kernel allows, never freed before the system; 1M
 *    timers in 4 KiB pages cost more in page faults than in arming). A
 *    handle is the node's index plus a generation that goes up
 *    each time the node is reused, so cancelling needs no global hash and a
 *    stale handle is harmless; a node whose generation would wrap is retired,
 *    so handles are never reused.
 *  - Each node's state and generation share one atomic word (`sg`): arming,
 *    cancelling and firing each claim a node with one compare-and-swap, so
 *    they agree on who owns its message without a lock.
 *  - Arming threads push nodes onto their own lane (one per worker, one
 *    shared by other threads): a lock-free stack that the timer thread takes
 *    whole with one exchange. A worker takes free nodes from its lane's
 *    cache, refilled in batches; only the timer thread frees nodes, handing
 *    them back in batches. No mutex is on any per-timer path.
 *  - Only the timer thread touches the wheel (timer_wheel.h: O(1) insert,
 *    cancel and expiry; quarter-millisecond ticks, deadlines rounded up,
 *    never early). A cancel that finds its arm still on top of its own
 *    lane pops it back (take_back): the node never leaves the worker. A
 *    cancel of a node in the wheel marks it and queues it back on the
 *    canceller's lane, so the thread unlinks and frees it promptly; either
 *    way an arm+cancel loop holds no memory.
 *  - The owner keeps its timers' handles (ext->timers, its own thread only),
 *    swept of dead ones as it grows; when it ends it cancels them all and
 *    waits out one caught mid-fire, so once an actor has ended none of its
 *    timers fires.
 *
 * The thread sleeps in ppoll(2) on an eventfd until the next tick it must
 * look at: the wheel's next expiry, or a millisecond on while arms keep
 * coming (so they wait at most that long in their lane). An arm wakes it
 * only if its deadline comes before that, or if it is the first arm to
 * reach a thread that went idle. The eventfd is also how tr_system_stop, which must be
 * async-signal-safe, and a manual clock's advance reach it. With a manual
 * clock the thread works only when poked: at each advance it reads the
 * time, drains every lane (so every arm that returned before the advance is
 * seen), fires all that is due and only then reports the time as done. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core.h"
#include "transport.h"
#include "pool.h"
#include "timer_wheel.h"
#include "timers_debug.h"

/* A tick is a quarter millisecond: timers fire at most that late (1 ms ticks
 * added half a millisecond at the median), and it divides a millisecond, so
 * a manual clock, which moves by whole ms, stays exact. */
#define NS_PER_TICK 250000
#define TICKS_PER_MS (1000000 / NS_PER_TICK)
/* While arms keep coming, the thread looks at its lanes this often. */
#define BUSY_TICKS TICKS_PER_MS

/* Node states (the low bits of sg). Who may move a node out of each:
 *   QUEUED         armed, in a lane; the thread (-> WHEEL) or a cancel (-> CANCELLED)
 *   WHEEL          in the wheel; the thread (-> FIRING) or a cancel (-> CANCELLING)
 *   CANCELLED      cancelled while queued: the thread frees it when it drains it
 *   CANCELLING     cancelled in the wheel and queued again: the thread unlinks, frees
 *   FIRING         the thread is sending its message; an interval may be
 *                  cancelled meanwhile (-> CANCEL_FIRING)
 *   CANCEL_FIRING  the thread frees it once the send is done
 * The canceller that wins QUEUED or WHEEL takes the message and frees it. */
enum {
    TN_FREE = 0,
    TN_QUEUED,
    TN_WHEEL,
    TN_CANCELLED,
    TN_CANCELLING,
    TN_FIRING,
    TN_CANCEL_FIRING,
};
#define TN_STATE_MASK 7u
#define TN_PERIODIC 8u /* fixed for a generation: an interval timer */
#define TN_GEN_SHIFT 4
#define TN_INDEX_BITS 26 /* up to 64M timers pending at once */
#define TN_INDEX_MASK ((1u << TN_INDEX_BITS) - 1)
#define TN_GEN_MAX ((UINT64_C(1) << (64 - TN_INDEX_BITS)) - 1)
#define TN_CHUNK_BITS 14
#define TN_CHUNK (1u << TN_CHUNK_BITS)
#define TN_CHUNK_BYTES ((size_t)2 << 20) /* a chunk's mapping: one huge page */
#define TN_MAX_CHUNKS (1u << (TN_INDEX_BITS - TN_CHUNK_BITS))
#define TN_BATCH 128 /* free nodes moved between a lane and the table at once */

typedef struct tri_tnode {
    _Atomic uint64_t sg; /* generation << TN_GEN_SHIFT | TN_PERIODIC | state */
    _Atomic(struct tri_tnode *) qnext; /* lane link */
    tri_wentry w; /* the thread's; w.tick is the deadline, w.next also links free lists */
    int64_t period; /* ticks; 0: one-shot */
    union {
        tri_actor *local;                 /* a receiver on this node */
        struct { uint32_t node, slot; } remote; /* one on another (is_remote) */
    } to;
    _Atomic(tr_msg *) msg;      /* atomic: a canceller reads it before its claim */
    _Atomic(tri_actor *) owner; /* fixed for a generation; read by cancellers */
    uint32_t index;
    bool is_remote;
} tri_tnode;

/* A lane: `head` is shared by its producers and the thread; the free-node
 * cache, on its own line, is the producing worker's alone (the shared lane
 * for non-workers does not use it). */
#define TRI_LANES 257 /* workers (at most 256), then the shared lane */
#define TRI_SHARED_LANE 256
typedef struct tri_tlane {
    _Atomic(tri_tnode *) head;
    char pad[TRI_CACHE_LINE - sizeof(void *)];
    tri_tnode *free;
    uint32_t nfree;
} __attribute__((aligned(TRI_CACHE_LINE))) tri_tlane;

struct tri_timers {
    pthread_t thread;
    int efd;
    _Atomic bool quit;
    bool stop_sent;
    /* the tick up to which the thread will not look at its lanes: an arm due
     * earlier wakes it (see timer_main for the manual clock's two values) */
    _Atomic int64_t wake_tick;
    _Atomic int64_t processed_ns; /* manual clocks: time fully handled */
    tri_tlane *lanes; /* TRI_LANES of them */
    _Atomic unsigned lanes_hi; /* worker lanes below this may have been used */
    /* the thread's own */
    tri_wheel wheel;
    tri_tnode *tfree, *tfree_tail; /* nodes it freed, not yet handed back */
    uint32_t ntfree;
    /* the node table; the free list under mu */
    pthread_mutex_t mu;
    tri_tnode *free;
    _Atomic uint32_t nchunks;
    _Atomic uint64_t carved; /* nodes handed out of the chunks so far */
    _Atomic(tri_tnode *) chunks[TN_MAX_CHUNKS];
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

tr_err tr_clock_manual_new(tr_clock **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    tr_clock *c = calloc(1, sizeof *c);
    if (!c) return TR_ENOMEM;
    atomic_init(&c->now_ns, 0);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return TR_OK;
}

int64_t tr_clock_now_ms(const tr_clock *c)
{
    if (!c) return TR_EINVAL;
    return atomic_load((_Atomic int64_t *)&c->now_ns) / 1000000;
}

tr_err tr_clock_advance(tr_clock *c, int64_t ms)
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

int64_t tr_now_ms(const tr_ctx *ctx)
{
    const tri_actor *a = tri_ctx_any(ctx);
    return a ? tri_now_ns(a->sys) / 1000000 : TR_ENOTACTOR;
}

int64_t tr_system_now_ms(const tr_system *sys) { return sys ? tri_now_ns(sys) / 1000000 : TR_EINVAL; }

/* ---------------------------------------------------------------- nodes */

static inline uint64_t sg_gen(uint64_t sg) { return sg >> TN_GEN_SHIFT; }
static inline unsigned sg_state(uint64_t sg) { return (unsigned)(sg & TN_STATE_MASK); }
static inline uint64_t sg_with(uint64_t sg, unsigned state) { return (sg & ~(uint64_t)TN_STATE_MASK) | state; }

static tri_tnode *node_at(tri_timers *t, uint64_t index)
{
    uint32_t c = (uint32_t)(index >> TN_CHUNK_BITS);
    if (c >= atomic_load_explicit(&t->nchunks, memory_order_acquire)) return NULL;
    tri_tnode *chunk = atomic_load_explicit(&t->chunks[c], memory_order_acquire);
    return chunk ? &chunk[index & (TN_CHUNK - 1)] : NULL;
}

/* Free lists link nodes through w.next, which points at the next node's
 * w; w is not a node's first member, so convert explicitly. */
static inline tri_tnode *node_of(tri_wentry *e)
{
    return e ? (tri_tnode *)((char *)e - offsetof(tri_tnode, w)) : NULL;
}

static inline void free_link(tri_tnode *n, tri_tnode *next)
{
    n->w.next = next ? &next->w : NULL;
}

/* A chunk's memory: a fresh mapping, aligned so that (past the first
 * chunk, which small systems keep to a few pages) it can be one huge page.
 * Why: arming a million timers touched 90 MB of new memory, and on this
 * VM a page fault per 4 KiB cost more than all the arming did. */
static tri_tnode *chunk_map(bool huge)
{
    size_t sz = TN_CHUNK_BYTES;
    char *p = mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)p + sz - 1) & ~(uintptr_t)(sz - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (p + 2 * sz > a + sz) munmap(a + sz, (size_t)(p + 2 * sz - (a + sz)));
    if (huge) madvise(a, sz, MADV_HUGEPAGE); /* a hint: without it, small pages */
    return (tri_tnode *)(void *)a;
}

_Static_assert(TN_CHUNK * sizeof(tri_tnode) <= TN_CHUNK_BYTES, "a chunk fits its mapping");

/* Under t->mu: carves up to TN_BATCH more nodes onto the free list, from
 * a new chunk when the last is used up. Nodes are initialised only when
 * carved, so memory is touched only as timers need it. */
static bool grow_locked(tri_timers *t)
{
    uint64_t carved = atomic_load_explicit(&t->carved, memory_order_relaxed);
    uint32_t c = (uint32_t)(carved >> TN_CHUNK_BITS), first = (uint32_t)(carved & (TN_CHUNK - 1));
    if (first == 0) {
        if (c == TN_MAX_CHUNKS) return false;
        tri_tnode *chunk = chunk_map(c > 0);
        if (!chunk) return false;
        atomic_store_explicit(&t->chunks[c], chunk, memory_order_release);
        atomic_store_explicit(&t->nchunks, c + 1, memory_order_release);
    }
    tri_tnode *chunk = atomic_load_explicit(&t->chunks[c], memory_order_relaxed);
    uint32_t end = first + TN_BATCH < TN_CHUNK ? first + TN_BATCH : TN_CHUNK;
    for (uint32_t i = first; i < end; i++) {
        tri_tnode *n = &chunk[i];
        n->index = c << TN_CHUNK_BITS | i;
        atomic_store_explicit(&n->sg, (uint64_t)1 << TN_GEN_SHIFT | TN_FREE, memory_order_relaxed);
        n->w.where = TRI_WHEEL_NOWHERE;
        free_link(n, i + 1 < end ? &chunk[i + 1] : t->free);
    }
    t->free = &chunk[first];
    atomic_store_explicit(&t->carved, carved + (end - first), memory_order_relaxed);
    return true;
}

/* A free node for the calling thread: from its lane's cache (a worker), or
 * from the table under the mutex (other threads, and refills). */
static tri_tnode *node_alloc(tri_timers *t, tri_tlane *l, bool shared)
{
    if (!shared && l->free) {
        tri_tnode *n = l->free;
        l->free = node_of(n->w.next);
        l->nfree--;
        return n;
    }
    pthread_mutex_lock(&t->mu);
    if (!t->free && !grow_locked(t)) {
        pthread_mutex_unlock(&t->mu);
        return NULL;
    }
    tri_tnode *n = t->free;
    t->free = node_of(n->w.next);
    if (!shared) { /* take a batch for the next arms */
        tri_tnode *first = t->free, *last = NULL;
        uint32_t k = 0;
        for (tri_tnode *p = first; p && k < TN_BATCH; p = node_of(p->w.next), k++) last = p;
        if (k) {
            t->free = node_of(last->w.next);
            free_link(last, l->free);
            l->free = first;
            l->nfree += k;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* Gives back a node that was never armed (its generation unchanged). */
static void node_unalloc(tri_timers *t, tri_tlane *l, bool shared, tri_tnode *n)
{
    if (!shared) {
        free_link(n, l->free);
        l->free = n;
        l->nfree++;
        return;
    }
    pthread_mutex_lock(&t->mu);
    free_link(n, t->free);
    t->free = n;
    pthread_mutex_unlock(&t->mu);
}

/* The thread only: frees a node it is done with. The new generation makes
 * every handle to it stale; the release pairs with cancellers' loads. */
static void node_release(tri_timers *t, tri_tnode *n)
{
    uint64_t gen = sg_gen(atomic_load_explicit(&n->sg, memory_order_relaxed));
    atomic_store_explicit(&n->msg, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->owner, NULL, memory_order_relaxed);
    if (gen >= TN_GEN_MAX) { /* its handles would repeat: retire it */
        atomic_store_explicit(&n->sg, gen << TN_GEN_SHIFT | TN_FREE, memory_order_release);
        return;
    }
    atomic_store_explicit(&n->sg, (gen + 1) << TN_GEN_SHIFT | TN_FREE, memory_order_release);
    free_link(n, t->tfree);
    t->tfree = n;
    if (!t->tfree_tail) t->tfree_tail = n;
    if (++t->ntfree < 2 * TN_BATCH) return;
    pthread_mutex_lock(&t->mu);
    free_link(t->tfree_tail, t->free);
    t->free = t->tfree;
    pthread_mutex_unlock(&t->mu);
    t->tfree = t->tfree_tail = NULL;
    t->ntfree = 0;
}

/* ---------------------------------------------------------------- lanes */

/* The calling thread's lane: its worker's, or the shared one. */
static tri_tlane *lane_get(tri_timers *t, tr_system *sys, bool *shared)
{
    tri_worker *w = tri_current_worker;
    unsigned i = w && w->sys == sys && w->id < TRI_SHARED_LANE ? w->id : TRI_SHARED_LANE;
    *shared = i == TRI_SHARED_LANE;
    unsigned hi = atomic_load_explicit(&t->lanes_hi, memory_order_relaxed);
    while (i < TRI_SHARED_LANE && i >= hi) /* first use: the thread must look at it */
        atomic_compare_exchange_weak_explicit(&t->lanes_hi, &hi, i + 1, memory_order_seq_cst,
                                              memory_order_relaxed);
    return &t->lanes[i];
}

/* Returns true when the lane was empty. seq_cst: see wake_thread. */
static bool lane_push(tri_tlane *l, tri_tnode *n)
{
    tri_tnode *h = atomic_load_explicit(&l->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&n->qnext, h, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&l->head, &h, n, memory_order_seq_cst,
                                                    memory_order_relaxed));
    return h == NULL;
}

void tri_timers_poke(tr_system *sys)
{
    uint64_t one = 1;
    ssize_t r = write(sys->timers->efd, &one, sizeof one);
    (void)r; /* a full counter already means "wake up" */
}

/* After a push: wakes the thread if it would otherwise look too late,
 * that is if `tick` comes before the tick it sleeps until, or if this push
 * was the first to reach a thread sleeping past BUSY_TICKS (it would
 * leave the lane unread until then). Lowering wake_tick first means one
 * poke per wake-up, not one per arm. Dekker with the thread: it stores
 * wake_tick, then looks at the lanes; we push, then load wake_tick (all
 * seq_cst), so either it sees our node or we see its new wake_tick. */
static void wake_thread(tr_system *sys, int64_t tick, int64_t now_tick, bool was_empty)
{
    tri_timers *t = sys->timers;
    if (sys->clock) {
        /* Time moves only by advances, which drain the lanes; but a lane
         * reaching a thread that sleeps until then is drained anyway, so
         * that cancelled nodes do not pile up between advances. */
        int64_t deep = INT64_MAX;
        if (tick <= now_tick ||
            (was_empty && atomic_compare_exchange_strong_explicit(
                              &t->wake_tick, &deep, INT64_MAX - 1, memory_order_seq_cst,
                              memory_order_seq_cst)))
            tri_timers_poke(sys);
        return;
    }
    int64_t want = tick;
    if (was_empty && now_tick + BUSY_TICKS < want) want = now_tick + BUSY_TICKS;
    int64_t wake = atomic_load_explicit(&t->wake_tick, memory_order_seq_cst);
    while (want < wake)
        if (atomic_compare_exchange_weak_explicit(&t->wake_tick, &wake, want,
                                                  memory_order_seq_cst, memory_order_seq_cst)) {
            tri_timers_poke(sys);
            return;
        }
}

/* --------------------------------------------------------------- firing */

/* Pushes a due message, or counts it dead at once if its target is gone.
 * A receiver on another node is sent to as by tr_send, from this thread
 * (the transport's queue takes any thread's sends). */
static void fire(tr_system *sys, const tri_tnode *n, tr_msg *m)
{
    if (n->is_remote) {
        tri_deliver_nowait(sys, (tr_pid){n->to.remote.node, n->to.remote.slot, m->dest_serial}, m);
        return;
    }
    tri_actor *to = n->to.local;
    if (m->kind == TRI_MSG_USER && to) {
        /* as a send (counted as sent; a dead letter if the receiver is
         * gone; bounded mailboxes apply) */
        tri_deliver_nowait(sys, (tr_pid){sys->node, to->index, m->dest_serial}, m);
        return;
    }
    if (!to || atomic_load_explicit(&to->serial, memory_order_acquire) != m->dest_serial) {
        tri_dead_letter(sys, m, to ? to->index : 0);
        tri_msg_free(m);
        return;
    }
    tri_push(sys, to, m);
}

/* Fires a node that is due (it is out of the wheel). */
static void fire_node(tr_system *sys, tri_timers *t, tri_tnode *n, int64_t now_tick)
{
    uint64_t s = atomic_load_explicit(&n->sg, memory_order_acquire);
    if (sg_state(s) != TN_WHEEL ||
        !atomic_compare_exchange_strong_explicit(&n->sg, &s, sg_with(s, TN_FIRING),
                                                 memory_order_acq_rel, memory_order_acquire))
        return; /* CANCELLING: its cancel request, on a lane, will free it */
    if (!(s & TN_PERIODIC)) {
        fire(sys, n, atomic_load_explicit(&n->msg, memory_order_relaxed));
        node_release(t, n);
        return;
    }
    /* An interval sends a copy and stays; after a jump of the clock it
     * fires once, then resumes its rhythm from now. */
    tr_msg *orig = atomic_load_explicit(&n->msg, memory_order_relaxed);
    tr_msg *copy = tri_msg_alloc(orig->kind, orig->type, orig->size);
    if (copy) {
        if (orig->size) memcpy(copy->data, orig->data, orig->size);
        copy->dest_serial = orig->dest_serial;
        copy->sender = orig->sender;
        fire(sys, n, copy);
    } else {
        tri_log(TR_LOG_ERROR, "out of memory firing an interval timer; tick skipped");
    }
    n->w.tick += (uint64_t)n->period;
    if ((int64_t)n->w.tick <= now_tick) n->w.tick = (uint64_t)(now_tick + n->period);
    uint64_t firing = sg_with(s, TN_FIRING);
    if (atomic_compare_exchange_strong_explicit(&n->sg, &firing, sg_with(s, TN_WHEEL),
                                                memory_order_acq_rel, memory_order_acquire)) {
        tri_wheel_insert(&t->wheel, &n->w);
        return;
    }
    tri_msg_free(orig); /* cancelled while we sent: CANCEL_FIRING */
    node_release(t, n);
}

/* Takes a node from a lane: a new arm, an arm already cancelled, or the
 * cancel request of a node in the wheel. */
static void take(tr_system *sys, tri_timers *t, tri_tnode *n, int64_t now_tick)
{
    uint64_t s = atomic_load_explicit(&n->sg, memory_order_acquire);
    switch (sg_state(s)) {
    case TN_QUEUED:
        if (!atomic_compare_exchange_strong_explicit(&n->sg, &s, sg_with(s, TN_WHEEL),
                                                     memory_order_acq_rel, memory_order_acquire)) {
            node_release(t, n); /* cancelled just now */
            return;
        }
        if ((int64_t)n->w.tick <= (int64_t)t->wheel.elapsed) fire_node(sys, t, n, now_tick);
        else tri_wheel_insert(&t->wheel, &n->w);
        return;
    case TN_CANCELLED:
        node_release(t, n);
        return;
    case TN_CANCELLING:
        if (n->w.where != TRI_WHEEL_NOWHERE) tri_wheel_remove(&t->wheel, &n->w);
        node_release(t, n);
        return;
    default: /* cannot happen: nothing else is ever queued */
        return;
    }
}

/* Takes every lane's nodes, oldest first. Returns how many there were. */
static tri_tlane *lane_next(tri_timers *t, unsigned *i)
{
    unsigned hi = atomic_load_explicit(&t->lanes_hi, memory_order_seq_cst);
    if (*i < hi) return &t->lanes[(*i)++];
    if (*i < TRI_SHARED_LANE) *i = TRI_SHARED_LANE;
    return *i == TRI_SHARED_LANE ? &t->lanes[(*i)++] : NULL;
}

static size_t drain(tr_system *sys, tri_timers *t, int64_t now_tick)
{
    size_t count = 0;
    unsigned i = 0;
    for (tri_tlane *l; (l = lane_next(t, &i));) {
        if (!atomic_load_explicit(&l->head, memory_order_relaxed)) continue;
        tri_tnode *n = atomic_exchange_explicit(&l->head, NULL, memory_order_acq_rel), *fifo = NULL;
        while (n) { /* the lane is a stack: reverse it */
            tri_tnode *next = atomic_load_explicit(&n->qnext, memory_order_relaxed);
            atomic_store_explicit(&n->qnext, fifo, memory_order_relaxed);
            fifo = n;
            n = next;
        }
        for (n = fifo; n;) {
            tri_tnode *next = atomic_load_explicit(&n->qnext, memory_order_relaxed);
            take(sys, t, n, now_tick);
            n = next;
            count++;
        }
    }
    return count;
}

static bool lanes_empty(tri_timers *t)
{
    unsigned i = 0;
    for (tri_tlane *l; (l = lane_next(t, &i));)
        if (atomic_load_explicit(&l->head, memory_order_seq_cst)) return false;
    return true;
}

/* -------------------------------------------------------------- thread */

static void *timer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-timer");
    tr_system *sys = arg;
    tri_timers *t = sys->timers;
    /* The default 50 us of slack would add that much to every timer. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    /* Lanes were empty this many cycles in a row: "busy" (look every tick)
     * lasts a few empty cycles, so that a worker whose cancels take its arms
     * back (take_back) does not poke a thread that just went to sleep. */
    unsigned idle = 0;
    while (!atomic_load_explicit(&t->quit, memory_order_acquire)) {
        int64_t now = tri_now_ns(sys), now_tick = now / NS_PER_TICK;
        size_t drained = drain(sys, t, now_tick);
        idle = drained ? 0 : idle < 8 ? idle + 1 : idle;
        bool busy = idle < 8;
        for (tri_wentry *e; (e = tri_wheel_expire(&t->wheel, (uint64_t)now_tick));)
            for (tri_wentry *next; e; e = next) {
                next = e->next;
                fire_node(sys, t, node_of(e), now_tick);
            }
        if (atomic_load(&sys->stop_requested) && !t->stop_sent) {
            t->stop_sent = true;
            tri_send_sys(sys, sys->root, sys->root_pid.serial, TRI_MSG_ROOT_STOP, NULL, 0);
        }
        if (sys->clock) { /* tell tr_clock_advance we are done with `now` */
            pthread_mutex_lock(&sys->clock->mu);
            atomic_store(&t->processed_ns, now);
            pthread_cond_broadcast(&sys->clock->cv);
            pthread_mutex_unlock(&sys->clock->mu);
        }
        /* The next tick to look at: the wheel's next expiry, or BUSY_TICKS
         * on while arms keep coming in. A manual clock's time does not
         * pass by itself: there "busy" (INT64_MAX - 1) means looking at the
         * lanes again within a real millisecond, "deep" (INT64_MAX) only
         * when poked. */
        int64_t next = INT64_MAX;
        struct timespec ts, *timeout = NULL;
        if (sys->clock) {
            if (busy) {
                next = INT64_MAX - 1;
                ts = (struct timespec){0, 1000000};
                timeout = &ts;
            }
        } else {
            uint64_t w = tri_wheel_next(&t->wheel);
            if (w < (uint64_t)INT64_MAX) next = (int64_t)w;
            if (busy && next > now_tick + BUSY_TICKS) next = now_tick + BUSY_TICKS;
        }
        atomic_store_explicit(&t->wake_tick, next, memory_order_seq_cst);
        if (!busy && !lanes_empty(t)) continue; /* pushed before it saw wake_tick */
        if (!sys->clock && next != INT64_MAX) {
            int64_t d = next - now_tick > 1000000000 ? INT64_C(1000000000) * NS_PER_TICK
                                                      : next * NS_PER_TICK - tri_now_ns(sys);
            if (d < 0) d = 0;
            ts.tv_sec = d / 1000000000;
            ts.tv_nsec = d % 1000000000;
            timeout = &ts;
        }
        struct pollfd p = {t->efd, POLLIN, 0};
        if (ppoll(&p, 1, timeout, NULL) > 0) { /* poked: something is going on */
            uint64_t v;
            ssize_t r = read(t->efd, &v, sizeof v);
            (void)r;
            idle = 0;
        }
    }
    return NULL;
}

static void timers_free(tri_timers *t)
{
    uint64_t carved = atomic_load(&t->carved);
    for (uint32_t c = 0; c < atomic_load(&t->nchunks); c++) {
        tri_tnode *chunk = atomic_load(&t->chunks[c]);
        for (uint32_t i = 0; i < TN_CHUNK && ((uint64_t)c << TN_CHUNK_BITS) + i < carved; i++) {
            unsigned st = sg_state(atomic_load(&chunk[i].sg));
            if (st == TN_QUEUED || st == TN_WHEEL) tri_msg_free(atomic_load(&chunk[i].msg));
        }
        munmap(chunk, TN_CHUNK_BYTES);
    }
    free(t->lanes);
    if (t->efd >= 0) close(t->efd);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int tri_timers_start(tr_system *sys, tr_clock *clock)
{
    tri_timers *t = calloc(1, sizeof *t);
    if (!t) return TR_ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->lanes = aligned_alloc(TRI_CACHE_LINE, TRI_LANES * sizeof *t->lanes);
    if (t->lanes) {
        memset(t->lanes, 0, TRI_LANES * sizeof *t->lanes);
        for (unsigned i = 0; i < TRI_LANES; i++) atomic_init(&t->lanes[i].head, NULL);
    }
    if (t->efd < 0 || !t->lanes) {
        timers_free(t);
        return TR_ENOMEM;
    }
    atomic_init(&t->processed_ns, INT64_MIN);
    atomic_init(&t->wake_tick, INT64_MAX);
    sys->timers = t;
    sys->clock = clock;
    tri_wheel_init(&t->wheel, (uint64_t)(tri_now_ns(sys) / NS_PER_TICK));
    if (clock) {
        pthread_mutex_lock(&clock->mu);
        bool room = clock->nusers < MAX_CLOCK_USERS;
        if (room) clock->users[clock->nusers++] = sys;
        pthread_mutex_unlock(&clock->mu);
        if (!room) {
            timers_free(t);
            sys->timers = NULL;
            return TR_EINVAL;
        }
    }
    if (pthread_create(&t->thread, NULL, timer_main, sys)) {
        atomic_store(&t->quit, true); /* tells tri_timers_stop there is no thread to join */
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
    bool started = !atomic_exchange(&t->quit, true);
    if (started) {
        tri_timers_poke(sys);
        pthread_join(t->thread, NULL);
    }
    timers_free(t);
    sys->timers = NULL;
}

uint64_t tri_timers_node_count(tr_system *sys)
{
    return atomic_load(&sys->timers->carved);
}

/* --------------------------------------------------------------- owners */

static bool live_state(unsigned st)
{
    return st == TN_QUEUED || st == TN_WHEEL || st == TN_FIRING || st == TN_CANCEL_FIRING;
}

/* Records a handle in its owner's list, first sweeping out handles of
 * timers that are gone when the list is full, so it stays within twice the
 * owner's live timers (amortised O(1)). The owner's thread only. */
static bool owner_track(tri_timers *t, tri_actor_ext *x, uint64_t id)
{
    if (x->timers_n == x->timers_cap) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < x->timers_n; i++) {
            uint64_t h = x->timers[i];
            tri_tnode *n = node_at(t, h & TN_INDEX_MASK);
            uint64_t s = atomic_load_explicit(&n->sg, memory_order_relaxed);
            if (sg_gen(s) == h >> TN_INDEX_BITS && live_state(sg_state(s))) x->timers[k++] = h;
        }
        x->timers_n = k;
        if (k * 2 > x->timers_cap || x->timers_cap == 0) {
            uint32_t cap = x->timers_cap ? x->timers_cap * 2 : 4;
            uint64_t *v = realloc(x->timers, cap * sizeof *v);
            if (!v) return false;
            x->timers = v;
            x->timers_cap = cap;
        }
    }
    x->timers[x->timers_n++] = id;
    return true;
}

/* Longer delays are taken as this (about 31 years): far enough never to
 * fire, small enough that deadlines in nanoseconds cannot overflow. */
#define TRI_MAX_DELAY_MS ((int64_t)1000000000000)

static uint64_t start(tr_system *sys, tri_actor *owner, int64_t delay_ms, int64_t period_ms,
                      tri_actor *to, const tr_pid *remote, tr_msg *m)
{
    tri_timers *t = sys->timers;
    if (delay_ms > TRI_MAX_DELAY_MS) delay_ms = TRI_MAX_DELAY_MS;
    if (period_ms > TRI_MAX_DELAY_MS) period_ms = TRI_MAX_DELAY_MS;
    bool shared;
    tri_tlane *l = lane_get(t, sys, &shared);
    tri_tnode *n = node_alloc(t, l, shared);
    if (!n) {
        tri_msg_free(m);
        return 0;
    }
    int64_t now = tri_now_ns(sys);
    /* rounded up to the tick: never early */
    int64_t tick = (now + delay_ms * 1000000 + NS_PER_TICK - 1) / NS_PER_TICK;
    n->w.tick = (uint64_t)tick;
    n->period = period_ms * TICKS_PER_MS;
    n->is_remote = remote != NULL;
    if (remote) n->to.remote.node = remote->node, n->to.remote.slot = remote->slot;
    else n->to.local = to;
    atomic_store_explicit(&n->msg, m, memory_order_relaxed);
    atomic_store_explicit(&n->owner, owner, memory_order_relaxed);
    uint64_t gen = sg_gen(atomic_load_explicit(&n->sg, memory_order_relaxed));
    uint64_t id = gen << TN_INDEX_BITS | n->index;
    if (owner && !owner_track(t, owner->ext, id)) {
        node_unalloc(t, l, shared, n);
        tri_msg_free(m);
        return 0;
    }
    /* publishes the fields above to the thread and to cancellers */
    atomic_store_explicit(&n->sg, gen << TN_GEN_SHIFT | (period_ms ? TN_PERIODIC : 0) | TN_QUEUED,
                          memory_order_release);
    bool was_empty = lane_push(l, n);
    wake_thread(sys, tick, now / NS_PER_TICK, was_empty);
    return id;
}

uint64_t tri_timer_start(tr_system *sys, tri_actor *owner, int64_t delay_ms, int64_t period_ms,
                         tri_actor *to, tr_msg *m)
{
    return start(sys, owner, delay_ms, period_ms, to, NULL, m);
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

/* After cancelling a node still in a lane: if it is the top of the
 * caller's own lane (an arm cancelled before the thread came by, as with
 * a timeout that was not needed), pops it and frees it into the lane's
 * cache, so the node never leaves this thread. Only the lane's worker
 * pushes onto it and the thread only ever takes the whole stack, so the
 * pop cannot be fooled (no ABA): it succeeds iff the thread has not taken
 * the node. Otherwise the thread frees the node when it takes it. */
static void take_back(tri_timers *t, tr_system *sys, tri_tnode *n, uint64_t s)
{
    bool shared;
    tri_tlane *l = lane_get(t, sys, &shared);
    if (shared || atomic_load_explicit(&l->head, memory_order_relaxed) != n) return;
    tri_tnode *expect = n, *next = atomic_load_explicit(&n->qnext, memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&l->head, &expect, next, memory_order_acquire,
                                                 memory_order_relaxed))
        return;
    uint64_t gen = sg_gen(s);
    atomic_store_explicit(&n->msg, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->owner, NULL, memory_order_relaxed);
    if (gen >= TN_GEN_MAX) return; /* retired (its state stays CANCELLED) */
    atomic_store_explicit(&n->sg, (gen + 1) << TN_GEN_SHIFT | TN_FREE, memory_order_release);
    free_link(n, l->free);
    l->free = n;
    l->nfree++;
}

bool tri_timer_cancel(tr_system *sys, tri_actor *owner, uint64_t id)
{
    tri_timers *t = sys->timers;
    tri_tnode *n = node_at(t, id & TN_INDEX_MASK);
    if (!n) return false;
    uint64_t gen = id >> TN_INDEX_BITS;
    uint64_t s = atomic_load_explicit(&n->sg, memory_order_acquire);
    for (;;) {
        if (sg_gen(s) != gen) return false;
        if (owner && atomic_load_explicit(&n->owner, memory_order_relaxed) != owner) return false;
        /* read before the claim: once a claim succeeds the node may be
         * freed and reused by the thread at any moment */
        tr_msg *m = atomic_load_explicit(&n->msg, memory_order_relaxed);
        switch (sg_state(s)) {
        case TN_QUEUED:
            if (atomic_compare_exchange_weak_explicit(&n->sg, &s, sg_with(s, TN_CANCELLED),
                                                      memory_order_acq_rel, memory_order_acquire)) {
                tri_msg_free(m);
                take_back(t, sys, n, s);
                return true;
            }
            break;
        case TN_WHEEL:
            if (atomic_compare_exchange_weak_explicit(&n->sg, &s, sg_with(s, TN_CANCELLING),
                                                      memory_order_acq_rel, memory_order_acquire)) {
                tri_msg_free(m);
                /* back to the thread, which unlinks it from the wheel */
                bool shared;
                tri_tlane *l = lane_get(t, sys, &shared);
                bool was_empty = lane_push(l, n);
                wake_thread(sys, INT64_MAX, tri_now_ns(sys) / NS_PER_TICK, was_empty);
                return true;
            }
            break;
        case TN_FIRING: /* a one-shot's message is on its way: too late */
            if (!(s & TN_PERIODIC)) return false;
            if (atomic_compare_exchange_weak_explicit(&n->sg, &s, sg_with(s, TN_CANCEL_FIRING),
                                                      memory_order_acq_rel, memory_order_acquire))
                return true;
            break;
        default:
            return false;
        }
    }
}

void tri_timers_drop_owner(tr_system *sys, tri_actor *owner)
{
    tri_timers *t = sys->timers;
    tri_actor_ext *x = owner->ext;
    if (!x) return;
    for (uint32_t i = 0; i < x->timers_n; i++) {
        uint64_t h = x->timers[i];
        tri_timer_cancel(sys, owner, h);
        /* One caught mid-fire: wait until its message is out, so that none
         * arrives after the owner has ended. The send never blocks. */
        tri_tnode *n = node_at(t, h & TN_INDEX_MASK);
        for (;;) {
            uint64_t s = atomic_load_explicit(&n->sg, memory_order_acquire);
            if (sg_gen(s) != h >> TN_INDEX_BITS ||
                (sg_state(s) != TN_FIRING && sg_state(s) != TN_CANCEL_FIRING))
                break;
            sched_yield();
        }
    }
    free(x->timers);
    x->timers = NULL;
    x->timers_n = x->timers_cap = 0;
}

/* ------------------------------------------------------------ public */

static int start_public(tr_ctx *ctx, tr_pid to, int64_t delay_ms, int64_t period_ms, tr_atom type,
                        const void *data, size_t size, tr_timer *out)
{
    if (out) out->id = 0;
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    tr_system *sys = a->sys;
    if (delay_ms < 0 || period_ms < 0 || type.id == 0 || (size && !data) ||
        tr_pid_is_nil(to))
        return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    bool remote = to.node != sys->node;
    if (remote && !tri_node_name(sys)) return TR_ENOROUTE; /* not a node: as tr_send */
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->dest_serial = to.serial;
    m->sender = tri_pid_of(a);
    if (delay_ms == 0 && period_ms == 0 && !sys->clock) {
        /* Due now: no timer needed, but the message is treated as a fired
         * one, so that a full mailbox drops it whatever the delay. */
        a->msgs_out++;
        tri_deliver_nowait(sys, to, m);
        return TR_OK;
    }
    if (!tri_ext(a)) {
        tri_msg_free(m);
        return TR_ENOMEM;
    }
    a->flags |= TRI_F_TIMERS;
    uint64_t id = remote ? start(sys, a, delay_ms, period_ms, NULL, &to, m)
                         : start(sys, a, delay_ms, period_ms, tri_slot_lookup(sys, to.slot), NULL, m);
    if (!id) return TR_ENOMEM;
    if (out) out->id = id;
    return TR_OK;
}

tr_err tr_send_after(tr_ctx *ctx, tr_pid to, int64_t delay_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out)
{
    return start_public(ctx, to, delay_ms, 0, type, data, size, out);
}

tr_err tr_send_every(tr_ctx *ctx, tr_pid to, int64_t period_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out)
{
    if (period_ms <= 0) return TR_EINVAL;
    return start_public(ctx, to, period_ms, period_ms, type, data, size, out);
}

tr_err tr_timer_cancel(tr_ctx *ctx, tr_timer timer)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (timer.id == 0) return TR_ENOENT;
    return tri_timer_cancel(a->sys, a, timer.id) ? TR_OK : TR_ENOENT;
}
