/* msg_impl.h — the layout of a message and the runtime's own message kinds.
 *
 * A message is one pool block: this header, then the payload when it fits
 * (TR_MSG_INLINE bytes), else a pointer to a separate block. The mailbox
 * link comes first so that a tri_node* and a tr_msg* are the same address. */
#ifndef TRI_MSG_IMPL_H
#define TRI_MSG_IMPL_H

#include <stdint.h>

#include "mailbox.h"
#include "pool.h"
#include "troupe/msg.h"

/* What a message is for. Everything but TRI_MSG_USER is the runtime talking
 * to itself; a user never sees those. */
enum tri_msg_kind {
    TRI_MSG_USER = 0,
    TRI_MSG_INIT,       /* first message of an actor: run init(args) */
    TRI_MSG_SIGNAL,     /* wake up and look at stop/kill requests */
    TRI_MSG_EXIT,       /* to a parent: this child has ended */
    TRI_MSG_ADOPT,      /* to the root: link a child spawned from outside */
    TRI_MSG_KILL_CHILD, /* to a parent: a child's shutdown time ran out */
    TRI_MSG_ROOT_STOP,  /* to the root: tr_system_stop */
    TRI_MSG_ROOT_RUN,   /* to the root: tr_system_run entered */
    TRI_MSG_STOP_CHILD, /* to the root: tr_system_stop_child */
    TRI_MSG_CALL_TIMEOUT, /* to a caller: its call's timeout passed */
    TRI_MSG_MONITOR,      /* to a target: {watcher, ref} watches you */
    TRI_MSG_DEMONITOR,    /* to a target: {watcher, ref} stops watching */
    TRI_MSG_LINK,         /* to a target: {pid} links with you */
    TRI_MSG_UNLINK,       /* to a target: {pid} unlinks */
    TRI_MSG_EXIT_SIGNAL,  /* struct tri_exit_signal + text */
    TRI_MSG_DEADLINE,     /* to an actor: its subtree deadline passed */
    TRI_MSG_KILL_GRACE,   /* to a parent: its killed children had their grace */
    /* remote children (remote_child.h has the payloads) */
    TRI_MSG_SPAWN_REQ,   /* a stub to another node: start my child there */
    TRI_MSG_SPAWN_REPLY, /* a host to its stub: how the child's start went */
    TRI_MSG_REMOTE_STOP, /* a stub to its child's host: stop (or kill) it */
    TRI_MSG_CHILD_EXIT,  /* a host (or the transport) to a stub: it ended */
    /* process children (proc_os.h has the payloads) */
    TRI_MSG_PROC_STARTED, /* the proc thread to a process actor: exec'd, or errno */
    TRI_MSG_PROC_EXIT,    /* the proc thread to a process actor: it was reaped */
    TRI_MSG_PROC_TIMER,   /* a process actor to itself: start timeout, kill time */
    TRI_MSG_NAME_TIMEOUT, /* to an actor: its tr_await_name timed out (registry.c) */
};

/* tr_msg.call: the request/reply role of a user message. */
enum tri_call_role {
    TRI_CALL_NONE = 0,
    TRI_CALL_REQUEST,
    TRI_CALL_REPLY,
    TRI_CALL_MONITOR, /* a monitor's "tr.down": the ref is the monitor's */
    TRI_CALL_NOTICE,  /* a notice the receiver asked for ("tr.name"): handed
                       * to it as is; the ref is the one its request returned */
};

struct tr_msg {
    tri_node node;        /* must stay first */
    uint64_t dest_serial; /* the incarnation it was sent to */
    tr_pid sender;
    tr_atom type;
    uint32_t size;   /* payload bytes */
    uint8_t kind;    /* enum tri_msg_kind */
    uint8_t outside; /* payload lives in its own block */
    uint16_t block;  /* size of this message's block, for the pool */
    uint8_t call;    /* enum tri_call_role; if set, a uint64_t ref follows
                      * the header, before any inline payload */
    uint8_t counted; /* counted in its slot's mb_count */
    uint8_t exempt;  /* the runtime's answer or notice: never bounded */
    uint8_t reserved;
    void *data;      /* the payload: inline area or the outside block */
};

/* Header plus inline payload fits the pool's largest class. */
_Static_assert(sizeof(struct tr_msg) == 56, "message header layout");
/* TR_MSG_ALIGN (msg.h): pool blocks are 64-aligned, and the header and a
 * call's prefix (ref, deadline) are multiples of it, so is the payload */
_Static_assert(sizeof(struct tr_msg) % TR_MSG_ALIGN == 0, "inline payload alignment");
_Static_assert(sizeof(struct tr_msg) + TR_MSG_INLINE <= 128,
               "inline payload fits a 128-byte block");

#define TRI_MSG_UNLIKELY(x) __builtin_expect(!!(x), 0)

tr_msg *tri_msg_alloc_slow(uint8_t kind, tr_atom type, size_t size);

/* tri_msg_alloc — a message with room for `size` payload bytes; fields
 * other than the payload are set. NULL when out of memory. Inline for the
 * payloads that fit a 64-byte block (every send builds one). */
static inline tr_msg *tri_msg_alloc(uint8_t kind, tr_atom type, size_t size)
{
    if (TRI_MSG_UNLIKELY(size > 64 - sizeof(struct tr_msg)))
        return tri_msg_alloc_slow(kind, type, size);
    tr_msg *m = (tr_msg *)tri_pool_alloc(64);
    if (TRI_MSG_UNLIKELY(!m)) return NULL;
    m->dest_serial = 0;
    m->sender = TR_PID_NIL;
    m->type = type;
    m->size = (uint32_t)size;
    m->kind = kind;
    m->outside = 0;
    m->block = 64;
    m->call = TRI_CALL_NONE;
    m->counted = 0;
    m->exempt = 0;
    m->data = size ? (char *)m + sizeof(struct tr_msg) : NULL;
    return m;
}

/* tri_msg_alloc_call — the same for a reply or "down" carrying `ref`.
 * tri_msg_alloc_request — a request carrying `ref` and the caller's
 * deadline (tri_now_ns of the system; INT64_MAX: none), so that a callee
 * that never answers forgets it once nobody waits for it any more. */
tr_msg *tri_msg_alloc_call(uint8_t role, uint64_t ref, tr_atom type, size_t size);
tr_msg *tri_msg_alloc_request(uint64_t ref, int64_t deadline_ns, tr_atom type, size_t size);

/* tri_msg_copy — a user message like `m`: type, payload, sender, call
 * role with its ref and deadline, exemption (not its receiver). NULL when
 * out of memory. */
tr_msg *tri_msg_copy(const tr_msg *m);

static inline uint64_t tri_msg_ref(const tr_msg *m)
{
    uint64_t r;
    __builtin_memcpy(&r, (const char *)m + sizeof *m, sizeof r);
    return r;
}

/* A request's deadline (after its ref). Requests only. */
static inline int64_t tri_msg_deadline(const tr_msg *m)
{
    int64_t d;
    __builtin_memcpy(&d, (const char *)m + sizeof *m + sizeof(uint64_t), sizeof d);
    return d;
}

/* tri_msg_free — frees a message, whoever built it. NULL is ignored.
 * Inline: the receiver frees every message it handles. */
static inline void tri_msg_free(tr_msg *m)
{
    if (!m) return;
    if (m->outside) tri_pool_free(m->data, m->size);
    tri_pool_free(m, m->block);
}

static inline tr_msg *tri_msg_of(tri_node *n) { return (tr_msg *)n; }

#endif
