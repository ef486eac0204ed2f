/* wire.c — the wire codec; see wire.h for the calls, docs/wire.md for the
 * format.
 *
 * Encoding measures before it writes: every writer runs once with no
 * buffer (counting bytes), the buffer grows once, then the same writer runs
 * again for real. So a failed append leaves the buffer as it was and no
 * size is ever computed by hand twice.
 *
 * Decoding a BATCH is two passes over the same bytes with the same parser:
 * the first validates every record and writes its atom definitions to an
 * overlay of the cache (tagged with the frame's generation, so discarding
 * it costs nothing); only when the whole frame is valid does the second
 * pass deliver the records and apply the definitions, in order, to the
 * cache itself. A refused frame therefore reaches no sink and leaves the
 * cache untouched. */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define SLOTS         TRI_WIRE_ATOM_SLOTS
#define MAX_ENDPOINTS 255
#define RTYPE_MAX     TRI_WIRE_R_CHILD_EXIT
/* Room kept for the batch's record count: a varint of up to 21 bits. */
#define COUNT_ROOM 3

/* ================================================================ shared */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v)
{
    uint64_t u = (uint64_t)v;
    return (u << 1) ^ (0 - (u >> 63));
}

static int64_t unzigzag(uint64_t u)
{
    /* u >> 1 fits int64; no implementation-defined conversion. */
    return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

/* A pid with serial 0 is the nil pid and must be all zero: one spelling
 * per value keeps decode(encode(x)) == x and re-encoding byte-stable. */
static bool pid_ok(tr_pid p) { return p.serial != 0 || (p.node == 0 && p.slot == 0); }

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

/* Text becomes a C string on the receiving side, so it may hold no NUL. */
static bool text_ok(tri_wire_str s, size_t max, bool nonempty)
{
    if (s.len > max || (nonempty && s.len == 0)) return false;
    if (s.len == 0) return true;
    return s.ptr && !memchr(s.ptr, 0, s.len);
}

static bool bytes_ok(tri_wire_bytes b) { return b.len == 0 || b.ptr; }

static tr_atom default_intern(void *user, const char *name)
{
    (void)user;
    return tr_atom_from(name);
}

static const char *default_name(void *user, tr_atom atom)
{
    (void)user;
    return tr_atom_name(atom);
}

static tri_wire_atoms atoms_or_default(const tri_wire_atoms *a)
{
    tri_wire_atoms t = {default_intern, default_name, NULL};
    if (a) {
        if (a->intern) t.intern = a->intern;
        if (a->name) t.name = a->name;
        t.user = a->user;
    }
    return t;
}

/* ================================================================ buffer */

void tri_wire_buf_fini(tri_wire_buf *buf)
{
    if (!buf) return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

static int buf_reserve(tri_wire_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len) return TR_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap) return TR_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return TR_ENOMEM;
    b->data = d;
    b->cap = cap;
    return TR_OK;
}

/* ================================================================ writer */

/* A writer with p == NULL only counts. */
typedef struct wr {
    uint8_t *p;
    size_t n;
} wr;

static void w_raw(wr *w, const void *src, size_t len)
{
    if (w->p && len) memcpy(w->p + w->n, src, len);
    w->n += len;
}

static void w_u8(wr *w, uint8_t v) { w_raw(w, &v, 1); }

static void st32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static void w_u32(wr *w, uint32_t v)
{
    uint8_t b[4];
    st32(b, v);
    w_raw(w, b, 4);
}

static void w_u64(wr *w, uint64_t v)
{
    uint8_t b[8];
    st32(b, (uint32_t)v);
    st32(b + 4, (uint32_t)(v >> 32));
    w_raw(w, b, 8);
}

static void w_varint(wr *w, uint64_t v)
{
    uint8_t b[10];
    w_raw(w, b, w->p ? put_varint(b, v) : varint_len(v));
}

static void w_pid(wr *w, tr_pid p)
{
    uint8_t b[16];
    st32(b, p.node);
    st32(b + 4, p.slot);
    st32(b + 8, (uint32_t)p.serial);
    st32(b + 12, (uint32_t)(p.serial >> 32));
    w_raw(w, b, 16);
}

static void w_str8(wr *w, tri_wire_str s)
{
    w_u8(w, (uint8_t)s.len);
    w_raw(w, s.ptr, s.len);
}

static void w_str16(wr *w, tri_wire_str s)
{
    w_u8(w, (uint8_t)s.len);
    w_u8(w, (uint8_t)(s.len >> 8));
    w_raw(w, s.ptr, s.len);
}

static void w_blob(wr *w, tri_wire_bytes b)
{
    w_varint(w, b.len);
    w_raw(w, b.ptr, b.len);
}

static void w_header(wr *w, uint8_t kind)
{
    uint8_t h[TRI_WIRE_HEADER] = {TRI_WIRE_MAGIC0, TRI_WIRE_MAGIC1, TRI_WIRE_VERSION, kind};
    w_raw(w, h, sizeof h);
}

/* ======================================================= record encoding */

static bool call_ok(const tri_wire_send *s)
{
    if (s->call > TRI_WIRE_CALL_DOWN) return false;
    return s->call != TRI_WIRE_CALL_REQUEST || s->timeout_ms >= TR_INFINITY;
}

