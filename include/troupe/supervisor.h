/** @file
 * troupe/supervisor.h — supervisors with Erlang/OTP's semantics.
 *
 * A supervisor is an actor whose children are described by child specs.
 * It starts them one by one in spec order (each one's init has finished
 * before the next starts) and is itself "started" only when all are; a
 * child that fails to start makes it stop the ones already started, in
 * reverse order, and fail. It stops its children in reverse spec order,
 * each within its shutdown time, then by force. When a child ends it
 * applies the child's restart type and its strategy, counting restarts
 * against its intensity: more than `intensity` restarts within `period_ms`
 * and it stops all its children and ends with reason shutdown, which its
 * own parent handles by its own strategy (escalation).
 *
 * Differences from OTP, all additions: an optional restart backoff per
 * child (Akka/Proto.Actor style), times in milliseconds, and every restart,
 * escalation and intensity stop logged with the child's path and reason
 * and counted in introspection (tr_actor_info.restarts).
 *
 * Talking to a supervisor. The dynamic API (start_child, terminate_child,
 * restart_child, delete_child, which_children, count_children) is a set of
 * requests: from an actor, send them with the tr_sup_* functions, which
 * return a call reference; the answer arrives as a message carrying it
 * (decode start/terminate/restart/delete answers with tr_sup_result_decode,
 * which_children's with tr_sup_children_decode, count_children's with
 * tr_sup_counts_decode; "tr.down" if the supervisor is gone). From a
 * non-actor thread, use the *_sync forms, which wait. */
#ifndef TROUPE_SUPERVISOR_H
#define TROUPE_SUPERVISOR_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/call.h"
#include "troupe/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A child's restart type, as OTP's. */
typedef enum tr_restart {
    TR_PERMANENT = 0, /**< always restarted */
    TR_TRANSIENT = 1, /**< restarted unless it ended normal or shutdown */
    TR_TEMPORARY = 2, /**< never restarted; its spec goes when it ends */
} tr_restart;

/** What a child is: a worker (a behaviour or a process) or a supervisor. */
typedef enum tr_child_type { TR_WORKER = 0, TR_SUPERVISOR = 1 } tr_child_type;

/** A supervisor's restart strategy, as OTP's. */
typedef enum tr_strategy {
    TR_ONE_FOR_ONE = 0,  /**< restart the child that ended, alone */
    TR_ONE_FOR_ALL = 1,  /**< stop the others (reverse order), restart all */
    TR_REST_FOR_ONE = 2, /**< stop those started after it, restart them and it */
    TR_SIMPLE_ONE_FOR_ONE = 3, /**< one spec; children added at run time */
} tr_strategy;

/** Whether a supervisor shuts itself down when significant children end
 * (OTP's auto_shutdown). */
typedef enum tr_auto_shutdown {
    TR_AUTO_SHUTDOWN_NEVER = 0, /**< never (OTP's default) */
    TR_AUTO_SHUTDOWN_ANY = 1, /**< when any significant child ends by itself */
    TR_AUTO_SHUTDOWN_ALL = 2, /**< when all significant children have */
} tr_auto_shutdown;

/**@{*/
/** Printable names, as OTP spells them ("unknown" for another value):
 * tr_restart_name — "permanent", "transient", "temporary";
 * tr_child_type_name — "worker", "supervisor";
 * tr_strategy_name — "one_for_one", "one_for_all", "rest_for_one",
 *   "simple_one_for_one";
 * tr_auto_shutdown_name — "never", "any_significant", "all_significant".
 * Static strings, never NULL; any thread. */
const char *tr_restart_name(tr_restart restart);
const char *tr_child_type_name(tr_child_type type);
const char *tr_strategy_name(tr_strategy strategy);
const char *tr_auto_shutdown_name(tr_auto_shutdown auto_shutdown);
/**@}*/

/** A restart delay growing from min_ms, doubled (with up to jitter*100 %
 * random extra) at each restart up to max_ms, and back to min_ms after
 * reset_ms without a restart. min_ms == 0: restart at once (OTP). */
typedef struct tr_backoff {
    /**@{*/
    int64_t min_ms, max_ms, reset_ms; /**< see above */
    /**@}*/
    double jitter; /**< 0 .. 1 */
} tr_backoff;

struct tr_sup_spec;

