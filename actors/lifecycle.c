/* lifecycle.c — how an actor ends: structured lifetime and failure.
 *
 * Stopping runs as a small state machine inside the actor's own turns:
 * STOPPING asks the youngest child to stop and waits for its EXIT, then the
 * next youngest, and so on; with no child left it runs terminate, frees its
 * state and sends EXIT to its parent. Killing asks all children at once.
 * A child's failure that its parent does not trap fails the parent, which
 * carries the child's failure records up, so the root ends holding one line
 * for every actor that failed on the way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "pool.h"

tri_actor_ext *tri_ext(tri_actor *a)
{
    if (!a->ext) a->ext = calloc(1, sizeof *a->ext);
    return a->ext;
}

static void ext_free(tri_actor_ext *x)
{
    if (!x) return;
    for (tri_record *r = x->records, *n; r; r = n) {
        n = r->next;
        free(r);
    }
    free(x->exit_text);
    free(x->last_failure);
    free(x);
}

/* ------------------------------------------------------------ paths
 *
 * A path is read from the actor's own thread while its ancestors run on
 * others (and by sysmon, from its own thread), so only fields fixed for an
 * actor's whole life are read here: parent, name, beh and serial. Names
 * live in pool blocks (tri_name_dup), type-stable memory: even a reader
 * racing with an ancestor's end never touches freed memory. */

char *tri_name_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = tri_pool_alloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

void tri_name_free(char *s)
{
    if (s) tri_pool_free(s, strlen(s) + 1);
}

/* "<behaviour>-<serial>" without snprintf: paths are formatted at every
 * level of a failure's climb, so this is on the path of a long chain. */
static const char *actor_name(const tri_actor *a, char *tmp, size_t n)
{
    /* not flags: those change while we read; relaxed atomics because
     * sysmon reads the path of an actor another thread runs (it checks the
     * actor's serial around the read) */
    if (!__atomic_load_n(&a->parent, __ATOMIC_RELAXED)) return "root";
    const char *name = __atomic_load_n(&a->name, __ATOMIC_RELAXED);
    if (name) return name;
    const tr_behaviour *beh = __atomic_load_n(&a->beh, __ATOMIC_RELAXED);
    const char *b = beh && beh->name ? beh->name : "actor";
    size_t bl = strnlen(b, n - 22), at = bl;
    memcpy(tmp, b, bl);
    tmp[at++] = '-';
    char digits[21];
    int nd = 0;
    for (uint64_t v = tri_serial(a); nd == 0 || v; v /= 10) digits[nd++] = (char)('0' + v % 10);
    while (nd) tmp[at++] = digits[--nd];
    tmp[at] = '\0';
    return tmp;
}

/* Paths deeper than TRI_PATH_WHOLE levels are cut above their last
 * TRI_PATH_TAIL levels, and the cut is marked: "/root/.../a/b/c". Walking
 * no further keeps the cost of a path bounded however deep the tree. */
#define TRI_PATH_WHOLE 32
#define TRI_PATH_TAIL 24

size_t tri_actor_path(const tri_actor *a, char *buf, size_t size)
{
    const tri_actor *chain[TRI_PATH_WHOLE + 1];
    int n = 0;
    bool cut = false;
    for (const tri_actor *p = a; p && n <= TRI_PATH_WHOLE;
         p = __atomic_load_n(&p->parent, __ATOMIC_RELAXED)) {
        /* acquire: its spawner set its name before it published the
         * serial (sysmon reads paths from its own thread) */
        (void)atomic_load_explicit((_Atomic uint64_t *)&p->serial, memory_order_acquire);
        chain[n++] = p;
        /* An abandoned actor's ancestors may be gone: not read, and the
         * path is marked cut above it. */
        if (__atomic_load_n(&p->parent, __ATOMIC_RELAXED) && tri_abandoned(p)) {
            cut = true;
            break;
        }
    }
    if (n > TRI_PATH_WHOLE) {
        cut = true;
        n = TRI_PATH_TAIL;
    }
    size_t len = 0;
    if (size) buf[0] = '\0';
    for (int i = cut ? n + 1 : n - 1; i >= 0; i--) {
        char tmp[300];
        const char *name = i == n + 1 ? "root" : i == n ? "..." : actor_name(chain[i], tmp, sizeof tmp);
        size_t nl = strlen(name);
        if (len + 1 < size) buf[len] = '/';
        for (size_t k = 0; k < nl; k++)
            if (len + 1 + k + 1 < size) buf[len + 1 + k] = name[k];
        len += 1 + nl;
        if (size) buf[len < size ? len : size - 1] = '\0';
    }
    return len;
}

/* Sysmon reads the path of an actor that another worker runs (sysmon.c):
 * the parent links and names of it and its ancestors. These change only
 * when an actor's slot is retired (its name freed, the slot released, to
 * be set up anew), so a worker retiring one waits while a path is read;
 * and sysmon, once it has raised its flag and waited for the retirements
 * under way, checks that the actor still runs the callback it saw: then
 * every actor on its path is alive, or cut off as abandoned, until the
 * flag drops. A Dekker pair of seq_cst flags: no lock on an actor's end,
 * and the speculative reading of slots others retire is gone. */
