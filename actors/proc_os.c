/* proc_os.c — the proc thread: forks, execs, watches and reaps process
 * children (proc_os.h, troupe/process.h).
 *
 * Why one long-lived thread forks: PR_SET_PDEATHSIG fires when the thread
 * that forked the child ends, not when the process does; a child forked by
 * a worker (or by a short-lived thread) would be killed when that thread
 * exits. This thread lives until the last system using it is destroyed,
 * and every child has been reaped by then.
 *
 * Between fork and execve the child runs only async-signal-safe calls on
 * memory prepared before the fork (no allocation, no lock: another thread
 * may have held the allocator's lock at the fork). Every descriptor made
 * here is close-on-exec; the child marks every other descriptor above 2
 * close-on-exec as well (close_range), so none leaks into the program.
 *
 * Reaping: a pidfd per child (pidfd_open right after fork: the child is
 * ours and unreaped, so the pid cannot have been recycled), polled with
 * epoll with the output pipes, then waitid(P_PIDFD). Signals go through
 * pidfd_send_signal. No SIGCHLD handler, no wait(-1): the embedding
 * program's own children are not touched. Where pidfd_open is missing
 * (ENOSYS: old kernels, valgrind) a child is reaped by polling
 * waitid(P_PID) for its own pid, and signalled with kill().
 *
 * Requests (spawn, signal) come in through a locked queue and an eventfd.
 * Deliveries to actors are made under the same lock, so that
 * tri_proc_release (system destroy) is a barrier: once it holds the lock,
 * no delivery to that system is under way. */
#include "proc_os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024
#define POLL_MS 10

enum { SRC_PIDFD, SRC_OUT, SRC_ERR };

struct child;

typedef struct source {
    struct child *c;
    int which; /* SRC_* */
    int fd;    /* -1: closed */
    size_t n;  /* bytes of a line held in buf */
    char buf[LINE_MAX_BYTES];
} source;

typedef struct child {
    struct child *next;
    uint64_t id;
    tr_system *sys;
    tri_actor *a;
    uint64_t serial;
    pid_t pid;
    bool polled; /* no pidfd (a kernel or valgrind without pidfd_open):
                  * waitid(P_PID) polled every POLL_MS; the pid is ours and
                  * unreaped, so it cannot be recycled meanwhile */
    source src[3];
    char *label;
} child;

enum { REQ_SPAWN, REQ_SIGNAL };

typedef struct req {
    struct req *next;
    int op;
    uint64_t id;
    int sig;
    tr_system *sys;
    tri_actor *a;
    uint64_t serial;
    tri_launch *l;
} req;

static struct {
    pthread_mutex_t life_mu; /* acquire/release: starting and joining */
    int users;
    pthread_t thread;
    pthread_mutex_t mu; /* the queue, quit, deliveries */
    req *head, *tail;
    bool quit;
    uint64_t next_id;
    int efd, epfd, devnull;
    child *children; /* the proc thread's only */
} g = {.life_mu = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
       .efd = -1, .epfd = -1, .devnull = -1};

void tri_launch_free(tri_launch *l)
{
    if (!l) return;
    for (char **p = l->argv; p && *p; p++) free(*p);
    for (char **p = l->envp; p && *p; p++) free(*p);
    free(l->argv);
    free(l->envp);
    free(l->program);
    free(l->cwd);
    free(l->label);
    free(l);
}

/* ------------------------------------------------------------ delivery */

/* A runtime message to the actor; an allocation failure is waited out
 * (the actor must learn of its child's start and end). Under g.mu. */
static void deliver(tr_system *sys, tri_actor *a, uint64_t serial, uint8_t kind, const void *p,
                    size_t n)
{
    pthread_mutex_lock(&g.mu);
    while (tri_send_sys(sys, a, serial, kind, p, n) != TR_OK) {
        pthread_mutex_unlock(&g.mu);
        tri_log(TR_LOG_ERROR, "out of memory telling a process actor about its child; retrying");
        usleep(1000);
        pthread_mutex_lock(&g.mu);
    }
    pthread_mutex_unlock(&g.mu);
}

/* -------------------------------------------------------------- output */

static void emit(child *c, source *s)
{
    tri_log(TR_LOG_INFO, "%s%s: %.*s", c->label, s->which == SRC_ERR ? " (stderr)" : "",
            (int)s->n, s->buf);
    s->n = 0;
}

