/* remote_child.c — children on other nodes: the stub and the host
 * (remote_child.h has the design). */
#include "remote_child.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "transport.h"
#include "troupe/behaviours.h"

/* A stopping parent waits for a remote child its shutdown time plus this,
 * for the stop to travel there and the child's end to travel back. */
#define STUB_SLACK_MS 1000

static const tr_behaviour stub_behaviour;
static const tr_behaviour host_behaviour;
static bool stub_settle(tri_actor *a, bool kill);

/* ----------------------------------------------------------- messages */

static size_t req_size(const tri_spawn_req_view *v)
{
    return sizeof v->h + v->h.beh_len + v->h.name_len + v->h.reg_len + v->h.args_size;
}

static void req_write(const tri_spawn_req_view *v, char *p)
{
    memcpy(p, &v->h, sizeof v->h);
    p += sizeof v->h;
    memcpy(p, v->beh, v->h.beh_len);
    p += v->h.beh_len;
    if (v->h.name_len) memcpy(p, v->name, v->h.name_len);
    p += v->h.name_len;
    if (v->h.reg_len) memcpy(p, v->reg, v->h.reg_len);
    p += v->h.reg_len;
    if (v->h.args_size) memcpy(p, v->args, v->h.args_size);
}

static bool req_parse(const char *p, size_t n, tri_spawn_req_view *out)
{
    if (n < sizeof out->h) return false;
    memcpy(&out->h, p, sizeof out->h);
    const struct tri_spawn_req *h = &out->h;
    if (h->beh_len == 0 || n != sizeof *h + (size_t)h->beh_len + h->name_len + h->reg_len + h->args_size)
        return false;
    out->beh = p + sizeof *h;
    out->name = out->beh + h->beh_len;
    out->reg = out->name + h->name_len;
    out->args = out->reg + h->reg_len;
    return true;
}

bool tri_spawn_req_read(const tr_msg *m, tri_spawn_req_view *out)
{
    return m->kind == TRI_MSG_SPAWN_REQ && req_parse(m->data, m->size, out);
}

tr_msg *tri_spawn_req_msg(const tri_spawn_req_view *v)
{
    tr_msg *m = tri_msg_alloc(TRI_MSG_SPAWN_REQ, (tr_atom){0}, req_size(v));
    if (m) req_write(v, m->data);
    return m;
}

/* A runtime message of `kind`: `head`, then `text` (cut) and its NUL. */
static tr_msg *with_text(uint8_t kind, const void *head, size_t hs, const char *text)
{
    size_t tl = text ? strnlen(text, 1023) : 0;
    tr_msg *m = tri_msg_alloc(kind, (tr_atom){0}, hs + tl + 1);
    if (!m) return NULL;
    memcpy(m->data, head, hs);
    if (tl) memcpy((char *)m->data + hs, text, tl);
    ((char *)m->data)[hs + tl] = '\0';
    return m;
}

/* The text after a header, or "" when the message carries none. */
static const char *text_of(const tr_msg *m, size_t hs)
{
    const char *t = (const char *)m->data + hs;
    return m->size > hs && t[m->size - hs - 1] == '\0' ? t : "";
}

tr_msg *tri_spawn_reply_msg(uint64_t ref, tr_pid child, int32_t status, const char *text)
{
    struct tri_spawn_reply r = {ref, child, status};
    return with_text(TRI_MSG_SPAWN_REPLY, &r, sizeof r, text);
}

tr_msg *tri_child_exit_msg(tr_pid child, tr_exit_kind kind, const char *text)
{
    struct tri_child_exit e = {child, (uint32_t)kind};
    return with_text(TRI_MSG_CHILD_EXIT, &e, sizeof e, text);
}

/* A runtime message to a pid here or on another node; takes `m`. */
static void send_runtime(tr_system *sys, tr_pid from, tr_pid to, tr_msg *m)
{
    if (!m) return;
    m->sender = from;
    m->dest_serial = to.serial;
    if (to.node != sys->node) tri_remote_send(sys, to, m);
    else tri_deliver_remote(sys, to, m);
}

/* "name" with every '/' made '_' (paths use '/'), cut at 255 bytes. */
static void path_safe(char *dst, const char *src)
{
    size_t n = strnlen(src, 255);
    for (size_t i = 0; i < n; i++) dst[i] = src[i] == '/' ? '_' : src[i];
    dst[n] = '\0';
}

/* =============================================================== stub */

