/* peer_set.c — see peer_set.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "peer_set.h"

#define MIN_CAP 2u /* one entry and the free cell probing needs */

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static inline uint64_t hash_of(int key, tr_pid pid, uint64_t ref)
{
    if (key == TRI_PEERS_BY_REF) return mix(ref);
    return mix(pid.serial * 0x9e3779b97f4a7c15ull ^ ((uint64_t)pid.slot << 32 | pid.node) ^
               mix(ref));
}

static inline bool matches(int key, const tri_peer *p, tr_pid pid, uint64_t ref)
{
    if (key == TRI_PEERS_BY_REF) return p->ref == ref;
    return p->ref == ref && tr_pid_eq(p->pid, pid);
}

/* Places an entry known to be absent into a table with room. */
static void place(tri_peer *tab, uint32_t cap, int key, const tri_peer *e)
{
    uint32_t i = (uint32_t)hash_of(key, e->pid, e->ref) & (cap - 1);
    while (tri_peers_live(&tab[i])) i = (i + 1) & (cap - 1);
    tab[i] = *e;
}

/* Tables of a megabyte or more (40k peers and up) get a mapping of their
 * own in huge pages where the kernel allows: a table is rewritten whole
 * when it grows, and on this VM first-touching it in 4 KiB pages cost ten
 * times the rehash (100k monitors: 80 ms of page faults). */
#define BIG_TABLE ((size_t)1 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

static size_t tab_bytes(uint32_t cap) { return (size_t)cap * sizeof(tri_peer); }

static tri_peer *tab_alloc(uint32_t cap)
{
    size_t n = tab_bytes(cap);
    if (n < BIG_TABLE) return calloc(cap, sizeof(tri_peer));
    char *p = mmap(NULL, n + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (p + n + HUGE_PAGE > a + n) munmap(a + n, (size_t)(p + n + HUGE_PAGE - (a + n)));
    madvise(a, n, MADV_HUGEPAGE); /* a hint: without it, small pages */
    return (tri_peer *)(void *)a; /* fresh anonymous memory reads as zeros */
}

static void tab_free(tri_peer *tab, uint32_t cap)
{
    if (!tab) return;
    if (tab_bytes(cap) < BIG_TABLE) free(tab);
    else munmap(tab, tab_bytes(cap));
}

static bool resize(tri_peer_set *s, int key, uint32_t cap)
{
    tri_peer *tab = tab_alloc(cap);
    if (!tab) return false;
    for (uint32_t i = 0; i < s->cap; i++)
        if (tri_peers_live(&s->tab[i])) place(tab, cap, key, &s->tab[i]);
    tab_free(s->tab, s->cap);
    s->tab = tab;
    s->cap = cap;
    return true;
}

bool tri_peers_add(tri_peer_set *s, int key, tr_pid pid, uint64_t ref)
{
    if ((uint64_t)(s->used + 1) * 4 > (uint64_t)s->cap * 3 &&
        !resize(s, key, s->cap ? s->cap * 2 : MIN_CAP))
        return false;
    tri_peer e = {pid, ref};
    place(s->tab, s->cap, key, &e);
    s->used++;
    return true;
}

static tri_peer *find(const tri_peer_set *s, int key, tr_pid pid, uint64_t ref)
{
    if (!s->used) return NULL;
    uint32_t mask = s->cap - 1;
    for (uint32_t i = (uint32_t)hash_of(key, pid, ref) & mask;; i = (i + 1) & mask) {
        tri_peer *p = &s->tab[i];
        if (!tri_peers_live(p)) return NULL;
        if (matches(key, p, pid, ref)) return p;
    }
}

tri_peer *tri_peers_find(const tri_peer_set *s, int key, tr_pid pid, uint64_t ref)
{
    return find(s, key, pid, ref);
}

bool tri_peers_remove(tri_peer_set *s, int key, tr_pid pid, uint64_t ref, tri_peer *out)
{
    tri_peer *p = find(s, key, pid, ref);
    if (!p) return false;
    if (out) *out = *p;
    /* Backward-shift deletion: pull later entries of the same probe run
     * into the hole unless that would put one before its home cell. */
    uint32_t mask = s->cap - 1, hole = (uint32_t)(p - s->tab);
    for (uint32_t j = (hole + 1) & mask; tri_peers_live(&s->tab[j]); j = (j + 1) & mask) {
        uint32_t home = (uint32_t)hash_of(key, s->tab[j].pid, s->tab[j].ref) & mask;
        /* the entry at j may move to the hole iff home is not in (hole, j] */
        bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        s->tab[hole] = s->tab[j];
        hole = j;
    }
    s->tab[hole] = (tri_peer){0};
    if (--s->used == 0) {
        tri_peers_clear(s);
    } else if ((uint64_t)s->used * 32 < s->cap) {
        /* Shrinks rarely and far (to half full): each resize touches a
         * fresh table, and on this VM first-touching pages cost more than
         * the rehash; 100k demonitors halving the table all the way down
         * spent a third of their time in page faults. */
        uint32_t cap = MIN_CAP;
        while (cap < s->used * 2) cap *= 2;
        resize(s, key, cap); /* on failure it just stays larger */
    }
    return true;
}

void tri_peers_clear(tri_peer_set *s)
{
    tab_free(s->tab, s->cap);
    s->tab = NULL;
    s->cap = s->used = 0;
}
