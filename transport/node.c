/* node.c — a node's life cycle and public API (troupe/node.h): options,
 * keys, binding, the I/O thread, node events, stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "../actors/pool.h"
#include "allowlist.h"
#include "keys.h"
#include "node_impl.h"
#include "wire.h"
#include "zap.h"
#include "zctx.h"

static const tri_transport_ops node_ops;

/* ----------------------------------------------------------- events */

static tr_atom nodeup_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.nodeup");
}

static tr_atom nodedown_atom(void)
{
    static _Atomic uint32_t id;
    return tri_atom_cached(&id, "tr.nodedown");
}

struct event_head {
    uint32_t node;
    uint8_t up;
    uint8_t name_len;
    uint16_t pad;
};

/* Tells every subscriber (whose filter matches) that `p` came up or went
 * down; subscribers that have ended are forgotten on the way. */
void tri_node_event(tr_node *n, peer *p, bool up, const char *reason)
{
    size_t nl = strlen(p->name), rl = reason ? strlen(reason) : 0;
    pthread_mutex_lock(&n->mu);
    for (node_sub **s = &n->subs; *s;) {
        node_sub *sub = *s;
        tri_actor *a = tri_slot_lookup(n->sys, sub->pid.slot);
        if (!a || atomic_load_explicit(&a->serial, memory_order_acquire) != sub->pid.serial) {
            *s = sub->next; /* ended (or an inbox destroyed) */
            free(sub->name);
            free(sub);
            continue;
        }
        s = &sub->next;
        if (sub->name && strcmp(sub->name, p->name) != 0) continue;
        struct event_head h = {p->id, up, (uint8_t)nl, 0};
        tr_msg *m = tri_msg_alloc(TRI_MSG_USER, up ? nodeup_atom() : nodedown_atom(),
                                  sizeof h + nl + 1 + rl + 1);
        if (!m) continue;
        char *d = m->data;
        memcpy(d, &h, sizeof h);
        memcpy(d + sizeof h, p->name, nl + 1);
        memcpy(d + sizeof h + nl + 1, reason ? reason : "", rl + 1);
        m->exempt = 1;
        tri_deliver_remote(n->sys, sub->pid, m);
    }
    pthread_mutex_unlock(&n->mu);
}

tr_err tr_node_event_decode(const tr_msg *msg, tr_node_event *out)
{
    struct event_head h;
    if (!msg || !out || (!tr_msg_is(msg, nodeup_atom()) && !tr_msg_is(msg, nodedown_atom())))
        return TR_EINVAL;
    size_t size = tr_msg_size(msg);
    const char *d = tr_msg_data(msg);
    if (size < sizeof h + 2) return TR_EINVAL;
    memcpy(&h, d, sizeof h);
    if (sizeof h + h.name_len + 2 > size || d[sizeof h + h.name_len] != '\0' || d[size - 1] != '\0')
        return TR_EINVAL;
    out->up = h.up != 0;
    out->node = h.node;
    memcpy(out->name, d + sizeof h, h.name_len + 1u);
    out->reason = d + sizeof h + h.name_len + 1;
    return TR_OK;
}

static int subscribe(tr_node *n, tr_pid pid, const char *name, uint64_t ref)
{
    node_sub *s = calloc(1, sizeof *s);
    if (!s || (name && !(s->name = strdup(name)))) {
        free(s);
        return TR_ENOMEM;
    }
    s->pid = pid;
    s->ref = ref;
    pthread_mutex_lock(&n->mu);
    s->next = n->subs;
    n->subs = s;
    pthread_mutex_unlock(&n->mu);
    return TR_OK;
}

