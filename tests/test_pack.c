/* test_pack.c — typed payloads (troupe/pack.h): the encoding byte for
 * byte, bounds, malformed input, sticky errors, pictures; and the payload
 * alignment msg.h promises, for every kind of message an actor sees. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "../transport/wire.h"

/* -------------------------------------------------------- the encoding */

static void test_encoding_bytes(void **state)
{
    (void)state;
    uint8_t buf[128];
    tr_packer p;
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_u8(&p, 0xab);
    tr_pack_u16(&p, 0x1234);
    tr_pack_u32(&p, 0x01020304u);
    tr_pack_u64(&p, 0x0102030405060708ull);
    tr_pack_i8(&p, -1);
    tr_pack_i16(&p, -2);
    tr_pack_i32(&p, -3);
    tr_pack_i64(&p, INT64_MIN);
    tr_pack_f64(&p, 1.0);
    tr_pack_str(&p, "ab");
    tr_pack_bytes(&p, "\0\1", 2);
    tr_pack_pid(&p, (tr_pid){0x11223344u, 7, 0x0a0b0c0d0e0f1011ull});
    assert_int_equal(tr_packer_error(&p), TR_OK);
    static const uint8_t want[] = {
        0xab,                                           /* u8 */
        0x34, 0x12,                                     /* u16, little-endian */
        0x04, 0x03, 0x02, 0x01,                         /* u32 */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* u64 */
        0xff,                                           /* i8 -1 */
        0xfe, 0xff,                                     /* i16 -2 */
        0xfd, 0xff, 0xff, 0xff,                         /* i32 -3 */
        0, 0, 0, 0, 0, 0, 0, 0x80,                      /* i64 min */
        0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                   /* f64 1.0: 0x3ff0000000000000 */
        2, 0, 0, 0, 'a', 'b', 0,                        /* str: u32 len, bytes, 0 */
        2, 0, 0, 0, 0, 1,                               /* bytes: u32 len, bytes */
        0x44, 0x33, 0x22, 0x11, 7, 0, 0, 0,             /* pid node, slot */
        0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, /* pid serial */
    };
    assert_int_equal(tr_packer_len(&p), sizeof want);
    assert_memory_equal(buf, want, sizeof want);
}

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[256];
    tr_packer p;
    tr_packer_init(&p, buf, sizeof buf);
    tr_pid pid = {3, 4, 5};
    tr_pack_u8(&p, 255);
    tr_pack_u16(&p, 65535);
    tr_pack_u32(&p, UINT32_MAX);
    tr_pack_u64(&p, UINT64_MAX);
    tr_pack_i8(&p, INT8_MIN);
    tr_pack_i16(&p, INT16_MIN);
    tr_pack_i32(&p, INT32_MIN);
    tr_pack_i64(&p, -42);
    tr_pack_f64(&p, -DBL_MAX);
    tr_pack_f64(&p, NAN);
    tr_pack_str(&p, "");
    tr_pack_strn(&p, "hello world", 5);
    tr_pack_bytes(&p, NULL, 0);
    tr_pack_pid(&p, pid);
    tr_pack_pid(&p, TR_PID_NIL);
    assert_int_equal(tr_packer_error(&p), TR_OK);

    tr_unpacker u;
    tr_unpacker_init(&u, buf, tr_packer_len(&p));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    double d, nan_back;
    const char *s1, *s2;
    size_t n1, n2, nb;
    const void *b;
    tr_pid p1, p2;
    tr_unpack_u8(&u, &u8);
    tr_unpack_u16(&u, &u16);
    tr_unpack_u32(&u, &u32);
    tr_unpack_u64(&u, &u64);
    tr_unpack_i8(&u, &i8);
    tr_unpack_i16(&u, &i16);
    tr_unpack_i32(&u, &i32);
    tr_unpack_i64(&u, &i64);
    tr_unpack_f64(&u, &d);
    tr_unpack_f64(&u, &nan_back);
    tr_unpack_str(&u, &s1, &n1);
    tr_unpack_str(&u, &s2, &n2);
    tr_unpack_bytes(&u, &b, &nb);
    tr_unpack_pid(&u, &p1);
    tr_unpack_pid(&u, &p2);
    assert_int_equal(tr_unpacker_end(&u), TR_OK);
    assert_int_equal(u8, 255);
    assert_int_equal(u16, 65535);
    assert_true(u32 == UINT32_MAX);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(i8, INT8_MIN);
    assert_int_equal(i16, INT16_MIN);
    assert_true(i32 == INT32_MIN);
    assert_true(i64 == -42);
    assert_true(d == -DBL_MAX);
    assert_true(isnan(nan_back));
    assert_string_equal(s1, "");
    assert_int_equal(n1, 0);
    assert_string_equal(s2, "hello"); /* NUL-terminated inside the buffer */
    assert_int_equal(n2, 5);
    assert_null(b);
    assert_int_equal(nb, 0);
    assert_true(tr_pid_eq(p1, pid));
    assert_true(tr_pid_is_nil(p2));
    /* pointers handed out point into the buffer: no copies */
    assert_true((const uint8_t *)s2 > buf && (const uint8_t *)s2 < buf + sizeof buf);
}

