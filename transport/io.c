/* io.c — one pass of a node's I/O: the sockets and what crosses them.
 * Passes run on the node's I/O thread, or on its standby while the I/O
 * thread is in a long callback (io_thread.c): whoever holds io_mu is the
 * one thread that touches the node's ZeroMQ sockets (they are not
 * thread-safe).
 *
 * Sockets (docs/architecture.md, "Transport"): one ROUTER per bound
 * endpoint takes every peer's inbound traffic; one DEALER per peer carries
 * ours to it, a new one for every session (a DEALER kept across a
 * disconnect would hand its queue to whoever binds that endpoint next), so
 * all of A-to-B rides one socket and per-pair FIFO order holds. A session
 * starts with HELLO on the DEALER, answered WELCOME (or REFUSE) through the
 * ROUTER; the far side dials back the same way, so each direction has its
 * own session and nothing needs a tie-break.
 *
 * A pass: take commands; flush peers with queued output into one packed
 * BATCH frame per peer per pass (never waiting for more: no Nagle); run
 * due timers (handshake timeouts, redials); read the sockets that may hold
 * something (bounded per pass); act on socket monitor events (a DEALER's
 * DISCONNECTED is a lost peer); then block in poll on the sockets'
 * descriptors and an eventfd that senders write only when we announced
 * sleep (not at all while actors wait to run on the I/O thread). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "../actors/pool.h"
#include "../actors/remote_child.h"
#include "allowlist.h"
#include "frames.h"
#include "keys.h"
#include "node_impl.h"
#include "tsan.h"
#include "wire.h"
#include "zap.h"

#define BATCH_BYTES (64 * 1024) /* close a batch at this size */
#define RECV_PER_PASS 256       /* frames read from one socket per pass */
#define HANDSHAKE_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DEALER_HWM 1000 /* frames (batches) at most; see dealer_hwm */

static int64_t mono_ms(void) { return tri_mono_ns() / 1000000; }

/* ------------------------------------------------------------ helpers */

static bool is_tcp(const char *ep) { return strncmp(ep, "tcp://", 6) == 0; }
static bool is_inproc(const char *ep) { return strncmp(ep, "inproc://", 9) == 0; }

static void set_int(void *s, int opt, int v) { zmq_setsockopt(s, opt, &v, sizeof v); }

/* A socket's ZMQ_FD: readable when commands wait for it (docs/architecture.md,
 * "Polling the sockets"). */
static int socket_fd(void *s)
{
    int fd = -1;
    size_t len = sizeof fd;
    if (zmq_getsockopt(s, ZMQ_FD, &fd, &len) != 0) fd = -1;
    return fd;
}

/* The frames ZeroMQ may hold for a peer that does not read. Each pins a
 * pooled buffer (frames.c), however few records it carries, so a fixed
 * 1000 would let a stalled peer hold on the order of 100 MiB whatever the
 * queue's bound: the pipe is scaled to that bound instead (one batch per
 * BATCH_BYTES of it, at least 2), which at the default bound is the same
 * 1000 frames. */
static int dealer_hwm(const tr_node *n)
{
    uint64_t h = n->opts.queue_bytes / BATCH_BYTES;
    return h < 2 ? 2 : h > DEALER_HWM ? DEALER_HWM : (int)h;
}

/* Heartbeats and a short handshake on connection-oriented transports
 * (none exist on inproc). */
static void set_liveness(tr_node *n, void *s, const char *ep)
{
    if (is_inproc(ep)) return;
    set_int(s, ZMQ_HEARTBEAT_IVL, (int)n->opts.heartbeat_ms);
    set_int(s, ZMQ_HEARTBEAT_TIMEOUT, (int)n->opts.heartbeat_timeout_ms);
    set_int(s, ZMQ_HEARTBEAT_TTL, (int)n->opts.heartbeat_timeout_ms);
    set_int(s, ZMQ_HANDSHAKE_IVL, HANDSHAKE_MS);
}

static void stat_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* --------------------------------------------------------- in-sessions */

static in_session *in_find(tr_node *n, const uint8_t *rid, size_t len)
{
    for (size_t i = 0; i < n->nins; i++)
        if (n->ins[i].rid_len == len && memcmp(n->ins[i].rid, rid, len) == 0) return &n->ins[i];
    return NULL;
}

static void in_add(tr_node *n, const uint8_t *rid, size_t len, void *router, peer *p)
{
    in_session *s = in_find(n, rid, len);
    if (!s) {
        if (n->nins == n->capins) {
            size_t cap = n->capins ? n->capins * 2 : 16;
            in_session *a = realloc(n->ins, cap * sizeof *a);
            if (!a) return;
            n->ins = a;
            n->capins = cap;
        }
        s = &n->ins[n->nins++];
    }
    memcpy(s->rid, rid, len);
    s->rid_len = len;
    s->router = router;
    s->p = p;
}

static void in_drop_peer(tr_node *n, peer *p)
{
    for (size_t i = 0; i < n->nins;)
        if (n->ins[i].p == p) n->ins[i] = n->ins[--n->nins];
        else i++;
}

/* ----------------------------------------------------- sending frames */

/* A control frame back through the ROUTER a peer's session came in on. A
 * send may take in the socket's pending commands, and with them the signal
 * of its file descriptor: the routers are looked at before sleeping. */
