/* test_wire.c — the wire codec (transport/wire.h) alone: round trips of
 * every record and frame kind with edge values, the atom cache across
 * frames, every malformation refused with its own error and counter, and
 * seeded property tests (decode(encode(x)) == x; encode(decode(y)) stable).
 *
 * Malformed frames are built byte by byte with a small builder here, from
 * docs/wire.md, not with the encoder: the decoder is tested against the
 * format, not against its twin. No system is started: the codec is pure. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../transport/wire.h"

/* ============================================================ utilities */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

/* Collects what a decoder delivers. Records and control values are kept
 * as delivered (their pointers into the frame stay valid while the test
 * keeps the frame); endpoint arrays are copied, since they point into the
 * decoder's scratch. */
typedef struct coll {
    tri_wire_record *rec;
    size_t nrec, cap;
    tri_wire_ctl ctl[64];
    tri_wire_str *eps[64];
    size_t nctl;
    size_t calls;
} coll;

static void on_record(void *user, const tri_wire_record *r)
{
    coll *c = user;
    c->calls++;
    if (c->nrec == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->rec = realloc(c->rec, c->cap * sizeof *c->rec);
        assert_non_null(c->rec);
    }
    c->rec[c->nrec++] = *r;
}

static void on_control(void *user, const tri_wire_ctl *ctl)
{
    coll *c = user;
    c->calls++;
    assert_true(c->nctl < 64);
    c->ctl[c->nctl] = *ctl;
    const tri_wire_node *n = NULL;
    if (ctl->kind == TRI_WIRE_HELLO || ctl->kind == TRI_WIRE_WELCOME) n = &ctl->hello.node;
    if (ctl->kind == TRI_WIRE_GOSSIP) n = &ctl->gossip.node;
    c->eps[c->nctl] = NULL;
    if (n && n->nendpoints) {
        tri_wire_str *copy = malloc(n->nendpoints * sizeof *copy);
        assert_non_null(copy);
        memcpy(copy, n->endpoints, n->nendpoints * sizeof *copy);
        c->eps[c->nctl] = copy;
        tri_wire_ctl *k = &c->ctl[c->nctl];
        if (ctl->kind == TRI_WIRE_GOSSIP)
            k->gossip.node.endpoints = copy;
        else
            k->hello.node.endpoints = copy;
    }
    c->nctl++;
}

static const tri_wire_sink sink = {on_record, on_control};

static void coll_reset(coll *c)
{
    for (size_t i = 0; i < c->nctl; i++)
        free(c->eps[i]);
    c->nrec = c->nctl = c->calls = 0;
}

static void coll_fini(coll *c)
{
    coll_reset(c);
    free(c->rec);
    memset(c, 0, sizeof *c);
}

static tri_wire_str S(const char *s) { return (tri_wire_str){s, strlen(s)}; }

static bool str_eq(tri_wire_str a, tri_wire_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool bytes_eq(tri_wire_bytes a, tri_wire_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Records compare by value; atoms by name, so that two atom tables can be
 * compared. Fields a record type does not carry are ignored. */
static bool atom_same(tr_atom a, const tri_wire_atoms *ta, tr_atom b, const tri_wire_atoms *tb)
{
    const char *na = ta ? ta->name(ta->user, a) : tr_atom_name(a);
    const char *nb = tb ? tb->name(tb->user, b) : tr_atom_name(b);
    return a.id && b.id && strcmp(na, nb) == 0;
}

static bool rec_eq2(const tri_wire_record *a, const tri_wire_atoms *ta, const tri_wire_record *b,
                    const tri_wire_atoms *tb)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case TRI_WIRE_R_MSG:
    case TRI_WIRE_R_SEND_NAMED: {
        const tri_wire_send *x = &a->send, *y = &b->send;
        bool dest = a->type == TRI_WIRE_R_MSG ? tr_pid_eq(x->to, y->to) : str_eq(x->name, y->name);
        return dest && tr_pid_eq(x->from, y->from) && atom_same(x->type, ta, y->type, tb) &&
               x->call == y->call && x->ref == y->ref && x->timeout_ms == y->timeout_ms &&
               x->flags == y->flags && bytes_eq(x->payload, y->payload);
    }
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR:
        return tr_pid_eq(a->monitor.target, b->monitor.target) &&
               tr_pid_eq(a->monitor.watcher, b->monitor.watcher) &&
               a->monitor.ref == b->monitor.ref;
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK:
        return tr_pid_eq(a->link.target, b->link.target) && tr_pid_eq(a->link.from, b->link.from);
    case TRI_WIRE_R_EXIT:
        return tr_pid_eq(a->exit.target, b->exit.target) && tr_pid_eq(a->exit.from, b->exit.from) &&
               a->exit.kind == b->exit.kind && a->exit.flags == b->exit.flags &&
               str_eq(a->exit.text, b->exit.text);
    case TRI_WIRE_R_SPAWN_REQ: {
        const tri_wire_spawn_req *x = &a->spawn_req, *y = &b->spawn_req;
        return x->ref == y->ref && tr_pid_eq(x->parent, y->parent) &&
               str_eq(x->behaviour, y->behaviour) && str_eq(x->name, y->name) &&
               x->shutdown_ms == y->shutdown_ms && x->flags == y->flags &&
               bytes_eq(x->args, y->args) && str_eq(x->register_as, y->register_as) &&
               x->capacity == y->capacity && x->on_full == y->on_full;
    }
    case TRI_WIRE_R_SPAWN_REPLY: {
        const tri_wire_spawn_reply *x = &a->spawn_reply, *y = &b->spawn_reply;
        return x->ref == y->ref && tr_pid_eq(x->child, y->child) && x->status == y->status &&
               str_eq(x->text, y->text) && tr_pid_eq(x->parent, y->parent);
    }
    case TRI_WIRE_R_STOP_CHILD:
        return tr_pid_eq(a->stop_child.child, b->stop_child.child) &&
               tr_pid_eq(a->stop_child.parent, b->stop_child.parent) &&
               a->stop_child.kill == b->stop_child.kill;
    case TRI_WIRE_R_CHILD_EXIT:
        return tr_pid_eq(a->child_exit.child, b->child_exit.child) &&
               tr_pid_eq(a->child_exit.parent, b->child_exit.parent) &&
               a->child_exit.kind == b->child_exit.kind &&
               str_eq(a->child_exit.text, b->child_exit.text);
    }
    return false;
}

static bool rec_eq(const tri_wire_record *a, const tri_wire_record *b)
{
    return rec_eq2(a, NULL, b, NULL);
}

static bool node_eq(const tri_wire_node *a, const tri_wire_node *b)
{
    if (a->node_id != b->node_id || !str_eq(a->name, b->name) || a->nendpoints != b->nendpoints)
        return false;
    for (size_t i = 0; i < a->nendpoints; i++)
        if (!str_eq(a->endpoints[i], b->endpoints[i])) return false;
    return bytes_eq(a->key, b->key);
}

/* A fake atom table whose ids the test chooses (to make two atoms share a
 * cache slot without interning 4096 real atoms). */
typedef struct fake_atoms {
    char *names[3 * TRI_WIRE_ATOM_SLOTS];
    uint32_t next;
} fake_atoms;

static tr_atom fake_intern(void *user, const char *name)
{
    fake_atoms *f = user;
    for (uint32_t i = 1; i < 3 * TRI_WIRE_ATOM_SLOTS; i++)
        if (f->names[i] && strcmp(f->names[i], name) == 0) return (tr_atom){i};
    if (f->next == 0 || f->next >= 3 * TRI_WIRE_ATOM_SLOTS) return (tr_atom){0};
    f->names[f->next] = strdup(name);
    return (tr_atom){f->next++};
}

static const char *fake_name(void *user, tr_atom a)
{
    fake_atoms *f = user;
    return a.id < 3 * TRI_WIRE_ATOM_SLOTS && f->names[a.id] ? f->names[a.id] : "";
}

static void fake_fini(fake_atoms *f)
{
    for (size_t i = 0; i < 3 * TRI_WIRE_ATOM_SLOTS; i++)
        free(f->names[i]);
}

/* One encoder/decoder session, both on the process atom table. */
typedef struct sess {
    tri_wire_enc *enc;
    tri_wire_dec *dec;
    tri_wire_buf buf;
    coll got;
} sess;

static void sess_init(sess *s)
{
    memset(s, 0, sizeof *s);
    s->enc = tri_wire_enc_new(NULL);
    s->dec = tri_wire_dec_new(NULL);
    assert_non_null(s->enc);
    assert_non_null(s->dec);
}

static void sess_fini(sess *s)
{
    tri_wire_enc_destroy(&s->enc);
    tri_wire_dec_destroy(&s->dec);
    assert_null(s->enc);
    tri_wire_buf_fini(&s->buf);
    coll_fini(&s->got);
}

/* Encodes recs as one batch into s->buf (from 0), decodes it into s->got,
 * and checks what came out equals what went in. Returns the frame size. */
static size_t roundtrip_batch(sess *s, const tri_wire_record *recs, size_t n)
{
    s->buf.len = 0;
    coll_reset(&s->got);
    assert_int_equal(tri_wire_batch_begin(s->enc, &s->buf), TR_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tri_wire_batch_add(s->enc, &recs[i]), TR_OK);
    size_t size = tri_wire_batch_size(s->enc), off, len;
    assert_int_equal(tri_wire_batch_finish(s->enc, &off, &len), TR_OK);
    assert_int_equal(len, size);
    assert_int_equal(off + len, s->buf.len);
    int rc = tri_wire_decode(s->dec, s->buf.data + off, len, NULL, &sink, &s->got);
    assert_int_equal(rc, TRI_WIRE_OK);
    assert_int_equal(s->got.nrec, n);
    for (size_t i = 0; i < n; i++)
        assert_true(rec_eq(&recs[i], &s->got.rec[i]));
    return len;
}

/* A hand-built frame. */
typedef struct bb {
    uint8_t d[8192];
    size_t n;
} bb;