void tri_retire_begin(tr_system *sys)
{
    tri_worker *w = tri_current_worker;
    if (!w || w->sys != sys) return; /* only workers retire actor slots */
    for (;;) {
        atomic_store_explicit(&w->retiring, true, memory_order_seq_cst);
        if (!atomic_load_explicit(&sys->path_reading, memory_order_seq_cst)) return;
        atomic_store_explicit(&w->retiring, false, memory_order_release);
        while (atomic_load_explicit(&sys->path_reading, memory_order_acquire)) tri_cpu_relax();
    }
}

void tri_retire_end(tr_system *sys)
{
    tri_worker *w = tri_current_worker;
    if (w && w->sys == sys) atomic_store_explicit(&w->retiring, false, memory_order_release);
}

bool tri_running_path(tri_worker *w, tri_actor *a, uint64_t serial, uint64_t cbs, char *buf,
                      size_t size)
{
    tr_system *sys = w->sys;
    atomic_store_explicit(&sys->path_reading, true, memory_order_seq_cst);
    for (unsigned i = 0, n = tri_sched_nvis(&sys->sched); i < n; i++)
        while (atomic_load_explicit(&sys->sched.workers[i].retiring, memory_order_seq_cst))
            tri_cpu_relax();
    bool same = atomic_load_explicit(&a->live_serial, memory_order_acquire) == serial &&
                atomic_load_explicit(&w->callbacks, memory_order_acquire) == cbs &&
                atomic_load_explicit(&w->current, memory_order_acquire) == a;
    if (same) tri_actor_path(a, buf, size);
    atomic_store_explicit(&sys->path_reading, false, memory_order_release);
    return same;
}

size_t tr_path(const tr_ctx *ctx, char *buf, size_t size)
{
    const tri_actor *a = tri_ctx_any(ctx);
    if (!buf) size = 0;
    if (!a) {
        if (size) buf[0] = '\0';
        return 0;
    }
    return tri_actor_path(a, buf, size);
}

/* ---------------------------------------------------------- records
 *
 * The report of a failure is bounded, so that a runaway tree (a failure
 * at the bottom of a 100,000-deep chain) cannot make the report itself
 * the outage: a list keeps its first TRI_RECORDS_HEAD records (the deepest
 * failures, where it started) and its last TRI_RECORDS_TAIL (the climb's
 * end, nearest the root), and counts what it drops in between. */

static void records_trim(tri_actor_ext *x)
{
    if (x->nrecords <= TRI_RECORDS_HEAD + TRI_RECORDS_TAIL) return;
    tri_record *keep = x->records; /* the last of the head */
    for (int i = 1; i < TRI_RECORDS_HEAD; i++) keep = keep->next;
    while (x->nrecords > TRI_RECORDS_HEAD + TRI_RECORDS_TAIL) {
        tri_record *gone = keep->next;
        keep->next = gone->next;
        if (x->records_tail == gone) x->records_tail = keep;
        free(gone);
        x->nrecords--;
        x->records_omitted++;
    }
}

void tri_record_add(tri_actor *a, const char *line)
{
    tri_actor_ext *x = tri_ext(a);
    size_t n = strlen(line);
    tri_record *r = x ? malloc(sizeof *r + n + 1) : NULL;
    if (!r) {
        tri_log(TR_LOG_ERROR, "out of memory recording failure: %s", line);
        return;
    }
    r->next = NULL;
    memcpy(r->line, line, n + 1);
    if (x->records_tail) x->records_tail->next = r;
    else x->records = r;
    x->records_tail = r;
    x->nrecords++;
    records_trim(x);
}

/* Moves the records of `from` behind those of `a`. */
static void records_take(tri_actor *a, tri_actor_ext *from)
{
    if (!from || !from->records) return;
    tri_actor_ext *x = tri_ext(a);
    if (!x) return;
    if (x->records_tail) x->records_tail->next = from->records;
    else x->records = from->records;
    x->records_tail = from->records_tail;
    x->nrecords += from->nrecords;
    x->records_omitted += from->records_omitted;
    from->records = from->records_tail = NULL;
    from->nrecords = 0;
    from->records_omitted = 0;
    records_trim(x);
}

/* ------------------------------------------------------- requesting */

void tri_link_child(tri_actor *parent, tri_actor *c)
{
    tri_actor *last = tri_at(parent->sys, parent->last_child);
    c->prev_sib = parent->last_child;
    c->next_sib = 0;
    if (last) last->next_sib = tri_ref(c);
    else parent->first_child = tri_ref(c);
    parent->last_child = tri_ref(c);
    parent->nchildren++;
}