static void router_reply(tr_node *n, void *router, const uint8_t *rid, size_t rid_len,
                         const tri_wire_ctl *ctl)
{
    n->routers_dirty = true;
    tri_wire_buf b = {0};
    if (tri_wire_encode_ctl(&b, ctl) == TR_OK) {
        if (zmq_send(router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(router, b.data, b.len, ZMQ_DONTWAIT);
    }
    tri_wire_buf_fini(&b);
}

static void dealer_ctl(peer *p, const tri_wire_ctl *ctl)
{
    p->dealer_dirty = true; /* as router_reply */
    tri_wire_buf b = {0};
    if (p->dealer && tri_wire_encode_ctl(&b, ctl) == TR_OK)
        zmq_send(p->dealer, b.data, b.len, ZMQ_DONTWAIT);
    tri_wire_buf_fini(&b);
}

/* ------------------------------------------------------------ hello */

static void fill_self(tr_node *n, tri_wire_node *me, tri_wire_str *eps)
{
    me->node_id = n->id;
    me->name = (tri_wire_str){n->name, strlen(n->name)};
    for (size_t i = 0; i < n->nlisten; i++) eps[i] = (tri_wire_str){n->bound[i], strlen(n->bound[i])};
    me->endpoints = eps;
    me->nendpoints = n->nlisten;
    me->key = n->curve ? (tri_wire_bytes){n->public_key, 32} : (tri_wire_bytes){NULL, 0};
}

static bool send_hello(tr_node *n, peer *p)
{
    tri_wire_str eps[256];
    tri_wire_ctl c = {.kind = TRI_WIRE_HELLO};
    c.hello.min_version = c.hello.max_version = TRI_WIRE_VERSION;
    c.hello.max_frame = n->max_frame;
    fill_self(n, &c.hello.node, eps);
    tri_wire_buf b = {0};
    bool ok = false;
    p->dealer_dirty = true;
    if (tri_wire_encode_ctl(&b, &c) == TR_OK)
        ok = zmq_send(p->dealer, b.data, b.len, ZMQ_DONTWAIT) >= 0;
    tri_wire_buf_fini(&b);
    return ok;
}

/* --------------------------------------------------------------- dial */

/* Closes our end of a socket's monitor. libzmq sends monitor events with a
 * blocking send, from its own I/O thread, until the monitored socket is
 * destroyed (which zmq_close only starts): an event for a socket whose
 * reader is gone would block that thread for good, and with it every
 * socket of the context. So the monitor is stopped first. */
static void close_monitor(void *socket, void **mon)
{
    if (socket) zmq_socket_monitor(socket, NULL, 0);
    if (*mon) zmq_close(*mon);
    *mon = NULL;
}

static void close_dealer(peer *p)
{
    tri_frames_drop(&p->pending);
    close_monitor(p->dealer, &p->dealer_mon);
    if (p->dealer) {
        zmq_close(p->dealer);
        p->dealer = NULL;
    }
    p->welcomed = false;
    tri_wire_enc_destroy((tri_wire_enc **)&p->enc);
}

static const char *pick_endpoint(peer *p)
{
    /* prefer inproc, then ipc, then tcp: the cheapest way to it; inproc
     * only to a node of this process (another process's inproc endpoint
     * names nothing here, and dialling it would never connect) */
    bool local = p->id && tri_node_id_local(p->id);
    for (int pass = local ? 0 : 1; pass < 3; pass++)
        for (size_t i = 0; i < p->nendpoints; i++) {
            const char *e = p->endpoints[i];
            if ((pass == 0 && is_inproc(e)) || (pass == 1 && strncmp(e, "ipc://", 6) == 0) ||
                (pass == 2 && is_tcp(e)))
                return e;
        }
    return p->dial_endpoint[0] ? p->dial_endpoint : NULL;
}

/* Opens a new session to `p` at `ep`: a fresh DEALER with a fresh routing
 * id, its monitor, and HELLO as soon as it can be sent. */
static void dial(tr_node *n, peer *p, const char *ep)
{
    static _Atomic unsigned mon_seq;
    close_dealer(p);
    if (!ep) return;
    if (ep != p->dial_endpoint) snprintf(p->dial_endpoint, sizeof p->dial_endpoint, "%s", ep);
    void *s = zmq_socket(n->zctx, ZMQ_DEALER);
    if (!s) return;
    if (getrandom(p->session, sizeof p->session, 0) != (ssize_t)sizeof p->session)
        for (size_t i = 0; i < sizeof p->session; i++) p->session[i] = (uint8_t)(tri_mono_ns() >> (i % 8));
    p->session[0] |= 1; /* a routing id may not start with 0 */
    zmq_setsockopt(s, ZMQ_ROUTING_ID, p->session, sizeof p->session);
    set_int(s, ZMQ_IMMEDIATE, 1);
    set_int(s, ZMQ_SNDHWM, dealer_hwm(n));
    set_int(s, ZMQ_LINGER, 0);
    set_int(s, ZMQ_RECONNECT_IVL, -1); /* we redial with a new socket */
    set_liveness(n, s, ep);
    if (is_tcp(ep) && n->curve) {
        tri_keypair kp;
        memcpy(kp.public_key, n->public_key, 32);
        memcpy(kp.secret_key, n->secret_key, 32);
        int rc = p->has_key ? tri_keys_curve_client(s, &kp, p->pubkey) : TR_EINVAL;
        tri_keypair_wipe(&kp);
        if (rc != TR_OK) {
            tri_log(TR_LOG_WARN, "node %s: no CURVE key for the peer at %s: not connecting",
                    n->name, ep);
            zmq_close(s);
            return;
        }
    }
    if (!is_inproc(ep)) {
        char mon[64];
        snprintf(mon, sizeof mon, "inproc://troupe-mon-%u-%u", n->id, ++mon_seq);
        if (zmq_socket_monitor(s, mon, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
            p->dealer_mon = zmq_socket(n->zctx, ZMQ_PAIR);
            if (!p->dealer_mon || zmq_connect(p->dealer_mon, mon) != 0)
                close_monitor(s, &p->dealer_mon); /* no reader: no monitor */
        }
    }
    if (zmq_connect(s, ep) != 0) {
        tri_log(TR_LOG_WARN, "node %s: cannot connect to %s: %s", n->name, ep,
                zmq_strerror(zmq_errno()));
        close_monitor(s, &p->dealer_mon);
        zmq_close(s);
        return;
    }
    p->dealer = s;
    p->dealer_fd = socket_fd(s);
    p->mon_fd = p->dealer_mon ? socket_fd(p->dealer_mon) : -1;
    p->dealer_dirty = p->mon_dirty = true; /* new: nothing known of them */
    p->enc = tri_wire_enc_new(NULL);
    p->hello_at = 0; /* not sent yet: as soon as the socket takes it */
    p->retry_at = mono_ms() + HANDSHAKE_MS;
    atomic_store_explicit(&p->state, PEER_CONNECTING, memory_order_release);
}

/* ------------------------------------------------------- losing a peer */

static void gossip_to(tr_node *n, peer *to, peer *only);

static void lost(tr_node *n, peer *p, const char *reason, bool gone)
{
    int was = atomic_load_explicit(&p->state, memory_order_relaxed);
    if (was >= PEER_DOWN && !gone) return;
    bool was_up = was == PEER_UP;
    atomic_store_explicit(&p->state, gone ? PEER_GONE : PEER_DOWN, memory_order_release);
    /* best effort: tell it, on both paths, that we consider it gone */
    tri_wire_ctl bye = {.kind = TRI_WIRE_BYE};
    if (p->welcomed) dealer_ctl(p, &bye);
    for (size_t i = 0; i < n->nins; i++)
        if (n->ins[i].p == p) router_reply(n, n->ins[i].router, n->ins[i].rid, n->ins[i].rid_len, &bye);
    close_dealer(p);
    in_drop_peer(n, p);
    p->in_hello = false;
    p->dec_reset = true; /* not now: we may be inside its decode */
    tri_book_lost(p->book, n->sys);
    tri_peer_dead_letters(n, p, TR_DEAD_NODE_DOWN);
    p->scheduled = false;
    if (was_up) {
        tri_log(TR_LOG_INFO, "node %s: node %s is down (%s)", n->name, p->name, reason);
        tri_node_event(n, p, false, reason);
        pthread_mutex_lock(&n->mu);
        n->peers_up--;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS) p->backoff_ms = BACKOFF_MAX_MS;
    p->retry_at = mono_ms() + p->backoff_ms;
}

static void went_up(tr_node *n, peer *p)
{
    atomic_store_explicit(&p->state, PEER_UP, memory_order_release);
    p->backoff_ms = 0;
    tri_log(TR_LOG_INFO, "node %s: node %s is up", n->name, p->name);
    /* the event before the count: whoever waited for the count and then
     * subscribes does not get this (older) event */
    tri_node_event(n, p, true, NULL);
    pthread_mutex_lock(&n->mu);
    n->peers_up++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    /* the whole mesh to the newcomer, the newcomer to everyone else */
    gossip_to(n, p, NULL);
    for (peer *q = n->all; q; q = q->next_all)
        if (q != p && atomic_load_explicit(&q->state, memory_order_relaxed) == PEER_UP)
            gossip_to(n, q, p);
    /* what waited for the connection goes out in the loop (p->scheduled) */
}

/* ------------------------------------------------------------ gossip */

static void fill_node(peer *p, tri_wire_node *w, tri_wire_str *eps)
{
    w->node_id = p->id;
    w->name = (tri_wire_str){p->name, strlen(p->name)};
    size_t ne = p->nendpoints < 255 ? p->nendpoints : 255;
    for (size_t i = 0; i < ne; i++) eps[i] = (tri_wire_str){p->endpoints[i], strlen(p->endpoints[i])};
    w->endpoints = eps;
    w->nendpoints = ne;
    w->key = p->has_key ? (tri_wire_bytes){p->pubkey, 32} : (tri_wire_bytes){NULL, 0};
}

/* Tells `to` about `only` (or about every node we are connected to). */
static void gossip_to(tr_node *n, peer *to, peer *only)
{
    size_t cap = 0;
    for (peer *q = n->all; q; q = q->next_all) cap++;
    tri_wire_node *nodes = calloc(cap ? cap : 1, sizeof *nodes);
    tri_wire_str(*eps)[255] = calloc(cap ? cap : 1, sizeof *eps);
    if (!nodes || !eps) {
        free(nodes);
        free(eps);
        return;
    }
    size_t k = 0;
    for (peer *q = n->all; q; q = q->next_all) {
        if (q == to || (only && q != only) || !q->nendpoints ||
            atomic_load_explicit(&q->state, memory_order_relaxed) != PEER_UP)
            continue;
        fill_node(q, &nodes[k], eps[k]);
        k++;
    }
    tri_wire_buf b = {0};
    if (k && tri_wire_encode_gossip(&b, nodes, k) == TR_OK && to->dealer) {
        to->dealer_dirty = true;
        zmq_send(to->dealer, b.data, b.len, ZMQ_DONTWAIT);
    }
    tri_wire_buf_fini(&b);
    free(nodes);
    free(eps);
}

static void set_endpoints(peer *p, const tri_wire_node *w)
{
    for (size_t i = 0; i < p->nendpoints; i++) free(p->endpoints[i]);
    free(p->endpoints);
    p->endpoints = calloc(w->nendpoints ? w->nendpoints : 1, sizeof *p->endpoints);
    p->nendpoints = 0;
    for (size_t i = 0; p->endpoints && i < w->nendpoints; i++) {
        char *e = strndup(w->endpoints[i].ptr, w->endpoints[i].len);
        if (e) p->endpoints[p->nendpoints++] = e;
    }
    if (w->key.len == 32) {
        memcpy(p->pubkey, w->key.ptr, 32);
        p->has_key = true;
    }
}

/* May we dial a node with this key? Only keys on our allowlist (with CURVE);
 * anyone without (ipc, inproc and insecure tcp). */
static bool may_dial(tr_node *n, const tri_wire_node *w, const char *name)
{
    if (!n->curve) return true;
    if (w->key.len != 32) return false;
    return tri_allowlist_check(n->allow, w->key.ptr, name, NULL) == TRI_KEY_ALLOWED;
}

static void on_gossip(tr_node *n, const tri_wire_node *w)
{
    if (w->node_id == n->id || !w->nendpoints) return;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)w->name.len, w->name.ptr);
    peer *p = tri_peer_find(n, w->node_id);
    if (p && (p->dealer || atomic_load_explicit(&p->state, memory_order_relaxed) == PEER_GONE)) return;
    if (!may_dial(n, w, name)) {
        tri_log(TR_LOG_WARN, "node %s: not connecting to %s, learnt from gossip: its key is not "
                             "on the allowlist",
                n->name, name);
        return;
    }
    if (!p && !(p = tri_peer_add(n, w->node_id))) return;
    tri_peer_set_name(n, p, name);
    set_endpoints(p, w);
    dial(n, p, pick_endpoint(p));
}

/* ---------------------------------------------------------- handshake */

/* Another incarnation of a node with this name (a restart): it is gone for
 * good, and its pids with it. */
static void retire_namesakes(tr_node *n, const char *name, uint32_t id)
{
    for (peer *q = n->all; q; q = q->next_all)
        if (q->id && q->id != id && strcmp(q->name, name) == 0 &&
            atomic_load_explicit(&q->state, memory_order_relaxed) != PEER_GONE)
            lost(n, q, "node restarted", true);
}

static void refuse(tr_node *n, void *router, const uint8_t *rid, size_t rid_len, uint8_t reason,
                   const char *why, const char *who)
{
    stat_add(&n->refused_handshakes, 1);
    tri_log(TR_LOG_WARN, "node %s: refused a connection from %s: %s", n->name, who, why);
    tri_wire_ctl c = {.kind = TRI_WIRE_REFUSE};
    c.refuse.reason = reason;
    c.refuse.text = (tri_wire_str){why, strlen(why)};
    router_reply(n, router, rid, rid_len, &c);
}

static void on_hello(tr_node *n, void *router, const uint8_t *rid, size_t rid_len,
                     const tri_wire_hello *h, const char *user_id)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)h->node.name.len, h->node.name.ptr);
    if (h->min_version > TRI_WIRE_VERSION || h->max_version < TRI_WIRE_VERSION)
        return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_VERSION, "no common version", name);
    if (atomic_load_explicit(&n->stopping, memory_order_relaxed))
        return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_SHUTTING_DOWN, "shutting down", name);
    if (h->node.node_id == n->id || strcmp(name, n->name) == 0)
        return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_ID_COLLISION,
                      "a node id or name equal to ours", name);
    /* a CURVE peer may only use a name its key is bound to */
    if (user_id && *user_id && n->curve) {
        uint8_t key[32];
        const char *bound = NULL;
        if (tri_key_from_z85(user_id, key) != TR_OK ||
            tri_allowlist_check(n->allow, key, name, &bound) != TRI_KEY_ALLOWED) {
            char why[400];
            snprintf(why, sizeof why, "its key is bound to node %s", bound ? bound : "?");
            return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_NOT_ALLOWED, why, name);
        }
    }
    peer *p = tri_peer_find(n, h->node.node_id);
    if (p && p->name[0] && strcmp(p->name, name) != 0)
        return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_ID_COLLISION,
                      "its node id is another node's", name);
    if (p && atomic_load_explicit(&p->state, memory_order_relaxed) == PEER_GONE)
        return refuse(n, router, rid, rid_len, TRI_WIRE_REFUSE_DUPLICATE,
                      "an incarnation already gone", name);
    retire_namesakes(n, name, h->node.node_id);
    if (!p && !(p = tri_peer_add(n, h->node.node_id))) return;
    tri_peer_set_name(n, p, name);
    set_endpoints(p, &h->node);
    in_add(n, rid, rid_len, router, p);
    p->in_hello = true;
    p->dec_reset = true; /* a new session, fresh caches: made after this frame */
    tri_wire_str eps[256];
    tri_wire_ctl w = {.kind = TRI_WIRE_WELCOME};
    w.hello.version = TRI_WIRE_VERSION;
    w.hello.max_frame = n->max_frame;
    fill_self(n, &w.hello.node, eps);
    router_reply(n, router, rid, rid_len, &w);
    /* our direction: dial back if we have no session to it */
    if (!p->dealer && atomic_load_explicit(&p->state, memory_order_relaxed) != PEER_UP)
        dial(n, p, pick_endpoint(p));
}