static void b_raw(bb *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void b_u8(bb *b, uint8_t v) { b_raw(b, &v, 1); }

static void b_u32(bb *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b_u8(b, (uint8_t)(v >> (8 * i)));
}

static void b_u64(bb *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b_u8(b, (uint8_t)(v >> (8 * i)));
}

static void b_var(bb *b, uint64_t v)
{
    while (v >= 0x80) {
        b_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    b_u8(b, (uint8_t)v);
}

static void b_pid(bb *b, uint32_t node, uint32_t slot, uint64_t serial)
{
    b_u32(b, node);
    b_u32(b, slot);
    b_u64(b, serial);
}

static void b_str8(bb *b, const char *s)
{
    b_u8(b, (uint8_t)strlen(s));
    b_raw(b, s, strlen(s));
}

static void b_hdr(bb *b, uint8_t kind)
{
    b->n = 0;
    b_u8(b, 'T');
    b_u8(b, 'R');
    b_u8(b, 1);
    b_u8(b, kind);
}

static void b_rec(bb *f, uint8_t rtype, const bb *body)
{
    b_u8(f, rtype);
    b_var(f, body->n);
    b_raw(f, body->d, body->n);
}

static void b_define(bb *f, uint64_t slot, const char *name)
{
    bb body = {.n = 0};
    b_var(&body, slot);
    b_str8(&body, name);
    b_rec(f, TRI_WIRE_R_DEFINE_ATOM, &body);
}

/* A MSG body: to, from, slot, call none, flags 0, payload "hi". */
static void b_msg_body(bb *body, uint64_t slot)
{
    body->n = 0;
    b_pid(body, 1, 2, 3);
    b_pid(body, 0, 0, 0);
    b_var(body, slot);
    b_u8(body, 0);
    b_u8(body, 0);
    b_var(body, 2);
    b_raw(body, "hi", 2);
}

static void b_msg(bb *f, uint64_t slot)
{
    bb body;
    b_msg_body(&body, slot);
    b_rec(f, TRI_WIRE_R_MSG, &body);
}

/* Decodes `n` bytes copied to an exact-size heap block (so a read past the
 * end is caught by ASan) and checks it is refused with `err`: no sink call,
 * its counter and the total went up by one, nothing else changed. */
static void expect_reject_lim(tri_wire_dec *dec, const uint8_t *p, size_t n,
                              const tri_wire_limits *lim, int err)
{
    tri_wire_stats before, after;
    tri_wire_dec_stats(dec, &before);
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n) memcpy(copy, p, n);
    coll got = {0};
    int rc = tri_wire_decode(dec, copy, n, lim, &sink, &got);
    if (rc != err)
        print_error("expected %s, got %s\n", tri_wire_strerror(err), tri_wire_strerror(rc));
    assert_int_equal(rc, err);
    assert_int_equal(got.calls, 0);
    tri_wire_dec_stats(dec, &after);
    assert_int_equal(after.rejected[0], before.rejected[0] + 1);
    assert_int_equal(after.rejected[-err - 100], before.rejected[-err - 100] + 1);
    assert_int_equal(after.frames, before.frames);
    assert_int_equal(after.records, before.records);
    coll_fini(&got);
    free(copy);
}

static void expect_reject(tri_wire_dec *dec, const bb *f, int err)
{
    expect_reject_lim(dec, f->d, f->n, NULL, err);
}

/* Decodes a hand-built frame that must be accepted; returns records seen. */
static size_t expect_accept(tri_wire_dec *dec, const bb *f, const tri_wire_limits *lim)
{
    coll got = {0};
    int rc = tri_wire_decode(dec, f->d, f->n, lim, &sink, &got);
    if (rc != TRI_WIRE_OK) print_error("refused: %s\n", tri_wire_strerror(rc));
    assert_int_equal(rc, TRI_WIRE_OK);
    size_t n = got.calls;
    coll_fini(&got);
    return n;
}

/* =========================================================== round trips */

static tr_pid P(uint32_t node, uint32_t slot, uint64_t serial)
{
    return (tr_pid){node, slot, serial};
}

static void test_records_roundtrip(void **state)
{
    (void)state;
    sess s;
    sess_init(&s);
    static uint8_t big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    char name255[256], atom255[256];
    memset(name255, 'n', 255);
    name255[255] = '\0';
    for (int i = 0; i < 255; i++)
        atom255[i] = (char)(0x21 + i % 94);
    atom255[255] = '\0';
    static char text65535[65536];
    memset(text65535, 'x', 65535);
    tr_atom a = tr_atom_from("wire.test"), a255 = tr_atom_from(atom255);
    assert_true(a.id && a255.id);
    tr_pid maxp = P(UINT32_MAX, UINT32_MAX, UINT64_MAX);

    tri_wire_record r[] = {
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(1, 2, 3), .from = TR_PID_NIL, .type = a, .call = TRI_WIRE_CALL_NONE}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = maxp,
                  .from = maxp,
                  .type = a255,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = UINT64_MAX,
                  .timeout_ms = TR_INFINITY,
                  .flags = 0xff,
                  .payload = {big, 1}}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(7, 0, 1),
                  .from = P(7, 1, 2),
                  .type = a,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = 1,
                  .timeout_ms = 0,
                  .payload = {big, 72}}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(7, 0, 1),
                  .from = P(7, 1, 2),
                  .type = a,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = 2,
                  .timeout_ms = INT64_MAX,
                  .payload = {big, 73}}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(7, 0, 1),
                  .from = P(7, 1, 2),
                  .type = a,
                  .call = TRI_WIRE_CALL_REPLY,
                  .ref = 3,
                  .flags = TRI_WIRE_MSG_EXEMPT,
                  .payload = {big, sizeof big}}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(7, 0, 1),
                  .from = TR_PID_NIL,
                  .type = a,
                  .call = TRI_WIRE_CALL_DOWN,
                  .ref = 4,
                  .payload = {big, 16}}},
        {.type = TRI_WIRE_R_SEND_NAMED,
         .send = {.name = S("kv"),
                  .from = P(1, 1, 1),
                  .type = a,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = 5,
                  .timeout_ms = 1500,
                  .payload = {big, 3}}},
        {.type = TRI_WIRE_R_SEND_NAMED,
         .send = {.name = {name255, 255}, .from = TR_PID_NIL, .type = a255}},
        {.type = TRI_WIRE_R_MONITOR, .monitor = {P(1, 2, 3), P(4, 5, 6), 7}},
        {.type = TRI_WIRE_R_DEMONITOR, .monitor = {maxp, TR_PID_NIL, UINT64_MAX}},
        {.type = TRI_WIRE_R_LINK, .link = {P(1, 2, 3), P(4, 5, 6)}},
        {.type = TRI_WIRE_R_UNLINK, .link = {TR_PID_NIL, maxp}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 2, 3), P(4, 5, 6), 0, 0, {NULL, 0}}},
        {.type = TRI_WIRE_R_EXIT,
         .exit = {maxp,
                  TR_PID_NIL,
                  TRI_WIRE_EXIT_KIND_MAX,
                  TRI_WIRE_EXIT_UNTRAPPABLE | TRI_WIRE_EXIT_OVER_LINK,
                  {text65535, 65535}}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {1, P(1, 2, 3), S("worker"), {NULL, 0}, INT64_MIN, 0, {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {UINT64_MAX,
                       maxp,
                       {name255, 255},
                       {name255, 255},
                       INT64_MAX,
                       UINT32_MAX,
                       {big, sizeof big},
                       {name255, 255},
                       UINT32_MAX,
                       TRI_WIRE_ON_FULL_MAX}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {2, TR_PID_NIL, S("w"), S("n"), -1, 1, {big, 5}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {1, P(9, 9, 9), 0, {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY,
         .spawn_reply = {2, TR_PID_NIL, INT32_MIN, {text65535, 65535}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {3, TR_PID_NIL, TR_ENOENT, S("no")}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {4, TR_PID_NIL, 1, {NULL, 0}}},
        {.type = TRI_WIRE_R_STOP_CHILD, .stop_child = {P(1, 2, 3), P(4, 5, 6), 0}},
        {.type = TRI_WIRE_R_STOP_CHILD, .stop_child = {maxp, TR_PID_NIL, 1}},
        {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {P(1, 2, 3), P(4, 5, 6), 3, S("boom")}},
        {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {maxp, TR_PID_NIL, 0, {NULL, 0}}},
    };
    size_t n = sizeof r / sizeof r[0];
    /* all in one frame, then each alone (a frame per record kind) */
    roundtrip_batch(&s, r, n);
    for (size_t i = 0; i < n; i++)
        roundtrip_batch(&s, &r[i], 1);
    tri_wire_stats st;
    tri_wire_dec_stats(s.dec, &st);
    assert_int_equal(st.frames, n + 1);
    assert_int_equal(st.records, 2 * n);
    assert_int_equal(st.new_atoms, 2);
    assert_int_equal(st.rejected[0], 0);
    sess_fini(&s);
}

/* The largest payload there is travels (TR_MSG_MAX, default limits), and
 * one byte more is refused by the encoder without reading it. */
static void test_max_payload(void **state)
{
    (void)state;
    sess s;
    sess_init(&s);
    uint8_t *big = malloc(TR_MSG_MAX);
    assert_non_null(big);
    memset(big, 0xa5, TR_MSG_MAX);
    big[TR_MSG_MAX - 1] = 0x5a;
    tri_wire_record r = {.type = TRI_WIRE_R_MSG,
                         .send = {.to = P(1, 2, 3),
                                  .from = P(3, 2, 1),
                                  .type = tr_atom_from("wire.big"),
                                  .payload = {big, TR_MSG_MAX}}};
    size_t len = roundtrip_batch(&s, &r, 1);
    assert_true(len <= tri_wire_limits_default().max_frame);
    assert_true(s.got.rec[0].send.payload.ptr > s.buf.data &&
                s.got.rec[0].send.payload.ptr < s.buf.data + s.buf.len);

    r.send.payload.len = TR_MSG_MAX + 1u;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &r), TR_ETOOBIG);
    tri_wire_record sp = {.type = TRI_WIRE_R_SPAWN_REQ,
                          .spawn_req = {.behaviour = S("w"), .args = {big, TR_MSG_MAX + 1u}}};
    assert_int_equal(tri_wire_batch_add(s.enc, &sp), TR_ETOOBIG);
    tri_wire_batch_abort(s.enc);
    free(big);
    sess_fini(&s);
}

static void check_ctl_roundtrip(tri_wire_dec *dec, const tri_wire_ctl *in)
{
    tri_wire_buf buf = {0}, again = {0};
    assert_int_equal(tri_wire_encode_ctl(&buf, in), TR_OK);
    coll got = {0};
    assert_int_equal(tri_wire_decode(dec, buf.data, buf.len, NULL, &sink, &got), TRI_WIRE_OK);
    assert_int_equal(got.nctl, 1);
    const tri_wire_ctl *out = &got.ctl[0];
    assert_int_equal(out->kind, in->kind);
    switch (in->kind) {
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME:
        if (in->kind == TRI_WIRE_HELLO) {
            assert_int_equal(out->hello.min_version, in->hello.min_version);
            assert_int_equal(out->hello.max_version, in->hello.max_version);
        } else {
            assert_int_equal(out->hello.version, in->hello.version);
        }
        assert_true(out->hello.flags == in->hello.flags);
        assert_int_equal(out->hello.max_frame, in->hello.max_frame);
        assert_true(node_eq(&out->hello.node, &in->hello.node));
        assert_true(bytes_eq(out->hello.extension, in->hello.extension));
        break;
    case TRI_WIRE_REFUSE:
        assert_int_equal(out->refuse.reason, in->refuse.reason);
        assert_true(str_eq(out->refuse.text, in->refuse.text));
        break;
    case TRI_WIRE_BYE: assert_int_equal(out->bye.reason, in->bye.reason); break;
    case TRI_WIRE_TREE_REQ: assert_int_equal(out->tree_req.flags, in->tree_req.flags); break;
    case TRI_WIRE_TREE_REP: assert_true(bytes_eq(out->tree_rep, in->tree_rep)); break;
    }
    /* and re-encoding what came out gives the same bytes */
    assert_int_equal(tri_wire_encode_ctl(&again, out), TR_OK);
    assert_int_equal(again.len, buf.len);
    assert_memory_equal(again.data, buf.data, buf.len);
    coll_fini(&got);
    tri_wire_buf_fini(&buf);
    tri_wire_buf_fini(&again);
}

static void test_control_roundtrip(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    static tri_wire_str eps[255];
    static char epbuf[255][24];
    for (int i = 0; i < 255; i++) {
        snprintf(epbuf[i], sizeof epbuf[i], "tcp://10.0.0.%d:%d", i, 4000 + i);
        eps[i] = S(epbuf[i]);
    }
    static char long_ep[65535];
    memset(long_ep, 'e', sizeof long_ep);
    tri_wire_str one_long = {long_ep, sizeof long_ep};
    uint8_t key[32], ext[300];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i; /* a NUL byte: keys are bytes */
    for (int i = 0; i < 300; i++)
        ext[i] = (uint8_t)(255 - i);
    char name255[256];
    memset(name255, 'm', 255);
    name255[255] = '\0';

    tri_wire_ctl c = {.kind = TRI_WIRE_HELLO,
                      .hello = {.min_version = 1,
                                .max_version = 1,
                                .flags = 0,
                                .node = {.node_id = 0, .name = S("a@h")},
                                .max_frame = 0}};
    check_ctl_roundtrip(dec, &c);
    c.hello = (tri_wire_hello){.min_version = 1,
                               .max_version = 255,
                               .flags = UINT64_MAX,
                               .node = {UINT32_MAX, {name255, 255}, eps, 255, {key, 32}},
                               .max_frame = UINT32_MAX,
                               .extension = {ext, sizeof ext}};
    check_ctl_roundtrip(dec, &c);
    c.kind = TRI_WIRE_WELCOME;
    c.hello.version = 1;
    c.hello.node.endpoints = &one_long;
    c.hello.node.nendpoints = 1;
    check_ctl_roundtrip(dec, &c);
    c.hello.version = 255;
    c.hello.node.key = (tri_wire_bytes){NULL, 0};
    c.hello.extension = (tri_wire_bytes){NULL, 0};
    check_ctl_roundtrip(dec, &c);
    for (uint8_t reason = TRI_WIRE_REFUSE_VERSION; reason <= TRI_WIRE_REFUSE_MALFORMED; reason++) {
        tri_wire_ctl r = {.kind = TRI_WIRE_REFUSE, .refuse = {reason, S("why")}};
        check_ctl_roundtrip(dec, &r);
    }
    tri_wire_ctl r = {.kind = TRI_WIRE_REFUSE, .refuse = {1, {name255, 255}}};
    check_ctl_roundtrip(dec, &r);
    r.refuse.text = (tri_wire_str){NULL, 0};
    check_ctl_roundtrip(dec, &r);
    for (int reason = 0; reason < 256; reason += 85) {
        tri_wire_ctl b = {.kind = TRI_WIRE_BYE, .bye = {(uint8_t)reason}};
        check_ctl_roundtrip(dec, &b);
        tri_wire_ctl q = {.kind = TRI_WIRE_TREE_REQ, .tree_req = {(uint8_t)reason}};
        check_ctl_roundtrip(dec, &q);
    }
    tri_wire_ctl t = {.kind = TRI_WIRE_TREE_REP, .tree_rep = {NULL, 0}};
    check_ctl_roundtrip(dec, &t);
    t.tree_rep = (tri_wire_bytes){ext, sizeof ext};
    check_ctl_roundtrip(dec, &t);
    tri_wire_dec_destroy(&dec);
}

static void test_gossip_roundtrip(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    tri_wire_str eps[3] = {S("tcp://a:1"), S("ipc:///tmp/x"), S("inproc://y")};
    uint8_t key[32];
    memset(key, 0, sizeof key);
    tri_wire_node nodes[3] = {
        {1, S("a@h"), eps, 3, {key, 32}},
        {UINT32_MAX, S("b@h"), NULL, 0, {NULL, 0}},
        {0, S("c"), eps + 1, 1, {NULL, 0}},
    };
    for (size_t count = 0; count <= 3; count++) {
        tri_wire_buf buf = {0}, again = {0};
        assert_int_equal(tri_wire_encode_gossip(&buf, nodes, count), TR_OK);
        coll got = {0};
        assert_int_equal(tri_wire_decode(dec, buf.data, buf.len, NULL, &sink, &got), TRI_WIRE_OK);
        tri_wire_node back[3];
        if (count == 0) {
            /* one call says "an empty gossip came" */
            assert_int_equal(got.nctl, 1);
            assert_int_equal(got.ctl[0].gossip.count, 0);
            assert_int_equal(got.ctl[0].gossip.node.nendpoints, 0);
            assert_null(got.ctl[0].gossip.node.name.ptr);
        } else {
            assert_int_equal(got.nctl, count);
        }
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(got.ctl[i].kind, TRI_WIRE_GOSSIP);
            assert_int_equal(got.ctl[i].gossip.index, i);
            assert_int_equal(got.ctl[i].gossip.count, count);
            assert_true(node_eq(&got.ctl[i].gossip.node, &nodes[i]));
            back[i] = got.ctl[i].gossip.node;
        }
        assert_int_equal(tri_wire_encode_gossip(&again, back, count), TR_OK);
        assert_int_equal(again.len, buf.len);
        assert_memory_equal(again.data, buf.data, buf.len);
        coll_fini(&got);
        tri_wire_buf_fini(&buf);
        tri_wire_buf_fini(&again);
    }
    tri_wire_dec_destroy(&dec);
}

/* ============================================================ atom cache */

static void test_atom_cache_across_frames(void **state)
{
    (void)state;
    sess s;
    sess_init(&s);
    tri_wire_record m = {.type = TRI_WIRE_R_MSG,
                         .send = {.to = P(1, 2, 3), .type = tr_atom_from("cache.a")}};
    /* frame 1 defines the atom before its use; frame 2 only uses it */
    size_t first = roundtrip_batch(&s, &m, 1);
    size_t second = roundtrip_batch(&s, &m, 1);
    assert_true(second < first);
    /* frame 2 alone, on a fresh decoder: the slot is undefined there */
    tri_wire_dec *fresh = tri_wire_dec_new(NULL);
    expect_reject_lim(fresh, s.buf.data + s.buf.len - second, second, NULL, TRI_WIRE_EUNDEFINED);
    tri_wire_dec_destroy(&fresh);
    /* forgetting defines again; the receiver takes the redefinition free */
    tri_wire_enc_forget(s.enc);
    assert_int_equal(roundtrip_batch(&s, &m, 1), first);
    assert_int_equal(roundtrip_batch(&s, &m, 1), second);
    /* an aborted batch gives its bytes back and forgets its definitions */
    tri_wire_record b = m;
    b.send.type = tr_atom_from("cache.b");
    s.buf.len = 0;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &b), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &b), TR_OK);
    assert_int_equal(tri_wire_batch_count(s.enc), 3); /* one definition */
    tri_wire_batch_abort(s.enc);
    assert_int_equal(s.buf.len, 0);
    assert_int_equal(tri_wire_batch_count(s.enc), 0);
    assert_int_equal(roundtrip_batch(&s, &b, 1), first); /* defined again */
    assert_int_equal(roundtrip_batch(&s, &m, 1), first); /* so was this one */
    tri_wire_stats st;
    tri_wire_dec_stats(s.dec, &st);
    assert_int_equal(st.new_atoms, 2);
    sess_fini(&s);
}

