/* test_keys_edges.c — the documented refusals of the key-file, ZAP and
 * shared-context modules that test_keys.c does not reach: a key file too
 * large, a name given twice, a key file without its public key, NULL
 * arguments, a path too long to write, and the handler's and the
 * context's misuse (released when not running, asked for a server while
 * stopped). Single-threaded except for the ZAP handler's own thread. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "testutil.h"

#include "../transport/allowlist.h"
#include "../transport/keys.h"
#include "../transport/zap.h"
#include "../transport/zctx.h"

/* ---- a log capture: misuse is only ever logged ------------------------ */

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static char cap_buf[8192];
static size_t cap_len;

static void capture(void *user, tr_log_level level, const char *line)
{
    (void)user;
    (void)level;
    pthread_mutex_lock(&cap_mu);
    int n = snprintf(cap_buf + cap_len, sizeof cap_buf - cap_len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof cap_buf - cap_len) cap_len += (size_t)n;
    pthread_mutex_unlock(&cap_mu);
}

static bool captured(const char *needle)
{
    pthread_mutex_lock(&cap_mu);
    bool found = strstr(cap_buf, needle) != NULL;
    pthread_mutex_unlock(&cap_mu);
    return found;
}

/* ---- fixture: a temporary folder with one written key pair ------------ */

typedef struct fx {
    char dir[PATH_MAX];
    char key[PATH_MAX + 16];
    char text[4096]; /* a.key's text */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/troupe-keys-edges-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) return -1;
    tri_keypair kp;
    tri_key_error err;
    if (tri_keypair_new(&kp) != TR_OK || tri_keys_write(f->dir, "a", &kp, &err) != TR_OK) return -1;
    tri_keypair_wipe(&kp);
    snprintf(f->key, sizeof f->key, "%s/a.key", f->dir);
    FILE *in = fopen(f->key, "r");
    if (!in) return -1;
    size_t n = fread(f->text, 1, sizeof f->text - 1, in);
    fclose(in);
    f->text[n] = '\0';
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

/* Writes `text` (len bytes) to DIR/NAME with mode 0600; returns the path. */
static const char *write_file(fx *f, const char *name, const char *text, size_t len)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* a.key's text without the lines containing `drop`, and with `add` after
 * the line containing `after` (NULL: nothing added). */
static void edit(const fx *f, char *out, size_t n, const char *drop, const char *after,
                 const char *add)
{
    out[0] = '\0';
    const char *s = f->text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, s);
        if (!drop || !strstr(line, drop)) strncat(out, line, n - strlen(out) - 1);
        if (after && strstr(line, after)) strncat(out, add, n - strlen(out) - 1);
        s += len;
    }
}

static void test_key_file_too_large(void **state)
{
    fx *f = *state;
    size_t size = 65537;
    char *big = malloc(size);
    memset(big, '#', size);
    const char *path = write_file(f, "big.key", big, size);
    free(big);
    tri_keypair kp;
    tri_key_error err;
    assert_int_equal(tri_keys_load_secret(path, &kp, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "too large for a key file"));
    uint8_t pub[TRI_KEY_BYTES];
    assert_int_equal(tri_keys_load_public(path, pub, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "too large for a key file"));
}

static void test_name_twice_and_missing_public(void **state)
{
    fx *f = *state;
    char text[4096];
    tri_keypair kp;
    tri_key_error err;
    edit(f, text, sizeof text, NULL, "name = ", "    name = \"b\"\n");
    const char *path = write_file(f, "twice.key", text, strlen(text));
    assert_int_equal(tri_keys_load_secret(path, &kp, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "'name' given twice in section 'metadata'"));

    edit(f, text, sizeof text, "public-key", NULL, NULL);
    path = write_file(f, "nopub.key", text, strlen(text));
    assert_int_equal(tri_keys_load_secret(path, &kp, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "expected 'public-key' in section 'curve'"));
    /* the original still loads: the edits are what was refused */
    char name[TRI_NODE_NAME_MAX + 1];
    assert_int_equal(tri_keys_load_secret(f->key, &kp, name, &err), TR_OK);
    assert_string_equal(name, "a");
    tri_keypair_wipe(&kp);
}