static void on_welcome(tr_node *n, peer *p, const tri_wire_hello *h)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)h->node.name.len, h->node.name.ptr);
    if (h->node.node_id == n->id) {
        tri_log(TR_LOG_ERROR, "node %s: the node at %s has our own id: not connecting", n->name,
                p->dial_endpoint);
        lost(n, p, "id collision", true);
        return;
    }
    if (p->id != h->node.node_id) {
        if (p->id) { /* the node at that endpoint restarted: a new node */
            lost(n, p, "node restarted", true);
            peer *q = tri_peer_find(n, h->node.node_id);
            if (!q && !(q = tri_peer_add(n, h->node.node_id))) return;
            snprintf(q->dial_endpoint, sizeof q->dial_endpoint, "%s", p->dial_endpoint);
            tri_peer_set_name(n, q, name);
            set_endpoints(q, &h->node);
            dial(n, q, q->dial_endpoint);
            return;
        }
        peer *q = tri_peer_find(n, h->node.node_id);
        if (q && q != p) { /* we know it already (gossip was faster): one session */
            close_dealer(p);
            atomic_store_explicit(&p->state, PEER_GONE, memory_order_release);
            return;
        }
        tri_peer_rekey(n, p, h->node.node_id);
    }
    tri_peer_set_name(n, p, name);
    set_endpoints(p, &h->node);
    retire_namesakes(n, name, p->id);
    p->welcomed = true;
    went_up(n, p);
}

