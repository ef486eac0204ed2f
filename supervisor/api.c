/* api.c — starting supervisors and asking them things. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actors/hooks.h"
#include "sup_impl.h"

static int encode_spec(const tr_sup_spec *spec, tri_buf *b, char *why, size_t ws)
{
    int rc = tri_spec_check(spec, why, ws);
    if (rc) return rc;
    tri_encode_sup(b, spec);
    if (b->oom) {
        free(b->p);
        return TR_ENOMEM;
    }
    return TR_OK;
}

tr_err tr_supervisor_spawn(tr_ctx *ctx, const tr_sup_spec *spec, const tr_spawn_opts *opts,
                        tr_pid *out)
{
    if (out) *out = TR_PID_NIL;
    if (!tr_ctx_system(ctx)) return TR_ENOTACTOR;
    tri_buf b = {0};
    int rc = encode_spec(spec, &b, NULL, 0);
    if (rc) return rc;
    tr_spawn_opts o = opts ? *opts : (tr_spawn_opts){0};
    o.args = b.p;
    o.args_size = b.n;
    o.flags |= TR_SPAWN_TRAP_EXITS;
    if (o.shutdown_ms == TR_SHUTDOWN_DEFAULT) o.shutdown_ms = TR_SHUTDOWN_INFINITY;
    rc = tr_spawn(ctx, &tr_supervisor_behaviour, &o, out);
    free(b.p);
    return rc;
}

static int start(tr_system *sys, const tr_sup_spec *spec, const char *name, int64_t timeout_ms,
                 tr_pid exit_to, tr_pid *out, char *why, size_t ws);

tr_err tr_supervisor_start(tr_system *sys, const tr_sup_spec *spec, const char *name,
                        int64_t timeout_ms, tr_pid *out, char *why, size_t ws)
{
    return start(sys, spec, name, timeout_ms, TR_PID_NIL, out, why, ws);
}

tr_err tr_supervisor_start_to(tr_system *sys, const tr_sup_spec *spec, const char *name,
                           int64_t timeout_ms, tr_pid exit_to, tr_pid *out, char *why,
                           size_t ws)
{
    if (why && ws) why[0] = '\0';
    if (out) *out = TR_PID_NIL;
    if (tr_pid_is_nil(exit_to)) return TR_EINVAL;
    return start(sys, spec, name, timeout_ms, exit_to, out, why, ws);
}

static int start(tr_system *sys, const tr_sup_spec *spec, const char *name, int64_t timeout_ms,
                 tr_pid exit_to, tr_pid *out, char *why, size_t ws)
{
    if (why && ws) why[0] = '\0';
    if (!out) return TR_EINVAL;
    *out = TR_PID_NIL;
    if (!sys) return TR_EINVAL;
    tri_buf b = {0};
    int rc = encode_spec(spec, &b, why, ws);
    if (rc) return rc;
    tr_inbox *in;
    if ((rc = tr_inbox_new(sys, &in)) != TR_OK) {
        free(b.p);
        return rc;
    }
    tr_spawn_opts o = {.name = name,
                       .args = b.p,
                       .args_size = b.n,
                       .flags = TR_SPAWN_TRAP_EXITS,
                       .shutdown_ms = TR_SHUTDOWN_INFINITY,
                       .started_to = tr_inbox_pid(in)};
    tr_pid pid;
    rc = tr_pid_is_nil(exit_to) ? tr_system_spawn(sys, &tr_supervisor_behaviour, &o, &pid)
                                : tri_spawn_reporting(sys, &tr_supervisor_behaviour, &o, exit_to,
                                                      &pid);
    free(b.p);
    while (rc == TR_OK) {
        const tr_msg *m;
        rc = tr_inbox_recv(in, &m, timeout_ms);
        if (rc != TR_OK) break;
        tr_pid who;
        tr_start_status st;
        tr_exit reason;
        if (tr_started_decode(m, &who, &st, &reason) != TR_OK || !tr_pid_eq(who, pid)) continue;
        if (st == TR_START_OK) {
            *out = pid;
        } else {
            rc = TR_EFAILED;
            if (why && ws)
                snprintf(why, ws, "%s", reason.text ? reason.text : tr_exit_kind_name(reason.kind));
        }
        break;
    }
    /* Gave up waiting: stop it rather than leave a supervisor nobody knows */
    if (rc == TR_ETIMEDOUT) tr_system_stop_child(sys, pid);
    tr_inbox_destroy(&in);
    return rc;
}