/* Atoms whose ids share a slot redefine it, in order, within a frame and
 * across frames; the receiver resolves by name and is charged once per
 * distinct name. */
static void test_atom_collisions(void **state)
{
    (void)state;
    static fake_atoms fa;
    memset(&fa, 0, sizeof fa);
    fa.next = 7;
    tri_wire_atoms table = {fake_intern, fake_name, &fa};
    tr_atom x = fake_intern(&fa, "col.x");
    fa.next = 7 + TRI_WIRE_ATOM_SLOTS;
    tr_atom y = fake_intern(&fa, "col.y");
    assert_int_equal(x.id % TRI_WIRE_ATOM_SLOTS, y.id % TRI_WIRE_ATOM_SLOTS);

    tri_wire_enc *enc = tri_wire_enc_new(&table);
    tri_wire_dec *dec = tri_wire_dec_new(NULL); /* the receiver: the real table */
    tri_wire_buf buf = {0};
    coll got = {0};
    tri_wire_record r[3] = {
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = x}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 2), .type = y}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 3), .type = x}},
    };
    size_t off, len;
    assert_int_equal(tri_wire_batch_begin(enc, &buf), TR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tri_wire_batch_add(enc, &r[i]), TR_OK);
    assert_int_equal(tri_wire_batch_count(enc), 6); /* each use redefined the slot */
    assert_int_equal(tri_wire_batch_finish(enc, &off, &len), TR_OK);
    assert_int_equal(tri_wire_decode(dec, buf.data + off, len, NULL, &sink, &got), TRI_WIRE_OK);
    assert_int_equal(got.nrec, 3);
    for (int i = 0; i < 3; i++)
        assert_true(rec_eq2(&r[i], &table, &got.rec[i], NULL));
    assert_string_equal(tr_atom_name(got.rec[1].send.type), "col.y");

    /* next frame: x is in the slot now, so y needs a definition, x not */
    coll_reset(&got);
    buf.len = 0;
    assert_int_equal(tri_wire_batch_begin(enc, &buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(enc, &r[0]), TR_OK);
    assert_int_equal(tri_wire_batch_count(enc), 1);
    assert_int_equal(tri_wire_batch_add(enc, &r[1]), TR_OK);
    assert_int_equal(tri_wire_batch_count(enc), 3);
    assert_int_equal(tri_wire_batch_finish(enc, &off, &len), TR_OK);
    assert_int_equal(tri_wire_decode(dec, buf.data + off, len, NULL, &sink, &got), TRI_WIRE_OK);
    assert_true(rec_eq2(&r[0], &table, &got.rec[0], NULL));
    assert_true(rec_eq2(&r[1], &table, &got.rec[1], NULL));
    tri_wire_stats st;
    tri_wire_dec_stats(dec, &st);
    assert_int_equal(st.new_atoms, 2); /* four definitions, two names */

    coll_fini(&got);
    tri_wire_buf_fini(&buf);
    tri_wire_enc_destroy(&enc);
    tri_wire_dec_destroy(&dec);
    fake_fini(&fa);
}

