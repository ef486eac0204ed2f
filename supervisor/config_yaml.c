/* config_yaml.c — the walk from a libyaml document to specs and options.
 *
 * The walk never stops at the first error: each key is checked on its own
 * and reported where it stands, so one run of `troupe check` lists every
 * mistake of a file. Values that fail keep their zero default and the
 * walk goes on; the results are only handed out when there was no error.
 *
 * Hostile input: the document comes from libyaml's loader, whose aliases
 * share nodes (an alias bomb is small in memory but huge to walk) and may
 * form cycles. Every node visit spends from a budget, and nesting is
 * bounded (supervisors 32 deep, args 64), so the walk ends on any input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config_impl.h"

#define MAX_VISITS 100000
/* Per map and per children list: keeps the duplicate checks (quadratic,
 * and simple) cheap on any input. */
#define MAX_ENTRIES 4096
#define MAX_SUP_DEPTH 32
#define PATH_MAX_LEN 512

typedef struct regname {
    const char *name, *child;
    unsigned line, column;
    size_t seq;
} regname;

typedef struct walker {
    tr_config *cfg;
    yaml_document_t *doc;
    const char *text; /* the source, to see a node's explicit tag */
    size_t size;
    long budget;
    regname *regs;
    size_t nregs, regcap;
} walker;

/* What a child's checks need to know of its supervisor. */
typedef struct parent_ctx {
    const char *name;
    tr_strategy strategy;
    tr_auto_shutdown auto_shutdown;
    yaml_node_t *auto_shutdown_node; /* NULL: unset */
} parent_ctx;

static unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }
static unsigned col_of(const yaml_node_t *n) { return (unsigned)n->start_mark.column + 1; }

#define ERR(w, n, ...) tri_config_error((w)->cfg, line_of(n), col_of(n), __VA_ARGS__)

static bool visit(walker *w, yaml_node_t *n)
{
    if (w->budget-- > 0) return true;
    if (w->budget == -1)
        ERR(w, n, "the document expands to more than %d nodes (aliases?): refusing to walk it",
            MAX_VISITS);
    return false;
}

static yaml_node_t *node_at(walker *w, int i) { return yaml_document_get_node(w->doc, i); }

/* ------------------------------------------------------------- scalars */

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static size_t slen(const yaml_node_t *n) { return n->data.scalar.length; }

static bool is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

