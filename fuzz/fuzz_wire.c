/* fuzz_wire.c — libFuzzer target for the wire decoder (transport/wire.h).
 *
 * Each input (see fuzz_wire.h) is split into frames fed to one decoder, so
 * the atom cache carries over between them. For every frame:
 *   - the sink checks what it is given: pointers and lengths inside the
 *     frame, pids in their one canonical form, every enumerated field in
 *     range, texts without NUL, atoms that name valid wire atoms;
 *   - a refused frame must have reached the sink not at all;
 *   - an accepted BATCH is re-encoded by a second session and decoded
 *     again: the same records must come out (decode(encode(x)) == x, and
 *     the encoder takes everything the decoder accepts); an accepted
 *     control frame must re-encode to exactly its own bytes;
 *   - the counters add up.
 * Any violation aborts (a crash for libFuzzer). Atoms go to a small table
 * private to the input, not to the process atom table, which never
 * forgets and would grow for as long as the fuzzer runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transport/wire.h"
#include "fuzz_wire.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "fuzz_wire: check failed: %s (line %d)\n", #x, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------ input's atoms */

typedef struct atoms {
    char **names; /* by index k; id = first + k * step */
    uint32_t n, cap;
    uint32_t first, step;
} atoms;

static tr_atom a_intern(void *user, const char *name)
{
    atoms *t = user;
    for (uint32_t k = 0; k < t->n; k++)
        if (strcmp(t->names[k], name) == 0) return (tr_atom){t->first + k * t->step};
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        char **nn = realloc(t->names, cap * sizeof *nn);
        CHECK(nn);
        t->names = nn;
        t->cap = cap;
    }
    if ((uint64_t)t->first + (uint64_t)t->n * t->step > UINT32_MAX) return (tr_atom){0};
    t->names[t->n] = strdup(name);
    CHECK(t->names[t->n]);
    return (tr_atom){t->first + t->n++ * t->step};
}

static const char *a_name(void *user, tr_atom a)
{
    atoms *t = user;
    if (a.id < t->first || (a.id - t->first) % t->step) return "";
    uint32_t k = (a.id - t->first) / t->step;
    return k < t->n ? t->names[k] : "";
}

/* --------------------------------------------------------------- sink */

typedef struct seen {
    const uint8_t *lo, *hi; /* the frame */
    const tri_wire_limits *lim;
    atoms *atoms;
    size_t calls;
    tri_wire_record *rec;
    size_t nrec, rcap;
    tri_wire_ctl ctl[256];
    tri_wire_str eps[256][255];
    size_t nctl;
} seen;

static void in_frame(const seen *s, const void *p, size_t len)
{
    if (len == 0) return;
    const uint8_t *b = p;
    CHECK(b >= s->lo && b <= s->hi && len <= (size_t)(s->hi - b));
}

static void text(const seen *s, tri_wire_str t, size_t max, bool nonempty)
{
    CHECK(t.len <= max);
    CHECK(!nonempty || t.len > 0);
    in_frame(s, t.ptr, t.len);
    CHECK(t.len == 0 || !memchr(t.ptr, 0, t.len));
}

static void pid(tr_pid p) { CHECK(p.serial != 0 || (p.node == 0 && p.slot == 0)); }

static void atom(const seen *s, tr_atom a)
{
    const char *n = a_name(s->atoms, a);
    size_t len = strlen(n);
    CHECK(a.id != 0 && len >= 1 && len <= s->lim->max_atom_len);
    for (size_t i = 0; i < len; i++)
        CHECK(n[i] >= 0x21 && n[i] <= 0x7e);
}

