/** @file
 * troupe/actor.h — behaviours, spawning, sending, stopping and failing.
 *
 * Threading contract. An actor runs on one worker thread at a time and its
 * callbacks are never called concurrently; between callbacks it may move to
 * another worker. The tr_ctx handed to a callback is valid only during that
 * callback and only on that thread: every tr_ctx function below may be called
 * only from inside a callback of the actor the ctx belongs to. Non-actor
 * threads use tr_system_spawn / tr_system_send (troupe/system.h) and
 * tr_inbox (troupe/inbox.h) instead.
 *
 * Structured lifetime. tr_spawn makes the new actor a child of the calling
 * actor. When an actor stops — normally, on request or by failure — it first
 * stops its children, last started first, one at a time, each within its
 * shutdown time (then by force), waits for each, and only then runs its own
 * terminate callback. No actor ever outlives its parent, with one exception
 * a C runtime cannot avoid: a callback cannot be preempted. A child still
 * stopping when its shutdown time passes (or 100 ms after a kill) is, as
 * in OTP, killed at that moment as far as its parent is concerned: the
 * parent counts it ended (reason killed) and goes on. If the child is stuck
 * in a callback, it is disposed of, with its subtree, when that callback
 * returns; nothing it does meanwhile takes effect (its sends become dead
 * letters, its spawns fail with TR_ESTOPPED), and its watchers see it end
 * killed. A callback running longer than 100 ms is logged with the actor's
 * path (tr_system_opts.long_callback_ms): code that blocks belongs in
 * tr_offload or in an OS-process child.
 *
 * Departure from OTP: terminate runs for every end, a kill's included (in C
 * it is the only place that frees what init built); OTP skips it on a
 * kill. Its reason then says killed.
 *
 * Failure. An actor fails when init or handle returns a negative value or
 * calls tr_fail. Its parent then receives the exit as a "tr.exit" message if
 * it was spawned with TR_SPAWN_TRAP_EXITS; otherwise the parent fails too,
 * with the reason "child <path> failed", and so on up to the root, whose
 * failure ends tr_system_run with a report of every failed actor. */
#ifndef TROUPE_ACTOR_H
#define TROUPE_ACTOR_H

#include "error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/atom.h"
#include "troupe/msg.h"
#include "troupe/pid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An actor's context, handed to each of its callbacks: valid only during
 * that callback, on that thread (see the threading contract above).
 * Opaque. */
typedef struct tr_ctx tr_ctx;
/** One runtime instance (troupe/system.h). Opaque. */
typedef struct tr_system tr_system;

/** Why an actor ended. */
typedef enum tr_exit_kind {
    TR_EXIT_NORMAL = 0,   /**< it stopped itself (tr_stop) or its work was done */
    TR_EXIT_SHUTDOWN = 1, /**< its parent or the system asked it to stop */
    TR_EXIT_KILLED = 2,   /**< it was stopped by force (shutdown time ran out) */
    TR_EXIT_FAILURE = 3,  /**< it failed; `text` says why */
    TR_EXIT_TIMEOUT = 4,  /**< its deadline passed (tr_spawn_opts.deadline_ms) */
    TR_EXIT_NOPROC = 5,   /**< (in "tr.down" only) there was no such actor */
    TR_EXIT_NOCONNECTION = 6, /**< the connection to the actor's node was lost
                               * (a remote monitor, link, call or child) */
} tr_exit_kind;

/** An exit reason: its kind and, for most kinds, a text. */
typedef struct tr_exit {
    tr_exit_kind kind; /**< what kind of end */
    const char *text; /**< the failure reason, or NULL; see each use for lifetime */
} tr_exit;

/** tr_exit_kind_name — "normal", "shutdown", "killed", "failure", "timeout",
 * "noproc" or "noconnection". */
const char *tr_exit_kind_name(tr_exit_kind kind);

/** An init callback may return this to say "do not run": the actor ends at
 * once with reason normal and no terminate call (a supervisor keeps the
 * child's spec, as with OTP's `ignore`). */