/* TR_OK, or why `r` cannot travel (atoms are checked by the caller). */
static int check_record(const tri_wire_record *r)
{
    switch (r->type) {
    case TRI_WIRE_R_MSG:
    case TRI_WIRE_R_SEND_NAMED: {
        const tri_wire_send *s = &r->send;
        if (r->type == TRI_WIRE_R_MSG ? !pid_ok(s->to) : !text_ok(s->name, 255, true))
            return TR_EINVAL;
        if (!pid_ok(s->from) || !call_ok(s) || !bytes_ok(s->payload)) return TR_EINVAL;
        return s->payload.len > TR_MSG_MAX ? TR_ETOOBIG : TR_OK;
    }
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR:
        return pid_ok(r->monitor.target) && pid_ok(r->monitor.watcher) ? TR_OK : TR_EINVAL;
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK:
        return pid_ok(r->link.target) && pid_ok(r->link.from) ? TR_OK : TR_EINVAL;
    case TRI_WIRE_R_EXIT: {
        const tri_wire_exit *e = &r->exit;
        bool ok = pid_ok(e->target) && pid_ok(e->from) && e->kind <= TRI_WIRE_EXIT_KIND_MAX &&
                  text_ok(e->text, 65535, false);
        return ok ? TR_OK : TR_EINVAL;
    }
    case TRI_WIRE_R_SPAWN_REQ: {
        const tri_wire_spawn_req *s = &r->spawn_req;
        bool ok = pid_ok(s->parent) && text_ok(s->behaviour, 255, true) &&
                  text_ok(s->name, 255, false) && bytes_ok(s->args) &&
                  text_ok(s->register_as, 255, false) && s->on_full <= TRI_WIRE_ON_FULL_MAX;
        if (!ok) return TR_EINVAL;
        return s->args.len > TR_MSG_MAX ? TR_ETOOBIG : TR_OK;
    }
    case TRI_WIRE_R_SPAWN_REPLY: {
        const tri_wire_spawn_reply *s = &r->spawn_reply;
        bool ok = pid_ok(s->child) && pid_ok(s->parent) && s->status <= 1 &&
                  tr_pid_is_nil(s->child) == (s->status != 0) && text_ok(s->text, 65535, false);
        return ok ? TR_OK : TR_EINVAL;
    }
    case TRI_WIRE_R_STOP_CHILD: {
        const tri_wire_stop_child *s = &r->stop_child;
        return pid_ok(s->child) && pid_ok(s->parent) && s->kill <= 1 ? TR_OK : TR_EINVAL;
    }
    case TRI_WIRE_R_CHILD_EXIT: {
        const tri_wire_child_exit *c = &r->child_exit;
        bool ok = pid_ok(c->child) && pid_ok(c->parent) && c->kind <= TRI_WIRE_EXIT_KIND_MAX &&
                  text_ok(c->text, 65535, false);
        return ok ? TR_OK : TR_EINVAL;
    }
    default: return TR_EINVAL; /* DEFINE_ATOM included: definitions are ours */
    }
}

static void w_call(wr *w, const tri_wire_send *s, uint32_t slot)
{
    w_varint(w, slot);
    w_u8(w, s->call);
    if (s->call != TRI_WIRE_CALL_NONE) w_u64(w, s->ref);
    if (s->call == TRI_WIRE_CALL_REQUEST)
        w_varint(w, s->timeout_ms == TR_INFINITY ? 0 : (uint64_t)s->timeout_ms + 1);
    w_u8(w, s->flags);
    w_blob(w, s->payload);
}

/* The body of a checked record; `slot` is the type atom's, for sends. */
static void w_body(wr *w, const tri_wire_record *r, uint32_t slot)
{
    switch (r->type) {
    case TRI_WIRE_R_MSG:
        w_pid(w, r->send.to);
        w_pid(w, r->send.from);
        w_call(w, &r->send, slot);
        break;
    case TRI_WIRE_R_SEND_NAMED:
        w_str8(w, r->send.name);
        w_pid(w, r->send.from);
        w_call(w, &r->send, slot);
        break;
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR:
        w_pid(w, r->monitor.target);
        w_pid(w, r->monitor.watcher);
        w_u64(w, r->monitor.ref);
        break;
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK:
        w_pid(w, r->link.target);
        w_pid(w, r->link.from);
        break;
    case TRI_WIRE_R_EXIT:
        w_pid(w, r->exit.target);
        w_pid(w, r->exit.from);
        w_u8(w, r->exit.kind);
        w_u8(w, r->exit.flags);
        w_str16(w, r->exit.text);
        break;
    case TRI_WIRE_R_SPAWN_REQ:
        w_u64(w, r->spawn_req.ref);
        w_pid(w, r->spawn_req.parent);
        w_str8(w, r->spawn_req.behaviour);
        w_str8(w, r->spawn_req.name);
        w_varint(w, zigzag(r->spawn_req.shutdown_ms));
        w_u32(w, r->spawn_req.flags);
        w_blob(w, r->spawn_req.args);
        w_str8(w, r->spawn_req.register_as);
        w_u32(w, r->spawn_req.capacity);
        w_u8(w, r->spawn_req.on_full);
        break;
    case TRI_WIRE_R_SPAWN_REPLY:
        w_u64(w, r->spawn_reply.ref);
        w_pid(w, r->spawn_reply.child);
        w_varint(w, zigzag(r->spawn_reply.status));
        w_str16(w, r->spawn_reply.text);
        w_pid(w, r->spawn_reply.parent);
        break;
    case TRI_WIRE_R_STOP_CHILD:
        w_pid(w, r->stop_child.child);
        w_pid(w, r->stop_child.parent);
        w_u8(w, r->stop_child.kill);
        break;
    case TRI_WIRE_R_CHILD_EXIT:
        w_pid(w, r->child_exit.child);
        w_pid(w, r->child_exit.parent);
        w_u8(w, r->child_exit.kind);
        w_str16(w, r->child_exit.text);
        break;
    }
}