/* ------------------------------------------------------- inbound batch */

typedef struct rx {
    tr_node *n;
    peer *p;
    int64_t now;
    uint64_t records, dropped;
} rx;

static tr_msg *user_msg(const tri_wire_send *s, int64_t now)
{
    tr_msg *m;
    if (s->call == TRI_WIRE_CALL_REQUEST)
        m = tri_msg_alloc_request(s->ref, s->timeout_ms < 0 ? INT64_MAX : now + s->timeout_ms * 1000000,
                                  s->type, s->payload.len);
    else if (s->call == TRI_WIRE_CALL_REPLY)
        m = tri_msg_alloc_call(TRI_CALL_REPLY, s->ref, s->type, s->payload.len);
    else if (s->call == TRI_WIRE_CALL_DOWN)
        m = tri_msg_alloc_call(TRI_CALL_MONITOR, s->ref, s->type, s->payload.len);
    else
        m = tri_msg_alloc(TRI_MSG_USER, s->type, s->payload.len);
    if (!m) return NULL;
    if (s->payload.len) memcpy(m->data, s->payload.ptr, s->payload.len);
    m->sender = s->from;
    m->exempt = (s->flags & TRI_WIRE_MSG_EXEMPT) != 0;
    return m;
}

static tr_msg *sys_msg(uint8_t kind, const void *payload, size_t size)
{
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, size);
    if (m && size) memcpy(m->data, payload, size);
    return m;
}

/* A peer speaks for its own actors only: a record whose sender is another
 * node's pid (or whose receiver is not ours) is dropped. */
static bool from_peer(rx *r, tr_pid from) { return tr_pid_is_nil(from) || from.node == r->p->id; }
static bool to_us(rx *r, tr_pid to) { return to.node == r->n->id && !tr_pid_is_nil(to); }

static void on_record(void *user, const tri_wire_record *rec)
{
    rx *r = user;
    tr_system *sys = r->n->sys;
    tr_msg *m = NULL;
    tr_pid to = TR_PID_NIL;
    switch (rec->type) {
    case TRI_WIRE_R_MSG:
        if (!to_us(r, rec->send.to) || !from_peer(r, rec->send.from)) break;
        to = rec->send.to;
        m = user_msg(&rec->send, r->now);
        break;
    case TRI_WIRE_R_SEND_NAMED: {
        if (!from_peer(r, rec->send.from)) break;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)rec->send.name.len, rec->send.name.ptr);
        tr_msg *u = user_msg(&rec->send, r->now);
        r->records++;
        if (u) tri_deliver_named(sys, name, u);
        return;
    }
    case TRI_WIRE_R_MONITOR:
    case TRI_WIRE_R_DEMONITOR: {
        if (!to_us(r, rec->monitor.target) || !from_peer(r, rec->monitor.watcher)) break;
        struct tri_watch w = {rec->monitor.watcher, rec->monitor.ref};
        to = rec->monitor.target;
        m = sys_msg(rec->type == TRI_WIRE_R_MONITOR ? TRI_MSG_MONITOR : TRI_MSG_DEMONITOR, &w,
                    sizeof w);
        break;
    }
    case TRI_WIRE_R_LINK:
    case TRI_WIRE_R_UNLINK:
        if (!to_us(r, rec->link.target) || !from_peer(r, rec->link.from)) break;
        to = rec->link.target;
        m = sys_msg(rec->type == TRI_WIRE_R_LINK ? TRI_MSG_LINK : TRI_MSG_UNLINK, &rec->link.from,
                    sizeof rec->link.from);
        break;
    case TRI_WIRE_R_EXIT: {
        if (!to_us(r, rec->exit.target) || !from_peer(r, rec->exit.from)) break;
        struct tri_exit_signal s = {rec->exit.from, rec->exit.kind,
                                    (rec->exit.flags & TRI_WIRE_EXIT_UNTRAPPABLE) != 0,
                                    (rec->exit.flags & TRI_WIRE_EXIT_OVER_LINK) != 0};
        size_t tl = rec->exit.text.len < 511 ? rec->exit.text.len : 511;
        m = tri_msg_alloc(TRI_MSG_EXIT_SIGNAL, (tr_atom){0}, sizeof s + tl + 1);
        if (m) {
            memcpy(m->data, &s, sizeof s);
            if (tl) memcpy((char *)m->data + sizeof s, rec->exit.text.ptr, tl);
            ((char *)m->data)[sizeof s + tl] = '\0';
        }
        to = rec->exit.target;
        break;
    }
    case TRI_WIRE_R_SPAWN_REQ: {
        const tri_wire_spawn_req *s = &rec->spawn_req;
        if (!from_peer(r, s->parent) || tr_pid_is_nil(s->parent)) break;
        tri_spawn_req_view v = {
            .h = {s->ref, s->shutdown_ms, s->flags, s->capacity, (uint32_t)s->args.len, s->on_full,
                  (uint8_t)s->behaviour.len, (uint8_t)s->name.len, (uint8_t)s->register_as.len},
            .beh = s->behaviour.ptr, .name = s->name.ptr, .reg = s->register_as.ptr,
            .args = s->args.ptr};
        m = tri_spawn_req_msg(&v);
        if (!m) break;
        m->sender = s->parent;
        r->records++;
        tri_deliver_spawn(sys, r->p->name, m);
        return;
    }
    case TRI_WIRE_R_SPAWN_REPLY: {
        const tri_wire_spawn_reply *s = &rec->spawn_reply;
        if (!to_us(r, s->parent)) break;
        char text[1024];
        snprintf(text, sizeof text, "%.*s", (int)s->text.len, s->text.ptr);
        to = s->parent;
        m = tri_spawn_reply_msg(s->ref, s->child, s->status, text);
        break;
    }
    case TRI_WIRE_R_STOP_CHILD: {
        const tri_wire_stop_child *s = &rec->stop_child;
        if (!to_us(r, s->child) || !from_peer(r, s->parent) || tr_pid_is_nil(s->parent)) break;
        r->records++;
        tri_deliver_stop_child(sys, s->child, s->parent, s->kill != 0);
        return;
    }
    case TRI_WIRE_R_CHILD_EXIT: {
        const tri_wire_child_exit *c = &rec->child_exit;
        if (!to_us(r, c->parent) || !from_peer(r, c->child)) break;
        char text[1024];
        snprintf(text, sizeof text, "%.*s", (int)c->text.len, c->text.ptr);
        to = c->parent;
        m = tri_child_exit_msg(c->child, (tr_exit_kind)c->kind, text);
        /* the book forgets the stub by its child's node: the sender's */
        if (m) m->sender = (tr_pid){r->p->id, 0, 0};
        break;
    }
    default:
        break;
    }
    if (!m) {
        r->dropped++;
        return;
    }
    r->records++;
    m->dest_serial = to.serial;
    tri_book_inbound(r->p->book, to, m);
    tri_deliver_remote(sys, to, m);
}