/* ------------------------------------------------------------ requests */

static int id_payload(const char *id, tr_pid pid, bool with_target, tri_buf *b)
{
    if (with_target) {
        struct tri_sup_target t = {pid};
        tri_put(b, &t, sizeof t);
    }
    const char *s = id ? id : "";
    tri_put(b, s, strlen(s) + 1);
    return b->oom ? TR_ENOMEM : TR_OK;
}

/* Encodes a start request: a full spec, or only args for a dynamic child. */
static int start_payload(const tr_child_spec *spec, tri_buf *b, tr_atom *type)
{
    if (!spec) return TR_EINVAL;
    if (!spec->behaviour && !spec->supervisor && !spec->process) {
        *type = tri_sup_atoms_get()->start_dyn;
        if (spec->args_size) tri_put(b, spec->args, spec->args_size);
    } else {
        int rc = tri_child_check(spec, NULL, 0);
        if (rc) return rc;
        *type = tri_sup_atoms_get()->start;
        tri_encode_child(b, spec);
    }
    return b->oom ? TR_ENOMEM : TR_OK;
}

static int call(tr_ctx *ctx, tr_pid sup, tr_atom type, tri_buf *b, tr_ref *out)
{
    int rc = tr_call(ctx, sup, type, b->p, b->n, TR_INFINITY, out);
    free(b->p);
    return rc;
}

tr_err tr_sup_start_child(tr_ctx *ctx, tr_pid sup, const tr_child_spec *spec, tr_ref *out)
{
    tri_buf b = {0};
    tr_atom type;
    int rc = start_payload(spec, &b, &type);
    if (rc) {
        free(b.p);
        return rc;
    }
    return call(ctx, sup, type, &b, out);
}

tr_err tr_sup_terminate_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_pid pid, tr_ref *out)
{
    tri_buf b = {0};
    if (id_payload(id, pid, true, &b)) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->terminate, &b, out);
}

tr_err tr_sup_restart_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out)
{
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->restart, &b, out);
}

tr_err tr_sup_delete_child(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out)
{
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->del, &b, out);
}

tr_err tr_sup_which_children(tr_ctx *ctx, tr_pid sup, tr_ref *out)
{
    tri_buf b = {0};
    tri_put(&b, "", 1);
    if (b.oom) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->which, &b, out);
}

tr_err tr_sup_count_children(tr_ctx *ctx, tr_pid sup, tr_ref *out)
{
    tri_buf b = {0};
    tri_put(&b, "", 1);
    if (b.oom) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->count, &b, out);
}

tr_err tr_sup_children_decode(const tr_msg *answer, tr_child_info *out, size_t max, size_t *n)
{
    if (!answer || !n || (max && !out) || !tr_msg_is(answer, tri_sup_atoms_get()->children) ||
        tr_msg_size(answer) % sizeof *out != 0)
        return TR_EINVAL;
    size_t count = tr_msg_size(answer) / sizeof *out;
    *n = count;
    if (count && max) memcpy(out, tr_msg_data(answer), (count < max ? count : max) * sizeof *out);
    return TR_OK;
}

tr_err tr_sup_counts_decode(const tr_msg *answer, tr_child_counts *out)
{
    if (!answer || !out || !tr_msg_is(answer, tri_sup_atoms_get()->counts) ||
        tr_msg_size(answer) != sizeof *out)
        return TR_EINVAL;
    memcpy(out, tr_msg_data(answer), sizeof *out);
    return TR_OK;
}