/* rtype, rlen, body: `body_len` was measured by a counting writer. */
static void w_record_head(wr *w, uint8_t rtype, size_t body_len)
{
    w_u8(w, rtype);
    w_varint(w, body_len);
}

/* ================================================================ encoder */

struct tri_wire_enc {
    tri_wire_atoms atoms;
    tri_wire_buf *buf; /* the open batch's buffer; NULL when none is open */
    size_t start;      /* buf->len when the batch began */
    uint32_t nrecords;
    /* The atom each slot was last defined as to the peer (0: never). */
    uint32_t slot_atom[SLOTS];
};

tri_wire_enc *tri_wire_enc_new(const tri_wire_atoms *atoms)
{
    tri_wire_enc *e = calloc(1, sizeof *e);
    if (e) e->atoms = atoms_or_default(atoms);
    return e;
}

void tri_wire_enc_destroy(tri_wire_enc **enc)
{
    if (!enc || !*enc) return;
    free(*enc);
    *enc = NULL;
}

void tri_wire_enc_forget(tri_wire_enc *enc) { memset(enc->slot_atom, 0, sizeof enc->slot_atom); }

int tri_wire_batch_begin(tri_wire_enc *enc, tri_wire_buf *buf)
{
    if (enc->buf) return TR_ESTATE;
    int rc = buf_reserve(buf, TRI_WIRE_HEADER + COUNT_ROOM);
    if (rc != TR_OK) return rc;
    enc->buf = buf;
    enc->start = buf->len;
    enc->nrecords = 0;
    memset(buf->data + buf->len, 0, TRI_WIRE_HEADER + COUNT_ROOM);
    buf->len += TRI_WIRE_HEADER + COUNT_ROOM;
    return TR_OK;
}

int tri_wire_batch_add(tri_wire_enc *enc, const tri_wire_record *rec)
{
    if (!enc->buf) return TR_ESTATE;
    if (!rec) return TR_EINVAL;
    int rc = check_record(rec);
    if (rc != TR_OK) return rc;

    bool sends = rec->type == TRI_WIRE_R_MSG || rec->type == TRI_WIRE_R_SEND_NAMED;
    uint32_t slot = 0;
    tri_wire_str def = {NULL, 0};
    if (sends) {
        uint32_t id = rec->send.type.id;
        if (id == 0) return TR_EINVAL;
        slot = id % SLOTS;
        if (enc->slot_atom[slot] != id) {
            def.ptr = enc->atoms.name(enc->atoms.user, rec->send.type);
            def.len = def.ptr ? strnlen(def.ptr, 256) : 0;
            if (def.len == 0 || def.len > 255 || !printable(def.ptr, def.len)) return TR_EINVAL;
        }
    }
    uint32_t adding = def.len ? 2 : 1;
    if (enc->nrecords + adding > TRI_WIRE_MAX_RECORDS) return TR_EFULL;

    wr body = {NULL, 0}, defbody = {NULL, 0};
    w_body(&body, rec, slot);
    size_t total = 1 + varint_len(body.n) + body.n;
    if (def.len) {
        w_varint(&defbody, slot);
        w_str8(&defbody, def);
        total += 1 + varint_len(defbody.n) + defbody.n;
    }
    rc = buf_reserve(enc->buf, total);
    if (rc != TR_OK) return rc;

    wr w = {enc->buf->data + enc->buf->len, 0};
    if (def.len) {
        w_record_head(&w, TRI_WIRE_R_DEFINE_ATOM, defbody.n);
        w_varint(&w, slot);
        w_str8(&w, def);
        enc->slot_atom[slot] = rec->send.type.id;
    }
    w_record_head(&w, rec->type, body.n);
    w_body(&w, rec, slot);
    enc->buf->len += w.n;
    enc->nrecords += adding;
    return TR_OK;
}

size_t tri_wire_batch_size(const tri_wire_enc *enc)
{
    if (!enc->buf) return 0;
    return enc->buf->len - enc->start - COUNT_ROOM + varint_len(enc->nrecords);
}

uint32_t tri_wire_batch_count(const tri_wire_enc *enc) { return enc->buf ? enc->nrecords : 0; }

int tri_wire_batch_finish(tri_wire_enc *enc, size_t *off, size_t *len)
{
    if (!enc->buf || enc->nrecords == 0) return TR_ESTATE;
    size_t cl = varint_len(enc->nrecords);
    size_t at = enc->start + COUNT_ROOM - cl;
    wr w = {enc->buf->data + at, 0};
    w_header(&w, TRI_WIRE_BATCH);
    w_varint(&w, enc->nrecords);
    if (off) *off = at;
    if (len) *len = enc->buf->len - at;
    enc->buf = NULL;
    enc->nrecords = 0;
    return TR_OK;
}

void tri_wire_batch_abort(tri_wire_enc *enc)
{
    if (!enc->buf) return;
    enc->buf->len = enc->start;
    enc->buf = NULL;
    enc->nrecords = 0;
    tri_wire_enc_forget(enc);
}

/* ==================================================== control encoding */

static bool node_ok(const tri_wire_node *n)
{
    if (!text_ok(n->name, 255, true) || n->nendpoints > MAX_ENDPOINTS) return false;
    if (n->nendpoints && !n->endpoints) return false;
    for (size_t i = 0; i < n->nendpoints; i++)
        if (!text_ok(n->endpoints[i], 65535, true)) return false;
    return (n->key.len == 0 || n->key.len == TRI_WIRE_KEY_LEN) && bytes_ok(n->key);
}

