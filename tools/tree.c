/* tree.c — `troupe tree ENDPOINT`: the live tree of a running node.
 *
 * Nothing new in the transport: the tool is a short-lived node of its own
 * ("troupe-tree-<pid>") that joins the node at ENDPOINT, learns its name
 * from the node-up event, finds the root supervisor under the name
 * `troupe run` registers it as (publish.h), and walks it with
 * tr_sup_which_children_sync and tr_system_inspect, which are calls and so
 * work on another node's pids. The tree is read whole into memory first,
 * then printed in one of three forms.
 *
 * Threads: only the main thread; the tool's system runs one worker for
 * the node's own actors (none: the inbox is the only party). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../transport/keys.h"
#include "cmds.h"
#include "publish.h"
#include "troupe.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_UNREACHABLE = 3 };
#define DEFAULT_TIMEOUT_MS 5000
#define MAX_DEPTH 64

static const char help[] =
    "usage: troupe tree [-h] [-v] [--json | --dot] [--key FILE] [--peer-key KEY]\n"
    "                   [--insecure] [--timeout MS] ENDPOINT\n"
    "\n"
    "Prints the live supervision tree of the node listening on ENDPOINT (ipc://PATH\n"
    "or tcp://HOST:PORT; a node started by `troupe run` with a node section): every\n"
    "actor's path, type, behaviour (or strategy), pid, status, mailbox depth,\n"
    "messages handled (in) and sent (out), restarts, and the node it runs on.\n"
    "\n"
    "It joins that node's cluster for a moment as a node of its own, named\n"
    "troupe-tree-<pid> (or, with --key, the name the key is bound to: a node\n"
    "accepts a bound key only from a node of that name), listening where the\n"
    "node can reach it back: an ipc socket in /tmp for an ipc target,\n"
    "tcp://127.0.0.1:* for a loopback one, else the local address that routes to\n"
    "the target's host, port *. It looks up the\n"
    "names \"troupe.tree\" (the root supervisor, which `troupe run` registers) and\n"
    "\"troupe.tree.specs\" (behaviours and nodes from the specs; optional). A program\n"
    "embedding troupe is shown the same way once it registers its root supervisor\n"
    "as \"troupe.tree\".\n"
    "\n"
    "A child running on another node (a config child with node:) is shown by its\n"
    "stub, the actor that stands for it in this tree: its pid and figures are the\n"
    "stub's, node= is where the child runs.\n"
    "\n"
    "options:\n"
    "  --json           one JSON object: {\"node\", \"endpoint\", \"tree\"}; each actor\n"
    "                   {\"id\", \"path\", \"type\", \"behaviour\" | \"strategy\", \"pid\",\n"
    "                   \"running\", \"status\", \"mailbox\", \"messages_in\",\n"
    "                   \"messages_out\", \"restarts\", \"node\", \"children\"}\n"
    "  --dot            a Graphviz digraph (troupe tree --dot EP | dot -Tsvg > t.svg)\n"
    "  --key FILE       this tool's CURVE secret key file (troupe keygen): needed\n"
    "                   for a tcp node with keys, which answers only the peers on\n"
    "                   its allowlist (so that list must hold this key's .pub)\n"
    "  --peer-key KEY   the node's public key: a .pub file or 40 Z85 characters;\n"
    "                   this tool accepts only that key back\n"
    "  --insecure       tcp without CURVE to a non-loopback node that allows it\n"
    "  --timeout MS     wait up to MS milliseconds for the node and for each\n"
    "                   answer (default 5000)\n"
    "  -v, --verbose    log this tool's node (connections, handshakes) on stderr\n"
    "  -h, --help       this text\n"
    "\n"
    "exit status:\n"
    "  0  the tree was printed\n"
    "  1  usage error\n"
    "  3  the node cannot be reached (not listening, refused our key, timed out)\n"
    "     or publishes no tree\n";

/* ------------------------------------------------------------ options */

typedef enum { OUT_TEXT, OUT_JSON, OUT_DOT } out_form;

typedef struct opts {
    const char *endpoint, *key, *peer_key;
    bool insecure, verbose;
    out_form form;
    int64_t timeout_ms;
} opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "troupe tree: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(troupe tree --help for usage)\n");
    return EXIT_USAGE;
}