static int unsubscribe(tr_node *n, tr_pid pid, uint64_t ref)
{
    int rc = TR_ENOENT;
    pthread_mutex_lock(&n->mu);
    for (node_sub **s = &n->subs; *s; s = &(*s)->next)
        if ((*s)->ref == ref && tr_pid_eq((*s)->pid, pid)) {
            node_sub *gone = *s;
            *s = gone->next;
            free(gone->name);
            free(gone);
            rc = TR_OK;
            break;
        }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

tr_err tr_monitor_node(tr_ctx *ctx, const char *name, tr_ref *out)
{
    if (out) out->id = 0;
    tr_system *sys = tr_ctx_system(ctx);
    if (!sys) return TR_ENOTACTOR;
    tr_node *n = tr_node_of(sys);
    if (!n) return TR_ESTATE;
    tri_actor *a = (tri_actor *)ctx;
    uint64_t ref = tri_next_ref(a);
    if (!ref) return TR_ENOMEM;
    int rc = subscribe(n, tr_self(ctx), name, ref);
    if (rc == TR_OK && out) out->id = ref;
    return rc;
}

tr_err tr_demonitor_node(tr_ctx *ctx, tr_ref ref)
{
    tr_system *sys = tr_ctx_system(ctx);
    if (!sys) return TR_ENOTACTOR;
    tr_node *n = tr_node_of(sys);
    return n ? unsubscribe(n, tr_self(ctx), ref.id) : TR_ENOENT;
}

tr_err tr_inbox_monitor_node(struct tr_inbox *in, const char *name, tr_ref *out)
{
    static _Atomic uint64_t next_ref = 1ull << 62; /* apart from tr_inbox_monitor's refs */
    if (out) out->id = 0;
    if (!in) return TR_EINVAL;
    tr_pid pid = tr_inbox_pid(in);
    tr_system *sys = tri_inbox_system(in);
    tr_node *n = sys ? tr_node_of(sys) : NULL;
    if (!n) return TR_ESTATE;
    uint64_t ref = atomic_fetch_add(&next_ref, 1);
    int rc = subscribe(n, pid, name, ref);
    if (rc == TR_OK && out) out->id = ref;
    return rc;
}

/* --------------------------------------------------------- options */

static char *dup_or(const char *s, const char *def) { return strdup(s ? s : def); }

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

static void node_free(tr_node *n)
{
    if (!n) return;
    free(n->name);
    free_strs(n->listen, n->nlisten);
    free_strs(n->bound, n->nlisten);
    free(n->routers);
    free(n->router_fds);
    free(n->ins);
    for (peer *p = n->all, *next; p; p = next) {
        next = p->next_all;
        free_strs(p->endpoints, p->nendpoints);
        tri_book_free(p->book);
        tri_wire_dec_destroy((tri_wire_dec **)&p->dec);
        free(p->room_waiters);
        free(p);
    }
    tri_peer_table_free(n);
    tri_allowlist_release((tri_allowlist **)&n->allow);
    sodium_memzero(n->secret_key, sizeof n->secret_key);
    if (n->efd >= 0) close(n->efd);
    pthread_mutex_destroy(&n->mu);
    pthread_mutex_destroy(&n->names_mu);
    pthread_mutex_destroy(&n->ready_mu);
    pthread_mutex_destroy(&n->room_mu);
    pthread_mutex_destroy(&n->io_mu);
    pthread_mutex_destroy(&n->standby_mu);
    pthread_cond_destroy(&n->standby_cv);
    pthread_cond_destroy(&n->cv);
    free(n);
}

static bool valid_node_name(const char *s)
{
    if (!s || !*s || strlen(s) > 255) return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return false;
    return true;
}

static int load_keys(tr_node *n, const tr_node_opts *o)
{
    if (!o->secret_key_file) {
        if (o->nallow) {
            tri_log(TR_LOG_ERROR, "node %s: an allowlist without a secret key file", n->name);
            return TR_EINVAL;
        }
        return TR_OK;
    }
    tri_keypair kp;
    tri_key_error err;
    if (tri_keys_load_secret(o->secret_key_file, &kp, NULL, &err) != TR_OK) {
        tri_log(TR_LOG_ERROR, "node %s: %s", n->name, err.text);
        return TR_EFAILED;
    }
    memcpy(n->public_key, kp.public_key, 32);
    memcpy(n->secret_key, kp.secret_key, 32);
    tri_keypair_wipe(&kp);
    tri_allowlist *al;
    if (tri_allowlist_new(&al) != TR_OK) return TR_ENOMEM;
    for (size_t i = 0; i < o->nallow; i++) {
        size_t added = 0;
        int rc = tri_allowlist_add_dir(al, o->allow[i], &added, &err);
        if (rc == TR_ENOENT || rc == TR_EINVAL) rc = tri_allowlist_add_file(al, o->allow[i], &err);
        if (rc != TR_OK) {
            tri_log(TR_LOG_ERROR, "node %s: allowlist %s: %s", n->name, o->allow[i], err.text);
            tri_allowlist_release(&al);
            return TR_EFAILED;
        }
    }
    n->allow = al;
    n->curve = true;
    return TR_OK;
}

static int copy_opts(tr_node *n, const tr_node_opts *o)
{
    n->opts = *o;
    n->opts.name = NULL;
    n->opts.listen = NULL;
    n->opts.peers = NULL;
    n->opts.allow = NULL;
    n->opts.secret_key_file = NULL;
    if (!n->opts.heartbeat_ms) n->opts.heartbeat_ms = 1000;
    if (!n->opts.heartbeat_timeout_ms) n->opts.heartbeat_timeout_ms = 5000;
    if (!n->opts.max_message || n->opts.max_message > TR_MSG_MAX) n->opts.max_message = TR_MSG_MAX;
    if (!n->opts.queue_messages) n->opts.queue_messages = 100000;
    if (!n->opts.queue_bytes) n->opts.queue_bytes = (uint64_t)64 << 20;
    if (n->opts.queue_messages > Q_MAX_MESSAGES || n->opts.queue_bytes > Q_MAX_BYTES) return TR_EINVAL;
    if (n->opts.heartbeat_ms < 0 || n->opts.heartbeat_timeout_ms < n->opts.heartbeat_ms ||
        n->opts.heartbeat_timeout_ms > 3600000)
        return TR_EINVAL;
    n->max_frame = n->opts.max_message + 64 * 1024;
    n->nlisten = o->nlisten;
    n->listen = calloc(o->nlisten ? o->nlisten : 1, sizeof *n->listen);
    if (!n->listen) return TR_ENOMEM;
    for (size_t i = 0; i < o->nlisten; i++) {
        if (!o->listen || !o->listen[i]) return TR_EINVAL;
        if (!(n->listen[i] = strdup(o->listen[i]))) return TR_ENOMEM;
    }
    return TR_OK;
}

/* ---------------------------------------------------------- life */

tr_node *tr_node_of(tr_system *sys) { return sys ? tri_transport_ctx(sys, &node_ops) : NULL; }

tr_err tr_node_start(tr_system *sys, const tr_node_opts *o, tr_node **out)
{
    if (out) *out = NULL;
    if (!sys || !o || !out) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR;
    if (!valid_node_name(o->name) || (o->npeers && !o->peers) || (o->nallow && !o->allow)) {
        tri_log(TR_LOG_ERROR, "tr_node_start: a node needs a name of 1 to 255 printable bytes");
        return TR_EINVAL;
    }
    if (!o->nlisten || !o->listen) {
        tri_log(TR_LOG_ERROR, "tr_node_start: node %s needs a listen endpoint (the other nodes "
                              "reach it there, its answers included; tcp://127.0.0.1:* will do "
                              "on one host)",
                o->name);
        return TR_EINVAL;
    }
    tr_node *n = calloc(1, sizeof *n);
    if (!n) return TR_ENOMEM;
    n->efd = -1;
    pthread_mutex_init(&n->mu, NULL);
    pthread_mutex_init(&n->names_mu, NULL);
    pthread_mutex_init(&n->ready_mu, NULL);
    pthread_mutex_init(&n->room_mu, NULL);
    pthread_mutex_init(&n->io_mu, NULL);
    pthread_mutex_init(&n->standby_mu, NULL);
    pthread_cond_init(&n->standby_cv, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->sys = sys;
    n->id = tr_system_node(sys);
    int rc = TR_ENOMEM;
    if (!(n->name = dup_or(o->name, ""))) goto fail;
    if ((rc = copy_opts(n, o)) != TR_OK) goto fail;
    if ((rc = load_keys(n, o)) != TR_OK) goto fail;
    if ((n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = TR_EAGAIN;
        goto fail;
    }
    if ((rc = tri_zctx_acquire(&n->zctx)) != TR_OK) goto fail;
    if (n->curve) {
        if ((rc = tri_zap_acquire()) != TR_OK) goto fail_ctx;
        if ((rc = tri_zap_domain_add(n->name, n->allow)) != TR_OK) goto fail_zap;
    }
    if ((rc = tri_node_bind(n)) != TR_OK) goto fail_bind;
    if ((rc = tri_transport_attach(sys, &node_ops, n, n->name)) != TR_OK) goto fail_bind;
    for (size_t i = 0; i < o->npeers; i++) tr_node_connect(n, &o->peers[i]);
    if ((rc = tri_node_threads_start(n)) != TR_OK) {
        /* attached: tr_system_destroy frees it through destroy() */
        atomic_store(&n->stopping, true);
        return rc;
    }
    *out = n;
    return TR_OK;
fail_bind:
    tri_node_close(n);
    if (n->curve) tri_zap_domain_remove(n->name);
fail_zap:
    if (n->curve) tri_zap_release();
fail_ctx:
    tri_zctx_release(&n->zctx);
fail:
    node_free(n);
    return rc;
}

tr_err tr_node_connect(tr_node *n, const tr_node_peer *peer)
{
    if (!n || !peer || !peer->endpoint || !*peer->endpoint) return TR_EINVAL;
    if (atomic_load(&n->stopping)) return TR_ESTOPPED;
    node_cmd *c = calloc(1, sizeof *c);
    if (!c || !(c->endpoint = strdup(peer->endpoint)) ||
        (peer->public_key && !(c->key = strdup(peer->public_key)))) {
        if (c) free(c->endpoint);
        free(c);
        return TR_ENOMEM;
    }
    c->kind = CMD_CONNECT;
    pthread_mutex_lock(&n->mu);
    if (n->cmds_tail) n->cmds_tail->next = c;
    else n->cmds = c;
    n->cmds_tail = c;
    pthread_mutex_unlock(&n->mu);
    atomic_store_explicit(&n->ready_any, true, memory_order_seq_cst); /* look at the commands */
    tri_node_wake(n);
    return TR_OK;
}

/* Stops the I/O thread (it says BYE to every peer and answers for each
 * one that is lost), then closes the sockets. */
static void node_stop(tr_node *n)
{
    if (n->stopped) return;
    n->stopped = true;
    atomic_store_explicit(&n->stopping, true, memory_order_seq_cst);
    tri_node_threads_join(n);
    tri_node_close(n);
    if (n->curve) {
        tri_zap_domain_remove(n->name);
        tri_zap_release();
    }
    tri_zctx_release(&n->zctx);
}

void tr_node_stop(tr_node **pn)
{
    if (!pn || !*pn || tri_current_worker) return;
    node_stop(*pn);
    *pn = NULL; /* freed with its system (senders may still look it up) */
}

static void node_destroy(void *t)
{
    tr_node *n = t;
    node_stop(n);
    pthread_mutex_lock(&n->mu);
    for (node_sub *s = n->subs, *next; s; s = next) {
        next = s->next;
        free(s->name);
        free(s);
    }
    n->subs = NULL;
    for (node_cmd *c = n->cmds, *next; c; c = next) {
        next = c->next;
        free(c->endpoint);
        free(c->key);
        free(c);
    }
    n->cmds = NULL;
    pthread_mutex_unlock(&n->mu);
    node_free(n);
}

static int node_id_of(void *t, const char *name, uint32_t *id) { return tr_node_id(t, name, id); }

static void node_stop_op(void *t) { node_stop(t); }

static const tri_transport_ops node_ops = {tri_node_send, tri_node_send_named, node_id_of,
                                           node_stop_op, node_destroy};

/* ------------------------------------------------------------ queries */

const char *tr_node_name(const tr_node *n) { return n ? n->name : NULL; }

const char *tr_node_endpoint(const tr_node *n, size_t i)
{
    return n && i < n->nlisten ? n->bound[i] : NULL;
}

tr_err tr_node_id(tr_node *n, const char *name, uint32_t *id)
{
    if (!n || !name || !id) return TR_EINVAL;
    peer *p = tri_peer_find_name(n, name);
    if (!p || atomic_load(&p->state) != PEER_UP) return TR_ENOENT;
    *id = p->id;
    return TR_OK;
}

tr_err tr_node_wait_peers(tr_node *n, size_t want, int64_t timeout_ms)
{
    if (!n) return TR_EINVAL;
    if (tri_current_worker) return TR_ENOTACTOR;
    struct timespec ts = tri_timespec_after(CLOCK_REALTIME, timeout_ms < 0 ? 0 : timeout_ms);
    int rc = TR_OK;
    pthread_mutex_lock(&n->mu);
    while (n->peers_up < want) {
        if (timeout_ms < 0) pthread_cond_wait(&n->cv, &n->mu);
        else if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) != 0) {
            rc = n->peers_up >= want ? TR_OK : TR_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

tr_err tr_node_get_stats(tr_node *n, tr_node_stats *out)
{
    if (!n || !out) return TR_EINVAL;
    pthread_mutex_lock(&n->mu);
    out->peers_up = n->peers_up;
    pthread_mutex_unlock(&n->mu);
    out->frames_out = atomic_load(&n->frames_out);
    out->frames_in = atomic_load(&n->frames_in);
    out->messages_out = atomic_load(&n->msgs_out);
    out->messages_in = atomic_load(&n->msgs_in);
    out->bytes_out = atomic_load(&n->bytes_out);
    out->bytes_in = atomic_load(&n->bytes_in);
    out->refused_full = atomic_load(&n->refused_full);
    out->dead_node_down = atomic_load(&n->dead_down);
    out->bad_frames = atomic_load(&n->bad_frames);
    out->stale_frames = atomic_load(&n->stale_frames);
    out->handshakes_refused = atomic_load(&n->refused_handshakes);
    out->io_takeovers = atomic_load(&n->takeovers);
    return TR_OK;
}
