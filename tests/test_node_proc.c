/* test_node_proc.c — nodes in separate OS processes: the test process is
 * one node, node_peer (forked and exec'd, path in $NODE_PEER) the other.
 * tcp with CURVE both ways, keys refused, kill -9 and restart, garbage on
 * the node's endpoint, a stopped (slow) receiver, ipc, and restarts on
 * both sides.
 *
 * Nothing sleeps: the tests wait on messages, node events (an inbox of
 * their own), the peer's stdout lines ("ready", "up", "down"), captured
 * log lines, socket events and the peer process (pidfd), each with a
 * deadline. Every child is tracked; teardown kills and reaps whatever a
 * failed test left (and a child dies with the test process: PDEATHSIG). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "testutil.h"

#include "../transport/keys.h"
#include "../transport/wire.h"
#include "node_actors.h"

extern char **environ;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define T_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define T_SANITIZED 1
#endif
#endif

/* Heartbeats where a test waits for a lost peer: every 100 ms, a peer
 * silent for 500 ms is down (so the tests are quick). Under a sanitizer a
 * process runs several times slower, and may stall that long without being
 * gone: the timeout is longer there. */
#define HB_MS 100
#ifdef T_SANITIZED
#define HB_TIMEOUT_MS 2000
#else
#define HB_TIMEOUT_MS 500
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *peer_exe;

/* ------------------------------------------------------------ the world */

#define KIDS_MAX 4
#define TNODES_MAX 4
#define RAW_MAX 4

/* A node_peer process and what it printed but was not read yet. */
typedef struct kid {
    pid_t pid;
    int out;
    char buf[8192];
    size_t len;
} kid;

/* A node in this process: its system, a command inbox, an inbox for node
 * events, one for dead letters, and its own ctl and echo. */
typedef struct tnode {
    tr_system *sys;
    tr_node *node;
    tr_inbox *in, *ev, *dl;
    tr_pid ctl, echo;
} tnode;

static struct {
    char dir[64]; /* keys and ipc sockets */
    kid kids[KIDS_MAX];
    tnode t[TNODES_MAX];
    void *zctx; /* raw ZeroMQ clients */
    void *raw[RAW_MAX];
} w;

/* -------------------------------------------------------------- logging */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;

static void log_sink(void *user, tr_log_level level, const char *line)
{
    (void)user;
    if (getenv("TLOG")) fprintf(stderr, "[%s] %s\n", tr_log_level_name(level), line);
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(line);
    if (log_len + n + 2 < sizeof log_text) {
        memcpy(log_text + log_len, line, n);
        log_text[log_len + n] = '\n';
        log_len += n + 1;
        log_text[log_len] = '\0';
    }
    pthread_cond_broadcast(&log_cv);
    pthread_mutex_unlock(&log_mu);
}

/* Waits until a captured log line contains `needle`. */
static bool log_wait(const char *needle, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&log_mu);
    bool found;
    while (!(found = strstr(log_text, needle) != NULL))
        if (pthread_cond_timedwait(&log_cv, &log_mu, &ts) != 0) {
            found = strstr(log_text, needle) != NULL;
            break;
        }
    pthread_mutex_unlock(&log_mu);
    return found;
}

/* ----------------------------------------------------------------- files */

/* DIR/file, in one of a few rotating buffers (enough for one call's
 * arguments). */
static const char *at(const char *file)
{
    static char bufs[8][400];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", w.dir, file);
    return b;
}

static void make_key(const char *name)
{
    tri_keypair kp;
    tri_key_error err;
    assert_int_equal(tri_keypair_new(&kp), TR_OK);
    int rc = tri_keys_write(w.dir, name, &kp, &err);
    tri_keypair_wipe(&kp);
    if (rc != TR_OK) fail_msg("keys %s: %s", name, err.text);
}

static void remove_dir(void)
{
    DIR *d = opendir(w.dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') unlink(at(e->d_name));
    if (d) closedir(d);
    rmdir(w.dir);
}

/* -------------------------------------------------------------- children */

/* Forks and execs node_peer NAME LISTEN args... (NULL-terminated). The
 * child only calls async-signal-safe functions before exec. */
static kid *peer_start(const char *name, const char *listen, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = peer_exe;
    argv[n++] = name;
    argv[n++] = listen;
    va_list ap;
    va_start(ap, listen);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 31;) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    kid *k = NULL;
    for (int i = 0; i < KIDS_MAX && !k; i++)
        if (!w.kids[i].pid) k = &w.kids[i];
    assert_non_null(k);
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO); /* the copy is not close-on-exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        execve(peer_exe, (char *const *)argv, environ);
        _exit(127);
    }
    close(fds[1]);
    k->pid = pid;
    k->out = fds[0];
    k->len = 0;
    return k;
}

/* The next line the child printed (without its newline); false at end of
 * file or when the deadline passes. */