static void on_record(void *user, const tri_wire_record *r)
{
    seen *s = user;
    s->calls++;
    switch (r->type) {
    case TRI_WIRE_R_MSG:
    case TRI_WIRE_R_SEND_NAMED: {
        const tri_wire_send *m = &r->send;
        if (r->type == TRI_WIRE_R_MSG)
            pid(m->to);
        else
            text(s, m->name, 255, true);
        pid(m->from);
        atom(s, m->type);
        CHECK(m->call <= TRI_WIRE_CALL_DOWN);
        CHECK(m->call != TRI_WIRE_CALL_NONE || m->ref == 0);
        CHECK(m->call == TRI_WIRE_CALL_REQUEST ? m->timeout_ms >= TR_INFINITY : m->timeout_ms == 0);
        CHECK(m->payload.len <= s->lim->max_payload);
        in_frame(s, m->payload.ptr, m->payload.len);
        break;
    }
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR:
        pid(r->monitor.target);
        pid(r->monitor.watcher);
        break;
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK:
        pid(r->link.target);
        pid(r->link.from);
        break;
    case TRI_WIRE_R_EXIT:
        pid(r->exit.target);
        pid(r->exit.from);
        CHECK(r->exit.kind <= TRI_WIRE_EXIT_KIND_MAX);
        text(s, r->exit.text, 65535, false);
        break;
    case TRI_WIRE_R_SPAWN_REQ:
        pid(r->spawn_req.parent);
        text(s, r->spawn_req.behaviour, 255, true);
        text(s, r->spawn_req.name, 255, false);
        CHECK(r->spawn_req.args.len <= s->lim->max_payload);
        in_frame(s, r->spawn_req.args.ptr, r->spawn_req.args.len);
        break;
    case TRI_WIRE_R_SPAWN_REPLY:
        pid(r->spawn_reply.child);
        CHECK(r->spawn_reply.status <= 0);
        CHECK(tr_pid_is_nil(r->spawn_reply.child) == (r->spawn_reply.status != 0));
        text(s, r->spawn_reply.text, 65535, false);
        break;
    case TRI_WIRE_R_STOP_CHILD:
        pid(r->stop_child.child);
        pid(r->stop_child.parent);
        CHECK(r->stop_child.kill <= 1);
        break;
    case TRI_WIRE_R_CHILD_EXIT:
        pid(r->child_exit.child);
        pid(r->child_exit.parent);
        CHECK(r->child_exit.kind <= TRI_WIRE_EXIT_KIND_MAX);
        text(s, r->child_exit.text, 65535, false);
        break;
    default: CHECK(!"a record type a sink may not see");
    }
    if (s->nrec == s->rcap) {
        s->rcap = s->rcap ? s->rcap * 2 : 64;
        s->rec = realloc(s->rec, s->rcap * sizeof *s->rec);
        CHECK(s->rec);
    }
    s->rec[s->nrec++] = *r;
}

static void node(const seen *s, const tri_wire_node *n)
{
    text(s, n->name, 255, true);
    CHECK(n->nendpoints <= 255);
    for (size_t i = 0; i < n->nendpoints; i++)
        text(s, n->endpoints[i], 65535, true);
    CHECK(n->key.len == 0 || n->key.len == TRI_WIRE_KEY_LEN);
    in_frame(s, n->key.ptr, n->key.len);
}

static void on_control(void *user, const tri_wire_ctl *c)
{
    seen *s = user;
    s->calls++;
    tri_wire_node *keep = NULL;
    switch (c->kind) {
    case TRI_WIRE_HELLO:
    case TRI_WIRE_WELCOME:
        if (c->kind == TRI_WIRE_HELLO)
            CHECK(c->hello.min_version >= 1 && c->hello.min_version <= c->hello.max_version);
        else
            CHECK(c->hello.version >= 1);
        node(s, &c->hello.node);
        in_frame(s, c->hello.extension.ptr, c->hello.extension.len);
        break;
    case TRI_WIRE_REFUSE:
        CHECK(c->refuse.reason >= 1 && c->refuse.reason <= 6);
        text(s, c->refuse.text, 255, false);
        break;
    case TRI_WIRE_GOSSIP:
        CHECK(c->gossip.count == 0 ? c->gossip.index == 0 : c->gossip.index < c->gossip.count);
        CHECK(c->gossip.index == s->calls - 1);
        if (c->gossip.count) node(s, &c->gossip.node);
        break;
    case TRI_WIRE_TREE_REP: in_frame(s, c->tree_rep.ptr, c->tree_rep.len); break;
    case TRI_WIRE_BYE:
    case TRI_WIRE_TREE_REQ: break;
    default: CHECK(!"a frame kind a sink may not see");
    }
    if (s->nctl == 256) return; /* more gossip than kept: re-encoding skipped */
    s->ctl[s->nctl] = *c;
    if (c->kind == TRI_WIRE_GOSSIP) keep = &s->ctl[s->nctl].gossip.node;
    if (c->kind == TRI_WIRE_HELLO || c->kind == TRI_WIRE_WELCOME)
        keep = &s->ctl[s->nctl].hello.node;
    if (keep && keep->nendpoints) { /* they point into the decoder's scratch */
        memcpy(s->eps[s->nctl], keep->endpoints, keep->nendpoints * sizeof(tri_wire_str));
        keep->endpoints = s->eps[s->nctl];
    }
    s->nctl++;
}