void tri_link_child_before(tri_actor *parent, tri_actor *c, tr_pid before)
{
    tr_system *sys = parent->sys;
    tri_actor *b = NULL;
    if (!tr_pid_is_nil(before))
        for (tri_actor *s = tri_at(sys, parent->first_child); s; s = tri_at(sys, s->next_sib))
            if (tri_serial(s) == before.serial && s->index == before.slot) {
                b = s;
                break;
            }
    if (!b) {
        tri_link_child(parent, c);
        return;
    }
    tri_actor *prev = tri_at(sys, b->prev_sib);
    c->next_sib = tri_ref(b);
    c->prev_sib = b->prev_sib;
    if (prev) prev->next_sib = tri_ref(c);
    else parent->first_child = tri_ref(c);
    b->prev_sib = tri_ref(c);
    parent->nchildren++;
}

static void unlink_child(tri_actor *parent, tri_actor *c)
{
    tr_system *sys = parent->sys;
    tri_actor *prev = tri_at(sys, c->prev_sib), *next = tri_at(sys, c->next_sib);
    if (prev) prev->next_sib = c->next_sib;
    else parent->first_child = c->next_sib;
    if (next) next->prev_sib = c->prev_sib;
    else parent->last_child = c->prev_sib;
    c->prev_sib = c->next_sib = 0;
    parent->nchildren--;
}

/* The parent's side of the signal word (core.h): ors `bits` into the
 * request for incarnation `s`. Returns false, writing nothing, when the
 * child has finished (its EXIT is on the way). */
static bool signal_or(tri_actor *c, uint64_t s, uint64_t bits)
{
    uint64_t old = atomic_load_explicit(&c->signal, memory_order_acquire);
    for (;;) {
        uint64_t cur = old >> TRI_SIG_SHIFT == s ? old : s << TRI_SIG_SHIFT;
        if (cur & TRI_SIG_FINISHED) return false;
        if (atomic_compare_exchange_weak_explicit(&c->signal, &old, cur | bits,
                                                  memory_order_acq_rel, memory_order_acquire))
            return true;
    }
}

/* The parent's side of an abandonment: false, writing nothing, when the
 * child has finished (its EXIT is on the way) or is abandoned already: a
 * kill's grace, armed for an earlier kill, can pass before the shutdown
 * time of a child asked to stop earlier still, and both abandon; counted
 * twice, the child would leave its parent one child short (ending before
 * a live child) and the system's count of abandoned actors never at 0. */
static bool signal_abandon(tri_actor *c, uint64_t s)
{
    uint64_t old = atomic_load_explicit(&c->signal, memory_order_acquire);
    for (;;) {
        uint64_t cur = old >> TRI_SIG_SHIFT == s ? old : s << TRI_SIG_SHIFT;
        if (cur & (TRI_SIG_FINISHED | TRI_SIG_ABANDON)) return false;
        if (atomic_compare_exchange_weak_explicit(
                &c->signal, &old, cur | TRI_SIG_ABANDON | TRI_SIG_KILL | TRI_SIG_STOP,
                memory_order_acq_rel, memory_order_acquire))
            return true;
    }
}

/* The child's side, as it ends: true when it finished first (it sends its
 * EXIT), false when its parent abandoned it (it disposes of itself). */
static bool signal_finish(tri_actor *a, uint64_t s)
{
    uint64_t old = atomic_load_explicit(&a->signal, memory_order_acquire);
    for (;;) {
        uint64_t cur = old >> TRI_SIG_SHIFT == s ? old : s << TRI_SIG_SHIFT;
        if (cur & TRI_SIG_ABANDON) return false;
        if (atomic_compare_exchange_weak_explicit(&a->signal, &old, cur | TRI_SIG_FINISHED,
                                                  memory_order_acq_rel, memory_order_acquire))
            return true;
    }
}

void tri_request_kill(tri_actor *parent, tri_actor *c)
{
    c->parent_flags |= TRI_PF_KILL_REQUESTED | TRI_PF_STOP_REQUESTED;
    uint64_t s = atomic_load_explicit(&c->live_serial, memory_order_acquire);
    if (s == 0 || !signal_or(c, s, TRI_SIG_KILL | TRI_SIG_STOP))
        return; /* already ended: its EXIT is on the way */
    tri_send_sys(parent->sys, c, s, TRI_MSG_SIGNAL, NULL, 0);
    /* A kill takes effect between callbacks: a child stuck in one is
     * abandoned when the grace passes, so that no kill waits forever. */
    if (!(parent->flags & TRI_F_KILL_GRACE) &&
        tri_timer_after(parent->sys, TRI_KILL_GRACE_MS, parent, tri_serial(parent),
                        TRI_MSG_KILL_GRACE, NULL, 0))
        parent->flags |= TRI_F_KILL_GRACE;
}

