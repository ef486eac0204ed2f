/* demo.c — `troupe demo`: a small shop service on a built-in tree.
 *
 *   /root/shop                 trap exits; restarts a failed cashier
 *     inventory                stock per item; answers reserve requests
 *     ledger                   totals; tells the driver when all is booked
 *     cashiers                 trap exits; owns the cashier pool
 *       cashier-1..4           take orders, reserve stock, book the sale
 *
 * Every 500th order is "poisoned": the cashier that takes one fails; its
 * parent hears of it as a message and starts a replacement, so the failure
 * is handled and the run still ends cleanly, in reverse start order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "troupe.h"

#define CASHIERS 4
#define ITEMS 32

typedef struct order {
    uint32_t id, item, qty;
    tr_pid cashier; /* filled by the cashier when asking the inventory */
} order;

static tr_atom A_ORDER, A_RESERVE, A_RESERVED, A_SOLD_OUT, A_BOOK, A_DONE, A_EXPECT, A_ACK;

/* The driver tells the ledger how many orders to expect and whom to tell. */
typedef struct expect {
    uint64_t orders;
    tr_pid driver;
} expect;

/* What a ledger booking says. */
enum { BOOK_SOLD_OUT = 0, BOOK_SOLD = 1, BOOK_LOST = 2 };

static void atoms(void)
{
    A_ORDER = tr_atom_from("shop.order");
    A_RESERVE = tr_atom_from("shop.reserve");
    A_RESERVED = tr_atom_from("shop.reserved");
    A_SOLD_OUT = tr_atom_from("shop.sold_out");
    A_BOOK = tr_atom_from("shop.book");
    A_DONE = tr_atom_from("shop.done");
    A_EXPECT = tr_atom_from("shop.expect");
    A_ACK = tr_atom_from("shop.ack");
}

/* ------------------------------------------------------------ inventory */

typedef struct inventory {
    uint32_t stock[ITEMS];
} inventory;

static int inventory_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    (void)ctx, (void)a, (void)n;
    inventory *s = vs;
    for (int i = 0; i < ITEMS; i++) s->stock[i] = 40;
    return 0;
}

static int inventory_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    inventory *s = vs;
    order o;
    if (!tr_msg_is(m, A_RESERVE) || tr_msg_size(m) != sizeof o) return 0;
    memcpy(&o, tr_msg_data(m), sizeof o);
    bool ok = o.item < ITEMS && s->stock[o.item] >= o.qty;
    if (ok) s->stock[o.item] -= o.qty;
    return tr_send(ctx, tr_msg_sender(m), ok ? A_RESERVED : A_SOLD_OUT, &o, sizeof o);
}

static const tr_behaviour inventory_b = {"inventory", sizeof(inventory), inventory_init,
                                         inventory_handle, NULL};

/* --------------------------------------------------------------- ledger */

typedef struct ledger {
    tr_pid driver;
    uint64_t expected, booked, sold, sold_out, lost, units;
} ledger;

static int ledger_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    ledger *s = vs;
    if (tr_msg_is(m, A_EXPECT)) {
        expect x;
        memcpy(&x, tr_msg_data(m), sizeof x);
        s->expected = x.orders;
        s->driver = x.driver;
    } else if (tr_msg_is(m, A_BOOK)) {
        uint32_t v[2]; /* BOOK_*, quantity (orders, for BOOK_LOST) */
        memcpy(v, tr_msg_data(m), sizeof v);
        if (v[0] == BOOK_SOLD) s->booked++, s->sold++, s->units += v[1];
        else if (v[0] == BOOK_SOLD_OUT) s->booked++, s->sold_out++;
        else s->booked += v[1], s->lost += v[1];
    }
    if (s->expected && s->booked == s->expected) {
        uint64_t out[4] = {s->sold, s->sold_out, s->lost, s->units};
        s->expected = 0;
        return tr_send(ctx, s->driver, A_DONE, out, sizeof out);
    }
    return 0;
}

static const tr_behaviour ledger_b = {"ledger", sizeof(ledger), NULL, ledger_handle, NULL};