tr_err tr_sup_result_decode(const tr_msg *m, int *rc, tr_pid *pid)
{
    struct tri_sup_answer a;
    if (!m || !tr_msg_is(m, tri_sup_atoms_get()->answer) || tr_msg_size(m) != sizeof a)
        return TR_EINVAL;
    memcpy(&a, tr_msg_data(m), sizeof a);
    if (rc) *rc = a.rc;
    if (pid) *pid = a.pid;
    return TR_OK;
}

tr_err tr_sup_get_childspec(tr_ctx *ctx, tr_pid sup, const char *id, tr_ref *out)
{
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    return call(ctx, sup, tri_sup_atoms_get()->getspec, &b, out);
}

tr_err tr_sup_childspec_decode(const tr_msg *m, tr_child_spec *out, tr_child_type *type)
{
    if (!m) return TR_EINVAL;
    int rc;
    if (tr_msg_is(m, tri_sup_atoms_get()->answer)) /* an error answer */
        return tr_sup_result_decode(m, &rc, NULL) == TR_OK && rc != TR_OK ? rc : TR_EINVAL;
    struct tri_sup_childspec h;
    size_t size = tr_msg_size(m);
    if (!out || !tr_msg_is(m, tri_sup_atoms_get()->childspec) || size < sizeof h)
        return TR_EINVAL;
    const char *p = tr_msg_data(m);
    memcpy(&h, p, sizeof h);
    uint32_t lens[4] = {h.id_len, h.args_len, h.reg_len, h.node_len};
    const char *parts[4];
    size_t at = sizeof h;
    for (int i = 0; i < 4; i++) {
        if (lens[i] > size || at + lens[i] + 1 > size || p[at + lens[i]] != '\0') return TR_EINVAL;
        parts[i] = p + at;
        at += lens[i] + 1;
    }
    *out = (tr_child_spec){
        .id = parts[0],
        .behaviour = h.beh,
        .args = h.args_len ? parts[1] : NULL,
        .args_size = h.args_len,
        .restart = (tr_restart)h.restart,
        .shutdown_ms = h.shutdown_ms,
        .significant = h.significant != 0,
        .backoff = h.backoff,
        .register_as = h.reg_len ? parts[2] : NULL,
        .capacity = h.capacity,
        .on_full = (tr_full_policy)h.on_full,
        .node = h.node_len ? parts[3] : NULL,
    };
    if (type) *type = (tr_child_type)h.type;
    return TR_OK;
}

tr_atom tr_sup_atom(void) { return tri_sup_atoms_get()->answer; }
tr_atom tr_sup_children_atom(void) { return tri_sup_atoms_get()->children; }
tr_atom tr_sup_counts_atom(void) { return tri_sup_atoms_get()->counts; }
tr_atom tr_sup_childspec_atom(void) { return tri_sup_atoms_get()->childspec; }

const char *tr_restart_name(tr_restart r)
{
    switch (r) {
    case TR_PERMANENT: return "permanent";
    case TR_TRANSIENT: return "transient";
    case TR_TEMPORARY: return "temporary";
    }
    return "unknown";
}

const char *tr_child_type_name(tr_child_type t)
{
    switch (t) {
    case TR_WORKER: return "worker";
    case TR_SUPERVISOR: return "supervisor";
    }
    return "unknown";
}

const char *tr_strategy_name(tr_strategy s)
{
    switch (s) {
    case TR_ONE_FOR_ONE: return "one_for_one";
    case TR_ONE_FOR_ALL: return "one_for_all";
    case TR_REST_FOR_ONE: return "rest_for_one";
    case TR_SIMPLE_ONE_FOR_ONE: return "simple_one_for_one";
    }
    return "unknown";
}

const char *tr_auto_shutdown_name(tr_auto_shutdown a)
{
    switch (a) {
    case TR_AUTO_SHUTDOWN_NEVER: return "never";
    case TR_AUTO_SHUTDOWN_ANY: return "any_significant";
    case TR_AUTO_SHUTDOWN_ALL: return "all_significant";
    }
    return "unknown";
}

/* ---------------------------------------------------------- sync forms */