static bool kid_line(kid *k, char *line, size_t size, int64_t ms)
{
    int64_t end = t_now_ms() + ms;
    for (;;) {
        char *nl = memchr(k->buf, '\n', k->len);
        if (nl) {
            size_t n = (size_t)(nl - k->buf);
            snprintf(line, size, "%.*s", (int)n, k->buf);
            memmove(k->buf, nl + 1, k->len - n - 1);
            k->len -= n + 1;
            return true;
        }
        int64_t left = end - t_now_ms();
        if (left <= 0 || k->len == sizeof k->buf) return false;
        struct pollfd p = {k->out, POLLIN, 0};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        ssize_t got = read(k->out, k->buf + k->len, sizeof k->buf - k->len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        k->len += (size_t)got;
    }
}

/* The next line must start with `prefix`; *rest (may be NULL) gets what
 * follows it. */
static void kid_expect(kid *k, const char *prefix, char *rest, size_t size)
{
    char line[512];
    if (!kid_line(k, line, sizeof line, T_WAIT_MS)) fail_msg("node_peer printed no \"%s\"", prefix);
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        fail_msg("node_peer printed \"%s\", want \"%s...\"", line, prefix);
    if (rest) snprintf(rest, size, "%s", line + strlen(prefix));
}

/* Starts node_peer and reads its "ready <endpoint>" line. */
#define PEER(ep, name, ...)                                                                   \
    kid_ready(peer_start(name, __VA_ARGS__, (const char *)NULL), ep, sizeof ep)

static kid *kid_ready(kid *k, char *ep, size_t size)
{
    kid_expect(k, "ready ", ep, size);
    return k;
}

static void kid_forget(kid *k)
{
    close(k->out);
    memset(k, 0, sizeof *k);
}

/* Waits up to `ms` for the child to end (a pidfd, polled) and reaps it:
 * its wait status, or -1 if it still runs. */
static int kid_wait(kid *k, int64_t ms)
{
    int st, fd = (int)syscall(SYS_pidfd_open, k->pid, 0);
    if (fd < 0) { /* no pidfd (valgrind 3.19 knows no pidfd_open): ask, 1 ms apart */
        assert_int_equal(errno, ENOSYS);
        int64_t end = t_now_ms() + ms;
        pid_t r;
        while ((r = waitpid(k->pid, &st, WNOHANG)) == 0 && t_now_ms() < end) poll(NULL, 0, 1);
        if (r != k->pid) return -1;
        kid_forget(k);
        return st;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    do r = poll(&p, 1, (int)ms);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r <= 0 || waitpid(k->pid, &st, WNOHANG) != k->pid) return -1;
    kid_forget(k);
    return st;
}

/* kill -9 and reap (SIGKILL ends even a stopped process). */
static void kid_kill(kid *k)
{
    kill(k->pid, SIGKILL);
    int st;
    while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR) {}
    kid_forget(k);
}

/* ----------------------------------------------------------- test nodes */

static const tr_msg *recv_on(tr_inbox *in, const char *type)
{
    const tr_msg *m = NULL;
    int rc = tr_inbox_recv(in, &m, T_WAIT_MS);
    if (rc != TR_OK) fail_msg("no \"%s\" within %d ms", type, T_WAIT_MS);
    if (strcmp(tr_atom_name(tr_msg_type(m)), type) != 0)
        fail_msg("got \"%s\", want \"%s\"", tr_atom_name(tr_msg_type(m)), type);
    return m;
}

static int recv_int(tnode *t, const char *type) { return t_int(recv_on(t->in, type)); }
static uint64_t recv_u64(tnode *t, const char *type) { return t_u64(recv_on(t->in, type)); }
static tr_pid recv_pid(tnode *t, const char *type) { return t_pidv(recv_on(t->in, type)); }

/* A node here, named and configured by `o`; it subscribes to node events
 * before it dials its seeds, so none is missed. */
static tnode *tnode_start(const tr_node_opts *o)
{
    tnode *t = NULL;
    for (int i = 0; i < TNODES_MAX && !t; i++)
        if (!w.t[i].sys) t = &w.t[i];
    assert_non_null(t);
    assert_int_equal(tr_system_new(&(tr_system_opts){.workers = 2}, &t->sys), TR_OK);
    tr_node_opts no_seeds = *o;
    no_seeds.peers = NULL;
    no_seeds.npeers = 0;
    assert_int_equal(tr_node_start(t->sys, &no_seeds, &t->node), TR_OK);
    assert_int_equal(tr_inbox_new(t->sys, &t->in), TR_OK);
    assert_int_equal(tr_inbox_new(t->sys, &t->ev), TR_OK);
    assert_int_equal(tr_inbox_new(t->sys, &t->dl), TR_OK);
    assert_int_equal(tr_inbox_monitor_node(t->ev, NULL, NULL), TR_OK);
    assert_int_equal(tr_system_dead_letters_to(t->sys, tr_inbox_pid(t->dl)), TR_OK);
    assert_int_equal(tr_system_spawn(t->sys, &na_ctl_b, &(tr_spawn_opts){.register_as = "ctl"},
                                     &t->ctl),
                     TR_OK);
    assert_int_equal(tr_system_spawn(t->sys, &na_echo_b, &(tr_spawn_opts){.register_as = "echo"},
                                     &t->echo),
                     TR_OK);
    for (size_t i = 0; i < o->npeers; i++) assert_int_equal(tr_node_connect(t->node, &o->peers[i]), TR_OK);
    return t;
}

static void tnode_stop(tnode *t)
{
    tr_inbox_destroy(&t->in);
    tr_inbox_destroy(&t->ev);
    tr_inbox_destroy(&t->dl);
    tr_system_destroy(&t->sys);
    memset(t, 0, sizeof *t);
}

/* A node on tcp 127.0.0.1 (port *), seeded with `seed` (may be NULL);
 * with CURVE when `secret` names a key of the test's directory (and
 * `allow` the public key it accepts, which is also the seed's key). */
static tnode *tcp_node(const char *name, const char *seed, const char *secret, const char *allow,
                       int64_t hb, int64_t hb_timeout)
{
    const char *listen[] = {"tcp://127.0.0.1:*"};
    const char *allowv[] = {allow ? at(allow) : NULL};
    tr_node_peer peer = {seed, allow ? at(allow) : NULL};
    tr_node_opts o = {.name = name, .listen = listen, .nlisten = 1, .peers = &peer,
                      .npeers = seed ? 1 : 0, .secret_key_file = secret ? at(secret) : NULL,
                      .allow = allowv, .nallow = allow ? 1 : 0, .heartbeat_ms = hb,
                      .heartbeat_timeout_ms = hb_timeout};
    return tnode_start(&o);
}

/* The pid behind "name@node", learnt by asking it: every test actor
 * answers "tell" {pid} with "hello" {its pid}. */
static tr_pid find(tnode *t, const char *name)
{
    tr_pid me = tr_inbox_pid(t->in);
    assert_int_equal(tr_system_send_named(t->sys, name, tr_atom_from("tell"), &me, sizeof me), TR_OK);
    return recv_pid(t, "hello");
}

