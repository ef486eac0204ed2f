/* demo.c — `troupe demo`: a small shop service on a built-in tree.
 *
 *   /root/shop            supervisor, rest_for_one
 *     inventory           stock per item; answers reservations
 *     cashiers            supervisor, one_for_one, 4 permanent cashiers
 *       cashier-1..4      registered by name; take orders as calls
 *     front               routes each order to a cashier by name
 *
 * An order is a tr_call from the front desk to a cashier, which asks the
 * inventory (another call) and answers the order when the inventory has
 * answered it. Every 500th order is poisoned: the cashier that takes it
 * fails, its supervisor restarts it, and every order it had not answered
 * comes back to the front desk as "tr.down": counted as lost, never
 * silently. At the end the tree shuts down in reverse start order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "troupe.h"

#define CASHIERS 4
#define ITEMS 32

typedef struct order {
    uint32_t id, item, qty;
} order;

static tr_atom A_ORDER, A_RESERVE, A_RESERVED, A_SOLD_OUT, A_EXPECT, A_DONE;

static void atoms(void)
{
    A_ORDER = tr_atom_from("shop.order");
    A_RESERVE = tr_atom_from("shop.reserve");
    A_RESERVED = tr_atom_from("shop.reserved");
    A_SOLD_OUT = tr_atom_from("shop.sold_out");
    A_EXPECT = tr_atom_from("shop.expect");
    A_DONE = tr_atom_from("shop.done");
}

/* ------------------------------------------------------------ inventory */

typedef struct inventory {
    uint32_t stock[ITEMS];
} inventory;

static int inventory_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    (void)a, (void)n;
    inventory *s = vs;
    for (int i = 0; i < ITEMS; i++) s->stock[i] = 100;
    return tr_register(tr_ctx_system(ctx), "inventory", tr_self(ctx));
}

static int inventory_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    inventory *s = vs;
    order o;
    if (!tr_msg_is(m, A_RESERVE) || tr_msg_size(m) != sizeof o) return 0;
    memcpy(&o, tr_msg_data(m), sizeof o);
    bool ok = o.item < ITEMS && s->stock[o.item] >= o.qty;
    if (ok) s->stock[o.item] -= o.qty;
    return tr_reply(ctx, m, ok ? A_RESERVED : A_SOLD_OUT, &o, sizeof o);
}

static const tr_behaviour inventory_b = {"inventory", sizeof(inventory), inventory_init,
                                         inventory_handle, NULL};

/* -------------------------------------------------------------- cashier */

/* An order waiting for the inventory: the front desk's request, and the
 * reference of our own call to the inventory. */
typedef struct pending {
    tr_request front;
    tr_ref reserve;
} pending;

typedef struct cashier {
    pending wait[256];
    unsigned n;
} cashier;

static int cashier_init(tr_ctx *ctx, void *vs, const void *a, size_t n)
{
    (void)vs;
    char name[32];
    snprintf(name, sizeof name, "cashier-%.*s", (int)n, (const char *)a);
    return tr_register(tr_ctx_system(ctx), name, tr_self(ctx));
}

static int cashier_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    cashier *s = vs;
    order o;
    if (tr_msg_size(m) < sizeof o) return 0;
    memcpy(&o, tr_msg_data(m), sizeof o);
    if (tr_msg_is(m, A_ORDER)) {
        if (o.id % 500 == 0) return tr_fail(ctx, "order %u is poisoned", o.id);
        if (s->n == 256) return tr_reply(ctx, m, A_SOLD_OUT, &o, sizeof o); /* too busy */
        tr_pid inv;
        int rc = tr_whereis(tr_ctx_system(ctx), "inventory", &inv);
        if (rc) return rc;
        pending *p = &s->wait[s->n++];
        p->front = tr_msg_request(m); /* answered when the inventory answers */
        return tr_call(ctx, inv, A_RESERVE, &o, sizeof o, 1000, &p->reserve);
    }
    /* the inventory's answer (or a timeout): answer the front desk */
    for (unsigned i = 0; i < s->n; i++) {
        if (s->wait[i].reserve.id != tr_msg_ref(m).id) continue;
        tr_request front = s->wait[i].front;
        s->wait[i] = s->wait[--s->n];
        tr_atom answer = tr_msg_is(m, A_RESERVED) ? A_RESERVED : A_SOLD_OUT;
        return tr_reply_to(ctx, front, answer, &o, sizeof o);
    }
    return 0;
}