/* The record count is written minimal and right-aligned in the room kept
 * for it: 1, 2 and 3 bytes; past TRI_WIRE_MAX_RECORDS the batch is full. */
static void test_batch_count_widths(void **state)
{
    (void)state;
    sess s;
    sess_init(&s);
    const uint32_t counts[] = {1, 127, 128, 16383, 16384, TRI_WIRE_MAX_RECORDS};
    const size_t offs[] = {2, 2, 1, 1, 0, 0};
    tri_wire_record link = {.type = TRI_WIRE_R_LINK, .link = {P(1, 2, 3), P(4, 5, 6)}};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        s.buf.len = 5; /* a batch need not start at 0 */
        coll_reset(&s.got);
        assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
        for (uint32_t i = 0; i < counts[k]; i++) {
            link.link.target.serial = i + 1;
            assert_int_equal(tri_wire_batch_add(s.enc, &link), TR_OK);
        }
        if (counts[k] == TRI_WIRE_MAX_RECORDS)
            assert_int_equal(tri_wire_batch_add(s.enc, &link), TR_EFULL);
        size_t size = tri_wire_batch_size(s.enc), off, len;
        assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_OK);
        assert_int_equal(off, 5 + offs[k]);
        assert_int_equal(len, size);
        assert_int_equal(tri_wire_decode(s.dec, s.buf.data + off, len, NULL, &sink, &s.got),
                         TRI_WIRE_OK);
        assert_int_equal(s.got.nrec, counts[k]);
        assert_int_equal(s.got.rec[counts[k] - 1].link.target.serial, counts[k]);
    }
    /* a MSG needing a definition does not fit in the last free record */
    s.buf.len = 0;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    for (uint32_t i = 0; i < TRI_WIRE_MAX_RECORDS - 1; i++)
        assert_int_equal(tri_wire_batch_add(s.enc, &link), TR_OK);
    tri_wire_record m = {.type = TRI_WIRE_R_MSG,
                         .send = {.to = P(1, 1, 1), .type = tr_atom_from("count.new")}};
    size_t before = s.buf.len;
    assert_int_equal(tri_wire_batch_add(s.enc, &m), TR_EFULL);
    assert_int_equal(s.buf.len, before);
    tri_wire_batch_abort(s.enc);
    assert_int_equal(s.buf.len, 0);
    sess_fini(&s);
}