static void w_endpoints_key(wr *w, const tri_wire_node *n)
{
    w_u8(w, (uint8_t)n->nendpoints);
    for (size_t i = 0; i < n->nendpoints; i++)
        w_str16(w, n->endpoints[i]);
    w_u8(w, (uint8_t)n->key.len);
    w_raw(w, n->key.ptr, n->key.len);
}

static bool ctl_ok(const tri_wire_ctl *c)
{
    switch (c->kind) {
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME: {
        const tri_wire_hello *h = &c->hello;
        bool v = c->kind == TRI_WIRE_HELLO ? h->min_version >= 1 && h->min_version <= h->max_version
                                           : h->version >= 1;
        return v && node_ok(&h->node) && bytes_ok(h->extension);
    }
    case TRI_WIRE_REFUSE:
        return c->refuse.reason >= TRI_WIRE_REFUSE_VERSION &&
               c->refuse.reason <= TRI_WIRE_REFUSE_MALFORMED && text_ok(c->refuse.text, 255, false);
    case TRI_WIRE_BYE:
    case TRI_WIRE_TREE_REQ: return true;
    case TRI_WIRE_TREE_REP: return bytes_ok(c->tree_rep);
    default: return false;
    }
}

static void w_ctl(wr *w, const tri_wire_ctl *c)
{
    w_header(w, c->kind);
    switch (c->kind) {
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME: {
        const tri_wire_hello *h = &c->hello;
        if (c->kind == TRI_WIRE_HELLO) {
            w_u8(w, h->min_version);
            w_u8(w, h->max_version);
        } else {
            w_u8(w, h->version);
        }
        w_u64(w, h->flags);
        w_u32(w, h->node.node_id);
        w_str8(w, h->node.name);
        w_u32(w, h->max_frame);
        w_endpoints_key(w, &h->node);
        w_blob(w, h->extension);
        break;
    }
    case TRI_WIRE_REFUSE:
        w_u8(w, c->refuse.reason);
        w_str8(w, c->refuse.text);
        break;
    case TRI_WIRE_BYE: w_u8(w, c->bye.reason); break;
    case TRI_WIRE_TREE_REQ: w_u8(w, c->tree_req.flags); break;
    case TRI_WIRE_TREE_REP: w_raw(w, c->tree_rep.ptr, c->tree_rep.len); break;
    }
}

int tri_wire_encode_ctl(tri_wire_buf *buf, const tri_wire_ctl *ctl)
{
    if (!buf || !ctl || !ctl_ok(ctl)) return TR_EINVAL;
    wr m = {NULL, 0};
    w_ctl(&m, ctl);
    int rc = buf_reserve(buf, m.n);
    if (rc != TR_OK) return rc;
    wr w = {buf->data + buf->len, 0};
    w_ctl(&w, ctl);
    buf->len += w.n;
    return TR_OK;
}

static void w_gossip(wr *w, const tri_wire_node *nodes, size_t count)
{
    w_header(w, TRI_WIRE_GOSSIP);
    w_varint(w, count);
    for (size_t i = 0; i < count; i++) {
        w_u32(w, nodes[i].node_id);
        w_str8(w, nodes[i].name);
        w_endpoints_key(w, &nodes[i]);
    }
}

int tri_wire_encode_gossip(tri_wire_buf *buf, const tri_wire_node *nodes, size_t count)
{
    if (!buf || (count && !nodes)) return TR_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!node_ok(&nodes[i])) return TR_EINVAL;
    wr m = {NULL, 0};
    w_gossip(&m, nodes, count);
    int rc = buf_reserve(buf, m.n);
    if (rc != TR_OK) return rc;
    wr w = {buf->data + buf->len, 0};
    w_gossip(&w, nodes, count);
    buf->len += w.n;
    return TR_OK;
}

/* ================================================================ decoder */

typedef struct seen_entry {
    uint64_t hash;
    uint32_t id; /* 0: empty */
} seen_entry;

struct tri_wire_dec {
    tri_wire_atoms atoms;
    tri_wire_stats stats;
    uint32_t gen; /* the frame being validated; tags overlay entries */
    /* The names this session has resolved, by hash: the atom budget, and
     * the way a redefinition finds its atom without the atom table's lock. */
    seen_entry *seen;
    uint32_t seen_cap, seen_n;
    uint32_t slot_atom[SLOTS]; /* the cache: slot -> local atom id (0: undefined) */
    uint32_t ov_atom[SLOTS];   /* definitions of frame `gen` still being validated */
    uint32_t ov_gen[SLOTS];
    tri_wire_str endpoints[MAX_ENDPOINTS]; /* the node being delivered */
};

tri_wire_dec *tri_wire_dec_new(const tri_wire_atoms *atoms)
{
    tri_wire_dec *d = calloc(1, sizeof *d);
    if (d) d->atoms = atoms_or_default(atoms);
    return d;
}

void tri_wire_dec_destroy(tri_wire_dec **dec)
{
    if (!dec || !*dec) return;
    free((*dec)->seen);
    free(*dec);
    *dec = NULL;
}

void tri_wire_dec_stats(const tri_wire_dec *dec, tri_wire_stats *out) { *out = dec->stats; }

tri_wire_limits tri_wire_limits_default(void)
{
    return (tri_wire_limits){
        .max_frame = TR_MSG_MAX + (64u << 10),
        .max_records = TRI_WIRE_MAX_RECORDS,
        .max_payload = TR_MSG_MAX,
        .max_atom_len = TR_ATOM_MAX_LEN,
        .max_new_atoms = 10000,
    };
}

/* ---------------------------------------------------------------- cursor */

/* Every read checks its bounds first: p never passes end. */
typedef struct cur {
    const uint8_t *p, *end;
} cur;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != TRI_WIRE_OK) return rc_;                                                        \
    } while (0)

