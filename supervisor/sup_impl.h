/* sup_impl.h — what the supervisor actor (supervisor.c) and the request
 * functions (api.c) share: the request types and answer layouts. */
#ifndef TRI_SUP_IMPL_H
#define TRI_SUP_IMPL_H

#include "spec.h"

/* Request types (atoms), each a tr_call to the supervisor:
 *   "tr.sup.start"      payload: an encoded child spec
 *   "tr.sup.start_dyn"  payload: extra args for a simple_one_for_one child
 *   "tr.sup.terminate"  payload: struct tri_sup_target + id bytes
 *   "tr.sup.restart"    payload: id bytes
 *   "tr.sup.delete"     payload: id bytes
 *   "tr.sup.which"      answered with "tr.sup.children": tr_child_info[]
 *   "tr.sup.count"      answered with "tr.sup.counts": tr_child_counts
 *   "tr.sup.getspec"    payload: id bytes; answered with "tr.sup.childspec":
 *                       struct tri_sup_childspec, then id, args,
 *                       register_as and node, each with a NUL after it
 *                       (or "tr.sup" with an error code)
 * The others are answered with "tr.sup": struct tri_sup_answer. */
struct tri_sup_childspec {
    const tr_behaviour *beh; /* NULL for a child supervisor */
    int64_t shutdown_ms;
    tr_backoff backoff;
    uint32_t capacity;
    uint32_t id_len, args_len, reg_len, node_len; /* reg_len, node_len 0: none */
    uint8_t type, restart, significant, on_full;
};
struct tri_sup_target {
    tr_pid pid;
};

struct tri_sup_answer {
    int32_t rc;
    uint32_t pad;
    tr_pid pid;
};

/* The supervisor's message types, interned once. */
typedef struct tri_sup_atoms {
    tr_atom start, start_dyn, terminate, restart, del, which, count, getspec; /* requests */
    tr_atom answer, children, counts, childspec;                               /* answers */
    tr_atom backoff, plan, ended;                                     /* to itself */
} tri_sup_atoms;

const tri_sup_atoms *tri_sup_atoms_get(void);

#endif
