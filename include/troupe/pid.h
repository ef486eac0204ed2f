/** @file
 * troupe/pid.h — actor identifiers.
 *
 * A tr_pid names one actor (or inbox) for its whole life and never another:
 * `slot` is where the actor lives in its node's table and `serial` is unique
 * for the life of the system, so a pid kept after its actor died can never
 * reach the next actor that reuses the slot (as BEAM's process table does).
 * Pids are plain values: copy, compare and send them freely. */
#ifndef TROUPE_PID_H
#define TROUPE_PID_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An actor's (or an inbox's) name for its whole life (see above). */
typedef struct tr_pid {
    uint32_t node;   /**< which system (node) the actor lives on */
    uint32_t slot;   /**< index in that node's actor table */
    uint64_t serial; /**< incarnation; 0 only in the nil pid */
} tr_pid;

/** The nil pid: names no actor. Messages sent by non-actor threads carry it
 * as their sender. */
#define TR_PID_NIL ((tr_pid){0, 0, 0})

/** tr_pid_is_nil — whether `p` is the nil pid. */
static inline bool tr_pid_is_nil(tr_pid p) { return p.serial == 0; }

/** tr_pid_eq — whether two pids name the same actor. */
static inline bool tr_pid_eq(tr_pid a, tr_pid b)
{
    return a.node == b.node && a.slot == b.slot && a.serial == b.serial;
}

/** The buffer size that always fits tr_pid_format's text. */
#define TR_PID_STRLEN 48

/** tr_pid_format — writes "<node.slot.serial>" into buf (truncated to
 * `size`, always NUL-terminated when size > 0) and returns buf. */
char *tr_pid_format(tr_pid pid, char *buf, size_t size);

/** tr_pid_parse — reads tr_pid_format's text ("<node.slot.serial>", all
 * decimal, nothing after it) into *out. Errors: TR_EINVAL (malformed or
 * out of range; *out is then nil). Any thread. */
tr_err tr_pid_parse(const char *text, tr_pid *out);

#ifdef __cplusplus
}
#endif
#endif