static bool plain(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static bool is_null(const yaml_node_t *n)
{
    if (!is_scalar(n) || !plain(n)) return false;
    const char *s = sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* "got ..." text for an error. */
static const char *describe(const yaml_node_t *n, char *buf, size_t size)
{
    if (!n) return "nothing";
    if (n->type == YAML_MAPPING_NODE) return "a map";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (n->type != YAML_SCALAR_NODE) return "nothing";
    if (is_null(n)) return "nothing (null)";
    size_t len = slen(n), o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)sval(n)[i];
        if (i == 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        buf[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* The scalar text of `v` for key `key`, or NULL after an error saying
 * that `expected` was expected. Refuses NUL bytes inside. */
static const char *scalar_for(walker *w, yaml_node_t *v, const char *key, const char *expected)
{
    char got[80];
    if (!is_scalar(v) || is_null(v)) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return NULL;
    }
    if (strlen(sval(v)) != slen(v)) {
        ERR(w, v, "%s: expected %s, got text with a NUL byte", key, expected);
        return NULL;
    }
    return sval(v);
}

static bool get_enum(walker *w, yaml_node_t *v, const char *key, const char *const *names,
                     int *out)
{
    char expected[256] = "one of ";
    for (int i = 0; names[i]; i++) {
        strcat(expected, names[i]);
        if (names[i + 1]) strcat(expected, ", ");
    }
    const char *s = scalar_for(w, v, key, expected);
    if (!s) return false;
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    char got[80];
    ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
    return false;
}

static bool get_int(walker *w, yaml_node_t *v, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    char expected[96];
    snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)min,
             (long long)max);
    const char *s = scalar_for(w, v, key, expected);
    if (!s) return false;
    int64_t x;
    if (!tri_parse_int(s, &x) || x < min || x > max) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

static bool get_bool(walker *w, yaml_node_t *v, const char *key, bool *out)
{
    const char *s = scalar_for(w, v, key, "true or false");
    if (!s) return false;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) *out = false;
    else {
        char got[80];
        ERR(w, v, "%s: expected true or false, got %s", key, describe(v, got, sizeof got));
        return false;
    }
    return true;
}

enum { DUR_INFINITY = 1, DUR_ZERO = 2, DUR_US = 4, DUR_BRUTAL = 8 };

/* A duration in ms (in us with DUR_US); infinity as -1 when allowed.
 * `range` says what else is wanted ("above 0", "from 100us to 1s"). */
static bool get_duration(walker *w, yaml_node_t *v, const char *key, unsigned flags,
                         int64_t min, int64_t max, const char *range, int64_t *out)
{
    char expected[160];
    snprintf(expected, sizeof expected, "a duration %s (such as 250ms, 5s or 1m)%s", range,
             flags & DUR_BRUTAL     ? ", brutal_kill or infinity"
             : flags & DUR_INFINITY ? " or infinity"
                                    : "");
    const char *s = scalar_for(w, v, key, expected);
    if (!s) return false;
    int64_t us;
    bool inf;
    char got[80];
    if (!tri_parse_duration_us(s, &us, &inf) || (inf && !(flags & DUR_INFINITY))) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return false;
    }
    if (inf) {
        *out = -1;
        return true;
    }
    if (!(flags & DUR_US) && us % 1000) {
        ERR(w, v, "%s: expected whole milliseconds, got %s", key, describe(v, got, sizeof got));
        return false;
    }
    int64_t x = flags & DUR_US ? us : us / 1000;
    if (x < min || x > max || (x == 0 && !(flags & DUR_ZERO))) {
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

static bool get_size(walker *w, yaml_node_t *v, const char *key, uint64_t min, uint64_t max,
                     const char *range, uint64_t *out)
{
    char expected[160];
    snprintf(expected, sizeof expected, "a size %s (such as 64KiB or 1MiB)", range);
    const char *s = scalar_for(w, v, key, expected);
    if (!s) return false;
    uint64_t x;
    if (!tri_parse_size(s, &x) || x < min || x > max) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return false;
    }
    *out = x;
    return true;
}

/* A name: 1 to 255 bytes, none of `banned`, printable ASCII when
 * `printable`. Copied into the arena. */
static const char *get_name(walker *w, yaml_node_t *v, const char *key, const char *banned,
                            bool printable, const char *expected)
{
    const char *s = scalar_for(w, v, key, expected);
    if (!s) return NULL;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 255 && !strpbrk(s, banned);
    for (size_t i = 0; ok && printable && i < n; i++)
        ok = (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f;
    if (!ok) {
        char got[80];
        ERR(w, v, "%s: expected %s, got %s", key, expected, describe(v, got, sizeof got));
        return NULL;
    }
    return tri_arena_strdup(&w->cfg->arena, s);
}

/* ------------------------------------------------------------- maps */

typedef struct keyset {
    const char *const *keys;
    /* NULL: the keys are allowed; else the error for them, "%s" being the
     * key and the second "%s" the owner's description */
    const char *misplaced;
} keyset;

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const yaml_node_pair_t *pairs_begin(const yaml_node_t *m) { return m->data.mapping.pairs.start; }
static const yaml_node_pair_t *pairs_end(const yaml_node_t *m) { return m->data.mapping.pairs.top; }

/* out = path.key (cut to fit: a path that long only misses its location) */
static void join_path(char *out, size_t size, const char *path, const char *key)
{
    size_t a = strnlen(path, size - 1), o = a;
    memcpy(out, path, a);
    if (a && o < size - 1) out[o++] = '.';
    size_t b = strnlen(key, size - 1 - o);
    memcpy(out + o, key, b);
    out[o + b] = '\0';
}

/* Checks a map's keys: each a plain string, none twice, each in an
 * allowed set (else misplaced or unknown, with a suggestion). Records
 * where each key is under `path`. */
static bool too_big(walker *w, yaml_node_t *n, size_t count, const char *what)
{
    if (count <= MAX_ENTRIES) return false;
    ERR(w, n, "%s has %zu entries: at most %d are accepted", what, count, MAX_ENTRIES);
    return true;
}

static void check_keys(walker *w, yaml_node_t *m, const char *path, const char *owner,
                       const keyset *sets, size_t nsets)
{
    if (too_big(w, m, (size_t)(pairs_end(m) - pairs_begin(m)), owner)) return;
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (!k || !visit(w, k)) return;
        char got[80];
        if (!is_scalar(k) || is_null(k) || strlen(sval(k)) != slen(k)) {
            ERR(w, k, "expected a key name in %s, got %s", owner, describe(k, got, sizeof got));
            continue;
        }
        const char *name = sval(k);
        bool dup = false;
        for (const yaml_node_pair_t *q = pairs_begin(m); q < p && !dup; q++) {
            yaml_node_t *k2 = node_at(w, q->key);
            if (is_scalar(k2) && strcmp(sval(k2), name) == 0) {
                ERR(w, k, "duplicate key '%s' in %s (first at line %u, column %u)", name, owner,
                    line_of(k2), col_of(k2));
                dup = true;
            }
        }
        if (dup) continue;
        char kp[PATH_MAX_LEN];
        join_path(kp, sizeof kp, path, name);
        tri_config_loc(w->cfg, kp, line_of(k), col_of(k));
        const keyset *found = NULL;
        for (size_t s = 0; s < nsets && !found; s++)
            for (size_t i = 0; sets[s].keys[i] && !found; i++)
                if (strcmp(sets[s].keys[i], name) == 0) found = &sets[s];
        if (found && !found->misplaced) continue;
        if (found) {
            ERR(w, k, found->misplaced, name, owner);
            continue;
        }
        if (w->cfg->too_many_errors) continue; /* no suggestion work for nobody */
        /* unknown: suggest the closest allowed key, list them all */
        const char *best = NULL;
        size_t bestd = 3;
        char list[512] = "";
        for (size_t s = 0; s < nsets; s++) {
            if (sets[s].misplaced) continue;
            for (size_t i = 0; sets[s].keys[i]; i++) {
                size_t d = edit_distance(name, sets[s].keys[i]);
                if (d < bestd) bestd = d, best = sets[s].keys[i];
                if (*list) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, sets[s].keys[i], sizeof list - strlen(list) - 1);
            }
        }
        if (best)
            ERR(w, k, "unknown key '%s' in %s (did you mean '%s'?)", name, owner, best);
        else ERR(w, k, "unknown key '%s' in %s (expected one of: %s)", name, owner, list);
    }
}

/* The value of `key` in map m (its first occurrence), or NULL. */
static yaml_node_t *get(walker *w, yaml_node_t *m, const char *key)
{
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (is_scalar(k) && strlen(sval(k)) == slen(k) && strcmp(sval(k), key) == 0)
            return node_at(w, p->value);
    }
    return NULL;
}

static yaml_node_t *get_key_node(walker *w, yaml_node_t *m, const char *key)
{
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (is_scalar(k) && strlen(sval(k)) == slen(k) && strcmp(sval(k), key) == 0) return k;
    }
    return NULL;
}

static bool expect_map(walker *w, yaml_node_t *v, const char *key)
{
    if (v && v->type == YAML_MAPPING_NODE) return true;
    char got[80];
    ERR(w, v, "%s: expected a map, got %s", key, describe(v, got, sizeof got));
    return false;
}

/* Items of a list, or of a lone scalar taken as a list of one when
 * `lone` (listen: tcp://...). Returns the count; *items the node indices. */
static size_t list_items(walker *w, yaml_node_t *v, const char *key, bool lone, int **items,
                         int *one)
{
    if (v->type == YAML_SEQUENCE_NODE) {
        *items = v->data.sequence.items.start;
        return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    if (lone && is_scalar(v) && !is_null(v)) {
        *one = (int)(v - w->doc->nodes.start) + 1;
        *items = one;
        return 1;
    }
    if (is_null(v)) return 0; /* `plugins:` with nothing: none */
    char got[80];
    ERR(w, v, "%s: expected a list%s, got %s", key, lone ? " (or one value)" : "",
        describe(v, got, sizeof got));
    return 0;
}

/* ------------------------------------------------------------- files */

static void check_file(walker *w, yaml_node_t *v, const char *key, const char *path, bool secret,
                       bool dir_ok)
{
    if (w->cfg->flags & TR_CONFIG_NO_FILES) return;
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        ERR(w, v, "%s: cannot read '%s'", key, path);
        return;
    }
    if (S_ISDIR(st.st_mode) ? !dir_ok : !S_ISREG(st.st_mode)) {
        ERR(w, v, "%s: '%s' is not a %s", key, path, dir_ok ? "file or directory" : "file");
        return;
    }
    if (secret && (st.st_mode & 044))
        ERR(w, v, "%s: '%s' is readable by group or others: a secret key must not be (chmod 600)",
            key, path);
}

