/* builtins.c — behaviours built into troupe, so that a config runs with no
 * plugin: "troupe.echo" and "troupe.ticker" (documented in
 * troupe/config.h). Both log their start and their end at info level: a
 * `troupe run` log shows the tree's start and stop order. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

static void log_event(tr_ctx *ctx, const char *beh, const char *what, const tr_exit *why)
{
    if (tr_log_get_level() > TR_LOG_INFO) return;
    char path[256];
    tr_path(ctx, path, sizeof path);
    if (why)
        tr_log(TR_LOG_INFO, "%s: %s %s (%s%s%s)", path, beh, what, tr_exit_kind_name(why->kind),
               why->text ? ": " : "", why->text ? why->text : "");
    else
        tr_log(TR_LOG_INFO, "%s: %s %s", path, beh, what);
}

/* ---------------------------------------------------------------- echo */

static int echo_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)state, (void)args, (void)size;
    log_event(ctx, "troupe.echo", "started", NULL);
    return 0;
}

static int echo_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (!tr_msg_is_request(m)) return 0;
    return tr_reply(ctx, m, tr_msg_type(m), tr_msg_data(m), tr_msg_size(m));
}

static void echo_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    (void)state;
    log_event(ctx, "troupe.echo", "terminated", why);
}

const tr_behaviour tr_echo_behaviour = {"troupe.echo", 0, echo_init, echo_handle, echo_terminate};

/* -------------------------------------------------------------- ticker */

typedef struct ticker {
    char to[TR_NAME_MAX + 1];
    tr_atom type;
    char *payload; /* malloc'd; NULL when empty */
    size_t payload_len;
    int64_t count, sent; /* count 0: unlimited */
} ticker;

static tr_atom fire_atom(void) { return tr_atom_from("troupe.ticker.fire"); }

static int ticker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    ticker *t = state;
    char why[160];
    if (tr_args_check(args, size, why, sizeof why) != TR_OK)
        return tr_fail(ctx, "troupe.ticker: %s", why);
    int64_t interval;
    int rc = tr_args_duration(args, size, "interval", &interval);
    if (rc != TR_OK || interval <= 0)
        return tr_fail(ctx, "troupe.ticker: args.interval: %s",
                       rc == TR_ENOENT ? "required (a duration such as 1s)"
                                       : "expected a duration above 0 such as 1s");
    const char *to;
    size_t len;
    rc = tr_args_str(args, size, "to", &to, &len);
    if (rc != TR_OK || len == 0 || len > TR_NAME_MAX || strlen(to) != len || strchr(to, '@'))
        return tr_fail(ctx, "troupe.ticker: args.to: %s",
                       rc == TR_ENOENT ? "required (the registered name to tick)"
                                       : "expected a name of 1 to 255 bytes without '@'");
    memcpy(t->to, to, len + 1);
    const char *type = "tick";
    rc = tr_args_str(args, size, "type", &type, NULL);
    if (rc == TR_ENOENT) type = "tick";
    if ((rc != TR_OK && rc != TR_ENOENT) || !(t->type = tr_atom_from(type)).id)
        return tr_fail(ctx, "troupe.ticker: args.type: expected a message type of 1 to 255 bytes");
    rc = tr_args_int(args, size, "count", &t->count);
    if ((rc != TR_OK && rc != TR_ENOENT) || t->count < 0 || (rc == TR_OK && t->count == 0))
        return tr_fail(ctx, "troupe.ticker: args.count: expected an integer above 0");
    const char *payload;
    rc = tr_args_str(args, size, "payload", &payload, &t->payload_len);
    if (rc != TR_OK && rc != TR_ENOENT)
        return tr_fail(ctx, "troupe.ticker: args.payload: expected a string");
    if (rc == TR_OK && t->payload_len) {
        if (!(t->payload = malloc(t->payload_len))) return TR_ENOMEM;
        memcpy(t->payload, payload, t->payload_len);
    } else {
        t->payload_len = 0;
    }
    if ((rc = tr_send_every(ctx, tr_self(ctx), interval, fire_atom(), NULL, 0, NULL)) != TR_OK) {
        free(t->payload);
        return rc;
    }
    log_event(ctx, "troupe.ticker", "started", NULL);
    return 0;
}

static int ticker_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    ticker *t = state;
    if (!tr_msg_is(m, fire_atom()) || !tr_pid_eq(tr_msg_sender(m), tr_self(ctx))) return 0;
    int rc = tr_send_named(ctx, t->to, t->type, t->payload, t->payload_len);
    if (rc == TR_ENOENT)
        return tr_fail(ctx, "troupe.ticker: no actor is registered as '%s'", t->to);
    if (rc != TR_OK) return tr_fail(ctx, "troupe.ticker: tick to '%s': %s", t->to, tr_strerror(rc));
    if (t->count && ++t->sent >= t->count) tr_stop(ctx);
    return 0;
}

static void ticker_terminate(tr_ctx *ctx, void *state, const tr_exit *why)
{
    ticker *t = state;
    free(t->payload);
    t->payload = NULL;
    log_event(ctx, "troupe.ticker", "terminated", why);
}

const tr_behaviour tr_ticker_behaviour = {"troupe.ticker", sizeof(ticker), ticker_init,
                                          ticker_handle, ticker_terminate};

/* ------------------------------------------------------------ registry */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_rc;

static void register_all(void)
{
    once_rc = tr_behaviour_register("troupe.echo", &tr_echo_behaviour);
    if (once_rc == TR_OK) once_rc = tr_behaviour_register("troupe.ticker", &tr_ticker_behaviour);
}

tr_err tr_builtins_register(void)
{
    pthread_once(&once, register_all);
    return once_rc;
}