static size_t left(const cur *c) { return (size_t)(c->end - c->p); }

static int c_u8(cur *c, uint8_t *v)
{
    if (left(c) < 1) return TRI_WIRE_ETRUNCATED;
    *v = *c->p++;
    return TRI_WIRE_OK;
}

/* Little-endian loads; compilers make each a single load. */
static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p + 4) << 32 | ld32(p); }

static int c_u32(cur *c, uint32_t *v)
{
    if (left(c) < 4) return TRI_WIRE_ETRUNCATED;
    *v = ld32(c->p);
    c->p += 4;
    return TRI_WIRE_OK;
}

static int c_u64(cur *c, uint64_t *v)
{
    if (left(c) < 8) return TRI_WIRE_ETRUNCATED;
    *v = ld64(c->p);
    c->p += 8;
    return TRI_WIRE_OK;
}

/* Unsigned LEB128, at most 10 bytes, minimal: the 10th byte may only be 1
 * (bit 63), and a last byte of 0 after others is an overlong spelling. */
static int c_varint(cur *c, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0;; i++) {
        if (i == 10) return TRI_WIRE_EVARINT;
        if (c->p + i >= c->end) return TRI_WIRE_ETRUNCATED;
        uint8_t b = c->p[i];
        if (i == 9 && b > 1) return TRI_WIRE_EVARINT;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) return TRI_WIRE_EVARINT;
            c->p += i + 1;
            *v = x;
            return TRI_WIRE_OK;
        }
    }
}

static int c_pid(cur *c, tr_pid *p)
{
    if (left(c) < 16) return TRI_WIRE_ETRUNCATED;
    p->node = ld32(c->p);
    p->slot = ld32(c->p + 4);
    p->serial = ld64(c->p + 8);
    c->p += 16;
    return pid_ok(*p) ? TRI_WIRE_OK : TRI_WIRE_EFIELD;
}

static int c_text(cur *c, size_t len, bool nonempty, tri_wire_str *s)
{
    if (len > left(c)) return TRI_WIRE_ELENGTH;
    s->ptr = (const char *)c->p;
    s->len = len;
    c->p += len;
    if (nonempty && len == 0) return TRI_WIRE_ETEXT;
    return len && memchr(s->ptr, 0, len) ? TRI_WIRE_ETEXT : TRI_WIRE_OK;
}

static int c_str8(cur *c, bool nonempty, tri_wire_str *s)
{
    uint8_t len;
    TRY(c_u8(c, &len));
    return c_text(c, len, nonempty, s);
}

static int c_str16(cur *c, bool nonempty, tri_wire_str *s)
{
    uint8_t lo, hi;
    TRY(c_u8(c, &lo));
    TRY(c_u8(c, &hi));
    return c_text(c, (size_t)hi << 8 | lo, nonempty, s);
}

/* varint length + bytes; a length over `max` is EPAYLOAD even when the
 * bytes are not there, so the counter says what the peer tried. */
static int c_blob(cur *c, uint64_t max, int too_big, tri_wire_bytes *b)
{
    uint64_t len;
    TRY(c_varint(c, &len));
    if (len > max) return too_big;
    if (len > left(c)) return TRI_WIRE_ELENGTH;
    b->ptr = c->p;
    b->len = (size_t)len;
    c->p += len;
    return TRI_WIRE_OK;
}

/* --------------------------------------------------------- atoms, budget */

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bool same_name(tri_wire_dec *d, uint32_t id, const char *s, size_t n)
{
    const char *have = d->atoms.name(d->atoms.user, (tr_atom){id});
    return have && strncmp(have, s, n) == 0 && have[n] == '\0';
}

static uint32_t seen_find(tri_wire_dec *d, const char *s, size_t n, uint64_t h)
{
    if (!d->seen_cap) return 0;
    for (uint32_t i = (uint32_t)h & (d->seen_cap - 1);; i = (i + 1) & (d->seen_cap - 1)) {
        const seen_entry *e = &d->seen[i];
        if (!e->id) return 0;
        if (e->hash == h && same_name(d, e->id, s, n)) return e->id;
    }
}

static void seen_put(seen_entry *t, uint32_t cap, uint64_t h, uint32_t id)
{
    uint32_t i = (uint32_t)h & (cap - 1);
    while (t[i].id)
        i = (i + 1) & (cap - 1);
    t[i] = (seen_entry){h, id};
}

static bool seen_grow(tri_wire_dec *d)
{
    if ((uint64_t)(d->seen_n + 1) * 2 <= d->seen_cap) return true;
    if (d->seen_cap >= (1u << 30)) return false;
    uint32_t cap = d->seen_cap ? d->seen_cap * 2 : 64;
    seen_entry *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (uint32_t i = 0; i < d->seen_cap; i++)
        if (d->seen[i].id) seen_put(t, cap, d->seen[i].hash, d->seen[i].id);
    free(d->seen);
    d->seen = t;
    d->seen_cap = cap;
    return true;
}

/* The local atom for a validated name: one the session resolved before
 * (free), or a new one (charged to the budget, interned for good). */
static int resolve(tri_wire_dec *d, const char *s, size_t n, const tri_wire_limits *lim,
                   uint32_t *id)
{
    uint64_t h = name_hash(s, n);
    *id = seen_find(d, s, n, h);
    if (*id) return TRI_WIRE_OK;
    if (d->seen_n >= lim->max_new_atoms) return TRI_WIRE_EBUDGET;
    if (!seen_grow(d)) return TRI_WIRE_ENOMEM;
    char name[256];
    memcpy(name, s, n);
    name[n] = '\0';
    tr_atom a = d->atoms.intern(d->atoms.user, name);
    if (!a.id) return TRI_WIRE_ENOMEM;
    seen_put(d->seen, d->seen_cap, h, a.id);
    d->seen_n++;
    d->stats.new_atoms++;
    *id = a.id;
    return TRI_WIRE_OK;
}