enum stub_phase {
    STUB_IDLE,    /* nothing asked of another node */
    STUB_ASKED,   /* SPAWN_REQ sent, no answer yet */
    STUB_RUNNING, /* its child lives there: messages go to it */
    STUB_ENDING,  /* its child never started: its CHILD_EXIT is coming */
    STUB_GONE,    /* its child has ended */
};

typedef struct stub {
    tr_pid child;
    uint64_t ref;
    uint8_t phase;
    bool stop_sent, kill_sent;
    tr_msg **held; /* sent before the child was known, in order */
    uint32_t nheld, held_cap;
    char node[256];
} stub;

static int64_t stub_shutdown(int64_t child_ms)
{
    if (child_ms == TR_SHUTDOWN_INFINITY) return TR_SHUTDOWN_INFINITY;
    int64_t ms = child_ms == TR_SHUTDOWN_DEFAULT ? 5000 : child_ms == TR_SHUTDOWN_BRUTAL ? 0 : child_ms;
    return ms > INT32_MAX - STUB_SLACK_MS ? INT32_MAX : ms + STUB_SLACK_MS;
}

int tri_spawn_remote(tr_system *sys, tri_actor *parent, const tr_behaviour *beh,
                     const tr_spawn_opts *o, tr_pid *out)
{
    if (out) *out = TR_PID_NIL;
    const char *bname = beh ? tr_behaviour_name_of(beh) : NULL;
    size_t node_len = strnlen(o->node, 256);
    if (!beh || !beh->handle || !bname || node_len == 0 || node_len > 255 ||
        (o->args_size && !o->args) || o->shutdown_ms < TR_SHUTDOWN_INFINITY ||
        o->capacity > TRI_CAPACITY_MAX || (unsigned)o->on_full > TR_FULL_BLOCK ||
        (o->register_as && !tri_registry_valid_name(o->register_as)))
        return TR_EINVAL;
    if (!tri_node_name(sys)) return TR_ENOROUTE;
    size_t name_len = o->name ? strnlen(o->name, 256) : 0;
    if (name_len > 255) return TR_EINVAL;
    if (o->args_size > TR_MSG_MAX - 1024) return TR_ETOOBIG;
    tri_spawn_req_view v = {
        .h = {0, o->shutdown_ms, o->flags & TR_SPAWN_TRAP_EXITS, o->capacity, (uint32_t)o->args_size,
              (uint8_t)o->on_full, (uint8_t)strlen(bname), (uint8_t)name_len,
              (uint8_t)(o->register_as ? strlen(o->register_as) : 0)},
        .beh = bname, .name = o->name, .reg = o->register_as, .args = o->args};
    /* the stub's args: the node's name, its NUL, then the request */
    size_t n = node_len + 1 + req_size(&v);
    char *args = malloc(n);
    if (!args) return TR_ENOMEM;
    memcpy(args, o->node, node_len + 1);
    req_write(&v, args + node_len + 1);
    char gen[520];
    if (!o->name) { /* "<behaviour>@<node>" in the parent's path */
        char safe[256];
        path_safe(safe, o->node);
        snprintf(gen, sizeof gen, "%s@%s", bname, safe);
        gen[255] = '\0'; /* a name's limit */
    }
    tr_spawn_opts so = {.name = o->name ? o->name : gen,
                        .args = args,
                        .args_size = n,
                        .shutdown_ms = stub_shutdown(o->shutdown_ms),
                        .deadline_ms = o->deadline_ms,
                        .started_to = o->started_to,
                        .before = o->before};
    int rc = tri_spawn(sys, parent, &stub_behaviour, &so, out);
    free(args);
    return rc;
}

/* Ends a stub from inside one of its callbacks (the runtime acts on it
 * when the callback returns). */
static void stub_stop_in_callback(tri_actor *a, tr_exit_kind kind, const char *text)
{
    tri_actor_ext *x = tri_ext(a);
    if (!x) {
        a->flags |= TRI_F_FAIL_SELF;
        return;
    }
    free(x->exit_text);
    x->exit_text = text ? strdup(text) : NULL;
    x->stop_kind = (uint8_t)kind;
    a->flags |= kind == TR_EXIT_FAILURE ? TRI_F_FAIL_SELF : TRI_F_STOP_SELF;
}

