/* zap.h — the process's one ZAP handler (ZeroMQ authentication, RFC 27).
 *
 * A CURVE server socket asks the ZAP handler of its context, at
 * inproc://zeromq.zap.01, whether each client key may connect. There is
 * one such endpoint per context and one context per process (zctx.h), so
 * one handler serves every node: a small thread owning a ROUTER bound
 * there, with a table ZAP domain -> allowlist. Each node sets
 * ZMQ_ZAP_DOMAIN to its own name on its server sockets (use
 * tri_zap_curve_server) and registers its allowlist under that name.
 *
 * Replies: CURVE: 200 with user id = the client's public key in Z85 if
 * the domain's allowlist holds the key (whatever name it is bound to: the
 * node checks the name its peer claims later, tri_allowlist_check), else
 * 400, logged at warn as "refused CURVE key <Z85> from <address> (node
 * <domain>)", at most once per key and address every 10 s. NULL (ipc and
 * inproc sockets, which file permissions and the process protect; ZAP only
 * sees it on a socket that has a ZAP domain): 200, empty user id. PLAIN
 * and anything else: 400, logged the same way.
 *
 * THE PITFALL (libzmq 4.3): a CURVE server socket in a context without a
 * ZAP handler accepts ANY client key (encrypted, but not authenticated),
 * and so does one bound while the handler is stopping. Therefore:
 *   1. tri_zap_acquire before creating any CURVE server socket;
 *   2. tri_zap_domain_add before that socket binds (tri_zap_curve_server
 *      refuses to configure a socket otherwise);
 *   3. close the node's server sockets, then tri_zap_domain_remove, then
 *      tri_zap_release.
 * A request for a domain that is not registered is refused (fail closed),
 * so a socket outliving its node's registration accepts nobody. */
#ifndef TRI_ZAP_H
#define TRI_ZAP_H

#include <stdint.h>

#include "allowlist.h"
#include "keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Refusals of one key (or mechanism) from one address are logged at most
 * once per this window. */
#define TRI_ZAP_LOG_WINDOW_NS (10 * (int64_t)1000000000)

/* tri_zap_acquire — takes a reference to the handler; the first one
 * acquires the shared context (zctx.h), starts the handler's thread and
 * returns only once its socket is bound, so a CURVE server socket created
 * after this call is authenticated. Pair each success with
 * tri_zap_release. Errors: TR_EEXIST (something else is bound at
 * inproc://zeromq.zap.01 in the shared context), TR_ENOMEM (context,
 * thread or pipe could not be created). Thread-safe. */
int tri_zap_acquire(void);

/* tri_zap_release — drops a reference; the last one stops the thread
 * (joined before this returns), drops any domain still registered (with a
 * warning: its node forgot to remove it) and releases the context.
 * Thread-safe; never call it from a log sink. */
void tri_zap_release(void);

/* tri_zap_domain_add — registers `al` for ZAP domain `domain` (the node's
 * name); the handler takes its own reference to `al`, which makes `al`
 * immutable (allowlist.h). Errors: TR_EINVAL (bad domain or NULL al),
 * TR_ESTATE (the handler is not running), TR_EEXIST (domain taken),
 * TR_ENOMEM. Thread-safe. */
int tri_zap_domain_add(const char *domain, tri_allowlist *al);

/* tri_zap_domain_replace — swaps the allowlist of a registered domain;
 * connections being authenticated at that moment see the old or the new
 * one, later ones the new one. Errors: TR_EINVAL, TR_ESTATE, TR_ENOENT
 * (not registered), TR_ENOMEM. Thread-safe. */
int tri_zap_domain_replace(const char *domain, tri_allowlist *al);

/* tri_zap_domain_remove — unregisters `domain` (and drops the handler's
 * reference to its allowlist); from then on its CURVE clients are
 * refused. Errors: TR_EINVAL, TR_ENOENT (not registered). Thread-safe. */
int tri_zap_domain_remove(const char *domain);

/* tri_zap_curve_server — makes `socket` (a ZeroMQ socket in the shared
 * context, before its bind) a CURVE server with `secret_key`, whose
 * clients are authenticated by the handler against `domain`'s allowlist
 * (ZMQ_ZAP_DOMAIN = domain, ZMQ_CURVE_SERVER = 1, ZMQ_CURVE_SECRETKEY).
 * Refuses unless the handler is running and `domain` registered: the one
 * way to set up a server socket so that it cannot silently accept any
 * key. Errors: TR_EINVAL (NULL or bad arguments, or libzmq refused an
 * option), TR_ESTATE (handler not running), TR_ENOENT (domain not
 * registered). Only the socket's thread. */
int tri_zap_curve_server(void *socket, const char *domain, const uint8_t secret_key[TRI_KEY_BYTES]);

/* Counters since the process started, for diagnostics and tests. */
typedef struct tri_zap_stats {
    uint64_t requests; /* ZAP requests answered (malformed ones included) */
    uint64_t accepted; /* 200 replies */
    uint64_t refused;  /* 400 replies */
    uint64_t logged;   /* refusals logged (the rest were rate-limited) */
} tri_zap_stats;

/* tri_zap_get_stats — a snapshot of the counters. Thread-safe. */
void tri_zap_get_stats(tri_zap_stats *out);

/* tri_zap_set_clock — the monotonic clock (nanoseconds) the log rate
 * limit reads; NULL restores the real one. For tests, so that the 10 s
 * window can pass without waiting. The function is called on the
 * handler's thread. Thread-safe. */
void tri_zap_set_clock(int64_t (*now_ns)(void));

#ifdef __cplusplus
}
#endif
#endif
