/* wire.h — the transport's wire codec: frames to bytes and bytes to frames.
 *
 * Pure: no I/O, no locks, no global state of its own (atoms are resolved
 * through a tri_wire_atoms table, by default the process atom table). One
 * encoder and one decoder hold one session's state, one per direction: the
 * atom cache. Neither is thread-safe; each belongs to the one thread that
 * owns the session (the transport's I/O thread). docs/wire.md describes the
 * format byte by byte; this header describes the calls.
 *
 * Encoding calls return TR_OK or a negative TR_E* code (troupe/error.h).
 * Decoding returns TRI_WIRE_OK or a negative TRI_WIRE_E* code below, a
 * range that never overlaps TR_E*; tri_wire_strerror names both. */
#ifndef TRI_WIRE_H
#define TRI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe.h"

/* ---------------------------------------------------------------- format */

#define TRI_WIRE_MAGIC0        'T'
#define TRI_WIRE_MAGIC1        'R'
#define TRI_WIRE_VERSION       1    /* the only version this codec speaks */
#define TRI_WIRE_HEADER        4    /* magic, version, kind */
#define TRI_WIRE_ATOM_SLOTS    4096 /* per-direction atom cache size */
#define TRI_WIRE_KEY_LEN       32   /* a public key: 0 or this many bytes */
#define TRI_WIRE_MAX_RECORDS   65536
#define TRI_WIRE_EXIT_KIND_MAX 6 /* exit kinds 0..6 (tr_exit_kind) */
#define TRI_WIRE_ON_FULL_MAX 3   /* tr_full_policy 0..3 */

/* Frame kinds (the header's 4th byte). */
enum {
    TRI_WIRE_HELLO = 1,
    TRI_WIRE_WELCOME = 2,
    TRI_WIRE_REFUSE = 3,
    TRI_WIRE_BATCH = 4,
    TRI_WIRE_BYE = 5,
    TRI_WIRE_GOSSIP = 6,
    TRI_WIRE_TREE_REQ = 7,
    TRI_WIRE_TREE_REP = 8,
};

/* Record types inside a BATCH. DEFINE_ATOM records are the codec's own:
 * the encoder emits them and the decoder consumes them; a sink never sees
 * one. */
enum {
    TRI_WIRE_R_DEFINE_ATOM = 1,
    TRI_WIRE_R_MSG = 2,
    TRI_WIRE_R_SEND_NAMED = 3,
    TRI_WIRE_R_MONITOR = 4,
    TRI_WIRE_R_DEMONITOR = 5,
    TRI_WIRE_R_LINK = 6,
    TRI_WIRE_R_UNLINK = 7,
    TRI_WIRE_R_EXIT = 8,
    TRI_WIRE_R_SPAWN_REQ = 9,
    TRI_WIRE_R_SPAWN_REPLY = 10,
    TRI_WIRE_R_STOP_CHILD = 11,
    TRI_WIRE_R_CHILD_EXIT = 12,
};

/* tri_wire_send.call: the message's role in a request/reply exchange. */
enum {
    TRI_WIRE_CALL_NONE = 0,
    TRI_WIRE_CALL_REQUEST = 1,
    TRI_WIRE_CALL_REPLY = 2,
    TRI_WIRE_CALL_DOWN = 3, /* a "tr.down" answer or monitor notice */
};

/* REFUSE reasons. */
enum {
    TRI_WIRE_REFUSE_VERSION = 1,
    TRI_WIRE_REFUSE_NOT_ALLOWED = 2,
    TRI_WIRE_REFUSE_DUPLICATE = 3,
    TRI_WIRE_REFUSE_SHUTTING_DOWN = 4,
    TRI_WIRE_REFUSE_ID_COLLISION = 5,
    TRI_WIRE_REFUSE_MALFORMED = 6,
};

/* Flag bits. Bits not named here are carried through unchanged: the
 * receiver ignores the ones it does not know. */
#define TRI_WIRE_MSG_EXEMPT       0x01u /* tri_wire_send.flags: skips mailbox bounds */
#define TRI_WIRE_EXIT_UNTRAPPABLE 0x01u /* tri_wire_exit.flags */
#define TRI_WIRE_EXIT_OVER_LINK   0x02u /* tri_wire_exit.flags */

