/* config_walk.h — what the YAML walk's files share: the walker, located
 * errors on nodes, and the checked readers of scalars, maps and lists.
 * config_yaml.c holds the readers and the entry; config_node.c,
 * config_tree.c and config_yaml_args.c walk one section each.
 *
 * Every reader reports its own error (at the node, saying what was
 * expected and what was found) and returns false/NULL; the caller only
 * decides what to do without the value (usually: keep the default and go
 * on, so that one run reports every error of a file). */
#ifndef TRI_CONFIG_WALK_H
#define TRI_CONFIG_WALK_H

#include <yaml.h>

#include "config_impl.h"

/* Node visits allowed for one file: an alias bomb is small in memory but
 * huge to walk. */
#define MAX_VISITS 100000
/* Per map and per children list: keeps the duplicate checks (quadratic,
 * and simple) cheap on any input. */
#define MAX_ENTRIES   4096
#define MAX_SUP_DEPTH 32
#define PATH_MAX_LEN  512

typedef struct regname {
    const char *name, *child;
    unsigned line, column;
    size_t seq;
} regname;

typedef struct walker {
    tr_config *cfg;
    yaml_document_t *doc;
    const char *text; /* the source, to see a node's explicit tag */
    size_t size;
    long budget;
    regname *regs; /* registered names, checked for duplicates at the end */
    size_t nregs, regcap;
} walker;

static inline unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }
static inline unsigned col_of(const yaml_node_t *n) { return (unsigned)n->start_mark.column + 1; }

#define ERR(w, n, ...) tri_config_error((w)->cfg, line_of(n), col_of(n), __VA_ARGS__)

static inline yaml_node_t *node_at(walker *w, int i) { return yaml_document_get_node(w->doc, i); }
static inline const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static inline size_t slen(const yaml_node_t *n) { return n->data.scalar.length; }
static inline bool is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
static inline bool plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}
static inline const yaml_node_pair_t *pairs_begin(const yaml_node_t *m)
{
    return m->data.mapping.pairs.start;
}
static inline const yaml_node_pair_t *pairs_end(const yaml_node_t *m)
{
    return m->data.mapping.pairs.top;
}

/* tri_w_visit — spends one visit; false (said once) when the budget is gone. */
bool tri_w_visit(walker *w, yaml_node_t *n);

/* tri_w_is_null — a plain "", "~", "null": YAML's null. */
bool tri_w_is_null(const yaml_node_t *n);

/* tri_w_describe — "a map", "a list", "nothing (null)" or the quoted
 * scalar (cut at 60 bytes), for "got ..." in errors. */
const char *tri_w_describe(const yaml_node_t *n, char *buf, size_t size);

/* Readers of one value for key `key`; each reports its error. */
const char *tri_w_scalar(walker *w, yaml_node_t *v, const char *key, const char *expected);
bool tri_w_enum(walker *w, yaml_node_t *v, const char *key, const char *const *names, int *out);
bool tri_w_int(walker *w, yaml_node_t *v, const char *key, int64_t min, int64_t max, int64_t *out);
bool tri_w_bool(walker *w, yaml_node_t *v, const char *key, bool *out);

enum { DUR_INFINITY = 1, DUR_ZERO = 2, DUR_US = 4, DUR_BRUTAL = 8 };
/* tri_w_duration — ms (us with DUR_US), infinity as -1 when allowed;
 * `range` says what else is wanted ("above 0", "from 100us to 1s"). */
bool tri_w_duration(walker *w, yaml_node_t *v, const char *key, unsigned flags, int64_t min,
                    int64_t max, const char *range, int64_t *out);
bool tri_w_size(walker *w, yaml_node_t *v, const char *key, uint64_t min, uint64_t max,
                const char *range, uint64_t *out);
/* tri_w_name — 1 to 255 bytes, none of `banned`, printable ASCII when
 * `printable`; copied into the config's arena. */
const char *tri_w_name(walker *w, yaml_node_t *v, const char *key, const char *banned,
                       bool printable, const char *expected);

/* A set of keys a map may hold; `misplaced` NULL: allowed, else the
 * error for them ("%s" the key, then the owner's description). */
typedef struct keyset {
    const char *const *keys;
    const char *misplaced;
} keyset;

/* tri_w_check_keys — each key of map m a string, none twice, each in an
 * allowed set (else misplaced, or unknown with a suggestion); records
 * where each key is, under `path`. */
void tri_w_check_keys(walker *w, yaml_node_t *m, const char *path, const char *owner,
                      const keyset *sets, size_t nsets);
/* tri_w_get — the value of `key` in map m, or NULL; tri_w_key_node its key. */
yaml_node_t *tri_w_get(walker *w, yaml_node_t *m, const char *key);
yaml_node_t *tri_w_key_node(walker *w, yaml_node_t *m, const char *key);
bool tri_w_expect_map(walker *w, yaml_node_t *v, const char *key);
/* tri_w_list — the items of a list (or of a lone scalar taken as a list
 * of one when `lone`; *one holds its index); null: none. */
size_t tri_w_list(walker *w, yaml_node_t *v, const char *key, bool lone, int **items, int *one);
/* tri_w_too_big — reports a map or list of more than MAX_ENTRIES. */
bool tri_w_too_big(walker *w, yaml_node_t *n, size_t count, const char *what);
void tri_w_join_path(char *out, size_t size, const char *path, const char *key);
/* tri_w_check_file — a file (or directory) the config names exists and is
 * readable; a secret one is not readable by group or others. Skipped with
 * TR_CONFIG_NO_FILES. */
void tri_w_check_file(walker *w, yaml_node_t *v, const char *key, const char *path, bool secret,
                      bool dir_ok);

/* The sections. */
void tri_walk_node(walker *w, yaml_node_t *v);
void tri_walk_tree(walker *w, yaml_node_t *v);
void tri_walk_args(walker *w, yaml_node_t *v, tr_child_spec *c);
/* config_process.c: a worker's `process:` map (`path` its place). */
void tri_walk_process(walker *w, yaml_node_t *v, const char *path, tr_child_spec *c);

#endif
