/* test_basics.c — the small contracts every other test leans on: atoms,
 * error names, pid text, building and sending messages, argument errors of
 * send and spawn, run/stop states, inbox deadlines and replies, the logger,
 * actor paths, self/parent pids and the system's counters.
 *
 * Behaviours never assert on worker threads: they report what they saw to
 * the probe and the test thread checks it. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

/* ------------------------------------------------------------ behaviours */

/* mirror: for every message, reports its sender ("from", a tr_pid) and a
 * copy of it (same type, same bytes) to the probe, and answers a sender
 * that is neither nil nor the probe with "reply" (same bytes). "stop" makes
 * it stop normally instead. */
static int mirror_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("stop"))) {
        tr_stop(ctx);
        return 0;
    }
    tr_pid from = tr_msg_sender(m);
    int rc = tr_send(ctx, t_probe, tr_atom_from("from"), &from, sizeof from);
    if (rc != TR_OK) return rc;
    rc = tr_send(ctx, t_probe, tr_msg_type(m), tr_msg_data(m), tr_msg_size(m));
    if (rc != TR_OK) return rc;
    if (!tr_pid_is_nil(from) && !tr_pid_eq(from, t_probe))
        rc = tr_send(ctx, from, tr_atom_from("reply"), tr_msg_data(m), tr_msg_size(m));
    return rc;
}

static const tr_behaviour mirror_b = {"mirror", 0, NULL, mirror_handle, NULL};

/* failer: fails in init with "boom". */
static int failer_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs, (void)args, (void)size;
    return tr_fail(ctx, "boom");
}

static int noop_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)ctx, (void)vs, (void)m;
    return 0;
}

static const tr_behaviour failer_b = {"failer", 0, failer_init, noop_handle, NULL};

/* trapper (spawned with TR_SPAWN_TRAP_EXITS): "spawn.failer" with a name as
 * payload spawns a failer child of that name; each child exit is reported
 * to the probe as "trapped" with "<kind>: <text>". */
static int trapper_handle(tr_ctx *ctx, void *vs, const tr_msg *m)
{
    (void)vs;
    if (tr_msg_is(m, tr_atom_from("spawn.failer"))) {
        tr_spawn_opts o = {.name = tr_msg_data(m)};
        return tr_spawn(ctx, &failer_b, &o, NULL);
    }
    if (tr_msg_is(m, tr_exit_atom())) {
        tr_pid who;
        tr_exit why;
        int rc = tr_exit_decode(m, &who, &why);
        if (rc != TR_OK) return rc;
        char line[256];
        snprintf(line, sizeof line, "%s: %s", tr_exit_kind_name(why.kind),
                 why.text ? why.text : "");
        return t_report(ctx, "trapped", line);
    }
    return 0;
}

static const tr_behaviour trapper_b = {"trapper", 0, NULL, trapper_handle, NULL};

/* pathy: reports its path from init ("path", the string) and what tr_path
 * does with a 5-byte and a 0-byte buffer ("path.trunc"). */
typedef struct path_trunc {
    size_t full_len, small_len, zero_len;
    char small[8];
    char zero_guard;
} path_trunc;

static int pathy_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs, (void)args, (void)size;
    char full[512];
    path_trunc t;
    memset(&t, 0, sizeof t);
    t.full_len = tr_path(ctx, full, sizeof full);
    memset(t.small, 'Z', sizeof t.small);
    t.small_len = tr_path(ctx, t.small, 5);
    t.zero_guard = 'Z';
    t.zero_len = tr_path(ctx, &t.zero_guard, 0);
    int rc = t_report(ctx, "path", full);
    if (rc != TR_OK) return rc;
    return tr_send(ctx, t_probe, tr_atom_from("path.trunc"), &t, sizeof t);
}

static const tr_behaviour pathy_b = {"pathy", 0, pathy_init, noop_handle, NULL};

/* fam: reports who it is, who its parent is and its system ("fam"); with
 * role 1 it first spawns a child "kid" of role 2 and reports its pid too. */
typedef struct fam_rep {
    uint32_t role;
    tr_pid self, parent, spawned;
    tr_system *sys;
} fam_rep;

static const tr_behaviour fam_b;

static int fam_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs;
    fam_rep r;
    memset(&r, 0, sizeof r);
    if (size == sizeof r.role) memcpy(&r.role, args, sizeof r.role);
    r.self = tr_self(ctx);
    r.parent = tr_parent(ctx);
    r.spawned = TR_PID_NIL;
    r.sys = tr_ctx_system(ctx);
    if (r.role == 1) {
        uint32_t kid = 2;
        tr_spawn_opts o = {.name = "kid", .args = &kid, .args_size = sizeof kid};
        int rc = tr_spawn(ctx, &fam_b, &o, &r.spawned);
        if (rc != TR_OK) return rc;
    }
    return tr_send(ctx, t_probe, tr_atom_from("fam"), &r, sizeof r);
}

static const tr_behaviour fam_b = {"fam", 0, fam_init, noop_handle, NULL};

/* errs: from init, makes every argument error tr_send, tr_send_msg and
 * tr_spawn document, and reports the codes ("errs", an int array). */
enum { ERRS_N = 9 };

static int errs_init(tr_ctx *ctx, void *vs, const void *args, size_t size)
{
    (void)vs, (void)args, (void)size;
    int rc[ERRS_N];
    tr_atom t = tr_atom_from("basics.x");
    tr_pid self = tr_self(ctx);
    tr_pid far = {self.node + 1, self.slot, self.serial};
    char byte = 'x';
    rc[0] = tr_send(ctx, TR_PID_NIL, t, &byte, 1);
    rc[1] = tr_send(ctx, self, (tr_atom){0}, &byte, 1);
    rc[2] = tr_send(ctx, far, t, &byte, 1);
    rc[3] = tr_send(ctx, self, t, &byte, (size_t)TR_MSG_MAX + 1);
    tr_msg *m = NULL;
    rc[4] = tr_msg_new(t, 4, &m);
    if (rc[4] == TR_OK) rc[4] = tr_send_msg(ctx, far, &m);
    if (m) rc[4] = 1000; /* *msg must be NULL after any send */
    rc[5] = tr_send_msg(ctx, self, &m); /* pointer to NULL */
    rc[6] = tr_spawn(ctx, NULL, NULL, NULL);
    tr_spawn_opts bad = {.name = "a/b"};
    rc[7] = tr_spawn(ctx, &mirror_b, &bad, NULL);
    static const tr_behaviour no_handle = {"nohandle", 0, NULL, NULL, NULL};
    rc[8] = tr_spawn(ctx, &no_handle, NULL, NULL);
    return tr_send(ctx, t_probe, tr_atom_from("errs"), rc, sizeof rc);
}

