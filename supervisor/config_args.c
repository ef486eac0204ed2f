/* config_args.c — reading structured spawn args (troupe/args.h): lookups
 * by path, typed getters, iteration and validation, with bounds checks at
 * every step. Building them is config_args_build.c.
 *
 * Readers never trust a length: each one is compared with what is left of
 * the enclosing container (or buffer) before use, and nesting is bounded,
 * so a hostile buffer can only earn TR_EINVAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

#define MAGIC0 0xFF
const unsigned char tri_args_magic[4] = {MAGIC0, 'T', 'A', 1};

enum { RAW_CONTAINER = 0, RAW_ROOT = 1 };
enum { IT_ROOT = 0, IT_MAP = 1, IT_LIST = 2, IT_DONE = 3 };

const char *tr_args_type_name(tr_args_type t)
{
    switch (t) {
    case TR_ARGS_NULL: return "null";
    case TR_ARGS_BOOL: return "bool";
    case TR_ARGS_INT: return "int";
    case TR_ARGS_FLOAT: return "float";
    case TR_ARGS_STR: return "string";
    case TR_ARGS_MAP: return "map";
    case TR_ARGS_LIST: return "list";
    }
    return "unknown";
}

bool tri_args_valid_key(const char *k, size_t len)
{
    return k && len <= TR_ARGS_MAX_KEY && !memchr(k, 0, len);
}

/* ------------------------------------------------------------- reading */

typedef struct rd {
    const unsigned char *p, *end;
} rd;

static bool rd_u8(rd *r, unsigned *v)
{
    if (r->p >= r->end) return false;
    *v = *r->p++;
    return true;
}

static bool rd_u32(rd *r, uint32_t *v)
{
    if (r->end - r->p < 4) return false;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return true;
}

static bool rd_varint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        unsigned byte;
        if (!rd_u8(r, &byte)) return false;
        if (shift == 63 && byte > 1) return false; /* past 64 bits */
        x |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* A key: u8 length (not 0xFF), bytes, NUL. */
static bool rd_key(rd *r, const char **key, size_t *len)
{
    unsigned klen;
    if (!rd_u8(r, &klen) || klen > TR_ARGS_MAX_KEY) return false;
    if ((size_t)(r->end - r->p) < (size_t)klen + 1 || r->p[klen] != 0) return false;
    if (memchr(r->p, 0, klen)) return false;
    *key = (const char *)r->p;
    *len = klen;
    r->p += klen + 1;
    return true;
}

/* Reads one value at r: scalars decoded, containers described and
 * skipped (their insides are read when descended into). */
static bool rd_value(rd *r, tr_args_value *v)
{
    memset(v, 0, sizeof *v);
    const unsigned char *at = r->p;
    unsigned tag;
    if (!rd_u8(r, &tag)) return false;
    switch (tag) {
    case 'n': v->type = TR_ARGS_NULL; return true;
    case 't':
    case 'f':
        v->type = TR_ARGS_BOOL;
        v->b = tag == 't';
        return true;
    case 'i': {
        uint64_t u;
        if (!rd_varint(r, &u)) return false;
        v->type = TR_ARGS_INT;
        v->i = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
        return true;
    }
    case 'd': {
        if (r->end - r->p < 8) return false;
        uint64_t u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | r->p[i];
        r->p += 8;
        v->type = TR_ARGS_FLOAT;
        memcpy(&v->f, &u, sizeof v->f);
        return true;
    }
    case 's': {
        uint64_t len;
        if (!rd_varint(r, &len)) return false;
        if ((uint64_t)(r->end - r->p) <= len || r->p[len] != 0) return false;
        v->type = TR_ARGS_STR;
        v->s = (const char *)r->p;
        v->len = (size_t)len;
        r->p += len + 1;
        return true;
    }
    case 'm':
    case 'l': {
        uint32_t body, count;
        if (!rd_u32(r, &body) || !rd_u32(r, &count)) return false;
        if ((uint64_t)(r->end - r->p) < body) return false;
        /* each entry or item takes at least one byte (two for an entry) */
        if (count > body) return false;
        v->type = tag == 'm' ? TR_ARGS_MAP : TR_ARGS_LIST;
        v->count = count;
        v->raw = at;
        v->raw_size = (size_t)(r->p - at) + body;
        r->p += body;
        return true;
    }
    default: return false;
    }
}

