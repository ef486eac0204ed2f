/* registry.c — names to pids, behind a reader-writer lock.
 *
 * Entries are not removed when their actor ends: a lookup checks that the
 * pid's slot still holds that incarnation (one atomic load), and an entry
 * found dead is simply overwritten by the next registration, or dropped
 * when the table grows. So ending an actor costs the registry nothing. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "hooks.h"
#include "transport.h"

typedef struct entry {
    struct entry *next;
    tr_pid pid;
    char name[];
} entry;

struct tri_registry {
    pthread_rwlock_t lock;
    entry **buckets;
    size_t nbuckets, n;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
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
    if (!r->buckets) {
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
    entry **b = calloc(nb, sizeof *b);
    if (!b) return; /* chains just get longer */
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
            n++;
        }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
    r->n = n;
}

int tr_register(tr_system *sys, const char *name, tr_pid pid)
{
    if (!sys || !tri_registry_valid_name(name) || tr_pid_is_nil(pid) || pid.node != sys->node)
        return TR_EINVAL;
    tri_actor *a = tri_slot_lookup(sys, pid.slot);
    if (!a || a->kind != TRI_SLOT_ACTOR || !alive(sys, pid)) return TR_ENOENT;
    tri_registry *r = sys->registry;
    pthread_rwlock_wrlock(&r->lock);
    entry **p = find(r, name);
    int rc = TR_OK;
    if (*p) {
        if (alive(sys, (*p)->pid)) rc = TR_EEXIST;
        else (*p)->pid = pid; /* its actor ended: the name is free */
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
            if (++r->n > r->nbuckets) grow(sys, r);
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int tr_unregister(tr_system *sys, const char *name)
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

int tr_whereis(tr_system *sys, const char *name, tr_pid *out)
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

int tr_send_named(tr_ctx *ctx, const char *name, tr_atom type, const void *data, size_t size)
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

int tr_system_send_named(tr_system *sys, const char *name, tr_atom type, const void *data,
                         size_t size)
{
    if (!sys || !name) return TR_EINVAL;
    return send_named(sys, TR_PID_NIL, name, type, data, size);
}