/* Returns -1 when parsed, else the exit status to return at once. */
static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.timeout_ms = DEFAULT_TIMEOUT_MS};
    bool form_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--json") || !strcmp(a, "--dot")) {
            out_form f = a[2] == 'j' ? OUT_JSON : OUT_DOT;
            if (form_set && o->form != f) return usage_error("--json and --dot exclude each other%s", "");
            o->form = f;
            form_set = true;
        } else if (!strcmp(a, "--insecure")) {
            o->insecure = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = true;
        } else if (!strcmp(a, "--key") || !strcmp(a, "--peer-key") || !strcmp(a, "--timeout")) {
            if (i + 1 >= argc || !argv[i + 1][0]) return usage_error("%s wants a value", a);
            const char *v = argv[++i];
            if (a[2] == 'k') {
                o->key = v;
            } else if (a[2] == 'p') {
                o->peer_key = v;
            } else {
                char *end;
                errno = 0;
                long long ms = strtoll(v, &end, 10);
                if (*end || errno || ms < 1 || ms > 3600000 || *v == '+' || *v == ' ')
                    return usage_error("--timeout wants milliseconds from 1 to 3600000, got '%s'", v);
                o->timeout_ms = ms;
            }
        } else if (a[0] == '-') {
            return usage_error("unknown option '%s'", a);
        } else if (o->endpoint) {
            return usage_error("one ENDPOINT only (got '%s' too)", a);
        } else {
            o->endpoint = a;
        }
    }
    if (!o->endpoint) return usage_error("no ENDPOINT given%s", "");
    if (!strncmp(o->endpoint, "inproc://", 9))
        return usage_error("%s: an inproc endpoint is reachable only inside its own process",
                           o->endpoint);
    if (strncmp(o->endpoint, "ipc://", 6) && strncmp(o->endpoint, "tcp://", 6))
        return usage_error("ENDPOINT wants ipc://PATH or tcp://HOST:PORT, got '%s'", o->endpoint);
    if (!o->peer_key != !o->key)
        return usage_error("--key and --peer-key go together (CURVE needs both)%s", "");
    return -1;
}

/* ------------------------------------------------------------ our endpoint */

/* The host part of tcp://HOST:PORT ([v6] unbracketed) into buf. */
static bool tcp_host(const char *ep, char *buf, size_t size)
{
    const char *h = ep + 6, *end;
    if (*h == '[') {
        h++;
        if (!(end = strchr(h, ']'))) return false;
    } else if (!(end = strrchr(h, ':'))) {
        return false;
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= size) return false;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return true;
}

static bool is_loopback(const char *host)
{
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* The local address a datagram to `host` would leave from: connecting a
 * UDP socket sends nothing, it only picks the route. */
static int route_address(const char *host, char *buf, size_t size, char *why, size_t why_size)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
    int g = getaddrinfo(host, "9", &hints, &ai);
    if (g != 0) {
        snprintf(why, why_size, "cannot resolve '%s': %s", host, gai_strerror(g));
        return -1;
    }
    int rc = -1;
    for (struct addrinfo *p = ai; p && rc; p = p->ai_next) {
        int s = socket(p->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) continue;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (connect(s, p->ai_addr, p->ai_addrlen) == 0 &&
            getsockname(s, (struct sockaddr *)&ss, &len) == 0) {
            char addr[INET6_ADDRSTRLEN];
            const void *a = ss.ss_family == AF_INET6
                                ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
            if (inet_ntop(ss.ss_family, a, addr, sizeof addr)) {
                snprintf(buf, size, ss.ss_family == AF_INET6 ? "tcp://[%s]:*" : "tcp://%s:*",
                         addr);
                rc = 0;
            }
        }
        close(s);
    }
    freeaddrinfo(ai);
    if (rc) snprintf(why, why_size, "no route to '%s'", host);
    return rc;
}

/* ------------------------------------------------------------ the tree */

typedef struct spec_line {
    const char *path, *beh, *strategy, *node;
} spec_line;

typedef struct specs {
    char *text; /* owned; lines split in place */
    spec_line *v;
    size_t n;
} specs;

typedef struct tnode {
    char id[256], path[512], key[1024];
    bool sup, running, gone;
    tr_pid pid;
    tr_actor_info info;
    uint64_t restarts;
    const char *beh, *strategy, *node;
    struct tnode *kids;
    size_t nkids;
} tnode;

typedef struct walk {
    tr_system *sys;
    int64_t timeout_ms;
    const specs *specs;
    const char *node_name; /* the target's */
} walk;

