/* timers.c — time: a one-shot timer (tr_send_after), a periodic one
 * (tr_send_every) cancelled after three ticks, and a deadline on a child
 * (tr_spawn_opts.deadline_ms, Trio's fail_after).
 *
 * The system runs on a manual clock, which main moves forward by hand:
 * the example runs in no time and every step is exact. With the real
 * clock (tr_system_opts.clock NULL) the same actor code runs in real time.
 * Exits 0 only if every check holds. */
#include <troupe.h>
#include <stdio.h>
#include <string.h>

static tr_atom START, TICK, ALARM, REPORT;

/* A child that does nothing until its deadline stops it. */
static int idle_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)ctx, (void)state, (void)msg;
    return 0;
}
static const tr_behaviour job_b = {.name = "job", .handle = idle_handle};

typedef struct ticker {
    tr_pid main;     /* where reports go (its spawn args) */
    tr_timer every;  /* the periodic timer, to cancel it */
    int ticks;
} ticker;

/* Reports "<time> <text>" to main; the time is the system clock's. */
static int report(tr_ctx *ctx, ticker *t, const char *text)
{
    char line[96];
    int n = snprintf(line, sizeof line, "t=%lld %s", (long long)tr_now_ms(ctx), text);
    return tr_send(ctx, t->main, REPORT, line, (size_t)n);
}

static int ticker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    (void)ctx;
    ticker *t = state;
    if (size != sizeof t->main) return TR_EINVAL;
    memcpy(&t->main, args, size);
    return 0;
}

static int ticker_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    ticker *t = state;
    int rc = 0;
    char text[64];
    if (tr_msg_is(msg, START)) {
        /* Timers belong to the actor that arms them and die with it. */
        rc = tr_send_after(ctx, tr_self(ctx), 15, ALARM, NULL, 0, NULL);
        if (rc == TR_OK) rc = tr_send_every(ctx, tr_self(ctx), 10, TICK, NULL, 0, &t->every);
        /* The job must be done within 50 ms, or it is stopped with reason
         * timeout: a failure for its parent, which traps exits here and so
         * gets a "tr.exit" message instead of failing. */
        if (rc == TR_OK)
            rc = tr_spawn(ctx, &job_b, &(tr_spawn_opts){.name = "job", .deadline_ms = 50}, NULL);
        if (rc == TR_OK) rc = report(ctx, t, "armed");
    } else if (tr_msg_is(msg, TICK)) {
        snprintf(text, sizeof text, "tick %d", ++t->ticks);
        rc = report(ctx, t, text);
        if (rc == TR_OK && t->ticks == 3) /* TR_OK: it was pending and never fires again */
            rc = report(ctx, t, tr_timer_cancel(ctx, t->every) == TR_OK ? "cancelled" : "?");
    } else if (tr_msg_is(msg, ALARM)) {
        rc = report(ctx, t, "alarm");
    } else if (tr_msg_is(msg, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        if ((rc = tr_exit_decode(msg, &who, &why)) == TR_OK) {
            snprintf(text, sizeof text, "job ended: %s", tr_exit_kind_name(why.kind));
            rc = report(ctx, t, text);
        }
    }
    return rc;
}

static const tr_behaviour ticker_b = {.name = "ticker", .state_size = sizeof(ticker),
                                      .init = ticker_init, .handle = ticker_handle};

static int failures;

/* Moves the clock forward; when tr_clock_advance returns, every timer due
 * by then has fired. Then checks the reports that follow, in order. */
static void advance(tr_clock *clock, tr_inbox *me, int64_t ms, const char *const *want)
{
    if (ms && tr_clock_advance(clock, ms) != TR_OK) failures++;
    for (; *want; want++) {
        const tr_msg *m;
        int rc = tr_inbox_recv(me, &m, 2000);
        size_t n = rc == TR_OK ? tr_msg_size(m) : 0;
        int same = n == strlen(*want) && memcmp(tr_msg_data(m), *want, n) == 0;
        printf("%-24.*s %s\n", (int)n, n ? (const char *)tr_msg_data(m) : "", same ? "" : "WRONG");
        if (!same) fprintf(stderr, "timers: wanted \"%s\" (%s)\n", *want, tr_strerror(rc));
        failures += !same;
    }
}

int main(void)
{
    START = tr_atom_from("start");
    TICK = tr_atom_from("tick");
    ALARM = tr_atom_from("alarm");
    REPORT = tr_atom_from("report");
    tr_clock *clock;
    tr_system *sys = NULL;
    tr_inbox *me = NULL;
    if (tr_clock_manual_new(&clock) != TR_OK) return 1;
    int rc = tr_system_new(&(tr_system_opts){.clock = clock}, &sys);
    if (rc == TR_OK) rc = tr_inbox_new(sys, &me);
    tr_pid to = me ? tr_inbox_pid(me) : TR_PID_NIL, t;
    if (rc == TR_OK)
        rc = tr_system_spawn(sys, &ticker_b,
                             &(tr_spawn_opts){.name = "ticker", .args = &to, .args_size = sizeof to,
                                              .flags = TR_SPAWN_TRAP_EXITS},
                             &t);
    if (rc == TR_OK) rc = tr_inbox_send(me, t, START, NULL, 0);
    if (rc != TR_OK) failures++;
    else {
        advance(clock, me, 0, (const char *[]){"t=0 armed", NULL});
        advance(clock, me, 10, (const char *[]){"t=10 tick 1", NULL});
        advance(clock, me, 5, (const char *[]){"t=15 alarm", NULL});
        advance(clock, me, 5, (const char *[]){"t=20 tick 2", NULL});
        advance(clock, me, 10, (const char *[]){"t=30 tick 3", "t=30 cancelled", NULL});
        /* No tick at 40 or 50: the next report is the job's end. */
        advance(clock, me, 20, (const char *[]){"t=50 job ended: timeout", NULL});
    }
    tr_system_stop(sys);
    if (tr_system_wait(sys, 5000) != TR_OK) failures++;
    tr_inbox_destroy(&me);
    tr_system_destroy(&sys);
    tr_clock_destroy(&clock); /* after every system that uses it */
    printf("timers: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