/* -------------------------------------------------------------- cashier */

typedef struct peers {
    tr_pid inventory, ledger;
} peers;

static int cashier_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    (void)ctx;
    memcpy(vs, a, n);
    return 0;
}

static int cashier_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    peers *p = vs;
    order o;
    if (tr_msg_size(m) != sizeof o) return 0;
    memcpy(&o, tr_msg_data(m), sizeof o);
    if (tr_msg_is(m, A_ORDER)) {
        if (o.id % 500 == 0) return tr_fail(ctx, "order %u is poisoned", o.id);
        return tr_send(ctx, p->inventory, A_RESERVE, &o, sizeof o);
    }
    uint32_t v[2] = {tr_msg_is(m, A_RESERVED) ? BOOK_SOLD : BOOK_SOLD_OUT, o.qty};
    int rc = tr_send(ctx, p->ledger, A_BOOK, v, sizeof v);
    return rc ? rc : tr_send(ctx, tr_parent(ctx), A_ACK, NULL, 0);
}

static const tr_behaviour cashier_b = {"cashier", sizeof(peers), cashier_init, cashier_handle,
                                       NULL};

/* ------------------------------------------------------------- cashiers */

typedef struct cashiers {
    peers p;
    tr_pid pool[CASHIERS];
    uint32_t in_flight[CASHIERS]; /* orders given and not yet acked */
    unsigned next, restarts;
} cashiers;

static int start_cashier(tr_ctx *ctx, cashiers *s, unsigned i)
{
    char name[32];
    snprintf(name, sizeof name, "cashier-%u", i + 1);
    tr_spawn_opts o = {.name = name, .args = &s->p, .args_size = sizeof s->p};
    return tr_spawn(ctx, &cashier_b, &o, &s->pool[i]);
}

static int cashiers_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    cashiers *s = vs;
    memcpy(&s->p, a, n);
    for (unsigned i = 0; i < CASHIERS; i++) {
        int rc = start_cashier(ctx, s, i);
        if (rc) return rc;
    }
    return 0;
}

static int cashiers_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    cashiers *s = vs;
    if (tr_msg_is(m, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        if (tr_exit_info(m, &who, &why) != TR_OK) return 0;
        for (unsigned i = 0; i < CASHIERS; i++) {
            if (!tr_pid_eq(s->pool[i], who)) continue;
            printf("  cashiers: cashier-%u ended (%s%s%s), %u order(s) lost with it; "
                   "starting a new one\n",
                   i + 1, tr_exit_kind_name(why.kind), why.text ? ": " : "",
                   why.text ? why.text : "", s->in_flight[i]);
            s->restarts++;
            /* what it held died with it (dead letters): book it as lost */
            uint32_t v[2] = {BOOK_LOST, s->in_flight[i]};
            s->in_flight[i] = 0;
            tr_send(ctx, s->p.ledger, A_BOOK, v, sizeof v);
            return start_cashier(ctx, s, i);
        }
        return 0;
    }
    if (tr_msg_is(m, A_ACK)) {
        for (unsigned i = 0; i < CASHIERS; i++)
            if (tr_pid_eq(s->pool[i], tr_msg_sender(m))) s->in_flight[i]--;
        return 0;
    }
    /* an order: hand it to the next cashier, round robin */
    order o;
    memcpy(&o, tr_msg_data(m), sizeof o);
    unsigned i = s->next++ % CASHIERS;
    s->in_flight[i]++;
    return tr_send(ctx, s->pool[i], A_ORDER, &o, sizeof o);
}

static void cashiers_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)ctx;
    printf("  cashiers: stopped (%s) after %u restart(s)\n", tr_exit_kind_name(why->kind),
           ((cashiers *)vs)->restarts);
}

static const tr_behaviour cashiers_b = {"cashiers", sizeof(cashiers), cashiers_init,
                                        cashiers_handle, cashiers_terminate};

/* ----------------------------------------------------------------- shop */