static const tr_behaviour cashier_b = {"cashier", sizeof(cashier), cashier_init, cashier_handle,
                                       NULL};

/* ---------------------------------------------------------------- front */

typedef struct front {
    tr_pid driver;
    uint64_t expected, answered, sold, sold_out, lost, units;
    unsigned next;
} front;

static int front_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    front *s = vs;
    if (tr_msg_is(m, A_EXPECT)) {
        memcpy(&s->expected, tr_msg_data(m), sizeof s->expected);
        s->driver = tr_msg_sender(m);
        return 0;
    }
    if (tr_msg_is(m, A_ORDER)) { /* from the driver: route it */
        for (unsigned tries = 0; tries < CASHIERS; tries++) {
            char name[32];
            snprintf(name, sizeof name, "cashier-%u", s->next++ % CASHIERS + 1);
            tr_pid c;
            if (tr_whereis(tr_ctx_system(ctx), name, &c) == TR_OK)
                return tr_call(ctx, c, A_ORDER, tr_msg_data(m), tr_msg_size(m), 5000, NULL);
        }
        s->answered++, s->lost++; /* no cashier at all just now */
    } else if (tr_msg_is(m, A_RESERVED)) {
        order o;
        memcpy(&o, tr_msg_data(m), sizeof o);
        s->answered++, s->sold++, s->units += o.qty;
    } else if (tr_msg_is(m, A_SOLD_OUT)) {
        s->answered++, s->sold_out++;
    } else if (tr_msg_is(m, tr_down_atom()) || tr_msg_is(m, tr_timeout_atom())) {
        s->answered++, s->lost++; /* its cashier failed before answering */
    }
    if (s->expected && s->answered == s->expected) {
        uint64_t out[4] = {s->sold, s->sold_out, s->lost, s->units};
        s->expected = 0;
        return tr_send(ctx, s->driver, A_DONE, out, sizeof out);
    }
    return 0;
}

static const tr_behaviour front_b = {"front", sizeof(front), NULL, front_handle, NULL};

/* ------------------------------------------------------------------ tree */

#define CASHIER(I)                                                                             \
    {.id = "cashier-" #I, .behaviour = &cashier_b, .args = "" #I, .args_size = 1,              \
     .restart = TR_PERMANENT}

static const tr_child_spec cashier_specs[CASHIERS] = {CASHIER(1), CASHIER(2), CASHIER(3),
                                                      CASHIER(4)};
static const tr_sup_spec cashiers_spec = {.strategy = TR_ONE_FOR_ONE, .intensity = 10,
                                          .period_ms = 1000, .children = cashier_specs,
                                          .nchildren = CASHIERS};
static const tr_child_spec shop_children[] = {
    {.id = "inventory", .behaviour = &inventory_b, .restart = TR_PERMANENT},
    {.id = "cashiers", .supervisor = &cashiers_spec, .restart = TR_PERMANENT},
    {.id = "front", .behaviour = &front_b, .restart = TR_PERMANENT},
};
static const tr_sup_spec shop_spec = {.strategy = TR_REST_FOR_ONE, .intensity = 3,
                                      .period_ms = 5000, .children = shop_children,
                                      .nchildren = 3};

/* The runtime's warnings (the failures and restarts) shown as they come. */
static void show_log(void *user, tr_log_level level, const char *line)
{
    (void)user;
    printf("  [%s] %s\n", tr_log_level_name(level), line);
}

static void print_tree(tr_system *sys, tr_pid sup, const char *indent)
{
    tr_child_info kids[8];
    size_t n = 0;
    if (tr_sup_which_children_sync(sys, sup, kids, 8, &n, 5000) != TR_OK) return;
    for (size_t i = 0; i < n && i < 8; i++) {
        char pid[TR_PID_STRLEN];
        printf("%s%s %s%s\n", indent, kids[i].id, tr_pid_format(kids[i].pid, pid, sizeof pid),
               kids[i].type == TR_SUPERVISOR ? " (supervisor)" : "");
        if (kids[i].type == TR_SUPERVISOR) {
            char deeper[32];
            snprintf(deeper, sizeof deeper, "%s  ", indent);
            print_tree(sys, kids[i].pid, deeper);
        }
    }
}