static const tr_behaviour errs_b = {"errs", 0, errs_init, noop_handle, NULL};

/* ---------------------------------------------------------- log capture */

#define CAP_LINES 32

static struct {
    pthread_mutex_t mu;
    int n;       /* lines seen, also past CAP_LINES */
    int bad_user; /* calls whose `user` was not the one registered */
    tr_log_level level[CAP_LINES];
    char line[CAP_LINES][512];
} cap = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void cap_sink(void *user, tr_log_level level, const char *line)
{
    pthread_mutex_lock(&cap.mu);
    if (user != (void *)&cap) cap.bad_user++;
    if (cap.n < CAP_LINES) {
        cap.level[cap.n] = level;
        snprintf(cap.line[cap.n], sizeof cap.line[0], "%s", line);
    }
    cap.n++;
    pthread_mutex_unlock(&cap.mu);
}

static void cap_start(void)
{
    pthread_mutex_lock(&cap.mu);
    cap.n = 0;
    cap.bad_user = 0;
    pthread_mutex_unlock(&cap.mu);
    tr_log_set_handler(cap_sink, &cap);
}

static int cap_count(void)
{
    pthread_mutex_lock(&cap.mu);
    int n = cap.n;
    pthread_mutex_unlock(&cap.mu);
    return n;
}

/* The index of the captured line equal to `text` at `level`, or -1. */
static int cap_find(tr_log_level level, const char *text)
{
    int found = -1;
    pthread_mutex_lock(&cap.mu);
    for (int i = 0; i < cap.n && i < CAP_LINES; i++)
        if (cap.level[i] == level && strcmp(cap.line[i], text) == 0) found = i;
    pthread_mutex_unlock(&cap.mu);
    return found;
}

static void cap_dump(void)
{
    pthread_mutex_lock(&cap.mu);
    for (int i = 0; i < cap.n && i < CAP_LINES; i++)
        print_message("captured %s: \"%s\"\n", tr_log_level_name(cap.level[i]), cap.line[i]);
    pthread_mutex_unlock(&cap.mu);
}

/* Catching what the default sink writes to stderr. */
static int saved_stderr = -1, stderr_pipe = -1;

static void stderr_to_pipe(void)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    stderr_pipe = fds[0];
}

/* Puts stderr back (if caught) and reads what was written meanwhile. */
static void stderr_restore(char *buf, size_t size)
{
    if (saved_stderr < 0) return;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    size_t n = 0;
    ssize_t r;
    while (buf && n + 1 < size && (r = read(stderr_pipe, buf + n, size - 1 - n)) > 0) n += (size_t)r;
    if (buf) buf[n] = '\0';
    close(stderr_pipe);
    stderr_pipe = -1;
}

/* For tests that change the logger: restores it even when an assertion
 * jumped out of the test body, then checks for leaks as usual. */
static int log_teardown(void **state)
{
    stderr_restore(NULL, 0);
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
    return t_teardown(state);
}

/* --------------------------------------------------------------- helpers */

static tr_pid spawn_mirror(t_env *e, const char *name)
{
    tr_pid pid;
    tr_spawn_opts o = {.name = name};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &o, &pid), TR_OK);
    assert_false(tr_pid_is_nil(pid));
    return pid;
}

static tr_pid t_pid(const tr_msg *m)
{
    tr_pid p;
    assert_int_equal(tr_msg_size(m), sizeof p);
    memcpy(&p, tr_msg_data(m), sizeof p);
    return p;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 131u + seed);
}

/* ------------------------------------------------------------------ atoms */

static void test_atom_intern_and_names(void **state)
{
    (void)state;
    tr_atom a = tr_atom_from("basics.alpha");
    tr_atom a2 = tr_atom_from("basics.alpha");
    tr_atom b = tr_atom_from("basics.beta");
    assert_int_not_equal(a.id, 0);
    assert_int_not_equal(b.id, 0);
    assert_true(tr_atom_eq(a, a2));
    assert_int_equal(a.id, a2.id);
    assert_false(tr_atom_eq(a, b));
    assert_string_equal(tr_atom_name(a), "basics.alpha");
    assert_string_equal(tr_atom_name(b), "basics.beta");
    /* a copy of the string, not the caller's buffer */
    char buf[] = "basics.gamma";
    tr_atom g = tr_atom_from(buf);
    buf[0] = 'X';
    assert_string_equal(tr_atom_name(g), "basics.gamma");
    assert_int_equal(tr_atom_from("basics.gamma").id, g.id);
    assert_int_not_equal(tr_atom_from(buf).id, g.id);

    /* names that give no atom */
    assert_int_equal(tr_atom_from(NULL).id, 0);
    assert_int_equal(tr_atom_from("").id, 0);
    char longest[TR_ATOM_MAX_LEN + 2];
    memset(longest, 'q', TR_ATOM_MAX_LEN + 1);
    longest[TR_ATOM_MAX_LEN + 1] = '\0';
    assert_int_equal(tr_atom_from(longest).id, 0); /* TR_ATOM_MAX_LEN + 1 */
    longest[TR_ATOM_MAX_LEN] = '\0';              /* exactly the maximum */
    tr_atom max = tr_atom_from(longest);
    assert_int_not_equal(max.id, 0);
    assert_string_equal(tr_atom_name(max), longest);

    /* names of ids that stand for nothing */
    assert_string_equal(tr_atom_name((tr_atom){0}), "");
    assert_string_equal(tr_atom_name((tr_atom){UINT32_MAX}), "");
    assert_string_equal(tr_atom_name((tr_atom){max.id + 1000}), "");
}