static void test_null_arguments(void **state)
{
    fx *f = *state;
    tri_keypair kp;
    tri_key_error err;
    uint8_t pub[TRI_KEY_BYTES];
    assert_int_equal(tri_keys_load_secret(NULL, &kp, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "NULL argument"));
    assert_int_equal(tri_keys_load_secret(f->key, NULL, NULL, &err), TR_EINVAL);
    assert_int_equal(tri_keys_load_public(NULL, pub, NULL, &err), TR_EINVAL);
    assert_non_null(strstr(err.text, "NULL argument"));
    assert_int_equal(tri_keys_curve_client(NULL, &kp, pub), TR_EINVAL);
}

/* A folder whose name fills PATH_MAX: refused before anything is tried
 * (the message, the path first, is cut to err's size). */
static void test_write_path_too_long(void **state)
{
    (void)state;
    static char dir[PATH_MAX + 8];
    memset(dir, 'd', sizeof dir - 1);
    dir[0] = '/';
    dir[PATH_MAX - 4] = '\0';
    tri_keypair kp;
    assert_int_equal(tri_keypair_new(&kp), TR_OK);
    tri_key_error err;
    assert_int_equal(tri_keys_write(dir, "a", &kp, &err), TR_EINVAL);
    assert_int_equal(strncmp(err.text, "/ddd", 4), 0);
    assert_null(strstr(err.text, "cannot")); /* not an I/O error */
    tri_keypair_wipe(&kp);
}

/* The handler refuses what it cannot do while stopped, and a release
 * without an acquire (or of a context that is not the current one) is
 * logged and otherwise ignored: the next acquire still works. */
static void test_zap_and_context_misuse(void **state)
{
    (void)state;
    pthread_mutex_lock(&cap_mu);
    cap_len = 0;
    cap_buf[0] = '\0';
    pthread_mutex_unlock(&cap_mu);
    tr_log_set_handler(capture, NULL);

    tri_zap_release();
    assert_true(captured("the ZAP handler is not running"));
    tri_allowlist *al;
    assert_int_equal(tri_allowlist_new(&al), TR_OK);
    assert_int_equal(tri_zap_domain_add("a", al), TR_ESTATE);
    assert_int_equal(tri_zap_domain_replace("a", al), TR_ESTATE);
    uint8_t sk[TRI_KEY_BYTES] = {1};
    int dummy;
    assert_int_equal(tri_zap_curve_server(&dummy, "a", sk), TR_ESTATE);
    assert_int_equal(tri_zap_curve_server(&dummy, "not a name", sk), TR_EINVAL);

    void *ctx = NULL, *bogus = &dummy;
    assert_int_equal(tri_zctx_acquire(&ctx), TR_OK);
    tri_zctx_release(&bogus);
    assert_null(bogus);
    assert_true(captured("not the current context"));
    assert_int_equal(tri_zctx_users(), 1);

    assert_int_equal(tri_zap_acquire(), TR_OK);
    assert_int_equal(tri_zap_domain_add("a", al), TR_OK);
    assert_int_equal(tri_zap_domain_add("a", al), TR_EEXIST);
    assert_int_equal(tri_zap_domain_replace("b", al), TR_ENOENT);
    assert_int_equal(tri_zap_domain_remove("a"), TR_OK);
    tri_zap_release();
    tri_allowlist_release(&al);
    tri_zctx_release(&ctx);
    assert_int_equal(tri_zctx_users(), 0);
    tr_log_set_handler(NULL, NULL);
}

/* Something else bound at the ZAP endpoint first: the handler cannot
 * start (TR_EEXIST, logged), and starts once it is gone. */