/* ------------------------------------------------------- decoded values */

/* Text and bytes are (pointer, length), never NUL-terminated. In decoded
 * values they point into the frame being decoded: valid only during the
 * sink call, so a sink copies what it keeps. Text fields never contain a
 * NUL byte (the codec refuses one both ways), so a copy plus a NUL is a
 * faithful C string. */
typedef struct tri_wire_str {
    const char *ptr;
    size_t len;
} tri_wire_str;

typedef struct tri_wire_bytes {
    const uint8_t *ptr;
    size_t len;
} tri_wire_bytes;

/* MSG (to) and SEND_NAMED (name). */
typedef struct tri_wire_send {
    tr_pid to;         /* MSG only */
    tri_wire_str name; /* SEND_NAMED only: 1..255 bytes */
    tr_pid from;
    tr_atom type;       /* a local atom id; never {0} */
    uint8_t call;       /* TRI_WIRE_CALL_* */
    uint64_t ref;       /* call != NONE; 0 otherwise */
    int64_t timeout_ms; /* call == REQUEST: remaining ms (>= 0) or TR_INFINITY; 0 otherwise */
    uint8_t flags;      /* TRI_WIRE_MSG_* */
    tri_wire_bytes payload;
} tri_wire_send;

/* MONITOR and DEMONITOR. */
typedef struct tri_wire_monitor {
    tr_pid target, watcher;
    uint64_t ref;
} tri_wire_monitor;

/* LINK and UNLINK. */
typedef struct tri_wire_link {
    tr_pid target, from;
} tri_wire_link;

typedef struct tri_wire_exit {
    tr_pid target, from;
    uint8_t kind;  /* 0..TRI_WIRE_EXIT_KIND_MAX */
    uint8_t flags; /* TRI_WIRE_EXIT_* */
    tri_wire_str text;
} tri_wire_exit;

typedef struct tri_wire_spawn_req {
    uint64_t ref;
    tr_pid parent;
    tri_wire_str behaviour; /* 1..255 bytes */
    tri_wire_str name;      /* 0..255 bytes */
    int64_t shutdown_ms;
    uint32_t flags;
    tri_wire_bytes args;
    tri_wire_str register_as; /* 0..255 bytes: none when empty */
    uint32_t capacity;        /* the child's mailbox bound (0: none) */
    uint8_t on_full;          /* tr_full_policy: 0..3 */
} tri_wire_spawn_req;

typedef struct tri_wire_spawn_reply {
    uint64_t ref;
    tr_pid child;   /* nil exactly when status != 0 */
    int32_t status; /* 0 started, 1 ignored (its init said so), or a
                     * negative TR_E* code */
    tri_wire_str text;
    tr_pid parent;  /* whom it answers: the SPAWN_REQ's parent */
} tri_wire_spawn_reply;

typedef struct tri_wire_stop_child {
    tr_pid child, parent;
    uint8_t kill; /* 0 or 1 */
} tri_wire_stop_child;

typedef struct tri_wire_child_exit {
    tr_pid child, parent;
    uint8_t kind; /* 0..TRI_WIRE_EXIT_KIND_MAX */
    tri_wire_str text;
} tri_wire_child_exit;

/* One record of a BATCH: `type` (TRI_WIRE_R_*) says which member is set. */
typedef struct tri_wire_record {
    uint8_t type;
    union {
        tri_wire_send send;               /* MSG, SEND_NAMED */
        tri_wire_monitor monitor;         /* MONITOR, DEMONITOR */
        tri_wire_link link;               /* LINK, UNLINK */
        tri_wire_exit exit;               /* EXIT */
        tri_wire_spawn_req spawn_req;     /* SPAWN_REQ */
        tri_wire_spawn_reply spawn_reply; /* SPAWN_REPLY */
        tri_wire_stop_child stop_child;   /* STOP_CHILD */
        tri_wire_child_exit child_exit;   /* CHILD_EXIT */
    };
} tri_wire_record;

/* A node as HELLO, WELCOME and GOSSIP describe it. */
typedef struct tri_wire_node {
    uint32_t node_id;
    tri_wire_str name;             /* 1..255 bytes */
    const tri_wire_str *endpoints; /* each 1..65535 bytes; decoded: the decoder's array */
    size_t nendpoints;             /* 0..255 */
    tri_wire_bytes key;            /* 0 or TRI_WIRE_KEY_LEN bytes */
} tri_wire_node;