/* a + b + c into buf, truncated (paths past the buffers are cut, not
 * refused: the tree is shown anyway). */
static void join3(char *buf, size_t size, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    for (const char *part[3] = {a, b, c}, **p = part; p < part + 3; p++)
        for (const char *q = *p; *q && n + 1 < size; q++)
            buf[n++] = *q;
    buf[n] = '\0';
}

static const char *dash_null(const char *s) { return s && strcmp(s, "-") ? s : NULL; }

static const spec_line *spec_find(const specs *s, const char *key)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->v[i].path, key)) return &s->v[i];
    return NULL;
}

static void specs_parse(specs *s)
{
    size_t cap = 0;
    for (char *line = s->text, *next; line && *line; line = next) {
        if ((next = strchr(line, '\n'))) *next++ = '\0';
        char *f[4];
        f[0] = line;
        int k = 1;
        for (char *t = line; k < 4 && (t = strchr(t, '\t')); k++) {
            *t++ = '\0';
            f[k] = t;
        }
        if (k < 4) continue;
        if (s->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            spec_line *v = realloc(s->v, nc * sizeof *v);
            if (!v) return;
            s->v = v, cap = nc;
        }
        s->v[s->n++] = (spec_line){f[0], dash_null(f[1]), dash_null(f[2]), dash_null(f[3])};
    }
}

static void apply_spec(tnode *t, const walk *w)
{
    const spec_line *l = spec_find(w->specs, t->key);
    if (l) {
        if (!t->sup) t->beh = l->beh;
        t->strategy = l->strategy;
        t->node = l->node;
    }
    if (!t->node) t->node = w->node_name;
}

static void inspect(tnode *t, const walk *w)
{
    if (tr_pid_is_nil(t->pid)) return;
    if (tr_system_inspect(w->sys, t->pid, &t->info, w->timeout_ms) == TR_OK) {
        t->running = true;
        snprintf(t->path, sizeof t->path, "%s", t->info.path);
    } else {
        t->gone = true; /* ended between which_children and now */
    }
}

static void walk_children(tnode *t, const walk *w, int depth)
{
    if (depth >= MAX_DEPTH || !t->running) return;
    size_t n = 0;
    if (tr_sup_which_children_sync(w->sys, t->pid, NULL, 0, &n, w->timeout_ms) != TR_OK || !n)
        return;
    tr_child_info *kids = calloc(n, sizeof *kids);
    if (!kids) return;
    size_t got = 0;
    if (tr_sup_which_children_sync(w->sys, t->pid, kids, n, &got, w->timeout_ms) != TR_OK) got = 0;
    if (got > n) got = n; /* children started between the two questions */
    t->kids = got ? calloc(got, sizeof *t->kids) : NULL;
    if (!t->kids) got = 0;
    bool template = t->strategy && !strcmp(t->strategy, "simple_one_for_one");
    for (size_t i = 0; i < got; i++) {
        tnode *c = &t->kids[t->nkids++];
        snprintf(c->id, sizeof c->id, "%s", kids[i].id);
        c->sup = kids[i].type == TR_SUPERVISOR;
        c->pid = kids[i].pid;
        c->restarts = kids[i].restarts;
        const char *parent = strcmp(t->key, ".") ? t->key : "";
        join3(c->key, sizeof c->key, parent, *parent ? "/" : "", template ? "*" : c->id);
        join3(c->path, sizeof c->path, t->path, "/", c->id);
        apply_spec(c, w);
        inspect(c, w);
        if (c->sup) walk_children(c, w, depth + 1);
    }
    free(kids);
}

static void tree_free(tnode *t)
{
    for (size_t i = 0; i < t->nkids; i++)
        tree_free(&t->kids[i]);
    free(t->kids);
}

/* ------------------------------------------------------------ printing */

static const char *status_name(const tnode *t)
{
    if (!t->running) return t->gone ? "gone" : "not-running";
    switch (t->info.status) {
    case TR_STATUS_RUNNING: return "running";
    case TR_STATUS_WAITING: return "waiting";
    case TR_STATUS_STOPPING: return "stopping";
    }
    return "?";
}

