/** @file
 * troupe/args.h — structured spawn args: a compact serialized key/value
 * form and the accessors a behaviour's init reads it with.
 *
 * A child's `args:` in a config (any YAML mapping, list or scalar) reaches
 * its behaviour's init as these bytes; C code builds the same bytes with
 * the tr_args_builder below, so a tree built in C and one loaded from YAML
 * hand their behaviours identical args. A behaviour needs no YAML: it asks
 * for a value by path and type.
 *
 *     int64_t shards = 1;
 *     int rc = tr_args_int(args, size, "shards", &shards);
 *     if (rc != TR_OK && rc != TR_ENOENT) return tr_fail(ctx, "args: shards");
 *
 * Paths. Keys separated by dots, list items by index in brackets (or as a
 * dotted number): "db.host", "servers[1].port", "servers.1.port". NULL is
 * the root itself. When a config's `args:` is not a mapping (`args: 5`,
 * `args: [a, b]`) its value sits under the empty key: read it with path ""
 * (and its items with "[0]", "[1]", ...). A key that contains '.' or '['
 * is reached by iteration (tr_args_iter_*) instead.
 *
 * Layers. Several args buffers concatenated are one valid args buffer, in
 * which a key of a later buffer overrides the same key of an earlier one.
 * This is what a simple_one_for_one supervisor does with start_child's
 * args: appended to the template's, they override its defaults.
 *
 * Types. YAML scalars are typed as YAML 1.2's core schema says: null, bool
 * (true/false), int (decimal, 0x hex, 0o octal, in int64), float, and
 * anything else (or anything quoted, or tagged !!str) a string. Durations
 * and sizes are strings ("250ms", "64KiB") converted when read, by the
 * same rules as the config's own keys (troupe/config.h).
 *
 * Safety. Every accessor checks every length and tag against the buffer's
 * bounds; malformed bytes (a truncated buffer, a bad tag, a string without
 * its terminator, nesting deeper than 64) are refused with TR_EINVAL and
 * never read past `size`. tr_args_check validates a whole buffer and says
 * what is wrong where. Nothing here allocates except the builder. All
 * functions are thread-safe (they only read their arguments).
 *
 * The encoding (version 1), for the curious and for other languages:
 *     args  := chunk+
 *     chunk := 0xFF 'T' 'A' 0x01  entry*
 *     entry := klen:u8 (0..254) key[klen] 0x00  value
 *     value := 'n' | 't' | 'f' | 'i' zigzag-LEB128 | 'd' f64-LE
 *            | 's' LEB128-len bytes[len] 0x00
 *            | 'm' u32-LE body-len  u32-LE count  entry{count}
 *            | 'l' u32-LE body-len  u32-LE count  value{count}
 * (body-len counts the bytes after the count.) */
#ifndef TROUPE_ARGS_H
#define TROUPE_ARGS_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest nesting of maps and lists accepted, in the encoding and in a
 * config's args. */
#define TR_ARGS_MAX_DEPTH 64
/** Longest key, in bytes. */
#define TR_ARGS_MAX_KEY 254

/** The type of an args value (tr_args_value.type). */
typedef enum tr_args_type {
    TR_ARGS_NULL = 0,
    TR_ARGS_BOOL = 1,
    TR_ARGS_INT = 2,
    TR_ARGS_FLOAT = 3,
    TR_ARGS_STR = 4,
    TR_ARGS_MAP = 5,
    TR_ARGS_LIST = 6,
} tr_args_type;

/** One value, as tr_args_get and iteration report it. Scalars are decoded
 * into the field of their type; strings and containers point into the
 * args bytes and are valid as long as those are. */
typedef struct tr_args_value {
    tr_args_type type; /**< which of the fields below holds the value */
    bool b;         /**< TR_ARGS_BOOL */
    int64_t i;      /**< TR_ARGS_INT */
    double f;       /**< TR_ARGS_FLOAT */
    const char *s;  /**< TR_ARGS_STR: NUL-terminated (and may hold NULs: see len) */
    size_t len;     /**< TR_ARGS_STR: its length in bytes */
    uint32_t count; /**< TR_ARGS_MAP, TR_ARGS_LIST: entries or items */
    /**@{*/
    /** internal: the encoded container, for tr_args_value_get and iteration */
    const unsigned char *raw;
    size_t raw_size;
    /**@}*/
} tr_args_value;

/** tr_args_type_name — "null", "bool", "int", "float", "string", "map",
 * "list". */
const char *tr_args_type_name(tr_args_type type);

/** tr_args_check — validates a whole args buffer (every chunk, every value,
 * every length). size 0 is valid (no args: every lookup is TR_ENOENT).
 * Errors: TR_EINVAL, with the reason and byte offset written into `why`
 * (if not NULL). */
tr_err tr_args_check(const void *args, size_t size, char *why, size_t why_size);

/** tr_args_get — the value at `path` (NULL: the root, a map). Errors:
 * TR_ENOENT (no such key or index), TR_EINVAL (malformed bytes, a bad
 * path, or a path that goes through a scalar). */
tr_err tr_args_get(const void *args, size_t size, const char *path, tr_args_value *out);

/** tr_args_value_get — as tr_args_get, relative to a map or list value
 * (one that tr_args_get or iteration returned). */
tr_err tr_args_value_get(const tr_args_value *base, const char *path, tr_args_value *out);