#define CONC_THREADS 4
#define CONC_NAMES 300

typedef struct conc_arg {
    pthread_barrier_t *go;
    unsigned id;
    uint32_t ids[CONC_NAMES];
} conc_arg;

static void *conc_intern(void *p)
{
    conc_arg *a = p;
    pthread_barrier_wait(a->go);
    for (unsigned k = 0; k < CONC_NAMES; k++) {
        /* each thread starts elsewhere, so first uses collide */
        unsigned i = (k + a->id * 37) % CONC_NAMES;
        char name[32];
        snprintf(name, sizeof name, "basics.conc.%u", i);
        a->ids[i] = tr_atom_from(name).id;
    }
    return NULL;
}

static void test_atom_concurrent_interning(void **state)
{
    (void)state;
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, CONC_THREADS), 0);
    static conc_arg args[CONC_THREADS];
    pthread_t th[CONC_THREADS];
    for (unsigned t = 0; t < CONC_THREADS; t++) {
        args[t].go = &go;
        args[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, conc_intern, &args[t]), 0);
    }
    for (unsigned t = 0; t < CONC_THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    pthread_barrier_destroy(&go);
    for (unsigned i = 0; i < CONC_NAMES; i++) {
        char name[32];
        snprintf(name, sizeof name, "basics.conc.%u", i);
        uint32_t id = args[0].ids[i];
        assert_int_not_equal(id, 0);
        for (unsigned t = 1; t < CONC_THREADS; t++) assert_int_equal(args[t].ids[i], id);
        assert_string_equal(tr_atom_name((tr_atom){id}), name);
        assert_int_equal(tr_atom_from(name).id, id);
        for (unsigned j = 0; j < i; j++) assert_int_not_equal(args[0].ids[j], id);
    }
}

/* --------------------------------------------------------- error, pid text */

static void test_strerror_texts(void **state)
{
    (void)state;
    static const int codes[] = {
        TR_ENOMEM, TR_EINVAL, TR_ENOENT, TR_ESTOPPED, TR_EFULL,   TR_ETIMEDOUT, TR_EFAILED,
        TR_ETOOBIG, TR_ENOTACTOR, TR_EEXIST, TR_EAGAIN, TR_ESTATE, TR_ENOROUTE,
        TR_EPRESENT, TR_EBUSY, TR_EBADMSG,
    };
    enum { N = sizeof codes / sizeof *codes };
    assert_int_equal(N, 16); /* TR_ENOMEM (-1) .. TR_EBADMSG (-16) */
    for (size_t i = 0; i < N; i++) {
        const char *s = tr_strerror(codes[i]);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, tr_strerror(codes[j]));
    }
    assert_string_not_equal(tr_strerror(TR_OK), "unknown error");
    static const int unknown[] = {-17, -100, 1, 12, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        assert_string_equal(tr_strerror(unknown[i]), "unknown error");
}

static void test_pid_format(void **state)
{
    (void)state;
    char buf[TR_PID_STRLEN];
    assert_ptr_equal(tr_pid_format((tr_pid){3, 17, 12345678901234ull}, buf, sizeof buf), buf);
    assert_string_equal(buf, "<3.17.12345678901234>");
    tr_pid_format(TR_PID_NIL, buf, sizeof buf);
    assert_string_equal(buf, "<0.0.0>");
    /* the widest pid fits TR_PID_STRLEN */
    tr_pid_format((tr_pid){UINT32_MAX, UINT32_MAX, UINT64_MAX}, buf, sizeof buf);
    assert_string_equal(buf, "<4294967295.4294967295.18446744073709551615>");
    assert_true(strlen(buf) < TR_PID_STRLEN);

    /* truncation: NUL-terminated within `size`, nothing written beyond */
    char small[16];
    tr_pid p = {12, 345, 6789}; /* "<12.345.6789>" */
    memset(small, 'Z', sizeof small);
    assert_ptr_equal(tr_pid_format(p, small, 6), small);
    assert_string_equal(small, "<12.3");
    assert_int_equal(small[6], 'Z');
    memset(small, 'Z', sizeof small);
    tr_pid_format(p, small, 1);
    assert_int_equal(small[0], '\0');
    assert_int_equal(small[1], 'Z');
    memset(small, 'Z', sizeof small);
    assert_ptr_equal(tr_pid_format(p, small, 0), small);
    assert_int_equal(small[0], 'Z');
    /* exactly enough room */
    memset(small, 'Z', sizeof small);
    tr_pid_format(p, small, strlen("<12.345.6789>") + 1);
    assert_string_equal(small, "<12.345.6789>");
}

/* --------------------------------------------------------------- messages */

/* Builds, reads and destroys unsent messages; no system is needed, so the
 * pool count is exact. */
static void test_msg_new_and_destroy(void **state)
{
    (void)state;
    tr_atom t = tr_atom_from("basics.blob");
    tr_msg *m = NULL;
    assert_int_equal(tr_msg_new(t, (size_t)TR_MSG_MAX + 1, &m), TR_ETOOBIG);
    assert_null(m);
    assert_int_equal(tr_msg_new((tr_atom){0}, 8, &m), TR_EINVAL);
    assert_null(m);

    tr_msg_destroy(NULL);
    tr_msg *none = NULL;
    tr_msg_destroy(&none);
    assert_null(none);

    static const size_t sizes[] = {0, 1, TR_MSG_INLINE, TR_MSG_INLINE + 1, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        int64_t before = tr_pool_outstanding();
        assert_int_equal(tr_msg_new(t, n, &m), TR_OK);
        assert_non_null(m);
        assert_true(tr_pool_outstanding() > before);
        assert_int_equal(tr_msg_type(m).id, t.id);
        assert_true(tr_msg_is(m, t));
        assert_int_equal(tr_msg_size(m), n);
        if (n == 0) {
            assert_null(tr_msg_buffer(m));
            assert_null(tr_msg_data(m));
        } else {
            assert_non_null(tr_msg_buffer(m));
            assert_ptr_equal(tr_msg_data(m), tr_msg_buffer(m));
            fill(tr_msg_buffer(m), n, 7); /* the whole buffer is writable */
        }
        tr_msg_destroy(&m);
        assert_null(m);
        assert_int_equal(tr_pool_outstanding(), before);
    }
}