static void test_zap_endpoint_taken(void **state)
{
    (void)state;
    tr_log_set_handler(capture, NULL);
    void *ctx = NULL;
    assert_int_equal(tri_zctx_acquire(&ctx), TR_OK);
    void *rogue = zmq_socket(ctx, ZMQ_ROUTER);
    assert_non_null(rogue);
    assert_int_equal(zmq_bind(rogue, "inproc://zeromq.zap.01"), 0);
    assert_int_equal(tri_zap_acquire(), TR_EEXIST);
    assert_true(captured("ZAP handler: cannot bind inproc://zeromq.zap.01"));
    assert_int_equal(tri_zctx_users(), 1); /* its context reference given back */
    assert_int_equal(zmq_unbind(rogue, "inproc://zeromq.zap.01"), 0); /* at once, unlike close */
    zmq_close(rogue);
    assert_int_equal(tri_zap_acquire(), TR_OK);
    tri_zap_release();
    tri_zctx_release(&ctx);
    tr_log_set_handler(NULL, NULL);
}

/* Sends `n` frames (`frames`, NULL-terminated strings) as one request on
 * a REQ socket connected to the ZAP endpoint; returns the status of the
 * reply (its third frame) into status (4 bytes), or "" when none came
 * within T_WAIT_MS. */
static void zap_raw(void *ctx, const char *const *frames, int n, char status[4])
{
    void *req = zmq_socket(ctx, ZMQ_REQ);
    assert_non_null(req);
    int zero = 0;
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(req, "inproc://zeromq.zap.01"), 0);
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(req, frames[i], strlen(frames[i]), i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    status[0] = '\0';
    zmq_pollitem_t it = {req, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, T_WAIT_MS) == 1) {
        char buf[64];
        for (int i = 0;; i++) {
            int got = zmq_recv(req, buf, sizeof buf - 1, 0);
            assert_true(got >= 0);
            if (i == 2) snprintf(status, 4, "%.*s", got, buf);
            int more = 0;
            size_t ms = sizeof more;
            zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ms);
            if (!more) break;
        }
    }
    zmq_close(req);
}

/* Requests the handler cannot read are answered 500 (and logged), be
 * they too short or of more frames than any mechanism sends. */
static void test_zap_malformed_requests(void **state)
{
    (void)state;
    pthread_mutex_lock(&cap_mu);
    cap_len = 0;
    cap_buf[0] = '\0';
    pthread_mutex_unlock(&cap_mu);
    tr_log_set_handler(capture, NULL);
    void *ctx = NULL;
    assert_int_equal(tri_zctx_acquire(&ctx), TR_OK);
    assert_int_equal(tri_zap_acquire(), TR_OK);
    tri_zap_stats before, after;
    tri_zap_get_stats(&before);

    static const char *const few[] = {"1.0", "r1", "a"};
    char status[4];
    zap_raw(ctx, few, 3, status);
    assert_string_equal(status, "500");
    assert_true(captured("malformed request"));

    const char *many[24];
    many[0] = "1.0";
    many[1] = "r2";
    many[2] = "a";
    many[3] = "127.0.0.1";
    many[4] = "";
    many[5] = "CURVE";
    for (int i = 6; i < 24; i++) many[i] = "x";
    zap_raw(ctx, many, 24, status);
    assert_string_equal(status, "500");
    tri_zap_get_stats(&after);
    assert_int_equal(after.requests - before.requests, 2);
    assert_int_equal(after.accepted, before.accepted);

    tri_zap_release();
    tri_zctx_release(&ctx);
    tr_log_set_handler(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_file_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_twice_and_missing_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments, setup, teardown),
        cmocka_unit_test(test_write_path_too_long),
        cmocka_unit_test(test_zap_and_context_misuse),
        cmocka_unit_test(test_zap_malformed_requests),
        cmocka_unit_test(test_zap_endpoint_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
