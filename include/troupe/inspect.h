/* troupe/inspect.h — introspection of one actor.
 *
 * Every actor answers a request of type "tr.inspect" (sent with tr_call)
 * by itself, without its handler seeing it: the answer is a "tr.info"
 * message that tr_actor_info_decode reads. Being answered in the actor's
 * own turn, the figures are exact for that moment. A bounded mailbox takes
 * the request even when full (that is when one wants to look); it waits
 * its turn behind the messages already queued. */
#ifndef TROUPE_INSPECT_H
#define TROUPE_INSPECT_H

#include <stdint.h>

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tr_actor_status {
    TR_STATUS_RUNNING = 0, /* has messages to handle */
    TR_STATUS_WAITING = 1, /* idle: its mailbox is empty */
    TR_STATUS_STOPPING = 2, /* stopping its children, about to end */
} tr_actor_status;

typedef struct tr_actor_info {
    tr_pid pid, parent;
    char path[256]; /* truncated if longer */
    tr_actor_status status;
    uint32_t capacity;          /* mailbox capacity, 0: unbounded */
    uint64_t mailbox;           /* messages queued, not counting this request */
    uint64_t messages_in;       /* messages handled */
    uint64_t messages_out;      /* messages sent (sends, calls, replies) */
    uint32_t children;
    uint32_t links;
    uint32_t monitors;          /* monitors it holds on others */
    uint32_t watchers;          /* monitors others hold on it */
    uint64_t restarts;          /* a supervisor: children it restarted */
    uint32_t requests;          /* requests it holds unanswered (an upper
                                 * bound: expired ones go in sweeps) */
} tr_actor_info;

/* tr_inspect_atom — "tr.inspect", the type of the request. */
tr_atom tr_inspect_atom(void);

/* tr_info — fills *out about the calling actor. Actor context only.
 * Errors: TR_EINVAL (out is NULL), TR_ENOTACTOR (not the calling actor's
 * ctx in its callback; *out is zeroed). */
int tr_info(tr_ctx *ctx, tr_actor_info *out);

/* tr_actor_info_decode — reads a "tr.info" answer. Errors: TR_EINVAL. */
int tr_actor_info_decode(const tr_msg *answer, tr_actor_info *out);

/* tr_system_inspect — asks `pid` and waits up to timeout_ms for the answer.
 * Errors: TR_ENOENT (no such actor), TR_ETIMEDOUT, TR_ENOTACTOR (from a
 * worker thread). Any non-actor thread. */
int tr_system_inspect(tr_system *sys, tr_pid pid, tr_actor_info *out, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
