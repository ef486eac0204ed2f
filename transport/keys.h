/* keys.h — CURVE key pairs and the files they live in.
 *
 * Keys are Curve25519 (libsodium's crypto_box), 32 bytes, written as 40
 * Z85 characters. A node's key pair is two text files in CZMQ's
 * certificate format (ZPL, rfc.zeromq.org/spec:4), so CZMQ's zcert_load,
 * zcertstore and zauth read them as they are:
 *
 *     #   ****  Generated on 2024-05-01T12:00:00Z by troupe keygen  ****
 *     #   ZeroMQ CURVE **Secret** Certificate
 *     #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.
 *
 *     metadata
 *         name = "alpha"
 *         created = "2024-05-01T12:00:00Z"
 *     curve
 *         public-key = "<40 Z85 characters>"
 *         secret-key = "<40 Z85 characters>"
 *
 * NAME.key holds both keys and is created with mode 0600; NAME.pub is the
 * same without `secret-key`. (CZMQ itself names them NAME_secret and
 * NAME; zcert_load("NAME.key") still finds both keys.)
 *
 * Loading accepts exactly this subset of ZPL: `#` comment lines (indented
 * or not), blank lines, the sections `metadata` and `curve` at column 0,
 * and `name = "value"` (or 'value') lines indented by exactly 4 spaces,
 * each optionally followed by a `#` comment. Anything else is an error
 * naming file:line:column and what was expected. A file holding nothing
 * but one 40-character Z85 line is accepted too (the key itself).
 *
 * Secrets: key buffers are wiped with sodium_memzero after use; error
 * messages give positions and never quote text from a key file (a secret
 * key may sit in any of them, even one meant to be public). */
#ifndef TRI_KEYS_H
#define TRI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRI_KEY_BYTES   32
#define TRI_KEY_Z85_LEN 40
/* The longest node name (ZMQ_ZAP_DOMAIN takes at most 255 bytes). */
#define TRI_NODE_NAME_MAX 255

typedef struct tri_keypair {
    uint8_t public_key[TRI_KEY_BYTES];
    uint8_t secret_key[TRI_KEY_BYTES];
} tri_keypair;

/* Why a key file could not be written or loaded: one line, starting with
 * "path:line:column: " when the problem is at a place in the file. */
typedef struct tri_key_error {
    char text[512];
} tri_key_error;

/* tri_node_name_valid — whether `name` can name a node (and so a key
 * file): 1 to TRI_NODE_NAME_MAX characters from A-Z a-z 0-9 . _ @ -, not
 * starting with '.' or '-'. Thread-safe. */
bool tri_node_name_valid(const char *name);

/* tri_keypair_new — a fresh random key pair (crypto_box_keypair).
 * Errors: TR_EINVAL (kp NULL), TR_ENOMEM (libsodium failed to
 * initialise). Wipe it with tri_keypair_wipe when done. Thread-safe. */
int tri_keypair_new(tri_keypair *kp);

/* tri_keypair_wipe — overwrites both keys with zeros (sodium_memzero,
 * which the compiler may not drop). NULL does nothing. */
void tri_keypair_wipe(tri_keypair *kp);

/* tri_key_public_of — derives the public key of a secret key
 * (crypto_scalarmult_base, as zmq_curve_public). Errors: TR_EINVAL.
 * Thread-safe. */
int tri_key_public_of(const uint8_t secret_key[TRI_KEY_BYTES], uint8_t public_key[TRI_KEY_BYTES]);

/* tri_key_to_z85 — writes the 40 Z85 characters of `key` and a NUL to
 * `out`. Thread-safe. */
void tri_key_to_z85(const uint8_t key[TRI_KEY_BYTES], char out[TRI_KEY_Z85_LEN + 1]);

/* tri_key_from_z85 — decodes exactly 40 Z85 characters (NUL-terminated,
 * nothing else around them) into `key`. Errors: TR_EINVAL (wrong length,
 * a character outside Z85, or a group of 5 that overflows 32 bits); `key`
 * is then zeroed. Thread-safe. */
int tri_key_from_z85(const char *text, uint8_t key[TRI_KEY_BYTES]);

/* tri_keys_write — writes DIR/NAME.key (both keys, created with
 * O_CREAT|O_EXCL and mode 0600, never widened by a later chmod) and
 * DIR/NAME.pub (public key only, mode 0644 less the umask), with metadata
 * `name` = NAME and `created` = now (UTC, ISO 8601). `dir` NULL or ""
 * means the current directory. Neither file is ever overwritten: if
 * either exists nothing is written (and a .key this call created is
 * removed again). Both files are fsync'ed before returning. Errors:
 * TR_EINVAL (bad name or kp; or I/O error, see err), TR_EEXIST (a file
 * exists), TR_ENOENT (no such directory), TR_ENOMEM. `err` (may be NULL)
 * says why. Thread-safe. */
int tri_keys_write(const char *dir, const char *name, const tri_keypair *kp, tri_key_error *err);

/* tri_keys_load_secret — loads a secret key file (NAME.key, or a bare
 * Z85 secret key). The file is refused if, once opened, fstat shows it is
 * not a regular file or is readable or writable by group or others. With
 * both keys present, the public key must be the one the secret key
 * derives; a bare secret key gets its public key derived. `name` (may be
 * NULL; TRI_NODE_NAME_MAX + 1 bytes) gets the metadata `name`, or "" if
 * the file has none. Errors: TR_ENOENT (no such file), TR_EINVAL
 * (malformed, insecure permissions, unreadable: see err), TR_ENOMEM. On
 * error *kp is zeroed. Thread-safe. */
int tri_keys_load_secret(const char *path, tri_keypair *kp, char *name, tri_key_error *err);

/* tri_keys_load_public — loads a public key file (NAME.pub, or a bare Z85
 * public key). A file that also holds a `secret-key` is refused: public
 * files get copied around, and a secret must not travel with them.
 * `name` as for tri_keys_load_secret. Errors: TR_ENOENT, TR_EINVAL,
 * TR_ENOMEM (see err). Thread-safe. */
int tri_keys_load_public(const char *path, uint8_t public_key[TRI_KEY_BYTES], char *name,
                         tri_key_error *err);

/* tri_keys_curve_client — makes `socket` (a ZeroMQ socket, before its
 * connect) a CURVE client with key pair `kp` that only talks to a server
 * whose public key is `server_key`. Errors: TR_EINVAL (NULL arguments, or
 * libzmq refused an option: no CURVE support). Only the socket's thread. */
int tri_keys_curve_client(void *socket, const tri_keypair *kp,
                          const uint8_t server_key[TRI_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
