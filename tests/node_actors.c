/* node_actors.c — echo, sink and ctl (node_actors.h). No assertions here:
 * these run on worker threads, in two processes; what they see goes back
 * to whoever asked, as messages. */
#include <string.h>

#include "node_actors.h"

static tr_atom A(const char *name) { return tr_atom_from(name); }

/* A number at the start of the payload (which may be longer: a test that
 * wants large messages pads them). */
static bool get_u64(const tr_msg *m, uint64_t *v)
{
    if (tr_msg_size(m) < sizeof *v) return false;
    memcpy(v, tr_msg_data(m), sizeof *v);
    return true;
}

static bool get_pid(const tr_msg *m, tr_pid *p)
{
    if (tr_msg_size(m) < sizeof *p) return false;
    memcpy(p, tr_msg_data(m), sizeof *p);
    return true;
}

/* "tell" {pid}: our pid to that pid. */
static int tell(tr_ctx *ctx, const tr_msg *m)
{
    tr_pid to, me = tr_self(ctx);
    if (!get_pid(m, &to)) return 0;
    return tr_send(ctx, to, A("hello"), &me, sizeof me);
}

/* ------------------------------------------------------------------ echo */

typedef struct echo_st {
    uint64_t next;
} echo_st;

static int echo_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    echo_st *e = st;
    tr_pid from = tr_msg_sender(m);
    if (tr_msg_is_request(m)) {
        if (tr_msg_is(m, A("hold"))) return 0; /* answered "tr.down" when we end */
        return tr_reply(ctx, m, A("echo"), tr_msg_data(m), tr_msg_size(m));
    }
    if (tr_msg_is(m, A("tell"))) return tell(ctx, m);
    if (tr_msg_is(m, A("fail"))) return tr_fail(ctx, "asked to fail");
    uint64_t seq;
    if (tr_msg_is(m, A("n")) && get_u64(m, &seq)) {
        if (seq != 0 && seq != e->next) {
            uint64_t bad[2] = {e->next, seq};
            return tr_send(ctx, from, A("badseq"), bad, sizeof bad);
        }
        e->next = seq + 1;
        return tr_send(ctx, from, A("back"), &seq, sizeof seq);
    }
    if (tr_pid_is_nil(from)) return 0;
    return tr_send(ctx, from, A("back"), tr_msg_data(m), tr_msg_size(m));
}

const tr_behaviour na_echo_b = {"echo", sizeof(echo_st), NULL, echo_handle, NULL};

/* ------------------------------------------------------------------ sink */

static int sink_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    na_sink_report *r = st;
    uint64_t seq;
    if (tr_msg_is(m, A("n")) && get_u64(m, &seq)) {
        r->count++;
        if (seq != r->next) r->errors++;
        r->next = seq + 1;
        return 0;
    }
    if (tr_msg_is(m, A("report"))) {
        if (tr_msg_is_request(m)) return tr_reply(ctx, m, A("report"), r, sizeof *r);
        return tr_send(ctx, tr_msg_sender(m), A("report"), r, sizeof *r);
    }
    if (tr_msg_is(m, A("tell"))) return tell(ctx, m);
    return 0;
}

const tr_behaviour na_sink_b = {"sink", sizeof(na_sink_report), NULL, sink_handle, NULL};

/* ------------------------------------------------------------------- ctl */

#define CTL_KIDS 16

typedef struct ctl_st {
    tr_pid main;   /* told "stop" (node_peer's main thread), or nil */
    tr_pid report; /* the sender of the last command */
    tr_pid kids[CTL_KIDS];
    size_t nkids;
    uint64_t call_ref;
} ctl_st;

static int ctl_init(tr_ctx *ctx, void *st, const void *args, size_t n)
{
    ctl_st *c = st;
    if (n == sizeof c->main) memcpy(&c->main, args, n);
    tr_trap_exits(ctx, true);
    return 0;
}

static bool is_kid(const ctl_st *c, tr_pid p)
{
    for (size_t i = 0; i < c->nkids; i++)
        if (tr_pid_eq(c->kids[i], p)) return true;
    return false;
}