static void test_encoder_states_and_errors(void **state)
{
    (void)state;
    sess s;
    sess_init(&s);
    tri_wire_record link = {.type = TRI_WIRE_R_LINK, .link = {P(1, 2, 3), P(4, 5, 6)}};
    size_t off, len;
    assert_int_equal(tri_wire_batch_add(s.enc, &link), TR_ESTATE);
    assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_ESTATE);
    assert_int_equal(tri_wire_batch_size(s.enc), 0);
    assert_int_equal(tri_wire_batch_count(s.enc), 0);
    tri_wire_batch_abort(s.enc); /* nothing open: no-op */
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_ESTATE);
    assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_ESTATE); /* empty */

    tr_atom ok = tr_atom_from("enc.ok");
    char name256[257];
    memset(name256, 'q', 256);
    name256[256] = '\0';
    tri_wire_record bad[] = {
        {.type = TRI_WIRE_R_DEFINE_ATOM},
        {.type = 0},
        {.type = 13},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = {0}}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = tr_atom_from("has space")}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = tr_atom_from("caf\xc3\xa9")}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = {0x7fffffff}}}, /* unknown */
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 0), .type = ok}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .from = P(0, 1, 0), .type = ok}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = ok, .call = 4}},
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(1, 1, 1), .type = ok, .call = TRI_WIRE_CALL_REQUEST, .timeout_ms = -2}},
        {.type = TRI_WIRE_R_MSG, .send = {.to = P(1, 1, 1), .type = ok, .payload = {NULL, 1}}},
        {.type = TRI_WIRE_R_SEND_NAMED, .send = {.name = {NULL, 0}, .type = ok}},
        {.type = TRI_WIRE_R_SEND_NAMED, .send = {.name = {name256, 256}, .type = ok}},
        {.type = TRI_WIRE_R_SEND_NAMED, .send = {.name = {"a\0b", 3}, .type = ok}},
        {.type = TRI_WIRE_R_MONITOR, .monitor = {P(0, 0, 0), P(1, 0, 0), 1}},
        {.type = TRI_WIRE_R_LINK, .link = {P(0, 5, 0), P(1, 1, 1)}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 1, 1), P(1, 1, 1), 7, 0, {NULL, 0}}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 1, 1), P(1, 1, 1), 3, 0, {"x\0", 2}}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 1, 1), P(1, 1, 1), 3, 0, {NULL, 1}}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 1, 1), P(1, 1, 1), 3, 0, {name256, 65536}}},
        {.type = TRI_WIRE_R_SPAWN_REQ, .spawn_req = {.behaviour = {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REQ, .spawn_req = {.behaviour = S("w"), .name = {name256, 256}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {1, P(1, 1, 1), 1, {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {1, TR_PID_NIL, 2, {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REQ, .spawn_req = {.behaviour = S("w"), .on_full = 4}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {.behaviour = S("w"), .register_as = {name256, 256}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {1, P(1, 1, 1), -1, {NULL, 0}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {1, TR_PID_NIL, 0, {NULL, 0}}},
        {.type = TRI_WIRE_R_STOP_CHILD, .stop_child = {P(1, 1, 1), P(1, 1, 1), 2}},
        {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {P(1, 1, 1), P(1, 1, 1), 200, {NULL, 0}}},
    };
    size_t before = s.buf.len;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tri_wire_batch_add(s.enc, &bad[i]);
        if (rc != TR_EINVAL) print_error("bad[%zu]: %s\n", i, tri_wire_strerror(rc));
        assert_int_equal(rc, TR_EINVAL);
        assert_int_equal(s.buf.len, before);
        assert_int_equal(tri_wire_batch_count(s.enc), 0);
    }
    assert_int_equal(tri_wire_batch_add(s.enc, NULL), TR_EINVAL);
    tri_wire_batch_abort(s.enc);

    /* control frames */
    tri_wire_str eps[256];
    for (int i = 0; i < 256; i++)
        eps[i] = S("tcp://h:1");
    uint8_t key[32] = {0};
    tri_wire_node good = {1, S("a@h"), eps, 1, {key, 32}};
    tri_wire_node badn[] = {
        {1, {NULL, 0}, NULL, 0, {NULL, 0}},
        {1, {name256, 256}, NULL, 0, {NULL, 0}},
        {1, S("a"), eps, 256, {NULL, 0}},
        {1, S("a"), NULL, 1, {NULL, 0}},
        {1, S("a"), (tri_wire_str[]){{NULL, 0}}, 1, {NULL, 0}},
        {1, S("a"), NULL, 0, {key, 5}},
        {1, S("a"), NULL, 0, {NULL, 32}},
    };
    tri_wire_buf b = {0};
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
        tri_wire_ctl h = {.kind = TRI_WIRE_HELLO,
                          .hello = {.min_version = 1, .max_version = 1, .node = badn[i]}};
        assert_int_equal(tri_wire_encode_ctl(&b, &h), TR_EINVAL);
        assert_int_equal(tri_wire_encode_gossip(&b, &badn[i], 1), TR_EINVAL);
    }
    tri_wire_ctl badc[] = {
        {.kind = TRI_WIRE_HELLO, .hello = {.min_version = 0, .max_version = 1, .node = good}},
        {.kind = TRI_WIRE_HELLO, .hello = {.min_version = 2, .max_version = 1, .node = good}},
        {.kind = TRI_WIRE_WELCOME, .hello = {.version = 0, .node = good}},
        {.kind = TRI_WIRE_HELLO,
         .hello = {.min_version = 1, .max_version = 1, .node = good, .extension = {NULL, 1}}},
        {.kind = TRI_WIRE_REFUSE, .refuse = {0, {NULL, 0}}},
        {.kind = TRI_WIRE_REFUSE, .refuse = {7, {NULL, 0}}},
        {.kind = TRI_WIRE_REFUSE, .refuse = {1, {name256, 256}}},
        {.kind = TRI_WIRE_TREE_REP, .tree_rep = {NULL, 3}},
        {.kind = TRI_WIRE_BATCH},
        {.kind = TRI_WIRE_GOSSIP},
        {.kind = 0},
        {.kind = 9},
    };
    for (size_t i = 0; i < sizeof badc / sizeof badc[0]; i++)
        assert_int_equal(tri_wire_encode_ctl(&b, &badc[i]), TR_EINVAL);
    assert_int_equal(tri_wire_encode_gossip(&b, NULL, 1), TR_EINVAL);
    assert_int_equal(b.len, 0);
    tri_wire_buf_fini(&b);
    sess_fini(&s);
}

/* ========================================================= malformations */

static void test_reject_header(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f;
    b_hdr(&f, TRI_WIRE_BYE);
    b_u8(&f, 0);
    expect_accept(dec, &f, NULL);
    for (size_t n = 0; n < TRI_WIRE_HEADER; n++)
        expect_reject_lim(dec, f.d, n, NULL, TRI_WIRE_ETRUNCATED);
    f.d[0] = 'X';
    expect_reject(dec, &f, TRI_WIRE_EMAGIC);
    f.d[0] = 'T';
    f.d[1] = 'r';
    expect_reject(dec, &f, TRI_WIRE_EMAGIC);
    f.d[1] = 'R';
    for (int v = 0; v < 256; v += 1) {
        if (v == TRI_WIRE_VERSION) continue;
        f.d[2] = (uint8_t)v;
        expect_reject(dec, &f, TRI_WIRE_EVERSION);
    }
    f.d[2] = TRI_WIRE_VERSION;
    const int kinds[] = {0, 9, 10, 0x7f, 0xff};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        f.d[3] = (uint8_t)kinds[i];
        expect_reject(dec, &f, TRI_WIRE_EKIND);
    }
    /* size: checked first, against the caller's limit */
    f.d[3] = TRI_WIRE_BYE;
    tri_wire_limits lim = tri_wire_limits_default();
    lim.max_frame = 4;
    expect_reject_lim(dec, f.d, f.n, &lim, TRI_WIRE_ESIZE);
    lim.max_frame = 5;
    expect_accept(dec, &f, &lim);
    /* trailing bytes after a control frame's last field */
    b_u8(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_ETRAILING);
    b_hdr(&f, TRI_WIRE_TREE_REQ);
    b_u8(&f, 1);
    b_u8(&f, 1);
    expect_reject(dec, &f, TRI_WIRE_ETRAILING);
    tri_wire_stats st;
    tri_wire_dec_stats(dec, &st);
    assert_int_equal(st.frames, 2);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_varints(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f;
    /* nrecords 1 spelt in two bytes: overlong */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_u8(&f, 0x81);
    b_u8(&f, 0x00);
    b_msg(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    /* 0 spelt in ten bytes */
    b_hdr(&f, TRI_WIRE_BATCH);
    for (int i = 0; i < 9; i++)
        b_u8(&f, 0x80);
    b_u8(&f, 0x00);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    /* eleven bytes */
    b_hdr(&f, TRI_WIRE_BATCH);
    for (int i = 0; i < 10; i++)
        b_u8(&f, 0xff);
    b_u8(&f, 0x01);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    /* ten bytes whose last carries bits past 64 */
    b_hdr(&f, TRI_WIRE_BATCH);
    for (int i = 0; i < 9; i++)
        b_u8(&f, 0xff);
    b_u8(&f, 0x02);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    /* UINT64_MAX itself is a well-formed varint (then too many records) */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, UINT64_MAX);
    assert_int_equal(f.n, 4 + 10);
    expect_reject(dec, &f, TRI_WIRE_ERECORDS);
    /* a varint cut by the end of the frame */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_u8(&f, 0x80);
    expect_reject(dec, &f, TRI_WIRE_ETRUNCATED);
    /* an overlong varint inside a record: the payload length */
    bb body;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "v");
    b_msg_body(&body, 1);
    body.n -= 3;       /* drop length 2 and "hi" */
    b_u8(&body, 0x82); /* 2, overlong */
    b_u8(&body, 0x00);
    b_raw(&body, "hi", 2);
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    /* and an overlong slot */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_u8(&body, 0x81);
    b_u8(&body, 0x00);
    b_str8(&body, "v");
    b_rec(&f, TRI_WIRE_R_DEFINE_ATOM, &body);
    expect_reject(dec, &f, TRI_WIRE_EVARINT);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_lengths(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f, body;
    /* a record claiming 2^63 bytes */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_u8(&f, TRI_WIRE_R_LINK);
    b_var(&f, 1ull << 63);
    b_pid(&f, 1, 1, 1);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* a record one byte longer than what is left */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_u8(&f, TRI_WIRE_R_LINK);
    b_var(&f, 33);
    b_pid(&f, 1, 1, 1);
    b_pid(&f, 1, 1, 1);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* a record too short for its known fields: truncated inside it */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_u8(&f, TRI_WIRE_R_LINK);
    b_var(&f, 31);
    b_pid(&f, 1, 1, 1);
    b_pid(&f, 1, 1, 1);
    expect_reject(dec, &f, TRI_WIRE_ETRUNCATED);
    /* longer than its known fields: skipped (append-only evolution) */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_u8(&f, TRI_WIRE_R_LINK);
    b_var(&f, 35);
    b_pid(&f, 1, 1, 1);
    b_pid(&f, 1, 1, 1);
    b_u8(&f, 0xee);
    b_u8(&f, 0xee);
    b_u8(&f, 0xee);
    assert_int_equal(expect_accept(dec, &f, NULL), 1);
    /* a payload running past its record (though not past the frame) */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 3);
    b_define(&f, 1, "l");
    b_msg_body(&body, 1);
    body.n -= 1; /* "h" only, length says 2 */
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    b_msg(&f, 1);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* a str8 past the end */
    b_hdr(&f, TRI_WIRE_REFUSE);
    b_u8(&f, 1);
    b_u8(&f, 5);
    b_raw(&f, "abc", 3);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* a str16 past the end */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_pid(&body, 1, 1, 1);
    b_pid(&body, 1, 1, 1);
    b_u8(&body, 3);
    b_u8(&body, 0);
    b_u8(&body, 0xff);
    b_u8(&body, 0xff);
    b_raw(&body, "abc", 3);
    b_rec(&f, TRI_WIRE_R_EXIT, &body);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* a HELLO extension past the end; a key shorter than its length */
    b_hdr(&f, TRI_WIRE_HELLO);
    b_u8(&f, 1);
    b_u8(&f, 1);
    b_u64(&f, 0);
    b_u32(&f, 9);
    b_str8(&f, "a@h");
    b_u32(&f, 1000);
    b_u8(&f, 0);
    size_t at_key = f.n;
    b_u8(&f, 0);
    b_var(&f, 10);
    b_raw(&f, "12345", 5);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    f.n = at_key;
    b_u8(&f, 32);
    b_raw(&f, "0123456789", 10);
    expect_reject(dec, &f, TRI_WIRE_ELENGTH);
    /* trailing bytes after the last record */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, 1, "t");
    b_u8(&f, TRI_WIRE_R_LINK);
    expect_reject(dec, &f, TRI_WIRE_ETRAILING);
    /* and after a HELLO's extension */
    b_hdr(&f, TRI_WIRE_HELLO);
    b_u8(&f, 1);
    b_u8(&f, 1);
    b_u64(&f, 0);
    b_u32(&f, 9);
    b_str8(&f, "a@h");
    b_u32(&f, 1000);
    b_u8(&f, 0);
    b_u8(&f, 0);
    b_var(&f, 0);
    assert_int_equal(expect_accept(dec, &f, NULL), 1);
    b_u8(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_ETRAILING);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_records(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f, body;
    /* unknown record types */
    const int rtypes[] = {0, 13, 0x80, 0xff};
    for (size_t i = 0; i < sizeof rtypes / sizeof rtypes[0]; i++) {
        b_hdr(&f, TRI_WIRE_BATCH);
        b_var(&f, 1);
        body.n = 0;
        b_pid(&body, 1, 1, 1);
        b_pid(&body, 1, 1, 1);
        b_rec(&f, (uint8_t)rtypes[i], &body);
        expect_reject(dec, &f, TRI_WIRE_ERTYPE);
    }
    /* zero records; more records than the limit; fewer than announced */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_ERECORDS);
    tri_wire_limits lim = tri_wire_limits_default();
    lim.max_records = 2;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 3);
    b_define(&f, 1, "r");
    b_msg(&f, 1);
    b_msg(&f, 1);
    expect_reject_lim(dec, f.d, f.n, &lim, TRI_WIRE_ERECORDS);
    assert_int_equal(expect_accept(dec, &f, NULL), 2);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, TRI_WIRE_MAX_RECORDS + 1);
    b_msg(&f, 1);
    expect_reject(dec, &f, TRI_WIRE_ERECORDS);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 3);
    b_msg(&f, 1);
    b_msg(&f, 1);
    expect_reject(dec, &f, TRI_WIRE_ETRUNCATED);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_atoms(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f;
    /* slot out of range, in a definition and in a reference */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, TRI_WIRE_ATOM_SLOTS, "s");
    expect_reject(dec, &f, TRI_WIRE_ESLOT);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, TRI_WIRE_ATOM_SLOTS - 1, "s");
    expect_accept(dec, &f, NULL);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_msg(&f, UINT64_MAX);
    expect_reject(dec, &f, TRI_WIRE_ESLOT);
    /* undefined slot; the slot defined by the accepted frame above works */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_msg(&f, 17);
    expect_reject(dec, &f, TRI_WIRE_EUNDEFINED);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_msg(&f, TRI_WIRE_ATOM_SLOTS - 1);
    assert_int_equal(expect_accept(dec, &f, NULL), 1);
    /* a use before its definition in the same frame */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_msg(&f, 18);
    b_define(&f, 18, "late");
    expect_reject(dec, &f, TRI_WIRE_EUNDEFINED);
    /* bad names: empty, space, DEL, high bit, NUL, over the limit */
    const char *names[] = {"", "a b", "a\x7f", "\x80", "x\x01"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        b_hdr(&f, TRI_WIRE_BATCH);
        b_var(&f, 1);
        b_define(&f, 1, names[i]);
        expect_reject(dec, &f, TRI_WIRE_EATOM);
    }
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    bb body = {.n = 0};
    b_var(&body, 1);
    b_u8(&body, 3);
    b_raw(&body, "a\0b", 3);
    b_rec(&f, TRI_WIRE_R_DEFINE_ATOM, &body);
    expect_reject(dec, &f, TRI_WIRE_EATOM);
    tri_wire_limits lim = tri_wire_limits_default();
    lim.max_atom_len = 4;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, 1, "abcde");
    expect_reject_lim(dec, f.d, f.n, &lim, TRI_WIRE_EATOM);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, 1, "abcd");
    expect_accept(dec, &f, &lim);
    char n255[256];
    memset(n255, '~', 255);
    n255[255] = '\0';
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, 1, n255);
    expect_accept(dec, &f, NULL);
    tri_wire_dec_destroy(&dec);
}

/* The budget counts distinct names: a redefinition of a name the session
 * already resolved is free; a new one past the limit refuses the frame. */
