/* allowlist.c — allowed public keys and the node names bound to them.
 *
 * An array searched linearly: it is consulted once per connection
 * handshake, not per message, and holds a node's peers (tens, maybe
 * hundreds). Public keys are not secret; nothing here needs wiping. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../actors/core.h"
#include "allowlist.h"

typedef struct entry {
    uint8_t key[TRI_KEY_BYTES];
    char *name; /* NULL: any node */
} entry;

struct tri_allowlist {
    _Atomic unsigned refs;
    size_t n, cap;
    entry *v;
};

int tri_allowlist_new(tri_allowlist **out)
{
    if (!out) return TR_EINVAL;
    tri_allowlist *al = calloc(1, sizeof *al);
    if (!al) return TR_ENOMEM;
    atomic_init(&al->refs, 1);
    *out = al;
    return TR_OK;
}

tri_allowlist *tri_allowlist_ref(tri_allowlist *al)
{
    if (al) atomic_fetch_add_explicit(&al->refs, 1, memory_order_relaxed);
    return al;
}

void tri_allowlist_release(tri_allowlist **p)
{
    if (!p || !*p) return;
    tri_allowlist *al = *p;
    *p = NULL;
    /* acq_rel: the last releaser sees every write made before the others
     * let go (the entries were written before the first share anyway). */
    if (atomic_fetch_sub_explicit(&al->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < al->n; i++)
        free(al->v[i].name);
    free(al->v);
    free(al);
}

static entry *find(const tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES])
{
    for (size_t i = 0; i < al->n; i++)
        if (memcmp(al->v[i].key, key, TRI_KEY_BYTES) == 0) return &al->v[i];
    return NULL;
}

static bool same_name(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* Describes a conflict: never a secret here, keys are public. */
static void conflict(tri_key_error *err, const char *where, const uint8_t key[TRI_KEY_BYTES],
                     const char *had, const char *wanted)
{
    if (!err) return;
    char z[TRI_KEY_Z85_LEN + 1];
    tri_key_to_z85(key, z);
    snprintf(err->text, sizeof err->text,
             "%s%skey %s is already allowed for %s%s; refusing to allow it for %s%s too",
             where ? where : "", where ? ": " : "", z, had ? "node " : "any node", had ? had : "",
             wanted ? "node " : "any node", wanted ? wanted : "");
}

static int add(tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES], const char *name,
               const char *where, tri_key_error *err)
{
    if (name && !*name) name = NULL;
    if (name && !tri_node_name_valid(name)) {
        if (err) snprintf(err->text, sizeof err->text, "not a valid node name");
        return TR_EINVAL;
    }
    if (atomic_load_explicit(&al->refs, memory_order_relaxed) != 1) {
        if (err) snprintf(err->text, sizeof err->text, "the allowlist is shared, so immutable");
        return TR_ESTATE;
    }
    entry *e = find(al, key);
    if (e) {
        if (same_name(e->name, name)) return TR_OK;
        conflict(err, where, key, e->name, name);
        return TR_EEXIST;
    }
    if (al->n == al->cap) {
        size_t cap = al->cap ? 2 * al->cap : 8;
        entry *v = realloc(al->v, cap * sizeof *v);
        if (!v) return TR_ENOMEM;
        al->v = v;
        al->cap = cap;
    }
    char *copy = NULL;
    if (name && !(copy = strdup(name))) return TR_ENOMEM;
    e = &al->v[al->n++];
    memcpy(e->key, key, TRI_KEY_BYTES);
    e->name = copy;
    return TR_OK;
}

int tri_allowlist_add(tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES], const char *name)
{
    if (!al || !key) return TR_EINVAL;
    return add(al, key, name, NULL, NULL);
}

int tri_allowlist_add_file(tri_allowlist *al, const char *path, tri_key_error *err)
{
    if (err) err->text[0] = '\0';
    if (!al || !path) return TR_EINVAL;
    uint8_t key[TRI_KEY_BYTES];
    char name[TRI_NODE_NAME_MAX + 1];
    int rc = tri_keys_load_public(path, key, name, err);
    if (rc != TR_OK) return rc;
    return add(al, key, name, path, err);
}

