/* restart — N sequential restarts of a supervised worker.
 * Usage: restart [N]   (default 100,000)
 * Logging is switched off (TR_LOG_NONE: lines are dropped before they are
 * formatted), as the Erlang peer sets OTP's primary logger level to none.
 * Setup (untimed): a one_for_one supervisor, intensity 10*N restarts in
 * 1000 ms (so it never trips), with one permanent WORKER child, whose init
 * sends up(self) to the driver.
 * Timed: from the first `up` (the supervisor's initial start) to the N-th
 * `up` after a crash; each cycle is: the driver sends `crash`, the worker
 * fails, the supervisor restarts it, the new worker's init sends `up`.
 * Checks: every `up` comes from a new pid; afterwards the supervisor is
 * alive, its only child is the last worker that sent `up` (restarted N
 * times), and no further `up` is pending. */
#include "bench_common.h"

static tr_atom A_UP, A_CRASH;

/* WORKER: its state is the driver's pid. */
static int worker_init(tr_ctx *ctx, void *state, const void *args, size_t size)
{
    int rc = bench_init_copy(state, sizeof(tr_pid), args, size);
    if (rc != 0) return rc;
    tr_pid self = tr_self(ctx);
    return tr_send(ctx, *(const tr_pid *)state, A_UP, &self, sizeof self);
}

/* `crash` fails it (an abnormal exit, as Erlang's exit(crash)). */
static int worker_handle(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (tr_msg_is(m, A_CRASH)) return tr_fail(ctx, "crash");
    return tr_fail(ctx, "worker: unexpected '%s'", tr_atom_name(tr_msg_type(m)));
}

static const tr_behaviour worker_beh = {.name = "worker",
                                        .state_size = sizeof(tr_pid),
                                        .init = worker_init,
                                        .handle = worker_handle};

/* The driver's receive of the next `up`, as bench_recv, but it also says
 * at once when the supervisor has died: a supervisor that ends (e.g. by
 * reaching its intensity, with reason shutdown) does not end the system,
 * so the check is made whenever a slice passes without a message (never
 * on the timed path, where `up` is already on its way). Returns the pid
 * carried by `up`, which must also be its sender. */
static void supervisor_alive(bench *b, void *arg)
{
    tr_actor_info info;
    int rc = tr_system_inspect(b->sys, *(const tr_pid *)arg, &info, BENCH_RECV_SLICE_MS);
    if (rc != TR_OK) bench_fail("restart: the supervisor is gone (inspect: %s)", tr_strerror(rc));
}

static tr_pid recv_up(bench *b, tr_pid sup)
{
    const tr_msg *m = bench_recv_checked(b, A_UP, supervisor_alive, &sup);
    tr_pid w;
    if (tr_msg_size(m) != sizeof w) bench_fail("restart: up of %zu bytes", tr_msg_size(m));
    memcpy(&w, tr_msg_data(m), sizeof w);
    if (tr_pid_is_nil(w) || !tr_pid_eq(w, tr_msg_sender(m)))
        bench_fail("restart: up(pid) does not name its sender");
    return w;
}

int main(int argc, char **argv)
{
    int64_t n = bench_arg(argc, argv, 1, 100000);
    if (n > UINT32_MAX / 10) bench_fail("restart: N too large for an intensity of 10*N");
    A_UP = bench_atom("up");
    A_CRASH = bench_atom("crash");
    tr_log_level old_level = tr_log_get_level();
    tr_log_set_level(TR_LOG_NONE);
    bench b = bench_start();

    tr_child_spec child = {.id = "worker",
                           .behaviour = &worker_beh,
                           .args = &b.driver,
                           .args_size = sizeof b.driver,
                           .restart = TR_PERMANENT,
                           .shutdown_ms = 5000};
    tr_sup_spec spec = {.strategy = TR_ONE_FOR_ONE,
                        .intensity = (uint32_t)(10 * n),
                        .period_ms = 1000,
                        .children = &child,
                        .nchildren = 1};
    tr_pid sup;
    char why[256] = "";
    int rc = tr_supervisor_start(b.sys, &spec, "sup", BENCH_RECV_TIMEOUT_MS, &sup, why, sizeof why);
    if (rc != TR_OK) bench_fail("tr_supervisor_start: %s (%s)", tr_strerror(rc), why);

    tr_pid last = recv_up(&b, sup);
    double t0 = bench_now();
    for (int64_t r = 0; r < n; r++) {
        bench_send(&b, last, A_CRASH, NULL, 0);
        tr_pid w = recv_up(&b, sup);
        if (tr_pid_eq(w, last)) bench_fail("restart: up %" PRId64 " from the same pid", r + 1);
        last = w;
    }
    double t1 = bench_now();

    /* Checks (untimed). */
    tr_actor_info info;
    rc = tr_system_inspect(b.sys, sup, &info, BENCH_RECV_TIMEOUT_MS);
    if (rc != TR_OK) bench_fail("restart: the supervisor is not alive (inspect: %s)", tr_strerror(rc));
    if (info.restarts != (uint64_t)n)
        bench_fail("restart: the supervisor counts %" PRIu64 " restarts, expected %" PRId64,
                   info.restarts, n);
    tr_child_info kids[2];
    memset(kids, 0, sizeof kids);
    size_t nkids = 0;
    rc = tr_sup_which_children_sync(b.sys, sup, kids, 2, &nkids, BENCH_RECV_TIMEOUT_MS);
    if (rc != TR_OK) bench_fail("restart: which_children: %s", tr_strerror(rc));
    if (nkids != 1 || strcmp(kids[0].id, "worker") != 0 || !tr_pid_eq(kids[0].pid, last) ||
        kids[0].restarts != (uint64_t)n) {
        char want[TR_PID_STRLEN], got[TR_PID_STRLEN];
        bench_fail("restart: children: %zu, first '%s' pid %s restarts %" PRIu64
                   "; expected 1, 'worker' pid %s restarts %" PRId64,
                   nkids, nkids ? kids[0].id : "", tr_pid_format(kids[0].pid, got, sizeof got),
                   nkids ? kids[0].restarts : 0, tr_pid_format(last, want, sizeof want), n);
    }
    const tr_msg *extra;
    rc = tr_inbox_recv(b.in, &extra, 0);
    if (rc != TR_ETIMEDOUT)
        bench_fail("restart: a message after the last up (%s)",
                   rc == TR_OK ? tr_atom_name(tr_msg_type(extra)) : tr_strerror(rc));

    bench_report_rate("restart", n, t1 - t0, "restarts/s");
    bench_end(&b); /* untimed: stops the supervisor and its worker */
    tr_log_set_level(old_level);
    return 0;
}
