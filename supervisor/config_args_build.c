/* config_args_build.c — building structured spawn args (troupe/args.h):
 * values appended in order; a map or list's header is written with room
 * for its length and count, filled in when it is closed. */
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

/* ------------------------------------------------------------ building */

typedef struct open_frame {
    size_t header; /* offset of the container's tag */
    uint32_t count;
    bool is_map;
} open_frame;

struct tr_args_builder {
    unsigned char *p;
    size_t n, cap;
    int err;
    open_frame stack[TR_ARGS_MAX_DEPTH];
    int depth;
};

tr_err tr_args_builder_new(tr_args_builder **out)
{
    if (!out) return TR_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? TR_OK : TR_ENOMEM;
}

void tr_args_builder_destroy(tr_args_builder **b)
{
    if (!b || !*b) return;
    free((*b)->p);
    free(*b);
    *b = NULL;
}

static void put(tr_args_builder *b, const void *p, size_t n)
{
    if (b->err) return;
    if (n > SIZE_MAX / 2 - b->n) {
        b->err = TR_ENOMEM;
        return;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->err = TR_ENOMEM;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_varint(tr_args_builder *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, n);
}

/* Writes the key (or checks its absence) for a new value in the current
 * container, and counts the value. */
static int begin_value(tr_args_builder *b, const char *key)
{
    if (b->err) return b->err;
    if (b->n == 0) put(b, tri_args_magic, sizeof tri_args_magic);
    bool in_list = b->depth > 0 && !b->stack[b->depth - 1].is_map;
    size_t klen = key ? strlen(key) : 0;
    if (in_list ? key != NULL : !key || klen > TR_ARGS_MAX_KEY) return b->err = TR_EINVAL;
    if (b->depth > 0) {
        open_frame *f = &b->stack[b->depth - 1];
        if (f->count == UINT32_MAX) return b->err = TR_EINVAL;
        f->count++;
    }
    if (!in_list) {
        unsigned char kl = (unsigned char)klen;
        put(b, &kl, 1);
        put(b, key, klen);
        put(b, "", 1);
    }
    return b->err;
}

tr_err tr_args_put_null(tr_args_builder *b, const char *key)
{
    if (!b) return TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    put(b, "n", 1);
    return b->err;
}

tr_err tr_args_put_bool(tr_args_builder *b, const char *key, bool v)
{
    if (!b) return TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    put(b, v ? "t" : "f", 1);
    return b->err;
}

tr_err tr_args_put_int(tr_args_builder *b, const char *key, int64_t v)
{
    if (!b) return TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    put(b, "i", 1);
    uint64_t u = (uint64_t)v;
    put_varint(b, v < 0 ? ~(u << 1) : u << 1);
    return b->err;
}

tr_err tr_args_put_float(tr_args_builder *b, const char *key, double v)
{
    if (!b) return TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    unsigned char tmp[9] = {'d'};
    for (int i = 0; i < 8; i++)
        tmp[1 + i] = (unsigned char)(u >> (8 * i));
    put(b, tmp, sizeof tmp);
    return b->err;
}

int tri_args_put_strn(tr_args_builder *b, const char *key, const char *s, size_t len)
{
    if (!b || (!s && len)) return TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    put(b, "s", 1);
    put_varint(b, len);
    put(b, s, len);
    put(b, "", 1);
    return b->err;
}

tr_err tr_args_put_str(tr_args_builder *b, const char *key, const char *s)
{
    if (!s) return b ? (b->err = b->err ? b->err : TR_EINVAL) : TR_EINVAL;
    return tri_args_put_strn(b, key, s, strlen(s));
}

static int begin_container(tr_args_builder *b, const char *key, bool is_map)
{
    if (!b) return TR_EINVAL;
    if (b->depth >= TR_ARGS_MAX_DEPTH) return b->err = b->err ? b->err : TR_EINVAL;
    if (begin_value(b, key)) return b->err;
    size_t at = b->n;
    unsigned char head[9] = {is_map ? 'm' : 'l'};
    put(b, head, sizeof head);
    if (b->err) return b->err;
    b->stack[b->depth++] = (open_frame){at, 0, is_map};
    return TR_OK;
}

tr_err tr_args_begin_map(tr_args_builder *b, const char *key) { return begin_container(b, key, true); }

tr_err tr_args_begin_list(tr_args_builder *b, const char *key)
{
    return begin_container(b, key, false);
}

static void put_u32_at(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

tr_err tr_args_end(tr_args_builder *b)
{
    if (!b) return TR_EINVAL;
    if (b->err) return b->err;
    if (b->depth == 0) return b->err = TR_EINVAL;
    open_frame *f = &b->stack[--b->depth];
    size_t body = b->n - (f->header + 9);
    if (body > UINT32_MAX) return b->err = TR_ENOMEM;
    put_u32_at(b->p + f->header + 1, (uint32_t)body);
    put_u32_at(b->p + f->header + 5, f->count);
    return TR_OK;
}

tr_err tr_args_finish(tr_args_builder *b, void **out, size_t *size)
{
    if (!b || !out || !size) return TR_EINVAL;
    int rc = b->err ? b->err : b->depth ? TR_EINVAL : TR_OK;
    if (rc == TR_OK && b->n == 0) put(b, tri_args_magic, sizeof tri_args_magic), rc = b->err;
    if (rc == TR_OK) {
        *out = b->p;
        *size = b->n;
        b->p = NULL;
    } else {
        free(b->p);
        b->p = NULL;
    }
    b->n = b->cap = 0;
    b->err = 0;
    b->depth = 0;
    return rc;
}