static bool is_pub_name(const char *n)
{
    size_t len = strlen(n);
    return len >= 4 && strcmp(n + len - 4, ".pub") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .pub names in `dir`, sorted; so errors and conflicts do not depend
 * on the order readdir happens to give. */
static int list_pub(const char *dir, char ***out, size_t *count, tri_key_error *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (err) snprintf(err->text, sizeof err->text, "%s: cannot open: %s", dir, strerror(e));
        return e == ENOENT ? TR_ENOENT : TR_EINVAL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = TR_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_pub_name(de->d_name)) continue;
        if (n == cap) {
            size_t c = cap ? 2 * cap : 16;
            char **v = realloc(names, c * sizeof *v);
            if (!v) {
                rc = TR_ENOMEM;
                break;
            }
            names = v;
            cap = c;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = TR_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != TR_OK) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    if (n) qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return TR_OK;
}

int tri_allowlist_add_dir(tri_allowlist *al, const char *dir, size_t *added, tri_key_error *err)
{
    if (err) err->text[0] = '\0';
    if (added) *added = 0;
    if (!al || !dir) return TR_EINVAL;
    if (atomic_load_explicit(&al->refs, memory_order_relaxed) != 1) return TR_ESTATE;
    char **names;
    size_t count;
    int rc = list_pub(dir, &names, &count, err);
    if (rc != TR_OK) return rc;
    /* Into a scratch copy, so that a failure leaves `al` untouched. */
    tri_allowlist *tmp;
    rc = tri_allowlist_new(&tmp);
    for (size_t i = 0; rc == TR_OK && i < al->n; i++)
        rc = add(tmp, al->v[i].key, al->v[i].name, NULL, NULL);
    size_t before = al->n;
    for (size_t i = 0; rc == TR_OK && i < count; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            if (err) snprintf(err->text, sizeof err->text, "%s/%s: path too long", dir, names[i]);
            rc = TR_EINVAL;
            break;
        }
        /* Only regular files (after following links): a directory that
         * happens to end in .pub is not a key. */
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        rc = tri_allowlist_add_file(tmp, path, err);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (rc != TR_OK) {
        tri_allowlist_release(&tmp);
        return rc;
    }
    /* Swap the contents: `al` keeps its identity and reference count. */
    entry *old = al->v;
    size_t old_n = al->n;
    al->v = tmp->v;
    al->n = tmp->n;
    al->cap = tmp->cap;
    tmp->v = old;
    tmp->n = old_n;
    tri_allowlist_release(&tmp);
    if (added) *added = al->n - before;
    return TR_OK;
}

size_t tri_allowlist_count(const tri_allowlist *al) { return al ? al->n : 0; }

int tri_allowlist_lookup(const tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES],
                         const char **name)
{
    if (name) *name = NULL;
    if (!al || !key) return TR_ENOENT;
    const entry *e = find(al, key);
    if (!e) return TR_ENOENT;
    if (name) *name = e->name;
    return TR_OK;
}

int tri_allowlist_lookup_z85(const tri_allowlist *al, const char *z85, const char **name)
{
    if (name) *name = NULL;
    uint8_t key[TRI_KEY_BYTES];
    if (tri_key_from_z85(z85, key) != TR_OK) return TR_ENOENT;
    return tri_allowlist_lookup(al, key, name);
}

tri_key_verdict tri_allowlist_check(const tri_allowlist *al, const uint8_t key[TRI_KEY_BYTES],
                                    const char *node, const char **bound)
{
    const char *name;
    if (bound) *bound = NULL;
    if (tri_allowlist_lookup(al, key, &name) != TR_OK) return TRI_KEY_UNKNOWN;
    if (!name) return TRI_KEY_ALLOWED;
    if (bound) *bound = name;
    return node && strcmp(node, name) == 0 ? TRI_KEY_ALLOWED : TRI_KEY_OTHER_NODE;
}
