/* config_tree.c — the `tree:` section: supervisors and their children
 * into tr_sup_spec / tr_child_spec, with OTP's rules checked where each
 * value stands (significant children, simple_one_for_one templates,
 * duplicate ids, names registered twice in the tree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_walk.h"

/* What a child's checks need to know of its supervisor. */
typedef struct parent_ctx {
    const char *name;
    tr_strategy strategy;
    tr_auto_shutdown auto_shutdown;
    yaml_node_t *auto_shutdown_node; /* NULL: unset */
} parent_ctx;

/* ------------------------------------------------------------- tree */

static const char *const SUP_KEYS[] = {"supervisor",    "strategy", "intensity", "period",
                                       "auto_shutdown", "children", NULL};
static const char *const CHILD_KEYS[] = {"restart", "shutdown", "significant", "register",
                                         "backoff", "node",     NULL};
static const char *const WORKER_KEYS[] = {"name", "behaviour", "args", "mailbox", "process",
                                          NULL};

static const char *const STRATEGIES[] = {"one_for_one", "one_for_all", "rest_for_one",
                                         "simple_one_for_one", NULL};
static const char *const AUTO_SHUTDOWN[] = {"never", "any_significant", "all_significant", NULL};

static void walk_sup(walker *w, yaml_node_t *m, const char *path, const char *name, bool root,
                     int depth, tr_sup_spec *out);

static void walk_backoff(walker *w, yaml_node_t *v, const char *path, tr_backoff *b)
{
    if (!tri_w_expect_map(w, v, "backoff")) return;
    static const char *const keys[] = {"min", "max", "reset", "jitter", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, v, path, "backoff", ks, 1);
    yaml_node_t *mn = tri_w_get(w, v, "min"), *mx = tri_w_get(w, v, "max"), *x;
    bool ok = true;
    if (!mn)
        ERR(w, v, "backoff: 'min' (the first restart delay) is required"), ok = false;
    else
        ok &= tri_w_duration(w, mn, "min", 0, 1, INT64_MAX, "above 0", &b->min_ms);
    if (!mx)
        ERR(w, v, "backoff: 'max' (the longest restart delay) is required"), ok = false;
    else
        ok &= tri_w_duration(w, mx, "max", 0, 1, INT64_MAX, "above 0", &b->max_ms);
    if (ok && b->max_ms < b->min_ms)
        ERR(w, mx, "backoff: max (%lld ms) must be at least min (%lld ms)", (long long)b->max_ms,
            (long long)b->min_ms);
    int64_t reset;
    if ((x = tri_w_get(w, v, "reset")) &&
        tri_w_duration(w, x, "reset", DUR_INFINITY, 1, INT64_MAX, "above 0", &reset))
        b->reset_ms = reset < 0 ? 0 : reset; /* 0: never reset */
    if ((x = tri_w_get(w, v, "jitter"))) {
        const char *s = tri_w_scalar(w, x, "jitter", "a number from 0 to 1");
        char *end = NULL;
        double j = s ? strtod(s, &end) : 0;
        if (s && (!end || *end || end == s || !(j >= 0 && j <= 1))) {
            char got[80];
            ERR(w, x, "jitter: expected a number from 0 to 1, got %s",
                tri_w_describe(x, got, sizeof got));
        } else if (s) {
            b->jitter = j;
        }
    }
}

static void walk_mailbox(walker *w, yaml_node_t *v, const char *path, tr_child_spec *c)
{
    if (!tri_w_expect_map(w, v, "mailbox")) return;
    static const char *const keys[] = {"capacity", "on_full", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, v, path, "mailbox", ks, 1);
    yaml_node_t *cap = tri_w_get(w, v, "capacity"), *full = tri_w_get(w, v, "on_full");
    int64_t n;
    if (cap && tri_w_int(w, cap, "capacity", 1, (1 << 30) - 1, &n)) c->capacity = (uint32_t)n;
    if (full) {
        static const char *const policies[] = {"fail", "drop_newest", "drop_oldest", "block", NULL};
        int p;
        if (tri_w_enum(w, full, "on_full", policies, &p)) c->on_full = (tr_full_policy)p;
        if (!cap) ERR(w, full, "on_full applies to a bounded mailbox: set mailbox.capacity too");
    }
}