/* ---------------------------------------------------------------- records */

typedef struct batch {
    tri_wire_dec *d;
    const tri_wire_limits *lim;
    bool deliver; /* false: validating pass; true: delivering pass */
} batch;

static int c_slot(cur *c, uint32_t *slot)
{
    uint64_t v;
    TRY(c_varint(c, &v));
    if (v >= SLOTS) return TRI_WIRE_ESLOT;
    *slot = (uint32_t)v;
    return TRI_WIRE_OK;
}

static int define_atom(batch *b, cur *c)
{
    tri_wire_dec *d = b->d;
    uint32_t slot, id;
    uint8_t len;
    TRY(c_slot(c, &slot));
    TRY(c_u8(c, &len));
    if (len > left(c)) return TRI_WIRE_ELENGTH;
    const char *s = (const char *)c->p;
    c->p += len;
    if (len == 0 || len > b->lim->max_atom_len || !printable(s, len)) return TRI_WIRE_EATOM;
    if (b->deliver) {
        /* Found: the validating pass resolved every name of this frame. */
        d->slot_atom[slot] = seen_find(d, s, len, name_hash(s, len));
        return TRI_WIRE_OK;
    }
    TRY(resolve(d, s, len, b->lim, &id));
    d->ov_atom[slot] = id;
    d->ov_gen[slot] = d->gen;
    return TRI_WIRE_OK;
}

static int c_atom_ref(batch *b, cur *c, tr_atom *a)
{
    tri_wire_dec *d = b->d;
    uint32_t slot;
    TRY(c_slot(c, &slot));
    if (!b->deliver && d->ov_gen[slot] == d->gen)
        a->id = d->ov_atom[slot];
    else
        a->id = d->slot_atom[slot];
    return a->id ? TRI_WIRE_OK : TRI_WIRE_EUNDEFINED;
}

/* atom slot, call, ref, timeout, flags, payload: the tail of both sends. */
static int c_send_tail(batch *b, cur *c, tri_wire_send *s)
{
    TRY(c_atom_ref(b, c, &s->type));
    TRY(c_u8(c, &s->call));
    if (s->call > TRI_WIRE_CALL_DOWN) return TRI_WIRE_EFIELD;
    s->ref = 0;
    s->timeout_ms = 0;
    if (s->call != TRI_WIRE_CALL_NONE) TRY(c_u64(c, &s->ref));
    if (s->call == TRI_WIRE_CALL_REQUEST) {
        uint64_t t;
        TRY(c_varint(c, &t));
        if (t > (uint64_t)INT64_MAX + 1) return TRI_WIRE_EFIELD; /* t - 1 must fit int64 */
        s->timeout_ms = t == 0 ? TR_INFINITY : (int64_t)(t - 1);
    }
    TRY(c_u8(c, &s->flags));
    return c_blob(c, b->lim->max_payload, TRI_WIRE_EPAYLOAD, &s->payload);
}

static int c_kind(cur *c, uint8_t *kind)
{
    TRY(c_u8(c, kind));
    return *kind <= TRI_WIRE_EXIT_KIND_MAX ? TRI_WIRE_OK : TRI_WIRE_EFIELD;
}

/* Parses the record body c (exactly rlen bytes) of type r->type. Bytes
 * after the fields this version knows are skipped: append-only evolution. */
static int parse_record(batch *b, cur *c, tri_wire_record *r)
{
    switch (r->type) {
    case TRI_WIRE_R_DEFINE_ATOM: return define_atom(b, c);
    case TRI_WIRE_R_MSG:
        r->send.name = (tri_wire_str){NULL, 0};
        TRY(c_pid(c, &r->send.to));
        TRY(c_pid(c, &r->send.from));
        return c_send_tail(b, c, &r->send);
    case TRI_WIRE_R_SEND_NAMED:
        r->send.to = TR_PID_NIL;
        TRY(c_str8(c, true, &r->send.name));
        TRY(c_pid(c, &r->send.from));
        return c_send_tail(b, c, &r->send);
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR:
        TRY(c_pid(c, &r->monitor.target));
        TRY(c_pid(c, &r->monitor.watcher));
        return c_u64(c, &r->monitor.ref);
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK: TRY(c_pid(c, &r->link.target)); return c_pid(c, &r->link.from);
    case TRI_WIRE_R_EXIT:
        TRY(c_pid(c, &r->exit.target));
        TRY(c_pid(c, &r->exit.from));
        TRY(c_kind(c, &r->exit.kind));
        TRY(c_u8(c, &r->exit.flags));
        return c_str16(c, false, &r->exit.text);
    case TRI_WIRE_R_SPAWN_REQ: {
        tri_wire_spawn_req *s = &r->spawn_req;
        uint64_t z;
        TRY(c_u64(c, &s->ref));
        TRY(c_pid(c, &s->parent));
        TRY(c_str8(c, true, &s->behaviour));
        TRY(c_str8(c, false, &s->name));
        TRY(c_varint(c, &z));
        s->shutdown_ms = unzigzag(z);
        TRY(c_u32(c, &s->flags));
        TRY(c_blob(c, b->lim->max_payload, TRI_WIRE_EPAYLOAD, &s->args));
        TRY(c_str8(c, false, &s->register_as));
        TRY(c_u32(c, &s->capacity));
        TRY(c_u8(c, &s->on_full));
        return s->on_full <= TRI_WIRE_ON_FULL_MAX ? TRI_WIRE_OK : TRI_WIRE_EFIELD;
    }
    case TRI_WIRE_R_SPAWN_REPLY: {
        tri_wire_spawn_reply *s = &r->spawn_reply;
        uint64_t z;
        TRY(c_u64(c, &s->ref));
        TRY(c_pid(c, &s->child));
        TRY(c_varint(c, &z));
        int64_t st = unzigzag(z);
        if (st > 1 || st < INT32_MIN || tr_pid_is_nil(s->child) != (st != 0))
            return TRI_WIRE_EFIELD;
        s->status = (int32_t)st;
        TRY(c_str16(c, false, &s->text));
        return c_pid(c, &s->parent);
    }
    case TRI_WIRE_R_STOP_CHILD:
        TRY(c_pid(c, &r->stop_child.child));
        TRY(c_pid(c, &r->stop_child.parent));
        TRY(c_u8(c, &r->stop_child.kill));
        return r->stop_child.kill <= 1 ? TRI_WIRE_OK : TRI_WIRE_EFIELD;
    case TRI_WIRE_R_CHILD_EXIT:
        TRY(c_pid(c, &r->child_exit.child));
        TRY(c_pid(c, &r->child_exit.parent));
        TRY(c_kind(c, &r->child_exit.kind));
        return c_str16(c, false, &r->child_exit.text);
    default: return TRI_WIRE_ERTYPE;
    }
}

