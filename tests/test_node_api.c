/* test_node_api.c — the node API's documented edges, one process, inproc
 * (and tcp on loopback where the address is the point): tr_node_start's
 * errors, tr_node_name, tr_node_wait_peers' timeout, node events for an
 * actor (tr_monitor_node with and without a name, tr_demonitor_node), and
 * the dead letters a node makes of what it cannot route (no such node,
 * too big). Everything waits on messages, with deadlines; the one log line
 * checked is waited for under a deadline too. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#include "../transport/keys.h"

static unsigned next_tag;

static void ep_of(char *buf, size_t n, unsigned tag, int i)
{
    snprintf(buf, n, "inproc://test-node-api-%u-%d", tag, i);
}

/* A system of one worker, an inbox, and a node named `name` listening on
 * `ep`, seeded with `seed` (NULL: none), with `max_message`. */
typedef struct one {
    tr_system *sys;
    tr_node *node;
    tr_inbox *in;
} one;

static one start_one(const char *name, const char *ep, const char *seed, uint32_t max_message)
{
    one o = {0};
    tr_system_opts so = {.workers = 1};
    assert_int_equal(tr_system_new(&so, &o.sys), TR_OK);
    const char *listen[] = {ep};
    tr_node_peer peer = {seed, NULL};
    tr_node_opts no = {.name = name, .listen = listen, .nlisten = 1,
                       .peers = seed ? &peer : NULL, .npeers = seed ? 1 : 0,
                       .max_message = max_message};
    assert_int_equal(tr_node_start(o.sys, &no, &o.node), TR_OK);
    assert_int_equal(tr_inbox_new(o.sys, &o.in), TR_OK);
    return o;
}

static void stop_one(one *o)
{
    tr_inbox_destroy(&o->in);
    tr_system_destroy(&o->sys);
    o->node = NULL;
}

static const tr_msg *expect_in(tr_inbox *in, const char *type)
{
    const tr_msg *m = NULL;
    assert_int_equal(tr_inbox_recv(in, &m, T_WAIT_MS), TR_OK);
    if (strcmp(tr_atom_name(tr_msg_type(m)), type) != 0)
        fail_msg("got %s, want %s", tr_atom_name(tr_msg_type(m)), type);
    return m;
}

/* ---- a log capture, for the one fact only the log tells --------------- */

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static char cap_buf[16384];
static size_t cap_len;

static void capture(void *user, tr_log_level level, const char *line)
{
    (void)user;
    (void)level;
    pthread_mutex_lock(&cap_mu);
    int n = snprintf(cap_buf + cap_len, sizeof cap_buf - cap_len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof cap_buf - cap_len) cap_len += (size_t)n;
    pthread_mutex_unlock(&cap_mu);
}

static bool captured(const char *needle)
{
    pthread_mutex_lock(&cap_mu);
    bool found = strstr(cap_buf, needle) != NULL;
    pthread_mutex_unlock(&cap_mu);
    return found;
}

static void capture_start(void)
{
    pthread_mutex_lock(&cap_mu);
    cap_len = 0;
    cap_buf[0] = '\0';
    pthread_mutex_unlock(&cap_mu);
    tr_log_set_handler(capture, NULL);
}

/* Waits (deadline T_WAIT_MS) for a captured line containing `needle`. */
static bool wait_captured(const char *needle)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    while (!captured(needle)) {
        if (t_now_ms() > end) return false;
        sched_yield();
    }
    return true;
}

/* ---- tr_node_start's errors ------------------------------------------ */

static void make_keys(char *dir, size_t n, char *key_path, size_t kn)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/troupe-node-api-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    tri_keypair kp;
    assert_int_equal(tri_keypair_new(&kp), TR_OK);
    tri_key_error err;
    assert_int_equal(tri_keys_write(dir, "a", &kp, &err), TR_OK);
    tri_keypair_wipe(&kp);
    snprintf(key_path, kn, "%s/a.key", dir);
}