/* A packed pid is the transport's own spelling of it: the bytes of a pid
 * pair packed here appear verbatim in a LINK frame (target pid, from pid)
 * the wire codec encodes, so a pid in a payload means on another node
 * what it means here (docs/wire.md, section 8). */
static void test_pid_is_wire_form(void **state)
{
    (void)state;
    tr_pid target = {0xdeadbeefu, 12345, 0x0123456789abcdefull};
    tr_pid from = {7, 8, 9};
    uint8_t packed[2 * TR_PACK_PID_SIZE];
    size_t len;
    assert_int_equal(tr_pack(packed, sizeof packed, &len, "pid pid", target, from), TR_OK);
    assert_int_equal(len, sizeof packed);
    tri_wire_enc *enc = tri_wire_enc_new(NULL);
    assert_non_null(enc);
    tri_wire_buf buf = {0};
    tri_wire_record rec = {.type = TRI_WIRE_R_LINK, .link = {target, from}};
    assert_int_equal(tri_wire_batch_begin(enc, &buf), TR_OK);
    assert_int_equal(tri_wire_batch_add(enc, &rec), TR_OK);
    size_t off, flen;
    assert_int_equal(tri_wire_batch_finish(enc, &off, &flen), TR_OK);
    assert_non_null(memmem(buf.data + off, flen, packed, sizeof packed));
    tri_wire_enc_destroy(&enc);
    tri_wire_buf_fini(&buf);
}

/* ---------------------------------------------------- writer's bounds */

static void test_writer_no_room_is_sticky(void **state)
{
    (void)state;
    uint8_t buf[8];
    tr_packer p;
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_u32(&p, 1);
    tr_pack_u64(&p, 2); /* 12 > 8 */
    assert_int_equal(tr_packer_error(&p), TR_ETOOBIG);
    assert_int_equal(tr_packer_len(&p), 12); /* what it needed */
    tr_pack_u8(&p, 3);                       /* nothing more happens */
    assert_int_equal(tr_packer_error(&p), TR_ETOOBIG);
    assert_int_equal(tr_packer_len(&p), 12);

    /* measuring: NULL buffer, nothing fails */
    tr_packer_init(&p, NULL, 0);
    tr_pack_str(&p, "abc");
    tr_pack_pid(&p, TR_PID_NIL);
    assert_int_equal(tr_packer_error(&p), TR_OK);
    assert_int_equal(tr_packer_len(&p), 4 + 3 + 1 + TR_PACK_PID_SIZE);
}

static void test_writer_bad_arguments(void **state)
{
    (void)state;
    uint8_t buf[64];
    tr_packer p;
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_str(&p, NULL);
    assert_int_equal(tr_packer_error(&p), TR_EINVAL);
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_strn(&p, "a\0b", 3); /* a NUL inside could not come back as a C string */
    assert_int_equal(tr_packer_error(&p), TR_EINVAL);
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_bytes(&p, NULL, 4);
    assert_int_equal(tr_packer_error(&p), TR_EINVAL);
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_bytes(&p, "a\0b", 3); /* a blob may hold anything */
    assert_int_equal(tr_packer_error(&p), TR_OK);
    /* a pid that is nil by its serial is written as the one nil spelling */
    tr_packer_init(&p, buf, sizeof buf);
    tr_pack_pid(&p, (tr_pid){9, 9, 0});
    static const uint8_t zero[16];
    assert_memory_equal(buf, zero, 16);
}