/* HELLO (min_version, max_version) and WELCOME (version). */
typedef struct tri_wire_hello {
    uint8_t min_version, max_version; /* HELLO: 1 <= min <= max */
    uint8_t version;                  /* WELCOME: >= 1 */
    uint64_t flags;
    tri_wire_node node;
    uint32_t max_frame;
    tri_wire_bytes extension; /* skipped by this version; carried through */
} tri_wire_hello;

/* Any frame but a BATCH: `kind` (TRI_WIRE_*) says which member is set. */
typedef struct tri_wire_ctl {
    uint8_t kind;
    union {
        tri_wire_hello hello; /* HELLO, WELCOME */
        struct {
            uint8_t reason; /* TRI_WIRE_REFUSE_* */
            tri_wire_str text;
        } refuse;
        struct {
            uint8_t reason; /* any value: its meaning is the session's */
        } bye;
        struct {
            /* A GOSSIP frame reaches the sink as `count` calls, one per
             * node (index 0..count-1), or as one call with count 0 and an
             * all-zero node when it lists none. */
            uint64_t index, count;
            tri_wire_node node;
        } gossip;
        struct {
            uint8_t flags;
        } tree_req;
        tri_wire_bytes tree_rep; /* the whole body, opaque to the codec */
    };
} tri_wire_ctl;

/* ----------------------------------------------------------------- atoms */

/* How the codec maps atom names to local atom ids and back. NULL members
 * (or a NULL table) mean the process atom table: tr_atom_from and
 * tr_atom_name. An encoder or decoder keeps the table it was made with. */
typedef struct tri_wire_atoms {
    /* The atom for `name` (NUL-terminated, 1..255 printable ASCII bytes),
     * interned if new; {0} when the table cannot take it. */
    tr_atom (*intern)(void *user, const char *name);
    /* The name of `atom`; "" when unknown. Must stay valid as long as the
     * encoder or decoder using it. */
    const char *(*name)(void *user, tr_atom atom);
    void *user;
} tri_wire_atoms;

/* ---------------------------------------------------------------- buffer */

/* A growable byte buffer owned by the caller; the encoder appends to it.
 * Zero-initialise it ({0}) before first use. */
typedef struct tri_wire_buf {
    uint8_t *data;
    size_t len, cap;
} tri_wire_buf;

/* tri_wire_buf_fini — frees the buffer's bytes and zeroes it. Accepts a
 * zeroed buffer. */
void tri_wire_buf_fini(tri_wire_buf *buf);

/* --------------------------------------------------------------- encoder */

typedef struct tri_wire_enc tri_wire_enc;

/* tri_wire_enc_new — an encoder for one direction of a session, its atom
 * cache empty (a session starts empty on both sides). `atoms` is copied;
 * NULL means the process atom table. Returns NULL when out of memory. */
tri_wire_enc *tri_wire_enc_new(const tri_wire_atoms *atoms);

/* tri_wire_enc_destroy — frees the encoder and sets *enc to NULL. Accepts
 * NULL and a pointer to NULL. A batch still open is abandoned (the buffer
 * keeps whatever bytes were appended). */
void tri_wire_enc_destroy(tri_wire_enc **enc);

/* tri_wire_enc_forget — forgets every atom definition the encoder believes
 * the peer holds, so each atom is defined again before its next use.
 * Call it when a finished frame is dropped instead of sent: the peer never
 * saw its definitions. Always safe (it only costs bytes). */
void tri_wire_enc_forget(tri_wire_enc *enc);

/* tri_wire_batch_begin — opens a BATCH frame at the end of `buf`, which
 * the encoder then appends to until finish or abort (the caller must not
 * touch `buf` meanwhile). Errors: TR_ESTATE (a batch is already open),
 * TR_ENOMEM. */
int tri_wire_batch_begin(tri_wire_enc *enc, tri_wire_buf *buf);