/* A built message sent with tr_system_send_msg arrives with its bytes,
 * inline or not, and the sender gives up its pointer. */
static void test_msg_send_arrives_intact(void **state)
{
    t_env *e = *state;
    tr_pid mirror = spawn_mirror(e, "mirror");
    tr_atom t = tr_atom_from("basics.blob");
    static const size_t sizes[] = {0, 1, TR_MSG_INLINE, TR_MSG_INLINE + 1, 100000};
    static unsigned char want[100000];
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        tr_msg *m;
        assert_int_equal(tr_msg_new(t, n, &m), TR_OK);
        if (n) fill(tr_msg_buffer(m), n, (unsigned)i);
        assert_int_equal(tr_system_send_msg(e->sys, mirror, &m), TR_OK);
        assert_null(m);

        const tr_msg *r = t_expect(e, "from");
        assert_true(tr_pid_is_nil(t_pid(r))); /* sent from outside any actor */
        r = t_expect(e, "basics.blob");
        assert_true(tr_pid_eq(tr_msg_sender(r), mirror));
        assert_int_equal(tr_msg_size(r), n);
        if (n) {
            fill(want, n, (unsigned)i);
            assert_memory_equal(tr_msg_data(r), want, n);
        } else {
            assert_null(tr_msg_data(r));
        }
    }
    /* and the copying send, from the same thread, for the big one */
    fill(want, sizeof want, 99);
    assert_int_equal(tr_system_send(e->sys, mirror, t, want, sizeof want), TR_OK);
    assert_true(tr_pid_is_nil(t_pid(t_expect(e, "from"))));
    const tr_msg *r = t_expect(e, "basics.blob");
    assert_int_equal(tr_msg_size(r), sizeof want);
    assert_memory_equal(tr_msg_data(r), want, sizeof want);
}

/* ------------------------------------------------------------ send errors */

static void test_send_errors(void **state)
{
    t_env *e = *state;
    tr_pid mirror = spawn_mirror(e, "mirror");
    tr_atom t = tr_atom_from("basics.x");
    char byte = 'x';
    tr_pid nil_serial = {mirror.node, mirror.slot, 0};
    tr_pid far = {mirror.node + 1, mirror.slot, mirror.serial};
    assert_int_equal(tr_system_node(e->sys), mirror.node);

    assert_int_equal(tr_system_send(e->sys, TR_PID_NIL, t, &byte, 1), TR_EINVAL);
    assert_int_equal(tr_system_send(e->sys, nil_serial, t, &byte, 1), TR_EINVAL);
    assert_int_equal(tr_system_send(e->sys, mirror, (tr_atom){0}, &byte, 1), TR_EINVAL);
    assert_int_equal(tr_system_send(e->sys, far, t, &byte, 1), TR_ENOROUTE);
    /* the size is refused before anything is read or allocated */
    assert_int_equal(tr_system_send(e->sys, mirror, t, &byte, (size_t)TR_MSG_MAX + 1),
                     TR_ETOOBIG);

    assert_int_equal(tr_inbox_send(e->probe, TR_PID_NIL, t, &byte, 1), TR_EINVAL);
    assert_int_equal(tr_inbox_send(e->probe, mirror, (tr_atom){0}, &byte, 1), TR_EINVAL);
    assert_int_equal(tr_inbox_send(e->probe, far, t, &byte, 1), TR_ENOROUTE);
    assert_int_equal(tr_inbox_send(e->probe, mirror, t, &byte, (size_t)TR_MSG_MAX + 1),
                     TR_ETOOBIG);

    /* tr_system_send_msg takes the message on error too */
    tr_msg *m;
    assert_int_equal(tr_msg_new(t, 4, &m), TR_OK);
    assert_int_equal(tr_system_send_msg(e->sys, TR_PID_NIL, &m), TR_EINVAL);
    assert_null(m);
    assert_int_equal(tr_msg_new(t, 200, &m), TR_OK);
    assert_int_equal(tr_system_send_msg(e->sys, far, &m), TR_ENOROUTE);
    assert_null(m);
    assert_int_equal(tr_system_send_msg(e->sys, mirror, &m), TR_EINVAL); /* pointer to NULL */

    /* the same from inside an actor */
    tr_pid errs;
    assert_int_equal(tr_system_spawn(e->sys, &errs_b, NULL, &errs), TR_OK);
    const tr_msg *r = t_expect(e, "errs");
    int rc[ERRS_N];
    assert_int_equal(tr_msg_size(r), sizeof rc);
    memcpy(rc, tr_msg_data(r), sizeof rc);
    assert_int_equal(rc[0], TR_EINVAL);   /* tr_send to nil */
    assert_int_equal(rc[1], TR_EINVAL);   /* tr_send type {0} */
    assert_int_equal(rc[2], TR_ENOROUTE); /* tr_send to another node */
    assert_int_equal(rc[3], TR_ETOOBIG);  /* tr_send too big */
    assert_int_equal(rc[4], TR_ENOROUTE); /* tr_send_msg to another node, *msg NULL */
    assert_int_equal(rc[5], TR_EINVAL);   /* tr_send_msg of a NULL message */
    assert_int_equal(rc[6], TR_EINVAL);   /* tr_spawn NULL behaviour */
    assert_int_equal(rc[7], TR_EINVAL);   /* tr_spawn name with '/' */
    assert_int_equal(rc[8], TR_EINVAL);   /* tr_spawn no handle */

    /* refused sends are neither sent nor dead letters: only the report
     * went out, and nothing but the two actors was spawned */
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.messages_sent, 1);
    assert_int_equal(st.dead_letters, 0);
    assert_int_equal(st.actors_spawned, 2);
}

