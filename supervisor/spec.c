/* spec.c — checking and encoding supervisor and child specs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "../actors/process_spec.h"
#include "troupe/behaviours.h"

/* -------------------------------------------------------------- buffer */

void tri_put(tri_buf *b, const void *p, size_t n)
{
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void tri_get(tri_rd *r, void *p, size_t n)
{
    if (r->bad || r->n - r->at < n) {
        r->bad = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->p + r->at, n);
    r->at += n;
}

static void put_bytes(tri_buf *b, const void *p, size_t n)
{
    uint64_t len = n;
    tri_put(b, &len, sizeof len);
    if (n) tri_put(b, p, n);
}

/* Returns a malloc'd copy (NUL-terminated, for strings) or NULL. */
static void *get_bytes(tri_rd *r, size_t *n)
{
    uint64_t len = 0;
    tri_get(r, &len, sizeof len);
    if (r->bad || len > r->n - r->at) {
        r->bad = true;
        return NULL;
    }
    char *p = malloc(len + 1);
    if (!p) {
        r->bad = true;
        return NULL;
    }
    memcpy(p, r->p + r->at, len);
    p[len] = '\0';
    r->at += len;
    *n = len;
    return p;
}

/* ---------------------------------------------------------- checking */

static int bad(char *why, size_t size, const char *fmt, const char *id)
{
    if (why && size) snprintf(why, size, fmt, id ? id : "(no id)");
    return TR_EINVAL;
}

int tri_child_check(const tr_child_spec *c, char *why, size_t ws)
{
    if (!c->id || !*c->id || strlen(c->id) > 255 || strchr(c->id, '/'))
        return bad(why, ws, "child '%s': id must be 1 to 255 bytes without '/'", c->id);
    if ((c->behaviour != NULL) + (c->supervisor != NULL) + (c->process != NULL) != 1)
        return bad(why, ws, "child '%s': set exactly one of behaviour, supervisor and process",
                   c->id);
    if (c->process) {
        char pwhy[200];
        if (tr_process_spec_check(c->process, pwhy, sizeof pwhy) != TR_OK) {
            if (why && ws) snprintf(why, ws, "child '%s': %s", c->id, pwhy);
            return TR_EINVAL;
        }
        if (c->args_size || c->args)
            return bad(why, ws, "child '%s': a process child takes no args", c->id);
        if (c->node)
            return bad(why, ws, "child '%s': a process child runs on its supervisor's node", c->id);
    }
    if (c->behaviour && !c->behaviour->handle)
        return bad(why, ws, "child '%s': behaviour has no handle callback", c->id);
    if (c->args_size && !c->args) return bad(why, ws, "child '%s': args_size without args", c->id);
    if ((unsigned)c->restart > TR_TEMPORARY) return bad(why, ws, "child '%s': bad restart type", c->id);
    if (c->shutdown_ms < TR_SHUTDOWN_INFINITY)
        return bad(why, ws, "child '%s': bad shutdown time", c->id);
    if (c->significant && c->restart == TR_PERMANENT)
        return bad(why, ws, "child '%s': a significant child cannot be permanent", c->id);
    if (c->register_as && (!*c->register_as || strlen(c->register_as) > TR_NAME_MAX ||
                           strchr(c->register_as, '@')))
        return bad(why, ws, "child '%s': register_as must be 1 to 255 bytes without '@'", c->id);
    if (c->capacity > (1u << 30) - 1 || (unsigned)c->on_full > TR_FULL_BLOCK)
        return bad(why, ws, "child '%s': bad mailbox capacity or policy", c->id);
    if (c->node) {
        if (!*c->node || strlen(c->node) > 255)
            return bad(why, ws, "child '%s': node must be 1 to 255 bytes", c->id);
        if (c->supervisor)
            return bad(why, ws, "child '%s': a child supervisor cannot run on another node", c->id);
        if (!tr_behaviour_name_of(c->behaviour))
            return bad(why, ws,
                       "child '%s': a child on another node needs a behaviour registered by name "
                       "(tr_behaviour_register)",
                       c->id);
    }
    const tr_backoff *b = &c->backoff;
    if (b->min_ms < 0 || b->max_ms < 0 || b->reset_ms < 0 || b->jitter < 0 || b->jitter > 1 ||
        (b->min_ms && b->max_ms < b->min_ms))
        return bad(why, ws, "child '%s': bad backoff (0 <= min <= max, 0 <= jitter <= 1)", c->id);
    if (c->supervisor) return tri_spec_check(c->supervisor, why, ws);
    return TR_OK;
}

int tri_spec_check(const tr_sup_spec *s, char *why, size_t ws)
{
    if (!s) return bad(why, ws, "%s: no spec", "supervisor");
    if ((unsigned)s->strategy > TR_SIMPLE_ONE_FOR_ONE)
        return bad(why, ws, "%s: unknown strategy", "supervisor");
    if ((unsigned)s->auto_shutdown > TR_AUTO_SHUTDOWN_ALL)
        return bad(why, ws, "%s: unknown auto_shutdown", "supervisor");
    if (s->period_ms < 0) return bad(why, ws, "%s: period_ms must be >= 0", "supervisor");
    if (s->nchildren && !s->children) return bad(why, ws, "%s: nchildren without children", "supervisor");
    if (s->strategy == TR_SIMPLE_ONE_FOR_ONE) {
        if (s->nchildren != 1)
            return bad(why, ws, "%s: simple_one_for_one needs exactly one child spec", "supervisor");
        if (s->auto_shutdown != TR_AUTO_SHUTDOWN_NEVER)
            return bad(why, ws, "%s: simple_one_for_one cannot auto-shutdown", "supervisor");
        if (s->children && s->children[0].register_as)
            return bad(why, ws, "child '%s': a simple_one_for_one template cannot register a name "
                                "(its children would share it)",
                       s->children[0].id);
    }
    for (size_t i = 0; i < s->nchildren; i++) {
        int rc = tri_child_check(&s->children[i], why, ws);
        if (rc) return rc;
        if (s->children[i].significant && s->auto_shutdown == TR_AUTO_SHUTDOWN_NEVER)
            return bad(why, ws,
                       "child '%s': significant under a supervisor whose auto_shutdown is never",
                       s->children[i].id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->children[i].id, s->children[j].id) == 0)
                return bad(why, ws, "child '%s': duplicate id", s->children[i].id);
    }
    return TR_OK;
}

