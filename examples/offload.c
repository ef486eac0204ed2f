/* offload.c — blocking work off the worker threads (tr_offload): an actor
 * that checksums files answers each "sum" request later, once a blocking
 * thread has read the file; the result comes back to the actor as an
 * ordinary message, and the actor replies to the caller with the token it
 * kept (tr_msg_request, tr_reply_to). Its worker thread never waits on
 * the disk: the actor is free to handle other messages meanwhile.
 *
 * main writes a file, asks for its checksum and for one of a file that
 * does not exist, and checks both answers. Exits 0 only if they hold. */
#include <troupe.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tr_atom SUM, RESULT, SUMMED, FAILED;

/* FNV-1a, 64 bits: the "work". */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    for (const unsigned char *p = data; n--; p++) h = (h ^ *p) * 1099511628211ull;
    return h;
}
#define FNV_START 14695981039346656037ull

/* A job's argument: the file, and whom to answer (heap: the job owns it
 * until its cleanup runs). */
typedef struct job_arg {
    tr_request token;
    char path[256];
} job_arg;

/* Runs on a blocking thread: may block, must not touch a tr_ctx. Its
 * message goes to the actor that called tr_offload. */
static tr_msg *checksum_run(void *arg)
{
    job_arg *a = arg;
    uint64_t h = FNV_START;
    int err = 0;
    FILE *f = fopen(a->path, "rb");
    if (!f) {
        err = errno;
    } else {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a(h, buf, n);
        if (ferror(f)) err = EIO;
        fclose(f);
    }
    tr_msg *m = NULL; /* NULL (out of memory) sends nothing: the caller times out */
    tr_pack_msg(RESULT, &m, "pid u64 i32 u64", a->token.caller, a->token.ref.id, err, h);
    return m;
}

static void checksum_cleanup(void *arg) { free(arg); }

static int summer_handle(tr_ctx *ctx, void *state, const tr_msg *msg)
{
    (void)state;
    if (tr_msg_is(msg, SUM)) { /* a request: answered when the job is done */
        const char *path;
        job_arg *a = calloc(1, sizeof *a);
        if (!a) return tr_reply(ctx, msg, FAILED, "out of memory", 13);
        a->token = tr_msg_request(msg);
        int rc = tr_unpack_msg(msg, "str", &path);
        if (rc == TR_OK && strlen(path) >= sizeof a->path) rc = TR_EINVAL;
        if (rc == TR_OK) {
            memcpy(a->path, path, strlen(path) + 1);
            tr_job job = {.run = checksum_run, .cleanup = checksum_cleanup, .arg = a};
            rc = tr_offload(ctx, job);
        }
        if (rc == TR_OK) return 0;
        free(a); /* on error the job's cleanup was not called */
        return tr_reply(ctx, msg, FAILED, tr_strerror(rc), strlen(tr_strerror(rc)));
    }
    if (tr_msg_is(msg, RESULT)) { /* a job is done: answer its caller */
        tr_request token;
        int32_t err;
        uint64_t sum;
        int rc = tr_unpack_msg(msg, "pid u64 i32 u64", &token.caller, &token.ref.id, &err, &sum);
        if (rc != TR_OK) return tr_fail(ctx, "malformed result");
        if (err) return tr_reply_to(ctx, token, FAILED, strerror(err), strlen(strerror(err)));
        return tr_reply_to(ctx, token, SUMMED, &sum, sizeof sum);
    }
    return 0;
}

static const tr_behaviour summer_b = {.name = "summer", .handle = summer_handle};

/* Asks for `path`'s checksum; *out gets the reply (the caller frees it). */
static int ask(tr_system *sys, tr_pid summer, const char *path, tr_msg **out)
{
    uint8_t buf[300];
    size_t len;
    int rc = tr_pack(buf, sizeof buf, &len, "str", path);
    return rc == TR_OK ? tr_call_sync(sys, summer, SUM, buf, len, 2000, out) : rc;
}

int main(void)
{
    SUM = tr_atom_from("sum");
    RESULT = tr_atom_from("result");
    SUMMED = tr_atom_from("summed");
    FAILED = tr_atom_from("failed");
    char path[] = "/tmp/troupe-offload-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    const char line[] = "blocking work belongs on the blocking pool\n";
    uint64_t want = FNV_START;
    for (int i = 0; i < 1000; i++)
        if (write(fd, line, sizeof line - 1) == (ssize_t)(sizeof line - 1))
            want = fnv1a(want, line, sizeof line - 1);
    close(fd);

    int failures = 0;
    tr_system *sys;
    tr_pid summer;
    tr_msg *reply = NULL;
    if (tr_system_new(&(tr_system_opts){.blocking_threads = 2}, &sys) != TR_OK) return 1;
    int rc = tr_system_spawn(sys, &summer_b, &(tr_spawn_opts){.name = "summer"}, &summer);
    if (rc == TR_OK) rc = ask(sys, summer, path, &reply);
    uint64_t got = 0;
    if (rc == TR_OK && tr_msg_is(reply, SUMMED)) memcpy(&got, tr_msg_data(reply), sizeof got);
    printf("%s: %016llx (want %016llx)\n", path, (unsigned long long)got, (unsigned long long)want);
    failures += got != want;
    tr_msg_destroy(&reply);

    rc = ask(sys, summer, "/nonexistent/file", &reply);
    int failed = rc == TR_OK && tr_msg_is(reply, FAILED);
    printf("/nonexistent/file: %s %.*s\n", failed ? "failed:" : "WRONG",
           failed ? (int)tr_msg_size(reply) : 0, failed ? (const char *)tr_msg_data(reply) : "");
    failures += !failed;
    tr_msg_destroy(&reply);

    unlink(path);
    tr_system_stop(sys);
    if (tr_system_wait(sys, 5000) != TR_OK) failures++;
    tr_system_destroy(&sys);
    printf("offload: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
