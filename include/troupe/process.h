/** @file
 * troupe/process.h — OS-process children: supervise a program that can
 * crash, under the same rules as an actor.
 *
 * A process child is an actor (behaviour "tr.process") that owns one OS
 * process. It is a child like any other: it has a place in its parent's
 * start order, a shutdown time, a start notice and an exit reason, so a
 * supervisor restarts it by its strategy, intensity and backoff.
 *
 *   - Start. The program is started with fork and execve from one
 *     process-wide thread (below). A plain program counts as started once
 *     execve succeeded; a troupe node (TR_PROCESS_NODE) once it has reported
 *     ready (tr_node_report_ready), within its start timeout. A program that
 *     cannot be executed is a start failure whose reason carries the errno
 *     text ("cannot execute /bin/nope: No such file or directory").
 *   - Stop. SIGTERM once; SIGKILL when the actor is killed: its shutdown
 *     time ran out (the parent's timer, or the actor's own when it stops by
 *     itself), or its shutdown is brutal. The actor ends when the process
 *     has ended (it waits, like a remote child's stub: it stands for
 *     something outside its system). When the shutdown time runs out the
 *     parent counts it killed at once (as any child) while the actor still
 *     waits for the SIGKILLed process, a few milliseconds more.
 *   - Exit reasons. A process that ends while running: status 0 is
 *     TR_EXIT_NORMAL; another status a failure "exited with status N"; a
 *     signal a failure "killed by SIGSEGV" (" (core dumped)" when it did).
 *     While stopping, the process's end takes the stop's own reason (the
 *     SIGTERM or SIGKILL we sent, or an exit it chose on SIGTERM); a crash
 *     by another signal then is logged as a warning.
 *   - Output. The program's stdout and stderr are read and logged line by
 *     line at TR_LOG_INFO as "<actor path>: <line>" (stderr lines as
 *     "<actor path> (stderr): <line>"), lines cut at 1024 bytes, a last
 *     line without a newline flushed at exit. Its stdin is /dev/null.
 *   - Lifetime across the process boundary. Every child gets
 *     PR_SET_PDEATHSIG(SIGKILL): when this whole process dies, even by
 *     kill -9, the kernel kills the children. PR_SET_PDEATHSIG fires when
 *     the THREAD that forked the child ends, not the process, which is why
 *     one long-lived thread forks every child (started on first use, ended
 *     when the last system that used it is destroyed, by which time every
 *     child has been reaped). A child whose parent already died between
 *     fork and prctl exits at once (it re-checks getppid()). Children are
 *     reaped through a pidfd (waitid P_PIDFD): no SIGCHLD handler is
 *     installed and no wait(-1) is done, so the embedding program's own
 *     children are left alone (and an embedding program that reaps with
 *     wait(-1) itself steals ours: do not). No zombie, no orphan.
 *
 * Messages sent to a process actor go nowhere (requests are dropped), but
 * for tr_process_info_sync's: reach a node child's actors by `name@node` or
 * pid instead.
 *
 * The child's environment is this process's (at the time of the start)
 * with spec->env added (a KEY=VALUE there replaces the inherited KEY). Every
 * file descriptor but 0, 1 and 2 is closed on exec in the child.
 *
 * A troupe node child (TR_PROCESS_NODE). The supervising system must be a
 * node (troupe/node.h) listening on an ipc:// or loopback tcp:// endpoint,
 * else the start fails with a reason saying so. The child gets
 *   TROUPE_PARENT_ENDPOINT  that endpoint
 *   TROUPE_PARENT_NODE      the parent node's name
 *   TROUPE_PARENT_PID       the process actor's pid (tr_pid_format)
 *   TROUPE_NODE_NAME        spec->node_name: the name its node must take
 * and, once its node is up and its tree started, calls
 * tr_node_report_ready (`troupe run` does so by itself when these are set).
 * The process actor then links itself with the child's root: the end of
 * the child's tree ends the process actor (a failure "node <name>:
 * <reason>", or the child's exit kind), which stops the process. A lost
 * connection is left to the process to explain, since a node that stops
 * closes its connections as it goes: its exit says how it ended (status 0:
 * normal); one still running a second later is sent SIGTERM, then SIGKILL
 * at the shutdown time, and the child fails "node <name>: connection
 * lost". The child's actors are reached by `name@node` or by pid like any
 * remote actor; tr_process_info tells the child's root pid. */
#ifndef TROUPE_PROCESS_H
#define TROUPE_PROCESS_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a process child runs: any program, or a troupe node. */
typedef enum tr_process_kind {
    TR_PROCESS_PLAIN = 0, /**< any program */
    TR_PROCESS_NODE = 1,  /**< a program running a troupe node that reports ready */
} tr_process_kind;