/* ------------------------------------------------------------- plugins */

static void walk_plugins(walker *w, yaml_node_t *v)
{
    int *items, one;
    size_t n = list_items(w, v, "plugins", true, &items, &one);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = node_at(w, items[i]);
        if (!it || !visit(w, it)) return;
        char p[64];
        snprintf(p, sizeof p, "plugins[%zu]", i);
        tri_config_loc(w->cfg, p, line_of(it), col_of(it));
        const char *s = scalar_for(w, it, "plugins", "the path of a shared object");
        if (!s) continue;
        const char *path = tri_config_path(w->cfg, s);
        if (!path || (w->cfg->flags & TR_CONFIG_NO_PLUGINS)) continue;
        char why[512];
        if (tri_plugin_load(path, w->cfg->file, why, sizeof why) != TR_OK)
            ERR(w, it, "plugin '%s': %s", s, why);
    }
}

/* ------------------------------------------------------------- node */

static bool is_loopback(const char *host, size_t n)
{
    return (n >= 4 && memcmp(host, "127.", 4) == 0) || (n == 9 && !memcmp(host, "localhost", 9)) ||
           (n == 5 && !memcmp(host, "[::1]", 5));
}

/* Checks an endpoint's shape. *open_tcp: a tcp endpoint on an address
 * other than loopback. */
static bool endpoint_ok(const char *s, bool listen, bool *open_tcp)
{
    *open_tcp = false;
    if (!strncmp(s, "ipc://", 6)) return s[6] != '\0';
    if (!strncmp(s, "inproc://", 9)) return s[9] != '\0';
    if (strncmp(s, "tcp://", 6) != 0) return false;
    const char *host = s + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host) return false;
    size_t hl = (size_t)(colon - host);
    if (host[0] == '[' && host[hl - 1] != ']') return false;
    if (memchr(host, '/', hl) || memchr(host, ' ', hl)) return false;
    const char *port = colon + 1;
    if (!strcmp(port, "*")) {
        if (!listen) return false;
    } else {
        int64_t p;
        if (strlen(port) > 5 || !tri_parse_int(port, &p) || port[0] == '+' || port[0] == '-' ||
            p < 1 || p > 65535)
            return false;
    }
    *open_tcp = !is_loopback(host, hl);
    return true;
}

static const char *ENDPOINT_EXPECTED =
    "an endpoint tcp://host:port, ipc://path or inproc://name";

static bool z85_key(const char *s)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (strlen(s) != 40) return false;
    for (const char *p = s; *p; p++)
        if (!strchr(z85, *p)) return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void walk_peer(walker *w, yaml_node_t *it, const char *path, tr_node_peer *out)
{
    bool open;
    if (is_scalar(it)) {
        const char *s = scalar_for(w, it, "peers", ENDPOINT_EXPECTED);
        if (s && !endpoint_ok(s, false, &open)) {
            char got[80];
            ERR(w, it, "peers: expected %s, got %s", ENDPOINT_EXPECTED, describe(it, got, sizeof got));
        } else if (s) out->endpoint = tri_arena_strdup(&w->cfg->arena, s);
        return;
    }
    if (it->type != YAML_MAPPING_NODE) {
        char got[80];
        ERR(w, it, "peers: expected an endpoint or a map {endpoint, key}, got %s",
            describe(it, got, sizeof got));
        return;
    }
    static const char *const keys[] = {"endpoint", "key", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, it, path, "a peer", ks, 1);
    yaml_node_t *v;
    if (!(v = get(w, it, "endpoint"))) ERR(w, it, "a peer needs an 'endpoint'");
    else {
        const char *s = scalar_for(w, v, "endpoint", ENDPOINT_EXPECTED);
        if (s && !endpoint_ok(s, false, &open)) {
            char got[80];
            ERR(w, v, "endpoint: expected %s, got %s", ENDPOINT_EXPECTED, describe(v, got, sizeof got));
        } else if (s) out->endpoint = tri_arena_strdup(&w->cfg->arena, s);
    }
    if ((v = get(w, it, "key"))) {
        const char *expected = "a .pub key file or a 40-character Z85 public key";
        const char *s = scalar_for(w, v, "key", expected);
        if (!s) return;
        if (ends_with(s, ".pub")) {
            out->public_key = tri_config_path(w->cfg, s);
            if (out->public_key) check_file(w, v, "key", out->public_key, false, false);
        } else if (z85_key(s)) {
            out->public_key = tri_arena_strdup(&w->cfg->arena, s);
        } else {
            char got[80];
            ERR(w, v, "key: expected %s, got %s", expected, describe(v, got, sizeof got));
        }
    }
}

static void walk_keys(walker *w, yaml_node_t *v, tr_node_opts *o)
{
    if (!expect_map(w, v, "keys")) return;
    static const char *const keys[] = {"secret", "allow", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, v, "node.keys", "node.keys", ks, 1);
    yaml_node_t *x;
    if (!(x = get(w, v, "secret"))) {
        ERR(w, v, "keys: 'secret' (this node's secret key file) is required");
    } else {
        const char *s = scalar_for(w, x, "secret", "the path of a secret key file");
        if (s && (o->secret_key_file = tri_config_path(w->cfg, s)))
            check_file(w, x, "secret", o->secret_key_file, true, false);
    }
    if ((x = get(w, v, "allow"))) {
        int *items, one;
        size_t n = list_items(w, x, "allow", true, &items, &one);
        const char **allow = n ? tri_arena_alloc(&w->cfg->arena, n * sizeof *allow) : NULL;
        if (n && !allow) return;
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !visit(w, it)) return;
            const char *s = scalar_for(w, it, "allow", "a .pub key file or a directory of them");
            if (!s) continue;
            const char *p = tri_config_path(w->cfg, s);
            if (!p) return;
            check_file(w, it, "allow", p, false, true);
            allow[o->nallow++] = p;
        }
        o->allow = allow;
    }
}

