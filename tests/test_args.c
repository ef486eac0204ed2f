/* test_args.c — structured spawn args (troupe/args.h): every type, paths
 * through maps and lists, iteration, layers, the builder's rules, the
 * bytes a config produces, and malformed bytes (every truncation, every
 * corrupted byte) refused without reading out of bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

typedef struct blob {
    void *p;
    size_t n;
} blob;

/* {name: "kv", shards: 4, ratio: 0.5, on: true, none: null, timeout: "250ms",
 *  buffer: "64KiB", db: {host: "h", port: 5432, opts: {tls: false}},
 *  servers: [{host: a, port: 1}, {host: b, port: 2}], tags: [x, y, z]} */
static blob sample(void)
{
    tr_args_builder *b;
    assert_int_equal(tr_args_builder_new(&b), TR_OK);
    assert_int_equal(tr_args_put_str(b, "name", "kv"), TR_OK);
    assert_int_equal(tr_args_put_int(b, "shards", 4), TR_OK);
    assert_int_equal(tr_args_put_float(b, "ratio", 0.5), TR_OK);
    assert_int_equal(tr_args_put_bool(b, "on", true), TR_OK);
    assert_int_equal(tr_args_put_null(b, "none"), TR_OK);
    assert_int_equal(tr_args_put_str(b, "timeout", "250ms"), TR_OK);
    assert_int_equal(tr_args_put_str(b, "buffer", "64KiB"), TR_OK);
    assert_int_equal(tr_args_begin_map(b, "db"), TR_OK);
    tr_args_put_str(b, "host", "h");
    tr_args_put_int(b, "port", 5432);
    tr_args_begin_map(b, "opts");
    tr_args_put_bool(b, "tls", false);
    tr_args_end(b);
    tr_args_end(b);
    tr_args_begin_list(b, "servers");
    for (int i = 0; i < 2; i++) {
        tr_args_begin_map(b, NULL);
        tr_args_put_str(b, "host", i ? "b" : "a");
        tr_args_put_int(b, "port", i + 1);
        tr_args_end(b);
    }
    tr_args_end(b);
    tr_args_begin_list(b, "tags");
    tr_args_put_str(b, NULL, "x");
    tr_args_put_str(b, NULL, "y");
    tr_args_put_str(b, NULL, "z");
    assert_int_equal(tr_args_end(b), TR_OK);
    blob out;
    assert_int_equal(tr_args_finish(b, &out.p, &out.n), TR_OK);
    tr_args_builder_destroy(&b);
    assert_null(b);
    assert_int_equal(tr_args_check(out.p, out.n, NULL, 0), TR_OK);
    return out;
}