/** A child of a supervisor, as OTP's child spec. */
typedef struct tr_child_spec {
    /** Unique among the supervisor's children; also the child's name in the
     * tree path. Copied. Up to 255 bytes, no '/'. */
    const char *id;
    /**@{*/
    /** A worker: its behaviour and init args (copied). */
    const tr_behaviour *behaviour;
    const void *args;
    size_t args_size;
    /**@}*/
    /** A child supervisor instead: its spec (deep-copied). */
    const struct tr_sup_spec *supervisor;
    /** Or an OS process (troupe/process.h; deep-copied): a worker whose
     * exit is its process's. Set exactly one of `behaviour`, `supervisor`
     * and `process`; the child's type follows from it. Under a
     * simple_one_for_one supervisor, start_child's args are more program
     * arguments: NUL-separated strings appended to the template's. */
    const tr_process_spec *process;
    tr_restart restart; /**< permanent, transient or temporary */
    /** TR_SHUTDOWN_DEFAULT: 5000 ms for a worker, infinity for a supervisor
     * (as OTP); TR_SHUTDOWN_BRUTAL, TR_SHUTDOWN_INFINITY or > 0 ms. */
    int64_t shutdown_ms;
    /** Its end may shut the supervisor down (auto_shutdown). Never with
     * TR_PERMANENT, and only under a supervisor whose auto_shutdown is not
     * never: as OTP, the spec check (and start_child) refuse it there. */
    bool significant;
    tr_backoff backoff; /**< a delay before each restart (min_ms 0: none) */
    /** OTP's {local, Name}: each incarnation of the child is registered
     * under this name (copied; no '@') before its init runs, and the name
     * is released with it, so a client resolving the name after a restart
     * finds the new one. NULL: none. */
    const char *register_as;
    /**@{*/
    /** The child's mailbox bound and policy (tr_spawn_opts); 0: unbounded. */
    uint32_t capacity;
    tr_full_policy on_full;
    /**@}*/
    /** The node the child runs on (tr_spawn_opts.node; copied); NULL: this
     * one. Behaviour workers only, and their behaviour must be registered by name
     * (troupe/behaviours.h): a child supervisor's spec holds behaviour
     * pointers, which mean nothing in another process. The supervisor
     * sees the child's stub: a lost connection is the child's exit with
     * TR_EXIT_NOCONNECTION, restarted as any exit is (on the same node: if
     * it is still unreachable, the restart fails and counts). */
    const char *node;
} tr_child_spec;

/** A supervisor: its strategy, its restart intensity and its children. */
typedef struct tr_sup_spec {
    tr_strategy strategy; /**< how it restarts children */
    /**@{*/
    /** More than `intensity` restarts in `period_ms` stop the supervisor.
     * period_ms == 0 gives OTP's defaults: 1 restart in 5000 ms. */
    uint32_t intensity;
    int64_t period_ms;
    /**@}*/
    tr_auto_shutdown auto_shutdown; /**< never, or on significant children's ends */
    /**@{*/
    /** Started in this order. For TR_SIMPLE_ONE_FOR_ONE: exactly one, the
     * template of every dynamic child (none is started at first). */
    const tr_child_spec *children;
    size_t nchildren;
    /**@}*/
} tr_sup_spec;

/** tr_supervisor_behaviour — the behaviour a supervisor actor runs; its
 * spawn args are built by tr_supervisor_spawn. Exposed for introspection
 * and for tr_child_spec.supervisor's implementation; do not spawn it with
 * args of your own. */
extern const tr_behaviour tr_supervisor_behaviour;

/** tr_sup_spec_check — validates a spec (and nested ones) without starting
 * anything. On error, writes a message naming the offending child into
 * why (if not NULL). Errors: TR_EINVAL. */
tr_err tr_sup_spec_check(const tr_sup_spec *spec, char *why, size_t why_size);

/** tr_supervisor_spawn — starts a supervisor as a child of the calling
 * actor (name: the tree path element). Returns at once; its start is
 * reported to opts->started_to when given (a "tr.started" message, failed
 * with the reason when a child could not start). Errors: TR_EINVAL (a bad
 * spec: see tr_sup_spec_check), as tr_spawn otherwise. Actor context. */
tr_err tr_supervisor_spawn(tr_ctx *ctx, const tr_sup_spec *spec, const tr_spawn_opts *opts,
                        tr_pid *out);

/** tr_supervisor_start — starts a supervisor under the root from a
 * non-actor thread and waits up to timeout_ms until all its children have
 * started; *out (required: TR_EINVAL when NULL, as the caller is the one
 * to stop it) gets its pid, nil on any error. On a failed start returns
 * TR_EFAILED and, if why is given,
 * writes the reason ("failed to start child <id>: <reason>"). Errors:
 * TR_EINVAL, TR_ETIMEDOUT (the supervisor is then asked to stop: nothing is
 * left running that the caller does not know of), TR_ESTOPPED, TR_ENOMEM. */
tr_err tr_supervisor_start(tr_system *sys, const tr_sup_spec *spec, const char *name,
                        int64_t timeout_ms, tr_pid *out, char *why, size_t why_size);