static void test_atom_budget(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    tri_wire_limits lim = tri_wire_limits_default();
    lim.max_new_atoms = 3;
    bb f;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 4);
    b_define(&f, 1, "bud.a");
    b_define(&f, 2, "bud.b");
    b_define(&f, 3, "bud.c");
    b_define(&f, 1, "bud.b"); /* a redefinition: free */
    expect_accept(dec, &f, &lim);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 9, "bud.a");
    b_define(&f, 4, "bud.d");
    expect_reject_lim(dec, f.d, f.n, &lim, TRI_WIRE_EBUDGET);
    /* the session goes on; its known names still define */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 4, "bud.c");
    b_msg(&f, 4);
    assert_int_equal(expect_accept(dec, &f, &lim), 1);
    tri_wire_stats st;
    tri_wire_dec_stats(dec, &st);
    assert_int_equal(st.new_atoms, 3);
    /* the default budget: 10,000 distinct names */
    tri_wire_dec *d2 = tri_wire_dec_new(NULL);
    char name[32];
    for (int i = 0; i <= 10000; i++) {
        b_hdr(&f, TRI_WIRE_BATCH);
        b_var(&f, 1);
        snprintf(name, sizeof name, "bud.n%d", i);
        b_define(&f, (uint64_t)i % TRI_WIRE_ATOM_SLOTS, name);
        if (i < 10000)
            expect_accept(d2, &f, NULL);
        else
            expect_reject(d2, &f, TRI_WIRE_EBUDGET);
    }
    tri_wire_dec_stats(d2, &st);
    assert_int_equal(st.new_atoms, 10000);
    tri_wire_dec_destroy(&d2);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_payload(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    tri_wire_limits lim = tri_wire_limits_default();
    lim.max_payload = 16;
    sess s;
    sess_init(&s);
    uint8_t data[17] = {0};
    tri_wire_record r = {
        .type = TRI_WIRE_R_MSG,
        .send = {.to = P(1, 1, 1), .type = tr_atom_from("pay"), .payload = {data, 17}}};
    size_t off, len;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &r), TR_OK);
    assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_OK);
    expect_reject_lim(dec, s.buf.data + off, len, &lim, TRI_WIRE_EPAYLOAD);
    /* spawn args too */
    tri_wire_record sp = {.type = TRI_WIRE_R_SPAWN_REQ,
                          .spawn_req = {.behaviour = S("w"), .args = {data, 17}}};
    s.buf.len = 0;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &sp), TR_OK);
    assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_OK);
    expect_reject_lim(dec, s.buf.data + off, len, &lim, TRI_WIRE_EPAYLOAD);
    /* a claimed length over the limit is EPAYLOAD even with no bytes behind */
    bb f, body;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "pay");
    b_msg_body(&body, 1);
    body.n -= 3;
    b_var(&body, 1ull << 62);
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    expect_reject(dec, &f, TRI_WIRE_EPAYLOAD);
    /* exactly at the limit passes. The encoder still believes the peer
     * holds the definition from the refused first frame: a refused frame
     * leaves the two caches disagreeing until the sender forgets. */
    tri_wire_enc_forget(s.enc);
    r.send.payload.len = 16;
    s.buf.len = 0;
    assert_int_equal(tri_wire_batch_begin(s.enc, &s.buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(s.enc, &r), TR_OK);
    assert_int_equal(tri_wire_batch_finish(s.enc, &off, &len), TR_OK);
    assert_int_equal(tri_wire_decode(dec, s.buf.data + off, len, &lim, NULL, NULL), TRI_WIRE_OK);
    sess_fini(&s);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_fields(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f, body;
    /* call role 4 */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "fld");
    b_msg_body(&body, 1);
    body.d[16 + 16 + 1] = 4;
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    /* a request whose timeout does not fit int64 after the -1 */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "fld");
    body.n = 0;
    b_pid(&body, 1, 1, 1);
    b_pid(&body, 0, 0, 0);
    b_var(&body, 1);
    b_u8(&body, TRI_WIRE_CALL_REQUEST);
    b_u64(&body, 99);
    size_t at_timeout = body.n;
    b_var(&body, (1ull << 63) + 1);
    b_u8(&body, 0);
    b_var(&body, 0);
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    body.n = at_timeout; /* 2^63 is the largest: INT64_MAX ms */
    b_var(&body, 1ull << 63);
    b_u8(&body, 0);
    b_var(&body, 0);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "fld");
    b_rec(&f, TRI_WIRE_R_MSG, &body);
    assert_int_equal(expect_accept(dec, &f, NULL), 1);
    /* a non-canonical nil pid (serial 0, slot 5) */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_pid(&body, 0, 5, 0);
    b_pid(&body, 1, 1, 1);
    b_rec(&f, TRI_WIRE_R_LINK, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    /* exit kinds past 6 (EXIT and CHILD_EXIT); kill not boolean */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_pid(&body, 1, 1, 1);
    b_pid(&body, 1, 1, 1);
    b_u8(&body, 7);
    b_u8(&body, 0);
    b_u8(&body, 0);
    b_u8(&body, 0);
    b_rec(&f, TRI_WIRE_R_EXIT, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    f.n -= body.n + 2;
    body.n = 32;
    b_u8(&body, 7);
    b_u8(&body, 0);
    b_u8(&body, 0);
    b_rec(&f, TRI_WIRE_R_CHILD_EXIT, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    f.n -= body.n + 2;
    body.n = 32;
    b_u8(&body, 2);
    b_rec(&f, TRI_WIRE_R_STOP_CHILD, &body);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    /* spawn reply: a status over 1 (ignored); ignored or an error with a
     * child; success with none; a status below INT32_MIN */
    const struct {
        int64_t status;
        uint64_t serial;
    } replies[] = {{2, 0}, {1, 5}, {-2, 5}, {0, 0}, {(int64_t)INT32_MIN - 1, 0}};
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        b_hdr(&f, TRI_WIRE_BATCH);
        b_var(&f, 1);
        body.n = 0;
        b_u64(&body, 1);
        b_pid(&body, replies[i].serial ? 1 : 0, 0, replies[i].serial);
        int64_t st = replies[i].status;
        b_var(&body, st < 0 ? ((uint64_t)(-(st + 1)) << 1) | 1 : (uint64_t)st << 1);
        b_u8(&body, 0);
        b_u8(&body, 0);
        b_rec(&f, TRI_WIRE_R_SPAWN_REPLY, &body);
        expect_reject(dec, &f, TRI_WIRE_EFIELD);
    }
    /* REFUSE reasons 0 and 7; HELLO versions; a key of 5 bytes */
    b_hdr(&f, TRI_WIRE_REFUSE);
    b_u8(&f, 0);
    b_u8(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    f.d[4] = 7;
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    f.d[4] = 6;
    expect_accept(dec, &f, NULL);
    const uint8_t versions[][2] = {{0, 1}, {2, 1}, {0, 0}};
    for (size_t i = 0; i < 3; i++) {
        b_hdr(&f, TRI_WIRE_HELLO);
        b_u8(&f, versions[i][0]);
        b_u8(&f, versions[i][1]);
        b_u64(&f, 0);
        b_u32(&f, 9);
        b_str8(&f, "a@h");
        b_u32(&f, 1000);
        b_u8(&f, 0);
        b_u8(&f, 0);
        b_var(&f, 0);
        expect_reject(dec, &f, TRI_WIRE_EFIELD);
    }
    b_hdr(&f, TRI_WIRE_WELCOME);
    b_u8(&f, 0);
    b_u64(&f, 0);
    b_u32(&f, 9);
    b_str8(&f, "a@h");
    b_u32(&f, 1000);
    b_u8(&f, 0);
    b_u8(&f, 0);
    b_var(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    f.d[4] = 1;
    expect_accept(dec, &f, NULL);
    f.n -= 2;
    b_u8(&f, 5);
    b_raw(&f, "12345", 5);
    b_var(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_EFIELD);
    tri_wire_dec_destroy(&dec);
}

static void test_reject_text(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f, body;
    /* a NUL inside an exit text */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_pid(&body, 1, 1, 1);
    b_pid(&body, 1, 1, 1);
    b_u8(&body, 3);
    b_u8(&body, 0);
    b_u8(&body, 3);
    b_u8(&body, 0);
    b_raw(&body, "a\0b", 3);
    b_rec(&f, TRI_WIRE_R_EXIT, &body);
    expect_reject(dec, &f, TRI_WIRE_ETEXT);
    /* an empty SEND_NAMED name */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 1, "txt");
    body.n = 0;
    b_str8(&body, "");
    b_pid(&body, 1, 1, 1);
    b_var(&body, 1);
    b_u8(&body, 0);
    b_u8(&body, 0);
    b_var(&body, 0);
    b_rec(&f, TRI_WIRE_R_SEND_NAMED, &body);
    expect_reject(dec, &f, TRI_WIRE_ETEXT);
    /* an empty behaviour */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    body.n = 0;
    b_u64(&body, 1);
    b_pid(&body, 1, 1, 1);
    b_str8(&body, "");
    b_str8(&body, "");
    b_var(&body, 0);
    b_u32(&body, 0);
    b_var(&body, 0);
    b_rec(&f, TRI_WIRE_R_SPAWN_REQ, &body);
    expect_reject(dec, &f, TRI_WIRE_ETEXT);
    /* an empty node name in GOSSIP; an empty endpoint in HELLO */
    b_hdr(&f, TRI_WIRE_GOSSIP);
    b_var(&f, 1);
    b_u32(&f, 1);
    b_str8(&f, "");
    b_u8(&f, 0);
    b_u8(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_ETEXT);
    b_hdr(&f, TRI_WIRE_HELLO);
    b_u8(&f, 1);
    b_u8(&f, 1);
    b_u64(&f, 0);
    b_u32(&f, 9);
    b_str8(&f, "a@h");
    b_u32(&f, 1000);
    b_u8(&f, 1);
    b_u8(&f, 0);
    b_u8(&f, 0);
    b_u8(&f, 0);
    b_var(&f, 0);
    expect_reject(dec, &f, TRI_WIRE_ETEXT);
    tri_wire_dec_destroy(&dec);
}

/* A frame is refused whole: valid records before a bad one reach no sink,
 * and its definitions do not stay in the cache. */
static void test_all_or_nothing(void **state)
{
    (void)state;
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    bb f, body;
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 4);
    b_define(&f, 5, "aon.x");
    b_msg(&f, 5);
    b_msg(&f, 5);
    body.n = 0;
    b_rec(&f, 99, &body);
    expect_reject(dec, &f, TRI_WIRE_ERTYPE);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_msg(&f, 5);
    expect_reject(dec, &f, TRI_WIRE_EUNDEFINED);
    /* a slot already defined, redefined by a refused frame, keeps its atom */
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_define(&f, 5, "aon.x");
    expect_accept(dec, &f, NULL);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 2);
    b_define(&f, 5, "aon.y");
    b_msg(&f, 4096);
    expect_reject(dec, &f, TRI_WIRE_ESLOT);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 1);
    b_msg(&f, 5);
    coll got = {0};
    assert_int_equal(tri_wire_decode(dec, f.d, f.n, NULL, &sink, &got), TRI_WIRE_OK);
    assert_int_equal(got.nrec, 1);
    assert_string_equal(tr_atom_name(got.rec[0].send.type), "aon.x");
    /* redefinitions inside one frame apply in order */
    coll_reset(&got);
    b_hdr(&f, TRI_WIRE_BATCH);
    b_var(&f, 4);
    b_msg(&f, 5);
    b_define(&f, 5, "aon.y");
    b_msg(&f, 5);
    b_define(&f, 5, "aon.x");
    assert_int_equal(tri_wire_decode(dec, f.d, f.n, NULL, &sink, &got), TRI_WIRE_OK);
    assert_int_equal(got.nrec, 2);
    assert_string_equal(tr_atom_name(got.rec[0].send.type), "aon.x");
    assert_string_equal(tr_atom_name(got.rec[1].send.type), "aon.y");
    coll_fini(&got);
    tri_wire_dec_destroy(&dec);
}

/* Every proper prefix of a valid frame is refused as truncated (or as a
 * length past the end), reaches no sink and changes no state: the whole
 * frame still decodes afterwards on the same decoder. */