void tri_request_stop(tri_actor *parent, tri_actor *c)
{
    if (c->parent_flags & TRI_PF_STOP_REQUESTED) return;
    if (c->shutdown_ms == TR_SHUTDOWN_BRUTAL) {
        tri_request_kill(parent, c);
        return;
    }
    c->parent_flags |= TRI_PF_STOP_REQUESTED;
    uint64_t s = atomic_load_explicit(&c->live_serial, memory_order_acquire);
    if (s == 0 || !signal_or(c, s, TRI_SIG_STOP)) return;
    tri_send_sys(parent->sys, c, s, TRI_MSG_SIGNAL, NULL, 0);
    if (c->shutdown_ms > 0) {
        struct tri_kill_child k = {c, s};
        c->stop_timer = tri_timer_after(parent->sys, c->shutdown_ms, parent, tri_serial(parent),
                                        TRI_MSG_KILL_CHILD, &k, sizeof k);
    }
}

tr_err tr_stop_child(tr_ctx *ctx, tr_pid child)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    if (child.node != a->sys->node || tr_pid_is_nil(child)) return TR_ENOENT;
    tri_actor *c = tri_slot_lookup(a->sys, child.slot);
    /* The serial first: while it matches, the slot holds that actor alive,
     * and its parent field (set before the serial was) is stable to read.
     * Not c->state: that is the child's, changing on its thread. */
    if (!c || atomic_load_explicit(&c->serial, memory_order_acquire) != child.serial ||
        __atomic_load_n(&c->parent, __ATOMIC_RELAXED) != a ||
        atomic_load_explicit(&c->serial, memory_order_acquire) != child.serial || /* still it */
        atomic_load_explicit(&c->live_serial, memory_order_acquire) != child.serial)
        return TR_ENOENT;
    tri_request_stop(a, c);
    return TR_OK;
}

/* ------------------------------------------------------------ ending */

static void finish(tri_actor *a)
{
    tr_system *sys = a->sys;
    tr_exit reason = {(tr_exit_kind)a->exit_kind, a->ext ? a->ext->exit_text : NULL};
    a->flags |= TRI_F_ENDING; /* tr_fail & co. may no longer change `reason` */
    /* terminate runs for every kind of end, kills included: in C it is the
     * only place that frees what init built (OTP skips it on a kill) */
    if ((a->flags & TRI_F_INIT_OK) && a->beh->terminate)
        a->beh->terminate((tr_ctx *)a, a->state_mem, &reason);
    if (tri_abandoned(a)) { /* its parent counted it killed: so do its watchers */
        a->exit_kind = TR_EXIT_KILLED;
        reason = (tr_exit){TR_EXIT_KILLED, NULL};
    }
    if (a->flags & TRI_F_TIMERS) tri_timers_drop_owner(sys, a); /* timers die with it */
    tri_registry_release(a); /* its names go before anyone hears of its end */
    if (!(a->flags & TRI_F_STARTED_SENT)) tri_send_started(a, TR_START_FAILED);
    if (a->ext) {
        tri_calls_end(a, &reason); /* answer what it will never answer */
        tri_links_end(a, &reason); /* tell watchers and links */
    }
    if (a->state_mem) {
        tri_pool_free(a->state_mem, a->beh->state_size);
        a->state_mem = NULL;
    }
    /* A subtree that failed while we were being stopped anyway: nobody
     * above will act on it, but it must not vanish silently. */
    if (a->exit_kind != TR_EXIT_FAILURE && a->ext && a->ext->records) {
        for (tri_record *r = a->ext->records; r; r = r->next)
            tri_log(TR_LOG_WARN, "failed during shutdown: %s", r->line);
    }
    a->state = TRI_ST_DEAD;
    if (a->flags & TRI_F_IS_ROOT) {
        tri_root_finished(a);
        return;
    }
    uint64_t serial = atomic_load_explicit(&a->live_serial, memory_order_relaxed);
    if (!signal_finish(a, serial)) {
        /* Abandoned: the parent counted us ended and went on (it may be
         * gone), so no EXIT; we release our own slot. */
        if (a->exit_kind == TR_EXIT_FAILURE && a->ext)
            for (tri_record *r = a->ext->records; r; r = r->next)
                tri_log(TR_LOG_WARN, "failed after its parent stopped waiting: %s", r->line);
        atomic_store_explicit(&a->live_serial, 0, memory_order_release);
        ext_free(a->ext);
        a->ext = NULL;
        tri_retire_begin(sys);
        tri_name_free(a->name);
        __atomic_store_n(&a->name, NULL, __ATOMIC_RELAXED);
        tri_slot_release(sys, a);
        tri_retire_end(sys);
        atomic_fetch_sub_explicit(&sys->abandoned_live, 1, memory_order_release);
        return;
    }
    tri_actor *parent = a->parent;
    uint64_t parent_serial = tri_serial(parent);
    atomic_store_explicit(&a->live_serial, 0, memory_order_release);
    /* Counted ended only once it is no longer live: whoever sees the live
     * count drop (tr_system_get_stats) finds its pid refused (tr_register
     * answered TR_ENOENT; it failed under TSan with the count first). */
    tri_count(sys, TRI_N_ENDED);
    /* Nothing may touch `a` after this push: the parent may release the
     * slot and another thread reuse it at once. The EXIT must not be lost,
     * so an allocation failure is waited out. */
    while (tri_send_sys(sys, parent, parent_serial, TRI_MSG_EXIT, &a, sizeof a) != TR_OK) {
        tri_log(TR_LOG_ERROR, "out of memory sending an exit notice; retrying");
        sched_yield();
    }
}