/** tr_supervisor_start_to — tr_supervisor_start for a program that wants
 * to react to its tree giving up without writing a trapping actor: the
 * supervisor's end, whatever its reason, arrives at `exit_to` (usually an
 * inbox's pid, troupe/inbox.h) as one "tr.exit" message — tr_exit_decode
 * gives its pid, its exit kind (TR_EXIT_SHUTDOWN with the reason's text
 * when it reached its restart intensity, as OTP) and text — and it never
 * fails the root: tr_system_run goes on (and returns TR_OK once the root
 * is empty, as usual). Exactly one "tr.exit" comes for every call that
 * spawned the supervisor: also after TR_EFAILED (its start failed) and
 * TR_ETIMEDOUT (it was asked to stop), and when the system stops. The one
 * exception: a supervisor abandoned by the root (killed while stuck in a
 * callback) is not reported. Errors: TR_EINVAL (nil exit_to, or as
 * tr_supervisor_start), as tr_supervisor_start otherwise. Any non-actor
 * thread. */
tr_err tr_supervisor_start_to(tr_system *sys, const tr_sup_spec *spec, const char *name,
                           int64_t timeout_ms, tr_pid exit_to, tr_pid *out, char *why,
                           size_t why_size);

/* ------------------------------------------------------- dynamic API */

/** A child as which_children reports it. */
typedef struct tr_child_info {
    char id[256]; /**< its spec's id */
    tr_pid pid; /**< nil: not running (stopped, ignored, waiting to restart) */
    tr_child_type type;   /**< worker or supervisor */
    tr_restart restart;   /**< its restart type */
    uint64_t restarts; /**< times this child was restarted */
} tr_child_info;

/** OTP's count_children: the child specs (1 under simple_one_for_one),
 * the children running, and the supervisors and workers among the specs. */
typedef struct tr_child_counts {
    /**@{*/
    uint32_t specs, active, supervisors, workers; /**< see above */
    /**@}*/
} tr_child_counts;

/* Error codes of the dynamic API beyond the usual ones:
 *   TR_EEXIST    start_child: a child with that id is running
 *                (OTP's already_started; *pid is set to it); start and
 *                restart_child: the child's registered name (register_as)
 *                stands for another live actor (*pid nil: nothing started);
 *   TR_EFAILED   start/restart_child: the child's init failed;
 *   TR_EPRESENT  start_child: the spec exists, not running (already_present);
 *   TR_ENOENT    no child with that id (or pid);
 *   TR_EBUSY     restart_child/delete_child: the child is running; any of
 *                them: another request about that child is still waiting
 *                (a child has room for one: ask again once it answered);
 *   TR_ESTOPPED  start/restart_child: a restart of its siblings stopped
 *                the new child before it was reported started; any of
 *                them: it was waiting for a restart under way when the
 *                supervisor was stopped. */

/** tr_sup_start_child — adds `spec` and starts it (for a simple_one_for_one
 * supervisor: starts a child of its template with `spec->args` appended to
 * the template's args; other fields of `spec` are ignored). */
tr_err tr_sup_start_child(tr_ctx *ctx, tr_pid sup, const tr_child_spec *spec, tr_ref *out);
/** tr_sup_terminate_child — stops a child; its spec stays, unless
 * temporary. As OTP: a supervisor names its children by `id` (a pid with
 * no id is TR_ENOENT and the child keeps running); a simple_one_for_one
 * supervisor by `pid` only (an id is TR_EINVAL), and a pid that has
 * already ended answers TR_OK (it is gone either way) while a live pid
 * that is not its child is TR_ENOENT. */
tr_err tr_sup_terminate_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_pid pid, tr_ref *out);
/** tr_sup_restart_child — starts again a stopped child from its spec. */
tr_err tr_sup_restart_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out);
/** tr_sup_delete_child — removes a stopped child's spec. */
tr_err tr_sup_delete_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out);

/** tr_sup_which_children — asks for the children (as tr_sup_which_children_
 * sync below); the answer is a "tr.sup.children" message carrying *out's
 * reference: decode it with tr_sup_children_decode. Errors: as tr_call.
 * Actor context only. */
tr_err tr_sup_which_children(tr_ctx *ctx, tr_pid sup, tr_ref *out);

/** tr_sup_count_children — asks for OTP's count_children; the answer is a
 * "tr.sup.counts" message: decode it with tr_sup_counts_decode. Errors: as
 * tr_call. Actor context only. */
tr_err tr_sup_count_children(tr_ctx *ctx, tr_pid sup, tr_ref *out);

/** tr_sup_get_childspec — asks for a child's spec by id (OTP's
 * get_childspec; a simple_one_for_one supervisor answers its template
 * whatever the id). The answer, a "tr.sup.childspec" message (or "tr.sup"
 * with TR_ENOENT when there is no such child), carries *out's reference:
 * decode it with tr_sup_childspec_decode. It is answered at once, even
 * while a restart is under way. Errors: as tr_call. Actor context only. */