static void check_prefixes(tri_wire_dec *dec, const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, p, k);
        coll got = {0};
        int rc = tri_wire_decode(dec, copy, k, NULL, &sink, &got);
        if (rc != TRI_WIRE_ETRUNCATED && rc != TRI_WIRE_ELENGTH)
            print_error("prefix %zu of %zu: %s\n", k, n, tri_wire_strerror(rc));
        assert_true(rc == TRI_WIRE_ETRUNCATED || rc == TRI_WIRE_ELENGTH);
        assert_int_equal(got.calls, 0);
        free(copy);
    }
    coll got = {0};
    assert_int_equal(tri_wire_decode(dec, p, n, NULL, &sink, &got), TRI_WIRE_OK);
    assert_true(got.calls > 0);
    coll_fini(&got);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    tri_wire_enc *enc = tri_wire_enc_new(NULL);
    tri_wire_dec *dec = tri_wire_dec_new(NULL);
    tri_wire_buf buf = {0};
    uint8_t pay[300];
    for (int i = 0; i < 300; i++)
        pay[i] = (uint8_t)i;
    tr_atom a = tr_atom_from("trunc.a"), b = tr_atom_from("trunc.b");
    tri_wire_record r[] = {
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(1, 2, 3),
                  .from = P(4, 5, 6),
                  .type = a,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = 77,
                  .timeout_ms = 300,
                  .flags = 1,
                  .payload = {pay, 200}}},
        {.type = TRI_WIRE_R_SEND_NAMED,
         .send = {.name = S("reg"),
                  .from = P(4, 5, 6),
                  .type = b,
                  .call = TRI_WIRE_CALL_REPLY,
                  .ref = 78,
                  .payload = {pay, 3}}},
        {.type = TRI_WIRE_R_MONITOR, .monitor = {P(1, 2, 3), P(4, 5, 6), 9}},
        {.type = TRI_WIRE_R_DEMONITOR, .monitor = {P(1, 2, 3), P(4, 5, 6), 9}},
        {.type = TRI_WIRE_R_LINK, .link = {P(1, 2, 3), P(4, 5, 6)}},
        {.type = TRI_WIRE_R_UNLINK, .link = {P(1, 2, 3), P(4, 5, 6)}},
        {.type = TRI_WIRE_R_EXIT, .exit = {P(1, 2, 3), P(4, 5, 6), 3, 1, S("bad")}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {5, P(4, 5, 6), S("worker"), S("w1"), 5000, 3, {pay, 20}}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {5, P(1, 9, 9), 0, S("")}},
        {.type = TRI_WIRE_R_STOP_CHILD, .stop_child = {P(1, 9, 9), P(4, 5, 6), 1}},
        {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {P(1, 9, 9), P(4, 5, 6), 1, S("done")}},
    };
    size_t off, len;
    assert_int_equal(tri_wire_batch_begin(enc, &buf), TR_OK);
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        assert_int_equal(tri_wire_batch_add(enc, &r[i]), TR_OK);
    assert_int_equal(tri_wire_batch_finish(enc, &off, &len), TR_OK);
    check_prefixes(dec, buf.data + off, len);
    /* each record kind alone, its atoms already defined */
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        buf.len = 0;
        assert_int_equal(tri_wire_batch_begin(enc, &buf), TR_OK);
        assert_int_equal(tri_wire_batch_add(enc, &r[i]), TR_OK);
        assert_int_equal(tri_wire_batch_finish(enc, &off, &len), TR_OK);
        check_prefixes(dec, buf.data + off, len);
    }
    /* control frames */
    tri_wire_str eps[2] = {S("tcp://a:1"), S("tcp://b:2")};
    uint8_t key[32] = {1};
    tri_wire_node node = {42, S("n@h"), eps, 2, {key, 32}};
    tri_wire_ctl ctls[] = {
        {.kind = TRI_WIRE_HELLO,
         .hello = {.min_version = 1,
                   .max_version = 2,
                   .flags = 3,
                   .node = node,
                   .max_frame = 1 << 20,
                   .extension = {pay, 5}}},
        {.kind = TRI_WIRE_WELCOME, .hello = {.version = 1, .node = node, .max_frame = 99}},
        {.kind = TRI_WIRE_REFUSE, .refuse = {3, S("dup")}},
        {.kind = TRI_WIRE_BYE, .bye = {1}},
        {.kind = TRI_WIRE_TREE_REQ, .tree_req = {0}},
    };
    for (size_t i = 0; i < sizeof ctls / sizeof ctls[0]; i++) {
        buf.len = 0;
        assert_int_equal(tri_wire_encode_ctl(&buf, &ctls[i]), TR_OK);
        check_prefixes(dec, buf.data, buf.len);
    }
    tri_wire_node nodes[2] = {node, {7, S("m"), NULL, 0, {NULL, 0}}};
    buf.len = 0;
    assert_int_equal(tri_wire_encode_gossip(&buf, nodes, 2), TR_OK);
    check_prefixes(dec, buf.data, buf.len);
    tri_wire_stats st;
    tri_wire_dec_stats(dec, &st);
    assert_int_equal(st.rejected[0], st.rejected[-TRI_WIRE_ETRUNCATED - 100] +
                                         st.rejected[-TRI_WIRE_ELENGTH - 100]);
    assert_true(st.rejected[0] > 1000);
    tri_wire_buf_fini(&buf);
    tri_wire_enc_destroy(&enc);
    tri_wire_dec_destroy(&dec);
}

/* ===================================================== property tests */

/* Bytes for random values live in one arena per case. */
typedef struct arena {
    uint8_t *p;
    size_t n, cap;
} arena;

static void *ar_take(arena *a, size_t n)
{
    assert_true(a->n + n <= a->cap);
    void *p = a->p + a->n;
    a->n += n;
    return p;
}

static uint64_t rnd_edge64(void)
{
    static const uint64_t edges[] = {
        0,         1,         127,   128,        255,
        256,       16383,     16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
        INT64_MAX, UINT64_MAX};
    return rnd_below(3) ? rnd() >> rnd_below(64) : edges[rnd_below(sizeof edges / 8)];
}

static tr_pid rnd_pid(void)
{
    if (rnd_below(6) == 0) return TR_PID_NIL;
    uint64_t serial = rnd_edge64();
    return (tr_pid){(uint32_t)rnd_edge64(), (uint32_t)rnd_edge64(), serial ? serial : 1};
}