/* Reads what is there; false at end of file (or an error). */
static bool read_some(child *c, source *s)
{
    char tmp[4096];
    for (;;) {
        ssize_t r = read(s->fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno == EAGAIN;
        if (r == 0) return false;
        for (ssize_t i = 0; i < r; i++) {
            if (tmp[i] == '\n') {
                emit(c, s);
                continue;
            }
            s->buf[s->n++] = tmp[i];
            if (s->n == sizeof s->buf) emit(c, s); /* a long line: cut */
        }
    }
}

static void close_source(child *c, source *s)
{
    (void)c;
    if (s->fd < 0) return;
    epoll_ctl(g.epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
}

static void close_stream(child *c, source *s)
{
    if (s->fd < 0) return;
    if (s->n) emit(c, s); /* a last line without its newline */
    close_source(c, s);
}

/* ------------------------------------------------------------ spawning */

/* Its waitid, by pidfd or (polled) by pid. */
static int wait_child(child *c, siginfo_t *si, int flags)
{
    int rc;
    do rc = c->polled ? waitid(P_PID, (id_t)c->pid, si, WEXITED | flags)
                      : waitid(P_PIDFD, (id_t)c->src[SRC_PIDFD].fd, si, WEXITED | flags);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static void kill_child(child *c, int sig)
{
    if (c->polled) kill(c->pid, sig);
    else syscall(SYS_pidfd_send_signal, c->src[SRC_PIDFD].fd, sig, NULL, 0);
}


/* The program's path: as given when it has a '/', else found in PATH.
 * Before the fork (it allocates). NULL with errno set when none. */
static char *resolve(const char *prog)
{
    if (strchr(prog, '/')) return strdup(prog);
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    int err = ENOENT;
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t dl = e ? (size_t)(e - p) : strlen(p);
        char *full = malloc(dl + strlen(prog) + 2);
        if (!full) return NULL;
        sprintf(full, "%.*s%s%s", (int)dl, p, dl ? "/" : "", prog);
        if (access(full, X_OK) == 0) return full;
        if (errno == EACCES) err = EACCES;
        free(full);
        p += dl;
        if (*p == ':') p++;
    }
    errno = err;
    return NULL;
}

/* In the child, between fork and execve: async-signal-safe calls only.
 * Excluded from coverage: the child ends in execve or _exit, so the
 * counters it increments are never written (gcov writes them at exit). */
/* GCOVR_EXCL_START */
static __attribute__((noreturn)) void child_exec(const tri_launch *l, const char *path,
                                                 pid_t parent, int out_w, int err_w, int ex_w)
{
    int e;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (getppid() != parent) _exit(127); /* the parent died before the prctl */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    if (dup2(g.devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) goto fail;
    syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC); /* older kernels: best effort */
    if (l->cwd && chdir(l->cwd) != 0) goto fail;
    execve(path, l->argv, l->envp);
fail:
    e = errno;
    while (write(ex_w, &e, sizeof e) < 0 && errno == EINTR) {
    }
    _exit(127);
}
/* GCOVR_EXCL_STOP */

static bool watch(source *s)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    return epoll_ctl(g.epfd, EPOLL_CTL_ADD, s->fd, &ev) == 0;
}

/* Starts the child of request `r`; returns the errno that prevented it. */
static int start(req *r, child **out)
{
    tri_launch *l = r->l;
    char *path = resolve(l->program);
    if (!path) return errno ? errno : ENOMEM;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, ex_p[2] = {-1, -1}, e = 0;
    child *c = calloc(1, sizeof *c);
    if (!c) e = ENOMEM;
    else if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(ex_p, O_CLOEXEC))
        e = errno;
    pid_t pid = -1;
    if (!e) {
        pid_t me = getpid();
        pid = fork();
        if (pid == 0) child_exec(l, path, me, out_p[1], err_p[1], ex_p[1]);
        if (pid < 0) e = errno;
    }
    free(path);
    /* the child's ends */
    if (out_p[1] >= 0) close(out_p[1]);
    if (err_p[1] >= 0) close(err_p[1]);
    if (ex_p[1] >= 0) close(ex_p[1]);
    if (pid > 0) {
        /* end of file: execve succeeded; an int: the errno of its failure */
        int child_errno = 0;
        ssize_t got;
        do got = read(ex_p[0], &child_errno, sizeof child_errno);
        while (got < 0 && errno == EINTR);
        if (got == (ssize_t)sizeof child_errno) {
            e = child_errno ? child_errno : EIO;
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
        } else {
            c->src[SRC_PIDFD].fd = (int)syscall(SYS_pidfd_open, pid, 0);
            if (c->src[SRC_PIDFD].fd < 0 && errno == ENOSYS) {
                c->polled = true; /* no pidfds here (valgrind): polled */
            } else if (c->src[SRC_PIDFD].fd < 0) {
                e = errno;
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
                }
            }
        }
    }
    if (ex_p[0] >= 0) close(ex_p[0]);
    if (e) {
        for (int *fd = (int[]){out_p[0], err_p[0]}, i = 0; i < 2; i++)
            if (fd[i] >= 0) close(fd[i]);
        free(c);
        return e;
    }
    c->id = r->id;
    c->sys = r->sys;
    c->a = r->a;
    c->serial = r->serial;
    c->pid = pid;
    c->label = l->label;
    l->label = NULL;
    c->src[SRC_OUT].fd = out_p[0];
    c->src[SRC_ERR].fd = err_p[0];
    for (int i = 0; i < 3; i++) {
        c->src[i].c = c;
        c->src[i].which = i;
    }
    fcntl(out_p[0], F_SETFL, O_NONBLOCK);
    fcntl(err_p[0], F_SETFL, O_NONBLOCK);
    /* Without the pidfd watched we would never reap it: a failure to
     * watch is a failure to start. */
    if (!c->polled && !watch(&c->src[SRC_PIDFD])) {
        e = errno;
        c->pid = pid;
        kill_child(c, SIGKILL);
        siginfo_t si;
        wait_child(c, &si, 0);
        for (int i = 0; i < 3; i++)
            if (c->src[i].fd >= 0) close(c->src[i].fd);
        free(c->label);
        free(c);
        return e;
    }
    for (int i = SRC_OUT; i <= SRC_ERR; i++)
        if (!watch(&c->src[i])) close_stream(c, &c->src[i]); /* output lost, child kept */
    *out = c;
    return 0;
}

