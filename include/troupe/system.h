/** @file
 * troupe/system.h — one runtime instance (one node).
 *
 * A system owns worker threads that run actors M:N with work stealing, a
 * timer thread and the root actor ("/root"), parent of every actor spawned
 * from outside an actor. Several systems may live in one process.
 *
 * Calls from non-actor threads. tr_system_spawn and tr_system_send work from
 * any thread, including the main thread and threads troupe did not create;
 * to receive messages on such a thread use a tr_inbox (troupe/inbox.h). */
#ifndef TROUPE_SYSTEM_H
#define TROUPE_SYSTEM_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options for tr_system_new; a zeroed struct (or NULL) gives the defaults. */
typedef struct tr_system_opts {
    /** Worker threads; 0: one per online CPU. At most 256. */
    unsigned workers;
    /** Messages an actor may handle in one turn before the worker moves on
     * to other actors; 0: 64. */
    unsigned batch;
    /** The system's time source; NULL: the real monotonic clock. A manual
     * clock (troupe/timer.h) must outlive the system. */
    struct tr_clock *clock;
    /** Threads for blocking work (troupe/offload.h), started on demand;
     * 0: 4. At most 1024. */
    unsigned blocking_threads;
    /** The scheduler's time slice in microseconds (0: 1000): a turn that
     * has lasted this long ends at its next message when other work waits.
     * 100 .. 1000000. */
    uint32_t time_slice_us;
    /** A callback running longer than this is logged (warn), once, with the
     * actor's path, while it runs. 0: 100 ms; negative: never. */
    int64_t long_callback_ms;
} tr_system_opts;

/** Counters of a system; see tr_system_get_stats. */
typedef struct tr_system_stats {
    uint64_t actors_live;    /**< spawned and not yet ended (the root excluded) */
    uint64_t actors_spawned; /**< ever spawned (the root excluded) */
    uint64_t dead_letters;   /**< messages that reached no live actor */
    uint64_t messages_sent;  /**< messages accepted by tr_send & co (refused
                              * sends, e.g. TR_EFULL, are not counted) */
    uint64_t messages_handled; /**< messages delivered to a live actor's
                              * turn or taken out of an inbox */
    uint64_t dropped;        /**< dropped by full bounded mailboxes */
    unsigned workers;        /**< worker threads */
} tr_system_stats;

/** tr_system_new — creates a system and starts its threads; actors can be
 * spawned at once. Errors: TR_EINVAL (workers > 256), TR_ENOMEM, or
 * TR_EAGAIN when a thread cannot be created. Thread-safe. */
tr_err tr_system_new(const tr_system_opts *opts, tr_system **out);

/** tr_system_spawn — tr_spawn from outside any actor: the new actor is a
 * child of the root. Any thread. Errors as tr_spawn, and TR_ESTOPPED once
 * the root is stopping. */
tr_err tr_system_spawn(tr_system *sys, const tr_behaviour *behaviour,
                    const tr_spawn_opts *opts, tr_pid *out);

/** tr_system_send — tr_send from outside any actor; the message's sender is
 * TR_PID_NIL. Any thread. Errors as tr_send. */
tr_err tr_system_send(tr_system *sys, tr_pid to, tr_atom type, const void *data,
                   size_t size);

/** tr_system_send_timed — tr_system_send that, to a full mailbox with the
 * TR_FULL_BLOCK policy, waits up to timeout_ms (negative: forever) for
 * room. Errors: TR_ETIMEDOUT, TR_ENOTACTOR from a worker thread, as
 * tr_send otherwise. (tr_system_send waits forever in that case.) */
tr_err tr_system_send_timed(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size,
                         int64_t timeout_ms);

/** tr_system_dead_letters_to — forwards a copy of every dead letter of
 * `sys` to `subscriber` (TR_PID_NIL: stop) as a "tr.dead_letter" message;
 * decode it with tr_dead_letter_decode. Dead letters are counted whether or
 * not anyone subscribes. Any thread. Errors: TR_EINVAL (NULL system). */
tr_err tr_system_dead_letters_to(tr_system *sys, tr_pid subscriber);

/** Why a message became a dead letter. */
typedef enum tr_dead_reason {
    TR_DEAD_NO_ACTOR = 0,  /**< no live actor had that pid (it ended, or never was) */
    TR_DEAD_STOPPING = 1,  /**< the actor was stopping: it takes no more messages */
    TR_DEAD_MAILBOX_FULL = 2, /**< a full bounded mailbox dropped it */
    TR_DEAD_NODE_DOWN = 3, /**< the receiver's node was not connected */
    TR_DEAD_NO_ROUTE = 4,  /**< no node with that id or name is known */
    TR_DEAD_TOO_BIG = 5,   /**< larger than the receiving node accepts */
    TR_DEAD_PEER_FULL = 6, /**< the queue to the receiver's node was full */
    TR_DEAD_ABANDONED = 7, /**< sent by an actor its parent had stopped waiting for */
} tr_dead_reason;

