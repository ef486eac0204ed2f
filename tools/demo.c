/* demo.c — `troupe demo`: the shop service (demo_shop.c) split over two
 * nodes in one process, started from configs compiled into the binary.
 *
 * Two systems, each a node over inproc: shop-back, then shop-front, whose
 * tree places the inventory and two of the four cashiers on shop-back as
 * remote children (`node:`), so that one supervisor on shop-front
 * restarts cashiers on both nodes and stops everything, on both, in
 * order. The main thread is the driver: it sends orders in rounds, one
 * round every 25 ms (some poisoned: their cashier fails and is
 * restarted), watches the front desk and the cashiers' supervisor, prints
 * progress, then the front desk's tally (every order accounted for), and
 * shuts shop-front's tree down, then shop-back.
 *
 * Signals: SIGINT/SIGTERM set a flag the driver looks at between rounds
 * (the handler does nothing else: async-signal-safe); the run then ends
 * as if its orders were done. The handler is reset after the first
 * signal, so a second one ends the process at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "demo_shop.h"
#include "publish.h"
#include "troupe.h"

#define ROUND_MS    25    /* one round of orders every ROUND_MS */
#define ROUND_MAX   50    /* orders per round */
#define PROGRESS_ROUNDS 40 /* a progress line every second */
#define START_MS    10000
#define FINISH_MS   30000 /* every order is answered within its call's timeout */
#define STOP_MS     30000

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* --------------------------------------------------------------- configs */

static const char back_yaml[] =
    "# shop-back: the node the shop's store and half its cashiers run on.\n"
    "# Its own tree is empty: what runs here is placed here by shop-front's\n"
    "# tree (remote children), and lives and dies with it.\n"
    "node:\n"
    "  name: shop-back\n"
    "  listen: inproc://troupe-demo-back\n"
    "  workers: 1\n"
    "tree:\n"
    "  supervisor: back\n";

static const char front_yaml[] =
    "# shop-front: the front desk and the supervisors, for the whole shop.\n"
    "node:\n"
    "  name: shop-front\n"
    "  listen: inproc://troupe-demo-front\n"
    "  peers: [inproc://troupe-demo-back]\n"
    "  workers: 1\n"
    "tree:\n"
    "  supervisor: shop\n"
    "  strategy: rest_for_one     # a new inventory means new cashiers and front\n"
    "  intensity: 3\n"
    "  period: 5s\n"
    "  children:\n"
    "    - name: inventory\n"
    "      behaviour: demo.inventory\n"
    "      node: shop-back          # a remote child: runs there, supervised here\n"
    "      register: inventory\n"
    "      args: { items: 32, stock: 100, restock: true }\n"
    "    - supervisor: cashiers\n"
    "      strategy: one_for_one\n"
    "      intensity: 20            # restarts allowed in period: more, and it gives up\n"
    "      period: 1s\n"
    "      children:\n"
    "        - { name: cashier-1, behaviour: demo.cashier, register: cashier-1,\n"
    "            args: { inventory: inventory@shop-back } }\n"
    "        - { name: cashier-2, behaviour: demo.cashier, register: cashier-2,\n"
    "            args: { inventory: inventory@shop-back } }\n"
    "        - { name: cashier-3, behaviour: demo.cashier, register: cashier-3,\n"
    "            node: shop-back, args: { inventory: inventory } }\n"
    "        - { name: cashier-4, behaviour: demo.cashier, register: cashier-4,\n"
    "            node: shop-back, args: { inventory: inventory } }\n"
    "    - name: front\n"
    "      behaviour: demo.front\n"
    "      register: front\n"
    "      args:\n"
    "        cashiers: [cashier-1, cashier-2, cashier-3@shop-back, cashier-4@shop-back]\n";

/* --------------------------------------------------------------- options */

typedef struct demo_opts {
    unsigned long orders;  /* 0 with forever */
    unsigned long poison;  /* about one order in `poison` is poisoned; 0: none */
    bool forever;
    const char *listen;    /* shop-front's endpoint instead of inproc, for troupe tree */
} demo_opts;

