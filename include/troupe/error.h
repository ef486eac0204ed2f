/** @file
 * troupe/error.h — the one error enum and its names.
 *
 * Every troupe function that can fail returns 0 (TR_OK) or a negative TR_E*
 * code; results come back through out-parameters. */
#ifndef TROUPE_ERROR_H
#define TROUPE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** The error codes: TR_OK (0) or a negative TR_E* code (see above). */
typedef enum tr_err {
    TR_OK = 0,
    TR_ENOMEM = -1,     /**< an allocation failed */
    TR_EINVAL = -2,     /**< an argument is out of its documented range */
    TR_ENOENT = -3,     /**< no such actor, child or name */
    TR_ESTOPPED = -4,   /**< the system is stopping or stopped */
    TR_EFULL = -5,      /**< a bounded mailbox is full */
    TR_ETIMEDOUT = -6,  /**< a deadline passed before the event */
    TR_EFAILED = -7,    /**< an actor failed; see tr_system_report() */
    TR_ETOOBIG = -8,    /**< a message is larger than TR_MSG_MAX */
    TR_ENOTACTOR = -9,  /**< the call needs an actor context or a foreign thread */
    TR_EEXIST = -10,    /**< the name or id is already taken */
    TR_EAGAIN = -11,    /**< nothing available now; try again */
    TR_ESTATE = -12,    /**< the object is in the wrong state for this call */
    TR_ENOROUTE = -13,  /**< the pid names a node this system cannot reach */
    TR_EPRESENT = -14,  /**< a child spec with that id exists (not running) */
    TR_EBUSY = -15,     /**< the child is running */
    TR_EBADMSG = -16,   /**< a payload is malformed or truncated (troupe/pack.h) */
} tr_err;

/** tr_strerror — a short static English description of an error code.
 * Never returns NULL; unknown codes give "unknown error". Thread-safe. */
const char *tr_strerror(int err);

/** tr_err_name — the code's name as written in this header ("TR_OK",
 * "TR_ENOMEM", ...), for logs and test output; unknown codes give
 * "TR_E?". Never NULL. Thread-safe. */
const char *tr_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
