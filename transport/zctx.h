/* zctx.h — the process's one ZeroMQ context.
 *
 * Every troupe node in a process shares one context: inproc endpoints only
 * connect within a context, and a context has exactly one ZAP endpoint
 * (inproc://zeromq.zap.01), so one ZAP handler serves every node. The
 * context is reference-counted: whoever creates sockets in it holds a
 * reference for as long as any of those sockets is open.
 *
 * The context is created with ZMQ_BLOCKY = 0, so every socket created in
 * it starts with ZMQ_LINGER = 0: closing a socket (and terminating the
 * context) never waits for messages that a dead peer will not take. A
 * socket that wants a linger must set ZMQ_LINGER itself. */
#ifndef TRI_ZCTX_H
#define TRI_ZCTX_H

#ifdef __cplusplus
extern "C" {
#endif

/* tri_zctx_acquire — sets *ctx to the process's ZeroMQ context and takes a
 * reference to it; the first reference creates it. Every successful call
 * is paired with one tri_zctx_release. While a reference is held the
 * pointer stays the same; after the last release a later acquire may
 * return a new context. Errors: TR_EINVAL (ctx NULL), TR_ENOMEM (libzmq
 * could not create a context: memory or file descriptors). Thread-safe. */
int tri_zctx_acquire(void **ctx);

/* tri_zctx_release — drops the reference *ctx was acquired with and sets
 * *ctx to NULL (a NULL *ctx does nothing). The last release terminates the
 * context with zmq_ctx_term, which blocks until every socket of the
 * context is closed: close yours before releasing. The termination runs
 * outside the module's lock, so a concurrent acquire is never held up by
 * it (it gets a fresh context). Thread-safe. */
void tri_zctx_release(void **ctx);

/* tri_zctx_users — how many references are held now (for tests and
 * diagnostics; stale as soon as it returns). Thread-safe. */
unsigned tri_zctx_users(void);

#ifdef __cplusplus
}
#endif
#endif
