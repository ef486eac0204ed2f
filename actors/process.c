/* process.c — the process actor ("tr.process"): an actor that stands for
 * one OS process (troupe/process.h has the rules).
 *
 * Its init asks the proc thread (proc_os.c) to start the program and
 * defers its start notice; the thread answers with TRI_MSG_PROC_STARTED,
 * then TRI_MSG_PROC_EXIT, handled in the actor's turn (tri_process_handle_
 * sys). Stopping goes through the settle hook (core.h): the actor does
 * not finish while its process lives; settle sends SIGTERM once, SIGKILL
 * when the actor is killed, and the actor's own kill timer (its shutdown
 * time) sends SIGKILL when the actor stops by itself and nobody else
 * times it. A node child (TR_PROCESS_NODE) is started when its program
 * reports ready ("tr.process.ready", tr_node_report_ready) within the
 * start timeout; the actor then links itself with the child's root and
 * traps exits, so that the end of the child's tree ends the actor. */
#include "process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lifecycle.h"
#include "proc_os.h"
#include "process_spec.h"
#include "transport.h"

#define READY_TYPE "tr.process.ready"
#define INFO_TYPE "tr.process.info"

enum phase { P_IDLE, P_ASKED, P_RUNNING, P_GONE };
enum { TIMER_START = 1, TIMER_KILL = 2, TIMER_TERM = 3 };

/* How long a node child whose connection broke has to end by itself before
 * it is sent SIGTERM (a node that stops closes its connection first). */
#define LOST_GRACE_MS 1000

typedef struct proc {
    uint64_t id; /* the proc thread's handle */
    int32_t os_pid;
    uint8_t phase, kind;
    bool term_sent, kill_sent, ready;
    int64_t start_timeout_ms;
    tr_pid root; /* a node child's root, once ready */
    tr_ref node_mon;    /* node children: its node's up events, until ready */
    bool pending;       /* a ready message came before its node was up here */
    bool conn_lost;     /* its root's link broke: its process says why */
    tr_pid pending_root;
    char program[256]; /* for reasons (cut) */
    char node_name[256];
} proc;

static bool proc_settle(tri_actor *a, bool kill);

static tr_atom ready_atom(void)
{
    static _Atomic uint32_t slot;
    return tri_atom_cached(&slot, READY_TYPE);
}

static tr_atom info_atom(void)
{
    static _Atomic uint32_t slot;
    return tri_atom_cached(&slot, INFO_TYPE);
}

/* ------------------------------------------------------------- launch */

static char *dup_kv(const char *k, const char *v)
{
    char *s = malloc(strlen(k) + strlen(v) + 2);
    if (s) sprintf(s, "%s=%s", k, v);
    return s;
}