/* One pass over the records of a batch whose count was checked. */
static int batch_pass(batch *b, cur c, uint64_t nrec, const tri_wire_sink *sink, void *user)
{
    for (uint64_t i = 0; i < nrec; i++) {
        tri_wire_record r;
        memset(&r, 0, sizeof r);
        TRY(c_u8(&c, &r.type));
        if (r.type == 0 || r.type > RTYPE_MAX) return TRI_WIRE_ERTYPE;
        uint64_t rlen;
        TRY(c_varint(&c, &rlen));
        if (rlen > left(&c)) return TRI_WIRE_ELENGTH;
        cur body = {c.p, c.p + rlen};
        c.p += rlen;
        TRY(parse_record(b, &body, &r));
        if (b->deliver && r.type != TRI_WIRE_R_DEFINE_ATOM) {
            b->d->stats.records++;
            if (sink && sink->record) sink->record(user, &r);
        }
    }
    return left(&c) ? TRI_WIRE_ETRAILING : TRI_WIRE_OK;
}

static int decode_batch(tri_wire_dec *d, cur c, const tri_wire_limits *lim,
                        const tri_wire_sink *sink, void *user)
{
    uint64_t nrec;
    TRY(c_varint(&c, &nrec));
    if (nrec == 0 || nrec > lim->max_records) return TRI_WIRE_ERECORDS;
    if (++d->gen == 0) { /* wrapped: old tags could look current */
        memset(d->ov_gen, 0, sizeof d->ov_gen);
        d->gen = 1;
    }
    batch b = {d, lim, false};
    TRY(batch_pass(&b, c, nrec, NULL, NULL));
    b.deliver = true;
    return batch_pass(&b, c, nrec, sink, user);
}

/* ---------------------------------------------------------------- control */

/* endpoints (count u8, each str16) and key (len u8: 0 or 32, bytes) into
 * n, the endpoints into the decoder's scratch array. */
static int c_endpoints_key(tri_wire_dec *d, cur *c, tri_wire_node *n)
{
    uint8_t count, klen;
    TRY(c_u8(c, &count));
    for (unsigned i = 0; i < count; i++)
        TRY(c_str16(c, true, &d->endpoints[i]));
    n->endpoints = count ? d->endpoints : NULL;
    n->nendpoints = count;
    TRY(c_u8(c, &klen));
    if (klen != 0 && klen != TRI_WIRE_KEY_LEN) return TRI_WIRE_EFIELD;
    if (klen > left(c)) return TRI_WIRE_ELENGTH;
    n->key = (tri_wire_bytes){klen ? c->p : NULL, klen};
    c->p += klen;
    return TRI_WIRE_OK;
}

static int c_hello(tri_wire_dec *d, cur *c, tri_wire_ctl *ctl)
{
    tri_wire_hello *h = &ctl->hello;
    if (ctl->kind == TRI_WIRE_HELLO) {
        TRY(c_u8(c, &h->min_version));
        TRY(c_u8(c, &h->max_version));
        if (h->min_version < 1 || h->min_version > h->max_version) return TRI_WIRE_EFIELD;
    } else {
        TRY(c_u8(c, &h->version));
        if (h->version < 1) return TRI_WIRE_EFIELD;
    }
    TRY(c_u64(c, &h->flags));
    TRY(c_u32(c, &h->node.node_id));
    TRY(c_str8(c, true, &h->node.name));
    TRY(c_u32(c, &h->max_frame));
    TRY(c_endpoints_key(d, c, &h->node));
    return c_blob(c, UINT64_MAX, TRI_WIRE_ELENGTH, &h->extension);
}

static int c_gossip_node(tri_wire_dec *d, cur *c, tri_wire_node *n)
{
    TRY(c_u32(c, &n->node_id));
    TRY(c_str8(c, true, &n->name));
    return c_endpoints_key(d, c, n);
}

