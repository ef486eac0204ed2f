/* log.c — the pluggable logger: a level threshold and one sink. */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

static _Atomic int threshold = TR_LOG_WARN;
static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static tr_log_fn sink_fn;
static void *sink_user;

void tr_log_set_handler(tr_log_fn fn, void *user)
{
    pthread_mutex_lock(&sink_mu);
    sink_fn = fn;
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

static void vlog(tr_log_level level, const char *fmt, va_list ap);

void tr_log(tr_log_level level, const char *fmt, ...)
{
    if (!fmt || !tri_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

/* The sink is called under a mutex: lines never interleave, and a sink
 * being replaced is never called after tr_log_set_handler returns. */
void tri_log(tr_log_level level, const char *fmt, ...)
{
    if (!tri_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

static void vlog(tr_log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    vsnprintf(line, sizeof line, fmt, ap);
    pthread_mutex_lock(&sink_mu);
    if (sink_fn) sink_fn(sink_user, level, line);
    else fprintf(stderr, "troupe %s: %s\n", tr_log_level_name(level), line);
    pthread_mutex_unlock(&sink_mu);
}