static const tri_wire_sink sink = {on_record, on_control};

/* -------------------------------------------------------- comparisons */

static bool str_eq(tri_wire_str a, tri_wire_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool bytes_eq(tri_wire_bytes a, tri_wire_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool rec_eq(const tri_wire_record *a, const tri_wire_record *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case TRI_WIRE_R_MSG:
    case TRI_WIRE_R_SEND_NAMED: {
        const tri_wire_send *x = &a->send, *y = &b->send;
        return tr_pid_eq(x->to, y->to) && str_eq(x->name, y->name) && tr_pid_eq(x->from, y->from) &&
               x->type.id == y->type.id && x->call == y->call && x->ref == y->ref &&
               x->timeout_ms == y->timeout_ms && x->flags == y->flags &&
               bytes_eq(x->payload, y->payload);
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
               bytes_eq(x->args, y->args);
    }
    case TRI_WIRE_R_SPAWN_REPLY:
        return a->spawn_reply.ref == b->spawn_reply.ref &&
               tr_pid_eq(a->spawn_reply.child, b->spawn_reply.child) &&
               a->spawn_reply.status == b->spawn_reply.status &&
               str_eq(a->spawn_reply.text, b->spawn_reply.text);
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

/* --------------------------------------------------------------- driver */

typedef struct run {
    tri_wire_limits lim;
    atoms atoms;
    tri_wire_dec *dec;  /* the session under test */
    tri_wire_enc *enc2; /* a second session re-encoding what it accepted */
    tri_wire_dec *dec2;
    tri_wire_buf buf;
    seen s, s2;
    uint64_t decodes;
} run;

static void seen_reset(seen *s, const uint8_t *p, size_t n, const tri_wire_limits *lim, atoms *a)
{
    s->lo = p;
    s->hi = p + n;
    s->lim = lim;
    s->atoms = a;
    s->calls = s->nrec = s->nctl = 0;
}

/* An accepted BATCH again through enc2/dec2: the same records. */
static void recheck_batch(run *r)
{
    /* Definitions only: nothing to re-encode. Over half the record limit:
     * re-encoding may need more definitions than the original (its slots
     * are the atom ids', not the original's), so it might not fit. */
    if (r->s.nrec == 0 || r->s.nrec > TRI_WIRE_MAX_RECORDS / 2) return;
    tri_wire_limits dflt = tri_wire_limits_default();
    size_t off, len;
    r->buf.len = 0;
    CHECK(tri_wire_batch_begin(r->enc2, &r->buf) == TR_OK);
    for (size_t i = 0; i < r->s.nrec; i++)
        CHECK(tri_wire_batch_add(r->enc2, &r->s.rec[i]) == TR_OK);
    size_t size = tri_wire_batch_size(r->enc2);
    CHECK(tri_wire_batch_finish(r->enc2, &off, &len) == TR_OK);
    CHECK(len == size && off + len == r->buf.len);
    seen_reset(&r->s2, r->buf.data + off, len, &dflt, &r->atoms);
    CHECK(tri_wire_decode(r->dec2, r->buf.data + off, len, &dflt, &sink, &r->s2) == TRI_WIRE_OK);
    CHECK(r->s2.nrec == r->s.nrec);
    for (size_t i = 0; i < r->s.nrec; i++)
        CHECK(rec_eq(&r->s.rec[i], &r->s2.rec[i]));
}

/* An accepted control frame re-encodes to its own bytes. */
static void recheck_ctl(run *r, const uint8_t *p, size_t n)
{
    if (r->s.nctl == 0 || r->s.nctl != r->s.calls) return;
    r->buf.len = 0;
    const tri_wire_ctl *c = &r->s.ctl[0];
    if (c->kind == TRI_WIRE_GOSSIP) {
        static tri_wire_node nodes[256];
        size_t count = c->gossip.count;
        CHECK(count == 0 ? r->s.nctl == 1 : count == r->s.nctl);
        for (size_t i = 0; i < count; i++)
            nodes[i] = r->s.ctl[i].gossip.node;
        CHECK(tri_wire_encode_gossip(&r->buf, nodes, count) == TR_OK);
    } else {
        CHECK(r->s.nctl == 1);
        CHECK(tri_wire_encode_ctl(&r->buf, c) == TR_OK);
    }
    CHECK(r->buf.len == n && memcmp(r->buf.data, p, n) == 0);
}

static void frame(run *r, const uint8_t *p, size_t n)
{
    /* an exact-size copy: a read past the end is an ASan report */
    uint8_t *copy = malloc(n ? n : 1);
    CHECK(copy);
    if (n) memcpy(copy, p, n);
    seen_reset(&r->s, copy, n, &r->lim, &r->atoms);
    int rc = tri_wire_decode(r->dec, copy, n, &r->lim, &sink, &r->s);
    r->decodes++;
    if (rc != TRI_WIRE_OK) {
        CHECK(rc <= -101 && rc >= -118);
        CHECK(r->s.calls == 0);
    } else if (copy[3] == TRI_WIRE_BATCH) {
        CHECK(r->s.nctl == 0);
        recheck_batch(r);
    } else {
        CHECK(r->s.nrec == 0);
        recheck_ctl(r, copy, n);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static run r; /* large (the seen arrays); reset below */
    uint8_t cfg = data[0];
    memset(&r.atoms, 0, sizeof r.atoms);
    r.atoms.first = 1;
    r.atoms.step = (cfg & FUZZ_WIRE_COLLIDE) ? TRI_WIRE_ATOM_SLOTS : 1;
    r.lim = tri_wire_limits_default();
    if (cfg & FUZZ_WIRE_SMALL)
        r.lim = (tri_wire_limits){.max_frame = 2048,
                                  .max_records = 16,
                                  .max_payload = 64,
                                  .max_atom_len = 12,
                                  .max_new_atoms = 6};
    tri_wire_atoms table = {a_intern, a_name, &r.atoms};
    r.dec = tri_wire_dec_new(&table);
    r.enc2 = tri_wire_enc_new(&table);
    r.dec2 = tri_wire_dec_new(&table);
    CHECK(r.dec && r.enc2 && r.dec2);
    r.decodes = 0;

    const uint8_t *p = data + 1, *end = data + size;
    while (p <= end) {
        const uint8_t *q = p;
        while (q + FUZZ_WIRE_SEP_LEN <= end && memcmp(q, FUZZ_WIRE_SEP, FUZZ_WIRE_SEP_LEN) != 0)
            q++;
        if (q + FUZZ_WIRE_SEP_LEN > end) q = end;
        frame(&r, p, (size_t)(q - p));
        p = q + FUZZ_WIRE_SEP_LEN;
    }

    tri_wire_stats st;
    tri_wire_dec_stats(r.dec, &st);
    uint64_t sum = 0;
    for (int i = 1; i < TRI_WIRE_NERRORS; i++)
        sum += st.rejected[i];
    CHECK(sum == st.rejected[0]);
    CHECK(st.frames + st.rejected[0] == r.decodes);
    CHECK(st.new_atoms <= r.lim.max_new_atoms);
    CHECK(st.new_atoms <= r.atoms.n);

    tri_wire_dec_destroy(&r.dec);
    tri_wire_enc_destroy(&r.enc2);
    tri_wire_dec_destroy(&r.dec2);
    tri_wire_buf_fini(&r.buf);
    for (uint32_t k = 0; k < r.atoms.n; k++)
        free(r.atoms.names[k]);
    free(r.atoms.names);
    free(r.s.rec);
    free(r.s2.rec);
    r.s.rec = r.s2.rec = NULL;
    r.s.rcap = r.s2.rcap = 0;
    return 0;
}
