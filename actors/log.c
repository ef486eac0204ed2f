/* log.c — the pluggable logger: a level threshold and one sink.
 *
 * A line logged on a worker during an actor's turn carries that actor's
 * path and pid (the context), read from the worker's `current`: the path
 * is computed only for a line that passes the threshold, on the actor's
 * own thread, where reading it is safe (lifecycle.c, paths). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

static _Atomic int threshold = TR_LOG_WARN;
static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static tr_log_fn sink_fn;
static tr_log_record_fn record_fn;
static void *sink_user;
/* Set while this thread runs the sink: a line the sink itself causes (it
 * sends to a dead actor, say, at debug level) is dropped rather than
 * deadlock on sink_mu. */
static _Thread_local bool in_sink;

void tr_log_set_handler(tr_log_fn fn, void *user)
{
    pthread_mutex_lock(&sink_mu);
    sink_fn = fn;
    record_fn = NULL;
    sink_user = user;
    pthread_mutex_unlock(&sink_mu);
}

void tr_log_set_record_handler(tr_log_record_fn fn, void *user)
{
    pthread_mutex_lock(&sink_mu);
    record_fn = fn;
    sink_fn = NULL;
    sink_user = user;
    pthread_mutex_unlock(&sink_mu);
}

void tr_log_set_level(tr_log_level min) { atomic_store(&threshold, (int)min); }

tr_log_level tr_log_get_level(void) { return (tr_log_level)atomic_load(&threshold); }

const char *tr_log_level_name(tr_log_level level)
{
    switch (level) {
    case TR_LOG_DEBUG: return "debug";
    case TR_LOG_INFO: return "info";
    case TR_LOG_WARN: return "warn";
    case TR_LOG_ERROR: return "error";
    case TR_LOG_NONE: return "none";
    }
    return "unknown";
}

bool tri_log_enabled(tr_log_level level)
{
    return (int)level >= atomic_load_explicit(&threshold, memory_order_relaxed) &&
           level < TR_LOG_NONE;
}

/* The actor whose turn runs on this thread, or NULL. A turn goes on
 * draining the slot's mailbox after its actor has ended (dead letters), and
 * the slot may meanwhile be set up for a new actor: only an actor alive
 * now is a context, its fields published by the acquire of its serial
 * (spawn.c stores it last, with release). */
static tri_actor *turn_actor(void)
{
    tri_worker *w = tri_current_worker;
    tri_actor *a = w ? atomic_load_explicit(&w->current, memory_order_relaxed) : NULL;
    if (!a) return NULL;
    uint64_t s = atomic_load_explicit(&a->serial, memory_order_acquire);
    return s && atomic_load_explicit(&a->live_serial, memory_order_relaxed) == s ? a : NULL;
}

/* Formats and hands a line to the sink. `a`: the context (may be NULL);
 * `bake`: a line-only sink gets "<path>: <text>" (tr_log_ctx) rather
 * than the text alone (the runtime's lines, tr_log: unchanged for sinks
 * written before lines had a context). The sink is called under a mutex:
 * lines never interleave, and a sink being replaced is never called after
 * tr_log_set_handler returns. */
static void vlog(tr_log_level level, tri_actor *a, bool bake, const char *fmt, va_list ap)
{
    if (in_sink) return;
    char line[2048], path[512] = "";
    vsnprintf(line, sizeof line, fmt, ap);
    tr_pid pid = TR_PID_NIL;
    if (a) {
        tri_actor_path(a, path, sizeof path);
        pid = tri_pid_of(a);
    }
    pthread_mutex_lock(&sink_mu);
    in_sink = true;
    if (record_fn) {
        tr_log_record r = {level, line, a ? path : NULL, pid};
        record_fn(sink_user, &r);
    } else if (sink_fn) {
        if (bake && a) {
            char full[sizeof path + 2 + sizeof line];
            snprintf(full, sizeof full, "%s: %s", path, line);
            sink_fn(sink_user, level, full);
        } else {
            sink_fn(sink_user, level, line);
        }
    } else if (a && !strstr(line, path)) {
        fprintf(stderr, "troupe %s: %s: %s\n", tr_log_level_name(level), path, line);
    } else {
        fprintf(stderr, "troupe %s: %s\n", tr_log_level_name(level), line);
    }
    in_sink = false;
    pthread_mutex_unlock(&sink_mu);
}

void tr_log(tr_log_level level, const char *fmt, ...)
{
    if (!fmt || !tri_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, turn_actor(), false, fmt, ap);
    va_end(ap);
}

void tr_log_ctx(const tr_ctx *ctx, tr_log_level level, const char *fmt, ...)
{
    if (!fmt || !tri_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, tri_ctx_any(ctx), true, fmt, ap);
    va_end(ap);
}

void tri_log(tr_log_level level, const char *fmt, ...)
{
    if (!tri_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, turn_actor(), false, fmt, ap);
    va_end(ap);
}
