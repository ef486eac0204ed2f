/* config_yaml.c — the walk from a libyaml document to specs and options:
 * the entry, the top level, plugins, and the checked readers the section
 * files share (config_walk.h).
 *
 * The walk never stops at the first error: each key is checked on its own
 * and reported where it stands, so one run of `troupe check` lists every
 * mistake of a file. Values that fail keep their zero default and the
 * walk goes on; the results are only handed out when there was no error.
 *
 * Hostile input: the document comes from libyaml's loader, whose aliases
 * share nodes (an alias bomb is small in memory but huge to walk) and may
 * form cycles. Every node visit spends from a budget, and nesting is
 * bounded (supervisors 32 deep, args 64), so the walk ends on any input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_walk.h"

bool tri_w_visit(walker *w, yaml_node_t *n)
{
    if (w->budget-- > 0) return true;
    if (w->budget == -1)
        ERR(w, n, "the document expands to more than %d nodes (aliases?): refusing to walk it",
            MAX_VISITS);
    return false;
}

/* ------------------------------------------------------------- scalars */

bool tri_w_is_null(const yaml_node_t *n)
{
    if (!is_scalar(n) || !plain(n)) return false;
    const char *s = sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* "got ..." text for an error. */
const char *tri_w_describe(const yaml_node_t *n, char *buf, size_t size)
{
    if (!n) return "nothing";
    if (n->type == YAML_MAPPING_NODE) return "a map";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (n->type != YAML_SCALAR_NODE) return "nothing";
    if (tri_w_is_null(n)) return "nothing (null)";
    size_t len = slen(n), o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)sval(n)[i];
        if (i == 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        buf[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* The scalar text of `v` for key `key`, or NULL after an error saying
 * that `expected` was expected. Refuses NUL bytes inside. */
const char *tri_w_scalar(walker *w, yaml_node_t *v, const char *key, const char *expected)
{
    char got[80];
    if (!is_scalar(v) || tri_w_is_null(v)) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return NULL;
    }
    if (strlen(sval(v)) != slen(v)) {
        ERR(w, v, "%s: expected %s, got text with a NUL byte", key, expected);
        return NULL;
    }
    return sval(v);
}

bool tri_w_enum(walker *w, yaml_node_t *v, const char *key, const char *const *names, int *out)
{
    char expected[256] = "one of ";
    for (int i = 0; names[i]; i++) {
        strcat(expected, names[i]);
        if (names[i + 1]) strcat(expected, ", ");
    }
    const char *s = tri_w_scalar(w, v, key, expected);
    if (!s) return false;
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    char got[80];
    ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
    return false;
}

bool tri_w_int(walker *w, yaml_node_t *v, const char *key, int64_t min, int64_t max, int64_t *out)
{
    char expected[96];
    snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)min,
             (long long)max);
    const char *s = tri_w_scalar(w, v, key, expected);
    if (!s) return false;
    int64_t x;
    if (!tri_parse_int(s, &x) || x < min || x > max) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

bool tri_w_bool(walker *w, yaml_node_t *v, const char *key, bool *out)
{
    const char *s = tri_w_scalar(w, v, key, "true or false");
    if (!s) return false;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = false;
    else {
        char got[80];
        ERR(w, v, "%s: expected true or false, got %s", key, tri_w_describe(v, got, sizeof got));
        return false;
    }
    return true;
}

/* A duration in ms (in us with DUR_US); infinity as -1 when allowed.
 * `range` says what else is wanted ("above 0", "from 100us to 1s"). */
bool tri_w_duration(walker *w, yaml_node_t *v, const char *key, unsigned flags, int64_t min,
                    int64_t max, const char *range, int64_t *out)
{
    char expected[160];
    snprintf(expected, sizeof expected, "a duration %s (such as 250ms, 5s or 1m)%s", range,
             flags & DUR_BRUTAL     ? ", brutal_kill or infinity"
             : flags & DUR_INFINITY ? " or infinity"
                                    : "");
    const char *s = tri_w_scalar(w, v, key, expected);
    if (!s) return false;
    int64_t us;
    bool inf;
    char got[80];
    if (!tri_parse_duration_us(s, &us, &inf) || (inf && !(flags & DUR_INFINITY))) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return false;
    }
    if (inf) {
        *out = -1;
        return true;
    }
    if (!(flags & DUR_US) && us % 1000) {
        ERR(w, v, "%s: expected whole milliseconds, got %s", key,
            tri_w_describe(v, got, sizeof got));
        return false;
    }
    int64_t x = flags & DUR_US ? us : us / 1000;
    if (x < min || x > max || (x == 0 && !(flags & DUR_ZERO))) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

bool tri_w_size(walker *w, yaml_node_t *v, const char *key, uint64_t min, uint64_t max,
                const char *range, uint64_t *out)
{
    char expected[160];
    snprintf(expected, sizeof expected, "a size %s (such as 64KiB or 1MiB)", range);
    const char *s = tri_w_scalar(w, v, key, expected);
    if (!s) return false;
    uint64_t x;
    if (!tri_parse_size(s, &x) || x < min || x > max) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

/* A name: 1 to 255 bytes, none of `banned`, printable ASCII when
 * `printable`. Copied into the arena. */
const char *tri_w_name(walker *w, yaml_node_t *v, const char *key, const char *banned,
                       bool printable, const char *expected)
{
    const char *s = tri_w_scalar(w, v, key, expected);
    if (!s) return NULL;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 255 && !strpbrk(s, banned);
    for (size_t i = 0; ok && printable && i < n; i++)
        ok = (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f;
    if (!ok) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, tri_w_describe(v, got, sizeof got));
        return NULL;
    }
    return tri_arena_strdup(&w->cfg->arena, s);
}

/* ------------------------------------------------------------- maps */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* out = path.key (cut to fit: a path that long only misses its location) */
void tri_w_join_path(char *out, size_t size, const char *path, const char *key)
{
    size_t a = strnlen(path, size - 1), o = a;
    memcpy(out, path, a);
    if (a && o < size - 1) out[o++] = '.';
    size_t b = strnlen(key, size - 1 - o);
    memcpy(out + o, key, b);
    out[o + b] = '\0';
}

bool tri_w_too_big(walker *w, yaml_node_t *n, size_t count, const char *what)
{
    if (count <= MAX_ENTRIES) return false;
    ERR(w, n, "%s has %zu entries: at most %d are accepted", what, count, MAX_ENTRIES);
    return true;
}

void tri_w_check_keys(walker *w, yaml_node_t *m, const char *path, const char *owner,
                      const keyset *sets, size_t nsets)
{
    if (tri_w_too_big(w, m, (size_t)(pairs_end(m) - pairs_begin(m)), owner)) return;
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (!k || !tri_w_visit(w, k)) return;
        char got[80];
        if (!is_scalar(k) || tri_w_is_null(k) || strlen(sval(k)) != slen(k)) {
            ERR(w, k, "expected a key name in %s, got %s", owner,
                tri_w_describe(k, got, sizeof got));
            continue;
        }
        const char *name = sval(k);
        bool dup = false;
        for (const yaml_node_pair_t *q = pairs_begin(m); q < p && !dup; q++) {
            yaml_node_t *k2 = node_at(w, q->key);
            if (is_scalar(k2) && strcmp(sval(k2), name) == 0) {
                ERR(w, k, "duplicate key '%s' in %s (first at line %u, column %u)", name, owner,
                    line_of(k2), col_of(k2));
                dup = true;
            }
        }
        if (dup) continue;
        char kp[PATH_MAX_LEN];
        tri_w_join_path(kp, sizeof kp, path, name);
        tri_config_loc(w->cfg, kp, line_of(k), col_of(k));
        const keyset *found = NULL;
        for (size_t s = 0; s < nsets && !found; s++)
            for (size_t i = 0; sets[s].keys[i] && !found; i++)
                if (strcmp(sets[s].keys[i], name) == 0) found = &sets[s];
        if (found && !found->misplaced) continue;
        if (found) {
            ERR(w, k, found->misplaced, name, owner);
            continue;
        }
        if (w->cfg->too_many_errors) continue; /* no suggestion work for nobody */
        /* unknown: suggest the closest allowed key, list them all */
        const char *best = NULL;
        size_t bestd = 3;
        char list[512] = "";
        for (size_t s = 0; s < nsets; s++) {
            if (sets[s].misplaced) continue;
            for (size_t i = 0; sets[s].keys[i]; i++) {
                size_t d = edit_distance(name, sets[s].keys[i]);
                if (d < bestd) bestd = d, best = sets[s].keys[i];
                if (*list) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, sets[s].keys[i], sizeof list - strlen(list) - 1);
            }
        }
        if (best)
            ERR(w, k, "unknown key '%s' in %s (did you mean '%s'?)", name, owner, best);
        else
            ERR(w, k, "unknown key '%s' in %s (expected one of: %s)", name, owner, list);
    }
}

