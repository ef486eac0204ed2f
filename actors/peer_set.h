/* peer_set.h — the far ends of an actor's monitors and links, as a set.
 *
 * Why a hash set: an actor that monitors or links with many others (a
 * registry, a pool manager, a connection supervisor) removes one entry per
 * "tr.down", demonitor or unlink; searching a list from its head made n
 * removals cost n^2 (100k monitors: 9 s). Here add, find and remove are O(1)
 * on average: open addressing with linear probing, and backward-shift
 * deletion so that no tombstones pile up. The table grows at 3/4 full,
 * shrinks (to half full) below 1/32 and is freed when empty, so an actor
 * that has (or has had) no peers holds no memory for them.
 *
 * A set is keyed one of two ways, fixed by the caller for each set:
 *  - TRI_PEERS_BY_REF: by ref alone (the watcher's monitors: tr_demonitor
 *    and an arriving "tr.down" know only the ref, which the watcher issued
 *    and so is unique among its own);
 *  - TRI_PEERS_BY_PID_REF: by (pid, ref) (the target's watchers, whose refs
 *    come from different watchers and may collide; links, with ref 0).
 *
 * Not thread-safe: a set belongs to one actor and is only touched in its
 * turns. Entries with a nil pid cannot be stored (serial 0 marks a free
 * cell). */
#ifndef TRI_PEER_SET_H
#define TRI_PEER_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "troupe/pid.h"

typedef struct tri_peer {
    tr_pid pid;
    uint64_t ref;
} tri_peer;

typedef struct tri_peer_set {
    tri_peer *tab;     /* NULL while empty */
    uint32_t cap;      /* a power of two, or 0 */
    uint32_t used;
} tri_peer_set;

enum tri_peers_key { TRI_PEERS_BY_REF = 0, TRI_PEERS_BY_PID_REF = 1 };

/* Adds (pid, ref); does not check for a duplicate (see tri_peers_find).
 * Returns false when out of memory (the set is unchanged). */
bool tri_peers_add(tri_peer_set *s, int key, tr_pid pid, uint64_t ref);

/* The entry with that key (pid ignored when keyed by ref), or NULL. The
 * pointer is valid until the set next changes. */
tri_peer *tri_peers_find(const tri_peer_set *s, int key, tr_pid pid, uint64_t ref);

/* Removes the entry with that key; copies it to *out (may be NULL) first.
 * Returns false when there is none. */
bool tri_peers_remove(tri_peer_set *s, int key, tr_pid pid, uint64_t ref, tri_peer *out);

/* Frees the table; the set is empty afterwards. */
void tri_peers_clear(tri_peer_set *s);

static inline uint32_t tri_peers_count(const tri_peer_set *s) { return s->used; }

/* Iteration: for (uint32_t i = 0; i < s->cap; i++) if (tri_peers_live(&s->tab[i])) ...
 * The set must not change meanwhile. */
static inline bool tri_peers_live(const tri_peer *p) { return p->pid.serial != 0; }

#endif