static void remove_keys(const char *dir)
{
    char p[PATH_MAX + 16]; /* room for the file name after any dir */
    snprintf(p, sizeof p, "%s/a.key", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/a.pub", dir);
    unlink(p);
    rmdir(dir);
}

/* Each documented refusal of tr_node_start leaves the system no node (so
 * a later start succeeds), and a second start of the same system is
 * TR_ESTATE. */
static void test_start_errors(void **state)
{
    (void)state;
    capture_start();
    tr_system *sys;
    tr_system_opts so = {.workers = 1};
    assert_int_equal(tr_system_new(&so, &sys), TR_OK);
    char ep[64], dir[PATH_MAX], key[PATH_MAX + 8];
    ep_of(ep, sizeof ep, ++next_tag, 0);
    make_keys(dir, sizeof dir, key, sizeof key);
    const char *listen[] = {ep};
    const char *nowhere[] = {"/nonexistent/troupe-allow"};
    tr_node *n = (tr_node *)&n; /* set to NULL by every failure */

    tr_node_opts o = {.name = "", .listen = listen, .nlisten = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EINVAL);
    assert_null(n);
    o.name = "has space";
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EINVAL);
    o = (tr_node_opts){.name = "a", .listen = NULL, .nlisten = 0};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EINVAL);
    assert_true(captured("needs a listen endpoint"));
    /* an allowlist means CURVE: it needs the node's own secret key */
    o = (tr_node_opts){.name = "a", .listen = listen, .nlisten = 1, .allow = nowhere, .nallow = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EINVAL);
    assert_true(captured("an allowlist without a secret key file"));
    /* a key file that is not there */
    o = (tr_node_opts){.name = "a", .listen = listen, .nlisten = 1,
                       .secret_key_file = "/nonexistent/a.key"};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EFAILED);
    /* a good key, an allowlist entry that is neither a file nor a folder */
    o = (tr_node_opts){.name = "a", .listen = listen, .nlisten = 1, .secret_key_file = key,
                       .allow = nowhere, .nallow = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EFAILED);
    assert_true(captured("allowlist /nonexistent/troupe-allow"));
    assert_null(tr_node_of(sys));
    /* tcp without keys: loopback is allowed ([::1] as much as 127.x; its
     * bind may still fail where IPv6 is off, but not as a refusal), any
     * other address is refused */
    const char *v6[] = {"tcp://[2001:db8::1]:7000"};
    o = (tr_node_opts){.name = "a", .listen = v6, .nlisten = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EFAILED);
    assert_true(captured("refusing to bind tcp://[2001:db8::1]:7000 without CURVE keys"));
    const char *host[] = {"tcp://troupe-test.invalid:7000"}; /* a name: not known loopback */
    o = (tr_node_opts){.name = "a", .listen = host, .nlisten = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EFAILED);
    const char *hole[] = {NULL};
    o = (tr_node_opts){.name = "a", .listen = hole, .nlisten = 1};
    assert_int_equal(tr_node_start(sys, &o, &n), TR_EINVAL);
    const char *v6lo[] = {"tcp://[::1]:*"};
    o = (tr_node_opts){.name = "a", .listen = v6lo, .nlisten = 1};
    int rc = tr_node_start(sys, &o, &n);
    assert_int_not_equal(rc, TR_EFAILED);
    if (rc == TR_OK) tr_node_stop(&n);
    assert_false(captured("refusing to bind tcp://[::1]"));

    tr_system *sys2;
    assert_int_equal(tr_system_new(&so, &sys2), TR_OK);
    o = (tr_node_opts){.name = "a", .listen = listen, .nlisten = 1};
    assert_int_equal(tr_node_start(sys2, &o, &n), TR_OK);
    assert_string_equal(tr_node_name(n), "a");
    assert_null(tr_node_name(NULL));
    assert_ptr_equal(tr_node_of(sys2), n);
    /* the same endpoint again, from another system: in use */
    tr_node *n2 = NULL;
    o.name = "b";
    assert_int_equal(tr_node_start(sys, &o, &n2), TR_EAGAIN);
    assert_null(n2);
    /* already a node */
    const char *other[] = {"inproc://test-node-api-other"};
    o = (tr_node_opts){.name = "c", .listen = other, .nlisten = 1};
    assert_int_equal(tr_node_start(sys2, &o, &n2), TR_ESTATE);
    assert_ptr_equal(tr_node_of(sys2), n);
    /* no peer will come: the wait times out (at once with 0 ms) */
    assert_int_equal(tr_node_wait_peers(n, 1, 0), TR_ETIMEDOUT);
    assert_int_equal(tr_node_wait_peers(n, 0, 0), TR_OK);
    assert_int_equal(tr_node_wait_peers(NULL, 1, 0), TR_EINVAL);

    tr_system_destroy(&sys2);
    tr_system_destroy(&sys);
    tr_log_set_handler(NULL, NULL);
    remove_keys(dir);
}