static int stub_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    tri_actor *a = (tri_actor *)ctx;
    stub *s = st;
    const char *p = args;
    size_t nl = strnlen(p, size < 256 ? size : 256);
    tri_spawn_req_view v;
    if (nl == 0 || nl > 255 || !req_parse(p + nl + 1, size - nl - 1, &v))
        return tr_fail(ctx, "malformed remote spawn request");
    memcpy(s->node, p, nl + 1);
    tri_actor_ext *x = tri_ext(a);
    if (!x) return tr_fail(ctx, "out of memory");
    x->settle = stub_settle;
    uint32_t id;
    char text[320];
    tr_defer_started(ctx); /* started when the child has */
    if (tri_transport_node_id(a->sys, s->node, &id) != TR_OK) {
        snprintf(text, sizeof text, "node %s is not connected", s->node);
        stub_stop_in_callback(a, TR_EXIT_NOCONNECTION, text);
        return 0; /* its start notice says failed, with that reason */
    }
    s->ref = tri_serial(a); /* unique in this system */
    v.h.ref = s->ref;
    tr_msg *m = tri_spawn_req_msg(&v);
    if (!m) return tr_fail(ctx, "out of memory asking node %s for a child", s->node);
    s->phase = STUB_ASKED;
    m->sender = tri_pid_of(a);
    /* an undeliverable request is answered (tri_spawn_req_dead) */
    tri_remote_send(a->sys, (tr_pid){id, 0, 0}, m);
    return 0;
}

static bool hold(stub *s, tr_msg *m)
{
    if (s->nheld == s->held_cap) {
        uint32_t cap = s->held_cap ? s->held_cap * 2 : 8;
        tr_msg **h = realloc(s->held, cap * sizeof *h);
        if (!h) return false;
        s->held = h;
        s->held_cap = cap;
    }
    s->held[s->nheld++] = m;
    return true;
}

/* Sends a copy of `m` on to the child. A request is the child's to
 * answer from here on: the stub forgets it (the child's node answers
 * "down" if the child ends first, the transport if the node is lost). */
static void forward(tri_actor *a, stub *s, const tr_msg *m)
{
    tr_msg *c = tri_msg_copy(m);
    int rc = TR_ENOMEM;
    if (c) {
        c->dest_serial = s->child.serial;
        rc = tri_remote_send(a->sys, s->child, c);
    }
    if (rc != TR_OK) /* the queue to that node is full, or no memory */
        tri_dead_letter_to(a->sys, (tr_msg *)m, s->child,
                           rc == TR_EFULL ? TR_DEAD_PEER_FULL : TR_DEAD_NODE_DOWN);
    else a->msgs_out++;
}

static int stub_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tri_actor *a = (tri_actor *)ctx;
    stub *s = st;
    if (m->call == TRI_CALL_REQUEST) tr_request_drop(ctx, tr_msg_request(m));
    if (s->phase == STUB_RUNNING) {
        forward(a, s, m);
        return 0;
    }
    tr_msg *c = tri_msg_copy(m);
    if (!c || !hold(s, c)) {
        tri_msg_free(c);
        return tr_fail(ctx, "out of memory holding a message for a remote child");
    }
    return 0;
}

static void drop_held(tri_actor *a, stub *s, tr_dead_reason why)
{
    for (uint32_t i = 0; i < s->nheld; i++) {
        tri_dead_letter_to(a->sys, s->held[i], tri_pid_of(a), why); /* requests: "down" */
        tri_msg_free(s->held[i]);
    }
    free(s->held);
    s->held = NULL;
    s->nheld = s->held_cap = 0;
}

static void stub_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)why;
    drop_held((tri_actor *)ctx, st, TR_DEAD_STOPPING);
}

static void send_stop(tri_actor *a, stub *s, bool kill)
{
    struct tri_remote_stop r = {s->child, kill};
    tr_msg *m = tri_msg_alloc(TRI_MSG_REMOTE_STOP, (tr_atom){0}, sizeof r);
    if (!m) return; /* its end still comes: on its own, or as noconnection */
    memcpy(m->data, &r, sizeof r);
    if (kill) s->kill_sent = true;
    else s->stop_sent = true;
    send_runtime(a->sys, tri_pid_of(a), s->child, m);
}

/* The stub's settle (core.h): its child ends first. */
static bool stub_settle(tri_actor *a, bool kill)
{
    stub *s = a->state_mem;
    if (!s || s->phase == STUB_IDLE || s->phase == STUB_GONE) return true;
    if (s->phase != STUB_RUNNING) return false; /* told whom to stop, or the end, later */
    if (kill ? !s->kill_sent : !s->stop_sent && !s->kill_sent) send_stop(a, s, kill);
    return false;
}