static bool same_key(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The environment: ours, minus the keys `extra` sets, then `extra`. */
static char **build_env(char *const *extra, size_t nextra)
{
    extern char **environ;
    size_t n = 0;
    for (char **e = environ; e && *e; e++) n++;
    char **env = calloc(n + nextra + 1, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        bool replaced = false;
        for (size_t i = 0; i < nextra && !replaced; i++) replaced = same_key(extra[i], *e);
        if (replaced) continue;
        if (!(env[k++] = strdup(*e))) goto oom;
    }
    for (size_t i = 0; i < nextra; i++)
        if (!(env[k++] = strdup(extra[i]))) goto oom;
    return env;
oom:
    for (size_t i = 0; i < k; i++) free(env[i]);
    free(env);
    return NULL;
}

/* The endpoint a node child reaches its parent at: ipc://, or tcp on a
 * loopback address. NULL when the node has none. */
static const char *local_endpoint(tr_node *n)
{
    const char *tcp = NULL;
    for (size_t i = 0; tr_node_endpoint(n, i); i++) {
        const char *e = tr_node_endpoint(n, i);
        if (strncmp(e, "ipc://", 6) == 0) return e;
        if (!tcp && (strncmp(e, "tcp://127.", 10) == 0 || strncmp(e, "tcp://localhost:", 16) == 0 ||
                     strncmp(e, "tcp://[::1]:", 12) == 0))
            tcp = e;
    }
    return tcp;
}

/* Builds what the proc thread starts; NULL with `why` set when it cannot. */
static tri_launch *build_launch(tri_actor *a, const tr_process_spec *s, char *why, size_t ws)
{
    char *node_env[4] = {NULL, NULL, NULL, NULL};
    size_t nnode = 0;
    if (s->kind == TR_PROCESS_NODE) {
        tr_node *n = tr_node_of(a->sys);
        const char *ep = n ? local_endpoint(n) : NULL;
        if (!n) {
            snprintf(why, ws, "a node child needs its supervising system to be a node");
            return NULL;
        }
        if (!ep) {
            snprintf(why, ws, "node %s listens on no ipc:// or loopback tcp:// endpoint for its "
                              "node child to connect to", tr_node_name(n));
            return NULL;
        }
        char pid[TR_PID_STRLEN];
        tr_pid_format(tri_pid_of(a), pid, sizeof pid);
        node_env[0] = dup_kv(TR_ENV_PARENT_ENDPOINT, ep);
        node_env[1] = dup_kv(TR_ENV_PARENT_NODE, tr_node_name(n));
        node_env[2] = dup_kv(TR_ENV_PARENT_PID, pid);
        node_env[3] = dup_kv(TR_ENV_NODE_NAME, s->node_name);
        nnode = 4;
    }
    size_t nextra = s->nenv + nnode;
    char **extra = calloc(nextra + 1, sizeof *extra);
    tri_launch *l = calloc(1, sizeof *l);
    bool ok = extra && l;
    for (size_t i = 0; i < nnode; i++) ok = ok && node_env[i];
    if (ok) {
        for (size_t i = 0; i < s->nenv; i++) extra[i] = (char *)s->env[i];
        for (size_t i = 0; i < nnode; i++) extra[s->nenv + i] = node_env[i];
        char label[512];
        tri_actor_path(a, label, sizeof label);
        l->program = strdup(s->program);
        l->cwd = s->cwd ? strdup(s->cwd) : NULL;
        l->label = strdup(label);
        l->envp = build_env(extra, nextra);
        l->argv = calloc(s->nargs + 2, sizeof *l->argv);
        ok = l->program && (!s->cwd || l->cwd) && l->label && l->envp && l->argv;
        if (ok) ok = (l->argv[0] = strdup(s->program)) != NULL;
        for (size_t i = 0; ok && i < s->nargs; i++) ok = (l->argv[i + 1] = strdup(s->args[i])) != NULL;
    }
    for (size_t i = 0; i < nnode; i++) free(node_env[i]);
    free(extra);
    if (!ok) {
        tri_launch_free(l);
        snprintf(why, ws, "out of memory starting %s", s->program);
        return NULL;
    }
    return l;
}

/* ---------------------------------------------------------- behaviour */

static int proc_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    tri_actor *a = (tri_actor *)ctx;
    proc *p = st;
    tri_process_conf conf;
    int rc = tri_process_decode(args, size, &conf);
    if (rc != TR_OK)
        return tr_fail(ctx, rc == TR_ENOMEM ? "out of memory" : "malformed process spec");
    tri_actor_ext *x = tri_ext(a);
    if (!x) {
        tri_process_conf_free(&conf);
        return tr_fail(ctx, "out of memory");
    }
    const tr_process_spec *s = &conf.spec;
    p->kind = (uint8_t)s->kind;
    p->start_timeout_ms = s->start_timeout_ms;
    snprintf(p->program, sizeof p->program, "%s", s->program);
    if (s->node_name) snprintf(p->node_name, sizeof p->node_name, "%s", s->node_name);
    char why[512];
    tri_launch *l = build_launch(a, s, why, sizeof why);
    tri_process_conf_free(&conf);
    if (!l) return tr_fail(ctx, "%s", why);
    if (tri_proc_acquire(a->sys) != TR_OK) {
        tri_launch_free(l);
        return tr_fail(ctx, "cannot start the thread that runs process children");
    }
    x->settle = proc_settle;
    if (p->kind == TR_PROCESS_NODE) {
        tr_trap_exits(ctx, true); /* its root's link */
        /* its ready message can come before its node is known up here */
        if (tr_monitor_node(ctx, p->node_name, &p->node_mon) != TR_OK) {
            tri_launch_free(l);
            return tr_fail(ctx, "cannot watch node %s", p->node_name);
        }
    }
    tr_defer_started(ctx); /* started once the program runs (or reported ready) */
    if (tri_proc_spawn(a->sys, a, tri_serial(a), l, &p->id) != TR_OK)
        return tr_fail(ctx, "out of memory starting %s", p->program);
    p->phase = P_ASKED;
    return 0;
}