/* --------------------------------------------------- malformed input */

static void test_reader_short_input(void **state)
{
    (void)state;
    uint8_t buf[3] = {1, 2, 3};
    tr_unpacker u;
    tr_unpacker_init(&u, buf, sizeof buf);
    uint16_t a;
    uint32_t b = 77;
    uint8_t c = 77;
    tr_unpack_u16(&u, &a);
    assert_int_equal(a, 0x0201);
    tr_unpack_u32(&u, &b); /* one byte left: short */
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    assert_int_equal(b, 0);
    tr_unpack_u8(&u, &c); /* sticky: even though one byte is there */
    assert_int_equal(c, 0);
    assert_int_equal(tr_unpacker_left(&u), 0);
    assert_int_equal(tr_unpacker_end(&u), TR_EBADMSG);

    /* an empty payload (NULL data) reads as short, not as a crash */
    tr_unpacker_init(&u, NULL, 0);
    tr_unpack_u8(&u, &c);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
}

static void test_reader_malformed_values(void **state)
{
    (void)state;
    tr_unpacker u;
    const char *s;
    const void *b;
    size_t n = 99;
    /* a length past the end */
    static const uint8_t long_len[] = {0xff, 0xff, 0xff, 0xff, 'a', 0};
    tr_unpacker_init(&u, long_len, sizeof long_len);
    tr_unpack_str(&u, &s, &n);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    assert_null(s);
    assert_int_equal(n, 0);
    tr_unpacker_init(&u, long_len, sizeof long_len);
    tr_unpack_bytes(&u, &b, &n);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    assert_null(b);
    /* a string without its terminating 0 */
    static const uint8_t no_nul[] = {2, 0, 0, 0, 'a', 'b', 'c'};
    tr_unpacker_init(&u, no_nul, sizeof no_nul);
    tr_unpack_str(&u, &s, NULL);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    /* a NUL inside a string */
    static const uint8_t inner_nul[] = {3, 0, 0, 0, 'a', 0, 'c', 0};
    tr_unpacker_init(&u, inner_nul, sizeof inner_nul);
    tr_unpack_str(&u, &s, NULL);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    /* the same bytes are a fine blob of 3, and one byte is left */
    tr_unpacker_init(&u, inner_nul, sizeof inner_nul);
    tr_unpack_bytes(&u, &b, &n);
    assert_int_equal(tr_unpacker_error(&u), TR_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "a\0c", 3);
    assert_int_equal(tr_unpacker_left(&u), 1);
    /* a pid with serial 0 that is not all zero */
    uint8_t bad_pid[16] = {1};
    tr_pid pid = {1, 1, 1};
    tr_unpacker_init(&u, bad_pid, sizeof bad_pid);
    tr_unpack_pid(&u, &pid);
    assert_int_equal(tr_unpacker_error(&u), TR_EBADMSG);
    assert_true(tr_pid_is_nil(pid));
    /* bytes left over: not an error until the end is checked */
    uint8_t two[2] = {0};
    uint8_t one;
    tr_unpacker_init(&u, two, sizeof two);
    tr_unpack_u8(&u, &one);
    assert_int_equal(tr_unpacker_error(&u), TR_OK);
    assert_int_equal(tr_unpacker_left(&u), 1);
    assert_int_equal(tr_unpacker_end(&u), TR_EBADMSG);
    assert_int_equal(tr_strerror(TR_EBADMSG)[0] != 0, 1);
    assert_string_not_equal(tr_strerror(TR_EBADMSG), "unknown error");
}

/* Every prefix of a valid payload, and every payload with one byte
 * changed, is either read or refused: never read past the end. ASan
 * watches the heap copy's bounds. */
static void test_reader_never_overreads(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t len;
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "u32 str bytes pid f64", (uint32_t)7, "key",
                             "val", (size_t)3, (tr_pid){1, 2, 3}, 2.5),
                     TR_OK);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, buf, cut);
        uint32_t a;
        const char *s;
        const void *b;
        size_t n;
        tr_pid p;
        double d;
        int rc = tr_unpack(copy, cut, "u32 str bytes pid f64", &a, &s, &b, &n, &p, &d);
        assert_int_equal(rc, cut == len ? TR_OK : TR_EBADMSG);
        for (size_t i = 0; i < cut; i++) {
            uint8_t old = copy[i];
            copy[i] ^= 0xff;
            rc = tr_unpack(copy, cut, "u32 str bytes pid f64", &a, &s, &b, &n, &p, &d);
            assert_true(rc == TR_OK || rc == TR_EBADMSG);
            copy[i] = old;
        }
        free(copy);
    }
}