static void stub_on_reply(tri_actor *a, stub *s, const tr_msg *m)
{
    struct tri_spawn_reply r;
    if (m->size < sizeof r) return;
    memcpy(&r, m->data, sizeof r);
    if (s->phase != STUB_ASKED || r.ref != s->ref) return;
    if (r.status != 0) { /* ignored or failed: its CHILD_EXIT follows */
        s->phase = STUB_ENDING;
        if (r.status == 1 && a->state == TRI_ST_RUNNING) {
            a->flags |= TRI_F_IGNORED;
            tri_send_started(a, TR_START_IGNORED);
        }
        return;
    }
    s->child = r.child;
    s->phase = STUB_RUNNING;
    /* the start notice first: what the held messages cause (answers from
     * the child) must not reach anyone before the child is known started */
    bool running = a->state == TRI_ST_RUNNING;
    if (running && (a->flags & TRI_F_INIT_OK)) tri_send_started(a, TR_START_OK);
    for (uint32_t i = 0; i < s->nheld; i++) {
        forward(a, s, s->held[i]);
        tri_msg_free(s->held[i]);
    }
    s->nheld = 0;
    if (!running) tri_continue_stop(a); /* it was asked to stop meanwhile: now it can */
}

static void stub_on_exit(tri_actor *a, stub *s, const tr_msg *m)
{
    struct tri_child_exit e;
    if (m->size < sizeof e || s->phase == STUB_IDLE || s->phase == STUB_GONE) return;
    memcpy(&e, m->data, sizeof e);
    const char *text = text_of(m, sizeof e);
    tr_exit_kind kind = e.kind <= TR_EXIT_NOCONNECTION ? (tr_exit_kind)e.kind : TR_EXIT_FAILURE;
    s->phase = STUB_GONE;
    drop_held(a, s, kind == TR_EXIT_NOCONNECTION ? TR_DEAD_NODE_DOWN : TR_DEAD_NO_ACTOR);
    if (a->state != TRI_ST_RUNNING) {
        /* it was waiting for this; a kill there is a kill here (as a
         * brutal local child's), a failure stays a failure */
        if (kind == TR_EXIT_KILLED && a->exit_kind != TR_EXIT_FAILURE) a->exit_kind = TR_EXIT_KILLED;
        tri_continue_stop(a);
        return;
    }
    /* it ends as its child did, the reason's text included */
    if (kind == TR_EXIT_FAILURE) {
        char why[1100];
        snprintf(why, sizeof why, "on node %s: %s", s->node, *text ? text : "failed");
        tri_begin_stop(a, kind, why);
        return;
    }
    tri_actor_ext *x = tri_ext(a);
    if (x && *text && kind != TR_EXIT_NORMAL) {
        free(x->exit_text);
        x->exit_text = strdup(text);
    }
    tri_begin_stop(a, kind, NULL);
}

static const tr_behaviour stub_behaviour = {
    .name = "tr.remote_child",
    .state_size = sizeof(stub),
    .init = stub_init,
    .handle = stub_handle,
    .terminate = stub_terminate,
};

/* =============================================================== host */

typedef struct host {
    tr_pid stub, child;
    uint64_t ref;
    tr_ref mon;
    bool told_start, told_exit;
    char from[256]; /* the stub's node */
} host;

static void tell(tri_actor *a, host *h, tr_msg *m) { send_runtime(a->sys, tri_pid_of(a), h->stub, m); }

static void tell_start(tri_actor *a, host *h, int32_t status, const char *text)
{
    if (h->told_start) return;
    h->told_start = true;
    tell(a, h, tri_spawn_reply_msg(h->ref, status == 0 ? h->child : TR_PID_NIL, status, text));
}

static void tell_exit(tri_actor *a, host *h, tr_exit_kind kind, const char *text)
{
    if (h->told_exit) return;
    h->told_exit = true;
    tell(a, h, tri_child_exit_msg(h->child, kind, text));
}

/* The child could not be started: both answers at once. */
static int host_refuse(tri_actor *a, host *h, int32_t status, const char *text)
{
    tell_start(a, h, status, text);
    tell_exit(a, h, TR_EXIT_FAILURE, text);
    return TR_INIT_IGNORE;
}

