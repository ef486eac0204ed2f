/** @file
 * troupe/link.h — monitors, links and exit signals, as in Erlang/OTP.
 *
 * A monitor is one-way: when the target ends, the watcher receives a
 * "tr.down" message carrying the monitor's reference (tr_msg_ref) and the
 * target's exit (tr_exit_decode); at once, with kind TR_EXIT_NOPROC, if the
 * target had already ended. A link is two-way: when either actor ends with
 * a reason other than normal, the other receives an exit signal. An actor
 * that traps exits (TR_SPAWN_TRAP_EXITS or tr_trap_exits) gets the signal
 * as a "tr.exit" message; otherwise it ends too, with the same kind of
 * reason (noproc becomes failure) and a text saying where the signal came
 * from ("linked actor <pid> <kind>: <text>", or "exit signal from <pid>
 * ..." for tr_send_exit's). The parent/child relation needs none of this:
 * it is built in.
 * Monitors and links are between actors (not inboxes). */
#ifndef TROUPE_LINK_H
#define TROUPE_LINK_H

#include "error.h"

#include <stdbool.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** tr_monitor — watches `target`; *out (may be NULL) gets the reference its
 * "tr.down" will carry. Monitoring twice gives two monitors. Errors:
 * TR_EINVAL (nil pid), TR_ENOROUTE, TR_ENOMEM. Actor context only. */
tr_err tr_monitor(tr_ctx *ctx, tr_pid target, tr_ref *out);

/** tr_demonitor — removes a monitor; after this returns no "tr.down" for it
 * reaches the handler, even one already on its way. Errors: TR_ENOENT (not
 * a live monitor of the caller). Actor context only. */
tr_err tr_demonitor(tr_ctx *ctx, tr_ref ref);

/** tr_link — links the caller and `other` (idempotent). If `other` has
 * already ended, the caller gets an exit signal of kind TR_EXIT_NOPROC.
 * Errors: TR_EINVAL (nil pid or self), TR_ENOROUTE, TR_ENOMEM. */
tr_err tr_link(tr_ctx *ctx, tr_pid other);

/** tr_unlink — removes a link; no exit signal over it reaches the caller
 * after this returns. Unlinking what is not linked is not an error. */
tr_err tr_unlink(tr_ctx *ctx, tr_pid other);

/** tr_trap_exits — turns trapping of exit signals (and of children's exits)
 * on or off for the calling actor. */
void tr_trap_exits(tr_ctx *ctx, bool on);

/** tr_send_exit — sends an exit signal to `target` as if the caller had ended
 * with (kind, text): a trapping target gets a "tr.exit" message; otherwise
 * the target ends with that reason, unless it is TR_EXIT_NORMAL (ignored).
 * TR_EXIT_KILLED cannot be trapped: the target is killed. `text` is copied.
 * Errors: TR_EINVAL, TR_ENOROUTE, TR_ENOMEM. Actor context only. */
tr_err tr_send_exit(tr_ctx *ctx, tr_pid target, tr_exit_kind kind, const char *text);

#ifdef __cplusplus
}
#endif
#endif