static int report_int(tr_ctx *ctx, ctl_st *c, const char *type, int v)
{
    return tr_send(ctx, c->report, A(type), &v, sizeof v);
}

/* A reply, a down or an exit: nothing the commander asked for directly. */
static int ctl_notice(tr_ctx *ctx, ctl_st *c, const tr_msg *m)
{
    bool answer = c->call_ref && tr_msg_ref(m).id == c->call_ref;
    tr_pid who;
    tr_exit why;
    if (tr_exit_decode(m, &who, &why) == TR_OK) {
        if (!answer && is_kid(c, who)) return 0; /* our own children's ends */
        na_saw s = {who, (uint32_t)why.kind,
                    answer ? NA_SAW_CALL : tr_msg_is(m, tr_down_atom()) ? NA_SAW_DOWN : NA_SAW_EXIT};
        if (answer) c->call_ref = 0;
        return tr_send(ctx, c->report, A("saw"), &s, sizeof s);
    }
    if (answer) {
        c->call_ref = 0;
        return tr_send(ctx, c->report, A("answered"), tr_msg_data(m), tr_msg_size(m));
    }
    return 0;
}

static int ctl_handle(tr_ctx *ctx, void *st, const tr_msg *m)
{
    ctl_st *c = st;
    tr_pid p;
    if (tr_msg_is(m, A("tell"))) return tell(ctx, m);
    if (tr_msg_is(m, A("hello")) && get_pid(m, &p))
        return tr_send(ctx, c->report, A("pinged"), &p, sizeof p);
    if (tr_msg_is(m, A("spawn"))) {
        c->report = tr_msg_sender(m);
        p = TR_PID_NIL;
        if (c->nkids < CTL_KIDS && tr_spawn(ctx, &na_echo_b, NULL, &p) == TR_OK)
            c->kids[c->nkids++] = p;
        return tr_send(ctx, c->report, A("spawned"), &p, sizeof p);
    }
    if (tr_msg_is(m, A("monitor")) && get_pid(m, &p)) {
        c->report = tr_msg_sender(m);
        return report_int(ctx, c, "watching", tr_monitor(ctx, p, NULL));
    }
    if (tr_msg_is(m, A("link")) && get_pid(m, &p)) {
        c->report = tr_msg_sender(m);
        return report_int(ctx, c, "linked", tr_link(ctx, p));
    }
    if (tr_msg_is(m, A("call")) && tr_msg_size(m) == sizeof(na_call)) {
        na_call k;
        memcpy(&k, tr_msg_data(m), sizeof k);
        c->report = tr_msg_sender(m);
        tr_ref ref = {0};
        int rc = tr_call(ctx, k.to, A(k.hold ? "hold" : "q"), "x", 2, TR_INFINITY, &ref);
        c->call_ref = ref.id;
        return report_int(ctx, c, "calling", rc);
    }
    if (tr_msg_is(m, A("ping")) && tr_msg_size(m) > 0) {
        const char *name = tr_msg_data(m);
        if (name[tr_msg_size(m) - 1] != '\0') return 0;
        c->report = tr_msg_sender(m);
        tr_pid me = tr_self(ctx);
        return report_int(ctx, c, "pinging", tr_send_named(ctx, name, A("tell"), &me, sizeof me));
    }
    if (tr_msg_is(m, A("stats"))) {
        c->report = tr_msg_sender(m);
        tr_node_stats s;
        memset(&s, 0, sizeof s);
        tr_node_get_stats(tr_node_of(tr_ctx_system(ctx)), &s);
        return tr_send(ctx, c->report, A("stats"), &s, sizeof s);
    }
    if (tr_msg_is(m, A("stop"))) {
        if (tr_pid_is_nil(c->main)) return 0;
        return tr_send(ctx, c->main, A("stop"), NULL, 0);
    }
    return ctl_notice(ctx, c, m);
}

const tr_behaviour na_ctl_b = {"ctl", sizeof(ctl_st), ctl_init, ctl_handle, NULL};