/* tri_wire_batch_add — appends one record (any TRI_WIRE_R_* but
 * DEFINE_ATOM). A MSG or SEND_NAMED whose type atom is not in the cache
 * first appends a DEFINE_ATOM for it. The record's text and bytes are
 * copied. On error nothing is appended and the cache is unchanged.
 * Errors: TR_ESTATE (no batch open), TR_EINVAL (a field outside its range:
 * see each struct; an atom whose name is not 1..255 printable ASCII
 * 0x21..0x7e; a pid with serial 0 that is not TR_PID_NIL; a text with a NUL
 * byte), TR_ETOOBIG (payload or args over TR_MSG_MAX), TR_EFULL (the frame
 * holds TRI_WIRE_MAX_RECORDS records: finish it), TR_ENOMEM. */
int tri_wire_batch_add(tri_wire_enc *enc, const tri_wire_record *rec);

/* tri_wire_batch_size — the size in bytes the open batch frame would have
 * if finished now (0 when none is open); compare it with a threshold to
 * decide when to finish. */
size_t tri_wire_batch_size(const tri_wire_enc *enc);

/* tri_wire_batch_count — the records in the open batch, definitions
 * included (0 when none is open). */
uint32_t tri_wire_batch_count(const tri_wire_enc *enc);

/* tri_wire_batch_finish — closes the batch. The frame is the bytes
 * buf->data[*off .. buf->len): it starts up to 2 bytes after the point
 * where the batch began, because room for the longest record count was
 * reserved and the count is written minimal, right-aligned (no move).
 * Once finished, the frame must be sent, or tri_wire_enc_forget called.
 * Errors: TR_ESTATE (no batch open, or it holds no record: abort it). */
int tri_wire_batch_finish(tri_wire_enc *enc, size_t *off, size_t *len);

/* tri_wire_batch_abort — abandons the open batch: `buf` goes back to its
 * length before tri_wire_batch_begin and the encoder forgets its atom
 * definitions (as tri_wire_enc_forget). No-op when none is open. */
void tri_wire_batch_abort(tri_wire_enc *enc);

/* tri_wire_encode_ctl — appends one complete frame of any kind but BATCH
 * and GOSSIP to `buf`; the frame starts at the buffer's length on entry.
 * For GOSSIP use tri_wire_encode_gossip. Needs no encoder (these frames
 * use no atoms). On error `buf` is unchanged. Errors: TR_EINVAL (kind,
 * or a field outside its range: see the structs), TR_ENOMEM. */
int tri_wire_encode_ctl(tri_wire_buf *buf, const tri_wire_ctl *ctl);

/* tri_wire_encode_gossip — appends a GOSSIP frame listing `count` nodes
 * (0 allowed). On error `buf` is unchanged. Errors: TR_EINVAL (a node's
 * field outside its range), TR_ENOMEM. */
int tri_wire_encode_gossip(tri_wire_buf *buf, const tri_wire_node *nodes, size_t count);

/* --------------------------------------------------------------- decoder */

/* Decoding errors: why a frame was refused. Each has a counter in the
 * decoder (tri_wire_stats.rejected). */
enum {
    TRI_WIRE_OK = 0,
    TRI_WIRE_ESIZE = -101,      /* the frame is larger than limits.max_frame */
    TRI_WIRE_ETRUNCATED = -102, /* a fixed field or varint runs past its frame or record */
    TRI_WIRE_EMAGIC = -103,     /* the frame does not start with 'T' 'R' */
    TRI_WIRE_EVERSION = -104,   /* unknown version in the header */
    TRI_WIRE_EKIND = -105,      /* unknown frame kind */
    TRI_WIRE_EVARINT = -106,    /* a varint over 64 bits or not minimal */
    TRI_WIRE_ELENGTH = -107,    /* a declared length runs past its frame or record */
    TRI_WIRE_ETRAILING = -108,  /* bytes after the frame's last field or record */
    TRI_WIRE_ERTYPE = -109,     /* unknown record type */
    TRI_WIRE_ERECORDS = -110,   /* a batch of 0 records, or more than limits.max_records */
    TRI_WIRE_ESLOT = -111,      /* an atom slot >= TRI_WIRE_ATOM_SLOTS */
    TRI_WIRE_EUNDEFINED = -112, /* a reference to an atom slot never defined */
    TRI_WIRE_EATOM = -113,      /* an atom name empty, too long, or not printable ASCII */
    TRI_WIRE_EPAYLOAD = -114,   /* a payload or args larger than limits.max_payload */
    TRI_WIRE_EBUDGET = -115,    /* a new atom past limits.max_new_atoms */
    TRI_WIRE_EFIELD = -116,     /* a value outside its field's range */
    TRI_WIRE_ETEXT = -117,      /* a text with a NUL byte, or empty where it may not be */
    TRI_WIRE_ENOMEM = -118,     /* out of memory here, or the atom table is full */
};
#define TRI_WIRE_NERRORS 19 /* rejected[] entries: [0] all, [-err - 100] each */

