/* server.c — the gen_server-style layer (troupe/server.h), built on the
 * public API only: a server is an ordinary behaviour whose state is a
 * tr_server_base, whose handle dispatches by type through a table of atoms
 * built once, in init.
 *
 * The user's state lives in its own block, 16 bytes after a back pointer
 * to the base (so that tr_server_unexpected_count can find the count from
 * the pointer handlers get): malloc's alignment, as a struct needs. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "troupe.h"

/* One table row, resolved: what a type's atom dispatches to. */
struct tri_server_row {
    uint32_t atom;
    tr_server_call_fn call; /* requests */
    tr_server_cast_fn cast; /* one-way messages */
};

#define STATE_PREFIX 16

static tr_server_base *base_of(const void *state)
{
    tr_server_base *b;
    memcpy(&b, (const char *)state - STATE_PREFIX, sizeof b);
    return b;
}

static int row_cmp(const void *x, const void *y)
{
    uint32_t a = ((const struct tri_server_row *)x)->atom;
    uint32_t b = ((const struct tri_server_row *)y)->atom;
    return a < b ? -1 : a > b;
}

static struct tri_server_row *row_find(tr_server_base *b, tr_atom type)
{
    uint32_t lo = 0, hi = b->nrows;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t a = b->rows[mid].atom;
        if (a == type.id) return &b->rows[mid];
        if (a < type.id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Resolves both tables into one sorted array: a type may have a call and
 * a cast handler (a request and a plain message of one type). */
static int build_rows(tr_server_base *b, const tr_server_def *def)
{
    size_t n = 0;
    for (const tr_server_call *c = def->calls; c && c->type; c++) n++;
    for (const tr_server_cast *c = def->casts; c && c->type; c++) n++;
    if (n == 0) return TR_OK;
    struct tri_server_row *rows = calloc(n, sizeof *rows);
    if (!rows) return TR_ENOMEM;
    uint32_t used = 0;
    int rc = TR_OK;
    for (int pass = 0; pass < 2 && rc == TR_OK; pass++) {
        size_t count = 0;
        for (;; count++) {
            const char *name = pass ? (def->casts ? def->casts[count].type : NULL)
                                    : (def->calls ? def->calls[count].type : NULL);
            if (!name) break;
            tr_atom a = tr_atom_from(name);
            if (a.id == 0) {
                rc = TR_EINVAL; /* empty, too long, or out of memory */
                break;
            }
            struct tri_server_row *r = NULL;
            for (uint32_t i = 0; i < used; i++)
                if (rows[i].atom == a.id) r = &rows[i];
            if (!r) {
                r = &rows[used++];
                r->atom = a.id;
            }
            if (pass == 0 && !r->call) r->call = def->calls[count].fn;
            else if (pass == 1 && !r->cast) r->cast = def->casts[count].fn;
            else rc = TR_EEXIST; /* a type listed twice in one table */
            if (rc != TR_OK || (pass ? !r->cast : !r->call)) {
                if (rc == TR_OK) rc = TR_EINVAL; /* a row without a handler */
                break;
            }
        }
    }
    if (rc != TR_OK) {
        free(rows);
        return rc;
    }
    qsort(rows, used, sizeof *rows, row_cmp);
    b->rows = rows;
    b->nrows = used;
    return TR_OK;
}

static void base_free(tr_server_base *b)
{
    free(b->rows);
    b->rows = NULL;
    if (b->state) free((char *)b->state - STATE_PREFIX);
    b->state = NULL;
}

int tr_server_init_(const tr_server_def *def, tr_ctx *ctx, void *vb, const void *args,
                    size_t args_size)
{
    tr_server_base *b = vb;
    b->def = def;
    char *mem = calloc(1, STATE_PREFIX + def->state_size);
    if (!mem) return tr_fail(ctx, "server: out of memory for its state");
    memcpy(mem, &b, sizeof b);
    b->state = mem + STATE_PREFIX;
    int rc = build_rows(b, def);
    if (rc != TR_OK) {
        base_free(b);
        return tr_fail(ctx, "server: bad handler table (%s)", tr_strerror(rc));
    }
    rc = def->init ? def->init(ctx, b->state, args, args_size) : 0;
    if (rc != 0) base_free(b); /* failed or ignored: no terminate follows */
    return rc;
}

void tr_server_terminate_(tr_ctx *ctx, void *vb, const tr_exit *reason)
{
    tr_server_base *b = vb;
    if (b->def->terminate) b->def->terminate(ctx, b->state, reason);
    base_free(b);
}

/* The answer's message is sent once the handler has returned. */
static int send_answer(tr_ctx *ctx, tr_answer *a)
{
    int rc;
    if (a->state == 2) return TR_OK; /* deferred */
    if (a->state == 1)
        rc = a->packed ? tr_reply(ctx, a->request, a->type, tr_msg_data(a->packed),
                                  tr_msg_size(a->packed))
                       : tr_reply(ctx, a->request, a->type, a->data, a->size);
    else
        rc = tr_reply(ctx, a->request, tr_server_ok_atom(), NULL, 0);
    return rc;
}

static void answer_clear(tr_answer *a)
{
    tr_msg_destroy(&a->packed);
    a->data = NULL;
    a->size = 0;
    a->type = (tr_atom){0};
}

static int unexpected(tr_ctx *ctx, tr_server_base *b, const tr_msg *msg)
{
    const tr_server_def *def = b->def;
    if (def->other) return def->other(ctx, b->state, msg);
    const char *type = tr_atom_name(tr_msg_type(msg));
    if (def->unexpected == TR_SERVER_FAIL)
        return tr_fail(ctx, "unexpected %s %s", tr_msg_is_request(msg) ? "request" : "message",
                       type);
    uint64_t n = ++b->unexpected;
    if ((n & (n - 1)) == 0) { /* the first, then every power of two */
        char path[256];
        tr_path(ctx, path, sizeof path);
        tr_log(TR_LOG_WARN, "server %s: unexpected %s %s (%llu so far)", path,
               tr_msg_is_request(msg) ? "request" : "message", type, (unsigned long long)n);
    }
    if (tr_msg_is_request(msg)) tr_request_drop(ctx, tr_msg_request(msg));
    return 0;
}

int tr_server_handle_(tr_ctx *ctx, void *vb, const tr_msg *msg)
{
    tr_server_base *b = vb;
    struct tri_server_row *r = row_find(b, tr_msg_type(msg));
    if (!tr_msg_is_request(msg)) {
        if (!r || !r->cast) return unexpected(ctx, b, msg);
        return r->cast(ctx, b->state, msg);
    }
    if (!r || !r->call) return unexpected(ctx, b, msg);
    tr_answer a = {.request = msg};
    int rc = r->call(ctx, b->state, msg, &a);
    if (rc >= 0) rc = send_answer(ctx, &a);
    answer_clear(&a);
    return rc;
}

tr_err tr_answer_set(tr_answer *a, tr_atom type, const void *data, size_t size)
{
    if (type.id == 0 || (size && !data)) return TR_EINVAL;
    answer_clear(a);
    a->type = type;
    a->data = data;
    a->size = size;
    a->state = 1;
    return TR_OK;
}

tr_err tr_answer_pack(tr_answer *a, tr_atom type, const char *picture, ...)
{
    answer_clear(a);
    a->state = 0;
    va_list ap;
    va_start(ap, picture);
    tr_msg *m;
    int rc = tr_vpack_msg(type, &m, picture, ap);
    va_end(ap);
    if (rc != TR_OK) return rc;
    a->packed = m;
    a->type = type;
    a->state = 1;
    return TR_OK;
}

tr_request tr_server_defer(tr_answer *a)
{
    answer_clear(a);
    a->state = 2;
    return tr_msg_request(a->request);
}

tr_err tr_server_reply(tr_ctx *ctx, tr_request token, tr_atom type, const void *data, size_t size)
{
    return tr_reply_to(ctx, token, type, data, size);
}

tr_atom tr_server_ok_atom(void)
{
    static _Atomic uint32_t id;
    uint32_t v = id;
    if (!v) {
        v = tr_atom_from("tr.ok").id;
        id = v;
    }
    return (tr_atom){v};
}

uint64_t tr_server_unexpected_count(const void *state)
{
    return state ? base_of(state)->unexpected : 0;
}