static void do_spawn(req *r)
{
    child *c = NULL;
    int e = start(r, &c);
    struct tri_proc_started st = {e, c ? c->pid : 0};
    if (c) {
        c->next = g.children;
        g.children = c;
    }
    deliver(r->sys, r->a, r->serial, TRI_MSG_PROC_STARTED, &st, sizeof st);
    tri_launch_free(r->l);
}

/* ------------------------------------------------------------- reaping */

static void unlist(child *c)
{
    for (child **p = &g.children; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

/* Reaps `c` if it has ended: logs the rest of its output, tells its actor,
 * frees it. */
static void reap(child *c)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc = wait_child(c, &si, WNOHANG);
    if (rc == 0 && si.si_pid == 0) return; /* not yet: a spurious wake, or polled */
    /* what it wrote before it ended is logged before its end is told */
    for (int i = SRC_OUT; i <= SRC_ERR; i++)
        if (c->src[i].fd >= 0) {
            read_some(c, &c->src[i]);
            close_stream(c, &c->src[i]);
        }
    close_source(c, &c->src[SRC_PIDFD]);
    unlist(c);
    struct tri_proc_exit ex = {rc == 0 ? si.si_code : CLD_KILLED, rc == 0 ? si.si_status : SIGKILL};
    deliver(c->sys, c->a, c->serial, TRI_MSG_PROC_EXIT, &ex, sizeof ex);
    free(c->label);
    free(c);
}

/* -------------------------------------------------------------- thread */

static void do_signal(uint64_t id, int sig)
{
    for (child *c = g.children; c; c = c->next)
        if (c->id == id) {
            kill_child(c, sig);
            return;
        }
}

/* Takes the queued requests; true when asked to quit. */
static bool take_requests(req **out)
{
    uint64_t v;
    while (read(g.efd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&g.mu);
    *out = g.head;
    g.head = g.tail = NULL;
    bool quit = g.quit;
    pthread_mutex_unlock(&g.mu);
    return quit;
}

static void *proc_main(void *arg)
{
    pthread_setname_np(pthread_self(), "troupe-procs");
    (void)arg;
    bool quit = false;
    while (!quit) {
        struct epoll_event evs[32];
        bool polling = false;
        for (child *c = g.children; c && !polling; c = c->next) polling = c->polled;
        int n = epoll_wait(g.epfd, evs, 32, polling ? POLL_MS : -1);
        if (n < 0 && errno != EINTR) {
            tri_log(TR_LOG_ERROR, "proc thread: epoll_wait: %s", strerror(errno));
            usleep(10000);
        }
        /* output first, then ends: a child's last lines precede its end */
        for (int i = 0; i < n; i++) {
            source *s = evs[i].data.ptr;
            if (s && s->which != SRC_PIDFD && !read_some(s->c, s)) close_stream(s->c, s);
        }
        /* Which children ended, read before any is reaped: reaping frees a
         * child with its sources, and a later event of this batch may be
         * one of that child's output sources. */
        child *ended[32];
        int nended = 0;
        for (int i = 0; i < n; i++) {
            source *s = evs[i].data.ptr;
            if (s && s->which == SRC_PIDFD) ended[nended++] = s->c;
        }
        for (int i = 0; i < nended; i++) reap(ended[i]);
        for (child *c = g.children, *next; polling && c; c = next) {
            next = c->next; /* reap frees it */
            if (c->polled) reap(c);
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr) continue;
            req *r;
            quit = take_requests(&r);
            while (r) {
                req *next = r->next;
                if (r->op == REQ_SPAWN) do_spawn(r);
                else do_signal(r->id, r->sig);
                free(r);
                r = next;
            }
        }
    }
    /* Every system using us has been destroyed, so every child has ended
     * and been reaped; should one be left, it does not outlive us. */
    while (g.children) {
        child *c = g.children;
        kill_child(c, SIGKILL);
        siginfo_t si;
        wait_child(c, &si, 0);
        for (int i = 0; i < 3; i++) close_source(c, &c->src[i]);
        g.children = c->next;
        free(c->label);
        free(c);
    }
    return NULL;
}

int tri_proc_acquire(tr_system *sys)
{
    pthread_mutex_lock(&g.life_mu);
    int rc = TR_OK;
    if (sys->proc_used) {
        pthread_mutex_unlock(&g.life_mu);
        return TR_OK;
    }
    if (g.users == 0) {
        g.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        g.epfd = epoll_create1(EPOLL_CLOEXEC);
        g.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        g.quit = false;
        if (g.efd < 0 || g.epfd < 0 || g.devnull < 0 ||
            epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.efd, &ev) != 0 ||
            pthread_create(&g.thread, NULL, proc_main, NULL) != 0) {
            if (g.efd >= 0) close(g.efd);
            if (g.epfd >= 0) close(g.epfd);
            if (g.devnull >= 0) close(g.devnull);
            g.efd = g.epfd = g.devnull = -1;
            rc = TR_EAGAIN;
        }
    }
    if (rc == TR_OK) {
        g.users++;
        sys->proc_used = true;
    }
    pthread_mutex_unlock(&g.life_mu);
    return rc;
}