void tri_continue_stop(tri_actor *a)
{
    if (a->nchildren == 0) {
        /* something outside the system it stands for ends first */
        if (TRI_UNLIKELY(a->ext && a->ext->settle) &&
            !a->ext->settle(a, (a->flags & TRI_F_KILL_SENT) != 0))
            return;
        if ((a->flags & TRI_F_IS_ROOT) && !tri_root_may_finish(a)) return;
        finish(a);
        return;
    }
    /* Asking all children at once is done once: no child can be added
     * while stopping, and walking them all again at every exit would make
     * stopping n children cost n^2. */
    if (a->flags & TRI_F_KILL_SENT) {
        if (a->flags & TRI_F_ALL_KILLED) return;
        a->flags |= TRI_F_ALL_KILLED;
        for (tri_actor *c = tri_at(a->sys, a->last_child); c; c = tri_at(a->sys, c->prev_sib))
            if (!(c->parent_flags & TRI_PF_KILL_REQUESTED)) tri_request_kill(a, c);
        return;
    }
    if (a->flags & TRI_F_PARALLEL_STOP) {
        if (a->flags & TRI_F_ALL_ASKED) return;
        a->flags |= TRI_F_ALL_ASKED;
        for (tri_actor *c = tri_at(a->sys, a->last_child); c; c = tri_at(a->sys, c->prev_sib))
            tri_request_stop(a, c);
        return;
    }
    /* Youngest first, one at a time: the next one when this one's EXIT
     * comes in (tri_child_exited calls us again). */
    tri_request_stop(a, tri_at(a->sys, a->last_child));
}

/* `escalated`: the failure is a child's climbing up (logged at info: the
 * child's own failure was logged at warn, and a deep chain must not turn
 * into as many warnings). */
static void begin_stop(tri_actor *a, tr_exit_kind kind, const char *text, bool escalated)
{
    if (a->state >= TRI_ST_STOPPING) {
        if (kind == TR_EXIT_KILLED && !(a->flags & TRI_F_KILL_SENT)) {
            if (a->exit_kind != TR_EXIT_FAILURE) a->exit_kind = TR_EXIT_KILLED;
            a->flags |= TRI_F_KILL_SENT;
            tri_continue_stop(a);
        }
        return;
    }
    a->state = TRI_ST_STOPPING;
    a->exit_kind = (uint8_t)kind;
    if (kind == TR_EXIT_KILLED) a->flags |= TRI_F_KILL_SENT;
    if (kind == TR_EXIT_FAILURE) {
        tri_actor_ext *x = tri_ext(a);
        if (x && !x->exit_text) x->exit_text = strdup(text ? text : "failed");
        char path[512];
        tri_actor_path(a, path, sizeof path);
        const char *why = x && x->exit_text ? x->exit_text : "failed";
        size_t n = strlen(path) + strlen(why) + 3;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "%s: %s", path, why);
            tri_record_add(a, line);
            free(line);
        }
        tri_log(escalated ? TR_LOG_INFO : TR_LOG_WARN, "actor %s failed: %s", path, why);
    } else if (kind != TR_EXIT_NORMAL && text) {
        /* an exit signal's account of itself ("linked actor <p> shutdown:
         * ..."): it travels with the exit as tr_stop_reason's text does */
        tri_actor_ext *x = tri_ext(a);
        if (x && !x->exit_text) x->exit_text = strdup(text);
    }
    if (a->flags & TRI_F_IS_ROOT) tri_root_closing(a);
    tri_continue_stop(a);
}

void tri_begin_stop(tri_actor *a, tr_exit_kind kind, const char *text)
{
    begin_stop(a, kind, text, false);
}

void tri_after_callback_slow(tri_actor *a, int rc, const char *what)
{
    uint32_t f = a->flags;
    a->flags &= (uint32_t) ~(TRI_F_STOP_SELF | TRI_F_FAIL_SELF);
    if (f & TRI_F_FAIL_SELF) {
        tri_begin_stop(a, TR_EXIT_FAILURE, NULL);
    } else if (rc < 0) {
        char text[128];
        snprintf(text, sizeof text, "%s returned %d (%s)", what, rc, tr_strerror(rc));
        tri_begin_stop(a, TR_EXIT_FAILURE, text);
    } else if (f & TRI_F_STOP_SELF) {
        tr_exit_kind k = a->ext ? (tr_exit_kind)a->ext->stop_kind : TR_EXIT_NORMAL;
        tri_begin_stop(a, k, NULL); /* a failure's text is already in ext */
    }
}

