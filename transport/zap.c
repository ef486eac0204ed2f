/* zap.c — the ZAP handler thread and its domain table.
 *
 * Two locks, always taken in this order:
 *  - life_mu serialises start and stop (acquire/release): the first
 *    acquire holds it while the thread binds, the last release while the
 *    thread is joined. The handler thread never takes it.
 *  - mu guards the domain table, `running`, the clock and the counters;
 *    the handler thread takes it briefly for each request. Nothing is
 *    logged while it is held (a log sink may be slow).
 * The rate-limit table belongs to the handler thread alone. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "../actors/core.h"
#include "zap.h"
#include "zctx.h"

#define ZAP_ENDPOINT   "inproc://zeromq.zap.01"
#define ZAP_MAX_FRAMES 16 /* routing id + 7 + at most 8 credentials */
#define LIMIT_SLOTS    64
#define TEXT_MAX       256 /* a domain or address, as logged */

typedef struct domain_entry {
    char *name;
    tri_allowlist *al; /* the handler's own reference */
} domain_entry;

static pthread_mutex_t life_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;   /* under life_mu */
static pthread_t thread; /* under life_mu */
static int wake_w = -1;  /* under life_mu: written to stop the thread */
static int wake_r = -1;  /* under life_mu; the thread polls it */
static void *ctx;        /* under life_mu */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool running;
static domain_entry *domains;
static size_t ndomains, domcap;
static int64_t (*clock_fn)(void);
static tri_zap_stats stats;

static int64_t real_clock(void) { return tri_mono_ns(); }

/* ---- rate limit (handler thread only) -------------------------------- */

typedef struct limit_slot {
    bool used;
    char mech[24];
    uint8_t key[TRI_KEY_BYTES]; /* zeros for mechanisms without a key */
    char addr[TEXT_MAX];
    int64_t last_ns;
    uint64_t suppressed;
} limit_slot;

/* Whether to log a refusal now; *suppressed gets how many of the same were
 * not logged since the last one that was. A full table evicts the slot
 * logged longest ago: at worst a refusal is logged early, never lost. */
static bool limit_pass(limit_slot *t, const char *mech, const uint8_t *key, const char *addr,
                       int64_t now, uint64_t *suppressed)
{
    uint8_t k[TRI_KEY_BYTES] = {0};
    if (key) memcpy(k, key, sizeof k);
    *suppressed = 0;
    limit_slot *victim = NULL;
    for (int i = 0; i < LIMIT_SLOTS; i++) {
        limit_slot *s = &t[i];
        if (!s->used) {
            if (!victim || victim->used) victim = s;
            continue;
        }
        if (strcmp(s->mech, mech) == 0 && memcmp(s->key, k, sizeof k) == 0 &&
            strcmp(s->addr, addr) == 0) {
            if (now - s->last_ns < TRI_ZAP_LOG_WINDOW_NS) {
                s->suppressed++;
                return false;
            }
            *suppressed = s->suppressed;
            s->suppressed = 0;
            s->last_ns = now;
            return true;
        }
        if (!victim || (victim->used && s->last_ns < victim->last_ns)) victim = s;
    }
    victim->used = true;
    snprintf(victim->mech, sizeof victim->mech, "%s", mech);
    memcpy(victim->key, k, sizeof k);
    snprintf(victim->addr, sizeof victim->addr, "%s", addr);
    victim->last_ns = now;
    victim->suppressed = 0;
    return true;
}

/* ---- one request ------------------------------------------------------ */

/* A frame as printable text for a log line (at most cap - 1 bytes;
 * anything outside printable ASCII becomes '?'). */