static int call_sync(tr_system *sys, tr_pid sup, tr_atom type, tri_buf *b,
                     int64_t timeout_ms, tr_msg **reply)
{
    if (b->oom) {
        free(b->p);
        return TR_ENOMEM;
    }
    int rc = tr_call_sync(sys, sup, type, b->p, b->n, timeout_ms, reply);
    free(b->p);
    return rc;
}

static int result_sync(tr_system *sys, tr_pid sup, tr_atom type, tri_buf *b,
                       int64_t timeout_ms, tr_pid *pid)
{
    tr_msg *reply = NULL;
    int rc = call_sync(sys, sup, type, b, timeout_ms, &reply);
    int result = rc;
    if (rc == TR_OK && tr_sup_result_decode(reply, &result, pid) != TR_OK) result = TR_EINVAL;
    tr_msg_destroy(&reply);
    return result;
}

tr_err tr_sup_start_child_sync(tr_system *sys, tr_pid sup, const tr_child_spec *spec,
                            int64_t timeout_ms, tr_pid *pid)
{
    tri_buf b = {0};
    tr_atom type;
    if (pid) *pid = TR_PID_NIL;
    int rc = start_payload(spec, &b, &type);
    if (rc) {
        free(b.p);
        return rc;
    }
    return result_sync(sys, sup, type, &b, timeout_ms, pid);
}

tr_err tr_sup_terminate_child_sync(tr_system *sys, tr_pid sup, const char *id, tr_pid pid,
                                int64_t timeout_ms)
{
    tri_buf b = {0};
    if (id_payload(id, pid, true, &b)) return TR_ENOMEM;
    return result_sync(sys, sup, tri_sup_atoms_get()->terminate, &b, timeout_ms, NULL);
}

tr_err tr_sup_restart_child_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms,
                              tr_pid *pid)
{
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    return result_sync(sys, sup, tri_sup_atoms_get()->restart, &b, timeout_ms, pid);
}

tr_err tr_sup_delete_child_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms)
{
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    return result_sync(sys, sup, tri_sup_atoms_get()->del, &b, timeout_ms, NULL);
}

tr_err tr_sup_which_children_sync(tr_system *sys, tr_pid sup, tr_child_info *out, size_t max,
                               size_t *n, int64_t timeout_ms)
{
    if (!n || (max && !out)) return TR_EINVAL;
    *n = 0;
    tri_buf b = {0};
    tri_put(&b, "", 1);
    tr_msg *reply = NULL;
    int rc = call_sync(sys, sup, tri_sup_atoms_get()->which, &b, timeout_ms, &reply);
    if (rc == TR_OK) rc = tr_sup_children_decode(reply, out, max, n);
    tr_msg_destroy(&reply);
    return rc;
}

tr_err tr_sup_count_children_sync(tr_system *sys, tr_pid sup, tr_child_counts *out,
                               int64_t timeout_ms)
{
    if (!out) return TR_EINVAL;
    tri_buf b = {0};
    tri_put(&b, "", 1);
    tr_msg *reply = NULL;
    int rc = call_sync(sys, sup, tri_sup_atoms_get()->count, &b, timeout_ms, &reply);
    if (rc == TR_OK) rc = tr_sup_counts_decode(reply, out);
    tr_msg_destroy(&reply);
    return rc;
}

tr_err tr_sup_get_childspec_sync(tr_system *sys, tr_pid sup, const char *id, int64_t timeout_ms,
                              tr_child_spec *out, tr_child_type *type, tr_msg **answer)
{
    if (answer) *answer = NULL;
    if (!out || !answer) return TR_EINVAL;
    tri_buf b = {0};
    if (id_payload(id, TR_PID_NIL, false, &b)) return TR_ENOMEM;
    tr_msg *reply = NULL;
    int rc = call_sync(sys, sup, tri_sup_atoms_get()->getspec, &b, timeout_ms, &reply);
    if (rc == TR_OK) rc = tr_sup_childspec_decode(reply, out, type);
    if (rc == TR_OK) *answer = reply;
    else tr_msg_destroy(&reply);
    return rc;
}