/* ----------------------------------------------------------- pictures */

static void test_picture_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t len = 0;
    tr_pid me = {10, 20, 30};
    int rc = tr_pack(buf, sizeof buf, &len, "u8 u16 u32 u64 i8 i16 i32 i64 f64 str bytes pid",
                     200u, 60000u, (uint32_t)4000000000u, (uint64_t)1 << 60, -5, -300,
                     (int32_t)-70000, (int64_t)-1, 0.25, "name", "\x01\x02", (size_t)2, me);
    assert_int_equal(rc, TR_OK);
    /* the picture and the calls give the same bytes */
    uint8_t buf2[128];
    tr_packer p;
    tr_packer_init(&p, buf2, sizeof buf2);
    tr_pack_u8(&p, 200);
    tr_pack_u16(&p, 60000);
    tr_pack_u32(&p, 4000000000u);
    tr_pack_u64(&p, (uint64_t)1 << 60);
    tr_pack_i8(&p, -5);
    tr_pack_i16(&p, -300);
    tr_pack_i32(&p, -70000);
    tr_pack_i64(&p, -1);
    tr_pack_f64(&p, 0.25);
    tr_pack_str(&p, "name");
    tr_pack_bytes(&p, "\x01\x02", 2);
    tr_pack_pid(&p, me);
    assert_int_equal(tr_packer_len(&p), len);
    assert_memory_equal(buf, buf2, len);

    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    double d;
    const char *s;
    const void *b;
    size_t n;
    tr_pid pid;
    rc = tr_unpack(buf, len, "u8 u16 u32 u64 i8 i16 i32 i64 f64 str bytes pid", &u8, &u16, &u32,
                   &u64, &i8, &i16, &i32, &i64, &d, &s, &b, &n, &pid);
    assert_int_equal(rc, TR_OK);
    assert_int_equal(u8, 200);
    assert_int_equal(u16, 60000);
    assert_true(u32 == 4000000000u);
    assert_true(u64 == (uint64_t)1 << 60);
    assert_int_equal(i8, -5);
    assert_int_equal(i16, -300);
    assert_true(i32 == -70000);
    assert_true(i64 == -1);
    assert_true(d == 0.25);
    assert_string_equal(s, "name");
    assert_int_equal(n, 2);
    assert_memory_equal(b, "\x01\x02", 2);
    assert_true(tr_pid_eq(pid, me));
}

static void test_picture_errors(void **state)
{
    (void)state;
    uint8_t buf[8];
    size_t len = 123;
    /* unknown code, and a NULL picture */
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "u8 x32", 1u, 2u), TR_EINVAL);
    assert_int_equal(tr_pack(buf, sizeof buf, &len, NULL), TR_EINVAL);
    assert_int_equal(tr_unpack(buf, 0, "u7", NULL), TR_EINVAL);
    /* no room: the size needed comes back */
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "u64 u32", (uint64_t)1, (uint32_t)2),
                     TR_ETOOBIG);
    assert_int_equal(len, 12);
    /* measuring */
    assert_int_equal(tr_pack(NULL, 0, &len, "str", "four"), TR_OK);
    assert_int_equal(len, 4 + 4 + 1);
    /* an empty picture packs nothing and reads an empty payload */
    assert_int_equal(tr_pack(buf, sizeof buf, &len, ""), TR_OK);
    assert_int_equal(len, 0);
    assert_int_equal(tr_unpack(NULL, 0, "  "), TR_OK);
    /* left-over bytes are malformed for the picture form */
    uint8_t v;
    assert_int_equal(tr_pack(buf, sizeof buf, &len, "u8 u8", 1u, 2u), TR_OK);
    assert_int_equal(tr_unpack(buf, len, "u8", &v), TR_EBADMSG);
}

