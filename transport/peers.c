/* peers.c — the peer table and the send path.
 *
 * Any thread may send: it finds the peer by node id in a lock-free table,
 * checks the peer's state and the queue's bound, and pushes the message
 * into the peer's outbound queue (the core's MPSC mailbox). The sender
 * whose push makes that queue non-empty puts the peer on the node's ready
 * list, and the one whose push makes the ready list non-empty wakes the I/O
 * thread: one wake-up per burst, never one per message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../actors/pool.h"
#include "node_impl.h"

/* ------------------------------------------------------------ the table */

static uint32_t hash_id(uint32_t id, uint32_t cap)
{
    return (uint32_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static peer_table *table_new(uint32_t cap)
{
    peer_table *t = calloc(1, sizeof *t + cap * sizeof t->slot[0]);
    if (t) t->cap = cap;
    return t;
}

peer *tri_peer_find(tr_node *n, uint32_t id)
{
    peer_table *t = atomic_load_explicit(&n->table, memory_order_acquire);
    if (!t || id == 0) return NULL;
    for (uint32_t i = hash_id(id, t->cap), k = 0; k < t->cap; i = (i + 1) & (t->cap - 1), k++) {
        peer *p = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!p) return NULL;
        if (p->id == id) return p;
    }
    return NULL;
}

static void table_put(peer_table *t, peer *p)
{
    uint32_t i = hash_id(p->id, t->cap);
    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed))
        i = (i + 1) & (t->cap - 1);
    atomic_store_explicit(&t->slot[i], p, memory_order_release);
}

static uint32_t table_count(peer_table *t)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < t->cap; i++) c += atomic_load_explicit(&t->slot[i], memory_order_relaxed) != NULL;
    return c;
}

/* Makes `p` findable by its id (set). One writer: the I/O thread. */
static void publish(tr_node *n, peer *p)
{
    peer_table *t = atomic_load_explicit(&n->table, memory_order_relaxed);
    if (!t || (table_count(t) + 1) * 2 > t->cap) {
        peer_table *g = table_new(t ? t->cap * 2 : 64);
        if (!g) return; /* out of memory: it stays unreachable by id */
        for (uint32_t i = 0; t && i < t->cap; i++) {
            peer *q = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
            if (q) table_put(g, q);
        }
        atomic_store_explicit(&n->table, g, memory_order_release);
        if (t) {
            if (n->nretired < sizeof n->retired / sizeof n->retired[0]) n->retired[n->nretired++] = t;
            else free(t); /* 32 doublings: cannot happen before memory runs out */
        }
        t = g;
    }
    table_put(t, p);
}

peer *tri_peer_add(tr_node *n, uint32_t id)
{
    peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->id = id;
    atomic_init(&p->state, PEER_CONNECTING);
    atomic_init(&p->q_load, 0);
    tri_mailbox_init(&p->q);
    p->book = tri_book_new();
    if (!p->book) {
        free(p);
        return NULL;
    }
    pthread_mutex_lock(&n->names_mu);
    p->next_all = n->all;
    n->all = p;
    pthread_mutex_unlock(&n->names_mu);
    if (id) publish(n, p);
    return p;
}

void tri_peer_rekey(tr_node *n, peer *p, uint32_t id)
{
    if (p->id == id) return;
    pthread_mutex_lock(&n->names_mu); /* tri_peer_find_name reads it */
    p->id = id; /* was 0: a seed dialled before its id was known */
    pthread_mutex_unlock(&n->names_mu);
    publish(n, p);
}

void tri_peer_set_name(tr_node *n, peer *p, const char *name)
{
    if (strcmp(p->name, name) == 0) return; /* the I/O thread's own read */
    pthread_mutex_lock(&n->names_mu);
    snprintf(p->name, sizeof p->name, "%s", name);
    pthread_mutex_unlock(&n->names_mu);
}

peer *tri_peer_find_name(tr_node *n, const char *name)
{
    peer *found = NULL;
    pthread_mutex_lock(&n->names_mu);
    for (peer *p = n->all; p && !found; p = p->next_all)
        if (p->id && atomic_load_explicit(&p->state, memory_order_acquire) < PEER_GONE &&
            strcmp(p->name, name) == 0)
            found = p;
    pthread_mutex_unlock(&n->names_mu);
    return found;
}