/* A node with keys does not dial a tcp peer whose public key it was not
 * given (it says so), rather than talking to it in plain text. */
static void test_tcp_peer_without_key_not_dialled(void **state)
{
    (void)state;
    capture_start();
    char dir[PATH_MAX], key[PATH_MAX + 8];
    make_keys(dir, sizeof dir, key, sizeof key);
    tr_system *sys;
    tr_system_opts so = {.workers = 1};
    assert_int_equal(tr_system_new(&so, &sys), TR_OK);
    const char *listen[] = {"tcp://127.0.0.1:*"};
    tr_node_opts o = {.name = "a", .listen = listen, .nlisten = 1, .secret_key_file = key};
    tr_node *n;
    assert_int_equal(tr_node_start(sys, &o, &n), TR_OK);
    assert_int_equal(tr_node_connect(n, &(tr_node_peer){"tcp://127.0.0.1:9", NULL}), TR_OK);
    assert_true(wait_captured("no CURVE key for the peer at tcp://127.0.0.1:9"));
    tr_node_stats st;
    assert_int_equal(tr_node_get_stats(n, &st), TR_OK);
    assert_int_equal(st.peers_up, 0);
    tr_system_destroy(&sys);
    tr_log_set_handler(NULL, NULL);
    remove_keys(dir);
}

/* A node told to connect to itself is refused by itself (its own id), and
 * an endpoint ZeroMQ cannot connect to is logged and given up; neither
 * is a peer. */
static void test_connect_to_self_and_nowhere(void **state)
{
    (void)state;
    capture_start();
    char ep0[64];
    ep_of(ep0, sizeof ep0, ++next_tag, 0);
    one o0 = start_one("n0", ep0, NULL, 0);
    assert_int_equal(tr_node_connect(o0.node, &(tr_node_peer){ep0, NULL}), TR_OK);
    tr_node_stats st;
    int64_t end = t_now_ms() + T_WAIT_MS;
    do {
        assert_int_equal(tr_node_get_stats(o0.node, &st), TR_OK);
        sched_yield();
    } while (st.handshakes_refused == 0 && t_now_ms() < end);
    assert_true(st.handshakes_refused >= 1); /* once, or again on a redial */
    assert_int_equal(st.peers_up, 0);
    assert_int_equal(tr_node_connect(o0.node, &(tr_node_peer){"nosuchtransport://x", NULL}),
                     TR_OK);
    assert_true(wait_captured("cannot connect to nosuchtransport://x"));
    assert_int_equal(tr_node_connect(o0.node, &(tr_node_peer){"", NULL}), TR_EINVAL);
    assert_int_equal(tr_node_get_stats(o0.node, &st), TR_OK);
    assert_int_equal(st.peers_up, 0);
    stop_one(&o0);
    tr_log_set_handler(NULL, NULL);
}

/* tr_node_event_decode refuses what is not a well-formed node event. */
static void test_node_event_info_malformed(void **state)
{
    (void)state;
    struct {
        uint32_t node;
        uint8_t up, name_len;
        uint16_t pad;
        char rest[2];
    } bad = {7, 1, 200, 0, {0, 0}}; /* a name longer than the message */
    tr_msg *m;
    assert_int_equal(tr_msg_new(tr_atom_from("tr.nodeup"), sizeof bad, &m), TR_OK);
    memcpy(tr_msg_buffer(m), &bad, sizeof bad);
    tr_node_event ev;
    assert_int_equal(tr_node_event_decode(m, &ev), TR_EINVAL);
    tr_msg_destroy(&m);
    assert_int_equal(tr_msg_new(tr_atom_from("tr.nodedown"), 3, &m), TR_OK); /* too short */
    assert_int_equal(tr_node_event_decode(m, &ev), TR_EINVAL);
    tr_msg_destroy(&m);
    assert_int_equal(tr_msg_new(tr_atom_from("other"), sizeof bad, &m), TR_OK);
    assert_int_equal(tr_node_event_decode(m, &ev), TR_EINVAL);
    tr_msg_destroy(&m);
}

