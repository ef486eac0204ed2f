/* zctx.c — the process's one ZeroMQ context, reference-counted. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include <zmq.h>

#include "../actors/core.h"
#include "zctx.h"

/* Guards `ctx` and `users`. zmq_ctx_new runs under it (so two first users
 * cannot create two contexts); zmq_ctx_term does not (it can block). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *ctx;
static unsigned users;

int tri_zctx_acquire(void **out)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    pthread_mutex_lock(&mu);
    if (!ctx) {
        void *c = zmq_ctx_new();
        if (!c) {
            pthread_mutex_unlock(&mu);
            tri_log(TR_LOG_ERROR, "zmq_ctx_new failed: %s", zmq_strerror(errno));
            return TR_ENOMEM;
        }
        /* Before any socket exists: the default linger of new sockets is
         * taken from BLOCKY when they are created. */
        if (zmq_ctx_set(c, ZMQ_BLOCKY, 0) != 0) {
            tri_log(TR_LOG_ERROR, "zmq_ctx_set(ZMQ_BLOCKY, 0) failed: %s", zmq_strerror(errno));
            zmq_ctx_term(c);
            pthread_mutex_unlock(&mu);
            return TR_ENOMEM;
        }
        ctx = c;
    }
    users++;
    *out = ctx;
    pthread_mutex_unlock(&mu);
    return TR_OK;
}

void tri_zctx_release(void **p)
{
    if (!p || !*p) return;
    void *term = NULL;
    pthread_mutex_lock(&mu);
    if (*p == ctx && users > 0) {
        if (--users == 0) {
            term = ctx;
            ctx = NULL;
        }
    } else {
        tri_log(TR_LOG_ERROR, "tri_zctx_release: not the current context (double release?)");
    }
    pthread_mutex_unlock(&mu);
    *p = NULL;
    if (term) {
        while (zmq_ctx_term(term) != 0 && errno == EINTR) {
        }
    }
}

unsigned tri_zctx_users(void)
{
    pthread_mutex_lock(&mu);
    unsigned n = users;
    pthread_mutex_unlock(&mu);
    return n;
}