int troupe_demo(unsigned orders)
{
    atoms();
    tr_system *sys;
    int rc = tr_system_new(NULL, &sys);
    if (rc) {
        fprintf(stderr, "troupe demo: %s\n", tr_strerror(rc));
        return 1;
    }
    tr_log_set_handler(show_log, NULL);
    tr_pid shop;
    char why[256];
    rc = tr_supervisor_start(sys, &shop_spec, "shop", 5000, &shop, why, sizeof why);
    if (rc) {
        fprintf(stderr, "troupe demo: the shop did not start: %s %s\n", tr_strerror(rc), why);
        tr_system_destroy(&sys);
        return 1;
    }
    printf("troupe demo: started /root/shop (every init has run, in order):\n");
    print_tree(sys, shop, "  ");

    tr_inbox *in;
    if ((rc = tr_inbox_new(sys, &in)) != TR_OK) {
        fprintf(stderr, "troupe demo: %s\n", tr_strerror(rc));
        tr_system_destroy(&sys);
        return 1;
    }
    tr_pid front_pid = TR_PID_NIL, cashiers_pid = TR_PID_NIL;
    tr_child_info kids[3];
    size_t n = 0;
    tr_sup_which_children_sync(sys, shop, kids, 3, &n, 5000);
    for (size_t i = 0; i < n && i < 3; i++) {
        if (strcmp(kids[i].id, "front") == 0) front_pid = kids[i].pid;
        if (strcmp(kids[i].id, "cashiers") == 0) cashiers_pid = kids[i].pid;
    }
    /* The front desk keeps the tally, and the cashiers' supervisor gives
     * up if cashiers fail too often: the driver watches both, so that it
     * learns at once, and why, if either ends before the orders are done. */
    if (tr_pid_is_nil(front_pid) || tr_pid_is_nil(cashiers_pid) ||
        tr_inbox_monitor(in, front_pid, NULL) != TR_OK ||
        tr_inbox_monitor(in, cashiers_pid, NULL) != TR_OK) {
        fprintf(stderr, "troupe demo: the shop is not as built\n");
        tr_inbox_destroy(&in);
        tr_system_destroy(&sys);
        return 1;
    }

    printf("troupe demo: %u orders; every 500th is poisoned\n", orders);
    uint64_t expect = orders;
    tr_inbox_send(in, front_pid, A_EXPECT, &expect, sizeof expect);
    uint32_t r = 2463534242u; /* xorshift32: the same orders every run */
    for (uint32_t i = 1; i <= orders; i++) {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        order o = {i, r % ITEMS, 1 + (r >> 8) % 3};
        tr_inbox_send(in, front_pid, A_ORDER, &o, sizeof o);
    }
    /* The front desk's summary, or the end of what it depends on. */
    const tr_msg *m;
    rc = tr_inbox_recv(in, &m, 60000);
    if (rc == TR_OK && tr_msg_is(m, tr_down_atom())) {
        tr_pid who;
        tr_exit why;
        tr_exit_info(m, &who, &why);
        fprintf(stderr, "troupe demo: %s ended before the orders were done: %s%s%s\n",
                tr_pid_eq(who, front_pid) ? "the front desk" : "the cashiers' supervisor",
                tr_exit_kind_name(why.kind), why.text ? ": " : "", why.text ? why.text : "");
        rc = TR_EFAILED;
    } else if (rc == TR_OK) {
        uint64_t out[4];
        memcpy(out, tr_msg_data(m), sizeof out);
        printf("troupe demo: %llu orders sold (%llu units), %llu sold out, %llu lost with a "
               "failed cashier (each one answered \"down\", none silently)\n",
               (unsigned long long)out[0], (unsigned long long)out[3],
               (unsigned long long)out[1], (unsigned long long)out[2]);
    } else {
        fprintf(stderr, "troupe demo: no result: %s\n", tr_strerror(rc));
    }
    tr_actor_info info;
    if (tr_sup_which_children_sync(sys, shop, kids, 3, &n, 5000) == TR_OK &&
        tr_system_inspect(sys, kids[1].pid, &info, 5000) == TR_OK)
        printf("troupe demo: %s restarted %llu cashier(s)\n", info.path,
               (unsigned long long)info.restarts);
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
    tr_log_set_handler(NULL, NULL);
    return rc == TR_OK && end == TR_OK ? 0 : 1;
}
