/** @file
 * troupe/call.h — request/reply.
 *
 * tr_call sends a request carrying a fresh reference and returns at once.
 * Exactly one answer comes back later, as an ordinary message to the
 * caller that carries the same reference (tr_msg_ref):
 *   - the callee's reply (tr_reply / tr_reply_to), of the type it chose;
 *   - "tr.timeout" when the timeout passed first;
 *   - "tr.down" when the callee ended (or never existed) before answering:
 *     at once, not at the timeout. Decode its reason with tr_exit_decode.
 * A reply that loses the race with its timeout is dropped by the runtime;
 * the caller never sees both.
 *
 * A callee that does not answer inside the handler (to answer later, or
 * from elsewhere) keeps the request's tr_request and calls tr_reply_to;
 * until then the runtime remembers the request, and answers it "tr.down"
 * if the callee ends first, as an OTP monitor would.
 *
 * Memory rule: a request the callee has not answered costs it about 64
 * bytes until it is answered, dropped (tr_request_drop), its caller's
 * timeout passes (a request carries its deadline; the callee forgets it
 * after, in amortised O(1) sweeps), or the callee ends. So a callee that
 * never answers holds only the requests somebody still awaits; with
 * TR_INFINITY timeouts that is every one of them. */
#ifndef TROUPE_CALL_H
#define TROUPE_CALL_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A call's reference: unique among the caller's calls; {0} is none. */
typedef struct tr_ref {
    uint64_t id; /**< the reference's number (0: none) */
} tr_ref;

/** What a callee needs to answer a request later. */
typedef struct tr_request {
    tr_pid caller; /**< who asked */
    tr_ref ref;    /**< the request's reference */
} tr_request;

/** A timeout that never passes: no timer is armed. */
#define TR_INFINITY (-1)

/** tr_call — sends `data` (copied) as a request of `type` to `to` and sets
 * *out to its reference. timeout_ms: >= 0, or TR_INFINITY. The answer
 * arrives later as a message (see above). Errors: as tr_send; a dead callee
 * is not an error (the answer is "tr.down"). Actor context only. */
tr_err tr_call(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size,
            int64_t timeout_ms, tr_ref *out);

/** tr_reply — answers `request` (a message this actor is handling or
 * handled) with a message of `type`. Errors: TR_EINVAL (not a request), as
 * tr_send otherwise. Answering twice sends twice; the caller keeps the
 * first. Actor context only. */
tr_err tr_reply(tr_ctx *ctx, const tr_msg *request, tr_atom type, const void *data, size_t size);

/** tr_msg_request — the token to answer a request later with tr_reply_to;
 * all zero when `msg` is not a request. */
tr_request tr_msg_request(const tr_msg *msg);

/** tr_reply_to — answers a request by its token. Actor context only. */
tr_err tr_reply_to(tr_ctx *ctx, tr_request request, tr_atom type, const void *data, size_t size);

/** tr_request_drop — declines a request without answering it: the runtime
 * forgets it (no "tr.down" for it when the callee ends); its caller gets
 * its own timeout, or waits forever with TR_INFINITY. Errors: TR_EINVAL
 * (a zero token), TR_ENOENT (not an unanswered request of this actor),
 * TR_ENOTACTOR. Actor context only. */
tr_err tr_request_drop(tr_ctx *ctx, tr_request request);

/** tr_msg_is_request — whether `msg` is a request (expects an answer). */
bool tr_msg_is_request(const tr_msg *msg);

/** tr_msg_ref — the reference an answer (reply, timeout, down) belongs to,
 * or of a request; {0} for other messages. */
tr_ref tr_msg_ref(const tr_msg *msg);

/** tr_timeout_atom — "tr.timeout", the type of a call's timeout answer. */
tr_atom tr_timeout_atom(void);

/** tr_down_atom — "tr.down", the type of a "callee down" answer and of a
 * monitor's notice (troupe/link.h). */
tr_atom tr_down_atom(void);

/** tr_call_named — tr_call to the actor a name stands for: "name" here
 * (TR_ENOENT when no live actor has it), or "name@node", resolved on that
 * node when the request arrives (no such name there: the answer is
 * "tr.down", noproc; the node lost: "tr.down", noconnection). Errors: as
 * tr_call, TR_EINVAL (a malformed "name@node"), TR_ENOROUTE (not a node).
 * Actor context only. */