static void send_pid(tnode *t, tr_pid to, const char *type, tr_pid arg)
{
    assert_int_equal(tr_inbox_send(t->in, to, tr_atom_from(type), &arg, sizeof arg), TR_OK);
}

static void send_n(tnode *t, tr_pid to, uint64_t seq)
{
    assert_int_equal(tr_inbox_send(t->in, to, tr_atom_from("n"), &seq, sizeof seq), TR_OK);
}

/* Numbered messages *seq.. to a sink. */
static void send_many(tnode *t, tr_pid sink, uint64_t *seq, int count)
{
    for (int i = 0; i < count; i++) send_n(t, sink, (*seq)++);
}

/* A sink's report, asked from the command inbox (so after everything it
 * sent to the sink before). */
static na_sink_report sink_report(tnode *t, tr_pid sink)
{
    int rc;
    int64_t end = t_now_ms() + T_WAIT_MS;
    /* a user message too: refused while the queue to its node is full */
    while ((rc = tr_inbox_send(t->in, sink, tr_atom_from("report"), NULL, 0)) == TR_EFULL &&
           t_now_ms() < end)
        sched_yield();
    assert_int_equal(rc, TR_OK);
    const tr_msg *m = recv_on(t->in, "report");
    na_sink_report r;
    assert_int_equal(tr_msg_size(m), sizeof r);
    memcpy(&r, tr_msg_data(m), sizeof r);
    return r;
}

/* A node's counters, asked of its ctl. */
static tr_node_stats remote_stats(tnode *t, tr_pid ctl)
{
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("stats"), NULL, 0), TR_OK);
    const tr_msg *m = recv_on(t->in, "stats");
    tr_node_stats s;
    assert_int_equal(tr_msg_size(m), sizeof s);
    memcpy(&s, tr_msg_data(m), sizeof s);
    return s;
}

static tr_node_stats local_stats(tnode *t)
{
    tr_node_stats s;
    assert_int_equal(tr_node_get_stats(t->node, &s), TR_OK);
    return s;
}

/* The next node event; it must be `up` or down, for node `name`. */
static tr_node_event node_event(tnode *t, bool up, const char *name)
{
    tr_node_event ev;
    const tr_msg *m = recv_on(t->ev, up ? "tr.nodeup" : "tr.nodedown");
    assert_int_equal(tr_node_event_decode(m, &ev), TR_OK);
    assert_string_equal(ev.name, name);
    ev.reason = NULL; /* points into the message */
    return ev;
}

/* Reads "saw" reports until `want` (a mask of 1 << NA_SAW_*) is seen for
 * `who`, each with exit kind `kind`. */
static void expect_saw(tnode *t, tr_pid who, uint32_t kind, unsigned want)
{
    unsigned seen = 0;
    while (seen != want) {
        const tr_msg *m = recv_on(t->in, "saw");
        na_saw s;
        assert_int_equal(tr_msg_size(m), sizeof s);
        memcpy(&s, tr_msg_data(m), sizeof s);
        assert_true(tr_pid_eq(s.who, who));
        assert_int_equal(s.kind, kind);
        assert_true(want & (1u << s.what));
        assert_false(seen & (1u << s.what));
        seen |= 1u << s.what;
    }
}

/* The peer ends on "stop" with status 0: no crash, no leak under ASan, no
 * race under TSan. */
static void peer_stop(tnode *t, kid *k, tr_pid ctl)
{
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("stop"), NULL, 0), TR_OK);
    int st = kid_wait(k, T_WAIT_MS);
    assert_true(st != -1);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("node_peer ended with status %d (signal %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static uint16_t port_of(const char *ep)
{
    const char *c = strrchr(ep, ':');
    assert_non_null(c);
    return (uint16_t)atoi(c + 1);
}

/* --------------------------------------------------------- setup, teardown */

static int setup(void **state)
{
    (void)state;
    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "/tmp/troupe-node-proc-XXXXXX");
    if (!mkdtemp(w.dir)) return -1;
    make_key("test");
    make_key("peer");
    make_key("rogue");
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < KIDS_MAX; i++)
        if (w.kids[i].pid) kid_kill(&w.kids[i]);
    for (int i = 0; i < TNODES_MAX; i++)
        if (w.t[i].sys) tnode_stop(&w.t[i]);
    for (int i = 0; i < RAW_MAX; i++)
        if (w.raw[i]) zmq_close(w.raw[i]);
    if (w.zctx) zmq_ctx_term(w.zctx);
    remove_dir();
    memset(&w, 0, sizeof w);
    return 0;
}

/* ====================================================================== */

/* tcp + CURVE between two processes: name@node, send, call, and monitors
 * and links in both directions; the peer stops cleanly. */