tr_err tr_sup_spec_check(const tr_sup_spec *spec, char *why, size_t why_size)
{
    if (why && why_size) why[0] = '\0';
    return tri_spec_check(spec, why, why_size);
}

/* ---------------------------------------------------------- encoding */

/* What a child is: its byte in the encoding. A process child's args are
 * its encoded process spec (actors/process_spec.h), as a supervisor
 * child's are its encoded supervisor spec. */
enum { CHILD_WORKER = 0, CHILD_SUP = 1, CHILD_PROCESS = 2 };

void tri_encode_child(tri_buf *b, const tr_child_spec *c)
{
    put_bytes(b, c->id, strlen(c->id));
    uint8_t what = c->supervisor ? CHILD_SUP : c->process ? CHILD_PROCESS : CHILD_WORKER;
    bool is_sup = what == CHILD_SUP;
    tri_put(b, &what, 1);
    if (is_sup) {
        tri_buf nested = {0};
        tri_encode_sup(&nested, c->supervisor);
        if (nested.oom) b->oom = true;
        put_bytes(b, nested.p, nested.n);
        free(nested.p);
    } else if (what == CHILD_PROCESS) {
        size_t n = 0;
        void *enc = tri_process_encode(c->process, &n);
        if (!enc) b->oom = true;
        put_bytes(b, enc, enc ? n : 0);
        free(enc);
    } else {
        tri_put(b, &c->behaviour, sizeof c->behaviour);
        put_bytes(b, c->args, c->args_size);
    }
    uint8_t restart = (uint8_t)c->restart, sig = c->significant;
    int64_t shutdown = c->shutdown_ms;
    if (shutdown == TR_SHUTDOWN_DEFAULT) shutdown = is_sup ? TR_SHUTDOWN_INFINITY : 5000;
    tri_put(b, &restart, 1);
    tri_put(b, &sig, 1);
    tri_put(b, &shutdown, sizeof shutdown);
    tri_put(b, &c->backoff, sizeof c->backoff);
    const char *reg = c->register_as ? c->register_as : "";
    put_bytes(b, reg, strlen(reg));
    uint8_t on_full = (uint8_t)c->on_full;
    tri_put(b, &c->capacity, sizeof c->capacity);
    tri_put(b, &on_full, 1);
    const char *node = c->node ? c->node : "";
    put_bytes(b, node, strlen(node));
}