static tri_wire_str rnd_text(arena *a, size_t max, bool nonempty)
{
    size_t len;
    switch (rnd_below(8)) {
    case 0: len = 0; break;
    case 1: len = max; break;
    case 2: len = max > 300 ? rnd_below(2000) : rnd_below(max + 1); break;
    default: len = rnd_below(max < 40 ? max + 1 : 41); break;
    }
    if (nonempty && len == 0) len = 1;
    char *s = ar_take(a, len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(1 + rnd_below(255));
    return (tri_wire_str){len ? s : NULL, len};
}

static tri_wire_bytes rnd_bytes(arena *a)
{
    size_t len;
    switch (rnd_below(10)) {
    case 0: len = 0; break;
    case 1: len = 72 + rnd_below(2); break;
    case 2: len = rnd_below(70000); break;
    default: len = rnd_below(300); break;
    }
    uint8_t *p = ar_take(a, len + 1);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd();
    return (tri_wire_bytes){len ? p : NULL, len};
}

static tr_atom pool[64];

static void init_pool(void)
{
    char name[256];
    for (int i = 0; i < 64; i++) {
        size_t len =
            i < 48 ? (size_t)snprintf(name, sizeof name, "prop.%d", i) : 1 + rnd_below(255);
        if (i >= 48)
            for (size_t k = 0; k < len; k++)
                name[k] = (char)(0x21 + rnd_below(94));
        name[len] = '\0';
        pool[i] = tr_atom_from(name);
        assert_true(pool[i].id != 0);
    }
}

static void rnd_send(arena *a, tri_wire_send *s)
{
    s->to = rnd_pid();
    s->from = rnd_pid();
    s->type = pool[rnd_below(64)];
    s->call = (uint8_t)rnd_below(4);
    s->ref = s->call ? rnd_edge64() : 0;
    s->timeout_ms = 0;
    if (s->call == TRI_WIRE_CALL_REQUEST) {
        uint64_t t = rnd_edge64();
        s->timeout_ms = rnd_below(4) == 0 ? TR_INFINITY : (int64_t)(t >> 1);
    }
    s->flags = (uint8_t)rnd();
    s->payload = rnd_bytes(a);
}

static void rnd_record(arena *a, tri_wire_record *r)
{
    memset(r, 0, sizeof *r);
    r->type = (uint8_t)(TRI_WIRE_R_MSG + rnd_below(11));
    switch (r->type) {
    case TRI_WIRE_R_MSG: rnd_send(a, &r->send); break;
    case TRI_WIRE_R_SEND_NAMED:
        rnd_send(a, &r->send);
        r->send.to = TR_PID_NIL;
        r->send.name = rnd_text(a, 255, true);
        break;
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR: r->monitor = (tri_wire_monitor){rnd_pid(), rnd_pid(), rnd()}; break;
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK: r->link = (tri_wire_link){rnd_pid(), rnd_pid()}; break;
    case TRI_WIRE_R_EXIT:
        r->exit = (tri_wire_exit){rnd_pid(), rnd_pid(), (uint8_t)rnd_below(7), (uint8_t)rnd(),
                                  rnd_text(a, 65535, false)};
        break;
    case TRI_WIRE_R_SPAWN_REQ:
        r->spawn_req = (tri_wire_spawn_req){rnd_edge64(),
                                            rnd_pid(),
                                            rnd_text(a, 255, true),
                                            rnd_text(a, 255, false),
                                            (int64_t)rnd_edge64(),
                                            (uint32_t)rnd_edge64(),
                                            rnd_bytes(a),
                                            rnd_text(a, 255, false),
                                            (uint32_t)rnd_edge64(),
                                            (uint8_t)rnd_below(TRI_WIRE_ON_FULL_MAX + 1)};
        break;
    case TRI_WIRE_R_SPAWN_REPLY: {
        int32_t st = rnd_below(2) ? 0 : (rnd_below(2) ? INT32_MIN : -(int32_t)(1 + rnd_below(20)));
        tr_pid child = st ? TR_PID_NIL : rnd_pid();
        if (!st && tr_pid_is_nil(child)) child = (tr_pid){1, 1, 1};
        if (!st && rnd_below(4) == 0) st = 1, child = TR_PID_NIL; /* ignored */
        r->spawn_reply =
            (tri_wire_spawn_reply){rnd(), child, st, rnd_text(a, 65535, false), rnd_pid()};
        break;
    }
    case TRI_WIRE_R_STOP_CHILD:
        r->stop_child = (tri_wire_stop_child){rnd_pid(), rnd_pid(), (uint8_t)rnd_below(2)};
        break;
    case TRI_WIRE_R_CHILD_EXIT:
        r->child_exit = (tri_wire_child_exit){rnd_pid(), rnd_pid(), (uint8_t)rnd_below(7),
                                              rnd_text(a, 65535, false)};
        break;
    }
}

/* decode(encode(x)) == x over one long session: random records, frames of
 * random size, atoms from a pool (so the cache is hit and missed). */
static void test_property_roundtrip(void **state)
{
    (void)state;
    rng = 0x2545f4914f6cdd1dull;
    init_pool();
    sess s;
    sess_init(&s);
    arena a = {malloc(8u << 20), 0, 8u << 20};
    assert_non_null(a.p);
    tri_wire_record recs[40];
    for (int frame = 0; frame < 400; frame++) {
        a.n = 0;
        size_t n = 1 + rnd_below(40);
        for (size_t i = 0; i < n; i++)
            rnd_record(&a, &recs[i]);
        roundtrip_batch(&s, recs, n);
    }
    tri_wire_stats st;
    tri_wire_dec_stats(s.dec, &st);
    assert_int_equal(st.frames, 400);
    assert_int_equal(st.rejected[0], 0);
    assert_true(st.new_atoms <= 64);
    free(a.p);
    sess_fini(&s);
}

/* Re-encodes what a decoder accepted with a fresh encoder into `out`. */
static void reencode_batch(const coll *got, tri_wire_buf *out, size_t *off, size_t *len)
{
    tri_wire_enc *enc = tri_wire_enc_new(NULL);
    out->len = 0;
    assert_int_equal(tri_wire_batch_begin(enc, out), TR_OK);
    for (size_t i = 0; i < got->nrec; i++)
        assert_int_equal(tri_wire_batch_add(enc, &got->rec[i]), TR_OK);
    assert_int_equal(tri_wire_batch_finish(enc, off, len), TR_OK);
    tri_wire_enc_destroy(&enc);
}

static void reencode_ctl(const coll *got, tri_wire_buf *out)
{
    out->len = 0;
    if (got->ctl[0].kind == TRI_WIRE_GOSSIP) {
        tri_wire_node nodes[64];
        size_t count = got->ctl[0].gossip.count;
        for (size_t i = 0; i < count; i++)
            nodes[i] = got->ctl[i].gossip.node;
        assert_int_equal(tri_wire_encode_gossip(out, nodes, count), TR_OK);
    } else {
        assert_int_equal(tri_wire_encode_ctl(out, &got->ctl[0]), TR_OK);
    }
}

static void mutate(uint8_t *p, size_t *n, size_t cap)
{
    int edits = 1 + (int)rnd_below(3);
    for (int e = 0; e<edits && * n> 0; e++) {
        size_t at = rnd_below(*n);
        switch (rnd_below(6)) {
        case 0: p[at] ^= (uint8_t)(1u << rnd_below(8)); break;
        case 1: p[at] = (uint8_t)rnd(); break;
        case 2: *n = at; break;
        case 3:
            if (*n < cap) {
                memmove(p + at + 1, p + at, *n - at);
                p[at] = (uint8_t)rnd();
                (*n)++;
            }
            break;
        case 4:
            memmove(p + at, p + at + 1, *n - at - 1);
            (*n)--;
            break;
        default: p[at] = (uint8_t)(rnd_below(2) ? 0 : 0x80 | rnd()); break;
        }
    }
}

/* For mutated valid frames that are still accepted: re-encoding what came
 * out and decoding that gives the same values, and re-encoding those gives
 * the same bytes (control frames: the very bytes accepted). */
static void test_property_stable(void **state)
{
    (void)state;
    rng = 0x853c49e6748fea9bull;
    init_pool();
    arena a = {malloc(8u << 20), 0, 8u << 20};
    assert_non_null(a.p);
    size_t cap = 1u << 20;
    uint8_t *y = malloc(cap);
    assert_non_null(y);
    tri_wire_buf frame = {0}, y1 = {0}, y2 = {0};
    size_t accepted_batches = 0, accepted_ctl = 0;
    tri_wire_str eps[3] = {S("tcp://a:1"), S("tcp://b:2"), S("ipc:///c")};
    uint8_t key[32] = {9};
    for (int iter = 0; iter < 3000; iter++) {
        a.n = 0;
        frame.len = 0;
        bool batch = rnd_below(3) != 0;
        if (batch) {
            tri_wire_enc *enc = tri_wire_enc_new(NULL);
            tri_wire_record r;
            size_t off, len;
            assert_int_equal(tri_wire_batch_begin(enc, &frame), TR_OK);
            for (size_t i = 1 + rnd_below(4); i > 0; i--) {
                rnd_record(&a, &r);
                if (r.type == TRI_WIRE_R_MSG || r.type == TRI_WIRE_R_SEND_NAMED)
                    r.send.payload.len %= 64;
                assert_int_equal(tri_wire_batch_add(enc, &r), TR_OK);
            }
            assert_int_equal(tri_wire_batch_finish(enc, &off, &len), TR_OK);
            memmove(frame.data, frame.data + off, len);
            frame.len = len;
            tri_wire_enc_destroy(&enc);
        } else {
            tri_wire_node node = {
                (uint32_t)rnd(), S("node@host"), eps, rnd_below(4), {rnd_below(2) ? key : NULL, 0}};
            node.key.len = node.key.ptr ? 32 : 0;
            tri_wire_ctl c = {.kind = (uint8_t)(1 + rnd_below(8))};
            switch (c.kind) {
            case TRI_WIRE_HELLO:
            case TRI_WIRE_WELCOME:
                c.hello = (tri_wire_hello){1,
                                           (uint8_t)(1 + rnd_below(3)),
                                           1,
                                           rnd(),
                                           node,
                                           (uint32_t)rnd(),
                                           {key, rnd_below(10)}};
                break;
            case TRI_WIRE_REFUSE: c.refuse.reason = 1 + (uint8_t)rnd_below(6); break;
            case TRI_WIRE_TREE_REP: c.tree_rep = (tri_wire_bytes){key, rnd_below(32)}; break;
            case TRI_WIRE_BATCH: c.kind = TRI_WIRE_GOSSIP; break;
            default: break;
            }
            if (c.kind == TRI_WIRE_GOSSIP) {
                tri_wire_node nodes[3] = {node, node, node};
                nodes[1].node_id++;
                assert_int_equal(tri_wire_encode_gossip(&frame, nodes, rnd_below(4)), TR_OK);
            } else {
                assert_int_equal(tri_wire_encode_ctl(&frame, &c), TR_OK);
            }
        }
        size_t n = frame.len;
        memcpy(y, frame.data, n);
        mutate(y, &n, cap);

        tri_wire_dec *dec = tri_wire_dec_new(NULL);
        coll got = {0};
        int rc = tri_wire_decode(dec, y, n, NULL, &sink, &got);
        tri_wire_dec_destroy(&dec);
        if (rc != TRI_WIRE_OK || got.calls == 0) {
            assert_int_equal(got.calls, 0);
            coll_fini(&got);
            continue;
        }
        if (y[3] == TRI_WIRE_BATCH) {
            size_t off1, len1, off2, len2;
            if (got.nrec == 0) { /* only definitions survived */
                coll_fini(&got);
                continue;
            }
            accepted_batches++;
            reencode_batch(&got, &y1, &off1, &len1);
            coll again = {0};
            dec = tri_wire_dec_new(NULL);
            assert_int_equal(tri_wire_decode(dec, y1.data + off1, len1, NULL, &sink, &again),
                             TRI_WIRE_OK);
            tri_wire_dec_destroy(&dec);
            assert_int_equal(again.nrec, got.nrec);
            for (size_t i = 0; i < got.nrec; i++)
                assert_true(rec_eq(&got.rec[i], &again.rec[i]));
            reencode_batch(&again, &y2, &off2, &len2);
            assert_int_equal(len2, len1);
            assert_memory_equal(y2.data + off2, y1.data + off1, len1);
            coll_fini(&again);
        } else {
            accepted_ctl++;
            reencode_ctl(&got, &y1);
            assert_int_equal(y1.len, n);
            assert_memory_equal(y1.data, y, n);
        }
        coll_fini(&got);
    }
    /* enough mutants survive for the property to mean something */
    assert_true(accepted_batches > 200);
    assert_true(accepted_ctl > 100);
    tri_wire_buf_fini(&frame);
    tri_wire_buf_fini(&y1);
    tri_wire_buf_fini(&y2);
    free(y);
    free(a.p);
}

/* ================================================================ names */

static void test_names(void **state)
{
    (void)state;
    const char *seen[TRI_WIRE_NERRORS];
    for (int i = 0; i < TRI_WIRE_NERRORS; i++) {
        int err = i == 0 ? TRI_WIRE_OK : -100 - i;
        seen[i] = tri_wire_strerror(err);
        assert_non_null(seen[i]);
        assert_string_not_equal(seen[i], "unknown error");
        for (int k = 0; k < i; k++)
            assert_string_not_equal(seen[i], seen[k]);
    }
    assert_string_equal(tri_wire_strerror(TR_EINVAL), tr_strerror(TR_EINVAL));
    assert_string_equal(tri_wire_strerror(-100), tr_strerror(-100));
    assert_string_equal(tri_wire_strerror(-119), tr_strerror(-119));
    assert_string_equal(tri_wire_kind_name(TRI_WIRE_HELLO), "hello");
    assert_string_equal(tri_wire_kind_name(TRI_WIRE_TREE_REP), "tree_rep");
    assert_string_equal(tri_wire_kind_name(0), "unknown");
    assert_string_equal(tri_wire_kind_name(9), "unknown");
    assert_string_equal(tri_wire_rtype_name(TRI_WIRE_R_DEFINE_ATOM), "define_atom");
    assert_string_equal(tri_wire_rtype_name(TRI_WIRE_R_CHILD_EXIT), "child_exit");
    assert_string_equal(tri_wire_rtype_name(13), "unknown");
    tri_wire_limits d = tri_wire_limits_default();
    assert_int_equal(d.max_frame, TR_MSG_MAX + 65536);
    assert_int_equal(d.max_records, 65536);
    assert_int_equal(d.max_payload, TR_MSG_MAX);
    assert_int_equal(d.max_atom_len, 255);
    assert_int_equal(d.max_new_atoms, 10000);
    tri_wire_enc_destroy(NULL);
    tri_wire_dec_destroy(NULL);
    tri_wire_buf_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_roundtrip),
        cmocka_unit_test(test_max_payload),
        cmocka_unit_test(test_control_roundtrip),
        cmocka_unit_test(test_gossip_roundtrip),
        cmocka_unit_test(test_atom_cache_across_frames),
        cmocka_unit_test(test_atom_collisions),
        cmocka_unit_test(test_batch_count_widths),
        cmocka_unit_test(test_encoder_states_and_errors),
        cmocka_unit_test(test_reject_header),
        cmocka_unit_test(test_reject_varints),
        cmocka_unit_test(test_reject_lengths),
        cmocka_unit_test(test_reject_records),
        cmocka_unit_test(test_reject_atoms),
        cmocka_unit_test(test_atom_budget),
        cmocka_unit_test(test_reject_payload),
        cmocka_unit_test(test_reject_fields),
        cmocka_unit_test(test_reject_text),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_property_roundtrip),
        cmocka_unit_test(test_property_stable),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