static void test_tcp_curve_both_ways(void **state)
{
    (void)state;
    char ep[256];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-s", at("peer.key"), "-a", at("test.pub"));
    tnode *t = tcp_node("test", ep, "test.key", "peer.pub", 0, 0);
    assert_int_equal(tr_node_wait_peers(t->node, 1, T_WAIT_MS), TR_OK);
    tr_node_event up = node_event(t, true, "peer");
    uint32_t id;
    assert_int_equal(tr_node_id(t->node, "peer", &id), TR_OK);
    assert_int_equal(id, up.node);

    /* names on the other node; its pids carry its id */
    tr_pid echo = find(t, "echo@peer"), sink = find(t, "sink@peer"), ctl = find(t, "ctl@peer");
    assert_int_equal(echo.node, id);
    assert_int_equal(ctl.node, id);

    /* a call */
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(t->sys, echo, tr_atom_from("q"), "ping", 5, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_msg_data(reply), "ping");
    assert_true(tr_pid_eq(tr_msg_sender(reply), echo));
    tr_msg_destroy(&reply);

    /* sends echoed back, in order */
    for (uint64_t i = 0; i < 100; i++) send_n(t, echo, i);
    for (uint64_t i = 0; i < 100; i++) assert_int_equal(recv_u64(t, "back"), i);
    uint64_t seq = 0;
    send_many(t, sink, &seq, 1000);
    na_sink_report r = sink_report(t, sink);
    assert_int_equal(r.count, 1000);
    assert_int_equal(r.next, 1000);
    assert_int_equal(r.errors, 0);

    /* here -> there: our ctl monitors and links an actor of the peer,
     * which fails */
    send_pid(t, ctl, "spawn", TR_PID_NIL);
    tr_pid theirs = recv_pid(t, "spawned");
    assert_int_equal(theirs.node, id);
    send_pid(t, t->ctl, "monitor", theirs);
    assert_int_equal(recv_int(t, "watching"), TR_OK);
    send_pid(t, t->ctl, "link", theirs);
    assert_int_equal(recv_int(t, "linked"), TR_OK);
    assert_int_equal(tr_inbox_send(t->in, theirs, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_saw(t, theirs, TR_EXIT_FAILURE, 1u << NA_SAW_EXIT | 1u << NA_SAW_DOWN);

    /* there -> here: the peer's ctl monitors, links and calls one of ours,
     * and reaches our echo by name */
    send_pid(t, t->ctl, "spawn", TR_PID_NIL);
    tr_pid ours = recv_pid(t, "spawned");
    send_pid(t, ctl, "monitor", ours);
    assert_int_equal(recv_int(t, "watching"), TR_OK);
    send_pid(t, ctl, "link", ours);
    assert_int_equal(recv_int(t, "linked"), TR_OK);
    na_call call;
    memset(&call, 0, sizeof call); /* no padding bytes sent uninitialised */
    call.to = ours;
    call.hold = 0;
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("call"), &call, sizeof call), TR_OK);
    assert_int_equal(recv_int(t, "calling"), TR_OK);
    assert_string_equal(tr_msg_data(recv_on(t->in, "answered")), "x");
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("ping"), "echo@test", 10), TR_OK);
    assert_int_equal(recv_int(t, "pinging"), TR_OK);
    assert_true(tr_pid_eq(recv_pid(t, "pinged"), t->echo));
    assert_int_equal(tr_inbox_send(t->in, ours, tr_atom_from("fail"), NULL, 0), TR_OK);
    expect_saw(t, ours, TR_EXIT_FAILURE, 1u << NA_SAW_EXIT | 1u << NA_SAW_DOWN);

    peer_stop(t, k, ctl);
    tr_node_event down = node_event(t, false, "peer");
    assert_int_equal(down.node, id);
}

/* CURVE refusals: a key that is not on the peer's allowlist, and an
 * allowed key used under another node name than the one it is bound to;
 * then the right key and name are accepted. */
static void test_curve_wrong_key_refused(void **state)
{
    (void)state;
    char ep[256], line[512];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-s", at("peer.key"), "-a", at("test.pub"));
    /* an unknown key: the peer's ZAP handler refuses the CURVE handshake */
    tnode *rogue = tcp_node("rogue", ep, "rogue.key", "peer.pub", 0, 0);
    if (!log_wait("node rogue: the security handshake with", T_WAIT_MS))
        fail_msg("no handshake failure logged for rogue");
    /* test's key (bound to "test") under the name "imposter": CURVE lets
     * it in, the troupe handshake refuses it */
    tnode *imposter = tcp_node("imposter", ep, "test.key", "peer.pub", 0, 0);
    if (!log_wait("refused us: its key is bound to node test", T_WAIT_MS))
        fail_msg("no refusal logged for imposter");
    /* the right key under its own name */
    tnode *t = tcp_node("test", ep, "test.key", "peer.pub", 0, 0);
    assert_int_equal(tr_node_wait_peers(t->node, 1, T_WAIT_MS), TR_OK);
    /* the first node the peer saw come up is test */
    assert_true(kid_line(k, line, sizeof line, T_WAIT_MS));
    assert_true(strncmp(line, "up test ", 8) == 0);
    tr_pid ctl = find(t, "ctl@peer");
    tr_node_stats s = remote_stats(t, ctl);
    assert_int_equal(s.peers_up, 1);
    assert_true(s.handshakes_refused >= 1);
    assert_int_equal(local_stats(rogue).peers_up, 0);
    assert_int_equal(local_stats(imposter).peers_up, 0);
    peer_stop(t, k, ctl);
}

/* kill -9: a monitor, a link and a pending call see noconnection within
 * the heartbeat timeout, "tr.nodedown" arrives; the restarted peer (same
 * name, same endpoint) is a new node, and the old pids stay dead. */