static int decode_gossip(tri_wire_dec *d, cur c, const tri_wire_sink *sink, void *user)
{
    tri_wire_ctl ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.kind = TRI_WIRE_GOSSIP;
    uint64_t count;
    TRY(c_varint(&c, &count));
    const uint8_t *nodes = c.p;
    for (uint64_t i = 0; i < count; i++)
        TRY(c_gossip_node(d, &c, &ctl.gossip.node));
    if (left(&c)) return TRI_WIRE_ETRAILING;
    if (!sink || !sink->control) return TRI_WIRE_OK;
    ctl.gossip.count = count;
    if (count == 0) {
        memset(&ctl.gossip.node, 0, sizeof ctl.gossip.node);
        sink->control(user, &ctl);
    }
    c.p = nodes;
    for (uint64_t i = 0; i < count; i++) {
        c_gossip_node(d, &c, &ctl.gossip.node); /* validated above */
        ctl.gossip.index = i;
        sink->control(user, &ctl);
    }
    return TRI_WIRE_OK;
}

static int decode_ctl(tri_wire_dec *d, uint8_t kind, cur c, const tri_wire_sink *sink, void *user)
{
    tri_wire_ctl ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.kind = kind;
    switch (kind) {
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME: TRY(c_hello(d, &c, &ctl)); break;
    case TRI_WIRE_REFUSE:
        TRY(c_u8(&c, &ctl.refuse.reason));
        if (ctl.refuse.reason < TRI_WIRE_REFUSE_VERSION ||
            ctl.refuse.reason > TRI_WIRE_REFUSE_MALFORMED)
            return TRI_WIRE_EFIELD;
        TRY(c_str8(&c, false, &ctl.refuse.text));
        break;
    case TRI_WIRE_BYE: TRY(c_u8(&c, &ctl.bye.reason)); break;
    case TRI_WIRE_TREE_REQ: TRY(c_u8(&c, &ctl.tree_req.flags)); break;
    case TRI_WIRE_TREE_REP:
        ctl.tree_rep = (tri_wire_bytes){left(&c) ? c.p : NULL, left(&c)};
        c.p = c.end;
        break;
    }
    if (left(&c)) return TRI_WIRE_ETRAILING;
    if (sink && sink->control) sink->control(user, &ctl);
    return TRI_WIRE_OK;
}

static int decode_frame(tri_wire_dec *d, const uint8_t *p, size_t n, const tri_wire_limits *lim,
                        const tri_wire_sink *sink, void *user)
{
    if (n > lim->max_frame) return TRI_WIRE_ESIZE;
    if (n < TRI_WIRE_HEADER) return TRI_WIRE_ETRUNCATED;
    if (p[0] != TRI_WIRE_MAGIC0 || p[1] != TRI_WIRE_MAGIC1) return TRI_WIRE_EMAGIC;
    if (p[2] != TRI_WIRE_VERSION) return TRI_WIRE_EVERSION;
    cur c = {p + TRI_WIRE_HEADER, p + n};
    switch (p[3]) {
    case TRI_WIRE_BATCH: return decode_batch(d, c, lim, sink, user);
    case TRI_WIRE_GOSSIP: return decode_gossip(d, c, sink, user);
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME:
    case TRI_WIRE_REFUSE:
    case TRI_WIRE_BYE:
    case TRI_WIRE_TREE_REQ:
    case TRI_WIRE_TREE_REP: return decode_ctl(d, p[3], c, sink, user);
    default: return TRI_WIRE_EKIND;
    }
}

int tri_wire_decode(tri_wire_dec *dec, const uint8_t *p, size_t n, const tri_wire_limits *limits,
                    const tri_wire_sink *sink, void *user)
{
    tri_wire_limits lim = limits ? *limits : tri_wire_limits_default();
    if (lim.max_atom_len > TR_ATOM_MAX_LEN) lim.max_atom_len = TR_ATOM_MAX_LEN;
    int rc = (p || n == 0) ? decode_frame(dec, p, n, &lim, sink, user) : TRI_WIRE_ETRUNCATED;
    if (rc == TRI_WIRE_OK) {
        dec->stats.frames++;
    } else {
        dec->stats.rejected[0]++;
        dec->stats.rejected[-rc - 100]++;
    }
    return rc;
}

/* ================================================================== names */

const char *tri_wire_strerror(int err)
{
    static const char *const names[TRI_WIRE_NERRORS] = {
        [0] = "ok",
        [1] = "frame too large",
        [2] = "truncated",
        [3] = "bad magic",
        [4] = "unknown version",
        [5] = "unknown frame kind",
        [6] = "bad varint (overlong or over 64 bits)",
        [7] = "length past the end",
        [8] = "trailing bytes",
        [9] = "unknown record type",
        [10] = "bad record count",
        [11] = "atom slot out of range",
        [12] = "undefined atom slot",
        [13] = "bad atom name",
        [14] = "payload too large",
        [15] = "atom budget exceeded",
        [16] = "field out of range",
        [17] = "bad text",
        [18] = "out of memory",
    };
    if (err == TRI_WIRE_OK) return names[0];
    if (err <= -101 && err > -101 - (TRI_WIRE_NERRORS - 1)) return names[-err - 100];
    return tr_strerror(err);
}

const char *tri_wire_kind_name(int kind)
{
    static const char *const names[] = {"unknown", "hello",  "welcome",  "refuse",  "batch",
                                        "bye",     "gossip", "tree_req", "tree_rep"};
    return kind > 0 && kind <= TRI_WIRE_TREE_REP ? names[kind] : names[0];
}

const char *tri_wire_rtype_name(int rtype)
{
    static const char *const names[] = {
        "unknown", "define_atom", "msg",       "send_named",  "monitor",    "demonitor", "link",
        "unlink",  "exit",        "spawn_req", "spawn_reply", "stop_child", "child_exit"};
    return rtype > 0 && rtype <= RTYPE_MAX ? names[rtype] : names[0];
}