static void poke(void)
{
    uint64_t one = 1;
    while (write(g.efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void tri_proc_release(tr_system *sys)
{
    pthread_mutex_lock(&g.life_mu);
    if (!sys->proc_used) {
        pthread_mutex_unlock(&g.life_mu);
        return;
    }
    sys->proc_used = false;
    /* the barrier: a delivery to `sys` under way has finished */
    pthread_mutex_lock(&g.mu);
    bool last = --g.users == 0;
    if (last) g.quit = true;
    pthread_mutex_unlock(&g.mu);
    if (last) {
        poke();
        pthread_join(g.thread, NULL);
        close(g.efd);
        close(g.epfd);
        close(g.devnull);
        g.efd = g.epfd = g.devnull = -1;
    }
    pthread_mutex_unlock(&g.life_mu);
}

/* Queues `r` (the proc thread frees it); returns the new child's id for a
 * spawn, read before the thread can take `r`. */
static uint64_t enqueue(req *r)
{
    pthread_mutex_lock(&g.mu);
    if (r->op == REQ_SPAWN) r->id = ++g.next_id;
    uint64_t id = r->id;
    if (g.tail) g.tail->next = r;
    else g.head = r;
    g.tail = r;
    poke();
    pthread_mutex_unlock(&g.mu);
    return id;
}

int tri_proc_spawn(tr_system *sys, tri_actor *a, uint64_t serial, tri_launch *l, uint64_t *id)
{
    req *r = calloc(1, sizeof *r);
    if (!r) {
        tri_launch_free(l);
        return TR_ENOMEM;
    }
    *r = (req){.op = REQ_SPAWN, .sys = sys, .a = a, .serial = serial, .l = l};
    *id = enqueue(r);
    return TR_OK;
}

void tri_proc_signal(uint64_t id, int sig)
{
    req *r = calloc(1, sizeof *r);
    if (!r) {
        tri_log(TR_LOG_ERROR, "out of memory signalling a process child");
        return;
    }
    *r = (req){.op = REQ_SIGNAL, .id = id, .sig = sig};
    enqueue(r);
}