static void test_kill9_and_restart(void **state)
{
    (void)state;
    char ep[256], ep2[256];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-h", STR(HB_MS), "-t", STR(HB_TIMEOUT_MS));
    tnode *t = tcp_node("test", ep, NULL, NULL, HB_MS, HB_TIMEOUT_MS);
    uint32_t id1 = node_event(t, true, "peer").node;
    tr_pid echo = find(t, "echo@peer");
    assert_int_equal(echo.node, id1);
    send_pid(t, t->ctl, "monitor", echo);
    assert_int_equal(recv_int(t, "watching"), TR_OK);
    send_pid(t, t->ctl, "link", echo);
    assert_int_equal(recv_int(t, "linked"), TR_OK);
    na_call call; /* "hold": never answered */
    memset(&call, 0, sizeof call); /* no padding bytes sent uninitialised */
    call.to = echo;
    call.hold = 1;
    assert_int_equal(tr_inbox_send(t->in, t->ctl, tr_atom_from("call"), &call, sizeof call), TR_OK);
    assert_int_equal(recv_int(t, "calling"), TR_OK);
    /* all of that is queued to the peer before this: once it echoes, the
     * call is in its mailbox */
    send_n(t, echo, 0);
    assert_int_equal(recv_u64(t, "back"), 0);

    int64_t t0 = t_now_ms();
    kid_kill(k);
    assert_int_equal(node_event(t, false, "peer").node, id1);
    expect_saw(t, echo, TR_EXIT_NOCONNECTION,
               1u << NA_SAW_EXIT | 1u << NA_SAW_DOWN | 1u << NA_SAW_CALL);
    int64_t took = t_now_ms() - t0;
    if (took >= HB_TIMEOUT_MS)
        fail_msg("node down seen after %lld ms (heartbeat timeout %d)", (long long)took, HB_TIMEOUT_MS);

    /* the same name on the same endpoint, dialling us too */
    k = PEER(ep2, "peer", ep, "-h", STR(HB_MS), "-t", STR(HB_TIMEOUT_MS), "-p", tr_node_endpoint(t->node, 0));
    assert_string_equal(ep2, ep);
    uint32_t id2 = node_event(t, true, "peer").node;
    assert_true(id2 != id1);
    uint32_t now_id;
    assert_int_equal(tr_node_id(t->node, "peer", &now_id), TR_OK);
    assert_int_equal(now_id, id2);
    /* the old incarnation's pid: a dead letter here, never the new echo's */
    send_n(t, echo, 7);
    tr_dead_letter dl;
    assert_int_equal(tr_dead_letter_decode(recv_on(t->dl, "tr.dead_letter"), &dl), TR_OK);
    assert_true(tr_pid_eq(dl.to, echo));
    assert_int_equal(dl.reason, TR_DEAD_NODE_DOWN);
    tr_pid echo2 = find(t, "echo@peer");
    assert_int_equal(echo2.node, id2);
    send_n(t, echo2, 0);
    assert_int_equal(recv_u64(t, "back"), 0); /* not 7: that one went nowhere */
    assert_int_equal(local_stats(t).peers_up, 1);
}

/* ------------------------------------------------------------- garbage */

static void *raw_dealer(const char *ep)
{
    if (!w.zctx) w.zctx = zmq_ctx_new();
    assert_non_null(w.zctx);
    int i = 0;
    while (i < RAW_MAX && w.raw[i]) i++;
    assert_true(i < RAW_MAX);
    void *s = zmq_socket(w.zctx, ZMQ_DEALER);
    assert_non_null(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(s, ep), 0);
    w.raw[i] = s;
    return s;
}

static void raw_send(void *s, const void *p, size_t n, int flags)
{
    assert_int_equal(zmq_send(s, p, n, flags), (int)n);
}

/* The next frame the raw client receives must be of troupe frame `kind`. */
static void raw_expect(void *s, uint8_t kind)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, T_WAIT_MS), 1);
    uint8_t buf[4096];
    int n = zmq_recv(s, buf, sizeof buf, 0);
    assert_true(n >= 4);
    assert_int_equal(buf[0], 'T');
    assert_int_equal(buf[3], kind);
}

/* A HELLO as a node with this id and name (no endpoints, no key). */
static void hello_frame(tri_wire_buf *b, uint32_t id, const char *name)
{
    tri_wire_ctl c = {.kind = TRI_WIRE_HELLO};
    c.hello.min_version = c.hello.max_version = TRI_WIRE_VERSION;
    c.hello.max_frame = 1 << 20;
    c.hello.node.node_id = id;
    c.hello.node.name = (tri_wire_str){name, strlen(name)};
    b->len = 0;
    assert_int_equal(tri_wire_encode_ctl(b, &c), TR_OK);
}

/* Writes `n` bytes on a raw TCP connection to the port. */
static int tcp_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Waits until the far end closes the connection (what it sends first,
 * its own greeting, is read and dropped). */
static void tcp_wait_closed(int fd)
{
    int64_t end = t_now_ms() + T_WAIT_MS;
    for (;;) {
        int64_t left = end - t_now_ms();
        if (left <= 0) fail_msg("the node kept a garbage connection open");
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0) continue;
        char buf[512];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
    close(fd);
}

/* Garbage on the node's endpoint — frames that are not troupe's, broken
 * handshakes, multipart messages, sessions whose batches hold bad records,
 * random bytes and a ZeroMQ frame claiming 2^40 bytes on raw TCP — while an
 * established session keeps delivering, in order. */