void tri_peer_table_free(tr_node *n)
{
    for (size_t i = 0; i < n->nretired; i++) free(n->retired[i]);
    n->nretired = 0;
    free(atomic_load(&n->table));
    atomic_store(&n->table, NULL);
}

/* ------------------------------------------------------------- waking */

void tri_node_wake(tr_node *n)
{
    /* seq_cst, paired with the I/O thread's store of io_sleeping before it
     * looks at the ready list a last time: either it sees our work or we
     * see it asleep */
    if (atomic_load_explicit(&n->io_sleeping, memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t r = write(n->efd, &one, sizeof one);
        (void)r; /* a full counter already means "wake up" */
    }
}

void tri_peer_schedule(tr_node *n, peer *p)
{
    pthread_mutex_lock(&n->ready_mu);
    if (p->in_ready) { /* drained and refilled before the I/O thread came */
        pthread_mutex_unlock(&n->ready_mu);
        return;
    }
    p->in_ready = true;
    p->ready_next = NULL;
    if (n->ready_tail) n->ready_tail->ready_next = p;
    else n->ready_head = p;
    n->ready_tail = p;
    bool first = !atomic_load_explicit(&n->ready_any, memory_order_relaxed);
    atomic_store_explicit(&n->ready_any, true, memory_order_seq_cst);
    pthread_mutex_unlock(&n->ready_mu);
    if (first) tri_node_wake(n);
}

/* The I/O thread: takes the whole ready list. */
peer *tri_ready_take(tr_node *n)
{
    pthread_mutex_lock(&n->ready_mu);
    peer *p = n->ready_head;
    for (peer *q = p; q; q = q->ready_next) q->in_ready = false;
    n->ready_head = n->ready_tail = NULL;
    atomic_store_explicit(&n->ready_any, false, memory_order_relaxed);
    pthread_mutex_unlock(&n->ready_mu);
    return p;
}

/* --------------------------------------------------------- send path */

/* Whether a message counts against the peer queue's bound: user messages
 * only, never answers (replies, "down"s) or the runtime's notices, which
 * someone waits for; nor signals (link, monitor, exit), which must not be
 * refused or the two ends would disagree. */
static bool bounded(const tr_msg *m)
{
    return m->kind == TRI_MSG_USER && m->call != TRI_CALL_REPLY && m->call != TRI_CALL_MONITOR &&
           !m->exempt;
}

/* A message the peer will not get: a dead letter with its reason (a
 * request among them answered "tr.down" at once). */
static void undeliverable(tr_node *n, tr_msg *m, tr_pid to, tr_dead_reason why)
{
    atomic_fetch_add_explicit(&n->dead_down, 1, memory_order_relaxed);
    tri_dead_letter_to(n->sys, m, to, why);
    tri_msg_free(m);
}

static void name_free(char *name)
{
    if (name) tri_pool_free(name, strlen(name) + 1);
}

/* ------------------------------------------------------ room notices */

tr_atom tr_room_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.room");
}

/* Whether the queue is below half its bound in messages and in bytes: the
 * low-water mark at which waiters are told (half, so that a sender woken
 * has room for a good batch, not for one message). A peer that is down
 * has room in that sense: a send no longer waits, it is a dead letter. */
static bool has_room(const tr_node *n, peer *p)
{
    if (atomic_load_explicit(&p->state, memory_order_acquire) >= PEER_DOWN) return true;
    uint64_t load = atomic_load_explicit(&p->q_load, memory_order_relaxed);
    return (load >> Q_COUNT_SHIFT) < n->opts.queue_messages / 2 + 1 &&
           (load & Q_BYTES_MASK) < n->opts.queue_bytes / 2 + 1;
}

/* Tells every waiter of `p` once, if there is room: a "tr.room" message
 * whose payload is the peer's node id (uint32_t). The list is taken under
 * room_mu, so a waiter registered once is told once, whoever (the I/O
 * thread after a settle, or the registering actor) finds the room. */
