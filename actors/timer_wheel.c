/* timer_wheel.c — see timer_wheel.h.
 *
 * The invariant everything rests on: an entry at level k has a deadline
 * whose base-64 digits above k equal those of `elapsed` and whose digit k
 * is greater. So every entry of level k-1 and below lies in the level-k
 * slot that `elapsed` is in, before every entry of level k; the first
 * occupied level holds the earliest expiry, and a level-k slot is cascaded
 * when `elapsed` reaches its start, before anything in it can be due.
 * Jumping `elapsed` forward to a time before the next expiry keeps the
 * invariant: no slot start is passed. */
#include "timer_wheel.h"

#include <assert.h>

static inline unsigned level_for(uint64_t elapsed, uint64_t tick)
{
    uint64_t diff = (elapsed ^ tick) | (TRI_WHEEL_SLOTS - 1);
    unsigned msb = 63u - (unsigned)__builtin_clzll(diff);
    unsigned level = msb / TRI_WHEEL_BITS;
    return level < TRI_WHEEL_LEVELS ? level : TRI_WHEEL_LEVELS - 1;
}

void tri_wheel_init(tri_wheel *w, uint64_t now)
{
    *w = (tri_wheel){.elapsed = now};
}

static void append(tri_wheel *w, unsigned level, unsigned slot, tri_wentry *e)
{
    e->where = (uint16_t)(level << TRI_WHEEL_BITS | slot);
    e->next = NULL;
    e->prev = w->slots[level][slot].tail;
    if (e->prev) e->prev->next = e;
    else w->slots[level][slot].head = e;
    w->slots[level][slot].tail = e;
    w->occupied[level] |= 1ull << slot;
}

static void place(tri_wheel *w, tri_wentry *e)
{
    assert(e->tick > w->elapsed);
    unsigned level = level_for(w->elapsed, e->tick);
    unsigned slot = (unsigned)(e->tick >> (level * TRI_WHEEL_BITS)) & (TRI_WHEEL_SLOTS - 1);
    append(w, level, slot, e);
}

void tri_wheel_insert(tri_wheel *w, tri_wentry *e)
{
    place(w, e);
    w->count++;
}

void tri_wheel_remove(tri_wheel *w, tri_wentry *e)
{
    unsigned level = e->where >> TRI_WHEEL_BITS, slot = e->where & (TRI_WHEEL_SLOTS - 1);
    if (e->prev) e->prev->next = e->next;
    else w->slots[level][slot].head = e->next;
    if (e->next) e->next->prev = e->prev;
    else w->slots[level][slot].tail = e->prev;
    if (!w->slots[level][slot].head) w->occupied[level] &= ~(1ull << slot);
    e->prev = e->next = NULL;
    e->where = TRI_WHEEL_NOWHERE;
    w->count--;
}

/* The first occupied slot of `level` at or after the current time, and the
 * tick at which it starts. */
static int level_next(const tri_wheel *w, unsigned level, unsigned *slot_out, uint64_t *tick)
{
    uint64_t occ = w->occupied[level];
    if (!occ) return 0;
    unsigned shift = level * TRI_WHEEL_BITS;
    unsigned now_slot = (unsigned)(w->elapsed >> shift) & (TRI_WHEEL_SLOTS - 1);
    uint64_t rot = now_slot ? (occ >> now_slot) | (occ << (64 - now_slot)) : occ;
    unsigned slot = (now_slot + (unsigned)__builtin_ctzll(rot)) & (TRI_WHEEL_SLOTS - 1);
    uint64_t slot_range = 1ull << shift, level_range = slot_range << TRI_WHEEL_BITS;
    uint64_t t = (w->elapsed & ~(level_range - 1)) + slot * slot_range;
    if (t <= w->elapsed) t += level_range; /* cannot happen (see the top); harmless */
    *slot_out = slot;
    *tick = t;
    return 1;
}

static int next_slot(const tri_wheel *w, unsigned *level, unsigned *slot, uint64_t *tick)
{
    for (unsigned l = 0; l < TRI_WHEEL_LEVELS; l++)
        if (level_next(w, l, slot, tick)) {
            *level = l;
            return 1;
        }
    return 0;
}

uint64_t tri_wheel_next(const tri_wheel *w)
{
    unsigned level, slot;
    uint64_t tick;
    return next_slot(w, &level, &slot, &tick) ? tick : UINT64_MAX;
}

tri_wentry *tri_wheel_expire(tri_wheel *w, uint64_t now)
{
    unsigned level, slot;
    uint64_t tick;
    while (next_slot(w, &level, &slot, &tick) && tick <= now) {
        tri_wentry *e = w->slots[level][slot].head;
        w->slots[level][slot].head = w->slots[level][slot].tail = NULL;
        w->occupied[level] &= ~(1ull << slot);
        w->elapsed = tick;
        tri_wentry *due = NULL, *due_tail = NULL;
        while (e) {
            tri_wentry *n = e->next;
            if (e->tick <= tick) {
                e->where = TRI_WHEEL_NOWHERE;
                e->prev = due_tail;
                e->next = NULL;
                if (due_tail) due_tail->next = e;
                else due = e;
                due_tail = e;
                w->count--;
            } else {
                place(w, e); /* down to a lower level, order kept */
            }
            e = n;
        }
        if (due) return due;
    }
    if (now > w->elapsed) w->elapsed = now;
    return NULL;
}