static const char help[] =
    "usage: troupe demo [-h] [--orders N | --forever] [--poison N] [--listen ENDPOINT]\n"
    "                   [--config]\n"
    "\n"
    "Runs a small shop service split over two nodes in this process (shop-front\n"
    "and shop-back, over inproc), from configs compiled into troupe (--config\n"
    "prints them): a front desk passes orders to four cashiers, two on each node,\n"
    "which reserve items with an inventory on shop-back. Poisoned orders make\n"
    "their cashier fail; its supervisor (on shop-front) restarts it, on whichever\n"
    "node it runs. Prints the tree, progress every second, a summary (orders sold,\n"
    "sold out, lost and why: none silently; restarts per node; messages across the\n"
    "nodes), then stops shop-front's tree in reverse start order, its children on\n"
    "shop-back with it, and shop-back last.\n"
    "\n"
    "options:\n"
    "  --orders N         orders to send, 1 to 1000000 (default 2000), in rounds\n"
    "                     of 50 every 25 ms\n"
    "  --forever          send orders until SIGINT (Ctrl-C) or SIGTERM, then stop\n"
    "                     as usual\n"
    "  --poison N         about one order in N is poisoned (the same orders every\n"
    "                     run), 1 to 1000000, or 0 for none (default 250). Too\n"
    "                     many failures make the cashiers' supervisor give up:\n"
    "                     the demo then says so and exits 1\n"
    "  --listen ENDPOINT  shop-front listens there (ipc:// or tcp://) instead of\n"
    "                     on inproc, and publishes its tree: look at it with\n"
    "                     `troupe tree ENDPOINT` while the demo runs\n"
    "  --config           print the embedded configs and exit\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status:\n"
    "  0  every order was answered and both nodes shut down cleanly\n"
    "  1  the demo could not complete (the reason is printed)\n"
    "  2  usage error\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "troupe demo: %s%s%s%s\n(troupe demo --help for usage)\n", what,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static bool number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!v || *v < '0' || *v > '9') return false;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || n < lo || n > hi) return false;
    *out = (unsigned long)n;
    return true;
}

/* Returns -1 when the demo should run, else the exit status. */
static int parse(int argc, char **argv, demo_opts *o)
{
    *o = (demo_opts){.orders = 2000, .poison = 250};
    bool orders_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return EXIT_DONE;
        } else if (!strcmp(a, "--config")) {
            printf("# shop-back\n%s\n# shop-front\n%s", back_yaml, front_yaml);
            return EXIT_DONE;
        } else if (!strcmp(a, "--forever")) {
            o->forever = true;
        } else if (!strcmp(a, "--orders")) {
            if (!number(v, 1, 1000000, &o->orders))
                return usage_error("--orders wants a number from 1 to 1000000, got", v ? v : "");
            orders_set = true, i++;
        } else if (!strcmp(a, "--poison")) {
            if (!number(v, 0, 1000000, &o->poison))
                return usage_error("--poison wants 0 or a number up to 1000000, got", v ? v : "");
            i++;
        } else if (!strcmp(a, "--listen")) {
            if (!v || (strncmp(v, "ipc://", 6) && strncmp(v, "tcp://", 6)))
                return usage_error("--listen wants ipc://PATH or tcp://HOST:PORT, got",
                                   v ? v : "");
            o->listen = v, i++;
        } else {
            return usage_error("unknown option", a);
        }
    }
    if (o->forever && orders_set) return usage_error("--orders and --forever exclude each other", NULL);
    if (o->forever) o->orders = 0;
    return -1;
}

/* --------------------------------------------------------------- output */

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* The runtime's warnings (failures, restarts) and the shop's "demo:"
 * lines, as they come; other info lines (nodes up, ...) are left out. */
