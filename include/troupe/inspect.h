/** @file
 * troupe/inspect.h — introspection of one actor.
 *
 * Every actor answers a request of type "tr.inspect" (sent with tr_call)
 * by itself, without its handler seeing it: the answer is a "tr.info"
 * message that tr_actor_info_decode reads. Being answered in the actor's
 * own turn, the figures are exact for that moment. A bounded mailbox takes
 * the request even when full (that is when one wants to look); it waits
 * its turn behind the messages already queued. */
#ifndef TROUPE_INSPECT_H
#define TROUPE_INSPECT_H

#include "error.h"

#include <stdint.h>

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What an actor is doing, as tr_actor_info reports it. */
typedef enum tr_actor_status {
    TR_STATUS_RUNNING = 0, /**< has messages to handle */
    TR_STATUS_WAITING = 1, /**< idle: its mailbox is empty */
    TR_STATUS_STOPPING = 2, /**< stopping its children, about to end */
} tr_actor_status;

/** An actor's figures, as it reports them about itself ("tr.info"). */
typedef struct tr_actor_info {
    /**@{*/
    tr_pid pid, parent; /**< the actor and its parent */
    /**@}*/
    char path[256]; /**< truncated if longer */
    tr_actor_status status; /**< running, waiting or stopping */
    uint32_t capacity;          /**< mailbox capacity, 0: unbounded */
    uint64_t mailbox;           /**< messages queued, not counting this request */
    uint64_t messages_in;       /**< messages handled */
    uint64_t messages_out;      /**< messages sent (sends, calls, replies) */
    uint32_t children;          /**< live children */
    uint32_t links;             /**< actors it is linked with */
    uint32_t monitors;          /**< monitors it holds on others */
    uint32_t watchers;          /**< monitors others hold on it */
    uint64_t restarts;          /**< a supervisor: children it restarted */
    uint32_t requests;          /**< requests it holds unanswered (an upper
                                 * bound: expired ones go in sweeps) */
    /** For an operator (added after the fields above, which keep their
     * places): */
    char behaviour[64];         /**< its behaviour's name; "" if it has none */
    uint64_t peak_mailbox;      /**< the deepest its mailbox has been: exact
                                 * for a bounded mailbox (capacity > 0);
                                 * for an unbounded one, the deepest any
                                 * inspection or walk found (counting every
                                 * send would slow every send) */
    uint64_t child_failures;    /**< children that ended abnormally (failed,
                                 * or ended on their own with another
                                 * reason than normal), restarted or not */
    char last_failure[256];     /**< the last of them: "<path>: <kind>" and
                                 * ": <reason>" when there is one; "" if none */
    int64_t last_failure_ms;    /**< when, on the system's clock
                                 * (tr_system_now_ms); 0 if none */
} tr_actor_info;

/** tr_inspect_atom — "tr.inspect", the type of the request. */
tr_atom tr_inspect_atom(void);

/** tr_info_atom — "tr.info", the type of the answer. */
tr_atom tr_info_atom(void);

/** tr_info — fills *out about the calling actor. Actor context only.
 * Errors: TR_EINVAL (out is NULL), TR_ENOTACTOR (not the calling actor's
 * ctx in its callback; *out is zeroed). */
tr_err tr_info(tr_ctx *ctx, tr_actor_info *out);

/** tr_actor_info_decode — reads a "tr.info" answer. Errors: TR_EINVAL. */
tr_err tr_actor_info_decode(const tr_msg *answer, tr_actor_info *out);

/** tr_actor_status_name — "running", "waiting" or "stopping" ("unknown"
 * for another value). */
const char *tr_actor_status_name(tr_actor_status status);

/* ------------------------------------------------------ the whole tree */

/** One actor as tr_system_walk visits it. */
typedef struct tr_walk_entry {
    const tr_actor_info *info; /**< path, pid, parent, behaviour, status,
                                * mailbox, counters, children (its count) */
    unsigned depth;            /**< 0: the walk's top (the root for
                                * tr_system_walk); its children 1; ... */
    const tr_pid *children;    /**< its children's pids, oldest first, as
                                * it answered (the walk visits those that
                                * answered too, after this entry) */
    uint32_t nchildren;        /**< how many (info->children) */
} tr_walk_entry;

/** A visitor: returns 0 to go on, anything else to stop the walk (which
 * then returns that value). Pointers in `entry` are valid during the call
 * only. Runs on the thread that called tr_system_walk. */
typedef int (*tr_walk_fn)(void *user, const tr_walk_entry *entry);

/** tr_system_walk — visits every live actor of the tree, the root first,
 * in tree order (depth first, each actor before its children, children
 * oldest first: the order `troupe tree` prints). Each actor answers for
 * itself in its own turn, as for tr_system_inspect, and all the actors of
 * one level are asked at once, so a walk takes about one round trip per
 * level; the figures of different actors are of slightly different
 * moments. An actor that ends during the walk, or is stopping (it answers
 * nothing any more), is left out with its subtree. Waits up to timeout_ms
 * (negative: forever) in all; actors that have not answered by then are
 * left out with their subtrees, and the walk visits what it has and
 * returns TR_ETIMEDOUT. Returns TR_OK, a visitor's nonzero value, or
 * TR_EINVAL (NULL sys or visit), TR_ENOTACTOR (from a worker thread: it
 * would block one), TR_ENOMEM, TR_ESTOPPED (the tree has ended). A
 * remote child's stub (tr_spawn_opts.node) is visited as a leaf: the
 * child's own subtree is on its node (tr_system_walk_from walks it). Any
 * non-actor thread. */
tr_err tr_system_walk(tr_system *sys, tr_walk_fn visit, void *user, int64_t timeout_ms);

/** tr_system_walk_from — tr_system_walk over the subtree under `top` (an
 * actor of this system, or of another node: its node's runtime answers
 * for its actors as this one does, if it is of this version or later),
 * `top` at depth 0. Errors as tr_system_walk, with TR_ENOENT when `top`
 * does not answer (it has ended, or is stopping) instead of TR_ESTOPPED,
 * and TR_EINVAL for a nil `top`. Any non-actor thread. */
tr_err tr_system_walk_from(tr_system *sys, tr_pid top, tr_walk_fn visit, void *user,
                        int64_t timeout_ms);

/** tr_system_inspect — asks `pid` and waits up to timeout_ms for the answer.
 * Errors: TR_ENOENT (no such actor), TR_ETIMEDOUT, TR_ENOTACTOR (from a
 * worker thread). Any non-actor thread. */
tr_err tr_system_inspect(tr_system *sys, tr_pid pid, tr_actor_info *out, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