/** The default start timeout of a node child. */
#define TR_PROCESS_START_TIMEOUT_MS 10000

/**@{*/
/** The environment a node child is started with (see above). */
#define TR_ENV_PARENT_ENDPOINT "TROUPE_PARENT_ENDPOINT"
#define TR_ENV_PARENT_NODE "TROUPE_PARENT_NODE"
#define TR_ENV_PARENT_PID "TROUPE_PARENT_PID"
#define TR_ENV_NODE_NAME "TROUPE_NODE_NAME"
/**@}*/

/** What to run. Every string is copied at spawn (or into the supervisor's
 * spec), so the caller may free them once the call returns. */
typedef struct tr_process_spec {
    /** The program: a path, or a name without '/' looked up in PATH. */
    const char *program;
    /**@{*/
    /** Its arguments after argv[0] (which is `program`); may be NULL when
     * nargs is 0. */
    const char *const *args;
    size_t nargs;
    /**@}*/
    /**@{*/
    /** "KEY=VALUE" entries added to the inherited environment. */
    const char *const *env;
    size_t nenv;
    /**@}*/
    /** Its working directory; NULL: this process's. */
    const char *cwd;
    tr_process_kind kind; /**< a plain program, or a node (see above) */
    /** TR_PROCESS_NODE: the node name the child takes (1 to 255 printable
     * bytes; required). */
    const char *node_name;
    /** TR_PROCESS_NODE: how long the child has to report ready (0:
     * TR_PROCESS_START_TIMEOUT_MS); then its start fails. */
    int64_t start_timeout_ms;
} tr_process_spec;

/** tr_process_behaviour — the behaviour a process child runs; its spawn
 * args are built by tr_spawn_process (or a supervisor). Exposed for
 * introspection; do not spawn it with args of your own. */
extern const tr_behaviour tr_process_behaviour;

/** tr_process_spec_check — validates a spec without starting anything:
 * a program, arguments and env entries without NULs in the counted
 * arrays, env entries of the form KEY=VALUE, a kind, a node name for a
 * node child, a start timeout >= 0. Writes the reason into why (if not
 * NULL). Errors: TR_EINVAL. Any thread. */
tr_err tr_process_spec_check(const tr_process_spec *spec, char *why, size_t why_size);

/** tr_spawn_process — starts a process child of the calling actor: an
 * actor (its pid in *out) standing for the program's OS process. opts as
 * tr_spawn's (name, shutdown_ms, started_to, before, deadline_ms,
 * register_as; NULL: defaults), except that args and node must not be
 * set. Returns at once: the start notice ("tr.started" to
 * opts->started_to) says how the start went (see above). Errors:
 * TR_EINVAL (a bad spec, args or node set), as tr_spawn otherwise.
 * Actor context only. */
tr_err tr_spawn_process(tr_ctx *ctx, const tr_process_spec *spec, const tr_spawn_opts *opts,
                     tr_pid *out);

/** What a process actor tells about itself. */
typedef struct tr_process_info {
    int32_t os_pid;       /**< 0: not running (yet, or any more) */
    tr_process_kind kind; /**< as its spec says */
    tr_pid child_root;    /**< node children: the child's root, once ready; nil otherwise */
} tr_process_info;

/** tr_process_info_sync — asks the process actor `pid` about itself from a
 * non-actor thread, waiting up to timeout_ms. Errors: TR_ENOENT (no such
 * actor, or an actor that answered something else), TR_ETIMEDOUT (also:
 * an actor that is not a process actor and does not answer), TR_ENOTACTOR
 * (called on a worker), TR_EINVAL. */
tr_err tr_process_info_sync(tr_system *sys, tr_pid pid, tr_process_info *out, int64_t timeout_ms);

/** tr_node_report_ready — for a program started as a node child: once its
 * node is up (tr_node_start, named $TROUPE_NODE_NAME) and its tree has
 * started under `root`, connects to the parent node ($TROUPE_PARENT_
 * ENDPOINT, unless it is a peer already), waits up to timeout_ms for the
 * connection, and tells the parent's process actor ($TROUPE_PARENT_PID)
 * that the child is ready, with `root`'s pid: its start is then complete,
 * and it links itself with `root`. Errors: TR_ENOENT (the environment
 * does not name a parent: not started as a node child), TR_ESTATE (the
 * system is not a node, or its name is not $TROUPE_NODE_NAME), TR_EINVAL
 * (a malformed variable), TR_ETIMEDOUT, TR_ENOMEM. Any non-actor thread. */
tr_err tr_node_report_ready(tr_system *sys, tr_pid root, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