static void walk_node(walker *w, yaml_node_t *v)
{
    tr_config *cfg = w->cfg;
    if (!expect_map(w, v, "node")) return;
    static const char *const keys[] = {"name",        "listen",    "peers",      "keys",
                                       "insecure",    "heartbeat", "max_message", "queue",
                                       "workers",     "blocking_threads", "batch", "time_slice",
                                       "long_callback", "log_level", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, v, "node", "node", ks, 1);
    tr_node_opts *o = &cfg->node;
    tr_system_opts *so = &cfg->sys;
    yaml_node_t *x;
    int64_t i64;
    uint64_t u64;
    if ((x = get(w, v, "name")))
        o->name = get_name(w, x, "name", "", true, "a node name of 1 to 255 printable bytes");
    bool named = o->name != NULL || x != NULL; /* a bad name is reported once */
    static const char *const net[] = {"listen", "peers", "keys", "insecure",
                                      "heartbeat", "max_message", "queue", NULL};
    for (int i = 0; net[i]; i++)
        if (!named && (x = get_key_node(w, v, net[i])))
            ERR(w, x, "'%s' needs the node's 'name' (without a name, node only sets the "
                      "runtime's options)",
                net[i]);
    if ((x = get(w, v, "insecure"))) get_bool(w, x, "insecure", &o->insecure);
    if ((x = get(w, v, "keys"))) walk_keys(w, x, o);
    if ((x = get(w, v, "listen"))) {
        int *items, one;
        size_t n = list_items(w, x, "listen", true, &items, &one);
        const char **listen = n ? tri_arena_alloc(&cfg->arena, n * sizeof *listen) : NULL;
        for (size_t i = 0; listen && i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !visit(w, it)) break;
            char p[64];
            snprintf(p, sizeof p, "node.listen[%zu]", i);
            tri_config_loc(cfg, p, line_of(it), col_of(it));
            const char *s = scalar_for(w, it, "listen", ENDPOINT_EXPECTED);
            bool open;
            if (!s) continue;
            if (!endpoint_ok(s, true, &open)) {
                char got[80];
                ERR(w, it, "listen: expected %s, got %s", ENDPOINT_EXPECTED,
                    describe(it, got, sizeof got));
                continue;
            }
            if (open && !o->secret_key_file && !get(w, v, "keys") && !o->insecure)
                ERR(w, it,
                    "listen: '%s' is not a loopback address: it needs keys (node.keys) or "
                    "insecure: true",
                    s);
            listen[o->nlisten++] = tri_arena_strdup(&cfg->arena, s);
        }
        o->listen = listen;
    }
    if ((x = get(w, v, "peers"))) {
        int *items, one;
        size_t n = list_items(w, x, "peers", true, &items, &one);
        tr_node_peer *peers = n ? tri_arena_alloc(&cfg->arena, n * sizeof *peers) : NULL;
        for (size_t i = 0; peers && i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !visit(w, it)) break;
            char p[64];
            snprintf(p, sizeof p, "node.peers[%zu]", i);
            tri_config_loc(cfg, p, line_of(it), col_of(it));
            walk_peer(w, it, p, &peers[o->npeers]);
            if (peers[o->npeers].endpoint) o->npeers++;
        }
        o->peers = peers;
    }
    if ((x = get(w, v, "heartbeat")) && expect_map(w, x, "heartbeat")) {
        static const char *const hk[] = {"interval", "timeout", NULL};
        const keyset hks[] = {{hk, NULL}};
        check_keys(w, x, "node.heartbeat", "node.heartbeat", hks, 1);
        yaml_node_t *iv = get(w, x, "interval"), *to = get(w, x, "timeout");
        bool ok = true;
        if (iv) ok &= get_duration(w, iv, "interval", 0, 1, INT64_MAX, "above 0", &o->heartbeat_ms);
        if (to)
            ok &= get_duration(w, to, "timeout", 0, 1, INT64_MAX, "above 0",
                               &o->heartbeat_timeout_ms);
        int64_t ivm = o->heartbeat_ms ? o->heartbeat_ms : 1000;
        int64_t tom = o->heartbeat_timeout_ms ? o->heartbeat_timeout_ms : 5000;
        if (ok && tom <= ivm)
            ERR(w, to ? to : iv,
                "heartbeat: timeout (%lld ms) must be above interval (%lld ms): a peer is "
                "declared lost after missing heartbeats",
                (long long)tom, (long long)ivm);
    }
    if ((x = get(w, v, "max_message")) &&
        get_size(w, x, "max_message", 1, TR_MSG_MAX, "from 1B to 64MiB", &u64))
        o->max_message = (uint32_t)u64;
    if ((x = get(w, v, "queue")) && expect_map(w, x, "queue")) {
        static const char *const qk[] = {"messages", "bytes", NULL};
        const keyset qks[] = {{qk, NULL}};
        check_keys(w, x, "node.queue", "node.queue", qks, 1);
        yaml_node_t *y;
        if ((y = get(w, x, "messages")) && get_int(w, y, "messages", 1, UINT32_MAX, &i64))
            o->queue_messages = (uint32_t)i64;
        if ((y = get(w, x, "bytes")))
            get_size(w, y, "bytes", 1, UINT64_MAX, "above 0", &o->queue_bytes);
    }
    if ((x = get(w, v, "workers"))) {
        if (is_scalar(x) && strcmp(sval(x), "auto") == 0) {
            so->workers = 0;
        } else if (is_scalar(x) && tri_parse_int(sval(x), &i64) && i64 >= 1 && i64 <= 256) {
            so->workers = (unsigned)i64;
        } else {
            char got[80];
            ERR(w, x, "workers: expected an integer from 1 to 256 or auto, got %s",
                describe(x, got, sizeof got));
        }
    }
    if ((x = get(w, v, "blocking_threads")) && get_int(w, x, "blocking_threads", 1, 1024, &i64))
        so->blocking_threads = (unsigned)i64;
    if ((x = get(w, v, "batch")) && get_int(w, x, "batch", 1, 65536, &i64))
        so->batch = (unsigned)i64;
    if ((x = get(w, v, "time_slice")) &&
        get_duration(w, x, "time_slice", DUR_US, 100, 1000000, "from 100us to 1s", &i64))
        so->time_slice_us = (uint32_t)i64;
    if ((x = get(w, v, "long_callback")) &&
        get_duration(w, x, "long_callback", DUR_INFINITY, 1, INT64_MAX, "above 0", &i64))
        so->long_callback_ms = i64; /* -1 (infinity): never logged */
    if ((x = get(w, v, "log_level"))) {
        static const char *const levels[] = {"debug", "info", "warn", "error", "none", NULL};
        int lv;
        if (get_enum(w, x, "log_level", levels, &lv)) cfg->log_level = (tr_log_level)lv;
    }
    cfg->has_node = o->name != NULL;
}