/* The child is ready if `root` is an actor of the node it named (its id
 * here: `id`). */
static void accept_root(tr_ctx *ctx, tri_actor *a, proc *p, tr_pid root, uint32_t id)
{
    if (root.node != id || tr_pid_is_nil(root)) {
        tri_log(TR_LOG_WARN, "process child %s: a ready message not from node %s: ignored",
                p->program, p->node_name);
        return;
    }
    p->ready = true;
    p->root = root;
    tr_demonitor_node(ctx, p->node_mon);
    p->node_mon.id = 0;
    tr_link(ctx, root); /* a root gone already answers with its exit */
    if (a->state == TRI_ST_RUNNING && (a->flags & TRI_F_INIT_OK)) tri_send_started(a, TR_START_OK);
}

/* A node child's ready message: its root's pid, on the node it named. */
static void on_ready(tr_ctx *ctx, tri_actor *a, proc *p, const tr_msg *m)
{
    tr_pid root;
    uint32_t id;
    if (p->kind != TR_PROCESS_NODE || p->ready || p->phase != P_RUNNING ||
        tr_msg_size(m) != sizeof root)
        return;
    memcpy(&root, tr_msg_data(m), sizeof root);
    if (tri_transport_node_id(a->sys, p->node_name, &id) == TR_OK) {
        accept_root(ctx, a, p, root, id);
        return;
    }
    /* it reached us before we saw its node up: decided at its nodeup */
    p->pending = true;
    p->pending_root = root;
}

static void send_signal(proc *p, int sig);

/* The child's root ended (its link): the actor ends as the child did. */
static void on_root_exit(tr_ctx *ctx, proc *p, const tr_exit *why)
{
    tri_actor *a = (tri_actor *)ctx;
    switch (why->kind) {
    case TR_EXIT_FAILURE:
        tr_fail(ctx, "node %s: %s", p->node_name, why->text ? why->text : "failed");
        break;
    case TR_EXIT_NOCONNECTION:
        if (p->phase == P_RUNNING) {
            /* A node that ends closes its connections as it goes, and its
             * root's last exit signal may be lost with them: its process
             * says how it ended (status 0: normally). One still there after
             * a grace is asked to go, and made to at the shutdown time. */
            p->conn_lost = true;
            uint8_t what = TIMER_TERM;
            tri_timer_after(a->sys, LOST_GRACE_MS, a, tri_serial(a), TRI_MSG_PROC_TIMER, &what, 1);
            break;
        }
        tr_fail(ctx, "node %s: connection lost", p->node_name);
        break;
    case TR_EXIT_NOPROC:
        tr_fail(ctx, "node %s: its root was gone when it reported ready", p->node_name);
        break;
    default:
        tr_stop_reason(ctx, why->kind, why->text);
        break;
    }
}

static int proc_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tri_actor *a = (tri_actor *)ctx;
    proc *p = st;
    tr_atom t = tr_msg_type(m);
    if (t.id == ready_atom().id) {
        on_ready(ctx, a, p, m);
        return 0;
    }
    if (t.id == info_atom().id && m->call == TRI_CALL_REQUEST) {
        tr_process_info info = {p->phase == P_RUNNING ? p->os_pid : 0, (tr_process_kind)p->kind,
                                p->ready ? p->root : TR_PID_NIL};
        tr_reply(ctx, m, info_atom(), &info, sizeof info);
        return 0;
    }
    tr_node_event ev;
    if (tr_node_event_decode(m, &ev) == TR_OK) {
        if (ev.up && p->pending && !p->ready && p->phase == P_RUNNING &&
            strcmp(ev.name, p->node_name) == 0) {
            p->pending = false;
            accept_root(ctx, a, p, p->pending_root, ev.node);
        }
        return 0;
    }
    tr_pid who;
    tr_exit why;
    if (t.id == tr_exit_atom().id && tr_exit_decode(m, &who, &why) == TR_OK) {
        if (p->ready && tr_pid_eq(who, p->root)) on_root_exit(ctx, p, &why);
        return 0;
    }
    if (m->call == TRI_CALL_REQUEST) tr_request_drop(ctx, tr_msg_request(m));
    return 0;
}

