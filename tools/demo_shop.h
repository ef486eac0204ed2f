/* demo_shop.h — the shop's behaviours and messages, for `troupe demo`
 * (demo.c drives them; demo_shop.c is the service).
 *
 * The service: a front desk takes orders and passes each one, as a call,
 * to a cashier by name (round robin over its `cashiers` list, which may
 * name cashiers on other nodes: "cashier-3@shop-back"); a cashier
 * reserves the items with the inventory (another call, by name) and
 * answers the front desk once the inventory has answered it. An order
 * marked poisoned makes the cashier that takes it fail: its supervisor
 * restarts it, and every order it held comes back to the front desk as
 * "tr.down", counted as lost with its reason, never silently. */
#ifndef TROUPE_TOOLS_DEMO_SHOP_H
#define TROUPE_TOOLS_DEMO_SHOP_H

#include <stdint.h>

#include "troupe.h"

/* An order, as the driver sends it to the front desk ("shop.order") and
 * the front desk passes it on. */
typedef struct shop_order {
    uint32_t id, item, qty;
    uint32_t poisoned; /* nonzero: the cashier taking it fails */
} shop_order;

/* The front desk's tally: its answer to "shop.stats" and its "shop.done"
 * message. Every order sent is, once answered, in exactly one of sold,
 * sold_out, busy or one of the lost_* counts. */
typedef struct shop_tally {
    uint64_t answered;
    uint64_t sold, units, sold_out;
    uint64_t busy;           /* a cashier had too many orders in hand */
    uint64_t lost_crashed;   /* "tr.down", failure: the cashier failed holding it */
    uint64_t lost_restarting; /* "tr.down", noproc: the cashier was being restarted */
    uint64_t lost_noconnection; /* "tr.down", noconnection: its node was lost */
    uint64_t lost_timeout;   /* no answer within the call's timeout */
    uint64_t lost_no_cashier; /* no cashier was registered at all */
    uint64_t lost_store;     /* the inventory did not answer the cashier */
} shop_tally;

/* Registers demo.inventory, demo.cashier and demo.front in the behaviour
 * table (once; later calls do nothing). Errors: as tr_behaviour_register. */
int shop_register(void);

/* The message types. */
tr_atom shop_order_atom(void);  /* driver -> front, front -> cashier */
tr_atom shop_expect_atom(void); /* driver -> front: uint64_t total orders */
tr_atom shop_done_atom(void);   /* front -> driver: shop_tally, once all answered */
tr_atom shop_stats_atom(void);  /* request to front: its shop_tally now */

#endif