#define TR_INIT_IGNORE 1

/** A behaviour: the callbacks of one kind of actor, like a gen_server.
 * The table must outlive every actor spawned from it (a static const table
 * is the usual form). Callbacks never block: blocking work belongs on the
 * blocking pool (tr_offload, troupe/offload.h) or in an OS-process child. */
typedef struct tr_behaviour {
    /** Used in default actor names ("<name>-<n>") and in logs; may be NULL. */
    const char *name;
    /** Bytes of per-actor state the runtime allocates, zeroed, and hands to
     * every callback as `state` (NULL when 0). Freed after terminate. */
    size_t state_size;
    /** Optional. Runs first, in the actor's first turn, with a copy of the
     * spawn args (valid during the call). Returns 0 to run, TR_INIT_IGNORE,
     * or a negative error (or tr_fail's result) to fail the actor. As in
     * OTP, terminate is not called after a failed or ignoring init: init
     * frees what it built before it returns. */
    int (*init)(tr_ctx *ctx, void *state, const void *args, size_t args_size);
    /** Required. Handles one message; `msg` is valid during the call only.
     * Returns 0 to go on, or a negative error (or tr_fail's result) to fail
     * the actor. */
    int (*handle)(tr_ctx *ctx, void *state, const tr_msg *msg);
    /** Optional. Called exactly once when an actor whose init succeeded
     * ends (after all its children have ended), with the reason, kills
     * included; `reason->text` is valid during the call. Frees what init
     * built; must not send to the actor's children (they are gone). May
     * send to others (unless its parent has stopped waiting for it: see
     * above). */
    void (*terminate)(tr_ctx *ctx, void *state, const tr_exit *reason);
} tr_behaviour;

/** tr_spawn_opts.flags */
enum {
    /** Children's exits reach this actor as "tr.exit" messages (read them
     * with tr_exit_decode) instead of failing it. Like trap_exit in OTP. */
    TR_SPAWN_TRAP_EXITS = 1u << 0,
};

/** What a bounded mailbox does with a message when it is full. */
typedef enum tr_full_policy {
    TR_FULL_FAIL = 0,    /**< the send fails with TR_EFULL */
    TR_FULL_DROP_NEWEST, /**< the new message is dropped (a dead letter) */
    TR_FULL_DROP_OLDEST, /**< the oldest queued message is dropped instead */
    TR_FULL_BLOCK,       /**< a non-actor sender waits for room (an actor
                          * sender gets TR_EFULL: actors never block) */
} tr_full_policy;

/** tr_full_policy_name — "fail", "drop newest", "drop oldest" or "block"
 * ("unknown" for another value). */
const char *tr_full_policy_name(tr_full_policy policy);

/** Special tr_spawn_opts.shutdown_ms values. */
#define TR_SHUTDOWN_DEFAULT 0   /**< 5000 ms */
#define TR_SHUTDOWN_BRUTAL (-1) /**< stopped by force at once */
#define TR_SHUTDOWN_INFINITY (-2) /**< waited for, however long it takes */

/** Options for tr_spawn and tr_system_spawn; a zeroed struct (or NULL) gives
 * the defaults. */