static void send_signal(proc *p, int sig)
{
    if (sig == SIGKILL) p->kill_sent = true;
    else p->term_sent = true;
    tri_proc_signal(p->id, sig);
}

/* The settle hook (core.h): the process ends first. */
static bool proc_settle(tri_actor *a, bool kill)
{
    proc *p = a->state_mem;
    if (!p || p->phase == P_IDLE || p->phase == P_GONE) return true;
    if (p->phase == P_ASKED) return false; /* its STARTED comes, then we go on */
    if (kill || a->shutdown_ms == TR_SHUTDOWN_BRUTAL) {
        if (!p->kill_sent) send_signal(p, SIGKILL);
    } else if (!p->term_sent && !p->kill_sent) {
        send_signal(p, SIGTERM);
        /* Bounded by our own shutdown time too when the actor stops by
         * itself. Not when its parent asked: the parent times that stop
         * and kills at the same deadline, and its kill must be the one
         * told (the exit is then "killed", as OTP reports it). */
        uint8_t what = TIMER_KILL;
        if (a->shutdown_ms > 0 && !tri_stop_requested(a))
            tri_timer_after(a->sys, a->shutdown_ms, a, tri_serial(a), TRI_MSG_PROC_TIMER, &what, 1);
    }
    return false;
}

/* "exited with status 3", "killed by SIGSEGV (core dumped)"; false for a
 * clean exit (status 0). */
static bool exit_text(const struct tri_proc_exit *e, char *buf, size_t n)
{
    if (e->code == CLD_EXITED) {
        snprintf(buf, n, "exited with status %d", (int)e->status);
        return e->status != 0;
    }
    const char *abbrev = sigabbrev_np(e->status);
    char num[16];
    if (!abbrev) snprintf(num, sizeof num, "%d", (int)e->status);
    snprintf(buf, n, "killed by %s%s%s", abbrev ? "SIG" : "signal ", abbrev ? abbrev : num,
             e->code == CLD_DUMPED ? " (core dumped)" : "");
    return true;
}

static void on_started(tri_actor *a, proc *p, const tr_msg *m)
{
    struct tri_proc_started st;
    if (m->size != sizeof st || p->phase != P_ASKED) return;
    memcpy(&st, m->data, sizeof st);
    if (st.err) {
        p->phase = P_GONE;
        char why[600];
        snprintf(why, sizeof why, "cannot execute %s: %s", p->program, strerror(st.err));
        if (a->state == TRI_ST_RUNNING) tri_begin_stop(a, TR_EXIT_FAILURE, why);
        else tri_continue_stop(a);
        return;
    }
    p->phase = P_RUNNING;
    p->os_pid = st.pid;
    if (a->state != TRI_ST_RUNNING) {
        tri_continue_stop(a); /* asked to stop meanwhile: settle signals it now */
        return;
    }
    if (p->kind == TR_PROCESS_PLAIN) {
        if (a->flags & TRI_F_INIT_OK) tri_send_started(a, TR_START_OK);
        return;
    }
    uint8_t what = TIMER_START;
    tri_timer_after(a->sys, p->start_timeout_ms, a, tri_serial(a), TRI_MSG_PROC_TIMER, &what, 1);
}

static void on_proc_exit(tri_actor *a, proc *p, const tr_msg *m)
{
    struct tri_proc_exit e;
    if (m->size != sizeof e || p->phase != P_RUNNING) return;
    memcpy(&e, m->data, sizeof e);
    p->phase = P_GONE;
    char text[128], why[700];
    bool bad = exit_text(&e, text, sizeof text);
    if (a->state != TRI_ST_RUNNING) {
        /* stopping: the stop's reason stands; a crash then is told */
        bool ours = e.code != CLD_EXITED &&
                    ((p->term_sent && e.status == SIGTERM) || (p->kill_sent && e.status == SIGKILL));
        if (e.code != CLD_EXITED && !ours) {
            char path[512];
            tri_actor_path(a, path, sizeof path);
            tri_log(TR_LOG_WARN, "process child %s (%s) %s while stopping", path, p->program, text);
        }
        tri_continue_stop(a);
        return;
    }
    if (p->kind == TR_PROCESS_NODE && !p->ready) {
        snprintf(why, sizeof why, "%s %s before it reported ready", p->program, text);
        tri_begin_stop(a, TR_EXIT_FAILURE, why);
        return;
    }
    if (!bad) {
        tri_begin_stop(a, TR_EXIT_NORMAL, NULL);
        return;
    }
    bool ours = e.code != CLD_EXITED &&
                ((p->term_sent && e.status == SIGTERM) || (p->kill_sent && e.status == SIGKILL));
    if (p->conn_lost && ours) { /* we ended it: its connection was lost */
        snprintf(why, sizeof why, "node %s: connection lost", p->node_name);
        tri_begin_stop(a, TR_EXIT_FAILURE, why);
        return;
    }
    tri_begin_stop(a, TR_EXIT_FAILURE, text);
}