static int host_init(tr_ctx *ctx, void *st, const void *args, size_t size)
{
    tri_actor *a = (tri_actor *)ctx;
    host *h = st;
    const char *p = args;
    tri_spawn_req_view v;
    if (size < sizeof(tr_pid) + 1) return TR_INIT_IGNORE;
    memcpy(&h->stub, p, sizeof h->stub);
    size_t fl = strnlen(p + sizeof h->stub, size - sizeof h->stub);
    if (fl > 255 || !req_parse(p + sizeof h->stub + fl + 1, size - sizeof h->stub - fl - 1, &v))
        return TR_INIT_IGNORE;
    memcpy(h->from, p + sizeof h->stub, fl + 1);
    h->ref = v.h.ref;
    const char *me = tri_node_name(a->sys);
    char bname[256], name[256], reg[256], text[700];
    snprintf(bname, sizeof bname, "%.*s", (int)v.h.beh_len, v.beh);
    snprintf(name, sizeof name, "%.*s", (int)v.h.name_len, v.name);
    snprintf(reg, sizeof reg, "%.*s", (int)v.h.reg_len, v.reg);
    const tr_behaviour *beh = tr_behaviour_find(bname);
    if (!beh) {
        snprintf(text, sizeof text, "no behaviour named \"%s\" on node %s", bname, me);
        return host_refuse(a, h, TR_ENOENT, text);
    }
    /* watch the stub first: a stub gone before its child starts is seen */
    int rc = tr_monitor(ctx, h->stub, &h->mon);
    tr_spawn_opts co = {.name = v.h.name_len ? name : NULL,
                        .args = v.h.args_size ? v.args : NULL,
                        .args_size = v.h.args_size,
                        .flags = v.h.flags & TR_SPAWN_TRAP_EXITS,
                        .shutdown_ms = v.h.shutdown_ms,
                        .capacity = v.h.capacity,
                        .on_full = (tr_full_policy)v.h.on_full,
                        .register_as = v.h.reg_len ? reg : NULL,
                        .started_to = tr_self(ctx)};
    if (rc == TR_OK) rc = tr_spawn(ctx, beh, &co, &h->child);
    if (rc != TR_OK) {
        h->child = TR_PID_NIL;
        snprintf(text, sizeof text, "cannot start \"%s\" on node %s: %s", bname, me, tr_strerror(rc));
        return host_refuse(a, h, rc, text);
    }
    return 0;
}

static void kill_child(tri_actor *a, host *h, bool kill)
{
    tri_actor *c = tri_slot_lookup(a->sys, h->child.slot);
    if (!c || tri_serial(c) != h->child.serial || c->parent != a) return; /* gone already */
    if (kill) tri_request_kill(a, c);
    else tri_request_stop(a, c);
}

static int host_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    tri_actor *a = (tri_actor *)ctx;
    host *h = st;
    tr_pid who;
    tr_exit reason;
    tr_start_status status;
    if (tr_started_decode(m, &who, &status, &reason) == TR_OK) {
        if (!tr_pid_eq(who, h->child)) return 0;
        if (status == TR_START_OK) tell_start(a, h, 0, NULL);
        else if (status == TR_START_IGNORED) tell_start(a, h, 1, NULL);
        else tell_start(a, h, TR_EFAILED, reason.text);
        return 0;
    }
    if (tr_msg_type(m).id == tr_exit_atom().id && tr_exit_decode(m, &who, &reason) == TR_OK) {
        if (!tr_pid_eq(who, h->child)) return 0;
        tell_start(a, h, TR_EFAILED, reason.text); /* ended before its notice */
        tell_exit(a, h, reason.kind, reason.text);
        tr_demonitor(ctx, h->mon);
        tr_stop(ctx);
        return 0;
    }
    if (m->call == TRI_CALL_MONITOR && tri_msg_ref(m) == h->mon.id && !h->told_exit) {
        /* the parent is gone, or its node is unreachable: no orphans */
        tr_exit_decode(m, &who, &reason);
        tri_log(TR_LOG_INFO, "the parent of a child of node %s is gone (%s): killing the child",
                h->from, tr_exit_kind_name(reason.kind));
        kill_child(a, h, true);
    }
    return 0;
}

static void host_terminate(tr_ctx *ctx, void *st, const tr_exit *why)
{
    (void)why;
    tri_actor *a = (tri_actor *)ctx;
    host *h = st;
    char text[300];
    snprintf(text, sizeof text, "node %s is shutting down", tri_node_name(a->sys));
    tell_start(a, h, TR_ESTOPPED, text);
    tell_exit(a, h, TR_EXIT_SHUTDOWN, text);
}

