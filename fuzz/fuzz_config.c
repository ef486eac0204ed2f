/* fuzz_config.c — libFuzzer target: the input is a config file, loaded
 * from memory with no plugin opened and no file looked at (the flags),
 * then everything the config hands out is read: every error, the node,
 * and every spec of the tree with its args walked through the accessor.
 * Seed corpus: fuzz/corpus/config/ (real configs); dictionary:
 * fuzz/config.dict. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "troupe.h"

static volatile size_t sink; /* keeps reads from being optimised away */

static void walk_args(const void *args, size_t size)
{
    if (tr_args_check(args, size, NULL, 0) != TR_OK) __builtin_trap(); /* the loader's own bytes */
    tr_args_iter it;
    const char *key;
    tr_args_value v;
    if (tr_args_iter_init(&it, args, size, NULL) != TR_OK) return;
    while (tr_args_iter_next(&it, &key, &v) == TR_OK) {
        sink += strlen(key) + v.type;
        int64_t ms;
        uint64_t bytes;
        tr_args_value_duration(&v, &ms);
        tr_args_value_size(&v, &bytes);
        tr_args_iter inner;
        if (tr_args_iter_value(&inner, &v) == TR_OK)
            while (tr_args_iter_next(&inner, NULL, &v) == TR_OK)
                sink += v.type;
    }
}

static void walk_spec(const tr_config *cfg, const tr_sup_spec *s, int depth)
{
    if (depth > 64) __builtin_trap(); /* the loader bounds nesting at 32 */
    sink += s->strategy + s->intensity + (size_t)s->period_ms;
    for (size_t i = 0; i < s->nchildren; i++) {
        const tr_child_spec *c = &s->children[i];
        sink += strlen(c->id) + (c->register_as ? strlen(c->register_as) : 0);
        const char *node = tr_config_child_node(cfg, c);
        if (node) sink += strlen(node);
        if (c->supervisor)
            walk_spec(cfg, c->supervisor, depth + 1);
        else
            walk_args(c->args, c->args_size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_config *cfg = NULL;
    int rc = tr_config_parse("fuzz.yaml", (const char *)data, size,
                             TR_CONFIG_NO_PLUGINS | TR_CONFIG_NO_FILES, &cfg);
    if (rc == TR_ENOMEM) return 0;
    if ((rc == TR_OK) != (tr_config_error_count(cfg) == 0)) __builtin_trap();
    for (size_t i = 0; i < tr_config_error_count(cfg); i++) {
        const tr_config_error *e = tr_config_error_get(cfg, i);
        sink += strlen(e->text) + strlen(e->message) + e->line + e->column;
    }
    const tr_sup_spec *tree = tr_config_tree(cfg);
    if (tree) {
        char why[256];
        if (tr_sup_spec_check(tree, why, sizeof why) != TR_OK) __builtin_trap();
        walk_spec(cfg, tree, 0);
        sink += strlen(tr_config_tree_name(cfg));
    }
    const tr_node_opts *node = tr_config_node(cfg);
    if (node) {
        sink += strlen(node->name);
        for (size_t i = 0; i < node->nlisten; i++)
            sink += strlen(node->listen[i]);
        for (size_t i = 0; i < node->npeers; i++)
            sink += strlen(node->peers[i].endpoint);
    }
    tr_config_error where;
    if (tr_config_locate(cfg, "tree", &where) == TR_OK) sink += where.line;
    tr_config_destroy(&cfg);
    return 0;
}
