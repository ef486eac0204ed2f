/* config_yaml_args.c — a child's `args:` (any YAML value) encoded as
 * troupe/args.h bytes: scalars typed by YAML 1.2's core schema, quoted or
 * !!str-tagged text kept as strings, nesting bounded. */
#include <stdlib.h>
#include <string.h>

#include "config_walk.h"

/* ------------------------------------------------------------- args */

static bool is_float_text(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) return true;
    if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) return true;
    bool digits = false, dot = false;
    while (*p >= '0' && *p <= '9')
        p++, digits = true;
    if (*p == '.') {
        dot = true;
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits = true;
    }
    if (!digits) return false;
    bool exp = false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9')
            p++;
        exp = true;
    }
    return !*p && (dot || exp);
}

static double float_of(const char *s)
{
    const char *p = s + (*s == '+' || *s == '-');
    double sign = *s == '-' ? -1.0 : 1.0;
    if (p[0] == '.' && (p[1] == 'i' || p[1] == 'I')) return sign * __builtin_inf();
    if (p[0] == '.' && (p[1] == 'n' || p[1] == 'N')) return __builtin_nan("");
    return strtod(s, NULL);
}

static bool is_int_text(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) return p[2] != '\0' && p == s;
    if (!*p) return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

#define TAG(x) "tag:yaml.org,2002:" x

/* libyaml's document gives an untagged scalar the tag !!str: whether the
 * text said "!!str" is told by the source at the node's start, where the
 * node's properties (an anchor, then a tag) begin. */
static bool explicit_tag(const walker *w, const yaml_node_t *n)
{
    size_t i = n->start_mark.index;
    if (i < w->size && w->text[i] == '&') {
        while (i < w->size && w->text[i] != ' ' && w->text[i] != '\t' && w->text[i] != '\n')
            i++;
        while (i < w->size && (w->text[i] == ' ' || w->text[i] == '\t' || w->text[i] == '\n'))
            i++;
    }
    return i < w->size && w->text[i] == '!';
}

static void put_scalar(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n)
{
    const char *tag = (const char *)n->tag;
    const char *s = sval(n);
    bool has_nul = strlen(s) != slen(n);
    char got[80];
    int64_t i;
    if (!tag || !strcmp(tag, TAG("str"))) {
        if (!plain(n) || has_nul || explicit_tag(w, n)) {
            tri_args_put_strn(b, key, s, slen(n));
        } else if (tri_w_is_null(n)) {
            tr_args_put_null(b, key);
        } else if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            tr_args_put_bool(b, key, true);
        } else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            tr_args_put_bool(b, key, false);
        } else if (is_int_text(s)) {
            if (!tri_parse_int(s, &i))
                ERR(w, n, "args: %s is out of the int64 range", tri_w_describe(n, got, sizeof got));
            else
                tr_args_put_int(b, key, i);
        } else if (is_float_text(s)) {
            tr_args_put_float(b, key, float_of(s));
        } else {
            tr_args_put_str(b, key, s);
        }
    } else if (!strcmp(tag, TAG("int"))) {
        if (has_nul || !tri_parse_int(s, &i))
            ERR(w, n, "args: !!int %s is not an int64", tri_w_describe(n, got, sizeof got));
        else
            tr_args_put_int(b, key, i);
    } else if (!strcmp(tag, TAG("float"))) {
        if (has_nul || (!is_float_text(s) && !is_int_text(s)))
            ERR(w, n, "args: !!float %s is not a float", tri_w_describe(n, got, sizeof got));
        else
            tr_args_put_float(b, key, float_of(s));
    } else if (!strcmp(tag, TAG("bool"))) {
        if (!strcmp(s, "true") || !strcmp(s, "false"))
            tr_args_put_bool(b, key, s[0] == 't');
        else
            ERR(w, n, "args: !!bool %s is not true or false", tri_w_describe(n, got, sizeof got));
    } else if (!strcmp(tag, TAG("null"))) {
        tr_args_put_null(b, key);
    } else {
        ERR(w, n, "args: unsupported tag '%.100s'", tag);
    }
}

static void put_value(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n, int depth);

static void put_entries(walker *w, tr_args_builder *b, yaml_node_t *m, int depth)
{
    if (tri_w_too_big(w, m, (size_t)(pairs_end(m) - pairs_begin(m)), "an args map")) return;
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key), *v = node_at(w, p->value);
        if (!k || !v || !tri_w_visit(w, k)) return;
        char got[80];
        if (!is_scalar(k)) {
            ERR(w, k, "args: expected a key (a string), got %s",
                tri_w_describe(k, got, sizeof got));
            continue;
        }
        if (!tri_args_valid_key(sval(k), slen(k))) {
            ERR(w, k, "args: a key must be at most %d bytes without NUL, got %s", TR_ARGS_MAX_KEY,
                tri_w_describe(k, got, sizeof got));
            continue;
        }
        bool dup = false;
        for (const yaml_node_pair_t *q = pairs_begin(m); q < p && !dup; q++) {
            yaml_node_t *k2 = node_at(w, q->key);
            if (is_scalar(k2) && slen(k2) == slen(k) && !memcmp(sval(k2), sval(k), slen(k))) {
                ERR(w, k, "args: duplicate key '%s' (first at line %u, column %u)", sval(k),
                    line_of(k2), col_of(k2));
                dup = true;
            }
        }
        if (!dup) put_value(w, b, sval(k), v, depth);
    }
}

static void put_value(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n, int depth)
{
    if (!tri_w_visit(w, n)) return;
    if (n->type == YAML_SCALAR_NODE) {
        put_scalar(w, b, key, n);
        return;
    }
    if (depth >= TR_ARGS_MAX_DEPTH) {
        ERR(w, n, "args: nested deeper than %d levels", TR_ARGS_MAX_DEPTH);
        return;
    }
    if (n->type == YAML_MAPPING_NODE) {
        tr_args_begin_map(b, key);
        put_entries(w, b, n, depth + 1);
        tr_args_end(b);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        tr_args_begin_list(b, key);
        for (int *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            yaml_node_t *item = node_at(w, *it);
            if (item) put_value(w, b, NULL, item, depth + 1);
        }
        tr_args_end(b);
    }
}

/* Encodes `args:` into the child spec. A map's entries become the root's;
 * anything else sits under the key "" (troupe/args.h). Null: no args. */
void tri_walk_args(walker *w, yaml_node_t *v, tr_child_spec *c)
{
    if (tri_w_is_null(v)) return;
    tr_args_builder *b;
    if (tr_args_builder_new(&b) != TR_OK) {
        w->cfg->arena.oom = true;
        return;
    }
    size_t before = w->cfg->nerr;
    if (v->type == YAML_MAPPING_NODE) {
        if (tri_w_visit(w, v)) put_entries(w, b, v, 1);
    } else {
        put_value(w, b, "", v, 1);
    }
    void *bytes = NULL;
    size_t size = 0;
    int rc = tr_args_finish(b, &bytes, &size);
    tr_args_builder_destroy(&b);
    if (rc == TR_ENOMEM)
        w->cfg->arena.oom = true;
    else if (rc != TR_OK && w->cfg->nerr == before)
        ERR(w, v, "args: cannot be encoded (%s)", tr_strerror(rc));
    if (rc == TR_OK) {
        c->args = tri_arena_memdup(&w->cfg->arena, bytes, size);
        c->args_size = size;
    }
    free(bytes);
}
