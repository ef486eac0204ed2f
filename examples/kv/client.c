/* client.c — a client of the store: puts a key, gets it back, and so on,
 * each a call by name with a timeout whose answer comes to a continuation
 * (no table of pending refs). It monitors the store incarnation that
 * answers it, and reports its counts to main when it ends, however. */
#include <stdio.h>
#include <string.h>

#include "kv.h"

typedef struct client {
    kv_client_args a;
    uint32_t sent, ok, missing, timeouts, downs, store_ends;
    tr_pid watched;  /* the store incarnation it monitors */
    char val[16];    /* what it last put... */
    bool have_val;   /* ...if that put succeeded */
} client;

static int next(tr_ctx *ctx, client *c);
static char a_get; /* the cookie of a get's continuation (a put's: NULL) */

TR_SERVER_THEN(on_answer, client)
{
    if (status == TR_OK) {
        if (tr_msg_is(answer, KV_MISSING)) {
            state->missing++; /* the store restarted empty since our put */
        } else if (tr_msg_is(answer, KV_VALUE) && state->have_val &&
                   (tr_msg_size(answer) != strlen(state->val) ||
                    memcmp(tr_msg_data(answer), state->val, tr_msg_size(answer)) != 0)) {
            return tr_fail(ctx, "wrong value back from the store");
        } else {
            state->ok++;
        }
        tr_pid store = tr_msg_sender(answer);
        if (!tr_pid_eq(store, state->watched)) { /* a new incarnation */
            int rc = tr_monitor(ctx, store, NULL);
            if (rc != TR_OK) return rc;
            state->watched = store;
        }
    } else if (status == TR_ETIMEDOUT) {
        state->timeouts++;
    } else {
        state->downs++; /* the store ended (or had not restarted yet) */
    }
    if (!cookie) state->have_val = status == TR_OK; /* a put */
    if (state->a.pace_ms)
        return tr_send_after(ctx, tr_self(ctx), state->a.pace_ms, KV_NEXT, NULL, 0, NULL);
    return next(ctx, state);
}

/* Request i: a put when i is even, then a get of the same key. Client 1
 * puts the poison key once, half-way. */
static int next(tr_ctx *ctx, client *c)
{
    uint32_t i = c->sent, n = c->a.requests;
    if (n && i == n) {
        tr_stop(ctx);
        return 0;
    }
    c->sent++;
    char key[24];
    snprintf(key, sizeof key, "c%u.%u", c->a.id, i / 2 % 64);
    if (c->a.id == 1 && i == (n ? n / 2 & ~1u : 1000)) snprintf(key, sizeof key, KV_POISON);
    uint8_t buf[64];
    size_t len;
    int rc;
    if (i % 2 == 0) {
        snprintf(c->val, sizeof c->val, "v%u", i);
        rc = tr_pack(buf, sizeof buf, &len, "str bytes", key, c->val, strlen(c->val));
    } else {
        rc = tr_pack(buf, sizeof buf, &len, "str", key);
    }
    if (rc == TR_OK)
        rc = tr_call_named_then(ctx, KV_NAME, i % 2 ? KV_GET : KV_PUT, buf, len, KV_TIMEOUT_MS,
                                on_answer, i % 2 ? &a_get : NULL);
    return rc;
}

TR_SERVER_INIT(client_init, client)
{
    if (args_size != sizeof state->a) return TR_EINVAL;
    memcpy(&state->a, args, sizeof state->a);
    return tr_send(ctx, tr_self(ctx), KV_NEXT, NULL, 0);
}

TR_SERVER_CAST(client_next, client) { return next(ctx, state); }

TR_SERVER_CAST(client_store_down, client)
{
    state->store_ends++;
    state->watched = TR_PID_NIL;
    return 0;
}

TR_SERVER_TERMINATE(client_end, client)
{
    uint8_t buf[32];
    size_t len;
    if (tr_pack(buf, sizeof buf, &len, "u32 u32 u32 u32 u32 u32 u32", state->a.id, state->sent,
                state->ok, state->missing, state->timeouts, state->downs,
                state->store_ends) == TR_OK)
        tr_send(ctx, state->a.report_to, KV_DONE, buf, len);
}

TR_SERVER_DEFINE(kv_client, client, .init = client_init, .terminate = client_end,
                 .casts = TR_SERVER_CASTS({"kv.next", client_next},
                                          {"tr.down", client_store_down}));
