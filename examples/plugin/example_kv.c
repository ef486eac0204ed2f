/* example_kv.c — a troupe plugin: a shared object that registers a
 * behaviour through the documented entry point (troupe/config.h,
 * "Plugins"), for configs to name.
 *
 * It links no troupe: its tr_* calls resolve to the program that loads it
 * (`troupe run`, which exports its troupe). meson builds it as
 * build/examples/example_kv.so, next to the example configs that load it
 * (examples/kv/, examples/cluster/).
 *
 * "example.kv" — a small key-value store. Requests (tr_call, or
 * tr_call_named "kv@node" from another node):
 *   "kv.put"  payload "key=value"  answer "kv.ok" (payload: the key), or
 *                                  "kv.full" past `capacity` keys; with a
 *                                  replica, once the replica has it too
 *                                  ("kv.unreplicated" if it did not answer)
 *   "kv.get"  payload "key"        answer "kv.value" (payload: the value)
 *                                  or "kv.missing"
 *   "kv.size" (no payload)         answer "kv.size" (payload: the count as
 *                                  decimal text)
 * Messages (tr_send; the built-in troupe.ticker sends them):
 *   "kv.snapshot"                  logs the store's size at info level
 * args:
 *   capacity  int 1..100000 (default 1000): the most keys it holds
 *   replica   a name ("kv-replica@back"): every put is passed on there,
 *             as a call, and answered when the replica has answered, so
 *             that a client that got "kv.ok" finds the key on the replica
 *             too (a put sent as a plain message is passed on as one)
 * It logs "<path>: example.kv started" and "<path>: example.kv stopped
 * (<reason>)" at info level: the shutdown order is in the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe.h"

TROUPE_PLUGIN_EXPORT const uint32_t troupe_plugin_abi = TROUPE_PLUGIN_ABI;

#define KEY_MAX   64
#define VALUE_MAX 256

typedef struct entry {
    char key[KEY_MAX + 1];
    char value[VALUE_MAX + 1];
} entry;

#define PENDING_MAX 128

/* A put waiting for the replica's answer: the client's request and our
 * call's reference. */
typedef struct pending {
    tr_request client;
    tr_ref ref;
} pending;

typedef struct kv {
    entry *v; /* malloc'd in init, freed in terminate */
    pending wait[PENDING_MAX];
    size_t nwait;
    size_t n, capacity;
    char replica[256];
    char path[256];
} kv;

static entry *find(kv *s, const char *key, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i].key) == len && !memcmp(s->v[i].key, key, len)) return &s->v[i];
    return NULL;
}

static int kv_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    kv *s = st;
    int64_t cap = 1000;
    int rc = tr_args_int(args, size, "capacity", &cap);
    if ((rc != TR_OK && rc != TR_ENOENT) || cap < 1 || cap > 100000)
        return tr_fail(ctx, "example.kv: args.capacity: expected an int from 1 to 100000");
    const char *rep = NULL;
    size_t rlen = 0;
    rc = tr_args_str(args, size, "replica", &rep, &rlen);
    if ((rc != TR_OK && rc != TR_ENOENT) || rlen >= sizeof s->replica)
        return tr_fail(ctx, "example.kv: args.replica: expected a registered name");
    if (rep) memcpy(s->replica, rep, rlen + 1);
    if (!(s->v = calloc((size_t)cap, sizeof *s->v)))
        return tr_fail(ctx, "example.kv: no memory for %lld keys", (long long)cap);
    s->capacity = (size_t)cap;
    tr_path(ctx, s->path, sizeof s->path);
    tr_log(TR_LOG_INFO, "%s: example.kv started%s%s", s->path, s->replica[0] ? ", replica " : "",
           s->replica);
    return 0;
}

/* "key=value" into the store. Returns the entry, or NULL (malformed, or
 * full: *full says which). */