typedef struct tr_spawn_opts {
    /** The actor's name in its tree path ("/root/<parent>/<name>"); copied.
     * NULL: "<behaviour name>-<n>". Must not contain '/'. */
    const char *name;
    /**@{*/
    /** Bytes handed to init; copied at spawn, so pointers inside stay the
     * caller's responsibility. */
    const void *args;
    size_t args_size;
    /**@}*/
    unsigned flags;      /**< TR_SPAWN_* */
    /** Time allowed to stop when asked (its subtree's stops and its own
     * terminate), then killed: see "Structured lifetime" above. */
    int64_t shutdown_ms;
    /** A deadline for the whole subtree, in ms from spawn (0: none): when it
     * passes, the actor is stopped, children first, with reason
     * TR_EXIT_TIMEOUT (a failure for its parent unless trapped), as Trio's
     * fail_after. */
    int64_t deadline_ms;
    /** If not nil, the runtime tells this actor (or inbox) how the new
     * actor's start went, in one "tr.started" message (tr_started_decode):
     * after init returned 0 (or, if init called tr_defer_started, when the
     * actor calls tr_notify_started), after init ignored, or, if it ends
     * before either, with its exit reason. Exactly one per spawn. */
    tr_pid started_to;
    /** Actor spawns only: place the new child just before this sibling (a
     * live child of the caller) in the caller's start order, which is the
     * reverse of its stop order. Nil: the youngest, as usual. */
    tr_pid before;
    /**@{*/
    /** Mailbox capacity in user messages (0: unbounded) and what happens
     * when it is full. Drops are counted (tr_system_stats.dropped) and
     * become dead letters. */
    uint32_t capacity;
    tr_full_policy on_full;
    /**@}*/
    /** If not NULL, the new actor is registered under this name (copied;
     * troupe/registry.h) before its init runs, so that whoever resolves the
     * name finds it from its first message on; the name is released with
     * the actor (OTP's {local, Name}). tr_spawn fails with TR_EEXIST when a
     * live actor has it. */
    const char *register_as;
    /** If not NULL and not this node's name: the actor runs on that node
     * (troupe/node.h), still a child of the caller. The behaviour must be
     * registered by name (troupe/behaviours.h) in both processes; args
     * travel as bytes. Here a stub takes the child's place in the
     * caller's tree: the returned pid is the stub's; what is sent to it
     * (messages, calls) is forwarded to the child in order, and it ends
     * when the child ends, with the child's reason (a failure's text says
     * on which node). The child's start notice ("tr.started") comes when
     * the child's init has returned there. Stopping the stub stops the
     * child there (its shutdown_ms there; the parent waits up to
     * shutdown_ms plus one second for its end to come back, and a killed
     * remote child up to the kill grace). When the connection to that
     * node is lost, the stub ends with TR_EXIT_NOCONNECTION and the
     * child's node kills the child: nothing outlives its parent. A node
     * not connected at spawn: the stub ends at once, TR_EXIT_NOCONNECTION.
     * register_as, capacity and on_full apply to the child there. Departs
     * from Erlang's spawn on a node, which returns the remote pid: a pid is
     * allocated where the actor lives, and tr_spawn returns before the
     * other node has answered. */
    const char *node;
} tr_spawn_opts;

/** tr_spawn — starts a new actor as a child of the calling actor.
 * Returns at once with its pid in *out; init runs later, in the new actor's
 * first turn, before any message sent to it. Messages sent to the pid
 * meanwhile wait in its mailbox. Errors: TR_EINVAL (no handle callback,
 * bad name), TR_EEXIST (register_as is taken), TR_ENOMEM, TR_ESTOPPED (the
 * caller is stopping). */
tr_err tr_spawn(tr_ctx *ctx, const tr_behaviour *behaviour,
             const tr_spawn_opts *opts, tr_pid *out);

/** tr_send — sends `size` bytes of `data` (copied) as a message of `type`.
 * Messages from one sender to one receiver arrive in send order. Sending to
 * an actor that has ended is not an error: the message is counted as a dead
 * letter. Errors: TR_EINVAL (nil pid, type {0}), TR_ETOOBIG, TR_ENOMEM,
 * TR_ENOROUTE (a pid of another node, with no transport). */
tr_err tr_send(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data,
            size_t size);

/** tr_send_msg — sends a message built with tr_msg_new, without copying.
 * Always takes ownership: *msg is set to NULL, also on error (the message
 * is then freed). Errors as tr_send. */
tr_err tr_send_msg(tr_ctx *ctx, tr_pid to, tr_msg **msg);

/** tr_self — the calling actor's pid. */
tr_pid tr_self(const tr_ctx *ctx);

/** tr_parent — the parent's pid (the root's for top-level actors). */
tr_pid tr_parent(const tr_ctx *ctx);