typedef struct shop {
    tr_pid inventory, ledger, cashiers;
} shop;

static int shop_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    (void)a, (void)n;
    shop *s = vs;
    int rc;
    tr_spawn_opts inv = {.name = "inventory"}, led = {.name = "ledger"};
    if ((rc = tr_spawn(ctx, &inventory_b, &inv, &s->inventory))) return rc;
    if ((rc = tr_spawn(ctx, &ledger_b, &led, &s->ledger))) return rc;
    peers p = {s->inventory, s->ledger};
    tr_spawn_opts cs = {.name = "cashiers", .args = &p, .args_size = sizeof p,
                        .flags = TR_SPAWN_TRAP_EXITS};
    return tr_spawn(ctx, &cashiers_b, &cs, &s->cashiers);
}

static int shop_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    shop *s = vs;
    if (tr_msg_is(m, A_EXPECT))
        return tr_send(ctx, s->ledger, A_EXPECT, tr_msg_data(m), tr_msg_size(m));
    if (tr_msg_is(m, A_ORDER))
        return tr_send(ctx, s->cashiers, A_ORDER, tr_msg_data(m), tr_msg_size(m));
    return 0;
}

static void shop_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)ctx, (void)vs;
    printf("  shop: stopped (%s), after inventory, ledger and cashiers\n",
           tr_exit_kind_name(why->kind));
}

static const tr_behaviour shop_b = {"shop", sizeof(shop), shop_init, shop_handle,
                                    shop_terminate};

int troupe_demo(unsigned orders)
{
    atoms();
    tr_system *sys;
    int rc = tr_system_new(NULL, &sys);
    if (rc) {
        fprintf(stderr, "troupe demo: %s\n", tr_strerror(rc));
        return 1;
    }
    tr_log_set_level(TR_LOG_ERROR); /* the poisoned orders are expected */
    tr_inbox *in;
    tr_inbox_new(sys, &in);
    tr_pid shop_pid;
    tr_spawn_opts so = {.name = "shop", .flags = TR_SPAWN_TRAP_EXITS};
    tr_system_spawn(sys, &shop_b, &so, &shop_pid);
    printf("troupe demo: /root/shop with inventory, ledger and %d cashiers; %u orders\n",
           CASHIERS, orders);

    expect x = {orders, tr_inbox_pid(in)};
    tr_inbox_send(in, shop_pid, A_EXPECT, &x, sizeof x);
    uint32_t r = 2463534242u; /* xorshift32: the same orders every run */
    for (uint32_t i = 1; i <= orders; i++) {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        order o = {i, r % ITEMS, 1 + (r >> 8) % 3, TR_PID_NIL};
        tr_inbox_send(in, shop_pid, A_ORDER, &o, sizeof o);
    }
    const tr_msg *m;
    rc = tr_inbox_recv(in, &m, 30000);
    if (rc == TR_OK) {
        uint64_t out[4];
        memcpy(out, tr_msg_data(m), sizeof out);
        printf("troupe demo: %llu orders sold (%llu units), %llu sold out, %llu lost to "
               "failures\n",
               (unsigned long long)out[0], (unsigned long long)out[3],
               (unsigned long long)out[1], (unsigned long long)out[2]);
    } else {
        fprintf(stderr, "troupe demo: no result: %s\n", tr_strerror(rc));
    }
    printf("troupe demo: shutting down in reverse start order\n");
    tr_system_stop(sys);
    int end = tr_system_wait(sys, 30000);
    tr_system_stats st;
    tr_system_get_stats(sys, &st);
    printf("troupe demo: %s; %llu actors spawned, %llu live, %llu messages, %llu dead letters\n",
           end == TR_OK ? "clean shutdown" : tr_strerror(end),
           (unsigned long long)st.actors_spawned, (unsigned long long)st.actors_live,
           (unsigned long long)st.messages_sent, (unsigned long long)st.dead_letters);
    tr_inbox_destroy(&in);
    tr_system_destroy(&sys);
    return rc == TR_OK && end == TR_OK ? 0 : 1;
}