static const tr_behaviour host_behaviour = {
    .name = "tr.remote_host",
    .state_size = sizeof(host),
    .init = host_init,
    .handle = host_handle,
    .terminate = host_terminate,
};

void tri_deliver_spawn(tr_system *sys, const char *from, tr_msg *m)
{
    tri_spawn_req_view v;
    if (!tri_spawn_req_read(m, &v)) {
        tri_msg_free(m);
        return;
    }
    tr_pid stub = m->sender;
    size_t fl = strnlen(from, 255);
    size_t n = sizeof stub + fl + 1 + m->size;
    char *args = malloc(n);
    int rc = TR_ENOMEM;
    if (args) {
        memcpy(args, &stub, sizeof stub);
        memcpy(args + sizeof stub, from, fl);
        args[sizeof stub + fl] = '\0';
        memcpy(args + sizeof stub + fl + 1, m->data, m->size);
        char name[256];
        path_safe(name, from); /* the children of node X live under /root/X */
        tr_spawn_opts o = {.name = name,
                           .args = args,
                           .args_size = n,
                           .flags = TR_SPAWN_TRAP_EXITS,
                           .shutdown_ms = TR_SHUTDOWN_INFINITY}; /* its child's own time rules */
        rc = tr_system_spawn(sys, &host_behaviour, &o, NULL);
        free(args);
    }
    if (rc != TR_OK) {
        char text[300];
        snprintf(text, sizeof text, "node %s cannot start children: %s", tri_node_name(sys),
                 tr_strerror(rc));
        tr_pid none = TR_PID_NIL;
        send_runtime(sys, none, stub, tri_spawn_reply_msg(v.h.ref, none, rc, text));
        send_runtime(sys, none, stub, tri_child_exit_msg(none, TR_EXIT_FAILURE, text));
    }
    tri_msg_free(m);
}

void tri_deliver_stop_child(tr_system *sys, tr_pid child, tr_pid stub, bool kill)
{
    tri_actor *c = tri_slot_lookup(sys, child.slot);
    if (!c || c->kind != TRI_SLOT_ACTOR || tri_serial(c) != child.serial) return;
    /* the parent field is stable while the serial matches (lifecycle.c) */
    tri_actor *h = __atomic_load_n(&c->parent, __ATOMIC_RELAXED);
    uint64_t hs = h ? tri_serial(h) : 0;
    if (!h || tri_serial(c) != child.serial || __atomic_load_n(&h->beh, __ATOMIC_RELAXED) != &host_behaviour)
        return;
    struct tri_remote_stop r = {child, kill};
    tr_msg *m = tri_msg_alloc(TRI_MSG_REMOTE_STOP, (tr_atom){0}, sizeof r);
    if (!m) return;
    memcpy(m->data, &r, sizeof r);
    m->sender = stub;
    m->dest_serial = hs; /* a host that ended meanwhile: a dead letter */
    tri_push(sys, h, m);
}

static void host_on_stop(tri_actor *a, host *h, const tr_msg *m)
{
    struct tri_remote_stop r;
    if (m->size < sizeof r) return;
    memcpy(&r, m->data, sizeof r);
    /* only its own stub may stop it */
    if (!tr_pid_eq(m->sender, h->stub) || !tr_pid_eq(r.child, h->child) || h->told_exit) return;
    kill_child(a, h, r.kill != 0);
}

bool tri_remote_child_handle_sys(tri_actor *a, tr_msg *m)
{
    switch (m->kind) {
    case TRI_MSG_SPAWN_REPLY:
        if (a->beh == &stub_behaviour && a->state_mem) stub_on_reply(a, a->state_mem, m);
        return true;
    case TRI_MSG_CHILD_EXIT:
        if (a->beh == &stub_behaviour && a->state_mem) stub_on_exit(a, a->state_mem, m);
        return true;
    case TRI_MSG_REMOTE_STOP:
        if (a->beh == &host_behaviour && a->state_mem && (a->flags & TRI_F_INIT_OK))
            host_on_stop(a, a->state_mem, m);
        return true;
    default:
        return false;
    }
}

void tri_spawn_req_dead(tr_system *sys, const tr_msg *m, tr_exit_kind why)
{
    char text[320];
    snprintf(text, sizeof text, "the child's node could not be reached (%s)", tr_exit_kind_name(why));
    tr_pid none = TR_PID_NIL;
    send_runtime(sys, none, m->sender, tri_child_exit_msg(none, why, text));
}