/* The value of `key` in map m (its first occurrence), or NULL. */
yaml_node_t *tri_w_get(walker *w, yaml_node_t *m, const char *key)
{
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (is_scalar(k) && strlen(sval(k)) == slen(k) && strcmp(sval(k), key) == 0)
            return node_at(w, p->value);
    }
    return NULL;
}

yaml_node_t *tri_w_key_node(walker *w, yaml_node_t *m, const char *key)
{
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (is_scalar(k) && strlen(sval(k)) == slen(k) && strcmp(sval(k), key) == 0) return k;
    }
    return NULL;
}

bool tri_w_expect_map(walker *w, yaml_node_t *v, const char *key)
{
    if (v && v->type == YAML_MAPPING_NODE) return true;
    char got[80];
    ERR(w, v, "%s: expected a map, got %s", key, tri_w_describe(v, got, sizeof got));
    return false;
}

/* Items of a list, or of a lone scalar taken as a list of one when
 * `lone` (listen: tcp://...). Returns the count; *items the node indices. */
size_t tri_w_list(walker *w, yaml_node_t *v, const char *key, bool lone, int **items, int *one)
{
    if (v->type == YAML_SEQUENCE_NODE) {
        *items = v->data.sequence.items.start;
        return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    if (lone && is_scalar(v) && !tri_w_is_null(v)) {
        *one = (int)(v - w->doc->nodes.start) + 1;
        *items = one;
        return 1;
    }
    if (tri_w_is_null(v)) return 0; /* `plugins:` with nothing: none */
    char got[80];
    ERR(w, v, "%s: expected a list%s, got %s", key, lone ? " (or one value)" : "",
        tri_w_describe(v, got, sizeof got));
    return 0;
}

/* ------------------------------------------------------------- files */

void tri_w_check_file(walker *w, yaml_node_t *v, const char *key, const char *path, bool secret,
                      bool dir_ok)
{
    if (w->cfg->flags & TR_CONFIG_NO_FILES) return;
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        ERR(w, v, "%s: cannot read '%s'", key, path);
        return;
    }
    if (S_ISDIR(st.st_mode) ? !dir_ok : !S_ISREG(st.st_mode)) {
        ERR(w, v, "%s: '%s' is not a %s", key, path, dir_ok ? "file or directory" : "file");
        return;
    }
    if (secret && (st.st_mode & 044))
        ERR(w, v, "%s: '%s' is readable by group or others: a secret key must not be (chmod 600)",
            key, path);
}