/* p + n, without arithmetic on a NULL p (no args: NULL, 0). */
static const unsigned char *end_of(const void *p, size_t n)
{
    return n ? (const unsigned char *)p + n : (const unsigned char *)p;
}

static bool is_magic(const unsigned char *p, const unsigned char *end)
{
    return end - p >= 4 && memcmp(p, tri_args_magic, 4) == 0;
}

/* The body of a container value. */
static rd body_of(const tr_args_value *c)
{
    rd r = {c->raw + 9, c->raw + c->raw_size};
    return r;
}

static bool key_eq(const char *k, size_t klen, const char *want, size_t wlen)
{
    return klen == wlen && memcmp(k, want, klen) == 0;
}

/* The root map: every chunk's entries; a later entry with the same key
 * wins. Returns 1 found, 0 not found, -1 malformed. If `skip_before` is
 * set, only entries after it count (iteration's override test). */
static int root_find(const unsigned char *args, size_t size, const char *key, size_t klen,
                     const unsigned char *after, tr_args_value *out)
{
    rd r = {args, end_of(args, size)};
    int found = 0;
    while (r.p < r.end) {
        if (*r.p == MAGIC0) {
            if (!is_magic(r.p, r.end)) return -1;
            r.p += 4;
            continue;
        }
        if (r.p == args) return -1; /* entries before any chunk header */
        const unsigned char *entry = r.p;
        const char *k;
        size_t kl;
        tr_args_value v;
        if (!rd_key(&r, &k, &kl) || !rd_value(&r, &v)) return -1;
        if (after && entry <= after) continue;
        if (key_eq(k, kl, key, klen)) {
            if (out) *out = v;
            found = 1;
        }
    }
    return found;
}

static int map_find(const tr_args_value *m, const char *key, size_t klen, tr_args_value *out)
{
    rd r = body_of(m);
    int found = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        const char *k;
        size_t kl;
        tr_args_value v;
        if (!rd_key(&r, &k, &kl) || !rd_value(&r, &v)) return -1;
        if (key_eq(k, kl, key, klen)) {
            *out = v;
            found = 1;
        }
    }
    return found;
}

static int list_at(const tr_args_value *l, uint64_t index, tr_args_value *out)
{
    if (index >= l->count) return 0;
    rd r = body_of(l);
    for (uint64_t i = 0; i <= index; i++)
        if (!rd_value(&r, out)) return -1;
    return 1;
}

static void root_value(const void *args, size_t size, tr_args_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = TR_ARGS_MAP;
    out->raw = args;
    out->raw_size = size;
    /* raw_size with a NULL-free root: marked by raw pointing at a chunk
     * header (or size 0); containers start with 'm' or 'l' */
}

static bool is_root(const tr_args_value *v)
{
    return v->raw_size == 0 || (v->raw && v->raw[0] == MAGIC0);
}

/* One step: the entry `key` of map-or-root `cur`. */
static int step_key(const tr_args_value *cur, const char *key, size_t klen, tr_args_value *out)
{
    int f;
    if (is_root(cur))
        f = root_find(cur->raw, cur->raw_size, key, klen, NULL, out);
    else
        f = map_find(cur, key, klen, out);
    return f < 0 ? TR_EINVAL : f ? TR_OK : TR_ENOENT;
}

static bool parse_index(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = x;
    return true;
}

