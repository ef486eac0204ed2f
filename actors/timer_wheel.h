/* timer_wheel.h — a hierarchical timing wheel (as in Linux, Tokio, Netty).
 *
 * Why: the timer service fires up to millions of timers a second; a binary
 * heap of 1M entries spent O(log n) cache misses per insert and pop, and fell
 * behind. A wheel inserts, removes and expires in O(1): 8 levels of 64 slots,
 * level k's slots each spanning 64^k ticks, so it covers 2^48 ticks (2,200
 * years at a quarter millisecond a tick). An entry sits at the level of the highest
 * base-64 digit in which its deadline differs from the wheel's current time,
 * and moves down a level (cascades) when the time reaches its slot, so each
 * entry moves at most 8 times in its life, and only when its time nears.
 * A bitmap per level finds the next occupied slot, so an idle wheel knows
 * how long it may sleep without walking empty slots.
 *
 * Deadlines are in ticks (the caller's unit); an entry is due once the time
 * is at or past its tick. Entries are intrusive (no allocation here).
 * Not thread-safe: one thread owns a wheel and its entries' links. */
#ifndef TRI_TIMER_WHEEL_H
#define TRI_TIMER_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define TRI_WHEEL_BITS 6
#define TRI_WHEEL_SLOTS (1u << TRI_WHEEL_BITS)
#define TRI_WHEEL_LEVELS 8
#define TRI_WHEEL_NOWHERE 0xffffu

typedef struct tri_wentry {
    uint64_t tick; /* the deadline */
    struct tri_wentry *prev, *next;
    uint16_t where; /* level << 6 | slot, or TRI_WHEEL_NOWHERE when not in a wheel */
} tri_wentry;

typedef struct tri_wheel {
    uint64_t elapsed; /* every tick up to this one has been expired */
    uint64_t occupied[TRI_WHEEL_LEVELS];
    size_t count;
    struct {
        tri_wentry *head, *tail;
    } slots[TRI_WHEEL_LEVELS][TRI_WHEEL_SLOTS];
} tri_wheel;

/* An empty wheel whose time is `now`. */
void tri_wheel_init(tri_wheel *w, uint64_t now);

/* Adds `e`, whose tick must be later than w->elapsed (the caller expires
 * anything already due itself). Entries with the same tick expire in the
 * order they were inserted. */
void tri_wheel_insert(tri_wheel *w, tri_wentry *e);

/* Takes `e` out; it must be in this wheel. */
void tri_wheel_remove(tri_wheel *w, tri_wentry *e);

/* The earliest tick at which tri_wheel_expire may return something (a
 * deadline, or the start of a slot that must cascade): the time to sleep
 * until. UINT64_MAX when the wheel is empty. */
uint64_t tri_wheel_next(const tri_wheel *w);

/* Moves the time towards `now` and returns the entries that came due on
 * the way: the earliest due tick's, taken out of the wheel and chained
 * through `next` in insertion order. Returns NULL once nothing more is due
 * by `now` (the time is then `now`). Call until it returns NULL; entries may
 * be inserted in between (with ticks after w->elapsed). */
tri_wentry *tri_wheel_expire(tri_wheel *w, uint64_t now);

#endif