static void room_check(tr_node *n, peer *p)
{
    if (!has_room(n, p)) return;
    pthread_mutex_lock(&n->room_mu);
    tr_pid *w = p->room_waiters;
    size_t k = p->nroom;
    p->room_waiters = NULL;
    p->nroom = p->caproom = 0;
    atomic_store_explicit(&p->room_wanted, false, memory_order_relaxed);
    pthread_mutex_unlock(&n->room_mu);
    for (size_t i = 0; i < k; i++) {
        tr_msg *m = tri_msg_alloc(TRI_MSG_USER, tr_room_atom(), sizeof p->id);
        if (!m) continue; /* the waiter's next send tells it: TR_OK or TR_EFULL */
        memcpy(m->data, &p->id, sizeof p->id);
        m->sender = TR_PID_NIL;
        m->dest_serial = w[i].serial;
        tri_deliver_remote(n->sys, w[i], m);
    }
    free(w);
}

/* Registers `self` (an actor or an inbox of n's system) as waiting for
 * room in the queue to `to`'s node. */
static int room_wait(tr_node *n, tr_pid self, tr_pid to)
{
    if (!n || to.node == n->id || tr_pid_is_nil(to)) return TR_EINVAL;
    peer *p = tri_peer_find(n, to.node);
    if (!p) return TR_ENOROUTE;
    pthread_mutex_lock(&n->room_mu);
    bool known = false;
    for (size_t i = 0; i < p->nroom && !known; i++) known = tr_pid_eq(p->room_waiters[i], self);
    if (!known && p->nroom == p->caproom) {
        size_t cap = p->caproom ? p->caproom * 2 : 4;
        tr_pid *w = realloc(p->room_waiters, cap * sizeof *w);
        if (!w) {
            pthread_mutex_unlock(&n->room_mu);
            return TR_ENOMEM;
        }
        p->room_waiters = w;
        p->caproom = cap;
    }
    if (!known) p->room_waiters[p->nroom++] = self;
    atomic_store_explicit(&p->room_wanted, true, memory_order_seq_cst);
    pthread_mutex_unlock(&n->room_mu);
    /* the queue may have drained before room_wanted was set: look now */
    room_check(n, p);
    return TR_OK;
}

tr_err tr_node_notify_room(tr_ctx *ctx, tr_pid to)
{
    tr_system *sys = tr_ctx_system(ctx);
    if (!sys) return TR_ENOTACTOR;
    return room_wait(tr_node_of(sys), tr_self(ctx), to);
}

tr_err tr_inbox_notify_room(struct tr_inbox *inbox, tr_pid to)
{
    if (!inbox) return TR_EINVAL;
    return room_wait(tr_node_of(tri_inbox_system(inbox)), tr_inbox_pid(inbox), to);
}

/* Queues `m` for `to` (named: `name`, a pool block taken over). */
static int enqueue(tr_node *n, peer *p, tr_pid to, tr_msg *m, char *name)
{
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    if (st >= PEER_DOWN || atomic_load_explicit(&n->stopping, memory_order_acquire)) {
        name_free(name);
        undeliverable(n, m, to, TR_DEAD_NODE_DOWN);
        return TR_OK;
    }
    if (m->size > n->opts.max_message) {
        name_free(name);
        undeliverable(n, m, to, TR_DEAD_TOO_BIG);
        return TR_OK;
    }
    outq_item *it = tri_pool_alloc(sizeof *it);
    if (!it) {
        name_free(name);
        tri_msg_free(m);
        return TR_ENOMEM;
    }
    it->to = to;
    it->m = m;
    it->name = name;
    it->counted = false;
    if (bounded(m)) {
        uint64_t add = Q_ONE_MESSAGE + m->size;
        uint64_t was = atomic_fetch_add_explicit(&p->q_load, add, memory_order_relaxed);
        if (was >> Q_COUNT_SHIFT >= n->opts.queue_messages ||
            (was & Q_BYTES_MASK) + m->size > n->opts.queue_bytes) {
            atomic_fetch_sub_explicit(&p->q_load, add, memory_order_relaxed);
            atomic_fetch_add_explicit(&n->refused_full, 1, memory_order_relaxed);
            tri_msg_free(m);
            name_free(name);
            tri_pool_free(it, sizeof *it);
            return TR_EFULL;
        }
        it->counted = true; /* the I/O thread uncounts it */
    }
    if (tri_mailbox_push(&p->q, &it->link)) tri_peer_schedule(n, p);
    return TR_OK;
}

