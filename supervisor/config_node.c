/* config_node.c — the `node:` section: the runtime's options
 * (tr_system_opts, the log level) and, with a name, the network node's
 * (tr_node_opts): endpoints, peers, keys, heartbeats, limits. */
#include <stdio.h>
#include <string.h>

#include "config_walk.h"

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

static const char *ENDPOINT_EXPECTED = "an endpoint tcp://host:port, ipc://path or inproc://name";

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
        const char *s = tri_w_scalar(w, it, "peers", ENDPOINT_EXPECTED);
        if (s && !endpoint_ok(s, false, &open)) {
            char got[80];
            ERR(w, it, "peers: expected %s, got %s", ENDPOINT_EXPECTED,
                tri_w_describe(it, got, sizeof got));
        } else if (s)
            out->endpoint = tri_arena_strdup(&w->cfg->arena, s);
        return;
    }
    if (it->type != YAML_MAPPING_NODE) {
        char got[80];
        ERR(w, it, "peers: expected an endpoint or a map {endpoint, key}, got %s",
            tri_w_describe(it, got, sizeof got));
        return;
    }
    static const char *const keys[] = {"endpoint", "key", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, it, path, "a peer", ks, 1);
    yaml_node_t *v;
    if (!(v = tri_w_get(w, it, "endpoint")))
        ERR(w, it, "a peer needs an 'endpoint'");
    else {
        const char *s = tri_w_scalar(w, v, "endpoint", ENDPOINT_EXPECTED);
        if (s && !endpoint_ok(s, false, &open)) {
            char got[80];
            ERR(w, v, "endpoint: expected %s, got %s", ENDPOINT_EXPECTED,
                tri_w_describe(v, got, sizeof got));
        } else if (s)
            out->endpoint = tri_arena_strdup(&w->cfg->arena, s);
    }
    if ((v = tri_w_get(w, it, "key"))) {
        const char *expected = "a .pub key file or a 40-character Z85 public key";
        const char *s = tri_w_scalar(w, v, "key", expected);
        if (!s) return;
        if (ends_with(s, ".pub")) {
            out->public_key = tri_config_path(w->cfg, s);
            if (out->public_key) tri_w_check_file(w, v, "key", out->public_key, false, false);
        } else if (z85_key(s)) {
            out->public_key = tri_arena_strdup(&w->cfg->arena, s);
        } else {
            char got[80];
            ERR(w, v, "key: expected %s, got %s", expected, tri_w_describe(v, got, sizeof got));
        }
    }
}

static void walk_keys(walker *w, yaml_node_t *v, tr_node_opts *o)
{
    if (!tri_w_expect_map(w, v, "keys")) return;
    static const char *const keys[] = {"secret", "allow", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, v, "node.keys", "node.keys", ks, 1);
    yaml_node_t *x;
    if (!(x = tri_w_get(w, v, "secret"))) {
        ERR(w, v, "keys: 'secret' (this node's secret key file) is required");
    } else {
        const char *s = tri_w_scalar(w, x, "secret", "the path of a secret key file");
        if (s && (o->secret_key_file = tri_config_path(w->cfg, s)))
            tri_w_check_file(w, x, "secret", o->secret_key_file, true, false);
    }
    if ((x = tri_w_get(w, v, "allow"))) {
        int *items, one;
        size_t n = tri_w_list(w, x, "allow", true, &items, &one);
        const char **allow = n ? tri_arena_alloc(&w->cfg->arena, n * sizeof *allow) : NULL;
        if (n && !allow) return;
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !tri_w_visit(w, it)) return;
            const char *s = tri_w_scalar(w, it, "allow", "a .pub key file or a directory of them");
            if (!s) continue;
            const char *p = tri_config_path(w->cfg, s);
            if (!p) return;
            tri_w_check_file(w, it, "allow", p, false, true);
            allow[o->nallow++] = p;
        }
        o->allow = allow;
    }
}