static int walk(const tr_args_value *start, const char *path, tr_args_value *out)
{
    tr_args_value cur = *start;
    if (!path) {
        *out = cur;
        if (is_root(&cur)) {
            size_t n;
            int rc = tr_args_count(cur.raw, cur.raw_size, NULL, &n);
            if (rc) return rc;
            out->count = (uint32_t)n;
        }
        return TR_OK;
    }
    const char *p = path;
    bool first = true;
    for (;;) {
        tr_args_value next;
        int rc;
        if (first || *p == '.') {
            if (!first) p++;
            size_t n = strcspn(p, ".[");
            if (!first && n == 0) return TR_EINVAL; /* "a..b", "a." */
            uint64_t idx;
            if (!first && cur.type == TR_ARGS_LIST && parse_index(p, n, &idx)) {
                int f = list_at(&cur, idx, &next);
                rc = f < 0 ? TR_EINVAL : f ? TR_OK : TR_ENOENT;
            } else if (cur.type == TR_ARGS_MAP) {
                if (n > TR_ARGS_MAX_KEY) return TR_ENOENT;
                rc = step_key(&cur, p, n, &next);
            } else {
                return TR_EINVAL; /* through a scalar, or a key into a list */
            }
            p += n;
            first = false;
        } else if (*p == '[') {
            const char *close = strchr(p, ']');
            uint64_t idx;
            if (!close || !parse_index(p + 1, (size_t)(close - p - 1), &idx)) return TR_EINVAL;
            if (cur.type != TR_ARGS_LIST) return TR_EINVAL;
            int f = list_at(&cur, idx, &next);
            rc = f < 0 ? TR_EINVAL : f ? TR_OK : TR_ENOENT;
            p = close + 1;
        } else {
            return TR_EINVAL;
        }
        if (rc) return rc;
        cur = next;
        if (!*p) break;
    }
    *out = cur;
    return TR_OK;
}

tr_err tr_args_get(const void *args, size_t size, const char *path, tr_args_value *out)
{
    if (!out || (!args && size)) return TR_EINVAL;
    if (size && !is_magic(args, (const unsigned char *)args + size)) return TR_EINVAL;
    tr_args_value root;
    root_value(args, size, &root);
    return walk(&root, path, out);
}

tr_err tr_args_value_get(const tr_args_value *base, const char *path, tr_args_value *out)
{
    if (!base || !out) return TR_EINVAL;
    if (base->type != TR_ARGS_MAP && base->type != TR_ARGS_LIST) return TR_EINVAL;
    if (!base->raw && base->raw_size) return TR_EINVAL;
    return walk(base, path, out);
}

/* ------------------------------------------------------------- typed */

static int get_typed(const void *args, size_t size, const char *path, tr_args_type type,
                     tr_args_value *v)
{
    int rc = tr_args_get(args, size, path, v);
    if (rc) return rc;
    return v->type == type ? TR_OK : TR_EINVAL;
}

tr_err tr_args_str(const void *args, size_t size, const char *path, const char **out, size_t *len)
{
    tr_args_value v;
    int rc = get_typed(args, size, path, TR_ARGS_STR, &v);
    if (rc) return rc;
    if (out) *out = v.s;
    if (len) *len = v.len;
    return TR_OK;
}

tr_err tr_args_int(const void *args, size_t size, const char *path, int64_t *out)
{
    tr_args_value v;
    int rc = get_typed(args, size, path, TR_ARGS_INT, &v);
    if (rc == TR_OK && out) *out = v.i;
    return rc;
}

tr_err tr_args_float(const void *args, size_t size, const char *path, double *out)
{
    tr_args_value v;
    int rc = tr_args_get(args, size, path, &v);
    if (rc) return rc;
    if (v.type == TR_ARGS_INT)
        v.f = (double)v.i;
    else if (v.type != TR_ARGS_FLOAT)
        return TR_EINVAL;
    if (out) *out = v.f;
    return TR_OK;
}

tr_err tr_args_bool(const void *args, size_t size, const char *path, bool *out)
{
    tr_args_value v;
    int rc = get_typed(args, size, path, TR_ARGS_BOOL, &v);
    if (rc == TR_OK && out) *out = v.b;
    return rc;
}