/* ------------------------------------------------------------- args */

static bool is_float_text(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) return true;
    if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) return true;
    bool digits = false, dot = false;
    while (*p >= '0' && *p <= '9') p++, digits = true;
    if (*p == '.') {
        dot = true;
        p++;
        while (*p >= '0' && *p <= '9') p++, digits = true;
    }
    if (!digits) return false;
    bool exp = false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') p++;
        exp = true;
    }
    return !*p && (dot || exp);
}

static double float_of(const char *s)
{
    const char *p = s + (*s == '+' || *s == '-');
    double sign = *s == '-' ? -1.0 : 1.0;
    if (p[0] == '.' && (p[1] == 'i' || p[1] == 'I')) return sign * __builtin_inf();
    if (p[0] == '.' && (p[1] == 'n' || p[1] == 'N')) return __builtin_nan("");
    return strtod(s, NULL);
}

static bool is_int_text(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) return p[2] != '\0' && p == s;
    if (!*p) return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

#define TAG(x) "tag:yaml.org,2002:" x

/* libyaml's document gives an untagged scalar the tag !!str: whether the
 * text said "!!str" is told by the source at the node's start, where the
 * node's properties (an anchor, then a tag) begin. */
static bool explicit_tag(const walker *w, const yaml_node_t *n)
{
    size_t i = n->start_mark.index;
    if (i < w->size && w->text[i] == '&') {
        while (i < w->size && w->text[i] != ' ' && w->text[i] != '\t' && w->text[i] != '\n') i++;
        while (i < w->size && (w->text[i] == ' ' || w->text[i] == '\t' || w->text[i] == '\n')) i++;
    }
    return i < w->size && w->text[i] == '!';
}

static void put_scalar(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n)
{
    const char *tag = (const char *)n->tag;
    const char *s = sval(n);
    bool has_nul = strlen(s) != slen(n);
    char got[80];
    int64_t i;
    if (!tag || !strcmp(tag, TAG("str"))) {
        if (!plain(n) || has_nul || explicit_tag(w, n)) {
            tri_args_put_strn(b, key, s, slen(n));
        } else if (is_null(n)) {
            tr_args_put_null(b, key);
        } else if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            tr_args_put_bool(b, key, true);
        } else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            tr_args_put_bool(b, key, false);
        } else if (is_int_text(s)) {
            if (!tri_parse_int(s, &i)) ERR(w, n, "args: %s is out of the int64 range", describe(n, got, sizeof got));
            else tr_args_put_int(b, key, i);
        } else if (is_float_text(s)) {
            tr_args_put_float(b, key, float_of(s));
        } else {
            tr_args_put_str(b, key, s);
        }
    } else if (!strcmp(tag, TAG("int"))) {
        if (has_nul || !tri_parse_int(s, &i)) ERR(w, n, "args: !!int %s is not an int64", describe(n, got, sizeof got));
        else tr_args_put_int(b, key, i);
    } else if (!strcmp(tag, TAG("float"))) {
        if (has_nul || (!is_float_text(s) && !is_int_text(s)))
            ERR(w, n, "args: !!float %s is not a float", describe(n, got, sizeof got));
        else tr_args_put_float(b, key, float_of(s));
    } else if (!strcmp(tag, TAG("bool"))) {
        if (!strcmp(s, "true") || !strcmp(s, "false")) tr_args_put_bool(b, key, s[0] == 't');
        else ERR(w, n, "args: !!bool %s is not true or false", describe(n, got, sizeof got));
    } else if (!strcmp(tag, TAG("null"))) {
        tr_args_put_null(b, key);
    } else {
        ERR(w, n, "args: unsupported tag '%.100s'", tag);
    }
}

static void put_value(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n, int depth);

static void put_entries(walker *w, tr_args_builder *b, yaml_node_t *m, int depth)
{
    if (too_big(w, m, (size_t)(pairs_end(m) - pairs_begin(m)), "an args map")) return;
    for (const yaml_node_pair_t *p = pairs_begin(m); p < pairs_end(m); p++) {
        yaml_node_t *k = node_at(w, p->key), *v = node_at(w, p->value);
        if (!k || !v || !visit(w, k)) return;
        char got[80];
        if (!is_scalar(k)) {
            ERR(w, k, "args: expected a key (a string), got %s", describe(k, got, sizeof got));
            continue;
        }
        if (!tri_args_valid_key(sval(k), slen(k))) {
            ERR(w, k, "args: a key must be at most %d bytes without NUL, got %s", TR_ARGS_MAX_KEY,
                describe(k, got, sizeof got));
            continue;
        }
        bool dup = false;
        for (const yaml_node_pair_t *q = pairs_begin(m); q < p && !dup; q++) {
            yaml_node_t *k2 = node_at(w, q->key);
            if (is_scalar(k2) && slen(k2) == slen(k) && !memcmp(sval(k2), sval(k), slen(k))) {
                ERR(w, k, "args: duplicate key '%s' (first at line %u, column %u)", sval(k),
                    line_of(k2), col_of(k2));
                dup = true;
            }
        }
        if (!dup) put_value(w, b, sval(k), v, depth);
    }
}

static void put_value(walker *w, tr_args_builder *b, const char *key, yaml_node_t *n, int depth)
{
    if (!visit(w, n)) return;
    if (n->type == YAML_SCALAR_NODE) {
        put_scalar(w, b, key, n);
        return;
    }
    if (depth >= TR_ARGS_MAX_DEPTH) {
        ERR(w, n, "args: nested deeper than %d levels", TR_ARGS_MAX_DEPTH);
        return;
    }
    if (n->type == YAML_MAPPING_NODE) {
        tr_args_begin_map(b, key);
        put_entries(w, b, n, depth + 1);
        tr_args_end(b);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        tr_args_begin_list(b, key);
        for (int *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            yaml_node_t *item = node_at(w, *it);
            if (item) put_value(w, b, NULL, item, depth + 1);
        }
        tr_args_end(b);
    }
}

/* Encodes `args:` into the child spec. A map's entries become the root's;
 * anything else sits under the key "" (troupe/args.h). Null: no args. */