/* ---- node events for an actor ---------------------------------------- */

/* nodemon: "mon" {name or ""} → tr_monitor_node, reports "mon_rc" {rc,
 * ref}; "demon" {ref} → tr_demonitor_node, reports "demon_rc" {rc};
 * "ping" → "pong"; a node event → "ev" "up:NAME" or "down:NAME". Reports
 * go to the pid given at spawn. */
static int nodemon_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    if (n != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(st, args, n);
    return 0;
}

static int nodemon_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tr_pid to = *(tr_pid *)st;
    if (tr_msg_is(m, tr_atom_from("mon"))) {
        const char *name = tr_msg_data(m);
        tr_ref ref = {0};
        int rc = tr_monitor_node(ctx, *name ? name : NULL, &ref);
        uint64_t v[2] = {(uint64_t)(int64_t)rc, ref.id};
        return tr_send(ctx, to, tr_atom_from("mon_rc"), v, sizeof v);
    }
    if (tr_msg_is(m, tr_atom_from("demon"))) {
        tr_ref ref;
        memcpy(&ref.id, tr_msg_data(m), sizeof ref.id);
        int rc = tr_demonitor_node(ctx, ref);
        return tr_send(ctx, to, tr_atom_from("demon_rc"), &rc, sizeof rc);
    }
    if (tr_msg_is(m, tr_atom_from("ping"))) return tr_send(ctx, to, tr_atom_from("pong"), NULL, 0);
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_stop_reason(ctx, TR_EXIT_SHUTDOWN, "asked to");
        return 0;
    }
    tr_node_event ev;
    if (tr_node_event_decode(m, &ev) == TR_OK) {
        char text[300];
        snprintf(text, sizeof text, "%s:%s", ev.up ? "up" : "down", ev.name);
        return tr_send(ctx, to, tr_atom_from("ev"), text, strlen(text) + 1);
    }
    return 0;
}

static const tr_behaviour nodemon_b = {"nodemon", sizeof(tr_pid), nodemon_init, nodemon_handle,
                                       NULL};

static uint64_t ask_mon(tr_system *sys, tr_inbox *in, tr_pid a, const char *name, int want_rc)
{
    assert_int_equal(tr_system_send(sys, a, tr_atom_from("mon"), name, strlen(name) + 1), TR_OK);
    const uint64_t *v = tr_msg_data(expect_in(in, "mon_rc"));
    assert_int_equal((int)(int64_t)v[0], want_rc);
    return v[1];
}

static int ask_demon(tr_system *sys, tr_inbox *in, tr_pid a, uint64_t ref)
{
    assert_int_equal(tr_system_send(sys, a, tr_atom_from("demon"), &ref, sizeof ref), TR_OK);
    const tr_msg *m = expect_in(in, "demon_rc");
    int rc;
    memcpy(&rc, tr_msg_data(m), sizeof rc);
    return rc;
}

/* Counts the events the actor forwards ("ev", each checked against
 * `want`) until the pong of a ping sent once the inbox's own event (`up`,
 * `name`) came: the actor was told of the same change before the inbox
 * (later subscribers are told first), so its forwards come before that
 * pong; some may come before the inbox's event. */
static int events_until_pong(one *o, tr_pid a, bool up, const char *name, const char *want)
{
    int evs = 0;
    bool pinged = false;
    for (;;) {
        const tr_msg *m = NULL;
        assert_int_equal(tr_inbox_recv(o->in, &m, T_WAIT_MS), TR_OK);
        tr_node_event ev;
        if (!pinged && tr_node_event_decode(m, &ev) == TR_OK) { /* the inbox's own */
            assert_int_equal(ev.up, up);
            assert_string_equal(ev.name, name);
            assert_int_equal(tr_system_send(o->sys, a, tr_atom_from("ping"), NULL, 0), TR_OK);
            pinged = true;
            continue;
        }
        if (pinged && tr_msg_is(m, tr_atom_from("pong"))) return evs;
        assert_string_equal(tr_atom_name(tr_msg_type(m)), "ev");
        assert_string_equal((const char *)tr_msg_data(m), want);
        evs++;
    }
}

