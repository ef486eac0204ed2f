/** @file
 * troupe/timer.h — time: clocks, timers and deadlines.
 *
 * Time in a system comes from its clock: the real monotonic clock, or a
 * manual clock that a test advances by hand, so that timers, call timeouts,
 * shutdown timeouts and deadlines are tested without sleeping. */
#ifndef TROUPE_TIMER_H
#define TROUPE_TIMER_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- clocks */

/** A time source: a manual clock (the real one is NULL). Opaque. */
typedef struct tr_clock tr_clock;

/** tr_clock_manual_new — a clock that stands still at 0 ms until advanced.
 * Pass it as tr_system_opts.clock to every system that should use it; it
 * must outlive them. Errors: TR_EINVAL (out is NULL), TR_ENOMEM. */
tr_err tr_clock_manual_new(tr_clock **out);

/** tr_clock_advance — moves a manual clock forward by `ms` (>= 0). When it
 * returns, every timer that became due in every system using the clock has
 * been fired: its message is in its receiver's mailbox, ahead of anything
 * sent after this call. Any non-actor thread, but not while a system using
 * the clock is being created or destroyed. Errors: TR_EINVAL (negative,
 * or not a manual clock). */
tr_err tr_clock_advance(tr_clock *clock, int64_t ms);

/** tr_clock_now_ms — the clock's current time in milliseconds. */
int64_t tr_clock_now_ms(const tr_clock *clock);

/** tr_clock_destroy — frees a manual clock, after every system that uses it
 * has been destroyed; sets *clock to NULL. Accepts NULL. */
void tr_clock_destroy(tr_clock **clock);

/** tr_now_ms — the calling actor's system time in milliseconds (monotonic;
 * the manual clock's time when the system has one). */
int64_t tr_now_ms(const tr_ctx *ctx);

/** tr_system_now_ms — the same from any thread. */
int64_t tr_system_now_ms(const tr_system *sys);

/* ------------------------------------------------------------- timers */

/** A timer's handle; {0} is "no timer". Handles are never reused. */
typedef struct tr_timer {
    uint64_t id; /**< the handle's number (0: none) */
} tr_timer;

/** tr_send_after — sends a message of `type` with a copy of `data` to `to`
 * after `delay_ms` (>= 0), with the calling actor as its sender. The timer
 * belongs to the calling actor and dies with it: once the actor has ended,
 * it never fires. *out (may be NULL) gets the handle. Timers keep
 * quarter-millisecond ticks: one fires at the first tick at or after its
 * deadline, never early (with the real clock, up to about a quarter of a
 * millisecond late, plus the time it takes to wake the receiver).
 * A timer's message, whatever its delay (0 included), is handled as a
 * fired one: it never blocks or fails on a full bounded mailbox; if the
 * receiver's mailbox is full when it arrives, it is dropped (counted in
 * tr_system_stats.dropped, and a dead letter), and tr_send_after still
 * returns TR_OK. `to` may be an actor of another node, as in Erlang's
 * send_after: when the timer fires, the message goes as tr_send sends it
 * (to a node that is down or unknown then, it is a dead letter with that
 * reason). Errors: TR_EINVAL, TR_ETOOBIG, TR_ENOROUTE (`to` is of another
 * node and this system is not a node), TR_ENOMEM. Actor context only;
 * costs no lock and no system call in the common case, whatever the
 * number of pending timers. */
tr_err tr_send_after(tr_ctx *ctx, tr_pid to, int64_t delay_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out);

/** tr_send_every — as tr_send_after, then again every `period_ms` (> 0)
 * until cancelled or the actor ends. A period that falls wholly behind
 * (the clock jumped) fires once, not once per missed period. */
tr_err tr_send_every(tr_ctx *ctx, tr_pid to, int64_t period_ms, tr_atom type, const void *data,
                  size_t size, tr_timer *out);

/** tr_timer_cancel — cancels a timer of the calling actor. Returns TR_OK
 * when it was pending (it will not fire again), TR_ENOENT when it already
 * fired (one-shot), was cancelled, or is not the caller's. A message the
 * timer already sent is not recalled. Actor context only. */
tr_err tr_timer_cancel(tr_ctx *ctx, tr_timer timer);

#ifdef __cplusplus
}
#endif
#endif
