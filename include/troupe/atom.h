/** @file
 * troupe/atom.h — interned message types.
 *
 * An atom is a small integer standing for a short string such as "kv.put".
 * The same string always gives the same atom within a process, so message
 * types compare as integers. Atoms are never freed. */
#ifndef TROUPE_ATOM_H
#define TROUPE_ATOM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An interned message type (see above). */
typedef struct tr_atom {
    uint32_t id; /**< 0 is "no atom" */
} tr_atom;

/** The longest atom name, in bytes, without the terminating NUL. */
#define TR_ATOM_MAX_LEN 255

/** tr_atom_from — the atom for `name` (interned on first use).
 * Returns {0} when `name` is NULL, empty, longer than TR_ATOM_MAX_LEN or
 * memory runs out. Thread-safe; the first call for a name takes a lock,
 * so intern the atoms a hot path needs once, ahead of time. */
tr_atom tr_atom_from(const char *name);

/** tr_atom_name — the string of an atom, valid for the life of the process;
 * "" for {0} and for ids never handed out. Thread-safe, lock-free. */
const char *tr_atom_name(tr_atom atom);

/** tr_atom_eq — whether two atoms are the same. */
static inline bool tr_atom_eq(tr_atom a, tr_atom b) { return a.id == b.id; }

#ifdef __cplusplus
}
#endif
#endif