static void walk_args(walker *w, yaml_node_t *v, tr_child_spec *c)
{
    if (is_null(v)) return;
    tr_args_builder *b;
    if (tr_args_builder_new(&b) != TR_OK) {
        w->cfg->arena.oom = true;
        return;
    }
    size_t before = w->cfg->nerr;
    if (v->type == YAML_MAPPING_NODE) {
        if (visit(w, v)) put_entries(w, b, v, 1);
    } else {
        put_value(w, b, "", v, 1);
    }
    void *bytes = NULL;
    size_t size = 0;
    int rc = tr_args_finish(b, &bytes, &size);
    tr_args_builder_destroy(&b);
    if (rc == TR_ENOMEM) w->cfg->arena.oom = true;
    else if (rc != TR_OK && w->cfg->nerr == before)
        ERR(w, v, "args: cannot be encoded (%s)", tr_strerror(rc));
    if (rc == TR_OK) {
        c->args = tri_arena_memdup(&w->cfg->arena, bytes, size);
        c->args_size = size;
    }
    free(bytes);
}

/* ------------------------------------------------------------- tree */

static const char *const SUP_KEYS[] = {"supervisor", "strategy", "intensity", "period",
                                       "auto_shutdown", "children", NULL};
static const char *const CHILD_KEYS[] = {"restart", "shutdown", "significant", "register",
                                         "backoff", "node", NULL};
static const char *const WORKER_KEYS[] = {"name", "behaviour", "args", "mailbox", NULL};

static const char *const STRATEGIES[] = {"one_for_one", "one_for_all", "rest_for_one",
                                         "simple_one_for_one", NULL};
static const char *const AUTO_SHUTDOWN[] = {"never", "any_significant", "all_significant", NULL};

static void walk_sup(walker *w, yaml_node_t *m, const char *path, const char *name, bool root,
                     int depth, tr_sup_spec *out);

static void walk_backoff(walker *w, yaml_node_t *v, const char *path, tr_backoff *b)
{
    if (!expect_map(w, v, "backoff")) return;
    static const char *const keys[] = {"min", "max", "reset", "jitter", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, v, path, "backoff", ks, 1);
    yaml_node_t *mn = get(w, v, "min"), *mx = get(w, v, "max"), *x;
    bool ok = true;
    if (!mn) ERR(w, v, "backoff: 'min' (the first restart delay) is required"), ok = false;
    else ok &= get_duration(w, mn, "min", 0, 1, INT64_MAX, "above 0", &b->min_ms);
    if (!mx) ERR(w, v, "backoff: 'max' (the longest restart delay) is required"), ok = false;
    else ok &= get_duration(w, mx, "max", 0, 1, INT64_MAX, "above 0", &b->max_ms);
    if (ok && b->max_ms < b->min_ms)
        ERR(w, mx, "backoff: max (%lld ms) must be at least min (%lld ms)", (long long)b->max_ms,
            (long long)b->min_ms);
    int64_t reset;
    if ((x = get(w, v, "reset")) &&
        get_duration(w, x, "reset", DUR_INFINITY, 1, INT64_MAX, "above 0", &reset))
        b->reset_ms = reset < 0 ? 0 : reset; /* 0: never reset */
    if ((x = get(w, v, "jitter"))) {
        const char *s = scalar_for(w, x, "jitter", "a number from 0 to 1");
        char *end = NULL;
        double j = s ? strtod(s, &end) : 0;
        if (s && (!end || *end || end == s || !(j >= 0 && j <= 1))) {
            char got[80];
            ERR(w, x, "jitter: expected a number from 0 to 1, got %s", describe(x, got, sizeof got));
        } else if (s) {
            b->jitter = j;
        }
    }
}

static void walk_mailbox(walker *w, yaml_node_t *v, const char *path, tr_child_spec *c)
{
    if (!expect_map(w, v, "mailbox")) return;
    static const char *const keys[] = {"capacity", "on_full", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, v, path, "mailbox", ks, 1);
    yaml_node_t *cap = get(w, v, "capacity"), *full = get(w, v, "on_full");
    int64_t n;
    if (cap && get_int(w, cap, "capacity", 1, (1 << 30) - 1, &n)) c->capacity = (uint32_t)n;
    if (full) {
        static const char *const policies[] = {"fail", "drop_newest", "drop_oldest", "block", NULL};
        int p;
        if (get_enum(w, full, "on_full", policies, &p)) c->on_full = (tr_full_policy)p;
        if (!cap)
            ERR(w, full, "on_full applies to a bounded mailbox: set mailbox.capacity too");
    }
}