/* An actor's node monitors: one for any node and one for "n2" both fire
 * for n2, only the first for n1; after tr_demonitor_node the named one is
 * silent, and a second demonitor of it is TR_ENOENT. */
static void test_monitor_node_from_actor(void **state)
{
    (void)state;
    unsigned tag = ++next_tag;
    char ep0[64], ep1[64], ep2[64];
    ep_of(ep0, sizeof ep0, tag, 0);
    ep_of(ep1, sizeof ep1, tag, 1);
    ep_of(ep2, sizeof ep2, tag, 2);
    one o0 = start_one("n0", ep0, NULL, 0);
    tr_pid probe = tr_inbox_pid(o0.in), a;
    assert_int_equal(tr_system_spawn(o0.sys, &nodemon_b,
                                     &(tr_spawn_opts){.args = &probe, .args_size = sizeof probe},
                                     &a),
                     TR_OK);
    /* the inbox first: it is told after the actor (see events_until_pong) */
    assert_int_equal(tr_inbox_monitor_node(o0.in, NULL, NULL), TR_OK);
    uint64_t any = ask_mon(o0.sys, o0.in, a, "", TR_OK);
    uint64_t only2 = ask_mon(o0.sys, o0.in, a, "n2", TR_OK);
    assert_true(any != 0 && only2 != 0 && any != only2);

    one o1 = start_one("n1", ep1, ep0, 0);
    assert_int_equal(events_until_pong(&o0, a, true, "n1", "up:n1"), 1);
    one o2 = start_one("n2", ep2, ep0, 0);
    assert_int_equal(events_until_pong(&o0, a, true, "n2", "up:n2"), 2);
    /* n1 and n2 also meet; drain n1's own view so its stop is clean */
    assert_int_equal(tr_node_wait_peers(o2.node, 2, T_WAIT_MS), TR_OK);

    assert_int_equal(ask_demon(o0.sys, o0.in, a, only2), TR_OK);
    assert_int_equal(ask_demon(o0.sys, o0.in, a, only2), TR_ENOENT);
    tr_node_stop(&o2.node);
    assert_int_equal(events_until_pong(&o0, a, false, "n2", "down:n2"), 1);
    stop_one(&o2);
    /* and the remaining monitor still works */
    tr_node_stop(&o1.node);
    assert_int_equal(events_until_pong(&o0, a, false, "n1", "down:n1"), 1);
    stop_one(&o1);
    stop_one(&o0);
}

/* In a system that is not a node, tr_monitor_node is TR_ESTATE and
 * tr_demonitor_node TR_ENOENT. */
static void test_monitor_node_not_a_node(void **state)
{
    (void)state;
    tr_system *sys;
    tr_system_opts so = {.workers = 1};
    assert_int_equal(tr_system_new(&so, &sys), TR_OK);
    tr_inbox *in;
    assert_int_equal(tr_inbox_new(sys, &in), TR_OK);
    tr_pid probe = tr_inbox_pid(in), a;
    assert_int_equal(tr_system_spawn(sys, &nodemon_b,
                                     &(tr_spawn_opts){.args = &probe, .args_size = sizeof probe},
                                     &a),
                     TR_OK);
    ask_mon(sys, in, a, "", TR_ESTATE);
    assert_int_equal(ask_demon(sys, in, a, 1), TR_ENOENT);
    assert_int_equal(tr_inbox_monitor_node(in, NULL, NULL), TR_ESTATE);
    tr_inbox_destroy(&in);
    tr_system_destroy(&sys);
}

/* ---- monitors and links across nodes, many at once --------------------- */

/* booker: "watch" {pid} monitors it BOOK_N times and links to it, then
 * demonitors all but the first monitor and unlinks, reporting "booked"
 * {failures}; a "tr.down" is reported as "down" {ref}; "ping" → "pong".
 * Reports go to the pid given at spawn. */
#define BOOK_N 12

typedef struct booker {
    tr_pid to;
    tr_ref refs[BOOK_N];
} booker;

static int booker_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    (void)ctx;
    if (n != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(&((booker *)st)->to, args, n);
    return 0;
}