tr_err tr_args_value_duration(const tr_args_value *v, int64_t *ms)
{
    if (!v) return TR_EINVAL;
    int64_t r;
    if (v->type == TR_ARGS_INT && v->i == 0) {
        r = 0;
    } else if (v->type == TR_ARGS_STR && strlen(v->s) == v->len) {
        int64_t us;
        bool inf;
        if (!tri_parse_duration_us(v->s, &us, &inf)) return TR_EINVAL;
        if (inf)
            r = -1; /* TR_INFINITY */
        else if (us % 1000)
            return TR_EINVAL;
        else
            r = us / 1000;
    } else {
        return TR_EINVAL;
    }
    if (ms) *ms = r;
    return TR_OK;
}

tr_err tr_args_value_size(const tr_args_value *v, uint64_t *bytes)
{
    if (!v) return TR_EINVAL;
    uint64_t r;
    if (v->type == TR_ARGS_INT && v->i >= 0)
        r = (uint64_t)v->i;
    else if (v->type == TR_ARGS_STR && strlen(v->s) == v->len && tri_parse_size(v->s, &r))
        (void)0;
    else
        return TR_EINVAL;
    if (bytes) *bytes = r;
    return TR_OK;
}

tr_err tr_args_duration(const void *args, size_t size, const char *path, int64_t *ms)
{
    tr_args_value v;
    int rc = tr_args_get(args, size, path, &v);
    return rc ? rc : tr_args_value_duration(&v, ms);
}

tr_err tr_args_size(const void *args, size_t size, const char *path, uint64_t *bytes)
{
    tr_args_value v;
    int rc = tr_args_get(args, size, path, &v);
    return rc ? rc : tr_args_value_size(&v, bytes);
}

/* ------------------------------------------------------------ iterating */

tr_err tr_args_iter_value(tr_args_iter *it, const tr_args_value *c)
{
    if (!it || !c) return TR_EINVAL;
    memset(it, 0, sizeof *it);
    it->mode = IT_DONE;
    if (c->type != TR_ARGS_MAP && c->type != TR_ARGS_LIST) return TR_EINVAL;
    if (is_root(c)) {
        it->args = c->raw;
        it->size = c->raw_size;
        it->pos = c->raw;
        it->end = end_of(c->raw, c->raw_size);
        it->mode = IT_ROOT;
        return TR_OK;
    }
    if (!c->raw || c->raw_size < 9) return TR_EINVAL;
    it->pos = c->raw + 9;
    it->end = c->raw + c->raw_size;
    it->left = c->count;
    it->mode = c->type == TR_ARGS_MAP ? IT_MAP : IT_LIST;
    return TR_OK;
}

tr_err tr_args_iter_init(tr_args_iter *it, const void *args, size_t size, const char *path)
{
    if (!it) return TR_EINVAL;
    memset(it, 0, sizeof *it);
    it->mode = IT_DONE;
    tr_args_value v;
    int rc = tr_args_get(args, size, path, &v);
    if (rc) return rc;
    return tr_args_iter_value(it, &v);
}

tr_err tr_args_iter_next(tr_args_iter *it, const char **key, tr_args_value *value)
{
    if (!it) return TR_EINVAL;
    tr_args_value v;
    const char *k = NULL;
    size_t kl;
    switch (it->mode) {
    case IT_ROOT:
        for (;;) {
            rd r = {it->pos, it->end};
            if (r.p >= r.end) {
                it->mode = IT_DONE;
                return TR_ENOENT;
            }
            if (*r.p == MAGIC0) {
                if (!is_magic(r.p, r.end)) break;
                it->pos += 4;
                continue;
            }
            if (r.p == it->args) break;
            const unsigned char *entry = r.p;
            if (!rd_key(&r, &k, &kl) || !rd_value(&r, &v)) break;
            it->pos = r.p;
            int later = root_find(it->args, it->size, k, kl, entry, NULL);
            if (later < 0) break;
            if (later) continue; /* overridden by a later layer */
            if (key) *key = k;
            if (value) *value = v;
            return TR_OK;
        }
        it->mode = IT_DONE;
        return TR_EINVAL;
    case IT_MAP:
    case IT_LIST: {
        if (it->left == 0) {
            it->mode = IT_DONE;
            return TR_ENOENT;
        }
        rd r = {it->pos, it->end};
        if ((it->mode == IT_MAP && !rd_key(&r, &k, &kl)) || !rd_value(&r, &v)) {
            it->mode = IT_DONE;
            return TR_EINVAL;
        }
        it->pos = r.p;
        it->left--;
        if (key) *key = it->mode == IT_MAP ? k : NULL;
        if (value) *value = v;
        return TR_OK;
    }
    default: return TR_ENOENT;
    }
}