static void test_garbage(void **state)
{
    (void)state;
    char ep[256];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*");
    tnode *t = tcp_node("test", ep, NULL, NULL, 0, 0);
    assert_int_equal(tr_node_wait_peers(t->node, 1, T_WAIT_MS), TR_OK);
    node_event(t, true, "peer");
    tr_pid sink = find(t, "sink@peer"), ctl = find(t, "ctl@peer");
    uint64_t seq = 0;
    send_many(t, sink, &seq, 500);
    uint64_t bad0 = remote_stats(t, ctl).bad_frames;

    /* a raw DEALER, before any handshake */
    void *d = raw_dealer(ep);
    uint64_t bad = 0;
    uint8_t junk[256];
    for (int i = 0; i < 32; i++) {
        size_t n = 1 + (size_t)(i * 37) % sizeof junk;
        assert_int_equal(getrandom(junk, n, 0), (ssize_t)n);
        junk[0] = 'X'; /* never 'T': not one of ours, so never a "stale" frame */
        raw_send(d, junk, n, 0);
        bad++;
    }
    raw_send(d, "", 0, 0); /* empty */
    bad++;
    tri_wire_buf hb = {0};
    hello_frame(&hb, 0x5eed0001, "raw1");
    size_t cuts[] = {4, 9, hb.len - 1}; /* truncated HELLOs */
    for (size_t i = 0; i < 3; i++) raw_send(d, hb.data, cuts[i], 0);
    bad += 3;
    uint8_t longer[1024];
    memcpy(longer, hb.data, hb.len);
    longer[hb.len] = 0; /* a HELLO with a trailing byte */
    raw_send(d, longer, hb.len + 1, 0);
    bad++;
    raw_send(d, "X1", 2, ZMQ_SNDMORE); /* multipart: every part is bad */
    raw_send(d, "X2", 2, ZMQ_SNDMORE);
    raw_send(d, "X3", 2, 0);
    bad += 3;
    /* a good HELLO is answered: everything before it has been read */
    raw_send(d, hb.data, hb.len, 0);
    raw_expect(d, TRI_WIRE_WELCOME);
    send_many(t, sink, &seq, 500);

    /* sessions whose batches hold bad records: each is dropped, and ends
     * its session (BYE); a new HELLO opens the next */
    static const uint8_t pid1[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    uint8_t batches[4][64];
    size_t blen[4];
    /* an unknown record type */
    memcpy(batches[0], "TR\x01\x04\x01\x63\x00", 7);
    blen[0] = 7;
    /* two records announced, one there (a LINK between nil pids) */
    memcpy(batches[1], "TR\x01\x04\x02\x06\x20", 7);
    memset(batches[1] + 7, 0, 32);
    blen[1] = 39;
    /* a record claiming 2^40 bytes */
    memcpy(batches[2], "TR\x01\x04\x01\x02\x80\x80\x80\x80\x80\x20", 12);
    blen[2] = 12;
    /* a MSG naming an atom slot never defined */
    memcpy(batches[3], "TR\x01\x04\x01\x02\x24", 7);
    memcpy(batches[3] + 7, pid1, 16);
    memset(batches[3] + 23, 0, 16);
    memcpy(batches[3] + 39, "\x07\x00\x00\x00", 4); /* slot 7, call, flags, no payload */
    blen[3] = 43;
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "raw%d", i + 2);
        if (i) { /* raw1's session is open already */
            hello_frame(&hb, 0x5eed0002 + (uint32_t)i, name);
            raw_send(d, hb.data, hb.len, 0);
            raw_expect(d, TRI_WIRE_WELCOME);
        }
        raw_send(d, batches[i], blen[i], 0);
        bad++;
        raw_expect(d, TRI_WIRE_BYE);
        send_many(t, sink, &seq, 100);
    }
    tri_wire_buf_fini(&hb);
    assert_int_equal(remote_stats(t, ctl).bad_frames - bad0, bad);

    /* raw TCP: random bytes, then a half close */
    uint16_t port = port_of(ep);
    int fd = tcp_to(port);
    assert_int_equal(getrandom(junk, sizeof junk, 0), (ssize_t)sizeof junk);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    shutdown(fd, SHUT_WR);
    tcp_wait_closed(fd);
    send_many(t, sink, &seq, 100);
    /* raw TCP: a ZMTP 3.0 greeting and READY as a DEALER, then a frame
     * header claiming 2^40 bytes (past ZMQ_MAXMSGSIZE) */
    uint8_t g[64 + 2 + 28 + 9] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    uint8_t *c = g + 64;
    *c++ = 0x04; /* a short command */
    *c++ = 28;
    memcpy(c, "\x05READY\x0bSocket-Type\x00\x00\x00\x06" "DEALER", 28);
    c += 28;
    *c++ = 0x02; /* a long message frame */
    memcpy(c, "\x00\x00\x01\x00\x00\x00\x00\x00", 8);
    fd = tcp_to(port);
    assert_int_equal(write(fd, g, sizeof g), (ssize_t)sizeof g);
    tcp_wait_closed(fd);

    /* the session lived through it all and delivered everything, in order */
    send_many(t, sink, &seq, 100);
    na_sink_report r = sink_report(t, sink);
    assert_int_equal(r.count, seq);
    assert_int_equal(r.next, seq);
    assert_int_equal(r.errors, 0);
    tr_node_stats s = remote_stats(t, ctl);
    assert_true(s.bad_frames - bad0 >= bad);
    assert_int_equal(local_stats(t).peers_up, 1);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(t->ev, &m, 0), TR_ETIMEDOUT); /* no node down */
    peer_stop(t, k, ctl);
}

/* -------------------------------------------------------- slow receiver */

static uint64_t sysctl_max(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long a = 0, b = 0, c = 0;
    if (f) {
        if (fscanf(f, "%llu %llu %llu", &a, &b, &c) != 3) c = 0;
        fclose(f);
    }
    return c ? c : 64ull << 20;
}

/* Resident memory of this process, in KiB. */
static int64_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
    if (f) fclose(f);
    assert_true(kib >= 0);
    return kib;
}

/* Offers numbered messages of `size` bytes to the sink: until the first
 * refusal when `quiet_ms` is 0, else until none has been accepted for
 * `quiet_ms` while it kept offering (yielding after each refusal, so that
 * the I/O thread drains what it can into ZeroMQ and the kernel). Returns
 * how many were accepted; fails past `cap`. A refused number is offered
 * again, so a refused message that arrived anyway would reach the sink as
 * a number seen twice. */
static uint64_t fill(tnode *t, tr_pid sink, uint64_t *seq, size_t size, uint64_t *refused,
                     uint64_t cap, int64_t quiet_ms)
{
    static uint8_t payload[4000];
    uint64_t accepted = 0;
    int64_t last = t_now_ms(), end = last + T_WAIT_MS;
    for (;;) {
        memcpy(payload, seq, sizeof *seq);
        int rc = tr_inbox_send(t->in, sink, tr_atom_from("n"), payload, size);
        if (rc == TR_OK) {
            (*seq)++;
            last = t_now_ms();
            if (++accepted > cap || last > end)
                fail_msg("%llu sends accepted: no bound", (unsigned long long)accepted);
            continue;
        }
        assert_int_equal(rc, TR_EFULL);
        (*refused)++;
        if (quiet_ms == 0 || t_now_ms() - last >= quiet_ms) return accepted;
        sched_yield();
    }
}

/* Messages the queue to the peer holds at most now: those accepted since
 * `out0` (its messages_out then) and not yet taken out of it. */
static uint64_t queued_at_most(tnode *t, uint64_t accepted, uint64_t out0)
{
    uint64_t out = local_stats(t).messages_out - out0;
    return accepted > out ? accepted - out : 0;
}

