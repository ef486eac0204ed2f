/* hello.c: spawn an actor, send it a message from main, wait for its answer. */
#include <troupe.h>
#include <stdio.h>

static tr_atom HELLO, DONE;

static int greeter_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    if (!tr_msg_is(msg, HELLO))
        return tr_fail(ctx, "unexpected message %s", tr_atom_name(tr_msg_type(msg)));
    printf("hello, %.*s\n", (int)tr_msg_size(msg), (const char *)tr_msg_data(msg));
    /* A message sent from outside any actor with tr_system_send has the nil
     * pid as its sender: there is nobody to answer. */
    tr_pid from = tr_msg_sender(msg);
    if (tr_pid_is_nil(from))
        return 0;
    /* A negative return fails this actor, and with it (no parent traps
     * exits here) the whole tree: never return an error you can handle. */
    return tr_send(ctx, from, DONE, NULL, 0);
}

static const tr_behaviour greeter = {
    .name = "greeter", .handle = greeter_handle,
};

static int failed(const char *what, int rc)
{
    fprintf(stderr, "hello: %s: %s\n", what, tr_strerror(rc));
    return 1;
}

/* Everything between creating the inbox and destroying it; 0 or 1. */
static int greet(tr_system *sys, tr_inbox *me)
{
    tr_pid g;
    int rc = tr_system_spawn(sys, &greeter, &(tr_spawn_opts){.name = "greeter"}, &g);
    if (rc != TR_OK) return failed("tr_system_spawn", rc);
    rc = tr_inbox_send(me, g, HELLO, "world", 5);       /* sender: the inbox */
    if (rc != TR_OK) return failed("tr_inbox_send", rc);
    const tr_msg *reply;                                /* owned by the inbox */
    rc = tr_inbox_recv(me, &reply, 1000);               /* wait up to 1 s */
    if (rc != TR_OK) return failed("tr_inbox_recv (the greeter's answer)", rc);
    if (!tr_msg_is(reply, DONE)) {
        fprintf(stderr, "hello: unexpected answer %s\n", tr_atom_name(tr_msg_type(reply)));
        return 1;
    }
    return 0;
}

int main(void)
{
    HELLO = tr_atom_from("hello");
    DONE = tr_atom_from("done");
    if (HELLO.id == 0 || DONE.id == 0) return failed("tr_atom_from", TR_ENOMEM);
    tr_system *sys;
    int rc = tr_system_new(NULL, &sys);                 /* one worker per core */
    if (rc != TR_OK) return failed("tr_system_new", rc);
    tr_inbox *me;                                       /* the main thread's mailbox */
    rc = tr_inbox_new(sys, &me);
    if (rc != TR_OK) {
        tr_system_destroy(&sys);
        return failed("tr_inbox_new", rc);
    }
    int status = greet(sys, me);
    /* An actor that failed ended the tree; the report names it and why. */
    if (tr_system_wait(sys, 0) == TR_EFAILED) {
        fprintf(stderr, "hello: the actor tree failed:\n%s", tr_system_report(sys));
        status = 1;
    }
    tr_inbox_destroy(&me);                              /* inboxes first, */
    tr_system_destroy(&sys);                            /* then the system */
    return status;
}