/* Fills one child spec from its map; `is_sup` says which kind. */
static void walk_child(walker *w, yaml_node_t *m, const char *path, bool is_sup,
                       const parent_ctx *pc, int depth, tr_child_spec *c, yaml_node_t **id_node)
{
    tr_config *cfg = w->cfg;
    char owner[320];
    yaml_node_t *idv = get(w, m, is_sup ? "supervisor" : "name");
    const char *idtext = is_scalar(idv) && !is_null(idv) ? sval(idv) : "?";
    snprintf(owner, sizeof owner, "%s '%.255s'", is_sup ? "supervisor" : "worker", idtext);
    const keyset sup_sets[] = {
        {SUP_KEYS, NULL},
        {CHILD_KEYS, NULL},
        {WORKER_KEYS, "'%s' applies to workers (children with 'name'), not to %s"}};
    const keyset worker_sets[] = {
        {WORKER_KEYS, NULL},
        {CHILD_KEYS, NULL},
        {SUP_KEYS, "'%s' applies to supervisors (children with 'supervisor'), not to %s"}};
    check_keys(w, m, path, owner, is_sup ? sup_sets : worker_sets, 3);

    *id_node = idv;
    c->id = get_name(w, idv, is_sup ? "supervisor" : "name", "/", false,
                     "a child id of 1 to 255 bytes without '/'");
    yaml_node_t *x;
    if (is_sup) {
        tr_sup_spec *nested = tri_arena_alloc(&cfg->arena, sizeof *nested);
        if (!nested) return;
        walk_sup(w, m, path, c->id, false, depth + 1, nested);
        c->supervisor = nested;
    } else {
        if (!(x = get(w, m, "behaviour"))) {
            ERR(w, m, "%s needs a 'behaviour' (the registered name of its callbacks)", owner);
        } else {
            const char *b = scalar_for(w, x, "behaviour", "a behaviour's registered name");
            if (b && !(c->behaviour = tr_behaviour_find(b))) {
                bool skipped = (cfg->flags & TR_CONFIG_NO_PLUGINS) != 0;
                ERR(w, x,
                    "unknown behaviour '%.255s' (not built in, not registered by this program, "
                    "and in none of this config's plugins%s)",
                    b, skipped ? ", which were not loaded" : "");
            }
        }
        if ((x = get(w, m, "args"))) walk_args(w, x, c);
        if ((x = get(w, m, "mailbox"))) {
            char p[PATH_MAX_LEN];
            join_path(p, sizeof p, path, "mailbox");
            walk_mailbox(w, x, p, c);
        }
    }
    if ((x = get(w, m, "restart"))) {
        static const char *const restarts[] = {"permanent", "transient", "temporary", NULL};
        int r;
        if (get_enum(w, x, "restart", restarts, &r)) c->restart = (tr_restart)r;
    }
    if ((x = get(w, m, "shutdown"))) {
        int64_t ms;
        if (is_scalar(x) && strcmp(sval(x), "brutal_kill") == 0) c->shutdown_ms = TR_SHUTDOWN_BRUTAL;
        else if (get_duration(w, x, "shutdown", DUR_INFINITY | DUR_BRUTAL, 1, INT64_MAX,
                              "above 0", &ms))
            c->shutdown_ms = ms < 0 ? TR_SHUTDOWN_INFINITY : ms;
    }
    if ((x = get(w, m, "significant")) && get_bool(w, x, "significant", &c->significant) &&
        c->significant) {
        if (c->restart == TR_PERMANENT)
            ERR(w, x,
                "significant: a permanent child cannot be significant (its end would never be "
                "final): make it transient or temporary");
        if (pc->auto_shutdown == TR_AUTO_SHUTDOWN_NEVER)
            ERR(w, x,
                "significant: supervisor '%s' has auto_shutdown never, so its children's ends "
                "are never significant: set its auto_shutdown to any_significant or "
                "all_significant",
                pc->name ? pc->name : "?");
    }
    if ((x = get(w, m, "register"))) {
        c->register_as = get_name(w, x, "register", "@", false,
                                  "a name of 1 to 255 bytes without '@'");
        if (c->register_as && pc->strategy == TR_SIMPLE_ONE_FOR_ONE)
            ERR(w, x,
                "register: the template of simple_one_for_one supervisor '%s' cannot register "
                "a name (all its children would share it)",
                pc->name ? pc->name : "?");
        else if (c->register_as) {
            /* duplicates are found at the end, over the whole tree */
            if (w->nregs == w->regcap) {
                size_t cap = w->regcap ? w->regcap * 2 : 8;
                regname *r = realloc(w->regs, cap * sizeof *r);
                if (!r) {
                    cfg->arena.oom = true;
                    return;
                }
                w->regs = r;
                w->regcap = cap;
            }
            w->regs[w->nregs] = (regname){c->register_as, c->id ? c->id : "?", line_of(x),
                                          col_of(x), w->nregs};
            w->nregs++;
        }
    }
    if ((x = get(w, m, "backoff"))) {
        char p[PATH_MAX_LEN];
        join_path(p, sizeof p, path, "backoff");
        walk_backoff(w, x, p, &c->backoff);
    }
    if ((x = get(w, m, "node"))) {
        const char *node = get_name(w, x, "node", "", true, "a node name of 1 to 255 printable bytes");
        if (node && c->id)
            tri_config_meta(cfg, &(tri_child_meta){c, node, c->id, line_of(x), col_of(x)});
    }
}

static void walk_sup(walker *w, yaml_node_t *m, const char *path, const char *name, bool root,
                     int depth, tr_sup_spec *out)
{
    tr_config *cfg = w->cfg;
    char owner[320];
    snprintf(owner, sizeof owner, "supervisor '%.255s'", name ? name : "?");
    if (depth > MAX_SUP_DEPTH) {
        ERR(w, m, "%s: supervisors nested deeper than %d levels", owner, MAX_SUP_DEPTH);
        return;
    }
    if (root) {
        const keyset sets[] = {
            {SUP_KEYS, NULL},
            {CHILD_KEYS, "'%s' does not apply to the root supervisor (%s is nobody's child)"},
            {WORKER_KEYS, "'%s' applies to workers; the tree's root must be a supervisor (%s)"}};
        check_keys(w, m, path, owner, sets, 3);
    }
    parent_ctx pc = {name, TR_ONE_FOR_ONE, TR_AUTO_SHUTDOWN_NEVER, NULL};
    yaml_node_t *x;
    int e;
    int64_t i64;
    if ((x = get(w, m, "strategy")) && get_enum(w, x, "strategy", STRATEGIES, &e))
        pc.strategy = (tr_strategy)e;
    if ((x = get(w, m, "auto_shutdown")) && get_enum(w, x, "auto_shutdown", AUTO_SHUTDOWN, &e)) {
        pc.auto_shutdown = (tr_auto_shutdown)e;
        pc.auto_shutdown_node = x;
    }
    out->strategy = pc.strategy;
    out->auto_shutdown = pc.auto_shutdown;
    /* OTP's defaults, explicit: tr_sup_spec reads period 0 as "1 in 5 s"
     * whatever the intensity, so a set intensity needs a set period */
    out->intensity = 1;
    out->period_ms = 5000;
    if ((x = get(w, m, "intensity")) && get_int(w, x, "intensity", 0, UINT32_MAX, &i64))
        out->intensity = (uint32_t)i64;
    if ((x = get(w, m, "period")))
        get_duration(w, x, "period", 0, 1, INT64_MAX, "above 0", &out->period_ms);
    if (pc.strategy == TR_SIMPLE_ONE_FOR_ONE && pc.auto_shutdown != TR_AUTO_SHUTDOWN_NEVER)
        ERR(w, pc.auto_shutdown_node,
            "auto_shutdown: a simple_one_for_one supervisor cannot auto-shutdown (OTP refuses "
            "it): use never");

    yaml_node_t *kids = get(w, m, "children");
    int *items = NULL, one;
    size_t n = kids ? list_items(w, kids, "children", false, &items, &one) : 0;
    if (too_big(w, kids, n, "children")) return;
    if (pc.strategy == TR_SIMPLE_ONE_FOR_ONE && n != 1) {
        yaml_node_t *at = kids ? kids : get_key_node(w, m, "strategy");
        ERR(w, at,
            "children: a simple_one_for_one supervisor has exactly one child spec (the "
            "template of the children it starts), got %zu",
            n);
    }
    tr_child_spec *children = n ? tri_arena_alloc(&cfg->arena, n * sizeof *children) : NULL;
    yaml_node_t **ids = n ? tri_arena_alloc(&cfg->arena, n * sizeof *ids) : NULL;
    if (n && (!children || !ids)) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = node_at(w, items[i]);
        if (!it || !visit(w, it)) return;
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s%schildren[%zu]", path, *path ? "." : "", i);
        tri_config_loc(cfg, p, line_of(it), col_of(it));
        char got[80];
        if (it->type != YAML_MAPPING_NODE) {
            ERR(w, it, "children: expected a child (a map with 'name' or 'supervisor'), got %s",
                describe(it, got, sizeof got));
            continue;
        }
        bool has_sup = get(w, it, "supervisor") != NULL, has_name = get(w, it, "name") != NULL;
        if (has_sup && has_name) {
            ERR(w, it, "a child is either a worker ('name' and 'behaviour') or a supervisor "
                       "('supervisor' and 'children'), not both");
            continue;
        }
        if (!has_sup && !has_name) {
            ERR(w, it, "a child needs 'name' and 'behaviour' (a worker) or 'supervisor' (a "
                       "supervisor)");
            continue;
        }
        walk_child(w, it, p, has_sup, &pc, depth, &children[i], &ids[i]);
        for (size_t j = 0; j < i && children[i].id; j++)
            if (children[j].id && strcmp(children[i].id, children[j].id) == 0) {
                ERR(w, ids[i], "duplicate child id '%s' in %s (first at line %u, column %u)",
                    children[i].id, owner, line_of(ids[j]), col_of(ids[j]));
                break;
            }
    }
    out->children = children;
    out->nchildren = n;
}