/* ----------------------------------------------------- spawn, run, stop */

static void test_spawn_errors_and_after_stop(void **state)
{
    t_env *e = *state;
    tr_pid pid;
    static const tr_behaviour no_handle = {"nohandle", 0, NULL, NULL, NULL};
    assert_int_equal(tr_system_spawn(e->sys, NULL, NULL, &pid), TR_EINVAL);
    assert_int_equal(tr_system_spawn(e->sys, &no_handle, NULL, &pid), TR_EINVAL);
    tr_spawn_opts slash = {.name = "a/b"};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &slash, &pid), TR_EINVAL);
    tr_spawn_opts lead = {.name = "/x"};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &lead, &pid), TR_EINVAL);
    tr_spawn_opts no_args = {.args = NULL, .args_size = 4};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &no_args, &pid), TR_EINVAL);
    tr_spawn_opts bad_shutdown = {.shutdown_ms = TR_SHUTDOWN_INFINITY - 1};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &bad_shutdown, &pid), TR_EINVAL);
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_spawned, 0);

    /* a live one, stopped with the tree */
    tr_pid live = spawn_mirror(e, "live");
    tr_system_stop(e->sys);
    tr_system_stop(e->sys); /* again: no effect */
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    assert_int_equal(tr_system_wait(e->sys, 0), TR_OK);
    assert_string_equal(tr_system_report(e->sys), "");

    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, NULL, &pid), TR_ESTOPPED);
    tr_spawn_opts named = {.name = "late"};
    assert_int_equal(tr_system_spawn(e->sys, &mirror_b, &named, NULL), TR_ESTOPPED);
    assert_int_equal(tr_system_stop_child(e->sys, live), TR_ESTOPPED);
    assert_int_equal(tr_system_stop_child(e->sys, TR_PID_NIL), TR_EINVAL);
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_spawned, 1);
    assert_int_equal(st.actors_live, 0);
}

static void *run_thread(void *p)
{
    tr_system *sys = p;
    int rc = tr_system_run(sys);
    if (tr_system_send(sys, t_probe, tr_atom_from("run.done"), &rc, sizeof rc) != TR_OK) abort();
    return NULL;
}

static int run_rc(const tr_msg *m)
{
    int rc;
    assert_int_equal(tr_msg_size(m), sizeof rc);
    memcpy(&rc, tr_msg_data(m), sizeof rc);
    return rc;
}

/* Two threads call run at once: one is refused at once, the other returns
 * when the nursery closes (its only child stops); later calls are refused. */
static void test_run_twice(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_mirror(e, "only");
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_thread, e->sys), 0);
    /* the tree is alive, so the first to return must be the refused one */
    assert_int_equal(run_rc(t_expect(e, "run.done")), TR_ESTATE);
    assert_int_equal(tr_system_wait(e->sys, 0), TR_ETIMEDOUT);
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("stop"), NULL, 0), TR_OK);
    assert_int_equal(run_rc(t_expect(e, "run.done")), TR_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(tr_system_run(e->sys), TR_ESTATE);
    assert_int_equal(tr_system_wait(e->sys, 0), TR_OK);
    assert_string_equal(tr_system_report(e->sys), "");
}

/* ----------------------------------------------------------------- inbox */

static void test_inbox_timeouts(void **state)
{
    t_env *e = *state;
    const tr_msg *m;
    int64_t t0 = t_now_ms();
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    assert_true(t_now_ms() - t0 < 1000);

    t0 = t_now_ms();
    assert_int_equal(tr_inbox_recv(e->probe, &m, 50), TR_ETIMEDOUT);
    int64_t waited = t_now_ms() - t0;
    if (waited < 45 || waited >= 5000) print_error("waited %lld ms for 50\n", (long long)waited);
    assert_true(waited >= 45);
    assert_true(waited < 5000);

    /* a message already there is taken without waiting, even with 0 */
    assert_int_equal(tr_system_send(e->sys, t_probe, tr_atom_from("basics.now"), "n", 2), TR_OK);
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(m)), "basics.now");
    assert_string_equal((const char *)tr_msg_data(m), "n");
    assert_true(tr_pid_is_nil(tr_msg_sender(m)));
    assert_int_equal(tr_inbox_recv(e->probe, &m, 0), TR_ETIMEDOUT);
    assert_int_equal(tr_system_send(e->sys, t_probe, tr_atom_from("basics.now"), "f", 2), TR_OK);
    assert_int_equal(tr_inbox_recv(e->probe, &m, -1), TR_OK);
    assert_string_equal((const char *)tr_msg_data(m), "f");
}

/* An actor answers tr_msg_sender: for tr_inbox_send that is the inbox. */
static void test_inbox_reply(void **state)
{
    t_env *e = *state;
    tr_pid mirror = spawn_mirror(e, "mirror");
    tr_inbox *in;
    assert_int_equal(tr_inbox_new(e->sys, &in), TR_OK);
    tr_pid ip = tr_inbox_pid(in);
    assert_false(tr_pid_is_nil(ip));
    assert_false(tr_pid_eq(ip, t_probe));
    assert_int_equal(ip.node, tr_system_node(e->sys));

    assert_int_equal(tr_inbox_send(in, mirror, tr_atom_from("basics.ping"), "hi", 3), TR_OK);
    assert_true(tr_pid_eq(t_pid(t_expect(e, "from")), ip));
    const tr_msg *m = t_expect(e, "basics.ping");
    assert_string_equal((const char *)tr_msg_data(m), "hi");

    assert_int_equal(tr_inbox_recv(in, &m, T_WAIT_MS), TR_OK);
    assert_string_equal(tr_atom_name(tr_msg_type(m)), "reply");
    assert_true(tr_pid_eq(tr_msg_sender(m), mirror));
    assert_int_equal(tr_msg_size(m), 3);
    assert_string_equal((const char *)tr_msg_data(m), "hi");
    assert_int_equal(tr_inbox_recv(in, &m, 0), TR_ETIMEDOUT); /* only one reply */
    tr_inbox_destroy(&in);
    assert_null(in);
    tr_inbox_destroy(&in); /* pointer to NULL */
    tr_inbox_destroy(NULL);
}

