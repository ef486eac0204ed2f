/* store.c — the key-value store: a server holding a hash table, with a
 * stats timer. Putting KV_POISON crashes it on purpose; its supervisor
 * starts a fresh (empty) one under the same registered name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define NBUCKETS 256

typedef struct entry {
    struct entry *next;
    size_t len;
    char *val;
    char key[]; /* NUL-terminated */
} entry;

typedef struct store {
    entry *buckets[NBUCKETS];
    uint64_t keys, puts, gets;
} store;

atomic_uint kv_store_starts;

static entry **slot(store *s, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = key; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    entry **e = &s->buckets[h % NBUCKETS];
    while (*e && strcmp((*e)->key, key) != 0) e = &(*e)->next;
    return e; /* the entry, or where it would go */
}

TR_SERVER_INIT(store_init, store)
{
    atomic_fetch_add(&kv_store_starts, 1);
    return tr_send_every(ctx, tr_self(ctx), 1000, KV_STATS, NULL, 0, NULL);
}

TR_SERVER_TERMINATE(store_end, store)
{
    for (int i = 0; i < NBUCKETS; i++)
        for (entry *e = state->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->val);
            free(e);
        }
}

/* kv.put: answered "tr.ok" by default when it returns 0 */
TR_SERVER_CALL(store_put, store)
{
    const char *key;
    const void *val;
    size_t len;
    if (tr_unpack_msg(msg, "str bytes", &key, &val, &len) != TR_OK)
        return tr_fail(ctx, "malformed kv.put");
    if (strcmp(key, KV_POISON) == 0) return tr_fail(ctx, "poison key");
    char *copy = malloc(len ? len : 1);
    if (!copy) return TR_ENOMEM;
    memcpy(copy, val, len);
    entry **e = slot(state, key);
    if (!*e) {
        size_t klen = strlen(key) + 1;
        if (!(*e = calloc(1, sizeof **e + klen))) {
            free(copy);
            return TR_ENOMEM;
        }
        memcpy((*e)->key, key, klen);
        state->keys++;
    }
    free((*e)->val);
    (*e)->val = copy;
    (*e)->len = len;
    state->puts++;
    return 0;
}

TR_SERVER_CALL(store_get, store)
{
    const char *key;
    if (tr_unpack_msg(msg, "str", &key) != TR_OK) return tr_fail(ctx, "malformed kv.get");
    entry *e = *slot(state, key);
    state->gets++;
    return e ? tr_answer_set(answer, KV_VALUE, e->val, e->len)
             : tr_answer_set(answer, KV_MISSING, NULL, 0);
}

TR_SERVER_CAST(store_stats, store)
{
    printf("kv store: %llu keys, %llu puts, %llu gets\n", (unsigned long long)state->keys,
           (unsigned long long)state->puts, (unsigned long long)state->gets);
    fflush(stdout);
    return 0;
}

TR_SERVER_DEFINE(kv_store, store, .init = store_init, .terminate = store_end,
                 .calls = TR_SERVER_CALLS({"kv.put", store_put}, {"kv.get", store_get}),
                 .casts = TR_SERVER_CASTS({"kv.stats", store_stats}));
