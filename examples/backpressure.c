/* backpressure.c — bounded mailboxes (tr_spawn_opts.capacity) and what
 * each policy does with a message that finds the mailbox full:
 *   fail         the send returns TR_EFULL (nothing sent);
 *   drop newest  the new message is dropped, as a dead letter;
 *   drop oldest  the oldest queued one is dropped instead;
 *   block        a non-actor sender waits for room (tr_system_send), or up
 *                to a deadline (tr_system_send_timed); actors never block.
 * Then an actor producer that reacts to TR_EFULL by retrying on a timer.
 *
 * To fill a mailbox on purpose, the consumer's first message holds it on
 * a gate that main opens later: a stand-in for a consumer stuck on slow
 * work (real handlers never block). Exits 0 only if every check holds. */
#include <troupe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum { CAP = 4, N = 10 };
static tr_atom HOLD, HOLDING, ITEM, GOT, PING, PONG, GO, RETRY, FULL;
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* The consumer reports every item it handles to main (its args). */
static int consumer_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    tr_pid main = *(tr_pid *)state;
    if (tr_msg_is(msg, ITEM)) return tr_send(ctx, main, GOT, tr_msg_data(msg), tr_msg_size(msg));
    if (tr_msg_is(msg, PING)) return tr_send(ctx, main, PONG, NULL, 0);
    if (tr_msg_is(msg, HOLD)) {
        int rc = tr_send(ctx, main, HOLDING, NULL, 0);
        pthread_mutex_lock(&gate_mu);
        while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
        return rc;
    }
    return 0;
}

static int keep_args(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    memcpy(state, args, size < sizeof(tr_pid) ? size : sizeof(tr_pid));
    return size == sizeof(tr_pid) ? 0 : TR_EINVAL;
}

static const tr_behaviour consumer_b = {.name = "consumer", .state_size = sizeof(tr_pid),
                                        .init = keep_args, .handle = consumer_handle};

/* The producer sends items 0..N-1 to the consumer named in "go". On
 * TR_EFULL it keeps its place and tries again 1 ms later: for a local
 * mailbox no notice says there is room again (tr_node_notify_room covers
 * the queues to other nodes only). */
typedef struct producer {
    tr_pid main, to; /* main first: init copies the args there */
    int next;
    bool told; /* main was told the mailbox is full */
} producer;

static int producer_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    producer *p = state;
    if (tr_msg_is(msg, GO)) memcpy(&p->to, tr_msg_data(msg), sizeof p->to);
    for (; p->next < N; p->next++) {
        int rc = tr_send(ctx, p->to, ITEM, &p->next, sizeof p->next);
        if (rc == TR_EFULL) {
            if (!p->told) p->told = tr_send(ctx, p->main, FULL, NULL, 0) == TR_OK;
            return tr_send_after(ctx, tr_self(ctx), 1, RETRY, NULL, 0, NULL);
        }
        if (rc != TR_OK) return rc;
    }
    tr_stop(ctx); /* all sent */
    return 0;
}

static const tr_behaviour producer_b = {.name = "producer", .state_size = sizeof(producer),
                                        .init = keep_args, .handle = producer_handle};

static tr_system *sys;
static tr_inbox *me;
static int failures;

/* A consumer with a mailbox of CAP messages and `policy`, held. */
static tr_pid held_consumer(tr_full_policy policy)
{
    tr_pid c = TR_PID_NIL, to = tr_inbox_pid(me);
    const tr_msg *m;
    gate(false);
    tr_spawn_opts o = {.args = &to, .args_size = sizeof to, .capacity = CAP, .on_full = policy};
    if (tr_system_spawn(sys, &consumer_b, &o, &c) != TR_OK ||
        tr_inbox_send(me, c, HOLD, NULL, 0) != TR_OK || tr_inbox_recv(me, &m, 2000) != TR_OK ||
        !tr_msg_is(m, HOLDING))
        failures++;
    return c;
}

/* Appends " <the int in data>" to a list. */
static void note(char *list, size_t size, const void *data)
{
    int v;
    memcpy(&v, data, sizeof v);
    snprintf(list + strlen(list), size - strlen(list), " %d", v);
}

/* Opens the gate, reads what comes until `ngot` items were handled and
 * `ndead` dead letters came, pings (the pong must come next: nothing
 * else was handled) and stops the consumer. Checks the story against
 * `want` ("got 0 1 2 3 dropped 4 ..."). */
