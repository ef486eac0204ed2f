/* continuation.c — request/reply from an actor with continuations
 * (tr_call_then, tr_call_named_then): the reply, the timeout and the
 * "callee down" paths, each handed to a function with a cookie instead
 * of arriving in the caller's handle, so the caller keeps no table of
 * pending references.
 *
 * A "callee" answers "ask", never answers "ignore" and ends on "quit"
 * without answering. A "client" makes four calls and reports each outcome
 * to main, which checks them. Exits 0 only if every check holds. */
#include <troupe.h>
#include <stdio.h>
#include <string.h>

static tr_atom ASK, IGNORE, QUIT, ANSWER, OUTCOME;

static int callee_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    if (tr_msg_is(msg, ASK)) return tr_reply(ctx, msg, ANSWER, "42", 2);
    if (tr_msg_is(msg, QUIT)) tr_stop(ctx); /* unanswered: the runtime answers "down" */
    return 0;                               /* IGNORE: the caller's timeout fires */
}

static const tr_behaviour callee_b = {.name = "callee", .handle = callee_handle};

/* One call and the outcome it should get. Its continuation's cookie
 * points to it (static here: nothing to free in the continuation). */
typedef struct pending {
    const char *what;
    int expect; /* TR_OK, TR_ETIMEDOUT or TR_ENOENT */
    int bit;    /* main checks that each call is answered exactly once */
} pending;

static const pending p_ask = {"ask", TR_OK, 1}, p_ignore = {"ignore", TR_ETIMEDOUT, 2},
                     p_quit = {"quit", TR_ENOENT, 4}, p_nobody = {"nobody", TR_ENOENT, 8};

/* The client's state: main's inbox, its args. */
typedef struct client {
    tr_pid main;
} client;

/* The continuation: runs in the client's own turn, exactly once per call,
 * with the client's state and the cookie. Reports "<what>: <outcome>". */
static int on_answer(tr_ctx *ctx, void *state, int status, const tr_msg *answer, void *cookie)
{
    client *c = state;
    const pending *p = cookie;
    char line[160];
    tr_pid who;
    tr_exit why;
    if (status == TR_OK) /* the callee's reply, of the type it chose */
        snprintf(line, sizeof line, "%s: reply %s \"%.*s\"", p->what,
                 tr_atom_name(tr_msg_type(answer)), (int)tr_msg_size(answer),
                 (const char *)tr_msg_data(answer));
    else if (status == TR_ENOENT && tr_exit_decode(answer, &who, &why) == TR_OK) /* "tr.down" */
        snprintf(line, sizeof line, "%s: callee down (%s)", p->what, tr_exit_kind_name(why.kind));
    else /* TR_ETIMEDOUT: the answer is "tr.timeout" */
        snprintf(line, sizeof line, "%s: %s", p->what, tr_atom_name(tr_msg_type(answer)));
    uint8_t buf[256];
    size_t len;
    int rc = tr_pack(buf, sizeof buf, &len, "i32 i32 i32 str", status, p->expect, p->bit, line);
    return rc == TR_OK ? tr_send(ctx, c->main, OUTCOME, buf, len) : rc;
}

/* All four calls go out at once, in init; their answers come in any order. */
static int client_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    client *c = state;
    if (size != sizeof c->main) return TR_EINVAL;
    memcpy(&c->main, args, size);
    /* Two callees: a request still unanswered when its callee ends is
     * answered "down" then, so "ignore" goes to one that stays. */
    tr_pid stays, quits;
    int rc = tr_spawn(ctx, &callee_b, &(tr_spawn_opts){.name = "stays"}, &stays);
    if (rc == TR_OK) rc = tr_spawn(ctx, &callee_b, &(tr_spawn_opts){.name = "quits"}, &quits);
    if (rc == TR_OK) rc = tr_call_then(ctx, stays, ASK, NULL, 0, 1000, on_answer, (void *)&p_ask);
    if (rc == TR_OK) /* a short timeout: the answer is "tr.timeout" after 50 ms */
        rc = tr_call_then(ctx, stays, IGNORE, NULL, 0, 50, on_answer, (void *)&p_ignore);
    if (rc == TR_OK) /* "down" comes as soon as the callee ends, not at the timeout */
        rc = tr_call_then(ctx, quits, QUIT, NULL, 0, 5000, on_answer, (void *)&p_quit);
    if (rc == TR_OK) /* a name nobody has: "down" (noproc) in a later turn, not an error */
        rc = tr_call_named_then(ctx, "nobody", ASK, NULL, 0, 1000, on_answer, (void *)&p_nobody);
    return rc;
}

static int client_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state; /* answers go to on_answer, never here */
    return tr_fail(ctx, "unexpected %s", tr_atom_name(tr_msg_type(msg)));
}

static const tr_behaviour client_b = {.name = "client", .state_size = sizeof(client),
                                      .init = client_init, .handle = client_handle};

int main(void)
{
    ASK = tr_atom_from("ask");
    IGNORE = tr_atom_from("ignore");
    QUIT = tr_atom_from("quit");
    ANSWER = tr_atom_from("answer");
    OUTCOME = tr_atom_from("outcome");
    tr_system *sys;
    tr_inbox *me;
    if (tr_system_new(NULL, &sys) != TR_OK) return 1;
    if (tr_inbox_new(sys, &me) != TR_OK) {
        tr_system_destroy(&sys);
        return 1;
    }
    int failures = 0, seen = 0;
    tr_pid to = tr_inbox_pid(me);
    tr_spawn_opts o = {.name = "client", .args = &to, .args_size = sizeof to};
    int rc = tr_system_spawn(sys, &client_b, &o, NULL);
    if (rc != TR_OK) failures++;
    for (int i = 0; rc == TR_OK && i < 4; i++) {
        const tr_msg *m;
        int32_t status, expect, bit;
        const char *line;
        if ((rc = tr_inbox_recv(me, &m, 2000)) != TR_OK ||
            (rc = tr_unpack_msg(m, "i32 i32 i32 str", &status, &expect, &bit, &line)) != TR_OK) {
            fprintf(stderr, "continuation: outcome %d: %s\n", i + 1, tr_strerror(rc));
            failures++;
            break;
        }
        printf("%-40s %s\n", line, status == expect ? "as expected" : "WRONG");
        failures += status != expect || (seen & bit);
        seen |= bit;
    }
    tr_system_stop(sys);
    rc = tr_system_wait(sys, 5000);
    if (rc != TR_OK) {
        fprintf(stderr, "continuation: the tree ended %s\n%s", tr_strerror(rc),
                tr_system_report(sys));
        failures++;
    }
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    printf("continuation: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