/* --------------------------------------------------------- outbound */

static uint8_t wire_call(uint8_t role)
{
    return role == TRI_CALL_REQUEST ? TRI_WIRE_CALL_REQUEST
         : role == TRI_CALL_REPLY   ? TRI_WIRE_CALL_REPLY
         : role == TRI_CALL_MONITOR ? TRI_WIRE_CALL_DOWN
                                    : TRI_WIRE_CALL_NONE;
}

/* The record for a queued message (for a named send, `name`); false for
 * what has no record. */
static bool to_record(tr_pid to, const tr_msg *m, const char *name, int64_t now,
                      tri_wire_record *rec)
{
    memset(rec, 0, sizeof *rec);
    switch (m->kind) {
    case TRI_MSG_USER: {
        tri_wire_send *s = &rec->send;
        rec->type = name ? TRI_WIRE_R_SEND_NAMED : TRI_WIRE_R_MSG;
        s->to = name ? TR_PID_NIL : to;
        if (name) s->name = (tri_wire_str){name, strlen(name)};
        s->from = m->sender;
        s->type = m->type;
        s->call = wire_call(m->call);
        s->flags = m->exempt ? TRI_WIRE_MSG_EXEMPT : 0;
        s->payload = (tri_wire_bytes){(const uint8_t *)m->data, m->size};
        if (m->call != TRI_CALL_NONE) s->ref = tri_msg_ref(m);
        if (m->call == TRI_CALL_REQUEST) {
            int64_t d = tri_msg_deadline(m);
            s->timeout_ms = d == INT64_MAX ? TR_INFINITY : d <= now ? 0 : (d - now) / 1000000;
        }
        return true;
    }
    case TRI_MSG_MONITOR:
    case TRI_MSG_DEMONITOR: {
        struct tri_watch w;
        memcpy(&w, m->data, sizeof w);
        rec->type = m->kind == TRI_MSG_MONITOR ? TRI_WIRE_R_MONITOR : TRI_WIRE_R_DEMONITOR;
        rec->monitor = (tri_wire_monitor){to, w.watcher, w.ref};
        return true;
    }
    case TRI_MSG_LINK:
    case TRI_MSG_UNLINK: {
        tr_pid from;
        memcpy(&from, m->data, sizeof from);
        rec->type = m->kind == TRI_MSG_LINK ? TRI_WIRE_R_LINK : TRI_WIRE_R_UNLINK;
        rec->link = (tri_wire_link){to, from};
        return true;
    }
    case TRI_MSG_EXIT_SIGNAL: {
        struct tri_exit_signal es;
        memcpy(&es, m->data, sizeof es);
        const char *text = (const char *)m->data + sizeof es;
        rec->type = TRI_WIRE_R_EXIT;
        rec->exit = (tri_wire_exit){to, es.from, es.kind,
                                    (uint8_t)((es.untrappable ? TRI_WIRE_EXIT_UNTRAPPABLE : 0) |
                                              (es.over_link ? TRI_WIRE_EXIT_OVER_LINK : 0)),
                                    {text, strnlen(text, m->size - sizeof es)}};
        return true;
    }
    case TRI_MSG_SPAWN_REQ: {
        tri_spawn_req_view v;
        if (!tri_spawn_req_read(m, &v)) return false;
        rec->type = TRI_WIRE_R_SPAWN_REQ;
        rec->spawn_req = (tri_wire_spawn_req){v.h.ref,
                                              m->sender,
                                              {v.beh, v.h.beh_len},
                                              {v.name, v.h.name_len},
                                              v.h.shutdown_ms,
                                              v.h.flags,
                                              {v.args, v.h.args_size},
                                              {v.reg, v.h.reg_len},
                                              v.h.capacity,
                                              v.h.on_full};
        return true;
    }
    case TRI_MSG_SPAWN_REPLY: {
        struct tri_spawn_reply sr;
        memcpy(&sr, m->data, sizeof sr);
        const char *text = (const char *)m->data + sizeof sr;
        rec->type = TRI_WIRE_R_SPAWN_REPLY;
        rec->spawn_reply = (tri_wire_spawn_reply){sr.ref, sr.child, sr.status,
                                                  {text, strnlen(text, m->size - sizeof sr)}, to};
        return true;
    }
    case TRI_MSG_REMOTE_STOP: {
        struct tri_remote_stop rs;
        memcpy(&rs, m->data, sizeof rs);
        rec->type = TRI_WIRE_R_STOP_CHILD;
        rec->stop_child = (tri_wire_stop_child){rs.child, m->sender, rs.kill};
        return true;
    }
    case TRI_MSG_CHILD_EXIT: {
        struct tri_child_exit ce;
        memcpy(&ce, m->data, sizeof ce);
        const char *text = (const char *)m->data + sizeof ce;
        rec->type = TRI_WIRE_R_CHILD_EXIT;
        rec->child_exit = (tri_wire_child_exit){ce.child, to, (uint8_t)ce.kind,
                                                {text, strnlen(text, m->size - sizeof ce)}};
        return true;
    }
    default:
        return false;
    }
}

/* Closes the open batch and sends it; `b` is left empty (its buffer went
 * with the frame). The queue's load is settled for what the frame took. */
static void finish_and_send(tr_node *n, peer *p, tri_wire_buf *b, uint64_t *load, bool *blocked)
{
    size_t off, len;
    tri_outq_settle(n, p, load);
    if (tri_wire_batch_count(p->enc) == 0) {
        tri_wire_batch_abort(p->enc);
        return;
    }
    if (tri_wire_batch_finish(p->enc, &off, &len) != TR_OK) return;
    p->dealer_dirty = true;
    int err = tri_frames_send(p->dealer, b, off, len, &p->pending);
    if (err == 0 || err == EAGAIN) {
        stat_add(&n->frames_out, 1);
        stat_add(&n->bytes_out, len);
    } else {
        tri_wire_enc_forget(p->enc); /* the peer never saw those definitions */
    }
    *blocked = err == EAGAIN;
}

/* Opens a batch on `b`, empty, with a pooled buffer under it. */
static bool open_batch(peer *p, tri_wire_buf *b)
{
    b->len = 0;
    tri_frames_ready(b);
    return tri_wire_batch_begin(p->enc, b) == TR_OK;
}

/* Sends what `p` has queued, in batches; returns whether its queue was
 * left empty (false: blocked on the socket, or not connected yet). */
