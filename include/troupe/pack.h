/** @file
 * troupe/pack.h — typed payloads: packing values into message bytes and
 * reading them back, with bounds checks.
 *
 * A payload is opaque bytes to the runtime; these helpers give it a stable
 * encoding, the same on every node, so a payload packed here can be read
 * on another node (the transport carries payloads byte for byte):
 *
 *   u8 u16 u32 u64 / i8 i16 i32 i64   fixed width, little-endian, two's
 *                                     complement for the signed ones
 *   f64                               IEEE-754 binary64 bits, as a u64
 *   str                               u32 length n, n bytes (no NUL inside),
 *                                     then one 0 byte
 *   bytes                             u32 length n, n bytes
 *   pid                               node u32, slot u32, serial u64: the
 *                                     transport's wire form (docs/wire.md)
 *
 * Why little-endian rather than network order: the transport's wire is
 * little-endian throughout (docs/wire.md, section 1), and a pid is sent in
 * its wire form so that it keeps its meaning on any node (a node id means
 * the same node everywhere: docs/wire.md, section 8); one byte order for
 * the whole system keeps a payload's pid byte for byte the wire's, and on
 * every host troupe runs on (x86-64, AArch64) packing and unpacking are
 * plain loads and stores. Network order would buy memcmp-sortable integers,
 * which nothing in troupe needs.
 *
 * Why a string carries a terminating 0 byte on top of its length: the
 * reader hands out a C string pointing into the message, with no copy and
 * no buffer to size (valid as long as the message is).
 *
 * Errors are sticky, as with a FILE's error flag: the first failure (no
 * room, truncated or malformed input) is kept, every later call does
 * nothing (a read sets its outputs to zero / NULL), and the caller checks
 * once at the end. No function here allocates, logs or takes a lock; a
 * tr_packer or tr_unpacker belongs to one thread at a time. Any thread.
 *
 * The picture form packs or unpacks a whole payload in one call, as CZMQ's
 * zsock_send does: the picture is a list of the codes above separated by
 * spaces ("u32 str pid"), with these arguments each:
 *
 *   code      tr_pack argument           tr_unpack argument
 *   u8 u16    unsigned (promoted)        uint8_t * / uint16_t *
 *   u32       uint32_t                   uint32_t *
 *   u64       uint64_t                   uint64_t *
 *   i8 i16    int (promoted)             int8_t * / int16_t *
 *   i32       int32_t                    int32_t *
 *   i64       int64_t                    int64_t *
 *   f64       double                     double *
 *   str       const char * (not NULL)    const char ** (into the payload)
 *   bytes     const void *, size_t       const void **, size_t *
 *   pid       tr_pid                     tr_pid *
 *
 * Example: a request, and the handler that reads it.
 *
 *   uint8_t buf[256];
 *   size_t len;
 *   if (tr_pack(buf, sizeof buf, &len, "str bytes", key, val, val_len) == TR_OK)
 *       rc = tr_call(ctx, store, PUT, buf, len, 500, &ref);
 *
 *   const char *key;
 *   const void *val;
 *   size_t n;
 *   if (tr_unpack_msg(msg, "str bytes", &key, &val, &n) != TR_OK)
 *       return tr_fail(ctx, "malformed kv.put");
 */
#ifndef TROUPE_PACK_H
#define TROUPE_PACK_H

#include "error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/atom.h"
#include "troupe/msg.h"
#include "troupe/pid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A writer over a caller's buffer. Fields are private: use the functions. */
typedef struct tr_packer {
    /** @cond PRIVATE */
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes the values so far need (may exceed cap) */
    int err;
    /** @endcond */
} tr_packer;

/** A reader over a payload. Fields are private: use the functions. */
typedef struct tr_unpacker {
    /** @cond PRIVATE */
    const uint8_t *data;
    size_t size;
    size_t pos;
    int err;
    /** @endcond */
} tr_unpacker;

/** Bytes a packed pid takes. */
#define TR_PACK_PID_SIZE 16

/** tr_packer_init — a writer filling buf[0..cap). With buf NULL and cap 0
 * it only measures: every call adds to the length and nothing fails for
 * want of room, so a first pass can size a tr_msg_new. */
void tr_packer_init(tr_packer *p, void *buf, size_t cap);

/**@{*/
/** Writers: append one value. Each does nothing once the writer has an
 * error; a value that does not fit sets TR_ETOOBIG (the length still
 * counts it, so tr_packer_len says how much room was needed). */
void tr_pack_u8(tr_packer *p, uint8_t v);
void tr_pack_u16(tr_packer *p, uint16_t v);
void tr_pack_u32(tr_packer *p, uint32_t v);
void tr_pack_u64(tr_packer *p, uint64_t v);
void tr_pack_i8(tr_packer *p, int8_t v);
void tr_pack_i16(tr_packer *p, int16_t v);
void tr_pack_i32(tr_packer *p, int32_t v);
void tr_pack_i64(tr_packer *p, int64_t v);
void tr_pack_f64(tr_packer *p, double v);
void tr_pack_pid(tr_packer *p, tr_pid v);
/**@}*/
/** tr_pack_str — a C string. TR_EINVAL for NULL. */
void tr_pack_str(tr_packer *p, const char *s);
/** tr_pack_strn — `n` bytes of `s` as a string. TR_EINVAL when they hold a
 * NUL byte (the reader could not hand it out as a C string) or s is NULL
 * with n > 0. */