static void show_log(void *user, tr_log_level level, const char *line)
{
    (void)user;
    if (level >= TR_LOG_WARN)
        printf("  [%s] %s\n", tr_log_level_name(level), line);
    else if (!strncmp(line, "demo: ", 6))
        printf("    %s\n", line + 6);
    else
        return;
    fflush(stdout);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *node_of(const tr_config *cfg, const tr_sup_spec *spec, const char *id)
{
    for (size_t i = 0; spec && i < spec->nchildren; i++)
        if (!strcmp(spec->children[i].id, id)) {
            const char *n = tr_config_child_node(cfg, &spec->children[i]);
            return n ? n : tr_config_node(cfg)->name;
        }
    return tr_config_node(cfg)->name;
}

static const tr_sup_spec *sub_spec(const tr_sup_spec *spec, const char *id)
{
    for (size_t i = 0; spec && i < spec->nchildren; i++)
        if (!strcmp(spec->children[i].id, id)) return spec->children[i].supervisor;
    return NULL;
}

static void print_tree(tr_system *sys, const tr_config *cfg, const tr_sup_spec *spec, tr_pid sup,
                       int depth)
{
    tr_child_info kids[8];
    size_t n = 0;
    if (tr_sup_which_children_sync(sys, sup, kids, 8, &n, START_MS) != TR_OK) return;
    for (size_t i = 0; i < n && i < 8; i++) {
        bool is_sup = kids[i].type == TR_SUPERVISOR;
        printf("  %*s%-*s %-10s on %s\n", depth * 2, "", 12 - depth * 2, kids[i].id,
               is_sup ? "supervisor" : "worker", node_of(cfg, spec, kids[i].id));
        if (is_sup) print_tree(sys, cfg, sub_spec(spec, kids[i].id), kids[i].pid, depth + 1);
    }
}

/* --------------------------------------------------------------- the run */

typedef struct demo {
    demo_opts o;
    tr_config *cfg_back, *cfg_front;
    tr_system *back, *front;
    tr_inbox *in;
    tr_pid shop, desk, cashiers;
    uint64_t sent, poisoned;
} demo;

static int load(const char *name, const char *yaml, tr_config **out)
{
    int rc = tr_config_parse(name, yaml, strlen(yaml), 0, out);
    if (rc == TR_ENOMEM) {
        fprintf(stderr, "troupe demo: %s: out of memory\n", name);
        return rc;
    }
    for (size_t e = 0; e < tr_config_error_count(*out); e++)
        fprintf(stderr, "troupe demo: %s\n", tr_config_error_get(*out, e)->text);
    return rc;
}

/* A system and its node from a config; shop-front's listens on --listen. */
static int start_node(const tr_config *cfg, const char *extra, tr_system **sys)
{
    const tr_node_opts *no = tr_config_node(cfg);
    int rc = tr_system_new(tr_config_system_opts(cfg), sys);
    if (rc != TR_OK) {
        fprintf(stderr, "troupe demo: cannot start the runtime: %s\n", tr_strerror(rc));
        return rc;
    }
    /* --listen replaces the inproc endpoint rather than adding to it: a
     * node advertises all its endpoints and a peer prefers inproc ones,
     * which another process (troupe tree) cannot reach. shop-back reaches
     * shop-front there just as well. */
    tr_node_opts opts = *no;
    const char *listen[1] = {extra};
    if (extra) {
        opts.listen = listen;
        opts.nlisten = 1;
    }
    tr_node *n;
    if ((rc = tr_node_start(*sys, &opts, &n)) != TR_OK)
        fprintf(stderr, "troupe demo: cannot start node %s%s%s: %s (see above)\n", no->name,
                extra ? " listening on " : "", extra ? extra : "", tr_strerror(rc));
    return rc;
}

static int start(demo *d)
{
    char why[1024] = "";
    tr_pid back_root;
    int rc;
    if ((rc = start_node(d->cfg_back, NULL, &d->back)) != TR_OK) return rc;
    if ((rc = tr_config_start(d->cfg_back, d->back, START_MS, &back_root, why, sizeof why))) {
        fprintf(stderr, "troupe demo: shop-back's tree did not start: %s\n", why);
        return rc;
    }
    if ((rc = start_node(d->cfg_front, d->o.listen, &d->front)) != TR_OK) return rc;
    if ((rc = tr_node_wait_peers(tr_node_of(d->front), 1, START_MS)) != TR_OK) {
        fprintf(stderr, "troupe demo: shop-front did not reach shop-back: %s\n",
                tr_strerror(rc));
        return rc;
    }
    if ((rc = tr_config_start(d->cfg_front, d->front, START_MS, &d->shop, why, sizeof why))) {
        fprintf(stderr, "troupe demo: the shop did not start: %s\n", why[0] ? why : tr_strerror(rc));
        return rc;
    }
    if (d->o.listen &&
        troupe_publish_tree(d->front, tr_config_tree(d->cfg_front), d->shop, why, sizeof why))
        fprintf(stderr, "troupe demo: %s (troupe tree cannot show it)\n", why);

    printf("troupe demo: two nodes in this process, shop-front and shop-back (%s%s);\n"
           "the shop's tree, started from the embedded config (troupe demo --config):\n"
           "  %-12s supervisor on %s\n",
           d->o.listen ? "shop-front on " : "over inproc", d->o.listen ? d->o.listen : "",
           "shop", tr_config_node(d->cfg_front)->name);
    print_tree(d->front, d->cfg_front, tr_config_tree(d->cfg_front), d->shop, 1);
    if (d->o.listen) printf("troupe demo: look at it live: troupe tree %s\n", d->o.listen);

    tr_child_info kids[3];
    size_t n = 0;
    if ((rc = tr_inbox_new(d->front, &d->in)) != TR_OK ||
        (rc = tr_sup_which_children_sync(d->front, d->shop, kids, 3, &n, START_MS)) != TR_OK)
        return rc;
    for (size_t i = 0; i < n && i < 3; i++) {
        if (!strcmp(kids[i].id, "front")) d->desk = kids[i].pid;
        if (!strcmp(kids[i].id, "cashiers")) d->cashiers = kids[i].pid;
    }
    /* The front desk keeps the tally, and the cashiers' supervisor gives
     * up if cashiers fail too often: the driver watches both, so that it
     * learns at once, and why, if either ends before the orders are done. */
    if (tr_pid_is_nil(d->desk) || tr_pid_is_nil(d->cashiers) ||
        tr_inbox_monitor(d->in, d->desk, NULL) != TR_OK ||
        tr_inbox_monitor(d->in, d->cashiers, NULL) != TR_OK) {
        fprintf(stderr, "troupe demo: the shop is not as built\n");
        return TR_EFAILED;
    }
    return TR_OK;
}

/* A "tr.down" of the front desk or the cashiers' supervisor: says which
 * and why. */
static void say_down(const demo *d, const tr_msg *m)
{
    tr_pid who;
    tr_exit why = {0};
    tr_exit_decode(m, &who, &why);
    bool cashiers = tr_pid_eq(who, d->cashiers);
    fprintf(stderr,
            "troupe demo: %s ended before the orders were done: %s%s%s\n"
            "troupe demo: %s\n",
            cashiers ? "the cashiers' supervisor" : "the front desk", tr_exit_kind_name(why.kind),
            why.text ? ": " : "", why.text ? why.text : "",
            cashiers ? "cashiers failed faster than its intensity allows (20 restarts in 1 s): "
                       "try a larger --poison"
                     : "the shop restarted its front desk, and the tally with it");
}

static uint32_t xorshift(uint32_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 17;
    *r ^= *r << 5;
    return *r;
}

static bool fetch_tally(demo *d, shop_tally *t)
{
    tr_msg *reply = NULL;
    int rc = tr_call_sync(d->front, d->desk, shop_stats_atom(), NULL, 0, START_MS, &reply);
    bool ok = rc == TR_OK && tr_msg_size(reply) == sizeof *t;
    if (ok) memcpy(t, tr_msg_data(reply), sizeof *t);
    if (reply) tr_msg_destroy(&reply);
    return ok;
}

static uint64_t lost(const shop_tally *t)
{
    return t->lost_crashed + t->lost_restarting + t->lost_noconnection + t->lost_timeout +
           t->lost_no_cashier + t->lost_store;
}

/* Sends the orders, round by round, until done or interrupted; then waits
 * for the front desk's tally. Returns TR_OK with *t filled. */
static int traffic(demo *d, shop_tally *t)
{
    char what[64] = "none poisoned";
    if (d->o.poison == 1)
        snprintf(what, sizeof what, "all poisoned");
    else if (d->o.poison)
        snprintf(what, sizeof what, "about one in %lu poisoned", d->o.poison);
    if (d->o.forever)
        printf("troupe demo: sending orders until Ctrl-C or SIGTERM, %s\n", what);
    else
        printf("troupe demo: %lu orders, %s\n", d->o.orders, what);
    double t0 = now_s();
    uint32_t r = 2463534242u; /* the same orders every run */
    unsigned long round = 0;
    while (!g_interrupted && (d->o.forever || d->sent < d->o.orders)) {
        for (unsigned i = 0; i < ROUND_MAX && (d->o.forever || d->sent < d->o.orders); i++) {
            uint32_t x = xorshift(&r);
            shop_order o = {(uint32_t)++d->sent, x % 32, 1 + (x >> 8) % 3,
                            d->o.poison && (x >> 12) % d->o.poison == 0};
            d->poisoned += o.poisoned;
            int rc = tr_inbox_send(d->in, d->desk, shop_order_atom(), &o, sizeof o);
            if (rc != TR_OK) {
                fprintf(stderr, "troupe demo: cannot send order %u: %s\n", o.id, tr_strerror(rc));
                return rc;
            }
        }
        if (++round % PROGRESS_ROUNDS == 0 && fetch_tally(d, t))
            printf("troupe demo: %5.1f s: %llu orders sent, %llu answered (%llu sold, %llu "
                   "sold out, %llu lost)\n",
                   now_s() - t0, (unsigned long long)d->sent, (unsigned long long)t->answered,
                   (unsigned long long)t->sold, (unsigned long long)t->sold_out,
                   (unsigned long long)lost(t));
        /* pacing: the next round in ROUND_MS, unless the shop breaks first */
        const tr_msg *m;
        if (tr_inbox_recv(d->in, &m, ROUND_MS) == TR_OK && tr_msg_is(m, tr_down_atom())) {
            say_down(d, m);
            return TR_EFAILED;
        }
    }
    if (g_interrupted)
        printf("troupe demo: interrupted after %llu orders: waiting for their answers\n",
               (unsigned long long)d->sent);
    if (!d->sent) { /* interrupted before the first round */
        memset(t, 0, sizeof *t);
        return TR_OK;
    }
    tr_inbox_send(d->in, d->desk, shop_expect_atom(), &d->sent, sizeof d->sent);
    const tr_msg *m;
    int rc;
    while ((rc = tr_inbox_recv(d->in, &m, FINISH_MS)) == TR_OK) {
        if (tr_msg_is(m, tr_down_atom())) {
            say_down(d, m);
            return TR_EFAILED;
        }
        if (tr_msg_is(m, shop_done_atom()) && tr_msg_size(m) == sizeof *t) {
            memcpy(t, tr_msg_data(m), sizeof *t);
            printf("troupe demo: all %llu orders answered in %.2f s\n",
                   (unsigned long long)d->sent, now_s() - t0);
            return TR_OK;
        }
    }
    fprintf(stderr, "troupe demo: the front desk's tally did not come within %d s: %s\n",
            FINISH_MS / 1000, tr_strerror(rc));
    return rc;
}

static void summary(demo *d, const shop_tally *t)
{
    printf("troupe demo: %llu sold (%llu units), %llu sold out, %llu turned away busy, "
           "%llu lost\n",
           (unsigned long long)t->sold, (unsigned long long)t->units,
           (unsigned long long)t->sold_out, (unsigned long long)t->busy,
           (unsigned long long)lost(t));
    struct {
        uint64_t n;
        const char *why;
    } whys[] = {
        {t->lost_crashed, "held by a cashier when it failed (answered \"tr.down\", failure; "
                          "the poisoned ones included)"},
        {t->lost_restarting, "sent to a remote cashier while it was being restarted "
                             "(answered \"tr.down\", noproc)"},
        {t->lost_noconnection, "on a node that was lost (\"tr.down\", noconnection)"},
        {t->lost_timeout, "not answered within 2 s (\"tr.timeout\")"},
        {t->lost_no_cashier, "found no cashier registered at all"},
        {t->lost_store, "whose cashier could not reach the inventory"},
    };
    for (size_t i = 0; i < sizeof whys / sizeof *whys; i++)
        if (whys[i].n) printf("  %6llu %s\n", (unsigned long long)whys[i].n, whys[i].why);
    if (lost(t)) printf("  (every lost order was answered: none went missing silently)\n");

    tr_child_info kids[8];
    size_t n = 0;
    uint64_t here = 0, there = 0;
    const tr_sup_spec *cs = sub_spec(tr_config_tree(d->cfg_front), "cashiers");
    if (tr_sup_which_children_sync(d->front, d->cashiers, kids, 8, &n, START_MS) == TR_OK)
        for (size_t i = 0; i < n && i < 8; i++) {
            bool remote = strcmp(node_of(d->cfg_front, cs, kids[i].id), "shop-front") != 0;
            *(remote ? &there : &here) += kids[i].restarts;
        }
    printf("troupe demo: %llu poisoned orders; the cashiers' supervisor restarted %llu cashiers "
           "on shop-front and %llu on shop-back\n",
           (unsigned long long)d->poisoned, (unsigned long long)here,
           (unsigned long long)there);
    tr_node_stats a = {0}, b = {0};
    tr_node_get_stats(tr_node_of(d->front), &a);
    tr_node_get_stats(tr_node_of(d->back), &b);
    printf("troupe demo: across the nodes: %llu messages shop-front -> shop-back in %llu "
           "frames, %llu back in %llu\n",
           (unsigned long long)a.messages_out, (unsigned long long)a.frames_out,
           (unsigned long long)b.messages_out, (unsigned long long)b.frames_out);
    tr_system_stats fs, bs;
    tr_system_get_stats(d->front, &fs);
    tr_system_get_stats(d->back, &bs);
    printf("troupe demo: dead letters (messages that reached an actor after it had ended, "
           "such as the inventory's answers to a cashier that had failed): %llu on shop-front, "
           "%llu on shop-back\n",
           (unsigned long long)fs.dead_letters, (unsigned long long)bs.dead_letters);
}

static void shutdown_all(demo *d, int *status)
{
    tr_inbox_destroy(&d->in);
    if (tr_pid_is_nil(d->shop)) return; /* nothing started: main tears down */
    printf("troupe demo: stopping shop-front's tree in reverse start order (its children on "
           "shop-back stop with it):\n");
    fflush(stdout);
    tr_system_stop(d->front);
    int end = tr_system_wait(d->front, STOP_MS);
    tr_system_stats fs, bs = {0};
    tr_system_get_stats(d->front, &fs);
    if (d->back) tr_system_get_stats(d->back, &bs);
    if (end != TR_OK) {
        fprintf(stderr, "troupe demo: shop-front did not stop cleanly: %s\n%s", tr_strerror(end),
                end == TR_EFAILED ? tr_system_report(d->front) : "");
        *status = EXIT_FAILED;
    } else if (d->back) {
        /* each remote child's host ends just after reporting the child's
         * end, which is what let the tree go on: give it a moment */
        for (int i = 0; i < 2000 && tr_system_get_stats(d->back, &bs) == TR_OK &&
                        bs.actors_live > 1;
             i++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        printf("troupe demo: shop-front's tree is down; %llu of the actors it placed on "
               "shop-back are left there\n",
               (unsigned long long)(bs.actors_live > 1 ? bs.actors_live - 1 : 0));
    }
    printf("troupe demo: shop-front: %llu actors spawned, %llu messages, %llu dead letters\n",
           (unsigned long long)fs.actors_spawned, (unsigned long long)fs.messages_sent,
           (unsigned long long)fs.dead_letters);
    if (!d->back) return;
    tr_system_destroy(&d->front); /* says "bye" to shop-back */
    tr_system_stop(d->back);
    int bend = tr_system_wait(d->back, STOP_MS);
    tr_system_get_stats(d->back, &bs);
    printf("troupe demo: shop-back: %llu actors spawned, %llu messages, %llu dead letters; "
           "%s\n",
           (unsigned long long)bs.actors_spawned, (unsigned long long)bs.messages_sent,
           (unsigned long long)bs.dead_letters, bend == TR_OK ? "stopped" : tr_strerror(bend));
    if (bend != TR_OK) *status = EXIT_FAILED;
}

int troupe_demo(int argc, char **argv)
{
    demo d = {0};
    int status = parse(argc, argv, &d.o);
    if (status >= 0) return status;
    status = EXIT_FAILED;
    int rc = shop_register();
    if (rc != TR_OK) {
        fprintf(stderr, "troupe demo: cannot register the shop's behaviours: %s\n",
                tr_strerror(rc));
        return EXIT_FAILED;
    }
    if (load("troupe-demo/shop-back.yaml", back_yaml, &d.cfg_back) != TR_OK ||
        load("troupe-demo/shop-front.yaml", front_yaml, &d.cfg_front) != TR_OK)
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tr_log_set_handler(show_log, NULL);
    tr_log_set_level(TR_LOG_INFO);

    if (start(&d) == TR_OK) {
        shop_tally t;
        if (traffic(&d, &t) == TR_OK) {
            summary(&d, &t);
            status = EXIT_DONE;
        }
    }
    shutdown_all(&d, &status);
    if (!tr_pid_is_nil(d.shop))
        printf("troupe demo: %s\n", status == EXIT_DONE ? "clean shutdown" : "failed (see above)");
out:
    tr_inbox_destroy(&d.in);
    tr_system_destroy(&d.front);
    tr_system_destroy(&d.back);
    tr_log_set_handler(NULL, NULL);
    tr_config_destroy(&d.cfg_front);
    tr_config_destroy(&d.cfg_back);
    return status;
}