static bool flush(tr_node *n, peer *p, tri_wire_buf *b)
{
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    if (tri_outq_marked_empty(p)) return true; /* drained meanwhile (lost) */
    if (st >= PEER_DOWN) {
        tri_peer_dead_letters(n, p, TR_DEAD_NODE_DOWN);
        return true;
    }
    if (st != PEER_UP || !p->welcomed) return false;
    if (p->pending) {
        p->dealer_dirty = true;
        if (!tri_frames_send_pending(p->dealer, &p->pending)) return false;
    }
    int64_t now = tri_now_ns(n->sys);
    bool open = false, blocked = false;
    uint64_t load = 0; /* uncounted at each frame */
    for (;;) {
        outq_item *it = tri_outq_pop(p);
        if (!it) {
            if (open) finish_and_send(n, p, b, &load, &blocked), open = false;
            tri_outq_settle(n, p, &load);
            if (blocked) return false;
            if (tri_outq_idle(p)) return true;
            continue;
        }
        tri_wire_record rec;
        if (to_record(it->to, it->m, it->name, now, &rec)) {
            int rc = open || (open = open_batch(p, b)) ? TR_OK : TR_ENOMEM;
            if (rc == TR_OK) {
                tri_book_outbound(p->book, it->to, it->m, now);
                rc = tri_wire_batch_add(p->enc, &rec);
            }
            if (rc == TR_EFULL) { /* the frame is full: send it, start another */
                finish_and_send(n, p, b, &load, &blocked);
                open = open_batch(p, b);
                rc = open ? tri_wire_batch_add(p->enc, &rec) : TR_ENOMEM;
            }
            if (rc == TR_OK) stat_add(&n->msgs_out, 1);
            else /* larger than the peer takes, or no memory for a frame */
                tri_dead_letter_to(n->sys, it->m, it->to,
                                   rc == TR_ENOMEM ? TR_DEAD_PEER_FULL : TR_DEAD_TOO_BIG);
        }
        tri_outq_done(p, it, &load);
        /* a full frame goes; so does a started one once the socket is
         * full (it joins the backlog, and the rest waits in the queue) */
        if (open && (blocked || tri_wire_batch_size(p->enc) >= BATCH_BYTES)) {
            finish_and_send(n, p, b, &load, &blocked);
            open = false;
            if (blocked) return false;
        }
    }
}

/* ------------------------------------------------------------- receive */

static void on_control_dealer(void *user, const tri_wire_ctl *c)
{
    rx *r = user;
    switch (c->kind) {
    case TRI_WIRE_WELCOME:
        on_welcome(r->n, r->p, &c->hello);
        break;
    case TRI_WIRE_REFUSE: {
        tri_log(TR_LOG_WARN, "node %s: %s refused us: %.*s", r->n->name,
                r->p->name[0] ? r->p->name : r->p->dial_endpoint, (int)c->refuse.text.len,
                c->refuse.text.ptr);
        bool gone = c->refuse.reason == TRI_WIRE_REFUSE_ID_COLLISION ||
                    c->refuse.reason == TRI_WIRE_REFUSE_VERSION;
        lost(r->n, r->p, "refused", gone);
        break;
    }
    case TRI_WIRE_BYE:
        lost(r->n, r->p, "bye", false);
        break;
    default:
        break;
    }
}

typedef struct router_rx {
    rx r;
    void *router;
    const uint8_t *rid;
    size_t rid_len;
    const char *user_id;
} router_rx;

static void on_control_router(void *user, const tri_wire_ctl *c)
{
    router_rx *rr = user;
    tr_node *n = rr->r.n;
    if (c->kind == TRI_WIRE_HELLO) {
        on_hello(n, rr->router, rr->rid, rr->rid_len, &c->hello, rr->user_id);
        return;
    }
    if (!rr->r.p) return; /* anything but HELLO needs a session */
    if (c->kind == TRI_WIRE_GOSSIP && c->gossip.count) on_gossip(n, &c->gossip.node);
    else if (c->kind == TRI_WIRE_BYE) lost(n, rr->r.p, "bye", false);
}

static void log_bad(tr_node *n, const char *from, int err)
{
    stat_add(&n->bad_frames, 1);
    /* rate limit: once a second per node is plenty to notice */
    static _Thread_local int64_t last;
    int64_t now = mono_ms();
    if (now - last < 1000) return;
    last = now;
    tri_log(TR_LOG_WARN, "node %s: dropped a malformed frame from %s: %s", n->name, from,
            tri_wire_strerror(err));
}

/* Each recv_* reads what its socket has, up to a bound; returns whether
 * it read until the socket had nothing more (so that its file descriptor
 * will signal what comes next), false if the bound stopped it. */
static bool recv_router(tr_node *n, void *router, tri_wire_limits *lim)
{
    for (int k = 0; k < RECV_PER_PASS; k++) {
        zmq_msg_t id, frame;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return true;
        }
        zmq_msg_init(&frame);
        if (!zmq_msg_more(&id) || zmq_msg_recv(&frame, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            zmq_msg_close(&frame);
            continue;
        }
        while (zmq_msg_more(&frame)) { /* we never send multipart: drop the rest */
            zmq_msg_close(&frame);
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, router, ZMQ_DONTWAIT) < 0) break;
            stat_add(&n->bad_frames, 1);
        }
        const uint8_t *rid = zmq_msg_data(&id);
        size_t rid_len = zmq_msg_size(&id);
        in_session *s = in_find(n, rid, rid_len);
        router_rx rr = {{n, s ? s->p : NULL, tri_now_ns(n->sys), 0, 0}, router, rid, rid_len, NULL};
        rr.user_id = zmq_msg_gets(&frame, "User-Id");
        const uint8_t *data = zmq_msg_data(&frame);
        size_t len = zmq_msg_size(&frame);
        TRI_TSAN_ACQUIRE(data);
        stat_add(&n->frames_in, 1);
        stat_add(&n->bytes_in, len);
        tri_wire_sink sink = {on_record, on_control_router};
        int rc;
        if (s && s->p->dec) {
            rc = tri_wire_decode(s->p->dec, data, len, lim, &sink, &rr);
        } else {
            /* no session yet: only a HELLO is heard (decoded with a
             * throwaway state, no atoms can be defined by it) */
            tri_wire_dec *tmp = tri_wire_dec_new(NULL);
            tri_wire_sink hs = {NULL, on_control_router};
            bool ours = len >= 4 && data[0] == TRI_WIRE_MAGIC0 && data[1] == TRI_WIRE_MAGIC1 &&
                        data[2] == TRI_WIRE_VERSION;
            if (ours && data[3] != TRI_WIRE_HELLO) {
                /* a frame of a session that has ended (sent before the
                 * peer saw the end, or its BYE): nothing to hear, nothing
                 * wrong either */
                stat_add(&n->stale_frames, 1);
                rc = TRI_WIRE_OK;
            } else {
                rc = tmp ? tri_wire_decode(tmp, data, len, lim, &hs, &rr) : TRI_WIRE_ENOMEM;
            }
            tri_wire_dec_destroy(&tmp);
        }
        /* the frame may have opened a session, or ended one: settle the
         * decoder now that nothing decodes with it (s may be stale) */
        in_session *after = in_find(n, rid, rid_len);
        if (after && after->p->dec_reset) {
            tri_wire_dec_destroy((tri_wire_dec **)&after->p->dec);
            after->p->dec = tri_wire_dec_new(NULL);
            after->p->dec_reset = false;
        }
        if (rc != TRI_WIRE_OK) {
            log_bad(n, after ? after->p->name : "an unknown session", rc);
            /* a refused batch leaves the session's atom caches out of step
             * (its definitions never landed): the session ends */
            if (after && len >= 4 && data[3] == TRI_WIRE_BATCH) lost(n, after->p, "malformed frame", false);
        }
        stat_add(&n->msgs_in, rr.r.records);
        zmq_msg_close(&id);
        zmq_msg_close(&frame);
    }
    return false;
}

