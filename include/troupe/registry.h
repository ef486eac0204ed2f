/** @file
 * troupe/registry.h — the local name registry.
 *
 * A name stands for a pid of this system for as long as that actor lives:
 * once it has ended the name resolves to nothing and may be registered
 * again (there is no need, and no way, to forget it by hand after an
 * actor's end). An actor may have several names. All calls are thread-safe:
 * any actor, any thread. */
#ifndef TROUPE_REGISTRY_H
#define TROUPE_REGISTRY_H

#include "error.h"

#include <stddef.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest name, in bytes. */
#define TR_NAME_MAX 255

/** tr_register — names `pid` (an actor of `sys`, alive). Errors: TR_EINVAL
 * (empty or over-long name, a name with '@' (it separates a name from its
 * node: "kv@node1"), nil pid or another node's), TR_EEXIST (the name stands
 * for a live actor), TR_ENOENT (pid is not a live actor), TR_ENOMEM. */
tr_err tr_register(tr_system *sys, const char *name, tr_pid pid);

/** tr_unregister — forgets a name. Errors: TR_ENOENT (no live actor has it). */
tr_err tr_unregister(tr_system *sys, const char *name);

/** tr_whereis — the pid a name stands for, here ("name", or "name@node"
 * with this node's own name). Never waits. Errors: TR_ENOENT (no live
 * actor has it, or a name on another node: see tr_system_whereis). */
tr_err tr_whereis(tr_system *sys, const char *name, tr_pid *out);

/** tr_system_whereis — as tr_whereis, and for "name@node" on another node
 * asks that node, waiting up to timeout_ms for its answer (as
 * global:whereis_name / rpc to erlang:whereis). Errors: TR_ENOENT (no such
 * name there, or the node was lost), TR_ETIMEDOUT, TR_ENOROUTE (this
 * system is not a node), TR_ENOTACTOR (from a worker: it would block one).
 * Any non-actor thread. From an actor, call the name instead:
 * tr_call_named(ctx, "name@node", tr_inspect_atom(), NULL, 0, timeout,
 * &ref): every actor answers that request itself, so the answer's sender
 * (tr_msg_sender) is the pid, and a "tr.down" answer means no such name. */
tr_err tr_system_whereis(tr_system *sys, const char *name, int64_t timeout_ms, tr_pid *out);

/** tr_send_named — tr_send to the actor a name stands for. "name@node"
 * names an actor registered on another node (troupe/node.h): the name is
 * resolved there, when the message arrives; no such name there makes it a
 * dead letter there. Errors: TR_ENOENT (no such local name), TR_EINVAL (a
 * malformed "name@node"), as tr_send otherwise. Actor context only. */
tr_err tr_send_named(tr_ctx *ctx, const char *name, tr_atom type, const void *data, size_t size);

/** tr_system_send_named — the same from any thread (sender TR_PID_NIL). */
tr_err tr_system_send_named(tr_system *sys, const char *name, tr_atom type, const void *data,
                         size_t size);

/* ------------------------------------------------- waiting for a name
 *
 * A one-shot wait for a name to be registered, instead of polling
 * tr_whereis: for a client that starts before its server, or that wants
 * the next incarnation of a supervised child registered by its child spec
 * (tr_child_spec.register_as). Local names only ("name", or "name@<this
 * node's name>"). Each wait ends exactly once. */

/** tr_name_atom — "tr.name", the type of the notice tr_await_name sends. */
tr_atom tr_name_atom(void);

/** tr_await_name — asks for one "tr.name" notice, carrying the reference
 * set in *out (tr_msg_ref): as soon as `name` stands for a live actor —
 * at once if it does now — with that actor's pid (also the notice's
 * sender, tr_msg_sender); or, if timeout_ms (>= 0; TR_INFINITY: never)
 * passes first, with no pid. The name is resolved when it is registered
 * (by tr_register, or by a spawn's register_as before its init runs):
 * messages sent to the pid then wait for the actor's init. Read the
 * notice with tr_name_decode. A wait of an actor that ends is dropped with
 * it. Errors: TR_EINVAL (not a valid local name), TR_ENOMEM, TR_ENOTACTOR
 * / TR_ESTOPPED (as tr_send). Actor context only. */
tr_err tr_await_name(tr_ctx *ctx, const char *name, int64_t timeout_ms, tr_ref *out);

/** tr_name_decode — reads a "tr.name" notice: *ref (its wait's reference),
 * *pid (the actor registered, or nil when the wait timed out) and *name
 * (points into the message); each may be NULL. Returns TR_OK when the name
 * was registered, TR_ETIMEDOUT when the wait timed out, TR_EINVAL when
 * `msg` is no such notice. */
tr_err tr_name_decode(const tr_msg *msg, tr_ref *ref, tr_pid *pid, const char **name);

/** tr_system_await_name — tr_await_name from a non-actor thread: waits up
 * to timeout_ms (0: do not wait; negative: forever) until `name` stands
 * for a live actor, and sets *out to it. Never polls: the registration
 * wakes the thread. Errors: TR_ETIMEDOUT, TR_EINVAL (NULL sys or out, not
 * a valid local name), TR_ENOTACTOR (from a worker thread: it would block
 * one), TR_ENOMEM. Any non-actor thread. */
tr_err tr_system_await_name(tr_system *sys, const char *name, int64_t timeout_ms, tr_pid *out);

#ifdef __cplusplus
}
#endif
#endif