/** tr_ctx_system — the system the actor runs in. */
tr_system *tr_ctx_system(const tr_ctx *ctx);

/** tr_stop — the actor stops normally once the current callback returns
 * (after its children). Later messages become dead letters. */
void tr_stop(tr_ctx *ctx);

/** tr_stop_reason — as tr_stop, with a reason of `kind` (normal, shutdown,
 * failure, timeout) and a text (copied; may be NULL) that travels with the
 * exit for every kind but normal: to the parent's "tr.exit", watchers'
 * "tr.down", terminate and the failure report. A supervisor that gives up
 * ends with TR_EXIT_SHUTDOWN this way, as in OTP, its text saying why. */
void tr_stop_reason(tr_ctx *ctx, tr_exit_kind kind, const char *text);

/** tr_stop_children_together — when this actor stops, ask all its children
 * to stop at once (each within its shutdown time) instead of one by one,
 * youngest first. For pools of like children. */
void tr_stop_children_together(tr_ctx *ctx, bool on);

/** The outcome in a "tr.started" message. */
typedef enum tr_start_status {
    TR_START_OK = 0,      /**< init finished: the actor runs */
    TR_START_IGNORED = 1, /**< init returned TR_INIT_IGNORE */
    TR_START_FAILED = 2,  /**< it ended before it had started; see reason */
} tr_start_status;

/** tr_started_decode — decodes a "tr.started" message: which actor, how its
 * start went and, when it failed, why (text points into the message).
 * Errors: TR_EINVAL. */
tr_err tr_started_decode(const tr_msg *msg, tr_pid *who, tr_start_status *status, tr_exit *reason);

/** tr_started_atom — "tr.started". */
tr_atom tr_started_atom(void);

/** tr_start_status_name — "ok", "ignored" or "failed" ("unknown" for
 * another value). */
const char *tr_start_status_name(tr_start_status status);

/** tr_defer_started — called in init: the actor is not "started" when init
 * returns but when it calls tr_notify_started (a supervisor: once all its
 * own children have started). */
void tr_defer_started(tr_ctx *ctx);

/** tr_notify_started — sends the deferred "tr.started" (once; later calls
 * and calls without tr_defer_started do nothing). */
void tr_notify_started(tr_ctx *ctx);

/** tr_fail — fails the actor with a printf-style reason once the current
 * callback returns, whatever it returns. Returns TR_EFAILED so that
 * `return tr_fail(ctx, "bad key %s", k);` reads naturally. The first call
 * in a callback wins; in terminate it does nothing (the actor is already
 * ending, with the reason terminate was given). */
tr_err tr_fail(tr_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** tr_stop_child — asks a child of the calling actor to shut down: the child
 * stops its own subtree, runs terminate with reason shutdown, and is killed
 * if that takes longer than its shutdown time. Its exit arrives like any
 * child exit, but never fails the caller. Errors: TR_ENOENT (not a live
 * child of the caller). */
tr_err tr_stop_child(tr_ctx *ctx, tr_pid child);

/** tr_exit_decode — decodes a "tr.exit" message (a child's exit, delivered
 * to actors spawned with TR_SPAWN_TRAP_EXITS) or a "tr.down" message (see
 * troupe/call.h). Sets *who and *reason; reason->text points into the
 * message. Errors: TR_EINVAL (not such a message). */
tr_err tr_exit_decode(const tr_msg *msg, tr_pid *who, tr_exit *reason);

/** tr_exit_atom — the type of child-exit messages ("tr.exit"). */
tr_atom tr_exit_atom(void);

/** tr_path — writes the actor's path in the tree ("/root/workers/w3") into
 * buf (truncated, always NUL-terminated when size > 0). Returns the length
 * the full path needs, excluding the NUL, like snprintf. A path more than
 * 32 levels deep is cut and the cut marked: "/root/.../<the last 24
 * levels>". With a ctx that is not the caller's in its callback, writes ""
 * and returns 0. */
size_t tr_path(const tr_ctx *ctx, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