void tr_pack_strn(tr_packer *p, const char *s, size_t n);
/** tr_pack_bytes — a blob of `n` bytes (NULL allowed when n is 0). */
void tr_pack_bytes(tr_packer *p, const void *data, size_t n);

/** tr_packer_len — the bytes written (or, on TR_ETOOBIG and when only
 * measuring, needed) so far. */
size_t tr_packer_len(const tr_packer *p);

/** tr_packer_error — the sticky error: TR_OK, TR_ETOOBIG (no room, or more
 * than TR_MSG_MAX), TR_EINVAL (a bad argument). */
tr_err tr_packer_error(const tr_packer *p);

/** tr_unpacker_init — a reader over data[0..size) (not copied: it must
 * outlive the reader and what the reader hands out). */
void tr_unpacker_init(tr_unpacker *u, const void *data, size_t size);

/** tr_unpacker_msg — a reader over a message's payload. */
void tr_unpacker_msg(tr_unpacker *u, const tr_msg *msg);

/**@{*/
/** Readers: take one value. On a payload too short, or a malformed value
 * (a string with a NUL inside or no terminating 0 byte, a length past the
 * end, a pid with serial 0 that is not all zero), they set TR_EBADMSG;
 * once the reader has an error they set *out to zero (NULL) and do
 * nothing else. */
void tr_unpack_u8(tr_unpacker *u, uint8_t *out);
void tr_unpack_u16(tr_unpacker *u, uint16_t *out);
void tr_unpack_u32(tr_unpacker *u, uint32_t *out);
void tr_unpack_u64(tr_unpacker *u, uint64_t *out);
void tr_unpack_i8(tr_unpacker *u, int8_t *out);
void tr_unpack_i16(tr_unpacker *u, int16_t *out);
void tr_unpack_i32(tr_unpacker *u, int32_t *out);
void tr_unpack_i64(tr_unpacker *u, int64_t *out);
void tr_unpack_f64(tr_unpacker *u, double *out);
void tr_unpack_pid(tr_unpacker *u, tr_pid *out);
/**@}*/
/** tr_unpack_str — *out points to the string, NUL-terminated, inside the
 * payload; *len (may be NULL) is its length. */
void tr_unpack_str(tr_unpacker *u, const char **out, size_t *len);
/** tr_unpack_bytes — *out points to the blob inside the payload (NULL when
 * empty), *len is its length. */
void tr_unpack_bytes(tr_unpacker *u, const void **out, size_t *len);

/** tr_unpacker_left — bytes not read yet (0 after an error). */
size_t tr_unpacker_left(const tr_unpacker *u);

/** tr_unpacker_error — the sticky error: TR_OK or TR_EBADMSG. */
tr_err tr_unpacker_error(const tr_unpacker *u);

/** tr_unpacker_end — TR_OK when everything was read without error;
 * TR_EBADMSG on an error or when bytes are left over. */
tr_err tr_unpacker_end(const tr_unpacker *u);

/** tr_pack — packs the values `picture` names (see above) into
 * buf[0..cap) and sets *len to their size. buf NULL with cap 0 only
 * measures. Errors: TR_EINVAL (a bad picture or argument), TR_ETOOBIG (no
 * room: *len is the size needed). */
tr_err tr_pack(void *buf, size_t cap, size_t *len, const char *picture, ...);

/**@{*/
/** tr_vpack, tr_vunpack — tr_pack and tr_unpack with a va_list (for
 * wrappers of their own: va_copy it to use it twice). */
tr_err tr_vpack(void *buf, size_t cap, size_t *len, const char *picture, va_list ap);
tr_err tr_vunpack(const void *data, size_t size, const char *picture, va_list ap);
/**@}*/

/** tr_pack_msg — packs the values `picture` names into a new unsent
 * message of `type`, sized exactly (send it with tr_send_msg or
 * tr_call_msg: no copy). On success *out owns it. Errors: as tr_pack and
 * tr_msg_new. */
tr_err tr_pack_msg(tr_atom type, tr_msg **out, const char *picture, ...);

/** tr_vpack_msg — tr_pack_msg with a va_list (left for the caller to
 * va_end; it is copied, not consumed twice). */
tr_err tr_vpack_msg(tr_atom type, tr_msg **out, const char *picture, va_list ap);

/** tr_unpack — reads the values `picture` names from data[0..size), which
 * they must fill exactly. Pointers it sets point into data. Errors:
 * TR_EINVAL (a bad picture), TR_EBADMSG (malformed, short, or bytes left
 * over); the outputs are then unspecified. */
tr_err tr_unpack(const void *data, size_t size, const char *picture, ...);

/** tr_unpack_msg — tr_unpack over a message's payload. */
tr_err tr_unpack_msg(const tr_msg *msg, const char *picture, ...);

#ifdef __cplusplus
}
#endif
#endif
