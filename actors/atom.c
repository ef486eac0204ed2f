/* atom.c — the process-wide atom table.
 *
 * Names live in a two-level array indexed by id, published with release
 * stores, so tr_atom_name never locks. Interning takes a mutex and looks
 * the name up in an open-addressing hash of ids. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/atom.h"
#include "troupe/actor.h"
#include "troupe/call.h"
#include "hooks.h"

#define PAGE_BITS 10
#define PAGE (1u << PAGE_BITS)
#define MAX_PAGES 4096 /* 4M atoms */

static _Atomic(const char **) pages[MAX_PAGES];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t count; /* ids 1..count are taken */
static uint32_t *hash; /* 0: empty, else id */
static size_t hash_cap;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static const char *name_of(uint32_t id)
{
    const char **page = atomic_load_explicit(&pages[id >> PAGE_BITS], memory_order_acquire);
    return page ? page[id & (PAGE - 1)] : NULL;
}

static bool rehash(size_t cap)
{
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) return false;
    for (uint32_t id = 1; id <= count; id++) {
        size_t i = fnv(name_of(id)) & (cap - 1);
        while (h[i]) i = (i + 1) & (cap - 1);
        h[i] = id;
    }
    free(hash);
    hash = h;
    hash_cap = cap;
    return true;
}

tr_atom tr_atom_from(const char *name)
{
    tr_atom none = {0};
    if (!name || !*name) return none;
    size_t len = strnlen(name, TR_ATOM_MAX_LEN + 1);
    if (len > TR_ATOM_MAX_LEN) return none;
    uint64_t h = fnv(name);
    pthread_mutex_lock(&mu);
    if ((count + 1) * 2 > hash_cap && !rehash(hash_cap ? hash_cap * 2 : 256)) goto out;
    size_t i = h & (hash_cap - 1);
    for (; hash[i]; i = (i + 1) & (hash_cap - 1)) {
        if (strcmp(name_of(hash[i]), name) == 0) {
            none.id = hash[i];
            goto out;
        }
    }
    uint32_t id = count + 1;
    if ((id >> PAGE_BITS) >= MAX_PAGES) goto out;
    const char **page = atomic_load_explicit(&pages[id >> PAGE_BITS], memory_order_relaxed);
    if (!page) {
        page = calloc(PAGE, sizeof *page);
        if (!page) goto out;
        atomic_store_explicit(&pages[id >> PAGE_BITS], page, memory_order_release);
    }
    char *copy = strdup(name);
    if (!copy) goto out;
    /* The release store of the entry publishes the copied bytes. */
    __atomic_store_n(&page[id & (PAGE - 1)], copy, __ATOMIC_RELEASE);
    hash[i] = id;
    count = id;
    none.id = id;
out:
    pthread_mutex_unlock(&mu);
    return none;
}

const char *tr_atom_name(tr_atom atom)
{
    if (atom.id == 0 || (atom.id >> PAGE_BITS) >= MAX_PAGES) return "";
    const char **page = atomic_load_explicit(&pages[atom.id >> PAGE_BITS], memory_order_acquire);
    if (!page) return "";
    const char *s = __atomic_load_n(&page[atom.id & (PAGE - 1)], __ATOMIC_ACQUIRE);
    return s ? s : "";
}

/* The runtime's own atoms, interned on first use and then read lock-free. */
tr_atom tri_atom_cached(_Atomic uint32_t *slot, const char *name)
{
    uint32_t id = atomic_load_explicit(slot, memory_order_relaxed);
    if (!id) {
        id = tr_atom_from(name).id;
        atomic_store_explicit(slot, id, memory_order_relaxed);
    }
    return (tr_atom){id};
}

tr_atom tr_exit_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.exit");
}

tr_atom tr_down_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.down");
}

tr_atom tr_started_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.started");
}

tr_atom tr_timeout_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.timeout");
}