static void print_text(FILE *out, const tnode *t, int depth)
{
    char p[TR_PID_STRLEN];
    fprintf(out, "%*s%s %s", depth * 2, "", t->path, t->sup ? "supervisor" : "worker");
    if (t->sup)
        fprintf(out, " strategy=%s", t->strategy ? t->strategy : "?");
    else
        fprintf(out, " behaviour=%s", t->beh ? t->beh : "?");
    if (t->running)
        fprintf(out, " %s %s mailbox=%llu in=%llu out=%llu", tr_pid_format(t->pid, p, sizeof p),
                status_name(t), (unsigned long long)t->info.mailbox,
                (unsigned long long)t->info.messages_in, (unsigned long long)t->info.messages_out);
    else
        fprintf(out, " (%s)", t->gone ? "gone" : "not running");
    fprintf(out, " restarts=%llu node=%s\n", (unsigned long long)t->restarts, t->node);
    for (size_t i = 0; i < t->nkids; i++)
        print_text(out, &t->kids[i], depth + 1);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void print_json(FILE *out, const tnode *t, int depth)
{
    char p[TR_PID_STRLEN];
    fprintf(out, "%*s{\"id\": ", depth * 2, "");
    json_str(out, t->id);
    fprintf(out, ", \"path\": ");
    json_str(out, t->path);
    fprintf(out, ", \"type\": \"%s\", ", t->sup ? "supervisor" : "worker");
    const char *what = t->sup ? t->strategy : t->beh;
    fprintf(out, "\"%s\": ", t->sup ? "strategy" : "behaviour");
    if (what)
        json_str(out, what);
    else
        fputs("null", out);
    fprintf(out, ", \"pid\": ");
    if (tr_pid_is_nil(t->pid))
        fputs("null", out);
    else
        json_str(out, tr_pid_format(t->pid, p, sizeof p));
    fprintf(out, ", \"running\": %s, \"status\": \"%s\"", t->running ? "true" : "false",
            status_name(t));
    if (t->running)
        fprintf(out, ", \"mailbox\": %llu, \"messages_in\": %llu, \"messages_out\": %llu",
                (unsigned long long)t->info.mailbox, (unsigned long long)t->info.messages_in,
                (unsigned long long)t->info.messages_out);
    fprintf(out, ", \"restarts\": %llu, \"node\": ", (unsigned long long)t->restarts);
    json_str(out, t->node);
    fprintf(out, ", \"children\": [");
    for (size_t i = 0; i < t->nkids; i++) {
        fputs(i ? ",\n" : "\n", out);
        print_json(out, &t->kids[i], depth + 1);
    }
    if (t->nkids) fprintf(out, "\n%*s", depth * 2, "");
    fputs("]}", out);
}

static void dot_str(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
}

static void print_dot(FILE *out, const tnode *t, const char *home, unsigned *next)
{
    unsigned me = (*next)++;
    fprintf(out, "  n%u [shape=%s%s, label=\"", me, t->sup ? "box" : "ellipse",
            strcmp(t->node, home) ? ", style=dashed" : "");
    dot_str(out, t->id);
    fputs("\\n", out);
    dot_str(out, t->sup ? (t->strategy ? t->strategy : "supervisor") : (t->beh ? t->beh : "?"));
    fputs("\\n", out);
    dot_str(out, status_name(t));
    if (t->running) fprintf(out, " mailbox=%llu", (unsigned long long)t->info.mailbox);
    fprintf(out, " restarts=%llu", (unsigned long long)t->restarts);
    if (strcmp(t->node, home)) {
        fputs("\\non ", out);
        dot_str(out, t->node);
    }
    fputs("\"];\n", out);
    for (size_t i = 0; i < t->nkids; i++) {
        fprintf(out, "  n%u -> n%u;\n", me, *next);
        print_dot(out, &t->kids[i], home, next);
    }
}

/* ------------------------------------------------------------ the node */

typedef struct session {
    tr_system *sys;
    tr_inbox *in;
    char ipc_path[128]; /* our ipc socket, removed at the end */
    char tmpdir[64];    /* a .pub written for a Z85 --peer-key */
    char pubfile[128];
} session;

static void session_end(session *s)
{
    tr_inbox_destroy(&s->in);
    tr_system_destroy(&s->sys); /* stops the node: peers see it go ("bye") */
    if (s->ipc_path[0]) unlink(s->ipc_path);
    if (s->pubfile[0]) unlink(s->pubfile);
    if (s->tmpdir[0]) rmdir(s->tmpdir);
}

/* A Z85 key for the allowlist, which reads .pub files: written as one. */
static int write_pub(session *s, const char *z85, char *why, size_t why_size)
{
    snprintf(s->tmpdir, sizeof s->tmpdir, "/tmp/troupe-tree-XXXXXX");
    if (!mkdtemp(s->tmpdir)) {
        s->tmpdir[0] = '\0';
        snprintf(why, why_size, "cannot make a temporary directory: %s", strerror(errno));
        return -1;
    }
    snprintf(s->pubfile, sizeof s->pubfile, "%s/peer.pub", s->tmpdir);
    FILE *f = fopen(s->pubfile, "w");
    if (!f || fprintf(f, "curve\n    public-key = \"%s\"\n", z85) < 0 || fclose(f) != 0) {
        snprintf(why, why_size, "cannot write %s", s->pubfile);
        return -1;
    }
    return 0;
}

static bool is_z85_key(const char *k)
{
    struct stat st;
    return strlen(k) == 40 && stat(k, &st) != 0;
}

/* Starts our node and joins the target; on success *name is its name. */
static int join(session *s, const opts *o, char *name, size_t name_size, char *why,
                size_t why_size)
{
    char listen[300], host[256];
    if (!strncmp(o->endpoint, "ipc://", 6)) {
        snprintf(s->ipc_path, sizeof s->ipc_path, "/tmp/troupe-tree-%ld.sock", (long)getpid());
        unlink(s->ipc_path); /* a stale one of an earlier process of this pid */
        snprintf(listen, sizeof listen, "ipc://%s", s->ipc_path);
    } else if (!tcp_host(o->endpoint, host, sizeof host)) {
        snprintf(why, why_size, "%s: expected tcp://HOST:PORT", o->endpoint);
        return EXIT_USAGE;
    } else if (is_loopback(host)) {
        snprintf(listen, sizeof listen, "tcp://127.0.0.1:*");
    } else if (route_address(host, listen, sizeof listen, why, why_size) != 0) {
        return EXIT_UNREACHABLE;
    }

    int rc = tr_system_new(&(tr_system_opts){.workers = 1}, &s->sys);
    if (rc != TR_OK) {
        snprintf(why, why_size, "cannot start the runtime: %s", tr_strerror(rc));
        return EXIT_UNREACHABLE;
    }
    /* A key bound to a node name (its metadata name, as `troupe keygen`
     * writes) is accepted only from a node of that name: ours takes it. */
    char me[TRI_NODE_NAME_MAX + 1] = "";
    if (o->key) {
        tri_keypair kp;
        tri_key_error err;
        if (tri_keys_load_secret(o->key, &kp, me, &err) != TR_OK) {
            snprintf(why, why_size, "--key %s: %s", o->key, err.text);
            return EXIT_USAGE;
        }
        tri_keypair_wipe(&kp);
    }
    if (!me[0]) snprintf(me, sizeof me, "troupe-tree-%ld", (long)getpid());
    const char *listens[] = {listen};
    const char *allow[1] = {NULL};
    tr_node_opts no = {.name = me, .listen = listens, .nlisten = 1,
                       .secret_key_file = o->key, .insecure = o->insecure};
    if (o->peer_key) {
        if (is_z85_key(o->peer_key)) {
            if (write_pub(s, o->peer_key, why, why_size) != 0) return EXIT_UNREACHABLE;
            allow[0] = s->pubfile;
        } else {
            allow[0] = o->peer_key;
        }
        no.allow = allow;
        no.nallow = 1;
    }
    tr_node *node;
    if ((rc = tr_node_start(s->sys, &no, &node)) != TR_OK) {
        snprintf(why, why_size, "cannot start this tool's node on %s: %s%s", listen,
                 tr_strerror(rc),
                 rc == TR_EFAILED ? " (a key file, or a non-loopback address without "
                                    "--key or --insecure)"
                                  : "");
        return EXIT_UNREACHABLE;
    }
    if ((rc = tr_inbox_new(s->sys, &s->in)) != TR_OK ||
        (rc = tr_inbox_monitor_node(s->in, NULL, NULL)) != TR_OK) {
        snprintf(why, why_size, "%s", tr_strerror(rc));
        return EXIT_UNREACHABLE;
    }
    /* monitoring first, then connecting: its node-up cannot be missed */
    tr_node_peer peer = {.endpoint = o->endpoint, .public_key = o->peer_key};
    if ((rc = tr_node_connect(node, &peer)) != TR_OK) {
        snprintf(why, why_size, "cannot connect to %s: %s", o->endpoint, tr_strerror(rc));
        return rc == TR_EINVAL ? EXIT_USAGE : EXIT_UNREACHABLE;
    }
    /* The first node up is the one we connected to: the others of its
     * cluster are learned from it, after its handshake. */
    for (;;) {
        const tr_msg *m;
        if (tr_inbox_recv(s->in, &m, o->timeout_ms) != TR_OK) {
            snprintf(why, why_size,
                     "no node answered at %s within %lld ms (not running, not reachable back "
                     "at %s, or our key refused)",
                     o->endpoint, (long long)o->timeout_ms, listen);
            return EXIT_UNREACHABLE;
        }
        tr_node_event ev;
        if (tr_node_event_decode(m, &ev) == TR_OK && ev.up) {
            snprintf(name, name_size, "%s", ev.name);
            return EXIT_OK;
        }
    }
}

static int fetch_specs(session *s, const char *node, int64_t timeout_ms, specs *out)
{
    char name[300];
    snprintf(name, sizeof name, "%s@%s", TROUPE_SPECS_NAME, node);
    tr_msg *reply = NULL;
    int rc = tr_call_named_sync(s->sys, name, tr_atom_from(TROUPE_SPECS_NAME), NULL, 0,
                                timeout_ms, &reply);
    if (rc == TR_OK && tr_msg_is(reply, tr_atom_from(TROUPE_SPECS_NAME))) {
        size_t n = tr_msg_size(reply);
        if ((out->text = malloc(n + 1))) {
            memcpy(out->text, tr_msg_data(reply), n);
            out->text[n] = '\0';
            specs_parse(out);
        }
    }
    if (reply) tr_msg_destroy(&reply);
    return rc;
}

int troupe_tree(int argc, char **argv)
{
    opts o;
    int st = parse(argc, argv, &o);
    if (st >= 0) return st;
    /* retries of an unreachable peer are not news, unless asked for */
    tr_log_set_level(o.verbose ? TR_LOG_DEBUG : TR_LOG_ERROR);

    session s = {0};
    char name[256], why[600] = "";
    if ((st = join(&s, &o, name, sizeof name, why, sizeof why)) != EXIT_OK) {
        fprintf(stderr, "troupe tree: %s\n", why);
        session_end(&s);
        return st;
    }

    char tree_name[300];
    snprintf(tree_name, sizeof tree_name, "%s@%s", TROUPE_TREE_NAME, name);
    tnode root = {.sup = true};
    int rc = tr_system_whereis(s.sys, tree_name, o.timeout_ms, &root.pid);
    if (rc != TR_OK) {
        fprintf(stderr,
                "troupe tree: node %s at %s publishes no tree (no \"%s\" registered: %s)\n", name,
                o.endpoint, TROUPE_TREE_NAME, tr_strerror(rc));
        session_end(&s);
        return EXIT_UNREACHABLE;
    }
    specs sp = {0};
    fetch_specs(&s, name, o.timeout_ms, &sp); /* optional: without it, no behaviours */

    walk w = {s.sys, o.timeout_ms, &sp, name};
    snprintf(root.key, sizeof root.key, ".");
    apply_spec(&root, &w);
    inspect(&root, &w);
    if (!root.running) {
        fprintf(stderr, "troupe tree: node %s: the tree's root ended while being looked at\n",
                name);
        free(sp.v), free(sp.text);
        session_end(&s);
        return EXIT_UNREACHABLE;
    }
    const char *slash = strrchr(root.path, '/');
    join3(root.id, sizeof root.id, slash ? slash + 1 : root.path, "", "");
    walk_children(&root, &w, 0);

    if (o.form == OUT_TEXT) {
        printf("node %s at %s\n", name, o.endpoint);
        print_text(stdout, &root, 0);
    } else if (o.form == OUT_JSON) {
        printf("{\"node\": ");
        json_str(stdout, name);
        printf(", \"endpoint\": ");
        json_str(stdout, o.endpoint);
        printf(", \"tree\":\n");
        print_json(stdout, &root, 1);
        printf("}\n");
    } else {
        unsigned next = 0;
        printf("digraph troupe {\n  label=\"");
        dot_str(stdout, name);
        printf("\";\n  node [fontname=\"monospace\", fontsize=10];\n");
        print_dot(stdout, &root, name, &next);
        printf("}\n");
    }
    fflush(stdout);
    tree_free(&root);
    free(sp.v);
    free(sp.text);
    session_end(&s);
    return EXIT_OK;
}
