/* fuzz_args.c — libFuzzer target: the input is args bytes (troupe/
 * args.h) as a behaviour's init receives them; one day from another
 * node's spawn request, so never trusted. Checked, then read by paths and
 * by iteration: the accessor must refuse or answer, never read past the
 * end (the input is copied into an exact-size block for ASan). The first
 * input byte picks the path. Seed corpus: fuzz/corpus/args/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "troupe.h"

static volatile size_t sink;

static const char *const paths[] = {
    "",     "[0]",   "a",     "a.b",  "a[1]", "a.0.b",          "db.host", "servers[1].port",
    "tags", "x.y.z", "[1].a", "a..b", "a[",   "a[99999999999]", "k",       "interval"};

static void iterate(const tr_args_value *v, int depth)
{
    tr_args_iter it;
    if (depth > TR_ARGS_MAX_DEPTH + 1 || tr_args_iter_value(&it, v) != TR_OK) return;
    const char *key;
    tr_args_value item;
    while (tr_args_iter_next(&it, &key, &item) == TR_OK) {
        if (key) sink += strlen(key);
        if (item.type == TR_ARGS_STR) sink += item.len + (size_t)item.s[item.len];
        iterate(&item, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *path = paths[data[0] % (sizeof paths / sizeof paths[0])];
    size_t n = size - 1;
    unsigned char *args = malloc(n ? n : 1);
    if (!args) return 0;
    memcpy(args, data + 1, n);
    char why[160];
    int ok = tr_args_check(args, n, why, sizeof why) == TR_OK;
    tr_args_value v;
    if (tr_args_get(args, n, path, &v) == TR_OK) {
        int64_t i;
        uint64_t u;
        tr_args_value_duration(&v, &i);
        tr_args_value_size(&v, &u);
        if (v.type == TR_ARGS_STR) sink += v.len + (size_t)v.s[v.len];
        iterate(&v, 0);
    }
    tr_args_value root;
    if (tr_args_get(args, n, NULL, &root) == TR_OK)
        iterate(&root, 0);
    else if (ok)
        __builtin_trap(); /* checked bytes must be readable */
    size_t count;
    tr_args_count(args, n, NULL, &count);
    free(args);
    return 0;
}
