/* registry.c — names to pids, behind a reader-writer lock.
 *
 * An actor that was ever named removes its entries as it ends, before its
 * watchers are told (tri_registry_release: an entry is also chained by
 * pid, so that costs its own names, not a scan); an actor never named
 * costs the registry nothing at its end. A lookup still checks that the
 * pid's slot holds that incarnation (one atomic load): an entry left by a
 * registration that raced with its actor's end is found dead, overwritten
 * by the next registration, or dropped when the table grows.
 *
 * Waiting for a name (tr_await_name): waiters are kept per name, in a
 * table of their own under the same lock. A registration takes every
 * waiter of its name out of the table and tells each, after the lock is
 * dropped; a timeout is a runtime message to the waiting actor that takes
 * its waiter out if it is still there. Whoever takes the waiter out sends
 * the one notice, so each wait ends exactly once, with no polling. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "hooks.h"
#include "transport.h"

/* An entry is on two chains: its name's and its pid's (so that an
 * actor's end finds its names without a scan). */
typedef struct entry {
    struct entry *next;     /* in buckets, by hash(name) */
    struct entry *next_pid; /* in by_pid, by pid_hash(pid) */
    tr_pid pid;
    char name[];
} entry;

/* One tr_await_name (or tr_system_await_name) not answered yet. */
typedef struct tri_name_waiter {
    struct tri_name_waiter *next;
    tr_pid to;      /* the waiting actor, or the waiting thread's inbox */
    uint64_t ref;   /* the actor's ref, or the registry's for an inbox */
    uint64_t timer; /* the timeout's (owned by the actor), 0: none */
    bool inbox;     /* removed by its own thread, never pruned */
    char name[];
} waiter;

#define WAIT_BUCKETS 256

struct tri_registry {
    pthread_rwlock_t lock;
    entry **buckets;
    entry **by_pid; /* nbuckets too */
    size_t nbuckets, n;
    waiter *waiting[WAIT_BUCKETS]; /* by hash(name) */
    uint64_t next_ref;             /* refs of inbox waiters */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t pid_hash(tr_pid pid, size_t nbuckets)
{
    uint64_t h = (pid.serial ^ (uint64_t)pid.slot << 32) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (nbuckets - 1);
}

static void pid_link(entry **by_pid, size_t nbuckets, entry *e)
{
    entry **b = &by_pid[pid_hash(e->pid, nbuckets)];
    e->next_pid = *b;
    *b = e;
}

static void pid_unlink(tri_registry *r, entry *e)
{
    entry **p = &r->by_pid[pid_hash(e->pid, r->nbuckets)];
    while (*p && *p != e) p = &(*p)->next_pid;
    if (*p) *p = e->next_pid;
}

static bool alive(tr_system *sys, tr_pid pid)
{
    tri_actor *a = tri_slot_lookup(sys, pid.slot);
    return a && atomic_load_explicit(&a->live_serial, memory_order_acquire) == pid.serial;
}

bool tri_pid_alive(tr_system *sys, tr_pid pid)
{
    return sys && pid.node == sys->node && !tr_pid_is_nil(pid) && alive(sys, pid);
}

static bool valid(const char *name)
{
    if (!name) return false;
    size_t n = strnlen(name, TR_NAME_MAX + 1);
    return n > 0 && n <= TR_NAME_MAX;
}

/* A name one may register: valid, and without '@', which separates a name
 * from its node ("kv@node"). */
bool tri_registry_valid_name(const char *name) { return valid(name) && !strchr(name, '@'); }

int tri_registry_init(tr_system *sys)
{
    tri_registry *r = calloc(1, sizeof *r);
    if (!r) return TR_ENOMEM;
    r->nbuckets = 64;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    r->by_pid = calloc(r->nbuckets, sizeof *r->by_pid);
    if (!r->buckets || !r->by_pid) {
        free(r->buckets);
        free(r->by_pid);
        free(r);
        return TR_ENOMEM;
    }
    pthread_rwlock_init(&r->lock, NULL);
    sys->registry = r;
    return TR_OK;
}

void tri_registry_fini(tr_system *sys)
{
    tri_registry *r = sys->registry;
    if (!r) return;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    free(r->buckets);
    free(r->by_pid);
    for (size_t i = 0; i < WAIT_BUCKETS; i++)
        for (waiter *w = r->waiting[i], *n; w; w = n) {
            n = w->next;
            free(w);
        }
    pthread_rwlock_destroy(&r->lock);
    free(r);
    sys->registry = NULL;
}

static entry **find(tri_registry *r, const char *name)
{
    entry **p = &r->buckets[hash(name) & (r->nbuckets - 1)];
    while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
    return p;
}

/* Doubles the table, dropping entries of ended actors on the way. */
static void grow(tr_system *sys, tri_registry *r)
{
    size_t nb = r->nbuckets * 2;
    entry **b = calloc(nb, sizeof *b), **bp = calloc(nb, sizeof *bp);
    if (!b || !bp) { /* chains just get longer */
        free(b);
        free(bp);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i], *next; e; e = next) {
            next = e->next;
            if (!alive(sys, e->pid)) {
                free(e);
                continue;
            }
            entry **s = &b[hash(e->name) & (nb - 1)];
            e->next = *s;
            *s = e;
            pid_link(bp, nb, e);
            n++;
        }
    free(r->buckets);
    free(r->by_pid);
    r->buckets = b;
    r->by_pid = bp;
    r->nbuckets = nb;
    r->n = n;
}