static bool recv_dealer(tr_node *n, peer *p, tri_wire_limits *lim)
{
    for (int k = 0; k < 16; k++) {
        if (!p->dealer) return true; /* closed: nothing to watch */
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, p->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            return true;
        }
        rx r = {n, p, tri_now_ns(n->sys), 0, 0};
        TRI_TSAN_ACQUIRE(zmq_msg_data(&frame));
        tri_wire_dec *tmp = tri_wire_dec_new(NULL);
        tri_wire_sink sink = {NULL, on_control_dealer};
        int rc = tmp ? tri_wire_decode(tmp, zmq_msg_data(&frame), zmq_msg_size(&frame), lim, &sink, &r)
                     : TRI_WIRE_ENOMEM;
        tri_wire_dec_destroy(&tmp);
        if (rc != TRI_WIRE_OK) log_bad(n, p->name[0] ? p->name : p->dial_endpoint, rc);
        zmq_msg_close(&frame);
    }
    return false;
}

static bool on_monitor(tr_node *n, peer *p)
{
    for (int k = 0; k < 16; k++) {
        if (!p->dealer_mon) return true;
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, p->dealer_mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return true;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) memcpy(&event, zmq_msg_data(&ev), 2);
        zmq_msg_init(&addr);
        if (zmq_msg_more(&ev)) zmq_msg_recv(&addr, p->dealer_mon, 0);
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_CLOSED) {
            lost(n, p, p->welcomed ? "connection lost" : "cannot connect", false);
            return true;
        }
        if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
            tri_log(TR_LOG_WARN, "node %s: the security handshake with %s failed", n->name,
                    p->name[0] ? p->name : p->dial_endpoint);
            lost(n, p, "handshake failed", false);
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------- commands */

static void run_commands(tr_node *n)
{
    pthread_mutex_lock(&n->mu);
    node_cmd *c = n->cmds;
    n->cmds = n->cmds_tail = NULL;
    pthread_mutex_unlock(&n->mu);
    while (c) {
        node_cmd *next = c->next;
        if (c->kind == CMD_CONNECT) {
            bool known = false;
            for (peer *q = n->all; q && !known; q = q->next_all)
                known = q->dealer && strcmp(q->dial_endpoint, c->endpoint) == 0;
            if (!known) {
                peer *p = tri_peer_add(n, 0);
                if (p) {
                    if (c->key && (strlen(c->key) == 40 ? tri_key_from_z85(c->key, p->pubkey)
                                                        : tri_keys_load_public(c->key, p->pubkey,
                                                                               NULL, NULL)) == TR_OK)
                        p->has_key = true;
                    dial(n, p, c->endpoint);
                    if (!p->dealer) p->retry_at = mono_ms() + BACKOFF_MIN_MS;
                }
            }
        }
        free(c->endpoint);
        free(c->key);
        free(c);
        c = next;
    }
}

/* ----------------------------------------------------------- the loop */

static void tick(tr_node *n)
{
    int64_t now = mono_ms();
    for (peer *p = n->all; p; p = p->next_all) {
        int st = atomic_load_explicit(&p->state, memory_order_relaxed);
        if (st == PEER_CONNECTING && p->dealer && !p->welcomed) {
            if (!p->hello_at && send_hello(n, p)) p->hello_at = now;
            if (now >= p->retry_at) lost(n, p, "no answer to our handshake", false);
        } else if (st == PEER_DOWN && now >= p->retry_at && !atomic_load(&n->stopping) &&
                   (p->nendpoints || p->dial_endpoint[0])) {
            dial(n, p, pick_endpoint(p));
            if (!p->dealer) p->retry_at = now + (p->backoff_ms ? p->backoff_ms : BACKOFF_MIN_MS);
        } else if (st == PEER_CONNECTING && !p->dealer && now >= p->retry_at && p->dial_endpoint[0]) {
            dial(n, p, p->dial_endpoint); /* a seed whose first connect failed */
            if (!p->dealer) p->retry_at = now + BACKOFF_MAX_MS;
        }
    }
}

static void say_goodbye(tr_node *n)
{
    tri_wire_ctl bye = {.kind = TRI_WIRE_BYE};
    for (peer *p = n->all; p; p = p->next_all)
        if (p->welcomed) dealer_ctl(p, &bye);
    for (size_t i = 0; i < n->nins; i++)
        router_reply(n, n->ins[i].router, n->ins[i].rid, n->ins[i].rid_len, &bye);
    for (peer *p = n->all; p; p = p->next_all) lost(n, p, "this node stopped", true);
}

void tri_node_io_init(tr_node *n)
{
    tri_io_scratch *sc = &n->scratch;
    sc->lim = tri_wire_limits_default();
    sc->lim.max_frame = n->max_frame;
    sc->lim.max_payload = n->opts.max_message;
}

/* ------------------------------------------------------------ polling */

/* A ZeroMQ socket's ZMQ_FD becomes readable when commands wait for it (a
 * message arrived on a pipe that was empty, a pipe can take output again,
 * a peer came or went), and any call on the socket may take those
 * commands in and clear the signal. So a socket is "dirty" (may hold
 * something its descriptor will not announce) after we send on it, after
 * its descriptor fired, and when new; a dirty socket is read until it has
 * nothing (which re-arms its descriptor) before we sleep. This is what
 * zmq_poll does for every socket at every call, at two system calls per
 * socket; a ping-pong's pass touches only the ROUTER the message came in
 * on and the DEALER the answer left by (docs/architecture.md, "Polling the
 * sockets"). Returns whether anything was left unread (a bound stopped a
 * read): then no sleeping. */
static bool service(tr_node *n, tri_io_scratch *sc)
{
    bool left = false;
    if (n->routers_dirty) {
        n->routers_dirty = false;
        for (size_t i = 0; i < n->nlisten; i++)
            if (!recv_router(n, n->routers[i], &sc->lim)) left = n->routers_dirty = true;
    }
    for (peer *p = n->all; p; p = p->next_all) {
        if (p->mon_dirty) {
            p->mon_dirty = false;
            if (!on_monitor(n, p)) left = p->mon_dirty = true;
        }
        if (!p->dealer_dirty) continue;
        p->dealer_dirty = false;
        if (!recv_dealer(n, p, &sc->lim)) left = p->dealer_dirty = true;
        if (!p->dealer || (!p->pending && (p->hello_at || p->welcomed))) continue;
        /* it waits to send: can it? */
        int ev = 0;
        size_t len = sizeof ev;
        if (zmq_getsockopt(p->dealer, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLOUT)) continue;
        if (!p->hello_at && !p->welcomed && send_hello(n, p)) p->hello_at = mono_ms();
        if (p->pending) {
            p->dealer_dirty = true;
            if (tri_frames_send_pending(p->dealer, &p->pending) && p->scheduled &&
                flush(n, p, &sc->out))
                p->scheduled = false;
        }
        left = true; /* what we sent may have cleared a signal */
    }
    return left;
}

enum { FD_EFD, FD_ROUTER, FD_DEALER, FD_MON };

/* The descriptors to sleep on: the eventfd, then every socket's ZMQ_FD.
 * Returns how many, or 0 when out of memory. */
