/* logcap.h — the troupe log captured for tests to wait on: a sink that
 * keeps every line (up to T_LOG_MAX), and a wait for a line with a
 * deadline (no sleeping). Thread-safe: the sink runs on whichever thread
 * logs; waits run on the test thread. */
#ifndef TROUPE_TEST_LOGCAP_H
#define TROUPE_TEST_LOGCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe.h"

#define T_LOG_MAX 4096

/* Keeps `line` (a copy). With TEST_LOG set in the environment, also
 * prints it on stderr. */
void t_log_keep(const char *line);

/* A tr_log handler that keeps every line (tr_log_set_handler(t_log_sink, NULL)). */
void t_log_sink(void *user, tr_log_level level, const char *line);

/* Forgets every kept line. */
void t_log_clear(void);

/* Whether a kept line contains `a` and `b` (b may be NULL), waiting up to
 * ms (0: already kept); the first such line is copied into out (may be
 * NULL). */
bool t_log_wait(const char *a, const char *b, int64_t ms, char *out, size_t n);

static inline bool t_log_has(const char *a, const char *b)
{
    return t_log_wait(a, b, 0, NULL, 0);
}

#endif