/* Takes the waiters of `name` out of the table (write lock held). */
static waiter *take_waiters(tri_registry *r, const char *name)
{
    waiter *taken = NULL;
    for (waiter **p = &r->waiting[hash(name) % WAIT_BUCKETS]; *p;) {
        waiter *w = *p;
        if (strcmp(w->name, name) == 0) {
            *p = w->next;
            w->next = taken;
            taken = w;
        } else {
            p = &w->next;
        }
    }
    return taken;
}

int tri_register_quiet(tr_system *sys, const char *name, tr_pid pid, waiter **woken)
{
    *woken = NULL;
    if (!sys || !tri_registry_valid_name(name) || tr_pid_is_nil(pid) || pid.node != sys->node)
        return TR_EINVAL;
    tri_actor *a = tri_slot_lookup(sys, pid.slot);
    if (!a || a->kind != TRI_SLOT_ACTOR || !alive(sys, pid)) return TR_ENOENT;
    /* Marked before the entry exists, so that the actor's end releases
     * the name (tri_registry_release). Only a registration racing with
     * that end itself can leave the name standing until the end is done
     * (then `alive` fails, as before). */
    __atomic_store_n(&a->named, 1, __ATOMIC_SEQ_CST);
    if (!alive(sys, pid)) return TR_ENOENT;
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    entry **p = find(r, name);
    int rc = TR_OK;
    if (*p) {
        if (alive(sys, (*p)->pid)) {
            rc = TR_EEXIST;
        } else { /* its actor ended: the name is free */
            pid_unlink(r, *p);
            (*p)->pid = pid;
            pid_link(r->by_pid, r->nbuckets, *p);
        }
    } else {
        size_t len = strlen(name);
        entry *e = malloc(sizeof *e + len + 1);
        if (!e) {
            rc = TR_ENOMEM;
        } else {
            e->next = NULL;
            e->pid = pid;
            memcpy(e->name, name, len + 1);
            *p = e;
            pid_link(r->by_pid, r->nbuckets, e);
            if (++r->n > r->nbuckets) grow(sys, r);
        }
    }
    if (rc == TR_OK) *woken = take_waiters(r, name);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

tr_err tr_register(tr_system *sys, const char *name, tr_pid pid)
{
    waiter *woken;
    int rc = tri_register_quiet(sys, name, pid, &woken);
    if (woken) tri_registry_wake(sys, woken, pid);
    return rc;
}

void tri_registry_release(tri_actor *a)
{
    if (!__atomic_load_n(&a->named, __ATOMIC_SEQ_CST)) return;
    __atomic_store_n(&a->named, 0, __ATOMIC_SEQ_CST);
    tr_system *sys = a->sys;
    tr_pid pid = tri_pid_of(a);
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    for (entry **q = &r->by_pid[pid_hash(pid, r->nbuckets)]; *q;) {
        entry *e = *q;
        if (!tr_pid_eq(e->pid, pid)) {
            q = &e->next_pid;
            continue;
        }
        *q = e->next_pid;
        entry **p = find(r, e->name); /* names are unique: *p == e */
        if (*p == e) *p = e->next;
        free(e);
        r->n--;
    }
    pthread_rwlock_unlock(&r->lock);
}

tr_err tr_unregister(tr_system *sys, const char *name)
{
    if (!sys || !name) return TR_EINVAL;
    if (!valid(name)) return TR_ENOENT;
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    entry **p = find(r, name);
    int rc = TR_ENOENT;
    if (*p) {
        entry *e = *p;
        if (alive(sys, e->pid)) rc = TR_OK;
        *p = e->next;
        pid_unlink(r, e);
        free(e);
        r->n--;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* Splits "name@node" into `name` (a buffer of TR_NAME_MAX + 1) and the
 * node; *node is NULL for a plain name. TR_EINVAL when malformed. */
static int split(const char *full, char *name, const char **node)
{
    const char *at = strchr(full, '@');
    *node = NULL;
    size_t nl = at ? (size_t)(at - full) : strlen(full);
    if (nl == 0 || nl > TR_NAME_MAX || (at && !at[1])) return at ? TR_EINVAL : TR_ENOENT;
    memcpy(name, full, nl);
    name[nl] = '\0';
    if (at) *node = at + 1;
    return TR_OK;
}

tr_err tr_whereis(tr_system *sys, const char *name, tr_pid *out)
{
    if (!out) return TR_EINVAL;
    *out = TR_PID_NIL;
    if (!sys || !name) return TR_EINVAL;
    const char *me = tri_node_name(sys), *at = strchr(name, '@');
    if (at && me && strcmp(at + 1, me) == 0) { /* ours, by our node's name */
        char local[TR_NAME_MAX + 1];
        const char *node;
        if (split(name, local, &node) != TR_OK) return TR_ENOENT;
        return tr_whereis(sys, local, out);
    }
    if (!valid(name)) return TR_ENOENT;
    tri_registry *r = sys->registry;
    pthread_rwlock_rdlock(&r->lock);
    entry *e = *find(r, name);
    tr_pid pid = e ? e->pid : TR_PID_NIL;
    pthread_rwlock_unlock(&r->lock);
    if (tr_pid_is_nil(pid) || !alive(sys, pid)) return TR_ENOENT;
    *out = pid;
    return TR_OK;
}

int tri_deliver_to_name(tr_system *sys, const char *full, tr_msg *m)
{
    char name[TR_NAME_MAX + 1];
    const char *node, *me = tri_node_name(sys);
    int rc = split(full, name, &node);
    if (rc == TR_OK && node && !(me && strcmp(node, me) == 0)) {
        /* another node's: resolved there, when it arrives */
        rc = tri_remote_send_named(sys, node, name, m);
        if (rc == TR_OK) tri_count(sys, TRI_N_SENT);
        return rc;
    }
    tr_pid to;
    if (rc == TR_OK) rc = tr_whereis(sys, name, &to);
    if (rc != TR_OK) {
        tri_msg_free(m);
        return rc;
    }
    return tri_deliver(sys, to, m);
}

static int send_named(tr_system *sys, tr_pid from, const char *full, tr_atom type,
                      const void *data, size_t size)
{
    if (type.id == 0 || (size && !data)) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->sender = from;
    return tri_deliver_to_name(sys, full, m);
}

tr_err tr_send_named(tr_ctx *ctx, const char *name, tr_atom type, const void *data, size_t size)
{
    tr_pid to;
    tri_actor *a = tri_ctx(ctx);
    if (!a) { /* abandoned: its sends are dead letters, named ones too */
        if (!tri_ctx_any(ctx)) return TR_ENOTACTOR;
        to = TR_PID_NIL;
        if (name && !strchr(name, '@')) tr_whereis(tri_ctx_any(ctx)->sys, name, &to);
        return tri_muted_send(ctx, to, type, data, size);
    }
    if (!name) return TR_EINVAL;
    int rc = send_named(a->sys, tri_pid_of(a), name, type, data, size);
    if (rc == TR_OK) a->msgs_out++;
    return rc;
}

tr_err tr_system_send_named(tr_system *sys, const char *name, tr_atom type, const void *data,
                         size_t size)
{
    if (!sys || !name) return TR_EINVAL;
    return send_named(sys, TR_PID_NIL, name, type, data, size);
}

/* ------------------------------------------------------ waiting for names */

tr_atom tr_name_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.name");
}

/* The payload of a "tr.name" notice: this, then the name and its NUL. */
struct name_notice {
    tr_pid pid;      /* nil: timed out */
    uint32_t status; /* TR_OK or TR_ETIMEDOUT, as a positive number */
    uint32_t pad;
};

/* A "tr.name" notice for `ref` (the sender is the pid, when there is one). */
static tr_msg *notice(uint64_t ref, const char *name, tr_pid pid, int status)
{
    size_t nl = strlen(name);
    tr_msg *m = tri_msg_alloc_call(TRI_CALL_NOTICE, ref, tr_name_atom(),
                                   sizeof(struct name_notice) + nl + 1);
    if (!m) return NULL;
    struct name_notice n = {pid, (uint32_t)-status, 0};
    memcpy(m->data, &n, sizeof n);
    memcpy((char *)m->data + sizeof n, name, nl + 1);
    m->sender = pid;
    m->exempt = 1; /* asked for: never refused by a bounded mailbox */
    return m;
}

tr_err tr_name_decode(const tr_msg *m, tr_ref *ref, tr_pid *pid, const char **name)
{
    struct name_notice n;
    if (!m || m->type.id != tr_name_atom().id || m->call != TRI_CALL_NOTICE ||
        m->size < sizeof n + 1 || ((const char *)m->data)[m->size - 1] != '\0')
        return TR_EINVAL;
    memcpy(&n, m->data, sizeof n);
    if (ref) ref->id = tri_msg_ref(m);
    if (pid) *pid = n.pid;
    if (name) *name = (const char *)m->data + sizeof n;
    return n.status == 0 ? TR_OK : TR_ETIMEDOUT;
}

void tri_registry_wake(tr_system *sys, waiter *woken, tr_pid pid)
{
    for (waiter *w = woken, *next; w; w = next) {
        next = w->next;
        /* If it has fired already, its message finds no waiter (ours). */
        if (w->timer) tri_timer_cancel(sys, NULL, w->timer);
        tr_msg *m = notice(w->ref, w->name, pid, TR_OK);
        if (m) tri_deliver(sys, w->to, m);
        else tri_log(TR_LOG_ERROR, "out of memory telling a waiter of name %s", w->name);
        free(w);
    }
}

void tri_registry_unwake(tr_system *sys, waiter *woken)
{
    if (!woken) return;
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    for (waiter *w = woken, *next; w; w = next) {
        next = w->next;
        waiter **b = &r->waiting[hash(w->name) % WAIT_BUCKETS];
        w->next = *b;
        *b = w;
    }
    pthread_rwlock_unlock(&r->lock);
}

/* Drops, from the bucket of `name`, waiters of actors that have ended (a
 * wait without a timeout would otherwise stay until the name came). Their
 * timers went with them. Write lock held. */
static void prune(tr_system *sys, tri_registry *r, const char *name)
{
    for (waiter **p = &r->waiting[hash(name) % WAIT_BUCKETS]; *p;) {
        waiter *w = *p;
        if (!w->inbox && !alive(sys, w->to)) {
            *p = w->next;
            free(w);
        } else {
            p = &w->next;
        }
    }
}

/* Takes out the waiter (to, ref) of `name`; false if it is gone. */
static bool take_waiter(tri_registry *r, const char *name, tr_pid to, uint64_t ref)
{
    for (waiter **p = &r->waiting[hash(name) % WAIT_BUCKETS]; *p; p = &(*p)->next) {
        waiter *w = *p;
        if (w->ref == ref && tr_pid_eq(w->to, to) && strcmp(w->name, name) == 0) {
            *p = w->next;
            free(w);
            return true;
        }
    }
    return false;
}

/* A local name to wait for: "name", or "name@<this node>" (copied into
 * buf, TR_NAME_MAX + 1 bytes). Waiting for another node's names is not
 * supported: TR_EINVAL. */
static int local_name(tr_system *sys, const char *full, char *buf)
{
    if (!full) return TR_EINVAL;
    const char *node, *me = tri_node_name(sys);
    if (split(full, buf, &node) != TR_OK) return TR_EINVAL;
    if (node && !(me && strcmp(node, me) == 0)) return TR_EINVAL;
    return tri_registry_valid_name(buf) ? TR_OK : TR_EINVAL;
}

/* Adds a waiter unless the name stands for a live actor now (then *now is
 * set to it and nothing is added). Takes `w` either way. */
static void add_waiter(tr_system *sys, waiter *w, tr_pid *now)
{
    tri_registry *r = sys->registry;
    *now = TR_PID_NIL;
    pthread_rwlock_wrlock(&r->lock);
    entry *e = *find(r, w->name);
    if (e && alive(sys, e->pid)) {
        *now = e->pid;
        free(w);
    } else {
        prune(sys, r, w->name);
        waiter **b = &r->waiting[hash(w->name) % WAIT_BUCKETS];
        w->next = *b;
        *b = w;
    }
    pthread_rwlock_unlock(&r->lock);
}

static waiter *waiter_new(const char *name, tr_pid to, uint64_t ref, bool inbox)
{
    size_t nl = strlen(name);
    waiter *w = malloc(sizeof *w + nl + 1);
    if (!w) return NULL;
    *w = (waiter){NULL, to, ref, 0, inbox};
    memcpy(w->name, name, nl + 1);
    return w;
}

tr_err tr_await_name(tr_ctx *ctx, const char *name, int64_t timeout_ms, tr_ref *out)
{
    if (out) out->id = 0;
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    tr_system *sys = a->sys;
    char local[TR_NAME_MAX + 1];
    if (local_name(sys, name, local) != TR_OK) return TR_EINVAL;
    uint64_t ref = tri_next_ref(a);
    if (!ref) return TR_ENOMEM;
    tr_pid self = tri_pid_of(a);
    waiter *w = waiter_new(local, self, ref, false);
    if (!w) return TR_ENOMEM;
    /* Armed before the waiter is listed: its message cannot be handled
     * before this callback returns, by when the waiter is there. */
    if (timeout_ms >= 0) {
        size_t nl = strlen(local);
        char payload[sizeof ref + TR_NAME_MAX + 1];
        memcpy(payload, &ref, sizeof ref);
        memcpy(payload + sizeof ref, local, nl + 1);
        w->timer = tri_timer_after(sys, timeout_ms, a, self.serial, TRI_MSG_NAME_TIMEOUT, payload,
                                   sizeof ref + nl + 1);
        if (!w->timer) {
            free(w);
            return TR_ENOMEM;
        }
    }
    uint64_t timer = w->timer;
    tr_pid now;
    add_waiter(sys, w, &now);
    if (!tr_pid_is_nil(now)) { /* registered already: told at once */
        if (timer) tri_timer_cancel(sys, a, timer);
        tr_msg *m = notice(ref, local, now, TR_OK);
        if (!m) return TR_ENOMEM;
        tri_deliver(sys, self, m);
    }
    if (out) out->id = ref;
    return TR_OK;
}

bool tri_registry_handle_sys(tri_actor *a, tr_msg *m)
{
    if (m->kind != TRI_MSG_NAME_TIMEOUT) return false;
    uint64_t ref;
    memcpy(&ref, m->data, sizeof ref);
    const char *name = (const char *)m->data + sizeof ref;
    tri_registry *r = a->sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    bool mine = take_waiter(r, name, tri_pid_of(a), ref);
    pthread_rwlock_unlock(&r->lock);
    if (!mine || a->state != TRI_ST_RUNNING) return true; /* the name came first */
    tr_msg *n = notice(ref, name, TR_PID_NIL, TR_ETIMEDOUT);
    if (n) tri_handle_now(a, n);
    else tri_log(TR_LOG_ERROR, "out of memory telling an actor its wait for %s timed out", name);
    return true;
}

tr_err tr_system_await_name(tr_system *sys, const char *name, int64_t timeout_ms, tr_pid *out)
{
    if (!out) return TR_EINVAL;
    *out = TR_PID_NIL;
    if (!sys) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR; /* it would block a worker */
    char local[TR_NAME_MAX + 1];
    if (local_name(sys, name, local) != TR_OK) return TR_EINVAL;
    tr_inbox *in;
    int rc = tr_inbox_new(sys, &in);
    if (rc != TR_OK) return rc;
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    uint64_t ref = ++r->next_ref;
    pthread_rwlock_unlock(&r->lock);
    waiter *w = waiter_new(local, tr_inbox_pid(in), ref, true);
    if (!w) {
        tr_inbox_destroy(&in);
        return TR_ENOMEM;
    }
    add_waiter(sys, w, out);
    if (tr_pid_is_nil(*out)) {
        const tr_msg *m;
        rc = tr_inbox_recv(in, &m, timeout_ms);
        if (rc == TR_ETIMEDOUT) {
            pthread_rwlock_wrlock(&r->lock);
            bool mine = take_waiter(r, local, tr_inbox_pid(in), ref);
            pthread_rwlock_unlock(&r->lock);
            /* else a registration took it: its notice is on its way */
            if (!mine) rc = tr_inbox_recv(in, &m, -1);
        }
        if (rc == TR_OK && tr_name_decode(m, NULL, out, NULL) != TR_OK) rc = TR_EINVAL;
    }
    tr_inbox_destroy(&in);
    return rc;
}