/* A stopped receiver: sends succeed until the bounded queue is full (its
 * bytes bound with 4000-byte messages, its count bound with 8-byte ones),
 * then answer TR_EFULL; what was accepted, and the memory this process
 * holds for it, stay bounded; a sender that asks (tr_inbox_notify_room)
 * gets one "tr.room" once the receiver goes on; every accepted message
 * arrives, in order, and none of the refused ones. */
static void test_slow_receiver(void **state)
{
    (void)state;
    char ep[256];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-h", "1000", "-t", "60000");
    const char *listen[] = {"tcp://127.0.0.1:*"};
    tr_node_peer peer = {ep, NULL};
    tr_node_opts o = {.name = "test", .listen = listen, .nlisten = 1, .peers = &peer, .npeers = 1,
                      .heartbeat_ms = 1000, .heartbeat_timeout_ms = 60000,
                      .queue_messages = 100, .queue_bytes = 64 << 10};
    tnode *t = tnode_start(&o);
    assert_int_equal(tr_node_wait_peers(t->node, 1, T_WAIT_MS), TR_OK);
    tr_pid sink = find(t, "sink@peer");
    assert_int_equal(kill(k->pid, SIGSTOP), 0);
    int st;
    assert_int_equal(waitpid(k->pid, &st, WUNTRACED), k->pid);
    assert_true(WIFSTOPPED(st));
    /* What may be accepted while nothing is read: the queue (64 KiB),
     * ZeroMQ's pipe (at this bound 2 frames, each at most a 96 KiB
     * buffer), and the kernel's socket buffers at both ends. */
    uint64_t kernel = sysctl_max("/proc/sys/net/ipv4/tcp_wmem") + sysctl_max("/proc/sys/net/ipv4/tcp_rmem");
    uint64_t room = (64 << 10) + 2 * (96 << 10) + kernel;
    uint64_t bound = room / 4000 + 100, small_bound = room / 8 + 100; /* messages of each size */
    int64_t rss0 = rss_kib();
    uint64_t out0 = local_stats(t).messages_out;
    uint64_t seq = 0, refused = 0;

    /* until the first refusal: the bytes bound, 16 messages of 4000 */
    uint64_t big = fill(t, sink, &seq, 4000, &refused, bound, 0);
    assert_true(big >= 16);
    assert_true(queued_at_most(t, seq, out0) <= 16);
    /* then until the way is full */
    big += fill(t, sink, &seq, 4000, &refused, bound, 30);
    /* 8-byte messages: the count bound, 100 */
    uint64_t small = fill(t, sink, &seq, sizeof seq, &refused, small_bound, 0);
    assert_true(queued_at_most(t, seq, out0) <= 100);
    small += fill(t, sink, &seq, sizeof seq, &refused, small_bound, 30);
    print_message("stopped receiver: %llu 4000-byte and %llu 8-byte messages accepted, %llu "
                  "refused\n",
                  (unsigned long long)big, (unsigned long long)small, (unsigned long long)refused);
    tr_node_stats s = local_stats(t);
    assert_int_equal(s.refused_full, refused);
    assert_int_equal(s.peers_up, 1); /* slow is not down */
#ifndef T_SANITIZED /* ASan's quarantine keeps what is freed; TSan shadows it */
    /* what this process holds for the stopped peer stays small (valgrind
     * adds its own: not checked there) */
    int64_t grew = rss_kib() - rss0;
    if (grew > 4096 && !t_under_valgrind())
        fail_msg("RSS grew by %lld KiB while the peer was stopped", (long long)grew);
#else
    (void)rss0;
#endif

    /* a sender that asks is told once there is room again: not while the
     * peer is stopped (nothing drains), then once it goes on */
    assert_int_equal(tr_inbox_notify_room(t->in, sink), TR_OK);
    assert_int_equal(tr_inbox_notify_room(t->in, sink), TR_OK); /* once is once */
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(t->in, &m, 0), TR_ETIMEDOUT);
    assert_int_equal(kill(k->pid, SIGCONT), 0);
    m = recv_on(t->in, "tr.room");
    assert_true(tr_msg_is(m, tr_room_atom()));
    uint32_t node;
    assert_int_equal(tr_msg_size(m), sizeof node);
    memcpy(&node, tr_msg_data(m), sizeof node);
    assert_int_equal(node, sink.node);
    assert_true(tr_pid_is_nil(tr_msg_sender(m)));
    for (int i = 0; i < 50; i++) { /* room: half the queue, and it only drains */
        assert_int_equal(tr_inbox_send(t->in, sink, tr_atom_from("n"), &seq, sizeof seq), TR_OK);
        seq++;
    }
    na_sink_report r = sink_report(t, sink);
    assert_int_equal(r.count, seq);
    assert_int_equal(r.next, seq);
    assert_int_equal(r.errors, 0);
    tr_pid ctl = find(t, "ctl@peer");
    peer_stop(t, k, ctl);
}

/* A receiver stopped past the heartbeat timeout is a node down; when it
 * goes on, it is connected again (the same node: its pids still work). */
static void test_stopped_past_timeout(void **state)
{
    (void)state;
    char ep[256];
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-h", STR(HB_MS), "-t", STR(HB_TIMEOUT_MS));
    tnode *t = tcp_node("test", ep, NULL, NULL, HB_MS, HB_TIMEOUT_MS);
    uint32_t id = node_event(t, true, "peer").node;
    tr_pid echo = find(t, "echo@peer");
    assert_int_equal(kill(k->pid, SIGSTOP), 0);
    int st;
    assert_int_equal(waitpid(k->pid, &st, WUNTRACED), k->pid);
    int64_t t0 = t_now_ms();
    assert_int_equal(node_event(t, false, "peer").node, id);
    int64_t took = t_now_ms() - t0;
    print_message("stopped peer seen down after %lld ms (heartbeat %d, timeout %d)\n",
                  (long long)took, HB_MS, HB_TIMEOUT_MS);
    assert_true(took >= HB_TIMEOUT_MS / 2 && took < 4 * HB_TIMEOUT_MS);
    assert_int_equal(kill(k->pid, SIGCONT), 0);
    assert_int_equal(node_event(t, true, "peer").node, id);
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(t->sys, echo, tr_atom_from("q"), "again", 6, T_WAIT_MS, &reply),
                     TR_OK);
    assert_string_equal(tr_msg_data(reply), "again");
    tr_msg_destroy(&reply);
    assert_int_equal(local_stats(t).peers_up, 1);
    peer_stop(t, k, find(t, "ctl@peer"));
}