static void test_pack_msg(void **state)
{
    (void)state;
    tr_atom t = tr_atom_from("pack.test");
    tr_msg *m = NULL;
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(tr_pack_msg(t, &m, "u32 str", (uint32_t)9, big), TR_OK);
    assert_non_null(m);
    assert_true(tr_msg_is(m, t));
    assert_int_equal(tr_msg_size(m), 4 + 4 + 299 + 1);
    uint32_t k;
    const char *s;
    assert_int_equal(tr_unpack_msg(m, "u32 str", &k, &s), TR_OK);
    assert_int_equal(k, 9);
    assert_string_equal(s, big);
    tr_msg_destroy(&m);
    assert_int_equal(tr_pack_msg(t, &m, "str", (const char *)NULL), TR_EINVAL);
    assert_null(m);
    assert_int_equal(tr_pack_msg((tr_atom){0}, &m, "u8", 1u), TR_EINVAL);
    assert_null(m);
}

/* ------------------------------------------------- payload alignment */

/* The echo actor reports each payload's address modulo TR_MSG_ALIGN
 * (and whether it is a request, which it answers), so the test can see
 * every kind of message a handler gets. */
static int align_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    uintptr_t at = (uintptr_t)tr_msg_data(m);
    int off = tr_msg_size(m) ? (int)(at % TR_MSG_ALIGN) : 0;
    if (tr_msg_is(m, tr_atom_from("align.call"))) {
        /* a call from this actor to itself lands as a request, then a reply */
        tr_ref ref;
        char big[200] = {0};
        return tr_call(ctx, tr_self(ctx), tr_atom_from("align.req"), big, sizeof big, 5000,
                       &ref);
    }
    int rc = t_report_int(ctx, "align.off", off);
    if (rc == TR_OK && tr_msg_is_request(m)) {
        char small[24] = {0};
        rc = tr_reply(ctx, m, tr_atom_from("align.rep"), small, sizeof small);
    }
    return rc;
}

static void test_payload_alignment(void **state)
{
    t_env *e = *state;
    static const tr_behaviour beh = {.name = "align", .handle = align_handle};
    tr_pid a;
    assert_int_equal(tr_system_spawn(e->sys, &beh, NULL, &a), TR_OK);
    tr_atom t = tr_atom_from("align.plain");
    static char payload[70000];
    /* plain sends: sizes inline, in the pool's classes, and malloc'ed */
    static const size_t sizes[] = {1, 3, 8, 9, 72, 73, 100, 1000, 1025, 69999};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(tr_system_send(e->sys, a, t, payload, sizes[i]), TR_OK);
        assert_int_equal(t_expect_int(e, "align.off"), 0);
    }
    /* a message built with tr_msg_new, inline and not */
    for (size_t sz = 1; sz <= 200; sz += 199) {
        tr_msg *m;
        assert_int_equal(tr_msg_new(t, sz, &m), TR_OK);
        assert_int_equal((uintptr_t)tr_msg_buffer(m) % TR_MSG_ALIGN, 0);
        memset(tr_msg_buffer(m), 0, sz);
        assert_int_equal(tr_system_send_msg(e->sys, a, &m), TR_OK);
        assert_int_equal(t_expect_int(e, "align.off"), 0);
    }
    /* a request (it carries a ref and a deadline before the payload) and
     * the reply (a ref) */
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("align.call"), NULL, 0), TR_OK);
    assert_int_equal(t_expect_int(e, "align.off"), 0); /* the request */
    assert_int_equal(t_expect_int(e, "align.off"), 0); /* its reply */
    /* a reply an inbox receives, and a request from outside */
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(e->sys, a, tr_atom_from("align.req"), payload, 5, 5000, &reply),
                     TR_OK);
    assert_int_equal(t_expect_int(e, "align.off"), 0);
    assert_int_equal((uintptr_t)tr_msg_data(reply) % TR_MSG_ALIGN, 0);
    tr_msg_destroy(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_bytes),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_pid_is_wire_form),
        cmocka_unit_test(test_writer_no_room_is_sticky),
        cmocka_unit_test(test_writer_bad_arguments),
        cmocka_unit_test(test_reader_short_input),
        cmocka_unit_test(test_reader_malformed_values),
        cmocka_unit_test(test_reader_never_overreads),
        cmocka_unit_test(test_picture_roundtrip),
        cmocka_unit_test(test_picture_errors),
        cmocka_unit_test(test_pack_msg),
        cmocka_unit_test_setup_teardown(test_payload_alignment, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