void tri_run_init(tri_actor *a, tr_msg *m, uint64_t serial)
{
    (void)serial;
    a->state = TRI_ST_RUNNING;
    int rc = a->beh->init ? a->beh->init((tr_ctx *)a, a->state_mem, m->data, m->size) : 0;
    if (rc == TR_INIT_IGNORE && !(a->flags & TRI_F_FAIL_SELF)) {
        a->flags |= TRI_F_IGNORED;
        a->flags &= (uint32_t)~TRI_F_STOP_SELF;
        tri_send_started(a, TR_START_IGNORED);
        tri_begin_stop(a, TR_EXIT_NORMAL, NULL);
        return;
    }
    if (rc == 0 && !(a->flags & TRI_F_FAIL_SELF)) {
        a->flags |= TRI_F_INIT_OK;
        if (!(a->flags & TRI_F_DEFER_STARTED) || (a->flags & TRI_F_NOTIFY_ASKED))
            tri_send_started(a, TR_START_OK);
    }
    tri_after_callback(a, rc, "init");
}

tr_msg *tri_exit_msg(tr_atom type, uint8_t role, uint64_t ref, tr_pid who, tr_exit_kind kind,
                     const char *text)
{
    size_t tl = text ? strlen(text) : 0;
    size_t size = sizeof(tr_pid) + sizeof(uint32_t) + tl + 1;
    tr_msg *m = role ? tri_msg_alloc_call(role, ref, type, size)
                     : tri_msg_alloc(TRI_MSG_USER, type, size);
    if (!m) return NULL;
    char *p = m->data;
    uint32_t k = (uint32_t)kind;
    memcpy(p, &who, sizeof who);
    memcpy(p + sizeof who, &k, sizeof k);
    if (tl) memcpy(p + sizeof who + sizeof k, text, tl);
    p[sizeof who + sizeof k + tl] = '\0';
    m->sender = who;
    return m;
}

/* Delivers a child's exit to a trapping parent as a "tr.exit" message. */
static void deliver_exit(tri_actor *a, tr_pid who, tr_exit_kind kind, const char *text)
{
    tr_msg *m = tri_exit_msg(tr_exit_atom(), TRI_CALL_NONE, 0, who, kind, text);
    if (!m) {
        tri_begin_stop(a, TR_EXIT_FAILURE, "out of memory delivering a child's exit");
        return;
    }
    tri_handle_now(a, m);
}

tr_err tr_exit_decode(const tr_msg *msg, tr_pid *who, tr_exit *reason)
{
    size_t head = sizeof(tr_pid) + sizeof(uint32_t);
    if (!msg || (msg->type.id != tr_exit_atom().id && msg->type.id != tr_down_atom().id) ||
        msg->size < head + 1)
        return TR_EINVAL;
    const char *p = msg->data;
    if (p[msg->size - 1] != '\0') return TR_EINVAL;
    uint32_t k;
    memcpy(&k, p + sizeof(tr_pid), sizeof k);
    if (k > TR_EXIT_NOCONNECTION) return TR_EINVAL;
    if (who) memcpy(who, p, sizeof *who);
    if (reason) {
        reason->kind = (tr_exit_kind)k;
        reason->text = msg->size > head + 1 ? p + head : NULL;
    }
    return TR_OK;
}

/* What a parent does once a child is gone: `cx` is the child's ext (its
 * records and exit text; taken over), `cpath` its path when needed. */
static void child_gone(tri_actor *a, tr_pid who, tr_exit_kind kind, bool requested,
                       tri_actor_ext *cx, const char *cpath);

void tri_child_exited(tri_actor *a, tri_actor *c)
{
    /* The path is only needed to explain a failure: formatting it for
     * every normal end would cost more than the rest of this function. */
    char cpath[512] = "";
    bool requested0 = (c->parent_flags & TRI_PF_STOP_REQUESTED) != 0;
    if (c->exit_kind == TR_EXIT_FAILURE || (!requested0 && c->exit_kind != TR_EXIT_NORMAL))
        tri_actor_path(c, cpath, sizeof cpath);
    unlink_child(a, c);
    if (c->stop_timer) {
        tri_timer_cancel(a->sys, a, c->stop_timer);
        c->stop_timer = 0;
    }
    bool requested = (c->parent_flags & TRI_PF_STOP_REQUESTED) != 0;
    tr_exit_kind kind = (tr_exit_kind)c->exit_kind;
    tr_pid who = tri_pid_of(c);
    tri_actor_ext *cx = c->ext;
    c->ext = NULL;
    tri_retire_begin(a->sys);
    tri_name_free(c->name);
    __atomic_store_n(&c->name, NULL, __ATOMIC_RELAXED);
    tri_slot_release(a->sys, c); /* c is gone from here on */
    tri_retire_end(a->sys);
    child_gone(a, who, kind, requested, cx, cpath);
}

/* A child whose shutdown time (or kill grace) passed while it still runs,
 * in practice stuck in one callback that a C runtime cannot preempt: the
 * parent counts it killed and goes on; the child, once its callback
 * returns, is killed with its subtree and releases its own slot. Nothing
 * it does meanwhile takes effect (tri_ctx). */