/* ------------------------------------------------------------------ ipc */

static void test_ipc(void **state)
{
    (void)state;
    char ep[256], theirs[200], mine[200];
    snprintf(theirs, sizeof theirs, "ipc://%s", at("peer.sock"));
    snprintf(mine, sizeof mine, "ipc://%s", at("test.sock"));
    kid *k = PEER(ep, "peer", theirs);
    assert_string_equal(ep, theirs);
    /* an inproc endpoint too, listed first: the peer must not dial it
     * (another process's inproc names nothing there) but the ipc one */
    const char *listen[] = {"inproc://test-node-proc-ipc", mine};
    tr_node_peer peer = {ep, NULL};
    tr_node_opts o = {.name = "test", .listen = listen, .nlisten = 2, .peers = &peer, .npeers = 1};
    tnode *t = tnode_start(&o);
    assert_int_equal(tr_node_wait_peers(t->node, 1, T_WAIT_MS), TR_OK);
    tr_pid echo = find(t, "echo@peer"), ctl = find(t, "ctl@peer");
    tr_msg *reply = NULL;
    assert_int_equal(tr_call_sync(t->sys, echo, tr_atom_from("q"), "ipc", 4, T_WAIT_MS, &reply), TR_OK);
    assert_string_equal(tr_msg_data(reply), "ipc");
    tr_msg_destroy(&reply);
    for (uint64_t i = 0; i < 100; i++) send_n(t, echo, i);
    for (uint64_t i = 0; i < 100; i++) assert_int_equal(recv_u64(t, "back"), i);
    /* and a call the other way, to our echo */
    na_call call;
    memset(&call, 0, sizeof call); /* no padding bytes sent uninitialised */
    call.to = t->echo;
    call.hold = 0;
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("call"), &call, sizeof call), TR_OK);
    assert_int_equal(recv_int(t, "calling"), TR_OK);
    assert_string_equal(tr_msg_data(recv_on(t->in, "answered")), "x");
    peer_stop(t, k, ctl);
}

/* ------------------------------------------------------------- restarts */

/* The peer is killed and restarted, then this node is: each time both
 * sides dial (the restarted side its seed, the other its redial with
 * backoff), and the link comes back by itself, once. */
static void test_both_restart(void **state)
{
    (void)state;
    char ep[256], ep2[256], mine[256], line[512];
    tnode *t = tcp_node("test", NULL, NULL, NULL, HB_MS, HB_TIMEOUT_MS);
    snprintf(mine, sizeof mine, "%s", tr_node_endpoint(t->node, 0));
    kid *k = PEER(ep, "peer", "tcp://127.0.0.1:*", "-h", STR(HB_MS), "-t", STR(HB_TIMEOUT_MS), "-p", mine);
    uint32_t id1 = node_event(t, true, "peer").node;
    kid_expect(k, "up test ", NULL, 0);

    /* 1. the peer dies and comes back on its endpoint */
    kid_kill(k);
    assert_int_equal(node_event(t, false, "peer").node, id1);
    k = PEER(ep2, "peer", ep, "-h", STR(HB_MS), "-t", STR(HB_TIMEOUT_MS), "-p", mine);
    uint32_t id2 = node_event(t, true, "peer").node;
    assert_true(id2 != id1);
    kid_expect(k, "up test ", NULL, 0);
    tr_pid echo = find(t, "echo@peer");
    assert_int_equal(echo.node, id2);
    send_n(t, echo, 0);
    assert_int_equal(recv_u64(t, "back"), 0);
    assert_int_equal(local_stats(t).peers_up, 1);

    /* 2. this node stops (BYE) and a new one takes its endpoint */
    uint32_t test1 = tr_system_node(t->sys);
    tnode_stop(t);
    kid_expect(k, "down test ", line, sizeof line);
    const char *listen[] = {mine};
    tr_node_opts o = {.name = "test", .listen = listen, .nlisten = 1, .heartbeat_ms = HB_MS,
                      .heartbeat_timeout_ms = HB_TIMEOUT_MS};
    t = tnode_start(&o);
    assert_int_equal(node_event(t, true, "peer").node, id2);
    kid_expect(k, "up test ", line, sizeof line);
    assert_true((uint32_t)strtoul(line, NULL, 10) != test1);
    tr_pid ctl = find(t, "ctl@peer");
    assert_int_equal(tr_inbox_send(t->in, ctl, tr_atom_from("ping"), "echo@test", 10), TR_OK);
    assert_int_equal(recv_int(t, "pinging"), TR_OK);
    assert_true(tr_pid_eq(recv_pid(t, "pinged"), t->echo));
    send_n(t, echo, 0);
    assert_int_equal(recv_u64(t, "back"), 0);
    assert_int_equal(local_stats(t).peers_up, 1);
    assert_int_equal(remote_stats(t, ctl).peers_up, 1);
    peer_stop(t, k, ctl);
}

int main(void)
{
    peer_exe = getenv("NODE_PEER");
    if (!peer_exe) {
        fprintf(stderr, "test_node_proc: set NODE_PEER to the node_peer executable\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    tr_log_set_handler(log_sink, NULL);
    if (getenv("TFILTER")) cmocka_set_test_filter(getenv("TFILTER")); /* one test, by name */
    tr_log_set_level(getenv("TLOG") ? TR_LOG_DEBUG : TR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_curve_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_curve_wrong_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_receiver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_past_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_restart, setup, teardown),
    };
    return cmocka_run_group_tests_name("node_proc", tests, NULL, NULL);
}