static int booker_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    booker *b = st;
    if (tr_msg_is(m, tr_atom_from("watch"))) {
        tr_pid who;
        memcpy(&who, tr_msg_data(m), sizeof who);
        int failures = 0;
        for (int i = 0; i < BOOK_N; i++) failures += tr_monitor(ctx, who, &b->refs[i]) != TR_OK;
        failures += tr_link(ctx, who) != TR_OK;
        for (int i = 1; i < BOOK_N; i++) failures += tr_demonitor(ctx, b->refs[i]) != TR_OK;
        failures += tr_unlink(ctx, who) != TR_OK;
        return tr_send(ctx, b->to, tr_atom_from("booked"), &failures, sizeof failures);
    }
    if (tr_msg_is(m, tr_atom_from("ping"))) return tr_send(ctx, b->to, tr_atom_from("pong"), NULL, 0);
    if (tr_msg_is(m, tr_down_atom())) {
        uint64_t ref = tr_msg_ref(m).id;
        return tr_send(ctx, b->to, tr_atom_from(ref == b->refs[0].id ? "down" : "stray_down"),
                       &ref, sizeof ref);
    }
    return 0;
}

static const tr_behaviour booker_b = {"booker", sizeof(booker), booker_init, booker_handle, NULL};

/* An actor monitors one of another node's actors many times (more than
 * the node's bookkeeping holds before it grows), links to it, then takes
 * back all monitors but one and the link: when that actor ends, the one
 * monitor left fires, and the actor, unlinked and not trapping exits,
 * lives on. */
static void test_remote_monitors_and_unlink(void **state)
{
    (void)state;
    unsigned tag = ++next_tag;
    char ep0[64], ep1[64];
    ep_of(ep0, sizeof ep0, tag, 0);
    ep_of(ep1, sizeof ep1, tag, 1);
    one o0 = start_one("n0", ep0, NULL, 0);
    one o1 = start_one("n1", ep1, ep0, 0);
    assert_int_equal(tr_node_wait_peers(o0.node, 1, T_WAIT_MS), TR_OK);
    tr_pid probe0 = tr_inbox_pid(o0.in), probe1 = tr_inbox_pid(o1.in), a, b;
    assert_int_equal(tr_system_spawn(o0.sys, &booker_b,
                                     &(tr_spawn_opts){.args = &probe0, .args_size = sizeof probe0},
                                     &a),
                     TR_OK);
    assert_int_equal(tr_system_spawn(o1.sys, &nodemon_b,
                                     &(tr_spawn_opts){.args = &probe1, .args_size = sizeof probe1},
                                     &b),
                     TR_OK);
    assert_int_equal(tr_system_send(o0.sys, a, tr_atom_from("watch"), &b, sizeof b), TR_OK);
    const tr_msg *m = expect_in(o0.in, "booked");
    int failures;
    memcpy(&failures, tr_msg_data(m), sizeof failures);
    assert_int_equal(failures, 0);
    /* n1 gets all of them (and the takebacks) before "stop": they went
     * first through the same queue and connection; a monitor not taken
     * back would fire too, as "stray_down" (before "down" or after it,
     * before "pong") */
    assert_int_equal(tr_system_send(o0.sys, b, tr_atom_from("stop"), NULL, 0), TR_OK);
    expect_in(o0.in, "down");
    assert_int_equal(tr_system_send(o0.sys, a, tr_atom_from("ping"), NULL, 0), TR_OK);
    expect_in(o0.in, "pong");
    assert_int_equal(t_wait_live(o0.sys, 1), 1);
    stop_one(&o1);
    stop_one(&o0);
}

/* ---- what a node cannot route ---------------------------------------- */

static tr_dead_letter expect_dead(tr_inbox *in)
{
    const tr_msg *m = expect_in(in, "tr.dead_letter");
    tr_dead_letter d;
    assert_int_equal(tr_dead_letter_decode(m, &d), TR_OK);
    return d;
}

/* A send to a node id or a node name nobody knows is a dead letter "no
 * route" (a call there is answered "tr.down", noconnection); a payload
 * above max_message is one "too big"; all counted by the node; the send
 * itself succeeds (as Erlang's !). */