void tri_abandon_child(tri_actor *a, tri_actor *c)
{
    uint64_t s = atomic_load_explicit(&c->live_serial, memory_order_acquire);
    /* Everything we need of `c` is read before the CAS: once abandoned it
     * may release its slot (and a new actor take it) at any moment. */
    char path[512] = "";
    if (tri_log_enabled(TR_LOG_WARN)) tri_actor_path(c, path, sizeof path);
    uint32_t prev_ref = c->prev_sib, next_ref = c->next_sib, ref = tri_ref(c);
    uint64_t stop_timer = c->stop_timer;
    if (s == 0 || !signal_abandon(c, s))
        return; /* it finished first (its EXIT is on the way), or is abandoned already */
    atomic_fetch_add_explicit(&a->sys->abandoned_live, 1, memory_order_relaxed);
    tri_send_sys(a->sys, c, s, TRI_MSG_SIGNAL, NULL, 0); /* a sender may touch a slot */
    if (path[0])
        tri_log(TR_LOG_WARN,
                "actor %s did not stop in time: counted killed; it is disposed of when its "
                "callback returns",
                path);
    /* unlink it from our children through its neighbours only */
    tri_actor *prev = tri_at(a->sys, prev_ref), *next = tri_at(a->sys, next_ref);
    if (prev) prev->next_sib = next_ref;
    else if (a->first_child == ref) a->first_child = next_ref;
    if (next) next->prev_sib = prev_ref;
    else if (a->last_child == ref) a->last_child = prev_ref;
    a->nchildren--;
    if (stop_timer) tri_timer_cancel(a->sys, a, stop_timer);
    tri_count(a->sys, TRI_N_ENDED);
    child_gone(a, (tr_pid){a->sys->node, c->index, s}, TR_EXIT_KILLED, true, NULL, "");
}

/* A kill's grace has passed: every child sent a kill that is still there
 * is abandoned. */
void tri_kill_grace(tri_actor *a)
{
    a->flags &= (uint32_t)~TRI_F_KILL_GRACE;
    tri_actor *c = tri_at(a->sys, a->last_child);
    while (c) {
        tri_actor *prev = tri_at(a->sys, c->prev_sib);
        if (c->parent_flags & TRI_PF_KILL_REQUESTED) tri_abandon_child(a, c);
        c = prev;
    }
}

static void child_gone(tri_actor *a, tr_pid who, tr_exit_kind kind, bool requested,
                       tri_actor_ext *cx, const char *cpath)
{
    bool abnormal = kind == TR_EXIT_FAILURE || (!requested && kind != TR_EXIT_NORMAL);
    if (abnormal) tri_note_child_failure(a, who, cpath, kind, cx ? cx->exit_text : NULL);
    if (cx && !tr_pid_is_nil(cx->exit_to)) {
        /* Its end was promised elsewhere (tri_spawn_reporting): taken as
         * trapped here, whatever our state, so it never fails us. */
        tr_msg *m = tri_exit_msg(tr_exit_atom(), TRI_CALL_NONE, 0, who, kind, cx->exit_text);
        if (m) tri_deliver(a->sys, cx->exit_to, m);
        else tri_log(TR_LOG_ERROR, "out of memory reporting an actor's exit; it is lost");
        ext_free(cx);
        if (a->state == TRI_ST_STOPPING) tri_continue_stop(a);
        else if (a->flags & TRI_F_IS_ROOT) tri_root_after_exit(a);
        return;
    }
    if (a->state == TRI_ST_STOPPING) {
        if (kind == TR_EXIT_FAILURE) records_take(a, cx);
        ext_free(cx);
        tri_continue_stop(a);
        return;
    }
    if (a->flags & TRI_F_TRAP_EXITS) {
        deliver_exit(a, who, kind, cx ? cx->exit_text : NULL);
        ext_free(cx); /* handled: the records go no further */
        return;
    }
    if (abnormal) {
        char text[600];
        if (kind == TR_EXIT_FAILURE) {
            records_take(a, cx);
            snprintf(text, sizeof text, "child %s failed", cpath);
        } else {
            const char *why = cx && cx->exit_text ? cx->exit_text : NULL;
            snprintf(text, sizeof text, "%s: %s%s%s", cpath, tr_exit_kind_name(kind),
                     why ? ": " : "", why ? why : "");
            tri_record_add(a, text);
            snprintf(text, sizeof text, "child %s exited: %s", cpath, tr_exit_kind_name(kind));
        }
        ext_free(cx);
        begin_stop(a, TR_EXIT_FAILURE, text, true);
        return;
    }
    ext_free(cx);
    if (a->flags & TRI_F_IS_ROOT) tri_root_after_exit(a);
}

/* -------------------------------------------------------- ctx calls */

void tr_stop(tr_ctx *ctx)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return;
    a->flags |= TRI_F_STOP_SELF;
    if (a->ext) {
        a->ext->stop_kind = TR_EXIT_NORMAL;
        if (!(a->flags & TRI_F_FAIL_SELF)) { /* a normal end has no text */
            free(a->ext->exit_text);
            a->ext->exit_text = NULL;
        }
    }
}