/* Exact limits a decoder enforces; each violation has its error above. */
typedef struct tri_wire_limits {
    uint32_t max_frame;     /* bytes per frame; default TR_MSG_MAX + 64 KiB */
    uint32_t max_records;   /* records per BATCH, definitions included; default 65536 */
    uint32_t max_payload;   /* bytes per payload or spawn args; default TR_MSG_MAX */
    uint32_t max_atom_len;  /* bytes per atom name; default (and at most) 255 */
    uint32_t max_new_atoms; /* distinct atom names per session; default 10000 */
} tri_wire_limits;

/* tri_wire_limits_default — the defaults above. */
tri_wire_limits tri_wire_limits_default(void);

/* Where a decoder delivers what it decoded. Either member may be NULL
 * (that kind of frame is then validated and dropped). Sinks must not call
 * back into the same decoder. */
typedef struct tri_wire_sink {
    /* Once per record of an accepted BATCH, in frame order. */
    void (*record)(void *user, const tri_wire_record *rec);
    /* Once per accepted frame of another kind (GOSSIP: once per node). */
    void (*control)(void *user, const tri_wire_ctl *ctl);
} tri_wire_sink;

typedef struct tri_wire_stats {
    uint64_t frames;                     /* frames accepted */
    uint64_t records;                    /* records delivered (definitions not included) */
    uint64_t new_atoms;                  /* distinct atom names the peer made this side resolve */
    uint64_t rejected[TRI_WIRE_NERRORS]; /* [0] frames refused; [-err - 100] by error */
} tri_wire_stats;

typedef struct tri_wire_dec tri_wire_dec;

/* tri_wire_dec_new — a decoder for one direction of a session, its atom
 * cache empty. `atoms` as tri_wire_enc_new. Returns NULL when out of
 * memory. */
tri_wire_dec *tri_wire_dec_new(const tri_wire_atoms *atoms);

/* tri_wire_dec_destroy — frees the decoder and sets *dec to NULL. Accepts
 * NULL and a pointer to NULL. */
void tri_wire_dec_destroy(tri_wire_dec **dec);

/* tri_wire_decode — validates the frame p[0..n) in full, then delivers it
 * to `sink` (with `user`) and returns TRI_WIRE_OK; or refuses it whole and
 * returns the first violation found: no sink call is made for a refused
 * frame, and the frame leaves the session's atom cache as it was. Atoms a
 * refused frame defined stay interned and charged to the session's budget
 * (the atom table never forgets). Counts the outcome in the stats. A
 * refusal is about this frame only: the decoder stays usable. `limits`
 * NULL means the defaults. Every pointer the sink gets points into p,
 * except tri_wire_node.endpoints (an array the decoder reuses): all are
 * valid only during the sink call. */
int tri_wire_decode(tri_wire_dec *dec, const uint8_t *p, size_t n, const tri_wire_limits *limits,
                    const tri_wire_sink *sink, void *user);

/* tri_wire_dec_stats — copies the decoder's counters into *out. */
void tri_wire_dec_stats(const tri_wire_dec *dec, tri_wire_stats *out);

/* ----------------------------------------------------------------- names */

/* tri_wire_strerror — a short static name for a TRI_WIRE_E* code or,
 * failing that, tr_strerror's text for a TR_E* code. Never NULL. */
const char *tri_wire_strerror(int err);

/* tri_wire_kind_name — "hello", "batch", ...; "unknown" otherwise. */
const char *tri_wire_kind_name(int kind);

/* tri_wire_rtype_name — "define_atom", "msg", ...; "unknown" otherwise. */
const char *tri_wire_rtype_name(int rtype);

#endif