/* ------------------------------------------------------------- plugins */

static void walk_plugins(walker *w, yaml_node_t *v)
{
    int *items, one;
    size_t n = tri_w_list(w, v, "plugins", true, &items, &one);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = node_at(w, items[i]);
        if (!it || !tri_w_visit(w, it)) return;
        char p[64];
        snprintf(p, sizeof p, "plugins[%zu]", i);
        tri_config_loc(w->cfg, p, line_of(it), col_of(it));
        const char *s = tri_w_scalar(w, it, "plugins", "the path of a shared object");
        if (!s) continue;
        const char *path = tri_config_path(w->cfg, s);
        if (!path || (w->cfg->flags & TR_CONFIG_NO_PLUGINS)) continue;
        char why[512];
        if (tri_plugin_load(path, w->cfg->file, why, sizeof why) != TR_OK)
            ERR(w, it, "plugin '%s': %s", s, why);
    }
}

/* ------------------------------------------------------------- top */

static void walk_top(walker *w, yaml_node_t *root)
{
    char got[80];
    if (root->type != YAML_MAPPING_NODE || tri_w_is_null(root)) {
        ERR(w, root, "expected a map with 'tree' (and optionally 'node' and 'plugins'), got %s",
            tri_w_describe(root, got, sizeof got));
        return;
    }
    static const char *const keys[] = {"node", "plugins", "tree", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, root, "", "the config", ks, 1);
    yaml_node_t *x;
    /* plugins first, whatever the order in the file: the tree's
     * behaviours may come from them */
    if ((x = tri_w_get(w, root, "plugins"))) walk_plugins(w, x);
    if ((x = tri_w_get(w, root, "node"))) tri_walk_node(w, x);
    if ((x = tri_w_get(w, root, "tree")))
        tri_walk_tree(w, x);
    else
        ERR(w, root, "the config has no 'tree' (the root supervisor and its children)");
}