void tr_stop_reason(tr_ctx *ctx, tr_exit_kind kind, const char *text)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a || (a->flags & TRI_F_ENDING)) return;
    if (kind == TR_EXIT_FAILURE) {
        tr_fail(ctx, "%s", text ? text : "failed");
        return;
    }
    tri_actor_ext *x = tri_ext(a);
    a->flags |= TRI_F_STOP_SELF;
    if (!x) return;
    x->stop_kind = (uint8_t)(kind == TR_EXIT_KILLED || kind > TR_EXIT_TIMEOUT ? TR_EXIT_SHUTDOWN
                                                                              : kind);
    if (!(a->flags & TRI_F_FAIL_SELF)) { /* the reason's text travels with the exit */
        free(x->exit_text);
        x->exit_text = text && x->stop_kind != TR_EXIT_NORMAL ? strdup(text) : NULL;
    }
}

void tr_stop_children_together(tr_ctx *ctx, bool on)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return;
    if (on) a->flags |= TRI_F_PARALLEL_STOP;
    else a->flags &= (uint32_t)~TRI_F_PARALLEL_STOP;
}

void tr_defer_started(tr_ctx *ctx)
{
    tri_actor *a = tri_ctx(ctx);
    if (a) a->flags |= TRI_F_DEFER_STARTED;
}

void tr_notify_started(tr_ctx *ctx)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a || !(a->flags & TRI_F_DEFER_STARTED)) return;
    if (a->flags & TRI_F_INIT_OK) tri_send_started(a, TR_START_OK);
    else a->flags |= TRI_F_NOTIFY_ASKED; /* still in init: sent when it returns 0 */
}

void tri_send_started(tri_actor *a, tr_start_status status)
{
    if (a->flags & TRI_F_STARTED_SENT) return;
    a->flags |= TRI_F_STARTED_SENT;
    if (!a->ext || tr_pid_is_nil(a->ext->started_to)) return;
    const char *text = status == TR_START_FAILED ? a->ext->exit_text : NULL;
    size_t tl = text ? strlen(text) : 0;
    uint32_t head[2] = {(uint32_t)status, status == TR_START_FAILED ? a->exit_kind : 0};
    size_t size = sizeof(tr_pid) + sizeof head + tl + 1;
    tr_msg *m = tri_msg_alloc(TRI_MSG_USER, tr_started_atom(), size);
    if (!m) {
        tri_log(TR_LOG_ERROR, "out of memory sending a start notice");
        return;
    }
    m->exempt = 1;
    tr_pid self = tri_pid_of(a);
    char *p = m->data;
    memcpy(p, &self, sizeof self);
    memcpy(p + sizeof self, head, sizeof head);
    if (tl) memcpy(p + sizeof self + sizeof head, text, tl);
    p[size - 1] = '\0';
    m->sender = self;
    tri_deliver(a->sys, a->ext->started_to, m);
}

tr_err tr_started_decode(const tr_msg *msg, tr_pid *who, tr_start_status *status, tr_exit *reason)
{
    uint32_t head[2];
    size_t fixed = sizeof(tr_pid) + sizeof head;
    if (!msg || msg->type.id != tr_started_atom().id || msg->size < fixed + 1) return TR_EINVAL;
    const char *p = msg->data;
    if (p[msg->size - 1] != '\0') return TR_EINVAL;
    memcpy(head, p + sizeof(tr_pid), sizeof head);
    if (head[0] > TR_START_FAILED || head[1] > TR_EXIT_NOCONNECTION) return TR_EINVAL;
    if (who) memcpy(who, p, sizeof *who);
    if (status) *status = (tr_start_status)head[0];
    if (reason) {
        reason->kind = (tr_exit_kind)head[1];
        reason->text = msg->size > fixed + 1 ? p + fixed : NULL;
    }
    return TR_OK;
}

tr_err tr_fail(tr_ctx *ctx, const char *fmt, ...)
{
    tri_actor *a = tri_ctx(ctx);
    if (!a) return tri_ctx_err(ctx);
    /* the first reason wins; in terminate the reason is already final */
    if (a->flags & (TRI_F_FAIL_SELF | TRI_F_ENDING)) return TR_EFAILED;
    a->flags |= TRI_F_FAIL_SELF;
    tri_actor_ext *x = tri_ext(a);
    if (!x) return TR_EFAILED;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt ? fmt : "failed", ap) < 0) text = NULL;
    va_end(ap);
    free(x->exit_text);
    x->exit_text = text;
    return TR_EFAILED;
}

const char *tr_exit_kind_name(tr_exit_kind kind)
{
    switch (kind) {
    case TR_EXIT_NORMAL: return "normal";
    case TR_EXIT_SHUTDOWN: return "shutdown";
    case TR_EXIT_KILLED: return "killed";
    case TR_EXIT_FAILURE: return "failure";
    case TR_EXIT_TIMEOUT: return "timeout";
    case TR_EXIT_NOPROC: return "noproc";
    case TR_EXIT_NOCONNECTION: return "noconnection";
    }
    return "unknown";
}