/* ------------------------------------------------------------- top */

static int by_name(const void *a, const void *b)
{
    const regname *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A name registered by two children: the second start would fail with
 * TR_EEXIST. Sorted, so that a big tree costs n log n. */
static void check_registered(walker *w)
{
    if (w->nregs < 2) return;
    qsort(w->regs, w->nregs, sizeof *w->regs, by_name);
    for (size_t i = 1, first = 0; i < w->nregs; i++) {
        if (strcmp(w->regs[i].name, w->regs[first].name) != 0) {
            first = i;
            continue;
        }
        const regname *r = &w->regs[i], *f = &w->regs[first];
        tri_config_error(w->cfg, r->line, r->column,
                         "register: the name '%s' is already registered by child '%s' (line %u, "
                         "column %u)",
                         r->name, f->child, f->line, f->column);
    }
}

static void walk_tree(walker *w, yaml_node_t *v)
{
    tr_config *cfg = w->cfg;
    if (!expect_map(w, v, "tree")) return;
    yaml_node_t *name = get(w, v, "supervisor");
    if (!name) {
        const char *hint = get(w, v, "name") || get(w, v, "behaviour")
                               ? ": the root of the tree must be a supervisor, not a worker"
                               : "";
        ERR(w, v, "tree: expected 'supervisor: <name>' (the root supervisor's name)%s", hint);
        return;
    }
    cfg->tree_name = get_name(w, name, "supervisor", "/", false,
                              "a supervisor name of 1 to 255 bytes without '/'");
    walk_sup(w, v, "tree", cfg->tree_name, true, 1, &cfg->tree);
    check_registered(w);
    cfg->has_tree = cfg->tree_name != NULL;
}

static void walk_top(walker *w, yaml_node_t *root)
{
    char got[80];
    if (root->type != YAML_MAPPING_NODE || is_null(root)) {
        ERR(w, root, "expected a map with 'tree' (and optionally 'node' and 'plugins'), got %s",
            describe(root, got, sizeof got));
        return;
    }
    static const char *const keys[] = {"node", "plugins", "tree", NULL};
    const keyset ks[] = {{keys, NULL}};
    check_keys(w, root, "", "the config", ks, 1);
    yaml_node_t *x;
    /* plugins first, whatever the order in the file: the tree's
     * behaviours may come from them */
    if ((x = get(w, root, "plugins"))) walk_plugins(w, x);
    if ((x = get(w, root, "node"))) walk_node(w, x);
    if ((x = get(w, root, "tree"))) walk_tree(w, x);
    else ERR(w, root, "the config has no 'tree' (the root supervisor and its children)");
}

/* ------------------------------------------------------------- entry */

static void syntax_error(tr_config *cfg, yaml_parser_t *p, const char *text, size_t size)
{
    if (p->error == YAML_MEMORY_ERROR) {
        cfg->arena.oom = true;
        return;
    }
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        /* the reader reports a byte offset, not a mark */
        line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < size; i++) {
            if (text[i] == '\n') line++, col = 1;
            else if (((unsigned char)text[i] & 0xc0) != 0x80) col++;
        }
        tri_config_error(cfg, line, col, "YAML: %s (byte 0x%02x)",
                         p->problem ? p->problem : "unreadable input", p->problem_value & 0xff);
        return;
    }
    if (p->context)
        tri_config_error(cfg, line, col, "YAML syntax: %s (%s at line %u, column %u)",
                         p->problem ? p->problem : "error", p->context,
                         (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    else tri_config_error(cfg, line, col, "YAML syntax: %s", p->problem ? p->problem : "error");
}

void tri_config_walk(tr_config *cfg, const char *text, size_t size)
{
    if (tr_builtins_register() != TR_OK) {
        cfg->arena.oom = true;
        return;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        cfg->arena.oom = true;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(cfg, &parser, text, size);
        yaml_parser_delete(&parser);
        return;
    }
    walker w = {cfg, &doc, text, size, MAX_VISITS, NULL, 0, 0};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) tri_config_error(cfg, 1, 1, "the config is empty: expected a map with 'tree'");
    else walk_top(&w, root);
    free(w.regs);
    yaml_document_t next;
    if (root && yaml_parser_load(&parser, &next)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2)
            tri_config_error(cfg, line_of(r2), col_of(r2),
                             "a second YAML document: a config file holds one");
        yaml_document_delete(&next);
    } else if (root) {
        syntax_error(cfg, &parser, text, size);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    /* the C API's own check, as a net: any spec the walk let through
     * that tr_supervisor_start would refuse is a bug here, said so */
    if (cfg->nerr == 0 && cfg->has_tree) {
        char why[512];
        if (tr_sup_spec_check(&cfg->tree, why, sizeof why) != TR_OK) {
            tr_config_error at = {0};
            tr_config_locate(cfg, "tree", &at);
            tri_config_error(cfg, at.line, at.column, "the tree is refused: %s", why);
        }
    }
}
