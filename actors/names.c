/* names.c — printable names of the core's enums, the atom getters whose
 * types the core does not otherwise intern, and the library's version.
 * Every getter returns the atom of its type string ("tr.dead_letter" ->
 * tr_dead_letter_atom): interned once, then read without a lock. */
#include "core.h"

const char *tr_full_policy_name(tr_full_policy p)
{
    switch (p) {
    case TR_FULL_FAIL: return "fail";
    case TR_FULL_DROP_NEWEST: return "drop newest";
    case TR_FULL_DROP_OLDEST: return "drop oldest";
    case TR_FULL_BLOCK: return "block";
    }
    return "unknown";
}

const char *tr_start_status_name(tr_start_status s)
{
    switch (s) {
    case TR_START_OK: return "ok";
    case TR_START_IGNORED: return "ignored";
    case TR_START_FAILED: return "failed";
    }
    return "unknown";
}

tr_atom tr_dead_letter_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.dead_letter");
}

tr_atom tr_nodeup_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.nodeup");
}

tr_atom tr_nodedown_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.nodedown");
}

const char *tr_version(void) { return TR_VERSION_STRING; }

int tr_version_number(void) { return TR_VERSION_NUMBER; }
