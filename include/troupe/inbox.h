/** @file
 * troupe/inbox.h — receiving messages on non-actor threads.
 *
 * An inbox has a pid like an actor, so actors can send (and reply) to it,
 * but it is not part of the actor tree: a thread that owns it takes messages
 * out with tr_inbox_recv, blocking with a deadline. This is how the main
 * thread of a program, a test or a benchmark driver talks to actors. */
#ifndef TROUPE_INBOX_H
#define TROUPE_INBOX_H

#include "error.h"

#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A non-actor thread's mailbox (see above). Opaque. */
typedef struct tr_inbox tr_inbox;

/** tr_inbox_new — creates an inbox in `sys` (also once its tree has ended:
 * an inbox is not part of it). Errors: TR_ENOMEM. Any thread. */
tr_err tr_inbox_new(tr_system *sys, tr_inbox **out);

/** tr_inbox_pid — the inbox's pid, to hand to actors. */
tr_pid tr_inbox_pid(const tr_inbox *inbox);

/** tr_inbox_send — tr_send from the inbox's thread; the message's sender is
 * the inbox, so replies come back to it. Errors as tr_send. */
tr_err tr_inbox_send(tr_inbox *inbox, tr_pid to, tr_atom type, const void *data,
                  size_t size);

/** tr_inbox_reply — answers a request (troupe/call.h) that the inbox
 * received, as tr_reply does for an actor. A request an inbox never
 * answers is not answered for it: its caller waits for its own timeout.
 * Errors: TR_EINVAL (not a request), as tr_send otherwise. Only the
 * inbox's thread. */
tr_err tr_inbox_reply(tr_inbox *inbox, const tr_msg *request, tr_atom type, const void *data,
                   size_t size);

/** tr_inbox_monitor — the inbox watches `target` as an actor's monitor
 * does (troupe/link.h): when the target ends, a "tr.down" message carrying
 * the reference (tr_msg_ref) and the exit (tr_exit_decode, with the reason's
 * text) arrives in the inbox; at once, with TR_EXIT_NOPROC, if it has
 * already ended. *out (may be NULL) gets the reference. Errors: TR_EINVAL,
 * TR_ENOMEM, TR_ENOROUTE. Only the inbox's thread. */
tr_err tr_inbox_monitor(tr_inbox *inbox, tr_pid target, tr_ref *out);

/** tr_inbox_demonitor — removes a monitor of the inbox; no "tr.down" for it
 * is received after this returns, even one already on its way. Errors:
 * TR_EINVAL (NULL inbox), TR_ENOENT (not a live monitor of the inbox).
 * Only the inbox's thread. */
tr_err tr_inbox_demonitor(tr_inbox *inbox, tr_ref ref);

/** tr_inbox_recv — waits up to timeout_ms (0: do not wait; negative: forever)
 * for the next message and sets *msg to it. The message stays owned by the
 * inbox and valid until the next tr_inbox_recv or tr_inbox_destroy.
 * Messages arrive in the order tr_send guarantees. Errors: TR_ETIMEDOUT.
 * Only the thread that owns the inbox may call it. */
tr_err tr_inbox_recv(tr_inbox *inbox, const tr_msg **msg, int64_t timeout_ms);

/** tr_inbox_destroy — frees the inbox and sets *inbox to NULL; messages
 * still in it, and any sent to its pid later, become dead letters. Accepts
 * NULL and a pointer to NULL. */
void tr_inbox_destroy(tr_inbox **inbox);

#ifdef __cplusplus
}
#endif
#endif