void tri_walk_node(walker *w, yaml_node_t *v)
{
    tr_config *cfg = w->cfg;
    if (!tri_w_expect_map(w, v, "node")) return;
    static const char *const keys[] = {
        "name",      "listen",      "peers",         "keys",      "insecure",
        "heartbeat", "max_message", "queue",         "workers",   "blocking_threads",
        "batch",     "time_slice",  "long_callback", "log_level", NULL};
    const keyset ks[] = {{keys, NULL}};
    tri_w_check_keys(w, v, "node", "node", ks, 1);
    tr_node_opts *o = &cfg->node;
    tr_system_opts *so = &cfg->sys;
    yaml_node_t *x;
    int64_t i64;
    uint64_t u64;
    if ((x = tri_w_get(w, v, "name")))
        o->name = tri_w_name(w, x, "name", "", true, "a node name of 1 to 255 printable bytes");
    bool named = o->name != NULL || x != NULL; /* a bad name is reported once */
    static const char *const net[] = {"listen",    "peers",       "keys",  "insecure",
                                      "heartbeat", "max_message", "queue", NULL};
    for (int i = 0; net[i]; i++)
        if (!named && (x = tri_w_key_node(w, v, net[i])))
            ERR(w, x,
                "'%s' needs the node's 'name' (without a name, node only sets the "
                "runtime's options)",
                net[i]);
    if (o->name && !tri_w_key_node(w, v, "listen"))
        ERR(w, v, "node: 'listen' is required with a name (the other nodes reach this node "
                  "there, its answers included; tcp://127.0.0.1:* will do on one host)");
    if ((x = tri_w_get(w, v, "insecure"))) tri_w_bool(w, x, "insecure", &o->insecure);
    if ((x = tri_w_get(w, v, "keys"))) walk_keys(w, x, o);
    if ((x = tri_w_get(w, v, "listen"))) {
        int *items, one;
        size_t n = tri_w_list(w, x, "listen", true, &items, &one);
        const char **listen = n ? tri_arena_alloc(&cfg->arena, n * sizeof *listen) : NULL;
        for (size_t i = 0; listen && i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !tri_w_visit(w, it)) break;
            char p[64];
            snprintf(p, sizeof p, "node.listen[%zu]", i);
            tri_config_loc(cfg, p, line_of(it), col_of(it));
            const char *s = tri_w_scalar(w, it, "listen", ENDPOINT_EXPECTED);
            bool open;
            if (!s) continue;
            if (!endpoint_ok(s, true, &open)) {
                char got[80];
                ERR(w, it, "listen: expected %s, got %s", ENDPOINT_EXPECTED,
                    tri_w_describe(it, got, sizeof got));
                continue;
            }
            if (open && !o->secret_key_file && !tri_w_get(w, v, "keys") && !o->insecure)
                ERR(w, it,
                    "listen: '%s' is not a loopback address: it needs keys (node.keys) or "
                    "insecure: true",
                    s);
            listen[o->nlisten++] = tri_arena_strdup(&cfg->arena, s);
        }
        o->listen = listen;
    }
    if ((x = tri_w_get(w, v, "peers"))) {
        int *items, one;
        size_t n = tri_w_list(w, x, "peers", true, &items, &one);
        tr_node_peer *peers = n ? tri_arena_alloc(&cfg->arena, n * sizeof *peers) : NULL;
        for (size_t i = 0; peers && i < n; i++) {
            yaml_node_t *it = node_at(w, items[i]);
            if (!it || !tri_w_visit(w, it)) break;
            char p[64];
            snprintf(p, sizeof p, "node.peers[%zu]", i);
            tri_config_loc(cfg, p, line_of(it), col_of(it));
            walk_peer(w, it, p, &peers[o->npeers]);
            if (peers[o->npeers].endpoint) o->npeers++;
        }
        o->peers = peers;
    }
    if ((x = tri_w_get(w, v, "heartbeat")) && tri_w_expect_map(w, x, "heartbeat")) {
        static const char *const hk[] = {"interval", "timeout", NULL};
        const keyset hks[] = {{hk, NULL}};
        tri_w_check_keys(w, x, "node.heartbeat", "node.heartbeat", hks, 1);
        yaml_node_t *iv = tri_w_get(w, x, "interval"), *to = tri_w_get(w, x, "timeout");
        bool ok = true;
        if (iv)
            ok &= tri_w_duration(w, iv, "interval", 0, 1, INT64_MAX, "above 0", &o->heartbeat_ms);
        if (to)
            ok &= tri_w_duration(w, to, "timeout", 0, 1, INT64_MAX, "above 0",
                                 &o->heartbeat_timeout_ms);
        int64_t ivm = o->heartbeat_ms ? o->heartbeat_ms : 1000;
        int64_t tom = o->heartbeat_timeout_ms ? o->heartbeat_timeout_ms : 5000;
        if (ok && tom <= ivm)
            ERR(w, to ? to : iv,
                "heartbeat: timeout (%lld ms) must be above interval (%lld ms): a peer is "
                "declared lost after missing heartbeats",
                (long long)tom, (long long)ivm);
    }
    if ((x = tri_w_get(w, v, "max_message")) &&
        tri_w_size(w, x, "max_message", 1, TR_MSG_MAX, "from 1B to 64MiB", &u64))
        o->max_message = (uint32_t)u64;
    if ((x = tri_w_get(w, v, "queue")) && tri_w_expect_map(w, x, "queue")) {
        static const char *const qk[] = {"messages", "bytes", NULL};
        const keyset qks[] = {{qk, NULL}};
        tri_w_check_keys(w, x, "node.queue", "node.queue", qks, 1);
        yaml_node_t *y;
        if ((y = tri_w_get(w, x, "messages")) && tri_w_int(w, y, "messages", 1, TR_NODE_QUEUE_MESSAGES_MAX, &i64))
            o->queue_messages = (uint32_t)i64;
        if ((y = tri_w_get(w, x, "bytes")))
            tri_w_size(w, y, "bytes", 1, TR_NODE_QUEUE_BYTES_MAX, "from 1B to 512GiB", &o->queue_bytes);
    }
    if ((x = tri_w_get(w, v, "workers"))) {
        if (is_scalar(x) && strcmp(sval(x), "auto") == 0) {
            so->workers = 0;
        } else if (is_scalar(x) && tri_parse_int(sval(x), &i64) && i64 >= 1 && i64 <= 256) {
            so->workers = (unsigned)i64;
        } else {
            char got[80];
            ERR(w, x, "workers: expected an integer from 1 to 256 or auto, got %s",
                tri_w_describe(x, got, sizeof got));
        }
    }
    if ((x = tri_w_get(w, v, "blocking_threads")) &&
        tri_w_int(w, x, "blocking_threads", 1, 1024, &i64))
        so->blocking_threads = (unsigned)i64;
    if ((x = tri_w_get(w, v, "batch")) && tri_w_int(w, x, "batch", 1, 65536, &i64))
        so->batch = (unsigned)i64;
    if ((x = tri_w_get(w, v, "time_slice")) &&
        tri_w_duration(w, x, "time_slice", DUR_US, 100, 1000000, "from 100us to 1s", &i64))
        so->time_slice_us = (uint32_t)i64;
    if ((x = tri_w_get(w, v, "long_callback")) &&
        tri_w_duration(w, x, "long_callback", DUR_INFINITY, 1, INT64_MAX, "above 0", &i64))
        so->long_callback_ms = i64; /* -1 (infinity): never logged */
    if ((x = tri_w_get(w, v, "log_level"))) {
        static const char *const levels[] = {"debug", "info", "warn", "error", "none", NULL};
        int lv;
        if (tri_w_enum(w, x, "log_level", levels, &lv)) cfg->log_level = (tr_log_level)lv;
    }
    cfg->has_node = o->name != NULL;
}