static size_t poll_set(tr_node *n, tri_io_scratch *sc)
{
    size_t need = 1 + n->nlisten;
    for (peer *p = n->all; p; p = p->next_all) need += 2;
    if (need > sc->cap) {
        size_t cap = need * 2;
        struct pollfd *fds = realloc(sc->fds, cap * sizeof *fds);
        if (fds) sc->fds = fds;
        peer **owners = realloc(sc->owners, cap * sizeof *owners);
        if (owners) sc->owners = owners;
        uint8_t *kinds = realloc(sc->kinds, cap);
        if (kinds) sc->kinds = kinds;
        if (!fds || !owners || !kinds) return 0;
        sc->cap = cap;
    }
    size_t k = 0;
    sc->fds[k] = (struct pollfd){n->efd, POLLIN, 0};
    sc->kinds[k++] = FD_EFD;
    for (size_t i = 0; i < n->nlisten; i++) {
        sc->fds[k] = (struct pollfd){n->router_fds[i], POLLIN, 0};
        sc->kinds[k++] = FD_ROUTER;
    }
    for (peer *p = n->all; p; p = p->next_all) {
        if (p->dealer && p->dealer_fd >= 0) {
            sc->fds[k] = (struct pollfd){p->dealer_fd, POLLIN, 0};
            sc->owners[k] = p;
            sc->kinds[k++] = FD_DEALER;
        }
        if (p->dealer_mon && p->mon_fd >= 0) {
            sc->fds[k] = (struct pollfd){p->mon_fd, POLLIN, 0};
            sc->owners[k] = p;
            sc->kinds[k++] = FD_MON;
        }
    }
    return k;
}

bool tri_node_io_pass(tr_node *n, tri_worker *guest)
{
    if (n->io_ended) return false;
    tri_io_scratch *sc = &n->scratch;
    run_commands(n);
    if (atomic_load_explicit(&n->stopping, memory_order_acquire)) return false;
    /* flush every peer the senders scheduled */
    for (peer *p = tri_ready_take(n), *next; p; p = next) {
        next = p->ready_next;
        if (flush(n, p, &sc->out)) p->scheduled = false;
        else p->scheduled = true; /* resumed when up or writable */
    }
    for (peer *p = n->all; p; p = p->next_all)
        if (p->scheduled && atomic_load_explicit(&p->state, memory_order_relaxed) == PEER_UP &&
            p->welcomed && !p->pending && flush(n, p, &sc->out))
            p->scheduled = false;
    tick(n);
    bool busy = service(n, sc);
    busy |= guest && tri_sched_guest_has_work(guest); /* actors wait to run here */
    size_t k = poll_set(n, sc);
    if (!k) return true; /* out of memory: try again */
    /* Wait: not at all while actors queued on us wait, else until a
     * socket stirs, a sender writes the eventfd or the next tick. No
     * spinning first: on a small machine the spinning thread takes the
     * CPU from the very threads (libzmq's, the peer's) whose work it
     * waits for (bench/RESULTS.md, remote_pingpong). */
    int timeout = 0;
    if (!busy) {
        atomic_store_explicit(&n->io_sleeping, true, memory_order_seq_cst);
        bool work = atomic_load_explicit(&n->ready_any, memory_order_seq_cst) ||
                    atomic_load_explicit(&n->reclaim, memory_order_seq_cst);
        pthread_mutex_lock(&n->mu);
        work |= n->cmds != NULL;
        pthread_mutex_unlock(&n->mu);
        timeout = work ? 0 : 100; /* ticks: handshakes, redials */
    }
    int rc = poll(sc->fds, k, timeout);
    atomic_store_explicit(&n->io_sleeping, false, memory_order_relaxed);
    if (rc <= 0) {
        if (rc == 0 && timeout > 0) n->routers_dirty = true; /* a tick: look at everything */
        return true;
    }
    for (size_t i = 0; i < k; i++) {
        if (!sc->fds[i].revents) continue;
        switch (sc->kinds[i]) {
        case FD_EFD: {
            uint64_t v;
            ssize_t r = read(n->efd, &v, sizeof v);
            (void)r;
            break;
        }
        case FD_ROUTER: n->routers_dirty = true; break;
        case FD_DEALER: sc->owners[i]->dealer_dirty = true; break;
        default: sc->owners[i]->mon_dirty = true; break;
        }
    }
    service(n, sc);
    return true;
}

void tri_node_io_end(tr_node *n)
{
    if (n->io_ended) return;
    n->io_ended = true;
    say_goodbye(n);
    tri_io_scratch *sc = &n->scratch;
    free(sc->fds);
    free(sc->owners);
    free(sc->kinds);
    sc->fds = NULL;
    sc->owners = NULL;
    sc->kinds = NULL;
    sc->cap = 0;
    tri_wire_buf_fini(&sc->out);
}

/* --------------------------------------------------------------- bind */

/* Whether a tcp endpoint's host is a loopback address (or a name that
 * resolves only to loopback ones). */
static bool loopback(const char *ep)
{
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon) return false;
    char host[256];
    size_t len = (size_t)(colon - h);
    if (len >= sizeof host) return false;
    memcpy(host, h, len);
    host[len] = '\0';
    if (host[0] == '[') { /* [::1] */
        memmove(host, host + 1, strlen(host));
        char *e = strchr(host, ']');
        if (e) *e = '\0';
    }
    if (strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0) return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int tri_node_bind(tr_node *n)
{
    n->routers = calloc(n->nlisten ? n->nlisten : 1, sizeof *n->routers);
    n->router_fds = calloc(n->nlisten ? n->nlisten : 1, sizeof *n->router_fds);
    n->bound = calloc(n->nlisten ? n->nlisten : 1, sizeof *n->bound);
    if (!n->routers || !n->router_fds || !n->bound) return TR_ENOMEM;
    n->routers_dirty = true;
    for (size_t i = 0; i < n->nlisten; i++) {
        const char *ep = n->listen[i];
        if (is_tcp(ep) && !n->curve && !n->opts.insecure && !loopback(ep)) {
            tri_log(TR_LOG_ERROR,
                    "node %s: refusing to bind %s without CURVE keys (set insecure to allow it)",
                    n->name, ep);
            return TR_EFAILED;
        }
        void *s = zmq_socket(n->zctx, ZMQ_ROUTER);
        if (!s) return TR_ENOMEM;
        n->routers[i] = s;
        set_int(s, ZMQ_ROUTER_MANDATORY, 1);
        set_int(s, ZMQ_LINGER, 0);
        int64_t maxmsg = (int64_t)n->max_frame;
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        set_liveness(n, s, ep);
        if (is_tcp(ep) && n->curve && tri_zap_curve_server(s, n->name, n->secret_key) != TR_OK) {
            tri_log(TR_LOG_ERROR, "node %s: cannot set up CURVE on %s", n->name, ep);
            return TR_EFAILED;
        }
        if (zmq_bind(s, ep) != 0) {
            int err = zmq_errno();
            tri_log(TR_LOG_ERROR, "node %s: cannot bind %s: %s", n->name, ep, zmq_strerror(err));
            return err == EADDRINUSE ? TR_EAGAIN : TR_EINVAL;
        }
        char last[512];
        size_t ll = sizeof last;
        if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &ll) != 0) snprintf(last, sizeof last, "%s", ep);
        n->bound[i] = strdup(last);
        if (!n->bound[i]) return TR_ENOMEM;
        n->router_fds[i] = socket_fd(s);
    }
    return TR_OK;
}

void tri_node_close(tr_node *n)
{
    for (peer *p = n->all; p; p = p->next_all) close_dealer(p);
    for (size_t i = 0; i < n->nlisten; i++)
        if (n->routers && n->routers[i]) zmq_close(n->routers[i]);
}
