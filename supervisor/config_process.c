/* config_process.c — a worker's `process:` map (troupe/process.h) into a
 * tr_process_spec, every error located at its value. */
#include <stdio.h>
#include <string.h>

#include "config_walk.h"

static const char *const PROCESS_KEYS[] = {"program", "args", "env",           "cwd",
                                           "kind",    "node", "start_timeout", NULL};
static const char *const KINDS[] = {"plain", "node", NULL};

/* A list of scalars (or one) into an arena array; false on an error. */
static bool walk_strings(walker *w, yaml_node_t *v, const char *key, const char *const **out,
                         size_t *n)
{
    tr_config *cfg = w->cfg;
    int *items, one;
    size_t count = tri_w_list(w, v, key, true, &items, &one);
    if (tri_w_too_big(w, v, count, key)) return false;
    const char **arr = count ? tri_arena_alloc(&cfg->arena, count * sizeof *arr) : NULL;
    if (count && !arr) return false;
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *it = node_at(w, items[i]);
        const char *s = tri_w_scalar(w, it, key, "a string");
        if (!s) {
            ok = false;
            continue;
        }
        arr[i] = tri_arena_strdup(&cfg->arena, s);
    }
    *out = arr;
    *n = count;
    return ok;
}

/* env: a map of KEY: VALUE into "KEY=VALUE" entries. */
static void walk_env(walker *w, yaml_node_t *v, tr_process_spec *ps)
{
    tr_config *cfg = w->cfg;
    if (!tri_w_expect_map(w, v, "env")) return;
    size_t count = (size_t)(pairs_end(v) - pairs_begin(v));
    if (tri_w_too_big(w, v, count, "env")) return;
    const char **arr = count ? tri_arena_alloc(&cfg->arena, count * sizeof *arr) : NULL;
    if (count && !arr) return;
    size_t n = 0;
    for (const yaml_node_pair_t *p = pairs_begin(v); p < pairs_end(v); p++) {
        yaml_node_t *k = node_at(w, p->key), *val = node_at(w, p->value);
        const char *ks = tri_w_scalar(w, k, "env", "a variable name");
        const char *vs = tri_w_scalar(w, val, ks ? ks : "env", "a string");
        if (!ks || !vs) continue;
        if (!*ks || strchr(ks, '=')) {
            ERR(w, k, "env: '%.255s' is not a variable name (non-empty, without '=')", ks);
            continue;
        }
        size_t len = strlen(ks) + strlen(vs) + 2;
        char *e = tri_arena_alloc(&cfg->arena, len);
        if (!e) return;
        snprintf(e, len, "%s=%s", ks, vs);
        arr[n++] = e;
    }
    ps->env = arr;
    ps->nenv = n;
}

void tri_walk_process(walker *w, yaml_node_t *v, const char *path, tr_child_spec *c)
{
    tr_config *cfg = w->cfg;
    if (!tri_w_expect_map(w, v, "process")) return;
    const keyset ks[] = {{PROCESS_KEYS, NULL}};
    tri_w_check_keys(w, v, path, "process", ks, 1);
    tr_process_spec *ps = tri_arena_alloc(&cfg->arena, sizeof *ps);
    if (!ps) return;
    yaml_node_t *x;
    if (!(x = tri_w_get(w, v, "program")))
        ERR(w, v, "process: 'program' (the path of the program to run) is required");
    else if ((ps->program = tri_w_scalar(w, x, "program", "a program's path or name")) &&
             !*ps->program)
        ERR(w, x, "program: expected a program's path or name, got an empty string");
    if (ps->program) ps->program = tri_arena_strdup(&cfg->arena, ps->program);
    if ((x = tri_w_get(w, v, "args"))) walk_strings(w, x, "args", &ps->args, &ps->nargs);
    if ((x = tri_w_get(w, v, "env"))) walk_env(w, x, ps);
    if ((x = tri_w_get(w, v, "cwd"))) {
        const char *s = tri_w_scalar(w, x, "cwd", "a directory");
        if (s && !*s) ERR(w, x, "cwd: expected a directory, got an empty string");
        else if (s) ps->cwd = tri_arena_strdup(&cfg->arena, s);
    }
    int kind = TR_PROCESS_PLAIN;
    if ((x = tri_w_get(w, v, "kind")) && tri_w_enum(w, x, "kind", KINDS, &kind))
        ps->kind = (tr_process_kind)kind;
    yaml_node_t *node = tri_w_get(w, v, "node"), *timeout = tri_w_get(w, v, "start_timeout");
    if (node) {
        ps->node_name =
            tri_w_name(w, node, "node", "", true, "a node name of 1 to 255 printable bytes");
        if (kind != TR_PROCESS_NODE)
            ERR(w, node, "node: names the node of a process of kind node (set kind: node)");
    } else if (kind == TR_PROCESS_NODE) {
        ERR(w, v, "process: kind node needs 'node' (the node name the child takes)");
    }
    if (timeout) {
        if (kind != TR_PROCESS_NODE)
            ERR(w, timeout, "start_timeout: applies to a process of kind node (a plain program "
                            "has started once it runs)");
        else
            tri_w_duration(w, timeout, "start_timeout", 0, 1, INT64_MAX, "above 0",
                           &ps->start_timeout_ms);
    }
    c->process = ps;
}