static void on_timer(tri_actor *a, proc *p, const tr_msg *m)
{
    if (m->size != 1 || p->phase != P_RUNNING) return;
    uint8_t what = *(const uint8_t *)m->data;
    if (what == TIMER_KILL && !p->kill_sent) {
        send_signal(p, SIGKILL);
    } else if (what == TIMER_TERM && !p->term_sent && !p->kill_sent) {
        send_signal(p, SIGTERM);
        uint8_t kill_what = TIMER_KILL;
        tri_timer_after(a->sys, a->shutdown_ms > 0 ? a->shutdown_ms : 5000, a, tri_serial(a),
                        TRI_MSG_PROC_TIMER, &kill_what, 1);
    } else if (what == TIMER_START && !p->ready && a->state == TRI_ST_RUNNING) {
        char why[600];
        snprintf(why, sizeof why, "node %s (%s) did not report ready within %lld ms",
                 p->node_name, p->program, (long long)p->start_timeout_ms);
        tri_begin_stop(a, TR_EXIT_FAILURE, why);
    }
}

bool tri_process_handle_sys(tri_actor *a, tr_msg *m)
{
    if (m->kind != TRI_MSG_PROC_STARTED && m->kind != TRI_MSG_PROC_EXIT &&
        m->kind != TRI_MSG_PROC_TIMER)
        return false;
    proc *p = a->beh == &tr_process_behaviour ? a->state_mem : NULL;
    if (!p || !(a->flags & TRI_F_INIT_OK)) return true;
    if (m->kind == TRI_MSG_PROC_STARTED) on_started(a, p, m);
    else if (m->kind == TRI_MSG_PROC_EXIT) on_proc_exit(a, p, m);
    else on_timer(a, p, m);
    return true;
}

static void proc_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)why;
    proc *p = st;
    if (p->node_mon.id) tr_demonitor_node(ctx, p->node_mon);
}

const tr_behaviour tr_process_behaviour = {
    .name = "tr.process",
    .state_size = sizeof(proc),
    .init = proc_init,
    .handle = proc_handle,
    .terminate = proc_terminate,
};

/* ---------------------------------------------------------------- API */

tr_err tr_spawn_process(tr_ctx *ctx, const tr_process_spec *spec, const tr_spawn_opts *opts,
                     tr_pid *out)
{
    if (out) *out = TR_PID_NIL;
    if (tr_process_spec_check(spec, NULL, 0) != TR_OK) return TR_EINVAL;
    tr_spawn_opts o = opts ? *opts : (tr_spawn_opts){0};
    if (o.args || o.args_size || o.node) return TR_EINVAL;
    size_t n;
    void *enc = tri_process_encode(spec, &n);
    if (!enc) return TR_ENOMEM;
    o.args = enc;
    o.args_size = n;
    int rc = tr_spawn(ctx, &tr_process_behaviour, &o, out);
    free(enc);
    return rc;
}

tr_err tr_process_info_sync(tr_system *sys, tr_pid pid, tr_process_info *out, int64_t timeout_ms)
{
    if (!sys || !out) return TR_EINVAL;
    tr_msg *reply = NULL;
    int rc = tr_call_sync(sys, pid, info_atom(), NULL, 0, timeout_ms, &reply);
    if (rc == TR_OK && (tr_msg_type(reply).id != info_atom().id || tr_msg_size(reply) != sizeof *out))
        rc = TR_ENOENT;
    if (rc == TR_OK) memcpy(out, tr_msg_data(reply), sizeof *out);
    tr_msg_destroy(&reply);
    return rc;
}
