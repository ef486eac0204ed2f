/* demo_shop.c — the shop service of `troupe demo` (demo_shop.h).
 *
 * Each behaviour logs "demo: stopped <id> on <node> (<reason>)" at info
 * level when it terminates: the demo shows the order in which the tree
 * stops, across both nodes, from these lines. */
#include "demo_shop.h"

#include <stdio.h>
#include <string.h>

#define MAX_ITEMS    64
#define MAX_CASHIERS 16
#define MAX_PENDING  256
#define CASHIER_CALL_MS 2000
#define STORE_CALL_MS   1000

tr_atom shop_order_atom(void) { return tr_atom_from("shop.order"); }
tr_atom shop_expect_atom(void) { return tr_atom_from("shop.expect"); }
tr_atom shop_done_atom(void) { return tr_atom_from("shop.done"); }
tr_atom shop_stats_atom(void) { return tr_atom_from("shop.stats"); }
static tr_atom reserve_atom(void) { return tr_atom_from("shop.reserve"); }
static tr_atom reserved_atom(void) { return tr_atom_from("shop.reserved"); }
static tr_atom sold_out_atom(void) { return tr_atom_from("shop.sold_out"); }
static tr_atom busy_atom(void) { return tr_atom_from("shop.busy"); }
static tr_atom no_store_atom(void) { return tr_atom_from("shop.no_store"); }

static void log_stop(tr_ctx *ctx, const tr_exit *why)
{
    char path[256];
    tr_path(ctx, path, sizeof path);
    const char *id = strrchr(path, '/');
    tr_node *n = tr_node_of(tr_ctx_system(ctx));
    tr_log(TR_LOG_INFO, "demo: stopped %s on %s (%s)", id ? id + 1 : path,
           n ? tr_node_name(n) : "this node", tr_exit_kind_name(why->kind));
}

/* ------------------------------------------------------------ inventory */

typedef struct inventory {
    uint32_t items, full;
    bool restock;
    uint32_t stock[MAX_ITEMS];
} inventory;

/* args: items (1..64, default 32), stock (per item, default 100),
 * restock (bool, default false: an item that runs out is refilled to
 * `stock` after the order that found it short is answered sold out) */
static int inventory_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    inventory *s = vs;
    int64_t items = 32, stock = 100;
    int rc = tr_args_int(args, size, "items", &items);
    if ((rc != TR_OK && rc != TR_ENOENT) || items < 1 || items > MAX_ITEMS)
        return tr_fail(ctx, "args: items wants an int from 1 to %d", MAX_ITEMS);
    rc = tr_args_int(args, size, "stock", &stock);
    if ((rc != TR_OK && rc != TR_ENOENT) || stock < 0 || stock > 1000000000)
        return tr_fail(ctx, "args: stock wants an int from 0 to 1000000000");
    rc = tr_args_bool(args, size, "restock", &s->restock);
    if (rc != TR_OK && rc != TR_ENOENT) return tr_fail(ctx, "args: restock wants true or false");
    s->items = (uint32_t)items;
    s->full = (uint32_t)stock;
    for (uint32_t i = 0; i < s->items; i++)
        s->stock[i] = (uint32_t)stock;
    return 0;
}

static int inventory_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    inventory *s = vs;
    shop_order o;
    if (!tr_msg_is(m, reserve_atom()) || tr_msg_size(m) != sizeof o) return 0;
    memcpy(&o, tr_msg_data(m), sizeof o);
    bool ok = o.item < s->items && s->stock[o.item] >= o.qty;
    if (ok)
        s->stock[o.item] -= o.qty;
    else if (o.item < s->items && s->restock)
        s->stock[o.item] = s->full;
    return tr_reply(ctx, m, ok ? reserved_atom() : sold_out_atom(), &o, sizeof o);
}

static void inventory_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    log_stop(ctx, why);
}

static const tr_behaviour inventory_b = {"demo.inventory", sizeof(inventory), inventory_init,
                                         inventory_handle, inventory_terminate};

/* -------------------------------------------------------------- cashier */

/* An order waiting for the inventory: the front desk's request, and the
 * reference of our own call to the inventory. */
typedef struct pending {
    tr_request front;
    tr_ref reserve;
} pending;

typedef struct cashier {
    char inventory[256]; /* the inventory's name: "inventory" or "inventory@node" */
    pending wait[MAX_PENDING];
    unsigned n;
} cashier;

/* args: inventory (a name, required) */
static int cashier_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    cashier *s = vs;
    const char *inv;
    size_t len;
    if (tr_args_str(args, size, "inventory", &inv, &len) != TR_OK || !len ||
        len >= sizeof s->inventory)
        return tr_fail(ctx, "args: inventory wants the inventory's registered name");
    memcpy(s->inventory, inv, len + 1);
    return 0;
}