/* Fills one child spec from its map; `is_sup` says which kind. */
static void walk_child(walker *w, yaml_node_t *m, const char *path, bool is_sup,
                       const parent_ctx *pc, int depth, tr_child_spec *c, yaml_node_t **id_node)
{
    tr_config *cfg = w->cfg;
    char owner[320];
    yaml_node_t *idv = tri_w_get(w, m, is_sup ? "supervisor" : "name");
    const char *idtext = is_scalar(idv) && !tri_w_is_null(idv) ? sval(idv) : "?";
    snprintf(owner, sizeof owner, "%s '%.255s'", is_sup ? "supervisor" : "worker", idtext);
    const keyset sup_sets[] = {
        {SUP_KEYS, NULL},
        {CHILD_KEYS, NULL},
        {WORKER_KEYS, "'%s' applies to workers (children with 'name'), not to %s"}};
    const keyset worker_sets[] = {
        {WORKER_KEYS, NULL},
        {CHILD_KEYS, NULL},
        {SUP_KEYS, "'%s' applies to supervisors (children with 'supervisor'), not to %s"}};
    tri_w_check_keys(w, m, path, owner, is_sup ? sup_sets : worker_sets, 3);

    *id_node = idv;
    c->id = tri_w_name(w, idv, is_sup ? "supervisor" : "name", "/", false,
                       "a child id of 1 to 255 bytes without '/'");
    yaml_node_t *x;
    if (is_sup) {
        tr_sup_spec *nested = tri_arena_alloc(&cfg->arena, sizeof *nested);
        if (!nested) return;
        walk_sup(w, m, path, c->id, false, depth + 1, nested);
        c->supervisor = nested;
    } else {
        yaml_node_t *proc = tri_w_get(w, m, "process");
        if (proc) {
            /* an OS process (troupe/process.h): no behaviour of its own */
            char p[PATH_MAX_LEN];
            tri_w_join_path(p, sizeof p, path, "process");
            tri_walk_process(w, proc, p, c);
            if ((x = tri_w_get(w, m, "behaviour")))
                ERR(w, x, "behaviour: %s runs a process (its 'process'), not a behaviour", owner);
            if ((x = tri_w_get(w, m, "args")))
                ERR(w, x, "args: a process child's arguments go in process.args");
            if ((x = tri_w_get(w, m, "node")))
                ERR(w, x, "node: a process child runs on its supervisor's node (a troupe node "
                          "child is process.kind: node)");
        } else if (!(x = tri_w_get(w, m, "behaviour"))) {
            ERR(w, m, "%s needs a 'behaviour' (the registered name of its callbacks) or a "
                      "'process' (a program to run)", owner);
        } else {
            const char *b = tri_w_scalar(w, x, "behaviour", "a behaviour's registered name");
            if (b && !(c->behaviour = tr_behaviour_find(b))) {
                bool skipped = (cfg->flags & TR_CONFIG_NO_PLUGINS) != 0;
                ERR(w, x,
                    "unknown behaviour '%.255s' (not built in, not registered by this program, "
                    "and in none of this config's plugins%s)",
                    b, skipped ? ", which were not loaded" : "");
            }
        }
        if (!proc && (x = tri_w_get(w, m, "args"))) tri_walk_args(w, x, c);
        if ((x = tri_w_get(w, m, "mailbox"))) {
            char p[PATH_MAX_LEN];
            tri_w_join_path(p, sizeof p, path, "mailbox");
            walk_mailbox(w, x, p, c);
        }
    }
    if ((x = tri_w_get(w, m, "restart"))) {
        static const char *const restarts[] = {"permanent", "transient", "temporary", NULL};
        int r;
        if (tri_w_enum(w, x, "restart", restarts, &r)) c->restart = (tr_restart)r;
    }
    if ((x = tri_w_get(w, m, "shutdown"))) {
        int64_t ms;
        if (is_scalar(x) && strcmp(sval(x), "brutal_kill") == 0)
            c->shutdown_ms = TR_SHUTDOWN_BRUTAL;
        else if (tri_w_duration(w, x, "shutdown", DUR_INFINITY | DUR_BRUTAL, 1, INT64_MAX,
                                "above 0", &ms))
            c->shutdown_ms = ms < 0 ? TR_SHUTDOWN_INFINITY : ms;
    }
    if ((x = tri_w_get(w, m, "significant")) && tri_w_bool(w, x, "significant", &c->significant) &&
        c->significant) {
        if (c->restart == TR_PERMANENT)
            ERR(w, x,
                "significant: a permanent child cannot be significant (its end would never be "
                "final): make it transient or temporary");
        if (pc->auto_shutdown == TR_AUTO_SHUTDOWN_NEVER)
            ERR(w, x,
                "significant: supervisor '%s' has auto_shutdown never, so its children's ends "
                "are never significant: set its auto_shutdown to any_significant or "
                "all_significant",
                pc->name ? pc->name : "?");
    }
    if ((x = tri_w_get(w, m, "register"))) {
        c->register_as =
            tri_w_name(w, x, "register", "@", false, "a name of 1 to 255 bytes without '@'");
        if (c->register_as && pc->strategy == TR_SIMPLE_ONE_FOR_ONE)
            ERR(w, x,
                "register: the template of simple_one_for_one supervisor '%s' cannot register "
                "a name (all its children would share it)",
                pc->name ? pc->name : "?");
        else if (c->register_as) {
            /* duplicates are found at the end, over the whole tree */
            if (w->nregs == w->regcap) {
                size_t cap = w->regcap ? w->regcap * 2 : 8;
                regname *r = realloc(w->regs, cap * sizeof *r);
                if (!r) {
                    cfg->arena.oom = true;
                    return;
                }
                w->regs = r;
                w->regcap = cap;
            }
            w->regs[w->nregs] =
                (regname){c->register_as, c->id ? c->id : "?", line_of(x), col_of(x), w->nregs};
            w->nregs++;
        }
    }
    if ((x = tri_w_get(w, m, "backoff"))) {
        char p[PATH_MAX_LEN];
        tri_w_join_path(p, sizeof p, path, "backoff");
        walk_backoff(w, x, p, &c->backoff);
    }
    if ((x = tri_w_get(w, m, "node")) && !c->process) {
        const char *node =
            tri_w_name(w, x, "node", "", true, "a node name of 1 to 255 printable bytes");
        if (node && is_sup) ERR(w, x, "a child supervisor cannot run on another node");
        else if (node) c->node = node;
        if (node && c->id)
            tri_config_meta(cfg, &(tri_child_meta){c, node, c->id, line_of(x), col_of(x)});
    }
}