/* Messages left in a destroyed inbox and sent to its pid afterwards are
 * dead letters; an inbox created later never sees them. */
static void test_inbox_dead_letters(void **state)
{
    t_env *e = *state;
    tr_atom t = tr_atom_from("basics.dl");
    tr_inbox *in;
    assert_int_equal(tr_inbox_new(e->sys, &in), TR_OK);
    tr_pid old = tr_inbox_pid(in);
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    uint64_t d0 = st.dead_letters;

    assert_int_equal(tr_system_send(e->sys, old, t, "a", 2), TR_OK);
    assert_int_equal(tr_system_send(e->sys, old, t, "b", 2), TR_OK);
    tr_inbox_destroy(&in);
    assert_int_equal(t_wait_dead_letters(e->sys, d0 + 2), d0 + 2);

    assert_int_equal(tr_system_send(e->sys, old, t, "c", 2), TR_OK);
    assert_int_equal(t_wait_dead_letters(e->sys, d0 + 3), d0 + 3);

    tr_inbox *next;
    assert_int_equal(tr_inbox_new(e->sys, &next), TR_OK);
    assert_false(tr_pid_eq(tr_inbox_pid(next), old));
    assert_int_equal(tr_system_send(e->sys, old, t, "d", 2), TR_OK);
    assert_int_equal(t_wait_dead_letters(e->sys, d0 + 4), d0 + 4);
    const tr_msg *m;
    assert_int_equal(tr_inbox_recv(next, &m, 0), TR_ETIMEDOUT);
    tr_inbox_destroy(&next);
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.dead_letters, d0 + 4);
    assert_int_equal(st.messages_sent, 4);
}


/* An inbox's monitors: "tr.down" with the reference and the exit when the
 * target ends; at once, noproc, for one already gone; none after
 * tr_inbox_demonitor, even one already queued in the inbox. */
static void test_inbox_monitor(void **state)
{
    t_env *e = *state;
    tr_pid a = spawn_mirror(e, "a");
    tr_ref r1, r2;
    assert_int_equal(tr_inbox_monitor(e->probe, a, &r1), TR_OK);
    assert_int_not_equal(r1.id, 0);
    assert_int_equal(tr_inbox_monitor(e->probe, a, &r2), TR_OK); /* twice: two monitors */
    assert_int_not_equal(r2.id, r1.id);
    assert_int_equal(tr_inbox_demonitor(e->probe, r2), TR_OK);
    assert_int_equal(tr_inbox_demonitor(e->probe, r2), TR_ENOENT);
    assert_int_equal(tr_system_send(e->sys, a, tr_atom_from("stop"), NULL, 0), TR_OK);
    const tr_msg *m = t_expect(e, "tr.down");
    assert_true(tr_msg_is(m, tr_down_atom()));
    assert_int_equal(tr_msg_ref(m).id, r1.id);
    tr_pid who;
    tr_exit why;
    assert_int_equal(tr_exit_decode(m, &who, &why), TR_OK);
    assert_true(tr_pid_eq(who, a));
    assert_int_equal(why.kind, TR_EXIT_NORMAL);
    assert_int_equal(tr_inbox_demonitor(e->probe, r1), TR_ENOENT); /* it fired */
    /* already gone: at once, noproc */
    tr_ref r3;
    assert_int_equal(tr_inbox_monitor(e->probe, a, &r3), TR_OK);
    m = t_expect(e, "tr.down");
    assert_int_equal(tr_msg_ref(m).id, r3.id);
    assert_int_equal(tr_exit_decode(m, &who, &why), TR_OK);
    assert_int_equal(why.kind, TR_EXIT_NOPROC);
    assert_true(tr_pid_eq(who, a));

    /* a "tr.down" already in the inbox when demonitor is called is never
     * received: the actor has ended (counted) before demonitor */
    tr_pid b = spawn_mirror(e, "b");
    tr_ref r4;
    assert_int_equal(tr_inbox_monitor(e->probe, b, &r4), TR_OK);
    assert_int_equal(tr_system_send(e->sys, b, tr_atom_from("stop"), NULL, 0), TR_OK);
    assert_int_equal(t_wait_live(e->sys, 0), 0); /* b ended: its down was sent before */
    assert_int_equal(tr_inbox_demonitor(e->probe, r4), TR_OK);
    assert_int_equal(tr_system_send(e->sys, t_probe, tr_atom_from("sentinel"), NULL, 0), TR_OK);
    t_expect(e, "sentinel"); /* the down, queued before it, was dropped */
    t_expect_none(e);
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.dead_letters, 0); /* consumed, not lost */
}

/* ---------------------------------------------------------------- logger */

static void test_log_levels(void **state)
{
    (void)state;
    assert_string_equal(tr_log_level_name(TR_LOG_DEBUG), "debug");
    assert_string_equal(tr_log_level_name(TR_LOG_INFO), "info");
    assert_string_equal(tr_log_level_name(TR_LOG_WARN), "warn");
    assert_string_equal(tr_log_level_name(TR_LOG_ERROR), "error");
    assert_string_equal(tr_log_level_name(TR_LOG_NONE), "none");
    assert_int_equal(tr_log_get_level(), TR_LOG_WARN); /* the default */
    for (int l = TR_LOG_DEBUG; l <= TR_LOG_NONE; l++) {
        tr_log_set_level((tr_log_level)l);
        assert_int_equal(tr_log_get_level(), l);
    }
    tr_log_set_level(TR_LOG_WARN);
    assert_int_equal(tr_log_get_level(), TR_LOG_WARN);
}

/* A failure under a trapping parent is logged once at WARN; at level ERROR
 * the same failure logs nothing. */
