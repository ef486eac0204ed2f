/* pack.c — typed payloads (troupe/pack.h): the writer, the reader and
 * the picture form over them. Built on the public API only.
 *
 * Values are assembled byte by byte with shifts: the encoding is the same
 * whatever the host's byte order, and on a little-endian host the compiler
 * turns each into one load or store. */
#include <stdarg.h>
#include <string.h>

#include "troupe/error.h"
#include "troupe/pack.h"

_Static_assert(sizeof(double) == sizeof(uint64_t), "f64 is IEEE-754 binary64");

/* ------------------------------------------------------------ writer */

void tr_packer_init(tr_packer *p, void *buf, size_t cap)
{
    p->buf = buf;
    p->cap = buf ? cap : 0;
    p->len = 0;
    p->err = TR_OK;
}

/* Room for n more bytes at p->len: the place to write them, or NULL when
 * only measuring or on error (the length still grows, so a failed pack
 * says how much it needed). */
static uint8_t *room(tr_packer *p, size_t n)
{
    if (p->err) return NULL;
    size_t at = p->len;
    if (n > TR_MSG_MAX || at + n > TR_MSG_MAX) {
        p->err = TR_ETOOBIG;
        return NULL;
    }
    p->len = at + n;
    if (!p->buf) return NULL; /* measuring */
    if (at + n > p->cap) {
        p->err = TR_ETOOBIG;
        return NULL;
    }
    return p->buf + at;
}