int tri_node_send(void *t, tr_pid to, tr_msg *m)
{
    tr_node *n = t;
    peer *p = tri_peer_find(n, to.node);
    if (!p) {
        undeliverable(n, m, to, TR_DEAD_NO_ROUTE);
        return TR_OK;
    }
    return enqueue(n, p, to, m, NULL);
}

int tri_node_send_named(void *t, const char *node, const char *name, tr_msg *m)
{
    tr_node *n = t;
    peer *p = tri_peer_find_name(n, node);
    if (!p) {
        undeliverable(n, m, TR_PID_NIL, TR_DEAD_NO_ROUTE);
        return TR_OK;
    }
    /* the message stays as it is (a request keeps its ref and deadline);
     * its item carries the name (io.c encodes SEND_NAMED) */
    char *copy = tri_pool_alloc(strlen(name) + 1);
    if (!copy) {
        tri_msg_free(m);
        return TR_ENOMEM;
    }
    strcpy(copy, name);
    return enqueue(n, p, (tr_pid){p->id, 0, 0}, m, copy);
}

/* ------------------------------------------------ the consumer's side */

/* The next queued item, or NULL (then tri_outq_idle says whether the queue
 * is empty for good). I/O thread only. */
outq_item *tri_outq_pop(peer *p)
{
    tri_node *spent;
    tri_node *nd = tri_mailbox_pop(&p->q, &spent);
    if (spent) tri_pool_free(spent, sizeof(outq_item)); /* the item popped before */
    return nd ? (outq_item *)nd : NULL;
}

/* Whether the queue is marked empty: nothing was pushed since the I/O
 * thread last emptied it (a push clears the mark), so there is nothing to
 * take. The consumer's check before draining a queue it was not handed. */
bool tri_outq_marked_empty(peer *p)
{
    return (atomic_load_explicit(&p->q.head, memory_order_acquire) & 1) != 0;
}

/* After pop returned NULL: true when the queue is marked empty (the next
 * push schedules the peer again), false when a sender is mid-push (pop
 * again). */
bool tri_outq_idle(peer *p)
{
    if (tri_mailbox_park(&p->q)) return false;
    return tri_mailbox_mark_empty(&p->q);
}

/* Done with an item's message (encoded, or dead-lettered): frees it and
 * uncounts it. The item itself stays as the queue's tail until the next
 * pop (mailbox.h). */
void tri_outq_done(peer *p, outq_item *it, uint64_t *load)
{
    (void)p;
    if (it->counted) {
        *load += Q_ONE_MESSAGE + it->m->size;
        it->counted = false;
    }
    tri_msg_free(it->m);
    it->m = NULL;
    name_free(it->name);
    it->name = NULL;
}

/* Uncounts what tri_outq_done gathered in *load: the I/O thread settles
 * once per frame rather than once per message (the senders' counter is
 * the one shared line they all write). */
void tri_outq_settle(tr_node *n, peer *p, uint64_t *load)
{
    if (!*load) return;
    atomic_fetch_sub_explicit(&p->q_load, *load, memory_order_relaxed);
    *load = 0;
    if (atomic_load_explicit(&p->room_wanted, memory_order_acquire)) room_check(n, p);
}

/* The I/O thread, for a peer that is down: everything queued becomes a
 * dead letter with its reason (and monitors, links and calls in it are
 * answered noconnection by the core). */
void tri_peer_dead_letters(tr_node *n, peer *p, tr_dead_reason why)
{
    if (tri_outq_marked_empty(p)) return; /* nothing queued, and not ours to mark */
    uint64_t load = 0;
    for (;;) {
        outq_item *it = tri_outq_pop(p);
        if (!it) {
            if (tri_outq_idle(p)) break;
            continue; /* a sender is mid-push: it is ours to take */
        }
        atomic_fetch_add_explicit(&n->dead_down, 1, memory_order_relaxed);
        tri_dead_letter_to(n->sys, it->m, it->to, why);
        tri_outq_done(p, it, &load);
    }
    tri_outq_settle(n, p, &load);
}