/** tr_dead_reason_name — "no actor", "stopping", "mailbox full", "node
 * down", "no route", "too big", "peer queue full" or "abandoned". */
const char *tr_dead_reason_name(tr_dead_reason reason);

/** tr_dead_letter_atom — "tr.dead_letter", the type of the copies
 * tr_system_dead_letters_to forwards. */
tr_atom tr_dead_letter_atom(void);

/** What tr_dead_letter_decode reads out of a "tr.dead_letter" message. */
typedef struct tr_dead_letter {
    tr_pid to;      /**< whom it was for */
    tr_pid from;    /**< its sender */
    tr_atom type;   /**< its type */
    const void *data; /**< its payload, inside the "tr.dead_letter" message */
    size_t size;      /**< its payload's size */
    tr_dead_reason reason; /**< why it reached nobody */
} tr_dead_letter;

/** tr_dead_letter_decode — decodes a "tr.dead_letter" message. Errors:
 * TR_EINVAL when `msg` is not one. */
tr_err tr_dead_letter_decode(const tr_msg *msg, tr_dead_letter *out);

/** tr_system_send_msg — tr_send_msg from outside any actor. Always takes
 * ownership of *msg and sets it to NULL. Any thread. */
tr_err tr_system_send_msg(tr_system *sys, tr_pid to, tr_msg **msg);

/** tr_system_stop_child — asks a top-level actor (a child of the root) to
 * shut down, as tr_stop_child does for a parent. Returns at once; the exit
 * follows asynchronously. Any thread. Errors: TR_EINVAL (nil pid),
 * TR_ESTOPPED. A pid that is not a live child of the root is ignored. */
tr_err tr_system_stop_child(tr_system *sys, tr_pid child);

/** tr_system_run — blocks until the root ends, and says how:
 *   TR_OK       tr_system_stop was called and the whole tree shut down in
 *               order, or the root's last child ended normally (once
 *               tr_system_run has been entered, an empty root ends, as a
 *               nursery closes when its body and its children are done);
 *   TR_EFAILED  a failure climbed to the root; tr_system_report says which
 *               actors failed and why;
 *   TR_ESTATE   tr_system_run was already called.
 * Call it from one non-actor thread. */
tr_err tr_system_run(tr_system *sys);

/** tr_system_stop — asks the root to shut the whole tree down, in reverse
 * start order. Returns at once. Any thread, and async-signal-safe: it may be
 * called from a SIGINT/SIGTERM handler. Calling it again has no effect.
 * Errors: TR_EINVAL (NULL). */
tr_err tr_system_stop(tr_system *sys);

/** tr_system_wait — waits up to timeout_ms (negative: forever) for the root to
 * end, without running anything. Returns TR_OK or TR_EFAILED as
 * tr_system_run would, or TR_ETIMEDOUT. Any non-actor thread. */
tr_err tr_system_wait(tr_system *sys, int64_t timeout_ms);

/** tr_system_report — when the root failed, one line per failed actor,
 * deepest first: "<path>: <reason>\n"; "" otherwise. The string belongs to
 * the system and stays valid until tr_system_destroy. Any thread once
 * tr_system_run or tr_system_wait has returned. */
const char *tr_system_report(tr_system *sys);

/** tr_system_get_stats — fills *out with the system's counters: a recent
 * snapshot while actors run. Once tr_system_run or tr_system_wait has
 * returned the end of the tree, the books balance exactly:
 *   messages_sent == messages_handled + dead_letters + (messages still
 *   waiting in open inboxes)
 * (provided no other thread sends meanwhile). Any thread. Errors: TR_EINVAL
 * (a NULL argument). */
tr_err tr_system_get_stats(tr_system *sys, tr_system_stats *out);

/** tr_system_node — the node number this system stamps on its pids. */
uint32_t tr_system_node(const tr_system *sys);

/** tr_system_destroy — stops the tree if it still runs (as tr_system_stop,
 * waiting for the whole tree to end), joins every thread, frees the system
 * and sets *sys to NULL. Accepts NULL and a pointer to NULL. All inboxes of
 * the system must have been destroyed first. Call it from a non-actor
 * thread, once, with no other call on the system in progress. */
void tr_system_destroy(tr_system **sys);

/** tr_pool_outstanding — blocks (messages, actor state) that troupe took
 * from its pools and has not given back, over the whole process. Zero once
 * every system is destroyed and no unsent tr_msg is held: tests use it to
 * prove that nothing leaked. Exact only while no thread sends. */
int64_t tr_pool_outstanding(void);

#ifdef __cplusplus
}
#endif
#endif