tr_err tr_sup_get_childspec(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out);

/** tr_sup_childspec_decode — reads get_childspec's answer into *out, whose
 * strings and args point into the answer (valid while it lives), and
 * *type (may be NULL). A worker's spec comes back as it was given (the
 * default shutdown resolved: 5000 ms); a child supervisor's has a NULL
 * behaviour, no args and a NULL `supervisor` (its nested spec is not
 * returned): *type says TR_SUPERVISOR; a process child's has behaviour
 * &tr_process_behaviour, no args and a NULL `process` (its process spec
 * is not returned either). Returns TR_OK, the supervisor's
 * error (TR_ENOENT: no such child) or TR_EINVAL (not such an answer). */
tr_err tr_sup_childspec_decode(const tr_msg *answer, tr_child_spec *out, tr_child_type *type);

/** tr_sup_result_decode — decodes the "tr.sup" answer to start, terminate,
 * restart or delete_child: its result code, and the pid for
 * start/restart. Errors: TR_EINVAL (not such an answer). */
tr_err tr_sup_result_decode(const tr_msg *answer, int *rc, tr_pid *pid);

/** tr_sup_children_decode — reads which_children's answer: up to `max`
 * entries into `out` (spec order), *n set to how many children there are.
 * Errors: TR_EINVAL (not such an answer, or NULL n / out with max > 0). */
tr_err tr_sup_children_decode(const tr_msg *answer, tr_child_info *out, size_t max, size_t *n);

/** tr_sup_counts_decode — reads count_children's answer. Errors: TR_EINVAL. */
tr_err tr_sup_counts_decode(const tr_msg *answer, tr_child_counts *out);

/**@{*/
/** The types of the supervisor's answers, to tell them apart in a handler:
 * tr_sup_atom — "tr.sup" (start, terminate, restart, delete_child; an
 *   error answer to get_childspec); tr_sup_children_atom —
 *   "tr.sup.children"; tr_sup_counts_atom — "tr.sup.counts";
 *   tr_sup_childspec_atom — "tr.sup.childspec". Any thread; the atoms are
 *   interned once and never change. */
tr_atom tr_sup_atom(void);
tr_atom tr_sup_children_atom(void);
tr_atom tr_sup_counts_atom(void);
tr_atom tr_sup_childspec_atom(void);
/**@}*/

/* The same requests from a non-actor thread, waiting up to timeout_ms
 * (TR_INFINITY: forever). Each returns the supervisor's result code, or
 * TR_ETIMEDOUT, or TR_ENOENT when the supervisor is gone; TR_ENOTACTOR
 * from a worker thread. Any non-actor thread. */

/** tr_sup_start_child_sync — start_child; *pid (may be NULL) gets the new
 * child, or the running one with TR_EEXIST. */
tr_err tr_sup_start_child_sync(tr_system *sys, tr_pid sup, const tr_child_spec *spec,
                            int64_t timeout_ms, tr_pid *pid);

/** tr_sup_terminate_child_sync — terminate_child by id (or, for a
 * simple_one_for_one supervisor, by pid); returns once the child is gone. */
tr_err tr_sup_terminate_child_sync(tr_system *sys, tr_pid sup, const char *id, tr_pid pid,
                                int64_t timeout_ms);

/** tr_sup_restart_child_sync — restart_child; *pid (may be NULL) gets it. */
tr_err tr_sup_restart_child_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms,
                              tr_pid *pid);

/** tr_sup_delete_child_sync — delete_child. */
tr_err tr_sup_delete_child_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms);

/** tr_sup_which_children_sync — fills up to `max` entries of `out` in spec
 * order (dynamic children in no particular order) and sets *n to how many
 * exist. */
tr_err tr_sup_which_children_sync(tr_system *sys, tr_pid sup, tr_child_info *out, size_t max,
                               size_t *n, int64_t timeout_ms);

/** tr_sup_count_children_sync — OTP's count_children: specs (1 for a
 * simple_one_for_one supervisor), active, supervisors, workers. */
tr_err tr_sup_count_children_sync(tr_system *sys, tr_pid sup, tr_child_counts *out,
                               int64_t timeout_ms);

/** tr_sup_get_childspec_sync — get_childspec from a non-actor thread: on
 * TR_OK fills *out and *type (may be NULL) as tr_sup_childspec_decode
 * does, pointing into *answer, which the caller frees with
 * tr_msg_destroy once done with *out. On error *answer is NULL. Errors:
 * TR_EINVAL (NULL out or answer), TR_ENOENT (no such child, or no such
 * supervisor), as the other *_sync forms. */
tr_err tr_sup_get_childspec_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms,
                              tr_child_spec *out, tr_child_type *type, tr_msg **answer);

#ifdef __cplusplus
}
#endif
#endif
