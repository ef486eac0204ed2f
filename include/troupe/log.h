/** @file
 * troupe/log.h — the pluggable logger.
 *
 * The library never writes to stdout or stderr except through this logger.
 * By default warnings and errors go to stderr, one line each.
 *
 * Context. A line logged on a worker during an actor's turn — from inside
 * one of its callbacks, by the program (tr_log, tr_log_ctx) or by the
 * runtime — carries that actor's path and pid: a record sink
 * (tr_log_set_record_handler) gets them apart from the text; the default
 * sink writes "troupe <level>: <path>: <text>" (the path left out when the
 * text already names it, as many of the runtime's lines do). A line-only
 * sink (tr_log_set_handler) gets the text as before, with the path put in
 * front only for tr_log_ctx's lines.
 *
 * Which troupe functions may log, and so must not be called from a sink
 * (a line logged from inside the sink, on the sink's thread, is dropped,
 * so doing it loses the line but never deadlocks):
 *  - everything that sends or answers (tr_send*, tr_system_send*,
 *    tr_call*, tr_reply*, tr_inbox_send/reply/recv/destroy, the timers):
 *    a message that reaches no one is a dead letter, logged at debug;
 *  - everything that spawns or starts (tr_spawn, tr_system_spawn,
 *    tr_supervisor_*, tr_sup_*), registers (tr_register: waiters told)
 *    or ends (tr_system_stop_child, tr_system_destroy);
 *  - the node functions (troupe/node.h), the config loader
 *    (troupe/config.h) and tr_offload;
 *  - tr_log and tr_log_ctx themselves.
 * Safe in a sink: the pure helpers (tr_log_level_name, tr_log_get_level,
 * tr_strerror, tr_exit_kind_name, tr_pid_format, tr_atom_name, the
 * tr_msg_* accessors and decoders), tr_system_get_stats, tr_version. */
#ifndef TROUPE_LOG_H
#define TROUPE_LOG_H

#include "troupe/pid.h"

struct tr_ctx;

#ifdef __cplusplus
extern "C" {
#endif

/** A log line's severity, and the threshold (tr_log_set_level). */
typedef enum tr_log_level {
    TR_LOG_DEBUG = 0,
    TR_LOG_INFO = 1,
    TR_LOG_WARN = 2,
    TR_LOG_ERROR = 3,
    TR_LOG_NONE = 4, /**< as a threshold: log nothing */
} tr_log_level;

/** A log sink. `line` is one formatted line without a trailing newline,
 * valid only during the call. Called from any troupe thread, possibly
 * concurrently: the sink must be thread-safe. It must not call back into
 * troupe functions that log (sending messages is fine). */
typedef void (*tr_log_fn)(void *user, tr_log_level level, const char *line);

/** tr_log_set_handler — route every log line to `fn` (NULL restores the
 * default stderr sink); replaces a record sink. Process-wide. Thread-safe,
 * but lines being logged concurrently with the call may still reach the
 * previous sink. */
void tr_log_set_handler(tr_log_fn fn, void *user);

/** One log line with its context, as a record sink receives it. Every
 * pointer is valid only during the call. */
typedef struct tr_log_record {
    tr_log_level level; /**< its severity */
    const char *line; /**< the text, without the path */
    const char *path; /**< the actor in whose turn it was logged
                       * ("/root/app/w"), or NULL: outside any turn (a
                       * non-actor thread, the timer or sysmon thread) */
    tr_pid pid;       /**< that actor's pid, or nil */
} tr_log_record;

/** A sink that gets each line's context apart (for structured logs). The
 * rules of tr_log_fn apply. */
typedef void (*tr_log_record_fn)(void *user, const tr_log_record *record);

/** tr_log_set_record_handler — route every log line to `fn` with its
 * context (NULL restores the default stderr sink); replaces a line sink.
 * Process-wide; thread-safe as tr_log_set_handler. */
void tr_log_set_record_handler(tr_log_record_fn fn, void *user);

/** tr_log_set_level — drop lines below `min` before they are formatted.
 * Process-wide; default TR_LOG_WARN. TR_LOG_NONE switches logging off.
 * Thread-safe. */
void tr_log_set_level(tr_log_level min);

/** tr_log_get_level — the current threshold. Thread-safe. */
tr_log_level tr_log_get_level(void);

/** tr_log — logs one line through the current sink, if `level` passes the
 * threshold. For programs built on troupe, so that their lines and the
 * runtime's go to one place. Called from an actor's callback, the line
 * carries the actor's context (above). Lines are cut at 2047 bytes. Any
 * thread. */
void tr_log(tr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** tr_log_ctx — tr_log for an actor's callback that names the actor
 * explicitly: the line carries ctx's path and pid, and a line-only sink
 * gets "<path>: <text>". With a ctx that is not the caller's in its
 * callback (NULL, kept from an earlier callback, another thread's), the
 * line is logged without a context. Any thread. */
void tr_log_ctx(const struct tr_ctx *ctx, tr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** tr_log_level_name — "debug", "info", "warn", "error" or "none". */
const char *tr_log_level_name(tr_log_level level);

#ifdef __cplusplus
}
#endif
#endif