/* Typed getters: the value at `path` converted to the C type. They fail
 * with TR_ENOENT when the path names nothing (so a caller can apply a
 * default) and with TR_EINVAL when it names a value of another type (or
 * as tr_args_get). Out-parameters are written only on TR_OK. */

/** tr_args_str — a string (not converted from other types). *len (may be
 * NULL) gets its length. */
tr_err tr_args_str(const void *args, size_t size, const char *path, const char **out, size_t *len);
/** tr_args_int — an int. */
tr_err tr_args_int(const void *args, size_t size, const char *path, int64_t *out);
/** tr_args_float — a float, or an int converted. */
tr_err tr_args_float(const void *args, size_t size, const char *path, double *out);
/** tr_args_bool — a bool. */
tr_err tr_args_bool(const void *args, size_t size, const char *path, bool *out);
/** tr_args_duration — a duration string ("250ms", "5s", "1m", "1h30m",
 * "0") in milliseconds, or "infinity" as TR_INFINITY (-1). A duration
 * with a part below one millisecond ("500us") is TR_EINVAL: use the
 * value's string if you need microseconds. A bare number is TR_EINVAL
 * (which unit?), except 0. */
tr_err tr_args_duration(const void *args, size_t size, const char *path, int64_t *ms);
/** tr_args_size — a size string ("64KiB", "1MiB", "10kB", "512B") or a
 * non-negative int, in bytes. */
tr_err tr_args_size(const void *args, size_t size, const char *path, uint64_t *bytes);
/** tr_args_count — the entries of a map (NULL path: of the root, keys
 * overridden by a later layer counted once) or the items of a list. */
tr_err tr_args_count(const void *args, size_t size, const char *path, size_t *out);

/**@{*/
/** tr_args_value_duration, tr_args_value_size — the same conversions of a
 * value already in hand (from iteration). Errors: TR_EINVAL. */
tr_err tr_args_value_duration(const tr_args_value *v, int64_t *ms);
tr_err tr_args_value_size(const tr_args_value *v, uint64_t *bytes);
/**@}*/

/** Iteration over a map's entries (in order, keys overridden by a later
 * layer skipped) or a list's items. The iterator holds no resources. */
typedef struct tr_args_iter {
    /**@{*/
    /** internal */
    const unsigned char *args, *pos, *end;
    size_t size;
    uint32_t left;
    /**@}*/
    int mode; /**< 0: root chunks, 1: map, 2: list, 3: done */
} tr_args_iter;

/** tr_args_iter_init — starts iterating the map or list at `path` (NULL:
 * the root). Errors: as tr_args_get; TR_EINVAL when it names a scalar. */
tr_err tr_args_iter_init(tr_args_iter *it, const void *args, size_t size, const char *path);

/** tr_args_iter_value — starts iterating a map or list value in hand. */
tr_err tr_args_iter_value(tr_args_iter *it, const tr_args_value *container);

/** tr_args_iter_next — the next entry: *key (may be NULL; NULL for list
 * items; NUL-terminated, pointing into the args) and *value. Returns
 * TR_OK, TR_ENOENT at the end, TR_EINVAL on malformed bytes (iteration
 * then stays at its end). */
tr_err tr_args_iter_next(tr_args_iter *it, const char **key, tr_args_value *value);

/* -------------------------------------------------------------- builder */

/** Builds args bytes from C. Calls add values in order; a map or list is
 * opened with tr_args_begin_map/list and closed with tr_args_end. At the
 * root and in maps every value needs a key (0 to 254 bytes); in lists the
 * key must be NULL. The first misuse or allocation failure sticks and is
 * returned by every later call and by tr_args_finish. A builder is used by
 * one thread at a time. */
typedef struct tr_args_builder tr_args_builder;

/** tr_args_builder_new — an empty builder. Errors: TR_EINVAL, TR_ENOMEM. */
tr_err tr_args_builder_new(tr_args_builder **out);

/**@{*/
/** tr_args_put_* — add one value. Errors: TR_EINVAL (a key where none is
 * allowed or none where one is needed, a key too long), TR_ENOMEM. */
tr_err tr_args_put_null(tr_args_builder *b, const char *key);
tr_err tr_args_put_bool(tr_args_builder *b, const char *key, bool v);
tr_err tr_args_put_int(tr_args_builder *b, const char *key, int64_t v);
tr_err tr_args_put_float(tr_args_builder *b, const char *key, double v);
tr_err tr_args_put_str(tr_args_builder *b, const char *key, const char *s); /**< @copydoc tr_args_put_null copied */
tr_err tr_args_begin_map(tr_args_builder *b, const char *key);
tr_err tr_args_begin_list(tr_args_builder *b, const char *key);
/**@}*/
/** tr_args_end — closes the innermost open map or list. Errors: TR_EINVAL
 * (none is open). */
tr_err tr_args_end(tr_args_builder *b);

/** tr_args_finish — hands the bytes over: *out (malloc'd; free() it) and
 * *size. Every map and list must be closed. The builder is empty again
 * afterwards. Errors: the first error of the builder, TR_EINVAL (a map or
 * list left open), TR_ENOMEM. */
tr_err tr_args_finish(tr_args_builder *b, void **out, size_t *size);

/** tr_args_builder_destroy — frees the builder and sets *b to NULL. Accepts
 * NULL and a pointer to NULL. */
void tr_args_builder_destroy(tr_args_builder **b);

#ifdef __cplusplus
}
#endif
#endif