tr_err tr_call_named(tr_ctx *ctx, const char *name, tr_atom type, const void *data, size_t size,
                  int64_t timeout_ms, tr_ref *out);

/** tr_call_msg — tr_call with a message built by tr_msg_new (its type and
 * payload), without copying a payload larger than TR_MSG_INLINE (a small
 * one is copied once into the request, as cheap as a pointer move). Always
 * takes ownership: *msg is set to NULL, also on error (it is then freed).
 * Errors: as tr_call. Actor context only. */
tr_err tr_call_msg(tr_ctx *ctx, tr_pid to, tr_msg **msg, int64_t timeout_ms, tr_ref *out);

/* ---------------------------------------------------- continuations */

/** A call with a continuation: instead of arriving in handle, the answer is
 * handed to `fn`, in the caller's own turn (never concurrently with its
 * other callbacks), exactly once, with `cookie` and the caller's state:
 *   - status TR_OK: `answer` is the callee's reply (any type it chose);
 *   - TR_ETIMEDOUT: the timeout passed first; `answer` is "tr.timeout";
 *   - TR_ENOENT: the callee ended or never existed (noproc), or its node
 *     was lost (noconnection); `answer` is "tr.down": tr_exit_decode says
 *     which and why.
 * The runtime keeps the (fn, cookie) pair in the caller's table of calls,
 * so the caller keeps no table of refs of its own. `answer` is valid
 * during the call only; what `cookie` points to is the caller's (free it
 * in fn: fn runs exactly once per successful tr_call_then, unless the
 * caller ends first). fn returns as handle does: 0 to go on, negative (or
 * tr_fail's result) to fail the actor.
 *
 * When the caller ends (or is stopping) before the answer, fn never runs
 * and the pending pair is forgotten: free what a cookie owns in terminate
 * if that matters. When tr_call_then returns an error, fn never runs. */
typedef int (*tr_call_fn)(tr_ctx *ctx, void *state, int status, const tr_msg *answer,
                          void *cookie);

/** tr_call_then — tr_call whose answer goes to fn (above). Errors: as
 * tr_call (TR_EINVAL also for a NULL fn). Actor context only. */
tr_err tr_call_then(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size,
                 int64_t timeout_ms, tr_call_fn fn, void *cookie);

/** tr_call_named_then — tr_call_named whose answer goes to fn. A local
 * name no live actor has is not an error here: fn gets "tr.down" with
 * noproc (TR_ENOENT), in a later turn, as for a name on another node.
 * Errors: as tr_call_named otherwise. Actor context only. */
tr_err tr_call_named_then(tr_ctx *ctx, const char *name, tr_atom type, const void *data,
                       size_t size, int64_t timeout_ms, tr_call_fn fn, void *cookie);

/** tr_call_msg_then — tr_call_msg whose answer goes to fn. Takes *msg as
 * tr_call_msg does. Actor context only. */
tr_err tr_call_msg_then(tr_ctx *ctx, tr_pid to, tr_msg **msg, int64_t timeout_ms, tr_call_fn fn,
                     void *cookie);

/** tr_call_sync — tr_call from a non-actor thread, waiting for the answer.
 * On TR_OK *reply is the callee's reply, owned by the caller (free it with
 * tr_msg_destroy). Errors: TR_ETIMEDOUT; TR_ENOENT when the callee ended
 * or did not exist (*reply is then the "tr.down" message, also owned by
 * the caller); TR_ENOTACTOR from a worker thread (it would block one); as
 * tr_send otherwise. Any non-actor thread. */
tr_err tr_call_sync(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size,
                 int64_t timeout_ms, tr_msg **reply);

/** tr_call_named_sync — tr_call_named from a non-actor thread, waiting for
 * the answer, as tr_call_sync. */
tr_err tr_call_named_sync(tr_system *sys, const char *name, tr_atom type, const void *data,
                       size_t size, int64_t timeout_ms, tr_msg **reply);

#ifdef __cplusplus
}
#endif
#endif