static void put_le(tr_packer *p, uint64_t v, unsigned n)
{
    uint8_t *b = room(p, n);
    if (!b) return;
    for (unsigned i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
}

void tr_pack_u8(tr_packer *p, uint8_t v) { put_le(p, v, 1); }
void tr_pack_u16(tr_packer *p, uint16_t v) { put_le(p, v, 2); }
void tr_pack_u32(tr_packer *p, uint32_t v) { put_le(p, v, 4); }
void tr_pack_u64(tr_packer *p, uint64_t v) { put_le(p, v, 8); }
void tr_pack_i8(tr_packer *p, int8_t v) { put_le(p, (uint8_t)v, 1); }
void tr_pack_i16(tr_packer *p, int16_t v) { put_le(p, (uint16_t)v, 2); }
void tr_pack_i32(tr_packer *p, int32_t v) { put_le(p, (uint32_t)v, 4); }
void tr_pack_i64(tr_packer *p, int64_t v) { put_le(p, (uint64_t)v, 8); }

void tr_pack_f64(tr_packer *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(p, bits, 8);
}

void tr_pack_pid(tr_packer *p, tr_pid v)
{
    if (tr_pid_is_nil(v)) v = TR_PID_NIL; /* the one spelling of nil */
    put_le(p, v.node, 4);
    put_le(p, v.slot, 4);
    put_le(p, v.serial, 8);
}

static void put_blob(tr_packer *p, const void *data, size_t n, bool nul)
{
    if (p->err) return;
    if (n > UINT32_MAX) {
        p->err = TR_ETOOBIG;
        return;
    }
    put_le(p, n, 4);
    uint8_t *b = room(p, n + nul);
    if (!b) return;
    if (n) memcpy(b, data, n);
    if (nul) b[n] = 0;
}

void tr_pack_strn(tr_packer *p, const char *s, size_t n)
{
    if (p->err) return;
    if ((!s && n) || (n && memchr(s, 0, n))) {
        p->err = TR_EINVAL;
        return;
    }
    put_blob(p, s, n, true);
}

void tr_pack_str(tr_packer *p, const char *s)
{
    if (p->err) return;
    if (!s) {
        p->err = TR_EINVAL;
        return;
    }
    put_blob(p, s, strlen(s), true);
}

void tr_pack_bytes(tr_packer *p, const void *data, size_t n)
{
    if (p->err) return;
    if (!data && n) {
        p->err = TR_EINVAL;
        return;
    }
    put_blob(p, data, n, false);
}

size_t tr_packer_len(const tr_packer *p) { return p->len; }
tr_err tr_packer_error(const tr_packer *p) { return p->err; }

/* ------------------------------------------------------------ reader */

void tr_unpacker_init(tr_unpacker *u, const void *data, size_t size)
{
    u->data = data;
    u->size = data ? size : 0;
    u->pos = 0;
    u->err = TR_OK;
}

void tr_unpacker_msg(tr_unpacker *u, const tr_msg *msg)
{
    tr_unpacker_init(u, tr_msg_data(msg), tr_msg_size(msg));
}

/* The next n bytes, or NULL (and the error set) when they are not all
 * there. */
static const uint8_t *take(tr_unpacker *u, size_t n)
{
    if (u->err) return NULL;
    if (n > u->size - u->pos) {
        u->err = TR_EBADMSG;
        return NULL;
    }
    const uint8_t *b = u->data + u->pos;
    u->pos += n;
    return b;
}

static uint64_t get_le(tr_unpacker *u, unsigned n)
{
    const uint8_t *b = take(u, n);
    if (!b) return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

void tr_unpack_u8(tr_unpacker *u, uint8_t *out) { *out = (uint8_t)get_le(u, 1); }
void tr_unpack_u16(tr_unpacker *u, uint16_t *out) { *out = (uint16_t)get_le(u, 2); }
void tr_unpack_u32(tr_unpacker *u, uint32_t *out) { *out = (uint32_t)get_le(u, 4); }
void tr_unpack_u64(tr_unpacker *u, uint64_t *out) { *out = get_le(u, 8); }
void tr_unpack_i8(tr_unpacker *u, int8_t *out) { *out = (int8_t)(uint8_t)get_le(u, 1); }
void tr_unpack_i16(tr_unpacker *u, int16_t *out) { *out = (int16_t)(uint16_t)get_le(u, 2); }
void tr_unpack_i32(tr_unpacker *u, int32_t *out) { *out = (int32_t)(uint32_t)get_le(u, 4); }
void tr_unpack_i64(tr_unpacker *u, int64_t *out) { *out = (int64_t)get_le(u, 8); }

void tr_unpack_f64(tr_unpacker *u, double *out)
{
    uint64_t bits = get_le(u, 8);
    memcpy(out, &bits, sizeof bits);
}

void tr_unpack_pid(tr_unpacker *u, tr_pid *out)
{
    tr_pid v;
    v.node = (uint32_t)get_le(u, 4);
    v.slot = (uint32_t)get_le(u, 4);
    v.serial = get_le(u, 8);
    /* as the wire: nil has one spelling, so a pid that compares nil is nil */
    if (!u->err && v.serial == 0 && (v.node || v.slot)) u->err = TR_EBADMSG;
    *out = u->err ? TR_PID_NIL : v;
}

/* A length-prefixed run; nul: a string, which must end in a 0 byte and
 * hold no other. */
static const uint8_t *get_blob(tr_unpacker *u, size_t *len, bool nul)
{
    size_t n = (size_t)get_le(u, 4);
    const uint8_t *b = take(u, n + nul);
    if (b && nul && (b[n] != 0 || memchr(b, 0, n))) {
        u->err = TR_EBADMSG;
        b = NULL;
    }
    if (len) *len = b ? n : 0;
    return b;
}

void tr_unpack_str(tr_unpacker *u, const char **out, size_t *len)
{
    *out = (const char *)get_blob(u, len, true);
}

void tr_unpack_bytes(tr_unpacker *u, const void **out, size_t *len)
{
    size_t n;
    const uint8_t *b = get_blob(u, &n, false);
    *out = n ? b : NULL;
    *len = n;
}

size_t tr_unpacker_left(const tr_unpacker *u) { return u->err ? 0 : u->size - u->pos; }
tr_err tr_unpacker_error(const tr_unpacker *u) { return u->err; }

tr_err tr_unpacker_end(const tr_unpacker *u)
{
    if (u->err) return u->err;
    return u->pos == u->size ? TR_OK : TR_EBADMSG;
}

/* ----------------------------------------------------------- pictures */

enum code {
    C_BAD = -1, C_END = 0,
    C_U8, C_U16, C_U32, C_U64, C_I8, C_I16, C_I32, C_I64, C_F64, C_STR, C_BYTES, C_PID
};

/* The next code of a picture, advancing *pic past it; C_BAD on a bad one,
 * C_END at its end. */
static int next_code(const char **pic)
{
    static const struct {
        const char *name;
        int code;
    } codes[] = {
        {"u8", C_U8},   {"u16", C_U16}, {"u32", C_U32}, {"u64", C_U64},     {"i8", C_I8},
        {"i16", C_I16}, {"i32", C_I32}, {"i64", C_I64}, {"f64", C_F64},     {"str", C_STR},
        {"bytes", C_BYTES}, {"pid", C_PID},
    };
    const char *s = *pic;
    while (*s == ' ') s++;
    if (!*s) {
        *pic = s;
        return C_END;
    }
    size_t n = strcspn(s, " ");
    *pic = s + n;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strlen(codes[i].name) == n && memcmp(codes[i].name, s, n) == 0) return codes[i].code;
    return C_BAD;
}

static int vpack(tr_packer *p, const char *picture, va_list ap)
{
    if (!picture) return TR_EINVAL;
    for (int c; (c = next_code(&picture)) != C_END;) {
        switch (c) {
        case C_U8: tr_pack_u8(p, (uint8_t)va_arg(ap, unsigned)); break;
        case C_U16: tr_pack_u16(p, (uint16_t)va_arg(ap, unsigned)); break;
        case C_U32: tr_pack_u32(p, va_arg(ap, uint32_t)); break;
        case C_U64: tr_pack_u64(p, va_arg(ap, uint64_t)); break;
        case C_I8: tr_pack_i8(p, (int8_t)va_arg(ap, int)); break;
        case C_I16: tr_pack_i16(p, (int16_t)va_arg(ap, int)); break;
        case C_I32: tr_pack_i32(p, va_arg(ap, int32_t)); break;
        case C_I64: tr_pack_i64(p, va_arg(ap, int64_t)); break;
        case C_F64: tr_pack_f64(p, va_arg(ap, double)); break;
        case C_STR: tr_pack_str(p, va_arg(ap, const char *)); break;
        case C_BYTES: {
            const void *d = va_arg(ap, const void *);
            tr_pack_bytes(p, d, va_arg(ap, size_t));
            break;
        }
        case C_PID: tr_pack_pid(p, va_arg(ap, tr_pid)); break;
        default: return TR_EINVAL;
        }
    }
    return p->err;
}

tr_err tr_vpack(void *buf, size_t cap, size_t *len, const char *picture, va_list ap)
{
    if (len) *len = 0;
    if (!len || (!buf && cap)) return TR_EINVAL;
    tr_packer p;
    tr_packer_init(&p, buf, cap);
    int rc = vpack(&p, picture, ap);
    *len = p.len;
    return rc;
}

tr_err tr_pack(void *buf, size_t cap, size_t *len, const char *picture, ...)
{
    va_list ap;
    va_start(ap, picture);
    int rc = tr_vpack(buf, cap, len, picture, ap);
    va_end(ap);
    return rc;
}

tr_err tr_vpack_msg(tr_atom type, tr_msg **out, const char *picture, va_list ap)
{
    if (!out) return TR_EINVAL;
    *out = NULL;
    /* twice over the arguments: measure, then fill a message that size */
    va_list measure, fill;
    va_copy(measure, ap);
    va_copy(fill, ap);
    size_t len;
    tr_msg *m = NULL;
    int rc = tr_vpack(NULL, 0, &len, picture, measure);
    if (rc == TR_OK) rc = tr_msg_new(type, len, &m);
    if (rc == TR_OK) rc = tr_vpack(tr_msg_buffer(m), len, &len, picture, fill);
    va_end(fill);
    va_end(measure);
    if (rc != TR_OK) {
        tr_msg_destroy(&m);
        return rc;
    }
    *out = m;
    return TR_OK;
}

tr_err tr_pack_msg(tr_atom type, tr_msg **out, const char *picture, ...)
{
    va_list ap;
    va_start(ap, picture);
    int rc = tr_vpack_msg(type, out, picture, ap);
    va_end(ap);
    return rc;
}

static int vunpack(tr_unpacker *u, const char *picture, va_list ap)
{
    if (!picture) return TR_EINVAL;
    for (int c; (c = next_code(&picture)) != C_END;) {
        switch (c) {
        case C_U8: tr_unpack_u8(u, va_arg(ap, uint8_t *)); break;
        case C_U16: tr_unpack_u16(u, va_arg(ap, uint16_t *)); break;
        case C_U32: tr_unpack_u32(u, va_arg(ap, uint32_t *)); break;
        case C_U64: tr_unpack_u64(u, va_arg(ap, uint64_t *)); break;
        case C_I8: tr_unpack_i8(u, va_arg(ap, int8_t *)); break;
        case C_I16: tr_unpack_i16(u, va_arg(ap, int16_t *)); break;
        case C_I32: tr_unpack_i32(u, va_arg(ap, int32_t *)); break;
        case C_I64: tr_unpack_i64(u, va_arg(ap, int64_t *)); break;
        case C_F64: tr_unpack_f64(u, va_arg(ap, double *)); break;
        case C_STR: tr_unpack_str(u, va_arg(ap, const char **), NULL); break;
        case C_BYTES: {
            const void **d = va_arg(ap, const void **);
            tr_unpack_bytes(u, d, va_arg(ap, size_t *));
            break;
        }
        case C_PID: tr_unpack_pid(u, va_arg(ap, tr_pid *)); break;
        default: return TR_EINVAL;
        }
    }
    return tr_unpacker_end(u);
}

tr_err tr_vunpack(const void *data, size_t size, const char *picture, va_list ap)
{
    tr_unpacker u;
    tr_unpacker_init(&u, data, size);
    return vunpack(&u, picture, ap);
}

tr_err tr_unpack(const void *data, size_t size, const char *picture, ...)
{
    va_list ap;
    va_start(ap, picture);
    int rc = tr_vunpack(data, size, picture, ap);
    va_end(ap);
    return rc;
}

tr_err tr_unpack_msg(const tr_msg *msg, const char *picture, ...)
{
    va_list ap;
    va_start(ap, picture);
    int rc = tr_vunpack(tr_msg_data(msg), tr_msg_size(msg), picture, ap);
    va_end(ap);
    return rc;
}
