/** @file
 * troupe/server.h — servers: a gen_server-style layer over behaviours.
 *
 * A server is a behaviour whose messages are dispatched by type to
 * handlers listed in tables, as OTP's handle_call / handle_cast clauses:
 *
 *   - calls: requests (tr_call, tr_call_then, tr_call_sync...). The
 *     handler's answer is its return path: it fills a tr_answer (type and
 *     payload), and the layer replies when it returns; a handler that
 *     sets nothing answers "tr.ok" with no payload. A handler that cannot
 *     answer yet defers: tr_server_defer gives a token, answered later
 *     (from any of the server's callbacks) with tr_server_reply.
 *   - casts: one-way messages (tr_send, timers, "tr.down" of a monitor,
 *     "tr.exit" of a trapped child: runtime notices have type names too).
 *   - anything else is unexpected: the `other` handler if one is set;
 *     else, by default, logged (the first, then every power of two) and
 *     counted (tr_server_unexpected_count), an unexpected request declined
 *     (tr_request_drop: its caller gets its own timeout); or, with
 *     TR_SERVER_FAIL, the server fails, as an OTP gen_server without a
 *     matching clause does.
 *
 * Type names are resolved to atoms once per server, at spawn (in its
 * init), and looked up by binary search per message.
 *
 * Typed state: the handler macros below define a handler whose state
 * parameter has the server's own type, so user code has no casts:
 *
 *   typedef struct kv_state { ... } kv_state;
 *
 *   TR_SERVER_CALL(kv_get, kv_state)       // ctx, state, msg, answer
 *   {
 *       const char *key;
 *       if (tr_unpack_msg(msg, "str", &key)) return tr_fail(ctx, "bad get");
 *       entry *e = lookup(state, key);
 *       return e ? tr_answer_set(answer, KV_VALUE, e->val, e->len)
 *                : tr_answer_set(answer, KV_MISSING, NULL, 0);
 *   }
 *
 *   TR_SERVER_DEFINE(kv_store, kv_state,
 *       .calls = TR_SERVER_CALLS({"kv.get", kv_get}, {"kv.put", kv_put}),
 *       .casts = TR_SERVER_CASTS({"kv.stats", kv_stats}));
 *
 * TR_SERVER_DEFINE defines `const tr_behaviour kv_store` (named
 * "kv_store"): spawn it with tr_spawn, put it in a child spec, register
 * it in the behaviour table (troupe/behaviours.h) like any behaviour.
 *
 * State: the layer allocates state_size bytes, zeroed, before init, and
 * frees them after terminate (or after an init that failed or ignored).
 * The pointer is stable for the server's life. Thread-safety: as every
 * behaviour; handlers run one at a time, in the server's turns. */
#ifndef TROUPE_SERVER_H
#define TROUPE_SERVER_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A call handler's answer. Fields are private: use tr_answer_* and
 * tr_server_defer. Valid during the handler only. */
typedef struct tr_answer {
    /** @cond PRIVATE */
    const tr_msg *request;
    tr_atom type;
    const void *data;
    size_t size;
    tr_msg *packed; /* tr_answer_pack's payload */
    int state;      /* 0: not set, 1: set, 2: deferred */
    /** @endcond */
} tr_answer;

/** A call handler: answers through `answer` (or defers), and returns as a
 * behaviour's handle does. */
typedef int (*tr_server_call_fn)(tr_ctx *ctx, void *state, const tr_msg *msg, tr_answer *answer);
/** A cast handler: returns as a behaviour's handle does. */
typedef int (*tr_server_cast_fn)(tr_ctx *ctx, void *state, const tr_msg *msg);

/** A table row: a message type's name ("kv.get") and its handler. Tables
 * end with a row whose type is NULL (TR_SERVER_CALLS / _CASTS add it). */
typedef struct tr_server_call {
    const char *type;     /**< the message type's name; NULL ends the table */
    tr_server_call_fn fn; /**< its handler */
} tr_server_call;

/** A row of a casts table, as tr_server_call's. */
typedef struct tr_server_cast {
    const char *type;     /**< the message type's name; NULL ends the table */
    tr_server_cast_fn fn; /**< its handler */
} tr_server_cast;

/** What an unexpected message does (when `other` is not set). */
typedef enum tr_server_policy {
    TR_SERVER_LOG = 0,  /**< log (rate-limited), count, go on */
    TR_SERVER_FAIL = 1, /**< fail the server: "unexpected message <type>" */
} tr_server_policy;