static void test_log_failure_and_level(void **state)
{
    t_env *e = *state;
    cap_start();
    tr_pid p;
    tr_spawn_opts o = {.name = "p", .flags = TR_SPAWN_TRAP_EXITS};
    assert_int_equal(tr_system_spawn(e->sys, &trapper_b, &o, &p), TR_OK);

    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("spawn.failer"), "x", 2), TR_OK);
    const tr_msg *m = t_expect(e, "trapped");
    assert_string_equal((const char *)tr_msg_data(m), "failure: boom");
    /* the child logged before its exit reached the parent */
    if (cap_count() != 1) cap_dump();
    assert_int_equal(cap_count(), 1);
    assert_int_equal(cap_find(TR_LOG_WARN, "actor /root/p/x failed: boom"), 0);

    tr_log_set_level(TR_LOG_ERROR);
    assert_int_equal(tr_log_get_level(), TR_LOG_ERROR);
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("spawn.failer"), "y", 2), TR_OK);
    m = t_expect(e, "trapped");
    assert_string_equal((const char *)tr_msg_data(m), "failure: boom");
    if (cap_count() != 1) cap_dump();
    assert_int_equal(cap_count(), 1);

    tr_log_set_level(TR_LOG_WARN);
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("spawn.failer"), "z", 2), TR_OK);
    t_expect(e, "trapped");
    assert_int_equal(cap_count(), 2);
    assert_int_equal(cap_find(TR_LOG_WARN, "actor /root/p/z failed: boom"), 1);

    /* back to the default sink (stderr, caught in a pipe here): the
     * capture sees nothing more */
    tr_log_set_handler(NULL, NULL);
    stderr_to_pipe();
    assert_int_equal(tr_system_send(e->sys, p, tr_atom_from("spawn.failer"), "w", 2), TR_OK);
    t_expect(e, "trapped");
    char err[512];
    stderr_restore(err, sizeof err);
    assert_string_equal(err, "troupe warn: actor /root/p/w failed: boom\n");
    assert_int_equal(cap_count(), 2);
    pthread_mutex_lock(&cap.mu);
    int bad_user = cap.bad_user;
    pthread_mutex_unlock(&cap.mu);
    assert_int_equal(bad_user, 0);
    tr_log_set_level(TR_LOG_WARN);
}

/* A failure that reaches the root logs the failed actor at WARN, each
 * parent it fails on its way up at INFO (a deep chain must not flood the
 * log with warnings) and the root's end at ERROR; every line is one line
 * without a newline, as the tr_log_fn contract in log.h says. */
static void test_log_root_failure_lines(void **state)
{
    t_env *e = *state;
    tr_log_set_level(TR_LOG_INFO);
    cap_start();
    tr_spawn_opts o = {.name = "x"};
    assert_int_equal(tr_system_spawn(e->sys, &failer_b, &o, NULL), TR_OK);
    assert_int_equal(tr_system_run(e->sys), TR_EFAILED);
    assert_string_equal(tr_system_report(e->sys),
                        "/root/x: boom\n"
                        "/root: child /root/x failed\n");
    if (cap_find(TR_LOG_WARN, "actor /root/x failed: boom") < 0) cap_dump();
    assert_true(cap_find(TR_LOG_WARN, "actor /root/x failed: boom") >= 0);
    assert_true(cap_find(TR_LOG_INFO, "actor /root failed: child /root/x failed") >= 0);
    assert_true(cap_find(TR_LOG_WARN, "actor /root failed: child /root/x failed") < 0);
    tr_log_set_level(TR_LOG_WARN);
    static char lines[CAP_LINES][512];
    tr_log_level levels[CAP_LINES];
    pthread_mutex_lock(&cap.mu);
    int n = cap.n;
    memcpy(lines, cap.line, sizeof lines);
    memcpy(levels, cap.level, sizeof levels);
    pthread_mutex_unlock(&cap.mu);
    assert_true(n >= 3 && n <= CAP_LINES);
    int root_line = 0;
    for (int i = 0; i < n; i++) {
        const char *line = lines[i];
        size_t len = strlen(line);
        if (levels[i] == TR_LOG_ERROR && strncmp(line, "the root failed", 15) == 0) root_line++;
        if (len && line[len - 1] == '\n')
            print_error("line %d ends with a newline: \"%s\"\n", i, line);
        assert_false(len && line[len - 1] == '\n');
        if (strchr(line, '\n')) print_error("line %d has a newline inside: \"%s\"\n", i, line);
        assert_null(strchr(line, '\n'));
    }
    assert_int_equal(root_line, 1); /* the root's end, at ERROR, said once */
}

/* Dead letters are logged at DEBUG, and only when DEBUG is enabled. */
static void test_log_debug_dead_letter(void **state)
{
    t_env *e = *state;
    tr_inbox *in;
    assert_int_equal(tr_inbox_new(e->sys, &in), TR_OK);
    tr_pid gone = tr_inbox_pid(in);
    tr_inbox_destroy(&in);

    cap_start();
    tr_log_set_level(TR_LOG_DEBUG);
    assert_int_equal(tr_system_send(e->sys, gone, tr_atom_from("basics.dl"), "abc", 3), TR_OK);
    char want[128];
    snprintf(want, sizeof want, "dead letter (no actor): basics.dl (3 bytes) to <%u.%u.%llu>",
             gone.node, gone.slot, (unsigned long long)gone.serial);
    if (cap_find(TR_LOG_DEBUG, want) < 0) cap_dump();
    assert_true(cap_find(TR_LOG_DEBUG, want) >= 0);
    int n = cap_count();

    tr_log_set_level(TR_LOG_INFO);
    assert_int_equal(tr_system_send(e->sys, gone, tr_atom_from("basics.dl"), "abc", 3), TR_OK);
    assert_int_equal(t_wait_dead_letters(e->sys, 2), 2);
    assert_int_equal(cap_count(), n);
    tr_log_set_handler(NULL, NULL);
    tr_log_set_level(TR_LOG_WARN);
}

/* ------------------------------------------------- paths, self, parent */