tr_err tr_args_count(const void *args, size_t size, const char *path, size_t *out)
{
    tr_args_value v;
    int rc;
    if (path) {
        rc = tr_args_get(args, size, path, &v);
        if (rc) return rc;
        if (v.type != TR_ARGS_MAP && v.type != TR_ARGS_LIST) return TR_EINVAL;
        if (out) *out = v.count;
        return TR_OK;
    }
    if (!args && size) return TR_EINVAL;
    if (size && !is_magic(args, (const unsigned char *)args + size)) return TR_EINVAL;
    root_value(args, size, &v);
    tr_args_iter it;
    if ((rc = tr_args_iter_value(&it, &v))) return rc;
    size_t n = 0;
    while ((rc = tr_args_iter_next(&it, NULL, NULL)) == TR_OK)
        n++;
    if (rc != TR_ENOENT) return rc;
    if (out) *out = n;
    return TR_OK;
}

/* ------------------------------------------------------------ checking */

typedef struct checker {
    const unsigned char *base;
    char *why;
    size_t ws;
} checker;

static int fail_at(checker *c, const unsigned char *at, const char *what)
{
    if (c->why && c->ws)
        snprintf(c->why, c->ws, "malformed args at byte %zu: %s", (size_t)(at - c->base), what);
    return TR_EINVAL;
}

static int check_value(checker *c, rd *r, int depth);

static int check_container(checker *c, const tr_args_value *v, int depth)
{
    if (depth >= TR_ARGS_MAX_DEPTH) return fail_at(c, v->raw, "nested deeper than 64");
    rd r = body_of(v);
    for (uint32_t i = 0; i < v->count; i++) {
        if (v->type == TR_ARGS_MAP) {
            const char *k;
            size_t kl;
            const unsigned char *at = r.p;
            if (!rd_key(&r, &k, &kl)) return fail_at(c, at, "bad key in a map");
        }
        int rc = check_value(c, &r, depth + 1);
        if (rc) return rc;
    }
    if (r.p != r.end)
        return fail_at(c, v->raw, "a map or list whose length does not match its entries");
    return TR_OK;
}

static int check_value(checker *c, rd *r, int depth)
{
    const unsigned char *at = r->p;
    tr_args_value v;
    if (!rd_value(r, &v)) {
        if (at >= r->end) return fail_at(c, at, "a value is missing (truncated)");
        if (!strchr("ntfidsml", *at) || !*at) return fail_at(c, at, "unknown value tag");
        return fail_at(c, at, "a value runs past the end of its container");
    }
    if (v.type == TR_ARGS_MAP || v.type == TR_ARGS_LIST) return check_container(c, &v, depth);
    return TR_OK;
}

tr_err tr_args_check(const void *args, size_t size, char *why, size_t ws)
{
    if (why && ws) why[0] = '\0';
    checker c = {args, why, ws};
    if (!args && size) return fail_at(&c, c.base, "NULL with a size");
    if (size == 0) return TR_OK;
    rd r = {args, (const unsigned char *)args + size};
    if (!is_magic(r.p, r.end)) return fail_at(&c, r.p, "no args header (not troupe args)");
    while (r.p < r.end) {
        if (*r.p == MAGIC0) {
            if (!is_magic(r.p, r.end)) return fail_at(&c, r.p, "bad chunk header");
            r.p += 4;
            continue;
        }
        const char *k;
        size_t kl;
        const unsigned char *at = r.p;
        if (!rd_key(&r, &k, &kl)) return fail_at(&c, at, "bad key");
        int rc = check_value(&c, &r, 0);
        if (rc) return rc;
    }
    return TR_OK;
}
