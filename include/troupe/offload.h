/** @file
 * troupe/offload.h — running blocking work off the worker threads.
 *
 * Actors must never block. A job that has to (file I/O, a blocking library
 * call, heavy CPU work) runs on the system's pool of blocking threads, as
 * AnyIO's to_thread.run_sync does; at most `blocking_threads` jobs run at
 * once (tr_system_opts), the others wait in FIFO order. Its result comes
 * back to the actor that asked as an ordinary message, which its mailbox
 * takes even when bounded and full, as it takes a call's reply (the actor
 * asked for it). If that actor has ended by then, the result is a dead
 * letter, never delivered to another actor. */
#ifndef TROUPE_OFFLOAD_H
#define TROUPE_OFFLOAD_H

#include "error.h"

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A job for the blocking pool: what to run, on what, and how to free it. */
typedef struct tr_job {
    /** Runs on a blocking thread. Returns the message to send back to the
     * requester (built with tr_msg_new; the runtime takes it), or NULL to
     * send nothing. Must not call tr_ctx functions. */
    tr_msg *(*run)(void *arg);
    /** Optional: called exactly once after run, or instead of it when the
     * system is destroyed before the job started; frees `arg`. */
    void (*cleanup)(void *arg);
    void *arg; /**< handed to run and cleanup */
} tr_job;

/** tr_offload — queues `job`; its result will come to the calling actor.
 * Errors: TR_EINVAL (no run function), TR_ENOMEM, TR_EAGAIN (no thread
 * could be started), TR_ESTOPPED (the system is being destroyed); on error
 * cleanup has not been called. Actor context only. */
tr_err tr_offload(tr_ctx *ctx, tr_job job);

#ifdef __cplusplus
}
#endif
#endif
