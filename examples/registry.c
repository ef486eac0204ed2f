/* registry.c — names: register, send and call by name, wait for a name
 * (tr_await_name from an actor, tr_system_await_name from main), and a
 * name that follows a supervised child across restarts (the child spec's
 * register_as, OTP's {local, Name}).
 *
 * A "counter" counts "add" messages and answers "get" calls with its
 * count. A "greeter" starts before any counter exists and waits for the
 * name. Exits 0 only if every check holds. */
#include <troupe.h>
#include <stdio.h>
#include <string.h>

static tr_atom ADD, GET, COUNT, CRASH, READY;
static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "registry: check failed: " __VA_ARGS__);                               \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int counter_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    uint64_t *count = state;
    if (tr_msg_is(msg, ADD)) ++*count;
    else if (tr_msg_is(msg, GET)) return tr_reply(ctx, msg, COUNT, count, sizeof *count);
    else if (tr_msg_is(msg, CRASH)) return tr_fail(ctx, "asked to crash");
    return 0;
}

static const tr_behaviour counter_b = {.name = "counter", .state_size = sizeof(uint64_t),
                                       .handle = counter_handle};

/* The greeter asks for a "tr.name" notice in init and, when the counter
 * appears, adds 1 to it by name and tells main (its args) the pid. */
static int greeter_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    if (size != sizeof(tr_pid)) return TR_EINVAL;
    memcpy(state, args, size);
    return tr_await_name(ctx, "counter", 2000, NULL);
}

static int greeter_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    tr_pid counter;
    if (!tr_msg_is(msg, tr_name_atom())) return 0;
    int rc = tr_name_decode(msg, NULL, &counter, NULL); /* TR_ETIMEDOUT: it never came */
    if (rc == TR_OK) rc = tr_send_named(ctx, "counter", ADD, NULL, 0);
    if (rc == TR_OK) rc = tr_send(ctx, *(tr_pid *)state, READY, &counter, sizeof counter);
    tr_stop(ctx); /* its job is done */
    return rc;
}

static const tr_behaviour greeter_b = {.name = "greeter", .state_size = sizeof(tr_pid),
                                       .init = greeter_init, .handle = greeter_handle};

/* Calls "get" by name (as a client that knows only the name) and checks
 * the count. */
static void expect_count(tr_system *sys, uint64_t want)
{
    tr_msg *reply = NULL;
    int rc = tr_call_named_sync(sys, "counter", GET, NULL, 0, 1000, &reply);
    CHECK(rc == TR_OK, "get: %s", tr_strerror(rc));
    if (rc == TR_OK) {
        uint64_t got;
        memcpy(&got, tr_msg_data(reply), sizeof got);
        printf("counter: %llu\n", (unsigned long long)got);
        CHECK(got == want, "count %llu, want %llu", (unsigned long long)got,
              (unsigned long long)want);
    }
    tr_msg_destroy(&reply); /* the caller owns a sync call's reply */
}

static void run(tr_system *sys, tr_inbox *me)
{
    tr_pid to = tr_inbox_pid(me), from_greeter, first, second;
    int rc = tr_system_spawn(sys, &greeter_b, &(tr_spawn_opts){.args = &to, .args_size = sizeof to},
                             NULL);
    CHECK(rc == TR_OK, "spawn greeter: %s", tr_strerror(rc));

    /* Each incarnation of the child is registered before its init runs;
     * the name goes when it ends. */
    tr_child_spec kids[] = {{.id = "counter", .behaviour = &counter_b, .register_as = "counter"}};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE, .children = kids, .nchildren = 1};
    tr_pid sup;
    char why[256] = "";
    rc = tr_supervisor_start(sys, &spec, "sup", 1000, &sup, why, sizeof why);
    CHECK(rc == TR_OK, "start: %s %s", tr_strerror(rc), why);
    rc = tr_system_await_name(sys, "counter", 1000, &first); /* registered now: no wait */
    CHECK(rc == TR_OK, "await counter: %s", tr_strerror(rc));

    const tr_msg *m;
    rc = tr_inbox_recv(me, &m, 2000); /* the greeter found it too */
    CHECK(rc == TR_OK && tr_msg_is(m, READY), "no word from the greeter: %s", tr_strerror(rc));
    if (rc == TR_OK) {
        memcpy(&from_greeter, tr_msg_data(m), sizeof from_greeter);
        CHECK(tr_pid_eq(from_greeter, first), "the greeter found another pid");
    }
    for (int i = 0; i < 2; i++) tr_system_send_named(sys, "counter", ADD, NULL, 0);
    expect_count(sys, 3); /* the greeter's add and ours, in order before the call */

    /* A crash: the supervisor restarts the counter, and the name follows.
     * Waiting for the old one's "tr.down" first makes sure the name we
     * await next is the new incarnation's, not the old one's. */
    rc = tr_inbox_monitor(me, first, NULL);
    if (rc == TR_OK) rc = tr_system_send_named(sys, "counter", CRASH, NULL, 0);
    if (rc == TR_OK) rc = tr_inbox_recv(me, &m, 2000);
    CHECK(rc == TR_OK && tr_msg_is(m, tr_down_atom()), "no tr.down: %s", tr_strerror(rc));
    rc = tr_system_await_name(sys, "counter", 1000, &second);
    CHECK(rc == TR_OK && !tr_pid_eq(first, second), "after the restart: %s, %s pid",
          tr_strerror(rc), tr_pid_eq(first, second) ? "same" : "new");
    char a[TR_PID_STRLEN], b[TR_PID_STRLEN];
    printf("\"counter\" was %s, is %s\n", tr_pid_format(first, a, sizeof a),
           tr_pid_format(second, b, sizeof b));
    expect_count(sys, 0); /* a new incarnation starts from a fresh state */

    /* tr_register names any live actor by hand; tr_whereis never waits. */
    tr_pid alias;
    rc = tr_register(sys, "tally", second);
    if (rc == TR_OK) rc = tr_whereis(sys, "tally", &alias);
    CHECK(rc == TR_OK && tr_pid_eq(alias, second), "tally: %s", tr_strerror(rc));
    CHECK(tr_register(sys, "old", first) == TR_ENOENT, "a dead actor got a name");
    CHECK(tr_unregister(sys, "tally") == TR_OK, "unregister");
    CHECK(tr_whereis(sys, "tally", &alias) == TR_ENOENT, "tally is still registered");
}

int main(void)
{
    ADD = tr_atom_from("add");
    GET = tr_atom_from("get");
    COUNT = tr_atom_from("count");
    CRASH = tr_atom_from("crash");
    READY = tr_atom_from("ready");
    tr_system *sys;
    tr_inbox *me;
    if (tr_system_new(NULL, &sys) != TR_OK) return 1;
    if (tr_inbox_new(sys, &me) != TR_OK) {
        tr_system_destroy(&sys);
        return 1;
    }
    run(sys, me);
    tr_system_stop(sys);
    int end = tr_system_wait(sys, 5000);
    CHECK(end == TR_OK, "the tree ended %s\n%s", tr_strerror(end), tr_system_report(sys));
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    printf("registry: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
