/* lifecycle.h — starting, stopping, failing and ending actors. */
#ifndef TRI_LIFECYCLE_H
#define TRI_LIFECYCLE_H

#include "core.h"

/* Payload of TRI_MSG_KILL_CHILD. */
struct tri_kill_child {
    tri_actor *child;
    uint64_t serial;
};

/* Runs init for the INIT message `m` of incarnation `serial`. */
void tri_run_init(tri_actor *a, tr_msg *m, uint64_t serial);

/* Acts on what a callback asked for (tr_stop, tr_fail) or returned. `what`
 * names the callback for the failure text. */
void tri_after_callback_slow(tri_actor *a, int rc, const char *what);

/* Inline: nearly every callback returns 0 and asks for nothing. */
static inline void tri_after_callback(tri_actor *a, int rc, const char *what)
{
    if (TRI_UNLIKELY(rc < 0 || (a->flags & (TRI_F_STOP_SELF | TRI_F_FAIL_SELF))))
        tri_after_callback_slow(a, rc, what);
}

/* Enters STOPPING with `kind` (text: failure reason, copied; may be NULL),
 * or upgrades a stop in progress to a kill. */
void tri_begin_stop(tri_actor *a, tr_exit_kind kind, const char *text);

/* Handles a child's EXIT: unlinks it, decides what its end means for `a`
 * and releases its slot. */
void tri_child_exited(tri_actor *a, tri_actor *child);

/* Asks a child to stop at once, by force. */
void tri_request_kill(tri_actor *parent, tri_actor *child);

/* Stops waiting for a child whose shutdown time passed (lifecycle.c). */
void tri_abandon_child(tri_actor *parent, tri_actor *child);

/* Abandons the killed children still there when a kill's grace passed. */
void tri_kill_grace(tri_actor *parent);

/* Brackets the retirement of an actor's slot (its name freed, the slot
 * released) on a worker, so that it never overlaps sysmon's reading of a
 * path (sysmon.c, tri_running_path). */
void tri_retire_begin(tr_system *sys);
void tri_retire_end(tr_system *sys);

/* tri_running_path — the path of `a`, which worker `w` runs in its
 * callback number `cbs` (as sysmon saw it), read from another thread;
 * false, with nothing read, when `a` no longer runs that callback. */
bool tri_running_path(tri_worker *w, tri_actor *a, uint64_t serial, uint64_t cbs, char *buf,
                      size_t size);

/* Links `child` as the youngest child of `parent` (parent's turn only). */
void tri_link_child(tri_actor *parent, tri_actor *child);

/* Links `child` just before the child of `parent` named `before` (nil, or
 * not a child: as the youngest). */
void tri_link_child_before(tri_actor *parent, tri_actor *child, tr_pid before);

#endif