static void walk_sup(walker *w, yaml_node_t *m, const char *path, const char *name, bool root,
                     int depth, tr_sup_spec *out)
{
    tr_config *cfg = w->cfg;
    char owner[320];
    snprintf(owner, sizeof owner, "supervisor '%.255s'", name ? name : "?");
    if (depth > MAX_SUP_DEPTH) {
        ERR(w, m, "%s: supervisors nested deeper than %d levels", owner, MAX_SUP_DEPTH);
        return;
    }
    if (root) {
        const keyset sets[] = {
            {SUP_KEYS, NULL},
            {CHILD_KEYS, "'%s' does not apply to the root supervisor (%s is nobody's child)"},
            {WORKER_KEYS, "'%s' applies to workers; the tree's root must be a supervisor (%s)"}};
        tri_w_check_keys(w, m, path, owner, sets, 3);
    }
    parent_ctx pc = {name, TR_ONE_FOR_ONE, TR_AUTO_SHUTDOWN_NEVER, NULL};
    yaml_node_t *x;
    int e;
    int64_t i64;
    if ((x = tri_w_get(w, m, "strategy")) && tri_w_enum(w, x, "strategy", STRATEGIES, &e))
        pc.strategy = (tr_strategy)e;
    if ((x = tri_w_get(w, m, "auto_shutdown")) &&
        tri_w_enum(w, x, "auto_shutdown", AUTO_SHUTDOWN, &e)) {
        pc.auto_shutdown = (tr_auto_shutdown)e;
        pc.auto_shutdown_node = x;
    }
    out->strategy = pc.strategy;
    out->auto_shutdown = pc.auto_shutdown;
    /* OTP's defaults, explicit: tr_sup_spec reads period 0 as "1 in 5 s"
     * whatever the intensity, so a set intensity needs a set period */
    out->intensity = 1;
    out->period_ms = 5000;
    if ((x = tri_w_get(w, m, "intensity")) && tri_w_int(w, x, "intensity", 0, UINT32_MAX, &i64))
        out->intensity = (uint32_t)i64;
    if ((x = tri_w_get(w, m, "period")))
        tri_w_duration(w, x, "period", 0, 1, INT64_MAX, "above 0", &out->period_ms);
    if (pc.strategy == TR_SIMPLE_ONE_FOR_ONE && pc.auto_shutdown != TR_AUTO_SHUTDOWN_NEVER)
        ERR(w, pc.auto_shutdown_node,
            "auto_shutdown: a simple_one_for_one supervisor cannot auto-shutdown (OTP refuses "
            "it): use never");

    yaml_node_t *kids = tri_w_get(w, m, "children");
    int *items = NULL, one;
    size_t n = kids ? tri_w_list(w, kids, "children", false, &items, &one) : 0;
    if (tri_w_too_big(w, kids, n, "children")) return;
    if (pc.strategy == TR_SIMPLE_ONE_FOR_ONE && n != 1) {
        yaml_node_t *at = kids ? kids : tri_w_key_node(w, m, "strategy");
        ERR(w, at,
            "children: a simple_one_for_one supervisor has exactly one child spec (the "
            "template of the children it starts), got %zu",
            n);
    }
    tr_child_spec *children = n ? tri_arena_alloc(&cfg->arena, n * sizeof *children) : NULL;
    yaml_node_t **ids = n ? tri_arena_alloc(&cfg->arena, n * sizeof *ids) : NULL;
    if (n && (!children || !ids)) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = node_at(w, items[i]);
        if (!it || !tri_w_visit(w, it)) return;
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s%schildren[%zu]", path, *path ? "." : "", i);
        tri_config_loc(cfg, p, line_of(it), col_of(it));
        char got[80];
        if (it->type != YAML_MAPPING_NODE) {
            ERR(w, it, "children: expected a child (a map with 'name' or 'supervisor'), got %s",
                tri_w_describe(it, got, sizeof got));
            continue;
        }
        bool has_sup = tri_w_get(w, it, "supervisor") != NULL,
             has_name = tri_w_get(w, it, "name") != NULL;
        if (has_sup && has_name) {
            ERR(w, it,
                "a child is either a worker ('name' and 'behaviour') or a supervisor "
                "('supervisor' and 'children'), not both");
            continue;
        }
        if (!has_sup && !has_name) {
            ERR(w, it,
                "a child needs 'name' and 'behaviour' (a worker) or 'supervisor' (a "
                "supervisor)");
            continue;
        }
        walk_child(w, it, p, has_sup, &pc, depth, &children[i], &ids[i]);
        for (size_t j = 0; j < i && children[i].id; j++)
            if (children[j].id && strcmp(children[i].id, children[j].id) == 0) {
                ERR(w, ids[i], "duplicate child id '%s' in %s (first at line %u, column %u)",
                    children[i].id, owner, line_of(ids[j]), col_of(ids[j]));
                break;
            }
    }
    out->children = children;
    out->nchildren = n;
}