static void test_paths(void **state)
{
    t_env *e = *state;
    tr_spawn_opts o = {.name = "x"};
    tr_pid x;
    assert_int_equal(tr_system_spawn(e->sys, &pathy_b, &o, &x), TR_OK);
    const tr_msg *m = t_expect(e, "path");
    assert_true(tr_pid_eq(tr_msg_sender(m), x));
    assert_string_equal((const char *)tr_msg_data(m), "/root/x");
    m = t_expect(e, "path.trunc");
    path_trunc t;
    assert_int_equal(tr_msg_size(m), sizeof t);
    memcpy(&t, tr_msg_data(m), sizeof t);
    assert_int_equal(t.full_len, strlen("/root/x"));
    assert_int_equal(t.small_len, strlen("/root/x")); /* the length it needs */
    assert_string_equal(t.small, "/roo");             /* 4 bytes and the NUL */
    assert_int_equal(t.small[5], 'Z');
    assert_int_equal(t.zero_len, strlen("/root/x"));
    assert_int_equal(t.zero_guard, 'Z');

    tr_pid anon;
    assert_int_equal(tr_system_spawn(e->sys, &pathy_b, NULL, &anon), TR_OK);
    m = t_expect(e, "path");
    assert_true(tr_pid_eq(tr_msg_sender(m), anon));
    const char *path = tr_msg_data(m);
    const char *prefix = "/root/pathy-";
    size_t pl = strlen(prefix);
    assert_true(strncmp(path, prefix, pl) == 0);
    assert_true(strlen(path) > pl);
    for (const char *c = path + pl; *c; c++) assert_true(*c >= '0' && *c <= '9');
    size_t len = strlen(path);
    m = t_expect(e, "path.trunc");
    memcpy(&t, tr_msg_data(m), sizeof t);
    assert_int_equal(t.full_len, len);
    assert_int_equal(t.small_len, len);
    assert_string_equal(t.small, "/roo");
}

static void test_self_and_parent(void **state)
{
    t_env *e = *state;
    uint32_t role = 1;
    tr_spawn_opts o = {.name = "fam", .args = &role, .args_size = sizeof role};
    tr_pid top;
    assert_int_equal(tr_system_spawn(e->sys, &fam_b, &o, &top), TR_OK);
    fam_rep parent = {0}, child = {0};
    for (int i = 0; i < 2; i++) { /* parent and child report concurrently */
        const tr_msg *m = t_expect(e, "fam");
        fam_rep r;
        assert_int_equal(tr_msg_size(m), sizeof r);
        memcpy(&r, tr_msg_data(m), sizeof r);
        assert_true(tr_pid_eq(tr_msg_sender(m), r.self));
        if (r.role == 1) parent = r;
        else child = r;
    }
    assert_int_equal(parent.role, 1);
    assert_int_equal(child.role, 2);
    assert_true(tr_pid_eq(parent.self, top));
    assert_true(tr_pid_eq(child.parent, parent.self));
    assert_true(tr_pid_eq(child.self, parent.spawned));
    assert_false(tr_pid_eq(child.self, parent.self));
    /* a top-level actor's parent is the root: a real pid, not either actor */
    assert_false(tr_pid_is_nil(parent.parent));
    assert_false(tr_pid_eq(parent.parent, parent.self));
    assert_false(tr_pid_eq(parent.parent, child.self));
    uint32_t node = tr_system_node(e->sys);
    assert_int_equal(parent.self.node, node);
    assert_int_equal(parent.parent.node, node);
    assert_int_equal(child.self.node, node);
    assert_ptr_equal(parent.sys, e->sys);
    assert_ptr_equal(child.sys, e->sys);

    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.workers, 2); /* t_setup's default */
}

/* ----------------------------------------------------------------- stats */

static int setup_three_workers(void **state) { return t_setup_workers(state, 3); }

static void test_stats(void **state)
{
    t_env *e = *state;
    tr_system_stats st;
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.workers, 3);
    assert_int_equal(st.actors_live, 0);
    assert_int_equal(st.actors_spawned, 0);
    assert_int_equal(st.messages_sent, 0);
    assert_int_equal(st.dead_letters, 0);

    tr_pid a = spawn_mirror(e, "a"), b = spawn_mirror(e, "b");
    tr_pid both[2] = {a, b};
    for (int i = 0; i < 2; i++) { /* one at a time: their reports would interleave */
        assert_int_equal(tr_system_send(e->sys, both[i], tr_atom_from("basics.s"), "1", 2), TR_OK);
        t_expect(e, "from");
        assert_true(tr_pid_eq(tr_msg_sender(t_expect(e, "basics.s")), both[i]));
    }
    /* 2 from here, 2 reports from each mirror; both counted before they
     * reached the probe */
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.messages_sent, 6);
    assert_int_equal(st.actors_spawned, 2);
    assert_int_equal(t_wait_live(e->sys, 2), 2);

    tr_system_stop(e->sys);
    assert_int_equal(tr_system_wait(e->sys, T_WAIT_MS), TR_OK);
    tr_system_get_stats(e->sys, &st);
    assert_int_equal(st.actors_live, 0);
    assert_int_equal(st.actors_spawned, 2);
    assert_int_equal(st.dead_letters, 0);
    assert_int_equal(st.workers, 3);

    /* more than 256 workers is refused */
    tr_system_opts too_many = {.workers = 257};
    tr_system *sys = NULL;
    assert_int_equal(tr_system_new(&too_many, &sys), TR_EINVAL);
    assert_null(sys);
    tr_system_destroy(&sys); /* pointer to NULL */
    tr_system_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atom_intern_and_names),
        cmocka_unit_test(test_atom_concurrent_interning),
        cmocka_unit_test(test_strerror_texts),
        cmocka_unit_test(test_pid_format),
        cmocka_unit_test(test_msg_new_and_destroy),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test_setup_teardown(test_msg_send_arrives_intact, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_send_errors, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_errors_and_after_stop, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_run_twice, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_timeouts, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_reply, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_dead_letters, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_monitor, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_log_failure_and_level, t_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_log_root_failure_lines, t_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_log_debug_dead_letter, t_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_paths, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_self_and_parent, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup_three_workers, t_teardown),
    };
    return cmocka_run_group_tests_name("basics", tests, NULL, NULL);
}