static void frame_text(zmq_msg_t *m, char *out, size_t cap)
{
    size_t n = zmq_msg_size(m);
    if (n > cap - 1) n = cap - 1;
    const unsigned char *d = zmq_msg_data(m);
    for (size_t i = 0; i < n; i++)
        out[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
    out[n] = '\0';
}

static bool frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* The 7 reply frames after the routing id (RFC 27). A ROUTER never blocks
 * on send; a reply to a session that has gone away is dropped. */
static void reply(void *sock, zmq_msg_t *rid, zmq_msg_t *reqid, const char *status,
                  const char *text, const char *user)
{
    if (zmq_msg_send(rid, sock, ZMQ_SNDMORE) < 0) return;
    zmq_send(sock, "", 0, ZMQ_SNDMORE);
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_send(reqid, sock, ZMQ_SNDMORE);
    zmq_send(sock, status, 3, ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* metadata: none */
}

enum verdict { V_ACCEPT, V_REFUSE, V_MALFORMED };

/* Receives and answers one request; false when there was none. */
static bool serve_one(void *sock, limit_slot *limits)
{
    zmq_msg_t f[ZAP_MAX_FRAMES];
    int n = 0;
    bool more = true, too_many = false;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        /* The parts of a message arrive together: only the first can
         * find nothing there. */
        if (zmq_msg_recv(&m, sock, n == 0 && !too_many ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            if (n == 0 && !too_many) return false;
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_MAX_FRAMES)
            f[n++] = m;
        else {
            zmq_msg_close(&m);
            too_many = true;
        }
    }

    /* [0] routing id, [1] "", [2] "1.0", [3] request id, [4] domain,
     * [5] address, [6] identity, [7] mechanism, [8..] credentials */
    enum verdict v = V_MALFORMED;
    char domain[TEXT_MAX] = "", addr[TEXT_MAX] = "", mech[24] = "";
    const uint8_t *key = NULL;
    const char *why = "malformed ZAP request";
    char user[TRI_KEY_Z85_LEN + 1] = "";
    bool log_refusal = false;
    if (!too_many && n >= 8 && zmq_msg_size(&f[1]) == 0 && frame_is(&f[2], "1.0")) {
        frame_text(&f[4], domain, sizeof domain);
        frame_text(&f[5], addr, sizeof addr);
        if (!addr[0]) snprintf(addr, sizeof addr, "(unknown address)");
        if (frame_is(&f[7], "CURVE")) {
            snprintf(mech, sizeof mech, "CURVE");
            if (n == 9 && zmq_msg_size(&f[8]) == TRI_KEY_BYTES) {
                key = zmq_msg_data(&f[8]);
                v = V_REFUSE;
                why = "key not allowed";
                log_refusal = true;
            }
        } else if (frame_is(&f[7], "NULL")) {
            v = V_ACCEPT;
        } else {
            frame_text(&f[7], mech, sizeof mech);
            v = V_REFUSE;
            why = "mechanism not allowed";
            log_refusal = true;
        }
    }

    bool known_domain = false;
    int64_t (*now_fn)(void);
    pthread_mutex_lock(&mu);
    if (key) {
        for (size_t i = 0; i < ndomains; i++) {
            if (strcmp(domains[i].name, domain) == 0) {
                known_domain = true;
                if (tri_allowlist_lookup(domains[i].al, key, NULL) == TR_OK) v = V_ACCEPT;
                break;
            }
        }
    }
    now_fn = clock_fn ? clock_fn : real_clock;
    stats.requests++;
    if (v == V_ACCEPT)
        stats.accepted++;
    else if (v == V_REFUSE)
        stats.refused++;
    pthread_mutex_unlock(&mu);

    if (v == V_ACCEPT && key) tri_key_to_z85(key, user);
    if (v == V_REFUSE && log_refusal) {
        uint64_t suppressed;
        if (limit_pass(limits, mech, key, addr, now_fn(), &suppressed)) {
            char more_text[96] = "";
            if (suppressed)
                snprintf(more_text, sizeof more_text, "; %llu more like it since the last report",
                         (unsigned long long)suppressed);
            const char *no_domain = key && !known_domain ? "; no allowlist is registered for that "
                                                           "node"
                                                         : "";
            if (key) {
                char z[TRI_KEY_Z85_LEN + 1];
                tri_key_to_z85(key, z);
                tri_log(TR_LOG_WARN, "refused CURVE key %s from %s (node %s)%s%s", z, addr, domain,
                        no_domain, more_text);
            } else {
                tri_log(TR_LOG_WARN,
                        "refused %s authentication from %s (node %s): only CURVE and NULL are "
                        "allowed%s",
                        mech, addr, domain, more_text);
            }
            pthread_mutex_lock(&mu);
            stats.logged++;
            pthread_mutex_unlock(&mu);
        }
    } else if (v == V_MALFORMED) {
        tri_log(TR_LOG_WARN, "ZAP handler: malformed request (%d frames) answered 500", n);
    }

    /* A reply needs the routing id, the empty delimiter and the request id. */
    if (n >= 4 && zmq_msg_size(&f[1]) == 0) {
        const char *status = v == V_ACCEPT ? "200" : v == V_REFUSE ? "400" : "500";
        reply(sock, &f[0], &f[3], status, v == V_ACCEPT ? "OK" : why, user);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return true;
}

/* ---- the thread -------------------------------------------------------- */

typedef struct start_arg {
    void *ctx;
    int wake_fd;
    sem_t ready;
    int rc; /* written before `ready` is posted */
} start_arg;

static void *zap_main(void *p)
{
    start_arg *a = p;
    int wake_fd = a->wake_fd; /* `a` is gone once `ready` is posted */
    pthread_setname_np(pthread_self(), "troupe-zap");
    void *sock = zmq_socket(a->ctx, ZMQ_ROUTER);
    int rc = TR_OK;
    if (!sock) {
        tri_log(TR_LOG_ERROR, "ZAP handler: zmq_socket failed: %s", zmq_strerror(errno));
        rc = TR_ENOMEM;
    } else {
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_bind(sock, ZAP_ENDPOINT) != 0) {
            int e = errno;
            tri_log(TR_LOG_ERROR, "ZAP handler: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(e));
            rc = e == EADDRINUSE ? TR_EEXIST : TR_ENOMEM;
            zmq_close(sock);
        }
    }
    a->rc = rc;
    sem_post(&a->ready);
    if (rc != TR_OK) return NULL;

    limit_slot limits[LIMIT_SLOTS]; /* ~20 KiB: this thread's alone */
    memset(limits, 0, sizeof limits);
    bool poll_failed = false;
    for (;;) {
        zmq_pollitem_t items[2] = {
            {.socket = sock, .events = ZMQ_POLLIN},
            {.socket = NULL, .fd = wake_fd, .events = ZMQ_POLLIN},
        };
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == ETERM) break;
            /* Keep serving: while this thread lives no CURVE socket of the
             * context can bypass authentication. */
            if (errno != EINTR && !poll_failed) {
                tri_log(TR_LOG_ERROR, "ZAP handler: zmq_poll: %s", zmq_strerror(errno));
                poll_failed = true;
            }
            continue;
        }
        if (items[1].revents & ZMQ_POLLIN) break;
        /* Bounded, so that a flood cannot keep the stop request waiting. */
        for (int i = 0; i < 256 && serve_one(sock, limits); i++) {
        }
    }
    zmq_close(sock);
    return NULL;
}

int tri_zap_acquire(void)
{
    pthread_mutex_lock(&life_mu);
    if (users > 0) {
        users++;
        pthread_mutex_unlock(&life_mu);
        return TR_OK;
    }
    int rc = tri_zctx_acquire(&ctx);
    if (rc != TR_OK) {
        pthread_mutex_unlock(&life_mu);
        return rc;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        tri_log(TR_LOG_ERROR, "ZAP handler: pipe: %s", strerror(errno));
        tri_zctx_release(&ctx);
        pthread_mutex_unlock(&life_mu);
        return TR_ENOMEM;
    }
    start_arg a = {.ctx = ctx, .wake_fd = fds[0], .rc = TR_OK};
    sem_init(&a.ready, 0, 0);
    if (pthread_create(&thread, NULL, zap_main, &a) != 0) {
        rc = TR_ENOMEM;
    } else {
        while (sem_wait(&a.ready) != 0 && errno == EINTR) {
        }
        rc = a.rc;
        if (rc != TR_OK) pthread_join(thread, NULL);
    }
    sem_destroy(&a.ready);
    if (rc != TR_OK) {
        close(fds[0]);
        close(fds[1]);
        tri_zctx_release(&ctx);
        pthread_mutex_unlock(&life_mu);
        return rc;
    }
    wake_r = fds[0];
    wake_w = fds[1];
    pthread_mutex_lock(&mu);
    running = true;
    pthread_mutex_unlock(&mu);
    users = 1;
    pthread_mutex_unlock(&life_mu);
    return TR_OK;
}

void tri_zap_release(void)
{
    pthread_mutex_lock(&life_mu);
    if (users == 0) {
        pthread_mutex_unlock(&life_mu);
        tri_log(TR_LOG_ERROR, "tri_zap_release: the ZAP handler is not running");
        return;
    }
    if (--users > 0) {
        pthread_mutex_unlock(&life_mu);
        return;
    }
    pthread_mutex_lock(&mu);
    running = false;
    domain_entry *left = domains;
    size_t nleft = ndomains;
    domains = NULL;
    ndomains = domcap = 0;
    pthread_mutex_unlock(&mu);

    char byte = 1;
    while (write(wake_w, &byte, 1) < 0 && errno == EINTR) {
    }
    pthread_join(thread, NULL);
    close(wake_r);
    close(wake_w);
    wake_r = wake_w = -1;
    tri_zctx_release(&ctx);
    pthread_mutex_unlock(&life_mu);

    for (size_t i = 0; i < nleft; i++) {
        tri_log(TR_LOG_WARN, "ZAP handler stopped with node %s still registered", left[i].name);
        free(left[i].name);
        tri_allowlist_release(&left[i].al);
    }
    free(left);
}

static domain_entry *find_domain(const char *name)
{
    for (size_t i = 0; i < ndomains; i++)
        if (strcmp(domains[i].name, name) == 0) return &domains[i];
    return NULL;
}

int tri_zap_domain_add(const char *domain, tri_allowlist *al)
{
    if (!tri_node_name_valid(domain) || !al) return TR_EINVAL;
    char *name = strdup(domain);
    if (!name) return TR_ENOMEM;
    pthread_mutex_lock(&mu);
    int rc = TR_OK;
    if (!running)
        rc = TR_ESTATE;
    else if (find_domain(domain))
        rc = TR_EEXIST;
    else if (ndomains == domcap) {
        size_t cap = domcap ? 2 * domcap : 4;
        domain_entry *v = realloc(domains, cap * sizeof *v);
        if (!v)
            rc = TR_ENOMEM;
        else {
            domains = v;
            domcap = cap;
        }
    }
    if (rc == TR_OK) {
        domains[ndomains].name = name;
        domains[ndomains].al = tri_allowlist_ref(al);
        ndomains++;
        name = NULL;
    }
    pthread_mutex_unlock(&mu);
    free(name);
    return rc;
}

int tri_zap_domain_replace(const char *domain, tri_allowlist *al)
{
    if (!tri_node_name_valid(domain) || !al) return TR_EINVAL;
    tri_allowlist *old = NULL;
    pthread_mutex_lock(&mu);
    int rc = TR_OK;
    domain_entry *e = running ? find_domain(domain) : NULL;
    if (!running)
        rc = TR_ESTATE;
    else if (!e)
        rc = TR_ENOENT;
    else {
        old = e->al;
        e->al = tri_allowlist_ref(al);
    }
    pthread_mutex_unlock(&mu);
    tri_allowlist_release(&old);
    return rc;
}

int tri_zap_domain_remove(const char *domain)
{
    if (!domain) return TR_EINVAL;
    char *name = NULL;
    tri_allowlist *al = NULL;
    pthread_mutex_lock(&mu);
    domain_entry *e = find_domain(domain);
    if (e) {
        name = e->name;
        al = e->al;
        *e = domains[--ndomains];
    }
    pthread_mutex_unlock(&mu);
    if (!name) return TR_ENOENT;
    free(name);
    tri_allowlist_release(&al);
    return TR_OK;
}

int tri_zap_curve_server(void *socket, const char *domain, const uint8_t secret_key[TRI_KEY_BYTES])
{
    if (!socket || !secret_key || !tri_node_name_valid(domain)) return TR_EINVAL;
    pthread_mutex_lock(&mu);
    int rc = !running ? TR_ESTATE : find_domain(domain) ? TR_OK : TR_ENOENT;
    pthread_mutex_unlock(&mu);
    if (rc != TR_OK) return rc;
    int one = 1;
    if (zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, secret_key, TRI_KEY_BYTES) != 0)
        return TR_EINVAL;
    return TR_OK;
}

void tri_zap_get_stats(tri_zap_stats *out)
{
    if (!out) return;
    pthread_mutex_lock(&mu);
    *out = stats;
    pthread_mutex_unlock(&mu);
}

void tri_zap_set_clock(int64_t (*now_ns)(void))
{
    pthread_mutex_lock(&mu);
    clock_fn = now_ns;
    pthread_mutex_unlock(&mu);
}