static void test_unroutable_dead_letters(void **state)
{
    (void)state;
    unsigned tag = ++next_tag;
    char ep0[64], ep1[64];
    ep_of(ep0, sizeof ep0, tag, 0);
    ep_of(ep1, sizeof ep1, tag, 1);
    one o0 = start_one("n0", ep0, NULL, 1024);
    one o1 = start_one("n1", ep1, ep0, 0);
    assert_int_equal(tr_node_wait_peers(o0.node, 1, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_system_dead_letters_to(o0.sys, tr_inbox_pid(o0.in)), TR_OK);
    tr_pid probe1 = tr_inbox_pid(o1.in), e;
    assert_int_equal(tr_system_spawn(o1.sys, &nodemon_b,
                                     &(tr_spawn_opts){.args = &probe1, .args_size = sizeof probe1},
                                     &e),
                     TR_OK);

    uint32_t id1;
    assert_int_equal(tr_node_id(o0.node, "n1", &id1), TR_OK);
    assert_int_equal(e.node, id1);
    tr_pid nowhere = e;
    nowhere.node = id1 ^ 0x5a5a5a5au;
    assert_int_equal(tr_system_send(o0.sys, nowhere, tr_atom_from("x"), "a", 1), TR_OK);
    tr_dead_letter d = expect_dead(o0.in);
    assert_int_equal(d.reason, TR_DEAD_NO_ROUTE);
    assert_string_equal(tr_dead_reason_name(d.reason), "no route");

    assert_int_equal(tr_system_send_named(o0.sys, "who@nosuchnode", tr_atom_from("x"), "b", 1),
                     TR_OK);
    d = expect_dead(o0.in);
    assert_int_equal(d.reason, TR_DEAD_NO_ROUTE);

    /* a request there is answered at once: "tr.down", noconnection (the
     * node cannot be reached; noproc would say the actor is gone) */
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(o0.sys, nowhere, tr_atom_from("q"), NULL, 0, T_WAIT_MS, &reply),
                     TR_ENOENT);
    tr_exit why;
    assert_int_equal(tr_exit_decode(reply, NULL, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOCONNECTION);
    tr_msg_destroy(&reply);
    assert_int_equal(expect_dead(o0.in).reason, TR_DEAD_NO_ROUTE);
    assert_int_equal(tr_call_named_sync(o0.sys, "who@nosuchnode", tr_atom_from("q"), NULL, 0,
                                        T_WAIT_MS, &reply),
                     TR_ENOENT);
    assert_int_equal(tr_exit_decode(reply, NULL, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOCONNECTION);
    tr_msg_destroy(&reply);
    assert_int_equal(expect_dead(o0.in).reason, TR_DEAD_NO_ROUTE);

    static char big[2048];
    assert_int_equal(tr_system_send(o0.sys, e, tr_atom_from("x"), big, sizeof big), TR_OK);
    d = expect_dead(o0.in);
    assert_int_equal(d.reason, TR_DEAD_TOO_BIG);
    assert_int_equal(d.size, sizeof big);
    /* exactly max_message is not too big: it arrives */
    assert_int_equal(tr_system_send(o0.sys, e, tr_atom_from("ping"), big, 1024), TR_OK);
    expect_in(o1.in, "pong");

    tr_node_stats st;
    assert_int_equal(tr_node_get_stats(o0.node, &st), TR_OK);
    assert_int_equal(st.dead_node_down, 5);
    /* connecting again to a peer already up changes nothing */
    assert_int_equal(tr_node_connect(o1.node, &(tr_node_peer){ep0, NULL}), TR_OK);
    assert_int_equal(tr_system_send(o0.sys, e, tr_atom_from("ping"), NULL, 0), TR_OK);
    expect_in(o1.in, "pong");
    assert_int_equal(tr_node_get_stats(o1.node, &st), TR_OK);
    assert_int_equal(st.peers_up, 1);
    assert_int_equal(tr_node_id(o0.node, "nosuchnode", &id1), TR_ENOENT);
    stop_one(&o1);
    stop_one(&o0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_tcp_peer_without_key_not_dialled),
        cmocka_unit_test(test_connect_to_self_and_nowhere),
        cmocka_unit_test(test_node_event_info_malformed),
        cmocka_unit_test(test_monitor_node_from_actor),
        cmocka_unit_test(test_monitor_node_not_a_node),
        cmocka_unit_test(test_unroutable_dead_letters),
        cmocka_unit_test(test_remote_monitors_and_unlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