/** A server. Must outlive its servers (a static const, as a behaviour). */
typedef struct tr_server_def {
    size_t state_size; /**< TR_SERVER_DEFINE sets it from the state type */
    /** Optional, as tr_behaviour's: 0 to run, TR_INIT_IGNORE, or negative
     * to fail (terminate is then not called). */
    int (*init)(tr_ctx *ctx, void *state, const void *args, size_t args_size);
    /** Optional, as tr_behaviour's: once, after init succeeded. */
    void (*terminate)(tr_ctx *ctx, void *state, const tr_exit *reason);
    const tr_server_call *calls; /**< may be NULL */
    const tr_server_cast *casts; /**< may be NULL */
    /** Optional: every message no table row matches (an unmatched request
     * included: answer it with tr_reply, or not); the policy then never
     * applies. */
    tr_server_cast_fn other;
    tr_server_policy unexpected; /**< what unexpected messages do (see above) */
} tr_server_def;

/** tr_answer_set — the reply: `size` bytes of `data` (not copied: they
 * must stay valid until the handler returns; the reply copies them) as a
 * message of `type`. Returns TR_OK, or TR_EINVAL (type {0}, NULL data
 * with size > 0) and then the request gets the default answer. */
tr_err tr_answer_set(tr_answer *answer, tr_atom type, const void *data, size_t size);

/** tr_answer_pack — the reply, its payload packed now from a picture
 * (troupe/pack.h). Errors: as tr_pack_msg (the answer is then not set). */
tr_err tr_answer_pack(tr_answer *answer, tr_atom type, const char *picture, ...);

/** tr_server_defer — the handler will not answer now: the layer sends
 * nothing when it returns, and the returned token answers the request
 * later with tr_server_reply (or tr_reply_to; tr_request_drop declines
 * it). Until then the runtime remembers it, and answers its caller
 * "tr.down" if the server ends first. Whatever the answer held is
 * forgotten. */
tr_request tr_server_defer(tr_answer *answer);

/** tr_server_reply — answers a deferred request (tr_reply_to). Errors: as
 * tr_reply_to. Actor context only (any callback of the server). */
tr_err tr_server_reply(tr_ctx *ctx, tr_request token, tr_atom type, const void *data, size_t size);

/** tr_server_ok_atom — "tr.ok", the answer of a call handler that set
 * none. */
tr_atom tr_server_ok_atom(void);

/** tr_server_unexpected_count — how many unexpected messages the server
 * whose state this is has met (counted under TR_SERVER_LOG). `state`: the
 * pointer its handlers get. Its own callbacks only. */
uint64_t tr_server_unexpected_count(const void *state);

/* ------------------------------------------------- defining a server */

/** The layer's per-server record (private; the behaviour's state). */
typedef struct tr_server_base {
    /** @cond PRIVATE */
    const tr_server_def *def;
    void *state;
    struct tri_server_row *rows; /* by atom id */
    uint32_t nrows;
    uint64_t unexpected;
    /** @endcond */
} tr_server_base;

/** The server's state in the layer's record. Not for direct use. */
static inline void *tr_server_state_(void *base) { return ((tr_server_base *)base)->state; }

/**@{*/
/** The behaviour callbacks TR_SERVER_DEFINE wires up; init takes the def.
 * Not for direct use. */
int tr_server_init_(const tr_server_def *def, tr_ctx *ctx, void *base, const void *args,
                    size_t args_size);
int tr_server_handle_(tr_ctx *ctx, void *base, const tr_msg *msg);
void tr_server_terminate_(tr_ctx *ctx, void *base, const tr_exit *reason);
/**@}*/

/** TR_SERVER_DEFINE(beh, state_type, fields...) — defines `static const
 * tr_server_def beh##_server` from the designated initializers given
 * (.init, .terminate, .calls, .casts, .other, .unexpected; state_size
 * comes from state_type), and `const tr_behaviour beh`, named "beh",
 * that runs it: a global, so that other files may declare it `extern
 * const tr_behaviour beh;` (one definition per program, as any global). */
