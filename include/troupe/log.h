/* troupe/log.h — the pluggable logger.
 *
 * The library never writes to stdout or stderr except through this logger.
 * By default warnings and errors go to stderr, one line each. */
#ifndef TROUPE_LOG_H
#define TROUPE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tr_log_level {
    TR_LOG_DEBUG = 0,
    TR_LOG_INFO = 1,
    TR_LOG_WARN = 2,
    TR_LOG_ERROR = 3,
    TR_LOG_NONE = 4, /* as a threshold: log nothing */
} tr_log_level;

/* A log sink. `line` is one formatted line without a trailing newline,
 * valid only during the call. Called from any troupe thread, possibly
 * concurrently: the sink must be thread-safe. It must not call back into
 * troupe functions that log (sending messages is fine). */
typedef void (*tr_log_fn)(void *user, tr_log_level level, const char *line);

/* tr_log_set_handler — route every log line to `fn` (NULL restores the
 * default stderr sink). Process-wide. Thread-safe, but lines being logged
 * concurrently with the call may still reach the previous sink. */
void tr_log_set_handler(tr_log_fn fn, void *user);

/* tr_log_set_level — drop lines below `min` before they are formatted.
 * Process-wide; default TR_LOG_WARN. TR_LOG_NONE switches logging off.
 * Thread-safe. */
void tr_log_set_level(tr_log_level min);

/* tr_log_get_level — the current threshold. Thread-safe. */
tr_log_level tr_log_get_level(void);

/* tr_log — logs one line through the current sink, if `level` passes the
 * threshold. For programs built on troupe, so that their lines and the
 * runtime's go to one place. Any thread. */
void tr_log(tr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tr_log_level_name — "debug", "info", "warn", "error" or "none". */
const char *tr_log_level_name(tr_log_level level);

#ifdef __cplusplus
}
#endif
#endif
