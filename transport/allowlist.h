/* allowlist.h — the public keys a node accepts, each optionally bound to
 * the one node name that may use it.
 *
 * Built from public key files (keys.h), one by one or a directory at a
 * time; the `name` in a file's metadata binds its key to that node name. A
 * key without a name may be used by any node. The ZAP handler (zap.h)
 * consults it to accept or refuse a CURVE key; after the troupe handshake
 * the node checks that the name its peer claims is one the key may use
 * (tri_allowlist_check), which stops an allowlisted key from posing as
 * another node.
 *
 * Lifetime and threads: an allowlist is reference-counted. It may be
 * changed only while its creator holds the only reference (the add
 * functions refuse with TR_ESTATE otherwise); once shared (tri_allowlist_ref,
 * tri_zap_domain_add) it is immutable, and lookups from any thread need no
 * lock. To change the keys of a running node, build a new allowlist and
 * swap it in (tri_zap_domain_replace). */
#ifndef TRI_ALLOWLIST_H
#define TRI_ALLOWLIST_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tri_allowlist tri_allowlist;

/* What tri_allowlist_check found. */
typedef enum tri_key_verdict {
    TRI_KEY_UNKNOWN = 0,    /* not in the allowlist */
    TRI_KEY_ALLOWED = 1,    /* in it, and the node name may use it */
    TRI_KEY_OTHER_NODE = 2, /* in it, but bound to another node name */
} tri_key_verdict;

/* tri_allowlist_new — an empty allowlist, with one reference (the
 * caller's). Errors: TR_EINVAL, TR_ENOMEM. Thread-safe. */
int tri_allowlist_new(tri_allowlist **out);

/* tri_allowlist_ref — takes another reference and returns `al`. After
 * this the allowlist can no longer be changed. Thread-safe. */
tri_allowlist *tri_allowlist_ref(tri_allowlist *al);

/* tri_allowlist_release — drops the reference *al holds and sets *al to
 * NULL (NULL or *al NULL does nothing); the last one frees it. Names that
 * lookups returned stay valid only while their caller holds a reference.
 * Thread-safe. */
void tri_allowlist_release(tri_allowlist **al);

/* tri_allowlist_add — allows `key`, bound to `name` (a valid node name),
 * or to any node if `name` is NULL or "". Adding a key again with the same
 * binding does nothing. Errors: TR_EINVAL (bad name), TR_EEXIST (the key
 * is already there with another binding), TR_ESTATE (shared, so
 * immutable), TR_ENOMEM. */
int tri_allowlist_add(tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES], const char *name);

/* tri_allowlist_add_file — adds the key of a public key file
 * (tri_keys_load_public), bound to the `name` in its metadata if it has
 * one. Errors as tri_keys_load_public and tri_allowlist_add; `err` (may be
 * NULL) says why. */
int tri_allowlist_add_file(tri_allowlist *al, const char *path, tri_key_error *err);

/* tri_allowlist_add_dir — adds every regular file in `dir` whose name
 * ends in ".pub" (other files, .key files included, and subdirectories
 * are ignored), in name order. All or nothing: if any file fails to load or
 * conflicts, the allowlist is left as it was and `err` names the file.
 * `added` (may be NULL) gets the number of keys that were new. Errors:
 * TR_ENOENT (no such directory), and as tri_allowlist_add_file. */
int tri_allowlist_add_dir(tri_allowlist *al, const char *dir, size_t *added, tri_key_error *err);

/* tri_allowlist_count — the number of keys. */
size_t tri_allowlist_count(const tri_allowlist *al);

/* tri_allowlist_lookup — whether `key` is allowed: TR_OK and *name (may
 * be NULL) set to the node name it is bound to, or to NULL if any node
 * may use it; TR_ENOENT if it is not in the allowlist (or `al` is NULL).
 * Lock-free once shared; any thread. */
int tri_allowlist_lookup(const tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES],
                         const char **name);

/* tri_allowlist_lookup_z85 — the same for a key in Z85 (the User-Id that
 * the ZAP handler gives every message of a CURVE connection). TR_ENOENT
 * also for text that is not a Z85 key. */
int tri_allowlist_lookup_z85(const tri_allowlist *al, const char *z85, const char **name);

/* tri_allowlist_check — may node `node` use `key`? TRI_KEY_ALLOWED if the
 * key is unbound or bound to `node`; TRI_KEY_OTHER_NODE if it is bound to
 * another name (*bound, may be NULL, gets that name); TRI_KEY_UNKNOWN if
 * the key is not there. Any thread. */
tri_key_verdict tri_allowlist_check(const tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES],
                                    const char *node, const char **bound);

#ifdef __cplusplus
}
#endif
#endif