static entry *put(kv *s, const char *p, size_t n, bool *full)
{
    *full = false;
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p || (size_t)(eq - p) > KEY_MAX || n - (size_t)(eq - p) - 1 > VALUE_MAX)
        return NULL;
    size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
    entry *e = find(s, p, klen);
    if (!e) {
        if (s->n == s->capacity) {
            *full = true;
            return NULL;
        }
        e = &s->v[s->n++];
        memcpy(e->key, p, klen);
        e->key[klen] = '\0';
    }
    memcpy(e->value, eq + 1, vlen);
    e->value[vlen] = '\0';
    return e;
}

static int kv_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    kv *s = st;
    const char *p = tr_msg_data(m);
    size_t n = tr_msg_size(m);
    if (tr_msg_is(m, tr_atom_from("kv.snapshot"))) {
        tr_log(TR_LOG_INFO, "%s: example.kv holds %zu keys", s->path, s->n);
        return 0;
    }
    if (tr_msg_is(m, tr_atom_from("kv.put"))) {
        bool full;
        entry *e = put(s, p, n, &full);
        bool request = tr_msg_is_request(m);
        if (e && s->replica[0] && !request) /* passed on as it came: a message */
            (void)tr_send_named(ctx, s->replica, tr_atom_from("kv.put"), p, n);
        if (!request) return 0;
        if (!e) return tr_reply(ctx, m, tr_atom_from(full ? "kv.full" : "kv.malformed"), NULL, 0);
        if (!s->replica[0] || s->nwait == PENDING_MAX ||
            tr_call_named(ctx, s->replica, tr_atom_from("kv.put"), p, n, 2000,
                          &s->wait[s->nwait].ref) != TR_OK)
            return tr_reply(ctx, m, tr_atom_from(s->replica[0] ? "kv.unreplicated" : "kv.ok"),
                            e->key, strlen(e->key));
        s->wait[s->nwait++].client = tr_msg_request(m); /* answered with the replica's answer */
        return 0;
    }
    /* the replica's answer (or its "tr.down" or "tr.timeout") */
    tr_ref ref = tr_msg_ref(m);
    for (size_t i = 0; ref.id && i < s->nwait; i++) {
        if (s->wait[i].ref.id != ref.id) continue;
        tr_request client = s->wait[i].client;
        s->wait[i] = s->wait[--s->nwait];
        bool ok = tr_msg_is(m, tr_atom_from("kv.ok"));
        return tr_reply_to(ctx, client, tr_atom_from(ok ? "kv.ok" : "kv.unreplicated"), p,
                           ok ? n : 0);
    }
    if (!tr_msg_is_request(m)) return 0;
    if (tr_msg_is(m, tr_atom_from("kv.get"))) {
        entry *e = find(s, p, n);
        if (!e) return tr_reply(ctx, m, tr_atom_from("kv.missing"), NULL, 0);
        return tr_reply(ctx, m, tr_atom_from("kv.value"), e->value, strlen(e->value));
    }
    if (tr_msg_is(m, tr_atom_from("kv.size"))) {
        char num[32];
        int len = snprintf(num, sizeof num, "%zu", s->n);
        return tr_reply(ctx, m, tr_atom_from("kv.size"), num, (size_t)len);
    }
    return 0;
}

static void kv_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)ctx;
    kv *s = st;
    tr_log(TR_LOG_INFO, "%s: example.kv stopped (%s)", s->path, tr_exit_kind_name(why->kind));
    free(s->v);
}

static const tr_behaviour kv_behaviour = {"example.kv", sizeof(kv), kv_init, kv_handle,
                                          kv_terminate};

/* Called once per process, when the first config naming this plugin is
 * loaded. */
TROUPE_PLUGIN_EXPORT int troupe_plugin_init(const tr_plugin_info *info)
{
    int rc = tr_behaviour_register("example.kv", &kv_behaviour);
    if (rc != TR_OK)
        snprintf(info->error, info->error_size, "cannot register example.kv: %s",
                 tr_strerror(rc));
    return rc;
}
