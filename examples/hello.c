/* hello.c — the README's first program: spawn an actor, send it a message
 * from the main thread, wait for its answer with a deadline. */
#include <troupe.h>
#include <stdio.h>

static tr_atom HELLO;

static int greeter_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    printf("hello, %s\n", (const char *)tr_msg_data(msg));
    return tr_send(ctx, tr_msg_sender(msg), HELLO, "done", 5);  /* reply */
}

static const tr_behaviour greeter = {
    .name = "greeter", .handle = greeter_handle,
};

int main(void)
{
    HELLO = tr_atom_from("hello");
    tr_system *sys;
    tr_system_new(NULL, &sys);                 /* one worker per core */
    tr_inbox *me;                              /* the main thread's mailbox */
    tr_inbox_new(sys, &me);
    tr_pid g;
    tr_system_spawn(sys, &greeter, &(tr_spawn_opts){.name = "greeter"}, &g);
    tr_inbox_send(me, g, HELLO, "world", 6);
    const tr_msg *reply;
    tr_inbox_recv(me, &reply, 1000);           /* wait up to 1 s */
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);                   /* stops the tree in order */
    return 0;
}
