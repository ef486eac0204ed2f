/** @file
 * troupe/msg.h — messages.
 *
 * A message is a type atom plus a payload of bytes, immutable once sent.
 * Payloads of up to TR_MSG_INLINE bytes live inside the message itself;
 * larger ones in one heap block owned by the message. Sending a tr_msg moves
 * it to the receiver without copying; the receiver's handler sees it for the
 * duration of the call, then the runtime frees it.
 *
 * Messages come from per-thread pools, so building one on any thread and
 * having it freed on another is cheap. */
#ifndef TROUPE_MSG_H
#define TROUPE_MSG_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#include "troupe/atom.h"
#include "troupe/pid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A message (see above). Opaque: read it with the tr_msg_* functions. */
typedef struct tr_msg tr_msg;

/** Payloads up to this many bytes are stored inline, with no extra block. */
#define TR_MSG_INLINE 72
/** The largest payload a message may carry (64 MiB). */
#define TR_MSG_MAX (64u << 20)

/** tr_msg_new — a new unsent message of `type` with `size` payload bytes,
 * uninitialised; fill them through tr_msg_buffer() before sending.
 * On success *out owns the message until it is sent (tr_send_msg and
 * friends) or destroyed. Errors: TR_EINVAL (type is {0}), TR_ETOOBIG,
 * TR_ENOMEM. Any thread. */
tr_err tr_msg_new(tr_atom type, size_t size, tr_msg **out);

/** tr_msg_buffer — the writable payload of an unsent message (NULL when the
 * size is 0). Writing to a message after it was sent is undefined. */
void *tr_msg_buffer(tr_msg *msg);

/** tr_msg_destroy — frees an unsent message and sets *msg to NULL. Accepts
 * NULL and a pointer to NULL. Never call it on a message a handler was
 * given: the runtime owns that one. */
void tr_msg_destroy(tr_msg **msg);

/** tr_msg_type — the message's type atom. */
tr_atom tr_msg_type(const tr_msg *msg);

/** Every payload starts at an address aligned to TR_MSG_ALIGN bytes: enough
 * for uint64_t, int64_t, double and pointers, so a handler may read a
 * payload through a pointer to a struct of those (one the sender built
 * with the same layout: a struct is not a stable encoding across
 * compilers or nodes; troupe/pack.h is). Not guaranteed: more than 8
 * (long double, max_align_t, SIMD types); copy such data out first. This
 * holds for every message a handler, an inbox or tr_msg_buffer sees,
 * whatever its size, role (request, reply) or origin (another node). */
#define TR_MSG_ALIGN 8

/** tr_msg_data — the payload (NULL when the size is 0), aligned to
 * TR_MSG_ALIGN; valid as long as the message is. */
const void *tr_msg_data(const tr_msg *msg);

/** tr_msg_size — the payload size in bytes. */
size_t tr_msg_size(const tr_msg *msg);

/** tr_msg_sender — the sending actor, or TR_PID_NIL for a message sent from
 * a non-actor thread through tr_system_send. */
tr_pid tr_msg_sender(const tr_msg *msg);

/** tr_msg_is — whether the message has type `type`. */
static inline bool tr_msg_is(const tr_msg *msg, tr_atom type)
{
    return tr_msg_type(msg).id == type.id;
}

#ifdef __cplusplus
}
#endif
#endif