static int cashier_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    cashier *s = vs;
    shop_order o;
    if (tr_msg_is(m, shop_order_atom())) {
        if (tr_msg_size(m) != sizeof o) return 0;
        memcpy(&o, tr_msg_data(m), sizeof o);
        if (o.poisoned) return tr_fail(ctx, "order %u is poisoned", o.id);
        if (s->n == MAX_PENDING) return tr_reply(ctx, m, busy_atom(), &o, sizeof o);
        pending *p = &s->wait[s->n];
        int rc = tr_call_named(ctx, s->inventory, reserve_atom(), &o, sizeof o, STORE_CALL_MS,
                               &p->reserve);
        if (rc != TR_OK) return tr_reply(ctx, m, no_store_atom(), &o, sizeof o);
        p->front = tr_msg_request(m); /* answered when the inventory answers */
        s->n++;
        return 0;
    }
    /* the inventory's answer, or its timeout or "down": answer the front desk */
    tr_ref ref = tr_msg_ref(m);
    for (unsigned i = 0; i < s->n; i++) {
        if (s->wait[i].reserve.id != ref.id) continue;
        tr_request front = s->wait[i].front;
        s->wait[i] = s->wait[--s->n];
        tr_atom answer = tr_msg_is(m, reserved_atom())   ? reserved_atom()
                         : tr_msg_is(m, sold_out_atom()) ? sold_out_atom()
                                                         : no_store_atom();
        if (tr_msg_size(m) == sizeof o)
            memcpy(&o, tr_msg_data(m), sizeof o);
        else
            memset(&o, 0, sizeof o);
        return tr_reply_to(ctx, front, answer, &o, sizeof o);
    }
    return 0;
}

static void cashier_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    log_stop(ctx, why);
}

static const tr_behaviour cashier_b = {"demo.cashier", sizeof(cashier), cashier_init,
                                       cashier_handle, cashier_terminate};

/* ---------------------------------------------------------------- front */

typedef struct front {
    char cashiers[MAX_CASHIERS][256];
    unsigned ncashiers, next;
    tr_pid driver;
    uint64_t expected; /* 0: not asked yet */
    shop_tally t;
} front;

/* args: cashiers (a list of 1..16 names, "name" or "name@node") */
static int front_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    front *s = vs;
    tr_args_iter it;
    if (tr_args_iter_init(&it, args, size, "cashiers") != TR_OK)
        return tr_fail(ctx, "args: cashiers wants a list of names");
    tr_args_value v;
    while (tr_args_iter_next(&it, NULL, &v) == TR_OK) {
        if (v.type != TR_ARGS_STR || !v.len || v.len >= sizeof s->cashiers[0] ||
            s->ncashiers == MAX_CASHIERS)
            return tr_fail(ctx, "args: cashiers wants 1 to %d names", MAX_CASHIERS);
        memcpy(s->cashiers[s->ncashiers++], v.s, v.len + 1);
    }
    if (!s->ncashiers) return tr_fail(ctx, "args: cashiers wants 1 to %d names", MAX_CASHIERS);
    return 0;
}

static int front_route(tr_ctx *ctx, front *s, const tr_msg *m)
{
    /* a local cashier being restarted has no name: the next one takes the
     * order; a remote name is resolved there (noproc if it is missing) */
    for (unsigned tries = 0; tries < s->ncashiers; tries++) {
        const char *name = s->cashiers[s->next++ % s->ncashiers];
        int rc = tr_call_named(ctx, name, shop_order_atom(), tr_msg_data(m), tr_msg_size(m),
                               CASHIER_CALL_MS, NULL);
        if (rc == TR_OK) return 0;
        if (rc != TR_ENOENT) break;
    }
    s->t.answered++, s->t.lost_no_cashier++;
    return 0;
}

static int front_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    front *s = vs;
    if (tr_msg_is(m, shop_stats_atom()) && tr_msg_is_request(m))
        return tr_reply(ctx, m, shop_stats_atom(), &s->t, sizeof s->t);
    if (tr_msg_is(m, shop_expect_atom()) && tr_msg_size(m) == sizeof s->expected) {
        memcpy(&s->expected, tr_msg_data(m), sizeof s->expected);
        s->driver = tr_msg_sender(m);
    } else if (tr_msg_is(m, shop_order_atom()) && !tr_msg_is_request(m)) {
        front_route(ctx, s, m);
    } else if (tr_msg_is(m, reserved_atom())) {
        shop_order o;
        memcpy(&o, tr_msg_data(m), sizeof o);
        s->t.answered++, s->t.sold++, s->t.units += o.qty;
    } else if (tr_msg_is(m, sold_out_atom())) {
        s->t.answered++, s->t.sold_out++;
    } else if (tr_msg_is(m, busy_atom())) {
        s->t.answered++, s->t.busy++;
    } else if (tr_msg_is(m, no_store_atom())) {
        s->t.answered++, s->t.lost_store++;
    } else if (tr_msg_is(m, tr_timeout_atom())) {
        s->t.answered++, s->t.lost_timeout++;
    } else if (tr_msg_is(m, tr_down_atom())) {
        tr_pid who;
        tr_exit why;
        s->t.answered++;
        if (tr_exit_decode(m, &who, &why) == TR_OK && why.kind == TR_EXIT_NOPROC)
            s->t.lost_restarting++;
        else if (why.kind == TR_EXIT_NOCONNECTION)
            s->t.lost_noconnection++;
        else
            s->t.lost_crashed++;
    } else {
        return 0;
    }
    if (s->expected && s->t.answered >= s->expected) {
        s->expected = 0;
        return tr_send(ctx, s->driver, shop_done_atom(), &s->t, sizeof s->t);
    }
    return 0;
}

static void front_terminate(tr_ctx *ctx, void *vs, const tr_exit *why)
{
    (void)vs;
    log_stop(ctx, why);
}

static const tr_behaviour front_b = {"demo.front", sizeof(front), front_init, front_handle,
                                     front_terminate};

int shop_register(void)
{
    int rc = tr_behaviour_register(inventory_b.name, &inventory_b);
    if (rc == TR_OK) rc = tr_behaviour_register(cashier_b.name, &cashier_b);
    if (rc == TR_OK) rc = tr_behaviour_register(front_b.name, &front_b);
    return rc;
}