void tri_encode_sup(tri_buf *b, const tr_sup_spec *s)
{
    uint8_t head[2] = {(uint8_t)s->strategy, (uint8_t)s->auto_shutdown};
    uint32_t intensity = s->period_ms ? s->intensity : 1;
    int64_t period = s->period_ms ? s->period_ms : 5000;
    uint64_t n = s->nchildren;
    tri_put(b, head, sizeof head);
    tri_put(b, &intensity, sizeof intensity);
    tri_put(b, &period, sizeof period);
    tri_put(b, &n, sizeof n);
    for (size_t i = 0; i < s->nchildren; i++) tri_encode_child(b, &s->children[i]);
}

void tri_child_free(tri_child *c)
{
    if (!c) return;
    free(c->id);
    free(c->args);
    free(c->register_as);
    free(c->node);
    free(c);
}

tri_child *tri_decode_child(tri_rd *r)
{
    tri_child *c = calloc(1, sizeof *c);
    if (!c) {
        r->bad = true;
        return NULL;
    }
    size_t idlen = 0;
    c->id = get_bytes(r, &idlen);
    uint8_t what = 0, restart = 0, sig = 0;
    tri_get(r, &what, 1);
    if (what == CHILD_SUP) {
        c->beh = &tr_supervisor_behaviour;
        c->type = TR_SUPERVISOR;
    } else if (what == CHILD_PROCESS) {
        c->beh = &tr_process_behaviour;
        c->type = TR_WORKER;
    } else {
        tri_get(r, &c->beh, sizeof c->beh);
        c->type = TR_WORKER;
    }
    c->args = get_bytes(r, &c->args_size);
    tri_get(r, &restart, 1);
    tri_get(r, &sig, 1);
    tri_get(r, &c->shutdown_ms, sizeof c->shutdown_ms);
    tri_get(r, &c->backoff, sizeof c->backoff);
    size_t reglen = 0;
    c->register_as = get_bytes(r, &reglen);
    if (c->register_as && reglen == 0) {
        free(c->register_as);
        c->register_as = NULL;
    }
    tri_get(r, &c->capacity, sizeof c->capacity);
    tri_get(r, &c->on_full, 1);
    size_t nodelen = 0;
    c->node = get_bytes(r, &nodelen);
    if (c->node && nodelen == 0) {
        free(c->node);
        c->node = NULL;
    }
    c->restart = (tr_restart)restart;
    c->significant = sig != 0;
    if (r->bad || !c->id || !c->beh || restart > TR_TEMPORARY || what > CHILD_PROCESS) {
        r->bad = true;
        tri_child_free(c);
        return NULL;
    }
    c->delay_ms = c->backoff.min_ms;
    return c;
}

void tri_conf_free(tri_sup_conf *conf)
{
    for (size_t i = 0; i < conf->n; i++) tri_child_free(conf->children[i]);
    free(conf->children);
    conf->children = NULL;
    conf->n = 0;
}

int tri_decode_sup(const void *p, size_t n, tri_sup_conf *out)
{
    tri_rd r = {p, n, 0, false};
    uint8_t head[2] = {0, 0};
    uint64_t count = 0;
    memset(out, 0, sizeof *out);
    tri_get(&r, head, sizeof head);
    tri_get(&r, &out->intensity, sizeof out->intensity);
    tri_get(&r, &out->period_ms, sizeof out->period_ms);
    tri_get(&r, &count, sizeof count);
    out->strategy = (tr_strategy)head[0];
    out->auto_shutdown = (tr_auto_shutdown)head[1];
    if (r.bad || head[0] > TR_SIMPLE_ONE_FOR_ONE || head[1] > TR_AUTO_SHUTDOWN_ALL ||
        count > (n - r.at))
        return -1;
    out->children = calloc(count ? count : 1, sizeof *out->children);
    if (!out->children) return -1;
    for (uint64_t i = 0; i < count; i++) {
        tri_child *c = tri_decode_child(&r);
        if (!c) {
            tri_conf_free(out);
            return -1;
        }
        c->pos = out->n;
        out->children[out->n++] = c;
    }
    out->cap = count ? count : 1;
    return 0;
}
