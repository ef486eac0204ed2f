/* gen_wire_corpus.c — writes the seed corpus of fuzz_wire into a folder,
 * with the encoder (so every seed is a valid input): one file per record
 * kind, one per control frame kind, a session of batches whose later
 * frames use the earlier frames' atom definitions, colliding atoms, and
 * maximal frames. The committed fuzz/corpus/wire/ is this program's
 * output: `ninja -C build-fuzz wire-corpus` rewrites it.
 *
 *   gen_wire_corpus DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transport/wire.h"
#include "fuzz_wire.h"

static const char *dir;

static void die(const char *what)
{
    fprintf(stderr, "gen_wire_corpus: %s\n", what);
    exit(1);
}

static void ok(int rc)
{
    if (rc != TR_OK) die(tri_wire_strerror(rc));
}

/* An input being built: config byte, frames, separators. */
typedef struct input {
    tri_wire_buf b;
    int frames;
} input;

/* Appends bytes to a buffer the codec also appends to (it is the
 * caller's: plain realloc'd memory). */
static void put(tri_wire_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) die("out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void in_begin(input *in, uint8_t cfg)
{
    in->b.len = 0;
    in->frames = 0;
    put(&in->b, &cfg, 1);
}

static void in_sep(input *in)
{
    if (in->frames++ > 0) put(&in->b, FUZZ_WIRE_SEP, FUZZ_WIRE_SEP_LEN);
}

static void in_write(input *in, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(in->b.data, 1, in->b.len, f) != in->b.len || fclose(f) != 0) die(path);
}

/* Appends one control frame. */
static void in_ctl(input *in, const tri_wire_ctl *c)
{
    in_sep(in);
    ok(tri_wire_encode_ctl(&in->b, c));
}

/* Appends one batch of `n` records from `enc` (its cache carries on). */
static void in_batch(input *in, tri_wire_enc *enc, const tri_wire_record *r, size_t n)
{
    in_sep(in);
    tri_wire_buf tmp = {0};
    size_t off, len;
    ok(tri_wire_batch_begin(enc, &tmp));
    for (size_t i = 0; i < n; i++)
        ok(tri_wire_batch_add(enc, &r[i]));
    ok(tri_wire_batch_finish(enc, &off, &len));
    put(&in->b, tmp.data + off, len);
    tri_wire_buf_fini(&tmp);
}

static tri_wire_str S(const char *s) { return (tri_wire_str){s, strlen(s)}; }

static tr_pid P(uint32_t node, uint32_t slot, uint64_t serial)
{
    return (tr_pid){node, slot, serial};
}

