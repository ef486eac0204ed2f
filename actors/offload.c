/* offload.c — the blocking-work pool: a FIFO of jobs under a mutex and up
 * to `blocking_threads` threads, started on demand. Results travel as
 * ordinary messages to the requester's pid, so the serial check that guards
 * every send is what keeps a result from reaching a reused slot. */
#include <stdlib.h>

#include "core.h"

typedef struct job_node {
    struct job_node *next;
    tr_job job;
    tr_pid requester;
} job_node;

struct tri_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_node *head, *tail;
    pthread_t *threads;
    unsigned max, started, idle;
    bool quit;
};

/* A result goes to its requester like a reply: a bounded mailbox takes it
 * even when full (the actor asked for it; a full mailbox must neither lose
 * it nor block this thread), and it is a dead letter if the requester has
 * ended. */
static void send_result(tr_system *sys, tr_pid requester, tr_msg *m)
{
    if (m->kind != TRI_MSG_USER || m->type.id == 0) {
        tri_log(TR_LOG_ERROR, "offload: a job returned a message that is not an unsent one");
        tri_msg_free(m);
        return;
    }
    m->sender = TR_PID_NIL;
    m->exempt = 1;
    tri_deliver(sys, requester, m);
}

static void *pool_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-offload");
    tr_system *sys = arg;
    tri_offload *p = sys->offload;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->quit) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (!p->head) break; /* quit, and nothing left to run */
        job_node *n = p->head;
        p->head = n->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        tr_msg *result = n->job.run(n->job.arg);
        if (n->job.cleanup) n->job.cleanup(n->job.arg);
        if (result) send_result(sys, n->requester, result);
        free(n);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int tri_offload_init(tr_system *sys, unsigned max_threads)
{
    tri_offload *p = calloc(1, sizeof *p);
    if (!p) return TR_ENOMEM;
    p->max = max_threads;
    p->threads = calloc(max_threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return TR_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    sys->offload = p;
    return TR_OK;
}

/* Joins the threads after they finish the jobs already running; jobs not
 * started are cleaned up without running. */
void tri_offload_fini(tr_system *sys)
{
    tri_offload *p = sys->offload;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    job_node *pending = p->head;
    p->head = p->tail = NULL;
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    for (job_node *n = pending, *next; n; n = next) {
        next = n->next;
        if (n->job.cleanup) n->job.cleanup(n->job.arg);
        free(n);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
    sys->offload = NULL;
}

tr_err tr_offload(tr_ctx *ctx, tr_job job)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    tri_offload *p = a->sys->offload;
    if (!job.run) return TR_EINVAL;
    job_node *n = malloc(sizeof *n);
    if (!n) return TR_ENOMEM;
    n->next = NULL;
    n->job = job;
    n->requester = tri_pid_of(a);
    pthread_mutex_lock(&p->mu);
    if (p->quit) {
        pthread_mutex_unlock(&p->mu);
        free(n);
        return TR_ESTOPPED;
    }
    /* Start another thread only if none is idle and the limit allows. */
    if (p->idle == 0 && p->started < p->max) {
        if (pthread_create(&p->threads[p->started], NULL, pool_main, a->sys) == 0) p->started++;
        else if (p->started == 0) {
            pthread_mutex_unlock(&p->mu);
            free(n);
            return TR_EAGAIN;
        }
    }
    if (p->tail) p->tail->next = n;
    else p->head = n;
    p->tail = n;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return TR_OK;
}