static int by_name(const void *a, const void *b)
{
    const regname *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A name registered by two children: the second start would fail with
 * TR_EEXIST. Sorted, so that a big tree costs n log n. */
static void check_registered(walker *w)
{
    if (w->nregs < 2) return;
    qsort(w->regs, w->nregs, sizeof *w->regs, by_name);
    for (size_t i = 1, first = 0; i < w->nregs; i++) {
        if (strcmp(w->regs[i].name, w->regs[first].name) != 0) {
            first = i;
            continue;
        }
        const regname *r = &w->regs[i], *f = &w->regs[first];
        tri_config_error(w->cfg, r->line, r->column,
                         "register: the name '%s' is already registered by child '%s' (line %u, "
                         "column %u)",
                         r->name, f->child, f->line, f->column);
    }
}

void tri_walk_tree(walker *w, yaml_node_t *v)
{
    tr_config *cfg = w->cfg;
    if (!tri_w_expect_map(w, v, "tree")) return;
    yaml_node_t *name = tri_w_get(w, v, "supervisor");
    if (!name) {
        const char *hint = tri_w_get(w, v, "name") || tri_w_get(w, v, "behaviour")
                               ? ": the root of the tree must be a supervisor, not a worker"
                               : "";
        ERR(w, v, "tree: expected 'supervisor: <name>' (the root supervisor's name)%s", hint);
        return;
    }
    cfg->tree_name = tri_w_name(w, name, "supervisor", "/", false,
                                "a supervisor name of 1 to 255 bytes without '/'");
    walk_sup(w, v, "tree", cfg->tree_name, true, 1, &cfg->tree);
    check_registered(w);
    cfg->has_tree = cfg->tree_name != NULL;
}
