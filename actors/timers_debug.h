/* timers_debug.h — what tests may ask the timer service about its memory
 * (issue 13: arming and cancelling without end must not grow it). */
#ifndef TRI_TIMERS_DEBUG_H
#define TRI_TIMERS_DEBUG_H

#include <stdint.h>

#include "troupe/system.h"

/* tri_timers_node_count — timer nodes ever carved (the table never
 * shrinks, so this is its high-water mark). Any thread. */
uint64_t tri_timers_node_count(tr_system *sys);

#endif