#define TR_SERVER_DEFINE(beh, state_type, ...)                                                     \
    static const tr_server_def beh##_server = {.state_size = sizeof(state_type), __VA_ARGS__};     \
    static int beh##_server_init(tr_ctx *ctx, void *base, const void *args, size_t n)              \
    {                                                                                              \
        return tr_server_init_(&beh##_server, ctx, base, args, n);                                 \
    }                                                                                              \
    const tr_behaviour beh = {.name = #beh,                                                        \
                               .state_size = sizeof(tr_server_base),                               \
                               .init = beh##_server_init,                                          \
                               .handle = tr_server_handle_,                                        \
                               .terminate = tr_server_terminate_}

/**@{*/
/** A table literal, terminated: .calls = TR_SERVER_CALLS({"a", fa}, ...) */
#define TR_SERVER_CALLS(...) ((const tr_server_call[]){__VA_ARGS__, {NULL, NULL}})
#define TR_SERVER_CASTS(...) ((const tr_server_cast[]){__VA_ARGS__, {NULL, NULL}})
/**@}*/

/**@{*/
/** Typed handlers. Each defines `static` function `fn` with the layer's
 * signature, whose body (the braces that follow) sees its parameters
 * under these names, `state` with the server's type:
 *   TR_SERVER_CALL(fn, T)       ctx, T *state, msg, answer   (returns int)
 *   TR_SERVER_CAST(fn, T)       ctx, T *state, msg           (returns int)
 *   TR_SERVER_INIT(fn, T)       ctx, T *state, args, args_size (int)
 *   TR_SERVER_TERMINATE(fn, T)  ctx, T *state, reason        (void)
 *   TR_SERVER_THEN(fn, T)       ctx, T *state, status, answer, cookie (int):
 *                               a call continuation (troupe/call.h)
 * A continuation of a call a server makes is handed the behaviour's state,
 * which is the layer's record: define it with TR_SERVER_THEN, which finds
 * the server's state in it. */
#if defined(__GNUC__)
#define TR_SERVER_UNUSED_ __attribute__((unused))
#else
#define TR_SERVER_UNUSED_
#endif
#define TR_SERVER_P_(decl) decl TR_SERVER_UNUSED_ /**< a parameter the body need not use */

#define TR_SERVER_CALL(fn, T)                                                                      \
    static int fn##_typed(tr_ctx *ctx, T *state, const tr_msg *msg, tr_answer *answer);            \
    static int fn(tr_ctx *ctx, void *state, const tr_msg *msg, tr_answer *answer)                  \
    {                                                                                              \
        return fn##_typed(ctx, (T *)state, msg, answer);                                           \
    }                                                                                              \
    static int fn##_typed(TR_SERVER_P_(tr_ctx *ctx), TR_SERVER_P_(T *state),                       \
                          TR_SERVER_P_(const tr_msg *msg), TR_SERVER_P_(tr_answer *answer))

#define TR_SERVER_CAST(fn, T)                                                                      \
    static int fn##_typed(tr_ctx *ctx, T *state, const tr_msg *msg);                               \
    static int fn(tr_ctx *ctx, void *state, const tr_msg *msg)                                     \
    {                                                                                              \
        return fn##_typed(ctx, (T *)state, msg);                                                   \
    }                                                                                              \
    static int fn##_typed(TR_SERVER_P_(tr_ctx *ctx), TR_SERVER_P_(T *state),                       \
                          TR_SERVER_P_(const tr_msg *msg))

#define TR_SERVER_INIT(fn, T)                                                                      \
    static int fn##_typed(tr_ctx *ctx, T *state, const void *args, size_t args_size);              \
    static int fn(tr_ctx *ctx, void *state, const void *args, size_t args_size)                    \
    {                                                                                              \
        return fn##_typed(ctx, (T *)state, args, args_size);                                       \
    }                                                                                              \
    static int fn##_typed(TR_SERVER_P_(tr_ctx *ctx), TR_SERVER_P_(T *state),                       \
                          TR_SERVER_P_(const void *args), TR_SERVER_P_(size_t args_size))

#define TR_SERVER_TERMINATE(fn, T)                                                                 \
    static void fn##_typed(tr_ctx *ctx, T *state, const tr_exit *reason);                          \
    static void fn(tr_ctx *ctx, void *state, const tr_exit *reason)                                \
    {                                                                                              \
        fn##_typed(ctx, (T *)state, reason);                                                       \
    }                                                                                              \
    static void fn##_typed(TR_SERVER_P_(tr_ctx *ctx), TR_SERVER_P_(T *state),                      \
                           TR_SERVER_P_(const tr_exit *reason))

#define TR_SERVER_THEN(fn, T)                                                                      \
    static int fn##_typed(tr_ctx *ctx, T *state, int status, const tr_msg *answer, void *cookie);  \
    static int fn(tr_ctx *ctx, void *state, int status, const tr_msg *answer, void *cookie)        \
    {                                                                                              \
        return fn##_typed(ctx, (T *)tr_server_state_(state), status, answer, cookie);             \
    }                                                                                              \
    static int fn##_typed(TR_SERVER_P_(tr_ctx *ctx), TR_SERVER_P_(T *state),                       \
                          TR_SERVER_P_(int status), TR_SERVER_P_(const tr_msg *answer),            \
                          TR_SERVER_P_(void *cookie))
/**@}*/

#ifdef __cplusplus
}
#endif
#endif
