/* config_impl.h — what the config loader's files share: the arena that
 * owns everything a tr_config hands out, located errors, the unit parsers
 * (durations, sizes) that the loader and tr_args_* both use, and plugin
 * loading. Internal: nothing here is part of the public API. */
#ifndef TRI_CONFIG_IMPL_H
#define TRI_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe.h"
#include "troupe/args.h"
#include "troupe/config.h"

/* ------------------------------------------------------------- arena */

/* Every block a tr_config hands out (specs, strings, args bytes) comes
 * from its arena and is freed with it in one go: the config is immutable
 * once loaded, so nothing is ever freed alone. */
typedef struct tri_arena_block tri_arena_block;
typedef struct tri_arena {
    tri_arena_block *head;
    bool oom; /* sticks once an allocation failed */
} tri_arena;

void *tri_arena_alloc(tri_arena *a, size_t size); /* zeroed; NULL on OOM */
char *tri_arena_strdup(tri_arena *a, const char *s);
char *tri_arena_strndup(tri_arena *a, const char *s, size_t n);
void *tri_arena_memdup(tri_arena *a, const void *p, size_t n);
void tri_arena_free(tri_arena *a);

/* ------------------------------------------------------------- units */

/* tri_parse_duration_us — "250ms", "5s", "1m", "1h30m", "100us", "0",
 * "infinity". Sets *us (*infinite for "infinity"). Returns false on any
 * other text (including overflow past ~292,000 years). */
bool tri_parse_duration_us(const char *s, int64_t *us, bool *infinite);

/* tri_parse_size — "64KiB", "1MiB", "512B", "10kB", "4096" (bytes).
 * Returns false on any other text or past UINT64_MAX. */
bool tri_parse_size(const char *s, uint64_t *bytes);

/* tri_parse_int — a whole decimal integer ([-+]?[0-9]+, also 0x/0o
 * prefixes); false on other text or overflow. */
bool tri_parse_int(const char *s, int64_t *out);

/* ------------------------------------------------------------- args */

/* The header of every args chunk: 0xFF 'T' 'A' version. */
extern const unsigned char tri_args_magic[4];

/* tri_args_valid_key — an args key: 0 to 254 bytes, no NUL. */
bool tri_args_valid_key(const char *k, size_t len);

/* tri_args_put_strn — tr_args_put_str with an explicit length (YAML
 * strings may contain NUL bytes; the value keeps them, its key may not). */
int tri_args_put_strn(tr_args_builder *b, const char *key, const char *s, size_t len);

/* ------------------------------------------------------------- plugins */

/* tri_plugin_load — opens the shared object at `path`, checks its ABI and
 * runs its entry point, once per object per process (later loads of the
 * same object report the first outcome). On failure writes why into
 * `why`. Thread-safe. */
int tri_plugin_load(const char *path, const char *config_file, char *why, size_t why_size);

/* ------------------------------------------------------------- config */

typedef struct tri_loc {
    const char *path; /* "tree.children[0].restart" */
    unsigned line, column;
} tri_loc;

typedef struct tri_child_meta {
    const tr_child_spec *spec;
    const char *node; /* NULL: local */
    const char *id;
    unsigned line, column; /* of its `node:` value when remote, else of the child */
} tri_child_meta;

struct tr_config {
    tri_arena arena;
    const char *file; /* as errors name it */
    const char *dir;  /* base of relative paths, with its trailing '/'; "" */
    unsigned flags;
    tr_config_error *errs;
    size_t nerr, errcap;
    bool too_many_errors;
    tri_loc *locs;
    size_t nlocs, loccap;
    tri_child_meta *meta;
    size_t nmeta, metacap;
    /* the results, meaningful when nerr == 0 */
    bool has_tree;
    tr_sup_spec tree;
    const char *tree_name;
    tr_system_opts sys;
    tr_log_level log_level;
    bool has_node;
    tr_node_opts node;
};

/* tri_config_error — adds a located error (line/column 1-based, 0: none);
 * identical errors are kept once (an alias visits its node twice). */
void tri_config_error(tr_config *cfg, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* tri_config_loc — records where `path` is, for tr_config_locate. */
void tri_config_loc(tr_config *cfg, const char *path, unsigned line, unsigned column);

/* tri_config_meta — records a child's node and position. */
void tri_config_meta(tr_config *cfg, const tri_child_meta *m);

/* tri_config_walk — checks the YAML text and fills cfg (config_yaml.c). */
void tri_config_walk(tr_config *cfg, const char *text, size_t size);

/* tri_config_path — `rel` resolved against the config's directory, in
 * the arena. */
const char *tri_config_path(tr_config *cfg, const char *rel);

#endif