int main(int argc, char **argv)
{
    if (argc != 2) die("usage: gen_wire_corpus DIR");
    dir = argv[1];
    input in = {{0}, 0};
    static const uint8_t payload[] = "payload bytes";
    tr_atom ping = tr_atom_from("ping"), pong = tr_atom_from("pong");

    /* one file per record kind (sends carry their atom's definition) */
    const tri_wire_record recs[] = {
        {.type = TRI_WIRE_R_MSG,
         .send = {.to = P(7, 1, 2),
                  .from = P(9, 3, 4),
                  .type = ping,
                  .call = TRI_WIRE_CALL_REQUEST,
                  .ref = 42,
                  .timeout_ms = 5000,
                  .flags = 0,
                  .payload = {payload, sizeof payload - 1}}},
        {.type = TRI_WIRE_R_SEND_NAMED,
         .send = {.name = S("kv.store"),
                  .from = P(9, 3, 4),
                  .type = pong,
                  .call = TRI_WIRE_CALL_NONE,
                  .flags = TRI_WIRE_MSG_EXEMPT,
                  .payload = {payload, 4}}},
        {.type = TRI_WIRE_R_MONITOR, .monitor = {P(7, 1, 2), P(9, 3, 4), 11}},
        {.type = TRI_WIRE_R_DEMONITOR, .monitor = {P(7, 1, 2), P(9, 3, 4), 11}},
        {.type = TRI_WIRE_R_LINK, .link = {P(7, 1, 2), P(9, 3, 4)}},
        {.type = TRI_WIRE_R_UNLINK, .link = {P(7, 1, 2), P(9, 3, 4)}},
        {.type = TRI_WIRE_R_EXIT,
         .exit = {P(7, 1, 2), P(9, 3, 4), 3, TRI_WIRE_EXIT_OVER_LINK, S("crashed")}},
        {.type = TRI_WIRE_R_SPAWN_REQ,
         .spawn_req = {12, P(9, 3, 4), S("worker"), S("w1"), 5000, 1, {payload, 5}, S("db"), 100, 1}},
        {.type = TRI_WIRE_R_SPAWN_REPLY, .spawn_reply = {12, P(7, 5, 6), 0, S("")}},
        {.type = TRI_WIRE_R_STOP_CHILD, .stop_child = {P(7, 5, 6), P(9, 3, 4), 0}},
        {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {P(7, 5, 6), P(9, 3, 4), 1, S("shutdown")}},
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        tri_wire_enc *enc = tri_wire_enc_new(NULL);
        if (!enc) die("out of memory");
        char name[64];
        snprintf(name, sizeof name, "rec_%s", tri_wire_rtype_name(recs[i].type));
        in_begin(&in, 0);
        in_batch(&in, enc, &recs[i], 1);
        in_write(&in, name);
        tri_wire_enc_destroy(&enc);
    }

    /* every record kind in one frame, then again (no definitions), small
     * limits and colliding atoms */
    for (int cfg = 0; cfg < 4; cfg++) {
        tri_wire_enc *enc = tri_wire_enc_new(NULL);
        in_begin(&in, (uint8_t)cfg);
        in_batch(&in, enc, recs, sizeof recs / sizeof recs[0]);
        in_batch(&in, enc, recs, 2);
        char name[64];
        snprintf(name, sizeof name, "batch_all_cfg%d", cfg);
        in_write(&in, name);
        tri_wire_enc_destroy(&enc);
    }

    /* a session: definitions in frame 1, used in frames 2 and 3; a frame
     * of many atoms; a forgotten cache defines again */
    {
        tri_wire_enc *enc = tri_wire_enc_new(NULL);
        tri_wire_record r[24];
        char names[24][16];
        for (int i = 0; i < 24; i++) {
            snprintf(names[i], sizeof names[i], "app.t%d", i);
            r[i] = recs[0];
            r[i].send.type = tr_atom_from(names[i]);
            r[i].send.call = (uint8_t)(i % 4);
            r[i].send.timeout_ms = i % 3 ? i : TR_INFINITY;
        }
        in_begin(&in, 0);
        in_batch(&in, enc, r, 8);
        in_batch(&in, enc, r, 8);
        in_batch(&in, enc, r + 4, 20);
        tri_wire_enc_forget(enc);
        in_batch(&in, enc, r + 20, 4);
        in_write(&in, "session_defs");
        tri_wire_enc_destroy(&enc);
    }

    /* control frames */
    uint8_t key[TRI_WIRE_KEY_LEN];
    for (int i = 0; i < TRI_WIRE_KEY_LEN; i++)
        key[i] = (uint8_t)(i * 37);
    tri_wire_str eps[2] = {S("tcp://10.0.0.1:7070"), S("ipc:///run/troupe/a")};
    tri_wire_node me = {0x1234abcd, S("alpha@host1"), eps, 2, {key, sizeof key}};
    tri_wire_ctl hello = {.kind = TRI_WIRE_HELLO,
                          .hello = {.min_version = 1,
                                    .max_version = 1,
                                    .flags = 0x3,
                                    .node = me,
                                    .max_frame = TR_MSG_MAX + 65536,
                                    .extension = {payload, 3}}};
    in_begin(&in, 0);
    in_ctl(&in, &hello);
    in_write(&in, "ctl_hello");
    tri_wire_ctl welcome = hello;
    welcome.kind = TRI_WIRE_WELCOME;
    welcome.hello.version = 1;
    welcome.hello.node.key = (tri_wire_bytes){NULL, 0};
    welcome.hello.extension = (tri_wire_bytes){NULL, 0};
    in_begin(&in, 0);
    in_ctl(&in, &welcome);
    in_write(&in, "ctl_welcome");
    in_begin(&in, 0);
    in_ctl(&in, &(tri_wire_ctl){.kind = TRI_WIRE_REFUSE,
                                .refuse = {TRI_WIRE_REFUSE_DUPLICATE, S("already connected")}});
    in_write(&in, "ctl_refuse");
    in_begin(&in, 0);
    in_ctl(&in, &(tri_wire_ctl){.kind = TRI_WIRE_BYE, .bye = {2}});
    in_write(&in, "ctl_bye");
    in_begin(&in, 0);
    in_ctl(&in, &(tri_wire_ctl){.kind = TRI_WIRE_TREE_REQ, .tree_req = {1}});
    in_write(&in, "ctl_tree_req");
    in_begin(&in, 0);
    in_ctl(&in,
           &(tri_wire_ctl){.kind = TRI_WIRE_TREE_REP, .tree_rep = {payload, sizeof payload - 1}});
    in_write(&in, "ctl_tree_rep");
    {
        tri_wire_node nodes[3] = {me,
                                  {7, S("beta@host2"), eps, 1, {NULL, 0}},
                                  {8, S("gamma@host3"), NULL, 0, {key, sizeof key}}};
        in_begin(&in, 0);
        in_sep(&in);
        ok(tri_wire_encode_gossip(&in.b, nodes, 3));
        in_sep(&in);
        ok(tri_wire_encode_gossip(&in.b, nodes, 0));
        in_write(&in, "ctl_gossip");
    }

    /* a handshake then traffic, as a session sees it */
    {
        tri_wire_enc *enc = tri_wire_enc_new(NULL);
        in_begin(&in, 0);
        in_ctl(&in, &hello);
        in_batch(&in, enc, recs, 3);
        in_batch(&in, enc, recs, 2);
        in_ctl(&in, &(tri_wire_ctl){.kind = TRI_WIRE_BYE, .bye = {0}});
        in_write(&in, "session_hello_batches_bye");
        tri_wire_enc_destroy(&enc);
    }

    /* maximal frames (kept small enough to fuzz): every string at its
     * str8 maximum, 255-byte atoms, many endpoints, long texts */
    {
        static char n255[256], a255[256], text[2000], ep[255][32];
        static tri_wire_str eps255[255];
        memset(n255, 'n', 255);
        for (int i = 0; i < 255; i++)
            a255[i] = (char)(0x21 + i % 94);
        memset(text, 't', sizeof text - 1);
        for (int i = 0; i < 255; i++) {
            snprintf(ep[i], sizeof ep[i], "tcp://10.1.%d.%d:9", i / 16, i % 16);
            eps255[i] = S(ep[i]);
        }
        tr_pid maxp = P(UINT32_MAX, UINT32_MAX, UINT64_MAX);
        tr_atom big = tr_atom_from(a255);
        tri_wire_record m[] = {
            {.type = TRI_WIRE_R_MSG,
             .send = {.to = maxp,
                      .from = maxp,
                      .type = big,
                      .call = TRI_WIRE_CALL_REQUEST,
                      .ref = UINT64_MAX,
                      .timeout_ms = INT64_MAX,
                      .flags = 0xff,
                      .payload = {(const uint8_t *)text, 1999}}},
            {.type = TRI_WIRE_R_SEND_NAMED,
             .send = {.name = {n255, 255},
                      .from = maxp,
                      .type = big,
                      .call = TRI_WIRE_CALL_DOWN,
                      .ref = UINT64_MAX,
                      .payload = {(const uint8_t *)text, 1000}}},
            {.type = TRI_WIRE_R_EXIT, .exit = {maxp, maxp, 6, 0xff, {text, 1999}}},
            {.type = TRI_WIRE_R_SPAWN_REQ,
             .spawn_req = {UINT64_MAX,
                           maxp,
                           {n255, 255},
                           {n255, 255},
                           INT64_MIN,
                           UINT32_MAX,
                           {(const uint8_t *)text, 1999},
                           {n255, 255},
                           UINT32_MAX,
                           3}},
            {.type = TRI_WIRE_R_SPAWN_REPLY,
             .spawn_reply = {UINT64_MAX, TR_PID_NIL, INT32_MIN, {text, 1999}}},
            {.type = TRI_WIRE_R_CHILD_EXIT, .child_exit = {maxp, maxp, 6, {text, 1999}}},
        };
        tri_wire_enc *enc = tri_wire_enc_new(NULL);
        in_begin(&in, 0);
        in_batch(&in, enc, m, sizeof m / sizeof m[0]);
        in_write(&in, "max_batch");
        tri_wire_enc_destroy(&enc);
        /* 200 records: a two-byte record count */
        tri_wire_record many[200];
        for (int i = 0; i < 200; i++)
            many[i] = recs[2 + i % 9];
        enc = tri_wire_enc_new(NULL);
        in_begin(&in, 0);
        in_batch(&in, enc, many, 200);
        in_write(&in, "max_count");
        tri_wire_enc_destroy(&enc);
        tri_wire_ctl h = hello;
        h.hello.node = (tri_wire_node){UINT32_MAX, {n255, 255}, eps255, 255, {key, sizeof key}};
        h.hello.max_version = 255;
        h.hello.flags = UINT64_MAX;
        h.hello.max_frame = UINT32_MAX;
        h.hello.extension = (tri_wire_bytes){(const uint8_t *)text, 1000};
        in_begin(&in, 0);
        in_ctl(&in, &h);
        in_write(&in, "max_hello");
    }
    tri_wire_buf_fini(&in.b);
    return 0;
}