/* ------------------------------------------------------------- entry */

static void syntax_error(tr_config *cfg, yaml_parser_t *p, const char *text, size_t size)
{
    if (p->error == YAML_MEMORY_ERROR) {
        cfg->arena.oom = true;
        return;
    }
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        /* the reader reports a byte offset, not a mark */
        line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < size; i++) {
            if (text[i] == '\n')
                line++, col = 1;
            else if (((unsigned char)text[i] & 0xc0) != 0x80)
                col++;
        }
        tri_config_error(cfg, line, col, "YAML: %s (byte 0x%02x)",
                         p->problem ? p->problem : "unreadable input", p->problem_value & 0xff);
        return;
    }
    if (p->context)
        tri_config_error(cfg, line, col, "YAML syntax: %s (%s at line %u, column %u)",
                         p->problem ? p->problem : "error", p->context,
                         (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    else
        tri_config_error(cfg, line, col, "YAML syntax: %s", p->problem ? p->problem : "error");
}

void tri_config_walk(tr_config *cfg, const char *text, size_t size)
{
    if (tr_builtins_register() != TR_OK) {
        cfg->arena.oom = true;
        return;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        cfg->arena.oom = true;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(cfg, &parser, text, size);
        yaml_parser_delete(&parser);
        return;
    }
    walker w = {cfg, &doc, text, size, MAX_VISITS, NULL, 0, 0};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        tri_config_error(cfg, 1, 1, "the config is empty: expected a map with 'tree'");
    else
        walk_top(&w, root);
    free(w.regs);
    yaml_document_t next;
    if (root && yaml_parser_load(&parser, &next)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2)
            tri_config_error(cfg, line_of(r2), col_of(r2),
                             "a second YAML document: a config file holds one");
        yaml_document_delete(&next);
    } else if (root) {
        syntax_error(cfg, &parser, text, size);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    /* the C API's own check, as a net: any spec the walk let through
     * that tr_supervisor_start would refuse is a bug here, said so */
    if (cfg->nerr == 0 && cfg->has_tree) {
        char why[512];
        if (tr_sup_spec_check(&cfg->tree, why, sizeof why) != TR_OK) {
            tr_config_error at = {0};
            tr_config_locate(cfg, "tree", &at);
            tri_config_error(cfg, at.line, at.column, "the tree is refused: %s", why);
        }
    }
}
