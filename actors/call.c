/* call.c — request/reply: refs, the caller's table of awaited calls, the
 * callee's list of unanswered requests, and tr_call_sync.
 *
 * Exactly one answer: the reply, the timeout and the "down" all arrive in
 * the caller's own mailbox and are matched against its table in its own
 * turn; the first one found removes the entry, so the others are dropped.
 * Callee down without a monitor per call: the callee itself remembers each
 * request it handled and did not answer, and a request that reaches no live
 * actor is answered "down" by whoever drops it as a dead letter. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

#define DELETED UINT64_MAX
/* Longer timeouts are as good as forever (about 31 years). */
#define TRI_FOREVER_MS ((int64_t)1000000000000)

/* ------------------------------------------------------ the call table */

static uint32_t slot_of(uint64_t ref, uint32_t cap)
{
    return (uint32_t)((ref * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static tri_call *calls_find(tri_actor_ext *x, uint64_t ref)
{
    if (!x->calls) return NULL;
    for (uint32_t i = slot_of(ref, x->calls_cap);; i = (i + 1) & (x->calls_cap - 1)) {
        tri_call *c = &x->calls[i];
        if (c->ref == ref) return c;
        if (c->ref == 0) return NULL;
    }
}

static bool calls_rehash(tri_actor_ext *x, uint32_t cap)
{
    tri_call *n = calloc(cap, sizeof *n);
    if (!n) return false;
    uint32_t used = 0;
    for (uint32_t i = 0; i < x->calls_cap; i++) {
        tri_call *c = &x->calls[i];
        if (c->ref == 0 || c->ref == DELETED) continue;
        uint32_t j = slot_of(c->ref, cap);
        while (n[j].ref) j = (j + 1) & (cap - 1);
        n[j] = *c;
        used++;
    }
    free(x->calls);
    x->calls = n;
    x->calls_cap = cap;
    x->calls_used = used;
    return true;
}

static bool calls_add(tri_actor_ext *x, uint64_t ref, uint64_t timer, tr_call_fn fn, void *cookie)
{
    if ((x->calls_used + 1) * 2 > x->calls_cap) {
        uint32_t live = 0;
        for (uint32_t i = 0; i < x->calls_cap; i++)
            live += x->calls[i].ref != 0 && x->calls[i].ref != DELETED;
        uint32_t cap = x->calls_cap ? x->calls_cap : 8;
        while ((live + 1) * 2 > cap) cap *= 2;
        if (!calls_rehash(x, cap)) return false;
    }
    uint32_t i = slot_of(ref, x->calls_cap);
    while (x->calls[i].ref != 0) i = (i + 1) & (x->calls_cap - 1);
    x->calls[i] = (tri_call){ref, timer, fn, cookie};
    x->calls_used++;
    return true;
}

/* ------------------------------------------------------------- caller */

/* What a call sends: a copy of data[0..size), or a message built with
 * tr_msg_new (msg != NULL), whose payload block moves into the request. */
typedef struct call_body {
    tr_atom type;
    const void *data;
    size_t size;
    tr_msg *msg;
} call_body;

/* The request for `b`, carrying ref and deadline; NULL when out of
 * memory. Consumes b->msg in every case. */
static tr_msg *build_request(call_body *b, uint64_t ref, int64_t deadline)
{
    tr_msg *src = b->msg;
    b->msg = NULL;
    if (!src) {
        tr_msg *m = tri_msg_alloc_request(ref, deadline, b->type, b->size);
        if (m && b->size) memcpy(m->data, b->data, b->size);
        return m;
    }
    /* A request needs its ref and deadline in front of an inline payload,
     * which tr_msg_new's block has no room for: a small payload is copied
     * into a new block, a large one's own block is moved over. */
    tr_msg *m = tri_msg_alloc_request(ref, deadline, src->type, src->outside ? 0 : src->size);
    if (!m) {
        tri_msg_free(src);
        return NULL;
    }
    if (src->outside) {
        m->size = src->size;
        m->outside = 1;
        m->data = src->data;
        tri_pool_free(src, src->block); /* the header only: the payload is m's now */
    } else {
        if (src->size) memcpy(m->data, src->data, src->size);
        tri_msg_free(src);
    }
    return m;
}

/* A call to `to`, or to `name` when it is not NULL; its answer goes to fn
 * when fn is not NULL. */
static int call(tr_ctx *ctx, tr_pid to, const char *name, call_body *b, int64_t timeout_ms,
                tr_call_fn fn, void *cookie, tr_ref *out)
{
    if (out) out->id = 0;
    tri_actor *a = tri_ctx(ctx);
    int rc = a ? TR_OK : tri_ctx_err(ctx);
    if (rc == TR_OK && (b->type.id == 0 || (b->size && !b->data && !b->msg) ||
                        (name ? !*name : tr_pid_is_nil(to)) || timeout_ms < TR_INFINITY))
        rc = TR_EINVAL;
    if (rc == TR_OK && b->size > TR_MSG_MAX) rc = TR_ETOOBIG;
    if (rc != TR_OK) {
        tri_msg_free(b->msg);
        return rc;
    }
    tr_system *sys = a->sys;
    uint64_t ref = tri_next_ref(a);
    if (!ref) {
        tri_msg_free(b->msg);
        return TR_ENOMEM;
    }
    tri_actor_ext *x = a->ext;
    int64_t deadline = timeout_ms < 0 || timeout_ms > TRI_FOREVER_MS
                           ? INT64_MAX
                           : tri_now_ns(sys) + timeout_ms * 1000000;
    tr_msg *m = build_request(b, ref, deadline);
    if (!m) return TR_ENOMEM;
    m->sender = tri_pid_of(a);
    uint64_t timer = 0;
    if (timeout_ms >= 0) { /* very long ones are clamped by the timer service */
        timer = tri_timer_after(sys, timeout_ms, a, tri_serial(a), TRI_MSG_CALL_TIMEOUT, &ref,
                                sizeof ref);
        if (!timer) {
            tri_msg_free(m);
            return TR_ENOMEM;
        }
    }
    /* In the table before the send: a dead callee's "down" may be pushed
     * into our mailbox before tri_deliver even returns. */
    if (!calls_add(x, ref, timer, fn, cookie)) {
        if (timer) tri_timer_cancel(sys, a, timer);
        tri_msg_free(m);
        return TR_ENOMEM;
    }
    rc = name ? tri_deliver_to_name(sys, name, m) : tri_deliver(sys, to, m);
    if (rc == TR_ENOENT && name && fn) {
        /* no such local name: the continuation hears it as a remote name's
         * would, a "down" (noproc), in a later turn */
        tr_msg *down = tri_exit_msg(tr_down_atom(), TRI_CALL_REPLY, ref, TR_PID_NIL,
                                    TR_EXIT_NOPROC, NULL);
        rc = down ? tri_deliver(sys, tri_pid_of(a), down) : TR_ENOMEM;
    } else if (rc == TR_OK) {
        a->msgs_out++;
    }
    if (rc != TR_OK) {
        tri_call *c = calls_find(x, ref);
        if (c) c->ref = DELETED;
        if (timer) tri_timer_cancel(sys, a, timer);
        return rc;
    }
    if (out) out->id = ref;
    return TR_OK;
}

tr_err tr_call(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size,
            int64_t timeout_ms, tr_ref *out)
{
    call_body b = {type, data, size, NULL};
    return call(ctx, to, NULL, &b, timeout_ms, NULL, NULL, out);
}

tr_err tr_call_named(tr_ctx *ctx, const char *name, tr_atom type, const void *data, size_t size,
                  int64_t timeout_ms, tr_ref *out)
{
    if (!name) {
        if (out) out->id = 0;
        return tri_ctx_any(ctx) ? TR_EINVAL : TR_ENOTACTOR;
    }
    call_body b = {type, data, size, NULL};
    return call(ctx, TR_PID_NIL, name, &b, timeout_ms, NULL, NULL, out);
}

/* The body of a tr_call_msg: takes *msg (NULL: TR_EINVAL). */
static bool msg_body(tr_msg **msg, call_body *b)
{
    tr_msg *m = msg ? *msg : NULL;
    if (msg) *msg = NULL;
    *b = (call_body){m ? m->type : (tr_atom){0}, NULL, m ? m->size : 0, m};
    return m != NULL;
}

tr_err tr_call_msg(tr_ctx *ctx, tr_pid to, tr_msg **msg, int64_t timeout_ms, tr_ref *out)
{
    call_body b;
    if (!msg_body(msg, &b)) {
        if (out) out->id = 0;
        return tri_ctx_any(ctx) ? TR_EINVAL : TR_ENOTACTOR;
    }
    return call(ctx, to, NULL, &b, timeout_ms, NULL, NULL, out);
}

tr_err tr_call_then(tr_ctx *ctx, tr_pid to, tr_atom type, const void *data, size_t size,
                 int64_t timeout_ms, tr_call_fn fn, void *cookie)
{
    if (!fn) return tri_ctx_any(ctx) ? TR_EINVAL : TR_ENOTACTOR;
    call_body b = {type, data, size, NULL};
    return call(ctx, to, NULL, &b, timeout_ms, fn, cookie, NULL);
}

tr_err tr_call_named_then(tr_ctx *ctx, const char *name, tr_atom type, const void *data,
                       size_t size, int64_t timeout_ms, tr_call_fn fn, void *cookie)
{
    if (!fn || !name) return tri_ctx_any(ctx) ? TR_EINVAL : TR_ENOTACTOR;
    call_body b = {type, data, size, NULL};
    return call(ctx, TR_PID_NIL, name, &b, timeout_ms, fn, cookie, NULL);
}

tr_err tr_call_msg_then(tr_ctx *ctx, tr_pid to, tr_msg **msg, int64_t timeout_ms, tr_call_fn fn,
                     void *cookie)
{
    call_body b;
    bool have = msg_body(msg, &b);
    if (!have || !fn) {
        tri_msg_free(b.msg);
        return tri_ctx_any(ctx) ? TR_EINVAL : TR_ENOTACTOR;
    }
    return call(ctx, to, NULL, &b, timeout_ms, fn, cookie, NULL);
}

/* Runs a call's continuation with its answer, as a callback of its own. */
static void run_continuation(tri_actor *a, tr_call_fn fn, void *cookie, int status,
                             const tr_msg *answer)
{
    a->u.msgs_in++;
    int rc = fn((tr_ctx *)a, a->state_mem, status, answer, cookie);
    tri_after_callback(a, rc, "call continuation");
}

bool tri_call_accept(tri_actor *a, const tr_msg *reply)
{
    tri_call *c = a->ext ? calls_find(a->ext, tri_msg_ref(reply)) : NULL;
    if (!c) return false;
    if (c->timer) tri_timer_cancel(a->sys, a, c->timer);
    c->ref = DELETED;
    if (!c->fn) return true;
    /* copied out first: fn may make calls, which may rehash the table */
    tr_call_fn fn = c->fn;
    void *cookie = c->cookie;
    /* as tr_call_sync: a "tr.down" answer is the callee's end */
    run_continuation(a, fn, cookie, reply->type.id == tr_down_atom().id ? TR_ENOENT : TR_OK,
                     reply);
    return false;
}

void tri_call_timeout(tri_actor *a, uint64_t ref)
{
    tri_call *c = a->ext ? calls_find(a->ext, ref) : NULL;
    if (!c) return; /* the answer came first */
    c->ref = DELETED;
    if (a->state != TRI_ST_RUNNING) return;
    tr_call_fn fn = c->fn;
    void *cookie = c->cookie;
    tr_msg *m = tri_msg_alloc_call(TRI_CALL_REPLY, ref, tr_timeout_atom(), 0);
    if (!m) {
        tri_begin_stop(a, TR_EXIT_FAILURE, "out of memory delivering a call timeout");
        return;
    }
    if (!fn) {
        tri_handle_now(a, m);
        return;
    }
    run_continuation(a, fn, cookie, TR_ETIMEDOUT, m);
    tri_msg_free(m);
}

/* ------------------------------------------------------------- callee
 *
 * Unanswered requests live in an open-addressing table keyed by (caller,
 * ref), so that answering one of many deferred requests costs O(1). Each
 * carries its caller's deadline: once it has passed nobody waits for the
 * answer, so the table forgets it. Expired entries are swept whenever the
 * table has doubled since the last sweep (amortised O(1)), which bounds the
 * memory of a callee that never answers to the requests still awaited:
 * about 64 bytes each (README, "Request/reply"). */

#define REQ_DELETED UINT64_MAX

static uint32_t req_slot(tr_pid caller, uint64_t ref, uint32_t cap)
{
    uint64_t h = (ref ^ caller.serial * 0x9e3779b97f4a7c15ull ^ caller.slot ^ (uint64_t)caller.node << 32);
    return (uint32_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static bool req_empty(const tri_request *r) { return r->caller.serial == 0; }
static bool req_deleted(const tri_request *r) { return r->caller.serial == REQ_DELETED; }

static tri_request *req_find(tri_actor_ext *x, tr_pid caller, uint64_t ref)
{
    if (!x->requests) return NULL;
    for (uint32_t i = req_slot(caller, ref, x->requests_cap);; i = (i + 1) & (x->requests_cap - 1)) {
        tri_request *r = &x->requests[i];
        if (req_empty(r)) return NULL;
        if (r->ref == ref && tr_pid_eq(r->caller, caller)) return r;
    }
}

static void req_remove(tri_actor_ext *x, tri_request *r)
{
    r->caller.serial = REQ_DELETED;
    x->requests_live--;
}

/* Rebuilds the table at `cap`, dropping deleted entries and those whose
 * deadline has passed. */
static bool req_rebuild(tri_actor_ext *x, uint32_t cap, int64_t now)
{
    tri_request *n = calloc(cap, sizeof *n);
    if (!n) return false;
    uint32_t live = 0;
    for (uint32_t i = 0; i < x->requests_cap; i++) {
        tri_request *r = &x->requests[i];
        if (req_empty(r) || req_deleted(r) || r->deadline_ns <= now) continue;
        uint32_t j = req_slot(r->caller, r->ref, cap);
        while (!req_empty(&n[j])) j = (j + 1) & (cap - 1);
        n[j] = *r;
        live++;
    }
    free(x->requests);
    x->requests = n;
    x->requests_cap = cap;
    x->requests_used = x->requests_live = live;
    return true;
}

static void req_add(tri_actor *a, tri_actor_ext *x, tr_pid caller, uint64_t ref, int64_t deadline)
{
    if ((x->requests_used + 1) * 2 > x->requests_cap) {
        int64_t now = tri_now_ns(a->sys);
        /* sweep the expired first: the table may not need to grow */
        uint32_t cap = x->requests_cap ? x->requests_cap : 8;
        if (x->requests_live + 1 > x->requests_prune_at) {
            uint32_t live = 0;
            for (uint32_t i = 0; i < x->requests_cap; i++) {
                tri_request *r = &x->requests[i];
                live += !req_empty(r) && !req_deleted(r) && r->deadline_ns > now;
            }
            while ((live + 1) * 2 > cap) cap *= 2;
            while (cap > 8 && (live + 1) * 8 < cap) cap /= 2; /* shrink after a burst */
            x->requests_prune_at = 2 * (live + 1) > 64 ? 2 * (live + 1) : 64;
        } else {
            while ((x->requests_live + 1) * 2 > cap) cap *= 2;
        }
        if (!req_rebuild(x, cap, now)) {
            tri_log(TR_LOG_ERROR, "out of memory remembering an unanswered request");
            return;
        }
    }
    uint32_t i = req_slot(caller, ref, x->requests_cap);
    while (!req_empty(&x->requests[i]) && !req_deleted(&x->requests[i]))
        i = (i + 1) & (x->requests_cap - 1);
    if (req_empty(&x->requests[i])) x->requests_used++;
    x->requests[i] = (tri_request){caller, ref, deadline};
    x->requests_live++;
}

void tri_request_begin(tri_actor *a, const tr_msg *m)
{
    tri_actor_ext *x = tri_ext(a);
    a->flags &= (uint32_t)~TRI_F_REPLIED;
    if (x) x->current = m;
}

void tri_request_end(tri_actor *a, const tr_msg *m)
{
    tri_actor_ext *x = a->ext;
    if (!x) return;
    x->current = NULL;
    if (a->flags & TRI_F_REPLIED) return;
    req_add(a, x, m->sender, tri_msg_ref(m), tri_msg_deadline(m));
}

/* Forgets a request (answered or dropped); false when it was not pending. */
static bool forget_request(tri_actor *a, tr_pid caller, uint64_t ref)
{
    tri_actor_ext *x = a->ext;
    if (!x) return false;
    if (x->current && x->current->call == TRI_CALL_REQUEST && tri_msg_ref(x->current) == ref &&
        tr_pid_eq(x->current->sender, caller)) {
        a->flags |= TRI_F_REPLIED;
        return true;
    }
    tri_request *r = req_find(x, caller, ref);
    if (!r) return false;
    req_remove(x, r);
    return true;
}

tr_err tr_request_drop(tr_ctx *ctx, tr_request req)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (tr_pid_is_nil(req.caller) || req.ref.id == 0) return TR_EINVAL;
    return forget_request(a, req.caller, req.ref.id) ? TR_OK : TR_ENOENT;
}

static int send_reply(tri_actor *a, tr_pid caller, uint64_t ref, tr_atom type, const void *data,
                      size_t size)
{
    if (type.id == 0 || (size && !data) || tr_pid_is_nil(caller) || ref == 0) return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    forget_request(a, caller, ref);
    tr_msg *m = tri_msg_alloc_call(TRI_CALL_REPLY, ref, type, size);
    if (!m) return TR_ENOMEM;
    if (size) memcpy(m->data, data, size);
    m->sender = tri_pid_of(a);
    int rc = tri_deliver(a->sys, caller, m);
    if (rc == TR_OK) a->msgs_out++;
    return rc;
}

tr_err tr_reply(tr_ctx *ctx, const tr_msg *request, tr_atom type, const void *data, size_t size)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (!request || request->call != TRI_CALL_REQUEST) return TR_EINVAL;
    return send_reply(a, request->sender, tri_msg_ref(request), type, data, size);
}

tr_err tr_reply_to(tr_ctx *ctx, tr_request req, tr_atom type, const void *data, size_t size)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    return send_reply(a, req.caller, req.ref.id, type, data, size);
}

tr_request tr_msg_request(const tr_msg *m)
{
    tr_request r = {TR_PID_NIL, {0}};
    if (m && m->call == TRI_CALL_REQUEST) {
        r.caller = m->sender;
        r.ref.id = tri_msg_ref(m);
    }
    return r;
}

bool tr_msg_is_request(const tr_msg *m) { return m && m->call == TRI_CALL_REQUEST; }

tr_ref tr_msg_ref(const tr_msg *m)
{
    return (tr_ref){m && m->call != TRI_CALL_NONE ? tri_msg_ref(m) : 0};
}

/* Answers "down" for every request the ending actor leaves unanswered and
 * somebody still awaits, and frees its call bookkeeping (the calls' timers
 * die with the actor). */
void tri_calls_end(tri_actor *a, const tr_exit *reason)
{
    tri_actor_ext *x = a->ext;
    tr_pid self = tri_pid_of(a);
    int64_t now = x->requests_live ? tri_now_ns(a->sys) : 0;
    for (uint32_t i = 0; i < x->requests_cap; i++) {
        tri_request *r = &x->requests[i];
        if (req_empty(r) || req_deleted(r) || r->deadline_ns <= now) continue;
        tr_msg *m = tri_exit_msg(tr_down_atom(), TRI_CALL_REPLY, r->ref, self, reason->kind,
                                 reason->text);
        if (m) tri_deliver(a->sys, r->caller, m);
    }
    free(x->requests);
    x->requests = NULL;
    x->requests_cap = x->requests_used = x->requests_live = x->requests_prune_at = 0;
    x->current = NULL;
    free(x->calls);
    x->calls = NULL;
    x->calls_cap = x->calls_used = 0;
}

void tri_request_dead(tr_system *sys, const tr_msg *m, tr_pid callee, tr_exit_kind why)
{
    if (tr_pid_is_nil(m->sender)) return;
    tr_msg *down = tri_exit_msg(tr_down_atom(), TRI_CALL_REPLY, tri_msg_ref(m), callee, why, NULL);
    if (down) tri_deliver(sys, m->sender, down);
}

/* --------------------------------------------------------- call_sync */

static int call_sync(tr_system *sys, tr_pid to, const char *name, tr_atom type, const void *data,
                     size_t size, int64_t timeout_ms, tr_msg **reply)
{
    if (!reply) return TR_EINVAL;
    *reply = NULL;
    if (!sys) return TR_EINVAL;
    tri_worker *w = tri_current_worker;
    if (w) return TR_ENOTACTOR;
    if (type.id == 0 || (size && !data) || (name ? !*name : tr_pid_is_nil(to)) ||
        timeout_ms < TR_INFINITY)
        return TR_EINVAL;
    if (size > TR_MSG_MAX) return TR_ETOOBIG;
    tr_inbox *in;
    int rc = tr_inbox_new(sys, &in);
    if (rc) return rc;
    /* A fresh inbox: ref 1 cannot be confused with anything else. */
    if (timeout_ms > TRI_FOREVER_MS) timeout_ms = TR_INFINITY; /* decades: forever */
    tr_msg *m = tri_msg_alloc_request(
        1, timeout_ms < 0 ? INT64_MAX : tri_now_ns(sys) + timeout_ms * 1000000, type, size);
    if (!m) {
        tr_inbox_destroy(&in);
        return TR_ENOMEM;
    }
    if (size) memcpy(m->data, data, size);
    m->sender = tr_inbox_pid(in);
    /* The timeout covers the whole call: a wait for room in a full
     * TR_FULL_BLOCK mailbox too (by name: the name's node decides). */
    int64_t deadline = timeout_ms >= 0 ? tri_mono_ns() / 1000000 + timeout_ms : 0;
    rc = name ? tri_deliver_to_name(sys, name, m) : tri_deliver_timed(sys, to, m, timeout_ms);
    while (rc == TR_OK) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - tri_mono_ns() / 1000000;
        if (timeout_ms >= 0 && left < 0) left = 0;
        const tr_msg *got;
        rc = tr_inbox_recv(in, &got, left);
        if (rc != TR_OK) break;
        if (got->call != TRI_CALL_REPLY || tri_msg_ref(got) != 1) continue;
        tr_msg *copy = tri_msg_alloc_call(TRI_CALL_REPLY, 1, got->type, got->size);
        if (!copy) {
            rc = TR_ENOMEM;
            break;
        }
        if (got->size) memcpy(copy->data, got->data, got->size);
        copy->sender = got->sender;
        *reply = copy;
        rc = got->type.id == tr_down_atom().id ? TR_ENOENT : TR_OK;
        break;
    }
    tr_inbox_destroy(&in);
    return rc;
}

tr_err tr_call_sync(tr_system *sys, tr_pid to, tr_atom type, const void *data, size_t size,
                 int64_t timeout_ms, tr_msg **reply)
{
    return call_sync(sys, to, NULL, type, data, size, timeout_ms, reply);
}

tr_err tr_call_named_sync(tr_system *sys, const char *name, tr_atom type, const void *data,
                       size_t size, int64_t timeout_ms, tr_msg **reply)
{
    if (!name) {
        if (reply) *reply = NULL;
        return TR_EINVAL;
    }
    return call_sync(sys, TR_PID_NIL, name, type, data, size, timeout_ms, reply);
}

tr_err tr_system_whereis(tr_system *sys, const char *name, int64_t timeout_ms, tr_pid *out)
{
    if (!out) return TR_EINVAL;
    *out = TR_PID_NIL;
    if (!sys || !name) return TR_EINVAL;
    if (!strchr(name, '@')) return tr_whereis(sys, name, out);
    /* any actor answers an inspection itself; the answer's sender is it */
    tr_msg *reply = NULL;
    int rc = call_sync(sys, TR_PID_NIL, name, tr_inspect_atom(), NULL, 0, timeout_ms, &reply);
    if (rc == TR_OK) *out = reply->sender;
    tr_msg_destroy(&reply);
    return rc;
}