static void test_every_type(void **state)
{
    (void)state;
    blob a = sample();
    const char *s;
    size_t len;
    int64_t i;
    double f;
    bool b;
    uint64_t sz;
    assert_int_equal(tr_args_str(a.p, a.n, "name", &s, &len), TR_OK);
    assert_string_equal(s, "kv");
    assert_int_equal(len, 2);
    assert_int_equal(tr_args_int(a.p, a.n, "shards", &i), TR_OK);
    assert_int_equal(i, 4);
    assert_int_equal(tr_args_float(a.p, a.n, "ratio", &f), TR_OK);
    assert_true(f == 0.5);
    assert_int_equal(tr_args_float(a.p, a.n, "shards", &f), TR_OK); /* ints convert */
    assert_true(f == 4.0);
    assert_int_equal(tr_args_bool(a.p, a.n, "on", &b), TR_OK);
    assert_true(b);
    tr_args_value v;
    assert_int_equal(tr_args_get(a.p, a.n, "none", &v), TR_OK);
    assert_int_equal(v.type, TR_ARGS_NULL);
    assert_int_equal(tr_args_duration(a.p, a.n, "timeout", &i), TR_OK);
    assert_int_equal(i, 250);
    assert_int_equal(tr_args_size(a.p, a.n, "buffer", &sz), TR_OK);
    assert_int_equal(sz, 65536);
    assert_int_equal(tr_args_size(a.p, a.n, "shards", &sz), TR_OK); /* an int is bytes */
    assert_int_equal(sz, 4);
    /* wrong types are TR_EINVAL, missing keys TR_ENOENT; outputs untouched */
    i = 77;
    assert_int_equal(tr_args_int(a.p, a.n, "name", &i), TR_EINVAL);
    assert_int_equal(i, 77);
    assert_int_equal(tr_args_str(a.p, a.n, "shards", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_bool(a.p, a.n, "none", &b), TR_EINVAL);
    assert_int_equal(tr_args_duration(a.p, a.n, "name", &i), TR_EINVAL);
    assert_int_equal(tr_args_duration(a.p, a.n, "shards", &i), TR_EINVAL); /* which unit? */
    assert_int_equal(tr_args_size(a.p, a.n, "ratio", &sz), TR_EINVAL);
    assert_int_equal(tr_args_int(a.p, a.n, "nope", &i), TR_ENOENT);
    assert_int_equal(tr_args_int(a.p, a.n, "Shards", &i), TR_ENOENT);
    free(a.p);
}

static void test_paths(void **state)
{
    (void)state;
    blob a = sample();
    const char *s;
    int64_t i;
    bool b;
    assert_int_equal(tr_args_str(a.p, a.n, "db.host", &s, NULL), TR_OK);
    assert_string_equal(s, "h");
    assert_int_equal(tr_args_int(a.p, a.n, "db.port", &i), TR_OK);
    assert_int_equal(i, 5432);
    assert_int_equal(tr_args_bool(a.p, a.n, "db.opts.tls", &b), TR_OK);
    assert_false(b);
    assert_int_equal(tr_args_str(a.p, a.n, "servers[1].host", &s, NULL), TR_OK);
    assert_string_equal(s, "b");
    assert_int_equal(tr_args_int(a.p, a.n, "servers.0.port", &i), TR_OK);
    assert_int_equal(i, 1);
    assert_int_equal(tr_args_str(a.p, a.n, "tags[2]", &s, NULL), TR_OK);
    assert_string_equal(s, "z");
    size_t n;
    assert_int_equal(tr_args_count(a.p, a.n, "tags", &n), TR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(tr_args_count(a.p, a.n, "db", &n), TR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(tr_args_count(a.p, a.n, NULL, &n), TR_OK);
    assert_int_equal(n, 10);
    assert_int_equal(tr_args_count(a.p, a.n, "name", &n), TR_EINVAL);
    /* missing keys and indices */
    assert_int_equal(tr_args_str(a.p, a.n, "tags[3]", &s, NULL), TR_ENOENT);
    assert_int_equal(tr_args_str(a.p, a.n, "db.user", &s, NULL), TR_ENOENT);
    assert_int_equal(tr_args_str(a.p, a.n, "nope.host", &s, NULL), TR_ENOENT);
    /* bad paths: through a scalar, a key into a list, syntax */
    assert_int_equal(tr_args_str(a.p, a.n, "name.x", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "tags.x", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "db[0]", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "tags[x]", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "tags[1", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "db..host", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "db.", &s, NULL), TR_EINVAL);
    assert_int_equal(tr_args_str(a.p, a.n, "tags[99999999999999999999]", &s, NULL), TR_EINVAL);
    /* a value in hand is a base for more paths */
    tr_args_value db, port;
    assert_int_equal(tr_args_get(a.p, a.n, "db", &db), TR_OK);
    assert_int_equal(db.type, TR_ARGS_MAP);
    assert_int_equal(db.count, 3);
    assert_int_equal(tr_args_value_get(&db, "opts.tls", &port), TR_OK);
    assert_int_equal(port.type, TR_ARGS_BOOL);
    assert_int_equal(tr_args_value_get(&port, "x", &port), TR_EINVAL);
    free(a.p);
}

static void test_iteration(void **state)
{
    (void)state;
    blob a = sample();
    static const char *const keys[] = {"name",    "shards", "ratio", "on",      "none",
                                       "timeout", "buffer", "db",    "servers", "tags"};
    tr_args_iter it;
    assert_int_equal(tr_args_iter_init(&it, a.p, a.n, NULL), TR_OK);
    const char *k;
    tr_args_value v;
    size_t n = 0;
    while (tr_args_iter_next(&it, &k, &v) == TR_OK) {
        assert_true(n < 10);
        assert_string_equal(k, keys[n]);
        n++;
    }
    assert_int_equal(n, 10);
    assert_int_equal(tr_args_iter_next(&it, &k, &v), TR_ENOENT); /* stays at the end */
    /* a list: items without keys */
    assert_int_equal(tr_args_iter_init(&it, a.p, a.n, "servers"), TR_OK);
    n = 0;
    while (tr_args_iter_next(&it, &k, &v) == TR_OK) {
        assert_null(k);
        assert_int_equal(v.type, TR_ARGS_MAP);
        int64_t port;
        tr_args_value p;
        assert_int_equal(tr_args_value_get(&v, "port", &p), TR_OK);
        port = p.i;
        assert_int_equal(port, (int64_t)n + 1);
        n++;
    }
    assert_int_equal(n, 2);
    /* a nested map from a value in hand; conversions of values in hand */
    tr_args_value db;
    assert_int_equal(tr_args_get(a.p, a.n, "db", &db), TR_OK);
    assert_int_equal(tr_args_iter_value(&it, &db), TR_OK);
    assert_int_equal(tr_args_iter_next(&it, &k, &v), TR_OK);
    assert_string_equal(k, "host");
    assert_int_equal(tr_args_get(a.p, a.n, "timeout", &v), TR_OK);
    int64_t ms;
    assert_int_equal(tr_args_value_duration(&v, &ms), TR_OK);
    assert_int_equal(ms, 250);
    uint64_t bytes;
    assert_int_equal(tr_args_value_size(&v, &bytes), TR_EINVAL);
    /* scalars cannot be iterated */
    assert_int_equal(tr_args_iter_init(&it, a.p, a.n, "name"), TR_EINVAL);
    free(a.p);
}

static void test_root_scalar_and_empty(void **state)
{
    (void)state;
    /* a non-map root sits under the key "" */
    tr_args_builder *b;
    tr_args_builder_new(&b);
    tr_args_begin_list(b, "");
    tr_args_put_int(b, NULL, 10);
    tr_args_put_int(b, NULL, -20);
    tr_args_end(b);
    blob a;
    assert_int_equal(tr_args_finish(b, &a.p, &a.n), TR_OK);
    int64_t i;
    assert_int_equal(tr_args_int(a.p, a.n, "[1]", &i), TR_OK);
    assert_int_equal(i, -20);
    size_t n;
    assert_int_equal(tr_args_count(a.p, a.n, "", &n), TR_OK);
    assert_int_equal(n, 2);
    free(a.p);
    /* the builder is reusable after finish; nothing put: a valid empty map */
    assert_int_equal(tr_args_finish(b, &a.p, &a.n), TR_OK);
    assert_int_equal(tr_args_count(a.p, a.n, NULL, &n), TR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tr_args_int(a.p, a.n, "x", &i), TR_ENOENT);
    free(a.p);
    tr_args_builder_destroy(&b);
    tr_args_builder_destroy(&b); /* NULL is fine */
    /* no args at all: every lookup is ENOENT, the root is an empty map */
    assert_int_equal(tr_args_check(NULL, 0, NULL, 0), TR_OK);
    assert_int_equal(tr_args_int(NULL, 0, "x", &i), TR_ENOENT);
    assert_int_equal(tr_args_count(NULL, 0, NULL, &n), TR_OK);
    assert_int_equal(n, 0);
}

static void test_extremes(void **state)
{
    (void)state;
    tr_args_builder *b;
    tr_args_builder_new(&b);
    tr_args_put_int(b, "min", INT64_MIN);
    tr_args_put_int(b, "max", INT64_MAX);
    tr_args_put_int(b, "neg", -1);
    tr_args_put_float(b, "inf", INFINITY);
    char key[TR_ARGS_MAX_KEY + 1];
    memset(key, 'k', TR_ARGS_MAX_KEY);
    key[TR_ARGS_MAX_KEY] = '\0';
    assert_int_equal(tr_args_put_str(b, key, "longest key"), TR_OK);
    blob a;
    assert_int_equal(tr_args_finish(b, &a.p, &a.n), TR_OK);
    int64_t i;
    double f;
    assert_int_equal(tr_args_int(a.p, a.n, "min", &i), TR_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(tr_args_int(a.p, a.n, "max", &i), TR_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(tr_args_int(a.p, a.n, "neg", &i), TR_OK);
    assert_int_equal(i, -1);
    assert_int_equal(tr_args_float(a.p, a.n, "inf", &f), TR_OK);
    assert_true(isinf(f));
    const char *s;
    assert_int_equal(tr_args_str(a.p, a.n, key, &s, NULL), TR_OK);
    assert_string_equal(s, "longest key");
    free(a.p);
    tr_args_builder_destroy(&b);
    /* durations: units, parts, infinity, sub-millisecond refused */
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } d[] = {{"250ms", TR_OK, 250},
             {"5s", TR_OK, 5000},
             {"1m", TR_OK, 60000},
             {"1h30m", TR_OK, 5400000},
             {"0", TR_OK, 0},
             {"infinity", TR_OK, -1},
             {"1500us", TR_EINVAL, 0},
             {"5", TR_EINVAL, 0},
             {"5 s", TR_EINVAL, 0},
             {"-5s", TR_EINVAL, 0},
             {"5sec", TR_EINVAL, 0},
             {"", TR_EINVAL, 0},
             {"99999999999999999999d", TR_EINVAL, 0}};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++) {
        tr_args_builder_new(&b);
        tr_args_put_str(b, "d", d[k].text);
        tr_args_finish(b, &a.p, &a.n);
        tr_args_builder_destroy(&b);
        int64_t ms = 12345;
        int rc = tr_args_duration(a.p, a.n, "d", &ms);
        if (rc != d[k].rc) print_error("duration '%s'\n", d[k].text);
        assert_int_equal(rc, d[k].rc);
        assert_int_equal(ms, rc == TR_OK ? d[k].ms : 12345);
        free(a.p);
    }
    static const struct {
        const char *text;
        int rc;
        uint64_t bytes;
    } z[] = {{"64KiB", TR_OK, 65536}, {"1MiB", TR_OK, 1048576}, {"10kB", TR_OK, 10000},
             {"512B", TR_OK, 512},    {"4096", TR_OK, 4096},    {"1.5MiB", TR_EINVAL, 0},
             {"1 MiB", TR_EINVAL, 0}, {"1mib", TR_EINVAL, 0},   {"20000000TiB", TR_EINVAL, 0}};
    for (size_t k = 0; k < sizeof z / sizeof z[0]; k++) {
        tr_args_builder_new(&b);
        tr_args_put_str(b, "z", z[k].text);
        tr_args_finish(b, &a.p, &a.n);
        tr_args_builder_destroy(&b);
        uint64_t bytes = 7;
        int rc = tr_args_size(a.p, a.n, "z", &bytes);
        if (rc != z[k].rc) print_error("size '%s'\n", z[k].text);
        assert_int_equal(rc, z[k].rc);
        assert_int_equal(bytes, rc == TR_OK ? z[k].bytes : 7);
        free(a.p);
    }
}

static void test_builder_rules(void **state)
{
    (void)state;
    tr_args_builder *b;
    void *p = (void *)1;
    size_t n = 99;
    /* a root value needs a key */
    tr_args_builder_new(&b);
    assert_int_equal(tr_args_put_int(b, NULL, 1), TR_EINVAL);
    assert_int_equal(tr_args_put_int(b, "x", 1), TR_EINVAL); /* the first error sticks */
    assert_int_equal(tr_args_finish(b, &p, &n), TR_EINVAL);
    /* after a failed finish the builder is empty and works again */
    assert_int_equal(tr_args_put_int(b, "x", 1), TR_OK);
    assert_int_equal(tr_args_finish(b, &p, &n), TR_OK);
    free(p);
    /* list items take no key; map entries need one */
    tr_args_begin_list(b, "l");
    assert_int_equal(tr_args_put_int(b, "k", 1), TR_EINVAL);
    tr_args_finish(b, &p, &n);
    tr_args_begin_map(b, "m");
    assert_int_equal(tr_args_put_int(b, NULL, 1), TR_EINVAL);
    tr_args_finish(b, &p, &n);
    /* too long a key, NULL string, unbalanced end, an open map at finish */
    char key[TR_ARGS_MAX_KEY + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(tr_args_put_int(b, key, 1), TR_EINVAL);
    tr_args_finish(b, &p, &n);
    assert_int_equal(tr_args_put_str(b, "s", NULL), TR_EINVAL);
    tr_args_finish(b, &p, &n);
    assert_int_equal(tr_args_end(b), TR_EINVAL);
    tr_args_finish(b, &p, &n);
    tr_args_begin_map(b, "open");
    assert_int_equal(tr_args_finish(b, &p, &n), TR_EINVAL);
    /* nesting is bounded */
    int rc = TR_OK;
    for (int i = 0; i <= TR_ARGS_MAX_DEPTH && rc == TR_OK; i++)
        rc = tr_args_begin_list(b, i ? NULL : "d");
    assert_int_equal(rc, TR_EINVAL);
    tr_args_finish(b, &p, &n);
    tr_args_builder_destroy(&b);
    assert_int_equal(tr_args_put_int(NULL, "x", 1), TR_EINVAL);
    assert_int_equal(tr_args_builder_new(NULL), TR_EINVAL);
}

/* Concatenated buffers are layers: later keys override earlier ones,
 * iteration shows each key once, at its first place, with its last value. */
static void test_layers(void **state)
{
    (void)state;
    tr_args_builder *b;
    blob x, y;
    tr_args_builder_new(&b);
    tr_args_put_int(b, "pool", 4);
    tr_args_put_str(b, "name", "template");
    tr_args_finish(b, &x.p, &x.n);
    tr_args_put_str(b, "name", "dynamic");
    tr_args_put_int(b, "extra", 1);
    tr_args_finish(b, &y.p, &y.n);
    tr_args_builder_destroy(&b);
    char *both = malloc(x.n + y.n);
    memcpy(both, x.p, x.n);
    memcpy(both + x.n, y.p, y.n);
    size_t n = x.n + y.n;
    assert_int_equal(tr_args_check(both, n, NULL, 0), TR_OK);
    const char *s;
    int64_t i;
    assert_int_equal(tr_args_str(both, n, "name", &s, NULL), TR_OK);
    assert_string_equal(s, "dynamic");
    assert_int_equal(tr_args_int(both, n, "pool", &i), TR_OK);
    assert_int_equal(i, 4);
    size_t count;
    assert_int_equal(tr_args_count(both, n, NULL, &count), TR_OK);
    assert_int_equal(count, 3);
    tr_args_iter it;
    tr_args_iter_init(&it, both, n, NULL);
    const char *k;
    tr_args_value v;
    const char *order[3];
    size_t m = 0;
    while (tr_args_iter_next(&it, &k, &v) == TR_OK && m < 3)
        order[m++] = k;
    assert_int_equal(m, 3);
    assert_string_equal(order[0], "pool");
    assert_string_equal(order[1], "name");
    assert_string_equal(order[2], "extra");
    free(both);
    free(x.p);
    free(y.p);
}

/* Every prefix of a valid buffer and every single-byte corruption of it:
 * checked, read, iterated; ASan proves nothing is read past the end. */
static void test_malformed_bytes(void **state)
{
    (void)state;
    blob a = sample();
    char why[160];
    for (size_t cut = 1; cut < a.n; cut++) {
        char *p = malloc(cut); /* exact size: any overread is caught */
        memcpy(p, a.p, cut);
        int rc = tr_args_check(p, cut, why, sizeof why);
        if (rc == TR_OK) {
            /* a cut between entries of the root leaves a valid prefix */
            tr_args_value v;
            tr_args_get(p, cut, "servers[1].host", &v);
        } else {
            assert_int_equal(rc, TR_EINVAL);
            assert_non_null(strstr(why, "malformed args at byte"));
        }
        const char *s;
        int64_t i;
        size_t n;
        tr_args_str(p, cut, "tags[2]", &s, NULL);
        tr_args_int(p, cut, "db.port", &i);
        tr_args_count(p, cut, NULL, &n);
        tr_args_iter it;
        if (tr_args_iter_init(&it, p, cut, NULL) == TR_OK)
            while (tr_args_iter_next(&it, NULL, NULL) == TR_OK) {
            }
        free(p);
    }
    for (size_t at = 0; at < a.n; at++)
        for (int delta = 1; delta < 256; delta += 37) {
            unsigned char *p = malloc(a.n);
            memcpy(p, a.p, a.n);
            p[at] = (unsigned char)(p[at] + delta);
            int rc = tr_args_check(p, a.n, why, sizeof why);
            assert_true(rc == TR_OK || rc == TR_EINVAL);
            const char *s;
            tr_args_str(p, a.n, "servers[1].host", &s, NULL);
            tr_args_iter it;
            if (tr_args_iter_init(&it, p, a.n, "db") == TR_OK)
                while (tr_args_iter_next(&it, NULL, NULL) == TR_OK) {
                }
            free(p);
        }
    /* specific refusals, with their reasons */
    assert_int_equal(tr_args_check("hello", 5, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "not troupe args"));
    int64_t i;
    assert_int_equal(tr_args_int("hello", 5, "x", &i), TR_EINVAL);
    static const unsigned char lying[] = {0xFF, 'T',  'A',  1,    1, 'm', 0, 'm',
                                          0xff, 0xff, 0xff, 0x7f, 1, 0,   0, 0};
    assert_int_equal(tr_args_check(lying, sizeof lying, why, sizeof why), TR_EINVAL);
    tr_args_value v;
    assert_int_equal(tr_args_get(lying, sizeof lying, "m", &v), TR_EINVAL);
    static const unsigned char no_nul[] = {0xFF, 'T', 'A', 1,   1,   's', 0,
                                           's',  3,   'a', 'b', 'c', 'd'};
    assert_int_equal(tr_args_check(no_nul, sizeof no_nul, why, sizeof why), TR_EINVAL);
    assert_int_equal(tr_args_get(no_nul, sizeof no_nul, "s", &v), TR_EINVAL);
    static const unsigned char bad_tag[] = {0xFF, 'T', 'A', 1, 1, 'x', 0, 'Q'};
    assert_int_equal(tr_args_check(bad_tag, sizeof bad_tag, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "unknown value tag"));
    static const unsigned char long_varint[] = {0xFF, 'T',  'A',  1,    1,    'i',
                                                0,    'i',  0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(tr_args_check(long_varint, sizeof long_varint, why, sizeof why), TR_EINVAL);
    /* nesting beyond the limit, built by hand (the builder refuses it) */
    enum { DEPTH = TR_ARGS_MAX_DEPTH + 2 };
    unsigned char deep[4 + 3 + DEPTH * 9 + 1];
    size_t o = 0;
    memcpy(deep, (const unsigned char[]){0xFF, 'T', 'A', 1, 1, 'd', 0}, 7);
    o = 7;
    for (int d = 0; d < DEPTH; d++) {
        uint32_t body = (uint32_t)((DEPTH - d - 1) * 9 + 1), count = d < DEPTH - 1 ? 1 : 1;
        deep[o++] = 'l';
        for (int k = 0; k < 4; k++)
            deep[o++] = (unsigned char)(body >> (8 * k));
        for (int k = 0; k < 4; k++)
            deep[o++] = (unsigned char)(count >> (8 * k));
    }
    deep[o++] = 'n';
    assert_int_equal(tr_args_check(deep, o, why, sizeof why), TR_EINVAL);
    assert_non_null(strstr(why, "deeper"));
    free(a.p);
}

/* What a config hands a behaviour: YAML's core schema types. */
static void test_from_yaml(void **state)
{
    (void)state;
    static const char yaml[] = "tree:\n"
                               "  supervisor: s\n"
                               "  children:\n"
                               "    - name: w\n"
                               "      behaviour: troupe.echo\n"
                               "      args:\n"
                               "        int: 42\n"
                               "        hex: 0x10\n"
                               "        neg: -7\n"
                               "        float: 1.5\n"
                               "        exp: 1e3\n"
                               "        inf: -.inf\n"
                               "        yes: true\n"
                               "        quoted: \"42\"\n"
                               "        word: yes\n"
                               "        nothing: ~\n"
                               "        empty:\n"
                               "        dur: 250ms\n"
                               "        tagged: !!str 5\n"
                               "        forced: !!float 3\n"
                               "        nested: { db: { hosts: [a, \"b\"] } }\n"
                               "        block: |\n"
                               "          two\n"
                               "          lines\n"
                               "    - name: scalar\n"
                               "      behaviour: troupe.echo\n"
                               "      args: 5\n"
                               "    - name: list\n"
                               "      behaviour: troupe.echo\n"
                               "      args: [a, 2]\n"
                               "    - name: none\n"
                               "      behaviour: troupe.echo\n"
                               "      args:\n";
    tr_config *cfg;
    assert_int_equal(tr_config_parse("t.yaml", yaml, sizeof yaml - 1, 0, &cfg), TR_OK);
    const tr_sup_spec *t = tr_config_tree(cfg);
    assert_non_null(t);
    const void *a = t->children[0].args;
    size_t n = t->children[0].args_size;
    assert_int_equal(tr_args_check(a, n, NULL, 0), TR_OK);
    tr_args_value v;
    static const struct {
        const char *key;
        tr_args_type type;
    } types[] = {{"int", TR_ARGS_INT},      {"hex", TR_ARGS_INT},      {"neg", TR_ARGS_INT},
                 {"float", TR_ARGS_FLOAT},  {"exp", TR_ARGS_FLOAT},    {"inf", TR_ARGS_FLOAT},
                 {"yes", TR_ARGS_BOOL},     {"quoted", TR_ARGS_STR},   {"word", TR_ARGS_STR},
                 {"nothing", TR_ARGS_NULL}, {"empty", TR_ARGS_NULL},   {"dur", TR_ARGS_STR},
                 {"tagged", TR_ARGS_STR},   {"forced", TR_ARGS_FLOAT}, {"nested", TR_ARGS_MAP},
                 {"block", TR_ARGS_STR}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        assert_int_equal(tr_args_get(a, n, types[i].key, &v), TR_OK);
        if (v.type != types[i].type) print_error("key %s\n", types[i].key);
        assert_int_equal(v.type, types[i].type);
    }
    int64_t i;
    double f;
    const char *s;
    tr_args_int(a, n, "hex", &i);
    assert_int_equal(i, 16);
    tr_args_float(a, n, "exp", &f);
    assert_true(f == 1000.0);
    tr_args_float(a, n, "inf", &f);
    assert_true(isinf(f) && f < 0);
    tr_args_str(a, n, "quoted", &s, NULL);
    assert_string_equal(s, "42");
    tr_args_str(a, n, "nested.db.hosts[1]", &s, NULL);
    assert_string_equal(s, "b");
    tr_args_str(a, n, "block", &s, NULL);
    assert_string_equal(s, "two\nlines\n");
    tr_args_duration(a, n, "dur", &i);
    assert_int_equal(i, 250);
    /* a scalar or a list root sits under "" */
    assert_int_equal(tr_args_int(t->children[1].args, t->children[1].args_size, "", &i), TR_OK);
    assert_int_equal(i, 5);
    assert_int_equal(tr_args_int(t->children[2].args, t->children[2].args_size, "[1]", &i), TR_OK);
    assert_int_equal(i, 2);
    /* `args:` with nothing is no args */
    assert_null(t->children[3].args);
    assert_int_equal(t->children[3].args_size, 0);
    tr_config_destroy(&cfg);
    assert_null(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type), cmocka_unit_test(test_paths),
        cmocka_unit_test(test_iteration),  cmocka_unit_test(test_root_scalar_and_empty),
        cmocka_unit_test(test_extremes),   cmocka_unit_test(test_builder_rules),
        cmocka_unit_test(test_layers),     cmocka_unit_test(test_malformed_bytes),
        cmocka_unit_test(test_from_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