static void collect(const char *label, tr_pid c, int ngot, int ndead, const char *want)
{
    char got[64] = "got", dead[64] = " dropped";
    const tr_msg *m;
    int rc = TR_OK;
    tr_dead_letter dl;
    gate(true);
    for (int g = 0, d = 0; g < ngot || d < ndead;) {
        if ((rc = tr_inbox_recv(me, &m, 2000)) != TR_OK) break;
        if (tr_msg_is(m, GOT)) g++, note(got, sizeof got, tr_msg_data(m));
        else if (tr_dead_letter_decode(m, &dl) == TR_OK) d++, note(dead, sizeof dead, dl.data);
    }
    if (rc == TR_OK) rc = tr_inbox_send(me, c, PING, NULL, 0);
    if (rc == TR_OK) rc = tr_inbox_recv(me, &m, 2000);
    tr_system_stop_child(sys, c);
    strcat(got, dead);
    bool good = rc == TR_OK && tr_msg_is(m, PONG) && strcmp(got, want) == 0;
    printf("%-22s %s%s\n", label, got, good ? "" : " WRONG");
    failures += !good;
}

typedef struct sender {
    tr_pid to;
    int bad;
} sender;

static void *blocked_sender(void *arg)
{
    sender *s = arg;
    for (int i = CAP; i < N; i++) /* each send waits until there is room */
        s->bad += tr_system_send(sys, s->to, ITEM, &i, sizeof i) != TR_OK;
    return NULL;
}

static void rounds(void)
{
    static const struct {
        tr_full_policy policy;
        const char *want;
    } r[] = {{TR_FULL_FAIL, "got 0 1 2 3 dropped"},
             {TR_FULL_DROP_NEWEST, "got 0 1 2 3 dropped 4 5 6 7 8 9"},
             {TR_FULL_DROP_OLDEST, "got 6 7 8 9 dropped 0 1 2 3 4 5"}};
    char label[32];
    for (size_t k = 0; k < sizeof r / sizeof *r; k++) {
        tr_pid c = held_consumer(r[k].policy);
        int ok = 0; /* sends accepted; the rest were refused, TR_EFULL */
        for (int i = 0; i < N; i++) ok += tr_system_send(sys, c, ITEM, &i, sizeof i) == TR_OK;
        snprintf(label, sizeof label, "%s: %d/%d sent", tr_full_policy_name(r[k].policy), ok, N);
        collect(label, c, CAP, ok - CAP, r[k].want);
    }

    /* block: a timed send gives up at its deadline; a thread's plain send
     * waits until the consumer has made room. */
    tr_pid c = held_consumer(TR_FULL_BLOCK);
    for (int i = 0; i < CAP; i++) failures += tr_system_send(sys, c, ITEM, &i, sizeof i) != TR_OK;
    int rc = tr_system_send_timed(sys, c, ITEM, &(int){CAP}, sizeof(int), 10);
    failures += rc != TR_ETIMEDOUT; /* not sent: the thread sends CAP.. next */
    sender s = {.to = c};
    pthread_t th;
    if (pthread_create(&th, NULL, blocked_sender, &s) != 0) return (void)failures++;
    collect("block: sender waited", c, N, 0, "got 0 1 2 3 4 5 6 7 8 9 dropped");
    pthread_join(th, NULL);
    failures += s.bad;

    /* An actor producer meets TR_EFULL and retries on a timer. */
    const tr_msg *m;
    tr_pid p, to = tr_inbox_pid(me);
    c = held_consumer(TR_FULL_FAIL);
    tr_spawn_opts o = {.args = &to, .args_size = sizeof to};
    rc = tr_system_spawn(sys, &producer_b, &o, &p);
    if (rc == TR_OK) rc = tr_inbox_send(me, p, GO, &c, sizeof c);
    if (rc == TR_OK) rc = tr_inbox_recv(me, &m, 2000); /* "full": the mailbox is */
    if (rc != TR_OK || !tr_msg_is(m, FULL)) return (void)failures++;
    collect("actor: retry on a timer", c, N, 0, "got 0 1 2 3 4 5 6 7 8 9 dropped");
}

int main(void)
{
    HOLD = tr_atom_from("hold"), HOLDING = tr_atom_from("holding"), ITEM = tr_atom_from("item");
    GOT = tr_atom_from("got"), PING = tr_atom_from("ping"), PONG = tr_atom_from("pong");
    GO = tr_atom_from("go"), RETRY = tr_atom_from("retry"), FULL = tr_atom_from("full");
    /* Two workers: one may sit in the held consumer while the other runs. */
    if (tr_system_new(&(tr_system_opts){.workers = 2}, &sys) != TR_OK) return 1;
    /* Dead letters (what the drop policies drop) come to main's inbox too. */
    if (tr_inbox_new(sys, &me) != TR_OK ||
        tr_system_dead_letters_to(sys, tr_inbox_pid(me)) != TR_OK) {
        tr_system_destroy(&sys);
        return 1;
    }
    rounds();
    gate(true); /* (if a check failed early) */
    tr_system_stop(sys);
    if (tr_system_wait(sys, 5000) != TR_OK) failures++;
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    printf("backpressure: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
